/* gc.h --- offline garbage collection of a cache set (bcache-tool gc).
 *
 * What the kernel's gc thread does online (btree.c bch_btree_gc(),
 * btree_gc_recurse(), btree_gc_mark_node(), btree_gc_coalesce(),
 * btree_gc_rewrite_node(), bch_btree_gc_root(), bch_btree_gc_finish();
 * alloc.c bch_inc_gen() / invalidation), done as ONE copy-on-write
 * transaction of the write path (write.h):
 *
 * 1. Journal: keys in the replay range are first replayed into the btree
 *    in a transaction of their own (replay.h bt_journal_replay()), so that
 *    gc works on a btree that holds everything and leaves nothing pinned.
 *    A journal with missing entries is refused (run fsck first). The
 *    figures "before" are those of the replayed btree: the state the
 *    kernel serves after registration, and the one gc works on.
 * 2. The mark pass (bt_mark_buckets()) gives the gens of the current state.
 * 3. The tree is walked in key order (bt_btree_walk()); leaves are
 *    collected as they come, then each interior level from the new nodes
 *    of the level below. Every node's live key set is built: bad keys
 *    dropped (stale pointers, freeing keys, no pointer, invalid keys:
 *    bch_ptr_bad()), with bt_gc_opts.invalidate_clean also every clean
 *    leaf key outside flash-only volumes. A node is rewritten (sorted, one
 *    bset, adjacent extents merged) when it dropped any key. This is
 *    stricter than btree_gc_mark_node() (stale > 10, or more than half the
 *    keys bad): offline there is no later gc, and a stale pointer left in a
 *    node keeps its bucket's gc gen lag (gen - oldest referenced gen) from
 *    returning to 0.
 * 4. Coalescing (btree_gc_coalesce()): a window of the last
 *    GC_MERGE_NODES (4) adjacent nodes of a level whose live keys fit in
 *    one node fewer filled to 2/3 (set blocks <= 2/3 of the node's blocks
 *    times (nodes - 1)) is replaced by that many nodes fewer, each filled
 *    to 2/3, the last one taking the rest; nodes already full to 2/3 are
 *    left out of the window (they would come out unchanged). Unlike the
 *    kernel, whose window is the children of one node, the window slides
 *    over the whole level, across parents: every new node then goes to the
 *    old parent whose range holds its end, a parent's range ends at its
 *    last child, a parent left without children disappears. So one run
 *    reaches what the kernel reaches in several, and a second run finds
 *    nothing to do.
 * 5. A root left with a single child is replaced by that child, down to
 *    the first level with more than one node (the kernel keeps the depth).
 *    Every changed node makes its parent change (no freeing keys: the
 *    parent is rewritten without the old pointer, as btree_update.h does),
 *    up to the root; the root is rewritten when it changed, and gets a new
 *    level above it in the (unexpected) case its keys no longer fit.
 * 6. Gens and prios: a data bucket that held live keys before and holds
 *    none after (clean data dropped by invalidate_clean) is invalidated as
 *    alloc.c does: gen + 1, prio INITIAL_PRIO, free after the commit.
 *    Replaced nodes' buckets are freed after the commit. New nodes get
 *    BTREE_PRIO (bt_bucket_alloc()). The commit's prio chain carries all
 *    gens. Afterwards no stale pointer is left in the tree, so the mark of
 *    the new state has gen == last_gc everywhere: max gc gen lag 0.
 * 7. Nothing to rewrite: nothing is written (a second gc is a no-op).
 *
 * A dry run (bt_gc_opts.dry_run) is the same run on a shadow of the device
 * (shadow.h): the replay and the gc transaction are executed and committed
 * exactly as above, their writes going to a temporary file, so that every
 * figure of a dry run is the one the real run then reports.
 *
 * Figures (struct bt_gc_figures) are counted like fsck's summary: nodes
 * reachable, keys = live leaf keys, key bytes = merged u64s of every node
 * times 8, buckets in use = marked buckets from first_bucket on, free =
 * mark NONE and not pinned, max gen lag = max(gen - last_gc). What "keys"
 * counts, so that the figures add up: a node holds live keys (leaves:
 * figures.keys) and dead ones (stale or bad, any level: dead_keys). Every
 * dead key is dropped: stale_keys_dropped + bad_keys_dropped ==
 * before.dead_keys, and none is left after. Of the live leaf keys, the
 * clean ones dropped (invalidate_clean) and the ones merged into the
 * extent before them leave: after.keys == before.keys -
 * clean_keys_dropped - keys_merged.
 */
#ifndef BCACHE_TOOL_GC_H
#define BCACHE_TOOL_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/read/node_cache.h"
#include "libcore/base/printbuf.h"
#include "libcore/write/replay.h"

#define BT_GC_MERGE_NODES	4	/* btree.c GC_MERGE_NODES */

struct bt_gc_opts {
	/*
	 * run on a shadow of c->dev (read-only or not): it keeps the shadow
	 * for the rest of its life, and c describes the state gc would leave
	 */
	bool	dry_run;
	bool	invalidate_clean;	/* drop clean leaf keys (not of flash-only volumes) */
};

/* The state of a cache set as gc sees it, before or after. */
struct bt_gc_figures {
	uint64_t	nodes;
	uint64_t	keys;		/* live leaf keys (fsck's and the kernel's nkeys) */
	uint64_t	dead_keys;	/* keys of all levels that are not live: stale or bad */
	uint64_t	key_bytes;	/* 8 * merged u64s of all nodes */
	uint64_t	buckets_in_use;	/* mark != NONE, from first_bucket */
	uint64_t	free_buckets;	/* mark NONE, not pinned, from first_bucket */
	uint64_t	nbuckets;	/* buckets from first_bucket */
	unsigned	max_gen_lag;	/* max over buckets of (uint8_t)(gen - last_gc) */
};

struct bt_gc_stats {
	struct bt_gc_figures	before, after;	/* before: after the journal replay */
	uint64_t	journal_keys;		/* keys in the replay range at the start */
	bool		replayed;		/* they were replayed first */
	struct bt_replay_stats	replay;
	uint64_t	stale_keys_dropped;	/* keys with a stale pointer */
	uint64_t	bad_keys_dropped;	/* other bad keys (freeing keys, invalid, no ptr, zero size) */
	uint64_t	clean_keys_dropped;	/* invalidate_clean: live leaf keys dropped */
	uint64_t	keys_merged;		/* live leaf keys joined to the extent before them */
	uint64_t	nodes_rewritten;	/* nodes replaced one for one */
	uint64_t	nodes_coalesced;	/* nodes removed by coalescing */
	uint64_t	coalesce_groups;	/* coalesce operations */
	uint64_t	nodes_emptied;		/* interior nodes whose children all moved away */
	unsigned	levels_removed;		/* root levels collapsed (a root with one child) */
	uint64_t	nodes_written;		/* new nodes, all reasons */
	uint64_t	buckets_invalidated;	/* data buckets freed, gen incremented */
	uint64_t	keys_visited;		/* keys of all nodes read (throughput) */
	bool		changed;		/* something to rewrite */
	bool		committed;		/* the gc transaction was committed (dry run: to the shadow) */
};

/*
 * bt_gc(): garbage-collect the cache set c (from bt_cache_set_open(), its
 * node cache nc) as described above, committing one transaction on c->dev
 * (opened read-write), or with o->dry_run on its shadow (shadow.h
 * bt_dev_shadow(); its errors too). Fills *st (zeroed first).
 *
 * Returns 0 or a negative code with a message: node read errors (fsck
 * first), -BT_ERR_JOURNAL_MISSING_ENTRIES, -BT_ERR_NO_FREE_BUCKET (no room
 * for the new nodes: copy-on-write needs free buckets), the commit's
 * errors (write limit, I/O), -ENOMEM. On error the device holds the old
 * state, or the replayed one when only the replay was committed.
 */
int bt_gc(struct cache_set *c, struct bt_node_cache *nc, const struct bt_gc_opts *o,
	  struct bt_gc_stats *st, struct printbuf *err);

/*
 * bt_gc_figures_marked(): the bucket figures (in use, free, max gen lag)
 * of c's current marks (bt_mark_buckets() done); the btree figures are
 * left as they are.
 */
void bt_gc_figures_marked(const struct cache_set *c, struct bt_gc_figures *f);

#endif /* BCACHE_TOOL_GC_H */
