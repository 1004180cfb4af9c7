/* gc.c --- bcache-tool gc: offline garbage collection of a cache set
 * (libcore/gc.h): stale and bad keys dropped, sparse nodes coalesced,
 * optionally clean data invalidated, in one copy-on-write commit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"
#include "recovery/gc.h"
#include "libcore/read/node_cache.h"
#include "libcore/dev/target.h"
#include "libcore/dev/undo.h"
#include "cmds.h"

static void print_row(const char *name, uint64_t before, uint64_t after)
{
	printf("  %-22s %12llu %12llu\n", name, (unsigned long long)before,
	       (unsigned long long)after);
}

static double pct(uint64_t n, uint64_t total)
{
	return total ? (double)n * 100.0 / (double)total : 0.0;
}

static void print_drops(const struct bt_gc_stats *st)
{
	printf("stale keys dropped     %llu\n", (unsigned long long)st->stale_keys_dropped);
	printf("bad keys dropped       %llu\n", (unsigned long long)st->bad_keys_dropped);
	printf("clean keys dropped     %llu (of the %llu live keys)\n",
	       (unsigned long long)st->clean_keys_dropped, (unsigned long long)st->before.keys);
	printf("keys merged            %llu (adjacent extents joined)\n",
	       (unsigned long long)st->keys_merged);
	printf("nodes rewritten        %llu\n", (unsigned long long)st->nodes_rewritten);
	printf("nodes coalesced        %llu (%llu groups)\n",
	       (unsigned long long)st->nodes_coalesced, (unsigned long long)st->coalesce_groups);
	printf("nodes emptied          %llu\n", (unsigned long long)st->nodes_emptied);
	printf("root levels removed    %u\n", st->levels_removed);
	printf("nodes written          %llu\n", (unsigned long long)st->nodes_written);
	printf("buckets invalidated    %llu\n", (unsigned long long)st->buckets_invalidated);
}

/*
 * A dry run ran the same code on a shadow of the device (libcore/shadow.h):
 * its figures are the real run's; only the verbs change.
 */
static void print_stats(const char *path, const struct bt_gc_stats *st, bool dry_run)
{
	const struct bt_gc_figures *b = &st->before, *a = &st->after;

	printf("gc of '%s'%s\n", path, dry_run ? " (dry run: nothing written)" : "");
	if (st->replayed)
		printf("journal: %s %llu journal keys into the btree first (%llu nodes written, "
		       "%llu stale or bad keys of the nodes rewritten dropped); the figures before "
		       "are those of the replayed btree\n",
		       dry_run ? "would replay" : "replayed", (unsigned long long)st->replay.keys,
		       (unsigned long long)st->replay.nodes_written,
		       (unsigned long long)st->replay.dead_dropped);
	printf("  %-22s %12s %12s\n", "", "before", "after");
	print_row("nodes", b->nodes, a->nodes);
	print_row("keys", b->keys, a->keys);
	print_row("stale or bad keys", b->dead_keys, a->dead_keys);
	print_row("key bytes", b->key_bytes, a->key_bytes);
	print_row("buckets in use", b->buckets_in_use, a->buckets_in_use);
	printf("  %-22s %11.1f%% %11.1f%%\n", "buckets in use (%)", pct(b->buckets_in_use, b->nbuckets),
	       pct(a->buckets_in_use, a->nbuckets));
	print_row("free buckets", b->free_buckets, a->free_buckets);
	print_row("max gen lag", b->max_gen_lag, a->max_gen_lag);
	print_drops(st);
	if (!st->changed && st->replayed)
		printf("nothing else to do: the journal replay %s the only change\n",
		       dry_run ? "would be" : "was");
	else if (!st->changed)
		printf("nothing to do: no node to rewrite or coalesce\n");
	else if (st->committed && dry_run)
		printf("would commit: btree and prio chain rewritten, one journal entry written "
		       "(run without --dry-run to write it)\n");
	else if (st->committed)
		printf("committed: btree and prio chain rewritten, one journal entry written\n");
}

/* Declare and open the cache (read-only for a dry run) and --undo FILE. */
static int open_all(struct bt_guard *g, const char *path, bool dry_run, const char *undo,
		    struct bt_dev *dev, struct printbuf *err)
{
	struct bt_outfile uf;
	int ret, d, u = -1;

	ret = d = bt_guard_add(g, path, BT_TARGET_DEVICE, "cache device", BT_TARGET_BCACHE, err);
	if (ret >= 0 && undo)
		ret = u = bt_guard_add(g, undo, BT_TARGET_UNDO, "undo file", 0, err);
	if (ret >= 0)
		ret = bt_guard_open(g, d, dry_run ? 0 : BT_GUARD_RDWR, dev, err);
	if (ret >= 0 && undo) {
		ret = bt_guard_open_file(g, u, &uf, err);
		if (!ret)
			ret = bt_undo_open(dev, uf.fd, undo, err);
		if (!ret)
			printf("saving the blocks it changes; undo with: bcache-tool undo %s %s\n",
			       undo, path);
	}
	return ret < 0 ? ret : 0;
}

static int run(const char *path, const struct bt_gc_opts *o, bool force_in_use,
	       const char *undo)
{
	struct printbuf err = PRINTBUF, warn = PRINTBUF;
	struct bt_gc_stats st;
	struct cache_set c;
	struct bt_node_cache *nc = NULL;
	struct bt_dev dev = { .fd = -1 };
	struct bt_guard g;
	struct bt_stop stop = { 0 };
	int ret, status = BT_EXIT_OK;

	bt_guard_init(&g, force_in_use ? BT_GUARD_FORCE_IN_USE : 0, &warn);
	ret = open_all(&g, path, o->dry_run, undo, &dev, &err);
	bt_error_pb(&warn);
	bt_guard_exit(&g);
	printbuf_exit(&warn);
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
		goto out_dev;
	}
	bt_signals_install(&stop);
	ret = bt_cache_set_open(&c, &dev, 0, &err);
	c.stop = &stop;
	if (!ret) {
		nc = bt_node_cache_new(&c, BT_NODE_CACHE_DEFAULT_BYTES, 0);
		ret = nc ? bt_gc(&c, nc, o, &st, &err) : -ENOMEM;
		if (!nc)
			prt_str(&err, "out of memory for the btree node cache");
	}
	if (ret == -BT_ERR_INTERRUPTED) {
		status = bt_interrupted("gc", printbuf_str(&err));
	} else if (ret) {
		bt_error_pb(&err);
		bt_error("gc: '%s' not collected: %s", path, bt_err_str(ret));
		status = BT_EXIT_OPERATIONAL;
	} else {
		print_stats(path, &st, o->dry_run);
		/* a signal held over the commit: the commit was made, then the stop */
		if (bt_stop_requested(&stop))
			status = bt_interrupted("gc", "after the commit, which was completed");
	}
	bt_node_cache_free(nc);
	bt_cache_set_exit(&c);
	if (bt_undo_close(&dev, &err)) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
	}
out_dev:
	if (dev.path)
		bt_dev_close(&dev);
	printbuf_exit(&err);
	return status;
}

int cmd_gc(int argc, const char **argv)
{
	int dry_run = 0, inval = 0, force = 0, force_in_use = 0, status;
	char *undo = NULL;	/* popt allocates it */
	struct poptOption opts[] = {
		{ "dry-run", 'n', POPT_ARG_NONE, &dry_run, 0,
		  "run gc (journal replay included) on a copy in memory and a temporary file: "
		  "print what it would change; open the device read-only", NULL },
		{ "invalidate-clean", 0, POPT_ARG_NONE, &inval, 0,
		  "drop all clean cached data (dirty data and metadata stay), freeing its buckets",
		  NULL },
		{ "undo", 0, POPT_ARG_STRING, &undo, 0,
		  "save the blocks gc overwrites to FILE first "
		  "('bcache-tool undo FILE DEV' restores them)", "FILE" },
		BT_OPT_FORCE_IN_USE(&force_in_use),
		{ "force", 'f', POPT_ARG_NONE | POPT_ARGFLAG_DOC_HIDDEN, &force, 0, NULL, NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("gc", argc, argv, opts,
				       "[-n] [--invalidate-clean] [--undo FILE] CACHE");
	struct bt_gc_opts o = { 0 };
	const char **args;

	if (!pc)
		return BT_EXIT_USAGE;
	args = poptGetArgs(pc);
	if (!args || !args[0] || args[1]) {
		bt_error("gc: give one cache device");
		poptPrintUsage(pc, stderr, 0);
		free(undo);
		poptFreeContext(pc);
		return BT_EXIT_USAGE;
	}
	if (undo && dry_run) {
		bt_error("gc: --undo with --dry-run: a dry run writes nothing");
		free(undo);
		poptFreeContext(pc);
		return BT_EXIT_USAGE;
	}
	if (force) {
		free(undo);
		poptFreeContext(pc);
		return bt_old_force("gc");
	}
	o.dry_run = dry_run;
	o.invalidate_clean = inval;
	status = run(args[0], &o, force_in_use, undo);
	free(undo);
	poptFreeContext(pc);
	return status;
}
