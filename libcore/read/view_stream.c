/* view_stream.c --- the view after journal replay, one key at a time (view_stream.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/errcode.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/view_stream.h"

struct stream {
	struct cache_set		*c;
	const struct bt_view_stream_opts *o;
	struct bt_overlay_stats		*stats;
	struct printbuf			*msgs;		/* node errors of the walk */
	struct bt_extmap		journal;	/* the journal's keys where they win */
	size_t				next_journal;	/* the next of them to hand out */
	struct bt_extmap		pieces;		/* one leaf key cut by the journal's */
	bool				have_last;
	uint64_t			last_inode, last_end;	/* the last leaf key taken */
	bool				unordered;	/* a leaf key overlaps the one before */
	uint64_t			handed_out;	/* keys given to key_fn so far */
	int				fn_ret;		/* what stopped key_fn */
};

/* The walk stops with this when the stream must start again (s->unordered). */
#define STREAM_RESTART	1

static int give(struct stream *s, const struct bkey *k)
{
	s->handed_out++;
	return s->o->key_fn(s->c, k, s->o->arg);
}

/*
 * Does leaf key k start before the end of the one before it (the leaves'
 * keys overlap: the stream must start again)? Else it becomes the last.
 */
static bool overlaps_last(struct stream *s, const struct bkey *k)
{
	uint64_t inode = KEY_INODE(k);

	if (s->have_last && (inode < s->last_inode ||
			     (inode == s->last_inode && KEY_START(k) < s->last_end)))
		return true;
	s->have_last = true;
	s->last_inode = inode;
	s->last_end = KEY_OFFSET(k);
	return false;
}

/* Hand out the journal's keys that sort before position (inode, offset). */
static int journal_before(struct stream *s, uint64_t inode, uint64_t offset)
{
	while (s->next_journal < s->journal.nr) {
		const struct bkey *j = bt_extmap_key(&s->journal, s->next_journal);
		int ret;

		if (bkey_cmp_pos(j, inode, offset) >= 0)
			return 0;
		s->next_journal++;
		ret = give(s, j);
		if (ret)
			return s->fn_ret = ret;
	}
	return 0;
}

/* Is the piece p one of the journal's keys [from, to) inserted over the leaf key? */
static bool is_journal_key(const struct stream *s, const struct bkey *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		const struct bkey *j = bt_extmap_key(&s->journal, i);

		if (bkey_u64s(j) == bkey_u64s(p) && !memcmp(j, p, bkey_bytes(p)))
			return true;
	}
	return false;
}

static int cannot_add(struct stream *s, const struct bt_node *n, int ret)
{
	prt_printf(s->msgs, "cannot add key of the leaf at bucket %llu to the view: %s",
		   (unsigned long long)n->bucket, bt_err_str(ret));
	return ret;
}

/* Does the journal's key at index i (the first ending after k's start) meet leaf key k? */
static bool journal_meets(const struct stream *s, const struct bkey *k, size_t i)
{
	const struct bkey *j;

	if (i >= s->journal.nr)
		return false;
	j = bt_extmap_key(&s->journal, i);
	return KEY_INODE(j) == KEY_INODE(k) && KEY_START(j) < KEY_OFFSET(k);
}

/*
 * One leaf key: the pieces the journal's keys leave of it (cut as the
 * kernel's insert of them cuts it: bt_extmap_insert() on a map of the key
 * alone), each after the journal keys that sort before it.
 */
static int take_leaf_key(struct stream *s, const struct bt_node *n, const struct bkey *k)
{
	uint64_t inode = KEY_INODE(k);
	size_t from, to;
	int ret;

	s->stats->btree_keys++;
	if (!KEY_SIZE(k))
		return 0;	/* the built view drops it too */
	if (overlaps_last(s, k)) {
		s->unordered = true;
		return STREAM_RESTART;
	}
	from = to = bt_extmap_seek(&s->journal, inode, KEY_START(k));
	if (!journal_meets(s, k, from)) {
		/* nothing of the journal's over it: the key as it is, as the map would keep it */
		if (KEY_PTRS(k) > KEY_MAX_U64S - 2 || KEY_SIZE(k) > KEY_OFFSET(k))
			return cannot_add(s, n, -EINVAL);
		ret = journal_before(s, inode, KEY_OFFSET(k));
		if (!ret && (ret = give(s, k)))
			s->fn_ret = ret;
		return ret;
	}
	s->pieces.nr = 0;
	ret = bt_extmap_append(&s->pieces, k);
	if (ret)
		return cannot_add(s, n, ret);
	while (to < s->journal.nr && KEY_INODE(bt_extmap_key(&s->journal, to)) == inode &&
	       KEY_START(bt_extmap_key(&s->journal, to)) < KEY_OFFSET(k)) {
		ret = bt_extmap_insert(&s->pieces, bt_extmap_key(&s->journal, to));
		if (ret)
			return ret;
		to++;
	}
	for (size_t i = 0; i < s->pieces.nr; i++) {
		const struct bkey *p = bt_extmap_key(&s->pieces, i);

		if (to > from && is_journal_key(s, p, from, to))
			continue;	/* handed out in its own turn */
		ret = journal_before(s, KEY_INODE(p), KEY_OFFSET(p));
		if (!ret && (ret = give(s, p)))
			s->fn_ret = ret;
		if (ret)
			return ret;
	}
	return 0;
}

static int stream_leaf(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct stream *s = arg;
	const struct bkey *k;
	int ret;

	(void)pos;
	if (n->level)
		return 0;
	s->stats->leaves++;
	for_each_node_key(n, k)
		if ((ret = take_leaf_key(s, n, k)))
			return ret;
	return 0;
}

/* keep_going: a node that cannot be read is reported and its subtree skipped */
static int stream_node_error(const struct bkey *k, unsigned level, int err, const char *msg,
			     void *arg)
{
	struct stream *s = arg;

	(void)k;
	(void)level;
	if (!s->o->keep_going)
		return err;
	prt_printf(s->msgs, "%s", msg);
	prt_newline(s->msgs);
	s->stats->unreadable_nodes++;
	return 0;
}

/* The first walk's look at a leaf: do its keys overlap the ones before? */
static int order_leaf(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct stream *s = arg;
	const struct bkey *k;

	(void)pos;
	if (n->level || s->unordered)
		return 0;
	for_each_node_key(n, k)
		if (KEY_SIZE(k) && overlaps_last(s, k)) {
			s->unordered = true;
			break;
		}
	return 0;
}

/*
 * The gens the initial mark pass raises for the tree's pointers, by a walk
 * of their own, which also tells (s->unordered) whether the leaves' keys
 * overlap before any key is handed out.
 */
static int raise_gens(struct cache_set *c, struct bt_node_cache *nc, struct stream *s)
{
	struct printbuf scratch = PRINTBUF;
	struct bt_overlay_stats ignored = { 0 };
	struct stream quiet = { .o = s->o, .stats = &ignored, .msgs = &scratch };
	struct bt_walk_opts wo = {
		.node_fn = order_leaf, .error_fn = stream_node_error, .arg = &quiet,
		.flags = BT_WALK_RAISE_GENS,
	};
	int ret = bt_btree_walk(nc, (const struct bkey *)&c->root_key, c->root_level, &wo,
				&scratch);

	printbuf_exit(&scratch);
	s->unordered = quiet.unordered;
	return ret;
}

/* The built view, key by key: the answer for a tree whose leaves overlap. */
static int from_built_view(struct cache_set *c, struct bt_node_cache *nc,
			   const struct bt_view_stream_opts *o, struct bt_overlay_stats *stats,
			   struct printbuf *err)
{
	struct bt_extmap view;
	int ret;

	bt_extmap_init(&view);
	ret = bt_overlay_build(c, nc, (o->with_journal ? BT_OVERLAY_JOURNAL : 0) |
			       (o->keep_going ? BT_OVERLAY_KEEP_GOING : 0), &view, stats, err);
	for (size_t i = 0; !ret && i < view.nr; i++)
		ret = o->key_fn(c, bt_extmap_key(&view, i), o->arg);
	bt_extmap_exit(&view);
	return ret;
}

/* The walk in key order, the journal's keys between the leaves' pieces. */
static int stream_walk(struct stream *s, struct bt_node_cache *nc, struct printbuf *err)
{
	struct cache_set *c = s->c;
	struct bt_overlay_opts jo = { .flags = BT_OVERLAY_JOURNAL };
	/* the gens are raised: by the first walk, or by the caller (gens_raised) */
	struct bt_walk_opts wo = {
		.node_fn = stream_leaf, .error_fn = stream_node_error, .arg = s,
	};
	int ret = 0;

	if (s->o->with_journal)
		ret = bt_overlay_journal(c, &jo, &s->journal, s->stats, err);
	if (!ret && !s->o->gens_raised)
		ret = raise_gens(c, nc, s);
	if (!ret && s->unordered)
		return STREAM_RESTART;
	if (!ret)
		ret = bt_btree_walk(nc, (const struct bkey *)&c->root_key, c->root_level, &wo,
				    err);
	while (!ret && s->next_journal < s->journal.nr) {	/* after the last leaf key */
		ret = give(s, bt_extmap_key(&s->journal, s->next_journal++));
		s->fn_ret = ret;
	}
	return ret;
}

int bt_view_stream(struct cache_set *c, struct bt_node_cache *nc,
		   const struct bt_view_stream_opts *o, struct bt_overlay_stats *stats,
		   struct printbuf *err)
{
	struct printbuf msgs = PRINTBUF;
	struct stream s = { .c = c, .o = o, .stats = stats, .msgs = &msgs };
	int ret;

	memset(stats, 0, sizeof(*stats));
	bt_extmap_init(&s.journal);
	bt_extmap_init(&s.pieces);
	ret = stream_walk(&s, nc, err);
	bt_extmap_exit(&s.journal);
	bt_extmap_exit(&s.pieces);
	if (ret == STREAM_RESTART && s.unordered && !s.fn_ret) {
		printbuf_exit(&msgs);
		if (s.handed_out && !o->restart_fn) {
			prt_str(err, "the leaves' keys overlap: the view must be built whole");
			return -ENOTSUP;
		}
		if (s.handed_out)
			o->restart_fn(o->arg);
		return from_built_view(c, nc, o, stats, err);
	}
	prt_str(err, printbuf_str(&msgs));
	printbuf_exit(&msgs);
	return ret;
}

/* ---- the tap: the caller's walk feeds the stream ------------------------ */

struct bt_view_tap {
	struct stream		s;
	struct printbuf		msgs;
	int			ret;	/* what stopped the stream: STREAM_RESTART, key_fn's code */
};

int bt_view_tap_begin(struct cache_set *c, const struct bt_view_stream_opts *o,
		      struct bt_overlay_stats *stats, struct bt_view_tap **out,
		      struct printbuf *err)
{
	struct bt_overlay_opts jo = { .flags = BT_OVERLAY_JOURNAL };
	struct bt_view_tap *t;
	int ret = 0;

	*out = NULL;
	if (!o->gens_raised || !o->keep_going ||
	    (o->with_journal && bt_overlay_journal_raises_gens(c))) {
		prt_str(err, "a tap needs keep_going and the gens raised, by the btree and by the journal");
		return -EINVAL;
	}
	if (!(t = calloc(1, sizeof(*t))))
		return -ENOMEM;
	memset(stats, 0, sizeof(*stats));
	t->msgs = PRINTBUF;
	t->s = (struct stream){ .c = c, .o = o, .stats = stats, .msgs = &t->msgs };
	bt_extmap_init(&t->s.journal);
	bt_extmap_init(&t->s.pieces);
	if (o->with_journal)
		ret = bt_overlay_journal(c, &jo, &t->s.journal, stats, err);
	if (ret) {
		bt_view_tap_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

int bt_view_tap_node(struct bt_view_tap *t, const struct bt_node *n)
{
	if (t->ret)
		return t->s.fn_ret;
	t->ret = stream_leaf(n, NULL, &t->s);
	return t->s.fn_ret;
}

void bt_view_tap_node_error(struct bt_view_tap *t, const char *msg)
{
	if (!t->ret)
		stream_node_error(NULL, 0, 0, msg, &t->s);
}

int bt_view_tap_end(struct bt_view_tap *t, struct printbuf *err)
{
	struct stream *s = &t->s;
	int ret = t->ret;

	while (!ret && s->next_journal < s->journal.nr) {	/* after the last leaf key */
		ret = give(s, bt_extmap_key(&s->journal, s->next_journal++));
		s->fn_ret = ret;
	}
	if (ret == STREAM_RESTART && s->unordered && !s->fn_ret)
		ret = -EAGAIN;
	else
		prt_str(err, printbuf_str(&t->msgs));
	bt_view_tap_free(t);
	return ret;
}

void bt_view_tap_free(struct bt_view_tap *t)
{
	if (!t)
		return;
	bt_extmap_exit(&t->s.journal);
	bt_extmap_exit(&t->s.pieces);
	printbuf_exit(&t->msgs);
	free(t);
}
