/* test_btree.c --- node read and the kernel's bset merge on synthetic nodes.
 *
 * Each expected result follows from the kernel's rules as FORMAT.md §4.4,
 * §4.6 and errata E1/E4/E5 state them, not from our own output.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/read/btree.h"
#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/read/node_cache.h"

#define BUCKET_SECTORS	128
#define NBUCKETS	64
#define NODE_BUCKET	10
#define SEQ		0x1122334455667788ULL

static struct bt_bucket gens[NBUCKETS];

/* 64 buckets of 64 KiB, 4 KiB blocks, first bucket 1. */
static void geom(struct cache_set *c, struct bt_dev *dev)
{
	memset(c, 0, sizeof(*c));
	memset(gens, 0, sizeof(gens));
	c->dev = dev;
	c->bucket_size = BUCKET_SECTORS;
	c->bucket_bits = 7;
	c->block_size = 8;
	c->block_bits = 3;
	c->nbuckets = NBUCKETS;
	c->first_bucket = 1;
	c->bset_magic = 0x7fdef7f1dedb24f4ULL;
	c->buckets = gens;
}

/* A node key at bucket b: position inode:offset, whole-bucket size, gen 0. */
static void node_key(struct bkey *k, uint64_t b, uint64_t inode, uint64_t offset)
{
	bkey_init_pos(k, inode, offset, BUCKET_SECTORS);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 0, b * BUCKET_SECTORS, 0);
}

/* An extent [start, start + size) of inode 0 at cache sector ptr (bucket 2..). */
static uint64_t *ext(uint64_t *p, uint64_t start, uint64_t size, uint64_t ptr)
{
	struct bkey *k = (struct bkey *)p;

	bkey_init_pos(k, 0, start + size, size);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 0, ptr, 0);
	return p + 3;
}

/* Write a version-1 bset with the given keys at block `block` of buf; returns blocks used. */
static unsigned put_bset(const struct cache_set *c, void *buf, const struct bkey *nk,
			 unsigned block, uint64_t seq, const uint64_t *keys, unsigned u64s)
{
	struct bset *i = (struct bset *)((char *)buf + block * 4096);

	i->magic = htole64(c->bset_magic);
	i->seq = htole64(seq);
	i->version = htole32(1);
	i->keys = htole32(u64s);
	memcpy(i->d, keys, u64s * 8);
	i->csum = htole64(bch_crc64_seeded(bk_ptr(nk, 0), (char *)i + 8, 24 + 8 * u64s));
	return (32 + 8 * u64s + 4095) / 4096;
}

struct fixture {
	struct cache_set c;
	struct bt_dev dev;
	unsigned char *img;		/* the whole device: NBUCKETS buckets */
	uint64_t nk[9];
	void *node;			/* the node's bytes inside img */
	unsigned block;			/* next free block */
	struct printbuf err;
};

static void fx_init(struct fixture *f, unsigned level)
{
	memset(f, 0, sizeof(*f));
	f->img = calloc(NBUCKETS, BUCKET_SECTORS * 512);
	bt_dev_open_mem(&f->dev, "mem.img", f->img, (uint64_t)NBUCKETS * BUCKET_SECTORS * 512, true);
	geom(&f->c, &f->dev);
	node_key((struct bkey *)f->nk, NODE_BUCKET, level ? 0xfffff : 0xfffff, MAX_KEY_OFFSET);
	f->node = f->img + (size_t)NODE_BUCKET * BUCKET_SECTORS * 512;
}

static void fx_bset(struct fixture *f, const uint64_t *keys, uint64_t *end)
{
	f->block += put_bset(&f->c, f->node, (struct bkey *)f->nk, f->block, SEQ, keys,
			     (unsigned)(end - keys));
}

/* A bset of seq at block `block` of the node, outside the fixture's sequence of sets. */
static void fx_bset_at(struct fixture *f, unsigned block, uint64_t seq, const uint64_t *keys,
		       uint64_t *end)
{
	put_bset(&f->c, f->node, (struct bkey *)f->nk, block, seq, keys, (unsigned)(end - keys));
}

/*
 * A leaf of two bsets of one extent each: the older [start1, start1 + size1)
 * at cache sector ptr1, the newer [start2, start2 + size2) at ptr2.
 */
static void fx_two_extents(struct fixture *f, uint64_t start1, uint64_t size1, uint64_t ptr1,
			   uint64_t start2, uint64_t size2, uint64_t ptr2)
{
	uint64_t a[3], b[3];

	fx_bset(f, a, ext(a, start1, size1, ptr1));
	fx_bset(f, b, ext(b, start2, size2, ptr2));
}

static struct bt_node *fx_read(struct fixture *f, unsigned level, int expect)
{
	struct bt_node *n = NULL;
	int ret = bt_btree_node_read(&f->c, (struct bkey *)f->nk, level, 0, &n, &f->err);

	cr_assert_eq(ret, expect, "ret %d (%s), expected %d: %s", ret, bt_err_str(ret), expect,
		     printbuf_str(&f->err));
	return n;
}

/* The i-th merged key of n. */
static const struct bkey *nth(const struct bt_node *n, size_t i)
{
	const struct bkey *k;

	for_each_node_key(n, k)
		if (!i--)
			return k;
	cr_assert_fail("node has no key %zu", i);
	return NULL;
}

static void assert_ext(const struct bkey *k, uint64_t start, uint64_t size, uint64_t ptr)
{
	cr_assert_eq(KEY_START(k), start, "start %llu, want %llu", (unsigned long long)KEY_START(k),
		     (unsigned long long)start);
	cr_assert_eq(KEY_SIZE(k), size, "size %llu, want %llu", (unsigned long long)KEY_SIZE(k),
		     (unsigned long long)size);
	cr_assert_eq(PTR_OFFSET(k, 0), ptr, "ptr %llu, want %llu",
		     (unsigned long long)PTR_OFFSET(k, 0), (unsigned long long)ptr);
}

/* The message starts with the kernel's text followed by our location. */
static void assert_prefix(const struct printbuf *err, const char *want)
{
	cr_assert(!strncmp(printbuf_str(err), want, strlen(want)), "got '%s', want '%s...'",
		  printbuf_str(err), want);
}

static void fx_exit(struct fixture *f, struct bt_node *n)
{
	bt_node_free(n);
	printbuf_exit(&f->err);
	bt_dev_close(&f->dev);
	free(f->img);
}

/* A leaf of one bset holding the extent [0, 8) at cache sector 1024. */
static void fx_one_extent(struct fixture *f)
{
	uint64_t a[3];

	fx_init(f, 0);
	fx_bset(f, a, ext(a, 0, 8, 1024));
}

/* Reading the leaf fails with code and a message starting with msg; frees the fixture. */
static void fx_refused(struct fixture *f, int code, const char *msg)
{
	fx_read(f, 0, code);
	assert_prefix(&f->err, msg);
	fx_exit(f, NULL);
}

/* ---- merge rules ---------------------------------------------------- */

Test(btree_merge, front_cut_advances_pointer)
{
	struct fixture f;

	fx_init(&f, 0);
	fx_two_extents(&f, 0, 16, 1024, 0, 8, 5000);	/* older: [0,16), newer: [0,8) */
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nsets, 2);
	cr_assert_eq(n->nr_keys, 2);
	assert_ext(nth(n, 0), 0, 8, 5000);
	assert_ext(nth(n, 1), 8, 8, 1032);		/* front cut: pointer advanced by 8 */
	fx_exit(&f, n);
}

Test(btree_merge, back_cut)
{
	struct fixture f;

	fx_init(&f, 0);
	fx_two_extents(&f, 0, 16, 1024, 8, 16, 5000);	/* older: [0,16), newer: [8,24) */
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_keys, 2);
	assert_ext(nth(n, 0), 0, 8, 1024);
	assert_ext(nth(n, 1), 8, 16, 5000);
	fx_exit(&f, n);
}

Test(btree_merge, split)
{
	struct fixture f;

	fx_init(&f, 0);
	fx_two_extents(&f, 0, 32, 1024, 8, 8, 5000);	/* older: [0,32), newer inside: [8,16) */
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_keys, 3);
	assert_ext(nth(n, 0), 0, 8, 1024);
	assert_ext(nth(n, 1), 8, 8, 5000);
	assert_ext(nth(n, 2), 16, 16, 1040);
	fx_exit(&f, n);
}

Test(btree_merge, full_cover)
{
	struct fixture f;
	uint64_t a[6], b[3];

	fx_init(&f, 0);
	fx_bset(&f, a, ext(ext(a, 8, 8, 1024), 24, 8, 1100));	/* older: [8,16) [24,32) */
	fx_bset(&f, b, ext(b, 0, 40, 5000));			/* newer: [0,40) */
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_keys, 1);
	assert_ext(nth(n, 0), 0, 40, 5000);
	fx_exit(&f, n);
}

Test(btree_merge, same_bset_overlap_kept_earlier_first)
{
	struct fixture f;
	uint64_t a[6];

	fx_init(&f, 0);
	/* one bset with [0,16) then [8,24): not fixed at read (errata E1) */
	fx_bset(&f, a, ext(ext(a, 0, 16, 1024), 8, 16, 2000));
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_keys, 2);
	assert_ext(nth(n, 0), 0, 16, 1024);		/* the earlier key comes first: it is served */
	assert_ext(nth(n, 1), 8, 16, 2000);
	fx_exit(&f, n);
}

/* Each bset's first key out of order is kept by the read, in block order. */
Test(btree_merge, bset_order_faults_kept_per_bset)
{
	struct fixture f;
	uint64_t a[6], b[9], c[6];
	const struct bkey *k, *prev;

	fx_init(&f, 0);
	fx_bset(&f, a, ext(ext(a, 0, 16, 1024), 8, 16, 2000));		/* overlap */
	fx_bset(&f, b, ext(ext(ext(b, 100, 8, 3000), 50, 8, 3100), 40, 8, 3200)); /* unsorted */
	fx_bset(&f, c, ext(ext(c, 200, 8, 4000), 208, 8, 4100));	/* in order */
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nsets, 3);
	cr_assert_eq(n->nr_order, 2, "one fault per bad bset, the first one only");
	cr_assert_eq(n->order[0].block, 0);
	cr_assert_eq(n->order[0].fault, BT_BSET_EXTENTS_OVERLAP);
	k = (const struct bkey *)n->order[0].key;
	prev = (const struct bkey *)n->order[0].prev;
	cr_assert_eq(KEY_OFFSET(k), 24);
	cr_assert_eq(KEY_OFFSET(prev), 16);
	cr_assert_eq(n->order[1].block, 1);
	cr_assert_eq(n->order[1].fault, BT_BSET_KEYS_UNSORTED);
	k = (const struct bkey *)n->order[1].key;
	prev = (const struct bkey *)n->order[1].prev;
	cr_assert_eq(KEY_OFFSET(k), 58);
	cr_assert_eq(KEY_OFFSET(prev), 108);
	fx_exit(&f, n);
}

Test(btree_merge, zero_size_keys)
{
	struct fixture f;
	uint64_t a[3], b[6];

	fx_init(&f, 0);
	fx_bset(&f, a, ext(a, 0, 16, 1024));
	/* newer: a zero-size key at 8 (inside) and one at 100 (alone) */
	fx_bset(&f, b, ext(ext(b, 8, 0, 5000), 100, 0, 5100));
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_keys, 1);			/* no cut by the zero-size key */
	assert_ext(nth(n, 0), 0, 16, 1024);
	cr_assert_eq(n->nr_zero_size, 1);		/* the lone one is popped and dropped */
	cr_assert_eq(n->nr_invalid, 0);
	fx_exit(&f, n);
}

Test(btree_merge, check_dev_key_hides_older_then_is_bad)
{
	struct fixture f;
	uint64_t a[3], b[3];

	fx_init(&f, 0);
	fx_bset(&f, a, ext(a, 0, 16, 1024));
	ext(b, 4, 8, 0);
	SET_PTR((struct bkey *)b, 0, 0x5a, 123456, PTR_CHECK_DEV);	/* [4,12) check key */
	fx_bset(&f, b, b + 3);
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_keys, 3);
	assert_ext(nth(n, 0), 0, 4, 1024);
	cr_assert_eq(PTR_DEV(nth(n, 1), 0), PTR_CHECK_DEV);
	cr_assert(bt_extent_bad(&f.c, nth(n, 1), NULL));	/* dropped as bad afterwards */
	assert_ext(nth(n, 2), 12, 4, 1036);
	cr_assert_not(bt_extent_bad(&f.c, nth(n, 0), NULL));
	fx_exit(&f, n);
}

Test(btree_merge, invalid_key_cuts_then_dropped)
{
	struct fixture f;

	fx_init(&f, 0);
	/* the newer one past the device */
	fx_two_extents(&f, 0, 16, 1024, 0, 8, (uint64_t)NBUCKETS * BUCKET_SECTORS + 8);
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_invalid, 1);
	cr_assert_eq(n->nr_keys, 1);
	assert_ext(nth(n, 0), 8, 8, 1032);		/* the invalid key still cut the older one */
	cr_assert_eq(bt_ptr_status(&f.c, (struct bkey *)n->invalid), BT_PTR_PAST_END);
	fx_exit(&f, n);
}

Test(btree_merge, no_pointer_key_punches_hole)
{
	struct fixture f;
	uint64_t a[3], b[2];

	fx_init(&f, 0);
	fx_bset(&f, a, ext(a, 0, 16, 1024));
	bkey_init_pos((struct bkey *)b, 0, 12, 8);	/* [4,12), no pointer */
	fx_bset(&f, b, b + 2);
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_keys, 3);
	assert_ext(nth(n, 0), 0, 4, 1024);
	cr_assert_eq(KEY_PTRS(nth(n, 1)), 0);
	cr_assert(bt_extent_bad(&f.c, nth(n, 1), NULL));
	assert_ext(nth(n, 2), 12, 4, 1036);
	fx_exit(&f, n);
}

Test(btree_merge, adjacent_extents_merged)
{
	struct fixture f;

	fx_init(&f, 0);
	fx_two_extents(&f, 0, 8, 1024, 8, 8, 1032);	/* contiguous on disk and on the cache */
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_keys, 1);
	assert_ext(nth(n, 0), 0, 16, 1024);
	fx_exit(&f, n);
}

Test(btree_merge, interior_equal_keys_later_first)
{
	struct fixture f;
	uint64_t a[3], b[3];

	fx_init(&f, 1);
	node_key((struct bkey *)a, 20, 0, 1024);
	node_key((struct bkey *)b, 21, 0, 1024);	/* same position, newer bset */
	fx_bset(&f, a, a + 3);
	fx_bset(&f, b, b + 3);
	struct bt_node *n = fx_read(&f, 1, 0);
	cr_assert_eq(n->nr_keys, 2);
	cr_assert_eq(PTR_BUCKET_NR(&f.c, nth(n, 0), 0), 21);
	cr_assert_eq(PTR_BUCKET_NR(&f.c, nth(n, 1), 0), 20);
	fx_exit(&f, n);
}

/* ---- damaged nodes -------------------------------------------------- */

Test(btree_damage, bad_checksum)
{
	struct fixture f;

	fx_init(&f, 0);
	fx_two_extents(&f, 0, 16, 1024, 0, 8, 5000);
	((unsigned char *)f.node)[4096 + 40] ^= 1;	/* a key byte of the bset at block 1 */
	fx_refused(&f, -BT_ERR_BSET_BAD_CSUM, "bad checksum at bucket 10, block 1, 3 keys (byte 659456 of 'mem.img')");
}

Test(btree_damage, node_larger_than_bucket)
{
	struct fixture f;

	fx_init(&f, 0);
	SET_KEY_SIZE((struct bkey *)f.nk, BUCKET_SECTORS * 2);
	fx_read(&f, 0, -BT_ERR_BTREE_PTR_BAD_SIZE);
	cr_assert(strstr(printbuf_str(&f.err), "node larger than a bucket in btree node pointer 1048575:9223372036854775551 len 256 -> [0:1280 gen 0] at level 0: 256 sectors, bucket size 128"),
		  "%s", printbuf_str(&f.err));
	fx_exit(&f, NULL);
}

Test(btree_damage, node_past_device_end)
{
	struct fixture f;

	fx_init(&f, 0);
	f.dev.size = (uint64_t)NODE_BUCKET * BUCKET_SECTORS * 512 + 4096;	/* truncated device */
	fx_read(&f, 0, -BT_ERR_BTREE_PTR_PAST_DEVICE);
	cr_assert(strstr(printbuf_str(&f.err), ": ends at byte 720896, 'mem.img' has 659456 bytes"),
		  "%s", printbuf_str(&f.err));
	fx_exit(&f, NULL);
}

Test(btree_damage, pointer_beyond_device)
{
	struct fixture f;

	fx_init(&f, 0);
	SET_PTR((struct bkey *)f.nk, 0, 0, (uint64_t)NBUCKETS * BUCKET_SECTORS, 0);
	fx_read(&f, 0, -BT_ERR_BTREE_PTR_BAD_BUCKET);
	cr_assert(strstr(printbuf_str(&f.err), ": bucket 64 not in [1, 64) of 'mem.img'"),
		  "%s", printbuf_str(&f.err));
	fx_exit(&f, NULL);
}

Test(btree_damage, later_bset_other_seq_ends_node)
{
	struct fixture f;
	uint64_t a[3], b[3];

	fx_init(&f, 0);
	fx_bset(&f, a, ext(a, 0, 16, 1024));
	/* stale data of an older node at block 1: not part of this node */
	fx_bset_at(&f, 1, SEQ + 1, b, ext(b, 0, 8, 5000));
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nsets, 1);
	cr_assert_eq(n->nr_keys, 1);
	assert_ext(nth(n, 0), 0, 16, 1024);
	fx_exit(&f, n);
}

Test(btree_damage, block_with_node_seq_after_end_is_corrupted)
{
	struct fixture f;
	uint64_t a[3], b[3], c3[3];

	fx_init(&f, 0);
	fx_bset(&f, a, ext(a, 0, 16, 1024));
	fx_bset_at(&f, 1, SEQ + 1, b, ext(b, 0, 8, 5000));
	fx_bset_at(&f, 2, SEQ, c3, ext(c3, 0, 8, 6000));
	fx_refused(&f, -BT_ERR_BTREE_NODE_CORRUPTED, "corrupted btree at bucket 10, block 2, 3 keys (byte 663552 of 'mem.img')");
}

Test(btree_damage, first_seq_zero)
{
	struct fixture f;
	uint64_t a[3];

	fx_init(&f, 0);
	fx_bset_at(&f, 0, 0, a, ext(a, 0, 8, 1024));
	fx_refused(&f, -BT_ERR_BTREE_NODE_SEQ_ZERO, "bad btree header at bucket 10, block 0, 3 keys");
}

Test(btree_damage, empty_later_set)
{
	struct fixture f;
	uint64_t none[1];

	fx_one_extent(&f);
	fx_bset(&f, none, none);
	fx_refused(&f, -BT_ERR_BSET_EMPTY, "empty set at bucket 10, block 1, 0 keys");
}

static int loop_err(const struct bkey *k, unsigned level, int err, const char *msg, void *arg)
{
	(void)k;
	(void)level;
	*(int *)arg = err;
	cr_assert(strstr(msg, "btree loop: key 0:0 len 128 -> [0:1280 gen 0] in the node at bucket 10 (depth 0) points to bucket 10, the node itself"),
		  "%s", msg);
	return 0;
}

/* An interior node whose one child key at 0:128 (not the zero key) points to the node itself. */
static void fx_self_loop(struct fixture *f)
{
	uint64_t a[3];

	fx_init(f, 1);
	bkey_init_pos((struct bkey *)a, 0, 128, 128);
	SET_KEY_PTRS((struct bkey *)a, 1);
	SET_PTR((struct bkey *)a, 0, 0, NODE_BUCKET * BUCKET_SECTORS, 0);
	fx_bset(f, a, a + 3);
}

Test(btree_walk, node_pointing_to_itself)
{
	struct fixture f;
	int seen_err = 0;
	struct bt_walk_opts o = { .error_fn = loop_err, .arg = &seen_err };

	fx_self_loop(&f);
	struct bt_node_cache *nc = bt_node_cache_new(&f.c, 1 << 20, 0);
	int ret = bt_btree_walk(nc, (struct bkey *)f.nk, 1, &o, &f.err);
	cr_assert_eq(ret, 0, "%s", printbuf_str(&f.err));
	cr_assert_eq(seen_err, -BT_ERR_BTREE_LOOP);
	bt_node_cache_free(nc);
	fx_exit(&f, NULL);
}

Test(btree_walk, node_pointing_to_itself_stops_without_handler)
{
	struct fixture f;
	struct bt_walk_opts o = { 0 };

	fx_self_loop(&f);
	struct bt_node_cache *nc = bt_node_cache_new(&f.c, 1 << 20, 0);
	cr_assert_eq(bt_btree_walk(nc, (struct bkey *)f.nk, 1, &o, &f.err), -BT_ERR_BTREE_LOOP);
	cr_assert(strstr(printbuf_str(&f.err), "points to bucket 10, the node itself"));
	bt_node_cache_free(nc);
	fx_exit(&f, NULL);
}

/* ---- bset header checks (bset.c) ------------------------------------ */

Test(bset, unsupported_version)
{
	struct fixture f;

	fx_one_extent(&f);
	((struct bset *)f.node)->version = htole32(2);
	fx_refused(&f, -BT_ERR_BSET_BAD_VERSION, "unsupported bset version at bucket 10, block 0, 3 keys (byte 655360 of 'mem.img'): version 2");
}

Test(bset, bad_magic)
{
	struct fixture f;

	fx_one_extent(&f);
	f.c.bset_magic ^= 1;
	fx_refused(&f, -BT_ERR_BSET_BAD_MAGIC, "bad magic at bucket 10, block 0, 3 keys");
}

Test(bset, set_past_node_end)
{
	struct fixture f;

	fx_one_extent(&f);
	/* 16 blocks of keys in a 16-block node: header + keys pass the end */
	((struct bset *)f.node)->keys = htole32(16 * 512);
	fx_refused(&f, -BT_ERR_BSET_TOO_BIG, "bad btree header at bucket 10, block 0, 8192 keys");
}

Test(bset, version0_plain_checksum_accepted)
{
	struct fixture f;
	struct bset *i;

	fx_one_extent(&f);
	i = (struct bset *)f.node;
	i->version = 0;
	i->csum = htole64(bch_crc64((char *)i + 8, 24 + 24));
	struct bt_node *n = fx_read(&f, 0, 0);
	cr_assert_eq(n->nr_keys, 1);
	fx_exit(&f, n);
}

Test(bset, key_overrunning_set)
{
	struct fixture f;
	uint64_t a[3];

	fx_init(&f, 0);
	ext(a, 0, 8, 1024);
	SET_KEY_PTRS((struct bkey *)a, 3);		/* claims 5 words, the set has 3 */
	fx_bset(&f, a, a + 3);
	fx_refused(&f, -BT_ERR_BSET_KEY_OVERRUN, "key overruns bset at bucket 10, block 0, 3 keys");
}

/* A level-1 root at bucket 10 with leaves at buckets 20 and 21. */
static void two_leaf_tree(struct fixture *f, uint64_t second_bucket)
{
	uint64_t r[6], l1[3], l2[3];
	unsigned char *b20 = f->img + 20 * BUCKET_SECTORS * 512;
	unsigned char *b2x = f->img + second_bucket * BUCKET_SECTORS * 512;

	node_key((struct bkey *)r, 20, 0, 1000);
	node_key((struct bkey *)(r + 3), second_bucket, 0xfffff, MAX_KEY_OFFSET);
	fx_bset(f, r, r + 6);
	put_bset(&f->c, b20, (struct bkey *)r, 0, SEQ + 20, l1, (unsigned)(ext(l1, 0, 8, 3 * 128) - l1));
	if (second_bucket != 20)
		put_bset(&f->c, b2x, (struct bkey *)(r + 3), 0, SEQ + 21, l2,
			 (unsigned)(ext(l2, 2000, 8, 4 * 128) - l2));
}

struct visit_log {
	char	text[512];
	int	errs[4];
	unsigned nerr;
};

static int visit(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct visit_log *v = arg;
	size_t len = strlen(v->text);

	snprintf(v->text + len, sizeof(v->text) - len, "L%u b%llu d%u (%llu:%llu];",
		 n->level, (unsigned long long)n->bucket, pos->depth,
		 (unsigned long long)pos->start_inode, (unsigned long long)pos->start_offset);
	return 0;
}

static int visit_err(const struct bkey *k, unsigned level, int err, const char *msg, void *arg)
{
	struct visit_log *v = arg;

	(void)k;
	(void)level;
	(void)msg;
	if (v->nerr < 4)
		v->errs[v->nerr++] = err;
	return 0;
}

Test(btree_walk, top_down_in_key_order_with_ranges)
{
	struct fixture f;
	struct visit_log v = { 0 };
	struct bt_walk_opts o = { visit, visit_err, &v, 0, 0 };

	fx_init(&f, 1);
	two_leaf_tree(&f, 21);
	struct bt_node_cache *nc = bt_node_cache_new(&f.c, 0, 0);	/* keeps nothing unpinned */
	cr_assert_eq(bt_btree_walk(nc, (struct bkey *)f.nk, 1, &o, &f.err), 0, "%s", printbuf_str(&f.err));
	cr_assert_str_eq(v.text, "L1 b10 d0 (0:0];L0 b20 d1 (0:0];L0 b21 d1 (0:1000];");
	cr_assert_eq(v.nerr, 0);
	struct bt_node_cache_stats st;
	bt_node_cache_stats(nc, &st);
	cr_assert_eq(st.misses, 3);
	cr_assert_eq(st.nr_nodes, 0);		/* all reclaimed once unpinned */
	cr_assert_eq(st.reclaimed, 3);
	bt_node_cache_free(nc);
	fx_exit(&f, NULL);
}

Test(btree_walk, node_referenced_twice)
{
	struct fixture f;
	struct visit_log v = { 0 };
	struct bt_walk_opts o = { visit, visit_err, &v, 0, 0 };

	fx_init(&f, 1);
	two_leaf_tree(&f, 20);				/* both keys point to bucket 20 */
	struct bt_node_cache *nc = bt_node_cache_new(&f.c, 1 << 20, 0);
	cr_assert_eq(bt_btree_walk(nc, (struct bkey *)f.nk, 1, &o, &f.err), 0);
	cr_assert_eq(v.nerr, 1);
	cr_assert_eq(v.errs[0], -BT_ERR_BTREE_TOPOLOGY);
	cr_assert_str_eq(v.text, "L1 b10 d0 (0:0];L0 b20 d1 (0:0];");
	bt_node_cache_free(nc);
	fx_exit(&f, NULL);
}

Test(btree_walk, root_level_too_deep)
{
	struct fixture f;
	struct bt_walk_opts o = { 0 };

	fx_init(&f, 1);
	struct bt_node_cache *nc = bt_node_cache_new(&f.c, 1 << 20, 0);
	cr_assert_eq(bt_btree_walk(nc, (struct bkey *)f.nk, BT_BTREE_MAX_DEPTH + 1, &o, &f.err),
		     -BT_ERR_BTREE_TOO_DEEP);
	cr_assert(strstr(printbuf_str(&f.err), "btree too deep: node at bucket 10"), "%s",
		  printbuf_str(&f.err));
	bt_node_cache_free(nc);
	fx_exit(&f, NULL);
}
