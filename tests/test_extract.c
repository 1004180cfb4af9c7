/* test_extract.c --- the view after journal replay and extract, against what
 * the real kernel served and dumped (images/MANIFEST.json, keys-post.txt.zst).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "libcore/ondisk/cache_set.h"
#include "recovery/extract.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"

/* extract gives what the kernel served; both devices are left byte-identical */
static void check_extract(const char *name, bool backing)
{
	json_t *m = t_manifest_case(name);
	char *cache = t_golden_image(name, "cache"), *bdev = backing ? t_golden_image(name, "backing") : NULL;
	char sum[65];

	t_extract_sha256(cache, bdev, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "expected_logical_sha256", "bcache0"),
			 "%s: content differs from what the kernel served", name);
	t_sha256_file(cache, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "cache_image", "raw_sha256"), "%s: cache changed", name);
	if (bdev) {
		t_sha256_file(bdev, sum);
		cr_assert_str_eq(sum, t_manifest_str(m, "backing_image", "raw_sha256"),
				 "%s: backing device changed", name);
	}
	json_decref(m);
}

GOLDEN_TEST(extract, s03_clean_stop_dirty) { check_extract("s03-writeback-dirty-clean-stop", true); }
GOLDEN_TEST(extract, s04_crash_journal_only) { check_extract("s04-writeback-dirty-crash", true); }
GOLDEN_TEST(extract, s05_depth2) { check_extract("s05-btree-depth2", true); }
GOLDEN_TEST(extract, s06_flash_volume) { check_extract("s06-flash-volume", false); }
GOLDEN_TEST(extract, s07_writethrough) { check_extract("s07-writethrough-clean", true); }

/* Without the journal, s04's writes (journal only) are missing: the replay matters. */
GOLDEN_TEST(extract, s04_no_journal_differs)
{
	const char *name = "s04-writeback-dirty-crash";
	json_t *m = t_manifest_case(name);
	char *cache = t_golden_image(name, "cache"), *bdev = t_golden_image(name, "backing");
	char *out = t_tmpfile(0), *err = NULL, sum[65], raw[65];
	int rc = t_run(NULL, &err, "extract --no-journal '%s' '%s' -o '%s'", cache, bdev, out);

	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	t_sha256_file(out, sum);
	cr_assert_str_neq(sum, t_manifest_str(m, "expected_logical_sha256", "bcache0"));
	/* the backing device alone (from sector 16) is what is served */
	cr_assert_eq(t_sh(NULL, NULL, "tail -c +8193 '%s' > '%s'", bdev, out), 0);
	t_sha256_file(out, raw);
	cr_assert_str_eq(sum, raw);
	free(err);
	json_decref(m);
}

/* --dry-run lists one line per live extent (the manifest's nkeys) and writes nothing */
GOLDEN_TEST(extract, dry_run_lists_extents)
{
	const char *name = "s03-writeback-dirty-clean-stop";
	json_t *m = t_manifest_case(name);
	char *cache = t_golden_image(name, "cache"), *bdev = t_golden_image(name, "backing");
	char *out = NULL, *err = NULL, *none;
	long lines = 0;
	int rc;

	cr_assert(asprintf(&none, "%s.none", cache) > 0);
	rc = t_run(&out, &err, "extract --dry-run '%s' '%s' -o '%s'", cache, bdev, none);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	for (char *p = out; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, atol(t_manifest_str(m, "truth_after_reregister", "nkeys")));
	cr_assert(access(none, F_OK) != 0, "dry run created its output file");
	free(none);
	free(out);
	free(err);
	json_decref(m);
}

/* The "extract: slot ..." summary line of err, " (dry run)" taken out (malloc'ed). */
static char *summary_line(const char *err)
{
	const char *p = strstr(err, "extract: slot ");
	char *line, *dry;

	cr_assert(p, "no summary in: %s", err);
	line = strndup(p, strcspn(p, "\n"));
	cr_assert(line);
	if ((dry = strstr(line, " (dry run)")))
		memmove(dry, dry + strlen(" (dry run)"), strlen(dry + strlen(" (dry run)")) + 1);
	return line;
}

/*
 * extract --dry-run prints the figures extract then prints (extents, sectors
 * from the cache, dirty sectors, journal keys), one listed extent per
 * extent counted, the same exit status; it changes no device.
 */
static void dry_equals_real(const char *cache, const char *bdev, const char *opts)
{
	char *out = t_tmpfile(0), *lst = NULL, *derr = NULL, *rerr = NULL, *a, *b;
	char hc[2][65], hb[2][65];
	long lines = 0, extents;
	int drc, rrc;

	t_sha256_file(cache, hc[0]);
	if (bdev)
		t_sha256_file(bdev, hb[0]);
	drc = t_run(&lst, &derr, "extract --dry-run %s '%s' %s%s%s", opts, cache, bdev ? "'" : "",
		    bdev ? bdev : "", bdev ? "'" : "");
	t_sha256_file(cache, hc[1]);
	cr_expect_str_eq(hc[0], hc[1], "extract --dry-run changed the cache");
	if (bdev) {
		t_sha256_file(bdev, hb[1]);
		cr_expect_str_eq(hb[0], hb[1], "extract --dry-run changed the backing device");
	}
	rrc = t_run(NULL, &rerr, "extract %s '%s' %s%s%s -o '%s'", opts, cache, bdev ? "'" : "",
		    bdev ? bdev : "", bdev ? "'" : "", out);
	cr_expect_eq(drc, rrc, "exit %d (dry run) vs %d: %s / %s", drc, rrc, derr, rerr);
	a = summary_line(derr);
	b = summary_line(rerr);
	cr_expect_str_eq(a, b, "%s: the dry run's figures differ from the run's", cache);
	for (char *p = lst; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(sscanf(strstr(b, "sectors, ") + 9, "%ld extents", &extents), 1, "%s", b);
	cr_expect_eq(lines, extents, "%ld extents listed, %ld counted", lines, extents);
	unlink(out);
	free(out);
	free(lst);
	free(derr);
	free(rerr);
	free(a);
	free(b);
}

GOLDEN_TEST(extract, dry_run_equals_run_golden)
{
	static const char *const names[] = {
		"s03-writeback-dirty-clean-stop", "s04-writeback-dirty-crash", "s05-btree-depth2",
		"s07-writethrough-clean",
	};
	char *cache;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *bdev = t_golden_image(names[i], "backing");

		cache = t_golden_image(names[i], "cache");
		dry_equals_real(cache, bdev, "");
		dry_equals_real(cache, bdev, "--no-journal");
		free(cache);
		free(bdev);
	}
	cache = t_golden_image("s06-flash-volume", "cache");
	dry_equals_real(cache, NULL, "");
	free(cache);
}

Test(extract, dry_run_equals_run_generated)
{
	struct t_gen g;

	t_gen_cache(&g, "-n 20000 --stale 2000 --stale-dirty --journal-keys 300 --dirty 0.5 "
		    "--max-blocks 4");
	dry_equals_real(g.cache, g.bdev, "");
	dry_equals_real(g.cache, NULL, "");	/* the flash volume */
	dry_equals_real(g.cache, g.bdev, "--no-journal");
	t_gen_free(&g);
}

/* dump-btree's live keys after replay are the kernel's own dump, line for line */
static void check_keys_post(const char *name)
{
	json_t *m = t_manifest_case(name);
	char *cache = t_golden_image(name, "cache"), *got = t_keys_match_kernel(name, cache, "");
	long nkeys = 0, ndirty = 0;

	for (char *line = got; *line; ) {
		char *nl = strchr(line, '\n');
		unsigned long ino, start, len;
		char *d = strstr(line, " dirty");

		nkeys++;
		ndirty += d && (!nl || d < nl);
		cr_assert_eq(sscanf(line, "%lu:%lu len %lu", &ino, &start, &len), 3);
		line = nl ? nl + 1 : line + strlen(line);
	}
	cr_assert_eq(nkeys, atol(t_manifest_str(m, "truth_after_reregister", "nkeys")));
	cr_assert_eq(ndirty, atol(t_manifest_str(m, "truth_after_reregister", "ndirty_keys")));
	free(got);
	json_decref(m);
}

GOLDEN_TEST(view, s03_keys_post) { check_keys_post("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(view, s04_keys_post) { check_keys_post("s04-writeback-dirty-crash"); }
GOLDEN_TEST(view, s05_keys_post) { check_keys_post("s05-btree-depth2"); }
GOLDEN_TEST(view, s06_keys_post) { check_keys_post("s06-flash-volume"); }
GOLDEN_TEST(view, s07_keys_post) { check_keys_post("s07-writethrough-clean"); }

/* The view is sorted and its extents do not overlap (library level). */
GOLDEN_TEST(view, sorted_and_disjoint)
{
	static const char *const cases[] = {
		"s03-writeback-dirty-clean-stop", "s04-writeback-dirty-crash", "s05-btree-depth2",
		"s06-flash-volume", "s07-writethrough-clean",
	};

	for (size_t n = 0; n < sizeof(cases) / sizeof(cases[0]); n++) {
		char *cache = t_golden_image(cases[n], "cache");
		struct t_cset s;
		struct bt_extmap view;

		t_cset_open(&s, cache, 0, 0);
		bt_extmap_init(&view);
		t_cset_view(&s, &view, NULL);
		for (size_t i = 1; i < view.nr; i++) {
			const struct bkey *p = bt_extmap_key(&view, i - 1), *k = bt_extmap_key(&view, i);

			cr_assert(KEY_INODE(p) < KEY_INODE(k) ||
				  (KEY_INODE(p) == KEY_INODE(k) && KEY_OFFSET(p) <= KEY_START(k)),
				  "%s: keys %zu and %zu overlap or are out of order", cases[n], i - 1, i);
		}
		bt_extmap_exit(&view);
		t_cset_close(&s);
		free(cache);
	}
}

/*
 * An unreadable range of the cache device: the extents there are listed as
 * lost (dirty), everything else is still copied, and the lost sectors carry
 * the backing device's data.
 */
struct mem_out {
	uint8_t		*buf;
	uint64_t	size;
};

static int mem_write(void *priv, const void *buf, size_t bytes, uint64_t off)
{
	struct mem_out *o = priv;

	cr_assert(off + bytes <= o->size);
	memcpy(o->buf + off, buf, bytes);
	return 0;
}

static int no_write(void *priv, const void *buf, size_t bytes, uint64_t off)
{
	(void)priv;
	(void)buf;
	cr_assert_fail("a dry run wrote %zu bytes at byte %llu", bytes, (unsigned long long)off);
	return 0;
}

GOLDEN_TEST(extract, unreadable_cache_range_is_reported)
{
	const char *name = "s03-writeback-dirty-clean-stop";
	char *cache = t_golden_image(name, "cache"), *bpath = t_golden_image(name, "backing");
	struct printbuf err = PRINTBUF;
	struct bt_dev dev, bdev;
	struct cache_set c;
	struct cache_sb bsb;
	uint8_t block[SB_SIZE];
	struct bt_node_cache *nc;
	struct bt_extmap view;
	struct bt_overlay_stats st;
	struct bt_extract_result res, res_ok, res_dry;
	struct mem_out out = { 0 };
	struct bt_extract_req req = { 0 };
	const struct bkey *victim = NULL;
	uint64_t lost_sectors = 0;

	cr_assert_eq(bt_dev_open(cache, 0, &dev, &err), 0);
	cr_assert_eq(bt_dev_open(bpath, 0, &bdev, &err), 0);
	cr_assert_eq(bt_sb_read(&bdev, block, &bsb, true, &err), 0);
	cr_assert_eq(bt_cache_set_open(&c, &dev, 0, &err), 0, "%s", printbuf_str(&err));
	nc = bt_node_cache_new(&c, 1 << 20, 0);
	bt_extmap_init(&view);
	cr_assert_eq(bt_overlay_build(&c, nc, BT_OVERLAY_JOURNAL, &view, &st, &err), 0);

	req.inode = 0;
	req.bdev = &bdev;
	req.data_offset = bsb.data_offset;
	req.sectors = bt_dev_sectors(&bdev) - bsb.data_offset;
	req.live = bt_overlay_key_live;
	req.write = mem_write;
	req.priv = &out;
	out.size = req.sectors << SECTOR_SHIFT;
	out.buf = calloc(1, out.size);
	cr_assert_eq(bt_extract(&c, &view, &req, &res_ok, &err), 0);
	cr_assert_eq(res_ok.nr_lost, 0);

	/* fail the bucket holding the first dirty extent */
	for (size_t i = 0; i < view.nr && !victim; i++)
		if (KEY_DIRTY(bt_extmap_key(&view, i)) &&
		    bt_overlay_key_live(&c, bt_extmap_key(&view, i)))
			victim = bt_extmap_key(&view, i);
	cr_assert(victim);
	dev.fail_read_off = (PTR_OFFSET(victim, 0) >> c.bucket_bits << c.bucket_bits) << SECTOR_SHIFT;
	dev.fail_read_len = (uint64_t)c.bucket_size << SECTOR_SHIFT;
	cr_assert_eq(bt_extract(&c, &view, &req, &res, &err), 0);
	cr_assert(res.nr_lost >= 1);
	for (size_t i = 0; i < res.nr_lost; i++) {
		cr_assert(res.lost[i].dirty);
		cr_assert_eq(res.lost[i].cache_sector >> c.bucket_bits,
			     PTR_OFFSET(victim, 0) >> c.bucket_bits);
		lost_sectors += res.lost[i].sectors;
	}
	/* every other sector still came from the cache */
	cr_assert_eq(res.cache_sectors + lost_sectors, res_ok.cache_sectors);
	cr_assert_eq(res.lost[0].start, KEY_START(victim) - bsb.data_offset);

	/* a dry run reads the cache as the run does: the same figures, the same lost ranges */
	req.dry_run = true;
	req.write = no_write;
	cr_assert_eq(bt_extract(&c, &view, &req, &res_dry, &err), 0);
	cr_expect_eq(res_dry.extents, res.extents);
	cr_expect_eq(res_dry.cache_sectors, res.cache_sectors);
	cr_expect_eq(res_dry.dirty_sectors, res.dirty_sectors);
	cr_assert_eq(res_dry.nr_lost, res.nr_lost);
	cr_expect_eq(memcmp(res_dry.lost, res.lost, res.nr_lost * sizeof(*res.lost)), 0,
		     "the dry run's lost ranges differ");
	bt_extract_result_exit(&res_dry);

	bt_extract_result_exit(&res);
	bt_extract_result_exit(&res_ok);
	free(out.buf);
	bt_extmap_exit(&view);
	bt_node_cache_free(nc);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	bt_dev_close(&bdev);
	printbuf_exit(&err);
	free(cache);
	free(bpath);
}
