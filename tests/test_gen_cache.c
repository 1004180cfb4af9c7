/* test_gen_cache.c --- caches built by tests/tools/gen-cache on the write path
 * read back with the readers: the view after journal replay holds exactly
 * the generated extents, the mark pass finds no conflict, and extract gives
 * the content gen-cache computed from its own model (sha256 of its stream,
 * not through extract). The kernel's own key dump of one generated cache
 * (tests/kernel/gen-cache-n10000-keys.txt.zst, check recorded in
 * tests/kernel/README) must equal dump-btree's.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/extent_map.h"
#include "libcore/read/mark.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"

TestSuite(gen_cache);

struct gen_ext {
	unsigned	slot;
	uint64_t	start, cache_sector;
	unsigned	sectors, gen;
	bool		dirty, stale, journal;
};

struct gen_out {
	struct t_gen	t;
	struct gen_ext	*ext;
	size_t		nr;
};

/* gen-cache's cache for args, and its list of extents. */
static void run_gen(struct gen_out *g, const char *args)
{
	char line[256];
	FILE *f;

	t_gen_cache(&g->t, args);
	f = fopen(g->t.keys, "r");
	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		struct gen_ext *e;
		char state[16];

		g->ext = realloc(g->ext, (g->nr + 1) * sizeof(*g->ext));
		e = &g->ext[g->nr++];
		memset(e, 0, sizeof(*e));
		cr_assert_eq(sscanf(line, "%u %" SCNu64 " %u %" SCNu64 " %u %15s", &e->slot,
				    &e->start, &e->sectors, &e->cache_sector, &e->gen, state), 6,
			     "%s", line);
		e->dirty = !strcmp(state, "dirty");
		e->stale = strstr(line, " stale") != NULL;
		e->journal = strstr(line, " journal") != NULL;
	}
	fclose(f);
}

static void free_gen(struct gen_out *g)
{
	t_gen_free(&g->t);
	free(g->ext);
	memset(g, 0, sizeof(*g));
}

/* Mark pass as fsck does it, counting the kernel's "inconsistent ptrs". */
struct mark_ctx {
	struct cache_set	*c;
	unsigned		conflicts;
};

static int mark_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct mark_ctx *m = arg;
	const struct bkey *k;

	(void)pos;
	cr_expect_eq(n->nr_invalid, 0, "invalid keys in the node at bucket %llu",
		     (unsigned long long)n->bucket);
	cr_expect_eq(n->nsets, 1);
	cr_expect(!n->key_past_node, "key past node key in bucket %llu",
		  (unsigned long long)n->bucket);
	for_each_node_key(n, k)
		m->conflicts += bt_mark_key(m->c, k, n->level);
	return 0;
}

/* nbuckets: the cache's bucket count when the test sets it, else 0 */
static void check_generated(const char *args, unsigned min_tree_depth, uint64_t nbuckets)
{
	struct gen_out g = { 0 };
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	struct cache_set c;
	struct bt_node_cache *nc;
	struct bt_extmap view;
	struct bt_overlay_stats st = { 0 };
	struct mark_ctx m = { &c, 0 };
	struct bt_walk_opts wo = { mark_node, NULL, &m, 0, BT_WALK_RAISE_GENS };
	char *out = NULL, *cerr = NULL, sum[65], *file;
	size_t journal = 0;

	run_gen(&g, args);
	cr_assert_geq(g.t.tree_depth, min_tree_depth, "tree_depth %u", g.t.tree_depth);
	cr_assert_eq(bt_dev_open(g.t.cache, BT_DEV_FORCE, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_cache_set_open(&c, &dev, BT_OPEN_STRICT, &err), 0, "%s", printbuf_str(&err));
	cr_expect_eq(c.root_level, g.t.tree_depth);
	if (nbuckets)
		cr_expect_eq(c.nbuckets, nbuckets);
	cr_expect_eq(c.journal.nr_damage, 0);

	/* fsck-like: every node parses clean, no bucket is both metadata and data */
	nc = bt_node_cache_new(&c, 8 << 20, BT_NODE_NO_MERGE);
	cr_assert(nc);
	bt_mark_reset(&c);
	bt_raise_ptr_gens(&c, (struct bkey *)&c.root_key);
	m.conflicts += bt_mark_key(&c, (struct bkey *)&c.root_key, c.root_level + 1);
	cr_assert_eq(bt_btree_walk(nc, (struct bkey *)&c.root_key, c.root_level, &wo, &err), 0,
		     "%s", printbuf_str(&err));
	m.conflicts += bt_mark_journal(&c);
	m.conflicts += bt_mark_finish(&c);
	cr_expect_eq(m.conflicts, 0, "%u conflicting marks", m.conflicts);

	/* the view after replay (extents kept apart): exactly the generated extents */
	bt_extmap_init(&view);
	cr_assert_eq(bt_overlay_build(&c, nc, BT_OVERLAY_JOURNAL, &view, &st, &err), 0, "%s",
		     printbuf_str(&err));
	cr_assert_eq(view.nr, g.nr, "view has %zu extents, %zu generated", view.nr, g.nr);
	for (size_t i = 0; i < g.nr; i++) {
		const struct gen_ext *e = &g.ext[i];
		const struct bkey *k = bt_extmap_key(&view, i);

		journal += e->journal;
		cr_assert_eq(KEY_INODE(k), e->slot, "extent %zu", i);
		cr_assert_eq(KEY_START(k), e->start, "extent %zu", i);
		cr_assert_eq(KEY_SIZE(k), e->sectors, "extent %zu", i);
		cr_assert_eq(KEY_DIRTY(k), e->dirty, "extent %zu", i);
		cr_assert_eq(KEY_PTRS(k), 1);
		cr_assert_eq(PTR_OFFSET(k, 0), e->cache_sector, "extent %zu", i);
		cr_assert_eq(PTR_GEN(k, 0), e->gen, "extent %zu", i);
		cr_assert_eq(bt_overlay_key_live(&c, k), !e->stale, "extent %zu stale %d", i,
			     e->stale);
	}
	cr_expect_eq(st.journal_keys, journal);
	bt_extmap_exit(&view);
	bt_node_cache_free(nc);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	printbuf_exit(&err);

	/* fsck -n: a consistent cache (stale pointers only on clean data) */
	cr_assert_eq(t_run(&out, &cerr, "fsck -n '%s'", g.t.cache), 0, "%s%s", out, cerr);
	cr_expect(strstr(out, ": clean"), "%s", out);
	free(out);
	free(cerr);
	out = cerr = NULL;

	/* extract serves what gen-cache's model says */
	cr_assert(asprintf(&file, "%s/out", g.t.dir) > 0);
	cr_assert_lt(t_run(&out, &cerr, "extract '%s' '%s' -o '%s'", g.t.cache, g.t.bdev, file), 2,
		     "%s", cerr);
	t_sha256_file(file, sum);
	cr_expect_str_eq(sum, g.t.sha[0], "backing device: %s", cerr);
	free(out);
	free(cerr);
	cr_assert_lt(t_run(&out, &cerr, "extract --force '%s' --slot 1 -o '%s'", g.t.cache, file), 2,
		     "%s", cerr);
	t_sha256_file(file, sum);
	cr_expect_str_eq(sum, g.t.sha[1], "flash volume: %s", cerr);
	free(out);
	free(cerr);
	free(file);
	free_gen(&g);
}

Test(gen_cache, deep_tree_with_stale_and_journal_keys, .timeout = 120)
{
	/* 100 keys a leaf, 8 an interior node: 100 leaves under 3 interior levels */
	check_generated("-n 10000 --leaf-keys 100 --fanout 8 --stale 50 --journal-keys 20 "
			"--dirty 0.3 --seed 7", 3, 0);
}

Test(gen_cache, default_fill_small_buckets_and_blocks, .timeout = 120)
{
	/* 64k buckets, 512-byte blocks, extents of 1-4 blocks */
	check_generated("-n 10000 -b 64k -w 512 --max-blocks 4 --max-gap 3 --stale 10 --seed 3",
			1, 0);
}

Test(gen_cache, many_buckets_few_keys_sparse, .timeout = 120)
{
	/* 2,000,000 buckets of 512 KiB (a sparse 1 TB image) under 2000 extents */
	check_generated("-n 2000 --nbuckets 2000000 --seed 5", 0, 2000000);
}

Test(gen_cache, same_seed_same_content)
{
	struct gen_out a = { 0 }, b = { 0 };

	run_gen(&a, "-n 2000 --seed 11");
	run_gen(&b, "-n 2000 --seed 11");
	/* the backing device's uuid differs, its content does not */
	cr_expect_str_eq(a.t.sha[0], b.t.sha[0]);
	cr_expect_str_eq(a.t.sha[1], b.t.sha[1]);
	free_gen(&a);
	free_gen(&b);
	run_gen(&a, "-n 2000 --seed 12");
	run_gen(&b, "-n 2000 --seed 11");
	cr_expect_str_neq(a.t.sha[0], b.t.sha[0]);
	free_gen(&a);
	free_gen(&b);
}

/*
 * The real kernel registered the cache "gen-cache -n 10000 --leaf-keys 100
 * --fanout 8 --stale 50 --journal-keys 20" (seed 1) and dumped its keys
 * after journal replay (tests/kernel/README): generation is deterministic
 * apart from uuids, so dump-btree of the same cache must print that dump.
 */
Test(gen_cache, dump_equals_the_kernels, .timeout = 120)
{
	struct gen_out g = { 0 };
	char *kernel = t_read_text("tests/kernel/gen-cache-n10000-keys.txt.zst", NULL);
	char *out = NULL, *err = NULL;

	run_gen(&g, "-n 10000 --leaf-keys 100 --fanout 8 --stale 50 --journal-keys 20");
	/* tests/kernel/README: the kernel said tree_depth 3 for this cache */
	cr_assert_eq(g.t.tree_depth, 3);
	cr_assert_eq(t_run(&out, &err, "dump-btree --keys-only --live '%s'", g.t.cache), 0, "%s", err);
	cr_expect(!strcmp(out, kernel), "dump-btree differs from the kernel's key dump "
		  "(%zu vs %zu bytes)", strlen(out), strlen(kernel));
	free(out);
	free(err);
	free(kernel);
	free_gen(&g);
}
