/* test_bkey.c --- bkey rules: text notation, validity, staleness, cutting. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"

/* A cache set with the geometry of s03 (64 KiB buckets, 1024 buckets). */
static void geom(struct cache_set *c, struct bt_bucket *b)
{
	memset(c, 0, sizeof(*c));
	c->bucket_size = 128;
	c->bucket_bits = 7;
	c->block_size = 8;
	c->block_bits = 3;
	c->nbuckets = 1024;
	c->first_bucket = 1;
	c->buckets = b;
}

static const char *text(const struct bkey *k)
{
	static struct printbuf pb;

	printbuf_reset(&pb);
	bt_bkey_to_text(&pb, k);
	return printbuf_str(&pb);
}

Test(bkey, text_format_vector)
{
	/* FORMAT.md §2 key: ptrs 1, dirty, size 8, inode 1, offset 16, ptr 0x500001 */
	struct bkey_padded p = { { 0x9000001000800001ULL, 16, 0x0000000000500001ULL } };
	struct bkey *k = (struct bkey *)&p;

	cr_assert_str_eq(text(k), "1:8 len 8 -> [0:20480 gen 1] dirty");
	SET_KEY_DIRTY(k, 0);
	cr_assert_str_eq(text(k), "1:8 len 8 -> [0:20480 gen 1]");
	SET_PTR(k, 0, 7, 1234, PTR_CHECK_DEV);
	cr_assert_str_eq(text(k), "1:8 len 8 -> [check dev]");
	SET_KEY_PTRS(k, 2);
	SET_PTR(k, 0, 3, 256, 0);
	SET_PTR(k, 1, 4, 512, 1);
	cr_assert_str_eq(text(k), "1:8 len 8 -> [0:256 gen 3, 1:512 gen 4]");
	SET_KEY_PTRS(k, 0);
	cr_assert_str_eq(text(k), "1:8 len 8 -> []");
}

Test(bkey, ptr_status_and_validity)
{
	struct bt_bucket b[1024] = { 0 };
	struct cache_set c;
	struct bkey_padded p;
	struct bkey *k = (struct bkey *)&p;

	geom(&c, b);
	bkey_init_pos(k, 0, 136, 8);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 0, 2 * 128 + 120, 0);		/* bucket 2, remainder 120 */
	cr_assert_eq(bt_ptr_status(&c, k), BT_PTR_OK);
	cr_assert_eq(bt_extent_invalid(&c, k), BT_EXTENT_VALID);
	SET_KEY_SIZE(k, 9);				/* 9 + 120 > 128 */
	cr_assert_eq(bt_ptr_status(&c, k), BT_PTR_LENGTH_TOO_BIG);
	cr_assert_str_eq(bt_ptr_status_str(bt_ptr_status(&c, k)), "bad, length too big");
	cr_assert_eq(bt_extent_invalid(&c, k), BT_EXTENT_INVALID);
	SET_KEY_SIZE(k, 8);
	SET_PTR(k, 0, 0, 64, 0);			/* bucket 0 < first_bucket */
	cr_assert_eq(bt_ptr_status(&c, k), BT_PTR_SHORT_OFFSET);
	SET_PTR(k, 0, 0, 1024 * 128, 0);		/* bucket 1024 */
	cr_assert_str_eq(bt_ptr_status_str(bt_ptr_status(&c, k)), "bad, offset past end of device");
	cr_assert(bt_ptr_invalid(&c, k));
	SET_PTR(k, 0, 0, 1024 * 128, PTR_CHECK_DEV);	/* unavailable: not checked */
	cr_assert_not(bt_ptr_invalid(&c, k));
	cr_assert(bt_extent_bad(&c, k, NULL));
	/* zero size: silent; size > offset: fatal */
	SET_PTR(k, 0, 0, 256, 0);
	SET_KEY_SIZE(k, 0);
	cr_assert_eq(bt_extent_invalid(&c, k), BT_EXTENT_ZERO_SIZE);
	cr_assert_eq(bt_ptr_status(&c, k), BT_PTR_ZEROED);
	bkey_init_pos(k, 0, 4, 8);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 0, 256, 0);
	cr_assert_eq(bt_extent_invalid(&c, k), BT_EXTENT_INVALID);
	/* btree pointers: dirty or no pointers are invalid */
	bkey_init_pos(k, 0, 512, 128);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 0, 256, 0);
	cr_assert_not(bt_btree_ptr_invalid(&c, k));
	SET_KEY_DIRTY(k, 1);
	cr_assert(bt_btree_ptr_invalid(&c, k));
	SET_KEY_DIRTY(k, 0);
	SET_KEY_PTRS(k, 0);
	cr_assert(bt_btree_ptr_invalid(&c, k));
	cr_assert_eq(bt_ptr_status(&c, k), BT_PTR_NO_PTRS);
	bkey_init_pos(k, 0, 0, 0);
	cr_assert_str_eq(bt_ptr_status_str(bt_ptr_status(&c, k)), "bad, null key");
}

Test(bkey, staleness)
{
	struct bt_bucket b[1024] = { 0 };
	struct cache_set c;
	struct bkey_padded p;
	struct bkey *k = (struct bkey *)&p;
	struct bt_extent_bad_info info;

	geom(&c, b);
	bkey_init_pos(k, 0, 16, 8);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 5, 3 * 128, 0);
	b[3].gen = 5;
	cr_assert_eq(bt_ptr_stale(&c, k, 0), 0);
	cr_assert_not(bt_extent_bad(&c, k, NULL));
	b[3].gen = 7;					/* bucket reused twice */
	cr_assert_eq(bt_ptr_stale(&c, k, 0), 2);
	cr_assert_eq(bt_ptr_status(&c, k), BT_PTR_STALE);
	cr_assert(bt_extent_bad(&c, k, &info));
	cr_assert_eq(info.stale, 2);
	cr_assert_not(info.stale_dirty);
	/* v6.x: a stale dirty key is bad too (the kernel logs "stale dirty pointer") */
	SET_KEY_DIRTY(k, 1);
	cr_assert(bt_extent_bad(&c, k, &info));
	cr_assert(info.stale_dirty);
	b[3].gen = 4;					/* gen in the future: not stale */
	cr_assert_eq(bt_ptr_stale(&c, k, 0), 0);
	b[3].gen = (uint8_t)(5 + 97);
	bt_extent_bad(&c, k, &info);
	cr_assert(info.too_stale);
	b[3].gen = (uint8_t)(5 + 129);			/* behind by 127: not stale */
	cr_assert_eq(bt_ptr_stale(&c, k, 0), 0);
	/* interior pointers: ZERO_KEY position is bad */
	bkey_init_pos(k, 0, 0, 128);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 5, 3 * 128, 0);
	b[3].gen = 5;
	cr_assert(bt_btree_ptr_bad(&c, k));
	SET_KEY_OFFSET(k, 100);
	cr_assert_not(bt_btree_ptr_bad(&c, k));
}

Test(bkey, cut_front_back)
{
	struct bkey_padded p, w;
	struct bkey *k = (struct bkey *)&p, *where = (struct bkey *)&w;

	bkey_init_pos(k, 1, 100, 40);			/* [60, 100) */
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 2, 1000, 0);
	bkey_init_pos(where, 1, 70, 0);
	cr_assert(bt_cut_front(where, k));
	cr_assert_eq(KEY_START(k), 70);
	cr_assert_eq(KEY_SIZE(k), 30);
	cr_assert_eq(PTR_OFFSET(k, 0), 1010);
	cr_assert_eq(PTR_GEN(k, 0), 2);
	bkey_init_pos(where, 1, 90, 0);
	cr_assert(bt_cut_back(where, k));
	cr_assert_eq(KEY_OFFSET(k), 90);
	cr_assert_eq(KEY_SIZE(k), 20);
	cr_assert_eq(PTR_OFFSET(k, 0), 1010);
	bkey_init_pos(where, 1, 50, 0);			/* before the start: no change */
	cr_assert_not(bt_cut_front(where, k));
	bkey_init_pos(where, 1, 200, 0);		/* past the end: whole key gone */
	cr_assert(bt_cut_front(where, k));
	cr_assert_eq(KEY_SIZE(k), 0);
	cr_assert_eq(KEY_OFFSET(k), 200);
}

Test(bkey, ordering)
{
	struct bkey_padded a, b;
	struct bkey *l = (struct bkey *)&a, *r = (struct bkey *)&b;

	bkey_init_pos(l, 1, 5, 0);
	bkey_init_pos(r, 0, 1000, 0);
	cr_assert_gt(bkey_cmp(l, r), 0);
	bkey_init_pos(r, 1, 6, 0);
	cr_assert_lt(bkey_cmp(l, r), 0);
	bkey_init_pos(l, 1, 20, 10);			/* starts at 10 */
	bkey_init_pos(r, 1, 15, 2);			/* starts at 13 */
	cr_assert_gt(bkey_cmp(l, r), 0);
	cr_assert_lt(bkey_cmp_start(l, r), 0);
}

Test(bkey, merge)
{
	struct bt_bucket bk[1024] = { 0 };
	struct cache_set c;
	struct bkey_padded a, b;
	struct bkey *l = (struct bkey *)&a, *r = (struct bkey *)&b;

	geom(&c, bk);
	bkey_init_pos(l, 0, 16, 8);
	SET_KEY_PTRS(l, 1);
	SET_PTR(l, 0, 1, 256, 0);
	bkey_init_pos(r, 0, 24, 8);
	SET_KEY_PTRS(r, 1);
	SET_PTR(r, 0, 1, 264, 0);
	cr_assert(bt_extent_try_merge(&c, l, r));
	cr_assert_eq(KEY_SIZE(l), 16);
	cr_assert_eq(KEY_OFFSET(l), 24);
	SET_PTR(r, 0, 1, 300, 0);
	SET_KEY_OFFSET(r, 32);
	cr_assert_not(bt_extent_try_merge(&c, l, r));	/* not contiguous on the cache */
}

/* Keys that cannot be real: stricter than the kernel's validity, which skips unavailable devices. */
Test(bkey, implausible_keys_are_garbage)
{
	struct bt_bucket b[1024] = { 0 };
	struct uuid_entry uuids[4] = { 0 };
	struct cache_set c;
	struct bkey_padded p;
	struct bkey *k = (struct bkey *)&p;

	geom(&c, b);
	c.sb.nr_in_set = 1;
	bkey_init_pos(k, 2, 136, 8);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 0, 2 * 128 + 8, 0);
	cr_assert_null(bt_extent_implausible(&c, k));
	/* a device index the set does not have: the kernel skips it (unavailable), it is garbage */
	SET_PTR(k, 0, 0, 2 * 128 + 8, 5);
	cr_assert_not(bt_ptr_invalid(&c, k));
	cr_assert_str_eq(bt_extent_implausible(&c, k), "pointer to a cache device the set does not have");
	SET_PTR(k, 0, 0, 2 * 128 + 8, 1);
	cr_assert_not_null(bt_extent_implausible(&c, k), "nr_in_set 1: only device 0");
	/* a check key (clean, PTR_CHECK_DEV, random offset) is the kernel's own; a dirty one is not */
	SET_PTR(k, 0, 0, 0x7ffffffffffULL, PTR_CHECK_DEV);
	SET_KEY_DIRTY(k, 0);
	cr_assert_null(bt_extent_implausible(&c, k));
	SET_KEY_DIRTY(k, 1);
	cr_assert_str_eq(bt_extent_implausible(&c, k), "pointer to a cache device the set does not have");
	SET_PTR(k, 0, 0, 1024 * 128, 0);
	cr_assert_str_eq(bt_extent_implausible(&c, k), "pointer outside the cache's buckets");
	SET_PTR(k, 0, 0, 64, 0);
	cr_assert_str_eq(bt_extent_implausible(&c, k), "pointer outside the cache's buckets");
	SET_PTR(k, 0, 0, 2 * 128 + 124, 0);
	cr_assert_str_eq(bt_extent_implausible(&c, k), "extent runs past the end of its bucket");
	SET_PTR(k, 0, 0, 2 * 128 + 8, 0);
	SET_KEY_OFFSET(k, 4);
	cr_assert_str_eq(bt_extent_implausible(&c, k), "size larger than its offset");
	SET_KEY_OFFSET(k, (1ULL << 54) + 1);
	cr_assert_str_eq(bt_extent_implausible(&c, k), "sectors past the largest device Linux can have");
	SET_KEY_OFFSET(k, 136);
	SET_KEY_PTRS(k, 0);
	cr_assert_str_eq(bt_extent_implausible(&c, k), "no pointer");
	SET_KEY_PTRS(k, 1);
	/* slots: only once the uuid bucket is read */
	c.uuids = uuids;
	c.nr_uuids = 4;
	cr_assert_null(bt_extent_implausible(&c, k));
	SET_KEY_INODE(k, 4);
	cr_assert_str_eq(bt_extent_implausible(&c, k), "uuid slot past the slots of the uuid bucket");
}
