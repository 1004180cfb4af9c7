/* test_show_super_bad.c --- show-super on broken input: one test per defect.
 *
 * Each image is a copy of a golden image with one superblock field patched
 * (and the csum recomputed unless the csum is the point). show-super must
 * exit 1 (a signal death makes t_run() return -1 and fails the test), print
 * nothing on stdout, and name the device, the field and its byte offset in
 * the kernel's words (read_super()/read_super_common(), v6.1, FORMAT.md §1.11).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "helpers.h"
#include "libcore/ondisk/sb.h"

/* s01: never registered cache, 128 buckets of 1024 sectors, keys 0 */
#define FRESH_CACHE	"images/s01-fresh-superblocks/cache.img.zst"
#define FRESH_UUID	"c5b1ed39-fd72-4e3c-ac0d-061f8de587ab"
/* s03: registered cache, 1024 buckets of 128 sectors, 8 journal buckets 1..8 */
#define SYNCED_CACHE	"images/s03-writeback-dirty-clean-stop/cache.img.zst"

static void sb_rw(const char *path, uint8_t block[SB_SIZE], bool write)
{
	int fd = open(path, write ? O_WRONLY : O_RDONLY);

	cr_assert(fd >= 0);
	if (write)
		cr_assert_eq(pwrite(fd, block, SB_SIZE, SB_OFFSET_BYTES), SB_SIZE);
	else
		cr_assert_eq(pread(fd, block, SB_SIZE, SB_OFFSET_BYTES), SB_SIZE);
	close(fd);
}

/* Copy of golden image rel with patch() applied to its superblock. */
static char *patched(const char *rel, void (*patch)(struct cache_sb_disk *), bool fix_csum)
{
	char *path = t_image(rel);
	uint8_t block[SB_SIZE];
	struct cache_sb_disk *raw = (struct cache_sb_disk *)block;

	sb_rw(path, block, false);
	patch(raw);
	if (fix_csum)
		raw->csum = htole64(bt_sb_csum(raw));
	sb_rw(path, block, true);
	return path;
}

/* Run show-super on path: exit 1, nothing on stdout, stderr contains msg (with %s = path). */
static void expect_failure(const char *path, const char *msg_fmt)
{
	char *out = NULL, *err = NULL, *msg;
	int rc = t_run(&out, &err, "show-super '%s'", path);

	cr_assert_neq(rc, -1, "show-super died of a signal: %s", err);
	cr_assert_eq(rc, 1, "exit status %d, stderr: %s", rc, err);
	cr_assert_str_eq(out, "");
	cr_assert(asprintf(&msg, msg_fmt, path) > 0);
	cr_assert(strstr(err, msg), "expected \"%s\" in stderr:\n%s", msg, err);
	cr_assert_eq(strncmp(err, "bcache-tool: ", 13), 0, "%s", err);
	free(msg);
	free(out);
	free(err);
}

Test(show_super_bad, empty_file)
{
	char *path = t_tmpfile(0);

	expect_failure(path, "bcache-tool: '%s' is too small to hold a bcache superblock: "
		       "0 bytes, the superblock ends at byte 8192\n");
	free(path);
}

Test(show_super_bad, file_shorter_than_superblock)
{
	char *path = t_image(FRESH_CACHE);

	cr_assert_eq(truncate(path, 6000), 0);
	expect_failure(path, "bcache-tool: '%s' is too small to hold a bcache superblock: "
		       "6000 bytes, the superblock ends at byte 8192\n");
	free(path);
}

static void zero_all(struct cache_sb_disk *raw) { memset(raw, 0, SB_SIZE); }

Test(show_super_bad, zeroed_superblock)
{
	char *path = patched(FRESH_CACHE, zero_all, false);

	expect_failure(path, "bcache-tool: not a bcache superblock (bad offset) in '%s': "
		       "bytes 4096..6360 are all zeroes");
	free(path);
}

static void bad_offset(struct cache_sb_disk *raw) { raw->offset = htole64(9); }

Test(show_super_bad, bad_offset)
{
	char *path = patched(FRESH_CACHE, bad_offset, true);

	expect_failure(path, "bcache-tool: not a bcache superblock (bad offset) in superblock "
		       "of '%s': offset at byte 4104 is 9, expected 8\n");
	free(path);
}

static void bad_magic(struct cache_sb_disk *raw) { raw->magic[3] ^= 0x01; }

Test(show_super_bad, bad_magic)
{
	char *path = patched(FRESH_CACHE, bad_magic, true);

	expect_failure(path, "bcache-tool: not a bcache superblock (bad magic) in superblock of "
		       "'%s': magic at byte 4120 is c68573f74e1a45ca8265f57f48ba6d81, "
		       "expected c68573f64e1a45ca8265f57f48ba6d81\n");
	free(path);
}

static void bad_label(struct cache_sb_disk *raw) { raw->label[0] = 'x'; }

/*
 * The label is inside the csum range; the expected csum is the one
 * bcache-super-show computes for the same block ("[expected ...]").
 */
Test(show_super_bad, bad_csum)
{
	char *path = patched(FRESH_CACHE, bad_label, false);
	char *theirs = NULL, *exp, *out = NULL, *err = NULL;
	unsigned long long computed;

	cr_assert_eq(t_sh(&theirs, NULL, "bcache-super-show -f '%s' | grep sb.csum", path), 0);
	exp = strstr(theirs, "[expected ");
	cr_assert(exp, "%s", theirs);
	computed = strtoull(exp + 10, NULL, 16);
	cr_assert(asprintf(&exp, "bcache-tool: bad checksum in superblock of '%%s': csum at byte "
			   "4096 is 6f7db27b8830e71b, computed %016llx over bytes 4104..4304\n",
			   computed) > 0);
	expect_failure(path, exp);
	free(exp);

	/* -f prints the fields anyway, marks the csum bad and still exits 1 */
	cr_assert_eq(t_run(&out, &err, "show-super -f '%s'", path), 1, "%s", err);
	cr_assert(strstr(out, "\nsb.csum                 6F7DB27B8830E71B [bad] (computed "),
		  "%s", out);
	cr_assert(strstr(out, "\ndev.uuid                " FRESH_UUID "\n"), "%s", out);
	cr_assert(strstr(out, "\ndev.label               x\n"), "%s", out);
	cr_assert(strstr(err, "bad checksum in superblock of"), "%s", err);
	free(out);
	free(err);

	/* and in JSON: valid false, the error, csum_ok false */
	cr_assert_eq(t_run(&out, &err, "show-super -f --json '%s'", path), 1, "%s", err);
	cr_assert(strstr(out, "\"csum_ok\": false"), "%s", out);
	cr_assert(strstr(out, "\"valid\": false"), "%s", out);
	cr_assert(strstr(out, "\"error\": \"bad checksum in superblock of"), "%s", out);
	free(out);
	free(err);
	free(theirs);
	free(path);
}

static void bucket_1000(struct cache_sb_disk *raw) { raw->bucket_size = htole16(1000); }

Test(show_super_bad, bucket_size_not_power_of_2)
{
	char *path = patched(FRESH_CACHE, bucket_1000, true);

	expect_failure(path, "bcache-tool: bad bucket size (not power of 2) in superblock of "
		       "'%s': bucket_size at byte 4290 is 1000 sectors");
	free(path);
}

/*
 * A block larger than the bucket. The kernel has no such check of its own:
 * a block is at most a page and a bucket at least a page, so one of those
 * two checks always fires first, and each has its own message.
 */
static void block_16_bucket_8(struct cache_sb_disk *raw)
{
	raw->block_size = htole16(16);
	raw->bucket_size = htole16(8);
}

static void block_8_bucket_4(struct cache_sb_disk *raw)
{
	raw->block_size = htole16(8);
	raw->bucket_size = htole16(4);
}

Test(show_super_bad, block_above_bucket_and_page)
{
	char *path = patched(FRESH_CACHE, block_16_bucket_8, true);

	expect_failure(path, "bcache-tool: bad block size (larger than page size) in superblock "
		       "of '%s': block_size at byte 4288 is 16 sectors, a page is 8 "
		       "(bucket_size is 8)\n");
	free(path);
}

Test(show_super_bad, block_above_bucket_below_page)
{
	char *path = patched(FRESH_CACHE, block_8_bucket_4, true);

	expect_failure(path, "bcache-tool: bad bucket size (smaller than page size) in superblock "
		       "of '%s': bucket_size at byte 4290 is 4 sectors, a page is 8 "
		       "(block_size is 8)\n");
	free(path);
}

/* 64 MiB / 512 KiB = 128 buckets fit; 129 do not. */
static void nbuckets_129(struct cache_sb_disk *raw) { raw->nbuckets = htole64(129); }

Test(show_super_bad, nbuckets_beyond_device)
{
	char *path = patched(FRESH_CACHE, nbuckets_129, true);

	expect_failure(path, "bcache-tool: invalid superblock: device too small in superblock of "
		       "'%s': nbuckets at byte 4280 is 129 buckets of 1024 sectors, the device "
		       "has only 131072 sectors\n");
	free(path);
}

static void first_bucket_0(struct cache_sb_disk *raw) { raw->first_bucket = 0; }

Test(show_super_bad, first_bucket_before_end_of_super)
{
	char *path = patched(FRESH_CACHE, first_bucket_0, true);

	expect_failure(path, "bcache-tool: invalid superblock: first bucket comes before end of "
		       "super in superblock of '%s': first_bucket at byte 4300 is 0, starting at "
		       "sector 0, before sector 16\n");
	free(path);
}

static void first_bucket_2(struct cache_sb_disk *raw) { raw->first_bucket = htole16(2); }

/* With journal buckets, a moved first_bucket breaks d[i] == first_bucket + i. */
Test(show_super_bad, first_bucket_not_journal_start)
{
	char *path = patched(SYNCED_CACHE, first_bucket_2, true);

	expect_failure(path, "bcache-tool: journal buckets not sequential in superblock of '%s': "
		       "d[0] at byte 4304 is 1, expected first_bucket + 0 = 2\n");
	free(path);
}

static void version_7(struct cache_sb_disk *raw) { raw->version = htole64(7); }
static void version_2(struct cache_sb_disk *raw) { raw->version = htole64(2); }

Test(show_super_bad, unknown_version)
{
	char *path = patched(FRESH_CACHE, version_7, true);

	expect_failure(path, "bcache-tool: unsupported superblock version in superblock of '%s': "
		       "version at byte 4112 is 7 (known: 0, 1, 3, 4, 5, 6)\n");
	free(path);
	path = patched(FRESH_CACHE, version_2, true);
	expect_failure(path, "bcache-tool: unsupported superblock version in superblock of '%s': "
		       "version at byte 4112 is 2 (known: 0, 1, 3, 4, 5, 6)\n");
	free(path);
}

Test(show_super_bad, directory)
{
	char *dir = NULL;

	cr_assert(asprintf(&dir, "%s/images", t_srcdir()) > 0);
	expect_failure(dir, "bcache-tool: '%s' is neither a block device nor a regular file\n");
	free(dir);
}

Test(show_super_bad, nonexistent_path)
{
	expect_failure("/nonexistent/bcache.img",
		       "bcache-tool: cannot open '%s': No such file or directory\n");
}

/* One bad device among good ones: the good one is printed, the exit status is 1. */
Test(show_super_bad, one_bad_among_several)
{
	char *good = t_image(FRESH_CACHE), *bad = patched(FRESH_CACHE, bad_label, false);
	char *out = NULL, *err = NULL, *hdr;

	cr_assert_eq(t_run(&out, &err, "show-super '%s' '%s'", good, bad), 1, "%s", err);
	cr_assert(asprintf(&hdr, "%s:\n", good) > 0);
	cr_assert_eq(strncmp(out, hdr, strlen(hdr)), 0, "%s", out);
	cr_assert(strstr(out, FRESH_UUID), "%s", out);
	cr_assert(strstr(err, "bad checksum in superblock of"), "%s", err);
	free(hdr);
	free(out);
	free(err);
	free(good);
	free(bad);
}

Test(show_super_bad, usage_errors)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(t_run(&out, &err, "show-super"), 16);
	cr_assert(strstr(err, "bcache-tool: show-super: no device given"), "%s", err);
	free(out);
	free(err);
	cr_assert_eq(t_run(&out, &err, "show-super --bogus x"), 16);
	cr_assert(strstr(err, "--bogus"), "%s", err);
	free(out);
	free(err);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Robustness: 64 superblocks with random field values (half with random
 * bytes everywhere, half a golden one with a few fields randomized and the
 * csum fixed), shown with -f as text and as JSON in one run each. No crash
 * (under make asan: no sanitizer report), exit 0 or 1, JSON that parses,
 * one object per device.
 */
Test(show_super_bad, random_superblocks_do_not_crash, .timeout = 120)
{
	enum { N = 64 };
	char *paths[N], *list = NULL, *out = NULL, *err = NULL;
	size_t list_len = 0;
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	char *golden = t_image(FRESH_CACHE);
	uint8_t gold[SB_SIZE];
	FILE *lf = open_memstream(&list, &list_len);
	json_t *arr;
	int rc;

	sb_rw(golden, gold, false);
	for (unsigned i = 0; i < N; i++) {
		uint8_t block[SB_SIZE];
		struct cache_sb_disk *raw = (struct cache_sb_disk *)block;

		paths[i] = t_tmpfile(64ULL << 20);
		if (i % 2) {
			for (size_t j = 0; j < SB_SIZE; j += 8) {
				uint64_t v = xorshift(&seed);

				memcpy(block + j, &v, 8);
			}
			raw->offset = htole64(8);
			memcpy(raw->magic, bcache_sb_magic, 16);
			if (i % 4 == 1)
				raw->keys = htole16((uint16_t)(xorshift(&seed) % 300));
		} else {
			memcpy(block, gold, SB_SIZE);
			for (unsigned k = 0; k < 1 + i % 3; k++) {
				/* one random u16, u32 or u64 somewhere in bytes 8..2264 */
				size_t off = 8 + xorshift(&seed) % (sizeof(*raw) - 16);
				uint64_t v = xorshift(&seed);

				memcpy(block + off, &v, 1 + xorshift(&seed) % 8);
			}
		}
		if (i % 3)
			raw->csum = htole64(bt_sb_csum(raw));
		sb_rw(paths[i], block, true);
		fprintf(lf, " '%s'", paths[i]);
	}
	fclose(lf);

	rc = t_run(&out, &err, "show-super -f %s", list);
	cr_assert(rc == 0 || rc == 1, "exit %d: %s", rc, err);
	cr_assert_eq(strstr(err, "runtime error"), NULL, "%s", err);
	free(out);
	free(err);

	rc = t_run(&out, &err, "show-super -f --json %s", list);
	cr_assert(rc == 0 || rc == 1, "exit %d: %s", rc, err);
	arr = json_loads(out, 0, NULL);
	cr_assert(json_is_array(arr), "not a JSON array: %.300s", out);
	cr_assert_eq(json_array_size(arr), N);
	for (unsigned i = 0; i < N; i++)
		cr_assert(json_is_string(json_object_get(json_array_get(arr, i), "label")));
	json_decref(arr);
	free(out);
	free(err);
	free(list);
	for (unsigned i = 0; i < N; i++)
		free(paths[i]);
	free(golden);
}
