/* gc.c --- offline garbage collection (gc.h): the btree rewritten bottom-up
 * without bad keys, adjacent sparse nodes coalesced, data buckets left
 * without keys invalidated, all in one copy-on-write transaction.
 * Rules from btree.c btree_gc_mark_node(), btree_gc_coalesce(),
 * btree_gc_rewrite_node(), bch_btree_gc_root(), bch_btree_gc_finish() and
 * alloc.c bch_inc_gen() / __bch_invalidate_one_bucket().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "encode.h"
#include "errcode.h"
#include "gc.h"
#include "keylist.h"
#include "mark.h"
#include "uuid.h"
#include "write.h"

/* A node whose key set is final, waiting in its parent's coalesce window. */
struct gc_pend {
	struct bt_keylist	keys;		/* live keys, sorted */
	struct bkey_padded	key;		/* old pointer, or (new node) its end position */
	unsigned		level;
	bool			dirty;		/* keys differ from the node on disk: write it */
	bool			has_old;	/* replaces the node at old_bucket */
	uint64_t		old_bucket;
};

/* The last adjacent children of an interior node (btree_gc_recurse() r[]). */
struct gc_win {
	struct gc_pend		p[BT_GC_MERGE_NODES];
	unsigned		nr;
};

struct gc {
	struct cache_set	*c;
	struct bt_node_cache	*nc;
	struct bt_write_ctx	*w;		/* NULL in a dry run */
	const struct bt_gc_opts	*o;
	struct bt_gc_stats	*st;
	uint8_t			*ref;		/* per bucket: a kept leaf key points into it */
	unsigned		fill_blocks;	/* 2/3 of a node, in blocks */
	size_t			node_u64s;	/* key words that fit in a node */
};

static void pend_exit(struct gc_pend *p)
{
	bt_keylist_exit(&p->keys);
}

/* Blocks a bset of u64s key words takes (bset.h __set_blocks()). */
static unsigned set_blocks(const struct gc *g, size_t u64s)
{
	return bt_set_blocks(g->c, BSET_HEADER_BYTES + u64s * 8);
}

/* --invalidate-clean: a clean key, not of a flash-only volume (whose data has no other copy). */
static bool drop_clean(const struct gc *g, const struct bkey *k)
{
	const struct cache_set *c = g->c;
	uint64_t slot = KEY_INODE(k);

	if (!g->o->invalidate_clean || KEY_DIRTY(k) || !c->uuids)
		return false;
	return slot >= c->nr_uuids || !bt_uuid_flash_only(&c->uuids[slot]);
}

/* The live keys of leaf n into p (bch_btree_sort_into(): bad dropped, adjacent merged). */
static int leaf_keys(struct gc *g, const struct bt_node *n, struct gc_pend *p)
{
	const struct cache_set *c = g->c;
	struct bkey_padded last;
	bool have_last = false;
	const struct bkey *k;
	int ret;

	for_each_node_key(n, k) {
		struct bt_extent_bad_info bi;
		struct bkey_padded cur;

		g->st->keys_visited++;
		memset(&bi, 0, sizeof(bi));
		if (!KEY_SIZE(k))
			continue;	/* dropped silently, as the kernel does: not a reason to rewrite */
		if (KEY_PTRS(k) > KEY_MAX_U64S - 2 || bt_extent_bad(c, k, &bi)) {
			if (bi.stale)
				g->st->stale_keys_dropped++;
			else
				g->st->bad_keys_dropped++;
			p->dirty = true;
			continue;
		}
		g->st->before.keys++;
		if (drop_clean(g, k)) {
			g->st->clean_keys_dropped++;
			p->dirty = true;
			continue;
		}
		memset(&cur, 0, sizeof(cur));
		bt_bkey_copy((struct bkey *)&cur, k);
		if (have_last && bt_extent_try_merge(c, (struct bkey *)&last, (struct bkey *)&cur))
			continue;
		if (have_last) {
			ret = bt_keylist_push(&p->keys, (struct bkey *)&last);
			if (ret)
				return ret;
		}
		last = cur;
		have_last = true;
	}
	return have_last ? bt_keylist_push(&p->keys, (struct bkey *)&last) : 0;
}

/* Offsets (u64s) where the chunks of keys end: each at most limit u64s, greedy. */
static size_t cut_chunks(const struct bt_keylist *l, size_t limit, size_t *cuts, size_t max)
{
	size_t nr = 0, start = 0;

	for (size_t o = 0; o < l->u64s;) {
		size_t n = bkey_u64s((const struct bkey *)(l->d + o));

		if (o > start && o + n - start > limit && nr + 1 < max) {
			cuts[nr++] = o;
			start = o;
		}
		o += n;
	}
	cuts[nr++] = l->u64s;
	return nr;
}

/* The last key in [d + from, d + to), NULL when empty. */
static const struct bkey *last_key(const uint64_t *d, size_t from, size_t to)
{
	const struct bkey *last = NULL;

	for (size_t o = from; o < to; o += bkey_u64s((const struct bkey *)(d + o)))
		last = (const struct bkey *)(d + o);
	return last;
}

/* Count a final node in the figures after gc. */
static void count_after(struct gc *g, unsigned level, size_t nr, size_t u64s)
{
	g->st->after.nodes++;
	g->st->after.key_bytes += u64s * 8;
	if (!level)
		g->st->after.keys += nr;
}

/*
 * Write p when it changed (one node, or more when its keys no longer fit
 * one) and append the pointer(s) its parent needs to out; unchanged, its
 * old pointer. Frees p's keys.
 */
static int pend_flush(struct gc *g, struct gc_pend *p, struct bt_keylist *out,
		      struct printbuf *err)
{
	struct cache_set *c = g->c;
	size_t cuts[8], nr, start = 0;
	int ret = 0;

	/* what the new state references (bch_btree_gc_finish() counts from the marks) */
	for (size_t o = 0; !p->level && o < p->keys.u64s;) {
		const struct bkey *k = (const struct bkey *)(p->keys.d + o);

		for (unsigned i = 0; i < KEY_PTRS(k); i++)
			if (bt_ptr_available(k, i) && PTR_BUCKET_NR(c, k, i) < c->nbuckets)
				g->ref[PTR_BUCKET_NR(c, k, i)] = 1;
		o += bkey_u64s(k);
	}
	if (!p->dirty) {
		count_after(g, p->level, p->keys.nr, p->keys.u64s);
		ret = bt_keylist_push(out, (const struct bkey *)&p->key);
		goto out;
	}
	nr = cut_chunks(&p->keys, g->node_u64s, cuts, sizeof(cuts) / sizeof(cuts[0]));
	for (size_t i = 0; i < nr && !ret; i++) {
		const struct bkey *last = last_key(p->keys.d, start, cuts[i]);
		const struct bkey *end = i + 1 < nr && last ? last : (const struct bkey *)&p->key;
		struct bkey_padded max, ptr;
		size_t keys = 0;

		for (size_t o = start; o < cuts[i]; o += bkey_u64s((const struct bkey *)(p->keys.d + o)))
			keys++;
		memset(&max, 0, sizeof(max));
		bkey_init_pos((struct bkey *)&max, KEY_INODE(end), KEY_OFFSET(end), 0);
		if (g->w)
			ret = bt_node_write(g->w, p->keys.d + start, cuts[i] - start, p->level,
					    (struct bkey *)&max, &ptr, err);
		else	/* dry run: a pointer of the right size and position */
			bt_node_ptr_key(c, c->first_bucket, 0, (struct bkey *)&max, &ptr);
		if (!ret)
			ret = bt_keylist_push(out, (struct bkey *)&ptr);
		count_after(g, p->level, keys, cuts[i] - start);
		g->st->nodes_written++;
		start = cuts[i];
	}
	if (!ret && p->has_old) {
		g->st->nodes_rewritten++;
		if (g->w)
			ret = bt_free_after_commit(g->w, p->old_bucket);
	}
out:
	pend_exit(p);
	return ret;
}

/*
 * btree_gc_coalesce(): when the live keys of the window's nodes fit in one
 * node fewer filled to 2/3, replace them by nodes filled to 2/3 in key
 * order, the last taking the rest (if it fits a node). Returns 0 (done or
 * not) or -ENOMEM.
 */
static int win_coalesce(struct gc *g, struct gc_win *win, bool *changed)
{
	struct bt_keylist all = { 0 };
	struct gc_pend np[BT_GC_MERGE_NODES];
	size_t total = 0, cuts[BT_GC_MERGE_NODES], nr, start = 0;
	unsigned level = win->p[0].level;
	const struct bkey *end = (const struct bkey *)&win->p[win->nr - 1].key;
	int ret = 0;

	if (win->nr < 2)
		return 0;
	for (unsigned i = 0; i < win->nr; i++)
		total += win->p[i].keys.u64s;
	if (set_blocks(g, total) > g->fill_blocks * (win->nr - 1))
		return 0;
	for (unsigned i = 0; i < win->nr && !ret; i++)
		for (size_t o = 0; o < win->p[i].keys.u64s && !ret;
		     o += bkey_u64s((const struct bkey *)(win->p[i].keys.d + o)))
			ret = bt_keylist_push(&all, (const struct bkey *)(win->p[i].keys.d + o));
	if (ret)
		goto out;
	/* chunks of at most 2/3 of a node; the (nr - 1)th takes what is left */
	{
		size_t limit = ((size_t)g->fill_blocks * (g->c->block_size << SECTOR_SHIFT) -
				BSET_HEADER_BYTES) / 8;

		nr = cut_chunks(&all, limit, cuts, win->nr - 1);
	}
	if (cuts[nr - 1] - (nr > 1 ? cuts[nr - 2] : 0) > g->node_u64s)
		goto out;	/* the last node would not fit: no coalescing (as the kernel) */
	memset(np, 0, sizeof(np));
	for (size_t i = 0; i < nr && !ret; i++) {
		const struct bkey *last = last_key(all.d, start, cuts[i]);
		const struct bkey *e = i + 1 < nr && last ? last : end;

		np[i].level = level;
		np[i].dirty = true;
		bkey_init_pos((struct bkey *)&np[i].key, KEY_INODE(e), KEY_OFFSET(e), 0);
		for (size_t o = start; o < cuts[i] && !ret;
		     o += bkey_u64s((const struct bkey *)(all.d + o)))
			ret = bt_keylist_push(&np[i].keys, (const struct bkey *)(all.d + o));
		start = cuts[i];
	}
	if (ret) {
		for (size_t i = 0; i < nr; i++)
			pend_exit(&np[i]);
		goto out;
	}
	for (unsigned i = 0; i < win->nr && !ret; i++) {
		if (win->p[i].has_old && g->w)
			ret = bt_free_after_commit(g->w, win->p[i].old_bucket);
		pend_exit(&win->p[i]);
	}
	g->st->coalesce_groups++;
	g->st->nodes_coalesced += win->nr - nr;
	memcpy(win->p, np, nr * sizeof(np[0]));
	win->nr = (unsigned)nr;
	*changed = true;
out:
	bt_keylist_exit(&all);
	return ret;
}

static int gc_node(struct gc *g, const struct bkey *k, unsigned level, unsigned depth,
		   struct gc_pend *p, struct printbuf *err);

/* The children of interior node p (its old keys in src), collected and coalesced. */
static int interior_keys(struct gc *g, const struct bt_keylist *src, struct gc_pend *p,
			 unsigned depth, struct printbuf *err)
{
	const struct cache_set *c = g->c;
	struct gc_win win = { .nr = 0 };
	int ret = 0;

	for (size_t o = 0; o < src->u64s && !ret;) {
		const struct bkey *k = (const struct bkey *)(src->d + o);

		o += bkey_u64s(k);
		g->st->keys_visited++;
		if (bt_btree_ptr_bad(c, k)) {
			if (!bkey_is_zero_pos(k) && bt_ptr_status(c, k) == BT_PTR_STALE)
				g->st->stale_keys_dropped++;
			else
				g->st->bad_keys_dropped++;
			p->dirty = true;
			continue;
		}
		ret = gc_node(g, k, p->level - 1, depth + 1, &win.p[win.nr], err);
		if (ret)
			break;
		win.nr++;
		ret = win_coalesce(g, &win, &p->dirty);
		if (!ret && win.nr == BT_GC_MERGE_NODES) {
			p->dirty |= win.p[0].dirty;
			ret = pend_flush(g, &win.p[0], &p->keys, err);
			memmove(win.p, win.p + 1, --win.nr * sizeof(win.p[0]));
		}
	}
	for (unsigned i = 0; i < win.nr; i++) {
		p->dirty |= win.p[i].dirty;
		if (!ret)
			ret = pend_flush(g, &win.p[i], &p->keys, err);
		else
			pend_exit(&win.p[i]);
	}
	return ret;
}

/* Collect the subtree of the node k references at level into p (not written yet). */
static int gc_node(struct gc *g, const struct bkey *k, unsigned level, unsigned depth,
		   struct gc_pend *p, struct printbuf *err)
{
	struct bt_keylist src = { 0 };
	struct bt_node *n;
	int ret;

	memset(p, 0, sizeof(*p));
	bt_bkey_copy((struct bkey *)&p->key, k);
	p->level = level;
	p->has_old = true;
	p->old_bucket = PTR_BUCKET_NR(g->c, k, 0);
	if (depth >= BT_BTREE_MAX_DEPTH) {
		prt_printf(err, "btree of '%s' deeper than %u levels", g->c->dev->path,
			   BT_BTREE_MAX_DEPTH);
		return -BT_ERR_BTREE_TOO_DEEP;
	}
	ret = bt_node_cache_get(g->nc, k, level, &n, err);
	if (ret)
		return ret;
	g->st->before.nodes++;
	g->st->before.key_bytes += n->u64s * 8;
	if (n->nr_invalid) {
		/* keys the kernel refuses ("spotted extent"/"btree ptr") */
		g->st->bad_keys_dropped += n->nr_invalid;
		p->dirty = true;
	}
	if (!level) {
		ret = leaf_keys(g, n, p);
		bt_node_cache_put(g->nc, n);
	} else {
		src.d = malloc(n->u64s ? n->u64s * 8 : 8);
		if (src.d) {
			memcpy(src.d, n->keys, n->u64s * 8);
			src.u64s = src.size = n->u64s;
		}
		bt_node_cache_put(g->nc, n);
		ret = src.d ? interior_keys(g, &src, p, depth, err) : -ENOMEM;
		bt_keylist_exit(&src);
	}
	if (ret) {
		if (ret == -ENOMEM)
			prt_printf(err, "out of memory collecting the btree node at bucket %llu",
				   (unsigned long long)p->old_bucket);
		pend_exit(p);
	}
	return ret;
}

void bt_gc_figures_marked(const struct cache_set *c, struct bt_gc_figures *f)
{
	f->buckets_in_use = f->free_buckets = 0;
	f->max_gen_lag = 0;
	f->nbuckets = c->nbuckets > c->first_bucket ? c->nbuckets - c->first_bucket : 0;
	for (uint64_t b = c->first_bucket; b < c->nbuckets; b++) {
		const struct bt_bucket *g = &c->buckets[b];
		unsigned lag = (uint8_t)(g->gen - g->last_gc);

		if (g->mark)
			f->buckets_in_use++;
		else if (!g->pinned)
			f->free_buckets++;
		if (lag > f->max_gen_lag)
			f->max_gen_lag = lag;
	}
}

/*
 * bch_btree_gc_finish() + invalidation: a data bucket that held live keys
 * and holds none in the new state gets gen + 1 and INITIAL_PRIO
 * (__bch_invalidate_one_bucket()) and is freed after the commit.
 */
static int invalidate_unreferenced(struct gc *g)
{
	struct cache_set *c = g->c;
	int ret = 0;

	for (uint64_t b = c->first_bucket; b < c->nbuckets && !ret; b++) {
		struct bt_bucket *bk = &c->buckets[b];

		if ((bk->mark != GC_MARK_DIRTY && bk->mark != GC_MARK_RECLAIMABLE) ||
		    bk->pinned || g->ref[b])
			continue;
		g->st->buckets_invalidated++;
		if (!g->w)
			continue;
		bk->gen++;
		bk->prio = INITIAL_PRIO;
		ret = bt_free_after_commit(g->w, b);
	}
	return ret;
}

/* Walk, rewrite and coalesce the whole tree; sets the new root in g->w. */
static int gc_tree(struct gc *g, struct printbuf *err)
{
	struct cache_set *c = g->c;
	struct bt_keylist top = { 0 };
	struct gc_pend root;
	unsigned level = c->root_level;
	bool changed;
	int ret;

	ret = gc_node(g, (const struct bkey *)&c->root_key, c->root_level, 0, &root, err);
	if (ret)
		return ret;
	changed = root.dirty;
	ret = pend_flush(g, &root, &top, err);
	/* the root's keys no longer fit one node: one more level (bch_btree_gc_root() never needs it) */
	while (!ret && top.nr > 1) {
		struct gc_pend up = { .keys = top, .level = level + 1, .dirty = true };

		memset(&top, 0, sizeof(top));
		bkey_init_pos((struct bkey *)&up.key, MAX_KEY_INODE, MAX_KEY_OFFSET, 0);
		ret = pend_flush(g, &up, &top, err);
		level++;
	}
	if (!ret && changed && g->w) {
		memset(&g->w->new_root, 0, sizeof(g->w->new_root));
		bt_bkey_copy((struct bkey *)&g->w->new_root, (const struct bkey *)top.d);
		g->w->new_root_level = level;
		g->w->root_changed = true;
	}
	g->st->changed = changed;
	bt_keylist_exit(&top);
	return ret;
}

/* A dry run's figures after: what the commit would leave. */
static void predict_after(struct bt_gc_stats *st)
{
	int64_t freed = (int64_t)st->before.nodes - (int64_t)st->after.nodes +
			(int64_t)st->buckets_invalidated;

	st->after.nbuckets = st->before.nbuckets;
	st->after.buckets_in_use = (uint64_t)((int64_t)st->before.buckets_in_use - freed);
	st->after.free_buckets = (uint64_t)((int64_t)st->before.free_buckets + freed);
	st->after.max_gen_lag = st->changed ? 0 : st->before.max_gen_lag;
}

int bt_gc(struct cache_set *c, struct bt_node_cache *nc, const struct bt_gc_opts *o,
	  struct bt_gc_stats *st, struct printbuf *err)
{
	struct bt_write_ctx w;
	struct gc g = { .c = c, .nc = nc, .o = o, .st = st };
	size_t node_bytes = (size_t)c->btree_node_sectors << SECTOR_SHIFT;
	int ret;

	memset(st, 0, sizeof(*st));
	st->journal_keys = c->journal.nr_keys;
	if (c->journal.nr_keys && !o->dry_run) {
		/* gc works on a btree that holds every key: replay first, as fsck -y does */
		ret = bt_journal_replay(c, nc, 0, &st->replay, NULL, err);
		if (ret) {
			prt_printf(err, " (gc replays the journal first; run 'bcache-tool fsck' on '%s')",
				   c->dev->path);
			return ret;
		}
		st->replayed = st->replay.committed;
	}
	ret = bt_mark_buckets(c, nc, err);
	if (ret)
		return ret;
	bt_gc_figures_marked(c, &st->before);
	if (!c->block_size || node_bytes <= BSET_HEADER_BYTES) {
		prt_printf(err, "btree node size %u sectors of '%s' holds no key",
			   c->btree_node_sectors, c->dev->path);
		return -EINVAL;
	}
	g.fill_blocks = c->btree_node_sectors / c->block_size * 2 / 3;
	g.node_u64s = (node_bytes - BSET_HEADER_BYTES) / 8;
	g.ref = calloc(c->nbuckets ? c->nbuckets : 1, 1);
	if (!g.ref) {
		prt_str(err, "out of memory for the bucket references of gc");
		return -ENOMEM;
	}
	if (!o->dry_run) {
		ret = bt_write_begin(&w, c, nc);
		if (ret) {
			prt_printf(err, "cannot start the gc transaction on '%s': %s", c->dev->path,
				   bt_err_str(ret));
			free(g.ref);
			return ret;
		}
		g.w = &w;
	}
	ret = gc_tree(&g, err);
	if (!ret && st->changed)
		ret = invalidate_unreferenced(&g);
	if (ret || !st->changed || o->dry_run) {
		if (g.w)
			bt_write_abort(g.w);
		if (!ret && o->dry_run)
			predict_after(st);
		else if (!ret)
			st->after = st->before;
		free(g.ref);
		return ret;
	}
	w.last_seq = 0;
	ret = bt_commit(&w, err);
	free(g.ref);
	if (ret)
		return ret;
	st->committed = true;
	/* the new state's marks: last_gc recomputed, freed buckets free */
	ret = bt_mark_buckets(c, nc, err);
	if (!ret)
		bt_gc_figures_marked(c, &st->after);
	return ret;
}
