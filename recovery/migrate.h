/* migrate.h --- copy a cache set to another cache device with a new geometry.
 *
 * bt_migrate() reads a cache set (SRC, opened read-only, never written)
 * as the kernel would serve it after journal replay (overlay.h), formats
 * DST with the format library (format/format.h: a new, empty cache set
 * with SRC's cache set uuid, the requested bucket and block size), then
 * fills it in ONE write transaction (write.h):
 *
 *   - every live extent of a uuid slot in use is copied into data buckets
 *     allocated on DST (bt_bucket_alloc()); an extent that would cross a
 *     DST bucket is cut into pieces, each piece one key whose pointer has
 *     the bucket's new gen; KEY_DIRTY is kept. Dirty data goes first and
 *     must all fit; clean data follows, in key order, while room remains
 *     (none with drop_clean). Dirty and clean data use separate buckets,
 *     as the kernel's gc marks buckets DIRTY or RECLAIMABLE whole;
 *   - the keys are inserted into DST's empty root (btree_update.h), which
 *     splits the nodes as needed;
 *   - the uuid slots are copied (same slot numbers: KEY_INODE is a slot);
 *   - bt_commit() writes the prio chain, the uuid bucket and one jset.
 *
 * The backing devices are not touched: they name the cache set by its uuid,
 * which DST keeps, so they attach to DST as they did to SRC.
 *
 * Everything that can refuse does so before DST is written: same device,
 * bad options, format's checks (signatures, in use, too few buckets), a
 * uuid slot in use that DST's smaller uuid bucket lacks, dirty data that
 * does not fit, dirty extents not aligned to a larger DST block size.
 * After the format, a failure leaves DST holding an empty cache set with
 * SRC's set uuid: a backing device in the dirty state refuses to attach to
 * it (the kernel finds no slot for its uuid), and migrate can be run again.
 *
 * Memory: the extents of SRC and the new btree are held in memory (a few
 * dozen bytes per extent); data is copied through one bucket-sized buffer
 * per stream (dirty, clean).
 *
 * Units: sizes in 512-byte sectors unless the name ends in _bytes.
 */
#ifndef BCACHE_TOOL_MIGRATE_H
#define BCACHE_TOOL_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcore/base/printbuf.h"
#include "libcore/base/stop.h"

struct bt_migrate_opts {
	unsigned	bucket_size;	/* sectors; 0: SRC's bucket size */
	/*
	 * sectors; 0: SRC's block size, or DST's logical block size when that
	 * is larger
	 */
	unsigned	block_size;
	bool		drop_clean;	/* copy no clean data */
	bool		wipe_bcache;	/* format: overwrite a bcache superblock on DST */
	/* format: overwrite any signature; write a cache the kernel would not register */
	bool		force;
	bool		force_in_use;	/* open SRC and DST although in use (target.h) */
	bool		dry_run;	/* plan and report, write nothing */
	size_t		node_cache_bytes;	/* SRC's node cache bound; 0: the default */
	long		dst_write_limit;	/* tests: DST writes after this many fail (< 0: none) */
	/* a stop request checked before the commit (stop.h); NULL: none; not owned */
	const struct bt_stop *stop;
};

struct bt_migrate_stats {
	/* SRC */
	uint64_t	src_keys;		/* keys of the view (btree + journal) */
	uint64_t	journal_keys;		/* journal keys replayed into the view */
	uint64_t	not_live;		/* no pointer, stale or unavailable: nothing to copy */
	uint64_t	stale_dirty;		/* of those: dirty with a stale pointer (lost in SRC) */
	uint64_t	no_slot;		/* live extents of a uuid slot not in use */
	uint64_t	dirty_extents, dirty_sectors;
	uint64_t	clean_extents, clean_sectors;	/* live clean extents of SRC */
	/* what DST gets */
	uint64_t	clean_copied_extents, clean_copied_sectors;
	uint64_t	clean_unaligned;	/* clean extents dropped: not aligned to DST's block */
	uint64_t	clean_read_errors;	/* clean extents dropped: unreadable on SRC */
	uint64_t	keys_inserted;		/* pieces inserted (before merging) */
	uint64_t	data_buckets;
	uint64_t	nodes_written;
	unsigned	slots_copied;		/* uuid slots not empty */
	unsigned	tree_depth;		/* root level of DST */
	/* DST geometry and room */
	uint64_t	dst_nbuckets;
	unsigned	dst_bucket_size, dst_block_size;
	uint64_t	dst_free_buckets;	/* after format: all but metadata */
	uint64_t	dst_reserved_buckets;	/* bound on the new nodes, prio chain, uuid bucket */
	bool		committed;
};

/*
 * bt_migrate(): copy the cache set on src_path to dst_path (see above).
 * out gets the report (format's lines, the plan, what was copied and
 * dropped), warn the warnings (clean data dropped, dirty data already lost
 * in SRC, format's warnings). st may be NULL.
 *
 * Returns 0 or a negative code with a message in err:
 *  -BT_ERR_FORMAT_BAD_OPTION (bad sizes, one-page buckets),
 *  -BT_ERR_SAME_DEVICE (SRC and DST are one device), the guard's refusals
 *  (target.h), -BT_ERR_SB_NOT_ENOUGH_BUCKETS (a DST the kernel would not
 *  register; bt_format_check_registrable()),
 *  -ENOSPC (DST too small for the dirty data or a slot in use; nothing
 *  written), -EINVAL (dirty extents not aligned to DST's larger block;
 *  nothing written), SRC read errors (cache set open, node reads, journal
 *  entries missing: -BT_ERR_JOURNAL_MISSING_ENTRIES), bt_format() codes
 *  (-BT_ERR_SIGNATURE_PRESENT, -BT_ERR_DEV_*, ...), and after the format
 *  the write path's codes (-BT_ERR_NO_FREE_BUCKET, -BT_ERR_WRITE_LIMIT,
 *  -EIO) with a note that DST holds an empty cache set.
 */
int bt_migrate(const char *src_path, const char *dst_path, const struct bt_migrate_opts *o,
	       struct bt_migrate_stats *st, struct printbuf *out, struct printbuf *warn,
	       struct printbuf *err);

#endif /* BCACHE_TOOL_MIGRATE_H */
