/* detach.h --- detach offline: what the kernel's detach writes into the
 * backing superblock and the uuid slot, and the dirty data it would
 * abandon (cmd/detach.c).
 */
#ifndef BCACHE_TOOL_DETACH_H
#define BCACHE_TOOL_DETACH_H

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

#endif /* BCACHE_TOOL_DETACH_H */
