/* test_gc.c --- bcache-tool gc (libcore/gc.c): on synthetic caches with
 * stale pointers and sparse nodes (tests/tools/gen-cache) and on the golden
 * images with data. Every figure gc prints is checked against fsck -n
 * --json run before and after (an independent count); content against
 * gen-cache's own model or the manifest's sha256 of what the kernel served;
 * the stale keys dropped against gen-cache's list of stale extents.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dry_helpers.h"
#include "helpers.h"
#include "libcore/ondisk/cache_set.h"
#include "recovery/gc.h"
#include "libcore/read/mark.h"
#include "libcore/read/node_cache.h"
#include "libcore/write/write.h"

TestSuite(gc, .timeout = 300);

/* A cache from gen-cache: paths, the content sha256 of slots 0 (backing) and 1 (flash). */
struct gen {
	struct t_gen	t;
	unsigned	stale, dirty, extents;	/* from its list of extents */
};

/* gen-cache's cache for args, and the counts of its list of extents. */
static void gen(struct gen *g, const char *args)
{
	char line[256];
	FILE *f;

	memset(g, 0, sizeof(*g));
	t_gen_cache(&g->t, args);
	f = fopen(g->t.keys, "r");
	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		g->extents++;
		g->stale += strstr(line, " stale") != NULL && !strstr(line, " journal");
		g->dirty += strstr(line, " dirty") != NULL && !strstr(line, " stale");
	}
	fclose(f);
}

/* fsck -n --json's summary. */
struct fsck_sum {
	long long	nodes, keys, key_bytes, in_use, max_lag, dirty_keys, depth;
	int		status;
};

static void fsck_sum(const char *img, struct fsck_sum *s)
{
	char *out = NULL, *err = NULL;
	json_t *j, *sum;
	int rc = t_run(&out, &err, "fsck -n --json '%s'", img);

	cr_assert_geq(rc, 0, "fsck died: %s", err);
	j = json_loads(out, 0, NULL);
	cr_assert(j, "fsck --json output does not parse: %s", out);
	sum = json_object_get(j, "summary");
	s->nodes = json_integer_value(json_object_get(sum, "btree_nodes"));
	s->keys = json_integer_value(json_object_get(sum, "keys"));
	s->key_bytes = json_integer_value(json_object_get(sum, "key_bytes"));
	s->in_use = json_integer_value(json_object_get(sum, "buckets_in_use"));
	s->max_lag = json_integer_value(json_object_get(sum, "max_gen_lag"));
	s->dirty_keys = json_integer_value(json_object_get(sum, "dirty_keys_after_replay"));
	s->depth = json_integer_value(json_object_get(sum, "tree_depth"));
	s->status = rc;
	json_decref(j);
	free(out);
	free(err);
}

/* What gc printed. */
struct gc_out {
	long long	nodes[2], keys[2], dead[2], key_bytes[2], in_use[2], free_b[2], lag[2];
	long long	stale, bad, clean, merged, coalesced, written, invalidated, levels;
	bool		nothing, committed;
	char		*text;
};

static long long field(const char *text, const char *name)
{
	char key[64];
	const char *p;
	long long v;

	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(text, key);
	cr_assert(p, "no '%s' in gc's output:\n%s", name, text);
	cr_assert_eq(sscanf(p + strlen(key), " %lld", &v), 1, "%s", text);
	return v;
}

static void row(const char *text, const char *name, long long v[2])
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\n  %s ", name);
	p = strstr(text, key);
	cr_assert(p, "no row '%s' in gc's output:\n%s", name, text);
	cr_assert_eq(sscanf(p + strlen(key), " %lld %lld", &v[0], &v[1]), 2, "%s", text);
}

static int gc(const char *img, const char *opts, struct gc_out *o)
{
	char *err = NULL;
	int rc = t_run(&o->text, &err, "gc %s '%s'", opts, img);

	cr_assert_geq(rc, 0, "gc died: %s", err);
	if (rc) {
		free(err);
		return rc;
	}
	row(o->text, "nodes", o->nodes);
	row(o->text, "keys", o->keys);
	row(o->text, "stale or bad keys", o->dead);
	row(o->text, "key bytes", o->key_bytes);
	row(o->text, "buckets in use", o->in_use);
	row(o->text, "free buckets", o->free_b);
	row(o->text, "max gen lag", o->lag);
	o->stale = field(o->text, "stale keys dropped");
	o->bad = field(o->text, "bad keys dropped");
	o->clean = field(o->text, "clean keys dropped");
	o->merged = field(o->text, "keys merged");
	o->coalesced = field(o->text, "nodes coalesced");
	o->written = field(o->text, "nodes written");
	o->invalidated = field(o->text, "buckets invalidated");
	o->levels = field(o->text, "root levels removed");
	o->nothing = strstr(o->text, "nothing to do") != NULL;
	o->committed = strstr(o->text, "committed:") != NULL;
	free(err);
	return 0;
}

/* sha256 of what extract serves for a slot (bdev may be NULL). */
static void extract_sha(const char *cache, const char *bdev, int slot, char sum[65])
{
	char *out = t_tmpfile(0), *err = NULL, sl[32] = "";
	int rc;

	if (slot >= 0)
		snprintf(sl, sizeof(sl), "--slot %d", slot);
	rc = t_run(NULL, &err, "extract '%s' %s%s%s %s -o '%s'", cache, bdev ? "'" : "",
		   bdev ? bdev : "", bdev ? "'" : "", sl, out);
	cr_assert_lt(rc, 2, "extract rc %d: %s", rc, err);
	t_sha256_file(out, sum);
	unlink(out);
	free(out);
	free(err);
}

/* Occurrences of mark in the output of "dump-btree OPTS IMG". */
static long long dump_count(const char *opts, const char *img, const char *mark)
{
	char *out = NULL, *err = NULL;
	long long n = 0;

	cr_assert_eq(t_run(&out, &err, "dump-btree %s '%s'", opts, img), 0, "%s", err);
	for (const char *p = out; (p = strstr(p, mark)); p++)
		n++;
	free(out);
	free(err);
	return n;
}

/* Keys the on-disk btree holds that dump-btree --no-journal marks bad (stale included). */
static long long dump_dead_on_disk(const char *img)
{
	return dump_count("--no-journal", img, " (bad");
}

/* The "N stale or bad keys of the nodes rewritten dropped" of the replay line (0: none). */
static long long replay_dropped(const char *text)
{
	const char *p = strstr(text, "journal: ");
	const char *q = p ? strstr(p, "nodes written, ") : NULL;
	long long n = 0;

	if (q)
		cr_assert_eq(sscanf(q, "nodes written, %lld", &n), 1, "%s", text);
	return n;
}

/* Keys dump-btree marks "(bad: stale N)". */
static long long dump_stale(const char *img)
{
	return dump_count("", img, "(bad: stale ");
}

/* The gc figures "before" are fsck's, "after" are fsck's after the run. */
static void check_figures(const struct gc_out *o, const struct fsck_sum *b, const struct fsck_sum *a)
{
	cr_expect_eq(o->nodes[0], b->nodes);
	cr_expect_eq(o->keys[0], b->keys);
	cr_expect_eq(o->key_bytes[0], b->key_bytes);
	cr_expect_eq(o->in_use[0], b->in_use);
	cr_expect_eq(o->lag[0], b->max_lag);
	cr_expect_eq(o->nodes[1], a->nodes, "%s", o->text);
	cr_expect_eq(o->keys[1], a->keys, "%s", o->text);
	cr_expect_eq(o->key_bytes[1], a->key_bytes, "%s", o->text);
	cr_expect_eq(o->in_use[1], a->in_use, "%s", o->text);
	cr_expect_eq(o->lag[1], a->max_lag, "%s", o->text);
	/* what leaves the in-use count is what joins the free count */
	cr_expect_eq(o->in_use[0] - o->in_use[1], o->free_b[1] - o->free_b[0]);
}

/*
 * The figures add up: every stale or bad key is dropped and none is left;
 * the live keys after are those before less the clean ones dropped and the
 * ones merged; so nothing dropped exceeds what the nodes held.
 */
static void check_sums(const struct gc_out *o, const char *what)
{
	cr_expect_eq(o->stale + o->bad, o->dead[0], "%s: stale + bad dropped != stale or bad "
		     "keys before:\n%s", what, o->text);
	cr_expect_eq(o->dead[1], 0, "%s: stale or bad keys left:\n%s", what, o->text);
	cr_expect_leq(o->clean, o->keys[0], "%s: more clean keys dropped than keys:\n%s", what,
		      o->text);
	cr_expect_eq(o->keys[1], o->keys[0] - o->clean - o->merged,
		     "%s: keys after != keys before - clean dropped - merged:\n%s", what, o->text);
	cr_expect_leq(o->stale + o->bad + o->clean, o->keys[0] + o->dead[0], "%s:\n%s", what,
		      o->text);
}

static void check_content(const struct gen *g, const char *cache)
{
	char sum[65];

	extract_sha(cache, g->t.bdev, -1, sum);
	cr_expect_str_eq(sum, g->t.sha[0], "backing device content changed");
	extract_sha(cache, NULL, 1, sum);
	cr_expect_str_eq(sum, g->t.sha[1], "flash volume content changed");
}

#define SPARSE "-n 20000 --stale 3000 --scatter --leaf-keys 40 --fanout 8 --dirty 0.5"

Test(gc, stale_and_sparse)
{
	struct gen g;
	struct gc_out o = { 0 }, o2 = { 0 };
	struct fsck_sum b, a;
	char h1[65], h2[65];
	long long stale;

	gen(&g, SPARSE);
	stale = dump_stale(g.t.cache);
	cr_assert_gt(stale, g.stale / 2, "gen-cache wrote %u stale extents", g.stale);
	fsck_sum(g.t.cache, &b);
	cr_assert_eq(b.status, 0);
	cr_assert_eq(gc(g.t.cache, "", &o), 0, "%s", o.text);
	fsck_sum(g.t.cache, &a);
	cr_expect_eq(a.status, 0, "fsck -n not clean after gc");
	check_figures(&o, &b, &a);
	/* every stale key (as dump-btree counts them) is dropped, none is left */
	cr_expect_eq(o.stale, stale, "%s", o.text);
	cr_expect_eq(dump_stale(g.t.cache), 0);
	cr_expect_eq(o.bad, 0);
	cr_expect_eq(o.clean, 0);
	cr_expect(o.committed);
	cr_expect_lt(a.nodes * 4, b.nodes, "sparse nodes not coalesced: %lld -> %lld", b.nodes, a.nodes);
	cr_expect_lt(a.in_use, b.in_use);
	cr_expect_eq(a.keys, b.keys, "live keys lost or gained");
	cr_expect_eq(a.max_lag, 0);
	/* the root left with one child gave way to it: the tree is shallower by what gc says */
	cr_expect_gt(o.levels, 0, "%s", o.text);
	cr_expect_eq(a.depth, b.depth - o.levels);
	check_content(&g, g.t.cache);

	/* idempotent: nothing to do, nothing written */
	t_sha256_file(g.t.cache, h1);
	cr_assert_eq(gc(g.t.cache, "", &o2), 0);
	t_sha256_file(g.t.cache, h2);
	cr_expect(o2.nothing, "%s", o2.text);
	cr_expect_eq(o2.coalesced, 0);
	cr_expect_eq(o2.written, 0);
	cr_expect_str_eq(h1, h2, "a second gc changed the image");
	free(o.text);
	free(o2.text);
	t_gen_free(&g.t);
}

Test(gc, invalidate_clean_keeps_dirty_and_content)
{
	struct gen g;
	struct gc_out o = { 0 };
	struct fsck_sum b, a;

	gen(&g, "-n 20000 --stale 500 --scatter --dirty 0 --leaf-keys 200");
	fsck_sum(g.t.cache, &b);
	cr_assert_eq(gc(g.t.cache, "--invalidate-clean", &o), 0, "%s", o.text);
	fsck_sum(g.t.cache, &a);
	cr_expect_eq(a.status, 0);
	check_figures(&o, &b, &a);
	/* only dirty keys are left: every live key is one the model calls dirty */
	cr_expect_eq(a.keys, a.dirty_keys);
	cr_expect_eq(a.dirty_keys, b.dirty_keys);
	cr_expect_eq(o.clean, b.keys - b.dirty_keys);
	cr_expect_gt(o.clean, 0);
	cr_expect_gt(o.invalidated, 0, "%s", o.text);
	cr_expect_lt(a.in_use, b.in_use);
	check_content(&g, g.t.cache);
	free(o.text);
	t_gen_free(&g.t);
}

/* Raise the gens of the buckets that only stale pointers reference by `by` (one commit). */
static unsigned raise_stale_gens(const char *img, unsigned by)
{
	struct bt_write_ctx w;
	struct t_cset s;
	struct cache_set *c = &s.c;
	unsigned n = 0;

	t_cset_open(&s, img, BT_DEV_RDWR | BT_DEV_FORCE, 0);
	cr_assert_eq(bt_mark_buckets(c, s.nc, &s.err), 0, "%s", printbuf_str(&s.err));
	cr_assert_eq(bt_write_begin(&w, c, s.nc), 0);
	for (uint64_t b = c->first_bucket; b < c->nbuckets; b++)
		if (c->buckets[b].mark == GC_MARK_NONE && c->buckets[b].gen != c->buckets[b].last_gc) {
			c->buckets[b].gen += by;
			n++;
		}
	cr_assert_eq(bt_commit(&w, &s.err), 0, "%s", printbuf_str(&s.err));
	t_cset_close(&s);
	return n;
}

Test(gc, gen_lag_near_max_returns_to_zero)
{
	struct gen g;
	struct gc_out o = { 0 };
	struct fsck_sum b, a;

	gen(&g, "-n 5000 --stale 2000 --scatter --leaf-keys 100");
	cr_assert_gt(raise_stale_gens(g.t.cache, BUCKET_GC_GEN_MAX - 6), 0);
	fsck_sum(g.t.cache, &b);
	cr_assert_eq(b.status, 0);
	cr_assert_geq(b.max_lag, BUCKET_GC_GEN_MAX - 5, "lag %lld", b.max_lag);
	cr_assert_eq(gc(g.t.cache, "", &o), 0, "%s", o.text);
	fsck_sum(g.t.cache, &a);
	cr_expect_eq(a.status, 0);
	cr_expect_eq(a.max_lag, 0);
	check_figures(&o, &b, &a);
	check_content(&g, g.t.cache);
	free(o.text);
	t_gen_free(&g.t);
}

static void golden(const char *name, bool backing, const char *opts)
{
	char *want = t_manifest_case_str(name, "expected_logical_sha256", "bcache0");
	char *cache = t_golden_image(name, "cache");
	char *bdev = backing ? t_golden_image(name, "backing") : NULL, sum[65], h1[65], h2[65];
	struct gc_out o = { 0 }, o2 = { 0 };
	struct fsck_sum a;

	cr_assert_eq(gc(cache, opts, &o), 0, "%s: %s", name, o.text);
	check_sums(&o, name);
	fsck_sum(cache, &a);
	cr_expect_eq(a.status, 0, "%s: fsck -n not clean after gc", name);
	cr_expect_eq(a.max_lag, 0, "%s", name);
	cr_expect_eq(o.nodes[1], a.nodes, "%s", name);
	cr_expect_eq(o.keys[1], a.keys, "%s", name);
	cr_expect_eq(o.in_use[1], a.in_use, "%s", name);
	extract_sha(cache, bdev, -1, sum);
	cr_expect_str_eq(sum, want, "%s: content after gc %s differs from what the kernel served",
			 name, opts);
	t_sha256_file(cache, h1);
	cr_assert_eq(gc(cache, opts, &o2), 0);
	t_sha256_file(cache, h2);
	cr_expect(o2.nothing, "%s: %s", name, o2.text);
	cr_expect_str_eq(h1, h2, "%s: a second gc changed the image", name);
	free(o.text);
	free(o2.text);
	free(want);
	free(cache);
	free(bdev);
}

GOLDEN_TEST(gc, golden_images)
{
	golden("s03-writeback-dirty-clean-stop", true, "");
	golden("s04-writeback-dirty-crash", true, "");
	golden("s05-btree-depth2", true, "");
	golden("s06-flash-volume", false, "");
	golden("s07-writethrough-clean", true, "");
}

GOLDEN_TEST(gc, golden_images_invalidate_clean)
{
	golden("s03-writeback-dirty-clean-stop", true, "--invalidate-clean");
	golden("s05-btree-depth2", true, "--invalidate-clean");
	golden("s06-flash-volume", false, "--invalidate-clean");
	golden("s07-writethrough-clean", true, "--invalidate-clean");
}

GOLDEN_TEST(gc, s07_invalidate_clean_leaves_no_key)
{
	char *cache = t_golden_image("s07-writethrough-clean", "cache");
	struct gc_out o = { 0 };
	struct fsck_sum b, a;

	fsck_sum(cache, &b);
	cr_assert_gt(b.keys, 0);
	cr_assert_eq(b.dirty_keys, 0, "s07 is a writethrough (all clean) cache");
	cr_assert_eq(gc(cache, "--invalidate-clean", &o), 0, "%s", o.text);
	fsck_sum(cache, &a);
	cr_expect_eq(a.status, 0);
	cr_expect_eq(a.keys, 0);
	cr_expect_eq(o.clean, b.keys);
	cr_expect_gt(o.invalidated, 0);
	check_figures(&o, &b, &a);
	free(o.text);
	free(cache);
}

Test(gc, undo_restores_the_image)
{
	struct gen g;
	char h0[65], h1[65], *undo = t_tmpfile(0), *out = NULL, *err = NULL;
	int rc;

	gen(&g, SPARSE " --seed 3");
	unlink(undo);
	t_sha256_file(g.t.cache, h0);
	rc = t_run(&out, &err, "gc --undo '%s' '%s'", undo, g.t.cache);
	cr_assert_eq(rc, 0, "%s%s", out, err);
	cr_assert(strstr(out, "undo with: bcache-tool undo"));
	t_sha256_file(g.t.cache, h1);
	cr_assert_str_neq(h0, h1);
	free(out);
	free(err);
	rc = t_run(&out, &err, "undo '%s' '%s'", undo, g.t.cache);
	cr_assert_eq(rc, 0, "%s%s", out, err);
	t_sha256_file(g.t.cache, h1);
	cr_expect_str_eq(h0, h1, "undo did not restore the bytes before gc");
	free(out);
	free(err);
	unlink(undo);
	free(undo);
	t_gen_free(&g.t);
}

/* A gc cut short after n device writes leaves the old state: clean and the same content. */
Test(gc, crash_at_every_step_keeps_the_old_state)
{
	struct gen g;
	char *copy;
	long total = -1;

	gen(&g, "-n 3000 --stale 500 --scatter --leaf-keys 30 --fanout 6");
	cr_assert(asprintf(&copy, "%s/crash.img", g.t.dir) > 0);
	/* the first pass (no limit) counts the writes; then stop after each of them */
	for (long limit = -1; limit < total; limit++) {
		struct bt_gc_opts opts = { 0 };
		struct bt_gc_stats st;
		struct t_cset s;
		struct fsck_sum a;
		int ret;

		cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s'", g.t.cache, copy), 0);
		t_cset_open(&s, copy, BT_DEV_RDWR | BT_DEV_FORCE, 0);
		s.dev.write_limit = limit;
		ret = bt_gc(&s.c, s.nc, &opts, &st, &s.err);
		if (limit < 0) {
			cr_assert_eq(ret, 0, "%s", printbuf_str(&s.err));
			cr_assert(st.committed);
			total = (long)s.dev.nr_writes;
			cr_assert_gt(total, 3);
		} else {
			cr_expect_neq(ret, 0, "gc with %ld of %ld writes allowed succeeded", limit,
				      total);
			cr_expect_not(st.committed);
		}
		t_cset_close(&s);
		fsck_sum(copy, &a);
		cr_expect_eq(a.status, 0, "fsck not clean after a crash at write %ld", limit);
		check_content(&g, copy);
	}
	free(copy);
	t_gen_free(&g.t);
}

/* A dry run's text with the real run's verbs: the two must then be equal. */
static char *as_real_run(const char *dry)
{
	static const struct t_reword sub[] = {
		{ " (dry run: nothing written)", "" },
		{ "journal: would replay ", "journal: replayed " },
		{ "would commit: ", "committed: " },
		{ " (run without --dry-run to write it)", "" },
		{ "the journal replay would be the only change", "the journal replay was the only change" },
	};

	return t_dry_as_real(dry, sub, sizeof(sub) / sizeof(sub[0]), NULL);
}

struct dry_case {
	char	image[64];	/* a golden case, or "gen" */
	char	gen[96];	/* gen-cache arguments */
	char	opts[32];	/* gc options */
};

ParameterizedTestParameters(gc, dry_run_equals_run)
{
	static const char *const golden[] = {
		"s03-writeback-dirty-clean-stop", "s04-writeback-dirty-crash", "s05-btree-depth2",
		"s06-flash-volume", "s07-writethrough-clean",
	};
	static const char *const gens[] = {
		SPARSE " --seed 11",
		"-n 6000 --stale 800 --journal-keys 300 --scatter --leaf-keys 60 --fanout 6 --seed 5",
	};
	static const char *const opts[] = { "", "--invalidate-clean" };
	size_t n = 0, max = (5 + 2) * 2;
	struct dry_case *p = cr_malloc(max * sizeof(*p));

	for (size_t o = 0; o < 2; o++) {
		for (size_t i = 0; i < 5; i++, n++) {
			memset(&p[n], 0, sizeof(p[n]));
			snprintf(p[n].image, sizeof(p[n].image), "%s", golden[i]);
			snprintf(p[n].opts, sizeof(p[n].opts), "%s", opts[o]);
		}
		for (size_t i = 0; i < 2; i++, n++) {
			memset(&p[n], 0, sizeof(p[n]));
			snprintf(p[n].image, sizeof(p[n].image), "gen");
			snprintf(p[n].gen, sizeof(p[n].gen), "%s", gens[i]);
			snprintf(p[n].opts, sizeof(p[n].opts), "%s", opts[o]);
		}
	}
	return cr_make_param_array(struct dry_case, p, n);
}

/*
 * gc -n prints every figure gc then prints (it runs the same code on a
 * shadow of the device, the journal replay included) and writes nothing.
 */
ParameterizedTest(struct dry_case *p, gc, dry_run_equals_run, .timeout = 300)
{
	struct gen g = { 0 };
	struct gc_out d = { 0 }, o = { 0 };
	char *cache, h1[65], h2[65], dopts[48], *want;
	bool gen_case = !strcmp(p->image, "gen");

	long long dead;

	if (gen_case) {
		gen(&g, p->gen);
		cache = strdup(g.t.cache);
	} else {
		cache = t_golden_image(p->image, "cache");
	}
	dead = dump_dead_on_disk(cache);
	snprintf(dopts, sizeof(dopts), "-n %s", p->opts);
	t_sha256_file(cache, h1);
	cr_assert_eq(gc(cache, dopts, &d), 0, "%s: %s", p->image, d.text);
	t_sha256_file(cache, h2);
	cr_assert_str_eq(h1, h2, "%s: gc %s changed the image", p->image, dopts);
	cr_expect(strstr(d.text, "(dry run: nothing written)"), "%s", d.text);
	cr_assert_eq(gc(cache, p->opts, &o), 0, "%s: %s", p->image, o.text);
	want = as_real_run(d.text);
	cr_expect_str_eq(want, o.text, "%s %s: the dry run's figures differ from the run's",
			 p->image, p->opts);
	check_sums(&d, p->image);
	check_sums(&o, p->image);
	/* the stale or bad keys on disk: left out by the replay, or dropped by gc */
	cr_expect_eq(replay_dropped(o.text) + o.dead[0], dead, "%s: %lld stale or bad keys on "
		     "disk:\n%s", p->image, dead, o.text);
	if (strstr(o.text, "journal: replayed"))
		cr_expect(strstr(d.text, "journal: would replay "), "%s", d.text);
	free(want);
	free(d.text);
	free(o.text);
	free(cache);
	if (gen_case)
		t_gen_free(&g.t);
}

/* s04's data is only in the journal: the dry run replays it first, as gc does. */
GOLDEN_TEST(gc, dry_run_replays_the_journal)
{
	char *cache = t_golden_image("s04-writeback-dirty-crash", "cache"), h1[65], h2[65];
	struct gc_out o = { 0 };

	t_sha256_file(cache, h1);
	cr_assert_eq(gc(cache, "-n", &o), 0, "%s", o.text);
	t_sha256_file(cache, h2);
	cr_expect_str_eq(h1, h2);
	/* MANIFEST: 120 dirty keys, all in the journal (the btree root is empty) */
	cr_expect(strstr(o.text, "journal: would replay 120 journal keys"), "%s", o.text);
	cr_expect_eq(o.keys[0], 120, "%s", o.text);
	free(o.text);
	free(cache);
}

Test(gc, usage_errors)
{
	char *err = NULL;

	cr_expect_eq(t_run(NULL, &err, "gc"), 16);
	free(err);
	err = NULL;
	cr_expect_eq(t_run(NULL, &err, "gc --dry-run --undo /tmp/x /tmp/y"), 16);
	cr_expect(strstr(err, "--undo"), "%s", err);
	free(err);
}
