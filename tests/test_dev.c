/* test_dev.c --- the device layer: range checks, read-only, write limit, memory devices. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "libcore/dev/dev.h"
#include "libcore/base/errcode.h"
#include "helpers.h"

Test(dev, read_past_end_of_file)
{
	char *path = t_tmpfile(10000);
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	uint8_t buf[4096];

	cr_assert_eq(bt_dev_open(path, 0, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(dev.size, 10000);
	cr_assert_eq(bt_dev_read(&dev, buf, 4096, 4096, "superblock", &err), 0);
	cr_assert_eq(bt_dev_read(&dev, buf, 4096, 8192, "jset", &err), -BT_ERR_SHORT_READ);
	cr_assert(strstr(printbuf_str(&err), "jset at byte 8192 (4096 bytes) passes the end of"),
		  "%s", printbuf_str(&err));
	cr_assert(strstr(printbuf_str(&err), path), "%s", printbuf_str(&err));
	cr_assert(strstr(printbuf_str(&err), "(10000 bytes)"), "%s", printbuf_str(&err));
	printbuf_reset(&err);
	/* an offset far past the end, and one whose end would overflow */
	cr_assert_eq(bt_dev_read(&dev, buf, 1, 1ULL << 40, "prio", &err), -BT_ERR_SHORT_READ);
	cr_assert(strstr(printbuf_str(&err), "prio at byte 1099511627776"), "%s",
		  printbuf_str(&err));
	cr_assert_eq(bt_dev_read(&dev, buf, 16, ~0ULL - 8, "x", &err), -BT_ERR_SHORT_READ);
	cr_assert_eq(bt_err_class(-BT_ERR_SHORT_READ), EIO);
	printbuf_exit(&err);
	bt_dev_close(&dev);
	free(path);
}

Test(dev, write_refused_on_readonly_open)
{
	char *path = t_tmpfile(8192);
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	uint8_t buf[512] = { 0xab };
	char before[65], after[65];

	t_sha256_file(path, before);
	cr_assert_eq(bt_dev_open(path, 0, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert(dev.readonly);
	cr_assert_eq(bt_dev_write(&dev, buf, sizeof(buf), 4096, "superblock", &err),
		     -BT_ERR_DEV_READONLY);
	cr_assert(strstr(printbuf_str(&err), "refusing to write superblock at byte 4096 of '"),
		  "%s", printbuf_str(&err));
	cr_assert(strstr(printbuf_str(&err), "opened read-only"), "%s", printbuf_str(&err));
	cr_assert_eq(dev.nr_writes, 0);
	bt_dev_close(&dev);
	t_sha256_file(path, after);
	cr_assert_str_eq(before, after);
	printbuf_exit(&err);
	free(path);
}

Test(dev, write_limit_stops_writes)
{
	char *path = t_tmpfile(8192);
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	uint8_t buf[512], rd[512];

	cr_assert_eq(bt_dev_open(path, BT_DEV_RDWR, &dev, &err), 0, "%s", printbuf_str(&err));
	dev.write_limit = 2;
	memset(buf, 1, sizeof(buf));
	cr_assert_eq(bt_dev_write(&dev, buf, 512, 0, "a", &err), 0, "%s", printbuf_str(&err));
	memset(buf, 2, sizeof(buf));
	cr_assert_eq(bt_dev_write(&dev, buf, 512, 512, "b", &err), 0, "%s", printbuf_str(&err));
	memset(buf, 3, sizeof(buf));
	cr_assert_eq(bt_dev_write(&dev, buf, 512, 1024, "c", &err), -BT_ERR_WRITE_LIMIT);
	cr_assert(strstr(printbuf_str(&err), "write limit of 2 reached before writing c at byte 1024"),
		  "%s", printbuf_str(&err));
	cr_assert_eq(dev.nr_writes, 2);
	cr_assert_eq(bt_dev_flush(&dev, &err), 0);
	/* the third write did not reach the file */
	cr_assert_eq(bt_dev_read(&dev, rd, 512, 512, "b", &err), 0);
	memset(buf, 2, sizeof(buf));
	cr_assert_arr_eq(rd, buf, 512);
	cr_assert_eq(bt_dev_read(&dev, rd, 512, 1024, "c", &err), 0);
	memset(buf, 0, sizeof(buf));
	cr_assert_arr_eq(rd, buf, 512);
	/* a write past the end is refused, not extended */
	cr_assert_eq(bt_dev_write(&dev, buf, 512, 8192, "d", &err), -BT_ERR_WRITE_LIMIT);
	dev.write_limit = -1;
	printbuf_reset(&err);
	cr_assert_eq(bt_dev_write(&dev, buf, 512, 8000, "d", &err), -BT_ERR_SHORT_READ);
	cr_assert(strstr(printbuf_str(&err), "write of d at byte 8000"), "%s", printbuf_str(&err));
	cr_assert_eq(dev.size, 8192);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	free(path);
}

Test(dev, memory_device)
{
	uint8_t mem[4096], buf[100];
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;

	memset(mem, 0x5a, sizeof(mem));
	bt_dev_open_mem(&dev, "mem0", mem, sizeof(mem), false);
	cr_assert_eq(dev.size, 4096);
	cr_assert_eq(bt_dev_sectors(&dev), 8);
	cr_assert_eq(bt_dev_read(&dev, buf, 100, 3996, "tail", &err), 0);
	cr_assert_eq(buf[0], 0x5a);
	memset(buf, 0xc3, sizeof(buf));
	cr_assert_eq(bt_dev_write(&dev, buf, 100, 10, "x", &err), 0);
	cr_assert_eq(mem[9], 0x5a);
	cr_assert_eq(mem[10], 0xc3);
	cr_assert_eq(mem[109], 0xc3);
	cr_assert_eq(mem[110], 0x5a);
	cr_assert_eq(dev.nr_writes, 1);
	cr_assert_eq(bt_dev_read(&dev, buf, 100, 3997, "tail", &err), -BT_ERR_SHORT_READ);
	cr_assert(strstr(printbuf_str(&err), "tail at byte 3997 (100 bytes) passes the end of "
			 "'mem0' (4096 bytes)"), "%s", printbuf_str(&err));
	cr_assert_eq(bt_dev_flush(&dev, &err), 0);
	bt_dev_close(&dev);

	bt_dev_open_mem(&dev, "mem1", mem, sizeof(mem), true);
	cr_assert_eq(bt_dev_write(&dev, buf, 1, 0, "x", &err), -BT_ERR_DEV_READONLY);
	cr_assert_eq(mem[0], 0x5a);
	dev.readonly = false;
	dev.write_limit = 0;
	cr_assert_eq(bt_dev_write(&dev, buf, 1, 0, "x", &err), -BT_ERR_WRITE_LIMIT);
	cr_assert_eq(mem[0], 0x5a);
	bt_dev_close(&dev);
	printbuf_exit(&err);
}

Test(dev, open_errors)
{
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;

	cr_assert_eq(bt_dev_open("/nonexistent/x.img", 0, &dev, &err), -ENOENT);
	cr_assert_str_eq(printbuf_str(&err),
			 "cannot open '/nonexistent/x.img': No such file or directory");
	printbuf_reset(&err);
	cr_assert_eq(bt_dev_open("/tmp", 0, &dev, &err), -BT_ERR_NOT_A_DEVICE);
	cr_assert_str_eq(printbuf_str(&err), "'/tmp' is neither a block device nor a regular file");
	printbuf_exit(&err);
}

