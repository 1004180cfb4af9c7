/* test_migrate.c --- bcache-tool migrate: the golden kernel-written caches
 * copied to devices of another size and bucket size. Every DST must pass
 * fsck -n, serve through extract (with the original backing device) what
 * the kernel served (images/MANIFEST.json expected_logical_sha256), keep
 * the set uuid, and leave SRC and the backing device byte-identical
 * (the manifest's raw sha256). The amount of clean data is checked against
 * the kernel's own key dump (keys-post.txt.zst); synthetic caches against
 * gen-cache's own model. Refusals must leave DST untouched.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"
#include "recovery/migrate.h"
#include "libcore/read/node_cache.h"
#include "libcore/write/write.h"

TestSuite(migrate, .timeout = 180);

/* A golden case, its manifest entry and decompressed images. */
struct golden {
	const char	*name;
	json_t		*m;
	char		*cache, *bdev;
};

static void golden_open(struct golden *g, const char *name, bool backing)
{
	g->name = name;
	g->m = t_manifest_case(name);
	g->cache = t_golden_image(name, "cache");
	g->bdev = backing ? t_golden_image(name, "backing") : NULL;
}

static void golden_close(struct golden *g)
{
	json_decref(g->m);
	free(g->cache);
	free(g->bdev);
}

/* SRC and the backing device are as the kernel left them. */
static void assert_sources_untouched(const struct golden *g)
{
	char sum[65];

	t_sha256_file(g->cache, sum);
	cr_assert_str_eq(sum, t_manifest_str(g->m, "cache_image", "raw_sha256"), "%s: SRC changed", g->name);
	if (g->bdev) {
		t_sha256_file(g->bdev, sum);
		cr_assert_str_eq(sum, t_manifest_str(g->m, "backing_image", "raw_sha256"),
				 "%s: backing device changed", g->name);
	}
}

/* DST serves what the kernel served for SRC. */
static void assert_content(const struct golden *g, const char *dst)
{
	char *out = t_tmpfile(0), *err = NULL, sum[65];
	int rc = t_run(NULL, &err, "extract '%s' %s%s%s -o '%s'", dst, g->bdev ? "'" : "",
		       g->bdev ? g->bdev : "", g->bdev ? "'" : "", out);

	cr_assert_eq(rc, 0, "%s: extract of DST: rc %d: %s", g->name, rc, err);
	t_sha256_file(out, sum);
	cr_assert_str_eq(sum, t_manifest_str(g->m, "expected_logical_sha256", "bcache0"),
			 "%s: DST serves other content than the kernel served", g->name);
	free(err);
	free(out);
}

static void assert_fsck_clean(const char *dst)
{
	char *out = NULL, *err = NULL;
	int rc = t_run(&out, &err, "fsck -n '%s'", dst);

	cr_assert_eq(rc, 0, "fsck -n of DST: rc %d\n%s%s", rc, out, err);
	free(out);
	free(err);
}

/* show-super of DST names the manifest's cache set uuid. */
static void assert_set_uuid(const struct golden *g, const char *dst)
{
	char *out = NULL, line[128];

	cr_assert_eq(t_run(&out, NULL, "show-super '%s'", dst), 0);
	snprintf(line, sizeof(line), "cset.uuid               %s",
		 t_manifest_str(g->m, "cache_image", "sb.cset.uuid"));
	cr_assert(strstr(out, line), "%s: DST does not keep the set uuid\n%s", g->name, out);
	free(out);
}

/* Sectors of DST's extents that serve the backing device (extract --dry-run). */
static unsigned long long dst_cached_sectors(const char *dst, const char *bdev)
{
	char *out = NULL, *p;
	unsigned long long total = 0, n;

	cr_assert_eq(t_run(&out, NULL, "extract -n '%s' '%s'", dst, bdev), 0);
	for (p = out; (p = strstr(p, " +")); p++)
		if (sscanf(p, " +%llu", &n) == 1)
			total += n;
	free(out);
	return total;
}

static void migrate_ok(const char *name, bool backing, const char *size, const char *opts)
{
	struct golden g;
	char *dst, *out = NULL, *err = NULL;
	int rc;

	golden_open(&g, name, backing);
	dst = t_tmpfile(0);
	cr_assert_eq(t_sh(NULL, NULL, "truncate -s %s '%s'", size, dst), 0);
	rc = t_run(&out, &err, "migrate %s '%s' '%s'", opts, g.cache, dst);
	cr_assert_eq(rc, 0, "%s: migrate rc %d\n%s%s", name, rc, out, err);
	assert_fsck_clean(dst);
	assert_content(&g, dst);
	assert_set_uuid(&g, dst);
	assert_sources_untouched(&g);
	free(out);
	free(err);
	free(dst);
	golden_close(&g);
}

/* Dirty data, cleanly stopped: to a smaller device with half the bucket size. */
GOLDEN_TEST(migrate, s03_smaller_buckets) { migrate_ok("s03-writeback-dirty-clean-stop", true, "48M", "--bucket 32k"); }
/* Crashed: the data is only in SRC's journal. */
GOLDEN_TEST(migrate, s04_journal_only) { migrate_ok("s04-writeback-dirty-crash", true, "96M", "--bucket 128k"); }
/* Depth 2, 12000 dirty extents: to a smaller device, larger and smaller buckets. */
GOLDEN_TEST(migrate, s05_depth2_larger_buckets) { migrate_ok("s05-btree-depth2", true, "128M", "--bucket 128k"); }
GOLDEN_TEST(migrate, s05_depth2_smaller_buckets) { migrate_ok("s05-btree-depth2", true, "100M", "--bucket 32k"); }
/* A flash-only volume. */
GOLDEN_TEST(migrate, s06_flash_volume) { migrate_ok("s06-flash-volume", false, "64M", "--bucket 64k"); }

/* Clean data: all of it (the kernel's dump: on 6.1 288 keys, 5856 sectors), none, or what fits. */
GOLDEN_TEST(migrate, s07_clean_data)
{
	struct golden g;
	char *dst = t_tmpfile(0), *out = NULL, *err = NULL;
	unsigned long long kernel_sectors = 0, kernel_keys = 0, n, got;
	char *keys = t_golden_keys("s07-writethrough-clean"), *p, want[96];
	int rc;

	for (p = keys; (p = strstr(p, " len ")); p++)
		if (sscanf(p, " len %llu", &n) == 1) {
			kernel_sectors += n;
			kernel_keys++;
		}
	cr_assert_gt(kernel_sectors, 0);
	golden_open(&g, "s07-writethrough-clean", true);

	/* all of it, in buckets of half the size: extents cut at bucket boundaries */
	cr_assert_eq(t_sh(NULL, NULL, "truncate -s 40M '%s'", dst), 0);
	rc = t_run(&out, &err, "migrate --bucket 32k '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 0, "rc %d\n%s%s", rc, out, err);
	assert_fsck_clean(dst);
	assert_content(&g, dst);
	cr_assert_eq(dst_cached_sectors(dst, g.bdev), kernel_sectors);
	free(out);
	free(err);

	/* --drop-clean: nothing cached, same content */
	rc = t_run(&out, &err, "migrate --drop-clean --wipe-bcache '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 0, "rc %d\n%s%s", rc, out, err);
	snprintf(want, sizeof(want), "--drop-clean: %llu clean extents (%llu sectors) not copied",
		 kernel_keys, kernel_sectors);
	cr_assert(strstr(out, want), "%s", out);
	assert_fsck_clean(dst);
	assert_content(&g, dst);
	cr_assert_eq(dst_cached_sectors(dst, g.bdev), 0);
	free(out);
	free(err);

	/*
	 * 200 buckets of 8k: room for part of it, the rest dropped and said so
	 * (a cache the kernel would not register: --force writes it, warning)
	 */
	cr_assert_eq(t_sh(NULL, NULL, "rm -f '%s' && truncate -s 1600k '%s'", dst, dst), 0);
	rc = t_run(&out, &err, "migrate --force --bucket 8k '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 0, "rc %d\n%s%s", rc, out, err);
	cr_assert(strstr(err, "warning: '") && strstr(err, "200 buckets of 16 sectors") &&
		  strstr(err, "written anyway (--force)"), "%s", err);
	cr_assert(strstr(err, "is too small for all the clean data"), "%s", err);
	cr_assert(strstr(err, "the backing devices hold that data"), "%s", err);
	assert_fsck_clean(dst);
	assert_content(&g, dst);
	got = dst_cached_sectors(dst, g.bdev);
	cr_assert(got > 0 && got < kernel_sectors, "%llu sectors cached", got);
	assert_sources_untouched(&g);
	free(out);
	free(err);
	free(keys);
	free(dst);
	golden_close(&g);
}

/* Too small for the dirty data: refused before anything is written. */
GOLDEN_TEST(migrate, too_small_for_dirty_data)
{
	struct golden g;
	/* 640 buckets of 64k (the kernel registers it), 40 MiB: less than the dirty data */
	char *dst = t_tmpfile(40 << 20), *err = NULL, before[65], after[65];
	int rc;

	golden_open(&g, "s05-btree-depth2", false);
	t_sha256_file(dst, before);
	rc = t_run(NULL, &err, "migrate '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 8, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "is too small for the dirty data of"), "%s", err);
	cr_assert(strstr(err, "96000 sectors of dirty data"), "%s", err);	/* 12000 x 4k */
	cr_assert(strstr(err, "nothing was written"), "%s", err);
	t_sha256_file(dst, after);
	cr_assert_str_eq(before, after, "DST was written");
	assert_sources_untouched(&g);
	free(err);
	free(dst);
	golden_close(&g);
}

/* format's safety checks apply to DST; SRC and DST must differ; bad geometry is a usage error. */
GOLDEN_TEST(migrate, refusals)
{
	struct golden g;
	char *dst = t_golden_image("s02-registered-empty", "cache"), *err = NULL, *out = NULL;
	char before[65], after[65];
	int rc;

	golden_open(&g, "s03-writeback-dirty-clean-stop", false);
	t_sha256_file(dst, before);
	rc = t_run(NULL, &err, "migrate '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 8, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "already holds a bcache superblock (use --wipe-bcache"), "%s", err);
	free(err);
	rc = t_run(NULL, &err, "migrate --bucket 4k '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 16, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "reads through it hang"), "%s", err);
	free(err);
	rc = t_run(NULL, &err, "migrate --bucket 48k '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 16, "rc %d: %s", rc, err);
	free(err);
	rc = t_run(&out, &err, "migrate -n --wipe-bcache '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	cr_assert(strstr(out, "would format"), "%s", out);
	free(out);
	free(err);
	t_sha256_file(dst, after);
	cr_assert_str_eq(before, after, "DST was written");

	rc = t_run(NULL, &err, "migrate '%s' '%s'", g.cache, g.cache);
	cr_assert_eq(rc, 8, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "are the same device"), "%s", err);
	free(err);
	assert_sources_untouched(&g);

	rc = t_run(&out, &err, "migrate --wipe-bcache '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	assert_fsck_clean(dst);
	free(out);
	free(err);
	free(dst);
	golden_close(&g);
}

/*
 * A crash during the copy (DST writes stop after the format): DST holds an
 * empty, consistent cache set and SRC is unchanged; migrate again works.
 */
GOLDEN_TEST(migrate, crash_during_copy)
{
	struct bt_migrate_opts o = { .dst_write_limit = 20, .wipe_bcache = true };
	struct printbuf out = PRINTBUF, warn = PRINTBUF, err = PRINTBUF;
	struct bt_migrate_stats st;
	struct golden g;
	char *dst = t_tmpfile(64 << 20), *fout = NULL;
	int ret;

	golden_open(&g, "s03-writeback-dirty-clean-stop", true);
	ret = bt_migrate(g.cache, dst, &o, &st, &out, &warn, &err);
	cr_assert_eq(ret, -BT_ERR_WRITE_LIMIT, "%d: %s", ret, printbuf_str(&err));
	cr_assert(strstr(printbuf_str(&err), "holds an empty cache set"), "%s", printbuf_str(&err));
	cr_assert(!st.committed);
	assert_fsck_clean(dst);
	cr_assert_eq(t_run(&fout, NULL, "dump-btree --keys-only '%s'", dst), 0);
	cr_assert_str_eq(fout, "", "keys in the crashed DST: %s", fout);
	assert_sources_untouched(&g);

	o.dst_write_limit = -1;
	printbuf_exit(&err);
	ret = bt_migrate(g.cache, dst, &o, &st, &out, &warn, &err);
	cr_assert_eq(ret, 0, "%s", printbuf_str(&err));
	cr_assert(st.committed);
	cr_assert_eq(st.dirty_extents, 400);	/* MANIFEST: 400 random 4k writes, ndirty_keys 400 */
	cr_assert_eq(st.dirty_sectors, 3200);
	assert_fsck_clean(dst);
	assert_content(&g, dst);
	free(fout);
	printbuf_exit(&out);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	free(dst);
	golden_close(&g);
}

/* ---- synthetic caches (tests/tools/gen-cache) ---------------------------- */

static void assert_gen_content(const struct t_gen *g, const char *dst)
{
	char *out = t_tmpfile(0), *err = NULL, sum[65];
	int rc = t_run(NULL, &err, "extract '%s' '%s' -o '%s'", dst, g->bdev, out);

	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	t_sha256_file(out, sum);
	cr_assert_str_eq(sum, g->sha[0], "backing device content differs from gen-cache's");
	free(err);
	rc = t_run(NULL, &err, "extract --force '%s' --slot 1 -o '%s'", dst, out);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	t_sha256_file(out, sum);
	cr_assert_str_eq(sum, g->sha[1], "flash volume content differs from gen-cache's");
	free(err);
	free(out);
}

/*
 * 512-byte blocks with extents of 1-3 blocks: a 4k DST block would split
 * their I/O, so migrate refuses before writing; with SRC's block size it
 * copies a backing device and a flash volume, journal keys and stale
 * pointers included, and serves what gen-cache's model says.
 */
Test(migrate, small_blocks_two_slots, .timeout = 300)
{
	struct t_gen g = { 0 };
	char *dst = t_tmpfile(48 << 20), *err = NULL, *out = NULL, before[65], after[65];
	char src_before[65], src_after[65];
	int rc;

	t_gen_cache(&g, "-n 3000 --block 512 --bucket 64k --max-blocks 3 --max-gap 1 "
		  "--journal-keys 100 --stale 50 --dirty 0.5 --seed 7");
	t_sha256_file(g.cache, src_before);
	t_sha256_file(dst, before);
	rc = t_run(NULL, &err, "migrate --block 4k '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 8, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "dirty extents of"), "%s", err);
	cr_assert(strstr(err, "are not aligned to the block size"), "%s", err);
	cr_assert(strstr(err, "use --block 512 bytes or less"), "%s", err);
	t_sha256_file(dst, after);
	cr_assert_str_eq(before, after, "DST was written");
	free(err);

	rc = t_run(&out, &err, "migrate --bucket 16k '%s' '%s'", g.cache, dst);
	cr_assert_eq(rc, 0, "rc %d\n%s%s", rc, out, err);
	assert_fsck_clean(dst);
	assert_gen_content(&g, dst);
	t_sha256_file(g.cache, src_after);
	cr_assert_str_eq(src_before, src_after, "SRC changed");
	free(out);
	free(err);
	free(dst);
	t_gen_free(&g);
}

/*
 * A uuid slot in use past the end of DST's smaller uuid bucket (buckets of
 * 8k hold 64 slots) is refused before DST is written. SRC is s06 with its
 * flash volume's slot copied to slot 100 by a write transaction.
 */
GOLDEN_TEST(migrate, uuid_slot_past_dst)
{
	struct t_cset s;
	struct bt_write_ctx w;
	char *src = t_golden_image("s06-flash-volume", "cache"), *dst = t_tmpfile(8 << 20);
	char *serr = NULL, before[65], after[65];
	int rc;

	t_cset_open(&s, src, BT_DEV_RDWR | BT_DEV_FORCE, 0);
	cr_assert_gt(s.c.nr_uuids, 100);
	cr_assert_eq(bt_mark_buckets(&s.c, s.nc, &s.err), 0, "%s", printbuf_str(&s.err));
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	s.c.uuids[100] = s.c.uuids[0];
	w.uuids_changed = true;
	cr_assert_eq(bt_commit(&w, &s.err), 0, "%s", printbuf_str(&s.err));
	t_cset_close(&s);

	t_sha256_file(dst, before);
	rc = t_run(NULL, &serr, "migrate --bucket 8k '%s' '%s'", src, dst);
	cr_assert_eq(rc, 8, "rc %d: %s", rc, serr);
	cr_assert(strstr(serr, "uuid slot 100 of"), "%s", serr);
	cr_assert(strstr(serr, "but buckets of 16 sectors hold only 64 uuid slots"), "%s", serr);
	t_sha256_file(dst, after);
	cr_assert_str_eq(before, after, "DST was written");
	free(serr);
	free(src);
	free(dst);
}
