/* test_image.c --- bcache-tool image: a metadata image restored into a new
 * file reads, for fsck -n, dump-btree, dump-journal and show-super, exactly
 * like the original golden kernel-written device (the original is the
 * oracle), is small, and is still made from a damaged cache.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "libcore/dev/dev.h"
#include "libcore/base/errcode.h"
#include "recovery/metaimage.h"

#define NR_VIEWS 4
static const char *const views[NR_VIEWS] = { "fsck -n", "dump-btree", "dump-journal",
					     "show-super" };

/* Output of every view of path: "<cmd>: rc N\n<stdout><stderr>" (malloc'ed). */
static char *view(const char *cmd, const char *path)
{
	char *out = NULL, *err = NULL, *s;
	int rc = t_run(&out, &err, "%s '%s'", cmd, path);

	cr_assert_neq(rc, -1, "%s died of a signal", cmd);
	cr_assert(asprintf(&s, "%s: rc %d\n%s--\n%s", cmd, rc, out, err) > 0);
	free(out);
	free(err);
	return s;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0, "stat %s", path);
	return (uint64_t)st.st_size;
}

/* The header of image file z, checked by the library's reader. */
static void read_hdr(const char *z, struct bt_metaimage_hdr *out)
{
	struct printbuf err = PRINTBUF;
	const struct bt_metaimage_hdr *h;
	struct bt_metaimage_reader *r;
	int fd = open(z, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bt_metaimage_open(fd, z, &r, &h, &err), 0, "%s", printbuf_str(&err));
	*out = *h;
	out->ext = malloc(h->nr * sizeof(*h->ext) + 1);
	memcpy(out->ext, h->ext, h->nr * sizeof(*h->ext));
	bt_metaimage_close(r);
	close(fd);
	printbuf_exit(&err);
}

/*
 * Image path into z, replace path by the restore of z (same name, so that
 * messages naming the device compare equal) and check every view is
 * unchanged. Returns the exit status of the image command.
 */
static int roundtrip(const char *path, const char *z, const char *what)
{
	char *before[NR_VIEWS], *err = NULL, head0[65], head1[65];
	int rc;

	for (int i = 0; i < NR_VIEWS; i++)
		before[i] = view(views[i], path);
	cr_assert_eq(t_sh(NULL, NULL, "head -c 8192 '%s' > '%s.sb0'", path, path), 0);
	rc = t_run(NULL, &err, "image '%s' -o '%s'", path, z);
	cr_assert(rc == 0 || rc == 1, "%s: image exit %d: %s", what, rc, err);
	cr_assert(rc == 0 || strstr(err, "problem"), "%s: exit 1 without a message", what);
	free(err);

	cr_assert_eq(t_sh(NULL, NULL, "mv '%s' '%s.orig'", path, path), 0);
	cr_assert_eq(t_run(NULL, &err, "image --restore '%s' '%s'", z, path), 0, "%s: %s",
		     what, err);
	free(err);
	{
		char *orig;

		cr_assert(asprintf(&orig, "%s.orig", path) > 0);
		cr_assert_eq(file_size(path), file_size(orig), "%s: restored size", what);
		free(orig);
	}
	cr_assert_eq(t_sh(NULL, NULL, "head -c 8192 '%s' > '%s.sb1'", path, path), 0);
	{
		char *a, *b;

		cr_assert(asprintf(&a, "%s.sb0", path) > 0 && asprintf(&b, "%s.sb1", path) > 0);
		t_sha256_file(a, head0);
		memcpy(head1, head0, sizeof(head0));
		t_sha256_file(b, head0);
		cr_assert_str_eq(head0, head1, "%s: superblock block differs", what);
		unlink(a);
		unlink(b);
		free(a);
		free(b);
	}
	for (int i = 0; i < NR_VIEWS; i++) {
		char *after = view(views[i], path);

		cr_assert_str_eq(after, before[i], "%s: '%s' differs after restore", what,
				 views[i]);
		free(after);
		free(before[i]);
	}
	return rc;
}

/* Every golden cache: image + restore reads the same; header matches the manifest. */
GOLDEN_TEST(image, golden_roundtrip, .timeout = 600)
{
	json_t *m = t_manifest();
	unsigned n = 0;

	for (size_t i = 0; i < json_array_size(m); i++) {
		json_t *c = json_array_get(m, i), *ci = json_object_get(c, "cache_image");
		const char *name = json_string_value(json_object_get(c, "name"));
		char *path, *z;
		struct bt_metaimage_hdr h;
		uint64_t size;

		if (!ci || json_is_null(ci))
			continue;
		size = (uint64_t)json_integer_value(json_object_get(ci, "size_bytes"));
		path = t_golden_image(name, "cache");
		cr_assert(asprintf(&z, "%s.meta.zst", path) > 0);
		cr_assert_eq(roundtrip(path, z, name), 0, "%s: image reported problems", name);

		read_hdr(z, &h);
		cr_assert_eq(h.version, 1);
		cr_assert_eq(h.dev_size, size, "%s: device size %llu, manifest %llu", name,
			     (unsigned long long)h.dev_size, (unsigned long long)size);
		cr_assert_geq(h.nr, 1);
		cr_assert_eq(h.ext[0].offset, 0);
		for (uint32_t k = 0; k < h.nr; k++)
			cr_assert_eq(h.ext[k].flags, 0, "%s: extent %u missing", name, k);
		if (!strcmp(name, "s01-fresh-superblocks")) {
			/* never registered: no cache set, the image is the superblock block */
			cr_assert_eq(h.nr, 1);
			cr_assert_eq(h.ext[0].len, 8192);
			cr_assert_eq(h.bucket_bytes, 0);
		} else {
			const char *spb = json_string_value(json_object_get(ci,
							"sb.dev.sectors_per_bucket"));

			cr_assert(spb);
			cr_assert_eq(h.bucket_bytes, strtoull(spb, NULL, 10) * 512, "%s", name);
			cr_assert_gt(h.nr, 1, "%s: only the superblock imaged", name);
		}
		if (!strcmp(name, "s05-btree-depth2")) {
			/* the largest golden cache: 256 MiB; its image under 5% of it */
			cr_assert_eq(size, 256ULL << 20);
			cr_assert_lt(file_size(z) * 20, size, "image of %llu bytes",
				     (unsigned long long)file_size(z));
		}
		free(h.ext);
		unlink(z);
		cr_assert_eq(t_sh(NULL, NULL, "rm -f '%s.orig'", path), 0);
		free(z);
		free(path);
		n++;
	}
	cr_assert_eq(n, 7, "golden caches imaged: %u", n);
	json_decref(m);
}

/* The bucket of the first leaf in dump-btree's output. */
static unsigned long first_leaf_bucket(const char *path)
{
	char *out = NULL;
	const char *p;

	cr_assert_eq(t_run(&out, NULL, "dump-btree '%s'", path), 0);
	p = strstr(out, "node level 0 bucket ");
	cr_assert(p, "%s", out);
	unsigned long b = strtoul(p + 20, NULL, 10);

	free(out);
	return b;
}

/*
 * A damaged cache (a zeroed leaf bucket, the newest journal bucket's first
 * block trashed) is imaged with a message and exit 1, and the restore reads
 * like the damaged original.
 */
GOLDEN_TEST(image, damaged_cache, .timeout = 300)
{
	char *path = t_golden_image("s05-btree-depth2", "cache"), *z, *err = NULL;
	unsigned long leaf = first_leaf_bucket(path);
	int rc;

	cr_assert(asprintf(&z, "%s.meta.zst", path) > 0);
	/* s05: 64 KiB buckets (128 sectors); bucket 9 (journal bucket 8) holds jsets 82-92 */
	cr_assert_eq(t_sh(NULL, NULL, "dd if=/dev/zero of='%s' bs=65536 seek=%lu count=1 "
			  "conv=notrunc status=none", path, leaf), 0);
	cr_assert_eq(t_sh(NULL, NULL, "printf 'garbage garbage!' | dd of='%s' bs=1 seek=%lu "
			  "conv=notrunc status=none", path, 9UL * 65536 + 8), 0);
	rc = t_run(NULL, &err, "fsck -n '%s'", path);
	cr_assert_neq(rc, 0, "fsck -n finds the damage");
	free(err);

	rc = roundtrip(path, z, "damaged s05");
	cr_assert_eq(rc, 1);

	/* the message names the unreadable node */
	cr_assert(asprintf(&err, "%s.orig", path) > 0);
	unlink(z);
	{
		char *e2 = NULL;

		cr_assert_eq(t_run(NULL, &e2, "image '%s' -o '%s'", err, z), 1);
		cr_assert(strstr(e2, "bucket"), "%s", e2);
		cr_assert(strstr(e2, "1 problem") || strstr(e2, "problems"), "%s", e2);
		free(e2);
	}
	unlink(z);
	unlink(err);
	free(err);
	free(z);
	free(path);
}

/*
 * A superblock claiming 2^22 buckets of 512 KiB (2 TiB; field at byte 184 of
 * the superblock block) on a 64 MiB device: the image is still made from the
 * buckets inside the device, with the problems reported, and restores.
 * (2^50 would make the library's own allocations fail, which ASAN builds
 * abort on instead of returning NULL.)
 */
GOLDEN_TEST(image, too_many_buckets, .timeout = 300)
{
	char *path = t_golden_image("s03-writeback-dirty-clean-stop", "cache"), *z;
	struct bt_metaimage_hdr h;

	cr_assert(asprintf(&z, "%s.meta.zst", path) > 0);
	cr_assert_eq(t_sh(NULL, NULL, "printf '\\000\\000\\100\\000\\000\\000\\000\\000' | "
			  "dd of='%s' bs=1 seek=%d conv=notrunc status=none", path, 4096 + 184), 0);
	cr_assert_eq(roundtrip(path, z, "s03, 2^22 buckets"), 1);
	read_hdr(z, &h);
	cr_assert_gt(h.nr, 1, "only the superblock was imaged");
	free(h.ext);
	unlink(z);
	cr_assert_eq(t_sh(NULL, NULL, "rm -f '%s.orig'", path), 0);
	free(z);
	free(path);
}

/* A read error: the range is recorded as missing, reported, and the rest restores. */
GOLDEN_TEST(image, read_error_recorded_missing, .timeout = 120)
{
	char *path = t_golden_image("s05-btree-depth2", "cache"), *z;
	unsigned long leaf = first_leaf_bucket(path);
	struct printbuf warn = PRINTBUF, err = PRINTBUF;
	struct bt_metaimage_stats st;
	struct bt_metaimage_hdr h;
	struct bt_dev dev;
	bool found = false;
	int fd, ret;

	cr_assert_eq(bt_dev_open(path, 0, &dev, &err), 0, "%s", printbuf_str(&err));
	dev.fail_read_off = (uint64_t)leaf * 65536 + 4096;
	dev.fail_read_len = 512;
	cr_assert(asprintf(&z, "%s.meta.zst", path) > 0);
	fd = open(z, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	ret = bt_metaimage_create(&dev, fd, 3, &st, &warn, &err);
	close(fd);
	bt_dev_close(&dev);
	cr_assert_gt(ret, 0, "problems counted: %d %s", ret, printbuf_str(&err));
	cr_assert(strstr(printbuf_str(&warn), "recorded as missing"), "%s",
		  printbuf_str(&warn));
	cr_assert_gt(st.missing_bytes, 0);

	read_hdr(z, &h);
	for (uint32_t i = 0; i < h.nr; i++)
		if (h.ext[i].flags & BT_METAIMAGE_MISSING) {
			cr_assert_leq(h.ext[i].offset, (uint64_t)leaf * 65536 + 4096);
			cr_assert_gt(h.ext[i].offset + h.ext[i].len, (uint64_t)leaf * 65536 + 4096);
			found = true;
		}
	cr_assert(found, "no extent recorded as missing");

	/* restore: reported on stderr, exit 0, the superblock comes back */
	{
		char *err2 = NULL, *out = NULL, *t;

		cr_assert(asprintf(&t, "%s.restored", path) > 0);
		cr_assert_eq(t_run(&out, &err2, "image --restore '%s' '%s'", z, t), 0, "%s", err2);
		cr_assert(strstr(err2, "unreadable when the image was made"), "%s", err2);
		free(out);
		free(err2);
		cr_assert_eq(t_run(&out, NULL, "show-super '%s'", t), 0);
		free(out);
		unlink(t);
		free(t);
	}
	free(h.ext);
	unlink(z);
	free(z);
	free(path);
	printbuf_exit(&warn);
	printbuf_exit(&err);
}

/* Restore refuses a file that is no image, and a device smaller than the image's. */
GOLDEN_TEST(image, restore_refusals, .timeout = 120)
{
	char *path = t_golden_image("s03-writeback-dirty-clean-stop", "cache"), *z, *t;
	char *err = NULL;
	const struct bt_metaimage_hdr *h;
	struct bt_metaimage_reader *r;
	struct printbuf pb = PRINTBUF;
	struct bt_dev dev;
	void *small;
	int fd;

	cr_assert(asprintf(&z, "%s.meta.zst", path) > 0 && asprintf(&t, "%s.t", path) > 0);
	/* a zstd file that is not an image: the golden image itself */
	cr_assert_eq(t_run(NULL, &err, "image --restore '%s/images/s03-writeback-dirty-clean-stop/"
			   "cache.img.zst' '%s'", t_srcdir(), t), 8);
	cr_assert(strstr(err, "is not a bcache-tool metadata image (bad magic at byte 0)"),
		  "%s", err);
	free(err);

	cr_assert_eq(t_run(NULL, NULL, "image '%s' -o '%s'", path, z), 0);
	/* an existing output is not overwritten without --force */
	cr_assert_eq(t_run(NULL, &err, "image '%s' -o '%s'", path, z), 8);
	cr_assert(strstr(err, "already exists") && strstr(err, "(--force overwrites it)"), "%s", err);
	free(err);

	/* '-o -' writes the same image to standard output */
	{
		char h1[65], h2[65], *so;

		cr_assert(asprintf(&so, "%s.stdout", z) > 0);
		cr_assert_eq(t_sh(NULL, NULL, "\"$BT_BIN\" image '%s' -o - > '%s'", path, so), 0);
		t_sha256_file(z, h1);
		memcpy(h2, h1, sizeof(h1));
		t_sha256_file(so, h1);
		cr_assert_str_eq(h1, h2);
		unlink(so);
		free(so);
	}

	/* truncated image */
	cr_assert_eq(t_sh(NULL, NULL, "head -c 200 '%s' > '%s.cut'", z, z), 0);
	cr_assert_eq(t_run(NULL, &err, "image --restore '%s.cut' '%s'", z, t), 8);
	cr_assert(strstr(err, "truncated") || strstr(err, "not a valid zstd"), "%s", err);
	free(err);

	/* a device smaller than the imaged one (64 MiB) */
	small = calloc(1, 1 << 20);
	bt_dev_open_mem(&dev, "small", small, 1 << 20, false);
	fd = open(z, O_RDONLY);
	cr_assert_eq(bt_metaimage_open(fd, z, &r, &h, &pb), 0, "%s", printbuf_str(&pb));
	cr_assert_eq(h->dev_size, 64ULL << 20);
	cr_assert_eq(bt_metaimage_restore(r, &dev, &pb), -BT_ERR_DEV_TOO_SMALL);
	cr_assert(strstr(printbuf_str(&pb), "'small' is too small for image"), "%s",
		  printbuf_str(&pb));
	cr_assert_eq(dev.nr_writes, 0);
	bt_metaimage_close(r);
	close(fd);
	bt_dev_close(&dev);
	free(small);

	unlink(z);
	unlink(t);
	cr_assert_eq(t_sh(NULL, NULL, "rm -f '%s.cut'", z), 0);
	printbuf_exit(&pb);
	free(z);
	free(t);
	free(path);
}
