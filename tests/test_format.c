/* test_format.c --- bcache-tool format against make-bcache and bcache-super-show 1.0.8.
 *
 * Independent sources: Debian's make-bcache and bcache-super-show (1.0.8),
 * blkid, mkfs.ext4, and the formulas and csum vector of FORMAT.md 1.7-1.10.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "format/format.h"
#include "helpers.h"
#include "libcore/base/csum.h"
#include "libcore/base/ondisk.h"
#include "libcore/ondisk/sb.h"

#define MiB (1024ULL * 1024)
#define SET_UUID "01234567-89ab-cdef-0123-456789abcdef"
#define DEV_UUID "00112233-4455-6677-8899-aabbccddeeff"

/* Strings a test keeps to its end: freed by the suite's fini. */
static char *kept[256];
static unsigned nr_kept;

static char *keep(char *p)
{
	cr_assert(nr_kept < sizeof(kept) / sizeof(kept[0]));
	kept[nr_kept++] = p;
	return p;
}

static void free_kept(void)
{
	while (nr_kept)
		free(kept[--nr_kept]);
}

TestSuite(format, .fini = free_kept);

/* A new sparse temporary file of size bytes. */
static char *tmp(uint64_t size)
{
	return keep(t_tmpfile(size));
}

/* The value of "key<blanks>value" in text (bcache-super-show / show-super output); kept. */
static char *kv(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *l = text;

	while (l && *l) {
		if (!strncmp(l, key, klen) && (l[klen] == ' ' || l[klen] == '\t')) {
			const char *v = l + klen, *end;

			while (*v == ' ' || *v == '\t')
				v++;
			end = v + strcspn(v, "\n");
			while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
				end--;
			return keep(strndup(v, (size_t)(end - v)));
		}
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	cr_assert_fail("no field '%s' in:\n%s", key, text);
	return NULL;
}

static void expect_kv(const char *text, const char *key, const char *want)
{
	char *v = kv(text, key);

	cr_expect_str_eq(v, want, "%s: got '%s', expected '%s'", key, v, want);
}

static void expect_kv_u(const char *text, const char *key, unsigned long long want)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", want);
	expect_kv(text, key, buf);
}

static char *super_show(const char *path)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(t_sh(&out, &err, "bcache-super-show '%s'", path), 0,
		     "bcache-super-show refused %s: %s%s", path, out, err);
	free(err);
	return out;
}

static void read_bytes(const char *path, uint64_t off, void *buf, size_t len)
{
	FILE *f = fopen(path, "rb");

	cr_assert(f);
	cr_assert_eq(fseek(f, (long)off, SEEK_SET), 0);
	cr_assert_eq(fread(buf, 1, len, f), len);
	fclose(f);
}

static void fill_file(const char *path, uint8_t byte, size_t len)
{
	FILE *f = fopen(path, "r+b");
	uint8_t *buf = malloc(len);

	cr_assert(f && buf);
	memset(buf, byte, len);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
}

static int format(char **err, const char *fmt_args, const char *path)
{
	char *out = NULL;
	int ret = t_run(&out, err, "format %s '%s'", fmt_args, path);

	free(out);
	return ret;
}

/* ---- accepted by bcache-super-show with every field as asked ------------- */

Test(format, cache_fields_in_bcache_super_show)
{
	char *dev = tmp(300 * MiB), *out, *err = NULL;
	/* 300 MiB in 256 KiB buckets: FORMAT.md 1.8 */
	unsigned long long sectors = 300 * MiB / 512, bucket = 512, nbuckets = sectors / bucket;

	cr_assert_eq(t_run(NULL, &err, "format --bucket 256k --block 2k --discard "
			   "--cache-replacement-policy fifo --cset-uuid " SET_UUID
			   " --uuid " DEV_UUID " --label 'fast cache' -C '%s'", dev), 0, "%s", err);
	out = super_show(dev);
	expect_kv(out, "sb.magic", "ok");
	expect_kv(out, "sb.first_sector", "8 [match]");
	cr_expect(strstr(kv(out, "sb.csum"), "[match]"));
	/* an initialised cache set: the kernel's first superblock write (FORMAT.md 1.3, 9.1) */
	expect_kv(out, "sb.version", "3 [cache device]");
	/* bcache-super-show 1.0.8 percent-encodes the label it prints */
	expect_kv(out, "dev.label", "fast%20cache");
	expect_kv(out, "dev.uuid", DEV_UUID);
	expect_kv(out, "dev.sectors_per_block", "4");
	expect_kv(out, "dev.sectors_per_bucket", "512");
	/* first_bucket = 23 / 512 + 1 = 1 */
	expect_kv_u(out, "dev.cache.first_sector", bucket);
	expect_kv_u(out, "dev.cache.cache_sectors", (nbuckets - 1) * bucket);
	expect_kv_u(out, "dev.cache.total_sectors", nbuckets * bucket);
	/* bcache-super-show calls CACHE_SYNC "ordered": set in an initialised set */
	expect_kv(out, "dev.cache.ordered", "yes");
	expect_kv(out, "dev.cache.discard", "yes");
	expect_kv(out, "dev.cache.pos", "0");
	expect_kv(out, "dev.cache.replacement", "1 [fifo]");
	expect_kv(out, "cset.uuid", SET_UUID);
	{
		char label[33] = { 0 };

		read_bytes(dev, 4096 + 72, label, 32);
		cr_expect_str_eq(label, "fast cache");
	}
	free(out);
	free(err);
}

Test(format, backing_fields_in_bcache_super_show)
{
	char *dev = tmp(64 * MiB), *out, *err = NULL;

	cr_assert_eq(t_run(NULL, &err, "format --writeback --data-offset 2048 --block 1k "
			   "--cset-uuid " SET_UUID " --uuid " DEV_UUID " -l data -B '%s'", dev),
		     0, "%s", err);
	out = super_show(dev);
	expect_kv(out, "sb.magic", "ok");
	expect_kv(out, "sb.first_sector", "8 [match]");
	cr_expect(strstr(kv(out, "sb.csum"), "[match]"));
	/* data offset != 16: version 4 (FORMAT.md 1.9) */
	expect_kv(out, "sb.version", "4 [backing device]");
	expect_kv(out, "dev.label", "data");
	expect_kv(out, "dev.uuid", DEV_UUID);
	expect_kv(out, "dev.sectors_per_block", "2");
	expect_kv(out, "dev.sectors_per_bucket", "1024");
	expect_kv(out, "dev.data.first_sector", "2048");
	expect_kv(out, "dev.data.cache_mode", "1 [writeback]");
	expect_kv(out, "dev.data.cache_state", "0 [detached]");
	expect_kv(out, "cset.uuid", SET_UUID);
	free(out);
	free(err);
}

Test(format, one_set_uuid_per_invocation_and_device_order)
{
	char *a = tmp(300 * MiB), *b = tmp(32 * MiB), *c = tmp(32 * MiB);
	char *err = NULL, *sa, *sb, *sc, *set;

	/* -B and -C apply to the devices after them, repeated as make-bcache allows */
	cr_assert_eq(t_run(NULL, &err, "format -B '%s' -C '%s' -B '%s'", b, a, c), 0, "%s", err);
	sa = super_show(a);
	sb = super_show(b);
	sc = super_show(c);
	expect_kv(sa, "sb.version", "3 [cache device]");
	expect_kv(sb, "sb.version", "1 [backing device]");
	expect_kv(sc, "sb.version", "1 [backing device]");
	set = kv(sa, "cset.uuid");
	expect_kv(sb, "cset.uuid", set);
	expect_kv(sc, "cset.uuid", set);
	cr_expect_str_neq(kv(sa, "dev.uuid"), kv(sb, "dev.uuid"));
	cr_expect_str_neq(kv(sb, "dev.uuid"), kv(sc, "dev.uuid"));
	free(sa);
	free(sb);
	free(sc);
	free(err);
}

/* ---- make-bcache's superblocks read by our show-super ------------------- */

/* Every field bcache-super-show prints has the same value in show-super. */
static void compare_show(const char *dev)
{
	char *theirs = super_show(dev), *ours = NULL, *err = NULL, *l;
	unsigned nr = 0;

	cr_assert_eq(t_run(&ours, &err, "show-super '%s'", dev), 0, "%s", err);
	for (l = theirs; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char key[64], *v1, *v2;

		if (sscanf(l, "%63s", key) != 1 || *l == '\n')
			continue;
		v1 = kv(theirs, key);
		v2 = kv(ours, key);
		if (!strcmp(key, "sb.version")) {
			/*
			 * bcache-super-show 1.0.8 calls version 4 "[backing device]";
			 * show-super is more precise ("with data offset"): compare the number.
			 */
			cr_expect_eq(strtoul(v1, NULL, 10), strtoul(v2, NULL, 10),
				     "sb.version: '%s' vs '%s'", v1, v2);
		} else if (!strcmp(key, "sb.csum")) {
			/* bcache-super-show 1.0.8 does not zero-pad the hex csum */
			char *e1, *e2;

			cr_expect_eq(strtoull(v1, &e1, 16), strtoull(v2, &e2, 16),
				     "sb.csum: '%s' vs '%s'", v1, v2);
			cr_expect_str_eq(e1, e2, "sb.csum: '%s' vs '%s'", v1, v2);
		} else {
			cr_expect_str_eq(v1, v2, "%s: bcache-super-show '%s', show-super '%s'",
					 key, v1, v2);
		}
		nr++;
	}
	cr_expect_geq(nr, 11, "only %u fields compared", nr);
	free(theirs);
	free(ours);
	free(err);
}

Test(format, make_bcache_devices_in_show_super)
{
	char *a = tmp(300 * MiB), *b = tmp(32 * MiB);
	char *c = tmp(300 * MiB), *d = tmp(32 * MiB);

	cr_assert_eq(t_sh(NULL, NULL, "make-bcache -C '%s' -B '%s'", a, b), 0);
	compare_show(a);
	compare_show(b);
	cr_assert_eq(t_sh(NULL, NULL, "make-bcache --bucket 8k --block 4k --discard "
			  "--cache_replacement_policy=random -C '%s' --writeback "
			  "--data-offset 4096 -B '%s'", c, d), 0);
	compare_show(c);
	compare_show(d);
}

/* ---- byte for byte against make-bcache ---------------------------------- */

/*
 * Format a with make-bcache (mb_args) and b with bcache-tool (bt_args), the
 * same set uuid and a's device uuid, then compare bytes 0..8191. make-bcache
 * 1.0.8 writes 2256 bytes of struct at byte 4096 and leaves the rest of the
 * 4 KiB block as it was; bcache-tool writes the whole block, zero past the
 * struct. On zeroed files the two are equal byte for byte; with prefill the
 * only difference must be bytes 4096+2256 .. 8191.
 */
static void compare_bytes(const char *mb_args, const char *bt_args, uint64_t size, int prefill)
{
	char *a = tmp(size), *b = tmp(size), *err = NULL, uuid[37];
	uint8_t ba[8192], bb[8192];
	unsigned char raw[16];

	if (prefill >= 0) {
		fill_file(a, (uint8_t)prefill, 1 * MiB);
		fill_file(b, (uint8_t)prefill, 1 * MiB);
	}
	cr_assert_eq(t_sh(NULL, &err, "make-bcache --cset-uuid " SET_UUID " %s '%s'", mb_args, a),
		     0, "make-bcache: %s", err);
	free(err);
	read_bytes(a, 4096 + 40, raw, 16);
	snprintf(uuid, sizeof(uuid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", raw[0], raw[1], raw[2], raw[3], raw[4], raw[5],
		 raw[6], raw[7], raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14],
		 raw[15]);
	/* --sb-only: make-bcache's superblock alone (no cache set) */
	cr_assert_eq(t_run(NULL, &err, "format --sb-only --cset-uuid " SET_UUID " --uuid %s %s '%s'",
			   uuid, bt_args, b), 0, "format: %s", err);
	free(err);
	read_bytes(a, 0, ba, sizeof(ba));
	read_bytes(b, 0, bb, sizeof(bb));
	for (unsigned i = 0; i < sizeof(ba); i++) {
		if (prefill >= 0 && i >= 4096 + 2256) {
			cr_assert_eq(ba[i], (uint8_t)prefill, "make-bcache changed byte %u", i);
			cr_assert_eq(bb[i], 0, "bcache-tool left byte %u", i);
			continue;
		}
		cr_assert_eq(ba[i], bb[i], "byte %u (sb offset %d): make-bcache %02x, "
			     "bcache-tool %02x (%s)", i, (int)i - 4096, ba[i], bb[i], bt_args);
	}
}

static void skip_unless_page_blksize(void)
{
	struct stat st;
	const char *tmp = getenv("TMPDIR");

	cr_assert_eq(stat(tmp ? tmp : "/tmp", &st), 0);
	if (st.st_blksize != 4096)
		cr_skip_test("default block size: st_blksize is %ld, not 4096", (long)st.st_blksize);
}

Test(format, bytes_equal_cache_default)
{
	skip_unless_page_blksize();
	compare_bytes("-C", "-C", 512 * MiB, -1);
}

Test(format, bytes_equal_cache_options)
{
	compare_bytes("--bucket 256k --block 2k --discard --cache_replacement_policy=fifo -C",
		      "--bucket 256k --block 2k --discard --cache-replacement-policy fifo -C",
		      300 * MiB, -1);
	/* 16-sector buckets: first_bucket = 23/16 + 1 = 2 */
	compare_bytes("-b 8k -w 4k --cache-replacement-policy=random -C",
		      "-b 8k -w 4k --cache-replacement-policy random -C", 300 * MiB, -1);
	/* 1024 buckets of 16M: the kernel would not register 512 or fewer */
	compare_bytes("-b 16M -w 512 -C", "-b 16M -w 512 -C", 16384 * MiB, -1);
}

Test(format, bytes_equal_backing)
{
	skip_unless_page_blksize();
	compare_bytes("-B", "-B", 64 * MiB, -1);
	compare_bytes("--writeback -B", "--writeback -B", 64 * MiB, -1);
	compare_bytes("--data-offset 16 -B", "--data-offset 16 -B", 64 * MiB, -1);
	compare_bytes("-o 2048 --writeback -B", "-o 2048 --writeback -B", 64 * MiB, -1);
	compare_bytes("-b 64k -w 1k -o 8192 -B", "-b 64k -w 1k -o 8192 -B", 64 * MiB, -1);
}

Test(format, bytes_past_struct_differ_documented)
{
	compare_bytes("-w 4k -C", "-w 4k -C", 300 * MiB, 0xa5);
	compare_bytes("-w 4k -B", "-w 4k -B", 64 * MiB, 0x5a);
}

/* FORMAT.md 1.7 "fresh cache" vector: the superblock make-bcache builds. */
Test(format, build_sb_matches_format_md_vector)
{
	static const uint8_t uuid[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					  0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	static const uint8_t set[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
					 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	struct bt_format_opts o;
	struct cache_sb sb;
	uint8_t block[SB_SIZE] = { 0 };

	bt_format_opts_init(&o);
	memcpy(o.set_uuid, set, 16);
	bt_format_build_sb(&o, true, 8, 256 * 1024 + 1023, uuid, &sb);
	cr_assert_eq(sb.nbuckets, 256);
	cr_assert_eq(sb.first_bucket, 1);
	bt_sb_encode(&sb, (struct cache_sb_disk *)block);
	cr_assert_eq(le64toh(((struct cache_sb_disk *)block)->csum), 0xa56cecd975b7e6a7ULL);

	/* first_bucket = 23 / bucket_size + 1 (FORMAT.md 1.8) */
	o.bucket_size = 16;
	bt_format_build_sb(&o, true, 8, 1 << 20, uuid, &sb);
	cr_assert_eq(sb.first_bucket, 2);
	o.bucket_size = 8;
	bt_format_build_sb(&o, true, 8, 1 << 20, uuid, &sb);
	cr_assert_eq(sb.first_bucket, 3);
	cr_assert_eq(sb.nbuckets, (1 << 20) / 8);
}

/* ---- refusals ------------------------------------------------------------ */

Test(format, refuses_ext4_unless_force)
{
	char *dev = tmp(300 * MiB), *err = NULL, *out = NULL;
	char before[65], after[65];

	cr_assert_eq(t_sh(NULL, NULL, "mkfs.ext4 -F -q '%s'", dev), 0);
	t_sha256_file(dev, before);
	cr_assert_eq(format(&err, "-C", dev), 8);
	cr_expect(strstr(err, "ext4"), "message does not name the signature: %s", err);
	cr_expect(strstr(err, "--force"), "%s", err);
	t_sha256_file(dev, after);
	cr_assert_str_eq(before, after, "a refused format changed the device");
	free(err);

	cr_assert_eq(format(&err, "--force -C", dev), 0, "%s", err);
	free(err);
	/* blkid finds only bcache now: the ext4 magic was wiped */
	cr_assert_eq(t_sh(&out, NULL, "blkid -p -o value -s TYPE '%s'", dev), 0);
	cr_expect_str_eq(out, "bcache\n");
	free(out);
	cr_assert_eq(t_sh(&out, NULL, "wipefs -n '%s' 2>&1 || true", dev), 0);
	cr_expect_null(strstr(out, "ext4"), "ext4 still found: %s", out);
	free(out);
	out = super_show(dev);
	expect_kv(out, "sb.version", "3 [cache device]");
	free(out);
}

Test(format, refuses_partition_table_unless_force)
{
	char *dev = tmp(300 * MiB), *err = NULL, *out = NULL;
	uint8_t mbr[512] = { 0 };
	FILE *f;

	/* a DOS partition table with one Linux partition at sector 2048 */
	mbr[446 + 4] = 0x83;
	mbr[446 + 9] = 0x08;		/* start 2048, little-endian */
	mbr[446 + 13] = 0x01;		/* 65536 sectors */
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	f = fopen(dev, "r+b");
	cr_assert(f && fwrite(mbr, 1, sizeof(mbr), f) == sizeof(mbr));
	fclose(f);
	cr_assert_eq(t_sh(&out, NULL, "blkid -p -o value -s PTTYPE '%s'", dev), 0);
	cr_assert_str_eq(out, "dos\n");
	free(out);

	cr_assert_eq(format(&err, "-B", dev), 8);
	cr_expect(strstr(err, "dos partition table at byte 510"), "%s", err);
	free(err);
	cr_assert_eq(format(&err, "--sb-only -f -B", dev), 0, "%s", err);
	free(err);
	cr_assert_eq(t_sh(&out, NULL, "blkid -p -o export '%s'", dev), 0);
	cr_expect(strstr(out, "TYPE=bcache"), "%s", out);
	cr_expect_null(strstr(out, "PTTYPE"), "%s", out);
	free(out);
}

Test(format, refuses_old_bcache_without_wipe_bcache)
{
	char *dev = tmp(300 * MiB), *err = NULL, *out, *old_uuid;
	char before[65], after[65];

	cr_assert_eq(t_sh(NULL, NULL, "make-bcache -B '%s'", dev), 0);
	out = super_show(dev);
	old_uuid = kv(out, "dev.uuid");
	free(out);
	t_sha256_file(dev, before);
	cr_assert_eq(format(&err, "-C", dev), 8);
	cr_expect(strstr(err, "bcache superblock") && strstr(err, "--wipe-bcache"), "%s", err);
	t_sha256_file(dev, after);
	cr_assert_str_eq(before, after);
	free(err);

	cr_assert_eq(format(&err, "--wipe-bcache -C", dev), 0, "%s", err);
	free(err);
	out = super_show(dev);
	expect_kv(out, "sb.version", "3 [cache device]");
	cr_expect_str_neq(kv(out, "dev.uuid"), old_uuid);
	free(out);
}

Test(format, warns_when_reusing_the_old_set_uuid)
{
	char *dev = tmp(300 * MiB), *err = NULL;

	cr_assert_eq(t_sh(NULL, NULL, "make-bcache --cset-uuid " SET_UUID " -C '%s'", dev), 0);
	cr_assert_eq(format(&err, "--sb-only --wipe-bcache --cset-uuid " SET_UUID " -C", dev), 0,
		     "%s", err);
	cr_expect(strstr(err, "same cache set uuid"), "%s", err);
	free(err);
	/* without --sb-only the journal buckets are zeroed: nothing old can be replayed */
	cr_assert_eq(format(&err, "--wipe-bcache --cset-uuid " SET_UUID " -C", dev), 0, "%s", err);
	cr_expect_null(strstr(err, "same cache set uuid"), "%s", err);
	free(err);
	/* a new set uuid: no warning */
	cr_assert_eq(format(&err, "--wipe-bcache -C", dev), 0, "%s", err);
	cr_expect_null(strstr(err, "same cache set uuid"), "%s", err);
	free(err);
}

Test(format, dry_run_writes_nothing)
{
	char *dev = tmp(300 * MiB), *err = NULL, *out = NULL;
	char before[65], after[65];

	cr_assert_eq(t_sh(NULL, NULL, "mkfs.ext4 -F -q '%s'", dev), 0);
	t_sha256_file(dev, before);
	cr_assert_eq(t_run(&out, &err, "format --dry-run --force --discard -C '%s'", dev), 0,
		     "%s", err);
	cr_expect(strstr(out, "would wipe ext4 signature at byte 1080"), "%s", out);
	cr_expect(strstr(out, "would format"), "%s", out);
	/* 300 MiB of 512 KiB buckets: 600 buckets, clamp(600 >> 7, 2, 256) = 4 journal buckets */
	cr_expect(strstr(out, "would initialise the cache set: journal buckets 1-4, prio bucket 5, "
			 "uuid bucket 6, btree root in bucket 7 (512-sector node)"), "%s", out);
	cr_expect(strstr(out, "dev.cache.journal_buckets 4 [1,2,3,4]"), "%s", out);
	cr_expect(strstr(out, "dev.cache.discard       yes"), "%s", out);
	t_sha256_file(dev, after);
	cr_assert_str_eq(before, after, "--dry-run changed the device");
	free(out);
	free(err);

	/* a dry run still refuses what a real run would */
	cr_assert_eq(t_run(NULL, NULL, "format -n -C '%s'", dev), 8);
	t_sha256_file(dev, after);
	cr_assert_str_eq(before, after);
}

Test(format, refuses_too_few_buckets)
{
	/* 63 MiB in 512 KiB buckets: 126 buckets */
	char *dev = tmp(63 * MiB), *err = NULL;
	char before[65], after[65];

	t_sha256_file(dev, before);
	cr_assert_eq(format(&err, "-C", dev), 8);
	cr_expect(strstr(err, "not enough buckets") && strstr(err, "126 buckets") &&
		  strstr(err, "at least 128"), "%s", err);
	t_sha256_file(dev, after);
	cr_assert_str_eq(before, after);
	free(err);
	/* and make-bcache agrees */
	cr_assert_neq(t_sh(NULL, NULL, "make-bcache -C '%s'", dev), 0);
}

Test(format, refuses_a_busy_device)
{
	char *dev = tmp(300 * MiB), *out = NULL, *err = NULL;
	char before[65], after[65];
	const char *bin = getenv("BT_BIN");

	t_sha256_file(dev, before);
	/* another program holds the device (flock(1) takes the lock bcache-tool takes) */
	cr_assert_eq(t_sh(&out, &err, "flock -x '%s' '%s' format -C '%s'", dev, bin, dev), 8,
		     "%s%s", out, err);
	cr_expect(strstr(err, "locked"), "%s", err);
	t_sha256_file(dev, after);
	cr_assert_str_eq(before, after);
	free(out);
	free(err);
}

/*
 * 512 buckets (256 MiB of 512k buckets): Linux 5.x/6.x cache_alloc() refuses
 * to register it, so format refuses and says what fits; --force writes it
 * with the warning.
 */
Test(format, refuses_512_buckets)
{
	char *dev = tmp(256 * MiB), *err = NULL, *out, before[65], after[65];

	t_sha256_file(dev, before);
	cr_assert_eq(format(&err, "-C", dev), 8, "%s", err);
	cr_expect(strstr(err, "512 buckets of 1024 sectors: Linux 5.x and 6.x refuse to register "
			  "a cache of 512 buckets or fewer") &&
		  strstr(err, "use --bucket 256k: 1024 buckets (--force writes it anyway)"),
		  "%s", err);
	t_sha256_file(dev, after);
	cr_assert_str_eq(before, after);
	free(err);
	err = NULL;
	cr_assert_eq(format(&err, "--force -C", dev), 0, "%s", err);
	cr_expect(strstr(err, "warning: '") && strstr(err, "512 buckets or fewer") &&
		  strstr(err, "written anyway (--force)"), "%s", err);
	free(err);
	out = super_show(dev);
	expect_kv(out, "dev.cache.total_sectors", "524288");
	free(out);
}

/*
 * A one-page bucket passes the kernel's checks, but Linux 6.1 hangs reading
 * through it (FORMAT.md correction): refused as a bad option, --force
 * writes it with the warning.
 */
Test(format, refuses_one_page_buckets)
{
	char *dev = tmp(256 * MiB), *err = NULL, before[65], after[65];

	t_sha256_file(dev, before);
	cr_assert_eq(format(&err, "-C --bucket 4k", dev), 16, "%s", err);
	cr_expect(strstr(err, "buckets of 8 sectors (one page)") &&
		  strstr(err, "use --bucket 256k: 1024 buckets"), "%s", err);
	t_sha256_file(dev, after);
	cr_assert_str_eq(before, after);
	free(err);
	err = NULL;
	cr_assert_eq(format(&err, "--force -C --bucket 4k", dev), 0, "%s", err);
	cr_expect(strstr(err, "warning: '") && strstr(err, "buckets of 8 sectors (one page)") &&
		  strstr(err, "written anyway (--force)"), "%s", err);
	free(err);
	err = NULL;
	cr_assert_eq(format(&err, "-C --wipe-bcache --bucket 8k", dev), 0, "%s", err);
	cr_expect_not(strstr(err, "one page"), "%s", err);
	free(err);
}

static void expect_usage(const char *args, const char *msg)
{
	char *dev = tmp(300 * MiB), *err = NULL, before[65], after[65];

	t_sha256_file(dev, before);
	cr_expect_eq(format(&err, args, dev), 16, "'%s': %s", args, err);
	cr_expect(strstr(err, msg), "'%s': expected '%s' in: %s", args, msg, err);
	t_sha256_file(dev, after);
	cr_expect_str_eq(before, after);
	free(err);
}

Test(format, usage_errors)
{
	expect_usage("--bucket 1000 -C", "bucket size '1000' is not a power of two");
	expect_usage("--block 3k -C", "block size '3k' is not a power of two");
	expect_usage("--block 256 -C", "smaller than a sector");
	expect_usage("--bucket 4k --block 8k -B", "block size (16 sectors) is larger than the "
		     "bucket size (8 sectors)");
	expect_usage("--bucket 2k -B", "larger than the bucket size");
	expect_usage("--bucket 2k -C", "smaller than a page");
	expect_usage("--bucket 64M -C", "too large");
	expect_usage("--block 8k -C", "larger than a page");
	expect_usage("--data-offset 8 -B", "data offset 8 sectors is too small");
	expect_usage("--cache-replacement-policy mru -C", "unknown cache replacement policy");
	expect_usage("--label 0123456789abcdef0123456789abcdef -C", "too long");
	expect_usage("--uuid nonsense -C", "bad uuid");
	expect_usage("--no-such-option -C", "unknown option");
	expect_usage("--", "say -C (cache) or -B (backing) before the device");
}

Test(format, usage_errors_devices)
{
	char *a = tmp(300 * MiB), *b = tmp(300 * MiB), *err = NULL;

	cr_expect_eq(t_run(NULL, &err, "format -C '%s' -C '%s'", a, b), 16);
	cr_expect(strstr(err, "2 cache devices"), "%s", err);
	free(err);
	cr_expect_eq(t_run(NULL, &err, "format --uuid " DEV_UUID " -C '%s' -B '%s'", a, b), 16);
	cr_expect(strstr(err, "--uuid"), "%s", err);
	free(err);
	cr_expect_eq(t_run(NULL, &err, "format -C '%s' -B '%s'", a, a), 16);
	cr_expect(strstr(err, "given twice"), "%s", err);
	free(err);
	cr_expect_eq(t_run(NULL, &err, "format"), 16);
	cr_expect(strstr(err, "no device given"), "%s", err);
	free(err);
}
