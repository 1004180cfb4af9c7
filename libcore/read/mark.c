/* mark.c --- the kernel's initial gc mark pass on c->buckets (mark.h;
 * FORMAT.md 9.3): btree.c bch_btree_check() /
 * bch_initial_mark_key(), journal.c bch_journal_mark(), btree.c
 * bch_btree_gc_finish(). Only memory changes; the device is read.
 */
#include <errno.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/read/mark.h"
#include "libcore/read/node_cache.h"

void bt_mark_reset(struct cache_set *c)
{
	for (uint64_t b = 0; b < c->nbuckets; b++) {
		struct bt_bucket *g = &c->buckets[b];

		g->gen = g->last_gc = g->disk_gen;
		g->mark = GC_MARK_NONE;
		g->sectors_used = 0;
		g->pinned = 0;
	}
}

unsigned bt_mark_key(struct cache_set *c, const struct bkey *k, unsigned level)
{
	return bt_mark_key_hooked(c, k, level, NULL);
}

unsigned bt_mark_key_hooked(struct cache_set *c, const struct bkey *k, unsigned level,
			    const struct bt_mark_hooks *h)
{
	unsigned conflicts = 0;

	/* step 1: gens of live pointers, prios */
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		uint64_t b = PTR_BUCKET_NR(c, k, i);
		struct bt_bucket *g;

		if (!bt_ptr_available(k, i) || b >= c->nbuckets || bt_ptr_stale(c, k, i))
			continue;
		g = &c->buckets[b];
		g->gen = (uint8_t)PTR_GEN(k, i);
		if (level && !bkey_is_zero_pos(k) && g->prio != BTREE_PRIO && h && h->btree_prio)
			h->btree_prio(h->arg, k, level, i, g->prio);
		if (level && !bkey_is_zero_pos(k))
			g->prio = BTREE_PRIO;
		else if (!level && g->prio == BTREE_PRIO)
			g->prio = INITIAL_PRIO;
	}
	/* freeing keys only move gens */
	if (bkey_is_zero_pos(k))
		return 0;
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		uint64_t b = PTR_BUCKET_NR(c, k, i);
		struct bt_bucket *g;
		unsigned sectors;

		if (!bt_ptr_available(k, i) || b >= c->nbuckets)
			continue;
		g = &c->buckets[b];
		if (gen_after(g->last_gc, (uint8_t)PTR_GEN(k, i)))
			g->last_gc = (uint8_t)PTR_GEN(k, i);
		if (bt_ptr_stale(c, k, i))
			continue;
		if (g->mark && (g->mark == GC_MARK_METADATA) != (level != 0)) {
			/* "inconsistent ptrs" in the kernel; the first mark wins here */
			conflicts++;
			if (h && h->conflict)
				h->conflict(h->arg, k, level, i);
			continue;
		}
		if (level)
			g->mark = GC_MARK_METADATA;
		else if (KEY_DIRTY(k))
			g->mark = GC_MARK_DIRTY;
		else if (!g->mark)
			g->mark = GC_MARK_RECLAIMABLE;
		sectors = g->sectors_used + (unsigned)KEY_SIZE(k);
		g->sectors_used = (uint16_t)(sectors > GC_SECTORS_USED_MAX ?
					     GC_SECTORS_USED_MAX : sectors);
	}
	return conflicts;
}

unsigned bt_mark_journal(struct cache_set *c)
{
	return bt_mark_journal_hooked(c, NULL);
}

unsigned bt_mark_journal_hooked(struct cache_set *c, const struct bt_mark_hooks *h)
{
	unsigned conflicts = 0;

	for (size_t i = c->journal.nr; i-- > 0;) {
		const struct jset *j = c->journal.entries[i].j;
		const uint64_t *p = j->d, *end = j->d + le32toh(j->keys);

		for (; p + 2 <= end && p + bkey_u64s((const struct bkey *)p) <= end;
		     p += bkey_u64s((const struct bkey *)p)) {
			const struct bkey *k = (const struct bkey *)p;

			if (bt_extent_invalid(c, k) != BT_EXTENT_VALID)
				continue;
			for (unsigned n = 0; n < KEY_PTRS(k); n++)
				if (bt_ptr_available(k, n) && PTR_BUCKET_NR(c, k, n) < c->nbuckets)
					c->buckets[PTR_BUCKET_NR(c, k, n)].pinned = 1;
			conflicts += bt_mark_key_hooked(c, k, 0, h);
		}
	}
	return conflicts;
}

unsigned bt_mark_finish(struct cache_set *c)
{
	const struct bkey *u = (const struct bkey *)c->uuid_key.w;
	unsigned conflicts = 0;

#define META(b)								\
	do {								\
		uint64_t __b = (b);					\
		if (__b < c->nbuckets) {				\
			conflicts += c->buckets[__b].mark != GC_MARK_NONE &&	\
				     c->buckets[__b].mark != GC_MARK_METADATA;	\
			c->buckets[__b].mark = GC_MARK_METADATA;	\
		}							\
	} while (0)
	for (unsigned i = 0; i < KEY_PTRS(u) && i < BKEY_PAD - 2; i++)
		if (bt_ptr_available(u, i))
			META(PTR_BUCKET_NR(c, u, i));
	for (unsigned i = 0; i < c->sb.keys && i < SB_JOURNAL_BUCKETS; i++)
		META(c->sb.d[i]);
	for (unsigned i = 0; c->prio_chain && i < c->prio_buckets; i++)
		META(c->prio_chain[i]);
#undef META
	return conflicts;
}

static int mark_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct cache_set *c = arg;
	const struct bkey *k;

	(void)pos;
	for_each_node_key(n, k)
		bt_mark_key(c, k, n->level);
	return 0;
}

int bt_mark_buckets(struct cache_set *c, struct bt_node_cache *nc, struct printbuf *err)
{
	const struct bkey *root = (const struct bkey *)c->root_key.w;
	struct bt_walk_opts wo = { mark_node, NULL, c, 0, BT_WALK_RAISE_GENS };
	int ret;

	if (!c->buckets || !c->prio_chain) {
		prt_printf(err, "cannot mark the buckets of '%s': the prio chain was not read",
			   c->dev ? c->dev->path : "?");
		return -EINVAL;
	}
	bt_mark_reset(c);
	/* bch_btree_check(): the root node's keys, the root's own key as a pointer */
	bt_raise_ptr_gens(c, root);
	bt_mark_key(c, root, c->root_level + 1);
	ret = bt_btree_walk(nc, root, c->root_level, &wo, err);
	if (ret)
		return ret;
	bt_mark_journal(c);
	bt_mark_finish(c);
	return 0;
}
