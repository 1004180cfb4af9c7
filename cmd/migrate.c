/* migrate.c --- bcache-tool migrate: copy a cache set to another cache device. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../format/format.h"
#include "libcore/base/errcode.h"
#include "recovery/migrate.h"
#include "cmds.h"

/* A size in bytes (k/M suffixes, or "s" for sectors), a power of two, into sectors. */
static int parse_sectors(const char *what, const char *arg, unsigned *sectors)
{
	unsigned long long bytes;

	if (bt_parse_size(arg, &bytes) || bytes < SECTOR_SIZE || !bt_is_pow2(bytes) ||
	    bytes >> SECTOR_SHIFT > BT_FORMAT_MAX_BUCKET) {
		bt_error("migrate: bad %s '%s': expected a power of two from 512 bytes to %uk",
			 what, arg, BT_FORMAT_MAX_BUCKET / 2);
		return -1;
	}
	*sectors = (unsigned)(bytes >> SECTOR_SHIFT);
	return 0;
}

/* The options as popt leaves them. */
struct migrate_cli {
	char	*bucket, *block, *cache_size;	/* popt-allocated */
	int	drop_clean, wipe_bcache, force, force_in_use, dry_run;
};

/* The options into o. 0, or BT_EXIT_USAGE (printed). */
static int to_opts(const struct migrate_cli *m, struct bt_migrate_opts *o)
{
	unsigned long long bytes;

	if ((m->bucket && parse_sectors("bucket size", m->bucket, &o->bucket_size)) ||
	    (m->block && parse_sectors("block size", m->block, &o->block_size)))
		return BT_EXIT_USAGE;
	if (m->cache_size) {
		if (bt_parse_size(m->cache_size, &bytes)) {
			bt_error("migrate: bad size '%s' for --cache-size", m->cache_size);
			return BT_EXIT_USAGE;
		}
		o->node_cache_bytes = bytes;
	}
	o->drop_clean = m->drop_clean;
	o->wipe_bcache = m->wipe_bcache;
	o->force = m->force;
	o->force_in_use = m->force_in_use;
	o->dry_run = m->dry_run;
	return BT_EXIT_OK;
}

/* SRC to DST (bt_migrate()), stoppable by a signal. The exit status (printed). */
static int run_migrate(const char *src, const char *dst, struct bt_migrate_opts *o)
{
	struct printbuf out = PRINTBUF, warn = PRINTBUF, err = PRINTBUF;
	struct bt_stop stop = { 0 };
	int status, ret;

	bt_signals_install(&stop);
	o->stop = &stop;
	ret = bt_migrate(src, dst, o, NULL, &out, &warn, &err);
	if (ret == -BT_ERR_INTERRUPTED) {
		fputs(printbuf_str(&out), stdout);
		bt_error_pb(&warn);
		status = bt_interrupted("migrate", printbuf_str(&err));
	} else {
		status = bt_report_result(ret, &out, &warn, &err);
		if (!ret && bt_stop_requested(&stop))
			status = bt_interrupted("migrate", "after the commit, which was completed");
	}
	o->stop = NULL;
	printbuf_exit(&out);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	return status;
}

int cmd_migrate(int argc, const char **argv)
{
	struct migrate_cli m = { 0 };
	struct poptOption opts[] = {
		{ "bucket", 'b', POPT_ARG_STRING, &m.bucket, 0,
		  "bucket size of DST in bytes (default: SRC's)", "SIZE" },
		{ "block", 'w', POPT_ARG_STRING, &m.block, 0,
		  "block size of DST in bytes (default: SRC's, or DST's logical block "
		  "size when larger)", "SIZE" },
		{ "drop-clean", 0, POPT_ARG_NONE, &m.drop_clean, 0,
		  "copy only dirty data (clean data is on the backing devices)", NULL },
		{ "wipe-bcache", 0, POPT_ARG_NONE, &m.wipe_bcache, 0,
		  "overwrite a bcache superblock on DST", NULL },
		{ "force", 'f', POPT_ARG_NONE, &m.force, 0,
		  "overwrite any signature on DST; write a DST the kernel would not register "
		  "(512 buckets or fewer, one-page buckets)", NULL },
		BT_OPT_FORCE_IN_USE(&m.force_in_use),
		{ "dry-run", 'n', POPT_ARG_NONE, &m.dry_run, 0,
		  "check and plan, write nothing", NULL },
		{ "cache-size", 0, POPT_ARG_STRING, &m.cache_size, 0,
		  "memory bound of SRC's node cache (default 64M)", "BYTES" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("migrate", argc, argv, opts, "SRC DST");
	struct bt_migrate_opts o = { .dst_write_limit = -1 };
	const char **args;
	int status;

	if (!pc)
		return BT_EXIT_USAGE;
	args = poptGetArgs(pc);
	if (!args || !args[0] || !args[1] || args[2]) {
		bt_error("migrate: expected SRC DST");
		poptPrintUsage(pc, stderr, 0);
		status = BT_EXIT_USAGE;
	} else if (!(status = to_opts(&m, &o))) {
		status = run_migrate(args[0], args[1], &o);
	}
	free(m.bucket);
	free(m.block);
	free(m.cache_size);
	poptFreeContext(pc);
	return status;
}
