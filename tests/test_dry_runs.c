/* test_dry_runs.c --- the dry runs of writeback, detach and undo print what
 * the real run then prints (the same figures, the same losses, the same
 * exit status: they run the same code on shadows of the devices,
 * libcore/shadow.h) and leave every device byte-identical. gc's and
 * extract's are in test_gc.c and test_extract.c.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dry_helpers.h"
#include "helpers.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"
#include "recovery/writeback.h"

TestSuite(dry_runs, .timeout = 300);

#define S03 "s03-writeback-dirty-clean-stop"
#define S04 "s04-writeback-dirty-crash"
#define S05 "s05-btree-depth2"
#define S07 "s07-writethrough-clean"

/* The files of one run and their sha256 before it. */
struct files {
	const char	*path[4];
	char		sha[4][65];
	size_t		nr;
};

static void hash_all(struct files *f)
{
	for (size_t i = 0; i < f->nr; i++)
		t_sha256_file(f->path[i], f->sha[i]);
}

static void assert_unchanged(const struct files *f, const char *cmd)
{
	for (size_t i = 0; i < f->nr; i++) {
		char now[65];

		t_sha256_file(f->path[i], now);
		cr_assert_str_eq(now, f->sha[i], "'%s' changed '%s'", cmd, f->path[i]);
	}
}

/*
 * Run "CMD -n ARGS" then "CMD ARGS": the dry run writes nothing, exits as
 * the run does, and its stdout and stderr, reworded by sub and without the
 * lines holding drop (its listing), are the run's.
 */
static void dry_equals_real(const char *cmd, const char *args, const struct files *f,
			    const struct t_reword *sub, size_t nr, const char *drop)
{
	char *dout = NULL, *derr = NULL, *rout = NULL, *rerr = NULL, *a, *b;
	struct files before = *f;
	int drc, rrc;

	hash_all(&before);
	drc = t_run(&dout, &derr, "%s -n %s", cmd, args);
	cr_assert_geq(drc, 0, "%s -n died: %s", cmd, derr);
	assert_unchanged(&before, cmd);
	rrc = t_run(&rout, &rerr, "%s %s", cmd, args);
	cr_expect_eq(drc, rrc, "%s: exit %d (dry run) vs %d:\n%s%s\n--\n%s%s", cmd, drc, rrc, dout,
		     derr, rout, rerr);
	a = t_dry_as_real(dout, sub, nr, drop);
	b = t_dry_as_real(derr, sub, nr, NULL);
	cr_expect_str_eq(a, rout, "%s %s: stdout of the dry run and the run differ", cmd, args);
	cr_expect_str_eq(b, rerr, "%s %s: stderr of the dry run and the run differ", cmd, args);
	free(a);
	free(b);
	free(dout);
	free(derr);
	free(rout);
	free(rerr);
}

/* ---- writeback ---------------------------------------------------------- */

static const struct t_reword wb_words[] = {
	{ " would be written back", " written back" },
	{ " would be marked clean", " marked clean" },
	{ " (dry run)", "" },
	{ "would stay DIRTY", "stays DIRTY" },
	{ "would not be updated", "was not updated" },
};

static void wb_case(const char *cache, const char *const *bdevs, size_t nr)
{
	struct files f = { .path = { cache }, .nr = 1 };
	char args[2048];
	int n = snprintf(args, sizeof(args), "--no-progress '%s'", cache);

	for (size_t i = 0; i < nr; i++) {
		n += snprintf(args + n, sizeof(args) - (size_t)n, " '%s'", bdevs[i]);
		f.path[f.nr++] = bdevs[i];
	}
	dry_equals_real("writeback", args, &f, wb_words, sizeof(wb_words) / sizeof(wb_words[0]),
			" <- ");
}

GOLDEN_TEST(dry_runs, writeback_golden)
{
	static const char *const names[] = { S03, S04, S05, S07 };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *cache = t_golden_image(names[i], "cache"), *bdev = t_golden_image(names[i], "backing");

		wb_case(cache, (const char *const *)&bdev, 1);
		free(cache);
		free(bdev);
	}
}

/* Two backing devices, journaled keys, stale dirty pointers (lost data): exit 1 both ways. */
Test(dry_runs, writeback_generated)
{
	char *dir = t_tmpfile(0), *err = NULL, cache[512], b0[512], b1[512];
	const char *bdevs[2] = { b1, b0 };

	cr_assert_eq(t_sh(NULL, NULL, "rm -f '%s' && mkdir '%s'", dir, dir), 0);
	snprintf(cache, sizeof(cache), "%s/c.img", dir);
	snprintf(b0, sizeof(b0), "%s/b0.img", dir);
	snprintf(b1, sizeof(b1), "%s/b1.img", dir);
	cr_assert_eq(t_sh(NULL, &err, "'%s/tests/tools/gen-cache' -q -n 20000 --bdevs 2 "
			  "--journal-keys 50 --stale 300 --stale-dirty --leaf-keys 100 --fanout 8 "
			  "'%s' '%s' '%s'", getenv("BT_BUILD"), cache, b0, b1), 0, "%s", err);
	wb_case(cache, bdevs, 2);
	free(err);
	t_sh(NULL, NULL, "rm -rf '%s'", dir);
	free(dir);
}

/* The byte offset of the nth level-0 node dump-btree lists, from its bucket. */
static uint64_t nth_leaf_byte(const char *cache, unsigned nth)
{
	char *out = NULL, *err = NULL;
	unsigned long long bucket = 0, bucket_sectors = 0;
	const char *p;

	cr_assert_eq(t_run(&out, &err, "show-super '%s'", cache), 0, "%s", err);
	p = strstr(out, "dev.sectors_per_bucket");
	cr_assert(p && sscanf(p, "dev.sectors_per_bucket %llu", &bucket_sectors) == 1, "%s", out);
	free(out);
	free(err);
	cr_assert_eq(t_run(&out, &err, "dump-btree --no-journal --nodes-only '%s'", cache), 0, "%s",
		     err);
	p = out;
	for (unsigned i = 0; i <= nth; i++, p++) {
		p = strstr(p, "node level 0 bucket ");
		cr_assert(p, "fewer than %u leaves:\n%s", nth + 1, out);
	}
	cr_assert_eq(sscanf(p - 1, "node level 0 bucket %llu", &bucket), 1);
	free(out);
	free(err);
	return (uint64_t)bucket * bucket_sectors * 512;
}

/* A cache with an unreadable leaf: the dirty data under it is lost, the cache not updated. */
GOLDEN_TEST(dry_runs, writeback_damaged_leaf)
{
	char *cache = t_golden_image(S05, "cache"), *bdev = t_golden_image(S05, "backing");

	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' bytes %llu 0102030405060708",
			  getenv("BT_BUILD"), cache, (unsigned long long)nth_leaf_byte(cache, 3)), 0);
	wb_case(cache, (const char *const *)&bdev, 1);
	free(cache);
	free(bdev);
}

/*
 * At library level with a read fault on one dirty extent's data: the dry
 * run loses the same range (it reads the cache as the run does), cleans
 * the same sectors and commits (to its shadow) as the run does.
 */
GOLDEN_TEST(dry_runs, writeback_read_fault)
{
	char *cache = t_golden_image(S03, "cache"), *bdev = t_golden_image(S03, "backing");
	struct bt_wb_result res[2];
	uint64_t written[2], cleaned[2];
	bool set_clean[2];
	struct files f = { .path = { cache, bdev }, .nr = 2 };

	hash_all(&f);
	for (int dry = 1; dry >= 0; dry--) {
		struct t_cset s;
		struct bt_dev bd;
		struct bt_wb_bdev wb = { .dev = &bd };
		struct bt_wb_req req = { .bdevs = &wb, .nr_bdevs = 1, .dry_run = dry };
		struct bt_extmap view;
		size_t n = 0;

		t_cset_open(&s, cache, dry ? BT_DEV_FORCE : BT_DEV_RDWR | BT_DEV_FORCE, 0);
		cr_assert_eq(bt_dev_open(bdev, dry ? BT_DEV_FORCE : BT_DEV_RDWR | BT_DEV_FORCE, &bd,
					 &s.err), 0);
		cr_assert_eq(bt_sb_read(&bd, wb.sb_block, &wb.sb, true, &s.err), 0);
		bt_extmap_init(&view);
		t_cset_view(&s, &view, NULL);
		for (size_t i = 0; i < view.nr; i++) {
			const struct bkey *k = bt_extmap_key(&view, i);

			if (KEY_DIRTY(k) && bt_overlay_key_live(&s.c, k) && n++ == 7) {
				s.dev.fail_read_off = PTR_OFFSET(k, 0) << 9;
				s.dev.fail_read_len = KEY_SIZE(k) << 9;
				break;
			}
		}
		bt_extmap_exit(&view);
		cr_assert(s.dev.fail_read_len);
		cr_assert_eq(bt_writeback(&s.c, s.nc, &req, &res[dry], &s.err), 0, "%s",
			     printbuf_str(&s.err));
		written[dry] = wb.written_sectors;
		cleaned[dry] = wb.cleaned_sectors;
		set_clean[dry] = wb.set_clean;
		bt_dev_close(&bd);
		t_cset_close(&s);
		if (dry)
			assert_unchanged(&f, "writeback dry run");
	}
	cr_assert_eq(res[1].nr_lost, 1);
	cr_expect_eq(res[1].lost[0].kind, BT_WB_LOST_READ);
	cr_assert_eq(res[0].nr_lost, res[1].nr_lost);
	cr_expect_eq(res[1].lost[0].start, res[0].lost[0].start);
	cr_expect_eq(res[1].lost[0].sectors, res[0].lost[0].sectors);
	cr_expect_eq(res[1].lost[0].cache_sector, res[0].lost[0].cache_sector);
	cr_expect_eq(res[1].written_sectors, res[0].written_sectors);
	cr_expect_eq(written[1], written[0]);
	cr_expect_eq(cleaned[1], cleaned[0]);
	cr_expect_gt(cleaned[0], 0);
	cr_expect_eq(set_clean[1], set_clean[0]);
	cr_expect_eq(res[1].cache_committed, res[0].cache_committed);
	cr_expect(res[0].cache_committed);
	bt_writeback_result_exit(&res[0]);
	bt_writeback_result_exit(&res[1]);
	free(cache);
	free(bdev);
}

/* ---- detach ------------------------------------------------------------- */

static const struct t_reword detach_words[] = {
	{ " would be detached", " detached" },
	{ " would be invalidated", " invalidated" },
	{ "would not be invalidated", "was not invalidated" },
	{ " (dry run)", "" },
};

static void detach_case(const char *cache, const char *bdev, const char *opts)
{
	struct files f = { .path = { bdev, cache }, .nr = cache ? 2 : 1 };
	char args[1024];

	snprintf(args, sizeof(args), "%s%s%s%s '%s'", opts, cache ? " --cache '" : "",
		 cache ? cache : "", cache ? "'" : "", bdev);
	dry_equals_real("detach", args, &f, detach_words,
			sizeof(detach_words) / sizeof(detach_words[0]), NULL);
}

GOLDEN_TEST(dry_runs, detach_golden)
{
	static const char *const names[] = { S03, S04, S05, S07 };
	static const char *const opts[] = { "", "--force" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (size_t o = 0; o < 2; o++) {
			char *cache = t_golden_image(names[i], "cache");
			char *bdev = t_golden_image(names[i], "backing");

			detach_case(cache, bdev, opts[o]);
			free(cache);
			free(bdev);
		}
	}
	{
		char *bdev = t_golden_image(S07, "backing");

		detach_case(NULL, bdev, "");	/* without the cache: the superblock only */
		detach_case(NULL, bdev, "");	/* already detached */
		free(bdev);
	}
}

/* A damaged cache: the backing device is detached, the uuid slot cannot be (exit 2). */
GOLDEN_TEST(dry_runs, detach_damaged_cache)
{
	char *cache = t_golden_image(S05, "cache"), *bdev = t_golden_image(S05, "backing");

	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' bytes %llu 0102030405060708",
			  getenv("BT_BUILD"), cache, (unsigned long long)nth_leaf_byte(cache, 4)), 0);
	detach_case(cache, bdev, "--force");
	free(cache);
	free(bdev);
}

/* ---- undo --------------------------------------------------------------- */

static const struct t_reword undo_words[] = {
	{ "would have restored ", "restored " },
	{ " (dry run)", "" },
	{ "would be partly", "is partly" },
};

/* undo -n applies the file to a shadow: "would have restored N ranges", then undo restores N. */
GOLDEN_TEST(dry_runs, undo_after_gc)
{
	char *cache = t_golden_image(S05, "cache"), *undo = t_tmpfile(0), h0[65], h1[65];
	struct files f = { .path = { cache, undo }, .nr = 2 };
	char args[1024];

	unlink(undo);
	t_sha256_file(cache, h0);
	cr_assert_eq(t_run(NULL, NULL, "gc --undo '%s' '%s'", undo, cache), 0);
	snprintf(args, sizeof(args), "'%s' '%s'", undo, cache);
	dry_equals_real("undo", args, &f, undo_words, sizeof(undo_words) / sizeof(undo_words[0]),
			" bytes");
	t_sha256_file(cache, h1);
	cr_expect_str_eq(h0, h1, "undo did not restore the cache");
	/* applied once more: refused (the device no longer matches), both ways */
	dry_equals_real("undo", args, &f, undo_words, sizeof(undo_words) / sizeof(undo_words[0]),
			" bytes");
	unlink(undo);
	free(undo);
	free(cache);
}
