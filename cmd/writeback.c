/* writeback.c --- bcache-tool writeback: copy a cache set's dirty data to
 * its backing devices offline and mark it clean (libcore/writeback.h).
 *
 * Exit status: 0 everything written back, verified and marked clean; OR of
 * 1 (dirty data lost: the ranges are listed), 2 (the cache was not updated
 * or a backing device was left DIRTY), 8 (operational error), 16 (usage).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/base/clock.h"
#include "libcore/base/errcode.h"
#include "libcore/dev/target.h"
#include "libcore/dev/undo.h"
#include "libcore/read/view.h"
#include "recovery/writeback.h"
#include "cmds.h"

struct wb_opts {
	char	*undo, *cache_size;	/* popt-allocated */
	int	dry_run, force, force_in_use, no_progress;
};

struct wb_cli {
	struct bt_wb_bdev	*bdevs;
	double			t0, last;
	bool			bar;
};

static void progress(void *priv, uint64_t done, uint64_t total)
{
	struct wb_cli *cli = priv;
	double t = bt_now_seconds(), rate;
	unsigned eta;
	struct printbuf a = PRINTBUF, b = PRINTBUF;

	if (!cli->bar || (done < total && t - cli->last < 0.2))
		return;
	cli->last = t;
	rate = t > cli->t0 ? done / (t - cli->t0) : 0;
	eta = rate > 0 ? (unsigned)((total - done) / rate) : 0;
	prt_human_bytes(&a, done);
	prt_human_bytes(&b, total);
	fprintf(stderr, "\rwriteback: %s / %s (%3u%%) ETA %u:%02u ", printbuf_str(&a),
		printbuf_str(&b), total ? (unsigned)(done * 100 / total) : 100, eta / 60, eta % 60);
	if (done >= total)
		fputc('\n', stderr);
	printbuf_exit(&a);
	printbuf_exit(&b);
}

static void list_extent(void *priv, size_t bdev, const struct bkey *k, uint64_t start,
			uint64_t sectors)
{
	struct wb_cli *cli = priv;
	struct printbuf pb = PRINTBUF;

	bt_bkey_to_text(&pb, k);
	printf("%s: sectors %llu-%llu (%llu sectors) <- %s\n", cli->bdevs[bdev].dev->path,
	       (unsigned long long)start, (unsigned long long)(start + sectors - 1),
	       (unsigned long long)sectors, printbuf_str(&pb));
	printbuf_exit(&pb);
}

static void print_lost(const struct bt_wb_req *req, const struct bt_wb_lost *l)
{
	const struct bt_wb_bdev *bd = &req->bdevs[l->bdev];
	uint64_t off = bd->sb.data_offset;
	char where[64] = "";

	if (l->kind != BT_WB_LOST_NODE)
		snprintf(where, sizeof(where), " from cache sector %llu",
			 (unsigned long long)l->cache_sector);
	bt_error("lost: '%s' sectors %llu-%llu (%llu sectors; device sectors %lld-%lld)%s: %s%s%s%s",
		 bd->dev->path, (unsigned long long)l->start,
		 (unsigned long long)(l->start + l->sectors - 1), (unsigned long long)l->sectors,
		 (long long)(l->start - off), (long long)(l->start + l->sectors - 1 - off), where,
		 bt_wb_lost_kind_str(l->kind), l->err ? " (" : "", l->err ? bt_err_str(l->err) : "",
		 l->err ? ")" : "");
	if (l->msg)
		bt_error("  %s", l->msg);
}

static int report(const struct bt_wb_req *req, const struct bt_wb_result *res)
{
	int status = BT_EXIT_OK;

	for (size_t i = 0; i < res->nr_lost; i++)
		print_lost(req, &res->lost[i]);
	if (res->nr_lost)
		status |= BT_EXIT_LOST;
	if (res->cache_msg.pos) {
		bt_error("%s", printbuf_str(&res->cache_msg));
		status |= BT_EXIT_INCOMPLETE;
	}
	for (size_t b = 0; b < req->nr_bdevs; b++) {
		const struct bt_wb_bdev *bd = &req->bdevs[b];

		/* a dry run ran the same code on shadows of the devices (libcore/shadow.h) */
		printf("%s: slot %u, %llu dirty extents, %llu sectors, %llu %swritten back and "
		       "verified, %llu %smarked clean in the cache; state %s%s\n", bd->dev->path,
		       bd->slot, (unsigned long long)bd->extents,
		       (unsigned long long)bd->dirty_sectors,
		       (unsigned long long)bd->written_sectors, req->dry_run ? "would be " : "",
		       (unsigned long long)bd->cleaned_sectors, req->dry_run ? "would be " : "",
		       bt_bdev_state_str((unsigned)BDEV_STATE(bd->sb.flags)),
		       req->dry_run ? " (dry run)" : "");
		if (BDEV_STATE(bd->sb.flags) == BDEV_STATE_DIRTY) {
			bt_error("'%s' %s DIRTY: %s", bd->dev->path,
				 req->dry_run ? "would stay" : "stays",
				 res->cache_committed || !res->cache_msg.pos
				 ? "dirty data for it is left in the cache"
				 : "the cache still marks its data dirty; do not use it "
				   "without this cache except through 'bcache-tool detach'");
			status |= BT_EXIT_INCOMPLETE;
		}
	}
	return status;
}

/* Open each backing device (guard index first + i) and read its superblock. */
static int open_bdevs(struct bt_guard *g, int first, size_t n, unsigned flags,
		      struct bt_wb_bdev *bdevs, struct printbuf *err)
{
	for (size_t i = 0; i < n; i++) {
		struct bt_wb_bdev *bd = &bdevs[i];
		int ret;

		bd->dev = calloc(1, sizeof(*bd->dev));
		if (!bd->dev)
			return -ENOMEM;
		ret = bt_guard_open(g, first + (int)i, flags, bd->dev, err);
		if (ret) {
			free(bd->dev);
			bd->dev = NULL;
			return ret;
		}
		ret = bt_sb_read(bd->dev, bd->sb_block, &bd->sb, true, err);
		if (!ret && !bt_sb_is_bdev(&bd->sb)) {
			prt_printf(err, "'%s' is not a backing device (superblock version %llu)",
				   bd->dev->path, (unsigned long long)bd->sb.version);
			ret = -BT_ERR_SB_NOT_BACKING;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* Close and free what open_bdevs() opened, and the array. */
static void close_bdevs(struct bt_wb_bdev *bdevs, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (bdevs[i].dev) {
			if (bdevs[i].dev->path)
				bt_dev_close(bdevs[i].dev);
			free(bdevs[i].dev);
		}
	free(bdevs);
}

static int run_writeback(poptContext pc, const struct wb_opts *o);

int cmd_writeback(int argc, const char **argv)
{
	struct wb_opts o = { 0 };
	struct poptOption opts[] = {
		{ "dry-run", 'n', POPT_ARG_NONE, &o.dry_run, 0,
		  "list the extents that would be copied, write nothing", NULL },
		{ "force", 'f', POPT_ARG_NONE, &o.force, 0,
		  "use backing devices whose state or set uuid does not match", NULL },
		BT_OPT_FORCE_IN_USE(&o.force_in_use),
		{ "undo", 0, POPT_ARG_STRING, &o.undo, 0,
		  "save the cache blocks it overwrites to FILE "
		  "('bcache-tool undo FILE CACHE' restores them)", "FILE" },
		{ "no-progress", 0, POPT_ARG_NONE, &o.no_progress, 0,
		  "no progress bar, even on a terminal", NULL },
		{ "cache-size", 0, POPT_ARG_STRING, &o.cache_size, 0,
		  "memory bound of the node cache (default 64M)", "BYTES" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("writeback", argc, argv, opts, "CACHE BDEV...");
	int status;

	if (!pc)
		return BT_EXIT_USAGE;
	status = run_writeback(pc, &o);
	free(o.undo);
	free(o.cache_size);
	poptFreeContext(pc);
	return status;
}

/* What one run holds open. */
struct wb_run {
	struct bt_guard		g;
	struct printbuf		warn;		/* the guard's */
	struct bt_view		v;		/* the cache */
	struct bt_wb_bdev	*bdevs;		/* nr of them */
	size_t			nr;
	bool			damaged;	/* the cache set did not open cleanly */
};

/* Declare every device of the run and --undo FILE to the guard, then open them. */
static int open_devices(struct wb_run *w, const char **args, const struct wb_opts *o,
			int *undo, struct printbuf *err)
{
	unsigned flags = o->dry_run ? 0 : BT_GUARD_RDWR;
	int ret, c, b = 0;

	ret = c = bt_guard_add(&w->g, args[0], BT_TARGET_DEVICE, "cache device",
			       BT_TARGET_BCACHE, err);
	for (size_t i = 0; ret >= 0 && i < w->nr; i++) {
		ret = bt_guard_add(&w->g, args[1 + i], BT_TARGET_DEVICE, "backing device",
				   BT_TARGET_BCACHE, err);
		b = i ? b : ret;
	}
	*undo = -1;
	if (ret >= 0 && o->undo && !o->dry_run)
		ret = *undo = bt_guard_add(&w->g, o->undo, BT_TARGET_UNDO, "undo file", 0, err);
	if (ret >= 0)
		ret = bt_view_open_dev(&w->v, &w->g, c, err);
	if (ret >= 0)
		ret = open_bdevs(&w->g, b, w->nr, flags, w->bdevs, err);
	return ret < 0 ? ret : 0;
}

/* The devices, the cache set (a partial open: copy the data, leave the cache), --undo. */
static int writeback_open(struct wb_run *w, const char **args, const struct wb_opts *o,
			  struct printbuf *err)
{
	struct bt_view *v = &w->v;
	struct bt_outfile uf;
	int ret, undo;

	ret = open_devices(w, args, o, &undo, err);
	if (!ret)
		ret = bt_view_open_set(v, err);
	if (ret)
		return ret;
	if (v->partial) {	/* e.g. a bad prio chain: copy the data, leave the cache */
		bt_error_pb(err);
		w->damaged = true;
	}
	if (undo >= 0) {
		ret = bt_guard_open_file(&w->g, undo, &uf, err);
		if (!ret)
			ret = bt_undo_open(&v->dev, uf.fd, o->undo, err);
		if (ret)
			return ret;
		printf("saving the cache blocks it changes; undo with: bcache-tool undo %s %s\n",
		       o->undo, args[0]);
	}
	return 0;
}

/* The run on the open devices; its exit status. */
static int writeback_go(struct wb_run *w, const struct wb_opts *o, struct bt_stop *stop,
			struct printbuf *err)
{
	struct bt_wb_result res = { 0 };
	struct wb_cli cli = { .bdevs = w->bdevs };
	struct bt_wb_req req = {
		.bdevs = w->bdevs, .nr_bdevs = w->nr, .dry_run = o->dry_run, .force = o->force,
		.list = list_extent, .progress = progress, .priv = &cli,
		.no_cache_update = w->damaged ? "the cache set did not open cleanly" : NULL,
	};
	int status = BT_EXIT_OK, ret;

	cli.bar = !o->dry_run && !o->no_progress && isatty(STDERR_FILENO);
	cli.t0 = cli.last = bt_now_seconds();
	w->v.c.stop = stop;
	ret = bt_writeback(&w->v.c, w->v.nc, &req, &res, err);
	if (ret == -BT_ERR_INTERRUPTED) {
		if (cli.bar)	/* the bar's line is left unfinished */
			fputc('\n', stderr);
		status = bt_interrupted("writeback", printbuf_str(err));
		printbuf_reset(err);
	} else if (ret) {
		bt_error_pb(err);
		status = BT_EXIT_OPERATIONAL;
	}
	status |= report(&req, &res);
	/* a signal held over the commit: the commit was made, then the stop */
	if (!ret && bt_stop_requested(stop))
		status |= bt_interrupted("writeback", "after the commit, which was completed");
	bt_writeback_result_exit(&res);
	return status;
}

static int run_writeback(poptContext pc, const struct wb_opts *o)
{
	const char **args = poptGetArgs(pc);
	unsigned long long cache_bytes = BT_NODE_CACHE_DEFAULT_BYTES;
	struct printbuf err = PRINTBUF;
	struct wb_run w = { .warn = PRINTBUF };
	struct bt_stop stop = { 0 };
	int status, ret;

	while (args && args[w.nr])
		w.nr++;
	if (w.nr < 2) {
		bt_error("writeback: expected CACHE BDEV...");
		poptPrintUsage(pc, stderr, 0);
		return BT_EXIT_USAGE;
	}
	if (o->cache_size && bt_parse_size(o->cache_size, &cache_bytes)) {
		bt_error("writeback: bad size '%s' for --cache-size", o->cache_size);
		return BT_EXIT_USAGE;
	}
	w.bdevs = calloc(--w.nr, sizeof(*w.bdevs));
	if (!w.bdevs) {
		bt_error("writeback: out of memory");
		return BT_EXIT_OPERATIONAL;
	}
	bt_view_init(&w.v, &(struct bt_view_opts){
		.flags = (o->dry_run ? 0 : BT_VIEW_RDWR) | BT_VIEW_NEEDS_UUIDS,
		.node_cache_bytes = cache_bytes, .who = "writeback" });
	bt_guard_init(&w.g, o->force_in_use ? BT_GUARD_FORCE_IN_USE : 0, &w.warn);
	bt_signals_install(&stop);
	ret = writeback_open(&w, args, o, &err);
	bt_error_pb(&w.warn);
	bt_guard_exit(&w.g);
	printbuf_exit(&w.warn);
	if (!ret)
		ret = bt_view_node_cache(&w.v, &err);
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
	} else {
		status = writeback_go(&w, o, &stop, &err);
		if (bt_undo_close(&w.v.dev, &err)) {
			bt_error_pb(&err);
			status |= BT_EXIT_OPERATIONAL;
		}
	}
	bt_view_exit(&w.v);
	close_bdevs(w.bdevs, w.nr);
	printbuf_exit(&err);
	return status;
}
