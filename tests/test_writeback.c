/* test_writeback.c --- offline writeback and detach, against what the kernel
 * served (images/MANIFEST.json), fsck's view of the result, and damaged
 * caches whose lost ranges come from the parent node's keys on disk.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"
#include "libcore/ondisk/sb.h"
#include "libcore/read/uuid.h"
#include "recovery/writeback.h"

#define S03 "s03-writeback-dirty-clean-stop"
#define S04 "s04-writeback-dirty-crash"
#define S05 "s05-btree-depth2"

/* The manifest's data offset of the backing device, in sectors. */
static unsigned data_offset(json_t *m)
{
	return (unsigned)strtoul(t_manifest_str(m, "backing_image", "sb.dev.data.first_sector"), NULL, 10);
}

/* sha256 of path from byte off to the end. */
static void sha256_from(const char *path, uint64_t off, char hex[65])
{
	char *out = NULL;

	cr_assert_eq(t_sh(&out, NULL, "tail -c +%llu '%s' | sha256sum",
			  (unsigned long long)off + 1, path), 0);
	cr_assert(strlen(out) >= 64);
	memcpy(hex, out, 64);
	hex[64] = 0;
	free(out);
}

static void read_bdev_sb(const char *path, struct cache_sb *sb)
{
	struct printbuf err = PRINTBUF;
	struct bt_dev dev = { .fd = -1 };
	uint8_t block[SB_SIZE];

	cr_assert_eq(bt_dev_open(path, BT_DEV_FORCE, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_sb_read(&dev, block, sb, true, &err), 0, "%s", printbuf_str(&err));
	bt_dev_close(&dev);
	printbuf_exit(&err);
}

/* fsck -n --json: exit 0, no dirty sector left in the btree or the journal. */
static void check_fsck_clean(const char *cache)
{
	char *out = NULL, *err = NULL;
	json_t *j, *sum, *per;
	int rc = t_run(&out, &err, "fsck -n --json '%s'", cache);

	cr_assert_eq(rc, 0, "fsck -n rc %d: %s %s", rc, out, err);
	j = json_loads(out, 0, NULL);
	cr_assert(j, "fsck --json output does not parse");
	sum = json_object_get(j, "summary");
	cr_assert_eq(json_integer_value(json_object_get(sum, "dirty_sectors")), 0);
	cr_assert_eq(json_integer_value(json_object_get(sum, "dirty_keys_after_replay")), 0);
	cr_assert_eq(json_integer_value(json_object_get(sum, "journal_keys_to_replay")), 0);
	per = json_object_get(sum, "dirty_sectors_per_device");
	for (size_t i = 0; i < json_array_size(per); i++)
		cr_assert_eq(json_integer_value(json_object_get(json_array_get(per, i),
								"dirty_sectors")), 0);
	json_decref(j);
	free(out);
	free(err);
}

/* Run "writeback --no-progress CACHE BDEV" and assert exit 0 (what names the run); returns stdout. */
static char *run_writeback(const char *cache, const char *bdev, const char *what)
{
	char *out = NULL, *err = NULL;
	int rc = t_run(&out, &err, "writeback --no-progress '%s' '%s'", cache, bdev);

	cr_assert_eq(rc, 0, "%s: writeback rc %d: %s %s", what, rc, out, err);
	free(err);
	return out;
}

/* From its data offset on, the backing device bdev of case m holds what the kernel served. */
static void assert_kernel_content(json_t *m, const char *bdev, const char *what)
{
	char sum[65];

	sha256_from(bdev, (uint64_t)data_offset(m) * 512, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "expected_logical_sha256", "bcache0"),
			 "%s: backing content differs from what the kernel served", what);
}

static void check_golden(const char *name)
{
	json_t *m = t_manifest_case(name);
	char *cache = t_golden_image(name, "cache"), *bdev = t_golden_image(name, "backing");
	char *out;
	struct cache_sb sb;

	read_bdev_sb(bdev, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_DIRTY, "%s: golden backing not dirty", name);
	free(run_writeback(cache, bdev, name));
	assert_kernel_content(m, bdev, name);
	read_bdev_sb(bdev, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_CLEAN, "%s: state not clean", name);
	check_fsck_clean(cache);
	/* the cache still serves the same content, and a second run finds nothing */
	out = run_writeback(cache, bdev, "rerun");
	cr_assert(strstr(out, ": slot 0, 0 dirty extents, 0 sectors, 0 written back"), "%s", out);
	free(out);
	json_decref(m);
}

GOLDEN_TEST(writeback, s03_clean_stop, .timeout = 120) { check_golden(S03); }
GOLDEN_TEST(writeback, s04_dirty_only_in_journal, .timeout = 120) { check_golden(S04); }
GOLDEN_TEST(writeback, s05_depth2, .timeout = 240) { check_golden(S05); }

/* --dry-run lists one line per dirty key the kernel counted, writes nothing */
static void check_dry_run(const char *name, const char *truth)
{
	json_t *m = t_manifest_case(name);
	char *cache = t_golden_image(name, "cache"), *bdev = t_golden_image(name, "backing");
	char *out = NULL, *err = NULL, sum[65];
	unsigned long want = strtoul(t_manifest_str(m, truth, "ndirty_keys"), NULL, 10), lines = 0;
	int rc = t_run(&out, &err, "writeback --dry-run '%s' '%s'", cache, bdev);

	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	for (const char *p = out; (p = strstr(p, " <- ")); p++)
		lines++;
	cr_assert_eq(lines, want, "%s: %lu extents listed, the kernel counted %lu dirty keys",
		     name, lines, want);
	t_sha256_file(cache, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "cache_image", "raw_sha256"));
	t_sha256_file(bdev, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "backing_image", "raw_sha256"));
	free(out);
	free(err);
	json_decref(m);
}

GOLDEN_TEST(writeback, dry_run_s03, .timeout = 60) { check_dry_run(S03, "truth_after_reregister"); }
GOLDEN_TEST(writeback, dry_run_s04, .timeout = 60) { check_dry_run(S04, "truth_after_reregister"); }

/* ---- damaged caches ------------------------------------------------------ */

/* A leaf of s05's level-1 root, from the root's keys: its bucket and key range. */
struct leaf {
	uint64_t	bucket, byte;
	uint64_t	start, end;	/* sectors of inode 0: (start, end] */
};

static struct leaf pick_leaf(const char *cache, unsigned nth)
{
	struct printbuf err = PRINTBUF;
	struct bt_dev dev = { .fd = -1 };
	struct cache_set c;
	struct bt_node_cache *nc;
	struct bt_node *root;
	const struct bkey *k;
	struct leaf l = { 0 };
	uint64_t prev = 0;
	unsigned i = 0;

	cr_assert_eq(bt_dev_open(cache, BT_DEV_FORCE, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_cache_set_open(&c, &dev, 0, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(c.root_level, 1, "s05's root should be at level 1");
	nc = bt_node_cache_new(&c, 1 << 20, 0);
	cr_assert_eq(bt_node_cache_get(nc, (struct bkey *)&c.root_key, c.root_level, &root, &err),
		     0, "%s", printbuf_str(&err));
	for_each_node_key(root, k) {
		if (bt_btree_ptr_bad(&c, k))
			continue;
		/* a leaf of an empty range (6.12's s05 has one) holds nothing to lose */
		if (KEY_OFFSET(k) == prev)
			continue;
		if (i++ == nth) {
			cr_assert_eq(KEY_INODE(k), 0);
			l.bucket = PTR_BUCKET_NR(&c, k, 0);
			l.byte = bt_bucket_to_sector(&c, l.bucket) << 9;
			l.start = prev;
			l.end = KEY_OFFSET(k);
			break;
		}
		prev = KEY_OFFSET(k);
	}
	cr_assert(l.end, "root has fewer than %u children", nth + 1);
	bt_node_cache_put(nc, root);
	bt_node_cache_free(nc);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	return l;
}

/* Compare bytes [from, to) of two files. */
static bool same_bytes(const char *a, const char *b, uint64_t off_a, uint64_t off_b, uint64_t len)
{
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	static char ba[1 << 16], bb[1 << 16];
	bool same = true;

	cr_assert(fa >= 0 && fb >= 0);
	while (len && same) {
		size_t n = len < sizeof(ba) ? len : sizeof(ba);

		cr_assert_eq(pread(fa, ba, n, (off_t)off_a), (ssize_t)n);
		cr_assert_eq(pread(fb, bb, n, (off_t)off_b), (ssize_t)n);
		same = !memcmp(ba, bb, n);
		off_a += n;
		off_b += n;
		len -= n;
	}
	close(fa);
	close(fb);
	return same;
}

/*
 * The backing device equals the content of the undamaged cache (extract)
 * outside backing sectors [lo, hi).
 */
static void check_outside(const char *name, const char *bdev, uint64_t lo, uint64_t hi)
{
	json_t *m = t_manifest_case(name);
	char *cache = t_golden_image(name, "cache"), *orig = t_golden_image(name, "backing");
	char *ref = t_tmpfile(0), *err = NULL, sum[65];
	uint64_t off = data_offset(m), size;
	int rc = t_run(NULL, &err, "extract '%s' '%s' -o '%s'", cache, orig, ref);

	cr_assert_eq(rc, 0, "extract rc %d: %s", rc, err);
	t_sha256_file(ref, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "expected_logical_sha256", "bcache0"));
	size = (uint64_t)json_integer_value(json_object_get(json_object_get(m, "backing_image"),
							   "size_bytes"));
	cr_assert(size > hi * 512, "manifest has no backing_image.size_bytes");
	size -= off * 512;
	cr_assert(same_bytes(ref, bdev, 0, off * 512, (lo - off) * 512),
		  "content before the lost range differs");
	cr_assert(same_bytes(ref, bdev, (hi - off) * 512, hi * 512, size - (hi - off) * 512),
		  "content after the lost range differs");
	free(err);
	json_decref(m);
}

/* A leaf whose first bset fails its checksum: every other extent is recovered. */
GOLDEN_TEST(writeback, unreadable_leaf_cli, .timeout = 240)
{
	char *cache = t_golden_image(S05, "cache"), *bdev = t_golden_image(S05, "backing");
	char *out = NULL, *err = NULL, want[256], before[65], after[65];
	struct leaf l = pick_leaf(cache, 4);
	struct cache_sb sb;
	int rc;

	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' bytes %llu 0102030405060708",
			  getenv("BT_BUILD"), cache, (unsigned long long)l.byte), 0);
	t_sha256_file(cache, before);
	rc = t_run(&out, &err, "writeback --no-progress '%s' '%s'", cache, bdev);
	cr_assert_eq(rc, 3, "rc %d: %s %s", rc, out, err);
	snprintf(want, sizeof(want),
		 "bcache-tool: lost: '%s' sectors %llu-%llu (%llu sectors; device sectors %llu-%llu): "
		 "unreadable btree node (BSET_BAD_CSUM)\n", bdev, (unsigned long long)l.start,
		 (unsigned long long)l.end - 1, (unsigned long long)(l.end - l.start),
		 (unsigned long long)l.start - 16, (unsigned long long)l.end - 17);
	cr_assert(!strncmp(err, want, strlen(want)), "want %s got %s", want, err);
	cr_assert_eq(strstr(err + 1, "bcache-tool: lost:"), NULL, "more than one lost range: %s", err);
	cr_assert(strstr(err, "the cache '"), "%s", err);
	cr_assert(strstr(err, "' was not updated: its btree has unreadable nodes"), "%s", err);
	t_sha256_file(cache, after);
	cr_assert_str_eq(before, after, "the damaged cache was written");
	read_bdev_sb(bdev, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_DIRTY);
	check_outside(S05, bdev, l.start, l.end);
	free(out);
	free(err);
}

struct lib_run {
	struct printbuf		err;
	struct bt_dev		cdev, bdev;
	struct cache_set	c;
	struct bt_node_cache	*nc;
	struct bt_wb_bdev	wb;
	struct bt_wb_req	req;
	struct bt_wb_result	res;
};

static void lib_open(struct lib_run *r, const char *cache, const char *bdev)
{
	memset(r, 0, sizeof(*r));
	cr_assert_eq(bt_dev_open(cache, BT_DEV_RDWR | BT_DEV_FORCE, &r->cdev, &r->err), 0);
	cr_assert_eq(bt_dev_open(bdev, BT_DEV_RDWR | BT_DEV_FORCE, &r->bdev, &r->err), 0);
	cr_assert_eq(bt_sb_read(&r->bdev, r->wb.sb_block, &r->wb.sb, true, &r->err), 0);
	cr_assert_eq(bt_cache_set_open(&r->c, &r->cdev, 0, &r->err), 0, "%s",
		     printbuf_str(&r->err));
	r->nc = bt_node_cache_new(&r->c, 64 << 20, 0);
	r->wb.dev = &r->bdev;
	r->req.bdevs = &r->wb;
	r->req.nr_bdevs = 1;
}

static void lib_close(struct lib_run *r)
{
	bt_writeback_result_exit(&r->res);
	bt_node_cache_free(r->nc);
	bt_cache_set_exit(&r->c);
	bt_dev_close(&r->cdev);
	bt_dev_close(&r->bdev);
	printbuf_exit(&r->err);
}

/* The same leaf made unreadable by a read fault instead (dev.h fail_read_*). */
GOLDEN_TEST(writeback, unreadable_leaf_read_fault, .timeout = 240)
{
	char *cache = t_golden_image(S05, "cache"), *bdev = t_golden_image(S05, "backing");
	struct leaf l = pick_leaf(cache, 2);
	struct lib_run r;
	const struct bt_wb_lost *lost;

	lib_open(&r, cache, bdev);
	r.cdev.fail_read_off = l.byte;
	r.cdev.fail_read_len = (uint64_t)r.c.bucket_size << 9;
	cr_assert_eq(bt_writeback(&r.c, r.nc, &r.req, &r.res, &r.err), 0, "%s",
		     printbuf_str(&r.err));
	cr_assert_eq(r.res.nr_lost, 1);
	lost = &r.res.lost[0];
	cr_assert_eq(lost->kind, BT_WB_LOST_NODE);
	cr_assert_eq(lost->start, l.start);
	cr_assert_eq(lost->sectors, l.end - l.start);
	cr_assert_eq(r.res.unreadable_nodes, 1);
	cr_assert_not(r.res.cache_committed);
	cr_assert_eq(r.wb.written_sectors, r.wb.dirty_sectors);
	cr_assert(r.wb.written_sectors > 0);
	cr_assert_not(r.wb.set_clean);
	lib_close(&r);
	check_outside(S05, bdev, l.start, l.end);
}

/*
 * The pieces read back in windows of 97 (flush, read, compare, forget)
 * instead of all at the end: the same run, every sector verified, the
 * cache committed, the backing device holding what the kernel served.
 */
GOLDEN_TEST(writeback, verified_in_windows, .timeout = 240)
{
	json_t *m = t_manifest_case(S05);
	char *cache = t_golden_image(S05, "cache"), *bdev = t_golden_image(S05, "backing");
	struct lib_run r;

	lib_open(&r, cache, bdev);
	r.req.verify_every = 97;
	cr_assert_eq(bt_writeback(&r.c, r.nc, &r.req, &r.res, &r.err), 0, "%s",
		     printbuf_str(&r.err));
	cr_assert_eq(r.res.nr_lost, 0);
	cr_assert_gt(r.wb.dirty_sectors, 97 * 8, "s05 should need many windows");
	cr_assert_eq(r.wb.written_sectors, r.wb.dirty_sectors);
	cr_assert_eq(r.res.written_sectors, r.res.total_sectors);
	cr_assert(r.res.cache_committed);
	cr_assert(r.wb.set_clean);
	lib_close(&r);
	assert_kernel_content(m, bdev, "windows of 97");
	check_fsck_clean(cache);
	json_decref(m);
	free(cache);
	free(bdev);
}

/* The data of one dirty extent cannot be read: only it is lost; the rest is cleaned. */
GOLDEN_TEST(writeback, unreadable_extent, .timeout = 120)
{
	json_t *m = t_manifest_case(S03);
	char *cache = t_golden_image(S03, "cache"), *bdev = t_golden_image(S03, "backing");
	struct lib_run r;
	struct bt_extmap view;
	struct bt_overlay_stats ost;
	struct bkey_padded victim = { 0 };
	struct cache_sb sb;
	size_t n = 0;

	lib_open(&r, cache, bdev);
	bt_extmap_init(&view);
	cr_assert_eq(bt_overlay_build(&r.c, r.nc, BT_OVERLAY_JOURNAL, &view, &ost, &r.err), 0);
	/* the 10th live dirty extent */
	for (size_t i = 0; i < view.nr; i++) {
		const struct bkey *k = bt_extmap_key(&view, i);

		if (KEY_DIRTY(k) && bt_overlay_key_live(&r.c, k) && n++ == 10) {
			bt_bkey_copy((struct bkey *)&victim, k);
			break;
		}
	}
	bt_extmap_exit(&view);
	cr_assert(KEY_SIZE((struct bkey *)&victim));
	r.cdev.fail_read_off = PTR_OFFSET((struct bkey *)&victim, 0) << 9;
	r.cdev.fail_read_len = KEY_SIZE((struct bkey *)&victim) << 9;
	cr_assert_eq(bt_writeback(&r.c, r.nc, &r.req, &r.res, &r.err), 0, "%s",
		     printbuf_str(&r.err));
	cr_assert_eq(r.res.nr_lost, 1);
	cr_assert_eq(r.res.lost[0].kind, BT_WB_LOST_READ);
	cr_assert_eq(r.res.lost[0].start, KEY_START((struct bkey *)&victim));
	cr_assert_eq(r.res.lost[0].sectors, KEY_SIZE((struct bkey *)&victim));
	cr_assert_eq(r.res.lost[0].cache_sector, PTR_OFFSET((struct bkey *)&victim, 0));
	cr_assert(r.res.cache_committed, "%s", printbuf_str(&r.res.cache_msg));
	cr_assert_eq(r.wb.cleaned_sectors, r.wb.dirty_sectors - KEY_SIZE((struct bkey *)&victim));
	cr_assert_not(r.wb.set_clean);
	lib_close(&r);
	read_bdev_sb(bdev, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_DIRTY);
	check_outside(S03, bdev, KEY_START((struct bkey *)&victim), KEY_OFFSET((struct bkey *)&victim));
	/* the extent is still dirty in the cache: a second run recovers it */
	{
		char *out = run_writeback(cache, bdev, "second run");

		cr_assert(strstr(out, ": slot 0, 1 dirty extents,"), "%s", out);
		assert_kernel_content(m, bdev, "second run");
		free(out);
	}
	json_decref(m);
}

/* A crash at the first cache write: the cache keeps its old state, the rerun finishes. */
GOLDEN_TEST(writeback, crash_before_commit, .timeout = 120)
{
	json_t *m = t_manifest_case(S04);
	char *cache = t_golden_image(S04, "cache"), *bdev = t_golden_image(S04, "backing");
	char *out = NULL, *err = NULL, sum[65];
	struct lib_run r;
	struct cache_sb sb;
	int rc;

	lib_open(&r, cache, bdev);
	r.cdev.write_limit = 0;
	cr_assert_eq(bt_writeback(&r.c, r.nc, &r.req, &r.res, &r.err), 0, "%s",
		     printbuf_str(&r.err));
	cr_assert_not(r.res.cache_committed);
	cr_assert(strstr(printbuf_str(&r.res.cache_msg), "was not updated"), "%s",
		  printbuf_str(&r.res.cache_msg));
	cr_assert_eq(r.res.nr_lost, 0);
	lib_close(&r);
	t_sha256_file(cache, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "cache_image", "raw_sha256"), "the cache changed");
	read_bdev_sb(bdev, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_DIRTY);
	/* the data is already there: the kernel (or this rerun) writes it again */
	assert_kernel_content(m, bdev, "crash before commit");
	/* detach compares: the dirty data is all on the backing device, nothing abandoned */
	rc = t_run(&out, &err, "detach --dry-run --cache '%s' '%s'", cache, bdev);
	cr_assert_eq(rc, 0, "detach rc %d: %s", rc, err);
	cr_assert(strstr(out, "but the backing device holds every one of them: nothing is abandoned"),
		  "%s", out);
	free(out);
	free(err);
	free(run_writeback(cache, bdev, "rerun"));
	check_fsck_clean(cache);
	json_decref(m);
}

/* --undo restores the cache to its bytes before the writeback */
GOLDEN_TEST(writeback, undo_restores_cache, .timeout = 120)
{
	json_t *m = t_manifest_case(S03);
	char *cache = t_golden_image(S03, "cache"), *bdev = t_golden_image(S03, "backing");
	char *undo = t_tmpfile(0), *err = NULL, sum[65];
	int rc;

	rc = t_run(NULL, &err, "writeback --no-progress --undo '%s' '%s' '%s'", undo, cache, bdev);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	t_sha256_file(cache, sum);
	cr_assert_str_neq(sum, t_manifest_str(m, "cache_image", "raw_sha256"));
	free(err);
	rc = t_run(NULL, &err, "undo '%s' '%s'", undo, cache);
	cr_assert_eq(rc, 0, "undo rc %d: %s", rc, err);
	t_sha256_file(cache, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "cache_image", "raw_sha256"));
	free(err);
	json_decref(m);
}

/* ---- refusals and detach ----------------------------------------------- */

GOLDEN_TEST(writeback, refuses_detached_bdev, .timeout = 60)
{
	char *cache = t_golden_image(S03, "cache"), *bdev = t_golden_image(S03, "backing");
	char *err = NULL, before[65], after[65];
	int rc;

	cr_assert_eq(t_run(NULL, NULL, "detach --force '%s'", bdev), 0);
	t_sha256_file(bdev, before);
	rc = t_run(NULL, &err, "writeback --no-progress '%s' '%s'", cache, bdev);
	cr_assert_eq(rc, 8, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "is not attached to cache set"), "%s", err);
	t_sha256_file(bdev, after);
	cr_assert_str_eq(before, after);
	free(err);
}

/* Without --cache, a DIRTY device is refused; with --force it is detached as the kernel does. */
GOLDEN_TEST(detach, dirty_state_needs_force, .timeout = 60)
{
	json_t *m = t_manifest_case(S03);
	char *bdev = t_golden_image(S03, "backing"), *err = NULL, *out = NULL, sum[65];
	struct cache_sb before, after;
	int rc;

	read_bdev_sb(bdev, &before);
	rc = t_run(NULL, &err, "detach '%s'", bdev);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "refusing to detach: '"), "%s", err);
	cr_assert(strstr(err, "' has state dirty"), "%s", err);
	t_sha256_file(bdev, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "backing_image", "raw_sha256"));
	free(err);
	rc = t_run(&out, &err, "detach --force '%s'", bdev);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "abandoning: '"), "%s", err);
	read_bdev_sb(bdev, &after);	/* validated: the csum was recomputed */
	cr_assert_eq(BDEV_STATE(after.flags), BDEV_STATE_NONE);
	for (unsigned i = 0; i < 16; i++)
		cr_assert_eq(after.set_uuid[i], 0);
	cr_assert_eq(BDEV_CACHE_MODE(after.flags), BDEV_CACHE_MODE(before.flags));
	cr_assert_eq(after.seq, before.seq);
	cr_assert_eq(memcmp(after.uuid, before.uuid, 16), 0);
	cr_assert_eq(after.data_offset, before.data_offset);
	/* the data itself is untouched */
	sha256_from(bdev, 8192, sum);
	{
		char *orig = t_golden_image(S03, "backing"), osum[65];

		sha256_from(orig, 8192, osum);
		cr_assert_str_eq(sum, osum);
		free(orig);
	}
	free(out);
	free(err);
	json_decref(m);
}

/* With --cache: refused while the cache holds dirty data; after writeback the slot is invalidated. */
GOLDEN_TEST(detach, with_cache_after_writeback, .timeout = 120)
{
	json_t *m = t_manifest_case(S03);
	char *cache = t_golden_image(S03, "cache"), *bdev = t_golden_image(S03, "backing");
	char *out = NULL, *err = NULL, want[128];
	struct printbuf pb = PRINTBUF;
	struct bt_dev dev = { .fd = -1 };
	struct cache_set c;
	struct cache_sb sb;
	int rc;

	rc = t_run(NULL, &err, "detach --cache '%s' '%s'", cache, bdev);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, err);
	snprintf(want, sizeof(want), " in %s extents for '",
		 t_manifest_str(m, "truth_after_reregister", "ndirty_keys"));
	cr_assert(strstr(err, want), "want %s in %s", want, err);
	free(err);
	cr_assert_eq(t_run(NULL, NULL, "writeback --no-progress '%s' '%s'", cache, bdev), 0);
	rc = t_run(&out, &err, "detach --cache '%s' '%s'", cache, bdev);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	read_bdev_sb(bdev, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_NONE);
	cr_assert_eq(bt_dev_open(cache, BT_DEV_FORCE, &dev, &pb), 0);
	cr_assert_eq(bt_cache_set_open(&c, &dev, 0, &pb), 0, "%s", printbuf_str(&pb));
	cr_assert_eq(bt_uuid_slot_state(&c.uuids[0]), BT_UUID_INVALIDATED);
	cr_assert_neq(le32toh(c.uuids[0].invalidated), 0);
	cr_assert_eq(bt_uuid_find(&c, sb.uuid), -1);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	free(out);
	free(err);
	rc = t_run(&out, &err, "detach --cache '%s' '%s'", cache, bdev);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	cr_assert(strstr(out, "already detached"), "%s", out);
	free(out);
	free(err);
	/* clean keys under the invalidated slot are what the kernel's own detach leaves */
	rc = t_run(&out, NULL, "fsck -n '%s'", cache);
	cr_assert_eq(rc, 0, "fsck -n after detach exits %d:\n%s", rc, out);
	free(out);
	printbuf_exit(&pb);
	json_decref(m);
}

/* A damaged cache: refused without --force; forced, the backing device is detached, the cache untouched. */
GOLDEN_TEST(detach, damaged_cache_force, .timeout = 240)
{
	char *cache = t_golden_image(S05, "cache"), *bdev = t_golden_image(S05, "backing");
	char *out = NULL, *err = NULL, before[65], after[65];
	struct leaf l = pick_leaf(cache, 4);
	struct cache_sb sb;
	int rc;

	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' bytes %llu 0102030405060708",
			  getenv("BT_BUILD"), cache, (unsigned long long)l.byte), 0);
	t_sha256_file(cache, before);
	rc = t_run(NULL, &err, "detach --cache '%s' '%s'", cache, bdev);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "refusing to detach: 1 btree nodes of '"), "%s", err);
	free(err);
	rc = t_run(&out, &err, "detach --force --cache '%s' '%s'", cache, bdev);
	cr_assert_eq(rc, 2, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "abandoning: the cache '"), "%s", err);
	cr_assert(strstr(err, "was not invalidated: the cache set is damaged"), "%s", err);
	read_bdev_sb(bdev, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_NONE);
	t_sha256_file(cache, after);
	cr_assert_str_eq(before, after, "the damaged cache was written");
	free(out);
	free(err);
}

/* the sha256 gen-cache's model gives for slot in its report */
static void report_sha(const char *report, unsigned slot, char sha[65])
{
	char *text = NULL, want[32];
	const char *p;

	cr_assert_eq(t_sh(&text, NULL, "cat '%s'", report), 0);
	snprintf(want, sizeof(want), "\nslot %u ", slot);
	p = strstr(text, want);
	cr_assert(p, "%s", text);
	p = strstr(p, " sha256 ");
	cr_assert(p && sscanf(p, " sha256 %64s", sha) == 1);
	free(text);
}

/*
 * Two backing devices (given out of slot order) and a flash volume, depth-4
 * tree, journaled and stale keys (tests/tools/gen-cache): each device gets
 * the content gen-cache's model computed; the flash volume keeps its data.
 */
Test(writeback, two_bdevs_gen_cache, .timeout = 240)
{
	char *dir = t_tmpfile(0), *out = NULL, *err = NULL, sha[65], got[65];
	char cache[512], b0[512], b1[512], rep[512], fl[512];
	struct cache_sb sb;
	json_t *j, *per;
	int rc;

	cr_assert_eq(t_sh(NULL, NULL, "rm -f '%s' && mkdir '%s'", dir, dir), 0);
	snprintf(cache, sizeof(cache), "%s/c.img", dir);
	snprintf(b0, sizeof(b0), "%s/b0.img", dir);
	snprintf(b1, sizeof(b1), "%s/b1.img", dir);
	snprintf(rep, sizeof(rep), "%s/report", dir);
	snprintf(fl, sizeof(fl), "%s/flash.img", dir);
	cr_assert_eq(t_sh(NULL, &err, "'%s/tests/tools/gen-cache' -q -n 20000 --bdevs 2 --flash 1 "
			  "--journal-keys 50 --stale 30 --leaf-keys 100 --fanout 8 -o '%s' '%s' '%s' '%s'",
			  getenv("BT_BUILD"), rep, cache, b0, b1), 0, "%s", err);
	free(err);
	rc = t_run(&out, &err, "writeback --no-progress '%s' '%s' '%s'", cache, b1, b0);
	cr_assert_eq(rc, 0, "rc %d: %s %s", rc, out, err);
	report_sha(rep, 0, sha);
	sha256_from(b0, 16 * 512, got);
	cr_assert_str_eq(got, sha, "backing device of slot 0");
	report_sha(rep, 1, sha);
	sha256_from(b1, 16 * 512, got);
	cr_assert_str_eq(got, sha, "backing device of slot 1");
	read_bdev_sb(b0, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_CLEAN);
	read_bdev_sb(b1, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_CLEAN);
	free(out);
	free(err);
	/* fsck: clean; no dirty data left for slots 0 and 1, the flash volume keeps its own */
	rc = t_run(&out, &err, "fsck -n --json '%s'", cache);
	cr_assert_eq(rc, 0, "fsck rc %d: %s", rc, err);
	j = json_loads(out, 0, NULL);
	per = json_object_get(json_object_get(j, "summary"), "dirty_sectors_per_device");
	cr_assert_gt(json_array_size(per), 0);
	for (size_t i = 0; i < json_array_size(per); i++) {
		json_t *d = json_array_get(per, i);
		bool flash = json_is_true(json_object_get(d, "flash_only"));

		cr_assert_eq(json_integer_value(json_object_get(d, "dirty_sectors")) > 0, flash,
			     "slot %lld", json_integer_value(json_object_get(d, "uuid_slot")));
	}
	json_decref(j);
	free(out);
	free(err);
	rc = t_run(NULL, &err, "extract '%s' --slot 2 -o '%s'", cache, fl);
	cr_assert_eq(rc, 0, "extract rc %d: %s", rc, err);
	report_sha(rep, 2, sha);
	t_sha256_file(fl, got);
	cr_assert_str_eq(got, sha, "flash volume");
	free(err);
	t_sh(NULL, NULL, "rm -rf '%s'", dir);
}

/*
 * A crash after every possible number of cache writes (dev.h write_limit):
 * the cache always opens and serves the kernel's content; a rerun finishes.
 * Then a crash at the backing superblock write: the cache is clean, the
 * device still DIRTY (the kernel finds nothing to write and sets it CLEAN).
 */
GOLDEN_TEST(writeback, crash_at_every_cache_write, .timeout = 600)
{
	json_t *m = t_manifest_case(S04);
	char *cache0 = t_golden_image(S04, "cache"), *bdev0 = t_golden_image(S04, "backing");
	char *cache = t_tmpfile(0), *bdev = t_tmpfile(0), *out = NULL, *err = NULL;
	const char *want = t_manifest_str(m, "expected_logical_sha256", "bcache0");
	unsigned long total;
	struct lib_run r;
	struct cache_sb sb;
	int rc;

	cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s' && cp '%s' '%s'", cache0, cache, bdev0, bdev), 0);
	lib_open(&r, cache, bdev);
	cr_assert_eq(bt_writeback(&r.c, r.nc, &r.req, &r.res, &r.err), 0);
	cr_assert(r.res.cache_committed);
	total = r.cdev.nr_writes;
	lib_close(&r);
	cr_assert_gt(total, 2, "a commit writes nodes, prios and a jset");

	for (unsigned long lim = 0; lim < total; lim++) {
		cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s' && cp '%s' '%s'", cache0, cache, bdev0,
				  bdev), 0);
		lib_open(&r, cache, bdev);
		r.cdev.write_limit = (long)lim;
		cr_assert_eq(bt_writeback(&r.c, r.nc, &r.req, &r.res, &r.err), 0, "limit %lu: %s",
			     lim, printbuf_str(&r.err));
		cr_assert_not(r.res.cache_committed, "limit %lu", lim);
		cr_assert_not(r.wb.set_clean);
		lib_close(&r);
		/* the old state: both devices together still serve the kernel's content */
		rc = t_run(NULL, &err, "extract '%s' '%s' -o '%s.x'", cache, bdev, cache);
		cr_assert_eq(rc, 0, "limit %lu: extract rc %d: %s", lim, rc, err);
		free(err);
		cr_assert_eq(t_sh(&out, NULL, "sha256sum < '%s.x' && rm -f '%s.x'", cache, cache), 0);
		cr_assert(!strncmp(out, want, 64), "limit %lu: content %.64s", lim, out);
		free(out);
		rc = t_run(&out, &err, "writeback --no-progress '%s' '%s'", cache, bdev);
		cr_assert_eq(rc, 0, "limit %lu: rerun rc %d: %s", lim, rc, err);
		free(out);
		free(err);
	}
	check_fsck_clean(cache);

	/* crash at the backing superblock write (the last backing write) */
	cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s' && cp '%s' '%s'", cache0, cache, bdev0, bdev), 0);
	lib_open(&r, cache, bdev);
	r.bdev.write_limit = 0;
	cr_assert_eq(bt_writeback(&r.c, r.nc, &r.req, &r.res, &r.err), 0);
	cr_assert_gt(r.res.nr_lost, 0, "every data write failed");
	lib_close(&r);
	cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s' && cp '%s' '%s'", cache0, cache, bdev0, bdev), 0);
	lib_open(&r, cache, bdev);
	/* one data write per dirty extent (8 sectors each in s04), then the superblock */
	r.bdev.write_limit = (long)strtoul(t_manifest_str(m, "truth_after_reregister", "ndirty_keys"), NULL, 10);
	rc = bt_writeback(&r.c, r.nc, &r.req, &r.res, &r.err);
	cr_assert_neq(rc, 0, "the superblock write should have failed");
	cr_assert(r.res.cache_committed);
	cr_assert_eq(r.res.nr_lost, 0);
	lib_close(&r);
	read_bdev_sb(bdev, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_DIRTY);
	assert_kernel_content(m, bdev, "crash at the superblock write");
	check_fsck_clean(cache);
	free(run_writeback(cache, bdev, "rerun"));
	read_bdev_sb(bdev, &sb);
	cr_assert_eq(BDEV_STATE(sb.flags), BDEV_STATE_CLEAN);
	json_decref(m);
}
