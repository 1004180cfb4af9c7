/* sb.c --- superblock decode, encode, kernel-equivalent validation, text. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csum.h"
#include "errcode.h"
#include "sb.h"

const uint8_t bcache_sb_magic[16] = {
	0xc6, 0x85, 0x73, 0xf6, 0x4e, 0x1a, 0x45, 0xca,
	0x82, 0x65, 0xf5, 0x7f, 0x48, 0xba, 0x6d, 0x81,
};

const uint8_t bcache_invalid_uuid[16] = {
	0xa0, 0x3e, 0xf8, 0xed, 0x3e, 0xe1, 0xb8, 0x78,
	0xc8, 0x50, 0xfc, 0x5e, 0xcb, 0x16, 0xcd, 0x99,
};

static bool is_power_of_2(uint64_t v)
{
	return v && !(v & (v - 1));
}

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
	memset(raw->label, 0, sizeof(raw->label));
	memcpy(raw->label, sb->label, strnlen(sb->label, sizeof(raw->label)));
	raw->flags = htole64(sb->flags);
	raw->seq = htole64(sb->seq);
	if (sb->version >= BCACHE_SB_VERSION_CDEV_WITH_FEATURES) {
		raw->feature_compat = htole64(sb->feature_compat);
		raw->feature_incompat = htole64(sb->feature_incompat);
		raw->feature_ro_compat = htole64(sb->feature_ro_compat);
	}
	raw->nbuckets = htole64(bt_sb_is_bdev(sb) ?
				(sb->version == BCACHE_SB_VERSION_BDEV ? 0 : sb->data_offset) :
				sb->nbuckets);
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

#define sb_fail(code, field, fmt, ...)						\
do {										\
	prt_printf(err, "%s in superblock of '%s' (%s at byte %zu): " fmt,	\
		   #code, dev->path, #field, (size_t)SB_FIELD_OFF(field),	\
		   ##__VA_ARGS__);						\
	return -BT_ERR_##code;							\
} while (0)

/* Mirrors super.c read_super_common() (v6.1): the cache-device checks. */
static int sb_validate_cache(const struct cache_sb *sb, const struct bt_dev *dev,
			     struct printbuf *err)
{
	if (sb->keys > SB_JOURNAL_BUCKETS)
		sb_fail(SB_TOO_MANY_JOURNAL_BUCKETS, keys,
			"%u journal buckets, at most %u", sb->keys, SB_JOURNAL_BUCKETS);
	if (sb->nbuckets > LONG_MAX)
		sb_fail(SB_TOO_MANY_BUCKETS, nbuckets, "%llu buckets",
			(unsigned long long)sb->nbuckets);
	if (sb->nbuckets < 128)
		sb_fail(SB_NOT_ENOUGH_BUCKETS, nbuckets, "%llu buckets, need at least 128",
			(unsigned long long)sb->nbuckets);
	if (!is_power_of_2(sb->block_size))
		sb_fail(SB_BAD_BLOCK_SIZE, block_size, "%u sectors is not a power of two",
			sb->block_size);
	if (sb->block_size > BT_PAGE_SECTORS)
		sb_fail(SB_BAD_BLOCK_SIZE, block_size,
			"%u sectors is larger than a page (%u sectors)",
			sb->block_size, BT_PAGE_SECTORS);
	if (!is_power_of_2(sb->bucket_size))
		sb_fail(SB_BAD_BUCKET_SIZE, bucket_size, "%u sectors is not a power of two",
			sb->bucket_size);
	if (sb->bucket_size < BT_PAGE_SECTORS)
		sb_fail(SB_BAD_BUCKET_SIZE, bucket_size,
			"%u sectors is smaller than a page (%u sectors)",
			sb->bucket_size, BT_PAGE_SECTORS);
	if (bt_dev_sectors(dev) / sb->bucket_size < sb->nbuckets)
		sb_fail(SB_DEVICE_TOO_SMALL, nbuckets,
			"%llu buckets of %u sectors need %llu sectors, the device has %llu",
			(unsigned long long)sb->nbuckets, sb->bucket_size,
			(unsigned long long)sb->nbuckets * sb->bucket_size,
			(unsigned long long)bt_dev_sectors(dev));
	if (bytes_zero(sb->set_uuid, 16))
		sb_fail(SB_BAD_SET_UUID, set_uuid, "cache set uuid is all zeroes");
	if (!sb->nr_in_set || sb->nr_in_set <= sb->nr_this_dev ||
	    sb->nr_in_set > MAX_CACHES_PER_SET)
		sb_fail(SB_BAD_DEV_NUMBER, nr_in_set,
			"bad cache device number in set: nr_in_set %u, nr_this_dev %u",
			sb->nr_in_set, sb->nr_this_dev);
	for (unsigned i = 0; i < sb->keys; i++)
		if (sb->d[i] != (uint64_t)sb->first_bucket + i) {
			prt_printf(err, "SB_JOURNAL_NOT_SEQUENTIAL in superblock of '%s' "
				   "(d[%u] at byte %zu): journal bucket %llu, expected %llu",
				   dev->path, i, (size_t)SB_FIELD_OFF(d) + 8 * i,
				   (unsigned long long)sb->d[i],
				   (unsigned long long)sb->first_bucket + i);
			return -BT_ERR_SB_JOURNAL_NOT_SEQUENTIAL;
		}
	if ((uint64_t)sb->first_bucket + sb->keys > sb->nbuckets)
		sb_fail(SB_TOO_MANY_JOURNAL_BUCKETS, keys,
			"first_bucket %u + %u journal buckets passes nbuckets %llu",
			sb->first_bucket, sb->keys, (unsigned long long)sb->nbuckets);
	if ((uint64_t)sb->first_bucket * sb->bucket_size < 16)
		sb_fail(SB_BAD_FIRST_BUCKET, first_bucket,
			"first bucket %u starts at sector %llu, before the end of the superblock (16)",
			sb->first_bucket,
			(unsigned long long)sb->first_bucket * sb->bucket_size);
	return 0;
}

int bt_sb_validate(const struct cache_sb_disk *raw, const struct cache_sb *sb,
		   const struct bt_dev *dev, struct printbuf *err)
{
	uint64_t csum;

	if (sb->offset != SB_SECTOR)
		sb_fail(SB_BAD_OFFSET, offset, "not a bcache superblock: offset %llu, expected %u",
			(unsigned long long)sb->offset, SB_SECTOR);
	if (memcmp(sb->magic, bcache_sb_magic, 16))
		sb_fail(SB_BAD_MAGIC, magic, "not a bcache superblock: bad magic");
	if (sb->keys > SB_JOURNAL_BUCKETS)
		sb_fail(SB_TOO_MANY_JOURNAL_BUCKETS, keys,
			"%u journal buckets, at most %u", sb->keys, SB_JOURNAL_BUCKETS);
	csum = bt_sb_csum(raw);
	if (csum != sb->csum)
		sb_fail(SB_BAD_CSUM, csum, "bad checksum: stored %016llx, computed %016llx",
			(unsigned long long)sb->csum, (unsigned long long)csum);
	if (bytes_zero(sb->uuid, 16))
		sb_fail(SB_BAD_UUID, uuid, "device uuid is all zeroes");
	if (((unsigned)sb->block_size << 9) < dev->logical_block_size)
		sb_fail(SB_BLOCK_SMALLER_THAN_DEVICE, block_size,
			"block size %u sectors is smaller than the device's logical block (%u bytes)",
			sb->block_size, dev->logical_block_size);

	switch (sb->version) {
	case BCACHE_SB_VERSION_BDEV:
		return 0;
	case BCACHE_SB_VERSION_BDEV_WITH_OFFSET:
	case BCACHE_SB_VERSION_BDEV_WITH_FEATURES:
		if (sb->data_offset < BDEV_DATA_START_DEFAULT)
			sb_fail(SB_BAD_DATA_OFFSET, nbuckets,
				"data offset %llu sectors, at least %u",
				(unsigned long long)sb->data_offset, BDEV_DATA_START_DEFAULT);
		if (sb->data_offset >= bt_dev_sectors(dev))
			sb_fail(SB_BAD_DATA_OFFSET, nbuckets,
				"data offset %llu sectors is beyond the device (%llu sectors)",
				(unsigned long long)sb->data_offset,
				(unsigned long long)bt_dev_sectors(dev));
		return 0;
	case BCACHE_SB_VERSION_CDEV_WITH_FEATURES:
		if (sb->feature_compat & ~BCH_FEATURE_COMPAT_SUPP)
			sb_fail(SB_UNSUPPORTED_FEATURE, feature_compat,
				"unsupported compatible feature %llx",
				(unsigned long long)sb->feature_compat);
		if (sb->feature_ro_compat & ~BCH_FEATURE_RO_COMPAT_SUPP)
			sb_fail(SB_UNSUPPORTED_FEATURE, feature_ro_compat,
				"unsupported read-only compatible feature %llx",
				(unsigned long long)sb->feature_ro_compat);
		if (sb->feature_incompat & ~BCH_FEATURE_INCOMPAT_SUPP)
			sb_fail(SB_UNSUPPORTED_FEATURE, feature_incompat,
				"unsupported incompatible feature %llx",
				(unsigned long long)sb->feature_incompat);
		/* fall through */
	case BCACHE_SB_VERSION_CDEV:
	case BCACHE_SB_VERSION_CDEV_WITH_UUID:
		return sb_validate_cache(sb, dev, err);
	default:
		sb_fail(SB_BAD_VERSION, version, "unsupported superblock version %llu",
			(unsigned long long)sb->version);
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

int bt_sb_write(struct bt_dev *dev, void *block, const struct cache_sb *sb,
		struct printbuf *err)
{
	bt_sb_encode(sb, block);
	return bt_dev_write(dev, block, SB_SIZE, SB_OFFSET_BYTES, "superblock", err);
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

static void field(struct printbuf *out, const char *name)
{
	prt_str(out, name);
	if (strlen(name) >= 24)
		prt_char(out, ' ');
	prt_tab_to(out, 24);
}

void bt_sb_to_text(struct printbuf *out, const struct cache_sb *sb, bool csum_ok,
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
	prt_newline(out);

	field(out, "dev.label");
	prt_str(out, sb->label[0] ? sb->label : "(empty)");
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

	if (bt_sb_is_bdev(sb)) {
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
	} else {
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
	prt_newline(out);
	field(out, "cset.uuid");
	prt_uuid(out, sb->set_uuid);
	prt_newline(out);
}
