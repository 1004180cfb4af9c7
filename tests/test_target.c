/* test_target.c --- the guard (libcore/target.h) against a fake sysfs and
 * procfs: registered, held, mounted (a partition of a named disk), a loop
 * device over a named file, swap, other processes' opens and locks. The
 * block devices are device nodes made with mknod(2) for numbers no driver
 * has: every refusal comes before the open, so none is ever opened.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libcore/base/errcode.h"
#include "libcore/dev/target.h"
#include "helpers.h"

#define FAKE_MAJOR	242	/* of the range for local and experimental use: no driver */

struct fake {
	char	root[64];
	char	sys[96], proc[96];
};

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char *cmd, *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	cr_assert(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	cr_assert_eq(t_sh(NULL, &err, "%s", cmd), 0, "%s: %s", cmd, err);
	free(err);
	free(cmd);
}

/* A block device of sysfs: <sys>/devices/<dir> with dev, /dev/block/M:m linking to it. */
static void fake_blk(const struct fake *f, const char *dir, unsigned minor)
{
	sh("mkdir -p '%s/devices/%s' '%s/dev/block' && echo %u:%u > '%s/devices/%s/dev' && "
	   "ln -s '%s/devices/%s' '%s/dev/block/%u:%u' && mknod '%s/%s.node' b %u %u",
	   f->sys, dir, f->sys, FAKE_MAJOR, minor, f->sys, dir, f->sys, dir, f->sys,
	   FAKE_MAJOR, minor, f->root, strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir,
	   FAKE_MAJOR, minor);
}

/*
 * The tree: fakedisk (M:0) with partition fakedisk1 (M:1) mounted on
 * /mnt/fake; fakebc (M:5) registered with bcache; fakeheld (M:6) held by
 * dm-3; loop7 (M:7) over the file img; pid 4242 (fakedd) with wfile open
 * for writing and rfile for reading; swapfile active swap; lockfile
 * flock'ed by pid 4243 (bcache-tool). fakedisk2 (M:10) has partition
 * fakedisk2p1 (M:11), which pid 4242 has open for writing, and pid 4244
 * (fakesh) the disk for reading; pid 4244 is in a mount namespace of its
 * own, where fakens (M:8) is mounted on /mnt/elsewhere. fakedisk3 (M:12)
 * has partition fakedisk3p1 (M:13) registered with bcache as bcache2;
 * loop7 has partition loop7p1 (M:9).
 */
static void fake_tree(struct fake *f)
{
	if (geteuid())
		cr_skip_test("mknod(2) of the fake block devices needs root");
	snprintf(f->root, sizeof(f->root), "/tmp/bt-fake-XXXXXX");
	cr_assert(mkdtemp(f->root));
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->root);
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->root);
	fake_blk(f, "fakedisk", 0);
	fake_blk(f, "fakedisk/fakedisk1", 1);
	sh("echo 1 > '%s/devices/fakedisk/fakedisk1/partition'", f->sys);
	fake_blk(f, "fakebc", 5);
	sh("mkdir '%s/devices/fakebc/bcache'", f->sys);
	fake_blk(f, "fakeheld", 6);
	sh("mkdir -p '%s/devices/fakeheld/holders/dm-3'", f->sys);
	fake_blk(f, "loop7", 7);
	sh("cd '%s' && for n in img wfile rfile swapfile lockfile plain; do "
	   "head -c 65536 /dev/urandom > $n; done", f->root);
	sh("mkdir -p '%s/devices/loop7/loop' '%s/block' && echo '%s/img' > "
	   "'%s/devices/loop7/loop/backing_file' && ln -s '%s/devices/loop7' '%s/block/loop7'",
	   f->sys, f->sys, f->root, f->sys, f->sys, f->sys);
	sh("mkdir -p '%s/self' '%s/4242/fd' '%s/4242/fdinfo' '%s/4243' && "
	   "echo '36 35 %u:1 / /mnt/fake rw - ext4 /dev/fakedisk1 rw' > '%s/self/mountinfo' && "
	   "printf 'Filename Type Size Used Priority\\n%s/swapfile file 60 0 -2\\n' > "
	   "'%s/swaps' && echo fakedd > '%s/4242/comm' && echo bcache-tool > '%s/4243/comm'",
	   f->proc, f->proc, f->proc, f->proc, FAKE_MAJOR, f->proc, f->root, f->proc,
	   f->proc, f->proc);
	fake_blk(f, "loop7/loop7p1", 9);
	sh("echo 1 > '%s/devices/loop7/loop7p1/partition'", f->sys);
	fake_blk(f, "fakedisk3", 12);
	fake_blk(f, "fakedisk3/fakedisk3p1", 13);
	sh("echo 1 > '%s/devices/fakedisk3/fakedisk3p1/partition' && mkdir -p "
	   "'%s/devices/fakedisk3/fakedisk3p1/holders/bcache2'", f->sys, f->sys);
	fake_blk(f, "fakens", 8);
	fake_blk(f, "fakedisk2", 10);
	fake_blk(f, "fakedisk2/fakedisk2p1", 11);
	sh("echo 1 > '%s/devices/fakedisk2/fakedisk2p1/partition'", f->sys);
	sh("mkdir -p '%s/self/ns' '%s/4244/ns' '%s/4244/fd' '%s/4244/fdinfo' && "
	   "echo self > '%s/self/ns/mnt' && echo other > '%s/4244/ns/mnt' && "
	   "echo '40 39 %u:8 / /mnt/elsewhere ro - ext4 /dev/fakens ro' > '%s/4244/mountinfo' && "
	   "echo fakesh > '%s/4244/comm'", f->proc, f->proc, f->proc, f->proc, f->proc, f->proc,
	   FAKE_MAJOR, f->proc, f->proc);
	sh("ln -s '%s/fakedisk2p1.node' '%s/4242/fd/5' && printf 'flags:\\t0100002\\n' > "
	   "'%s/4242/fdinfo/5' && ln -s '%s/fakedisk2.node' '%s/4244/fd/3' && "
	   "printf 'flags:\\t0100000\\n' > '%s/4244/fdinfo/3'", f->root, f->proc, f->proc,
	   f->root, f->proc, f->proc);
	sh("ln -s '%s/wfile' '%s/4242/fd/3' && printf 'pos:\\t0\\nflags:\\t0100002\\n' > "
	   "'%s/4242/fdinfo/3' && ln -s '%s/rfile' '%s/4242/fd/4' && "
	   "printf 'pos:\\t0\\nflags:\\t0100000\\n' > '%s/4242/fdinfo/4'",
	   f->root, f->proc, f->proc, f->root, f->proc, f->proc);
}

static void fake_exit(struct fake *f)
{
	sh("rm -rf '%s'", f->root);
}

static void guard_fake(struct bt_guard *g, const struct fake *f, unsigned flags,
		       struct printbuf *warn)
{
	bt_guard_init(g, flags, warn);
	g->sysfs = f->sys;
	g->proc = f->proc;
}

/* Declare one target (asserted) and open it; returns bt_guard_open()'s code. */
static int open_one(const struct fake *f, unsigned flags, const char *name,
		    enum bt_target_role role, unsigned oflags, struct printbuf *warn,
		    struct printbuf *err)
{
	struct bt_guard g;
	struct bt_dev dev;
	char path[160];
	int i, ret;

	snprintf(path, sizeof(path), "%s/%s", f->root, name);
	guard_fake(&g, f, flags, warn);
	i = bt_guard_add(&g, path, role, "cache device", 0, err);
	cr_assert_geq(i, 0, "%s", printbuf_str(err));
	ret = bt_guard_open(&g, i, oflags, &dev, err);
	if (!ret)
		bt_dev_close(&dev);
	bt_guard_exit(&g);
	return ret;
}

#define expect_in(pb, s) cr_expect(strstr(printbuf_str(pb), (s)), "expected '%s' in: %s", (s), \
				   printbuf_str(pb))

Test(target, registered_with_bcache)
{
	struct printbuf warn = PRINTBUF, err = PRINTBUF;
	struct fake f;
	int ret;

	fake_tree(&f);
	ret = open_one(&f, 0, "fakebc.node", BT_TARGET_DEVICE, BT_GUARD_RDWR, &warn, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_REGISTERED, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "fakebc.node' is registered with the kernel's bcache as bcache (");
	expect_in(&err, "(--force-in-use overrides this)");
	/* a dry run (read-only) is refused the same way */
	printbuf_reset(&err);
	ret = open_one(&f, 0, "fakebc.node", BT_TARGET_DEVICE, 0, &warn, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_REGISTERED, "%d: %s", ret, printbuf_str(&err));
	/* --force-in-use: said, and the open goes on (and fails: no such device) */
	printbuf_reset(&err);
	ret = open_one(&f, BT_GUARD_FORCE_IN_USE, "fakebc.node", BT_TARGET_DEVICE,
		       BT_GUARD_RDWR, &warn, &err);
	cr_expect_eq(ret, -ENXIO, "%d: %s", ret, printbuf_str(&err));
	expect_in(&warn, "warning: '");
	expect_in(&warn, "is registered with the kernel's bcache as bcache");
	expect_in(&warn, "writing '");
	expect_in(&warn, "anyway (--force-in-use)");
	printbuf_exit(&warn);
	printbuf_exit(&err);
	fake_exit(&f);
}

Test(target, held_by_another_driver)
{
	struct printbuf err = PRINTBUF;
	struct fake f;
	int ret;

	fake_tree(&f);
	ret = open_one(&f, 0, "fakeheld.node", BT_TARGET_INPUT, 0, NULL, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_IN_USE, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "fakeheld.node' is held by dm-3 (");
	printbuf_exit(&err);
	fake_exit(&f);
}

/* A whole disk whose partition is mounted: never written, whatever the flags. */
Test(target, whole_disk_with_a_mounted_partition)
{
	struct printbuf warn = PRINTBUF, err = PRINTBUF;
	struct fake f;
	int ret;

	fake_tree(&f);
	ret = open_one(&f, BT_GUARD_FORCE_IN_USE | BT_GUARD_OVERWRITE, "fakedisk.node",
		       BT_TARGET_DEVICE, BT_GUARD_RDWR, &warn, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_MOUNTED, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "fakedisk.node' is in use: its partition /dev/fakedisk1 is mounted on "
		  "/mnt/fake: unmount it first (no option overrides this)");
	printbuf_reset(&err);
	ret = open_one(&f, 0, "fakedisk1.node", BT_TARGET_DEVICE, BT_GUARD_RDWR, &warn, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_MOUNTED, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "fakedisk1.node' is mounted on /mnt/fake");
	/* read only: refused too, but --force-in-use may read it */
	printbuf_reset(&err);
	ret = open_one(&f, 0, "fakedisk1.node", BT_TARGET_INPUT, 0, &warn, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_MOUNTED, "%d: %s", ret, printbuf_str(&err));
	printbuf_reset(&err);
	ret = open_one(&f, BT_GUARD_FORCE_IN_USE, "fakedisk1.node", BT_TARGET_INPUT, 0, &warn,
		       &err);
	cr_expect_eq(ret, -ENXIO, "%d: %s", ret, printbuf_str(&err));
	expect_in(&warn, "is mounted on /mnt/fake: reading '");
	printbuf_exit(&warn);
	printbuf_exit(&err);
	fake_exit(&f);
}

/* A whole disk whose partition is registered: the partition named. */
Test(target, whole_disk_with_a_registered_partition)
{
	struct printbuf err = PRINTBUF;
	struct fake f;
	int ret;

	fake_tree(&f);
	ret = open_one(&f, 0, "fakedisk3.node", BT_TARGET_DEVICE, BT_GUARD_RDWR, NULL, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_REGISTERED, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "fakedisk3.node' is in use: its partition /dev/fakedisk3p1 is registered "
		  "with the kernel's bcache as bcache2 (--force-in-use overrides this)");
	printbuf_exit(&err);
	fake_exit(&f);
}

/* A mount in another mount namespace is a mount: refused, the namespace named. */
Test(target, mounted_in_another_namespace)
{
	struct printbuf err = PRINTBUF;
	struct fake f;
	int ret;

	fake_tree(&f);
	ret = open_one(&f, BT_GUARD_FORCE_IN_USE, "fakens.node", BT_TARGET_DEVICE, BT_GUARD_RDWR,
		       NULL, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_MOUNTED, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "fakens.node' is mounted on /mnt/elsewhere (in the mount namespace of "
		  "pid 4244 (fakesh)): unmount it first (no option overrides this)");
	printbuf_exit(&err);
	fake_exit(&f);
}

/* Opens of a disk's partition, or of a partition's disk, are named as such. */
Test(target, open_through_a_partition_or_its_disk)
{
	struct printbuf warn = PRINTBUF, err = PRINTBUF;
	struct fake f;
	int ret;

	fake_tree(&f);
	ret = open_one(&f, 0, "fakedisk2.node", BT_TARGET_DEVICE, BT_GUARD_RDWR, &warn, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_IN_USE, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "fakedisk2.node' is open in another process: pid 4244 (fakesh, reading); "
		  "pid 4242 (fakedd, writing) through its partition /dev/fakedisk2p1 "
		  "(--force-in-use overrides this)");
	printbuf_reset(&err);
	ret = open_one(&f, 0, "fakedisk2p1.node", BT_TARGET_INPUT, 0, &warn, &err);
	cr_expect_eq(ret, -ENXIO, "%d: %s", ret, printbuf_str(&err));
	expect_in(&warn, "fakedisk2p1.node' is open in another process: pid 4242 (fakedd, "
		  "writing); pid 4244 (fakesh, reading) through its whole disk /dev/fakedisk2: "
		  "what is read may change during the run");
	printbuf_exit(&warn);
	printbuf_exit(&err);
	fake_exit(&f);
}

/* Two names of one run that are the same device, by any relation sysfs tells. */
Test(target, same_device_under_other_names)
{
	struct printbuf err = PRINTBUF;
	char a[160], b[160], c[160];
	struct bt_guard g;
	struct fake f;

	fake_tree(&f);
	snprintf(a, sizeof(a), "%s/fakedisk.node", f.root);
	snprintf(b, sizeof(b), "%s/fakedisk1.node", f.root);
	guard_fake(&g, &f, 0, NULL);
	cr_assert_eq(bt_guard_add(&g, a, BT_TARGET_INPUT, "backing device", 0, &err), 0);
	cr_expect_eq(bt_guard_add(&g, b, BT_TARGET_OUTPUT, "output", 0, &err),
		     -BT_ERR_SAME_DEVICE);
	expect_in(&err, "the output '");
	expect_in(&err, "fakedisk1.node' is a partition of the backing device '");
	bt_guard_exit(&g);

	/* a second device node of one device */
	printbuf_reset(&err);
	snprintf(c, sizeof(c), "%s/other-name", f.root);
	sh("mknod '%s' b %u 5", c, FAKE_MAJOR);
	snprintf(a, sizeof(a), "%s/fakebc.node", f.root);
	guard_fake(&g, &f, 0, NULL);
	cr_assert_eq(bt_guard_add(&g, a, BT_TARGET_DEVICE, "cache device", 0, &err), 0);
	cr_expect_eq(bt_guard_add(&g, c, BT_TARGET_DEVICE, "backing device", 0, &err),
		     -BT_ERR_SAME_DEVICE);
	expect_in(&err, "fakebc.node' and '");
	expect_in(&err, "other-name' are the same device");
	bt_guard_exit(&g);

	/* a loop device over a file named too */
	printbuf_reset(&err);
	snprintf(a, sizeof(a), "%s/img", f.root);
	snprintf(b, sizeof(b), "%s/loop7.node", f.root);
	guard_fake(&g, &f, 0, NULL);
	cr_assert_eq(bt_guard_add(&g, a, BT_TARGET_DEVICE, "cache device", 0, &err), 0);
	cr_expect_eq(bt_guard_add(&g, b, BT_TARGET_UNDO, "undo file", 0, &err),
		     -BT_ERR_SAME_DEVICE);
	expect_in(&err, "the undo file '");
	expect_in(&err, "loop7.node' is the cache device '");
	expect_in(&err, "loop7.node' is a loop device over '");
	bt_guard_exit(&g);

	/* a partition of a loop device over a file named too */
	printbuf_reset(&err);
	snprintf(b, sizeof(b), "%s/loop7p1.node", f.root);
	guard_fake(&g, &f, 0, NULL);
	cr_assert_eq(bt_guard_add(&g, a, BT_TARGET_INPUT, "cache device", 0, &err), 0);
	cr_expect_eq(bt_guard_add(&g, b, BT_TARGET_DEVICE, "destination", 0, &err),
		     -BT_ERR_SAME_DEVICE);
	expect_in(&err, "img' and '");
	expect_in(&err, "loop7p1.node' are the same device ('");
	expect_in(&err, "loop7p1.node' is a partition of a loop device over '");
	bt_guard_exit(&g);
	printbuf_exit(&err);
	fake_exit(&f);
}

/* A file behind a loop device is in use; a swap file is never written. */
Test(target, loop_backing_file_and_swap_file)
{
	struct printbuf warn = PRINTBUF, err = PRINTBUF;
	struct fake f;
	int ret;

	fake_tree(&f);
	ret = open_one(&f, 0, "img", BT_TARGET_DEVICE, BT_GUARD_RDWR, &warn, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_IN_USE, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "img' is the backing file of /dev/loop7 (--force-in-use overrides this)");
	printbuf_reset(&err);
	ret = open_one(&f, BT_GUARD_FORCE_IN_USE, "img", BT_TARGET_DEVICE, BT_GUARD_RDWR, &warn,
		       &err);
	cr_expect_eq(ret, 0, "%d: %s", ret, printbuf_str(&err));
	expect_in(&warn, "img' is the backing file of /dev/loop7: writing '");
	printbuf_reset(&err);
	ret = open_one(&f, BT_GUARD_FORCE_IN_USE, "swapfile", BT_TARGET_DEVICE, BT_GUARD_RDWR,
		       &warn, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_MOUNTED, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "swapfile' is in use as a swap file: unmount it first");
	printbuf_exit(&warn);
	printbuf_exit(&err);
	fake_exit(&f);
}

/* Another process's opens: a writer refuses a written target, a reader is named. */
Test(target, open_in_another_process)
{
	struct printbuf warn = PRINTBUF, err = PRINTBUF;
	struct fake f;
	int ret;

	fake_tree(&f);
	ret = open_one(&f, 0, "wfile", BT_TARGET_DEVICE, BT_GUARD_RDWR, &warn, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_IN_USE, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "wfile' is open in another process: pid 4242 (fakedd, writing) "
		  "(--force-in-use overrides this)");
	/* an input open for writing elsewhere: warned about only */
	printbuf_reset(&err);
	ret = open_one(&f, 0, "wfile", BT_TARGET_INPUT, 0, &warn, &err);
	cr_expect_eq(ret, 0, "%d: %s", ret, printbuf_str(&err));
	expect_in(&warn, "wfile' is open in another process: pid 4242 (fakedd, writing): what "
		  "is read may change during the run");
	/* a reader elsewhere: written with a warning naming it */
	printbuf_reset(&warn);
	ret = open_one(&f, 0, "rfile", BT_TARGET_DEVICE, BT_GUARD_RDWR, &warn, &err);
	cr_expect_eq(ret, 0, "%d: %s", ret, printbuf_str(&err));
	expect_in(&warn, "warning: '");
	expect_in(&warn, "rfile' is open in another process: pid 4242 (fakedd, reading)");
	printbuf_exit(&warn);
	printbuf_exit(&err);
	fake_exit(&f);
}

/* A lock held elsewhere: the holder from <proc>/locks is named. */
Test(target, locked_by_another_run)
{
	struct printbuf err = PRINTBUF;
	char path[160];
	struct stat st;
	struct fake f;
	int fd, ret;

	fake_tree(&f);
	snprintf(path, sizeof(path), "%s/lockfile", f.root);
	cr_assert_eq(stat(path, &st), 0);
	sh("echo '1: FLOCK  ADVISORY  WRITE 4243 %02x:%02x:%llu 0 EOF' > '%s/locks'",
	   major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino, f.proc);
	fd = open(path, O_RDONLY);
	cr_assert(fd >= 0 && !flock(fd, LOCK_EX));
	ret = open_one(&f, 0, "lockfile", BT_TARGET_DEVICE, BT_GUARD_RDWR, NULL, &err);
	cr_expect_eq(ret, -BT_ERR_DEV_LOCKED, "%d: %s", ret, printbuf_str(&err));
	expect_in(&err, "lockfile' is locked (flock) by another process: pid 4243 (bcache-tool) "
		  "holds the lock, another bcache-tool run (--force-in-use overrides this)");
	close(fd);
	printbuf_exit(&err);
	fake_exit(&f);
}

/* An existing output holding data needs BT_GUARD_OVERWRITE; a stream is never truncated. */
Test(target, existing_output)
{
	struct printbuf warn = PRINTBUF, err = PRINTBUF;
	struct bt_outfile o;
	struct bt_guard g;
	char path[160];
	struct fake f;
	int i;

	fake_tree(&f);
	snprintf(path, sizeof(path), "%s/plain", f.root);
	guard_fake(&g, &f, 0, &warn);
	i = bt_guard_add(&g, path, BT_TARGET_OUTPUT, "output", 0, &err);
	cr_assert_geq(i, 0, "%s", printbuf_str(&err));
	cr_expect_eq(bt_guard_open_file(&g, i, &o, &err), -BT_ERR_OUTPUT_EXISTS);
	expect_in(&err, "the output '");
	expect_in(&err, "plain' already exists (65536 bytes) (--force overwrites it)");
	g.flags = BT_GUARD_OVERWRITE;
	cr_assert_eq(bt_guard_open_file(&g, i, &o, &err), 0, "%s", printbuf_str(&err));
	expect_in(&warn, "plain' already exists (65536 bytes): overwriting it (--force)");
	cr_expect(o.regular && o.seekable && o.size == 0);
	cr_expect_eq(bt_outfile_finish(&o, 4096, &err), 0);
	cr_expect_eq(bt_outfile_close(&o, &err), 0);
	bt_guard_exit(&g);
	{
		struct stat st;

		cr_assert_eq(stat(path, &st), 0);
		cr_expect_eq(st.st_size, 4096);
	}
	/* a character device: written as a stream, not truncated */
	guard_fake(&g, &f, 0, &warn);
	i = bt_guard_add(&g, "/dev/null", BT_TARGET_OUTPUT, "output", 0, &err);
	cr_assert_geq(i, 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_guard_open_file(&g, i, &o, &err), 0, "%s", printbuf_str(&err));
	cr_expect(!o.regular && !o.seekable);
	cr_expect_eq(bt_outfile_finish(&o, 4096, &err), 0, "%s", printbuf_str(&err));
	cr_expect_eq(bt_outfile_close(&o, &err), 0);
	/* an undo file must be a regular file */
	i = bt_guard_add(&g, "/dev/zero", BT_TARGET_UNDO, "undo file", 0, &err);
	cr_assert_geq(i, 0, "%s", printbuf_str(&err));
	cr_expect_eq(bt_guard_open_file(&g, i, &o, &err), -BT_ERR_NOT_A_DEVICE);
	expect_in(&err, "the undo file '/dev/zero' is not a regular file");
	bt_guard_exit(&g);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	fake_exit(&f);
}
