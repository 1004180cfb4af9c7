/* gc.c --- offline garbage collection (gc.h): the btree rewritten level by
 * level, leaves first, without bad keys, adjacent sparse nodes coalesced,
 * data buckets left without keys invalidated, all in one copy-on-write
 * transaction.
 * Rules from btree.c btree_gc_mark_node(), btree_gc_coalesce(),
 * btree_gc_rewrite_node(), bch_btree_gc_root(), bch_btree_gc_finish() and
 * alloc.c bch_inc_gen() / __bch_invalidate_one_bucket().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/base/errcode.h"
#include "recovery/gc.h"
#include "libcore/ondisk/keylist.h"
#include "libcore/read/mark.h"
#include "libcore/dev/shadow.h"
#include "libcore/read/uuid.h"
#include "libcore/write/write.h"

/* A node whose key set is final, waiting in its level's coalesce window. */
struct gc_pend {
	struct bt_keylist	keys;		/* live keys, sorted */
	struct bkey_padded	key;		/* old pointer, or (new node) its end position */
	unsigned		level;
	bool			dirty;		/* keys differ from the node on disk: write it */
	bool			has_old;	/* replaces the node at old_bucket */
	uint64_t		old_bucket;
};

/* The last adjacent nodes of one level, across parents (btree_gc_recurse() r[]). */
struct gc_win {
	struct gc_pend		p[BT_GC_MERGE_NODES];
	unsigned		nr;
};

/* One old node of an interior level, in key order. */
struct gc_unit {
	struct bkey_padded	key;		/* the pointer that referenced it */
	struct bt_keylist	orig;		/* its live child pointers as read */
	struct bt_keylist	kids;		/* its child pointers in the new state */
	bool			dirty;		/* it held bad keys */
};

struct gc_level {
	struct gc_unit		*u;		/* level >= 1: the old nodes, in key order */
	size_t			nr, size;
	struct bt_keylist	out;		/* pointers to the level's new nodes, in key order */
};

struct gc {
	struct cache_set	*c;
	struct bt_node_cache	*nc;
	struct bt_write_ctx	*w;
	const struct bt_gc_opts	*o;
	struct bt_gc_stats	*st;
	uint8_t			*ref;		/* per bucket: a kept leaf key points into it */
	unsigned		fill_blocks;	/* 2/3 of a node, in blocks */
	size_t			node_u64s;	/* key words that fit in a node */
	struct printbuf		*err;
	struct gc_level		lv[BT_BTREE_MAX_DEPTH];
	struct gc_win		win0;		/* the leaves' coalesce window */
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

/* A key of a node that is not live (stale or bad) is dropped: count it in both figures. */
static void drop_dead(struct gc *g, bool stale, uint64_t nr)
{
	if (stale)
		g->st->stale_keys_dropped += nr;
	else
		g->st->bad_keys_dropped += nr;
	g->st->before.dead_keys += nr;
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
			drop_dead(g, bi.stale, 1);
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
		if (have_last && bt_extent_try_merge(c, (struct bkey *)&last, (struct bkey *)&cur)) {
			g->st->keys_merged++;
			continue;
		}
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
static int pend_flush(struct gc *g, struct gc_pend *p, struct bt_keylist *out)
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
		ret = bt_node_write(g->w, p->keys.d + start, cuts[i] - start, p->level,
				    (struct bkey *)&max, &ptr, g->err);
		if (!ret)
			ret = bt_keylist_push(out, (struct bkey *)&ptr);
		count_after(g, p->level, keys, cuts[i] - start);
		g->st->nodes_written++;
		start = cuts[i];
	}
	if (!ret && p->has_old) {
		g->st->nodes_rewritten++;
		ret = bt_free_after_commit(g->w, p->old_bucket);
	}
out:
	pend_exit(p);
	return ret;
}

/* Append u64s words holding nr keys to l. Returns 0 or -ENOMEM. */
static int keylist_append(struct bt_keylist *l, const uint64_t *d, size_t u64s, size_t nr)
{
	if (l->u64s + u64s > l->size) {
		size_t size = l->size ? l->size : 64;
		uint64_t *n;

		while (size < l->u64s + u64s)
			size *= 2;
		n = realloc(l->d, size * sizeof(*n));
		if (!n)
			return -ENOMEM;
		l->d = n;
		l->size = size;
	}
	memcpy(l->d + l->u64s, d, u64s * sizeof(*d));
	l->u64s += u64s;
	l->nr += nr;
	return 0;
}

/*
 * The keys of the window's nodes in order into all (which takes over the
 * first node's keys when steal is set); leaf extents that continue each
 * other across a node boundary are merged, as one node's read merges them
 * (within a node they already are).
 */
static int concat(struct gc *g, struct gc_pend *q, unsigned n, struct bt_keylist *all, bool steal)
{
	size_t last = 0;
	unsigned i = 0;
	int ret = 0;

	if (steal) {
		*all = q[0].keys;
		memset(&q[0].keys, 0, sizeof(q[0].keys));
		if (all->nr)
			last = (size_t)((const uint64_t *)last_key(all->d, 0, all->u64s) - all->d);
		i = 1;
	}
	for (; i < n && !ret; i++) {
		const struct bt_keylist *k = &q[i].keys;
		size_t o = 0, nr = k->nr;

		if (!k->nr)
			continue;
		if (!q[i].level && all->nr) {
			struct bkey_padded cur;

			memset(&cur, 0, sizeof(cur));
			bt_bkey_copy((struct bkey *)&cur, (const struct bkey *)k->d);
			o = bkey_u64s((const struct bkey *)k->d);
			nr--;
			if (bt_extent_try_merge(g->c, (struct bkey *)(all->d + last),
						(struct bkey *)&cur)) {
				g->st->keys_merged++;
			} else {
				last = all->u64s;
				ret = bt_keylist_push(all, (struct bkey *)&cur);
			}
		}
		if (!ret && o < k->u64s) {
			last = all->u64s + (size_t)((const uint64_t *)last_key(k->d, o, k->u64s) -
						    (k->d + o));
			ret = keylist_append(all, k->d + o, k->u64s - o, nr);
		}
	}
	return ret;
}

/*
 * btree_gc_coalesce(): when the live keys of the window's nodes from
 * p[skip] on fit in one node fewer filled to 2/3, replace them by nodes
 * filled to 2/3 in key order, the last taking the rest (if it fits a
 * node). Returns 0 (done or not) or -ENOMEM.
 */
static int coalesce(struct gc *g, struct gc_win *win, unsigned skip)
{
	struct gc_pend *q = win->p + skip;
	unsigned n = win->nr - skip;
	struct bt_keylist all = { 0 };
	struct gc_pend np[BT_GC_MERGE_NODES];
	size_t total = 0, cuts[BT_GC_MERGE_NODES], nr = 1, start = 0;
	unsigned level = q[0].level;
	const struct bkey *end = (const struct bkey *)&q[n - 1].key;
	bool one;
	int ret = 0;

	if (n < 2)
		return 0;
	for (unsigned i = 0; i < n; i++)
		total += q[i].keys.u64s;
	if (set_blocks(g, total) > g->fill_blocks * (n - 1))
		return 0;
	/* the usual case in a sparse tree: everything fits one node at 2/3 */
	one = set_blocks(g, total) <= g->fill_blocks;
	ret = concat(g, q, n, &all, one);
	if (ret)
		goto out;
	cuts[0] = all.u64s;
	if (!one) {
		/* chunks of at most 2/3 of a node; the (nr - 1)th takes what is left */
		size_t limit = ((size_t)g->fill_blocks * (g->c->block_size << SECTOR_SHIFT) -
				BSET_HEADER_BYTES) / 8;

		nr = cut_chunks(&all, limit, cuts, n - 1);
		if (cuts[nr - 1] - (nr > 1 ? cuts[nr - 2] : 0) > g->node_u64s)
			goto out;	/* the last node would not fit: no coalescing (as the kernel) */
	}
	memset(np, 0, sizeof(np));
	for (size_t i = 0; i < nr && !ret; i++) {
		const struct bkey *last = last_key(all.d, start, cuts[i]);
		const struct bkey *e = i + 1 < nr && last ? last : end;

		np[i].level = level;
		np[i].dirty = true;
		bkey_init_pos((struct bkey *)&np[i].key, KEY_INODE(e), KEY_OFFSET(e), 0);
		if (one) {
			np[i].keys = all;
			memset(&all, 0, sizeof(all));
			break;
		}
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
	for (unsigned i = 0; i < n && !ret; i++) {
		if (q[i].has_old)
			ret = bt_free_after_commit(g->w, q[i].old_bucket);
		pend_exit(&q[i]);
	}
	g->st->coalesce_groups++;
	g->st->nodes_coalesced += n - nr;
	memcpy(q, np, nr * sizeof(np[0]));
	win->nr = skip + (unsigned)nr;
out:
	bt_keylist_exit(&all);
	return ret;
}

/* The window's coalescing, nodes already full to 2/3 left out. */
static int win_coalesce(struct gc *g, struct gc_win *win)
{
	unsigned skip = 0;

	/*
	 * Nodes already full to 2/3 would come out unchanged as the first
	 * chunks: leave them out, so that a filled node is not copied again
	 * for every sparse node that follows it.
	 */
	while (skip + 1 < win->nr && set_blocks(g, win->p[skip].keys.u64s + KEY_MAX_U64S) >
	       g->fill_blocks)
		skip++;
	return coalesce(g, win, skip);
}

/* Push the newest node into the window: coalesce, and flush the oldest of a full window to out. */
static int win_step(struct gc *g, struct gc_win *win, struct bt_keylist *out)
{
	int ret;

	win->nr++;
	ret = win_coalesce(g, win);
	if (!ret && win->nr == BT_GC_MERGE_NODES) {
		ret = pend_flush(g, &win->p[0], out);
		memmove(win->p, win->p + 1, --win->nr * sizeof(win->p[0]));
	}
	return ret;
}

/* Flush what is left in the window (or, after an error, free it). */
static int win_drain(struct gc *g, struct gc_win *win, struct bt_keylist *out, int ret)
{
	for (unsigned i = 0; i < win->nr; i++) {
		if (!ret)
			ret = pend_flush(g, &win->p[i], out);
		else
			pend_exit(&win->p[i]);
	}
	win->nr = 0;
	return ret;
}

/* A leaf met by the walk (in key order): its live keys join the level-0 window. */
static int walk_leaf(struct gc *g, const struct bt_node *n)
{
	struct gc_pend *p = &g->win0.p[g->win0.nr];
	int ret;

	memset(p, 0, sizeof(*p));
	bt_bkey_copy((struct bkey *)&p->key, (const struct bkey *)n->key);
	p->has_old = true;
	p->old_bucket = n->bucket;
	p->dirty = n->nr_invalid != 0;
	ret = leaf_keys(g, n, p);
	if (ret) {
		pend_exit(p);
		prt_printf(g->err, "out of memory collecting the leaf at bucket %llu",
			   (unsigned long long)n->bucket);
		return ret;
	}
	return win_step(g, &g->win0, &g->lv[0].out);
}

/* An interior node met by the walk: recorded with its live child pointers. */
static int walk_interior(struct gc *g, const struct bt_node *n)
{
	struct gc_level *lv = &g->lv[n->level];
	const struct cache_set *c = g->c;
	const struct bkey *k;
	struct gc_unit *u;
	int ret = 0;

	if (lv->nr == lv->size) {
		size_t size = lv->size ? lv->size * 2 : 16;
		struct gc_unit *nu = realloc(lv->u, size * sizeof(*nu));

		if (!nu)
			return -ENOMEM;
		lv->u = nu;
		lv->size = size;
	}
	u = &lv->u[lv->nr++];
	memset(u, 0, sizeof(*u));
	bt_bkey_copy((struct bkey *)&u->key, (const struct bkey *)n->key);
	u->dirty = n->nr_invalid != 0;
	for_each_node_key(n, k) {
		g->st->keys_visited++;
		if (bt_btree_ptr_bad(c, k)) {
			drop_dead(g, !bkey_is_zero_pos(k) && bt_ptr_status(c, k) == BT_PTR_STALE, 1);
			u->dirty = true;
			continue;
		}
		ret = bt_keylist_push(&u->orig, k);
		if (ret)
			return ret;
	}
	return 0;
}

static int walk_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct gc *g = arg;

	(void)pos;
	if (n->level >= BT_BTREE_MAX_DEPTH)
		return -BT_ERR_BTREE_TOO_DEEP;
	g->st->before.nodes++;
	g->st->before.key_bytes += n->u64s * 8;
	if (n->nr_invalid)	/* keys the kernel refuses: "spotted extent" / "btree ptr" */
		drop_dead(g, false, n->nr_invalid);
	return n->level ? walk_interior(g, n) : walk_leaf(g, n);
}

/*
 * Hand the new nodes of the level below (pointers in key order) to the old
 * nodes of level L: each goes to the first whose range ends at or after it.
 */
static int assign_children(struct gc *g, unsigned L)
{
	struct bt_keylist *below = &g->lv[L - 1].out;
	struct gc_level *lv = &g->lv[L];
	size_t j = 0;

	for (size_t o = 0; o < below->u64s;) {
		const struct bkey *k = (const struct bkey *)(below->d + o);
		int ret;

		while (j < lv->nr && bkey_cmp(k, (const struct bkey *)&lv->u[j].key) > 0)
			j++;
		if (j == lv->nr) {
			prt_printf(g->err, "btree of '%s': a node at level %u ending at ",
				   g->c->dev->path, L - 1);
			bt_bkey_to_text(g->err, k);
			prt_printf(g->err, " lies past every node of level %u", L);
			return -BT_ERR_BTREE_TOPOLOGY;
		}
		ret = bt_keylist_push(&lv->u[j].kids, k);
		if (ret)
			return ret;
		o += bkey_u64s(k);
	}
	return 0;
}

static bool same_keys(const struct bt_keylist *a, const struct bt_keylist *b)
{
	return a->u64s == b->u64s && (!a->u64s || !memcmp(a->d, b->d, a->u64s * 8));
}

/* Rebuild interior level L from its old nodes and the new children. */
static int gc_level(struct gc *g, unsigned L)
{
	struct gc_level *lv = &g->lv[L];
	struct gc_win win = { .nr = 0 };
	int ret = assign_children(g, L);

	for (size_t j = 0; j < lv->nr && !ret; j++) {
		struct gc_unit *u = &lv->u[j];
		struct gc_pend *p = &win.p[win.nr];
		const struct bkey *last;

		if (!u->kids.nr) {
			/* every child went to a coalesced node of another parent */
			g->st->nodes_emptied++;
			ret = bt_free_after_commit(g->w, PTR_BUCKET_NR(g->c, (struct bkey *)&u->key, 0));
			continue;
		}
		memset(p, 0, sizeof(*p));
		p->level = L;
		p->has_old = true;
		p->old_bucket = PTR_BUCKET_NR(g->c, (const struct bkey *)&u->key, 0);
		p->dirty = u->dirty || !same_keys(&u->kids, &u->orig);
		p->key = u->key;
		last = last_key(u->kids.d, 0, u->kids.u64s);
		if (L < g->c->root_level && bkey_cmp(last, (const struct bkey *)&u->key)) {
			/* its last child moved: the node's range ends there now */
			p->dirty = true;
			memset(&p->key, 0, sizeof(p->key));
			bkey_init_pos((struct bkey *)&p->key, KEY_INODE(last), KEY_OFFSET(last), 0);
		}
		p->keys = u->kids;
		memset(&u->kids, 0, sizeof(u->kids));
		ret = win_step(g, &win, &lv->out);
	}
	return win_drain(g, &win, &lv->out, ret);
}

static void levels_exit(struct gc *g)
{
	for (unsigned L = 0; L < BT_BTREE_MAX_DEPTH; L++) {
		for (size_t j = 0; j < g->lv[L].nr; j++) {
			bt_keylist_exit(&g->lv[L].u[j].orig);
			bt_keylist_exit(&g->lv[L].u[j].kids);
		}
		free(g->lv[L].u);
		bt_keylist_exit(&g->lv[L].out);
	}
	for (unsigned i = 0; i < g->win0.nr; i++)
		pend_exit(&g->win0.p[i]);
	memset(g->lv, 0, sizeof(g->lv));
	g->win0.nr = 0;
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
		bk->gen++;
		bk->prio = INITIAL_PRIO;
		ret = bt_free_after_commit(g->w, b);
	}
	return ret;
}

/*
 * The root would keep a single child: that child becomes the root, and so
 * on down while a level holds one node (bch_btree_gc_root() keeps the depth;
 * offline a shorter tree costs nothing and saves nodes). *level gets the
 * new root's level; the nodes above it are freed after the commit.
 */
static int collapse_root(struct gc *g, unsigned *level)
{
	struct cache_set *c = g->c;
	unsigned L = c->root_level;
	int ret = 0;

	/* the root's range (MAX_KEY) must stay that of the node taking its place */
	while (L > 0 && g->lv[L - 1].out.nr == 1 &&
	       !bkey_cmp((const struct bkey *)g->lv[L - 1].out.d, (const struct bkey *)&c->root_key))
		L--;
	if (L == c->root_level)
		return gc_level(g, L);
	/* the old root, then the single nodes written (or kept) between it and level L */
	ret = bt_free_after_commit(g->w, PTR_BUCKET_NR(c, (const struct bkey *)&c->root_key, 0));
	for (unsigned l = L + 1; l < c->root_level && !ret; l++) {
		ret = bt_free_after_commit(g->w, PTR_BUCKET_NR(c, (const struct bkey *)g->lv[l].out.d, 0));
		g->st->after.nodes--;
		g->st->after.key_bytes -= g->lv[l - 1].out.u64s * 8;
	}
	g->st->levels_removed = c->root_level - L;
	*level = L;
	return ret;
}

/*
 * The whole tree, level by level: the walk (key order) streams the leaves
 * through the level-0 window; each interior level is then rebuilt from
 * its old nodes and the new children; the root last. Sets the new root.
 */
static int gc_tree(struct gc *g)
{
	struct cache_set *c = g->c;
	const struct bkey *root = (const struct bkey *)&c->root_key;
	struct bt_walk_opts wo = { walk_node, NULL, g, 0, 0 };
	struct bt_keylist top = { 0 };
	unsigned level = c->root_level;
	int ret;

	if (c->root_level >= BT_BTREE_MAX_DEPTH) {
		prt_printf(g->err, "btree root of '%s' at level %u: deeper than %u levels",
			   c->dev->path, c->root_level, BT_BTREE_MAX_DEPTH);
		return -BT_ERR_BTREE_TOO_DEEP;
	}
	ret = bt_btree_walk(g->nc, root, c->root_level, &wo, g->err);
	if (ret == -BT_ERR_BTREE_TOO_DEEP && !printbuf_str(g->err)[0])
		prt_printf(g->err, "btree of '%s' deeper than %u levels", c->dev->path,
			   BT_BTREE_MAX_DEPTH);
	ret = win_drain(g, &g->win0, &g->lv[0].out, ret);
	for (unsigned L = 1; L < c->root_level && !ret; L++)
		ret = gc_level(g, L);
	if (!ret && c->root_level && g->lv[c->root_level - 1].out.nr == 1)
		ret = collapse_root(g, &level);
	else if (!ret && c->root_level)
		ret = gc_level(g, c->root_level);
	if (ret)
		return ret;
	top = g->lv[level].out;
	memset(&g->lv[level].out, 0, sizeof(top));
	g->st->changed = !(top.nr == 1 && !memcmp(top.d, root, bkey_bytes(root)));
	/* the root's keys no longer fit one node: one more level (never happens in the kernel's gc) */
	while (top.nr > 1 && !ret) {
		struct gc_pend up = { .keys = top, .level = level + 1, .dirty = true };

		memset(&top, 0, sizeof(top));
		bkey_init_pos((struct bkey *)&up.key, MAX_KEY_INODE, MAX_KEY_OFFSET, 0);
		ret = pend_flush(g, &up, &top);
		level++;
	}
	if (!ret && g->st->changed) {
		memset(&g->w->new_root, 0, sizeof(g->w->new_root));
		bt_bkey_copy((struct bkey *)&g->w->new_root, (const struct bkey *)top.d);
		g->w->new_root_level = level;
		g->w->root_changed = true;
	}
	bt_keylist_exit(&top);
	return ret;
}

int bt_gc(struct cache_set *c, struct bt_node_cache *nc, const struct bt_gc_opts *o,
	  struct bt_gc_stats *st, struct printbuf *err)
{
	struct bt_write_ctx w;
	struct gc g = { .c = c, .nc = nc, .o = o, .st = st, .err = err };
	size_t node_bytes = (size_t)c->btree_node_sectors << SECTOR_SHIFT;
	int ret;

	memset(st, 0, sizeof(*st));
	st->journal_keys = c->journal.nr_keys;
	/* a dry run is the same run, on a shadow of the device (shadow.h) */
	if (o->dry_run && (ret = bt_dev_shadow(c->dev, err)))
		return ret;
	if (c->journal.nr_keys) {
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
	ret = bt_write_begin(&w, c, nc);
	if (ret) {
		prt_printf(err, "cannot start the gc transaction on '%s': %s", c->dev->path,
			   bt_err_str(ret));
		free(g.ref);
		return ret;
	}
	g.w = &w;
	ret = gc_tree(&g);
	levels_exit(&g);
	if (!ret && st->changed)
		ret = invalidate_unreferenced(&g);
	if (ret || !st->changed) {
		bt_write_abort(g.w);
		if (!ret)
			st->after = st->before;
		free(g.ref);
		return ret;
	}
	if (bt_stop_requested(c->stop)) {
		prt_printf(err, "gc of '%s' stopped before its commit: nothing was changed",
			   c->dev->path);
		bt_write_abort(g.w);
		free(g.ref);
		return -BT_ERR_INTERRUPTED;
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
