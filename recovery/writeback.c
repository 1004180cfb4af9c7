/* writeback.c --- offline writeback of dirty data (detach: detach.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/write/btree_update.h"
#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/read/overlay.h"
#include "libcore/read/view_stream.h"
#include "libcore/write/replay.h"
#include "libcore/dev/shadow.h"
#include "libcore/read/uuid.h"
#include "libcore/write/write.h"
#include "recovery/writeback.h"

#define WB_CHUNK_SECTORS	2048u	/* 1 MiB per read / write */

/*
 * One dirty extent to write back (16 bytes: a plan holds one per dirty
 * extent, its key in the run's key arena).
 */
struct wb_extent {
	uint64_t		key_at;		/* u64s into wb_run.keys: the key as in the view */
	uint32_t		bdev;
	bool			whole;		/* inside the device: may be cleaned */
	bool			ok;		/* every sector written and verified */
};

/* One written piece, for the read-back check (24 bytes). */
struct wb_piece {
	uint64_t	start;		/* backing sector */
	uint64_t	csum;		/* bch_crc64 of the bytes written */
	uint32_t	ext;		/* index into the plan */
	uint32_t	sectors;
};

struct wb_run {
	struct cache_set	*c;
	struct bt_wb_req	*req;
	struct bt_wb_result	*res;
	struct wb_extent	*ext;
	size_t			nr_ext, size_ext;
	uint64_t		*keys;		/* the plan's keys, back to back */
	size_t			nr_keys_u64s, size_keys_u64s;
	struct wb_piece		*pieces;
	size_t			nr_pieces, size_pieces;
	size_t			size_lost;
	uint8_t			*buf;		/* WB_CHUNK_SECTORS sectors */
	uint64_t		done_bytes, total_bytes;
};

const char *bt_wb_lost_kind_str(unsigned kind)
{
	switch (kind) {
	case BT_WB_LOST_NODE:		return "unreadable btree node";
	case BT_WB_LOST_READ:		return "cache read error";
	case BT_WB_LOST_STALE:		return "stale pointer";
	case BT_WB_LOST_OUTSIDE:	return "outside the backing device";
	case BT_WB_LOST_WRITE:		return "backing device write error";
	case BT_WB_LOST_VERIFY:		return "read-back mismatch";
	}
	return "unknown";
}

static void *grow(void *p, size_t *size, size_t need, size_t elem)
{
	size_t n = *size ? *size : 16;
	void *q;

	if (need <= *size)
		return p;
	while (n < need)
		n *= 2;
	q = realloc(p, n * elem);
	if (q)
		*size = n;
	return q;
}

static const struct bkey *ext_key(const struct wb_run *r, size_t i)
{
	return (const struct bkey *)(r->keys + r->ext[i].key_at);
}

/* Record a lost range; merges with the previous one when contiguous and alike. */
static int add_lost(struct wb_run *r, size_t bdev, uint64_t start, uint64_t sectors,
		    uint64_t cache_sector, unsigned kind, int err, const char *msg)
{
	struct bt_wb_result *res = r->res;
	struct bt_wb_lost *l;

	if (!sectors)
		return 0;
	if (res->nr_lost && !msg) {
		l = &res->lost[res->nr_lost - 1];
		if (l->bdev == bdev && l->kind == kind && l->err == err && !l->msg &&
		    l->start + l->sectors == start &&
		    (!cache_sector || l->cache_sector + l->sectors == cache_sector)) {
			l->sectors += sectors;
			return 0;
		}
	}
	l = grow(res->lost, &r->size_lost, res->nr_lost + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	res->lost = l;
	l = &res->lost[res->nr_lost++];
	*l = (struct bt_wb_lost){
		.bdev = bdev, .start = start, .sectors = sectors,
		.cache_sector = cache_sector, .kind = kind, .err = err,
	};
	if (msg && !(l->msg = strdup(msg)))
		return -ENOMEM;
	return 0;
}

static int lost_cmp(const void *a, const void *b)
{
	const struct bt_wb_lost *l = a, *m = b;

	if (l->bdev != m->bdev)
		return l->bdev < m->bdev ? -1 : 1;
	if (l->start != m->start)
		return l->start < m->start ? -1 : 1;
	return (int)l->kind - (int)m->kind;
}

int bt_writeback_check_bdev(const struct cache_set *c, const struct bt_wb_bdev *b,
			    struct printbuf *err)
{
	unsigned state = (unsigned)BDEV_STATE(b->sb.flags);

	if (!bt_sb_is_bdev(&b->sb)) {
		prt_printf(err, "'%s' is not a backing device (superblock version %llu)",
			   b->dev->path, (unsigned long long)b->sb.version);
		return -BT_ERR_SB_NOT_BACKING;
	}
	if (memcmp(b->sb.set_uuid, c->sb.set_uuid, 16)) {
		prt_printf(err, "backing device '%s' is not attached to cache set ", b->dev->path);
		prt_uuid(err, c->sb.set_uuid);
		prt_str(err, ": its superblock's set_uuid at byte 4152 is ");
		prt_uuid(err, b->sb.set_uuid);
		return -BT_ERR_SB_BAD_SET_UUID;
	}
	if (state == BDEV_STATE_NONE || state == BDEV_STATE_STALE) {
		prt_printf(err, "backing device '%s' has state %s: it was used without this cache "
			   "since, and old dirty data would overwrite newer data", b->dev->path,
			   bt_bdev_state_str(state));
		return -BT_ERR_BDEV_STATE;
	}
	return 0;
}

/* ---- unreadable nodes: their key range, from the parent's keys ------- */

struct child_range {
	uint64_t	key[2 + 7];	/* the child's pointer key */
	uint64_t	start_inode, start_offset;
};

struct range_walk {
	struct wb_run		*r;
	struct child_range	*ch;
	size_t			nr, size;
	int			ret;
};

/* As node_cache.c walk_children(): a child's range starts after its live sibling. */
static int range_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct range_walk *w = arg;
	const struct cache_set *c = w->r->c;
	uint64_t si = pos->start_inode, so = pos->start_offset;
	const struct bkey *ck;

	if (!n->level)
		return 0;
	for_each_node_key(n, ck) {
		struct child_range *cr;

		if (bt_btree_ptr_bad(c, ck))
			continue;
		cr = grow(w->ch, &w->size, w->nr + 1, sizeof(*cr));
		if (!cr)
			return -ENOMEM;
		w->ch = cr;
		cr = &w->ch[w->nr++];
		memset(cr, 0, sizeof(*cr));
		memcpy(cr->key, ck, bkey_u64s(ck) * 8);
		cr->start_inode = si;
		cr->start_offset = so;
		si = KEY_INODE(ck);
		so = KEY_OFFSET(ck);
	}
	return 0;
}

/* A node that cannot be read: every backing device's share of (start, k] is lost. */
static int range_error(const struct bkey *k, unsigned level, int err, const char *msg,
		       void *arg)
{
	struct range_walk *w = arg;
	struct wb_run *r = w->r;
	uint64_t si = 0, so = 0, ei = KEY_INODE(k), eo = KEY_OFFSET(k);

	(void)level;
	for (size_t i = w->nr; i-- > 0;)
		if (!memcmp(w->ch[i].key, k, bkey_u64s(k) * 8)) {
			si = w->ch[i].start_inode;
			so = w->ch[i].start_offset;
			break;
		}
	for (size_t b = 0; b < r->req->nr_bdevs; b++) {
		const struct bt_wb_bdev *bd = &r->req->bdevs[b];
		uint64_t lo = bd->sb.data_offset, hi = bt_dev_sectors(bd->dev);

		if (bd->slot < si || bd->slot > ei)
			continue;
		if (bd->slot == si && so > lo)
			lo = so;
		if (bd->slot == ei && eo < hi)
			hi = eo;
		if (lo < hi) {
			int ret = add_lost(r, b, lo, hi - lo, 0, BT_WB_LOST_NODE, err, msg);

			if (ret)
				return w->ret = ret;
		}
	}
	return 0;
}

static int find_lost_nodes(struct wb_run *r, struct bt_node_cache *nc, struct printbuf *err)
{
	struct range_walk w = { .r = r };
	struct bt_walk_opts o = { .node_fn = range_node, .error_fn = range_error, .arg = &w };
	struct printbuf e = PRINTBUF;
	int ret;

	ret = bt_btree_walk(nc, (const struct bkey *)&r->c->root_key, r->c->root_level, &o, &e);
	if (!ret)
		ret = w.ret;
	if (ret)
		prt_printf(err, "cannot find the ranges of the unreadable btree nodes: %s%s%s",
			   bt_err_str(ret), e.pos ? ": " : "", printbuf_str(&e));
	free(w.ch);
	printbuf_exit(&e);
	return ret;
}

/* ---- plan ---------------------------------------------------------------- */

/* A new extent of the plan: k (copied into the arena) for backing device b. */
static int plan_add(struct wb_run *r, size_t b, const struct bkey *k)
{
	size_t u64s = bkey_u64s(k);
	struct wb_extent *e;
	uint64_t *d;

	if (r->nr_ext >= UINT32_MAX)
		return -ENOMEM;	/* a piece names its extent in 32 bits */
	e = grow(r->ext, &r->size_ext, r->nr_ext + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r->ext = e;
	d = grow(r->keys, &r->size_keys_u64s, r->nr_keys_u64s + u64s, sizeof(*d));
	if (!d)
		return -ENOMEM;
	r->keys = d;
	memcpy(d + r->nr_keys_u64s, k, u64s * sizeof(*d));
	r->ext[r->nr_ext++] = (struct wb_extent){ .key_at = r->nr_keys_u64s, .bdev = (uint32_t)b };
	r->nr_keys_u64s += u64s;
	return 0;
}

/* One key of the view, of backing device b's slot: its dirty data into the plan. */
static int plan_key(struct wb_run *r, size_t b, const struct bkey *k)
{
	struct bt_wb_bdev *bd = &r->req->bdevs[b];
	uint64_t lo = bd->sb.data_offset, hi = bt_dev_sectors(bd->dev);
	uint64_t s = KEY_START(k), t = KEY_OFFSET(k);
	struct bt_extent_bad_info info = { 0 };
	struct wb_extent *e;
	int ret = 0;

	if (!KEY_DIRTY(k) || !KEY_SIZE(k))
		return 0;
	if (bt_extent_bad(r->c, k, &info))
		return info.stale_dirty ? add_lost(r, b, s, KEY_SIZE(k), PTR_OFFSET(k, 0),
						   BT_WB_LOST_STALE, 0, NULL) : 0;
	if (s < lo)
		ret = add_lost(r, b, s, (t < lo ? t : lo) - s, PTR_OFFSET(k, 0),
			       BT_WB_LOST_OUTSIDE, 0, NULL);
	if (!ret && t > hi)
		ret = add_lost(r, b, s > hi ? s : hi, t - (s > hi ? s : hi),
			       PTR_OFFSET(k, 0) + ((s > hi ? s : hi) - s),
			       BT_WB_LOST_OUTSIDE, 0, NULL);
	if (ret)
		return ret;
	ret = plan_add(r, b, k);
	if (ret)
		return ret;
	e = &r->ext[r->nr_ext - 1];
	e->whole = s >= lo && t <= hi;
	bd->extents++;
	s = s < lo ? lo : s;
	t = t > hi ? hi : t;
	if (s < t) {
		bd->dirty_sectors += t - s;
		r->res->total_sectors += t - s;
	}
	return 0;
}

/* The walk is stopped with this after the last slot of the run. */
#define PLAN_DONE	1

/* Each key of the view, in key order (view_stream.h): the slots of the run's devices. */
static int plan_stream_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct wb_run *r = arg;
	bool later = false;

	(void)c;
	for (size_t b = 0; b < r->req->nr_bdevs; b++) {
		if (r->req->bdevs[b].slot == KEY_INODE(k))
			return plan_key(r, b, k);
		later |= r->req->bdevs[b].slot > KEY_INODE(k);
	}
	return later ? 0 : PLAN_DONE;
}

/* The plan in the order of the run's devices, each device's extents in key order. */
static int ext_cmp(const void *a, const void *b, void *arg)
{
	const struct wb_extent *x = a, *y = b;
	const uint64_t *keys = arg;

	if (x->bdev != y->bdev)
		return x->bdev < y->bdev ? -1 : 1;
	return bkey_cmp((const struct bkey *)(keys + x->key_at),
			(const struct bkey *)(keys + y->key_at)) < 0 ? -1 : 1;
}

/*
 * The plan: the dirty extents of the view after journal replay, streamed
 * (never the whole view in memory). Unreadable subtrees are counted in
 * res and their ranges found. Returns 0 or a negative code with a message.
 */
static int make_plan(struct wb_run *r, struct bt_node_cache *nc, struct printbuf *err)
{
	struct bt_overlay_stats ost;
	struct printbuf nodes = PRINTBUF;
	struct bt_view_stream_opts so = {
		.with_journal = true, .keep_going = true, .key_fn = plan_stream_key, .arg = r,
	};
	int ret = bt_view_stream(r->c, nc, &so, &ost, &nodes);

	if (ret == PLAN_DONE)
		ret = 0;
	if (ret)
		prt_str(err, printbuf_str(&nodes));
	printbuf_exit(&nodes);
	if (ret)
		return ret;
	r->res->unreadable_nodes = ost.unreadable_nodes;
	r->res->journal_keys = ost.journal_keys;
	if (r->nr_ext)
		qsort_r(r->ext, r->nr_ext, sizeof(*r->ext), ext_cmp, r->keys);
	return ost.unreadable_nodes ? find_lost_nodes(r, nc, err) : 0;
}

/* ---- copy ------------------------------------------------------------- */

static int add_piece(struct wb_run *r, size_t ext, uint64_t start, uint32_t sectors,
		     const void *buf)
{
	struct wb_piece *p = grow(r->pieces, &r->size_pieces, r->nr_pieces + 1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	r->pieces = p;
	r->pieces[r->nr_pieces++] = (struct wb_piece){
		.ext = (uint32_t)ext, .start = start, .sectors = sectors,
		.csum = bch_crc64(buf, (size_t)sectors << SECTOR_SHIFT),
	};
	return 0;
}

/*
 * Write sectors [start, start + n) held in buf; a failure loses them. A
 * dry run writes no data (its shadow would grow to all the dirty data) and
 * counts it as written and verified: only the backing device's own write
 * and read-back errors are beyond its prediction.
 */
static int write_piece(struct wb_run *r, size_t ei, uint64_t start, uint32_t n,
		       uint64_t cache_sector, const uint8_t *buf, bool *all_ok)
{
	struct wb_extent *e = &r->ext[ei];
	struct bt_wb_bdev *bd = &r->req->bdevs[e->bdev];
	struct printbuf msg = PRINTBUF;
	int ret;

	if (r->req->dry_run) {
		bd->written_sectors += n;
		r->res->written_sectors += n;
		return 0;
	}
	ret = bt_dev_write(bd->dev, buf, (size_t)n << SECTOR_SHIFT, start << SECTOR_SHIFT,
			   "dirty data", &msg);
	printbuf_exit(&msg);
	if (ret) {
		*all_ok = false;
		return add_lost(r, e->bdev, start, n, cache_sector, BT_WB_LOST_WRITE, ret, NULL);
	}
	return add_piece(r, ei, start, n, buf);
}

/*
 * One chunk: read it whole; when that fails, block by block, writing the
 * readable runs and recording the unreadable ones.
 */
static int copy_chunk(struct wb_run *r, size_t ei, uint64_t start, uint32_t n,
		      uint64_t cache_sector, bool *all_ok)
{
	struct cache_set *c = r->c;
	struct printbuf msg = PRINTBUF;
	uint32_t step = c->block_size ? c->block_size : 1, run = 0;
	int ret;

	ret = bt_dev_read(c->dev, r->buf, (size_t)n << SECTOR_SHIFT,
			  cache_sector << SECTOR_SHIFT, "dirty data", &msg);
	printbuf_exit(&msg);
	if (!ret)
		return write_piece(r, ei, start, n, cache_sector, r->buf, all_ok);

	for (uint32_t s = 0; s < n; s += step) {
		uint32_t len = n - s < step ? n - s : step;
		int rr;

		rr = bt_dev_read(c->dev, r->buf + ((size_t)s << SECTOR_SHIFT),
				 (size_t)len << SECTOR_SHIFT, (cache_sector + s) << SECTOR_SHIFT,
				 "dirty data", &msg);
		printbuf_reset(&msg);
		if (!rr) {
			run += len;
			continue;
		}
		*all_ok = false;
		if (run) {
			ret = write_piece(r, ei, start + s - run, run, cache_sector + s - run,
					  r->buf + ((size_t)(s - run) << SECTOR_SHIFT), all_ok);
			if (ret)
				goto out;
			run = 0;
		}
		ret = add_lost(r, r->ext[ei].bdev, start + s, len, cache_sector + s,
			       BT_WB_LOST_READ, rr, NULL);
		if (ret)
			goto out;
	}
	ret = 0;
	if (run)
		ret = write_piece(r, ei, start + n - run, run, cache_sector + n - run,
				  r->buf + ((size_t)(n - run) << SECTOR_SHIFT), all_ok);
out:
	printbuf_exit(&msg);
	return ret;
}

static int copy_extent(struct wb_run *r, size_t ei)
{
	struct wb_extent *e = &r->ext[ei];
	const struct bkey *k = ext_key(r, ei);
	struct bt_wb_bdev *bd = &r->req->bdevs[e->bdev];
	uint64_t lo = bd->sb.data_offset, hi = bt_dev_sectors(bd->dev);
	uint64_t s = KEY_START(k) < lo ? lo : KEY_START(k);
	uint64_t t = KEY_OFFSET(k) > hi ? hi : KEY_OFFSET(k);
	bool all_ok = e->whole;
	int ret;

	while (s < t) {
		uint32_t n = t - s > WB_CHUNK_SECTORS ? WB_CHUNK_SECTORS : (uint32_t)(t - s);

		ret = copy_chunk(r, ei, s, n, PTR_OFFSET(k, 0) + (s - KEY_START(k)), &all_ok);
		if (ret)
			return ret;
		s += n;
		r->done_bytes += (uint64_t)n << SECTOR_SHIFT;
		if (r->req->progress)
			r->req->progress(r->req->priv, r->done_bytes, r->total_bytes);
	}
	e->ok = all_ok;
	return 0;
}

/* ---- verify ----------------------------------------------------------- */

static int flush_bdevs(struct wb_run *r, struct printbuf *err)
{
	for (size_t b = 0; b < r->req->nr_bdevs; b++) {
		struct bt_dev *d = r->req->bdevs[b].dev;
		int ret = bt_dev_flush(d, err);

		if (ret)
			return ret;
		/* so that the read-back comes from the device, not the page cache */
		if (d->fd >= 0)
			posix_fadvise(d->fd, 0, 0, POSIX_FADV_DONTNEED);
	}
	return 0;
}

/*
 * Read back every piece written since the last verify (after flush_bdevs())
 * and compare its crc64; the pieces verified are then forgotten.
 */
static int verify_pieces(struct wb_run *r)
{
	struct printbuf msg = PRINTBUF;
	int ret = 0;

	for (size_t i = 0; i < r->nr_pieces && !ret; i++) {
		struct wb_piece *p = &r->pieces[i];
		struct wb_extent *e = &r->ext[p->ext];
		struct bt_wb_bdev *bd = &r->req->bdevs[e->bdev];
		const struct bkey *k = ext_key(r, p->ext);
		size_t bytes = (size_t)p->sectors << SECTOR_SHIFT;
		int rr;

		rr = bt_dev_read(bd->dev, r->buf, bytes, p->start << SECTOR_SHIFT,
				 "written-back data", &msg);
		printbuf_reset(&msg);
		if (!rr && bch_crc64(r->buf, bytes) == p->csum) {
			bd->written_sectors += p->sectors;
			r->res->written_sectors += p->sectors;
			continue;
		}
		e->ok = false;
		ret = add_lost(r, e->bdev, p->start, p->sectors,
			       PTR_OFFSET(k, 0) + (p->start - KEY_START(k)),
			       BT_WB_LOST_VERIFY, rr ? rr : -EIO, NULL);
	}
	printbuf_exit(&msg);
	if (!ret)
		r->nr_pieces = 0;
	return ret;
}

/*
 * The pieces are read back every this many (req->verify_every; a flush of
 * the backing devices first), so that their list stays bounded: the commit
 * comes only after the last of them verified.
 */
#define WB_VERIFY_EVERY	65536

/* A window of pieces is full: flush, read back, forget them. */
static int verify_window(struct wb_run *r, struct printbuf *err)
{
	int ret;

	if (r->nr_pieces < (r->req->verify_every ? r->req->verify_every : WB_VERIFY_EVERY))
		return 0;
	ret = flush_bdevs(r, err);
	return ret ? ret : verify_pieces(r);
}

/* ---- commit clean keys ------------------------------------------------ */

static const char *not_updated(const struct wb_run *r)
{
	return r->req->dry_run ? "would not be updated" : "was not updated";
}

/* Why the cache must not be written, or NULL. */
static const char *commit_blocker(const struct wb_run *r)
{
	if (r->req->no_cache_update)
		return r->req->no_cache_update;
	if (r->res->unreadable_nodes)
		return "its btree has unreadable nodes";
	if (r->c->journal.nr_missing)
		return "its journal has missing entries";
	if (!bt_dev_writable(r->c->dev))
		return "it is open read-only";
	return NULL;
}

/*
 * Leaves the commit has finished with are written every this many clean
 * keys (bt_btree_update_flush_before()): it holds the leaves still to be
 * changed, not every leaf it changes.
 */
#define WB_FLUSH_EVERY	4096

/* The plan's devices by uuid slot: the clean keys go in in key order. */
static int by_slot(const void *a, const void *b, void *arg)
{
	const struct wb_run *r = arg;
	unsigned x = r->req->bdevs[*(const size_t *)a].slot;
	unsigned y = r->req->bdevs[*(const size_t *)b].slot;

	return x < y ? -1 : x > y;
}

/* The clean copies of the extents written back and verified, in key order. */
static int insert_clean(struct wb_run *r, struct bt_btree_update *u, struct printbuf *err)
{
	size_t nr = r->req->nr_bdevs, *order = calloc(nr ? nr : 1, sizeof(*order)), done = 0;
	int ret = order ? 0 : -ENOMEM;

	for (size_t b = 0; b < nr; b++)
		order[b] = b;
	if (order)
		qsort_r(order, nr, sizeof(*order), by_slot, r);
	for (size_t b = 0; b < nr && !ret; b++)
		for (size_t i = 0; i < r->nr_ext && !ret; i++) {
			struct bkey_padded k;

			if (r->ext[i].bdev != order[b] || !r->ext[i].ok)
				continue;
			bt_bkey_copy((struct bkey *)&k, ext_key(r, i));
			SET_KEY_DIRTY((struct bkey *)&k, 0);
			if (++done % WB_FLUSH_EVERY == 0)
				ret = bt_btree_update_flush_before(u, KEY_INODE((struct bkey *)&k),
								   KEY_START((struct bkey *)&k), err);
			if (!ret)
				ret = bt_btree_insert_keys(u, k.w, bkey_u64s((struct bkey *)&k), err);
		}
	free(order);
	return ret;
}

static int commit_clean(struct wb_run *r, struct bt_node_cache *nc, struct printbuf *err)
{
	struct cache_set *c = r->c;
	struct bt_write_ctx w;
	struct bt_btree_update u;
	struct bt_replay_stats st = { 0 };
	int ret;

	ret = bt_write_start(&w, c, nc, err);
	if (ret)
		return ret;
	bt_btree_update_init(&u, &w);
	/* the journal first, as registration replays it; then the clean copies */
	ret = bt_journal_replay_insert(&u, &st, NULL, err);
	if (!ret)
		ret = insert_clean(r, &u, err);
	if (!ret)
		ret = bt_btree_update_write(&u, err);
	bt_btree_update_exit(&u);
	if (!ret) {
		w.last_seq = 0;		/* nothing left to replay */
		ret = bt_commit(&w, err);
	}
	if (ret)
		bt_write_abort(&w);
	return ret;
}

/* ---- the run ------------------------------------------------------------ */

static int match_slots(struct wb_run *r, struct printbuf *err)
{
	for (size_t b = 0; b < r->req->nr_bdevs; b++) {
		struct bt_wb_bdev *bd = &r->req->bdevs[b];
		long slot;
		int ret;

		if (!r->req->force) {
			ret = bt_writeback_check_bdev(r->c, bd, err);
			if (ret)
				return ret;
		}
		slot = r->c->uuids ? bt_uuid_find(r->c, bd->sb.uuid) : -1;
		if (slot < 0) {
			prt_printf(err, "backing device '%s' (uuid ", bd->dev->path);
			prt_uuid(err, bd->sb.uuid);
			prt_printf(err, ") has no uuid slot in the cache set of '%s'", r->c->dev->path);
			return -ENOENT;
		}
		for (size_t o = 0; o < b; o++)
			if (r->req->bdevs[o].slot == (unsigned)slot) {
				prt_printf(err, "'%s' and '%s' have the same uuid",
					   r->req->bdevs[o].dev->path, bd->dev->path);
				return -EINVAL;
			}
		bd->slot = (unsigned)slot;
	}
	return 0;
}

static int set_states_clean(struct wb_run *r, struct printbuf *err)
{
	for (size_t b = 0; b < r->req->nr_bdevs; b++) {
		struct bt_wb_bdev *bd = &r->req->bdevs[b];
		bool left = false;
		int ret;

		for (size_t i = 0; i < r->res->nr_lost; i++)
			left |= r->res->lost[i].bdev == b;
		for (size_t i = 0; i < r->nr_ext; i++)
			if (r->ext[i].bdev == b) {
				left |= !r->ext[i].ok || !r->res->cache_committed;
				if (r->ext[i].ok && r->res->cache_committed)
					bd->cleaned_sectors += KEY_SIZE(ext_key(r, i));
			}
		if (left || r->res->unreadable_nodes ||
		    BDEV_STATE(bd->sb.flags) != BDEV_STATE_DIRTY ||
		    memcmp(bd->sb.set_uuid, r->c->sb.set_uuid, 16))
			continue;
		bd->sb.flags = SET_BDEV_STATE(bd->sb.flags, BDEV_STATE_CLEAN);
		ret = bt_sb_write(bd->dev, bd->sb_block, &bd->sb, err);
		if (ret)
			return ret;
		bd->set_clean = true;
	}
	return 0;
}

/* Dry run: one list() call per extent of the plan, as it would be written. */
static void list_plan(struct wb_run *r)
{
	for (size_t i = 0; i < r->nr_ext && r->req->list; i++) {
		const struct bkey *k = ext_key(r, i);
		struct bt_wb_bdev *bd = &r->req->bdevs[r->ext[i].bdev];
		uint64_t lo = bd->sb.data_offset, hi = bt_dev_sectors(bd->dev);
		uint64_t s = KEY_START(k) < lo ? lo : KEY_START(k);
		uint64_t t = KEY_OFFSET(k) > hi ? hi : KEY_OFFSET(k);

		if (s < t)
			r->req->list(r->req->priv, r->ext[i].bdev, k, s, t - s);
	}
}

/* Dry run: every device of the run gets a shadow (shadow.h) that takes its writes. */
static int shadow_all(struct wb_run *r, struct printbuf *err)
{
	int ret = bt_dev_shadow(r->c->dev, err);

	for (size_t b = 0; b < r->req->nr_bdevs && !ret; b++)
		ret = bt_dev_shadow(r->req->bdevs[b].dev, err);
	return ret;
}

/*
 * A stop asked for (c->stop, stop.h) before extent i (nr_ext: before the
 * commit): -BT_ERR_INTERRUPTED with what was done. The cache is unchanged,
 * its data still dirty; what was copied is copied again by the next run.
 */
static int stopped(struct wb_run *r, size_t i, struct printbuf *err)
{
	if (!bt_stop_requested(r->c->stop))
		return 0;
	prt_printf(err, "stopped after %zu of %zu dirty extents %s; the cache '%s' is "
		   "unchanged: its data stays dirty (run writeback again)", i, r->nr_ext,
		   i < r->nr_ext ? "copied" : "copied and verified", r->c->dev->path);
	return -BT_ERR_INTERRUPTED;
}

static int writeback_run(struct wb_run *r, struct bt_node_cache *nc, struct printbuf *err)
{
	const char *why;
	int ret = make_plan(r, nc, err);

	if (ret)
		goto out;
	r->total_bytes = r->res->total_sectors << SECTOR_SHIFT;
	if (r->req->dry_run)
		list_plan(r);
	if (r->nr_ext && !(r->buf = malloc((size_t)WB_CHUNK_SECTORS << SECTOR_SHIFT))) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r->nr_ext && !ret; i++)
		ret = stopped(r, i, err) ?: copy_extent(r, i) ?: verify_window(r, err);
	if (!ret && r->nr_ext)
		ret = flush_bdevs(r, err);
	if (!ret)
		ret = verify_pieces(r);
	if (!ret)
		ret = stopped(r, r->nr_ext, err);
	if (ret)
		goto out;

	why = commit_blocker(r);
	for (size_t i = 0; i < r->nr_ext && !r->res->cache_committed; i++) {
		if (!r->ext[i].ok)
			continue;
		if (why) {
			prt_printf(&r->res->cache_msg, "the cache '%s' %s: %s", r->c->dev->path,
				   not_updated(r), why);
			break;
		}
		ret = commit_clean(r, nc, &r->res->cache_msg);
		if (ret) {
			prt_printf(&r->res->cache_msg, "%sthe cache '%s' %s: %s",
				   r->res->cache_msg.pos ? "\n" : "", r->c->dev->path, not_updated(r),
				   bt_err_str(ret));
			ret = 0;
			break;
		}
		r->res->cache_committed = true;
	}
	ret = set_states_clean(r, err);
out:
	if (r->res->nr_lost)
		qsort(r->res->lost, r->res->nr_lost, sizeof(*r->res->lost), lost_cmp);
	return ret;
}

int bt_writeback(struct cache_set *c, struct bt_node_cache *nc, struct bt_wb_req *req,
		 struct bt_wb_result *res, struct printbuf *err)
{
	struct wb_run r = { .c = c, .req = req, .res = res };
	int ret;

	memset(res, 0, sizeof(*res));
	for (size_t b = 0; b < req->nr_bdevs; b++) {
		struct bt_wb_bdev *bd = &req->bdevs[b];

		bd->extents = bd->dirty_sectors = bd->written_sectors = bd->cleaned_sectors = 0;
		bd->set_clean = false;
	}
	ret = match_slots(&r, err);
	if (!ret && req->dry_run)
		ret = shadow_all(&r, err);
	if (!ret)
		ret = writeback_run(&r, nc, err);
	if (ret == -ENOMEM && !err->pos)
		prt_str(err, "writeback: out of memory");
	free(r.ext);
	free(r.keys);
	free(r.pieces);
	free(r.buf);
	return ret;
}

void bt_writeback_result_exit(struct bt_wb_result *res)
{
	for (size_t i = 0; i < res->nr_lost; i++)
		free(res->lost[i].msg);
	free(res->lost);
	printbuf_exit(&res->cache_msg);
	memset(res, 0, sizeof(*res));
}
