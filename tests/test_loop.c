/* test_loop.c --- the real-device subset: the golden images and the guard's
 * refusals on loop devices, where the kernel answers the ioctls (size,
 * logical block size), O_EXCL, mounts and partitions, not a fake sysfs.
 *
 * Every read command gives on a loop device what it gives on the image
 * file; a 4Kn loop device (losetup --sector-size 4096) refuses 512-byte
 * blocks; every refusal leaves each device hashing as before; extract -o
 * fills a block device with what the kernel served. A machine without
 * /dev/loop-control, or where losetup may not attach, skips each test with
 * "skipped: no loop devices"; one without mkfs.ext4 or mount, or partitions
 * on loop devices, or mount namespaces, skips the tests that need them and
 * says so. Every loop device, mount and helper process of a test is undone
 * by loop_fini(), also when an assertion ends the test early or it is
 * skipped after its set-up began (loop_skip()); no test
 * depends on a particular loopN (the suite runs in parallel).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define NO_LOOPS	"skipped: no loop devices"

/*
 * What one test set up, undone by loop_fini() (Criterion runs each test
 * in a process of its own, and its fini takes no argument: hence this
 * file-level state of the test process).
 */
static struct loop_env {
	char		dir[64];
	char		loops[8][32];
	unsigned	nr_loops;
	char		mounts[4][128];
	unsigned	nr_mounts;
	int		fds[8];
	unsigned	nr_fds;
	pid_t		kids[2];
	unsigned	nr_kids;
} env;

static void loop_init(void)
{
	memset(&env, 0, sizeof(env));
	snprintf(env.dir, sizeof(env.dir), "/tmp/bt-loop-XXXXXX");
	cr_assert(mkdtemp(env.dir), "mkdtemp: %m");
}

static void loop_fini(void)
{
	while (env.nr_fds)
		close(env.fds[--env.nr_fds]);
	while (env.nr_kids) {
		pid_t pid = env.kids[--env.nr_kids];

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	while (env.nr_mounts)
		t_sh(NULL, NULL, "umount '%s'", env.mounts[--env.nr_mounts]);
	while (env.nr_loops)
		t_sh(NULL, NULL, "losetup -d '%s'", env.loops[--env.nr_loops]);
	if (env.dir[0])
		t_sh(NULL, NULL, "rm -rf '%s'", env.dir);
	env.dir[0] = '\0';
}

/* Criterion runs no fini after a skip: undo the test's set-up first. */
#define loop_skip(...)				\
	do {					\
		loop_fini();			\
		cr_skip_test(__VA_ARGS__);	\
	} while (0)

#define LOOP_OPTS .init = loop_init, .fini = loop_fini, .timeout = 180

/* Skip the test unless loop devices can be made here. */
static void need_loops(void)
{
	if (access("/dev/loop-control", W_OK) || t_sh(NULL, NULL, "losetup -f >/dev/null 2>&1"))
		loop_skip(NO_LOOPS);
}

/* A loop device over file (losetup OPTS), recorded for loop_fini(); its path. */
static const char *loop_over(const char *file, const char *opts)
{
	char *out = NULL, *err = NULL;
	char *dev = env.loops[env.nr_loops];

	need_loops();
	cr_assert_lt(env.nr_loops, sizeof(env.loops) / sizeof(env.loops[0]));
	if (t_sh(&out, &err, "losetup -f --show %s '%s'", opts, file)) {
		if (strstr(err, "ermission denied") || strstr(err, "not permitted"))
			loop_skip(NO_LOOPS);
		cr_assert_fail("losetup %s '%s': %s", opts, file, err);
	}
	out[strcspn(out, "\n")] = '\0';
	snprintf(dev, sizeof(env.loops[0]), "%s", out);
	env.nr_loops++;
	free(out);
	free(err);
	return dev;
}

/* A new sparse file of size (truncate(1): "80M") in the test's directory; its path. */
static char *new_file(const char *name, const char *size)
{
	char *path;

	cr_assert(asprintf(&path, "%s/%s", env.dir, name) > 0);
	cr_assert_eq(t_sh(NULL, NULL, "truncate -s %s '%s'", size, path), 0);
	return path;
}

/* Hold path open here (flags of open(2)) until the end of the test. */
static void hold(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);		/* not inherited by the runs */

	cr_assert(fd >= 0, "open %s: %m", path);
	cr_assert_lt(env.nr_fds, sizeof(env.fds) / sizeof(env.fds[0]));
	env.fds[env.nr_fds++] = fd;
}

/* s with every occurrence of from replaced by to (malloc'ed). */
static char *replace(const char *s, const char *from, const char *to)
{
	size_t nf = strlen(from), nt = strlen(to);
	char *out = malloc(strlen(s) * (nt > nf ? nt / nf + 1 : 1) + 1), *o = out;

	cr_assert(out);
	while (*s) {
		if (!strncmp(s, from, nf)) {
			memcpy(o, to, nt);
			o += nt;
			s += nf;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
	return out;
}

/* "bcache-tool ARGS" on dev and on file print the same, dev and file named alike. */
static void same_output(const char *file, const char *dev, const char *args)
{
	char *a = NULL, *b = NULL, *ea = NULL, *eb = NULL, *na, *nb;
	int ra = t_run(&a, &ea, "%s '%s'", args, file);
	int rb = t_run(&b, &eb, "%s '%s'", args, dev);

	cr_assert_eq(ra, rb, "%s: exit %d on the file, %d on %s: %s", args, ra, rb, dev, eb);
	na = replace(a, file, "DEV");
	nb = replace(b, dev, "DEV");
	cr_expect_str_eq(nb, na, "%s: %s prints what the image file does not", args, dev);
	free(a);
	free(b);
	free(ea);
	free(eb);
	free(na);
	free(nb);
}

/*
 * Run "bcache-tool ARGS" (printf-style), expect exit 8 and msg in its
 * stderr, and each path of devs (NULL-terminated) hashing as before.
 */
static void refused(const char *const *devs, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void refused(const char *const *devs, const char *msg, const char *fmt, ...)
{
	char sum[8][65], now[65], *args, *err = NULL;
	unsigned n = 0;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	cr_assert(vasprintf(&args, fmt, ap) > 0);
	va_end(ap);
	for (; devs[n]; n++) {
		cr_assert_lt(n, sizeof(sum) / sizeof(sum[0]));
		t_sha256_file(devs[n], sum[n]);
	}
	rc = t_run(NULL, &err, "%s", args);
	cr_expect_eq(rc, 8, "'%s': exit %d, expected 8: %s", args, rc, err);
	cr_expect(strstr(err, msg), "'%s': expected \"%s\" in: %s", args, msg, err);
	for (unsigned i = 0; i < n; i++) {
		t_sha256_file(devs[i], now);
		cr_expect_str_eq(now, sum[i], "'%s' changed %s", args, devs[i]);
	}
	free(args);
	free(err);
}

/* The byte size of block device dev, asked of the kernel (BLKGETSIZE64 via blockdev). */
static unsigned long long blk_size(const char *dev)
{
	char *out = NULL;
	unsigned long long n;

	cr_assert_eq(t_sh(&out, NULL, "blockdev --getsize64 '%s'", dev), 0);
	n = strtoull(out, NULL, 10);
	free(out);
	return n;
}

/* The value of show-super's field (e.g. "dev.sectors_per_block") on dev. */
static unsigned long long sb_field(const char *dev, const char *field)
{
	char *out = NULL, *at, pat[80];
	unsigned long long v;

	cr_assert_eq(t_run(&out, NULL, "show-super '%s'", dev), 0);
	snprintf(pat, sizeof(pat), "\n%s ", field);
	at = strstr(out, pat);
	cr_assert(at, "no %s in show-super of %s:\n%s", field, dev, out);
	v = strtoull(at + strlen(pat) + strspn(at + strlen(pat), " "), NULL, 10);
	free(out);
	return v;
}

/* sha256 of the first len bytes of path. */
static void sha256_head(const char *path, unsigned long long len, char hex[65])
{
	char *out = NULL;

	cr_assert_eq(t_sh(&out, NULL, "head -c %llu '%s' | sha256sum", len, path), 0);
	memcpy(hex, out, 64);
	hex[64] = '\0';
	free(out);
}

/* A golden image of the running test's set, on a loop device; the copy's path in file. */
static const char *golden_loop(const char *name, const char *which, char **file)
{
	need_loops();
	*file = t_golden_image(name, which);
	return loop_over(*file, "");
}

/* Every read command gives on a loop device what it gives on the image file. */
GOLDEN_TEST(loop, reads_match_image_file, LOOP_OPTS)
{
	const char *name = "s05-btree-depth2";
	json_t *m = t_manifest_case(name);
	char *lcache, *lbdev, sum[65];
	const char *lc = golden_loop(name, "cache", &lcache);
	const char *lb = golden_loop(name, "backing", &lbdev);
	/* copies of their own: a loop device's file is refused as in use */
	char *cache = t_golden_image(name, "cache"), *bdev = t_golden_image(name, "backing");

	same_output(cache, lc, "show-super");
	same_output(bdev, lb, "show-super");
	same_output(cache, lc, "dump-btree --keys-only");
	same_output(cache, lc, "fsck -n");
	free(t_keys_match_kernel(name, lc, ""));
	t_extract_sha256(lc, lb, sum);
	cr_expect_str_eq(sum, t_manifest_str(m, "expected_logical_sha256", "bcache0"),
			 "extract from %s and %s serves what the kernel served", lc, lb);
	t_sha256_file(lc, sum);
	cr_expect_str_eq(sum, t_manifest_str(m, "cache_image", "raw_sha256"), "%s changed", lc);
	t_sha256_file(lb, sum);
	cr_expect_str_eq(sum, t_manifest_str(m, "backing_image", "raw_sha256"), "%s changed", lb);
	json_decref(m);
	free(cache);
	free(bdev);
	free(lcache);
	free(lbdev);
}

/*
 * format on dev (buckets of 256 KiB): the kernel's size (BLKGETSIZE64) and
 * logical block size (BLKSSZGET) used, the device filled to its last bucket.
 */
static void formatted_to_size(const char *dev, unsigned sectors_per_block)
{
	unsigned long long sectors = blk_size(dev) / 512, nbuckets;
	char *err = NULL;

	cr_assert_eq(t_run(NULL, &err, "format -C --bucket 256k '%s'", dev), 0,
		     "format -C %s: %s", dev, err);
	cr_expect_eq(sb_field(dev, "dev.sectors_per_block"), sectors_per_block, "%s", dev);
	cr_expect_eq(sb_field(dev, "dev.sectors_per_bucket"), 512, "%s", dev);
	nbuckets = sb_field(dev, "dev.cache.nbuckets");
	cr_expect_eq(nbuckets, sectors / 512, "%s: %llu sectors", dev, sectors);
	cr_expect_eq(sb_field(dev, "dev.cache.total_sectors"), nbuckets * 512, "%s", dev);
	cr_expect_eq(t_run(NULL, &err, "fsck -n '%s'", dev), 0, "fsck -n %s: %s", dev, err);
	free(err);
}

/* A 4Kn loop device refuses 512-byte blocks; both kinds are formatted to their size. */
Test(loop, size_and_logical_block_size, LOOP_OPTS)
{
	const char *l4 = loop_over(new_file("4kn.img", "200M"), "--sector-size 4096");
	const char *l5 = loop_over(new_file("512.img", "204802K"), "");
	const char *devs[] = { l4, NULL };
	char *out = NULL;

	cr_assert_eq(t_sh(&out, NULL, "blockdev --getss '%s'", l4), 0);
	if (atoi(out) != 4096)
		loop_skip("skipped: losetup --sector-size 4096 gave %s-byte sectors", out);
	free(out);
	refused(devs, "the device's logical block is 4096 bytes",
		"format -C --bucket 256k --block 512 '%s'", l4);
	refused(devs, "the device's logical block is 4096 bytes",
		"format -B --block 512 '%s'", l4);
	formatted_to_size(l4, 8);
	formatted_to_size(l5, 1);
}

/* A device another program holds O_EXCL: every writing command refused, the holder named. */
Test(loop, excl_held_refused, LOOP_OPTS)
{
	char *cache, *bdev, who[96];
	const char *lc = golden_loop("s04-writeback-dirty-crash", "cache", &cache);
	const char *lb = golden_loop("s04-writeback-dirty-crash", "backing", &bdev);
	const char *devs[] = { lc, lb, NULL };
	char *err = NULL;

	snprintf(who, sizeof(who), "by another program or the kernel: pid %d (", (int)getpid());
	hold(lc, O_RDONLY | O_EXCL);
	refused(devs, who, "fsck -y '%s'", lc);
	refused(devs, who, "fsck -n '%s'", lc);
	refused(devs, who, "gc '%s'", lc);
	refused(devs, who, "format -C --wipe-bcache '%s'", lc);
	refused(devs, who, "writeback '%s' '%s'", lc, lb);
	refused(devs, "(--force-in-use overrides this)", "fsck -y '%s'", lc);
	/* a read-only run may read it when told */
	cr_expect_eq(t_run(NULL, &err, "fsck -n --force-in-use '%s'", lc), 0, "%s", err);
	cr_expect(strstr(err, "anyway (--force-in-use)"), "%s", err);
	free(err);
	hold(lb, O_RDONLY | O_EXCL);
	refused(devs, who, "detach '%s'", lb);
	free(cache);
	free(bdev);
}

/* mkfs.ext4 on path; skips the test when it cannot. */
static void mkfs_ext4(const char *path)
{
	if (t_sh(NULL, NULL, "command -v mkfs.ext4 >/dev/null"))
		loop_skip("skipped: mkfs.ext4 is not installed");
	cr_assert_eq(t_sh(NULL, NULL, "mkfs.ext4 -q -F '%s'", path), 0, "mkfs.ext4 %s", path);
}

/* Mount dev read-only (nothing written while it is hashed); the mount point. */
static const char *mount_ro(const char *dev)
{
	char *mnt = env.mounts[env.nr_mounts], dir[sizeof(env.dir)];

	memcpy(dir, env.dir, sizeof(dir));
	snprintf(mnt, sizeof(env.mounts[0]), "%s/mnt%u", dir, env.nr_mounts);
	cr_assert_eq(mkdir(mnt, 0755), 0, "mkdir %s: %m", mnt);
	if (t_sh(NULL, NULL, "mount -o ro,noload '%s' '%s'", dev, mnt))
		loop_skip("skipped: cannot mount '%s' here", dev);
	env.nr_mounts++;
	return mnt;
}

/* A metadata image of golden case name's cache (image -o), for image --restore. */
static char *meta_image(const char *cache)
{
	char *meta, *err = NULL;

	cr_assert(asprintf(&meta, "%s/meta.img", env.dir) > 0);
	cr_assert_eq(t_run(NULL, &err, "image '%s' -o '%s'", cache, meta), 0, "%s", err);
	free(err);
	return meta;
}

/* A mounted ext4: every writing command refused whatever the flags, the mount named. */
Test(loop, mounted_ext4_refused, LOOP_OPTS)
{
	const char *l = loop_over(new_file("ext4.img", "64M"), ""), *mnt;
	const char *devs[] = { l, NULL };
	char *cache = t_golden_image("s04-writeback-dirty-crash", "cache");
	char *bdev = t_golden_image("s04-writeback-dirty-crash", "backing");
	char *meta = meta_image(cache), msg[256];

	mkfs_ext4(l);
	mnt = mount_ro(l);
	snprintf(msg, sizeof(msg), "'%s' is mounted on %s: unmount it first (no option "
		 "overrides this)", l, mnt);
	refused(devs, msg, "format -C --force --force-in-use '%s'", l);
	refused(devs, msg, "fsck -y --force-in-use '%s'", l);
	refused(devs, msg, "gc '%s'", l);
	refused(devs, msg, "extract --force '%s' '%s' -o '%s'", cache, bdev, l);
	refused(devs, msg, "image --restore --force '%s' '%s'", meta, l);
	refused(devs, msg, "writeback '%s' '%s'", cache, l);
	refused(devs, msg, "detach '%s'", l);
	snprintf(msg, sizeof(msg), "'%s' is mounted on %s: a real run refuses it", l, mnt);
	refused(devs, msg, "fsck -n '%s'", l);
	free(cache);
	free(bdev);
	free(meta);
}

/* One partition on a loop device: the whole disk's path, the partition's node and name. */
struct part_disk {
	char		*file;		/* the image file */
	const char	*disk;		/* /dev/loopN */
	char		part[160];	/* a node of its partition 1 */
	char		name[48];	/* the kernel's name of the partition: "loopNp1" */
};

/* Wait up to 3 s for path to appear (udev, devtmpfs). */
static bool appears(const char *path)
{
	for (int i = 0; i < 60; i++) {
		if (!access(path, F_OK))
			return true;
		usleep(50000);
	}
	return false;
}

/*
 * A 96 MiB file with a DOS partition table (one partition, sectors 2048 to
 * 67583) on a loop device with partitions (losetup -P). A kernel without
 * DOS partition tables gets the partition from addpart(8) (BLKPG); without
 * either the test is skipped. Without a node in /dev, one is made.
 */
static void partitioned(struct part_disk *pd)
{
	char sys[160], *dev = NULL;

	pd->file = new_file("disk.img", "96M");
	cr_assert_eq(t_sh(NULL, NULL, "f='%s'; printf '\\203' | dd of=\"$f\" bs=1 seek=450 "
			  "conv=notrunc status=none && printf '\\000\\010\\000\\000\\000\\000\\001"
			  "\\000' | dd of=\"$f\" bs=1 seek=454 conv=notrunc status=none && "
			  "printf '\\125\\252' | dd of=\"$f\" bs=1 seek=510 conv=notrunc "
			  "status=none", pd->file), 0);
	pd->disk = loop_over(pd->file, "-P");
	snprintf(pd->name, sizeof(pd->name), "%sp1", strrchr(pd->disk, '/') + 1);
	snprintf(sys, sizeof(sys), "/sys/class/block/%s/dev", pd->name);
	if (access(sys, F_OK) && t_sh(NULL, NULL, "addpart '%s' 1 2048 65536", pd->disk))
		loop_skip("skipped: no partitions on loop devices here (no DOS partition "
			     "tables in the kernel, no addpart)");
	snprintf(pd->part, sizeof(pd->part), "/dev/%s", pd->name);
	if (appears(pd->part))
		return;
	dev = t_read_file(sys, NULL);
	snprintf(pd->part, sizeof(pd->part), "%s/p1.node", env.dir);
	cr_assert_eq(t_sh(NULL, NULL, "mknod '%s' b $(echo %s | tr ':' ' ')", pd->part, dev), 0);
	free(dev);
}

/* The whole disk of a mounted partition: refused, naming the partition and the mount. */
Test(loop, whole_disk_of_mounted_partition, LOOP_OPTS)
{
	char *cache = t_golden_image("s04-writeback-dirty-crash", "cache");
	char *bdev = t_golden_image("s04-writeback-dirty-crash", "backing");
	struct part_disk pd;
	const char *mnt, *devs[] = { NULL, NULL };
	char msg[320];

	partitioned(&pd);
	devs[0] = pd.disk;
	mkfs_ext4(pd.part);
	mnt = mount_ro(pd.part);
	snprintf(msg, sizeof(msg), "'%s' is in use: its partition /dev/%s is mounted on %s: "
		 "unmount it first (no option overrides this)", pd.disk, pd.name, mnt);
	refused(devs, msg, "format -C --force --force-in-use '%s'", pd.disk);
	refused(devs, msg, "fsck -y '%s'", pd.disk);
	refused(devs, msg, "gc '%s'", pd.disk);
	refused(devs, msg, "extract --force '%s' '%s' -o '%s'", cache, bdev, pd.disk);
	refused(devs, msg, "writeback '%s' '%s'", cache, pd.disk);
	/* the partition and its disk, or its loop device's file, are one device */
	snprintf(msg, sizeof(msg), "the cache device '%s' is a partition of the backing device "
		 "'%s'", pd.part, pd.disk);
	refused(devs, msg, "format -C '%s' -B '%s'", pd.part, pd.disk);
	snprintf(msg, sizeof(msg), "('%s' is a partition of a loop device over '%s')", pd.part,
		 pd.file);
	refused(devs, msg, "format -C '%s' -B '%s'", pd.part, pd.file);
	free(cache);
	free(bdev);
}

/* Start "unshare -m sh -c 'mount ... && touch READY; exec sleep'": the mount elsewhere, its pid. */
static pid_t mount_elsewhere(const char *dev, const char *mnt)
{
	char *ready, *script;
	pid_t pid;

	if (t_sh(NULL, NULL, "command -v unshare >/dev/null"))
		loop_skip("skipped: unshare is not installed");
	cr_assert(asprintf(&ready, "%s/ready", env.dir) > 0);
	cr_assert(asprintf(&script, "mount -o ro,noload '%s' '%s' && touch '%s'; exec sleep 600",
			   dev, mnt, ready) > 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (!pid) {
		execlp("unshare", "unshare", "-m", "--propagation", "private", "sh", "-c", script,
		       (char *)NULL);
		_exit(127);
	}
	env.kids[env.nr_kids++] = pid;
	if (!appears(ready))
		loop_skip("skipped: cannot mount in a new mount namespace here");
	free(ready);
	free(script);
	return pid;
}

/* A partition held or mounted where /proc/self/mountinfo cannot see: still named. */
Test(loop, partition_held_or_mounted_elsewhere, LOOP_OPTS)
{
	struct part_disk pd;
	const char *devs[] = { NULL, NULL };
	char msg[640], mnt[128];
	pid_t ns;

	partitioned(&pd);
	devs[0] = pd.disk;
	mkfs_ext4(pd.part);
	/* the partition open O_EXCL here: the disk's O_EXCL open fails, the partition named */
	hold(pd.part, O_RDONLY | O_EXCL);
	snprintf(msg, sizeof(msg), "'%s' is open exclusively (O_EXCL) by another program or the "
		 "kernel: its partition /dev/%s is open in pid %d (", pd.disk, pd.name,
		 (int)getpid());
	refused(devs, msg, "format -C --force '%s'", pd.disk);
	refused(devs, msg, "fsck -y '%s'", pd.disk);
	close(env.fds[--env.nr_fds]);
	/* the disk open O_EXCL here: the partition's O_EXCL open fails, the disk named */
	hold(pd.disk, O_RDONLY | O_EXCL);
	snprintf(msg, sizeof(msg), "its whole disk /dev/%s is open in pid %d (",
		 strrchr(pd.disk, '/') + 1, (int)getpid());
	refused(devs, msg, "format -C --force '%s'", pd.part);
	close(env.fds[--env.nr_fds]);
	/* mounted in another mount namespace: mounted all the same */
	snprintf(mnt, sizeof(mnt), "%s/mnt-elsewhere", env.dir);
	cr_assert_eq(mkdir(mnt, 0755), 0);
	ns = mount_elsewhere(pd.part, mnt);
	snprintf(msg, sizeof(msg), "'%s' is in use: its partition /dev/%s is mounted on %s (in the "
		 "mount namespace of pid %d (sleep)): unmount it first", pd.disk, pd.name, mnt,
		 (int)ns);
	refused(devs, msg, "format -C --force --force-in-use '%s'", pd.disk);
	snprintf(msg, sizeof(msg), "'%s' is mounted on %s (in the mount namespace of pid %d",
		 pd.part, mnt, (int)ns);
	refused(devs, msg, "fsck -y --force-in-use '%s'", pd.part);
}

/* One block device under two names, or a loop device and its file: one device. */
Test(loop, same_device_two_names, LOOP_OPTS)
{
	char *cache, node[128], link[128], msg[320];
	const char *l = golden_loop("s04-writeback-dirty-crash", "cache", &cache);
	const char *l2 = loop_over(cache, "");
	const char *devs[] = { l, NULL };
	struct stat st;

	cr_assert_eq(stat(l, &st), 0);
	snprintf(node, sizeof(node), "%s/second-node", env.dir);
	snprintf(link, sizeof(link), "%s/link", env.dir);
	cr_assert_eq(t_sh(NULL, NULL, "mknod '%s' b %u %u && ln -s '%s' '%s'", node,
			  major(st.st_rdev), minor(st.st_rdev), l, link), 0);
	snprintf(msg, sizeof(msg), "'%s' and '%s' are the same device", l, node);
	refused(devs, msg, "format -C '%s' -B '%s'", l, node);
	refused(devs, msg, "writeback '%s' '%s'", l, node);
	snprintf(msg, sizeof(msg), "'%s' and '%s' are the same device", l, link);
	refused(devs, msg, "fsck -n '%s' --backing '%s'", l, link);
	refused(devs, msg, "migrate '%s' '%s'", l, link);
	snprintf(msg, sizeof(msg), "the output '%s' is the cache device '%s'", node, l);
	refused(devs, msg, "extract --force '%s' -o '%s'", l, node);
	snprintf(msg, sizeof(msg), "('%s' is a loop device over '%s')", l, cache);
	refused(devs, msg, "writeback '%s' '%s'", cache, l);
	refused(devs, msg, "fsck -y '%s' --undo '%s'", cache, l);
	snprintf(msg, sizeof(msg), "'%s' and '%s' are the same device (both are loop devices over "
		 "'%s')", l, l2, cache);
	refused(devs, msg, "format -C '%s' -B '%s'", l, l2);
	free(cache);
}

/* extract -o onto a block device: written, synced, never truncated, exit 0. */
static void extract_onto(const char *cache, const char *bdev, const char *out,
			 unsigned long long len, const char *want)
{
	char *err = NULL, sum[65];
	int rc = t_run(NULL, &err, "extract '%s' '%s' -o '%s'", cache, bdev, out);

	cr_expect_eq(rc, 0, "extract -o %s: exit %d: %s", out, rc, err);
	cr_expect(!strstr(err, "cannot"), "extract -o %s: %s", out, err);
	sha256_head(out, len, sum);
	cr_expect_str_eq(sum, want, "extract -o %s: its first %llu bytes are not what the kernel "
			 "served", out, len);
	cr_expect_eq(blk_size(out) > len, strstr(err, "is larger than the content") != NULL,
		     "%s", err);
	free(err);
}

/* extract -o /dev/loopN (512-byte and 4Kn, larger than the content and exactly its size). */
GOLDEN_TEST(loop, extract_to_block_device, LOOP_OPTS)
{
	const char *name = "s04-writeback-dirty-crash";
	json_t *m = t_manifest_case(name);
	const char *want = t_manifest_str(m, "expected_logical_sha256", "bcache0");
	unsigned long long len = strtoull(t_manifest_str(m, "truth_before_stop",
							 "bcache0.size_sectors"), NULL, 10) * 512;
	char *cache = t_golden_image(name, "cache"), *bdev = t_golden_image(name, "backing");
	char exact[32];

	need_loops();
	snprintf(exact, sizeof(exact), "%llu", len);
	extract_onto(cache, bdev, loop_over(new_file("out.img", "80M"), ""), len, want);
	extract_onto(cache, bdev, loop_over(new_file("out4k.img", "80M"), "--sector-size 4096"),
		     len, want);
	extract_onto(cache, bdev, loop_over(new_file("exact.img", exact), ""), len, want);
	json_decref(m);
	free(cache);
	free(bdev);
}
