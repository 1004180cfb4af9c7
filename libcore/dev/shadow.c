/* shadow.c --- a dry run's writes kept in a temporary file (shadow.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcore/base/errcode.h"
#include "libcore/dev/shadow.h"

static const char *tmp_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d && *d ? d : "/tmp";
}

/* An unnamed read-write file in dir: O_TMPFILE, else a file unlinked at once. */
static int tmp_open(const char *dir)
{
	size_t n = strlen(dir) + sizeof("/bcache-tool-shadow-XXXXXX");
	char *path;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	path = malloc(n);
	if (!path) {
		errno = ENOMEM;
		return -1;
	}
	snprintf(path, n, "%s/bcache-tool-shadow-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

/* Index of the first range that ends after off (s->nr when none). */
static size_t first_after(const struct bt_shadow *s, uint64_t off)
{
	size_t lo = 0, hi = s->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->r[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Record [start, end) as written: merged with every range it overlaps or touches. */
static int note_range(struct bt_shadow *s, uint64_t start, uint64_t end)
{
	size_t i = first_after(s, start ? start - 1 : 0), j = i;

	/* ranges i..j-1 overlap or touch [start, end) */
	while (j < s->nr && s->r[j].start <= end)
		j++;
	if (i < j) {
		if (s->r[i].start < start)
			start = s->r[i].start;
		if (s->r[j - 1].end > end)
			end = s->r[j - 1].end;
		s->r[i] = (struct bt_shadow_range){ start, end };
		memmove(s->r + i + 1, s->r + j, (s->nr - j) * sizeof(*s->r));
		s->nr -= j - i - 1;
		return 0;
	}
	if (s->nr == s->size) {
		size_t size = s->size ? s->size * 2 : 64;
		struct bt_shadow_range *r = realloc(s->r, size * sizeof(*r));

		if (!r)
			return -ENOMEM;
		s->r = r;
		s->size = size;
	}
	memmove(s->r + i + 1, s->r + i, (s->nr - i) * sizeof(*s->r));
	s->r[i] = (struct bt_shadow_range){ start, end };
	s->nr++;
	return 0;
}

/* pread/pwrite of the whole of [off, off + len) on the temporary file. */
static int tmp_io(struct bt_dev *dev, bool write, void *buf, size_t len, uint64_t off,
		  const char *what, struct printbuf *err)
{
	struct bt_shadow *s = dev->redirect.priv;
	size_t done = 0;

	while (done < len) {
		ssize_t r = write ? pwrite(s->fd, (char *)buf + done, len - done, (off_t)(off + done))
				  : pread(s->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			prt_printf(err, "dry run of '%s': cannot %s the copy of %s at byte %llu in "
				   "a temporary file in '%s': %s", dev->path,
				   write ? "write" : "read", what, (unsigned long long)(off + done),
				   s->dir, r < 0 ? strerror(errno) : "no progress");
			return r < 0 && errno == ENOSPC ? -ENOSPC : -EIO;
		}
		done += (size_t)r;
	}
	return 0;
}

static int shadow_write(struct bt_dev *dev, const void *buf, size_t len, uint64_t off,
			const char *what, struct printbuf *err)
{
	struct bt_shadow *s = dev->redirect.priv;
	int ret;

	if (!len)
		return 0;
	ret = tmp_io(dev, true, (void *)buf, len, off, what, err);
	if (!ret)
		ret = note_range(s, off, off + len);
	if (ret == -ENOMEM)
		prt_printf(err, "out of memory recording the dry run's write of %s at byte %llu "
			   "of '%s'", what, (unsigned long long)off, dev->path);
	if (!ret)
		s->bytes_written += len;
	return ret;
}

static int shadow_read(struct bt_dev *dev, void *buf, size_t len, uint64_t off,
		       const char *what, struct printbuf *err)
{
	const struct bt_shadow *s = dev->redirect.priv;
	uint64_t pos = off, end = off + len;
	size_t i = first_after(s, off);
	int ret = 0;

	while (pos < end && !ret) {
		uint8_t *p = (uint8_t *)buf + (pos - off);

		if (i < s->nr && s->r[i].start <= pos) {
			/* written by the run: the shadow's bytes */
			uint64_t e = s->r[i].end < end ? s->r[i].end : end;

			ret = tmp_io(dev, false, p, (size_t)(e - pos), pos, what, err);
			pos = e;
			i++;
		} else {
			/* not written: the device's own bytes, up to the next written range */
			uint64_t e = i < s->nr && s->r[i].start < end ? s->r[i].start : end;

			ret = bt_dev_read_raw(dev, p, (size_t)(e - pos), pos, what, err);
			pos = e;
		}
	}
	return ret;
}

/* The shadow as dev's redirect: dev.c reads and writes through these. */
static const struct bt_dev_hook_ops shadow_ops = {
	.read	= shadow_read,
	.write	= shadow_write,
	.free	= bt_shadow_free,
};

struct bt_shadow *bt_dev_shadow_of(const struct bt_dev *dev)
{
	return dev->redirect.ops == &shadow_ops ? dev->redirect.priv : NULL;
}

int bt_dev_shadow(struct bt_dev *dev, struct printbuf *err)
{
	struct bt_shadow *s;

	if (dev->redirect.ops)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(tmp_dir()))) {
		free(s);
		prt_str(err, "out of memory for a dry run's shadow");
		return -ENOMEM;
	}
	s->fd = tmp_open(s->dir);
	if (s->fd < 0) {
		int e = errno;

		prt_printf(err, "cannot create the temporary file of the dry run of '%s' in '%s' "
			   "(set TMPDIR to another directory): %s", dev->path, s->dir, strerror(e));
		free(s->dir);
		free(s);
		return -e;
	}
	dev->redirect = (struct bt_dev_hook){ .ops = &shadow_ops, .priv = s };
	return 0;
}

void bt_shadow_free(struct bt_dev *dev)
{
	struct bt_shadow *s = bt_dev_shadow_of(dev);

	if (!s)
		return;
	close(s->fd);
	free(s->dir);
	free(s->r);
	free(s);
	dev->redirect = (struct bt_dev_hook){ 0 };
}
