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
 * The dirty data a cache holds for one uuid slot, counted key by key as a
 * view after journal replay hands its keys out (bt_view_stream()), and
 * how much of it the backing device already holds: the cache's copy and
 * the backing device's sectors (from data_offset on) are read and compared
 * sector by sector. Used by detach to say what is really abandoned.
 * Sectors are 512-byte sectors of the backing device.
 */
struct bt_slot_dirty {
	unsigned	slot;
	struct bt_dev	*bdev;		/* compared with; not owned */
	uint64_t	data_offset;	/* sectors */
	uint64_t	sectors;	/* live dirty sectors */
	uint64_t	extents;	/* live dirty extents */
	uint64_t	stale;		/* sectors of dirty keys with a stale pointer: lost */
	uint64_t	same;		/* of sectors, those equal on the backing device */
	uint64_t	unreadable;	/* of sectors, those the cache cannot deliver */
	int		bdev_err;	/* the first read error of bdev: no comparing after it */
	struct printbuf	bdev_msg;	/* its message */
	uint8_t		*cb, *bb;	/* one chunk of each device; owned */
};

/* Set up d for slot, compared with bdev. Returns 0 or -ENOMEM. */
int bt_slot_dirty_init(struct bt_slot_dirty *d, unsigned slot, struct bt_dev *bdev,
		       uint64_t data_offset);
/* Forget what was counted (the view starts again). */
void bt_slot_dirty_reset(struct bt_slot_dirty *d);
/*
 * bt_slot_dirty_key(): key k of the view of c (bt_overlay_key_live()
 * judges it): counted when it is a dirty key of d->slot. Returns 0, 1 once
 * the view is past the slot (nothing more to count), or -ENOMEM.
 */
int bt_slot_dirty_key(struct cache_set *c, const struct bkey *k, struct bt_slot_dirty *d);
void bt_slot_dirty_exit(struct bt_slot_dirty *d);

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
