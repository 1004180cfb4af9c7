/* detach.c --- bcache-tool detach: offline detach of a backing device from
 * its cache set (what the kernel's detach writes: libcore/writeback.h
 * bt_detach_bdev_sb(), bt_detach_invalidate_slot()).
 *
 * Exit status: 0 detached (or already detached); 1 refused: the cache may
 * hold dirty data for the device (--force abandons it); 2 detached, but the
 * cache's uuid slot could not be invalidated; 8 operational error; 16 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libcore/ondisk/bkey.h"
#include "recovery/detach.h"
#include "libcore/base/errcode.h"
#include "libcore/read/overlay.h"
#include "libcore/dev/shadow.h"
#include "libcore/dev/target.h"
#include "libcore/read/uuid.h"
#include "recovery/writeback.h"
#include "cmds.h"

struct detach_opts {
	char	*cache;		/* popt-allocated */
	int	force, force_in_use, dry_run;
};

/* What the cache holds for the backing device. */
struct detach_cache {
	struct bt_dev		dev;
	struct cache_set	c;
	struct bt_node_cache	*nc;
	long			slot;		/* -1: none */
	uint64_t		dirty, extents, stale;
	uint64_t		on_bdev, unreadable;	/* dirty sectors already on BDEV, unreadable */
	uint64_t		unreadable_nodes;
	bool			damaged;	/* the cache set did not open cleanly */
};

static const uint8_t zero_uuid[16];

/* Open the cache, find the slot and count its dirty data. 0, or an EXIT_* status. */
static int inspect_cache(struct bt_guard *g, int ci, const struct detach_opts *o,
			 const struct cache_sb *bsb, struct bt_dev *bdev, struct detach_cache *dc,
			 struct printbuf *err)
{
	struct bt_extmap view;
	struct bt_overlay_stats ost;
	int ret;

	dc->slot = -1;
	ret = bt_guard_open(g, ci, o->dry_run ? 0 : BT_GUARD_RDWR, &dc->dev, err);
	bt_error_pb(g->warn);
	if (!ret) {
		ret = bt_cache_set_open(&dc->c, &dc->dev, BT_OPEN_KEEP_GOING, err);
		if (ret && !(ret == -BT_ERR_NO_CACHE_SET || !dc->c.buckets || !dc->c.uuids ||
			     !KEY_PTRS((struct bkey *)&dc->c.root_key))) {
			bt_error_pb(err);
			dc->damaged = true;
			ret = 0;
		}
	}
	if (ret) {
		bt_error_pb(err);
		return BT_EXIT_OPERATIONAL;
	}
	if (memcmp(dc->c.sb.set_uuid, bsb->set_uuid, 16) && memcmp(bsb->set_uuid, zero_uuid, 16)) {
		prt_printf(err, "'%s' belongs to cache set ", bdev->path);
		prt_uuid(err, bsb->set_uuid);
		prt_printf(err, ", not to the cache set of '%s' (", o->cache);
		prt_uuid(err, dc->c.sb.set_uuid);
		prt_str(err, ")");
		bt_error_pb(err);
		return BT_EXIT_USAGE;
	}
	dc->slot = bt_uuid_find(&dc->c, bsb->uuid);
	if (dc->slot < 0)
		return 0;
	dc->nc = bt_node_cache_new(&dc->c, BT_NODE_CACHE_DEFAULT_BYTES, 0);
	if (!dc->nc) {
		bt_error("detach: out of memory");
		return BT_EXIT_OPERATIONAL;
	}
	bt_extmap_init(&view);
	ret = bt_overlay_build(&dc->c, dc->nc, BT_OVERLAY_JOURNAL | BT_OVERLAY_KEEP_GOING,
			       &view, &ost, err);
	if (ret) {
		bt_error_pb(err);
		bt_extmap_exit(&view);
		return BT_EXIT_OPERATIONAL;
	}
	printbuf_reset(err);	/* unreadable nodes: counted below */
	dc->unreadable_nodes = ost.unreadable_nodes;
	dc->dirty = bt_slot_dirty(&dc->c, &view, (unsigned)dc->slot, &dc->extents, &dc->stale);
	ret = 0;
	if (dc->dirty)	/* what a writeback that could not update the cache already copied */
		ret = bt_slot_dirty_on_bdev(&dc->c, &view, (unsigned)dc->slot, bdev,
					    bsb->data_offset, &dc->on_bdev, &dc->unreadable, err);
	bt_extmap_exit(&view);
	if (ret) {
		bt_error_pb(err);
		return BT_EXIT_OPERATIONAL;
	}
	return 0;
}

/* Refuse, or with --force say what is abandoned. 0 to go on, else an exit status. */
static int check_dirty(const struct detach_opts *o, const struct cache_sb *bsb,
		       const char *bpath, const struct detach_cache *dc)
{
	struct printbuf u = PRINTBUF;
	bool dirty_state = BDEV_STATE(bsb->flags) == BDEV_STATE_DIRTY;
	int status = BT_EXIT_OK;

	prt_uuid(&u, bsb->set_uuid);
	if (o->cache && dc->slot >= 0 && dc->dirty && dc->on_bdev == dc->dirty &&
	    !dc->unreadable_nodes) {
		printf("%s: the cache '%s' still marks %llu sectors in %llu extents dirty, but the "
		       "backing device holds every one of them: nothing is abandoned\n", bpath,
		       o->cache, (unsigned long long)dc->dirty, (unsigned long long)dc->extents);
	} else if (o->cache && dc->slot >= 0 && (dc->dirty || dc->unreadable_nodes)) {
		struct printbuf why = PRINTBUF;

		if (dc->unreadable)
			prt_printf(&why, " (%llu unreadable from the cache)",
				   (unsigned long long)dc->unreadable);
		if (dc->dirty)
			bt_error("%s: the cache '%s' holds %llu dirty sectors in %llu extents for '%s' "
				 "(uuid slot %ld), %llu of them not on the backing device%s",
				 o->force ? "abandoning" : "refusing to detach",
				 o->cache, (unsigned long long)dc->dirty,
				 (unsigned long long)dc->extents, bpath, dc->slot,
				 (unsigned long long)(dc->dirty - dc->on_bdev), printbuf_str(&why));
		printbuf_exit(&why);
		if (dc->unreadable_nodes)
			bt_error("%s: %llu btree nodes of '%s' are unreadable: they may hold more "
				 "dirty data for '%s'", o->force ? "abandoning" : "refusing to detach",
				 (unsigned long long)dc->unreadable_nodes, o->cache, bpath);
		status = BT_EXIT_REFUSED;
	} else if (!o->cache && dirty_state) {
		bt_error("%s: '%s' has state dirty: cache set %s may hold dirty data for it "
			 "(give --cache CACHE to count it)", o->force ? "abandoning" : "refusing to detach",
			 bpath, printbuf_str(&u));
		status = BT_EXIT_REFUSED;
	}
	if (status && !o->force)
		bt_error("write it back first with 'bcache-tool writeback CACHE %s', "
			 "or abandon it with --force", bpath);
	else if (status)
		bt_error("the data of '%s' will be used without that dirty data: "
			 "what was written last may be missing or stale", bpath);
	printbuf_exit(&u);
	return o->force ? BT_EXIT_OK : status;
}

/*
 * The kernel's order: the backing superblock first, then the uuid slot.
 * In a dry run both devices are shadowed: the same code runs, and says
 * "would". Returns the exit status.
 */
static int detach_write(const struct detach_opts *o, const char *bpath, struct bt_dev *bdev,
			uint8_t *block, struct cache_sb *sb, struct detach_cache *dc,
			struct printbuf *err)
{
	const char *would = o->dry_run ? "would be " : "", *dry = o->dry_run ? " (dry run)" : "";
	int ret;

	if (BDEV_STATE(sb->flags) != BDEV_STATE_NONE || memcmp(sb->set_uuid, zero_uuid, 16)) {
		ret = bt_detach_bdev_sb(bdev, block, sb, err);
		if (ret) {
			bt_error_pb(err);
			return BT_EXIT_OPERATIONAL;
		}
		printf("%s: %sdetached: state none, no cache set%s\n", bpath, would, dry);
	}
	if (dc->slot >= 0 && (dc->unreadable_nodes || dc->damaged)) {
		bt_error("uuid slot %ld of '%s' %s invalidated: the cache set is damaged "
			 "(a copy-on-write update needs every bucket in use known); the kernel "
			 "invalidates it when the cache set meets '%s' again (state none)",
			 dc->slot, o->cache, o->dry_run ? "would not be" : "was not", bpath);
		return BT_EXIT_INCOMPLETE;
	}
	if (dc->slot < 0)
		return BT_EXIT_OK;
	ret = bt_detach_invalidate_slot(&dc->c, dc->nc, (unsigned)dc->slot, (uint32_t)time(NULL),
					err);
	if (ret) {
		bt_error_pb(err);
		bt_error("uuid slot %ld of '%s' %s invalidated; the kernel invalidates it "
			 "when the cache set meets '%s' again (state none)", dc->slot, o->cache,
			 o->dry_run ? "would not be" : "was not", bpath);
		return BT_EXIT_INCOMPLETE;
	}
	printf("%s: uuid slot %ld %sinvalidated%s\n", o->cache, dc->slot, would, dry);
	return BT_EXIT_OK;
}

static int run_detach(poptContext pc, const struct detach_opts *o);

int cmd_detach(int argc, const char **argv)
{
	struct detach_opts o = { 0 };
	struct poptOption opts[] = {
		{ "cache", 'c', POPT_ARG_STRING, &o.cache, 0,
		  "the cache device: count its dirty data for BDEV and invalidate BDEV's uuid slot",
		  "CACHE" },
		{ "force", 'f', POPT_ARG_NONE, &o.force, 0,
		  "detach even though the cache holds dirty data (abandoned)", NULL },
		BT_OPT_FORCE_IN_USE(&o.force_in_use),
		{ "dry-run", 'n', POPT_ARG_NONE, &o.dry_run, 0,
		  "do everything, with the writes going to a temporary file: say what would "
		  "be done, write nothing", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("detach", argc, argv, opts, "BDEV");
	int status;

	if (!pc)
		return BT_EXIT_USAGE;
	status = run_detach(pc, &o);
	free(o.cache);
	poptFreeContext(pc);
	return status;
}

/* Declare BDEV and --cache CACHE, open BDEV and read its superblock. */
static int open_bdev(struct bt_guard *g, const char *path, const struct detach_opts *o,
		     struct bt_dev *bdev, uint8_t *block, struct cache_sb *sb, int *ci,
		     struct printbuf *err)
{
	int ret, b;

	*ci = -1;
	ret = b = bt_guard_add(g, path, BT_TARGET_DEVICE, "backing device", BT_TARGET_BCACHE,
			       err);
	if (ret >= 0 && o->cache)
		ret = *ci = bt_guard_add(g, o->cache, BT_TARGET_DEVICE, "cache device",
					 BT_TARGET_BCACHE, err);
	if (ret >= 0)
		ret = bt_guard_open(g, b, o->dry_run ? 0 : BT_GUARD_RDWR, bdev, err);
	bt_error_pb(g->warn);
	if (ret >= 0)
		ret = bt_sb_read(bdev, block, sb, true, err);
	if (ret >= 0 && !bt_sb_is_bdev(sb)) {
		prt_printf(err, "'%s' is not a backing device (superblock version %llu)",
			   path, (unsigned long long)sb->version);
		ret = -BT_ERR_SB_NOT_BACKING;
	}
	return ret < 0 ? ret : 0;
}

static int run_detach(poptContext pc, const struct detach_opts *o)
{
	const char **args = poptGetArgs(pc);
	struct printbuf err = PRINTBUF, warn = PRINTBUF;
	struct bt_guard g;
	struct bt_dev bdev = { .fd = -1 };
	struct detach_cache dc = { .dev = { .fd = -1 }, .slot = -1 };
	uint8_t block[SB_SIZE];
	struct cache_sb sb;
	struct bt_stop stop = { 0 };
	int status = BT_EXIT_OK, ret, ci;

	if (!args || !args[0] || args[1]) {
		bt_error("detach: expected BDEV");
		poptPrintUsage(pc, stderr, 0);
		return BT_EXIT_USAGE;
	}
	bt_guard_init(&g, o->force_in_use ? BT_GUARD_FORCE_IN_USE : 0, &warn);
	bt_signals_install(&stop);
	ret = open_bdev(&g, args[0], o, &bdev, block, &sb, &ci, &err);
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
		goto out;
	}
	if (o->cache && (status = inspect_cache(&g, ci, o, &sb, &bdev, &dc, &err)))
		goto out;
	if (BDEV_STATE(sb.flags) == BDEV_STATE_NONE && !memcmp(sb.set_uuid, zero_uuid, 16) &&
	    dc.slot < 0) {
		printf("%s: already detached (state none, no cache set)\n", args[0]);
		goto out;
	}
	if ((status = check_dirty(o, &sb, args[0], &dc)))
		goto out;
	/* a dry run: the same writes, into shadows of the devices (libcore/shadow.h) */
	if (o->dry_run && ((ret = bt_dev_shadow(&bdev, &err)) ||
			   (dc.dev.path && (ret = bt_dev_shadow(&dc.dev, &err))))) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
		goto out;
	}
	if (bt_stop_requested(&stop)) {
		status = bt_interrupted("detach", "nothing was written");
		goto out;
	}
	/* the slot's transaction holds the signals until its jset (libcore/stop.h) */
	status = detach_write(o, args[0], &bdev, block, &sb, &dc, &err);
	if (bt_stop_requested(&stop))
		status |= bt_interrupted("detach", "after the writes, which were completed");
out:
	bt_node_cache_free(dc.nc);
	if (dc.dev.path) {
		bt_cache_set_exit(&dc.c);
		bt_dev_close(&dc.dev);
	}
	if (bdev.path)
		bt_dev_close(&bdev);
	bt_guard_exit(&g);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	return status;
}
