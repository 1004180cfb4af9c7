/* test_undo.c --- fsck --undo saves what it overwrites; bcache-tool undo puts
 * the device back to its bytes before the repair (the manifest's raw_sha256
 * of the golden image), refuses another device and a damaged undo file, and
 * restores what a crashed run saved.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/read/node_cache.h"
#include "libcore/write/replay.h"
#include "libcore/dev/undo.h"
#include "helpers.h"

/* The manifest's size in bytes of the golden cache image of case name. */
/* The undo file at path, opened as the guard opens one (library tests open it directly). */
static int open_undo(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	cr_assert(fd >= 0, "open %s", path);
	return fd;
}

static long long manifest_size(const char *name)
{
	json_t *m = t_manifest_case(name);
	json_int_t size = json_integer_value(json_object_get(json_object_get(m, "cache_image"),
							     "size_bytes"));

	cr_assert_gt(size, 0, "%s: no cache image size in the manifest", name);
	json_decref(m);
	return (long long)size;
}

/* The manifest's sha256 of the golden cache image of case name (malloc'ed). */
static char *raw_sha(const char *name)
{
	return t_manifest_case_str(name, "cache_image", "raw_sha256");
}

/* Every 4 KiB block where a and b differ lies in one of the "would restore" ranges of list. */
static void assert_diff_covered(const char *a, const char *b, const char *list)
{
	size_t la, lb, changed = 0;
	char *x = t_read_file(a, &la), *y = t_read_file(b, &lb);

	cr_assert_eq(la, lb);
	for (size_t off = 0; off < la; off += 4096) {
		size_t n = la - off < 4096 ? la - off : 4096;
		bool covered = false;
		const char *p = list;

		if (!memcmp(x + off, y + off, n))
			continue;
		changed++;
		while ((p = strstr(p, "would restore "))) {
			unsigned long long len, at;

			cr_assert_eq(sscanf(p, "would restore %llu bytes at byte %llu", &len, &at), 2);
			cr_assert_eq(at % 4096, 0, "range at %llu not 4 KiB aligned", at);
			if (at <= off && off < at + len)
				covered = true;
			p++;
		}
		cr_assert(covered, "changed block at byte %zu is not in the undo file:\n%s", off, list);
	}
	cr_assert_gt(changed, 0, "fsck -y changed nothing");
	free(x);
	free(y);
}

static void check_undo(const char *name)
{
	char *img = t_golden_image(name, "cache"), *want = raw_sha(name), *undo = t_tmpfile(0);
	char *before = t_tmpfile(0), *out = NULL, *err = NULL, sum[65], after[65];
	int rc;

	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, want, "%s: golden image differs from the manifest", name);
	cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s'", img, before), 0);

	rc = t_run(&out, &err, "fsck -y --undo '%s' '%s'", undo, img);
	cr_assert_eq(rc, 1, "%s: fsck -y rc %d: %s%s", name, rc, out, err);
	cr_assert(strstr(out, "journal replayed:"), "%s", out);
	free(out);
	free(err);
	t_sha256_file(img, after);
	cr_assert_str_neq(after, want, "%s: the replay changed nothing", name);

	/* -n lists, changes nothing */
	rc = t_run(&out, &err, "undo -n '%s' '%s'", undo, img);
	cr_assert_eq(rc, 0, "%s: undo -n rc %d: %s", name, rc, err);
	cr_assert_str_eq(err, "", "%s", err);
	assert_diff_covered(before, img, out);
	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, after, "%s: undo -n wrote to the device", name);
	free(out);
	free(err);

	rc = t_run(&out, &err, "undo '%s' '%s'", undo, img);
	cr_assert_eq(rc, 0, "%s: undo rc %d: %s", name, rc, err);
	cr_assert(strstr(out, "restored "), "%s", out);
	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, want, "%s: undo did not restore the image's bytes", name);
	free(out);
	free(err);
	free(img);
	free(want);
	free(undo);
	free(before);
}

GOLDEN_TEST(undo, restores_s03, .timeout = 120) { check_undo("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(undo, restores_s04, .timeout = 120) { check_undo("s04-writeback-dirty-crash"); }
GOLDEN_TEST(undo, restores_s05, .timeout = 120) { check_undo("s05-btree-depth2"); }
GOLDEN_TEST(undo, restores_s06, .timeout = 120) { check_undo("s06-flash-volume"); }

/* An undo file from a fsck -y on s04, and the repaired image. */
static void make_undo(char **img, char **undo)
{
	int rc;

	*img = t_golden_image("s04-writeback-dirty-crash", "cache");
	*undo = t_tmpfile(0);
	rc = t_run(NULL, NULL, "fsck -y --undo '%s' '%s'", *undo, *img);
	cr_assert_eq(rc, 1, "fsck -y rc %d", rc);
}

GOLDEN_TEST(undo, refuses_another_device, .timeout = 120)
{
	char *img, *undo, *other = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	char *err = NULL;
	char *want = raw_sha("s03-writeback-dirty-clean-stop"), sum[65], msg[128];
	int rc;

	make_undo(&img, &undo);
	rc = t_run(NULL, &err, "undo '%s' '%s'", undo, other);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "does not match undo file"), "%s", err);
	t_sha256_file(other, sum);
	cr_assert_str_eq(sum, want, "the other device was written");
	free(err);
	/* a device of another size */
	rc = t_sh(NULL, NULL, "truncate -s +4096 '%s'", other);
	cr_assert_eq(rc, 0);
	rc = t_run(NULL, &err, "undo '%s' '%s'", undo, other);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, err);
	snprintf(msg, sizeof(msg), "is for a %lld-byte device",
		 manifest_size("s04-writeback-dirty-crash"));
	cr_assert(strstr(err, msg), "%s", err);
	free(err);
	free(img);
	free(undo);
	free(other);
	free(want);
}

/* Flip one byte of the undo file at byte at (< 0: from its end); undo must refuse with msg and write nothing. */
static void check_damage(long long at, const char *msg)
{
	char *img, *undo, *err = NULL, before[65], sum[65];
	struct stat st;
	int rc;

	make_undo(&img, &undo);
	t_sha256_file(img, before);
	cr_assert_eq(stat(undo, &st), 0);
	if (at < 0)
		at += st.st_size;
	rc = t_sh(NULL, NULL, "printf '\\377' | dd of='%s' bs=1 seek=%llu conv=notrunc "
		  "status=none", undo, (unsigned long long)at);
	cr_assert_eq(rc, 0);
	rc = t_run(NULL, &err, "undo '%s' '%s'", undo, img);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, err);
	cr_assert(strstr(err, msg), "expected '%s' in: %s", msg, err);
	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, before, "a damaged undo file was applied");
	free(err);
	rc = t_run(NULL, &err, "undo -n '%s' '%s'", undo, img);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, err);
	free(err);
	free(img);
	free(undo);
}

#define REC0 sizeof(struct bt_undo_hdr)

/* Rewrite the header of undo file path with state and version (and its checksum). */
static void set_state(const char *path, uint32_t state, uint32_t version)
{
	struct bt_undo_hdr h;
	FILE *f = fopen(path, "r+b");

	cr_assert(f, "%s", path);
	cr_assert_eq(fread(&h, sizeof(h), 1, f), 1);
	h.state = htole32(state);
	h.version = htole32(version);
	h.csum = htole64(bch_crc64(&h, offsetof(struct bt_undo_hdr, csum)));
	cr_assert_eq(fseek(f, 0, SEEK_SET), 0);
	cr_assert_eq(fwrite(&h, sizeof(h), 1, f), 1);
	cr_assert_eq(fclose(f), 0);
}

GOLDEN_TEST(undo, refuses_damaged_data, .timeout = 120)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "bad checksum in undo file '");
	check_damage(REC0 + sizeof(struct bt_undo_rec_hdr) + 100, msg);
	snprintf(msg, sizeof(msg), "': record at byte %zu (device bytes ", REC0);
	check_damage(REC0 + sizeof(struct bt_undo_rec_hdr) + 100, msg);
}

GOLDEN_TEST(undo, refuses_damaged_record_header, .timeout = 120)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "bad record header in undo file '");
	check_damage(REC0 + 9, msg);
}

GOLDEN_TEST(undo, refuses_damaged_header, .timeout = 120)
{
	check_damage(5000, "bad checksum in the header of undo file");
	check_damage(0, "is not a bcache-tool undo file");
}

/* A second run adds to the same file; undo goes back to before the first. */
GOLDEN_TEST(undo, resumed_file_goes_back_to_first_state, .timeout = 120)
{
	char *img, *undo, *out = NULL, *want = raw_sha("s04-writeback-dirty-crash"), sum[65];
	int rc;

	make_undo(&img, &undo);
	rc = t_run(&out, NULL, "fsck -y --undo '%s' '%s'", undo, img);
	cr_assert_eq(rc, 0, "second fsck -y rc %d: %s", rc, out);
	free(out);
	rc = t_run(NULL, NULL, "undo '%s' '%s'", undo, img);
	cr_assert_eq(rc, 0);
	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, want);
	free(img);
	free(undo);
	free(want);
}

/* An existing file that is not an undo file for this device is not overwritten. */
GOLDEN_TEST(undo, fsck_refuses_existing_other_file, .timeout = 120)
{
	char *img = t_golden_image("s04-writeback-dirty-crash", "cache"), *junk = t_tmpfile(0);
	char *err = NULL;
	char *want = raw_sha("s04-writeback-dirty-crash"), sum[65];
	FILE *f = fopen(junk, "w");
	int rc;

	fputs("precious\n", f);
	fclose(f);
	rc = t_run(NULL, &err, "fsck -y --undo '%s' '%s'", junk, img);
	cr_assert_eq(rc, 8, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "refusing to overwrite"), "%s", err);
	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, want, "fsck wrote to the device without its undo file");
	free(err);
	cr_assert_eq(t_sh(&err, NULL, "cat '%s'", junk), 0);
	cr_assert_str_eq(err, "precious\n");
	free(err);
	rc = t_run(NULL, NULL, "fsck -n --undo '%s' '%s'", junk, img);
	cr_assert_eq(rc, 16);
	free(img);
	free(junk);
	free(want);
}

/* Replay with the undo log attached, failing after write_limit writes (< 0: none). */
static int replay_with_undo(const char *img, const char *undo, long write_limit,
			    unsigned long *writes)
{
	struct printbuf err = PRINTBUF;
	struct bt_replay_stats st;
	struct bt_node_cache *nc;
	struct cache_set c;
	struct bt_dev dev;
	int ret;

	cr_assert_eq(bt_dev_open(img, BT_DEV_RDWR | BT_DEV_FORCE, &dev, &err), 0, "%s",
		     printbuf_str(&err));
	cr_assert_eq(bt_undo_open(&dev, open_undo(undo), undo, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_cache_set_open(&c, &dev, 0, &err), 0, "%s", printbuf_str(&err));
	nc = bt_node_cache_new(&c, 1 << 20, 0);
	dev.write_limit = write_limit;
	ret = bt_journal_replay(&c, nc, 0, &st, NULL, &err);
	*writes = dev.nr_writes;
	bt_node_cache_free(nc);
	bt_cache_set_exit(&c);
	if (!ret)
		cr_assert_eq(bt_undo_close(&dev, &err), 0, "%s", printbuf_str(&err));
	bt_dev_close(&dev);	/* after a failure: the undo file is left unfinished */
	printbuf_exit(&err);
	return ret;
}

/* A replay that stops after k writes (a crash): undo still restores the image. */
GOLDEN_TEST(undo, crashed_run_restores, .timeout = 300)
{
	char *want = raw_sha("s04-writeback-dirty-crash"), sum[65];
	unsigned long total, writes;
	char *img = t_golden_image("s04-writeback-dirty-crash", "cache"), *undo = t_tmpfile(0);

	cr_assert_eq(replay_with_undo(img, undo, -1, &total), 0);
	cr_assert_gt(total, 1);
	free(img);
	free(undo);
	for (long k = 1; k < (long)total; k++) {
		char *err = NULL;
		int rc;

		img = t_golden_image("s04-writeback-dirty-crash", "cache");
		undo = t_tmpfile(0);
		cr_assert_eq(replay_with_undo(img, undo, k, &writes), -BT_ERR_WRITE_LIMIT);
		cr_assert_eq(writes, (unsigned long)k);
		rc = t_run(NULL, &err, "undo '%s' '%s'", undo, img);
		cr_assert_eq(rc, 0, "k=%ld: rc %d: %s", k, rc, err);
		cr_assert(strstr(err, "did not finish"), "%s", err);
		cr_assert(strstr(err, "not the contents of the saved ranges"), "%s", err);
		t_sha256_file(img, sum);
		cr_assert_str_eq(sum, want, "k=%ld: not restored", k);
		free(err);
		free(img);
		free(undo);
	}
	free(want);
}

/* Blocks are saved once, 4 KiB aligned, before the first overwrite; a torn last record is ignored. */
Test(undo, saves_each_block_once)
{
	enum { SIZE = 64 * 4096 };
	unsigned char *mem = malloc(SIZE), *orig = malloc(SIZE), buf[10000];
	char *undo = t_tmpfile(0);
	struct printbuf err = PRINTBUF;
	struct bt_undo_file uf;
	struct bt_dev dev;

	for (size_t i = 0; i < SIZE; i++)
		mem[i] = (unsigned char)(i * 7 + (i >> 12));
	memcpy(orig, mem, SIZE);
	memset(buf, 0xab, sizeof(buf));
	bt_dev_open_mem(&dev, "mem", mem, SIZE, false);
	cr_assert_eq(bt_undo_open(&dev, open_undo(undo), undo, &err), 0, "%s", printbuf_str(&err));
	/* 100+10000 bytes at 5000: blocks 1..3 */
	cr_assert_eq(bt_dev_write(&dev, buf, 10000, 5000, "a", &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_dev_write(&dev, buf, 10000, 5000, "a again", &err), 0);
	/* blocks 3..5: only 4 and 5 are new */
	cr_assert_eq(bt_dev_write(&dev, buf, 8192, 3 * 4096 + 10, "b", &err), 0);
	/* the last, partial-to-the-end block */
	cr_assert_eq(bt_dev_write(&dev, buf, 1, SIZE - 1, "c", &err), 0);
	cr_assert_eq(bt_undo_close(&dev, &err), 0, "%s", printbuf_str(&err));

	cr_assert_eq(bt_undo_file_load(undo, &uf, &err), 0, "%s", printbuf_str(&err));
	cr_assert(uf.finished);
	cr_assert(uf.has_digest);
	cr_assert_eq(uf.version, 2);
	cr_assert_not(uf.torn_tail);
	cr_assert_eq(uf.nr, 3);
	cr_assert_eq(uf.recs[0].offset, 4096);
	cr_assert_eq(uf.recs[0].len, 3 * 4096);
	cr_assert_eq(uf.recs[1].offset, 4 * 4096);
	cr_assert_eq(uf.recs[1].len, 2 * 4096);
	cr_assert_eq(uf.recs[2].offset, SIZE - 4096);
	cr_assert_eq(uf.recs[2].len, 4096);
	/* the superblock block (byte 4096) was written: sb_final is the new one */
	cr_assert(!memcmp(uf.hdr.sb_open, orig + 4096, 4096));
	cr_assert(!memcmp(uf.hdr.sb_final, mem + 4096, 4096));
	cr_assert_eq(bt_undo_file_check_dev(&uf, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_undo_file_apply(&uf, &dev, &err), 3, "%s", printbuf_str(&err));
	cr_assert(!memcmp(mem, orig, SIZE));
	bt_undo_file_exit(&uf);

	/* cut the last record short: a finished file that lost its digest is refused */
	cr_assert_eq(truncate(undo, (off_t)(REC0 + 3 * sizeof(struct bt_undo_rec_hdr) +
					     5 * 4096 + 100)), 0);
	cr_assert_eq(bt_undo_file_load(undo, &uf, &err), -BT_ERR_UNDO_BAD);
	cr_assert(strstr(printbuf_str(&err), "is marked finished but has no digest"), "%s",
		  printbuf_str(&err));
	bt_undo_file_exit(&uf);
	printbuf_reset(&err);
	/* as a crash leaves it (unfinished): the torn record is ignored, the others load */
	set_state(undo, 0, 2);
	cr_assert_eq(bt_undo_file_load(undo, &uf, &err), 0, "%s", printbuf_str(&err));
	cr_assert_not(uf.finished);
	cr_assert_not(uf.has_digest);
	cr_assert(uf.torn_tail);
	cr_assert_eq(uf.nr, 2);
	bt_undo_file_exit(&uf);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	free(mem);
	free(orig);
	free(undo);
}

/* A write whose old contents cannot be saved is not done. */
Test(undo, unsaved_write_not_done)
{
	enum { SIZE = 16 * 4096 };
	unsigned char *mem = calloc(1, SIZE), buf[4096];
	char *undo = t_tmpfile(0);
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;

	memset(buf, 0xab, sizeof(buf));
	bt_dev_open_mem(&dev, "mem", mem, SIZE, false);
	cr_assert_eq(bt_undo_open(&dev, open_undo(undo), undo, &err), 0, "%s", printbuf_str(&err));
	dev.fail_read_off = 8 * 4096;
	dev.fail_read_len = 1;
	cr_assert_eq(bt_dev_write(&dev, buf, 4096, 8 * 4096, "node", &err), -EIO);
	cr_assert(strstr(printbuf_str(&err), "could not be saved to the undo file"), "%s",
		  printbuf_str(&err));
	cr_assert_eq(mem[8 * 4096], 0, "written without its old contents saved");
	cr_assert_eq(dev.nr_writes, 0);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	free(mem);
	free(undo);
}

/* ---- the digest of the final contents (version 2) ---- */

/* s07 with its root node's bset checksum broken (tests/fsck/bset-bad-csum),
 * repaired by fsck -y --undo; *sum: sha256 of the image before the repair. */
static void make_repaired(char **img, char **undo, char sum[65])
{
	char *err = NULL, after[65];
	int rc;

	*img = t_golden_image("s07-writethrough-clean", "cache");
	*undo = t_tmpfile(0);
	rc = t_sh(NULL, &err, "'%s/tests/tools/corrupt' '%s' bytes root+16 00",
		  getenv("BT_BUILD"), *img);
	cr_assert_eq(rc, 0, "corrupt: %s", err);
	free(err);
	t_sha256_file(*img, sum);
	rc = t_run(NULL, &err, "fsck -y --undo '%s' '%s'", *undo, *img);
	cr_assert_eq(rc, 1, "fsck -y rc %d: %s", rc, err);
	free(err);
	t_sha256_file(*img, after);
	cr_assert_str_neq(after, sum, "the repair changed nothing");
}

/* The first range undo -n lists that lies outside the superblock block [4096, 8192). */
static void range_outside_sb(const char *undo, const char *img, unsigned long long *at,
			     unsigned long long *len, size_t *nr)
{
	char *out = NULL, *p;
	bool found = false;

	cr_assert_eq(t_run(&out, NULL, "undo -n '%s' '%s'", undo, img), 0);
	*nr = 0;
	for (p = out; (p = strstr(p, "would restore ")); p++) {
		unsigned long long l, a;

		cr_assert_eq(sscanf(p, "would restore %llu bytes at byte %llu", &l, &a), 2);
		(*nr)++;
		if (!found && (a >= 8192 || a + l <= 4096)) {
			*at = a;
			*len = l;
			found = true;
		}
	}
	cr_assert(found, "every range touches the superblock block:\n%s", out);
	free(out);
}

/* Invert the byte at off of path. */
static void flip_byte(const char *path, uint64_t off)
{
	FILE *f = fopen(path, "r+b");
	int c;

	cr_assert(f, "%s", path);
	cr_assert_eq(fseek(f, (long)off, SEEK_SET), 0);
	c = fgetc(f);
	cr_assert_neq(c, EOF);
	cr_assert_eq(fseek(f, (long)off, SEEK_SET), 0);
	cr_assert_neq(fputc(c ^ 0xff, f), EOF);
	cr_assert_eq(fclose(f), 0);
}

/* A byte changed after the run in a block it wrote, outside the superblock: refused; --force restores. */
GOLDEN_TEST(undo, refuses_range_changed_since, .timeout = 120)
{
	char *img, *undo, *err = NULL, orig[65], before[65], sum[65], msg[512];
	unsigned long long at, len;
	size_t nr;
	int rc;

	make_repaired(&img, &undo, orig);
	range_outside_sb(undo, img, &at, &len, &nr);
	flip_byte(img, at + len / 2);
	t_sha256_file(img, before);
	snprintf(msg, sizeof(msg), "device bytes %llu+%llu of '%s' changed since the run "
		 "that wrote undo file '%s'", at, len, img, undo);

	rc = t_run(NULL, &err, "undo '%s' '%s'", undo, img);
	cr_assert_eq(rc, 1, "rc %d: %s", rc, err);
	cr_assert(strstr(err, msg), "expected '%s' in: %s", msg, err);
	cr_assert(strstr(err, "refusing to apply"), "%s", err);
	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, before, "a changed device was written");
	free(err);
	rc = t_run(NULL, &err, "undo -n '%s' '%s'", undo, img);
	cr_assert_eq(rc, 1, "-n rc %d: %s", rc, err);
	free(err);

	rc = t_run(NULL, &err, "undo --force '%s' '%s'", undo, img);
	cr_assert_eq(rc, 0, "--force rc %d: %s", rc, err);
	cr_assert(strstr(err, msg), "expected '%s' in: %s", msg, err);
	cr_assert(strstr(err, "applying anyway (--force)"), "%s", err);
	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, orig, "--force did not restore the bytes before the repair");
	free(err);
	free(img);
	free(undo);
}

/* A range already back to its saved bytes (an interrupted undo) is accepted. */
GOLDEN_TEST(undo, rerun_after_interrupted_undo, .timeout = 120)
{
	char *img, *undo, *err = NULL, *copy = t_tmpfile(0), orig[65], sum[65], msg[128];
	unsigned long long at, len;
	size_t nr;
	int rc;

	make_repaired(&img, &undo, orig);
	range_outside_sb(undo, img, &at, &len, &nr);
	/* the original bytes of that range: from a copy the undo restores completely */
	cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s'", img, copy), 0);
	cr_assert_eq(t_run(NULL, NULL, "undo '%s' '%s'", undo, copy), 0);
	t_sha256_file(copy, sum);
	cr_assert_str_eq(sum, orig);
	rc = t_sh(NULL, &err, "dd if='%s' of='%s' bs=4096 skip=%llu seek=%llu count=%llu "
		  "conv=notrunc status=none", copy, img, at / 4096, at / 4096, len / 4096);
	cr_assert_eq(rc, 0, "%s", err);
	free(err);

	rc = t_run(NULL, &err, "undo '%s' '%s'", undo, img);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	snprintf(msg, sizeof(msg), "1 of %zu ranges already hold their saved bytes", nr);
	cr_assert(strstr(err, msg), "expected '%s' in: %s", msg, err);
	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, orig);
	free(err);
	free(img);
	free(undo);
	free(copy);
}

/* A damaged digest is a damaged undo file. */
GOLDEN_TEST(undo, refuses_damaged_digest, .timeout = 120)
{
	check_damage(-1, "bad digest in undo file '");
	check_damage(-(long long)sizeof(struct bt_undo_digest_ent) - 1,
		     "bad digest in undo file '");
}

/* A resumed file ends with a digest of every record, from both runs. */
Test(undo, resumed_file_digest_covers_all_records)
{
	enum { SIZE = 32 * 4096 };
	unsigned char *mem = malloc(SIZE), buf[4096];
	char *undo = t_tmpfile(0);
	struct printbuf err = PRINTBUF;
	struct bt_undo_file uf;
	struct bt_dev dev;
	const uint64_t blocks[2] = { 10 * 4096, 20 * 4096 };

	for (size_t i = 0; i < SIZE; i++)
		mem[i] = (unsigned char)(i * 13 + (i >> 12));
	memset(buf, 0x5a, sizeof(buf));
	bt_dev_open_mem(&dev, "mem", mem, SIZE, false);
	for (int run = 0; run < 2; run++) {
		cr_assert_eq(bt_undo_open(&dev, open_undo(undo), undo, &err), 0, "%s", printbuf_str(&err));
		cr_assert_eq(bt_dev_write(&dev, buf, 4096, blocks[run], "blk", &err), 0);
		cr_assert_eq(bt_undo_close(&dev, &err), 0, "%s", printbuf_str(&err));
	}
	cr_assert_eq(bt_undo_file_load(undo, &uf, &err), 0, "%s", printbuf_str(&err));
	cr_assert(uf.has_digest);
	cr_assert_eq(uf.nr, 2);
	cr_assert_eq(bt_undo_file_check_dev(&uf, &dev, &err), 0, "%s", printbuf_str(&err));
	for (int i = 0; i < 2; i++) {
		char msg[64];

		mem[blocks[i] + 7] ^= 1;
		cr_assert_eq(bt_undo_file_check_dev(&uf, &dev, &err), -BT_ERR_UNDO_WRONG_DEV);
		snprintf(msg, sizeof(msg), "device bytes %llu+4096 of 'mem' changed",
			 (unsigned long long)blocks[i]);
		cr_assert(strstr(printbuf_str(&err), msg), "%s", printbuf_str(&err));
		printbuf_reset(&err);
		mem[blocks[i] + 7] ^= 1;
	}
	/* a third run, crashed: no digest, only the old check; the byte change passes */
	cr_assert_eq(bt_undo_open(&dev, open_undo(undo), undo, &err), 0, "%s", printbuf_str(&err));
	bt_undo_free(&dev);
	bt_undo_file_exit(&uf);
	cr_assert_eq(bt_undo_file_load(undo, &uf, &err), 0, "%s", printbuf_str(&err));
	cr_assert_not(uf.finished);
	cr_assert_not(uf.has_digest);
	mem[blocks[0] + 7] ^= 1;
	cr_assert_eq(bt_undo_file_check_dev(&uf, &dev, &err), 0, "%s", printbuf_str(&err));
	bt_undo_file_exit(&uf);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	free(mem);
	free(undo);
}

/* A version-1 file, written here by hand as undo.h describes it, still applies (old check only). */
GOLDEN_TEST(undo, version1_file_applies, .timeout = 120)
{
	const char *name = "s04-writeback-dirty-crash";
	char *img = t_golden_image(name, "cache"), *undo = t_tmpfile(0), *want = raw_sha(name);
	char *err = NULL, sum[65], msg[256];
	const uint64_t at = 64 * 4096;
	struct bt_undo_hdr *h = calloc(1, sizeof(*h));
	struct bt_undo_rec_hdr r = { .magic = BT_UNDO_REC_MAGIC };
	unsigned char orig[4096], junk[4096];
	FILE *f = fopen(img, "r+b");
	int rc;

	/* the header: size, superblock block as it is (the "run" did not write it) */
	cr_assert(f);
	memcpy(h->magic, BT_UNDO_MAGIC, sizeof(h->magic));
	h->version = htole32(1);
	h->state = htole32(BT_UNDO_STATE_FINISHED);
	h->dev_size = htole64((uint64_t)manifest_size(name));
	h->sb_offset = htole64(4096);
	h->sb_len = htole32(4096);
	cr_assert_eq(fseek(f, 4096, SEEK_SET), 0);
	cr_assert_eq(fread(h->sb_open, 4096, 1, f), 1);
	memcpy(h->sb_final, h->sb_open, 4096);
	h->csum = htole64(bch_crc64(h, offsetof(struct bt_undo_hdr, csum)));
	/* one record: the block at byte at, then overwritten on the device */
	cr_assert_eq(fseek(f, (long)at, SEEK_SET), 0);
	cr_assert_eq(fread(orig, sizeof(orig), 1, f), 1);
	r.offset = htole64(at);
	r.len = htole32(sizeof(orig));
	r.data_csum = htole64(bch_crc64(orig, sizeof(orig)));
	r.csum = htole64(bch_crc64(&r, offsetof(struct bt_undo_rec_hdr, csum)));
	memset(junk, 0x77, sizeof(junk));
	cr_assert_eq(fseek(f, (long)at, SEEK_SET), 0);
	cr_assert_eq(fwrite(junk, sizeof(junk), 1, f), 1);
	cr_assert_eq(fclose(f), 0);
	t_sha256_file(img, sum);
	cr_assert_str_neq(sum, want, "the block was not overwritten");
	f = fopen(undo, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(h, sizeof(*h), 1, f), 1);
	cr_assert_eq(fwrite(&r, sizeof(r), 1, f), 1);
	cr_assert_eq(fwrite(orig, sizeof(orig), 1, f), 1);
	cr_assert_eq(fclose(f), 0);

	rc = t_run(NULL, &err, "undo '%s' '%s'", undo, img);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	snprintf(msg, sizeof(msg), "undo: '%s' is a version-1 undo file: only the device's "
		 "size and superblock were checked", undo);
	cr_assert(strstr(err, msg), "expected '%s' in: %s", msg, err);
	t_sha256_file(img, sum);
	cr_assert_str_eq(sum, want, "the version-1 file did not restore the block");
	free(err);
	free(h);
	free(img);
	free(undo);
	free(want);
}
