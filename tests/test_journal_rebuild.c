/* test_journal_rebuild.c --- fsck's repair of a journal with no valid jset
 * (fsck/journal_rebuild.c) where the case suite (tests/fsck/journal-*)
 * cannot check it: data that was only in the lost journal, and the uuid
 * hints of --backing.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static char *zeroed_copy(const char *name)
{
	char *img = t_golden_image(name, "cache");

	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' journal-fill zero",
			  getenv("BT_BUILD"), img), 0);
	return img;
}

/*
 * s04 crashed with its 120 dirty keys only in the journal (MANIFEST: the
 * kernel replays them at re-registration). The rebuild must say that keys
 * only in the journal are lost and cannot be listed, and the loss is real:
 * the content is not the manifest's any more. The set is still consistent.
 */
GOLDEN_TEST(journal_rebuild, crash_loses_journal_only_keys_and_says_so, .timeout = 120)
{
	json_t *m = t_manifest_case("s04-writeback-dirty-crash");
	char *img = zeroed_copy("s04-writeback-dirty-crash"), *out = NULL, hex[65];
	char *bdev = t_golden_image("s04-writeback-dirty-crash", "backing");
	int rc;

	rc = t_run(&out, NULL, "fsck -y '%s'", img);
	cr_expect_eq(rc, 1, "fsck -y exit %d:\n%s", rc, out);
	cr_expect(strstr(out, "JOURNAL_REBUILD_KEYS_UNKNOWN: "), "%s", out);
	cr_expect(strstr(out, "which ones cannot be known"), "%s", out);
	free(out);
	rc = t_run(&out, NULL, "fsck -n '%s'", img);
	cr_expect_eq(rc, 0, "fsck -n after the rebuild exit %d:\n%s", rc, out);
	free(out);
	t_extract_sha256(img, bdev, hex);
	cr_expect_str_neq(hex, t_manifest_str(m, "expected_logical_sha256", "bcache0"),
			  "the journal-only keys cannot have survived");
	json_decref(m);
	free(img);
	free(bdev);
}

/*
 * A second, newer-looking uuid bucket (a well-formed slot 0 of another
 * device, times in 2035) at the free bucket 4000 of s05: without hints the
 * scan takes the newest (the rule of scan.h); --backing with the real
 * backing device makes it take bucket 64, the kernel's, and the content is
 * the manifest's.
 */
static char *two_uuid_buckets(void)
{
	char *img = zeroed_copy("s05-btree-depth2");
	char slot[257];

	snprintf(slot, sizeof(slot), "%s%064d%s%0144d", "11223344556677889900aabbccddeeff", 0,
		 "0000007b0000007b", 0);
	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' bytes %llu %s",
			  getenv("BT_BUILD"), img, 4000ULL * 65536, slot), 0);
	return img;
}

GOLDEN_TEST(journal_rebuild, uuid_bucket_newest_without_hint, .timeout = 120)
{
	char *img = two_uuid_buckets(), *out = NULL;
	int rc = t_run(&out, NULL, "fsck -y '%s'", img);

	cr_expect_eq(rc, 1, "fsck -y exit %d:\n%s", rc, out);
	cr_expect(strstr(out, "uuid bucket 4000 (1 used slots, 2 candidates, 0 backing uuids "
			 "matched)"), "%s", out);
	free(out);
	free(img);
}

GOLDEN_TEST(journal_rebuild, backing_hint_picks_the_uuid_bucket, .timeout = 120)
{
	json_t *m = t_manifest_case("s05-btree-depth2");
	char *img = two_uuid_buckets(), *out = NULL, hex[65];
	char *bdev = t_golden_image("s05-btree-depth2", "backing");
	int rc = t_run(&out, NULL, "fsck -y --backing '%s' '%s'", bdev, img);

	cr_expect_eq(rc, 1, "fsck -y exit %d:\n%s", rc, out);
	cr_expect(strstr(out, "uuid bucket 64 (1 used slots, 2 candidates, 1 backing uuids "
			 "matched)"), "%s", out);
	free(out);
	t_extract_sha256(img, bdev, hex);
	cr_expect_str_eq(hex, t_manifest_str(m, "expected_logical_sha256", "bcache0"),
			 "content after the rebuild");
	json_decref(m);
	free(img);
	free(bdev);
}

GOLDEN_TEST(journal_rebuild, backing_hint_must_be_a_backing_device)
{
	/* another cache device as --backing (the device itself is refused as the same device) */
	char *img = zeroed_copy("s03-writeback-dirty-clean-stop"), *err = NULL;
	char *other = t_golden_image("s07-writethrough-clean", "cache");
	int rc = t_run(NULL, &err, "fsck -n --backing '%s' '%s'", other, img);

	cr_expect_eq(rc, 8);
	cr_expect(strstr(err, "is not a backing device"), "%s", err);
	free(err);
	free(other);
	free(img);
}
