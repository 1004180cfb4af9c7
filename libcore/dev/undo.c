/* undo.c --- write-ahead undo file: saving old contents before device writes (undo.h). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/dev/undo_internal.h"

struct bt_undo {
	char			*path;
	int			fd;
	uint64_t		end;		/* bytes: where the next record goes */
	struct bt_undo_hdr	hdr;		/* little-endian, as on file */
	struct bt_undo_range	*saved;		/* sorted, disjoint, merged */
	size_t			nr, alloc;
	struct bt_undo_range	*recs;		/* one per record, for the digest */
	size_t			nr_recs, alloc_recs;
};

/* ---- file I/O ---- */

int bt_undo_pwrite(int fd, const void *buf, size_t len, uint64_t off,
		   const char *path, struct printbuf *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pwrite(fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			prt_printf(err, "write error on undo file '%s' at byte %llu: %s",
				   path, (unsigned long long)(off + done),
				   r < 0 ? strerror(errno) : "no progress");
			return -EIO;
		}
		done += (size_t)r;
	}
	return 0;
}

static int undo_sync(int fd, const char *path, struct printbuf *err)
{
	if (fdatasync(fd)) {
		prt_printf(err, "cannot sync undo file '%s': %s", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

static void hdr_set_csum(struct bt_undo_hdr *h)
{
	h->csum = htole64(bch_crc64(h, offsetof(struct bt_undo_hdr, csum)));
}

static int undo_write_hdr(struct bt_undo *u, struct printbuf *err)
{
	hdr_set_csum(&u->hdr);
	return bt_undo_pwrite(u->fd, &u->hdr, sizeof(u->hdr), 0, u->path, err) ?:
	       undo_sync(u->fd, u->path, err);
}

/* Read the device's superblock block as the header records it. */
static int read_sb_block(struct bt_dev *dev, const struct bt_undo_hdr *h,
			 uint8_t *buf, struct printbuf *err)
{
	memset(buf, 0, BT_UNDO_BLOCK);
	if (!le32toh(h->sb_len))
		return 0;
	return bt_dev_read(dev, buf, le32toh(h->sb_len), le64toh(h->sb_offset),
			   "superblock block (undo)", err);
}

/* ---- the set of saved ranges ---- */

static bool range_saved(const struct bt_undo *u, uint64_t start, uint64_t *next)
{
	/* first range with end > start */
	size_t lo = 0, hi = u->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (u->saved[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < u->nr && u->saved[lo].start <= start) {
		*next = u->saved[lo].end;
		return true;
	}
	*next = lo < u->nr ? u->saved[lo].start : UINT64_MAX;
	return false;
}

/* Room for one more range in *v (nr used of *alloc): 0 or -ENOMEM. */
static int ranges_room(struct bt_undo_range **v, size_t nr, size_t *alloc)
{
	size_t n = *alloc ? *alloc * 2 : 16;
	struct bt_undo_range *r;

	if (nr < *alloc)
		return 0;
	r = realloc(*v, n * sizeof(*r));
	if (!r)
		return -ENOMEM;
	*v = r;
	*alloc = n;
	return 0;
}

static int range_add(struct bt_undo *u, uint64_t start, uint64_t end)
{
	size_t i = 0;

	while (i < u->nr && u->saved[i].end < start)
		i++;
	if (i < u->nr && u->saved[i].start <= end) {
		/* merge with i and any following ranges it now touches */
		size_t j = i;

		if (start < u->saved[i].start)
			u->saved[i].start = start;
		while (j + 1 < u->nr && u->saved[j + 1].start <= end)
			j++;
		if (end < u->saved[j].end)
			end = u->saved[j].end;
		u->saved[i].end = end;
		memmove(&u->saved[i + 1], &u->saved[j + 1],
			(u->nr - j - 1) * sizeof(*u->saved));
		u->nr -= j - i;
		return 0;
	}
	if (ranges_room(&u->saved, u->nr, &u->alloc))
		return -ENOMEM;
	memmove(&u->saved[i + 1], &u->saved[i], (u->nr - i) * sizeof(*u->saved));
	u->saved[i] = (struct bt_undo_range){ start, end };
	u->nr++;
	return 0;
}

/* Remember the record of [start, end) for the digest (bt_undo_close()). */
static int recs_push(struct bt_undo *u, uint64_t start, uint64_t end)
{
	if (ranges_room(&u->recs, u->nr_recs, &u->alloc_recs))
		return -ENOMEM;
	u->recs[u->nr_recs++] = (struct bt_undo_range){ start, end };
	return 0;
}

/* ---- recording ---- */

/* Append one record of the device's current [off, off + len). */
static int undo_append(struct bt_undo *u, struct bt_dev *dev, uint64_t off,
		       uint32_t len, void *buf, struct printbuf *err)
{
	struct bt_undo_rec_hdr r = { .magic = BT_UNDO_REC_MAGIC };
	int ret = bt_dev_read(dev, buf, len, off, "block saved to the undo file", err);

	if (ret)
		return ret;
	r.offset = htole64(off);
	r.len = htole32(len);
	r.data_csum = htole64(bch_crc64(buf, len));
	r.csum = htole64(bch_crc64(&r, offsetof(struct bt_undo_rec_hdr, csum)));
	ret = bt_undo_pwrite(u->fd, &r, sizeof(r), u->end, u->path, err) ?:
	      bt_undo_pwrite(u->fd, buf, len, u->end + sizeof(r), u->path, err);
	if (!ret)
		ret = recs_push(u, off, off + len);
	if (!ret)
		u->end += sizeof(r) + len;
	return ret;
}

/* The write hook before a write: save and sync the old contents of the not
 * yet saved 4 KiB blocks of [off, off + len). */
static int undo_before_write(struct bt_dev *dev, uint64_t off, size_t len,
			     struct printbuf *err)
{
	struct bt_undo *u = dev->write_hook.priv;
	uint64_t start, end, pos, next;
	void *buf = NULL;
	bool appended = false;
	int ret = 0;

	if (!u || !len)
		return 0;
	start = off & ~(uint64_t)(BT_UNDO_BLOCK - 1);
	end = off + len + BT_UNDO_BLOCK - 1;
	end &= ~(uint64_t)(BT_UNDO_BLOCK - 1);
	if (end > dev->size)
		end = dev->size;
	for (pos = start; pos < end; pos = next) {
		uint64_t gap_end, p;

		if (range_saved(u, pos, &next))
			continue;
		gap_end = next < end ? next : end;
		if (!buf && !(buf = malloc(BT_UNDO_MAX_REC)))
			return -ENOMEM;
		for (p = pos; p < gap_end && !ret; p += BT_UNDO_MAX_REC) {
			uint64_t n = gap_end - p < BT_UNDO_MAX_REC ? gap_end - p : BT_UNDO_MAX_REC;

			ret = undo_append(u, dev, p, (uint32_t)n, buf, err);
		}
		if (ret)
			break;
		appended = true;
		next = gap_end;
	}
	free(buf);
	/* write-ahead: the old data is durable before the device is touched */
	if (!ret && appended)
		ret = undo_sync(u->fd, u->path, err);
	for (pos = start; !ret && appended && pos < end; pos = next) {
		if (range_saved(u, pos, &next))
			continue;
		next = next < end ? next : end;
		ret = range_add(u, pos, next);
	}
	if (ret)
		prt_printf(err, "%snot writing to '%s' at byte %llu: its old contents "
			   "could not be saved to the undo file '%s'",
			   printbuf_str(err)[0] ? "\n" : "", dev->path,
			   (unsigned long long)off, u->path);
	return ret;
}

/* The write hook after a write: update sb_final when it touched the superblock block. */
static int undo_after_write(struct bt_dev *dev, uint64_t off, size_t len,
			    struct printbuf *err)
{
	struct bt_undo *u = dev->write_hook.priv;
	uint64_t sb = u ? le64toh(u->hdr.sb_offset) : 0;

	if (!u || !u->hdr.sb_len || off >= sb + le32toh(u->hdr.sb_len) || off + len <= sb)
		return 0;
	return read_sb_block(dev, &u->hdr, u->hdr.sb_final, err) ?:
	       undo_write_hdr(u, err);
}

/* ---- opening ---- */

static int undo_same_file(struct bt_dev *dev, int fd, const char *path,
			  struct printbuf *err)
{
	struct stat a, b;

	if (dev->fd < 0 || fstat(dev->fd, &a) || fstat(fd, &b))
		return 0;
	if ((a.st_dev == b.st_dev && a.st_ino == b.st_ino) ||
	    (S_ISBLK(b.st_mode) && b.st_rdev == a.st_rdev)) {
		prt_printf(err, "undo file '%s' is the device '%s' itself", path, dev->path);
		return -EINVAL;
	}
	return 0;
}

/* Resume an existing undo file: it must be for dev in its current state. */
static int undo_resume(struct bt_undo *u, struct bt_dev *dev, struct printbuf *err)
{
	struct bt_undo_file uf;
	int ret = bt_undo_file_load(u->path, &uf, err);

	if (ret) {
		prt_printf(err, "\nrefusing to overwrite '%s' with an undo file "
			   "(remove it or give a new file)", u->path);
		goto out;
	}
	ret = bt_undo_file_check_dev(&uf, dev, err);
	if (ret) {
		prt_printf(err, "\nrefusing to add to undo file '%s': it is not for '%s' "
			   "as it is now (give a new file)", u->path, dev->path);
		goto out;
	}
	u->hdr = uf.hdr;
	u->hdr.version = htole32(BT_UNDO_VERSION);
	u->hdr.state = 0;
	u->end = uf.valid_end;
	for (size_t i = 0; i < uf.nr && !ret; i++) {
		uint64_t start = uf.recs[i].offset, end = start + uf.recs[i].len;

		ret = range_add(u, start, end) ?: recs_push(u, start, end);
	}
	/* unfinished first: a finished header must never lack its digest */
	if (!ret)
		ret = undo_write_hdr(u, err);
	if (!ret && ftruncate(u->fd, (off_t)u->end)) {
		prt_printf(err, "cannot truncate undo file '%s': %s", u->path, strerror(errno));
		ret = -EIO;
	}
out:
	bt_undo_file_exit(&uf);
	return ret;
}

/* The undo log as dev's write hook: dev.c calls these around every write. */
static const struct bt_dev_hook_ops undo_ops = {
	.before_write	= undo_before_write,
	.after_write	= undo_after_write,
	.free		= bt_undo_free,
};

int bt_undo_open(struct bt_dev *dev, int fd, const char *path, struct printbuf *err)
{
	struct bt_undo *u = calloc(1, sizeof(*u));
	struct stat st;
	int ret;

	if (!u || !(u->path = strdup(path))) {
		free(u);
		close(fd);
		return -ENOMEM;
	}
	u->fd = fd;
	ret = undo_same_file(dev, u->fd, path, err);
	if (ret)
		goto fail;
	if (fstat(u->fd, &st)) {
		ret = -errno;
		prt_printf(err, "cannot stat undo file '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (st.st_size) {
		ret = undo_resume(u, dev, err);
	} else {
		memcpy(u->hdr.magic, BT_UNDO_MAGIC, sizeof(u->hdr.magic));
		u->hdr.version = htole32(BT_UNDO_VERSION);
		u->hdr.dev_size = htole64(dev->size);
		u->hdr.sb_offset = htole64(BT_UNDO_SB_OFFSET);
		u->hdr.sb_len = htole32(dev->size <= BT_UNDO_SB_OFFSET ? 0 :
			dev->size - BT_UNDO_SB_OFFSET < BT_UNDO_BLOCK ?
			(uint32_t)(dev->size - BT_UNDO_SB_OFFSET) : BT_UNDO_BLOCK);
		ret = read_sb_block(dev, &u->hdr, u->hdr.sb_open, err);
		memcpy(u->hdr.sb_final, u->hdr.sb_open, BT_UNDO_BLOCK);
		u->end = sizeof(u->hdr);
		if (!ret)
			ret = undo_write_hdr(u, err);
	}
	if (ret)
		goto fail;
	dev->write_hook = (struct bt_dev_hook){ .ops = &undo_ops, .priv = u };
	return 0;
fail:
	if (u->fd >= 0)
		close(u->fd);
	free(u->recs);
	free(u->saved);
	free(u->path);
	free(u);
	return ret;
}

void bt_undo_free(struct bt_dev *dev)
{
	struct bt_undo *u = dev->write_hook.ops == &undo_ops ? dev->write_hook.priv : NULL;

	if (!u)
		return;
	dev->write_hook = (struct bt_dev_hook){ 0 };
	close(u->fd);
	free(u->recs);
	free(u->saved);
	free(u->path);
	free(u);
}

int bt_undo_close(struct bt_dev *dev, struct printbuf *err)
{
	struct bt_undo *u = dev->write_hook.ops == &undo_ops ? dev->write_hook.priv : NULL;
	int ret;

	if (!u)
		return 0;
	ret = read_sb_block(dev, &u->hdr, u->hdr.sb_final, err) ?:
	      bt_undo_digest_write(dev, u->fd, u->path, u->end, u->recs, u->nr_recs, err) ?:
	      undo_sync(u->fd, u->path, err);
	if (!ret) {
		u->hdr.state = htole32(BT_UNDO_STATE_FINISHED);
		ret = undo_write_hdr(u, err);
	}
	bt_undo_free(dev);
	return ret;
}
