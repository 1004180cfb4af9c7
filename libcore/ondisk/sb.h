/* sb.h --- superblock: decode, validate as the kernel does, encode, print.
 *
 * struct cache_sb is the decoded, host-order view of struct cache_sb_disk.
 * Sizes are in sectors, bucket numbers in buckets, as on disk.
 */
#ifndef BCACHE_TOOL_SB_H
#define BCACHE_TOOL_SB_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/dev/dev.h"
#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"

struct cache_sb {
	uint64_t	csum;			/* as stored */
	uint64_t	offset;			/* sectors; 8 */
	uint64_t	version;
	uint8_t		magic[16];
	uint8_t		uuid[16];
	uint8_t		set_uuid[16];
	char		label[33];		/* the 32 raw bytes (encoded back as they
						 * are, as __write_super() does) + a NUL */
	uint64_t	flags;
	uint64_t	seq;
	uint64_t	feature_compat;
	uint64_t	feature_incompat;
	uint64_t	feature_ro_compat;
	uint64_t	nbuckets;		/* cache: buckets */
	uint64_t	data_offset;		/* backing: sectors (16 for version 1) */
	uint16_t	block_size;		/* sectors */
	uint16_t	bucket_size_raw;	/* field at byte 194 as stored */
	uint32_t	bucket_size;		/* sectors, decoded (features) */
	uint16_t	nr_in_set;
	uint16_t	nr_this_dev;
	uint32_t	last_mount;		/* seconds since the epoch */
	uint16_t	first_bucket;		/* buckets */
	uint16_t	keys;			/* journal buckets, as stored (may exceed 256) */
	uint64_t	d[SB_JOURNAL_BUCKETS];	/* journal bucket numbers */
	uint16_t	obso_bucket_size_hi;
};

/* Backing device: version 1, 4 or 6 (super.c SB_IS_BDEV()). */
static inline bool bt_sb_is_bdev(const struct cache_sb *sb)
{
	return sb->version == BCACHE_SB_VERSION_BDEV ||
	       sb->version == BCACHE_SB_VERSION_BDEV_WITH_OFFSET ||
	       sb->version == BCACHE_SB_VERSION_BDEV_WITH_FEATURES;
}

/* Cache device: version 0, 3 or 5. */
static inline bool bt_sb_is_cache(const struct cache_sb *sb)
{
	return sb->version == BCACHE_SB_VERSION_CDEV ||
	       sb->version == BCACHE_SB_VERSION_CDEV_WITH_UUID ||
	       sb->version == BCACHE_SB_VERSION_CDEV_WITH_FEATURES;
}

/* set_magic: the first 8 bytes of set_uuid as a little-endian u64. */
uint64_t bt_sb_set_magic(const struct cache_sb *sb);

/*
 * bt_sb_csum(): crc64 of bytes [8, 208 + 8*keys) of a raw superblock
 * (super.c csum_set()). keys above 256 are clamped so the range stays
 * inside the structure.
 */
uint64_t bt_sb_csum(const struct cache_sb_disk *raw);

/* Decode raw (no checks beyond keeping d[] in bounds). */
void bt_sb_decode(const struct cache_sb_disk *raw, struct cache_sb *sb);

/*
 * Encode sb into raw (the bytes a kernel of the same version would write)
 * and set raw->csum. The bucket size written is bucket_size_raw (the
 * decoded bucket_size is not re-encoded); field 184 gets data_offset for
 * backing versions 4 and 6 and nbuckets otherwise, so decode + encode gives
 * back the same bytes. Bytes of raw the superblock does not define are left
 * as they were, so a caller can re-encode over a block it read.
 */
void bt_sb_encode(const struct cache_sb *sb, struct cache_sb_disk *raw);

/*
 * bt_sb_validate(): every check of the kernel's read_super() and
 * read_super_common() (super.c, v6.1), in the kernel's order, against the
 * device's size and logical block size (raw is the block as read, sb its
 * decoded form). Returns 0 or the first failure: -BT_ERR_SB_*, one code
 * per rule (where the kernel gives two rules one message, as "bad data
 * offset", each still has its code), with the message "<kernel's message
 * in lower case> in superblock of '<dev>': <field> at byte <offset> is
 * <value>, <what was expected>".
 * Differences from the kernel: keys > 256 is rejected before the csum is
 * computed (the csum range depends on it); an all-zero block is reported as
 * such (code SB_BAD_OFFSET, as the kernel's first check); a backing
 * data_offset at or past the end of the device is refused here, as
 * bcache_device_init() refuses it later in registration.
 */
int bt_sb_validate(const struct cache_sb_disk *raw, const struct cache_sb *sb,
		   const struct bt_dev *dev, struct printbuf *err);

/*
 * bt_sb_warnings(): conditions the kernel refuses later in registration but
 * read_super() accepts (cache of 512 buckets or fewer). Appends one line
 * per warning; returns their number.
 */
int bt_sb_warnings(const struct cache_sb *sb, struct printbuf *out);

/*
 * bt_sb_read(): read the 4 KiB superblock block at byte 4096 of dev into
 * block (SB_SIZE bytes, caller-owned), decode it into sb and, when validate
 * is set, validate it. Returns 0 or a negative code with a message.
 */
int bt_sb_read(struct bt_dev *dev, void *block, struct cache_sb *sb,
	       bool validate, struct printbuf *err);

/*
 * bt_sb_write(): the one superblock writer. Encodes sb over block (the
 * SB_SIZE bytes last read from, or meant for, byte 4096; bytes sb does not
 * hold are kept), computes the csum, writes the whole 4 KiB block and
 * flushes the device; sb->csum is then the csum written. Returns 0 or a
 * negative code with a message naming the device and byte 4096.
 */
int bt_sb_write(struct bt_dev *dev, void *block, struct cache_sb *sb,
		struct printbuf *err);

/* Names for printing. */
const char *bt_sb_version_str(uint64_t version);
const char *bt_cache_mode_str(unsigned mode);
const char *bt_bdev_state_str(unsigned state);
const char *bt_replacement_str(unsigned policy);

/*
 * bt_sb_label_to_text(): the label up to its first NUL (at most 32 bytes),
 * printable ASCII as is, a backslash doubled and any other byte as \xNN,
 * so a corrupt label can neither garble a terminal nor make invalid JSON.
 */
void bt_sb_label_to_text(struct printbuf *out, const struct cache_sb *sb);

/*
 * bt_sb_to_text(): every field in human form, one "name<TAB>value" line
 * each, using bcache-super-show's names for the fields it prints.
 * csum_ok tells whether the stored csum matched.
 */
void bt_sb_to_text(struct printbuf *out, const struct cache_sb *sb, bool csum_ok,
		   uint64_t csum_computed);

#endif /* BCACHE_TOOL_SB_H */
