/* view.h --- a command's read context: the cache device opened once, its
 * cache set and node cache, with the one rule for a cache set that opened
 * only in part. The leaves as the kernel sees them after journal replay
 * are then streamed through v->nc (view_stream.h, view_leaves.h), never
 * built whole.
 *
 * The steps, each one optional after the one before:
 *
 *   bt_view_init()        options
 *   bt_view_open_dev()    the cache device through the guard (target.h),
 *   or bt_view_open_path()  or bare for the read-only diagnostics (dump-*)
 *   bt_view_open_set()    the cache set (cache_set.h), partial-open policy
 *   bt_view_node_cache()  the node cache (node_cache.h)
 *   bt_view_exit()        everything above, in every case
 *
 * bt_view_open() is the first two with the guard. Nothing is printed:
 * messages go into the caller's err, and the guard's warnings into its
 * own printbuf (g->warn), so a command prints them where it did.
 */
#ifndef BCACHE_TOOL_VIEW_H
#define BCACHE_TOOL_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "libcore/dev/target.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/overlay.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/node_pool.h"

enum bt_view_flags {
	/* open the cache device read-write (BT_GUARD_RDWR) */
	BT_VIEW_RDWR		= 1 << 0,
	/* accept a superblock whose only fault is its checksum (BT_OPEN_SB_IGNORE_CSUM) */
	BT_VIEW_SB_IGNORE_CSUM	= 1 << 1,
	/* a partial open is usable only with the uuid slots read (not dump-btree) */
	BT_VIEW_NEEDS_UUIDS	= 1 << 2,
};

struct bt_view_opts {
	unsigned	flags;			/* enum bt_view_flags */
	size_t		node_cache_bytes;	/* bytes; 0: BT_NODE_CACHE_DEFAULT_BYTES */
	/*
	 * reader threads under the node cache (node_pool.h), for a command
	 * that never writes the cache device; 0 or 1: none
	 */
	unsigned	threads;
	const char	*who;			/* "extract": names an out-of-memory message */
};

struct bt_view {
	struct bt_view_opts	o;
	struct bt_dev		dev;		/* the cache device; dev.path NULL: not open */
	struct cache_set	c;		/* after bt_view_open_set() */
	struct bt_node_cache	*nc;		/* after bt_view_node_cache(), or NULL */
	struct bt_node_pool	*pool;		/* its reader threads (o.threads), or NULL */
	struct bt_overlay_stats	stats;		/* the counts of the caller's stream of the view */
	/*
	 * the cache set opened only in part (e.g. a bad prio chain) but is
	 * still usable: open_ret is bt_cache_set_open()'s code
	 */
	bool			partial;
	int			open_ret;
};

/* bt_view_init(): an empty view with the options o (copied). */
void bt_view_init(struct bt_view *v, const struct bt_view_opts *o);

/*
 * bt_view_open_dev(): open guard target i (declared by the caller) into
 * v->dev, read-write with BT_VIEW_RDWR. Returns bt_guard_open()'s code,
 * with its message in err.
 */
int bt_view_open_dev(struct bt_view *v, struct bt_guard *g, int i, struct printbuf *err);

/*
 * bt_view_open_path(): for the read-only diagnostics, which make no in-use
 * checks: open path read-only (bt_dev_open(), BT_DEV_FORCE) and refuse a
 * device holding something else (bt_probe_foreign()). Returns 0 or their
 * negative code with a message; on an error nothing is left open.
 */
int bt_view_open_path(struct bt_view *v, const char *path, struct printbuf *err);

/*
 * bt_view_open_set(): read the cache set of v->dev (bt_cache_set_open()
 * with BT_OPEN_KEEP_GOING). Returns 0 when it opened, or opened in part
 * but usable: v->partial is then set and the message (what could not be
 * read) is in err for the caller to print. A partial open is usable when
 * the device holds a cache set, its buckets and btree root were read and,
 * with BT_VIEW_NEEDS_UUIDS, its uuid slots. Otherwise returns the negative
 * code of bt_cache_set_open(), with its message.
 */
int bt_view_open_set(struct bt_view *v, struct printbuf *err);

/*
 * bt_view_open(): bt_view_open_dev() then bt_view_open_set(); the return
 * of the first one that fails, or 0 (check v->partial).
 */
int bt_view_open(struct bt_view *v, struct bt_guard *g, int i, struct printbuf *err);

/*
 * bt_view_node_cache(): the node cache of v->c, bounded by
 * o.node_cache_bytes (a second call keeps the first one), with o.threads
 * reader threads under it (none when they cannot be started: the same
 * result, read by one thread). Returns 0, or -ENOMEM with "WHO: out of
 * memory" in err.
 */
int bt_view_node_cache(struct bt_view *v, struct printbuf *err);

/* bt_view_exit(): free the node cache and the cache set, close the device. */
void bt_view_exit(struct bt_view *v);

#endif /* BCACHE_TOOL_VIEW_H */
