/* extract_run.c --- the extract command's run: open the cache and the
 * backing device through the guard, read the view after journal replay,
 * pick the uuid slot and write its content to the output (extract.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "libcore/base/errcode.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/dev/target.h"
#include "libcore/read/uuid.h"
#include "libcore/read/view.h"
#include "libcore/read/view_stream.h"
#include "recovery/extract.h"
#include "recovery/msg.h"

/* Everything one run holds open. */
struct extract_run {
	const struct bt_extract_opts	*o;
	struct bt_extract_run_result	*r;
	struct printbuf			*msg, *err;
	struct printbuf			warn;	/* the guard's */
	struct bt_guard			g;
	struct bt_view			v;
	struct bt_dev			bdev;
	struct cache_sb			bsb;
	struct bt_outfile		out;
	int				out_i;	/* guard index of the output, -1: none */
};

static int out_write(void *priv, const void *buf, size_t bytes, uint64_t logical_byte)
{
	struct bt_outfile *o = priv;
	size_t done = 0;

	while (done < bytes) {
		ssize_t r = o->seekable
			? pwrite(o->fd, (const char *)buf + done, bytes - done,
				 (off_t)(logical_byte + done))
			: write(o->fd, (const char *)buf + done, bytes - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

/* A dirty extent of the slot in the view but stale: dirty data the kernel lost. */
static uint64_t report_stale_dirty(const struct cache_set *c, const struct bkey *k,
				   uint64_t base, struct printbuf *msg)
{
	struct bt_extent_bad_info info = { 0 };

	if (!KEY_DIRTY(k) || !bt_extent_bad(c, k, &info) || !info.stale)
		return 0;
	prt_printf(msg, "dirty data lost: sectors %llu-%llu (%llu sectors) have a stale "
		   "pointer (stale by %u); the backing device's older data is served\n",
		   (unsigned long long)(KEY_START(k) - base),
		   (unsigned long long)(KEY_OFFSET(k) - base - 1),
		   (unsigned long long)KEY_SIZE(k), info.stale);
	return KEY_SIZE(k);
}

/* --slot N: a slot number below the cache's count. */
static int slot_by_number(const struct cache_set *c, const char *arg, unsigned *slot,
			  struct printbuf *err)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (*end || !*arg || v >= c->nr_uuids) {
		prt_printf(err, "extract: bad slot '%s' (the cache has %u uuid slots)", arg,
			   c->nr_uuids);
		return -BT_ERR_FORMAT_BAD_OPTION;
	}
	*slot = (unsigned)v;
	return 0;
}

/* --uuid UUID, or the backing device's uuid: the slot holding it. */
static int slot_by_uuid(const struct cache_set *c, const char *arg, const struct cache_sb *bsb,
			unsigned *slot, struct printbuf *err)
{
	uuid_t u;
	long s;

	if (arg && uuid_parse(arg, u)) {
		prt_printf(err, "extract: bad uuid '%s'", arg);
		return -BT_ERR_FORMAT_BAD_OPTION;
	}
	s = bt_uuid_find(c, arg ? u : bsb->uuid);
	if (s < 0) {
		prt_str(err, "extract: uuid ");
		prt_uuid(err, arg ? u : bsb->uuid);
		prt_str(err, " has no slot in the cache set");
		return -ENOENT;
	}
	*slot = (unsigned)s;
	return 0;
}

/* No slot named and no backing device: the only flash volume. */
static int slot_flash_only(const struct cache_set *c, unsigned *slot, struct printbuf *err)
{
	long found = -1;

	for (unsigned i = 0; i < c->nr_uuids; i++)
		if (bt_uuid_slot_state(&c->uuids[i]) == BT_UUID_LIVE &&
		    bt_uuid_flash_only(&c->uuids[i])) {
			if (found >= 0) {
				prt_str(err, "extract: several flash volumes: name one with --slot or --uuid");
				return -BT_ERR_FORMAT_BAD_OPTION;
			}
			found = i;
		}
	if (found < 0) {
		prt_str(err, "extract: no backing device given and no flash volume in the cache set");
		return -BT_ERR_FORMAT_BAD_OPTION;
	}
	*slot = (unsigned)found;
	return 0;
}

/* Pick the uuid slot: --slot, --uuid, the backing device's uuid, or the only flash volume. */
static int pick_slot(const struct cache_set *c, const struct bt_extract_opts *o,
		     const struct cache_sb *bsb, unsigned *slot, struct printbuf *err)
{
	int ret;

	if (o->slot)
		ret = slot_by_number(c, o->slot, slot, err);
	else if (o->uuid || bsb)
		ret = slot_by_uuid(c, o->uuid, bsb, slot, err);
	else
		ret = slot_flash_only(c, slot, err);
	if (ret)
		return ret;
	if (bt_uuid_slot_state(&c->uuids[*slot]) != BT_UUID_LIVE) {
		prt_printf(err, "extract: uuid slot %u is not in use", *slot);
		return -ENOENT;
	}
	if (!bsb && !bt_uuid_flash_only(&c->uuids[*slot])) {
		prt_printf(err, "extract: uuid slot %u belongs to a backing device: give the "
			   "backing device too", *slot);
		return -BT_ERR_FORMAT_BAD_OPTION;
	}
	return 0;
}

/*
 * Declare CACHE, BDEV and the output to the guard, open both devices
 * (read-only) and read BDEV's superblock. The guard's warnings go to msg.
 */
static int open_inputs(struct extract_run *x)
{
	const struct bt_extract_opts *o = x->o;
	uint8_t block[SB_SIZE];
	int ret, c, b = -1;

	ret = c = bt_guard_add(&x->g, o->cache, BT_TARGET_INPUT, "cache device",
			       BT_TARGET_BCACHE, x->err);
	if (ret >= 0 && o->bdev)
		ret = b = bt_guard_add(&x->g, o->bdev, BT_TARGET_INPUT, "backing device",
				       BT_TARGET_BCACHE, x->err);
	if (ret >= 0 && !o->dry_run)
		ret = x->out_i = bt_guard_add(&x->g, o->output, BT_TARGET_OUTPUT, "output", 0,
					      x->err);
	if (ret >= 0)
		ret = bt_view_open_dev(&x->v, &x->g, c, x->err);
	if (ret >= 0 && b >= 0)
		ret = bt_guard_open(&x->g, b, 0, &x->bdev, x->err);
	if (ret >= 0 && b >= 0) {
		ret = bt_sb_read(&x->bdev, block, &x->bsb, true, x->err);
		if (!ret && !bt_sb_is_bdev(&x->bsb)) {
			prt_printf(x->err, "'%s' is not a backing device (superblock version %llu)",
				   o->bdev, (unsigned long long)x->bsb.version);
			ret = -BT_ERR_SB_NOT_BACKING;
		}
	}
	bt_msg_take(x->msg, &x->warn);
	if (ret < 0)
		return ret;
	printbuf_reset(x->err);
	return 0;
}

/* The cache set, its uuid slot and the node cache. */
static int open_view(struct extract_run *x)
{
	struct bt_view *v = &x->v;
	int ret = bt_view_open_set(v, x->err);

	if (ret)
		return ret;
	if (!v->partial && v->c.sb_csum_bad) {
		prt_printf(x->msg, "warning: the superblock of '%s' has a bad checksum (every "
			   "other field is valid): the kernel refuses it until 'bcache-tool fsck' "
			   "recomputes it\n", v->dev.path);
		x->r->damaged = true;
	}
	if (v->partial) {
		bt_msg_take(x->msg, x->err);
		x->r->damaged = true;
	}
	ret = pick_slot(&v->c, x->o, x->o->bdev ? &x->bsb : NULL, &x->r->slot, x->err);
	if (ret)
		return ret;
	return bt_view_node_cache(v, x->err);
}

/* Open the output for bytes of content: a block device must hold them. */
static int open_output(struct extract_run *x, uint64_t bytes)
{
	struct bt_outfile *out = &x->out;
	int ret = bt_guard_open_file(&x->g, x->out_i, out, x->err);

	if (!ret && out->seekable && !out->regular && out->size < bytes) {
		prt_printf(x->err, "the output '%s' (%llu bytes) is smaller than the content "
			   "(%llu bytes)", out->path, (unsigned long long)out->size,
			   (unsigned long long)bytes);
		ret = -BT_ERR_DEV_TOO_SMALL;
	} else if (!ret && out->seekable && !out->regular && out->size > bytes) {
		prt_printf(x->msg, "note: the output '%s' is larger than the content: its bytes "
			   "from byte %llu on are left as they were\n", out->path,
			   (unsigned long long)bytes);
	}
	bt_msg_take(x->msg, &x->warn);
	if (!ret)
		printbuf_reset(x->err);
	return ret;
}

/* The keys of the view come here, in key order (view_stream.h). */
struct content {
	struct extract_run		*x;
	struct bt_extract_cursor	cur;
	uint64_t			base;	/* the content's first key sector */
};

/* The walk is stopped with this after the slot's last key. */
#define CONTENT_DONE	1

static int content_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct content *t = arg;

	if (KEY_INODE(k) < t->x->r->slot)
		return 0;
	if (KEY_INODE(k) > t->x->r->slot)
		return CONTENT_DONE;
	if (report_stale_dirty(c, k, t->base, t->x->msg))
		t->x->r->damaged = true;
	return bt_extract_key(&t->cur, k, t->x->err);
}

/* The view after journal replay, streamed into the cursor; unreadable subtrees said in msg. */
static int stream_content(struct extract_run *x, struct content *t)
{
	struct bt_overlay_stats st;
	struct printbuf nodes = PRINTBUF;
	struct bt_view_stream_opts so = {
		.with_journal = !x->o->no_journal, .keep_going = true,
		.key_fn = content_key, .arg = t,
	};
	int ret = bt_view_stream(&x->v.c, x->v.nc, &so, &st, &nodes);

	if (ret == CONTENT_DONE)
		ret = 0;
	if (ret)
		prt_str(x->err, printbuf_str(&nodes));
	else if (nodes.pos) {	/* unreadable subtrees: their data is lost */
		bt_msg_take(x->msg, &nodes);
		x->r->damaged = true;
	}
	printbuf_exit(&nodes);
	x->r->journal_keys = st.journal_keys;
	return ret;
}

/* The content of the slot, from the view, into the output. */
static int write_content(struct extract_run *x)
{
	const struct bt_extract_opts *o = x->o;
	struct bt_extract_req req = {
		.inode = x->r->slot, .live = bt_overlay_key_live, .write = out_write,
		.priv = &x->out, .dry_run = o->dry_run, .list = o->list,
	};
	struct content t = { .x = x };
	struct cache_set *c = &x->v.c;
	int ret;

	if (o->bdev) {
		req.bdev = &x->bdev;
		req.data_offset = x->bsb.data_offset;
		req.sectors = bt_dev_sectors(&x->bdev) - x->bsb.data_offset;
	} else {
		req.sectors = bt_uuid_sectors(&c->uuids[x->r->slot]);
	}
	t.base = req.data_offset;
	x->r->sectors = req.sectors;
	if (!o->dry_run && (ret = open_output(x, req.sectors << SECTOR_SHIFT)))
		return ret;
	ret = bt_extract_begin(&t.cur, c, &req, &x->r->res, x->err);
	if (!ret)
		ret = stream_content(x, &t);
	if (ret) {
		bt_extract_cursor_exit(&t.cur);
		return ret;
	}
	ret = bt_extract_end(&t.cur, x->err);
	if (!ret)
		ret = bt_outfile_finish(&x->out, req.sectors << SECTOR_SHIFT, x->err);
	return ret ? ret : bt_outfile_close(&x->out, x->err);
}

int bt_extract_run(const struct bt_extract_opts *o, struct bt_extract_run_result *r,
		   struct printbuf *msg, struct printbuf *err)
{
	struct extract_run x = {
		.o = o, .r = r, .msg = msg, .err = err, .warn = PRINTBUF,
		.bdev = { .fd = -1 }, .out = { .fd = -1 }, .out_i = -1,
	};
	struct printbuf ignored = PRINTBUF;
	int ret;

	memset(r, 0, sizeof(*r));
	bt_guard_init(&x.g, (o->force_in_use ? BT_GUARD_FORCE_IN_USE : 0) |
		      (o->force ? BT_GUARD_OVERWRITE : 0), &x.warn);
	bt_view_init(&x.v, &(struct bt_view_opts){
		.flags = BT_VIEW_SB_IGNORE_CSUM | BT_VIEW_NEEDS_UUIDS,
		.node_cache_bytes = o->node_cache_bytes, .who = "extract",
		.threads = o->threads });
	/* read-only on both devices */
	ret = open_inputs(&x);
	if (!ret)
		ret = open_view(&x);
	if (!ret)
		ret = write_content(&x);
	bt_outfile_close(&x.out, &ignored);	/* after an error: its message is the one */
	printbuf_exit(&ignored);
	bt_guard_exit(&x.g);
	printbuf_exit(&x.warn);
	bt_view_exit(&x.v);
	if (x.bdev.path)
		bt_dev_close(&x.bdev);
	return ret;
}

void bt_extract_run_result_exit(struct bt_extract_run_result *r)
{
	bt_extract_result_exit(&r->res);
	memset(r, 0, sizeof(*r));
}
