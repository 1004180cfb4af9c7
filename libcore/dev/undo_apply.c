/* undo_apply.c --- read, verify and apply an undo file (undo.h). */
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

ssize_t bt_undo_file_pread(struct bt_undo_file *uf, void *buf, size_t len,
			   uint64_t off, struct printbuf *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(uf->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			prt_printf(err, "read error on undo file '%s' at byte %llu: %s",
				   uf->path, (unsigned long long)(off + done), strerror(errno));
			return -EIO;
		}
		if (!r)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static int uf_check_hdr(struct bt_undo_file *uf, uint64_t size, struct printbuf *err)
{
	const struct bt_undo_hdr *h = &uf->hdr;

	if (size < sizeof(*h) || memcmp(h->magic, BT_UNDO_MAGIC, sizeof(h->magic))) {
		prt_printf(err, "'%s' is not a bcache-tool undo file (no header magic at byte 0)",
			   uf->path);
		return -BT_ERR_UNDO_BAD;
	}
	if (le64toh(h->csum) != bch_crc64(h, offsetof(struct bt_undo_hdr, csum))) {
		prt_printf(err, "bad checksum in the header of undo file '%s' at byte 0",
			   uf->path);
		return -BT_ERR_UNDO_BAD;
	}
	uf->version = le32toh(h->version);
	if (uf->version != 1 && uf->version != BT_UNDO_VERSION) {
		prt_printf(err, "undo file '%s' has version %u, not 1 or %u", uf->path,
			   uf->version, BT_UNDO_VERSION);
		return -BT_ERR_UNDO_BAD;
	}
	if (le32toh(h->sb_len) > BT_UNDO_BLOCK ||
	    le64toh(h->sb_offset) + le32toh(h->sb_len) > le64toh(h->dev_size)) {
		prt_printf(err, "bad superblock range in the header of undo file '%s'", uf->path);
		return -BT_ERR_UNDO_BAD;
	}
	return 0;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct bt_undo_rec *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Verify the record at file byte pos; returns 1 when it is cut short by the end of the file. */
static int uf_check_rec(struct bt_undo_file *uf, uint64_t pos, uint64_t size,
			void *buf, struct bt_undo_rec *out, struct printbuf *err)
{
	struct bt_undo_rec_hdr r;
	uint64_t off;
	uint32_t len;
	ssize_t n;

	if (size - pos < sizeof(r))
		return 1;
	n = bt_undo_file_pread(uf, &r, sizeof(r), pos, err);
	if (n < 0)
		return (int)n;
	if (memcmp(r.magic, BT_UNDO_REC_MAGIC, sizeof(r.magic)) ||
	    le64toh(r.csum) != bch_crc64(&r, offsetof(struct bt_undo_rec_hdr, csum))) {
		prt_printf(err, "bad record header in undo file '%s' at byte %llu",
			   uf->path, (unsigned long long)pos);
		return -BT_ERR_UNDO_BAD;
	}
	off = le64toh(r.offset);
	len = le32toh(r.len);
	if (!len || len > BT_UNDO_MAX_REC || off > le64toh(uf->hdr.dev_size) ||
	    len > le64toh(uf->hdr.dev_size) - off) {
		prt_printf(err, "record in undo file '%s' at byte %llu saves bytes %llu+%u, "
			   "outside the %llu-byte device", uf->path, (unsigned long long)pos,
			   (unsigned long long)off, len,
			   (unsigned long long)le64toh(uf->hdr.dev_size));
		return -BT_ERR_UNDO_BAD;
	}
	if (size - pos - sizeof(r) < len)
		return 1;
	n = bt_undo_file_pread(uf, buf, len, pos + sizeof(r), err);
	if (n < 0)
		return (int)n;
	if (le64toh(r.data_csum) != bch_crc64(buf, len)) {
		prt_printf(err, "bad checksum in undo file '%s': record at byte %llu "
			   "(device bytes %llu+%u)", uf->path, (unsigned long long)pos,
			   (unsigned long long)off, len);
		return -BT_ERR_UNDO_BAD;
	}
	*out = (struct bt_undo_rec){ off, len, pos + sizeof(r), le64toh(r.data_csum) };
	return 0;
}

static int uf_load_recs(struct bt_undo_file *uf, uint64_t size, struct printbuf *err)
{
	uint64_t pos = sizeof(uf->hdr);
	struct bt_undo_digest d = { 0 };
	size_t alloc = 0;
	void *buf = malloc(BT_UNDO_MAX_REC);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	while (pos < size) {
		struct bt_undo_rec rec;

		ret = uf->version < 2 ? 0 : bt_undo_digest_read(uf, pos, size, &d, err);
		if (ret) {	/* the digest ends the records */
			ret = ret < 0 ? ret : 0;
			break;
		}
		ret = uf_check_rec(uf, pos, size, buf, &rec, err);
		if (ret == 1) {
			uf->torn_tail = true;
			ret = 0;
			break;
		}
		if (ret)
			break;
		if (uf->nr == alloc) {
			struct bt_undo_rec *n;

			alloc = alloc ? alloc * 2 : 64;
			n = realloc(uf->recs, alloc * sizeof(*n));
			if (!n) {
				ret = -ENOMEM;
				break;
			}
			uf->recs = n;
		}
		uf->recs[uf->nr++] = rec;
		pos = rec.file_off + rec.len;
	}
	free(buf);
	uf->valid_end = pos;
	if (!ret && uf->nr)
		qsort(uf->recs, uf->nr, sizeof(*uf->recs), rec_cmp);
	for (size_t i = 1; i < uf->nr && !ret; i++)
		if (uf->recs[i - 1].offset + uf->recs[i - 1].len > uf->recs[i].offset) {
			prt_printf(err, "undo file '%s' saves device byte %llu twice",
				   uf->path, (unsigned long long)uf->recs[i].offset);
			ret = -BT_ERR_UNDO_BAD;
		}
	if (!ret && uf->version >= 2 && uf->finished)
		return bt_undo_digest_match(uf, &d, err);	/* frees d.ent */
	free(d.ent);
	return ret;
}

int bt_undo_file_load(const char *path, struct bt_undo_file *uf, struct printbuf *err)
{
	struct stat st;
	ssize_t n;
	int ret;

	memset(uf, 0, sizeof(*uf));
	uf->fd = open(path, O_RDONLY | O_CLOEXEC);
	uf->path = strdup(path);
	if (!uf->path)
		return -ENOMEM;
	if (uf->fd < 0 || fstat(uf->fd, &st)) {
		ret = -errno;
		prt_printf(err, "cannot open undo file '%s': %s", path, strerror(errno));
		return ret;
	}
	n = bt_undo_file_pread(uf, &uf->hdr, sizeof(uf->hdr), 0, err);
	if (n < 0)
		return (int)n;
	ret = uf_check_hdr(uf, (uint64_t)st.st_size, err);
	if (ret)
		return ret;
	uf->finished = le32toh(uf->hdr.state) & BT_UNDO_STATE_FINISHED;
	return uf_load_recs(uf, (uint64_t)st.st_size, err);
}

void bt_undo_file_exit(struct bt_undo_file *uf)
{
	if (uf->fd >= 0)
		close(uf->fd);
	uf->fd = -1;
	free(uf->recs);
	free(uf->path);
	uf->recs = NULL;
	uf->path = NULL;
	uf->nr = 0;
}

int bt_undo_file_check_dev(struct bt_undo_file *uf, struct bt_dev *dev,
			   struct printbuf *err)
{
	uint8_t sb[BT_UNDO_BLOCK];
	uint32_t sb_len = le32toh(uf->hdr.sb_len);
	uint64_t sb_off = le64toh(uf->hdr.sb_offset);
	int ret;

	if (dev->size != le64toh(uf->hdr.dev_size)) {
		prt_printf(err, "undo file '%s' is for a %llu-byte device; '%s' has %llu bytes",
			   uf->path, (unsigned long long)le64toh(uf->hdr.dev_size),
			   dev->path, (unsigned long long)dev->size);
		return -BT_ERR_UNDO_WRONG_DEV;
	}
	ret = bt_dev_read(dev, sb, sb_len, sb_off, "superblock block", err);
	if (ret)
		return ret;
	if (memcmp(sb, uf->hdr.sb_final, sb_len)) {
		size_t i = 0;

		while (sb[i] == uf->hdr.sb_final[i])
			i++;
		prt_printf(err, "the superblock of '%s' does not match undo file '%s' "
			   "(first difference at byte %llu): another device, or changed "
			   "since the undo file was written", dev->path, uf->path,
			   (unsigned long long)(sb_off + i));
		return -BT_ERR_UNDO_WRONG_DEV;
	}
	return uf->has_digest ? bt_undo_digest_check(uf, dev, err) : 0;
}

/* Does record r hold part of the superblock block? */
static bool rec_has_sb(const struct bt_undo_file *uf, const struct bt_undo_rec *r)
{
	uint64_t sb = le64toh(uf->hdr.sb_offset);

	return uf->hdr.sb_len && r->offset < sb + le32toh(uf->hdr.sb_len) &&
	       sb < r->offset + r->len;
}

static int uf_restore(struct bt_undo_file *uf, const struct bt_undo_rec *r,
		      struct bt_dev *dev, void *buf, struct printbuf *err)
{
	ssize_t n = bt_undo_file_pread(uf, buf, r->len, r->file_off, err);

	if (n < 0)
		return (int)n;
	if ((size_t)n != r->len) {
		prt_printf(err, "undo file '%s' shrank: record data at byte %llu is gone",
			   uf->path, (unsigned long long)r->file_off);
		return -BT_ERR_UNDO_BAD;
	}
	if (bch_crc64(buf, r->len) != r->data_csum) {
		prt_printf(err, "bad checksum in undo file '%s': data at byte %llu "
			   "changed since it was verified", uf->path,
			   (unsigned long long)r->file_off);
		return -BT_ERR_UNDO_BAD;
	}
	return bt_dev_write(dev, buf, r->len, r->offset, "restored block", err);
}

long bt_undo_file_apply(struct bt_undo_file *uf, struct bt_dev *dev,
			struct printbuf *err)
{
	void *buf = malloc(BT_UNDO_MAX_REC);
	long done = 0;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	/*
	 * The superblock block last, after a flush: an interrupted apply
	 * leaves the superblock as the undo file expects, so it can be rerun.
	 */
	for (int sb_pass = 0; sb_pass < 2 && !ret; sb_pass++) {
		for (size_t i = 0; i < uf->nr && !ret; i++) {
			if (rec_has_sb(uf, &uf->recs[i]) != sb_pass)
				continue;
			ret = uf_restore(uf, &uf->recs[i], dev, buf, err);
			if (!ret)
				done++;
		}
		if (!ret)
			ret = bt_dev_flush(dev, err);
	}
	free(buf);
	return ret ? ret : done;
}
