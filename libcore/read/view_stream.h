/* view_stream.h --- the kernel's view after journal replay, one key at a time.
 *
 * The same keys, in the same order, as bt_overlay_build() puts into its
 * extent map, handed to a callback as the tree walk reaches them, without
 * the whole view in memory: what is held is the node cache (its bound), the
 * journal's keys (bounded by the journal), and one leaf key's pieces.
 *
 * How: the journal's keys are first applied alone, in journal order, to an
 * empty map (bt_overlay_journal()): the keys that win, and where. Each leaf
 * key of the walk is then cut where those keys cover it (the pieces the
 * kernel's insert of the journal keys leaves of it), and the journal's keys
 * are handed out between the pieces in key order. This equals the built
 * view as long as the leaves' keys come in key order without overlapping
 * (a sound tree). A key that starts before the end of the one before it
 * (an overlap the built view resolves by keeping the earlier key) makes the
 * stream go over to the built view. When the stream makes its own first
 * walk (gens_raised false) that walk sees the overlap before any key is
 * handed out, and the caller sees no difference but the memory. Otherwise
 * the stream starts again: restart_fn tells the caller to forget the keys
 * it had, then every key of bt_overlay_build() follows.
 */
#ifndef BCACHE_TOOL_VIEW_STREAM_H
#define BCACHE_TOOL_VIEW_STREAM_H

#include <stdbool.h>

#include "libcore/base/printbuf.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"

struct bt_view_stream_opts {
	bool	with_journal;	/* false: the on-disk btree alone */
	bool	keep_going;	/* a node that cannot be read: its subtree skipped, counted */
	/*
	 * The caller has raised the bucket gens as the initial mark pass does
	 * (bt_mark_buckets(), or fsck's gc_mark pass), so that staleness can be
	 * judged as keys come. When false, a first walk raises them.
	 */
	bool	gens_raised;
	/* each key of the view, in key order; a non-zero return stops and is returned */
	int	(*key_fn)(struct cache_set *c, const struct bkey *k, void *arg);
	/*
	 * the stream starts again (see above; only with gens_raised): forget
	 * the keys had so far; NULL: such a stream fails with -ENOTSUP
	 */
	void	(*restart_fn)(void *arg);
	void	*arg;
};

/*
 * bt_view_stream(): hand every key of the view of c (bt_overlay_build()'s
 * keys: bad ones included, bt_overlay_key_live() tells which serve data)
 * to o->key_fn in key order, reading the tree through nc. stats as
 * bt_overlay_build()'s. Bucket gens are raised as there. Returns 0, a
 * key_fn's code, or a negative code with a message in err (node errors
 * as bt_overlay_build() with keep_going; -ENOMEM).
 */
int bt_view_stream(struct cache_set *c, struct bt_node_cache *nc,
		   const struct bt_view_stream_opts *o, struct bt_overlay_stats *stats,
		   struct printbuf *err);

#endif /* BCACHE_TOOL_VIEW_STREAM_H */
