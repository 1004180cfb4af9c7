/* test_scan.c --- libcore/scan.c: on every registered golden image, the scan
 * that ignores the journal finds what the kernel's newest jset names: the
 * btree root (bucket, gen, level), the uuid bucket and the prio chain.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/dev/dev.h"
#include "libcore/base/errcode.h"
#include "libcore/ondisk/sb.h"
#include "libcore/scan/scan.h"
#include "helpers.h"

/* Scan the image at img and compare with what its newest jset names. */
static void check_path(const char *name, const char *img, bool zero_journal)
{
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	struct cache_set c, s;
	struct bt_scan_result r;
	const struct bkey *root, *found, *uk;
	int ret;

	cr_assert_eq(bt_dev_open(img, BT_DEV_FORCE, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_cache_set_open(&c, &dev, 0, &err), 0, "%s: %s", name, printbuf_str(&err));
	if (zero_journal) {
		bt_dev_close(&dev);
		cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' journal-fill zero",
				  getenv("BT_BUILD"), img), 0);
		cr_assert_eq(bt_dev_open(img, BT_DEV_FORCE, &dev, &err), 0, "%s", printbuf_str(&err));
		c.dev = &dev;
	}

	memset(&s, 0, sizeof(s));
	s.dev = &dev;
	memcpy(&s.sb, &c.sb, sizeof(s.sb));
	cr_assert_eq(bt_cache_set_geometry(&s, &err), 0);
	ret = bt_scan_cache(&s, NULL, &r, &err);
	cr_assert_eq(ret, 0, "%s: %s", name, printbuf_str(&err));

	root = (const struct bkey *)&c.root_key;
	found = (const struct bkey *)&r.root_key;
	cr_expect_eq(r.root_level, c.root_level, "%s: level %u, jset says %u", name,
		     r.root_level, c.root_level);
	cr_expect_eq(PTR_OFFSET(found, 0), PTR_OFFSET(root, 0), "%s: root at sector %llu, "
		     "jset says %llu", name, (unsigned long long)PTR_OFFSET(found, 0),
		     (unsigned long long)PTR_OFFSET(root, 0));
	cr_expect_eq(PTR_GEN(found, 0), PTR_GEN(root, 0), "%s: root gen", name);
	cr_expect_eq(KEY_SIZE(found), KEY_SIZE(root), "%s: root size", name);
	cr_expect_eq(r.nr_root_candidates, 1, "%s: %u roots", name, r.nr_root_candidates);

	cr_expect(r.prio_found);
	cr_expect_eq(r.prio_start, c.prio_start, "%s: prio chain at %llu, jset says %llu", name,
		     (unsigned long long)r.prio_start, (unsigned long long)c.prio_start);
	cr_expect_eq(r.prio_seq, c.prio_seq, "%s: prio seq", name);
	cr_expect_eq(r.prio_newest_seq, c.prio_seq, "%s: newest prio set seq", name);
	/* FORMAT.md 6.2: the chain's last next_bucket is the previous chain's head */
	cr_expect(r.prev_prio_found, "%s: the previous prio chain is not whole", name);

	uk = (const struct bkey *)&c.uuid_key;
	cr_expect(r.uuid_found, "%s: no uuid bucket", name);
	cr_expect_eq(r.uuid_bucket, PTR_BUCKET_NR(&c, uk, 0), "%s: uuid bucket %llu, jset says "
		     "%llu", name, (unsigned long long)r.uuid_bucket,
		     (unsigned long long)PTR_BUCKET_NR(&c, uk, 0));
	cr_expect_eq(r.uuid_gen, PTR_GEN(uk, 0), "%s: uuid gen", name);
	cr_expect_eq(r.read_errors, 0);

	bt_cache_set_exit(&s);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	printbuf_exit(&err);
}

static void check_image(const char *name)
{
	char *img = t_golden_image(name, "cache");

	check_path(name, img, false);
	free(img);
}

/*
 * After 'fsck -y' replayed the journal (every node it touched rewritten to
 * a fresh bucket, the old nodes and root left on disk intact, as the
 * kernel leaves them), then the journal zeroed: the scan must take the new
 * root, not the old one that still verifies (rule 2 of scan.h).
 */
static void check_after_replay(const char *name)
{
	char *img = t_golden_image(name, "cache"), *out = NULL;

	cr_assert_eq(t_run(&out, NULL, "fsck -y '%s'", img), 1, "%s: %s", name, out);
	cr_assert(strstr(out, "journal replayed"), "%s: %s", name, out);
	free(out);
	check_path(name, img, true);
	free(img);
}

GOLDEN_TEST(scan, s03_leaf_root) { check_image("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(scan, s04_crash) { check_image("s04-writeback-dirty-crash"); }
GOLDEN_TEST(scan, s05_level1_root) { check_image("s05-btree-depth2"); }
GOLDEN_TEST(scan, s06_flash_volume) { check_image("s06-flash-volume"); }
GOLDEN_TEST(scan, s07_writethrough) { check_image("s07-writethrough-clean"); }

GOLDEN_TEST(scan, s03_new_root_after_replay) { check_after_replay("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(scan, s04_new_root_after_replay) { check_after_replay("s04-writeback-dirty-crash"); }
GOLDEN_TEST(scan, s05_new_root_after_replay) { check_after_replay("s05-btree-depth2"); }

/*
 * Hostile input: every bucket of s03 after the superblock overwritten with
 * pseudo-random bytes. The scan must read them all, find nothing it can
 * trust and say so, within its bounds (run under 'make asan' too).
 */
GOLDEN_TEST(scan, random_buckets_find_nothing)
{
	char *img = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	struct printbuf err = PRINTBUF;
	struct bt_scan_result r;
	struct cache_set s;
	struct bt_dev dev;
	uint64_t x = 88172645463325252ULL, *buf;
	FILE *f = fopen(img, "r+b");
	size_t words = 1 << 16;

	cr_assert(f);
	buf = malloc(words * 8);
	cr_assert(buf);
	cr_assert_eq(fseek(f, 65536, SEEK_SET), 0);	/* bucket 1 on: the superblock stays */
	for (unsigned chunk = 0; chunk < (64u << 20) / (words * 8) - 1; chunk++) {
		for (size_t i = 0; i < words; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		cr_assert_eq(fwrite(buf, 8, words, f), words);
	}
	fclose(f);
	free(buf);
	cr_assert_eq(bt_dev_open(img, BT_DEV_FORCE, &dev, &err), 0, "%s", printbuf_str(&err));
	memset(&s, 0, sizeof(s));
	s.dev = &dev;
	cr_assert_eq(bt_sb_read(&dev, s.sb_block, &s.sb, true, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_cache_set_geometry(&s, &err), 0);
	cr_expect_eq(bt_scan_cache(&s, NULL, &r, &err), -BT_ERR_SCAN_NO_PRIOS);
	cr_expect(strstr(printbuf_str(&err), "no whole prio chain"), "%s", printbuf_str(&err));
	cr_expect_eq(r.buckets_scanned, s.nbuckets - s.first_bucket - s.sb.keys);
	bt_cache_set_exit(&s);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	free(img);
}
