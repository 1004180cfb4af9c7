/* detach.c --- bcache-tool detach: offline detach of a backing device from
 * its cache set (what the kernel's detach writes: recovery/detach.h
 * bt_detach_run()).
 *
 * Exit status: 0 detached (or already detached); 1 refused: the cache may
 * hold dirty data for the device (--force abandons it); 2 detached, but the
 * cache's uuid slot could not be invalidated; 8 operational error; 16 usage.
 */
#include <stdio.h>
#include <stdlib.h>

#include "libcore/base/errcode.h"
#include "libcore/base/stop.h"
#include "recovery/detach.h"
#include "cmds.h"

struct detach_opts {
	char	*cache;		/* popt-allocated */
	int	force, force_in_use, dry_run;
};

/* The exit status of a run that returned ret with r. */
static int detach_status(int ret, const struct bt_detach_result *r)
{
	if (ret == -BT_ERR_INTERRUPTED)
		return bt_interrupted("detach", "nothing was written");
	if (ret)
		return r->outcome == BT_DETACH_OTHER_SET ? BT_EXIT_USAGE : BT_EXIT_OPERATIONAL;
	switch (r->outcome) {
	case BT_DETACH_REFUSED:
		return BT_EXIT_REFUSED;
	case BT_DETACH_SLOT_LEFT:
		return BT_EXIT_INCOMPLETE;
	default:
		return BT_EXIT_OK;
	}
}

static int run_detach(poptContext pc, const struct detach_opts *o)
{
	const char **args = poptGetArgs(pc);
	struct printbuf out = PRINTBUF, msg = PRINTBUF, err = PRINTBUF;
	struct bt_stop stop = { 0 };
	struct bt_detach_opts d;
	struct bt_detach_result r;
	int status, ret;

	if (!args || !args[0] || args[1]) {
		bt_error("detach: expected BDEV");
		poptPrintUsage(pc, stderr, 0);
		return BT_EXIT_USAGE;
	}
	bt_signals_install(&stop);
	d = (struct bt_detach_opts){
		.bdev = args[0], .cache = o->cache, .force = o->force,
		.force_in_use = o->force_in_use, .dry_run = o->dry_run, .stop = &stop,
	};
	ret = bt_detach_run(&d, &r, &out, &msg, &err);
	fputs(printbuf_str(&out), stdout);
	bt_error_pb(&msg);
	if (ret && ret != -BT_ERR_INTERRUPTED)
		bt_error_pb(&err);
	status = detach_status(ret, &r);
	if (r.stopped_after)
		status |= bt_interrupted("detach", "after the writes, which were completed");
	printbuf_exit(&out);
	printbuf_exit(&msg);
	printbuf_exit(&err);
	return status;
}

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
