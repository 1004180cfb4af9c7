/* test_fsck_replay.c --- fsck -y / -p replay the journal onto the device;
 * a second fsck -n is clean with nothing to replay and extract still gives
 * what the kernel served (images/MANIFEST.json).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static long summary_int(const char *json, const char *field)
{
	json_t *o = json_loads(json, 0, NULL), *v;
	long r;

	cr_assert(o, "bad JSON: %s", json);
	v = json_object_get(json_object_get(o, "summary"), field);
	cr_assert(json_is_integer(v), "no summary.%s in %s", field, json);
	r = (long)json_integer_value(v);
	json_decref(o);
	return r;
}

static void check_replay(const char *name, bool backing, const char *mode)
{
	json_t *m = t_manifest_case(name);
	char *cache = t_golden_image(name, "cache");
	char *bdev = backing ? t_golden_image(name, "backing") : NULL, *out = NULL, *err = NULL;
	char sum[65];
	long to_replay, nkeys = atol(t_manifest_str(m, "truth_after_reregister", "nkeys"));
	long ndirty = atol(t_manifest_str(m, "truth_after_reregister", "ndirty_keys"));
	int rc;

	rc = t_run(&out, &err, "fsck -n --json '%s'", cache);
	cr_assert_eq(rc, 0, "%s: fsck -n rc %d: %s", name, rc, err);
	to_replay = summary_int(out, "journal_keys_to_replay");
	/* the kernel's own counts after re-registration (journal replayed) */
	cr_assert_eq(summary_int(out, "keys_after_replay"), nkeys);
	cr_assert_eq(summary_int(out, "dirty_keys_after_replay"), ndirty);
	free(out);
	free(err);

	rc = t_run(&out, &err, "fsck %s '%s'", mode, cache);
	cr_assert_eq(rc, to_replay ? 1 : 0, "%s: fsck %s rc %d: %s%s", name, mode, rc, out, err);
	if (to_replay)
		cr_assert(strstr(out, "journal replayed:"), "%s", out);
	free(out);
	free(err);

	rc = t_run(&out, &err, "fsck -n --json '%s'", cache);
	cr_assert_eq(rc, 0, "%s: second fsck -n rc %d: %s", name, rc, err);
	cr_assert_eq(summary_int(out, "journal_keys_to_replay"), 0);
	cr_assert_eq(summary_int(out, "keys"), nkeys, "the btree holds every live key now");
	cr_assert_eq(summary_int(out, "keys_after_replay"), nkeys);
	free(out);
	free(err);

	t_extract_sha256(cache, bdev, sum);
	cr_assert_str_eq(sum, t_manifest_str(m, "expected_logical_sha256", "bcache0"));
	json_decref(m);
	free(cache);
	free(bdev);
}

GOLDEN_TEST(fsck_replay, s02_empty_nothing_to_do)
{
	char *cache = t_golden_image("s02-registered-empty", "cache"), before[65], after[65];

	t_sha256_file(cache, before);
	cr_assert_eq(t_run(NULL, NULL, "fsck -y '%s'", cache), 0);
	t_sha256_file(cache, after);
	cr_assert_str_eq(before, after, "nothing to replay: nothing written");
}
GOLDEN_TEST(fsck_replay, s03_y) { check_replay("s03-writeback-dirty-clean-stop", true, "-y"); }
GOLDEN_TEST(fsck_replay, s04_crash_y) { check_replay("s04-writeback-dirty-crash", true, "-y"); }
GOLDEN_TEST(fsck_replay, s04_crash_p) { check_replay("s04-writeback-dirty-crash", true, "-p"); }
GOLDEN_TEST(fsck_replay, s05_y) { check_replay("s05-btree-depth2", true, "-y"); }
GOLDEN_TEST(fsck_replay, s06_flash_p) { check_replay("s06-flash-volume", false, "-p"); }
GOLDEN_TEST(fsck_replay, s07_y) { check_replay("s07-writethrough-clean", true, "-y"); }
