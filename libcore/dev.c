/* dev.c --- open, size, read and write block devices and image files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dev.h"
#include "errcode.h"
#include "undo.h"

/* Is the block device rdev mounted? Reads /proc/self/mountinfo (field 3 is major:minor). */
static bool blockdev_is_mounted(dev_t rdev, char *where, size_t wlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		char mnt[PATH_MAX];

		if (sscanf(line, "%*s %*s %u:%u %*s %4095s", &maj, &min, mnt) == 3 &&
		    makedev(maj, min) == rdev) {
			snprintf(where, wlen, "%s", mnt);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* Does /sys/dev/block/MAJ:MIN have a non-empty holders directory or a bcache dir? */
static int blockdev_sysfs_users(dev_t rdev, char *who, size_t wlen)
{
	char path[PATH_MAX];
	struct stat st;
	DIR *d;
	struct dirent *e;
	int ret = 0;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/bcache",
		 major(rdev), minor(rdev));
	if (!stat(path, &st)) {
		snprintf(who, wlen, "bcache");
		return -BT_ERR_DEV_REGISTERED;
	}
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/holders",
		 major(rdev), minor(rdev));
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(who, wlen, "%s", e->d_name);
		ret = strncmp(e->d_name, "bcache", 6) ? -BT_ERR_DEV_IN_USE
						      : -BT_ERR_DEV_REGISTERED;
		break;
	}
	closedir(d);
	return ret;
}

/* Is the regular file at real path rp the backing file of a loop device? */
static bool file_backs_loop(const char *rp, char *loop, size_t llen)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		char path[PATH_MAX], back[PATH_MAX];
		FILE *f;

		if (strncmp(e->d_name, "loop", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(back, sizeof(back), f)) {
			back[strcspn(back, "\n")] = '\0';
			if (!strcmp(back, rp)) {
				snprintf(loop, llen, "/dev/%s", e->d_name);
				found = true;
			}
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static int dev_check_busy(struct bt_dev *dev, struct printbuf *err)
{
	char who[PATH_MAX];
	int ret;

	if (dev->is_blockdev) {
		if (blockdev_is_mounted(dev->rdev, who, sizeof(who))) {
			prt_printf(err, "'%s' is mounted on %s (use --force to override)",
				   dev->path, who);
			return -BT_ERR_DEV_MOUNTED;
		}
		ret = blockdev_sysfs_users(dev->rdev, who, sizeof(who));
		if (ret == -BT_ERR_DEV_REGISTERED) {
			prt_printf(err, "'%s' is registered with the kernel's bcache (%s); "
				   "stop the cache set or unregister it first", dev->path, who);
			return ret;
		}
		if (ret) {
			prt_printf(err, "'%s' is in use by %s (use --force to override)",
				   dev->path, who);
			return ret;
		}
	} else {
		char rp[PATH_MAX];

		if (realpath(dev->path, rp) && file_backs_loop(rp, who, sizeof(who))) {
			prt_printf(err, "'%s' is the backing file of %s (use --force to override)",
				   dev->path, who);
			return -BT_ERR_DEV_IN_USE;
		}
	}
	return 0;
}

int bt_dev_open(const char *path, unsigned flags, struct bt_dev *out,
		struct printbuf *err)
{
	bool rdwr = flags & BT_DEV_RDWR, force = flags & BT_DEV_FORCE;
	struct stat st;
	int oflags = (rdwr ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	int ret;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->write_limit = -1;
	out->readonly = !rdwr;
	out->path = strdup(path);
	if (!out->path)
		return -ENOMEM;

	if (stat(path, &st)) {
		ret = -errno;
		prt_printf(err, "cannot open '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		out->is_blockdev = true;
		out->rdev = st.st_rdev;
		if (!force)
			oflags |= O_EXCL;
	} else if (!S_ISREG(st.st_mode)) {
		prt_printf(err, "'%s' is neither a block device nor a regular file", path);
		ret = -BT_ERR_NOT_A_DEVICE;
		goto fail;
	}
	if (!force) {
		ret = dev_check_busy(out, err);
		if (ret)
			goto fail;
	}

	out->fd = open(path, oflags);
	if (out->fd < 0) {
		ret = -errno;
		if (errno == EBUSY) {
			prt_printf(err, "'%s' is open by another program (O_EXCL failed; "
				   "use --force to override)", path);
			ret = -BT_ERR_DEV_IN_USE;
		} else {
			prt_printf(err, "cannot open '%s': %s", path, strerror(errno));
		}
		goto fail;
	}
	if (!force && !out->is_blockdev &&
	    flock(out->fd, (rdwr ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		prt_printf(err, "'%s' is locked by another bcache-tool (use --force to override)",
			   path);
		ret = -BT_ERR_DEV_IN_USE;
		goto fail;
	}

	if (out->is_blockdev) {
		int lbs = 512;
		unsigned int pbs = 512;

		if (ioctl(out->fd, BLKGETSIZE64, &out->size) ||
		    ioctl(out->fd, BLKSSZGET, &lbs)) {
			ret = -errno;
			prt_printf(err, "cannot get the size of '%s': %s", path, strerror(errno));
			goto fail;
		}
		if (ioctl(out->fd, BLKPBSZGET, &pbs))
			pbs = (unsigned)lbs;
		out->logical_block_size = (unsigned)lbs;
		out->preferred_io_size = pbs;
	} else {
		out->size = (uint64_t)st.st_size;
		out->logical_block_size = 512;
		out->preferred_io_size = (unsigned)st.st_blksize;
	}
	return 0;
fail:
	bt_dev_close(out);
	return ret;
}

void bt_dev_open_mem(struct bt_dev *out, const char *name, void *buf,
		     uint64_t len, bool readonly)
{
	memset(out, 0, sizeof(*out));
	out->fd = -1;
	out->mem = buf;
	out->path = strdup(name);
	out->size = len;
	out->readonly = readonly;
	out->logical_block_size = 512;
	out->preferred_io_size = 4096;
	out->write_limit = -1;
}

void bt_dev_close(struct bt_dev *dev)
{
	bt_undo_free(dev);
	bt_dev_shadow_stop(dev);
	if (dev->fd >= 0)
		close(dev->fd);
	free(dev->path);
	dev->path = NULL;
	dev->fd = -1;
	dev->mem = NULL;
}

static int dev_range_check(struct bt_dev *dev, size_t len, uint64_t off,
			   const char *op, const char *what, struct printbuf *err)
{
	if (off > dev->size || len > dev->size - off) {
		prt_printf(err, "%s of %s at byte %llu (%zu bytes) passes the end of '%s' (%llu bytes)",
			   op, what, (unsigned long long)off, len, dev->path,
			   (unsigned long long)dev->size);
		return -BT_ERR_SHORT_READ;
	}
	return 0;
}

int bt_dev_read(struct bt_dev *dev, void *buf, size_t len, uint64_t off,
		const char *what, struct printbuf *err)
{
	int ret = dev_range_check(dev, len, off, "read", what, err);
	size_t done = 0;

	if (ret)
		return ret;
	if (dev->fail_read_len && off < dev->fail_read_off + dev->fail_read_len &&
	    dev->fail_read_off < off + len) {
		prt_printf(err, "read error on '%s' reading %s at byte %llu: %s (injected)",
			   dev->path, what, (unsigned long long)off, strerror(EIO));
		return -EIO;
	}
	if (dev->mem) {
		memcpy(buf, dev->mem + off, len);
		bt_dev_shadow_overlay(dev, buf, len, off);
		return 0;
	}
	while (done < len) {
		ssize_t r = pread(dev->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			prt_printf(err, "read error on '%s' reading %s at byte %llu: %s",
				   dev->path, what, (unsigned long long)(off + done),
				   strerror(errno));
			return -EIO;
		}
		if (r == 0) {
			prt_printf(err, "short read on '%s' reading %s at byte %llu",
				   dev->path, what, (unsigned long long)(off + done));
			return -BT_ERR_SHORT_READ;
		}
		done += (size_t)r;
	}
	bt_dev_shadow_overlay(dev, buf, len, off);
	return 0;
}

int bt_dev_write(struct bt_dev *dev, const void *buf, size_t len, uint64_t off,
		 const char *what, struct printbuf *err)
{
	size_t done = 0;
	int ret;

	if (dev->shadow)
		return dev_range_check(dev, len, off, "write", what, err) ?:
		       bt_dev_shadow_write(dev, buf, len, off, what, err);
	if (dev->readonly) {
		prt_printf(err, "refusing to write %s at byte %llu of '%s': opened read-only",
			   what, (unsigned long long)off, dev->path);
		return -BT_ERR_DEV_READONLY;
	}
	if (dev->write_limit >= 0 && dev->nr_writes >= (unsigned long)dev->write_limit) {
		prt_printf(err, "write limit of %ld reached before writing %s at byte %llu of '%s'",
			   dev->write_limit, what, (unsigned long long)off, dev->path);
		return -BT_ERR_WRITE_LIMIT;
	}
	ret = dev_range_check(dev, len, off, "write", what, err);
	if (ret)
		return ret;
	ret = bt_undo_before_write(dev, off, len, err);
	if (ret)
		return ret;
	dev->nr_writes++;
	if (dev->mem) {
		memcpy(dev->mem + off, buf, len);
		return bt_undo_after_write(dev, off, len, err);
	}
	while (done < len) {
		ssize_t r = pwrite(dev->fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			prt_printf(err, "write error on '%s' writing %s at byte %llu: %s",
				   dev->path, what, (unsigned long long)(off + done),
				   r < 0 ? strerror(errno) : "no progress");
			return -EIO;
		}
		done += (size_t)r;
	}
	return bt_undo_after_write(dev, off, len, err);
}

int bt_dev_flush(struct bt_dev *dev, struct printbuf *err)
{
	if (dev->mem || dev->readonly || dev->shadow)
		return 0;
	if (fdatasync(dev->fd)) {
		prt_printf(err, "flush of '%s' failed: %s", dev->path, strerror(errno));
		return -EIO;
	}
	return 0;
}
