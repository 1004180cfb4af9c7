/* view_leaves.c --- the view after journal replay, leaf by leaf (view_leaves.h). */
#include <string.h>

#include "libcore/base/errcode.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/view_leaves.h"

struct leaves {
	struct cache_set		*c;
	const struct bt_view_leaves_opts *o;
	struct bt_overlay_stats		*stats;
	struct bt_extmap		journal;	/* the journal's keys where they win */
	struct bt_extmap		leaf;		/* one leaf's keys, the journal's over them */
	struct bt_extmap		built;		/* the whole view, when not sound */
	struct printbuf			*err;		/* the caller's */
	bool				sound;		/* the first walk's verdict */
	bool				have_prev;
	uint64_t			prev_inode, prev_end;	/* the last range's end */
};

/* Does position (inode, offset) lie before the one of k (its end)? */
static bool pos_before(uint64_t inode, uint64_t offset, const struct bkey *k)
{
	return bkey_cmp_pos(k, inode, offset) > 0;
}

/* First walk: is every leaf key inside its leaf's range, and do the ranges ascend? */
static int check_leaf(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct leaves *l = arg;
	const struct bkey *k;

	if (n->level || !l->sound)
		return 0;
	if (l->have_prev && (pos->start_inode < l->prev_inode ||
			     (pos->start_inode == l->prev_inode && pos->start_offset < l->prev_end)))
		l->sound = false;
	l->have_prev = true;
	l->prev_inode = KEY_INODE(pos->end);
	l->prev_end = KEY_OFFSET(pos->end);
	for_each_node_key(n, k) {
		if (!KEY_SIZE(k))
			continue;
		if (KEY_INODE(k) < pos->start_inode ||
		    (KEY_INODE(k) == pos->start_inode && KEY_START(k) < pos->start_offset) ||
		    bkey_cmp(k, pos->end) > 0)
			l->sound = false;
	}
	return 0;
}

static int skip_error(const struct bkey *k, unsigned level, int err, const char *msg, void *arg)
{
	(void)k, (void)level, (void)err, (void)msg, (void)arg;
	return 0;
}

/* The first walk, which raises the gens as the mark pass does. */
static int first_walk(struct leaves *l, struct bt_node_cache *nc)
{
	struct printbuf scratch = PRINTBUF;
	struct bt_walk_opts wo = {
		.node_fn = check_leaf, .error_fn = skip_error, .arg = l,
		.flags = BT_WALK_RAISE_GENS,
	};
	int ret = bt_btree_walk(nc, (const struct bkey *)&l->c->root_key, l->c->root_level,
				&wo, &scratch);

	printbuf_exit(&scratch);
	return ret;
}

/* Hand out the keys of m that meet the range (start, end] of pos, cut to it. */
static int hand_out_range(struct leaves *l, const struct bt_extmap *m,
			  const struct bt_walk_pos *pos)
{
	struct bkey_padded from, tmp;
	size_t i = bt_extmap_seek(m, pos->start_inode, pos->start_offset);

	bkey_init_pos((struct bkey *)&from, pos->start_inode, pos->start_offset, 0);
	for (; i < m->nr; i++) {
		const struct bkey *k = bt_extmap_key(m, i);
		struct bkey *t = (struct bkey *)&tmp;
		int ret;

		if (!pos_before(KEY_INODE(k), KEY_START(k), pos->end))
			break;
		memcpy(&tmp, k, bkey_bytes(k));
		bt_cut_front((struct bkey *)&from, t);
		bt_cut_back(pos->end, t);
		if (KEY_SIZE(t) && (ret = l->o->key_fn(l->c, t, l->o->arg)))
			return ret;
	}
	return 0;
}

/* A leaf of a sound tree: its keys, the journal's that meet its range over them. */
static int hand_out_leaf(struct leaves *l, const struct bt_node *n, const struct bt_walk_pos *pos)
{
	const struct bkey *k;
	size_t i;
	int ret = 0;

	l->leaf.nr = 0;
	for_each_node_key(n, k) {
		l->stats->btree_keys++;
		if ((ret = bt_extmap_append(&l->leaf, k)))
			break;
	}
	i = bt_extmap_seek(&l->journal, pos->start_inode, pos->start_offset);
	for (; !ret && i < l->journal.nr; i++) {
		k = bt_extmap_key(&l->journal, i);
		if (!pos_before(KEY_INODE(k), KEY_START(k), pos->end))
			break;
		ret = bt_extmap_insert(&l->leaf, k);
	}
	if (ret) {
		prt_printf(l->err, "cannot add the keys of the leaf at bucket %llu to the view: %s",
			   (unsigned long long)n->bucket, bt_err_str(ret));
		return ret;
	}
	return hand_out_range(l, &l->leaf, pos);
}

static int main_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct leaves *l = arg;
	int ret = l->o->node_fn ? l->o->node_fn(n, pos, l->o->arg) : 0;

	if (ret || n->level)
		return ret;
	if (l->sound) {
		l->stats->leaves++;
		ret = hand_out_leaf(l, n, pos);
	} else {
		ret = hand_out_range(l, &l->built, pos);
	}
	if (!ret && l->o->leaf_done_fn)
		ret = l->o->leaf_done_fn(n, pos, l->o->arg);
	return ret;
}

static int main_error(const struct bkey *k, unsigned level, int err, const char *msg, void *arg)
{
	struct leaves *l = arg;
	int ret = l->o->error_fn(k, level, err, msg, l->o->arg);

	if (!ret && l->sound)
		l->stats->unreadable_nodes++;
	return ret;
}

/* Not sound: the whole view, as bt_overlay_build() gives it (its stats). */
static int build_whole(struct leaves *l, struct bt_node_cache *nc)
{
	struct printbuf scratch = PRINTBUF;	/* node errors: the walk reports them */
	unsigned flags = (l->o->with_journal ? BT_OVERLAY_JOURNAL : 0) |
			 (l->o->error_fn ? BT_OVERLAY_KEEP_GOING : 0);
	int ret = bt_overlay_build(l->c, nc, flags, &l->built, l->stats, &scratch);

	if (ret)
		prt_str(l->err, printbuf_str(&scratch));
	printbuf_exit(&scratch);
	return ret;
}

static int leaves_walk(struct leaves *l, struct bt_node_cache *nc)
{
	struct bt_overlay_opts jo = { .flags = BT_OVERLAY_JOURNAL };
	struct bt_walk_opts wo = {
		.node_fn = main_node, .error_fn = l->o->error_fn ? main_error : NULL, .arg = l,
	};
	int ret = first_walk(l, nc);

	if (l->o->build_whole)
		l->sound = false;
	if (!ret && !l->sound)
		ret = build_whole(l, nc);
	else if (!ret && l->o->with_journal)
		ret = bt_overlay_journal(l->c, &jo, &l->journal, l->stats, l->err);
	if (!ret)
		ret = bt_btree_walk(nc, (const struct bkey *)&l->c->root_key, l->c->root_level,
				    &wo, l->err);
	return ret;
}

int bt_view_leaves(struct cache_set *c, struct bt_node_cache *nc,
		   const struct bt_view_leaves_opts *o, struct bt_overlay_stats *stats,
		   struct printbuf *err)
{
	struct leaves l = { .c = c, .o = o, .stats = stats, .err = err, .sound = true };
	int ret;

	memset(stats, 0, sizeof(*stats));
	bt_extmap_init(&l.journal);
	bt_extmap_init(&l.leaf);
	bt_extmap_init(&l.built);
	ret = leaves_walk(&l, nc);
	bt_extmap_exit(&l.journal);
	bt_extmap_exit(&l.leaf);
	bt_extmap_exit(&l.built);
	return ret;
}
