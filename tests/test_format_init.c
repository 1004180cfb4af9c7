/* test_format_init.c --- format initialises a cache set as the kernel's first
 * registration does.
 *
 * Independent sources: the golden image s02-registered-empty (a cache of the
 * same geometry initialised by a 6.1 kernel, images/MANIFEST.json), the
 * formulas of FORMAT.md 1.8, 4.2, 6.1, 7.1 and 9.1, old jsets of the golden
 * image s03 (the FORMAT.md 1.10 hazard), and bcache-super-show 1.0.8.
 * Whether the real kernel registers such a cache is recorded in
 * tests/kernel/README (not run by make check).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "helpers.h"
#include "libcore/read/btree.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/dev/dev.h"
#include "libcore/base/errcode.h"
#include "libcore/read/mark.h"
#include "libcore/read/node_cache.h"
#include "format/format.h"
#include "libcore/base/ondisk.h"
#include "libcore/read/uuid.h"
#include "libcore/write/write.h"

#define MiB (1024ULL * 1024)
#define S03_SET "bc5b4bf2-3c13-4649-b6c3-f7028c8ee488"

TestSuite(format_init);

struct opened {
	struct bt_dev		dev;
	struct cache_set	c;
	struct bt_node		*root;
};

/* Open path with the readers, strictly, and read the root node. */
static void open_set(const char *path, struct opened *o)
{
	struct printbuf err = PRINTBUF;
	int ret;

	memset(o, 0, sizeof(*o));
	cr_assert_eq(bt_dev_open(path, BT_DEV_FORCE, &o->dev, &err), 0, "%s", printbuf_str(&err));
	ret = bt_cache_set_open(&o->c, &o->dev, BT_OPEN_STRICT, &err);
	cr_assert_eq(ret, 0, "open %s: %d %s", path, ret, printbuf_str(&err));
	ret = bt_btree_node_read(&o->c, (struct bkey *)&o->c.root_key, o->c.root_level, 0,
				 &o->root, &err);
	cr_assert_eq(ret, 0, "root of %s: %s", path, printbuf_str(&err));
	printbuf_exit(&err);
}

static void close_set(struct opened *o)
{
	bt_node_free(o->root);
	bt_cache_set_exit(&o->c);
	bt_dev_close(&o->dev);
}

static char *formatted(uint64_t size, const char *args)
{
	char *dev = t_tmpfile(size), *err = NULL;

	cr_assert_eq(t_run(NULL, &err, "format %s -C '%s'", args, dev), 0, "%s", err);
	free(err);
	return dev;
}

/* The buckets the journal entry, root, uuid and prio chain live in. */
static uint64_t bucket_of(const struct cache_set *c, const struct bkey_padded *k)
{
	return PTR_BUCKET_NR(c, (const struct bkey *)k, 0);
}

/* ---- the set against FORMAT.md's formulas ------------------------------ */

Test(format_init, fresh_set_reads_back)
{
	/* 128 MiB, 128 KiB buckets: 1024 buckets */
	char *path = formatted(128 * MiB, "--bucket 128k --block 4k");
	struct opened o;
	const struct cache_set *c = &o.c;
	const struct jset *j;
	uint64_t used[4];

	open_set(path, &o);
	/* superblock: FORMAT.md 9.1 steps 2 and 9 */
	cr_expect_eq(c->sb.version, 3);
	cr_expect_eq(c->sb.seq, 1);
	cr_expect_eq(CACHE_SYNC(c->sb.flags), 1);
	cr_expect_eq(c->sb.keys, 8, "clamp(1024 >> 7, 2, 256) = 8, got %u", c->sb.keys);
	for (unsigned i = 0; i < 8; i++)
		cr_expect_eq(c->sb.d[i], 1 + i);
	/* journal: one meta entry, seq 1, last_seq 1, in d[1] like the kernel's */
	cr_assert_eq(c->journal.nr, 1);
	cr_expect_eq(c->journal.nr_all, 1);
	cr_expect_eq(c->journal.nr_damage, 0);
	j = c->journal.entries[0].j;
	cr_expect_eq(le64toh(j->seq), 1);
	cr_expect_eq(le64toh(j->last_seq), 1);
	cr_expect_eq(le32toh(j->version), 1);
	cr_expect_eq(le32toh(j->keys), 0);
	cr_expect_eq(c->journal.entries[0].bucket_idx, 1);
	/* root: an empty leaf at MAX_KEY, node = whole 256-sector bucket (FORMAT.md 4.2) */
	cr_expect_eq(c->root_level, 0);
	cr_expect_eq(KEY_INODE((struct bkey *)&c->root_key), MAX_KEY_INODE);
	cr_expect_eq(KEY_OFFSET((struct bkey *)&c->root_key), MAX_KEY_OFFSET);
	cr_expect_eq(KEY_SIZE((struct bkey *)&c->root_key), 256);
	cr_expect_eq(KEY_PTRS((struct bkey *)&c->root_key), 1);
	cr_expect_eq(KEY_DIRTY((struct bkey *)&c->root_key), 0);
	cr_expect_eq(o.root->nsets, 1);
	cr_expect_eq(o.root->nr_keys, 0);
	cr_expect_neq(o.root->seq, 0);
	/* uuid bucket: position 0:0, meta bucket sectors, every slot empty (FORMAT.md 7.1) */
	cr_expect_eq(KEY_OFFSET((struct bkey *)&c->uuid_key), 0);
	cr_expect_eq(KEY_SIZE((struct bkey *)&c->uuid_key), 256);
	cr_expect_eq(c->nr_uuids, 128 * 1024 / 128);
	for (unsigned i = 0; i < c->nr_uuids; i++)
		cr_assert_eq(bt_uuid_slot_state(&c->uuids[i]), BT_UUID_EMPTY, "slot %u", i);
	/* prio chain: ceil(1024 / ((131072 - 40) / 3)) = 1 bucket */
	cr_expect_eq(c->prio_buckets, 1);
	/* distinct buckets, none in the journal or below first_bucket */
	used[0] = c->prio_start;
	used[1] = bucket_of(c, &c->uuid_key);
	used[2] = bucket_of(c, &c->root_key);
	used[3] = c->sb.d[c->journal.entries[0].bucket_idx];
	for (unsigned i = 0; i < 3; i++) {
		cr_expect_geq(used[i], 1 + 8, "metadata bucket %llu in the journal",
			      (unsigned long long)used[i]);
		cr_expect_lt(used[i], c->nbuckets);
		for (unsigned k = i + 1; k < 3; k++)
			cr_expect_neq(used[i], used[k]);
	}
	cr_expect_eq(used[3], 2);
	/* the pointers carry the gens of the prio chain: nothing is stale or ahead */
	cr_expect_eq(PTR_GEN((struct bkey *)&c->root_key, 0), c->buckets[used[2]].gen);
	cr_expect_eq(PTR_GEN((struct bkey *)&c->uuid_key, 0), c->buckets[used[1]].gen);
	cr_expect_eq(c->buckets[used[2]].prio, BTREE_PRIO);
	cr_expect_eq(c->buckets[used[1]].prio, BTREE_PRIO);
	close_set(&o);
	free(path);
}

/* ---- the set against the kernel's own first registration (s02) ---------- */

GOLDEN_TEST(format_init, same_shape_as_the_kernels_first_registration)
{
	/* s02: make-bcache -C --bucket 128k --block 4k on 128 MiB, registered once by 6.1 */
	char *kpath = t_golden_image("s02-registered-empty", "cache");
	char *path = formatted(128 * MiB, "--bucket 128k --block 4k");
	struct opened k, o;
	const struct jset *kj, *oj;

	open_set(kpath, &k);
	open_set(path, &o);
	cr_expect_eq(o.c.sb.version, k.c.sb.version);
	cr_expect_eq(o.c.sb.seq, k.c.sb.seq);
	cr_expect_eq(o.c.sb.flags, k.c.sb.flags);
	cr_expect_eq(o.c.sb.keys, k.c.sb.keys);
	cr_expect_arr_eq(o.c.sb.d, k.c.sb.d, sizeof(o.c.sb.d));
	cr_expect_eq(o.c.sb.nbuckets, k.c.sb.nbuckets);
	cr_expect_eq(o.c.sb.first_bucket, k.c.sb.first_bucket);

	cr_assert_eq(o.c.journal.nr, k.c.journal.nr);
	kj = k.c.journal.entries[0].j;
	oj = o.c.journal.entries[0].j;
	cr_expect_eq(o.c.journal.entries[0].bucket_idx, k.c.journal.entries[0].bucket_idx);
	cr_expect_eq(oj->seq, kj->seq);
	cr_expect_eq(oj->last_seq, kj->last_seq);
	cr_expect_eq(oj->version, kj->version);
	cr_expect_eq(oj->keys, kj->keys);
	cr_expect_eq(oj->btree_level, kj->btree_level);

	/* root and uuid keys: same header words (position, size, ptrs, flags) */
	cr_expect_eq(o.c.root_key.w[0], k.c.root_key.w[0], "root high %#llx vs kernel %#llx",
		     (unsigned long long)le64toh(o.c.root_key.w[0]),
		     (unsigned long long)le64toh(k.c.root_key.w[0]));
	cr_expect_eq(o.c.root_key.w[1], k.c.root_key.w[1]);
	cr_expect_eq(o.c.uuid_key.w[0], k.c.uuid_key.w[0], "uuid high %#llx vs kernel %#llx",
		     (unsigned long long)le64toh(o.c.uuid_key.w[0]),
		     (unsigned long long)le64toh(k.c.uuid_key.w[0]));
	cr_expect_eq(o.c.uuid_key.w[1], k.c.uuid_key.w[1]);
	cr_expect_eq(PTR_GEN((struct bkey *)&o.c.root_key, 0),
		     PTR_GEN((struct bkey *)&k.c.root_key, 0));

	cr_expect_eq(o.c.prio_buckets, k.c.prio_buckets);
	cr_expect_eq(o.root->nsets, k.root->nsets);
	cr_expect_eq(o.root->nr_keys, k.root->nr_keys);
	cr_expect_eq(o.root->written, k.root->written, "root blocks written %u vs kernel %u",
		     o.root->written, k.root->written);
	cr_expect_eq(o.root->btree_blocks, k.root->btree_blocks);
	close_set(&k);
	close_set(&o);
	free(kpath);
	free(path);
}

/* ---- the FORMAT.md 1.10 hazard: old journal entries of the same set ----- */

GOLDEN_TEST(format_init, old_journal_of_the_same_set_is_zeroed)
{
	/* s03 holds jsets up to seq 23 of set S03_SET in journal buckets 1..8 */
	char *path = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	char *err = NULL;
	struct opened o;

	open_set(path, &o);
	cr_assert_geq(o.c.journal.newest_seq, 10);
	close_set(&o);

	cr_assert_eq(t_run(NULL, &err, "format --wipe-bcache --bucket 64k --block 4k "
			   "--cset-uuid " S03_SET " -C '%s'", path), 0, "%s", err);
	free(err);
	open_set(path, &o);
	/* same geometry, so the same journal buckets: only the new jset is left */
	cr_expect_eq(o.c.sb.keys, 8);
	cr_expect_eq(o.c.journal.nr_all, 1, "%zu jsets found", o.c.journal.nr_all);
	cr_expect_eq(o.c.journal.newest_seq, 1);
	cr_expect_eq(o.root->nr_keys, 0);
	close_set(&o);
	free(path);
}

/* ---- --sb-only: make-bcache's format, nothing past the superblock ------- */

Test(format_init, sb_only_writes_only_the_superblock)
{
	char *path = t_tmpfile(128 * MiB), *err = NULL, *out = NULL;
	struct bt_dev dev;
	struct cache_set c;
	struct printbuf pb = PRINTBUF;
	uint8_t *buf = malloc(MiB);
	FILE *f = fopen(path, "r+b");

	/* a recognisable pattern after the superblock, over the first journal buckets */
	cr_assert(f && buf);
	memset(buf, 0xa5, MiB);
	cr_assert_eq(fseek(f, 8192, SEEK_SET), 0);
	cr_assert_eq(fwrite(buf, 1, MiB, f), MiB);
	fclose(f);

	cr_assert_eq(t_run(&out, &err, "format --sb-only --bucket 128k -C '%s'", path), 0, "%s", err);
	cr_expect_null(strstr(out, "initialised"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(t_sh(&out, NULL, "bcache-super-show '%s'", path), 0);
	cr_expect(strstr(out, "sb.version\t\t0 [cache device]"), "%s", out);
	free(out);

	cr_assert_eq(bt_dev_open(path, BT_DEV_FORCE, &dev, &pb), 0);
	cr_expect_eq(bt_cache_set_open(&c, &dev, 0, &pb), -BT_ERR_NO_CACHE_SET, "%s",
		     printbuf_str(&pb));
	cr_expect_eq(c.sb.keys, 0);
	bt_cache_set_exit(&c);
	memset(buf, 0, MiB);
	cr_assert_eq(bt_dev_read(&dev, buf, MiB - 4096, 12288, "pattern", &pb), 0);
	for (size_t i = 0; i < MiB - 4096; i++)
		cr_assert_eq(buf[i], 0xa5, "byte %zu after the superblock changed", 12288 + i);
	bt_dev_close(&dev);
	printbuf_exit(&pb);
	free(buf);
	free(path);
}

/* ---- what the tools print about the new set ----------------------------- */

Test(format_init, dumps_of_the_new_set)
{
	char *path = formatted(128 * MiB, "--bucket 128k"), *out = NULL, *err = NULL;

	cr_assert_eq(t_run(&out, &err, "dump-journal '%s'", path), 0, "%s", err);
	cr_expect(strstr(out, "journal: 1 entries in replay range 1-1, 0 keys"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(t_run(&out, &err, "dump-btree '%s'", path), 0, "%s", err);
	cr_expect(strstr(out, "nodes 1 tree_depth 0 keys 0 errors 0"), "%s", out);
	free(out);
	free(err);
	/* fsck (its own passes, mark included) finds nothing to report */
	cr_assert_eq(t_run(&out, &err, "fsck -n '%s'", path), 0, "%s%s", out, err);
	cr_expect(strstr(out, ": clean"), "%s", out);
	free(out);
	free(err);
	/* bcache-super-show 1.0.8 accepts the synced superblock */
	cr_assert_eq(t_sh(&out, NULL, "bcache-super-show '%s'", path), 0);
	cr_expect(strstr(out, "sb.version\t\t3 [cache device]"), "%s", out);
	cr_expect(strstr(out, "sb.csum") && strstr(out, "[match]"), "%s", out);
	free(out);
	free(path);
}

/* ---- the initial gc mark pass over the new set ------------------------- */

Test(format_init, marks_of_the_new_set)
{
	char *path = formatted(128 * MiB, "--bucket 128k");
	struct opened o;
	struct cache_set *c = &o.c;
	struct bt_node_cache *nc;
	struct printbuf err = PRINTBUF;
	unsigned meta = 0;

	open_set(path, &o);
	nc = bt_node_cache_new(c, 1 << 20, 0);
	cr_assert(nc);
	/* the kernel's bch_btree_check() + gc finish, conflicts counted */
	bt_mark_reset(c);
	cr_expect_eq(bt_mark_key(c, (struct bkey *)&c->root_key, c->root_level + 1), 0);
	cr_expect_eq(bt_mark_journal(c), 0);
	cr_expect_eq(bt_mark_finish(c), 0);
	/* METADATA: 8 journal buckets, 1 prio bucket, the uuid bucket, the root; nothing else */
	for (uint64_t b = 0; b < c->nbuckets; b++) {
		bool want = (b >= 1 && b <= 8) || b == c->prio_start ||
			    b == PTR_BUCKET_NR(c, (struct bkey *)&c->uuid_key, 0) ||
			    b == PTR_BUCKET_NR(c, (struct bkey *)&c->root_key, 0);

		meta += c->buckets[b].mark == GC_MARK_METADATA;
		cr_assert_eq(c->buckets[b].mark, want ? GC_MARK_METADATA : GC_MARK_NONE,
			     "bucket %llu mark %u", (unsigned long long)b, c->buckets[b].mark);
		/* nothing stale, no gen raised by a pointer ahead of the prio chain */
		cr_assert_eq(c->buckets[b].gen, c->buckets[b].disk_gen, "bucket %llu",
			     (unsigned long long)b);
	}
	cr_expect_eq(meta, 11);
	/* and write.h's own pass agrees */
	cr_expect_eq(bt_mark_buckets(c, nc, &err), 0, "%s", printbuf_str(&err));
	bt_node_cache_free(nc);
	printbuf_exit(&err);
	close_set(&o);
	free(path);
}

/* ---- crash safety: the synced superblock is the last write -------------- */

Test(format_init, interrupted_init_leaves_an_unsynced_cache, .timeout = 120)
{
	const uint64_t size = 128 * MiB;
	uint8_t *buf = calloc(1, size), block[SB_SIZE];
	struct bt_format_opts fo;
	struct bt_format_layout l;
	struct cache_sb mb, sb;
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	unsigned long writes;
	int ret;

	cr_assert(buf);
	bt_format_opts_init(&fo);
	fo.bucket_size = 256;
	uuid_generate(fo.set_uuid);
	{
		uint8_t uuid[16];

		uuid_generate(uuid);
		bt_format_build_sb(&fo, true, 8, size >> 9, uuid, &mb);
	}
	cr_assert_eq(bt_format_init_plan(&mb, &sb, &l, &err), 0, "%s", printbuf_str(&err));

	/* a full run: how many writes it takes */
	bt_dev_open_mem(&dev, "mem.img", buf, size, false);
	memset(block, 0, sizeof(block));
	cr_assert_eq(bt_sb_write(&dev, block, &mb, &err), 0);
	dev.nr_writes = 0;
	memset(block, 0, sizeof(block));
	cr_assert_eq(bt_format_init_write(&dev, &sb, &l, block, &err), 0, "%s", printbuf_str(&err));
	writes = dev.nr_writes;
	cr_assert_geq(writes, 5);
	cr_assert_eq(bt_format_init_verify(&dev, &l, &err), 0, "%s", printbuf_str(&err));
	bt_dev_close(&dev);

	/* stopped after every possible write: never a half-made synced set */
	for (unsigned long limit = 0; limit < writes; limit++) {
		struct cache_set c;

		memset(buf, 0, size);
		bt_dev_open_mem(&dev, "mem.img", buf, size, false);
		memset(block, 0, sizeof(block));
		cr_assert_eq(bt_sb_write(&dev, block, &mb, &err), 0);
		dev.nr_writes = 0;
		dev.write_limit = (long)limit;
		memset(block, 0, sizeof(block));
		ret = bt_format_init_write(&dev, &sb, &l, block, &err);
		cr_assert_eq(ret, -BT_ERR_WRITE_LIMIT, "limit %lu: %d", limit, ret);
		printbuf_reset(&err);
		dev.write_limit = -1;
		ret = bt_cache_set_open(&c, &dev, 0, &err);
		cr_assert_eq(ret, -BT_ERR_NO_CACHE_SET, "limit %lu: %d %s", limit, ret,
			     printbuf_str(&err));
		printbuf_reset(&err);
		bt_cache_set_exit(&c);
		bt_dev_close(&dev);
	}
	printbuf_exit(&err);
	free(buf);
}
