/* writeback.h --- offline writeback: copy the dirty data of a cache set to
 * its backing devices and mark it clean, as the kernel's writeback thread
 * (writeback.c bch_writeback_thread(), write_dirty(), write_dirty_finish())
 * does online.
 *
 * For each backing device (matched to its uuid slot by sb.uuid), every
 * live dirty extent of the view (overlay.h: btree + journal replay), in key
 * order, is read from the cache at PTR_OFFSET(k, 0) and written to the
 * backing device at sector KEY_START (keys hold absolute backing-device
 * sectors: FORMAT.md 8). Then, in this order (each step durable before the
 * next, so that a crash anywhere leaves a safe state):
 *
 *  1. the backing devices are flushed, their page cache dropped, and every
 *     written range read back and compared (crc64) with what was written;
 *  2. ONE write transaction (write.h) on the cache replays the journal's
 *     keys (replay.h) and inserts a clean copy (KEY_DIRTY cleared, same
 *     pointer: the data stays cached) of every extent that was written and
 *     verified whole, committed by one jset with nothing left to replay
 *     (the kernel's write_dirty_finish() inserts the same clean key);
 *  3. each backing device whose slot holds no dirty data any more gets
 *     BDEV_STATE CLEAN in its superblock (writeback.c: state CLEAN once no
 *     dirty data is left), written and flushed.
 *
 * A dirty key whose data is already on the backing device is harmless (the
 * kernel writes it again), so stopping after 1 or 2 is safe. The cache is
 * not updated when its btree has unreadable nodes or its journal has
 * missing entries (a copy-on-write allocation could reuse the bucket of a
 * node nobody could mark); the data is still copied, and the backing
 * devices keep state DIRTY.
 *
 * Nothing that cannot be recovered stops the run: the ranges are listed
 * (struct bt_wb_lost) and the rest goes on.
 *
 * Units: sectors (512 bytes) unless the name ends in _bytes.
 */
#ifndef BCACHE_TOOL_WRITEBACK_H
#define BCACHE_TOOL_WRITEBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/read/extent_map.h"
#include "libcore/read/node_cache.h"
#include "libcore/base/printbuf.h"

/* One backing device of a writeback run. */
struct bt_wb_bdev {
	struct bt_dev	*dev;		/* not owned; read-write unless dry_run */
	uint8_t		sb_block[SB_SIZE];	/* its superblock block, as read */
	struct cache_sb	sb;		/* decoded (bt_sb_read()); state updated by the run */

	/* filled by bt_writeback() */
	unsigned	slot;		/* uuid slot (KEY_INODE of its keys) */
	uint64_t	extents;	/* live dirty extents found for it */
	uint64_t	dirty_sectors;	/* their sectors, clipped to the device */
	uint64_t	written_sectors;	/* written and verified */
	uint64_t	cleaned_sectors;	/* committed clean in the cache */
	bool		set_clean;	/* its superblock state was set CLEAN */
};

/* Why a range was not written back. */
enum bt_wb_lost_kind {
	BT_WB_LOST_NODE = 1,	/* a btree node over the range is unreadable */
	BT_WB_LOST_READ,	/* the cache sectors cannot be read */
	BT_WB_LOST_STALE,	/* dirty key with a stale pointer: the kernel lost it too */
	BT_WB_LOST_OUTSIDE,	/* the extent reaches outside the backing device's data */
	BT_WB_LOST_WRITE,	/* the backing device refused the write */
	BT_WB_LOST_VERIFY,	/* the data read back differs from what was written */
};

/* A range of a backing device whose dirty data could not be recovered. */
struct bt_wb_lost {
	size_t		bdev;		/* index into bt_wb_req.bdevs */
	uint64_t	start;		/* backing-device sector (KEY_START units) */
	uint64_t	sectors;
	uint64_t	cache_sector;	/* where the data is on the cache; 0 for NODE */
	unsigned	kind;		/* enum bt_wb_lost_kind */
	int		err;		/* negative code */
	char		*msg;		/* malloc'ed detail (node error), or NULL */
};

struct bt_wb_req {
	struct bt_wb_bdev	*bdevs;
	size_t			nr_bdevs;
	bool			dry_run;	/* list what would be copied, write nothing */
	/* skip the state / set uuid checks of bt_writeback_check_bdev() */
	bool			force;
	/*
	 * do not write the cache; the reason ends "the cache '...' was not
	 * updated: <reason>" (e.g. the cache set did not open cleanly)
	 */
	const char		*no_cache_update;
	/* dry run: one call per extent (k as in the view, [start, start + sectors) written) */
	void			(*list)(void *priv, size_t bdev, const struct bkey *k,
					uint64_t start, uint64_t sectors);
	/*
	 * pieces written between two read-backs (flush, read, crc64 compare);
	 * 0: 65536. The commit waits for the last of them either way.
	 */
	unsigned		verify_every;
	/* called after each chunk copied: bytes done so far of total_bytes */
	void			(*progress)(void *priv, uint64_t done_bytes, uint64_t total_bytes);
	void			*priv;
};

struct bt_wb_result {
	struct bt_wb_lost	*lost;		/* malloc'ed, sorted by (bdev, start) */
	size_t			nr_lost;
	uint64_t		total_sectors;	/* dirty sectors found (all devices) */
	uint64_t		written_sectors;
	uint64_t		unreadable_nodes;
	uint64_t		journal_keys;	/* journal keys in the view */
	bool			cache_committed;	/* clean keys committed */
	/*
	 * why the cache was not updated when something was written (empty
	 * when committed or when nothing needed it)
	 */
	struct printbuf		cache_msg;
};

/*
 * bt_writeback_check_bdev(): may the run write to b? Refuses (negative code,
 * message naming the device) a superblock that is not a backing device's
 * (-BT_ERR_SB_NOT_BACKING), a set_uuid other than c's (-BT_ERR_SB_BAD_SET_UUID:
 * attached to another set, or detached), and state NONE or STALE
 * (-BT_ERR_BDEV_STATE: the device was used without this cache since, so
 * writing old dirty data over it would destroy newer data). bt_writeback()
 * calls it unless req->force.
 */
int bt_writeback_check_bdev(const struct cache_set *c, const struct bt_wb_bdev *b,
			    struct printbuf *err);

/*
 * bt_writeback(): the run described above on c (from bt_cache_set_open(),
 * c->dev read-write unless dry run or nothing is dirty) and its node cache.
 * Every backing device must have a live uuid slot (-ENOENT otherwise,
 * before anything is written). Returns 0 when the run went through (check
 * res->nr_lost and res->cache_committed), or a negative code with a
 * message for errors that stop it: a device check (see above), the view
 * (bt_overlay_build() errors other than unreadable subtrees), -ENOMEM, a
 * failed flush of a backing device, a failed superblock write. Free res
 * with bt_writeback_result_exit() in every case.
 */
int bt_writeback(struct cache_set *c, struct bt_node_cache *nc, struct bt_wb_req *req,
		 struct bt_wb_result *res, struct printbuf *err);

void bt_writeback_result_exit(struct bt_wb_result *res);

/* "unreadable btree node", "cache read error", ... for printing. */
const char *bt_wb_lost_kind_str(unsigned kind);

#endif /* BCACHE_TOOL_WRITEBACK_H */
