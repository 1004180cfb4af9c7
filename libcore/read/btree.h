/* btree.h --- reading one btree node the way the kernel does.
 *
 * bt_btree_node_read() follows a node key (after checking the pointer),
 * reads KEY_SIZE sectors, accepts the bsets exactly as btree.c
 * bch_btree_node_read_done() does and merges them into one sorted key
 * array with the rules of bset.c btree_mergesort() and extents.c
 * bch_extent_sort_fixup() (FORMAT.md §4.4, §4.6, errata E1/E4).
 */
#ifndef BCACHE_TOOL_BTREE_H
#define BCACHE_TOOL_BTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcore/ondisk/bset.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"

#define BT_BTREE_MAX_DEPTH	16	/* levels; the kernel's trees stay far below */

/* Options of the merge; 0 = the kernel's behaviour. */
enum bt_node_read_flags {
	BT_NODE_NO_MERGE	= 1 << 0,	/* keep adjacent extents separate */
	/*
	 * fsck's repair read: keep every bset of the node's seq that verifies
	 * and skip the others (n->bad_bsets counts them) instead of failing;
	 * blocks left over and a last key past the node key are not errors.
	 * Still fails when block 0 carries no seq or no bset verifies.
	 */
	BT_NODE_SALVAGE		= 1 << 1,
};

/*
 * How a bset as written breaks its order (FORMAT.md 10 #16): the kernel's
 * insert path keeps a bset's keys sorted and, in a leaf, cuts overlapping
 * extents before the bset is written; its read does not check either, and
 * the merge of the bsets hides both.
 */
enum bt_bset_order_fault {
	BT_BSET_KEYS_UNSORTED = 1,	/* a key sorts before the one before it */
	BT_BSET_EXTENTS_OVERLAP,	/* a leaf extent starts before the previous one ends */
};

/* The first key of one accepted bset that breaks its order. */
struct bt_bset_order {
	unsigned		block;		/* the bset's first block in the node */
	unsigned		fault;		/* enum bt_bset_order_fault */
	uint64_t		key[2 + 7];	/* the key that breaks the order */
	uint64_t		prev[2 + 7];	/* the key it is compared with */
};

/* One btree node, read and merged. All memory is owned by the node. */
struct bt_node {
	uint64_t		key[2 + 7];	/* the key that references the node */
	unsigned		level;		/* 0 = leaf */
	uint64_t		bucket;		/* PTR_BUCKET_NR of ptr 0 */
	unsigned		ptr_gen;	/* PTR_GEN of ptr 0 */
	uint64_t		seq;		/* the node's random seq */
	unsigned		nsets;		/* bsets accepted */
	unsigned		written;	/* blocks covered by the accepted bsets */
	unsigned		btree_blocks;	/* KEY_SIZE in blocks */
	uint64_t		bset_u64s;	/* sum of the accepted bsets' keys fields */
	unsigned		bad_bsets;	/* BT_NODE_SALVAGE: bsets skipped */

	/* the merged keys, packed like a bset's, in the kernel's order */
	uint64_t		*keys;
	size_t			u64s;
	size_t			nr_keys;

	/* keys the kernel drops at read as invalid (fatal "spotted ..." in the kernel) */
	uint64_t		*invalid;
	size_t			invalid_u64s;
	size_t			nr_invalid;
	size_t			nr_zero_size;	/* zero-size leaf keys dropped silently */

	/*
	 * BT_NODE_SALVAGE: keys dropped because they break the order of their
	 * bset (a key above the next one, or below the previous one: one of
	 * them was damaged and which cannot be told), packed like keys
	 */
	uint64_t		*suspect;
	size_t			suspect_u64s;

	/*
	 * the bsets, as written, that break their order: at most one entry
	 * per accepted bset, in block order; NULL when none does (not filled
	 * under BT_NODE_SALVAGE, which drops such keys into suspect)
	 */
	struct bt_bset_order	*order;
	size_t			nr_order;

	bool			key_past_node;	/* last key > node key (found at any size) */
	size_t			mem_bytes;	/* memory held by this node */
	void			*cache_entry;	/* node_cache.c bookkeeping, NULL outside a cache */
};

/* Iterate the merged keys of a node. */
#define for_each_node_key(n, k)						\
	for (k = (struct bkey *)(n)->keys;				\
	     (n)->u64s && (uint64_t *)k < (n)->keys + (n)->u64s;	\
	     k = bkey_next(k))

/* Iterate the keys dropped as out of order (BT_NODE_SALVAGE); the arrays
 * below may be NULL when empty: no pointer arithmetic on them then. */
#define for_each_node_suspect_key(n, k)					\
	for (k = (struct bkey *)(n)->suspect;				\
	     (n)->suspect_u64s &&						\
	     (uint64_t *)k < (n)->suspect + (n)->suspect_u64s;		\
	     k = bkey_next(k))

/* Iterate the keys dropped as invalid. */
#define for_each_node_invalid_key(n, k)					\
	for (k = (struct bkey *)(n)->invalid;				\
	     (n)->invalid_u64s &&						\
	     (uint64_t *)k < (n)->invalid + (n)->invalid_u64s;		\
	     k = bkey_next(k))

/*
 * bt_btree_ptr_check(): may this key be followed to a node? Checks, each
 * with its own code: at least one pointer and size > 0
 * (-BT_ERR_BTREE_PTR_BAD_SIZE), pointer 0's device is this cache
 * (-BT_ERR_BTREE_PTR_BAD_DEV), bucket in [first_bucket, nbuckets)
 * (-BT_ERR_BTREE_PTR_BAD_BUCKET), offset at the bucket's first sector
 * (-BT_ERR_BTREE_PTR_NOT_BUCKET_START), KEY_SIZE <= bucket_size
 * (-BT_ERR_BTREE_PTR_BAD_SIZE), node inside the device
 * (-BT_ERR_BTREE_PTR_PAST_DEVICE). The message names the key in kernel
 * notation and the level.
 */
int bt_btree_ptr_check(const struct cache_set *c, const struct bkey *k, unsigned level,
		       struct printbuf *err);

/*
 * bt_btree_node_parse(): parse a node image buf of KEY_SIZE(k) sectors
 * (caller-owned, not modified) referenced by k at level `level`.
 * Mirrors bch_btree_node_read_done():
 *   first bset seq 0                  -BT_ERR_BTREE_NODE_SEQ_ZERO ("bad btree header")
 *   per bset                          bt_bset_check() codes
 *   a block after the last accepted bset carries the node seq
 *                                     -BT_ERR_BTREE_NODE_CORRUPTED ("corrupted btree")
 *   merged set of >= 2 cachelines whose last key > node key
 *                                     -BT_ERR_BTREE_NODE_SHORT_KEY ("short btree key")
 * Invalid keys are counted and kept in n->invalid, and each bset's first
 * key out of order in n->order: not errors. On success
 * *out is a new node (free with bt_node_free()). -ENOMEM on allocation
 * failure.
 */
int bt_btree_node_parse(const struct cache_set *c, const struct bkey *k, unsigned level,
			const void *buf, unsigned flags, struct bt_node **out,
			struct printbuf *err);

/*
 * bt_btree_node_read(): bt_btree_ptr_check(), read KEY_SIZE(k) sectors at
 * PTR_OFFSET(k, 0) from c->dev, then bt_btree_node_parse(). I/O errors
 * are reported as "io error reading bucket B" with the device's reason.
 */
int bt_btree_node_read(const struct cache_set *c, const struct bkey *k, unsigned level,
		       unsigned flags, struct bt_node **out, struct printbuf *err);

/*
 * bt_btree_node_read_unchecked(): bt_btree_node_read() without the
 * pointer check, which reads the bucket gens (the reader threads of
 * node_pool.h run this; it reads c but changes nothing). Same returns.
 */
int bt_btree_node_read_unchecked(const struct cache_set *c, const struct bkey *k, unsigned level,
				 unsigned flags, struct bt_node **out, struct printbuf *err);

void bt_node_free(struct bt_node *n);

/* The last merged key of n, or NULL when it has none. */
const struct bkey *bt_node_last_key(const struct bt_node *n);

/*
 * bt_node_to_text(): one line: "level L bucket B gen G seq S bsets N
 * u64s U keys K", followed by " invalid I" / " key past node key" when
 * those are found.
 */
void bt_node_to_text(struct printbuf *out, const struct bt_node *n);

#endif /* BCACHE_TOOL_BTREE_H */
