/* sb.c --- superblock decode, encode, kernel-equivalent validation, text. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/ondisk/sb.h"

static bool bytes_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

uint64_t bt_sb_set_magic(const struct cache_sb *sb)
{
	uint64_t m;

	memcpy(&m, sb->set_uuid, 8);
	return le64toh(m);
}

uint64_t bt_sb_csum(const struct cache_sb_disk *raw)
{
	unsigned keys = le16toh(raw->keys);

	if (keys > SB_JOURNAL_BUCKETS)
		keys = SB_JOURNAL_BUCKETS;
	return bch_crc64((const uint8_t *)raw + SB_CSUM_START, SB_CSUM_BYTES(keys));
}

/* Decoded bucket size (FORMAT.md 1.5): plain, log2, or with the obsolete high half. */
static uint32_t sb_decode_bucket_size(const struct cache_sb *sb)
{
	if (sb->version >= BCACHE_SB_VERSION_CDEV_WITH_FEATURES) {
		if (sb->feature_incompat & BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET)
			return sb->bucket_size_raw > 31 ? 0 : 1u << sb->bucket_size_raw;
		if (sb->feature_incompat & BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET)
			return sb->bucket_size_raw +
			       ((uint32_t)sb->obso_bucket_size_hi << 16);
	}
	return sb->bucket_size_raw;
}

void bt_sb_decode(const struct cache_sb_disk *raw, struct cache_sb *sb)
{
	unsigned nd;

	memset(sb, 0, sizeof(*sb));
	sb->csum = le64toh(raw->csum);
	sb->offset = le64toh(raw->offset);
	sb->version = le64toh(raw->version);
	memcpy(sb->magic, raw->magic, 16);
	memcpy(sb->uuid, raw->uuid, 16);
	memcpy(sb->set_uuid, raw->set_uuid, 16);
	memcpy(sb->label, raw->label, 32);
	sb->label[32] = '\0';
	sb->flags = le64toh(raw->flags);
	sb->seq = le64toh(raw->seq);
	if (sb->version >= BCACHE_SB_VERSION_CDEV_WITH_FEATURES) {
		sb->feature_compat = le64toh(raw->feature_compat);
		sb->feature_incompat = le64toh(raw->feature_incompat);
		sb->feature_ro_compat = le64toh(raw->feature_ro_compat);
	}
	sb->nbuckets = le64toh(raw->nbuckets);
	sb->data_offset = sb->version == BCACHE_SB_VERSION_BDEV
		? BDEV_DATA_START_DEFAULT : le64toh(raw->nbuckets);
	sb->block_size = le16toh(raw->block_size);
	sb->bucket_size_raw = le16toh(raw->bucket_size);
	sb->nr_in_set = le16toh(raw->nr_in_set);
	sb->nr_this_dev = le16toh(raw->nr_this_dev);
	sb->last_mount = le32toh(raw->last_mount);
	sb->first_bucket = le16toh(raw->first_bucket);
	sb->keys = le16toh(raw->keys);
	sb->obso_bucket_size_hi = le16toh(raw->obso_bucket_size_hi);
	nd = sb->keys < SB_JOURNAL_BUCKETS ? sb->keys : SB_JOURNAL_BUCKETS;
	for (unsigned i = 0; i < nd; i++)
		sb->d[i] = le64toh(raw->d[i]);
	sb->bucket_size = sb_decode_bucket_size(sb);
}

void bt_sb_encode(const struct cache_sb *sb, struct cache_sb_disk *raw)
{
	unsigned nd = sb->keys < SB_JOURNAL_BUCKETS ? sb->keys : SB_JOURNAL_BUCKETS;

	raw->offset = htole64(sb->offset);
	raw->version = htole64(sb->version);
	memcpy(raw->magic, sb->magic, 16);
	memcpy(raw->uuid, sb->uuid, 16);
	memcpy(raw->set_uuid, sb->set_uuid, 16);
	memcpy(raw->label, sb->label, sizeof(raw->label));
	raw->flags = htole64(sb->flags);
	raw->seq = htole64(sb->seq);
	if (sb->version >= BCACHE_SB_VERSION_CDEV_WITH_FEATURES) {
		raw->feature_compat = htole64(sb->feature_compat);
		raw->feature_incompat = htole64(sb->feature_incompat);
		raw->feature_ro_compat = htole64(sb->feature_ro_compat);
	}
	/* field 184 is data_offset for backing versions 4 and 6, else nbuckets */
	raw->nbuckets = htole64(bt_sb_is_bdev(sb) && sb->version != BCACHE_SB_VERSION_BDEV ?
				sb->data_offset : sb->nbuckets);
	raw->block_size = htole16(sb->block_size);
	raw->bucket_size = htole16(sb->bucket_size_raw);
	raw->nr_in_set = htole16(sb->nr_in_set);
	raw->nr_this_dev = htole16(sb->nr_this_dev);
	raw->last_mount = htole32(sb->last_mount);
	raw->first_bucket = htole16(sb->first_bucket);
	raw->keys = htole16(sb->keys);
	for (unsigned i = 0; i < nd; i++)
		raw->d[i] = htole64(sb->d[i]);
	raw->obso_bucket_size_hi = htole16(sb->obso_bucket_size_hi);
	raw->csum = htole64(bt_sb_csum(raw));
}

#define SB_FIELD_OFF(f)	(SB_OFFSET_BYTES + offsetof(struct cache_sb_disk, f))

/*
 * Every failure message has the same shape, git style:
 *   "<problem> in superblock of '<dev>': <field> at byte <off> <detail>"
 * where <problem> is the kernel's own message in lower case (so a user can
 * match it against dmesg) and <off> the field's byte offset on the device.
 */
#define sb_fail(code, problem, field, fmt, ...)					\
do {										\
	prt_printf(err, "%s in superblock of '%s': %s at byte %zu " fmt,	\
		   problem, dev->path, #field, (size_t)SB_FIELD_OFF(field),	\
		   ##__VA_ARGS__);						\
	return -BT_ERR_##code;							\
} while (0)

/* Mirrors super.c read_super_common() (v6.1): the cache-device checks. */
static int sb_validate_cache(const struct cache_sb *sb, const struct bt_dev *dev,
			     struct printbuf *err)
{
	if (sb->keys > SB_JOURNAL_BUCKETS)
		sb_fail(SB_TOO_MANY_JOURNAL_BUCKETS, "too many journal buckets", keys,
			"is %u, at most %u", sb->keys, SB_JOURNAL_BUCKETS);
	if (sb->nbuckets > LONG_MAX)
		sb_fail(SB_TOO_MANY_BUCKETS, "too many buckets", nbuckets,
			"is %llu, at most %ld", (unsigned long long)sb->nbuckets, LONG_MAX);
	if (sb->nbuckets < 128)
		sb_fail(SB_NOT_ENOUGH_BUCKETS, "not enough buckets", nbuckets,
			"is %llu, at least 128", (unsigned long long)sb->nbuckets);
	if (!bt_is_pow2(sb->block_size))
		sb_fail(SB_BLOCK_SIZE_NOT_POW2, "bad block size (not power of 2)", block_size,
			"is %u sectors", sb->block_size);
	if (sb->block_size > BT_PAGE_SECTORS)
		sb_fail(SB_BLOCK_SIZE_TOO_BIG, "bad block size (larger than page size)", block_size,
			"is %u sectors, a page is %u (bucket_size is %u)",
			sb->block_size, BT_PAGE_SECTORS, sb->bucket_size);
	if (!bt_is_pow2(sb->bucket_size))
		sb_fail(SB_BUCKET_SIZE_NOT_POW2, "bad bucket size (not power of 2)", bucket_size,
			"is %u sectors (raw %u, feature_incompat %llx)", sb->bucket_size,
			sb->bucket_size_raw, (unsigned long long)sb->feature_incompat);
	if (sb->bucket_size < BT_PAGE_SECTORS)
		sb_fail(SB_BUCKET_SIZE_TOO_SMALL, "bad bucket size (smaller than page size)", bucket_size,
			"is %u sectors, a page is %u (block_size is %u)",
			sb->bucket_size, BT_PAGE_SECTORS, sb->block_size);
	if (bt_dev_sectors(dev) / sb->bucket_size < sb->nbuckets)
		sb_fail(SB_DEVICE_TOO_SMALL, "invalid superblock: device too small", nbuckets,
			"is %llu buckets of %u sectors, the device has only %llu sectors",
			(unsigned long long)sb->nbuckets, sb->bucket_size,
			(unsigned long long)bt_dev_sectors(dev));
	if (bytes_zero(sb->set_uuid, 16))
		sb_fail(SB_BAD_SET_UUID, "bad uuid", set_uuid, "is all zeroes");
	if (!sb->nr_in_set || sb->nr_in_set <= sb->nr_this_dev ||
	    sb->nr_in_set > MAX_CACHES_PER_SET)
		sb_fail(SB_BAD_DEV_NUMBER, "bad cache device number in set", nr_in_set,
			"is %u with nr_this_dev %u (need nr_this_dev < nr_in_set <= %u)",
			sb->nr_in_set, sb->nr_this_dev, MAX_CACHES_PER_SET);
	for (unsigned i = 0; i < sb->keys; i++)
		if (sb->d[i] != (uint64_t)sb->first_bucket + i) {
			prt_printf(err, "journal buckets not sequential in superblock of '%s': "
				   "d[%u] at byte %zu is %llu, expected first_bucket + %u = %llu",
				   dev->path, i, (size_t)SB_FIELD_OFF(d) + 8 * i,
				   (unsigned long long)sb->d[i], i,
				   (unsigned long long)sb->first_bucket + i);
			return -BT_ERR_SB_JOURNAL_NOT_SEQUENTIAL;
		}
	if ((uint64_t)sb->first_bucket + sb->keys > sb->nbuckets)
		sb_fail(SB_JOURNAL_PAST_END, "too many journal buckets", keys,
			"is %u, from first_bucket %u that passes nbuckets %llu",
			sb->keys, sb->first_bucket, (unsigned long long)sb->nbuckets);
	if ((uint64_t)sb->first_bucket * sb->bucket_size < 16)
		sb_fail(SB_BAD_FIRST_BUCKET,
			"invalid superblock: first bucket comes before end of super", first_bucket,
			"is %u, starting at sector %llu, before sector 16",
			sb->first_bucket,
			(unsigned long long)sb->first_bucket * sb->bucket_size);
	return 0;
}

static void prt_hex(struct printbuf *out, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		prt_printf(out, "%02x", p[i]);
}

int bt_sb_validate(const struct cache_sb_disk *raw, const struct cache_sb *sb,
		   const struct bt_dev *dev, struct printbuf *err)
{
	uint64_t csum;

	if (bytes_zero((const uint8_t *)raw, sizeof(*raw))) {
		prt_printf(err, "not a bcache superblock (bad offset) in '%s': "
			   "bytes %u..%zu are all zeroes, no superblock was written there",
			   dev->path, SB_OFFSET_BYTES, SB_OFFSET_BYTES + sizeof(*raw));
		return -BT_ERR_SB_BAD_OFFSET;
	}
	if (sb->offset != SB_SECTOR)
		sb_fail(SB_BAD_OFFSET, "not a bcache superblock (bad offset)", offset,
			"is %llu, expected %u", (unsigned long long)sb->offset, SB_SECTOR);
	if (memcmp(sb->magic, bcache_sb_magic, 16)) {
		prt_printf(err, "not a bcache superblock (bad magic) in superblock of '%s': "
			   "magic at byte %zu is ", dev->path, (size_t)SB_FIELD_OFF(magic));
		prt_hex(err, sb->magic, 16);
		prt_str(err, ", expected ");
		prt_hex(err, bcache_sb_magic, 16);
		return -BT_ERR_SB_BAD_MAGIC;
	}
	/* before the csum, whose range depends on keys (the kernel checks it later) */
	if (sb->keys > SB_JOURNAL_BUCKETS)
		sb_fail(SB_TOO_MANY_JOURNAL_BUCKETS, "too many journal buckets", keys,
			"is %u, at most %u", sb->keys, SB_JOURNAL_BUCKETS);
	csum = bt_sb_csum(raw);
	if (csum != sb->csum)
		sb_fail(SB_BAD_CSUM, "bad checksum", csum,
			"is %016llx, computed %016llx over bytes %u..%u",
			(unsigned long long)sb->csum, (unsigned long long)csum,
			SB_OFFSET_BYTES + SB_CSUM_START,
			SB_OFFSET_BYTES + SB_CSUM_START + SB_CSUM_BYTES(sb->keys));
	if (bytes_zero(sb->uuid, 16))
		sb_fail(SB_BAD_UUID, "bad uuid", uuid, "is all zeroes");
	if (((unsigned)sb->block_size << 9) < dev->logical_block_size)
		sb_fail(SB_BLOCK_SMALLER_THAN_DEVICE,
			"superblock block size smaller than device block size", block_size,
			"is %u sectors, the device's logical block is %u bytes",
			sb->block_size, dev->logical_block_size);

	switch (sb->version) {
	case BCACHE_SB_VERSION_BDEV:
		return 0;
	case BCACHE_SB_VERSION_BDEV_WITH_OFFSET:
	case BCACHE_SB_VERSION_BDEV_WITH_FEATURES:
		if (sb->data_offset < BDEV_DATA_START_DEFAULT)
			sb_fail(SB_DATA_OFFSET_TOO_SMALL, "bad data offset", nbuckets,
				"(data_offset) is %llu sectors, at least %u",
				(unsigned long long)sb->data_offset, BDEV_DATA_START_DEFAULT);
		/* not in read_super(): bcache_device_init() refuses it later */
		if (sb->data_offset >= bt_dev_sectors(dev))
			sb_fail(SB_DATA_OFFSET_PAST_END, "bad data offset", nbuckets,
				"(data_offset) is %llu sectors, the device has only %llu",
				(unsigned long long)sb->data_offset,
				(unsigned long long)bt_dev_sectors(dev));
		return 0;
	case BCACHE_SB_VERSION_CDEV_WITH_FEATURES:
		if (sb->feature_compat & ~BCH_FEATURE_COMPAT_SUPP)
			sb_fail(SB_UNSUPPORTED_COMPAT, "unsupported compatible feature found",
				feature_compat, "is %llx, supported %llx",
				(unsigned long long)sb->feature_compat, BCH_FEATURE_COMPAT_SUPP);
		if (sb->feature_ro_compat & ~BCH_FEATURE_RO_COMPAT_SUPP)
			sb_fail(SB_UNSUPPORTED_RO_COMPAT,
				"unsupported read-only compatible feature found",
				feature_ro_compat, "is %llx, supported %llx",
				(unsigned long long)sb->feature_ro_compat,
				BCH_FEATURE_RO_COMPAT_SUPP);
		if (sb->feature_incompat & ~BCH_FEATURE_INCOMPAT_SUPP)
			sb_fail(SB_UNSUPPORTED_INCOMPAT, "unsupported incompatible feature found",
				feature_incompat, "is %llx, supported %llx",
				(unsigned long long)sb->feature_incompat,
				BCH_FEATURE_INCOMPAT_SUPP);
		/* fall through */
	case BCACHE_SB_VERSION_CDEV:
	case BCACHE_SB_VERSION_CDEV_WITH_UUID:
		return sb_validate_cache(sb, dev, err);
	default:
		sb_fail(SB_BAD_VERSION, "unsupported superblock version", version,
			"is %llu (known: 0, 1, 3, 4, 5, 6)", (unsigned long long)sb->version);
	}
}

int bt_sb_warnings(const struct cache_sb *sb, struct printbuf *out)
{
	int n = 0;

	if (bt_sb_is_cache(sb) && sb->nbuckets <= 512) {
		prt_printf(out, "warning: %llu buckets: Linux 5.x and 6.x refuse to register a cache "
			   "of 512 buckets or fewer (\"ca->sb.nbuckets is too small\")",
			   (unsigned long long)sb->nbuckets);
		prt_newline(out);
		n++;
	}
	if (bt_sb_is_cache(sb) &&
	    (sb->feature_incompat & BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET)) {
		prt_str(out, "warning: obsolete large bucket layout: the kernel runs this cache read-only");
		prt_newline(out);
		n++;
	}
	return n;
}

int bt_sb_read(struct bt_dev *dev, void *block, struct cache_sb *sb,
	       bool validate, struct printbuf *err)
{
	int ret;

	if (dev->size < SB_OFFSET_BYTES + SB_SIZE) {
		prt_printf(err, "'%s' is too small to hold a bcache superblock: %llu bytes, "
			   "the superblock ends at byte %u", dev->path,
			   (unsigned long long)dev->size, SB_OFFSET_BYTES + SB_SIZE);
		return -BT_ERR_DEV_TOO_SMALL;
	}
	ret = bt_dev_read(dev, block, SB_SIZE, SB_OFFSET_BYTES, "superblock", err);
	if (ret)
		return ret;
	bt_sb_decode(block, sb);
	return validate ? bt_sb_validate(block, sb, dev, err) : 0;
}

int bt_sb_write(struct bt_dev *dev, void *block, struct cache_sb *sb,
		struct printbuf *err)
{
	int ret;

	bt_sb_encode(sb, block);
	sb->csum = le64toh(((const struct cache_sb_disk *)block)->csum);
	ret = bt_dev_write(dev, block, SB_SIZE, SB_OFFSET_BYTES, "superblock", err);
	return ret ?: bt_dev_flush(dev, err);
}

const char *bt_sb_version_str(uint64_t version)
{
	switch (version) {
	case BCACHE_SB_VERSION_CDEV:			return "cache device";
	case BCACHE_SB_VERSION_BDEV:			return "backing device";
	case BCACHE_SB_VERSION_CDEV_WITH_UUID:		return "cache device";
	case BCACHE_SB_VERSION_BDEV_WITH_OFFSET:	return "backing device with data offset";
	case BCACHE_SB_VERSION_CDEV_WITH_FEATURES:	return "cache device with features";
	case BCACHE_SB_VERSION_BDEV_WITH_FEATURES:	return "backing device with features";
	default:					return "unknown";
	}
}

const char *bt_cache_mode_str(unsigned mode)
{
	static const char *const names[] = {
		"writethrough", "writeback", "writearound", "none",
	};
	return mode < 4 ? names[mode] : "unknown";
}

const char *bt_bdev_state_str(unsigned state)
{
	/* bcache-super-show's names: "detached" for NONE. */
	static const char *const names[] = { "detached", "clean", "dirty", "inconsistent" };
	return state < 4 ? names[state] : "unknown";
}

const char *bt_replacement_str(unsigned policy)
{
	static const char *const names[] = { "lru", "fifo", "random" };
	return policy < 3 ? names[policy] : "unknown";
}

void bt_sb_label_to_text(struct printbuf *out, const struct cache_sb *sb)
{
	for (const char *p = sb->label; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\\')
			prt_str(out, "\\\\");
		else if (c >= 0x20 && c < 0x7f)
			prt_char(out, (char)c);
		else
			prt_printf(out, "\\x%02x", c);
	}
}

static void field(struct printbuf *out, const char *name)
{
	prt_str(out, name);
	if (strlen(name) >= 24)
		prt_char(out, ' ');
	prt_tab_to(out, 24);
}

/* sb.*: magic, first sector, csum, version, seq and features. */
static void sb_header_to_text(struct printbuf *out, const struct cache_sb *sb, bool csum_ok,
			      uint64_t csum_computed)
{
	bool magic_ok = !memcmp(sb->magic, bcache_sb_magic, 16);

	field(out, "sb.magic");
	prt_str(out, magic_ok ? "ok" : "bad magic");
	prt_newline(out);
	field(out, "sb.first_sector");
	prt_printf(out, "%llu [%s]", (unsigned long long)sb->offset,
		   sb->offset == SB_SECTOR ? "match" : "expected 8");
	prt_newline(out);
	field(out, "sb.csum");
	prt_printf(out, "%016llX [%s]", (unsigned long long)sb->csum,
		   csum_ok ? "match" : "bad");
	if (!csum_ok)
		prt_printf(out, " (computed %016llX)", (unsigned long long)csum_computed);
	prt_newline(out);
	field(out, "sb.version");
	prt_printf(out, "%llu [%s]", (unsigned long long)sb->version,
		   bt_sb_version_str(sb->version));
	prt_newline(out);
	field(out, "sb.seq");
	prt_printf(out, "%llu", (unsigned long long)sb->seq);
	prt_newline(out);
	if (sb->version >= BCACHE_SB_VERSION_CDEV_WITH_FEATURES) {
		field(out, "sb.features");
		prt_printf(out, "compat %llx ro_compat %llx incompat %llx",
			   (unsigned long long)sb->feature_compat,
			   (unsigned long long)sb->feature_ro_compat,
			   (unsigned long long)sb->feature_incompat);
		prt_newline(out);
	}
}

/* dev.*: label, uuid, block and bucket size, common to both kinds of device. */
static void sb_dev_to_text(struct printbuf *out, const struct cache_sb *sb)
{
	field(out, "dev.label");
	if (sb->label[0])
		bt_sb_label_to_text(out, sb);
	else
		prt_str(out, "(empty)");
	prt_newline(out);
	field(out, "dev.uuid");
	prt_uuid(out, sb->uuid);
	prt_newline(out);
	field(out, "dev.sectors_per_block");
	prt_printf(out, "%u", sb->block_size);
	prt_newline(out);
	field(out, "dev.sectors_per_bucket");
	prt_printf(out, "%u", sb->bucket_size);
	prt_newline(out);
}

/* dev.data.*: a backing device's data offset, cache mode and state. */
static void sb_bdev_to_text(struct printbuf *out, const struct cache_sb *sb)
{
	field(out, "dev.data.first_sector");
	prt_printf(out, "%llu", (unsigned long long)sb->data_offset);
	prt_newline(out);
	field(out, "dev.data.cache_mode");
	prt_printf(out, "%llu [%s]", (unsigned long long)BDEV_CACHE_MODE(sb->flags),
		   bt_cache_mode_str(BDEV_CACHE_MODE(sb->flags)));
	prt_newline(out);
	field(out, "dev.data.cache_state");
	prt_printf(out, "%llu [%s]", (unsigned long long)BDEV_STATE(sb->flags),
		   bt_bdev_state_str(BDEV_STATE(sb->flags)));
	prt_newline(out);
}

/* dev.cache.*: a cache device's geometry, flags and journal buckets. */
static void sb_cache_to_text(struct printbuf *out, const struct cache_sb *sb)
{
	field(out, "dev.cache.first_sector");
	prt_printf(out, "%llu", (unsigned long long)sb->first_bucket * sb->bucket_size);
	prt_newline(out);
	field(out, "dev.cache.cache_sectors");
	prt_printf(out, "%llu", (unsigned long long)
		   (sb->nbuckets - sb->first_bucket) * sb->bucket_size);
	prt_newline(out);
	field(out, "dev.cache.total_sectors");
	prt_printf(out, "%llu", (unsigned long long)sb->nbuckets * sb->bucket_size);
	prt_newline(out);
	field(out, "dev.cache.ordered");
	prt_str(out, CACHE_SYNC(sb->flags) ? "yes" : "no");
	prt_newline(out);
	field(out, "dev.cache.discard");
	prt_str(out, CACHE_DISCARD(sb->flags) ? "yes" : "no");
	prt_newline(out);
	field(out, "dev.cache.pos");
	prt_printf(out, "%u", sb->nr_this_dev);
	prt_newline(out);
	field(out, "dev.cache.replacement");
	prt_printf(out, "%llu [%s]", (unsigned long long)CACHE_REPLACEMENT(sb->flags),
		   bt_replacement_str(CACHE_REPLACEMENT(sb->flags)));
	prt_newline(out);
	field(out, "dev.cache.nbuckets");
	prt_printf(out, "%llu", (unsigned long long)sb->nbuckets);
	prt_newline(out);
	field(out, "dev.cache.first_bucket");
	prt_printf(out, "%u", sb->first_bucket);
	prt_newline(out);
	field(out, "dev.cache.nr_in_set");
	prt_printf(out, "%u", sb->nr_in_set);
	prt_newline(out);
	field(out, "dev.cache.journal_buckets");
	prt_printf(out, "%u", sb->keys);
	for (unsigned i = 0; i < sb->keys && i < SB_JOURNAL_BUCKETS; i++)
		prt_printf(out, "%s%llu", i ? "," : " [", (unsigned long long)sb->d[i]);
	if (sb->keys)
		prt_char(out, ']');
	prt_newline(out);
}

/* dev.last_mount: seconds since the epoch and the UTC time, or "never". */
static void sb_last_mount_to_text(struct printbuf *out, const struct cache_sb *sb)
{
	field(out, "dev.last_mount");
	if (sb->last_mount) {
		time_t t = (time_t)sb->last_mount;
		struct tm tm;
		char buf[64];

		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
		prt_printf(out, "%u [%s]", sb->last_mount, buf);
	} else {
		prt_str(out, "0 [never]");
	}
	prt_newline(out);
}

void bt_sb_to_text(struct printbuf *out, const struct cache_sb *sb, bool csum_ok,
		   uint64_t csum_computed)
{
	sb_header_to_text(out, sb, csum_ok, csum_computed);
	prt_newline(out);
	sb_dev_to_text(out, sb);
	if (bt_sb_is_bdev(sb))
		sb_bdev_to_text(out, sb);
	else
		sb_cache_to_text(out, sb);
	sb_last_mount_to_text(out, sb);
	prt_newline(out);
	field(out, "cset.uuid");
	prt_uuid(out, sb->set_uuid);
	prt_newline(out);
}
