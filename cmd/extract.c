/* extract.c --- bcache-tool extract: copy out what the kernel would serve
 * as /dev/bcacheN, reading both devices only.
 */
#include <stdio.h>
#include <stdlib.h>

#include "libcore/base/errcode.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/node_pool.h"
#include "recovery/extract.h"
#include "cmds.h"

struct extract_opts {
	char	*uuid, *slot, *output, *cache_size;	/* popt-allocated */
	int	dry_run, no_journal, force, force_in_use;
};

static void list_extent(void *priv, const struct bkey *k, uint64_t logical_start,
			uint64_t sectors)
{
	struct printbuf pb = PRINTBUF;

	(void)priv;
	bt_bkey_to_text(&pb, k);
	printf("sector %llu +%llu <- %s\n", (unsigned long long)logical_start,
	       (unsigned long long)sectors, printbuf_str(&pb));
	printbuf_exit(&pb);
}

/* What a run that went through says: the unreadable ranges, then the figures. */
static int report(const struct bt_extract_opts *eo, const struct bt_extract_run_result *r)
{
	const struct bt_extract_result *res = &r->res;

	for (size_t i = 0; i < res->nr_lost; i++) {
		const struct bt_lost_range *l = &res->lost[i];

		bt_error("unreadable: sectors %llu-%llu (%llu sectors%s) from cache sector %llu of '%s': %s",
			 (unsigned long long)l->start,
			 (unsigned long long)(l->start + l->sectors - 1),
			 (unsigned long long)l->sectors, l->dirty ? ", dirty data lost" : "",
			 (unsigned long long)l->cache_sector, eo->cache, bt_err_str(l->err));
	}
	fprintf(stderr, "extract: slot %u, %llu sectors, %llu extents%s, %llu sectors from the cache "
		"(%llu dirty), %llu journal keys replayed\n", r->slot,
		(unsigned long long)r->sectors, (unsigned long long)res->extents,
		eo->dry_run ? " (dry run)" : "", (unsigned long long)res->cache_sectors,
		(unsigned long long)res->dirty_sectors, (unsigned long long)r->journal_keys);
	if (res->nr_lost)
		return BT_EXIT_LOST;
	return r->damaged ? BT_EXIT_PROBLEM : BT_EXIT_OK;
}

static int run_extract(poptContext pc, const struct extract_opts *o);

int cmd_extract(int argc, const char **argv)
{
	struct extract_opts o = { 0 };
	struct poptOption opts[] = {
		{ "output", 'o', POPT_ARG_STRING, &o.output, 0,
		  "write the content to FILE ('-' for standard output)", "FILE" },
		{ "uuid", 0, POPT_ARG_STRING, &o.uuid, 0, "the device's uuid (its uuid slot)", "UUID" },
		{ "slot", 0, POPT_ARG_STRING, &o.slot, 0, "the uuid slot number", "N" },
		{ "dry-run", 'n', POPT_ARG_NONE, &o.dry_run, 0,
		  "list the extents that would be copied, write nothing", NULL },
		{ "no-journal", 0, POPT_ARG_NONE, &o.no_journal, 0,
		  "use the on-disk btree alone, without replaying the journal", NULL },
		{ "cache-size", 0, POPT_ARG_STRING, &o.cache_size, 0,
		  "memory bound of the node cache (default 64M)", "BYTES" },
		{ "force", 'f', POPT_ARG_NONE, &o.force, 0,
		  "overwrite an existing output that is not empty or holds a signature", NULL },
		BT_OPT_FORCE_IN_USE(&o.force_in_use),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("extract", argc, argv, opts, "CACHE [BDEV]");
	int status;

	if (!pc)
		return BT_EXIT_USAGE;
	status = run_extract(pc, &o);
	free(o.uuid);
	free(o.slot);
	free(o.output);
	free(o.cache_size);
	poptFreeContext(pc);
	return status;
}

static int run_extract(poptContext pc, const struct extract_opts *o)
{
	const char **args = poptGetArgs(pc);
	unsigned long long cache_bytes = BT_NODE_CACHE_DEFAULT_BYTES;
	struct printbuf msg = PRINTBUF, err = PRINTBUF;
	struct bt_extract_run_result r;
	struct bt_extract_opts eo;
	int status, ret;

	if (!args || !args[0] || (args[1] && args[2])) {
		bt_error("extract: expected CACHE [BDEV]");
		poptPrintUsage(pc, stderr, 0);
		return BT_EXIT_USAGE;
	}
	if (!o->output && !o->dry_run) {
		bt_error("extract: no output file: give -o FILE, or --dry-run");
		return BT_EXIT_USAGE;
	}
	if (o->slot && o->uuid) {
		bt_error("extract: --slot and --uuid exclude each other");
		return BT_EXIT_USAGE;
	}
	if (o->cache_size && bt_parse_size(o->cache_size, &cache_bytes)) {
		bt_error("extract: bad size '%s' for --cache-size", o->cache_size);
		return BT_EXIT_USAGE;
	}
	eo = (struct bt_extract_opts){
		.cache = args[0], .bdev = args[1], .output = o->output, .uuid = o->uuid,
		.slot = o->slot, .node_cache_bytes = cache_bytes, .threads = bt_online_cpus(),
		.dry_run = o->dry_run,
		.no_journal = o->no_journal, .force = o->force, .force_in_use = o->force_in_use,
		.list = list_extent,
	};
	ret = bt_extract_run(&eo, &r, &msg, &err);
	bt_error_pb(&msg);
	if (ret)
		bt_error_pb(&err);
	if (ret)
		status = ret == -BT_ERR_FORMAT_BAD_OPTION ? BT_EXIT_USAGE : BT_EXIT_OPERATIONAL;
	else
		status = report(&eo, &r);
	bt_extract_run_result_exit(&r);
	printbuf_exit(&msg);
	printbuf_exit(&err);
	return status;
}
