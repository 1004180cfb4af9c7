/* test_view_stream.c --- the streamed view (libcore/read/view_stream.h) hands
 * out exactly the keys of the built view (bt_overlay_build()), in the same
 * order, with the same liveness and counts: on every golden image, on
 * generated caches, and with journal keys that split, cut, cover across a
 * leaf boundary and punch holes in the tree's extents. The leaf-by-leaf
 * view (view_leaves.h) hands out, streamed, what it hands out on the built
 * view: the same nodes, keys and leaf ends in the same order.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/view_leaves.h"
#include "libcore/read/view_stream.h"
#include "libcore/write/write.h"

struct got {
	struct bkey_padded	*keys;
	bool			*live;
	size_t			nr, size;
	unsigned		restarts;
};

static int got_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct got *g = arg;

	if (g->nr == g->size) {
		g->size = g->size ? g->size * 2 : 256;
		g->keys = realloc(g->keys, g->size * sizeof(*g->keys));
		g->live = realloc(g->live, g->size * sizeof(*g->live));
		cr_assert(g->keys && g->live);
	}
	memset(&g->keys[g->nr], 0, sizeof(g->keys[0]));
	memcpy(&g->keys[g->nr], k, bkey_bytes(k));
	g->live[g->nr++] = bt_overlay_key_live(c, k);
	return 0;
}

static void got_restart(void *arg)
{
	struct got *g = arg;

	g->nr = 0;
	g->restarts++;
}

/* What bt_view_leaves() handed out: 'N' node, 'K' key, 'D' leaf done, in order. */
struct seen {
	struct bkey_padded	*keys;
	char			*what;
	size_t			nr, size;
};

static void seen_add(struct seen *s, char what, const struct bkey *k)
{
	if (s->nr == s->size) {
		s->size = s->size ? s->size * 2 : 256;
		s->keys = realloc(s->keys, s->size * sizeof(*s->keys));
		s->what = realloc(s->what, s->size);
		cr_assert(s->keys && s->what);
	}
	memset(&s->keys[s->nr], 0, sizeof(s->keys[0]));
	memcpy(&s->keys[s->nr], k, bkey_bytes(k));
	s->what[s->nr++] = what;
}

static int seen_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	(void)n;
	seen_add(arg, 'N', pos->end);
	return 0;
}

static int seen_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	(void)c;
	seen_add(arg, 'K', k);
	return 0;
}

static int seen_done(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	(void)n;
	seen_add(arg, 'D', pos->end);
	return 0;
}

static int seen_error(const struct bkey *k, unsigned level, int err, const char *msg, void *arg)
{
	(void)level, (void)err, (void)msg;
	seen_add(arg, 'E', k);
	return 0;
}

static void leaves_of(const char *path, bool whole, struct seen *s, struct bt_overlay_stats *st)
{
	struct t_cset cs;
	struct bt_view_leaves_opts o = {
		.with_journal = true, .build_whole = whole, .node_fn = seen_node,
		.key_fn = seen_key, .leaf_done_fn = seen_done, .error_fn = seen_error, .arg = s,
	};

	t_cset_open(&cs, path, BT_DEV_FORCE, 0);
	cr_assert_eq(bt_view_leaves(&cs.c, cs.nc, &o, st, &cs.err), 0, "%s", printbuf_str(&cs.err));
	t_cset_close(&cs);
}

/* The leaf-by-leaf view of path, streamed, equals it on the built view (view_nr keys). */
static void check_leaves_same(const char *path, size_t view_nr)
{
	struct seen a = { 0 }, b = { 0 };
	struct bt_overlay_stats sa, sb;
	size_t keys = 0;

	leaves_of(path, false, &a, &sa);
	leaves_of(path, true, &b, &sb);
	cr_assert_eq(a.nr, b.nr, "%s: %zu handed out streamed, %zu built", path, a.nr, b.nr);
	for (size_t i = 0; i < a.nr; i++) {
		cr_assert_eq(a.what[i], b.what[i], "%s: event %zu", path, i);
		cr_assert_eq(memcmp(&a.keys[i], &b.keys[i], sizeof(a.keys[i])), 0,
			     "%s: event %zu (%c) differs", path, i, a.what[i]);
		keys += a.what[i] == 'K';
	}
	cr_expect_eq(sa.journal_keys, sb.journal_keys);
	cr_expect_eq(sa.leaves, sb.leaves);
	cr_expect_eq(sa.unreadable_nodes, sb.unreadable_nodes);
	/* every key of the built view, some cut in two at a leaf's end */
	cr_expect_geq(keys, view_nr, "%s: %zu keys leaf by leaf, %zu in the view", path, keys,
		      view_nr);
	free(a.keys), free(a.what), free(b.keys), free(b.what);
}

static int tap_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	(void)pos;
	return bt_view_tap_node(arg, n);
}

static int tap_error(const struct bkey *k, unsigned level, int err, const char *msg, void *arg)
{
	(void)k, (void)level, (void)err;
	bt_view_tap_node_error(arg, msg);
	return 0;
}

/* The view of b (gens raised) fed by a walk of our own through a tap: 0 or -EAGAIN. */
static int tap_view(struct t_cset *b, struct got *g, struct bt_overlay_stats *st)
{
	struct bt_view_stream_opts o = {
		.with_journal = true, .keep_going = true, .gens_raised = true,
		.key_fn = got_key, .arg = g,
	};
	struct bt_walk_opts wo = { tap_node, tap_error, NULL, 0, 0 };
	struct bt_view_tap *t;

	cr_assert_eq(bt_view_tap_begin(&b->c, &o, st, &t, &b->err), 0, "%s",
		     printbuf_str(&b->err));
	wo.arg = t;
	cr_assert_eq(bt_btree_walk(b->nc, (const struct bkey *)&b->c.root_key, b->c.root_level,
				   &wo, &b->err), 0, "%s", printbuf_str(&b->err));
	return bt_view_tap_end(t, &b->err);
}

/* The tap's keys equal the built view's, or it says -EAGAIN where the stream restarted. */
static void check_tap_same(const char *path, struct t_cset *b, const struct bt_extmap *view,
			   const struct bt_overlay_stats *sa, unsigned restarts)
{
	struct got g = { 0 };
	struct bt_overlay_stats st;
	int ret = tap_view(b, &g, &st);

	if (restarts) {
		cr_expect_eq(ret, -EAGAIN, "%s: the tap did not see the overlap", path);
		goto out;
	}
	cr_assert_eq(ret, 0, "%s: %s", path, printbuf_str(&b->err));
	cr_assert_eq(g.nr, view->nr, "%s: %zu keys tapped, %zu built", path, g.nr, view->nr);
	for (size_t i = 0; i < view->nr; i++) {
		const struct bkey *k = bt_extmap_key(view, i);

		cr_assert_eq(memcmp(&g.keys[i], k, bkey_bytes(k)), 0, "%s: key %zu differs", path, i);
	}
	cr_expect_eq(st.btree_keys, sa->btree_keys);
	cr_expect_eq(st.journal_keys, sa->journal_keys);
	cr_expect_eq(st.leaves, sa->leaves);
	cr_expect_eq(st.unreadable_nodes, sa->unreadable_nodes);
out:
	free(g.keys);
	free(g.live);
}

/*
 * The streamed view of path equals its built view; returns the restarts
 * (0 or 1). raised: the gens raised first by the mark pass, as fsck does
 * (no first walk of the stream's own).
 */
static unsigned check_same_as(const char *path, bool raised)
{
	struct t_cset a, b;
	struct bt_extmap view;
	struct bt_overlay_stats sa, sb;
	struct got g = { 0 };
	struct bt_view_stream_opts o = {
		.with_journal = true, .keep_going = true,
		.key_fn = got_key, .restart_fn = got_restart, .arg = &g,
	};
	unsigned restarts;

	t_cset_open(&a, path, BT_DEV_FORCE, 0);
	bt_extmap_init(&view);
	t_cset_view(&a, &view, &sa);
	/* a fresh open: the stream raises the gens itself */
	t_cset_open(&b, path, BT_DEV_FORCE, 0);
	o.gens_raised = raised;
	if (raised)
		cr_assert_eq(bt_mark_buckets(&b.c, b.nc, &b.err), 0, "%s", printbuf_str(&b.err));
	cr_assert_eq(bt_view_stream(&b.c, b.nc, &o, &sb, &b.err), 0, "%s", printbuf_str(&b.err));
	cr_assert_eq(g.nr, view.nr, "%s: %zu keys streamed, %zu built", path, g.nr, view.nr);
	for (size_t i = 0; i < view.nr; i++) {
		const struct bkey *k = bt_extmap_key(&view, i);

		cr_assert_eq(memcmp(&g.keys[i], k, bkey_bytes(k)), 0, "%s: key %zu differs", path, i);
		cr_assert_eq(g.live[i], bt_overlay_key_live(&a.c, k), "%s: key %zu", path, i);
	}
	cr_expect_eq(sb.btree_keys, sa.btree_keys);
	cr_expect_eq(sb.journal_keys, sa.journal_keys);
	cr_expect_eq(sb.journal_invalid, sa.journal_invalid);
	cr_expect_eq(sb.leaves, sa.leaves);
	cr_expect_eq(sb.unreadable_nodes, sa.unreadable_nodes);
	for (uint64_t i = 0; i < a.c.nbuckets; i++)
		cr_assert_eq(a.c.buckets[i].gen, b.c.buckets[i].gen, "bucket %llu gen",
			     (unsigned long long)i);
	restarts = g.restarts;
	if (raised)
		check_tap_same(path, &b, &view, &sa, restarts);
	bt_extmap_exit(&view);
	check_leaves_same(path, g.nr);
	t_cset_close(&a);
	t_cset_close(&b);
	free(g.keys);
	free(g.live);
	return restarts;
}

static unsigned check_same(const char *path)
{
	unsigned restarts = check_same_as(path, true);

	return restarts + check_same_as(path, false);
}

static void check_golden(const char *name)
{
	char *cache = t_golden_image(name, "cache");

	cr_expect_eq(check_same(cache), 0, "a sound tree needs no restart");
	free(cache);
}

GOLDEN_TEST(view_stream, s02) { check_golden("s02-registered-empty"); }
GOLDEN_TEST(view_stream, s03) { check_golden("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(view_stream, s04_journal_only) { check_golden("s04-writeback-dirty-crash"); }
GOLDEN_TEST(view_stream, s05_depth2) { check_golden("s05-btree-depth2"); }
GOLDEN_TEST(view_stream, s06_flash) { check_golden("s06-flash-volume"); }
GOLDEN_TEST(view_stream, s07) { check_golden("s07-writethrough-clean"); }

Test(view_stream, generated_stale_and_journal_keys, .timeout = 120)
{
	struct t_gen g = { 0 };

	t_gen_cache(&g, "-n 5000 --leaf-keys 40 --fanout 8 --stale 40 --journal-keys 30 "
		    "--dirty 0.4 --seed 11");
	cr_expect_eq(check_same(g.cache), 0);
	t_gen_free(&g);
}

/*
 * A journal key whose pointer is ahead of its bucket's gen would raise it
 * when the journal is marked: the tap refuses (fsck's replay pass then
 * counts on its own walk, after the mark).
 */
Test(view_stream, tap_refuses_when_the_journal_raises_gens, .timeout = 120)
{
	struct t_gen g = { 0 };
	struct t_cset s;
	struct bt_view_stream_opts o = {
		.with_journal = true, .keep_going = true, .gens_raised = true, .key_fn = got_key,
	};
	struct bt_overlay_stats st;
	struct bt_view_tap *t = NULL;
	const struct bkey *k;

	t_gen_cache(&g, "-n 2000 --journal-keys 20 --seed 12");
	t_cset_open(&s, g.cache, BT_DEV_FORCE, 0);
	cr_assert_eq(bt_mark_buckets(&s.c, s.nc, &s.err), 0, "%s", printbuf_str(&s.err));
	cr_assert_gt(s.c.journal.nr, 0);
	cr_assert_eq(bt_view_tap_begin(&s.c, &o, &st, &t, &s.err), 0, "%s", printbuf_str(&s.err));
	bt_view_tap_free(t);
	/* the first journal key's bucket one gen behind its pointer */
	k = (const struct bkey *)s.c.journal.entries[s.c.journal.nr - 1].j->d;
	cr_assert(le32toh(s.c.journal.entries[s.c.journal.nr - 1].j->keys) >= 3 && KEY_PTRS(k));
	s.c.buckets[PTR_BUCKET_NR(&s.c, k, 0)].gen--;
	cr_expect(bt_overlay_journal_raises_gens(&s.c));
	cr_expect_eq(bt_view_tap_begin(&s.c, &o, &st, &t, &s.err), -EINVAL);
	cr_expect_null(t);
	t_cset_close(&s);
	t_gen_free(&g);
}

/* A journal key over [start, end) of slot 0: pointer to bucket b, or none. */
static size_t put_key(uint64_t *words, uint64_t start, uint64_t end, const struct cache_set *c,
		      const uint64_t *b)
{
	struct bkey_padded kp;
	struct bkey *k = (struct bkey *)kp.w;

	memset(&kp, 0, sizeof(kp));
	bkey_init_pos(k, 0, end, end - start);
	SET_KEY_DIRTY(k, 1);
	if (b) {
		SET_KEY_PTRS(k, 1);
		SET_PTR(k, 0, c->buckets[*b].gen, bt_bucket_to_sector(c, *b), c->nr_this_dev);
	}
	memcpy(words, k, bkey_bytes(k));
	return bkey_u64s(k);
}

/*
 * Journal keys over a generated tree (extents of 8 sectors, 20 a leaf): a
 * split of one extent, a key across a leaf boundary, a hole, a zero-size
 * key, and two overlapping keys of which the later wins.
 */
Test(view_stream, journal_keys_cut_the_tree, .timeout = 120)
{
	struct t_gen g = { 0 };
	struct t_cset s;
	struct bt_extmap view;
	struct bt_write_ctx w;
	uint64_t keys[64], b, e[60];
	size_t u = 0;

	t_gen_cache(&g, "-n 300 --bdevs 1 --flash 1 --leaf-keys 20 --fanout 8 --max-gap 0 --seed 2");
	t_cset_open(&s, g.cache, BT_DEV_RDWR | BT_DEV_FORCE, 0);
	bt_extmap_init(&view);
	t_cset_view(&s, &view, NULL);
	cr_assert_gt(view.nr, 60);
	for (unsigned i = 0; i < 60; i++) {
		cr_assert_eq(KEY_INODE(bt_extmap_key(&view, i)), 0);
		e[i] = KEY_START(bt_extmap_key(&view, i));	/* starts of the first extents */
	}
	bt_extmap_exit(&view);
	cr_assert_eq(bt_mark_buckets(&s.c, s.nc, &s.err), 0, "%s", printbuf_str(&s.err));
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	cr_assert_eq(bt_bucket_alloc(&w, false, &b, &s.err), 0, "%s", printbuf_str(&s.err));
	u += put_key(keys + u, e[3] + 2, e[3] + 5, &s.c, &b);		/* inside one extent */
	u += put_key(keys + u, e[18] + 4, e[23] + 1, &s.c, &b);		/* across a leaf end */
	u += put_key(keys + u, e[30] + 1, e[33] + 7, &s.c, NULL);	/* a hole */
	u += put_key(keys + u, e[40], e[40], &s.c, &b);			/* zero size */
	u += put_key(keys + u, e[45], e[50], &s.c, &b);
	u += put_key(keys + u, e[47] + 3, e[52] + 2, &s.c, NULL);	/* over the one before */
	w.journal_keys = keys;
	w.journal_u64s = u;
	w.last_seq = s.c.journal.last_seq;
	cr_assert_eq(bt_commit(&w, &s.err), 0, "%s", printbuf_str(&s.err));
	t_cset_close(&s);
	{
		/* the built view took all six, and the hole is one: e[31] is in no key */
		struct bt_overlay_stats st;
		size_t i;

		t_cset_open(&s, g.cache, BT_DEV_FORCE, 0);
		bt_extmap_init(&view);
		t_cset_view(&s, &view, &st);
		cr_expect_eq(st.journal_keys, 6);
		i = bt_extmap_seek(&view, 0, e[31]);
		cr_expect(i < view.nr && KEY_PTRS(bt_extmap_key(&view, i)) == 0,
			  "no hole over sector %llu", (unsigned long long)e[31]);
		bt_extmap_exit(&view);
		t_cset_close(&s);
	}
	cr_expect_eq(check_same(g.cache), 0);
	t_gen_free(&g);
}

/*
 * Leaves whose keys overlap (tests/fsck/btree-extents-overlap): the stream
 * goes over to the built view, at once or by starting again.
 */
GOLDEN_TEST(view_stream, overlapping_leaves_restart)
{
	char *cache = t_golden_image("s07-writethrough-clean", "cache"), *err = NULL;

	cr_assert_eq(t_sh(NULL, &err, "'%s/tests/tools/corrupt' '%s' root-key 1 1 offset 1020 "
			  "--fix-csum", getenv("BT_BUILD"), cache), 0, "%s", err);
	/* the stream's own first walk sees it before handing out a key */
	cr_expect_eq(check_same_as(cache, false), 0, "a restart after keys were handed out");
	cr_expect_eq(check_same_as(cache, true), 1, "the overlap was not seen");
	free(err);
	free(cache);
}
