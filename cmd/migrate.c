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

int cmd_migrate(int argc, const char **argv)
{
	char *bucket = NULL, *block = NULL, *cache_size = NULL;
	int drop_clean = 0, wipe_bcache = 0, force = 0, force_in_use = 0, dry_run = 0;
	struct poptOption opts[] = {
		{ "bucket", 'b', POPT_ARG_STRING, &bucket, 0,
		  "bucket size of DST in bytes (default: SRC's)", "SIZE" },
		{ "block", 'w', POPT_ARG_STRING, &block, 0,
		  "block size of DST in bytes (default: SRC's, or DST's logical block "
		  "size when larger)", "SIZE" },
		{ "drop-clean", 0, POPT_ARG_NONE, &drop_clean, 0,
		  "copy only dirty data (clean data is on the backing devices)", NULL },
		{ "wipe-bcache", 0, POPT_ARG_NONE, &wipe_bcache, 0,
		  "overwrite a bcache superblock on DST", NULL },
		{ "force", 'f', POPT_ARG_NONE, &force, 0,
		  "overwrite any signature on DST; write a DST the kernel would not register "
		  "(512 buckets or fewer, one-page buckets)", NULL },
		BT_OPT_FORCE_IN_USE(&force_in_use),
		{ "dry-run", 'n', POPT_ARG_NONE, &dry_run, 0,
		  "check and plan, write nothing", NULL },
		{ "cache-size", 0, POPT_ARG_STRING, &cache_size, 0,
		  "memory bound of SRC's node cache (default 64M)", "BYTES" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("migrate", argc, argv, opts, "SRC DST");
	struct printbuf out = PRINTBUF, warn = PRINTBUF, err = PRINTBUF;
	struct bt_migrate_opts o = { .dst_write_limit = -1 };
	struct bt_stop stop = { 0 };
	unsigned long long bytes;
	const char **args;
	int status = BT_EXIT_OK, ret;

	if (!pc)
		return BT_EXIT_USAGE;
	args = poptGetArgs(pc);
	if (!args || !args[0] || !args[1] || args[2]) {
		bt_error("migrate: expected SRC DST");
		poptPrintUsage(pc, stderr, 0);
		status = BT_EXIT_USAGE;
		goto out;
	}
	if ((bucket && parse_sectors("bucket size", bucket, &o.bucket_size)) ||
	    (block && parse_sectors("block size", block, &o.block_size))) {
		status = BT_EXIT_USAGE;
		goto out;
	}
	if (cache_size) {
		if (bt_parse_size(cache_size, &bytes)) {
			bt_error("migrate: bad size '%s' for --cache-size", cache_size);
			status = BT_EXIT_USAGE;
			goto out;
		}
		o.node_cache_bytes = bytes;
	}
	o.drop_clean = drop_clean;
	o.wipe_bcache = wipe_bcache;
	o.force = force;
	o.force_in_use = force_in_use;
	o.dry_run = dry_run;

	bt_signals_install(&stop);
	o.stop = &stop;
	ret = bt_migrate(args[0], args[1], &o, NULL, &out, &warn, &err);
	if (ret == -BT_ERR_INTERRUPTED) {
		fputs(printbuf_str(&out), stdout);
		bt_error_pb(&warn);
		status = bt_interrupted("migrate", printbuf_str(&err));
	} else {
		status = bt_report_result(ret, &out, &warn, &err);
		if (!ret && bt_stop_requested(&stop))
			status = bt_interrupted("migrate", "after the commit, which was completed");
	}
out:
	printbuf_exit(&out);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	free(bucket);
	free(block);
	free(cache_size);
	poptFreeContext(pc);
	return status;
}
