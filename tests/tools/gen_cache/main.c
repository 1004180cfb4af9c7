/* main.c --- gen-cache: options, then plan, images, build and report in order. */
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>

#include "libcore/ondisk/cache_set.h"

#include "gen.h"

static int parse_bytes(const char *what, const char *s, unsigned *sectors)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'M')
		v <<= 20, end++;
	if (*end || v < 512 || (v & (v - 1)) || (v >> 9) > 32768) {
		fprintf(stderr, "gen-cache: bad %s '%s'\n", what, s);
		return -1;
	}
	*sectors = (unsigned)(v >> 9);
	return 0;
}

/* Size the cache for the planned tree and data (bt_cache_set_geometry() of the options). */
static int size_cache(struct gen *g)
{
	struct cache_set tmp = { 0 };
	struct printbuf err = PRINTBUF;
	unsigned cap, kpl, fanout;

	tmp.sb.version = BCACHE_SB_VERSION_CDEV;
	tmp.sb.bucket_size = g->o.bucket;
	tmp.sb.block_size = (uint16_t)g->o.block;
	tmp.sb.nbuckets = 1024;
	bt_cache_set_geometry(&tmp, &err);
	printbuf_exit(&err);
	cap = gen_node_capacity(tmp.btree_node_sectors);
	kpl = g->o.leaf_keys ? g->o.leaf_keys : cap * 3 / 4;
	fanout = g->o.fanout ? g->o.fanout : cap * 3 / 4;
	if (!kpl || fanout < 2 || kpl > cap || fanout > cap) {
		fprintf(stderr, "gen-cache: --leaf-keys in [1, %u], --fanout in [2, %u]\n", cap, cap);
		return 16;
	}
	g->nbuckets = gen_plan_buckets(g, kpl, fanout);
	if (g->o.nbuckets && g->o.nbuckets < g->nbuckets) {
		fprintf(stderr, "gen-cache: --nbuckets %llu is too few: the set needs %llu\n",
			(unsigned long long)g->o.nbuckets, (unsigned long long)g->nbuckets);
		return 16;
	}
	if (g->o.nbuckets)
		g->nbuckets = g->o.nbuckets;
	return 0;
}

/* Everything after the options: images, format, data, tree, report. Returns the exit status. */
static int generate(struct gen *g, const char **args, unsigned nargs, char **paths)
{
	struct printbuf err = PRINTBUF;
	int ret;

	if (gen_plan_extents(g))
		return 8;
	for (unsigned i = 0, b = 0; i < g->nr_slots; i++) {
		if (g->slot[i].flash)
			continue;
		if (1 + b < nargs)
			g->slot[i].path = args[1 + b];
		else if (asprintf(&paths[i], "%s.bdev%u", g->cache_path, b) > 0)
			g->slot[i].path = paths[i];
		b++;
	}
	ret = size_cache(g);
	if (ret)
		return ret;
	if (gen_make_file(g->cache_path, g->nbuckets * g->o.bucket * 512))
		return 8;
	for (unsigned i = 0; i < g->nr_slots; i++)
		if (!g->slot[i].flash &&
		    gen_make_file(g->slot[i].path, (g->slot[i].data_offset + g->slot[i].sectors) * 512))
			return 8;
	if (gen_format_all(g))
		return 8;
	for (unsigned i = 0; i < g->nr_slots; i++)
		if (!g->slot[i].flash && gen_write_backing(g, &g->slot[i], i))
			return 8;
	if (gen_build_set(g) || gen_report(g))
		return 8;
	for (unsigned i = 0; i < g->nr_slots; i++)
		if (!g->slot[i].flash && gen_set_bdev_state(&g->slot[i], &err)) {
			fprintf(stderr, "gen-cache: %s\n", printbuf_str(&err));
			printbuf_exit(&err);
			return 8;
		}
	printbuf_exit(&err);
	if (g->o.keys && gen_write_keys(g))
		return 8;
	return 0;
}

int main(int argc, const char **argv)
{
	struct gen g = { 0 };
	char *bucket = NULL, *block = NULL, *cset = NULL, *sums = NULL, *keys = NULL;
	long long extents = 1000000, stale = 0, seed = 1, nbuckets = 0;
	int bdevs = 1, flash = 1, max_blocks = 1, max_gap = 2, jkeys = 0, leaf = 0, fan = 0;
	int quiet = 0, scatter = 0, stale_dirty = 0, rc;
	double dirty = 0.5;
	struct poptOption opts[] = {
		{ "extents", 'n', POPT_ARG_LONGLONG, &extents, 0, "extents (default 1000000)", "N" },
		{ "dirty", 'd', POPT_ARG_DOUBLE, &dirty, 0,
		  "share of backing-device extents that are dirty (default 0.5)", "R" },
		{ "bdevs", 0, POPT_ARG_INT, &bdevs, 0, "backing devices (default 1)", "N" },
		{ "flash", 0, POPT_ARG_INT, &flash, 0, "flash-only volumes (default 1)", "N" },
		{ "bucket", 'b', POPT_ARG_STRING, &bucket, 0, "bucket size (default 512k)", "SIZE" },
		{ "block", 'w', POPT_ARG_STRING, &block, 0, "block size (default 4k)", "SIZE" },
		{ "nbuckets", 0, POPT_ARG_LONGLONG, &nbuckets, 0,
		  "buckets of the cache (default: what the data needs; more makes a sparse image)",
		  "N" },
		{ "max-blocks", 0, POPT_ARG_INT, &max_blocks, 0,
		  "extent size 1..N blocks (default 1)", "N" },
		{ "max-gap", 0, POPT_ARG_INT, &max_gap, 0,
		  "gap before an extent 0..N blocks (default 2)", "N" },
		{ "stale", 0, POPT_ARG_LONGLONG, &stale, 0,
		  "stale pointers on clean backing-device data (default 0)", "N" },
		{ "stale-dirty", 0, POPT_ARG_NONE, &stale_dirty, 0,
		  "--stale picks dirty and flash extents too (lost data)", NULL },
		{ "journal-keys", 0, POPT_ARG_INT, &jkeys, 0,
		  "extents journaled instead of put in leaves (default 0)", "N" },
		{ "leaf-keys", 0, POPT_ARG_INT, &leaf, 0, "keys per leaf (default 3/4 full)", "N" },
		{ "fanout", 0, POPT_ARG_INT, &fan, 0, "keys per interior node", "N" },
		{ "seed", 0, POPT_ARG_LONGLONG, &seed, 0, "random seed (default 1)", "S" },
		{ "cset-uuid", 0, POPT_ARG_STRING, &cset, 0, "cache set uuid", "UUID" },
		{ "sums", 'o', POPT_ARG_STRING, &sums, 0, "write the report here", "FILE" },
		{ "keys", 0, POPT_ARG_STRING, &keys, 0, "list the generated extents", "FILE" },
		{ "scatter", 0, POPT_ARG_NONE, &scatter, 0,
		  "put consecutive extents in different buckets (no merging)", NULL },
		{ "quiet", 'q', POPT_ARG_NONE, &quiet, 0, "no progress on stderr", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext("gen-cache", argc, argv, opts, 0);
	const char **args;
	char **paths = NULL;
	unsigned nargs = 0;

	poptSetOtherOptionHelp(pc, "[OPTIONS] CACHE.img [BACKING.img...]");
	rc = poptGetNextOpt(pc);
	if (rc < -1) {
		fprintf(stderr, "gen-cache: %s: %s\n", poptBadOption(pc, 0), poptStrerror(rc));
		return 16;
	}
	args = poptGetArgs(pc);
	while (args && args[nargs])
		nargs++;
	if (!nargs || extents < 0 || stale < 0 || nbuckets < 0 || bdevs < 0 || flash < 0 || max_blocks < 1 ||
	    max_gap < 0 || jkeys < 0 || leaf < 0 || fan < 0 || dirty < 0 || dirty > 1 ||
	    (unsigned)(nargs - 1) > (unsigned)bdevs) {
		poptPrintUsage(pc, stderr, 0);
		return 16;
	}
	g.o = (struct opts) {
		.extents = (uint64_t)extents, .dirty = dirty, .bdevs = (unsigned)bdevs,
		.flash = (unsigned)flash, .bucket = 1024, .block = 8,
		.max_blocks = (unsigned)max_blocks, .max_gap = (unsigned)max_gap,
		.stale = (uint64_t)stale, .journal_keys = (unsigned)jkeys,
		.leaf_keys = (unsigned)leaf, .fanout = (unsigned)fan, .seed = (uint64_t)seed,
		.cset_uuid = cset, .sums = sums, .keys = keys, .quiet = quiet,
		.scatter = scatter, .stale_dirty = stale_dirty, .nbuckets = (uint64_t)nbuckets,
	};
	if ((bucket && parse_bytes("bucket size", bucket, &g.o.bucket)) ||
	    (block && parse_bytes("block size", block, &g.o.block)))
		return 16;
	if (g.o.block > g.o.bucket || (uint64_t)g.o.max_blocks * g.o.block > g.o.bucket ||
	    jkeys > 1300) {
		fprintf(stderr, "gen-cache: extents must fit a bucket; at most 1300 journal keys\n");
		return 16;
	}
	g.cache_path = args[0];
	paths = calloc(MAX_SLOTS, sizeof(*paths));
	rc = paths ? generate(&g, args, nargs, paths) : 8;
	for (unsigned i = 0; paths && i < MAX_SLOTS; i++)
		free(paths[i]);
	free(paths);
	free(g.ext);
	poptFreeContext(pc);
	free(bucket);
	free(block);
	free(cset);
	free(sums);
	free(keys);
	return rc;
}
