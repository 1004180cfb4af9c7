/* detach_run.c --- the detach command's run: open the backing device and
 * its cache, count what a detach would abandon, refuse or write
 * (detach.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libcore/base/errcode.h"
#include "libcore/base/stop.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/dev/shadow.h"
#include "libcore/dev/target.h"
#include "libcore/read/uuid.h"
#include "libcore/read/view.h"
#include "libcore/read/view_stream.h"
#include "recovery/detach.h"
#include "recovery/msg.h"

static const uint8_t zero_uuid[16];

/* Everything one run holds, and what the cache holds for the backing device. */
struct detach_run {
	const struct bt_detach_opts	*o;
	struct bt_detach_result		*r;
	struct printbuf			*out, *msg, *err;
	struct printbuf			warn;	/* the guard's */
	struct bt_guard			g;
	struct bt_dev			bdev;
	uint8_t				block[SB_SIZE];	/* its superblock block */
	struct cache_sb			sb;
	struct bt_view			v;	/* the cache, with --cache */
	long				slot;	/* -1: none */
	uint64_t			dirty, extents, stale;
	uint64_t			on_bdev, unreadable;	/* dirty sectors already on BDEV, unreadable */
	uint64_t			unreadable_nodes;
	bool				damaged;	/* the cache set did not open cleanly */
};

/* Declare BDEV and --cache CACHE, open BDEV and read its superblock. */
static int open_bdev(struct detach_run *x, int *ci)
{
	const struct bt_detach_opts *o = x->o;
	int ret, b;

	*ci = -1;
	ret = b = bt_guard_add(&x->g, o->bdev, BT_TARGET_DEVICE, "backing device",
			       BT_TARGET_BCACHE, x->err);
	if (ret >= 0 && o->cache)
		ret = *ci = bt_guard_add(&x->g, o->cache, BT_TARGET_DEVICE, "cache device",
					 BT_TARGET_BCACHE, x->err);
	if (ret >= 0)
		ret = bt_guard_open(&x->g, b, o->dry_run ? 0 : BT_GUARD_RDWR, &x->bdev, x->err);
	bt_msg_take(x->msg, &x->warn);
	if (ret >= 0)
		ret = bt_sb_read(&x->bdev, x->block, &x->sb, true, x->err);
	if (ret >= 0 && !bt_sb_is_bdev(&x->sb)) {
		prt_printf(x->err, "'%s' is not a backing device (superblock version %llu)",
			   o->bdev, (unsigned long long)x->sb.version);
		ret = -BT_ERR_SB_NOT_BACKING;
	}
	return ret < 0 ? ret : 0;
}

/* BDEV's cache set must be CACHE's (or none). */
static int check_set(struct detach_run *x)
{
	const struct cache_sb *bsb = &x->sb;

	if (!memcmp(x->v.c.sb.set_uuid, bsb->set_uuid, 16) || !memcmp(bsb->set_uuid, zero_uuid, 16))
		return 0;
	prt_printf(x->err, "'%s' belongs to cache set ", x->bdev.path);
	prt_uuid(x->err, bsb->set_uuid);
	prt_printf(x->err, ", not to the cache set of '%s' (", x->o->cache);
	prt_uuid(x->err, x->v.c.sb.set_uuid);
	prt_str(x->err, ")");
	x->r->outcome = BT_DETACH_OTHER_SET;
	return -BT_ERR_SB_BAD_SET_UUID;
}

static int dirty_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	return bt_slot_dirty_key(c, k, arg);
}

static void dirty_restart(void *arg)
{
	bt_slot_dirty_reset(arg);
}

/*
 * The slot's dirty data in the view after journal replay, streamed, and
 * what of it the backing device holds already (what a writeback that could
 * not update the cache copied). Unreadable nodes are counted, not errors.
 */
static int count_dirty(struct detach_run *x, unsigned slot)
{
	struct bt_slot_dirty d;
	struct printbuf nodes = PRINTBUF;
	struct bt_view_stream_opts so = {
		.with_journal = true, .keep_going = true,
		.key_fn = dirty_key, .restart_fn = dirty_restart, .arg = &d,
	};
	int ret = bt_slot_dirty_init(&d, slot, &x->bdev, x->sb.data_offset);

	if (!ret)
		ret = bt_view_stream(&x->v.c, x->v.nc, &so, &x->v.stats, &nodes);
	if (ret == 1)
		ret = 0;	/* past the slot */
	if (ret)
		prt_str(x->err, ret == -ENOMEM && !nodes.pos ? "detach: out of memory" :
			printbuf_str(&nodes));
	else if (d.bdev_err)
		prt_str(x->err, printbuf_str(&d.bdev_msg));
	x->unreadable_nodes = x->v.stats.unreadable_nodes;
	x->dirty = d.sectors;
	x->extents = d.extents;
	x->stale = d.stale;
	x->on_bdev = d.same;
	x->unreadable = d.unreadable;
	ret = ret ? ret : d.bdev_err;
	bt_slot_dirty_exit(&d);
	printbuf_exit(&nodes);
	return ret;
}

/* Open the cache, find the slot and count its dirty data. */
static int inspect_cache(struct detach_run *x, int ci)
{
	struct bt_view *v = &x->v;
	unsigned slot;
	int ret;

	ret = bt_view_open_dev(v, &x->g, ci, x->err);
	bt_msg_take(x->msg, &x->warn);
	if (!ret)
		ret = bt_view_open_set(v, x->err);
	if (ret)
		return ret;
	if (v->partial) {
		bt_msg_take(x->msg, x->err);
		x->damaged = true;
	}
	ret = check_set(x);
	if (ret)
		return ret;
	x->slot = bt_uuid_find(&v->c, x->sb.uuid);
	if (x->slot < 0)
		return 0;
	slot = (unsigned)x->slot;
	ret = bt_view_node_cache(v, x->err);
	if (!ret)
		ret = count_dirty(x, slot);
	return ret;
}

/* The dirty data the cache holds and BDEV does not: said, and whether it refuses. */
static bool dirty_left(struct detach_run *x, const char *verb)
{
	const struct bt_detach_opts *o = x->o;

	if (o->cache && x->slot >= 0 && x->dirty && x->on_bdev == x->dirty &&
	    !x->unreadable_nodes) {
		prt_printf(x->out, "%s: the cache '%s' still marks %llu sectors in %llu extents "
			   "dirty, but the backing device holds every one of them: nothing is "
			   "abandoned\n", o->bdev, o->cache, (unsigned long long)x->dirty,
			   (unsigned long long)x->extents);
		return false;
	}
	if (!o->cache || x->slot < 0 || !(x->dirty || x->unreadable_nodes))
		return false;
	if (x->dirty) {
		prt_printf(x->msg, "%s: the cache '%s' holds %llu dirty sectors in %llu extents "
			   "for '%s' (uuid slot %ld), %llu of them not on the backing device",
			   verb, o->cache, (unsigned long long)x->dirty,
			   (unsigned long long)x->extents, o->bdev, x->slot,
			   (unsigned long long)(x->dirty - x->on_bdev));
		if (x->unreadable)
			prt_printf(x->msg, " (%llu unreadable from the cache)",
				   (unsigned long long)x->unreadable);
		prt_newline(x->msg);
	}
	if (x->unreadable_nodes)
		prt_printf(x->msg, "%s: %llu btree nodes of '%s' are unreadable: they may hold "
			   "more dirty data for '%s'\n", verb,
			   (unsigned long long)x->unreadable_nodes, o->cache, o->bdev);
	return true;
}

/* Refuse, or with --force say what is abandoned. Whether the run goes on. */
static bool check_dirty(struct detach_run *x)
{
	const struct bt_detach_opts *o = x->o;
	const char *verb = o->force ? "abandoning" : "refusing to detach";
	bool refused = dirty_left(x, verb);

	if (!refused && !o->cache && BDEV_STATE(x->sb.flags) == BDEV_STATE_DIRTY) {
		prt_printf(x->msg, "%s: '%s' has state dirty: cache set ", verb, o->bdev);
		prt_uuid(x->msg, x->sb.set_uuid);
		prt_str(x->msg, " may hold dirty data for it (give --cache CACHE to count it)\n");
		refused = true;
	}
	if (refused && !o->force)
		prt_printf(x->msg, "write it back first with 'bcache-tool writeback CACHE %s', "
			   "or abandon it with --force\n", o->bdev);
	else if (refused)
		prt_printf(x->msg, "the data of '%s' will be used without that dirty data: "
			   "what was written last may be missing or stale\n", o->bdev);
	return !refused || o->force;
}

/* The uuid slot was not invalidated: why, and that the kernel will do it. */
static void slot_left(struct detach_run *x, const char *why)
{
	const struct bt_detach_opts *o = x->o;

	prt_printf(x->msg, "uuid slot %ld of '%s' %s invalidated%s; the kernel invalidates it "
		   "when the cache set meets '%s' again (state none)\n", x->slot, o->cache,
		   o->dry_run ? "would not be" : "was not", why, o->bdev);
	x->r->outcome = BT_DETACH_SLOT_LEFT;
}

/*
 * The kernel's order: the backing superblock first, then the uuid slot.
 * In a dry run both devices are shadowed: the same code runs, and says
 * "would".
 */
static int detach_write(struct detach_run *x)
{
	const struct bt_detach_opts *o = x->o;
	const char *would = o->dry_run ? "would be " : "", *dry = o->dry_run ? " (dry run)" : "";
	int ret;

	if (BDEV_STATE(x->sb.flags) != BDEV_STATE_NONE || memcmp(x->sb.set_uuid, zero_uuid, 16)) {
		ret = bt_detach_bdev_sb(&x->bdev, x->block, &x->sb, x->err);
		if (ret)
			return ret;
		prt_printf(x->out, "%s: %sdetached: state none, no cache set%s\n", o->bdev, would,
			   dry);
	}
	if (x->slot >= 0 && (x->unreadable_nodes || x->damaged)) {
		slot_left(x, ": the cache set is damaged (a copy-on-write update needs every "
			  "bucket in use known)");
		return 0;
	}
	if (x->slot < 0)
		return 0;
	ret = bt_detach_invalidate_slot(&x->v.c, x->v.nc, (unsigned)x->slot,
					(uint32_t)time(NULL), x->err);
	if (ret) {
		bt_msg_take(x->msg, x->err);
		slot_left(x, "");
		return 0;
	}
	prt_printf(x->out, "%s: uuid slot %ld %sinvalidated%s\n", o->cache, x->slot, would, dry);
	return 0;
}

/* After the checks: shadows for a dry run, the last point to stop, the writes. */
static int detach_go(struct detach_run *x)
{
	int ret = 0;

	/* a dry run: the same writes, into shadows of the devices (libcore/shadow.h) */
	if (x->o->dry_run && ((ret = bt_dev_shadow(&x->bdev, x->err)) ||
			      (x->v.dev.path && (ret = bt_dev_shadow(&x->v.dev, x->err)))))
		return ret;
	if (bt_stop_requested(x->o->stop))
		return -BT_ERR_INTERRUPTED;
	/* the slot's transaction holds the signals until its jset (libcore/stop.h) */
	ret = detach_write(x);
	x->r->stopped_after = bt_stop_requested(x->o->stop);
	return ret;
}

int bt_detach_run(const struct bt_detach_opts *o, struct bt_detach_result *r,
		  struct printbuf *out, struct printbuf *msg, struct printbuf *err)
{
	struct detach_run *x = calloc(1, sizeof(*x));
	int ret, ci;

	memset(r, 0, sizeof(*r));
	if (!x) {
		prt_str(err, "detach: out of memory");
		return -ENOMEM;
	}
	*x = (struct detach_run){
		.o = o, .r = r, .out = out, .msg = msg, .err = err, .warn = PRINTBUF,
		.bdev = { .fd = -1 }, .slot = -1,
	};
	bt_guard_init(&x->g, o->force_in_use ? BT_GUARD_FORCE_IN_USE : 0, &x->warn);
	bt_view_init(&x->v, &(struct bt_view_opts){
		.flags = (o->dry_run ? 0 : BT_VIEW_RDWR) | BT_VIEW_NEEDS_UUIDS,
		.who = "detach" });
	ret = open_bdev(x, &ci);
	if (!ret && o->cache)
		ret = inspect_cache(x, ci);
	if (!ret && BDEV_STATE(x->sb.flags) == BDEV_STATE_NONE &&
	    !memcmp(x->sb.set_uuid, zero_uuid, 16) && x->slot < 0) {
		prt_printf(out, "%s: already detached (state none, no cache set)\n", o->bdev);
		r->outcome = BT_DETACH_ALREADY;
	} else if (!ret && !check_dirty(x)) {
		r->outcome = BT_DETACH_REFUSED;
	} else if (!ret) {
		ret = detach_go(x);
	}
	bt_view_exit(&x->v);
	if (x->bdev.path)
		bt_dev_close(&x->bdev);
	bt_guard_exit(&x->g);
	printbuf_exit(&x->warn);
	free(x);
	return ret;
}
