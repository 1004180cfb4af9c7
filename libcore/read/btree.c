/* btree.c --- read a btree node, accept its bsets and merge them exactly as
 * the kernel does (btree.c bch_btree_node_read_done(), bset.c
 * btree_mergesort(), extents.c bch_extent_sort_fixup()).
 *
 * The merge reproduces the kernel's iterator heap operation for operation,
 * so that even damaged input (overlaps inside one bset, unsorted keys)
 * yields the key stream the kernel would build.
 */
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/read/btree.h"
#include "libcore/ondisk/keylist.h"
#include "libcore/base/errcode.h"

static const char *devname(const struct cache_set *c)
{
	return c->dev && c->dev->path ? c->dev->path : "?";
}

/* ---- pointer checks ------------------------------------------------- */

static void ptr_msg(struct printbuf *err, const struct bkey *k, unsigned level,
		    const char *what)
{
	prt_printf(err, "%s in btree node pointer ", what);
	bt_bkey_to_text(err, k);
	prt_printf(err, " at level %u", level);
}

int bt_btree_ptr_check(const struct cache_set *c, const struct bkey *k, unsigned level,
		       struct printbuf *err)
{
	uint64_t b, end;

	if (!KEY_PTRS(k) || !KEY_SIZE(k)) {
		ptr_msg(err, k, level, !KEY_PTRS(k) ? "no pointer" : "zero size");
		return -BT_ERR_BTREE_PTR_BAD_SIZE;
	}
	if (!bt_ptr_available(k, 0)) {
		ptr_msg(err, k, level, "bad device");
		prt_printf(err, ": device %llu is not a cache of this set",
			   (unsigned long long)PTR_DEV(k, 0));
		return -BT_ERR_BTREE_PTR_BAD_DEV;
	}
	b = PTR_BUCKET_NR(c, k, 0);
	if (b < c->first_bucket || b >= c->nbuckets) {
		ptr_msg(err, k, level, "bucket out of range");
		prt_printf(err, ": bucket %llu not in [%u, %llu) of '%s'",
			   (unsigned long long)b, c->first_bucket,
			   (unsigned long long)c->nbuckets, devname(c));
		return -BT_ERR_BTREE_PTR_BAD_BUCKET;
	}
	if (PTR_OFFSET(k, 0) & (c->bucket_size - 1)) {
		ptr_msg(err, k, level, "node not at a bucket start");
		prt_printf(err, ": sector %llu is %llu sectors into bucket %llu",
			   (unsigned long long)PTR_OFFSET(k, 0),
			   (unsigned long long)(PTR_OFFSET(k, 0) & (c->bucket_size - 1)),
			   (unsigned long long)b);
		return -BT_ERR_BTREE_PTR_NOT_BUCKET_START;
	}
	if (KEY_SIZE(k) > c->bucket_size) {
		ptr_msg(err, k, level, "node larger than a bucket");
		prt_printf(err, ": %llu sectors, bucket size %u",
			   (unsigned long long)KEY_SIZE(k), c->bucket_size);
		return -BT_ERR_BTREE_PTR_BAD_SIZE;
	}
	end = (PTR_OFFSET(k, 0) + KEY_SIZE(k)) << SECTOR_SHIFT;
	if (c->dev && end > c->dev->size) {
		ptr_msg(err, k, level, "node past the end of the device");
		prt_printf(err, ": ends at byte %llu, '%s' has %llu bytes",
			   (unsigned long long)end, devname(c),
			   (unsigned long long)c->dev->size);
		return -BT_ERR_BTREE_PTR_PAST_DEVICE;
	}
	return 0;
}

/* ---- the kernel's iterator heap ------------------------------------- */

struct iter_set {
	size_t	k, end;			/* u64 offsets into the work array */
};

struct sort_iter {
	uint64_t	*w;		/* all accepted bsets' keys, in node order */
	struct iter_set	*data;
	size_t		used;
	bool		extents;
	/*
	 * Fixup steps left. Every step consumes a key, cuts one so that it no
	 * longer overlaps, or ends the loop, so a few steps per key always
	 * suffice; the budget only bounds the loop on input we did not foresee.
	 */
	size_t		budget;
};

static struct bkey *wkey(const struct sort_iter *it, size_t off)
{
	return (struct bkey *)(it->w + off);
}

/* btree_iter_cmp(): used while pushing. */
static bool push_cmp(const struct sort_iter *it, struct iter_set l, struct iter_set r)
{
	return bkey_cmp(wkey(it, l.k), wkey(it, r.k)) > 0;
}

/* bch_key_sort_cmp() / bch_extent_sort_cmp(): ties put the later bset first. */
static bool sort_cmp(const struct sort_iter *it, struct iter_set l, struct iter_set r)
{
	struct bkey *lk = wkey(it, l.k), *rk = wkey(it, r.k);
	int64_t c = it->extents ? bkey_cmp_start(lk, rk) : bkey_cmp(lk, rk);

	return c ? c > 0 : l.k < r.k;
}

typedef bool (*heap_cmp_fn)(const struct sort_iter *, struct iter_set, struct iter_set);

static void heap_swap(struct sort_iter *it, size_t i, size_t j)
{
	struct iter_set t = it->data[i];

	it->data[i] = it->data[j];
	it->data[j] = t;
}

/* util.h heap_sift(): move entry i towards the leaves. */
static void heap_sift(struct sort_iter *it, size_t i, heap_cmp_fn cmp)
{
	size_t r, j = i;

	for (; j * 2 + 1 < it->used; j = r) {
		r = j * 2 + 1;
		if (r + 1 < it->used && cmp(it, it->data[r], it->data[r + 1]))
			r++;
		if (cmp(it, it->data[r], it->data[j]))
			break;
		heap_swap(it, r, j);
	}
}

/* util.h heap_add(): append, move towards the root, then sift. */
static void heap_add(struct sort_iter *it, struct iter_set s, heap_cmp_fn cmp)
{
	size_t i = it->used++;

	it->data[i] = s;
	while (i) {
		size_t p = (i - 1) / 2;

		if (cmp(it, it->data[i], it->data[p]))
			break;
		heap_swap(it, i, p);
		i = p;
	}
	heap_sift(it, i, cmp);
}

/* extents.c sort_key_next(): advance set i, dropping it at its end. */
static void sort_key_next(struct sort_iter *it, size_t i)
{
	it->data[i].k += bkey_u64s(wkey(it, it->data[i].k));
	if (it->data[i].k >= it->data[i].end)
		it->data[i] = it->data[--it->used];
}

/* bset.c __bch_btree_iter_next() with the sort comparison. */
static struct bkey *iter_next(struct sort_iter *it)
{
	struct bkey *ret = wkey(it, it->data[0].k);

	it->data[0].k += bkey_u64s(ret);
	if (it->data[0].k >= it->data[0].end)
		it->data[0] = it->data[--it->used];
	if (it->used > 1)
		heap_sift(it, 0, sort_cmp);
	return ret;
}

/*
 * extents.c bch_extent_sort_fixup(): resolve overlaps between the heap's top
 * key and the next keys of other bsets. Returns tmp when the top key had to
 * be split (its front part is emitted from tmp), else NULL.
 */
static struct bkey *extent_sort_fixup(struct sort_iter *it, struct bkey *tmp)
{
	while (it->used > 1 && it->budget && it->budget--) {
		size_t i = 1;
		struct bkey *top, *ik;
		struct bkey_padded start;

		if (it->used > 2 && sort_cmp(it, it->data[1], it->data[2]))
			i = 2;
		top = wkey(it, it->data[0].k);
		ik = wkey(it, it->data[i].k);

		if (bkey_cmp_to_start(top, ik) <= 0)
			break;
		if (!KEY_SIZE(ik)) {
			sort_key_next(it, i);
			heap_sift(it, i, sort_cmp);
			continue;
		}
		if (it->data[0].k > it->data[i].k) {
			/* top is from a later bset: it wins */
			if (bkey_cmp(top, ik) >= 0)
				sort_key_next(it, i);
			else
				bt_cut_front(top, ik);
			heap_sift(it, i, sort_cmp);
		} else {
			/* ik is from a later bset and starts inside top */
			bt_start_key(ik, &start);
			if (bkey_cmp(ik, top) < 0) {
				bt_bkey_copy(tmp, top);
				bt_cut_back((struct bkey *)&start, tmp);
				bt_cut_front(ik, top);
				heap_sift(it, 0, sort_cmp);
				return tmp;
			}
			bt_cut_back((struct bkey *)&start, top);
		}
	}
	return NULL;
}

/* ---- output arrays -------------------------------------------------- */

/* Is k dropped by the kernel's read (bch_ptr_invalid())? Counts zero-size keys. */
static bool read_invalid(const struct cache_set *c, struct bt_node *n,
			 const struct bkey *k, bool *record)
{
	*record = false;
	if (n->level) {
		*record = bt_btree_ptr_invalid(c, k);
		return *record;
	}
	switch (bt_extent_invalid(c, k)) {
	case BT_EXTENT_VALID:
		return false;
	case BT_EXTENT_ZERO_SIZE:
		n->nr_zero_size++;
		return true;
	case BT_EXTENT_INVALID:
		break;
	}
	*record = true;
	return true;
}

/*
 * bset.c btree_mergesort() with fixup and without stale removal: pop keys
 * in order, drop invalid ones, merge adjacent extents.
 */
static int mergesort(const struct cache_set *c, struct bt_node *n, struct sort_iter *it,
		     unsigned flags)
{
	struct bt_keylist out = { 0 }, bad = { 0 };
	uint64_t tmpbuf[2 + 8];
	struct bkey *tmp = (struct bkey *)tmpbuf;
	size_t last = SIZE_MAX;
	int ret = 0;

	for (long i = (long)it->used / 2 - 1; i >= 0; --i)
		heap_sift(it, (size_t)i, sort_cmp);
	/* merges only shrink the output; a split adds a key: grow past this only then */
	if (bt_keylist_reserve(&out, n->bset_u64s + 2 * KEY_MAX_U64S))
		return -ENOMEM;

	while (it->used) {
		struct bkey *k = it->extents ? extent_sort_fixup(it, tmp) : NULL;
		bool record;

		if (it->extents && !it->budget) {
			ret = -BT_ERR_BTREE_NODE_BAD;
			break;
		}

		if (!k)
			k = iter_next(it);
		if (read_invalid(c, n, k, &record)) {
			if (record && (ret = bt_keylist_push(&bad, k)))
				break;
			continue;
		}
		if (last != SIZE_MAX && it->extents && !(flags & BT_NODE_NO_MERGE) &&
		    bt_extent_try_merge(c, (struct bkey *)(out.d + last), k))
			continue;
		last = out.u64s;
		if ((ret = bt_keylist_push(&out, k)))
			break;
	}
	n->keys = out.d;
	n->u64s = out.u64s;
	n->nr_keys = out.nr;
	n->invalid = bad.d;
	n->invalid_u64s = bad.u64s;
	n->nr_invalid = bad.nr;
	n->mem_bytes += (out.size + bad.size) * 8;
	return ret;
}

/* ---- node read ------------------------------------------------------ */

static void node_where(const struct cache_set *c, const struct bkey *k,
		       struct bt_node_where *w)
{
	w->dev = devname(c);
	w->bucket = PTR_BUCKET_NR(c, k, 0);
	w->byte = PTR_OFFSET(k, 0) << SECTOR_SHIFT;
}

static void node_msg(struct printbuf *err, const char *what, const struct bt_node_where *w,
		     unsigned block, unsigned keys, uint64_t block_bytes)
{
	prt_printf(err, "%s at bucket %llu, block %u, %u keys (byte %llu of '%s')",
		   what, (unsigned long long)w->bucket, block, keys,
		   (unsigned long long)(w->byte + block * block_bytes), w->dev);
}

/* Queue the keys of the checked bset i for the merge. */
static void take_bset(struct bt_node *n, struct sort_iter *it, size_t *off,
		      const struct bset *i, const struct bt_bset_info *info)
{
	if (info->keys) {
		memcpy(it->w + *off, i->d, (size_t)info->keys * 8);
		heap_add(it, (struct iter_set){ *off, *off + info->keys }, push_cmp);
		*off += info->keys;
	}
	n->nsets++;
	n->bset_u64s += info->keys;
}

/* Keep the order fault of the bset at block in n->order. Returns 0 or -ENOMEM. */
static int note_order_fault(struct bt_node *n, unsigned block, enum bt_bset_order_fault fault,
			    const struct bkey *prev, const struct bkey *k)
{
	struct bt_bset_order *o = realloc(n->order, (n->nr_order + 1) * sizeof(*o));

	if (!o)
		return -ENOMEM;
	n->order = o;
	o += n->nr_order++;
	memset(o, 0, sizeof(*o));
	o->block = block;
	o->fault = fault;
	memcpy(o->key, k, bkey_bytes(k));
	memcpy(o->prev, prev, bkey_bytes(prev));
	n->mem_bytes += sizeof(*o);
	return 0;
}

/*
 * The first key of the checked bset i (at block) that breaks its order,
 * into n->order: keys sorted and, in a leaf, extents of one inode not
 * overlapping (enum bt_bset_order_fault). A zero-size leaf key is checked
 * but not checked against. Returns 0 or -ENOMEM.
 */
static int check_bset_order(struct bt_node *n, const struct bset *i, unsigned block)
{
	const struct bkey *k, *prev = NULL;
	size_t pos = 0;
	bool overrun = false;

	while ((k = bt_bset_next_key(i, &pos, &overrun))) {
		enum bt_bset_order_fault fault = 0;

		if (prev && bkey_cmp(prev, k) > 0)
			fault = BT_BSET_KEYS_UNSORTED;
		else if (prev && !n->level && KEY_SIZE(k) && KEY_SIZE(prev) &&
			 KEY_INODE(prev) == KEY_INODE(k) && KEY_START(k) < KEY_OFFSET(prev))
			fault = BT_BSET_EXTENTS_OVERLAP;
		if (fault)
			return note_order_fault(n, block, fault, prev, k);
		if (KEY_SIZE(k) || n->level)
			prev = k;
	}
	return 0;
}

/*
 * BT_NODE_SALVAGE: queue the keys of a verified bset that keep its order;
 * a key above its successor or below its predecessor goes to n->suspect
 * instead (the bset verified, so the damage was written with it: which of
 * the two keys is wrong cannot be told, neither is trusted).
 */
static int take_bset_salvage(struct bt_node *n, struct sort_iter *it, size_t *off,
			     const struct bset *i, const struct bt_bset_info *info)
{
	const struct bkey *k, **keys;
	size_t nr = 0, pos = 0, start = *off;
	bool overrun = false;

	keys = malloc(((size_t)info->keys / 2 + 1) * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	while ((k = bt_bset_next_key(i, &pos, &overrun)) && !overrun)
		keys[nr++] = k;
	for (size_t j = 0; j < nr; j++) {
		bool bad = (j && bkey_cmp(keys[j - 1], keys[j]) > 0) ||
			   (j + 1 < nr && bkey_cmp(keys[j], keys[j + 1]) > 0);
		size_t u64s = bkey_u64s(keys[j]);

		if (bad) {
			uint64_t *sp = realloc(n->suspect, (n->suspect_u64s + u64s) * 8);

			if (!sp) {
				free(keys);
				return -ENOMEM;
			}
			memcpy(sp + n->suspect_u64s, keys[j], u64s * 8);
			n->suspect = sp;
			n->suspect_u64s += u64s;
			continue;
		}
		memcpy(it->w + *off, keys[j], u64s * 8);
		*off += u64s;
	}
	free(keys);
	if (*off > start)
		heap_add(it, (struct iter_set){ start, *off }, push_cmp);
	n->nsets++;
	n->bset_u64s += *off - start;
	return 0;
}

/*
 * BT_NODE_SALVAGE: every block that starts a bset of the node's seq which
 * verifies is taken; a block that does not is skipped (one block at a
 * time, so a bset after a damaged one is still found).
 */
static int salvage_bsets(const struct cache_set *c, struct bt_node *n, const void *buf,
			 const struct bt_node_where *w, struct sort_iter *it,
			 struct printbuf *err)
{
	uint64_t seed = bk_ptr((const struct bkey *)&n->key, 0);
	struct printbuf skip = PRINTBUF;
	size_t off = 0;

	for (unsigned b = 0; b < n->btree_blocks; ) {
		const struct bset *i = bt_node_bset(c, buf, b);
		struct bt_bset_info info;

		if (le64toh(i->seq) != n->seq) {
			b++;
			continue;
		}
		printbuf_reset(&skip);
		if (bt_bset_check(c, buf, n->btree_blocks, b, seed, b == 0, w, &info, &skip)) {
			n->bad_bsets++;
			b++;
			continue;
		}
		if (take_bset_salvage(n, it, &off, i, &info)) {
			printbuf_exit(&skip);
			return -ENOMEM;
		}
		b += (unsigned)info.blocks;
		n->written = b;
	}
	printbuf_exit(&skip);
	if (!n->nsets) {
		node_msg(err, "no bset verifies", w, 0, 0, bt_block_bytes(c));
		prt_printf(err, ": %u bsets of seq %#llx are damaged", n->bad_bsets,
			   (unsigned long long)n->seq);
		return -BT_ERR_BSET_BAD_CSUM;
	}
	return 0;
}

/* Accept bsets from block 0 while they carry the first seq; fill it. */
static int accept_bsets(const struct cache_set *c, struct bt_node *n, const void *buf,
			const struct bt_node_where *w, struct sort_iter *it,
			unsigned flags, struct printbuf *err)
{
	const struct bset *first = bt_node_bset(c, buf, 0);
	uint64_t seed = bk_ptr((const struct bkey *)&n->key, 0);
	size_t off = 0;
	int ret;

	n->seq = le64toh(first->seq);
	if (!n->seq) {
		node_msg(err, "bad btree header", w, 0, le32toh(first->keys), bt_block_bytes(c));
		prt_str(err, ": first bset has seq 0");
		return -BT_ERR_BTREE_NODE_SEQ_ZERO;
	}
	if (flags & BT_NODE_SALVAGE)
		return salvage_bsets(c, n, buf, w, it, err);
	while (n->written < n->btree_blocks &&
	       le64toh(bt_node_bset(c, buf, n->written)->seq) == n->seq) {
		struct bt_bset_info info;
		const struct bset *i = bt_node_bset(c, buf, n->written);

		ret = bt_bset_check(c, buf, n->btree_blocks, n->written, seed,
				    n->written == 0, w, &info, err);
		if (ret)
			return ret;
		ret = check_bset_order(n, i, n->written);
		if (ret)
			return ret;
		take_bset(n, it, &off, i, &info);
		n->written += (unsigned)info.blocks;
	}
	return 0;
}

/* Blocks after the accepted bsets must not carry the node's seq. */
static int check_leftovers(const struct cache_set *c, const struct bt_node *n,
			   const void *buf, const struct bt_node_where *w,
			   struct printbuf *err)
{
	uint64_t sectors = KEY_SIZE((const struct bkey *)&n->key);

	/* as the kernel: every block that starts inside KEY_SIZE sectors */
	for (uint64_t b = n->written; (b << c->block_bits) < sectors; b++) {
		const struct bset *i = bt_node_bset(c, buf, (unsigned)b);

		if (le64toh(i->seq) == n->seq) {
			node_msg(err, "corrupted btree", w, (unsigned)b, le32toh(i->keys),
				 bt_block_bytes(c));
			prt_printf(err, ": block carries the node seq %#llx after the last valid bset (block %u)",
				   (unsigned long long)n->seq, n->written);
			return -BT_ERR_BTREE_NODE_CORRUPTED;
		}
	}
	return 0;
}

/* The kernel's "short btree key" test and our unconditional one. */
static int check_last_key(const struct cache_set *c, struct bt_node *n,
			  const struct bt_node_where *w, struct printbuf *err)
{
	const struct bkey *last = bt_node_last_key(n);
	const struct bkey *nk = (const struct bkey *)&n->key;
	/* bset.c bch_bset_build_written_tree(): a lookup tree needs >= 2 cachelines of 128 bytes */
	bool has_tree = (BSET_HEADER_BYTES + n->u64s * 8) / 128 >= 2;

	if (!last || bkey_cmp(last, nk) <= 0)
		return 0;
	n->key_past_node = true;
	if (!has_tree)
		return 0;
	node_msg(err, "short btree key", w, 0, (unsigned)n->u64s, bt_block_bytes(c));
	prt_str(err, ": last key ");
	bt_bkey_to_text(err, last);
	prt_str(err, " is past the node key ");
	bt_bkey_to_text(err, nk);
	return -BT_ERR_BTREE_NODE_SHORT_KEY;
}

int bt_btree_node_parse(const struct cache_set *c, const struct bkey *k, unsigned level,
			const void *buf, unsigned flags, struct bt_node **out,
			struct printbuf *err)
{
	struct bt_node *n = calloc(1, sizeof(*n));
	struct sort_iter it = { 0 };
	struct bt_node_where w;
	size_t bytes = (size_t)KEY_SIZE(k) << SECTOR_SHIFT;
	int ret;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	memcpy(&n->key, k, bkey_bytes(k));
	n->level = level;
	n->bucket = PTR_BUCKET_NR(c, k, 0);
	n->ptr_gen = (unsigned)PTR_GEN(k, 0);
	n->btree_blocks = (unsigned)(KEY_SIZE(k) >> c->block_bits);
	n->mem_bytes = sizeof(*n);
	node_where(c, k, &w);

	if (!n->btree_blocks || bytes < bt_block_bytes(c)) {
		node_msg(err, "bad btree header", &w, 0, 0, bt_block_bytes(c));
		prt_printf(err, ": node of %llu sectors holds no block",
			   (unsigned long long)KEY_SIZE(k));
		ret = -BT_ERR_BTREE_PTR_BAD_SIZE;
		goto err;
	}
	/* each bset takes >= 1 block: at most btree_blocks sets, bytes/8 u64s */
	it.w = malloc(bytes);
	it.data = calloc(n->btree_blocks, sizeof(*it.data));
	it.extents = level == 0;
	ret = -ENOMEM;
	if (!it.w || !it.data)
		goto err;

	ret = accept_bsets(c, n, buf, &w, &it, flags, err);
	if (!ret && !(flags & BT_NODE_SALVAGE))
		ret = check_leftovers(c, n, buf, &w, err);
	it.budget = 8 * (size_t)n->bset_u64s + 64;
	if (!ret) {
		ret = mergesort(c, n, &it, flags);
		if (ret == -BT_ERR_BTREE_NODE_BAD)
			node_msg(err, "bset merge did not converge", &w, 0, (unsigned)n->bset_u64s,
				 bt_block_bytes(c));
	}
	if (!ret)
		ret = check_last_key(c, n, &w, err);
	if (ret == -BT_ERR_BTREE_NODE_SHORT_KEY && (flags & BT_NODE_SALVAGE)) {
		printbuf_reset(err);
		ret = 0;
	}
err:
	free(it.w);
	free(it.data);
	if (ret) {
		bt_node_free(n);
		return ret;
	}
	*out = n;
	return 0;
}

int bt_btree_node_read(const struct cache_set *c, const struct bkey *k, unsigned level,
		       unsigned flags, struct bt_node **out, struct printbuf *err)
{
	int ret;

	*out = NULL;
	ret = bt_btree_ptr_check(c, k, level, err);
	return ret ? ret : bt_btree_node_read_unchecked(c, k, level, flags, out, err);
}

int bt_btree_node_read_unchecked(const struct cache_set *c, const struct bkey *k, unsigned level,
				 unsigned flags, struct bt_node **out, struct printbuf *err)
{
	size_t bytes;
	void *buf;
	int ret;

	*out = NULL;
	bytes = (size_t)KEY_SIZE(k) << SECTOR_SHIFT;
	buf = malloc(bytes);
	if (!buf)
		return -ENOMEM;
	ret = bt_dev_read(c->dev, buf, bytes, PTR_OFFSET(k, 0) << SECTOR_SHIFT,
			  "btree node", err);
	if (ret) {
		prt_printf(err, "\nio error reading bucket %llu",
			   (unsigned long long)PTR_BUCKET_NR(c, k, 0));
	} else {
		ret = bt_btree_node_parse(c, k, level, buf, flags, out, err);
	}
	free(buf);
	return ret;
}

void bt_node_free(struct bt_node *n)
{
	if (!n)
		return;
	free(n->keys);
	free(n->invalid);
	free(n->suspect);
	free(n->order);
	free(n);
}

const struct bkey *bt_node_last_key(const struct bt_node *n)
{
	const struct bkey *k, *last = NULL;

	for_each_node_key(n, k)
		last = k;
	return last;
}

void bt_node_to_text(struct printbuf *out, const struct bt_node *n)
{
	prt_printf(out, "level %u bucket %llu gen %u seq %#llx bsets %u u64s %llu keys %zu",
		   n->level, (unsigned long long)n->bucket, n->ptr_gen,
		   (unsigned long long)n->seq, n->nsets, (unsigned long long)n->bset_u64s,
		   n->nr_keys);
	if (n->nr_invalid)
		prt_printf(out, " invalid %zu", n->nr_invalid);
	if (n->key_past_node)
		prt_str(out, " key past node key");
}
