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

/*
 * A view fed by the caller's own walk (the tap): when a check walks the
 * tree anyway, the view's keys come from that walk instead of one more.
 * The caller's walk must be the one bt_view_stream() would make: the same
 * root, every node handed to bt_view_tap_node() in walk order, every node
 * error to bt_view_tap_node_error(), with the gens raised as o->gens_raised
 * says (required here) and the journal raising none
 * (bt_overlay_journal_raises_gens() false: bt_view_tap_begin() marks the
 * journal first). Then key_fn gets the same keys in the same order as
 * from bt_view_stream(), or bt_view_tap_end() says -EAGAIN when the leaves'
 * keys overlap (the caller forgets its keys and calls bt_view_stream()).
 */
struct bt_view_tap;

/*
 * bt_view_tap_begin(): a tap for the view of c with options o (not owned,
 * kept until the end) and stats (as bt_view_stream()'s, filled as the walk
 * goes). Returns 0 with *out, -EINVAL when o->gens_raised or
 * o->keep_going is false or the journal would raise gens, or -ENOMEM
 * (message in err).
 */
int bt_view_tap_begin(struct cache_set *c, const struct bt_view_stream_opts *o,
		      struct bt_overlay_stats *stats, struct bt_view_tap **out,
		      struct printbuf *err);

/*
 * bt_view_tap_node(): node n as the walk reaches it (interior nodes are
 * passed over). Returns 0 or the code that stopped key_fn (the caller
 * stops its walk then). Once the leaves overlap, nothing more is handed out.
 */
int bt_view_tap_node(struct bt_view_tap *t, const struct bt_node *n);

/* bt_view_tap_node_error(): a node the walk could not read; msg is kept. */
void bt_view_tap_node_error(struct bt_view_tap *t, const char *msg);

/*
 * bt_view_tap_end(): the journal's keys after the last leaf key; frees t.
 * Returns 0, key_fn's code, -EAGAIN (the leaves overlapped: see above) or
 * a negative code; the node errors' messages are appended to err.
 */
int bt_view_tap_end(struct bt_view_tap *t, struct printbuf *err);

/* Free a tap whose walk did not reach its end. NULL is a no-op. */
void bt_view_tap_free(struct bt_view_tap *t);

#endif /* BCACHE_TOOL_VIEW_STREAM_H */
