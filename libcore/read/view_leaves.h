/* view_leaves.h --- the kernel's view after journal replay, leaf by leaf,
 * without the whole view in memory.
 *
 * dump-btree's form of the view: each node as the walk reaches it and,
 * for each leaf, the keys of the view that lie in the leaf's key range
 * (start, end], cut at its edges (a journal key that covers two leaves is
 * shown in both, cut). These are exactly the keys of bt_overlay_build()'s
 * extent map inside each leaf's range.
 *
 * How: the journal's keys are first applied alone (bt_overlay_journal()).
 * Each leaf's keys go into a small map of their own, the journal's keys
 * that meet the leaf's range are inserted over them, and that map is
 * handed out cut to the range. This equals the built view when every leaf
 * key lies inside its leaf's range and the ranges ascend (a sound tree):
 * a first walk, which also raises the bucket gens as the mark pass does,
 * checks that before any key is handed out. Where it does not hold (a key
 * past its node, ranges out of order) the view is built whole, and the
 * same callbacks follow in the same order, so the caller sees no
 * difference but the memory.
 *
 * Held at once: the node cache (its bound), the journal's keys (bounded by
 * the journal) and one leaf's keys.
 */
#ifndef BCACHE_TOOL_VIEW_LEAVES_H
#define BCACHE_TOOL_VIEW_LEAVES_H

#include <stdbool.h>

#include "libcore/base/printbuf.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"

struct bt_view_leaves_opts {
	bool		with_journal;	/* false: the on-disk btree alone */
	/* build the view whole anyway (what a tree that is not sound gets) */
	bool		build_whole;
	/* every node as the walk reaches it, before a leaf's keys; may be NULL */
	bt_walk_node_fn	node_fn;
	/* each key of the view in the current leaf's range, cut to it, in key order */
	int		(*key_fn)(struct cache_set *c, const struct bkey *k, void *arg);
	/* after a leaf's keys; may be NULL */
	bt_walk_node_fn	leaf_done_fn;
	/*
	 * a node that cannot be read (bt_walk_error_fn: return 0 to skip its
	 * subtree, counted in stats->unreadable_nodes); NULL: stop there
	 */
	bt_walk_error_fn error_fn;
	void		*arg;
};

/*
 * bt_view_leaves(): walk the tree of c through nc and hand out the view
 * leaf by leaf as above. Bucket gens are raised as bt_overlay_build() does;
 * stats as its (btree_keys counts the leaves' keys of the walk). A non-zero
 * return of a callback stops the walk and is returned. Otherwise returns 0
 * or a negative code with a message in err (-ENOMEM, a node error without
 * error_fn, bt_overlay_journal()'s).
 */
int bt_view_leaves(struct cache_set *c, struct bt_node_cache *nc,
		   const struct bt_view_leaves_opts *o, struct bt_overlay_stats *stats,
		   struct printbuf *err);

#endif /* BCACHE_TOOL_VIEW_LEAVES_H */
