/* metaimage.h --- metadata-only images of a cache device, for bug reports.
 *
 * An image holds the bytes of a cache device that carry metadata and none
 * of the cached data, so that a user can send it and a developer can
 * restore it into a sparse file that fsck -n, dump-btree and dump-journal
 * read like the original device. It is made without validating anything:
 * structures that are damaged are copied as they are, and a range that
 * cannot be read is recorded as missing.
 *
 * What is copied (whole buckets, bucket numbers bounded to
 * [first_bucket, nbuckets) and to the device):
 *   - bytes [0, 8192): the superblock block and what precedes it;
 *   - every journal bucket of the superblock's d[] (the first
 *     min(keys, 256) entries);
 *   - the prio chain as far as it can be followed from the newest jset;
 *   - the bucket of the uuid key of the newest jset;
 *   - the bucket of every btree node reachable from the root (also the
 *     nodes that cannot be read or parsed, and whose subtrees are skipped);
 *   - every bucket whose first block has the bset, jset or pset magic of
 *     the set (the u64 at byte 8 equals set_magic ^ BSET/JSET/PSET_MAGIC_XOR),
 *     which finds freed and unreachable nodes and old journal/prio buckets.
 * A device without a cache set (not a cache superblock, or no journal
 * buckets) gives an image of just bytes [0, 8192).
 *
 * File format, version 1. The whole file is one zstd frame (with its
 * content checksum). Decompressed, all integers little-endian:
 *
 *   offset size  field
 *   0      8     magic "BCTMETA\n"
 *   8      4     version (1)
 *   12     4     flags (0)
 *   16     8     device size in bytes
 *   24     4     bucket size in bytes (0 when there is no cache geometry)
 *   28     4     number of extents N (at most BT_METAIMAGE_MAX_EXTENTS)
 *   32     24*N  extents, sorted by offset, not overlapping:
 *                  u64 byte offset on the device (multiple of 512)
 *                  u64 length in bytes (multiple of 512, > 0)
 *                  u32 flags: BT_METAIMAGE_MISSING = the range could not
 *                      be read and has no data in the file
 *                  u32 reserved (0)
 *   32+24N       the bytes of every extent without BT_METAIMAGE_MISSING,
 *                in the order of the list; then end of data.
 */
#ifndef BCACHE_TOOL_METAIMAGE_H
#define BCACHE_TOOL_METAIMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/dev/dev.h"
#include "libcore/base/printbuf.h"

#define BT_METAIMAGE_MAGIC		"BCTMETA\n"
#define BT_METAIMAGE_VERSION		1u
#define BT_METAIMAGE_HDR_BYTES		32u
#define BT_METAIMAGE_EXTENT_BYTES	24u
#define BT_METAIMAGE_MAX_EXTENTS	(1u << 24)
#define BT_METAIMAGE_SB_BYTES		8192u

enum bt_metaimage_extent_flags {
	BT_METAIMAGE_MISSING	= 1u << 0,
};

struct bt_metaimage_extent {
	uint64_t	offset;		/* bytes */
	uint64_t	len;		/* bytes */
	uint32_t	flags;		/* enum bt_metaimage_extent_flags */
};

struct bt_metaimage_hdr {
	uint32_t			version;
	uint64_t			dev_size;	/* bytes */
	uint32_t			bucket_bytes;
	uint32_t			nr;
	struct bt_metaimage_extent	*ext;		/* nr entries, owned */
};

struct bt_metaimage_stats {
	uint64_t	nr_buckets;	/* buckets copied or missing */
	uint64_t	bytes;		/* bytes of data in the image */
	uint64_t	missing_bytes;	/* bytes recorded as missing */
	unsigned	nr_problems;	/* lines written to warn */
};

/*
 * bt_metaimage_create(): write a metadata image of the cache device dev
 * (opened read-only is enough) to the file descriptor out_fd, compressed
 * with zstd at the given level (1..19). Nothing is validated: read errors,
 * bad checksums, a broken journal or prio chain and unreadable btree nodes
 * are each reported as one line in warn (naming the device, structure
 * and byte offset) and the image is made of what can be found.
 * Fills *st. Returns the number of problems reported in warn (0 for a
 * clean copy), or a negative code with a message in err when no image
 * could be written: -ENOMEM, -errno of a write to out_fd, -EIO when the
 * superblock block itself cannot be read.
 * Mirrors nothing of the kernel; the structures it follows are those of
 * super.c run_cache_set().
 */
int bt_metaimage_create(struct bt_dev *dev, int out_fd, int level,
			struct bt_metaimage_stats *st, struct printbuf *warn,
			struct printbuf *err);

struct bt_metaimage_reader;

/*
 * bt_metaimage_open(): start reading the image file open at in_fd (name
 * for messages), decompress and check its header into *hdr (hdr->ext is
 * owned by the reader). Returns a new reader in *out, or a negative code:
 * -EINVAL ("not a bcache-tool metadata image", bad version, extents out
 * of order, overlapping, not sector-aligned or past the device size, too
 * many extents), -EIO/-errno (read error, zstd error, truncated file),
 * -ENOMEM, with a message in err. Free with bt_metaimage_close().
 */
int bt_metaimage_open(int in_fd, const char *name, struct bt_metaimage_reader **out,
		      const struct bt_metaimage_hdr **hdr, struct printbuf *err);

/*
 * bt_metaimage_restore(): write every present extent of the image read by
 * r into dev (opened read-write; at least hdr->dev_size bytes, else
 * -BT_ERR_DEV_TOO_SMALL). Missing extents and the bytes outside the
 * extents are left as they are on dev. Flushes dev at the end. Returns 0
 * or a negative code with a message (bt_dev_write() codes, the reader's
 * codes, -EINVAL when the file has data after the last extent).
 */
int bt_metaimage_restore(struct bt_metaimage_reader *r, struct bt_dev *dev,
			 struct printbuf *err);

/* Free a reader (does not close its fd). NULL is a no-op. */
void bt_metaimage_close(struct bt_metaimage_reader *r);

#endif /* BCACHE_TOOL_METAIMAGE_H */
