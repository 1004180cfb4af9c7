/* test_fsck.c --- bcache-tool fsck on the golden kernel-written images. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* fsck -n on one golden image: exit 0, not one byte changed (raw_sha256 of the manifest). */
static void check_golden(const char *name, const char *role, json_t *img)
{
	const char *file = json_string_value(json_object_get(img, "file"));
	const char *sha = json_string_value(json_object_get(img, "raw_sha256"));
	char rel[256], before[65], after[65], *path, *out = NULL, *err = NULL;
	int rc;

	cr_assert(file && sha, "%s %s: no file or raw_sha256 in the manifest", name, role);
	snprintf(rel, sizeof(rel), "%s/%s/%s", t_golden_dir(), name, file);
	path = t_image(rel);
	t_sha256_file(path, before);
	cr_assert_str_eq(before, sha, "%s %s: image differs from the manifest", name, role);
	rc = t_run(&out, &err, "fsck -n '%s'", path);
	cr_expect_eq(rc, 0, "fsck -n %s %s: exit %d\n%s%s", name, role, rc, out, err);
	t_sha256_file(path, after);
	cr_expect_str_eq(after, sha, "fsck -n changed %s %s", name, role);
	cr_expect(strstr(out, "Pass 1: checking the superblock\n"), "%s", out);
	free(out);
	free(err);
	free(path);
}

GOLDEN_TEST(fsck, golden_images_are_clean_and_untouched, .timeout = 300)
{
	json_t *m = t_manifest(), *c;
	size_t i, n = 0;

	json_array_foreach(m, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *cache = json_object_get(c, "cache_image");
		json_t *bdev = json_object_get(c, "backing_image");

		if (json_is_object(cache)) {
			check_golden(name, "cache", cache);
			n++;
		}
		if (json_is_object(bdev)) {
			check_golden(name, "backing", bdev);
			n++;
		}
	}
	cr_assert_geq(n, 7, "the manifest lists %zu images", n);
	json_decref(m);
}

GOLDEN_TEST(fsck, s01_cache_holds_no_cache_set)
{
	char *img = t_golden_image("s01-fresh-superblocks", "cache");
	char *out = NULL;
	json_t *j, *probs, *p;
	json_error_t jerr;
	size_t i;
	bool seen = false;

	/* MANIFEST: "never registered": the kernel sets CACHE_SYNC at the first registration */
	cr_assert_eq(t_run(&out, NULL, "fsck -n '%s'", img), 0);
	cr_assert(strstr(out, "SB_NO_CACHE_SET: "), "%s", out);
	cr_assert(strstr(out, "holds no cache set yet"), "%s", out);
	cr_assert_not(strstr(out, "Pass 2:"), "later passes are skipped:\n%s", out);
	free(out);

	cr_assert_eq(t_run(&out, NULL, "fsck -n --json '%s'", img), 0);
	j = json_loads(out, 0, &jerr);
	cr_assert(j, "json: %s\n%s", jerr.text, out);
	cr_assert(json_is_false(json_object_get(json_object_get(j, "summary"), "cache_set")));
	cr_assert_eq(json_integer_value(json_object_get(j, "exit_status")), 0);
	probs = json_object_get(j, "problems");
	json_array_foreach(probs, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "code")), "SB_NO_CACHE_SET"))
			seen = true;
	cr_assert(seen);
	json_decref(j);
	free(out);
	free(img);
}

GOLDEN_TEST(fsck, backing_device_has_only_a_superblock)
{
	char *img = t_golden_image("s03-writeback-dirty-clean-stop", "backing");
	char *out = NULL;

	cr_assert_eq(t_run(&out, NULL, "fsck -n '%s'", img), 0);
	cr_assert(strstr(out, "SB_BACKING_DEVICE: "), "%s", out);
	free(out);
	free(img);
}

GOLDEN_TEST(fsck, modes_on_a_bad_checksum)
{
	char *img = t_golden_image("s02-registered-empty", "cache");
	char before[65], after[65], *out = NULL, *err = NULL;

	/* a byte of the label is in the checksummed range [8, 208 + 8*keys) */
	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' bytes 4168 58",
			  getenv("BT_BUILD"), img), 0);
	t_sha256_file(img, before);

	cr_assert_eq(t_run(&out, NULL, "fsck -n '%s'", img), 4);
	cr_assert(strstr(out, "SB_BAD_CSUM: ") && strstr(out, "Recompute checksum? no: would recompute the checksum of the superblock\n"), "%s", out);
	free(out);

	/* not preen-safe: -p halts and writes nothing */
	cr_assert_eq(t_run(&out, NULL, "fsck -p '%s'", img), 4);
	cr_assert(strstr(out, "UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY"), "%s", out);
	free(out);

	/* no terminal (t_run gives /dev/null as stdin): refused, operational error */
	cr_assert_eq(t_run(&out, &err, "fsck '%s'", img), 8);
	cr_assert(strstr(err, "need a terminal"), "%s", err);
	free(out);
	free(err);

	t_sha256_file(img, after);
	cr_assert_str_eq(before, after, "-n, -p and a refused run wrote nothing");

	/* -y recomputes it (every other rule holds): then the device is clean */
	cr_assert_eq(t_run(&out, NULL, "fsck -y '%s'", img), 1, "%s", out);
	cr_assert(strstr(out, "Recompute checksum? yes"), "%s", out);
	free(out);
	cr_assert_eq(t_run(&out, NULL, "fsck -n '%s'", img), 0, "%s", out);
	free(out);
	cr_assert_eq(t_run(&out, NULL, "show-super '%s'", img), 0, "%s", out);
	free(out);
	free(img);
}

Test(fsck, usage_errors)
{
	cr_assert_eq(t_run(NULL, NULL, "fsck"), 16);
	cr_assert_eq(t_run(NULL, NULL, "fsck -n -y /dev/null"), 16);
	cr_assert_eq(t_run(NULL, NULL, "fsck --json /dev/null"), 16);
	cr_assert_eq(t_run(NULL, NULL, "fsck --bogus /dev/null"), 16);
	cr_assert_eq(t_run(NULL, NULL, "fsck -n /nonexistent/device"), 8);
}

static json_t *fsck_json(const char *img)
{
	char *out = NULL;
	json_error_t jerr;
	json_t *j;

	cr_assert_eq(t_run(&out, NULL, "fsck -n --json '%s'", img), 0, "%s", out);
	j = json_loads(out, 0, &jerr);
	cr_assert(j, "json: %s\n%s", jerr.text, out);
	free(out);
	return j;
}

static long long jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_integer(v), "%s is not a number", key);
	return (long long)json_integer_value(v);
}

static long long manifest_int(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	cr_assert(s, "manifest has no %s", key);
	return atoll(s);
}

/*
 * The figures of the btree and mark passes against the kernel's own
 * counts after re-registration (MANIFEST truth_after_reregister): after a
 * clean stop the journal's keys are already in the btree, so the btree's
 * live keys are the kernel's nkeys, and every write was 4 KiB, so the dirty
 * sectors are 8 per dirty key.
 */
GOLDEN_TEST(fsck, figures_match_the_kernel_after_a_clean_stop, .timeout = 300)
{
	json_t *m = t_manifest(), *c;
	size_t i, n = 0;

	json_array_foreach(m, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_t *truth = json_object_get(c, "truth_after_reregister");
		json_t *before = json_object_get(c, "truth_before_stop");
		json_t *j, *s;
		char *img;

		if (!json_object_get(truth, "nkeys") || !json_object_size(before) ||
		    !json_object_get(before, "nkeys"))
			continue;
		img = t_golden_image(name, "cache");
		j = fsck_json(img);
		s = json_object_get(j, "summary");
		cr_expect_eq(jint(s, "keys"), manifest_int(truth, "nkeys"), "%s: keys", name);
		cr_expect_eq(jint(s, "dirty_sectors"), 8 * manifest_int(truth, "ndirty_keys"),
			     "%s: dirty sectors", name);
		cr_expect_eq(jint(s, "tree_depth"), manifest_int(truth, "tree_depth"),
			     "%s: tree_depth", name);
		cr_expect_gt(jint(s, "buckets_in_use"), 0, "%s: the journal at least is in use", name);
		json_decref(j);
		free(img);
		n++;
	}
	cr_assert_geq(n, 5);
	json_decref(m);
}

/* s04: the 120 writes live only in the journal (MANIFEST: nkeys 120 after replay). */
GOLDEN_TEST(fsck, crashed_image_reports_the_keys_to_replay)
{
	json_t *m = t_manifest_case("s04-writeback-dirty-crash"), *truth, *j, *p;
	char *img = t_golden_image("s04-writeback-dirty-crash", "cache"), *out = NULL;
	char rel[128];
	size_t i;
	bool seen = false;

	truth = json_object_get(m, "truth_after_reregister");
	cr_assert(truth);
	j = fsck_json(img);
	cr_assert_eq(jint(json_object_get(j, "summary"), "journal_keys_to_replay"),
		     manifest_int(truth, "nkeys"));
	json_array_foreach(json_object_get(j, "problems"), i, p)
		if (!strcmp(json_string_value(json_object_get(p, "code")), "JOURNAL_REPLAY_NEEDED")) {
			seen = true;
			cr_assert_eq(jint(p, "num"), manifest_int(truth, "nkeys"));
		}
	cr_assert(seen);
	cr_assert_eq(t_run(&out, NULL, "fsck -n '%s'", img), 0);
	snprintf(rel, sizeof(rel), "JOURNAL_REPLAY_NEEDED: %lld journal keys in ",
		 manifest_int(truth, "nkeys"));
	cr_assert(strstr(out, rel), "%s", out);
	free(out);
	free(img);
	json_decref(j);
	json_decref(m);
}

/* Questions on a terminal: script(1) gives fsck a pty; the answers come from the pipe. */
GOLDEN_TEST(fsck, interactive_answers_on_a_terminal)
{
	char *img = t_golden_image("s07-writethrough-clean", "cache");
	char before[65], after[65], *out = NULL;
	const char *bin = getenv("BT_BIN");

	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' bytes 4168 58",
			  getenv("BT_BUILD"), img), 0);
	t_sha256_file(img, before);
	cr_assert_eq(t_sh(&out, NULL, "printf 'n\\n' | script -qec \"'%s' fsck '%s'\" /dev/null",
			  bin, img), 4, "%s", out);
	cr_assert(strstr(out, "SB_BAD_CSUM: ") && strstr(out, "Recompute checksum? <y>/n/a/q"),
		  "%s", out);
	cr_assert(strstr(out, "Pass 8: summary"), "'n' goes on checking:\n%s", out);
	free(out);
	/* q: cancelled (32), and the error it was asked about is left (4) */
	cr_assert_eq(t_sh(&out, NULL, "printf 'q\\n' | script -qec \"'%s' fsck '%s'\" /dev/null",
			  bin, img), 36, "%s", out);
	cr_assert(strstr(out, "checking stopped"), "%s", out);
	cr_assert_not(strstr(out, "Pass 2:"), "'q' stops before the next pass:\n%s", out);
	free(out);
	cr_assert_eq(t_sh(&out, NULL, "printf 'y\\n' | script -qec \"'%s' fsck '%s'\" /dev/null",
			  bin, img), 1, "%s", out);
	cr_assert(strstr(out, "SB_BAD_CSUM: superblock of") && strstr(out, " -> csum 0x"),
		  "'y' makes the repair, one fix line:\n%s", out);
	free(out);
	t_sha256_file(img, after);
	cr_assert_str_neq(before, after, "the superblock was rewritten");
	free(img);
}

/* Dirty sectors per backing device: the slot's uuid is the backing device's (MANIFEST sb.dev.uuid). */
GOLDEN_TEST(fsck, dirty_sectors_per_backing_device)
{
	json_t *m = t_manifest(), *c, *bdev = NULL, *truth = NULL, *j, *per, *e;
	char *img = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	size_t i;

	json_array_foreach(m, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "name")),
			    "s03-writeback-dirty-clean-stop")) {
			bdev = json_object_get(c, "backing_image");
			truth = json_object_get(c, "truth_after_reregister");
		}
	cr_assert(bdev && truth);
	j = fsck_json(img);
	per = json_object_get(json_object_get(j, "summary"), "dirty_sectors_per_device");
	cr_assert_eq(json_array_size(per), 1);
	e = json_array_get(per, 0);
	cr_assert_str_eq(json_string_value(json_object_get(e, "uuid")),
			 json_string_value(json_object_get(bdev, "sb.dev.uuid")));
	cr_assert(json_is_false(json_object_get(e, "flash_only")));
	cr_assert_eq(jint(e, "dirty_sectors"), 8 * manifest_int(truth, "ndirty_keys"));
	json_decref(j);
	json_decref(m);
	free(img);
}

/* A cache just written by make-bcache (bcache-tools) holds no cache set yet; 2048 buckets: no warning. */
Test(fsck, make_bcache_output_is_clean)
{
	char *img = t_tmpfile(1ULL << 30), *out = NULL;

	cr_assert_eq(t_sh(NULL, NULL, "make-bcache -C '%s'", img), 0, "make-bcache failed");
	cr_assert_eq(t_run(&out, NULL, "fsck -n '%s'", img), 0, "%s", out);
	cr_assert(strstr(out, "SB_NO_CACHE_SET: "), "%s", out);
	cr_assert_not(strstr(out, "SB_FEW_BUCKETS"), "%s", out);
	free(out);
	free(img);
}
