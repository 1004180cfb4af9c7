/* test_btree_update.c --- leaf inserts, splits and new roots (btree_update.h)
 * on a copy of the registered-empty golden image, read back with the tree
 * walk.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/write/btree_update.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/node_cache.h"

#define DATA_BUCKET	900	/* first of the buckets the test keys point into */

struct fixture {
	char			*path;
	struct bt_dev		dev;
	struct cache_set	c;
	struct bt_node_cache	*nc;
	struct bt_write_ctx	w;
	struct bt_btree_update	u;
	struct printbuf		err;
};

static void fx_open(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->err = PRINTBUF;
	f->path = t_golden_image("s02-registered-empty", "cache");
	cr_assert_eq(bt_dev_open(f->path, BT_DEV_RDWR | BT_DEV_FORCE, &f->dev, &f->err), 0,
		     "%s", printbuf_str(&f->err));
	cr_assert_eq(bt_cache_set_open(&f->c, &f->dev, 0, &f->err), 0, "%s", printbuf_str(&f->err));
	f->nc = bt_node_cache_new(&f->c, 1 << 20, 0);
	cr_assert(f->nc);
	cr_assert_eq(bt_mark_buckets(&f->c, f->nc, &f->err), 0, "%s", printbuf_str(&f->err));
	/* the test keys' buckets hold data: the allocator must not take them */
	for (uint64_t b = DATA_BUCKET; b < DATA_BUCKET + 64; b++)
		f->c.buckets[b].mark = GC_MARK_DIRTY;
	cr_assert_eq(bt_write_begin(&f->w, &f->c, f->nc), 0);
	bt_btree_update_init(&f->u, &f->w);
}

static void fx_close(struct fixture *f)
{
	bt_btree_update_exit(&f->u);
	bt_write_abort(&f->w);
	bt_node_cache_free(f->nc);
	bt_cache_set_exit(&f->c);
	bt_dev_close(&f->dev);
	printbuf_exit(&f->err);
	free(f->path);
}

/* A dirty extent of inode 0 ending at `end`, 8 sectors, in slot j of the data buckets. */
static void data_key(struct fixture *f, struct bkey_padded *kp, uint64_t end, size_t j)
{
	struct bkey *k = (struct bkey *)kp;
	uint64_t b = DATA_BUCKET + j / (f->c.bucket_size / 8);
	uint64_t slot = j % (f->c.bucket_size / 8);

	memset(kp, 0, sizeof(*kp));
	bkey_init_pos(k, 0, end, 8);
	SET_KEY_DIRTY(k, 1);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, f->c.buckets[b].gen, (b << f->c.bucket_bits) + slot * 8, 0);
}

/* What the walk saw of the new tree. */
struct seen {
	struct cache_set	*c;
	uint64_t		*leaf_ends;	/* KEY_OFFSET of every leaf key, tree order */
	size_t			nr, size;
	unsigned		leaves, interior, max_depth;
	int			bad;		/* first problem, as a line number */
	uint64_t		node_ends[512];	/* KEY_OFFSET of each node's range end, walk order */
	unsigned		nr_nodes;
};

static int seen_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct seen *s = arg;
	const struct bkey *k, *prev = NULL;

	if (pos->depth > s->max_depth)
		s->max_depth = pos->depth;
	if (s->nr_nodes < sizeof(s->node_ends) / sizeof(s->node_ends[0]))
		s->node_ends[s->nr_nodes++] = KEY_OFFSET(pos->end);
	if (n->nr_invalid && !s->bad)
		s->bad = __LINE__;
	for_each_node_key(n, k) {
		/* keys sorted, inside (start, node key] */
		if (prev && bkey_cmp(prev, k) >= 0 && !s->bad)
			s->bad = __LINE__;
		if (bkey_cmp(k, pos->end) > 0 && !s->bad)
			s->bad = __LINE__;
		if (!n->level && bkey_cmp_pos(k, pos->start_inode, pos->start_offset) <= 0 && !s->bad)
			s->bad = __LINE__;
		prev = k;
		if (!n->level) {
			if (s->nr == s->size) {
				s->size = s->size ? 2 * s->size : 1024;
				s->leaf_ends = realloc(s->leaf_ends, s->size * sizeof(uint64_t));
			}
			s->leaf_ends[s->nr++] = KEY_OFFSET(k);
		}
	}
	/* an interior node's last key is its own key: children contiguous up to it */
	if (n->level && (!prev || bkey_cmp(prev, pos->end)) && !s->bad)
		s->bad = __LINE__;
	if (n->level)
		s->interior++;
	else
		s->leaves++;
	return 0;
}

static void walk_new_tree(struct fixture *f, struct seen *s)
{
	struct bt_walk_opts o = { .node_fn = seen_node, .arg = s };

	memset(s, 0, sizeof(*s));
	s->c = &f->c;
	cr_assert_eq(bt_btree_walk(f->nc, (struct bkey *)&f->w.new_root, f->w.new_root_level, &o,
				   &f->err), 0, "%s", printbuf_str(&f->err));
	cr_assert_eq(s->bad, 0, "tree check failed at test line %d", s->bad);
}

/* 400 separate extents into one empty leaf, nodes of 64 u64s: two new root levels */
GOLDEN_TEST(btree_update, splits_and_new_roots)
{
	struct fixture f;
	struct seen s;
	const size_t n = 400;

	fx_open(&f);
	cr_assert_eq(f.c.root_level, 0);
	f.u.max_node_u64s = 64;
	/* inserted in a scrambled order; every key leaves a gap after it (no merge) */
	for (size_t i = 0; i < n; i++) {
		size_t j = (i * 7) % n;
		struct bkey_padded k;

		data_key(&f, &k, 16 * j + 8, j);
		cr_assert_eq(bt_btree_insert_keys(&f.u, k.w, 3, &f.err), 0, "%s",
			     printbuf_str(&f.err));
	}
	cr_assert_eq(bt_btree_update_write(&f.u, &f.err), 0, "%s", printbuf_str(&f.err));
	cr_assert(f.w.root_changed);
	/* 1200 u64s in leaves of <= 64 u64s: 29 leaves, whose 87 u64s of pointers need a level 2 */
	cr_assert_eq(f.w.new_root_level, 2);
	cr_assert_eq(f.u.st.levels_added, 2);
	cr_assert_eq(KEY_INODE((struct bkey *)&f.w.new_root), MAX_KEY_INODE);
	cr_assert_eq(KEY_OFFSET((struct bkey *)&f.w.new_root), MAX_KEY_OFFSET);
	cr_assert_eq(f.u.st.nodes_freed, 1, "only the old root leaf is replaced");

	walk_new_tree(&f, &s);
	cr_assert_eq(s.nr, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(s.leaf_ends[i], 16 * i + 8, "key %zu", i);
	cr_assert_eq(s.max_depth, 2);
	cr_assert_eq(s.leaves + s.interior, f.u.st.nodes_written);
	/*
	 * btree_split()'s 3/5 rule: a cut is made after the key that reaches
	 * 38 u64s (3/5 of 64), so 14 keys per leaf until at most 64 u64s are
	 * left: 28 leaves of 14 keys and one of 8; the 29 pointers give
	 * interior nodes of 14 and 15 pointers under the new root.
	 */
	cr_assert_eq(s.leaves, 29);
	cr_assert_eq(s.interior, 3);
	free(s.leaf_ends);
	fx_close(&f);
}

/*
 * The extents ending at 16 j + 8 for j < 100 written into nodes of 64 u64s:
 * a level 1 tree (not committed).
 */
static void fx_tree_of_100(struct fixture *f)
{
	fx_open(f);
	f->u.max_node_u64s = 64;
	for (size_t j = 0; j < 100; j++) {
		struct bkey_padded k;

		data_key(f, &k, 16 * j + 8, j);
		cr_assert_eq(bt_btree_insert_keys(&f->u, k.w, 3, &f->err), 0, "%s",
			     printbuf_str(&f->err));
	}
	cr_assert_eq(bt_btree_update_write(&f->u, &f->err), 0, "%s", printbuf_str(&f->err));
	cr_assert_eq(f->w.new_root_level, 1);
}

/* A second transaction w2, u2 on the new tree of f's first one. */
static void fx_second_update(struct fixture *f, struct bt_write_ctx *w2,
			     struct bt_btree_update *u2)
{
	f->c.root_key = f->w.new_root;
	f->c.root_level = f->w.new_root_level;
	cr_assert_eq(bt_write_begin(w2, &f->c, f->nc), 0);
	bt_btree_update_init(u2, w2);
}

/* A key spanning several leaves is cut at their boundaries and overwrites them all */
GOLDEN_TEST(btree_update, cut_at_leaf_boundaries)
{
	struct fixture f;
	struct seen s;
	struct bt_write_ctx w2;
	struct bt_btree_update u2;
	struct bkey_padded big;
	size_t inside = 0;

	fx_tree_of_100(&f);

	/* second transaction on the new tree: sectors [100, 300) in one key */
	fx_second_update(&f, &w2, &u2);
	u2.max_node_u64s = 64;
	data_key(&f, &big, 300, 32 * 40);
	SET_KEY_SIZE((struct bkey *)&big, 200);
	cr_assert_eq(bt_btree_insert_keys(&u2, big.w, 3, &f.err), 0, "%s", printbuf_str(&f.err));
	/* the first leaf ends after 14 keys, at 216: two pieces */
	cr_assert_eq(u2.st.keys_inserted, 2);
	cr_assert_eq(bt_btree_update_write(&u2, &f.err), 0, "%s", printbuf_str(&f.err));
	bt_btree_update_exit(&u2);
	f.w.new_root = w2.new_root;
	f.w.new_root_level = w2.new_root_level;
	walk_new_tree(&f, &s);
	/* left: keys ending at <= 100 kept, 96..104 cut to 96..100; from 304 on kept */
	for (size_t i = 0; i < s.nr; i++) {
		uint64_t e = s.leaf_ends[i];

		if (e > 100 && e <= 300)
			inside++;
	}
	cr_assert_eq(inside, u2.st.keys_inserted, "one piece per leaf, nothing else in range: %zu %llu", inside, (unsigned long long)u2.st.keys_inserted);
	cr_assert_eq(s.nr, 7 + inside + (100 - 19), "%zu keys", s.nr);
	free(s.leaf_ends);
	bt_write_abort(&w2);
	fx_close(&f);
}

/*
 * Real node size: 6000 keys of 3 u64s (18000) do not fit a 256-sector node
 * (16372 u64s for a leaf): the root leaf splits in two at the kernel's 3/5
 * point and a level 1 root is committed; the reopened cache set reads it.
 */
GOLDEN_TEST(btree_update, real_split_committed)
{
	struct fixture f;
	struct seen s;
	struct t_cset o;
	const size_t n = 6000;
	size_t limit;

	fx_open(&f);
	cr_assert_eq(f.c.btree_node_sectors, 256, "s02 has 128 KiB buckets and nodes");
	limit = bt_node_max_u64s(&f.c, 0);
	cr_assert_eq(limit, (256 * 512 - 32) / 8 - KEY_MAX_U64S);
	for (uint64_t b = DATA_BUCKET - 200; b < DATA_BUCKET; b++)
		f.c.buckets[b].mark = GC_MARK_DIRTY;
	for (size_t j = 0; j < n; j++) {
		struct bkey_padded k;
		struct bkey *kk = (struct bkey *)&k;

		data_key(&f, &k, 16 * j + 8, 0);
		/* buckets DATA_BUCKET - 200 .. - 13 (32 keys of 8 sectors each) */
		SET_PTR(kk, 0, f.c.buckets[DATA_BUCKET - 200 + j / 32].gen,
			((DATA_BUCKET - 200 + j / 32) << f.c.bucket_bits) + (j % 32) * 8, 0);
		cr_assert_eq(bt_btree_insert_keys(&f.u, k.w, 3, &f.err), 0, "%s",
			     printbuf_str(&f.err));
	}
	cr_assert_eq(bt_btree_update_write(&f.u, &f.err), 0, "%s", printbuf_str(&f.err));
	cr_assert_eq(f.w.new_root_level, 1);
	cr_assert_eq(f.u.st.splits, 1);
	cr_assert_eq(f.u.st.nodes_written, 3);
	walk_new_tree(&f, &s);
	cr_assert_eq(s.nr, n);
	cr_assert_eq(s.leaves, 2);
	free(s.leaf_ends);
	cr_assert_eq(bt_commit(&f.w, &f.err), 0, "%s", printbuf_str(&f.err));
	bt_btree_update_exit(&f.u);
	bt_node_cache_free(f.nc);
	bt_cache_set_exit(&f.c);
	bt_dev_close(&f.dev);

	/* reopened: root level 1; leaves of 3276 keys (3/5 of 18000 u64s reached, plus one) and 2724 */
	t_cset_open(&o, f.path, BT_DEV_FORCE, 0);
	cr_assert_eq(o.c.root_level, 1);
	{
		struct bt_node *root, *leaf;
		const struct bkey *k;
		size_t nr = 0, sizes[2];

		cr_assert_eq(bt_node_cache_get(o.nc, (struct bkey *)&o.c.root_key, 1, &root, &o.err),
			     0, "%s", printbuf_str(&o.err));
		cr_assert_eq(root->nr_keys, 2);
		for_each_node_key(root, k) {
			cr_assert_eq(bt_node_cache_get(o.nc, k, 0, &leaf, &o.err), 0, "%s",
				     printbuf_str(&o.err));
			sizes[nr++] = leaf->nr_keys;
			bt_node_cache_put(o.nc, leaf);
		}
		cr_assert_eq(sizes[0], 3276);
		cr_assert_eq(sizes[1], 2724);
		bt_node_cache_put(o.nc, root);
	}
	t_cset_close(&o);
	printbuf_exit(&f.err);
	free(f.path);
}

/*
 * Splits under an existing parent: a level 1 tree of 7 leaves gets 60 more
 * keys in the range of its first leaves; they split, the root gets more
 * pointers than fit and splits too: level 2. Untouched leaves are kept.
 */
GOLDEN_TEST(btree_update, split_under_existing_parent)
{
	struct fixture f;
	struct seen s;
	struct bt_write_ctx w2;
	struct bt_btree_update u2;

	fx_tree_of_100(&f);
	walk_new_tree(&f, &s);
	cr_assert_eq(s.leaves, 7);	/* 6 of 14 keys, one of 16 */
	free(s.leaf_ends);

	fx_second_update(&f, &w2, &u2);
	/*
	 * smaller nodes now: leaf 0 gets 13 keys (27, 81 u64s), leaves 1-3
	 * 14 (28), each becoming 4 leaves of 8+8+8+3/4 keys; leaf 4 gets 5
	 * (19 keys): 8+8+3. With leaves 5 and 6, 21 pointers (63 u64s)
	 * split the root into 8+8+5 under a new level 2 root
	 */
	u2.max_node_u64s = 32;
	/* [16j + 8, 16j + 16) for j < 60: the gaps of the first 5 leaves */
	for (size_t j = 0; j < 60; j++) {
		struct bkey_padded k;

		data_key(&f, &k, 16 * j + 16, 200 + j);
		cr_assert_eq(bt_btree_insert_keys(&u2, k.w, 3, &f.err), 0, "%s",
			     printbuf_str(&f.err));
	}
	cr_assert_eq(bt_btree_update_write(&u2, &f.err), 0, "%s", printbuf_str(&f.err));
	cr_assert_eq(w2.new_root_level, 2);
	cr_assert_eq(u2.st.levels_added, 1);
	/* the 5 leaves and the old root are replaced; leaves 6 and 7 are not rewritten */
	cr_assert_eq(u2.st.nodes_freed, 6);
	cr_assert_eq(u2.st.splits, 5 + 1);
	f.w.new_root = w2.new_root;
	f.w.new_root_level = w2.new_root_level;
	bt_btree_update_exit(&u2);
	walk_new_tree(&f, &s);
	cr_assert_eq(s.nr, 160);
	for (size_t i = 0, j = 0; i < s.nr; i++) {
		/* 8, 16, 24, 32, ... up to 60 pairs, then 16j + 8 */
		uint64_t want = j < 60 ? (i % 2 ? 16 * j + 16 : 16 * j + 8) : 16 * j + 8;

		cr_assert_eq(s.leaf_ends[i], want, "key %zu", i);
		if (j >= 60 || i % 2)
			j++;
	}
	cr_assert_eq(s.max_depth, 2);
	cr_assert_eq(s.leaves, 21, "%u leaves %u interior", s.leaves, s.interior);
	cr_assert_eq(s.interior, 4);
	free(s.leaf_ends);
	bt_write_abort(&w2);
	fx_close(&f);
}

/*
 * Inserts in key order with the finished leaves written early
 * (bt_btree_update_flush_before()) give the tree the same inserts give
 * written at the end; an insert behind a written leaf is refused.
 */
GOLDEN_TEST(btree_update, flush_before_same_tree)
{
	struct fixture f;
	struct seen s[2];
	struct bkey_padded k;

	for (int flush = 0; flush < 2; flush++) {
		struct bt_write_ctx w2;
		struct bt_btree_update u2;

		fx_tree_of_100(&f);
		fx_second_update(&f, &w2, &u2);
		u2.max_node_u64s = 64;
		/* every other extent again, clean, from the first leaf to the last */
		for (size_t j = 0; j < 100; j += 2) {
			data_key(&f, &k, 16 * j + 8, j);
			SET_KEY_DIRTY((struct bkey *)&k, 0);
			if (flush)
				cr_assert_eq(bt_btree_update_flush_before(&u2, 0, 16 * j, &f.err), 0,
					     "%s", printbuf_str(&f.err));
			cr_assert_eq(bt_btree_insert_keys(&u2, k.w, 3, &f.err), 0, "%s",
				     printbuf_str(&f.err));
		}
		if (flush) {
			/* behind the leaves written: refused, the update unchanged */
			data_key(&f, &k, 8, 0);
			cr_assert_eq(bt_btree_insert_keys(&u2, k.w, 3, &f.err), -EINVAL);
			cr_assert(strstr(printbuf_str(&f.err), "written already"), "%s",
				  printbuf_str(&f.err));
			printbuf_reset(&f.err);
		}
		cr_assert_eq(bt_btree_update_write(&u2, &f.err), 0, "%s", printbuf_str(&f.err));
		bt_btree_update_exit(&u2);
		f.w.new_root = w2.new_root;
		f.w.new_root_level = w2.new_root_level;
		walk_new_tree(&f, &s[flush]);
		bt_write_abort(&w2);
		fx_close(&f);
	}
	cr_assert_eq(s[0].nr, 100);
	cr_assert_eq(s[1].nr, s[0].nr);
	cr_assert_eq(s[1].leaves, s[0].leaves);
	cr_assert_eq(s[1].interior, s[0].interior);
	cr_assert_eq(memcmp(s[1].leaf_ends, s[0].leaf_ends, s[0].nr * sizeof(uint64_t)), 0);
	free(s[0].leaf_ends);
	free(s[1].leaf_ends);
}

/*
 * A bulk load (u->bulk): keys in key order into the empty root leaf of a
 * fresh cache, with bt_btree_update_flush_before() every few keys, give the
 * very tree the same inserts give written at the end: the same leaves with
 * the same ranges, levels and keys; the root leaf gets a parent only when
 * it has to be cut.
 */
GOLDEN_TEST(btree_update, bulk_load_same_tree)
{
	static const size_t counts[] = { 5, 400 };
	struct fixture f;
	struct seen s[2];
	struct bkey_padded k;

	for (size_t c = 0; c < 2; c++) {
		for (int flush = 0; flush < 2; flush++) {
			fx_open(&f);
			f.u.max_node_u64s = 32;		/* 10 keys a leaf: many cuts, 2 levels */
			f.u.bulk = flush;
			for (size_t j = 0; j < counts[c]; j++) {
				data_key(&f, &k, 16 * j + 16, j);
				if (flush && j % 7 == 0)
					cr_assert_eq(bt_btree_update_flush_before(&f.u, 0, 16 * j + 8,
										  &f.err), 0,
						     "%s", printbuf_str(&f.err));
				cr_assert_eq(bt_btree_insert_keys(&f.u, k.w, 3, &f.err), 0, "%s",
					     printbuf_str(&f.err));
			}
			cr_assert_eq(bt_btree_update_write(&f.u, &f.err), 0, "%s",
				     printbuf_str(&f.err));
			walk_new_tree(&f, &s[flush]);
			cr_assert_eq(s[flush].bad, 0, "problem found at line %d", s[flush].bad);
			fx_close(&f);
		}
		cr_assert_eq(s[0].nr, counts[c]);
		cr_assert_eq(s[1].nr, s[0].nr);
		cr_assert_eq(s[1].leaves, s[0].leaves);
		cr_assert_eq(s[1].interior, s[0].interior);
		cr_assert_eq(s[1].max_depth, s[0].max_depth);
		cr_assert_eq(s[1].nr_nodes, s[0].nr_nodes);
		cr_assert_eq(memcmp(s[1].node_ends, s[0].node_ends,
				    s[0].nr_nodes * sizeof(uint64_t)), 0, "node ranges differ");
		cr_assert_eq(memcmp(s[1].leaf_ends, s[0].leaf_ends, s[0].nr * sizeof(uint64_t)), 0);
		if (c == 0)
			cr_assert_eq(s[0].leaves + s[0].interior, 1, "5 keys: one root leaf");
		else
			cr_assert_geq(s[0].max_depth, 2, "400 keys of 10 a leaf: two levels");
		free(s[0].leaf_ends);
		free(s[1].leaf_ends);
	}
}
