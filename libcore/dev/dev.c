/* dev.c --- open, size, read and write block devices and image files. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libcore/dev/dev.h"
#include "libcore/base/errcode.h"

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
	out->fd = open(path, oflags);
	if (out->fd < 0) {
		ret = -errno;
		if (errno == EBUSY && (oflags & O_EXCL)) {
			prt_printf(err, "'%s' is open exclusively (O_EXCL) by another program "
				   "or the kernel", path);
			ret = -BT_ERR_DEV_EXCL;
		} else {
			prt_printf(err, "cannot open '%s': %s", path, strerror(errno));
		}
		goto fail;
	}
	if (!force && !out->is_blockdev &&
	    flock(out->fd, (rdwr ? LOCK_EX : LOCK_SH) | LOCK_NB)) {
		prt_printf(err, "'%s' is locked (flock) by another process", path);
		ret = -BT_ERR_DEV_LOCKED;
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
	if (dev->write_hook.ops && dev->write_hook.ops->free)
		dev->write_hook.ops->free(dev);
	if (dev->redirect.ops && dev->redirect.ops->free)
		dev->redirect.ops->free(dev);
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

	if (ret)
		return ret;
	if (dev->fail_read_len && off < dev->fail_read_off + dev->fail_read_len &&
	    dev->fail_read_off < off + len) {
		prt_printf(err, "read error on '%s' reading %s at byte %llu: %s (injected)",
			   dev->path, what, (unsigned long long)off, strerror(EIO));
		return -EIO;
	}
	if (dev->redirect.ops)
		return dev->redirect.ops->read(dev, buf, len, off, what, err);
	return bt_dev_read_raw(dev, buf, len, off, what, err);
}

int bt_dev_read_raw(struct bt_dev *dev, void *buf, size_t len, uint64_t off,
		    const char *what, struct printbuf *err)
{
	size_t done = 0;

	if (dev->mem) {
		memcpy(buf, dev->mem + off, len);
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
	return 0;
}

/* The write hook's after_write(), if any, once [off, off + len) is written. */
static int write_done(struct bt_dev *dev, uint64_t off, size_t len, struct printbuf *err)
{
	const struct bt_dev_hook *hook = &dev->write_hook;

	return hook->ops && hook->ops->after_write ? hook->ops->after_write(dev, off, len, err) : 0;
}

int bt_dev_write(struct bt_dev *dev, const void *buf, size_t len, uint64_t off,
		 const char *what, struct printbuf *err)
{
	const struct bt_dev_hook *hook = &dev->write_hook;
	size_t done = 0;
	int ret;

	if (dev->readonly && !dev->redirect.ops) {
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
	if (dev->redirect.ops) {
		dev->nr_writes++;
		return dev->redirect.ops->write(dev, buf, len, off, what, err);
	}
	if (hook->ops && hook->ops->before_write) {
		ret = hook->ops->before_write(dev, off, len, err);
		if (ret)
			return ret;
	}
	dev->nr_writes++;
	if (dev->mem) {
		memcpy(dev->mem + off, buf, len);
		return write_done(dev, off, len, err);
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
	return write_done(dev, off, len, err);
}

void bt_dev_readahead(struct bt_dev *dev, uint64_t off, uint64_t len)
{
	if (dev->fd < 0 || off >= dev->size)
		return;
	if (len > dev->size - off)
		len = dev->size - off;
	(void)posix_fadvise(dev->fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

int bt_dev_flush(struct bt_dev *dev, struct printbuf *err)
{
	if (dev->mem || dev->readonly || dev->redirect.ops)
		return 0;	/* a shadow's bytes need not outlive the run */
	if (fdatasync(dev->fd)) {
		prt_printf(err, "flush of '%s' failed: %s", dev->path, strerror(errno));
		return -EIO;
	}
	return 0;
}
