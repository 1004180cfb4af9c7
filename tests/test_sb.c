/* test_sb.c --- superblock csum vectors, decode/encode, bucket-size rule.
 *
 * Expected values come from FORMAT.md §1.5 and §1.7 (the §1.7 csums were
 * also checked with Debian's bcache-super-show 1.0.8, which prints
 * "[match]" for each of the three blocks built here).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/errcode.h"
#include "libcore/ondisk/sb.h"

static const uint8_t vec_uuid[16] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};
static const uint8_t vec_set_uuid[16] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

/* The common part of the §1.7 blocks: a zeroed 4 KiB block, offset, magic, uuids. */
static struct cache_sb_disk *vec_block(uint8_t block[SB_SIZE], uint64_t version)
{
	struct cache_sb_disk *raw = (struct cache_sb_disk *)block;

	memset(block, 0, SB_SIZE);
	raw->offset = htole64(8);
	raw->version = htole64(version);
	memcpy(raw->magic, bcache_sb_magic, 16);
	memcpy(raw->uuid, vec_uuid, 16);
	memcpy(raw->set_uuid, vec_set_uuid, 16);
	return raw;
}

static void vec_fresh_cache(struct cache_sb_disk *raw)
{
	raw->nbuckets = htole64(256);
	raw->block_size = htole16(8);
	raw->bucket_size = htole16(1024);
	raw->nr_in_set = htole16(1);
	raw->nr_this_dev = htole16(0);
	raw->first_bucket = htole16(1);
}

Test(sb, csum_vector_fresh_cache)
{
	uint8_t block[SB_SIZE];
	struct cache_sb_disk *raw = vec_block(block, 0);

	vec_fresh_cache(raw);
	cr_assert_eq(bt_sb_csum(raw), 0xa56cecd975b7e6a7ULL, "got %016llx",
		     (unsigned long long)bt_sb_csum(raw));
}

Test(sb, csum_vector_fresh_backing)
{
	uint8_t block[SB_SIZE];
	struct cache_sb_disk *raw = vec_block(block, 1);

	raw->block_size = htole16(8);
	cr_assert_eq(bt_sb_csum(raw), 0x8adc6428409e1accULL, "got %016llx",
		     (unsigned long long)bt_sb_csum(raw));
}

Test(sb, csum_vector_synced_cache)
{
	uint8_t block[SB_SIZE];
	struct cache_sb_disk *raw = vec_block(block, 3);

	vec_fresh_cache(raw);
	raw->flags = htole64(1);
	raw->seq = htole64(5);
	raw->keys = htole16(2);
	raw->d[0] = htole64(1);
	raw->d[1] = htole64(2);
	cr_assert_eq(bt_sb_csum(raw), 0x9e586adaa4f8aab8ULL, "got %016llx",
		     (unsigned long long)bt_sb_csum(raw));
	/* d[keys..] and obso_bucket_size_hi are outside the csum (§1.7) */
	raw->d[2] = htole64(99);
	raw->obso_bucket_size_hi = htole16(7);
	cr_assert_eq(bt_sb_csum(raw), 0x9e586adaa4f8aab8ULL);
	/* keys above 256 are clamped: the range never leaves the structure */
	raw->keys = htole16(0xffff);
	(void)bt_sb_csum(raw);
}

/* encode() of the vectors' decoded form writes the vector csum back. */
Test(sb, encode_sets_vector_csum)
{
	uint8_t block[SB_SIZE], out[SB_SIZE];
	struct cache_sb_disk *raw = vec_block(block, 3);
	struct cache_sb sb;

	vec_fresh_cache(raw);
	raw->flags = htole64(1);
	raw->seq = htole64(5);
	raw->keys = htole16(2);
	raw->d[0] = htole64(1);
	raw->d[1] = htole64(2);
	bt_sb_decode(raw, &sb);
	cr_assert_eq(sb.version, 3);
	cr_assert_eq(sb.nbuckets, 256);
	cr_assert_eq(sb.bucket_size, 1024);
	cr_assert_eq(sb.block_size, 8);
	cr_assert_eq(sb.keys, 2);
	cr_assert_eq(sb.d[1], 2);
	cr_assert_eq(CACHE_SYNC(sb.flags), 1);
	cr_assert_eq(bt_sb_set_magic(&sb), 0xefcdab8967452301ULL);
	memset(out, 0, sizeof(out));
	bt_sb_encode(&sb, (struct cache_sb_disk *)out);
	cr_assert_eq(le64toh(((struct cache_sb_disk *)out)->csum), 0x9e586adaa4f8aab8ULL);
	raw->csum = htole64(0x9e586adaa4f8aab8ULL);
	cr_assert_arr_eq(out, block, SB_SIZE);
}

/* A small deterministic generator (xorshift64) for the round-trip blocks. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * decode + encode over a copy of the same block gives back the very same
 * bytes, for every version and random contents: encode rewrites only what
 * decode read, and the csum is recomputed.
 */
Test(sb, decode_encode_round_trip)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	for (unsigned iter = 0; iter < 700; iter++) {
		uint8_t block[SB_SIZE], copy[SB_SIZE];
		struct cache_sb_disk *raw = (struct cache_sb_disk *)block;
		struct cache_sb sb;

		for (size_t i = 0; i < SB_SIZE; i += 8) {
			uint64_t v = rnd(&seed);

			memcpy(block + i, &v, 8);
		}
		raw->version = htole64(iter % 7);
		raw->keys = htole16((uint16_t)(rnd(&seed) % 257));
		raw->csum = htole64(bt_sb_csum(raw));
		memcpy(copy, block, SB_SIZE);

		bt_sb_decode(raw, &sb);
		bt_sb_encode(&sb, (struct cache_sb_disk *)copy);
		cr_assert_arr_eq(copy, block, SB_SIZE, "round trip differs (version %u)",
				 iter % 7);

		/* and encoding over a zeroed block gives the same defined fields */
		memset(copy, 0, SB_SIZE);
		bt_sb_encode(&sb, (struct cache_sb_disk *)copy);
		{
			struct cache_sb sb2;

			bt_sb_decode((struct cache_sb_disk *)copy, &sb2);
			cr_assert_eq(sb2.version, sb.version);
			cr_assert_eq(sb2.nbuckets, sb.nbuckets);
			cr_assert_eq(sb2.data_offset, sb.data_offset);
			cr_assert_eq(sb2.bucket_size, sb.bucket_size);
			cr_assert_arr_eq(sb2.label, sb.label, sizeof(sb.label));
			cr_assert_arr_eq(sb2.d, sb.d, sizeof(sb.d));
		}
	}
}

/* Version 1 backing: data starts at sector 16 whatever field 184 holds. */
Test(sb, backing_data_offset)
{
	uint8_t block[SB_SIZE];
	struct cache_sb_disk *raw = vec_block(block, 1);
	struct cache_sb sb;

	raw->nbuckets = htole64(12345);
	bt_sb_decode(raw, &sb);
	cr_assert_eq(sb.data_offset, 16);
	raw->version = htole64(4);
	bt_sb_decode(raw, &sb);
	cr_assert_eq(sb.data_offset, 12345);
	raw->version = htole64(6);
	bt_sb_decode(raw, &sb);
	cr_assert_eq(sb.data_offset, 12345);
}

static uint32_t decoded_bucket(uint64_t version, uint64_t incompat, uint16_t lo, uint16_t hi)
{
	uint8_t block[SB_SIZE];
	struct cache_sb_disk *raw = vec_block(block, version);
	struct cache_sb sb;

	raw->feature_incompat = htole64(incompat);
	raw->bucket_size = htole16(lo);
	raw->obso_bucket_size_hi = htole16(hi);
	bt_sb_decode(raw, &sb);
	cr_assert_eq(sb.bucket_size_raw, lo);
	return sb.bucket_size;
}

/* FORMAT.md §1.5: plain, log2 (large_bucket), plain + hi << 16 (obso_large_bucket). */
Test(sb, bucket_size_decode_rule)
{
	cr_assert_eq(decoded_bucket(0, 0, 1024, 0), 1024);
	cr_assert_eq(decoded_bucket(5, 0, 1024, 3), 1024);
	cr_assert_eq(decoded_bucket(5, BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET, 11, 0), 2048);
	cr_assert_eq(decoded_bucket(5, BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET, 20, 0), 1u << 20);
	cr_assert_eq(decoded_bucket(5, BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET, 0, 1), 65536);
	cr_assert_eq(decoded_bucket(5, BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET, 1024, 2),
		     1024 + (2u << 16));
	/* log2 is tried first when both bits are set */
	cr_assert_eq(decoded_bucket(5, 3, 12, 1), 4096);
	/* below version 5 the feature words are padding and ignored */
	cr_assert_eq(decoded_bucket(3, BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET, 11, 0), 11);
	cr_assert_eq(decoded_bucket(0, BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET, 0, 1), 0);
	/* an exponent past 31 cannot be represented: decoded as 0 (invalid) */
	cr_assert_eq(decoded_bucket(5, BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET, 32, 0), 0);
}

/* Validation of a large-bucket version-5 cache uses the decoded size. */
Test(sb, validate_large_bucket)
{
	uint8_t block[SB_SIZE];
	struct cache_sb_disk *raw = vec_block(block, 5);
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	struct cache_sb sb;
	uint8_t mem[SB_SIZE];

	vec_fresh_cache(raw);
	raw->nbuckets = htole64(128);
	raw->feature_incompat = htole64(BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET);
	raw->bucket_size = htole16(17);		/* 1 << 17 sectors = 64 MiB */
	raw->csum = htole64(bt_sb_csum(raw));
	bt_sb_decode(raw, &sb);
	/* validation reads only the size: a small buffer standing for 8 GiB */
	bt_dev_open_mem(&dev, "big.img", mem, sizeof(mem), true);
	dev.size = 128ULL << 17 << 9;
	cr_assert_eq(bt_sb_validate(raw, &sb, &dev, &err), 0, "%s", printbuf_str(&err));
	dev.size -= 512;
	cr_assert_eq(bt_sb_validate(raw, &sb, &dev, &err), -BT_ERR_SB_DEVICE_TOO_SMALL);
	cr_assert(strstr(printbuf_str(&err), "device too small"), "%s", printbuf_str(&err));
	printbuf_reset(&err);

	raw->bucket_size = htole16(40);
	raw->csum = htole64(bt_sb_csum(raw));
	bt_sb_decode(raw, &sb);
	cr_assert_eq(bt_sb_validate(raw, &sb, &dev, &err), -BT_ERR_SB_BUCKET_SIZE_NOT_POW2);
	printbuf_reset(&err);

	/* an unknown incompat feature is refused before any geometry check */
	raw->feature_incompat = htole64(0x4);
	raw->csum = htole64(bt_sb_csum(raw));
	bt_sb_decode(raw, &sb);
	cr_assert_eq(bt_sb_validate(raw, &sb, &dev, &err), -BT_ERR_SB_UNSUPPORTED_INCOMPAT);
	cr_assert(strstr(printbuf_str(&err),
			 "unsupported incompatible feature found in superblock of 'big.img': "
			 "feature_incompat at byte 4224 is 4"), "%s", printbuf_str(&err));
	printbuf_exit(&err);
	bt_dev_close(&dev);
}

/* The three vectors validate; keys > 256 is refused before the csum. */
Test(sb, validate_vectors)
{
	uint8_t block[SB_SIZE], mem[SB_SIZE];
	struct cache_sb_disk *raw = vec_block(block, 3);
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	struct cache_sb sb;

	vec_fresh_cache(raw);
	raw->flags = htole64(1);
	raw->keys = htole16(2);
	raw->d[0] = htole64(1);
	raw->d[1] = htole64(2);
	raw->csum = htole64(bt_sb_csum(raw));
	bt_sb_decode(raw, &sb);
	bt_dev_open_mem(&dev, "v.img", mem, sizeof(mem), true);
	dev.size = 256ULL * 1024 * 512;
	cr_assert_eq(bt_sb_validate(raw, &sb, &dev, &err), 0, "%s", printbuf_str(&err));

	raw->keys = htole16(257);
	bt_sb_decode(raw, &sb);
	cr_assert_eq(bt_sb_validate(raw, &sb, &dev, &err), -BT_ERR_SB_TOO_MANY_JOURNAL_BUCKETS);
	cr_assert_str_eq(printbuf_str(&err),
			 "too many journal buckets in superblock of 'v.img': keys at byte 4302 "
			 "is 257, at most 256");
	printbuf_exit(&err);
	bt_dev_close(&dev);
}

/* Labels print safely: 32 bytes without a NUL, a backslash, control and high bytes. */
Test(sb, label_to_text)
{
	uint8_t block[SB_SIZE];
	struct cache_sb_disk *raw = vec_block(block, 1);
	struct printbuf pb = PRINTBUF;
	struct cache_sb sb;

	memcpy(raw->label, "0123456789abcdef0123456789abcdef", 32);
	bt_sb_decode(raw, &sb);
	bt_sb_label_to_text(&pb, &sb);
	cr_assert_str_eq(printbuf_str(&pb), "0123456789abcdef0123456789abcdef");
	printbuf_reset(&pb);

	memset(raw->label, 0, 32);
	memcpy(raw->label, "a\\b\xff\x01 c\0hidden", 15);
	bt_sb_decode(raw, &sb);
	bt_sb_label_to_text(&pb, &sb);
	cr_assert_str_eq(printbuf_str(&pb), "a\\\\b\\xff\\x01 c");
	printbuf_exit(&pb);
}
