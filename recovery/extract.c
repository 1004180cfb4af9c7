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

/* Load the chunk that starts at key sector lo: the backing device's sectors, or zeroes. */
static int load_chunk(struct bt_extract_cursor *x, uint64_t lo, struct printbuf *err)
{
	const struct bt_extract_req *req = x->req;
	const uint64_t end = req->data_offset + req->sectors;
	size_t bytes;

	x->lo = lo;
	x->hi = lo + EXTRACT_CHUNK_SECTORS < end ? lo + EXTRACT_CHUNK_SECTORS : end;
	bytes = (size_t)(x->hi - lo) << SECTOR_SHIFT;
	if (lo >= end || req->dry_run)
		return 0;	/* the backing device's data is not needed to know the figures */
	if (req->bdev)
		return bt_dev_read(req->bdev, x->buf, bytes, lo << SECTOR_SHIFT,
				   "backing device data", err);
	memset(x->buf, 0, bytes);
	return 0;
}

/* Write the chunk in buf to the output and load the next one. */
static int next_chunk(struct bt_extract_cursor *x, struct printbuf *err)
{
	const struct bt_extract_req *req = x->req;
	uint64_t at = (x->lo - req->data_offset) << SECTOR_SHIFT;
	int ret = 0;

	if (!req->dry_run)
		ret = req->write(req->priv, x->buf, (size_t)(x->hi - x->lo) << SECTOR_SHIFT, at);
	if (ret) {
		prt_printf(err, "write error on output at byte %llu: %s",
			   (unsigned long long)at, strerror(-ret));
		return ret;
	}
	return load_chunk(x, x->hi, err);
}

int bt_extract_begin(struct bt_extract_cursor *x, struct cache_set *c,
		     const struct bt_extract_req *req, struct bt_extract_result *res,
		     struct printbuf *err)
{
	memset(res, 0, sizeof(*res));
	*x = (struct bt_extract_cursor){ .c = c, .req = req, .res = res };
	x->buf = malloc((size_t)EXTRACT_CHUNK_SECTORS << SECTOR_SHIFT);
	if (!x->buf) {
		prt_str(err, "extract: out of memory");
		return -ENOMEM;
	}
	return load_chunk(x, req->data_offset, err);
}

int bt_extract_key(struct bt_extract_cursor *x, const struct bkey *k, struct printbuf *err)
{
	const struct bt_extract_req *req = x->req;
	const uint64_t base = req->data_offset, end = base + req->sectors;
	int ret;

	if (KEY_INODE(k) != req->inode || KEY_OFFSET(k) <= base || KEY_START(k) >= end)
		return 0;
	while (KEY_START(k) >= x->hi)
		if ((ret = next_chunk(x, err)))
			return ret;
	if (!req->live(x->c, k))
		return 0;
	x->res->extents++;
	if (req->dry_run && req->list) {
		uint64_t s = KEY_START(k) > base ? KEY_START(k) : base;

		req->list(req->priv, k, s - base, (KEY_OFFSET(k) < end ? KEY_OFFSET(k) : end) - s);
	}
	for (;;) {
		ret = overlay_extent(x->c, req, k, x->lo, x->hi, x->buf, x->res);
		if (ret || KEY_OFFSET(k) <= x->hi || x->hi >= end)
			return ret;
		if ((ret = next_chunk(x, err)))	/* continues into the next chunk */
			return ret;
	}
}

int bt_extract_end(struct bt_extract_cursor *x, struct printbuf *err)
{
	const uint64_t end = x->req->data_offset + x->req->sectors;
	int ret = 0;

	while (!ret && x->lo < end)
		ret = next_chunk(x, err);
	bt_extract_cursor_exit(x);
	return ret;
}

void bt_extract_cursor_exit(struct bt_extract_cursor *x)
{
	free(x->buf);
	x->buf = NULL;
}

int bt_extract(struct cache_set *c, const struct bt_extmap *view,
	       const struct bt_extract_req *req, struct bt_extract_result *res,
	       struct printbuf *err)
{
	struct bt_extract_cursor x;
	size_t i = bt_extmap_seek(view, req->inode, req->data_offset);
	int ret = bt_extract_begin(&x, c, req, res, err);

	for (; !ret && i < view->nr && KEY_INODE(bt_extmap_key(view, i)) == req->inode; i++)
		ret = bt_extract_key(&x, bt_extmap_key(view, i), err);
	if (!ret)
		return bt_extract_end(&x, err);
	bt_extract_cursor_exit(&x);
	return ret;
}
