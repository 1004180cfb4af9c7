/* extract.c --- the logical content of a backing device or flash volume. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/errcode.h"
#include "recovery/extract.h"

#define EXTRACT_CHUNK_SECTORS	2048u	/* 1 MiB per output chunk */

void bt_extract_result_exit(struct bt_extract_result *res)
{
	free(res->lost);
	memset(res, 0, sizeof(*res));
}

static int note_lost(struct bt_extract_result *res, uint64_t start, uint64_t sectors,
		     uint64_t cache_sector, bool dirty, int err)
{
	struct bt_lost_range *l;

	/* extend the previous range when contiguous */
	if (res->nr_lost) {
		l = &res->lost[res->nr_lost - 1];
		if (l->start + l->sectors == start && l->dirty == dirty &&
		    l->cache_sector + l->sectors == cache_sector) {
			l->sectors += sectors;
			return 0;
		}
	}
	l = realloc(res->lost, (res->nr_lost + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	res->lost = l;
	res->lost[res->nr_lost++] = (struct bt_lost_range) {
		.start = start, .sectors = sectors, .cache_sector = cache_sector,
		.dirty = dirty, .err = err,
	};
	return 0;
}

/* Overlay the part of live extent k inside [lo, hi) (key sectors) onto buf. */
static int overlay_extent(struct cache_set *c, const struct bt_extract_req *req,
			  const struct bkey *k, uint64_t lo, uint64_t hi, uint8_t *buf,
			  struct bt_extract_result *res)
{
	uint64_t s = KEY_START(k) > lo ? KEY_START(k) : lo;
	uint64_t e = KEY_OFFSET(k) < hi ? KEY_OFFSET(k) : hi;
	uint64_t cache_sector = PTR_OFFSET(k, 0) + (s - KEY_START(k));
	struct printbuf rerr = PRINTBUF;
	int ret;

	if (s >= e)
		return 0;
	ret = bt_dev_read(c->dev, buf + ((s - lo) << SECTOR_SHIFT),
			  (size_t)(e - s) << SECTOR_SHIFT, cache_sector << SECTOR_SHIFT,
			  "cached data", &rerr);
	printbuf_exit(&rerr);
	if (ret) {
		/* leave what the backing device (or zeroes) had there */
		return note_lost(res, s - req->data_offset, e - s, cache_sector,
				 KEY_DIRTY(k), ret);
	}
	res->cache_sectors += e - s;
	if (KEY_DIRTY(k))
		res->dirty_sectors += e - s;
	return 0;
}

/*
 * The extents of chunk [lo, hi) onto buf, from view index *i on: each live
 * extent is read from the cache (a dry run reads it too, so that it finds
 * the unreadable ranges the real run finds) and counted in the chunk where
 * it starts; a dry run lists it there.
 */
static int overlay_chunk(struct cache_set *c, const struct bt_extmap *view,
			 const struct bt_extract_req *req, uint64_t lo, uint64_t hi, size_t *i,
			 uint8_t *buf, struct bt_extract_result *res)
{
	const uint64_t base = req->data_offset, end = base + req->sectors;

	for (; *i < view->nr; (*i)++) {
		const struct bkey *k = bt_extmap_key(view, *i);
		int ret;

		if (KEY_INODE(k) != req->inode || KEY_START(k) >= hi)
			break;
		if (req->live(c, k)) {
			if (KEY_START(k) >= lo || lo == base) {
				uint64_t s = KEY_START(k) > base ? KEY_START(k) : base;

				res->extents++;
				if (req->dry_run && req->list)
					req->list(req->priv, k, s - base,
						  (KEY_OFFSET(k) < end ? KEY_OFFSET(k) : end) - s);
			}
			ret = overlay_extent(c, req, k, lo, hi, buf, res);
			if (ret)
				return ret;
		}
		if (KEY_OFFSET(k) > hi)
			break;	/* continues into the next chunk */
	}
	return 0;
}

int bt_extract(struct cache_set *c, const struct bt_extmap *view,
	       const struct bt_extract_req *req, struct bt_extract_result *res,
	       struct printbuf *err)
{
	const uint64_t base = req->data_offset;	/* key sector of logical sector 0 */
	const uint64_t end = base + req->sectors;
	size_t i = bt_extmap_seek(view, req->inode, base);
	uint8_t *buf = NULL;
	int ret = 0;

	memset(res, 0, sizeof(*res));
	buf = malloc((size_t)EXTRACT_CHUNK_SECTORS << SECTOR_SHIFT);
	if (!buf)
		return -ENOMEM;
	for (uint64_t lo = base; lo < end; lo += EXTRACT_CHUNK_SECTORS) {
		uint64_t hi = lo + EXTRACT_CHUNK_SECTORS < end ? lo + EXTRACT_CHUNK_SECTORS : end;
		size_t bytes = (size_t)(hi - lo) << SECTOR_SHIFT;

		if (req->dry_run) {
			/* the backing device's data is not needed to know the figures */
		} else if (req->bdev) {
			ret = bt_dev_read(req->bdev, buf, bytes, lo << SECTOR_SHIFT,
					  "backing device data", err);
			if (ret)
				goto out;
		} else {
			memset(buf, 0, bytes);
		}
		ret = overlay_chunk(c, view, req, lo, hi, &i, buf, res);
		if (ret)
			goto out;
		if (req->dry_run)
			continue;
		ret = req->write(req->priv, buf, bytes, (lo - base) << SECTOR_SHIFT);
		if (ret) {
			prt_printf(err, "write error on output at byte %llu: %s",
				   (unsigned long long)((lo - base) << SECTOR_SHIFT),
				   strerror(-ret));
			goto out;
		}
	}
out:
	free(buf);
	return ret;
}
