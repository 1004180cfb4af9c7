/* undo_digest.c --- the digest of an undo file: a crc of the device's final
 * contents of every saved range, written when the run finishes and checked
 * before applying (undo.h). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/dev/undo_internal.h"

static int range_cmp(const void *a, const void *b)
{
	const struct bt_undo_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int bt_undo_digest_write(struct bt_dev *dev, int fd, const char *path, uint64_t pos,
			 struct bt_undo_range *ranges, size_t nr, struct printbuf *err)
{
	struct bt_undo_digest_hdr h = { .magic = BT_UNDO_DIGEST_MAGIC };
	struct bt_undo_digest_ent *ent = calloc(nr ? nr : 1, sizeof(*ent));
	void *buf = malloc(BT_UNDO_MAX_REC);
	int ret = 0;

	if (!ent || !buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (nr)
		qsort(ranges, nr, sizeof(*ranges), range_cmp);
	for (size_t i = 0; i < nr && !ret; i++) {
		uint64_t len = ranges[i].end - ranges[i].start;

		ret = bt_dev_read(dev, buf, len, ranges[i].start,
				  "saved range (undo digest)", err);
		ent[i].offset = htole64(ranges[i].start);
		ent[i].len = htole32((uint32_t)len);
		ent[i].final_csum = htole64(bch_crc64(buf, len));
	}
	if (ret)
		goto out;
	h.nr = htole64(nr);
	h.ent_csum = htole64(bch_crc64(ent, nr * sizeof(*ent)));
	h.csum = htole64(bch_crc64(&h, offsetof(struct bt_undo_digest_hdr, csum)));
	ret = bt_undo_pwrite(fd, &h, sizeof(h), pos, path, err) ?:
	      bt_undo_pwrite(fd, ent, nr * sizeof(*ent), pos + sizeof(h), path, err);
out:
	free(ent);
	free(buf);
	return ret;
}

static int digest_bad(struct bt_undo_file *uf, uint64_t pos, const char *why,
		      struct printbuf *err)
{
	prt_printf(err, "bad digest in undo file '%s' at byte %llu: %s", uf->path,
		   (unsigned long long)pos, why);
	return -BT_ERR_UNDO_BAD;
}

int bt_undo_digest_read(struct bt_undo_file *uf, uint64_t pos, uint64_t size,
			struct bt_undo_digest *d, struct printbuf *err)
{
	struct bt_undo_digest_hdr h;
	uint64_t nr, bytes;
	ssize_t n;

	if (size - pos < sizeof(h.magic))
		return 0;
	n = bt_undo_file_pread(uf, &h, sizeof(h), pos, err);
	if (n < 0)
		return (int)n;
	if (memcmp(h.magic, BT_UNDO_DIGEST_MAGIC, sizeof(h.magic)))
		return 0;
	if (!uf->finished)
		return 1;	/* the run crashed before marking the header */
	if ((size_t)n < sizeof(h))
		return digest_bad(uf, pos, "cut short", err);
	if (le64toh(h.csum) != bch_crc64(&h, offsetof(struct bt_undo_digest_hdr, csum)))
		return digest_bad(uf, pos, "bad header checksum", err);
	nr = le64toh(h.nr);
	if (nr > (size - pos - sizeof(h)) / sizeof(*d->ent))
		return digest_bad(uf, pos, "cut short", err);
	bytes = nr * sizeof(*d->ent);
	if (size - pos - sizeof(h) != bytes)
		return digest_bad(uf, pos, "followed by more bytes", err);
	d->ent = malloc(bytes ? bytes : 1);
	if (!d->ent)
		return -ENOMEM;
	n = bt_undo_file_pread(uf, d->ent, bytes, pos + sizeof(h), err);
	if (n >= 0 && (uint64_t)n != bytes)
		return digest_bad(uf, pos, "cut short", err);
	if (n < 0)
		return (int)n;
	if (le64toh(h.ent_csum) != bch_crc64(d->ent, bytes))
		return digest_bad(uf, pos, "bad checksum of its entries", err);
	d->nr = nr;
	d->found = true;
	return 1;
}

int bt_undo_digest_match(struct bt_undo_file *uf, struct bt_undo_digest *d,
			 struct printbuf *err)
{
	int ret = 0;

	if (!d->found) {
		prt_printf(err, "undo file '%s' is marked finished but has no digest "
			   "after its last record (byte %llu)", uf->path,
			   (unsigned long long)uf->valid_end);
		ret = -BT_ERR_UNDO_BAD;
	} else if (d->nr != uf->nr) {
		prt_printf(err, "digest of undo file '%s' has %zu entries for %zu records",
			   uf->path, d->nr, uf->nr);
		ret = -BT_ERR_UNDO_BAD;
	}
	for (size_t i = 0; i < uf->nr && !ret; i++) {
		const struct bt_undo_digest_ent *e = &d->ent[i];

		if (le64toh(e->offset) != uf->recs[i].offset ||
		    le32toh(e->len) != uf->recs[i].len) {
			prt_printf(err, "digest of undo file '%s': entry %zu is for device "
				   "bytes %llu+%u, the record for %llu+%u", uf->path, i,
				   (unsigned long long)le64toh(e->offset), le32toh(e->len),
				   (unsigned long long)uf->recs[i].offset, uf->recs[i].len);
			ret = -BT_ERR_UNDO_BAD;
		}
		uf->recs[i].final_csum = le64toh(e->final_csum);
	}
	free(d->ent);
	d->ent = NULL;
	uf->has_digest = !ret;
	return ret;
}

int bt_undo_digest_check(struct bt_undo_file *uf, struct bt_dev *dev,
			 struct printbuf *err)
{
	void *buf = malloc(BT_UNDO_MAX_REC);
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	uf->nr_restored = 0;
	for (size_t i = 0; i < uf->nr && !ret; i++) {
		const struct bt_undo_rec *r = &uf->recs[i];
		uint64_t csum;

		ret = bt_dev_read(dev, buf, r->len, r->offset, "saved range", err);
		if (ret)
			break;
		csum = bch_crc64(buf, r->len);
		if (csum == r->final_csum)
			continue;
		if (csum == r->data_csum) {
			uf->nr_restored++;
			continue;
		}
		prt_printf(err, "device bytes %llu+%u of '%s' changed since the run that "
			   "wrote undo file '%s' (they hold neither what the run left "
			   "nor what it saved)", (unsigned long long)r->offset, r->len,
			   dev->path, uf->path);
		ret = -BT_ERR_UNDO_WRONG_DEV;
	}
	free(buf);
	return ret;
}
