/* format.h --- write new bcache superblocks, as make-bcache does.
 *
 * bt_format() formats every device of one invocation: cache devices and
 * backing devices that share one cache-set uuid, so that the kernel attaches
 * the backing devices to the cache when both are registered. A cache device
 * gets an initialised, synced cache set (journal, prio chain, uuid bucket,
 * empty btree root: init.c, FORMAT.md 9.1); with sb_only only the superblock
 * is written, as make-bcache does (FORMAT.md 1.10), and the kernel
 * initialises the cache set at its first registration because CACHE_SYNC is 0.
 *
 * The work is split into small files:
 *   opts.c      defaults and checks of the options alone
 *   build_sb.c  the superblock make-bcache 1.0.8 would build for one device
 *   registrable.c  would the kernel register that cache? (else refuse, suggest)
 *   init.c      a new cache set on a cache device, as the kernel's first registration
 *   format.c    bt_format(): open, check every device, then write them
 *
 * Units: sizes in 512-byte sectors unless the name ends in _bytes.
 */
#ifndef BCACHE_TOOL_FORMAT_H
#define BCACHE_TOOL_FORMAT_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/dev/dev.h"
#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"
#include "libcore/ondisk/sb.h"
#include "libcore/dev/signature.h"
#include "libcore/dev/target.h"

#define BT_FORMAT_DEFAULT_BUCKET	1024u	/* sectors (512 KiB), make-bcache's default */
#define BT_FORMAT_MAX_BUCKET		32768u	/* sectors: largest power of two in a u16 */
#define BT_FORMAT_MIN_BUCKETS		128u	/* kernel read_super_common(), make-bcache */
/* a cache of this many buckets or fewer: refused by cache_alloc() (v5.x, v6.x; FORMAT.md) */
#define BT_KERNEL_MIN_BUCKETS		512u
#define BT_FORMAT_LABEL_MAX		31u	/* characters; the label stays NUL terminated */
#define BT_FORMAT_MAX_DEVS		64u

struct bt_format_dev {
	const char	*path;
	bool		cache;		/* cache device; else backing device */
};

struct bt_format_opts {
	struct bt_format_dev devs[BT_FORMAT_MAX_DEVS];
	unsigned	nr_devs;
	unsigned	block_size;	/* sectors; 0: the largest device block (bt_format_default_block()) */
	unsigned	bucket_size;	/* sectors */
	uint64_t	data_offset;	/* sectors; backing devices */
	bool		writeback;	/* backing: BDEV_CACHE_MODE writeback */
	bool		discard;	/* cache: CACHE_DISCARD */
	unsigned	replacement;	/* cache: CACHE_REPLACEMENT_* */
	bool		set_uuid_given;
	uint8_t		set_uuid[16];	/* shared by every device; random unless given */
	bool		uuid_given;	/* only with one device */
	uint8_t		uuid[16];	/* device uuid; random per device unless given */
	const char	*label;		/* NULL or at most BT_FORMAT_LABEL_MAX characters */
	bool		wipe_bcache;	/* overwrite an existing bcache superblock */
	/*
	 * overwrite any signature; write a cache the kernel would not register
	 * (bt_format_check_registrable()); never the in-use checks
	 */
	bool		force;
	bool		force_in_use;	/* the guard's BT_GUARD_FORCE_IN_USE */
	/*
	 * the run's guard (target.h), whose devices already declared are found
	 * by path (migrate declares SRC and DST); NULL: format makes its own
	 */
	struct bt_guard	*guard;
	bool		dry_run;	/* open read-only, report, write nothing */
	bool		sb_only;	/* cache: superblock only (make-bcache), no cache set */
};

/* bt_format_opts_init(): make-bcache's defaults, no devices. */
void bt_format_opts_init(struct bt_format_opts *opts);

/*
 * bt_format_check_opts(): checks that need no device: sizes are powers of
 * two within the kernel's limits (read_super_common(): block at most a page
 * and bucket at least a page for a cache), block <= bucket, data offset >= 16,
 * a known replacement policy, a short label, at most one cache device
 * (one cache per set since Linux 5.x), --uuid with one device only, no device
 * given twice by name. Options that do not apply to any given device are
 * reported as warnings in warn. Returns 0 or -BT_ERR_FORMAT_BAD_OPTION with
 * a message.
 */
int bt_format_check_opts(const struct bt_format_opts *opts, struct printbuf *warn,
			 struct printbuf *err);

/*
 * bt_format_default_block(): the block size make-bcache 1.0.8 chooses for
 * dev, in sectors: the logical block size of a block device (BLKSSZGET), or
 * st_blksize of a regular file. For a file this is capped at a page
 * (8 sectors): make-bcache would write a larger value the kernel refuses for
 * a cache, on file systems reporting a large st_blksize.
 */
unsigned bt_format_default_block(const struct bt_dev *dev);

/*
 * bt_format_build_sb(): the superblock make-bcache 1.0.8 builds for one
 * device of dev_sectors sectors with block_size already decided
 * (opts->block_size is ignored): version 0 for a cache, 1 for a backing
 * device (4 when data_offset != 16), nbuckets = dev_sectors / bucket_size,
 * first_bucket = 23 / bucket_size + 1, nr_in_set 1, the bucket size written
 * for backing devices too. uuid is the device uuid. Fills *sb; checks nothing.
 */
void bt_format_build_sb(const struct bt_format_opts *opts, bool cache,
			unsigned block_size, uint64_t dev_sectors,
			const uint8_t uuid[16], struct cache_sb *sb);

/*
 * bt_format_check_registrable(): would Linux register a cache of
 * dev_sectors sectors in buckets of bucket sectors (block: the block size)
 * at path? Refuses buckets of one page (Linux 6.1 registers the cache but
 * reads through it hang: -BT_ERR_FORMAT_BAD_OPTION) and caches of
 * BT_KERNEL_MIN_BUCKETS buckets or fewer (super.c cache_alloc(), v5.x and
 * v6.x: roundup_pow_of_two(nbuckets) >> 10 must not be 0;
 * -BT_ERR_SB_NOT_ENOUGH_BUCKETS), each message suggesting the largest
 * bucket size that fits ("use --bucket 128k: 800 buckets"). With force both
 * are warnings in warn instead and 0 is returned.
 */
int bt_format_check_registrable(const char *path, uint64_t dev_sectors, unsigned bucket,
				unsigned block, bool force, struct printbuf *warn,
				struct printbuf *err);

/* ---- a new cache set (init.c) ---------------------------------------- */

/* Where the initialisation puts the cache set's first metadata (bucket numbers). */
struct bt_format_layout {
	unsigned	journal_buckets;	/* sb.keys: clamp(nbuckets >> 7, 2, 256) */
	uint64_t	prio_bucket;		/* first bucket of the prio chain */
	unsigned	prio_buckets;		/* length of the chain */
	uint64_t	uuid_bucket;
	uint64_t	root_bucket;
	unsigned	node_sectors;		/* size of the root node */
	unsigned	jset_idx;		/* journal bucket index of the first jset */
};

/*
 * bt_format_init_plan(): from the superblock make-bcache builds (mb_sb,
 * CACHE_SYNC 0), the superblock of the initialised set (*sb: version >= 3,
 * seq 1, CACHE_SYNC, keys = clamp(nbuckets >> 7, 2, 256), d[j] =
 * first_bucket + j; super.c run_cache_set() and bcache_write_super()) and
 * where its metadata goes (*l: prio chain, uuid bucket and root right after
 * the journal). Returns 0, -BT_ERR_SB_NOT_CACHE, or
 * -BT_ERR_SB_NOT_ENOUGH_BUCKETS when they do not fit.
 */
int bt_format_init_plan(const struct cache_sb *mb_sb, struct cache_sb *sb,
			struct bt_format_layout *l, struct printbuf *err);

/* "journal buckets 1-8, prio bucket 9, uuid bucket 10, btree root in bucket 11 ..." */
void bt_format_layout_to_text(struct printbuf *out, const struct cache_sb *sb,
			      const struct bt_format_layout *l);

/*
 * bt_format_init_write(): write the cache set planned by
 * bt_format_init_plan() on dev (read-write): zero the journal buckets, write
 * the prio chain (gens and prios of every bucket), the all-zero uuid bucket
 * and the empty root leaf, flush, the first jset (seq 1) in d[l->jset_idx],
 * flush, then sb encoded over block (SB_SIZE bytes, normally zero: the whole
 * block is written at byte 4096), flush. The caller has written and flushed
 * the unsynced make-bcache superblock before, so a crash leaves a cache the
 * kernel initialises itself. Returns 0 or a negative code with a message
 * (bt_dev_write() codes, -ENOMEM).
 */
int bt_format_init_write(struct bt_dev *dev, const struct cache_sb *sb,
			 const struct bt_format_layout *l, uint8_t block[SB_SIZE],
			 struct printbuf *err);

/*
 * bt_format_init_verify(): open the cache set on dev with the readers
 * (bt_cache_set_open(), strict) and check that it is the one planned: one
 * jset of seq 1, the root at l->root_bucket reads as an empty leaf, prio
 * chain and uuid slots as written. Returns 0 or a negative code with a message.
 */
int bt_format_init_verify(struct bt_dev *dev, const struct bt_format_layout *l,
			  struct printbuf *err);

/* ---- the whole job (format.c) ---------------------------------------- */

/*
 * bt_format(): format every device of opts. First opens every device
 * through the guard (read-write unless dry_run: a device that is mounted is
 * always refused, one in use unless force_in_use, two names for one device
 * always; target.h), builds and
 * validates every superblock as the kernel's read_super() would, and checks
 * for other signatures: a bcache superblock needs wipe_bcache or force,
 * anything else needs force. Only when every device passes: wipes the other
 * signatures, zeroes bytes 0..4095, writes the 4 KiB superblock block at
 * byte 4096 (the struct then zeroes), flushes, reads it back and validates
 * it. With dry_run nothing is written and the superblocks are printed.
 *
 * A cache the kernel would not register (bt_format_check_registrable())
 * is refused unless force. out gets one summary line per device (and in
 * dry-run the superblock fields); warn gets warnings (what force let
 * through, what the guard warns about). Returns 0 or
 * a negative code with a message in err: -BT_ERR_FORMAT_BAD_OPTION,
 * -BT_ERR_SIGNATURE_PRESENT, -BT_ERR_SB_* (the kernel would refuse the
 * superblock, e.g. SB_NOT_ENOUGH_BUCKETS), -BT_ERR_DEV_*, -errno.
 * Devices are written in order; a failure after the first write leaves the
 * earlier devices formatted (the message says which).
 */
int bt_format(const struct bt_format_opts *opts, struct printbuf *out,
	      struct printbuf *warn, struct printbuf *err);

#endif /* BCACHE_TOOL_FORMAT_H */
