/* scan_tree.c --- the btree nodes found by the scan and the choice of the
 * root among them (scan.h, phases 3 and 4). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/bset.h"
#include "libcore/read/btree.h"
#include "libcore/base/errcode.h"
#include "libcore/scan/scan_internal.h"

/* ---- phase 3: the nodes --------------------------------------------- */

static void max_key(struct bkey_padded *k)
{
	memset(k, 0, sizeof(*k));
	bkey_init_pos((struct bkey *)k->w, MAX_KEY_INODE, MAX_KEY_OFFSET, 0);
}

/* The gen with which the first bset of the node in buf verifies, or -1. */
static int node_gen(const struct cache_set *c, uint64_t b, const void *buf)
{
	struct bt_node_where w = { .dev = c->dev->path, .bucket = b, .byte = bt_scan_bucket_byte(c, b) };
	unsigned blocks = c->btree_node_sectors >> c->block_bits;

	for (unsigned d = 0; d <= BT_SCAN_GEN_AHEAD; d++) {
		uint8_t gen = (uint8_t)(c->buckets[b].gen + d);
		struct printbuf tmp = PRINTBUF;
		struct bt_bset_info info;
		int ret = bt_bset_check(c, buf, blocks, 0,
					MAKE_PTR(gen, bt_bucket_to_sector(c, b), c->nr_this_dev),
					true, &w, &info, &tmp);

		printbuf_exit(&tmp);
		if (!ret)
			return gen;
		if (ret != -BT_ERR_BSET_BAD_CSUM)
			return -1;
	}
	return -1;
}

/* Does k look like a pointer to a node (what an interior node holds)? */
static bool node_like(const struct cache_set *c, const struct bkey *k)
{
	return KEY_PTRS(k) && !KEY_DIRTY(k) && !bkey_is_zero_pos(k) &&
	       KEY_SIZE(k) == c->btree_node_sectors && PTR_DEV(k, 0) == c->nr_this_dev &&
	       !bt_ptr_bucket_remainder(c, k, 0) && PTR_BUCKET_NR(c, k, 0) < c->nbuckets;
}

static void note_inode(struct scan_node *sn, uint32_t inode)
{
	for (unsigned i = 0; i < sn->ninodes; i++)
		if (sn->inodes[i] == inode)
			return;
	if (sn->ninodes < NODE_INODES)
		sn->inodes[sn->ninodes++] = inode;
	else
		sn->inodes_overflow = true;
}

static int note_key(const struct cache_set *c, struct scan_node *sn, const struct bkey *k,
		    size_t *size_ptrs)
{
	bool live = KEY_PTRS(k) && KEY_SIZE(k);

	sn->nkeys++;
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		if (!bt_ptr_available(k, i) || PTR_BUCKET_NR(c, k, i) >= c->nbuckets)
			continue;
		if (bt_ptr_stale(c, k, i)) {
			sn->nstale++;
			live = false;
		}
	}
	if (live && !bkey_is_zero_pos(k) && bt_extent_invalid(c, k) == BT_EXTENT_VALID)
		note_inode(sn, (uint32_t)KEY_INODE(k));
	if (node_like(c, k)) {
		size_t nr = sn->nptrs;
		int ret = bt_scan_push_u64(&sn->ptrs, &nr, size_ptrs, le64toh(k->ptr[0]));

		sn->nptrs = (uint32_t)nr;
		return ret;
	}
	return 0;
}

/* Read and verify the node candidate in bucket b; fill sn when it verifies. */
static int scan_one_node(struct scan *s, uint64_t b, void *buf, struct scan_node *sn)
{
	struct cache_set *c = s->c;
	struct printbuf tmp = PRINTBUF;
	struct bkey_padded mk, k;
	struct bt_node *n = NULL;
	const struct bkey *key, *last = NULL;
	size_t size_ptrs = 0;
	int gen, ret = 0;

	memset(sn, 0, sizeof(*sn));
	sn->b = b;
	sn->level = -1;
	if (bt_dev_read(c->dev, buf, (size_t)c->btree_node_sectors << SECTOR_SHIFT,
			bt_scan_bucket_byte(c, b), "btree node", &tmp)) {
		s->r->read_errors++;
		goto out;
	}
	gen = node_gen(c, b, buf);
	if (gen < 0)
		goto out;
	max_key(&mk);
	bt_node_ptr_key(c, b, (uint8_t)gen, (const struct bkey *)&mk, &k);
	/* level 1: keys kept in order, none merged; leaves' extents land in invalid */
	if (bt_btree_node_parse(c, (const struct bkey *)&k, 1, buf, 0, &n, &tmp))
		goto out;
	sn->seed = le64toh(k.w[2]);	/* ptr[0] */
	for_each_node_key(n, key) {
		last = key;
		ret = ret ? ret : note_key(c, sn, key, &size_ptrs);
	}
	for_each_node_invalid_key(n, key)
		ret = ret ? ret : note_key(c, sn, key, &size_ptrs);
	sn->max_key = last && KEY_INODE(last) == MAX_KEY_INODE &&
		      KEY_OFFSET(last) == MAX_KEY_OFFSET;
	sn->verified = !ret;
	s->r->nr_nodes += !ret;
out:
	bt_node_free(n);
	printbuf_exit(&tmp);
	return ret;
}

int bt_scan_nodes(struct scan *s, struct printbuf *err)
{
	struct cache_set *c = s->c;
	void *buf = malloc((size_t)c->btree_node_sectors << SECTOR_SHIFT);
	int ret = 0;

	s->nodes = calloc(s->nr_node_b ? s->nr_node_b : 1, sizeof(*s->nodes));
	s->node_at = malloc(c->nbuckets * sizeof(*s->node_at));
	if (!buf || !s->nodes || !s->node_at) {
		free(buf);
		prt_printf(err, "out of memory scanning the btree nodes of '%s'", c->dev->path);
		return -ENOMEM;
	}
	for (uint64_t b = 0; b < c->nbuckets; b++)
		s->node_at[b] = NO_NODE;
	for (size_t i = 0; i < s->nr_node_b && !ret; i++) {
		bt_scan_progress(s, i, s->nr_node_b);
		ret = scan_one_node(s, s->node_b[i], buf, &s->nodes[s->nr_nodes]);
		if (!ret && s->nodes[s->nr_nodes].verified)
			s->node_at[s->node_b[i]] = (uint32_t)s->nr_nodes++;
		else
			free(s->nodes[s->nr_nodes].ptrs);
	}
	bt_scan_progress(s, s->nr_node_b, s->nr_node_b);
	free(buf);
	if (ret)
		prt_printf(err, "out of memory scanning the btree nodes of '%s'", c->dev->path);
	return ret;
}

/* ---- phase 4: the tree ---------------------------------------------- */

/* A one-pointer key holding the pointer word w (for the PTR_* accessors). */
void bt_scan_ptr_key(uint64_t w, struct bkey_padded *k)
{
	memset(k, 0, sizeof(*k));
	SET_KEY_PTRS((struct bkey *)k->w, 1);
	k->w[2] = htole64(w);	/* ptr[0] */
}

/* Children: the node-like keys whose pointer verifies another node. */
static int link_nodes(struct scan *s)
{
	const struct cache_set *c = s->c;

	for (size_t i = 0; i < s->nr_nodes; i++) {
		struct scan_node *sn = &s->nodes[i];

		sn->children = calloc(sn->nptrs ? sn->nptrs : 1, sizeof(*sn->children));
		if (!sn->children)
			return -ENOMEM;
		for (uint32_t p = 0; p < sn->nptrs; p++) {
			struct bkey_padded k;
			uint64_t b;

			bt_scan_ptr_key(sn->ptrs[p], &k);
			b = PTR_BUCKET_NR(c, (const struct bkey *)&k, 0);
			uint32_t j = s->node_at[b];

			if (j != NO_NODE && j != i && s->nodes[j].seed == sn->ptrs[p]) {
				sn->children[sn->nchildren++] = j;
				s->nodes[j].referenced = true;
			} else if (!bt_ptr_stale(c, (const struct bkey *)&k, 0)) {
				sn->ndangling++;
			}
		}
	}
	return 0;
}

/* Level: 0 without children, else one above the highest child; loops are -3. */
static int node_level(struct scan *s, uint32_t i, unsigned depth)
{
	struct scan_node *sn = &s->nodes[i];
	int level = 0;

	if (sn->level != -1)
		return sn->level == -2 ? -3 : sn->level;
	if (depth > BT_BTREE_MAX_DEPTH)
		return -3;
	sn->level = -2;
	for (uint32_t k = 0; k < sn->nchildren; k++) {
		int l = node_level(s, sn->children[k], depth + 1);

		if (l < 0) {
			level = -3;
			break;
		}
		if (l + 1 > level)
			level = l + 1;
	}
	sn->level = level;
	return level;
}

struct subtree {
	uint64_t	dangling, stale, keys;
	bool		bad;		/* a child at the wrong level */
};

static void walk_subtree(struct scan *s, uint32_t i, uint32_t stamp, unsigned depth,
			 struct subtree *t)
{
	struct scan_node *sn = &s->nodes[i];

	if (depth > BT_BTREE_MAX_DEPTH) {	/* node_level() rejected it already: bound the stack */
		t->bad = true;
		return;
	}
	if (sn->stamp == stamp)
		return;
	sn->stamp = stamp;
	t->keys += sn->nkeys;
	t->stale += sn->nstale;
	if (!sn->nchildren)
		return;
	t->dangling += sn->ndangling;
	for (uint32_t k = 0; k < sn->nchildren; k++) {
		if (s->nodes[sn->children[k]].level != sn->level - 1)
			t->bad = true;
		walk_subtree(s, sn->children[k], stamp, depth + 1, t);
	}
}

/* Is candidate a (subtree ta) better than b (tb)? The rule of scan.h. */
static bool better(const struct scan_node *a, const struct subtree *ta,
		   const struct scan_node *b, const struct subtree *tb)
{
	if (a->level != b->level)
		return a->level > b->level;
	if (a->fresh != b->fresh)
		return a->fresh;
	if (ta->keys - ta->stale != tb->keys - tb->stale)
		return ta->keys - ta->stale > tb->keys - tb->stale;
	if (ta->stale != tb->stale)
		return ta->stale < tb->stale;
	return a->b > b->b;
}

static bool same_score(const struct scan_node *a, const struct subtree *ta,
		       const struct scan_node *b, const struct subtree *tb)
{
	return a->level == b->level && a->fresh == b->fresh && ta->stale == tb->stale &&
	       ta->keys == tb->keys;
}

int bt_scan_choose_root(struct scan *s, struct printbuf *err)
{
	struct cache_set *c = s->c;
	struct bt_scan_result *r = s->r;
	struct subtree *ts = calloc(s->nr_nodes ? s->nr_nodes : 1, sizeof(*ts));
	bool *ok = calloc(s->nr_nodes ? s->nr_nodes : 1, sizeof(*ok));
	uint32_t best = NO_NODE, stamp = 0;
	struct bkey_padded mk, pk;

	if (!ts || !ok || link_nodes(s)) {
		free(ts);
		free(ok);
		prt_printf(err, "out of memory linking the btree nodes of '%s'", c->dev->path);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->nr_nodes; i++)
		node_level(s, i, 0);
	for (uint32_t i = 0; i < s->nr_nodes; i++) {
		struct scan_node *sn = &s->nodes[i];

		if (sn->referenced)
			continue;
		walk_subtree(s, i, ++stamp, 0, &ts[i]);
		sn->fresh = s->prev_gen && s->prev_gen[sn->b] != (uint8_t)(sn->seed & 0xff);
		if (sn->level < 0 || ts[i].bad || ts[i].dangling || (sn->level > 0 && !sn->max_key)) {
			r->nr_rejected_roots++;
			continue;
		}
		ok[i] = true;
		if (best == NO_NODE || better(sn, &ts[i], &s->nodes[best], &ts[best]))
			best = i;
	}
	for (uint32_t i = 0; best != NO_NODE && i < s->nr_nodes; i++) {
		if (!ok[i])
			continue;
		if (same_score(&s->nodes[i], &ts[i], &s->nodes[best], &ts[best]))
			r->nr_root_candidates++;
		else
			r->nr_rejected_roots++;
	}
	free(ts);
	free(ok);
	if (best == NO_NODE) {
		prt_printf(err, "no btree root on '%s': %u nodes verify, none is an unreferenced "
			   "node whose subtree is whole", c->dev->path, r->nr_nodes);
		return -BT_ERR_SCAN_NO_ROOT;
	}
	max_key(&mk);
	bt_scan_ptr_key(s->nodes[best].seed, &pk);
	r->root_bucket = s->nodes[best].b;
	r->root_level = (unsigned)s->nodes[best].level;
	bt_node_ptr_key(c, r->root_bucket, (uint8_t)PTR_GEN((const struct bkey *)&pk, 0),
			(const struct bkey *)&mk, &r->root_key);
	r->root_found = true;
	return 0;
}
