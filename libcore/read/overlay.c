/* overlay.c --- btree leaves plus journal replay, in memory. */
#include <errno.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/overlay.h"

struct overlay_walk {
	struct bt_extmap	*view;
	struct bt_overlay_stats	*stats;
	struct printbuf		*err;
	const struct bt_overlay_opts *o;
};

static int overlay_leaf(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct overlay_walk *w = arg;
	const struct bkey *k;
	int ret;

	if (w->o->node_fn)
		w->o->node_fn(n, pos, w->o->arg);
	if (n->level)
		return 0;
	w->stats->leaves++;
	for_each_node_key(n, k) {
		ret = bt_extmap_append(w->view, k);
		if (ret) {
			prt_printf(w->err, "cannot add key of the leaf at bucket %llu to the view: %s",
				   (unsigned long long)n->bucket, bt_err_str(ret));
			return ret;
		}
		w->stats->btree_keys++;
	}
	return 0;
}

static int overlay_node_error(const struct bkey *k, unsigned level, int err,
			      const char *msg, void *arg)
{
	struct overlay_walk *w = arg;

	(void)k;
	(void)level;
	if (!(w->o->flags & BT_OVERLAY_KEEP_GOING))
		return err;
	prt_printf(w->err, "%s", msg);
	prt_newline(w->err);
	w->stats->unreadable_nodes++;
	return 0;
}

/* The walk's arg is the overlay_walk: hand the caller its own arg. */
static void overlay_lost(const struct bkey *k, unsigned level, const struct bt_walk_pos *pos,
			 const char *msg, void *arg)
{
	struct overlay_walk *w = arg;

	w->o->lost_fn(k, level, pos, msg, w->o->arg);
}

/* Call fn on every key of the replay range, oldest entry first. */
static int journal_for_each_key(struct cache_set *c, bool newest_first,
				int (*fn)(struct cache_set *c, const struct bkey *k, void *arg),
				void *arg)
{
	const struct bt_journal *jl = &c->journal;

	for (size_t e = 0; e < jl->nr; e++) {
		const struct bt_journal_entry *ent =
			&jl->entries[newest_first ? jl->nr - 1 - e : e];
		const struct jset *j = ent->j;
		unsigned u64s = le32toh(j->keys);
		const uint64_t *p = j->d, *end = j->d + u64s;

		while (p < end) {
			const struct bkey *k = (const struct bkey *)p;
			int ret;

			/* the reader bounded keys by bytes; a key must still fit */
			if (end - p < 2 || (size_t)(end - p) < bkey_u64s(k))
				break;
			ret = fn(c, k, arg);
			if (ret)
				return ret;
			p += bkey_u64s(k);
		}
	}
	return 0;
}

/* bch_journal_mark(): raise gens for every journal key that is not invalid. */
static int journal_mark_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	(void)arg;
	if (bt_extent_invalid(c, k) == BT_EXTENT_VALID)
		bt_raise_ptr_gens(c, k);
	return 0;
}

/* Does valid journal key k hold a live pointer ahead of its bucket's gen? (-EEXIST: yes) */
static int journal_key_raises(struct cache_set *c, const struct bkey *k, void *arg)
{
	(void)arg;
	if (!c->buckets || bt_extent_invalid(c, k) != BT_EXTENT_VALID)
		return 0;
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		uint64_t b = PTR_BUCKET_NR(c, k, i);

		if (bt_ptr_available(k, i) && b < c->nbuckets && !bt_ptr_stale(c, k, i) &&
		    (uint8_t)PTR_GEN(k, i) != c->buckets[b].gen)
			return -EEXIST;
	}
	return 0;
}

bool bt_overlay_journal_raises_gens(struct cache_set *c)
{
	return journal_for_each_key(c, true, journal_key_raises, NULL) != 0;
}

struct replay_arg {
	struct bt_extmap	*view;
	struct bt_overlay_stats	*stats;
	const struct bt_overlay_opts *o;
};

static int journal_replay_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct replay_arg *r = arg;
	enum bt_extent_validity v = bt_extent_invalid(c, k);

	if (v != BT_EXTENT_VALID && v != BT_EXTENT_ZERO_SIZE) {
		r->stats->journal_invalid++;
		if (r->o->journal_invalid_fn)
			r->o->journal_invalid_fn(k, r->o->arg);
		return 0;
	}
	r->stats->journal_keys++;
	return bt_extmap_insert(r->view, k);
}

int bt_overlay_journal(struct cache_set *c, const struct bt_overlay_opts *oo,
		       struct bt_extmap *view, struct bt_overlay_stats *stats, struct printbuf *err)
{
	struct replay_arg r = { .view = view, .stats = stats, .o = oo };
	int ret;

	journal_for_each_key(c, true, journal_mark_key, NULL);
	ret = journal_for_each_key(c, false, journal_replay_key, &r);
	if (ret)
		prt_printf(err, "cannot apply journal keys to the view: %s", bt_err_str(ret));
	return ret;
}

int bt_overlay_build_opts(struct cache_set *c, struct bt_node_cache *nc,
			  const struct bt_overlay_opts *oo, struct bt_extmap *view,
			  struct bt_overlay_stats *stats, struct printbuf *err)
{
	struct overlay_walk w = { .view = view, .stats = stats, .err = err, .o = oo };
	struct bt_walk_opts o = {
		.node_fn = overlay_leaf,
		.error_fn = overlay_node_error,
		.arg = &w,
		.flags = BT_WALK_RAISE_GENS,
		.lost_fn = oo->lost_fn,
	};
	int ret;

	memset(stats, 0, sizeof(*stats));
	if (oo->lost_fn)
		o.lost_fn = overlay_lost;
	/* run_cache_set(): bch_btree_check() first, then bch_journal_mark() */
	ret = bt_btree_walk(nc, (const struct bkey *)&c->root_key, c->root_level, &o, err);
	if (ret)
		return ret;
	return oo->flags & BT_OVERLAY_JOURNAL ? bt_overlay_journal(c, oo, view, stats, err) : 0;
}

int bt_overlay_build(struct cache_set *c, struct bt_node_cache *nc, unsigned flags,
		     struct bt_extmap *view, struct bt_overlay_stats *stats,
		     struct printbuf *err)
{
	struct bt_overlay_opts o = { .flags = flags };

	return bt_overlay_build_opts(c, nc, &o, view, stats, err);
}

bool bt_overlay_key_live(const struct cache_set *c, const struct bkey *k)
{
	return !bt_extent_bad(c, k, NULL);
}
