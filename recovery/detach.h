/* detach.h --- detach offline: what the kernel's detach writes into the
 * backing superblock and the uuid slot, and the dirty data it would
 * abandon (cmd/detach.c).
 */
#ifndef BCACHE_TOOL_DETACH_H
#define BCACHE_TOOL_DETACH_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/dev/dev.h"
#include "libcore/read/extent_map.h"
#include "libcore/read/node_cache.h"
#include "libcore/base/printbuf.h"

/*
 * bt_detach_bdev_sb(): what the kernel's detach writes into a backing
 * superblock (writeback.c bch_writeback_thread() on BCACHE_DEV_DETACHING,
 * older super.c cached_dev_detach_finish()): set_uuid zeroed, BDEV_STATE
 * NONE; other fields untouched (bch_write_bdev_super() does not change
 * seq). Writes the block (bt_sb_write()) and flushes. Returns 0 or the
 * write / flush error.
 */
int bt_detach_bdev_sb(struct bt_dev *dev, void *sb_block, struct cache_sb *sb,
		      struct printbuf *err);

/*
 * bt_detach_invalidate_slot(): the cache side of a detach (super.c
 * bcache_device_detach()): slot gets the invalid uuid, invalidated = now
 * (seconds), the flash-only flag cleared; the uuid bucket is rewritten in
 * one write transaction (marks the buckets first). c->dev read-write.
 * Returns 0 or a negative code with a message.
 */
int bt_detach_invalidate_slot(struct cache_set *c, struct bt_node_cache *nc, unsigned slot,
			      uint32_t now, struct printbuf *err);

/*
 * bt_slot_dirty(): live dirty sectors and extents of slot in view (the
 * overlay of c). Sectors of dirty keys with a stale pointer are counted in
 * *stale (may be NULL): the kernel has lost them already.
 */
uint64_t bt_slot_dirty(const struct cache_set *c, const struct bt_extmap *view, unsigned slot,
		       uint64_t *extents, uint64_t *stale);

/*
 * bt_slot_dirty_on_bdev(): of the live dirty sectors of slot in view, how
 * many the backing device bdev (data from sector data_offset on) already
 * holds: the cache's copy and the backing device's sectors are read and
 * compared sector by sector. *same gets the sectors equal on both, *unreadable
 * the dirty sectors the cache cannot deliver (never on the backing device
 * then). Used by detach to say what is really abandoned. Returns 0, -ENOMEM,
 * or a read error of the backing device with its message.
 */
int bt_slot_dirty_on_bdev(struct cache_set *c, const struct bt_extmap *view, unsigned slot,
			  struct bt_dev *bdev, uint64_t data_offset, uint64_t *same,
			  uint64_t *unreadable, struct printbuf *err);

/* ---- the detach command's run (detach_run.c) -------------------------- */

struct bt_stop;

struct bt_detach_opts {
	const char		*bdev;		/* the backing device */
	const char		*cache;		/* its cache device (--cache), or NULL */
	bool			force;		/* abandon the dirty data the cache may hold */
	bool			force_in_use;	/* BT_GUARD_FORCE_IN_USE */
	bool			dry_run;	/* the writes go to shadows (shadow.h) */
	const struct bt_stop	*stop;		/* not owned; NULL: never stops */
};

enum bt_detach_outcome {
	BT_DETACH_DONE,		/* detached; the uuid slot invalidated, if the cache has one */
	BT_DETACH_ALREADY,	/* state none, no cache set, no slot: nothing written */
	BT_DETACH_REFUSED,	/* the cache may hold dirty data for it: nothing written */
	BT_DETACH_SLOT_LEFT,	/* the backing device detached, its uuid slot not invalidated */
	BT_DETACH_OTHER_SET,	/* the backing device belongs to another cache set */
};

struct bt_detach_result {
	enum bt_detach_outcome	outcome;
	/* a stop was asked for during the writes, which were completed */
	bool			stopped_after;
};

/*
 * bt_detach_run(): the whole offline detach of o->bdev: declare and open
 * it (and o->cache) through a guard, read its superblock; with a cache,
 * open its cache set (view.h), find the backing device's uuid slot and
 * count the dirty data the cache holds for it, with what the backing
 * device already holds; refuse when dirty data would be abandoned (unless
 * o->force); then write, in the kernel's order, the backing superblock
 * (state none, no cache set) and the invalidated uuid slot (one write
 * transaction, not tried on a damaged cache set). What goes to standard
 * output goes into out, warnings and refusals into msg (one a line, in
 * order). Returns 0 (r->outcome says what was done), -BT_ERR_INTERRUPTED
 * when a stop came before anything was written (nothing was), or a
 * negative code with a message in err (r->outcome BT_DETACH_OTHER_SET for
 * a backing device of another cache set). r->stopped_after may be set with
 * any return after the writes.
 */
int bt_detach_run(const struct bt_detach_opts *o, struct bt_detach_result *r,
		  struct printbuf *out, struct printbuf *msg, struct printbuf *err);

#endif /* BCACHE_TOOL_DETACH_H */
