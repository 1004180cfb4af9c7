/* test_shadow.c --- libcore/shadow.c: a dry run's writes go to a temporary
 * file, reads see them, the device is never written. Checked against a
 * model copy of the device under random overlapping writes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "libcore/dev/dev.h"
#include "libcore/base/errcode.h"
#include "libcore/dev/shadow.h"

TestSuite(shadow, .timeout = 60);

#define DEV_BYTES	(1u << 20)

static void fill_random(uint8_t *p, size_t n, unsigned *seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rand_r(seed);
}

/* The shadow's ranges are sorted, disjoint and never touch. */
static void check_ranges(const struct bt_shadow *s)
{
	for (size_t i = 0; i < s->nr; i++) {
		cr_assert_lt(s->r[i].start, s->r[i].end);
		if (i)
			cr_assert_gt(s->r[i].start, s->r[i - 1].end, "ranges %zu and %zu touch", i - 1,
				     i);
	}
}

Test(shadow, random_writes_read_back_as_a_model_device)
{
	uint8_t *dev_buf = malloc(DEV_BYTES), *orig = malloc(DEV_BYTES), *model = malloc(DEV_BYTES);
	uint8_t *buf = malloc(DEV_BYTES);
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	unsigned seed = 42;

	cr_assert(dev_buf && orig && model && buf);
	fill_random(dev_buf, DEV_BYTES, &seed);
	memcpy(orig, dev_buf, DEV_BYTES);
	memcpy(model, dev_buf, DEV_BYTES);
	bt_dev_open_mem(&dev, "mem", dev_buf, DEV_BYTES, true);
	cr_assert_eq(bt_dev_shadow(&dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert(bt_dev_writable(&dev));
	for (int i = 0; i < 3000; i++) {
		/* small writes, often adjacent or overlapping, and some large ones */
		size_t len = 1 + (size_t)rand_r(&seed) % (i % 10 ? 700 : 40000);
		uint64_t off = (uint64_t)rand_r(&seed) % (DEV_BYTES - len);

		if (i % 3) {
			fill_random(buf, len, &seed);
			cr_assert_eq(bt_dev_write(&dev, buf, len, off, "test data", &err), 0, "%s",
				     printbuf_str(&err));
			memcpy(model + off, buf, len);
			check_ranges(bt_dev_shadow_of(&dev));
		} else {
			cr_assert_eq(bt_dev_read(&dev, buf, len, off, "test data", &err), 0, "%s",
				     printbuf_str(&err));
			cr_assert_eq(memcmp(buf, model + off, len), 0, "read of %zu at %llu", len,
				     (unsigned long long)off);
		}
	}
	cr_assert_eq(bt_dev_read(&dev, buf, DEV_BYTES, 0, "whole", &err), 0);
	cr_expect_eq(memcmp(buf, model, DEV_BYTES), 0, "the shadowed device differs from the model");
	cr_expect_eq(memcmp(dev_buf, orig, DEV_BYTES), 0, "the device itself was written");
	cr_expect_eq(bt_dev_flush(&dev, &err), 0);
	/* the range check still holds */
	cr_expect_eq(bt_dev_write(&dev, buf, 16, DEV_BYTES - 8, "past the end", &err),
		     -BT_ERR_SHORT_READ);
	bt_dev_close(&dev);
	cr_expect_null(bt_dev_shadow_of(&dev));
	printbuf_exit(&err);
	free(dev_buf);
	free(orig);
	free(model);
	free(buf);
}

/* A file opened read-only takes writes through its shadow; its bytes stay. */
Test(shadow, read_only_file_is_never_written)
{
	char *path = t_tmpfile(DEV_BYTES), h1[65], h2[65];
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	uint8_t buf[4096], back[4096];

	t_sha256_file(path, h1);
	cr_assert_eq(bt_dev_open(path, 0, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_expect_eq(bt_dev_write(&dev, buf, sizeof(buf), 8192, "test", &err), -BT_ERR_DEV_READONLY);
	printbuf_reset(&err);
	cr_assert_eq(bt_dev_shadow(&dev, &err), 0, "%s", printbuf_str(&err));
	memset(buf, 0xab, sizeof(buf));
	cr_assert_eq(bt_dev_write(&dev, buf, sizeof(buf), 8192, "test", &err), 0, "%s",
		     printbuf_str(&err));
	cr_expect_eq(dev.nr_writes, 1);
	cr_assert_eq(bt_dev_read(&dev, back, sizeof(back), 8192, "test", &err), 0);
	cr_expect_eq(memcmp(buf, back, sizeof(buf)), 0);
	/* a read across the written range and the untouched zeroes around it */
	cr_assert_eq(bt_dev_read(&dev, back, sizeof(back), 8192 - 2048, "test", &err), 0);
	for (size_t i = 0; i < sizeof(back); i++)
		cr_assert_eq(back[i], i < 2048 ? 0 : 0xab, "byte %zu", i);
	bt_dev_close(&dev);
	t_sha256_file(path, h2);
	cr_expect_str_eq(h1, h2, "the read-only file was written");
	unlink(path);
	free(path);
	printbuf_exit(&err);
}

/* The write limit (crash tests) counts shadowed writes as it counts real ones. */
Test(shadow, write_limit_applies)
{
	static uint8_t mem[65536];
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	uint8_t buf[512] = { 1 };

	bt_dev_open_mem(&dev, "mem", mem, sizeof(mem), true);
	cr_assert_eq(bt_dev_shadow(&dev, &err), 0);
	dev.write_limit = 1;
	cr_expect_eq(bt_dev_write(&dev, buf, sizeof(buf), 0, "a", &err), 0);
	cr_expect_eq(bt_dev_write(&dev, buf, sizeof(buf), 512, "b", &err), -BT_ERR_WRITE_LIMIT);
	cr_expect_eq(mem[0], 0);
	bt_dev_close(&dev);
	printbuf_exit(&err);
}

/* No temporary directory: a clear error naming it, and the device stays unshadowed. */
Test(shadow, missing_tmpdir_is_named)
{
	static uint8_t mem[4096];
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	int ret;

	setenv("TMPDIR", "/nonexistent/bt-shadow-dir", 1);
	bt_dev_open_mem(&dev, "mem", mem, sizeof(mem), true);
	ret = bt_dev_shadow(&dev, &err);
	cr_expect_eq(ret, -ENOENT, "%d", ret);
	cr_expect(strstr(printbuf_str(&err), "/nonexistent/bt-shadow-dir"), "%s", printbuf_str(&err));
	cr_expect_null(bt_dev_shadow_of(&dev));
	cr_expect_not(bt_dev_writable(&dev));
	bt_dev_close(&dev);
	printbuf_exit(&err);
}
