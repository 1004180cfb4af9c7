/* mark.h --- the initial gc mark pass (bt_mark_buckets()) and its pieces,
 * for callers that walk the tree themselves and report problems (fsck's
 * gc_mark pass): reset, one key, the journal keys, the finish.
 */
#ifndef BCACHE_TOOL_MARK_H
#define BCACHE_TOOL_MARK_H

#include "libcore/base/printbuf.h"
#include "libcore/ondisk/cache_set.h"

struct bt_node_cache;

/*
 * bt_mark_buckets(): the kernel's initial gc mark pass (btree.c
 * bch_btree_check(), bch_journal_mark(), bch_btree_gc_finish()): walk every
 * node reachable from the root, mark c->buckets[].mark (METADATA for nodes,
 * DIRTY/RECLAIMABLE for leaf data), sectors_used, last_gc, pinned (journal
 * keys), raise gens for pointers ahead, and mark the journal, prio chain and
 * uuid buckets METADATA. Read-only on the device. Returns 0 or a negative
 * code with a message; conflicting marks are not errors here (fsck reports
 * them) -- the first mark wins.
 */
int bt_mark_buckets(struct cache_set *c, struct bt_node_cache *nc, struct printbuf *err);

/*
 * bt_mark_reset(): the state before marking (FORMAT.md 9.3 "Start"): every
 * bucket's gen and last_gc = disk_gen (the prio chain's gen), mark NONE,
 * sectors_used 0, not pinned. Prios are kept.
 */
void bt_mark_reset(struct cache_set *c);

/*
 * bt_mark_key(): btree.c bch_initial_mark_key() of key k found at `level`
 * (0 = leaf extent; a node's own key is marked with its level + 1): live
 * pointers set their bucket's gen (raising it), prio BTREE_PRIO for node
 * pointers (INITIAL_PRIO for data in a bucket still at BTREE_PRIO); unless
 * k is at position 0:0 (a freeing key), last_gc, mark (METADATA / DIRTY /
 * RECLAIMABLE) and sectors_used. Returns the number of pointers that met
 * a bucket already marked the other way (the kernel's fatal "inconsistent
 * ptrs"): those keep their first mark.
 */
unsigned bt_mark_key(struct cache_set *c, const struct bkey *k, unsigned level);

/* Reports made while marking (fsck); any hook may be NULL. */
struct bt_mark_hooks {
	/* pointer ptr of k met a bucket already marked the other way */
	void	(*conflict)(void *arg, const struct bkey *k, unsigned level, unsigned ptr);
	/* pointer ptr of node key k found its bucket at a prio other than BTREE_PRIO */
	void	(*btree_prio)(void *arg, const struct bkey *k, unsigned level, unsigned ptr,
			      unsigned prio);
	void	*arg;
};

/* bt_mark_key() with reports through h (may be NULL). */
unsigned bt_mark_key_hooked(struct cache_set *c, const struct bkey *k, unsigned level,
			    const struct bt_mark_hooks *h);

/*
 * bt_mark_journal(): journal.c bch_journal_mark(): every valid key of the
 * replay list, newest jset first, pins its buckets and is marked as a leaf
 * key. Returns the conflicts of bt_mark_key().
 */
unsigned bt_mark_journal(struct cache_set *c);
/* bt_mark_journal() with reports through h (may be NULL). */
unsigned bt_mark_journal_hooked(struct cache_set *c, const struct bt_mark_hooks *h);

/*
 * bt_mark_finish(): btree.c bch_btree_gc_finish(): the uuid bucket(s), the
 * journal buckets and the prio chain buckets become METADATA. Returns how
 * many of them were already marked as data.
 */
unsigned bt_mark_finish(struct cache_set *c);

#endif /* BCACHE_TOOL_MARK_H */
