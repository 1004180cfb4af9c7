/* bkey.h --- bkey rules of the kernel: availability, staleness, validity,
 * "bad" keys, ordering, cutting, and the kernel's text notation.
 *
 * Everything here mirrors drivers/md/bcache/extents.c, bset.c and bset.h
 * (FORMAT.md §3). Functions that need the cache geometry or bucket gens
 * take the cache set; c->buckets may be NULL, in which case no pointer is
 * stale (gens unknown).
 */
#ifndef BCACHE_TOOL_BKEY_H
#define BCACHE_TOOL_BKEY_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"

/* bkey_cmp(): inode first, then offset, as signed 64-bit differences (bset.h). */
static inline int64_t bkey_cmp(const struct bkey *l, const struct bkey *r)
{
	if (KEY_INODE(l) != KEY_INODE(r))
		return (int64_t)KEY_INODE(l) - (int64_t)KEY_INODE(r);
	return (int64_t)(KEY_OFFSET(l) - KEY_OFFSET(r));
}

/* Compare the positions (inode, offset) of l and a bare position. */
static inline int64_t bkey_cmp_pos(const struct bkey *l, uint64_t inode, uint64_t offset)
{
	if (KEY_INODE(l) != inode)
		return (int64_t)KEY_INODE(l) - (int64_t)inode;
	return (int64_t)(KEY_OFFSET(l) - offset);
}

/* START_KEY(k): KEY(inode, KEY_START, 0), written into *out (2 words). */
static inline void bt_start_key(const struct bkey *k, struct bkey_padded *out)
{
	bkey_init_pos((struct bkey *)out, KEY_INODE(k), KEY_START(k), 0);
}

/* bkey_cmp(START_KEY(l), START_KEY(r)). */
static inline int64_t bkey_cmp_start(const struct bkey *l, const struct bkey *r)
{
	if (KEY_INODE(l) != KEY_INODE(r))
		return (int64_t)KEY_INODE(l) - (int64_t)KEY_INODE(r);
	return (int64_t)(KEY_START(l) - KEY_START(r));
}

/* bkey_cmp(l, START_KEY(r)). */
static inline int64_t bkey_cmp_to_start(const struct bkey *l, const struct bkey *r)
{
	return bkey_cmp_pos(l, KEY_INODE(r), KEY_START(r));
}

/* True when k is at the ZERO_KEY position (inode 0, offset 0). */
static inline bool bkey_is_zero_pos(const struct bkey *k)
{
	return KEY_INODE(k) == 0 && KEY_OFFSET(k) == 0;
}

/* Copy a whole key (header and pointers) to dst. */
void bt_bkey_copy(struct bkey *dst, const struct bkey *src);

/* ptr_available() (bcache.h, v6.x single cache): PTR_DEV < MAX_CACHES_PER_SET. */
static inline bool bt_ptr_available(const struct bkey *k, unsigned i)
{
	return PTR_DEV(k, i) < MAX_CACHES_PER_SET;
}

/* Sectors into its bucket of pointer i (bucket_remainder()). */
static inline uint64_t bt_ptr_bucket_remainder(const struct cache_set *c,
					       const struct bkey *k, unsigned i)
{
	return PTR_OFFSET(k, i) & ((1ULL << c->bucket_bits) - 1);
}

/*
 * bt_ptr_stale(): gen_after(bucket gen, PTR_GEN) of pointer i (bcache.h
 * ptr_stale()); 0 = not stale. 0 when c->buckets is NULL or the bucket is
 * out of range (such a pointer is invalid, not stale).
 */
unsigned bt_ptr_stale(const struct cache_set *c, const struct bkey *k, unsigned i);

/*
 * Status of a key's pointers, in the order of extents.c bch_ptr_status();
 * bt_ptr_status_str() gives the kernel's text ("" for OK).
 */
enum bt_ptr_status {
	BT_PTR_OK = 0,
	BT_PTR_LENGTH_TOO_BIG,		/* "bad, length too big" */
	BT_PTR_SHORT_OFFSET,		/* "bad, short offset" */
	BT_PTR_PAST_END,		/* "bad, offset past end of device" */
	BT_PTR_STALE,			/* "stale" */
	BT_PTR_NULL_KEY,		/* "bad, null key" */
	BT_PTR_NO_PTRS,			/* "bad, no pointers" */
	BT_PTR_ZEROED,			/* "zeroed key" */
};
enum bt_ptr_status bt_ptr_status(const struct cache_set *c, const struct bkey *k);
const char *bt_ptr_status_str(enum bt_ptr_status s);

/*
 * bt_ptr_invalid(): extents.c __ptr_invalid(): some available pointer has
 * KEY_SIZE + bucket remainder > bucket_size, or its bucket outside
 * [first_bucket, nbuckets).
 */
bool bt_ptr_invalid(const struct cache_set *c, const struct bkey *k);

/*
 * bt_btree_ptr_invalid(): extents.c __bch_btree_ptr_invalid(): no pointer,
 * zero size, dirty, or bt_ptr_invalid(). Fatal in the kernel ("spotted
 * btree ptr %s: %s"). Used for interior-node keys, jset btree_root and
 * uuid_bucket.
 */
bool bt_btree_ptr_invalid(const struct cache_set *c, const struct bkey *k);

/* Verdict of bt_extent_invalid(). */
enum bt_extent_validity {
	BT_EXTENT_VALID = 0,
	BT_EXTENT_ZERO_SIZE,		/* invalid, silently dropped */
	BT_EXTENT_INVALID,		/* invalid, fatal in the kernel ("spotted extent") */
};
/*
 * bt_extent_invalid(): extents.c bch_extent_invalid(): zero size (silent),
 * KEY_SIZE > KEY_OFFSET or bt_ptr_invalid() (fatal).
 */
enum bt_extent_validity bt_extent_invalid(const struct cache_set *c, const struct bkey *k);

/*
 * bt_btree_ptr_bad(): extents.c bch_btree_ptr_bad() without the debug-only
 * checks: ZERO_KEY position, no pointers, invalid, a pointer unavailable
 * or stale. Bad interior keys are skipped by lookups and the tree walk.
 */
bool bt_btree_ptr_bad(const struct cache_set *c, const struct bkey *k);

/* What bt_extent_bad() found besides its verdict. */
struct bt_extent_bad_info {
	unsigned	stale;		/* largest ptr_stale() over the pointers */
	bool		too_stale;	/* stale > BUCKET_GC_GEN_MAX: kernel "key too stale" (fatal) */
	bool		stale_dirty;	/* dirty key with a stale pointer (lost dirty data) */
	bool		check_dev;	/* some pointer has PTR_DEV == PTR_CHECK_DEV */
};
/*
 * bt_extent_bad(): extents.c bch_extent_bad() of v6.x without expensive
 * debug checks: bad when there is no pointer, the key is invalid (zero size
 * included), a pointer is unavailable (check dev) or stale -- dirty keys
 * included (the kernel logs "stale dirty pointer"; kernels before 4.17
 * kept stale dirty keys). info (may be NULL) says how stale and whether
 * the kernel would call it "key too stale" (fatal).
 */
bool bt_extent_bad(const struct cache_set *c, const struct bkey *k,
		   struct bt_extent_bad_info *info);

/*
 * bt_extent_implausible(): why leaf key k cannot be one the kernel wrote
 * for this cache set -- garbage parsed as a key (random bytes in a damaged
 * bset) -- or NULL when it could be real. Stricter than the kernel's
 * validity rules, which skip pointers to unavailable devices: no pointer,
 * KEY_SIZE > KEY_OFFSET, an offset past BT_MAX_DEVICE_SECTORS (no backing
 * device or flash volume is larger), a pointer to a cache device index
 * >= nr_in_set (but PTR_CHECK_DEV in a clean key: the kernel's check keys
 * hold a random offset), a bucket outside [first_bucket, nbuckets), an extent
 * running past the end of its bucket, a uuid slot past those of the uuid
 * bucket (when c->uuids is read). (Sectors past the end of a flash volume are not garbage: the
 * volume's recorded size may be what is wrong.) Returns a static string.
 */
const char *bt_extent_implausible(const struct cache_set *c, const struct bkey *k);
/* The largest block device Linux can have: loff_t bytes (2^63 - 1), in sectors. */
#define BT_MAX_DEVICE_SECTORS	(1ULL << 54)

/* bt_key_bad(): bt_btree_ptr_bad() for level > 0, else bt_extent_bad(). */
bool bt_key_bad(const struct cache_set *c, const struct bkey *k, unsigned level);

/*
 * bt_raise_ptr_gens(): btree.c bch_initial_mark_key() step 1: every
 * available pointer of k that is not stale sets its bucket's gen to the
 * pointer's gen (raising it when the pointer is ahead, as a freeing key
 * is). Pointers outside the device are ignored. Changes c->buckets[].gen.
 */
void bt_raise_ptr_gens(struct cache_set *c, const struct bkey *k);

/*
 * bt_cut_front() / bt_cut_back(): bset.c __bch_cut_front() and
 * __bch_cut_back(). cut_front drops the part of k before position where
 * (advancing every pointer offset by the sectors dropped); cut_back drops
 * the part after where (k's position becomes where). Return true when k
 * changed. where is a position (its size and pointers are ignored).
 */
bool bt_cut_front(const struct bkey *where, struct bkey *k);
bool bt_cut_back(const struct bkey *where, struct bkey *k);

/*
 * bt_bkey_equal_header(): bset.h bch_bkey_equal_header(): same dirty bit,
 * pointer count and csum bits.
 */
bool bt_bkey_equal_header(const struct bkey *l, const struct bkey *r);

/*
 * bt_extent_try_merge(): bset.c bch_bkey_try_merge() with extents.c
 * bch_extent_merge(): when r starts where l ends, headers are equal and
 * every pointer of r continues l's in the same bucket, grow l by r and
 * return true. When the sum would pass 65535 sectors, l is grown to 65535,
 * r is cut at l's new end, and false is returned (as the kernel does).
 */
bool bt_extent_try_merge(const struct cache_set *c, struct bkey *l, struct bkey *r);

/*
 * bt_bkey_to_text(): the kernel's notation (extents.c bch_extent_to_text()):
 * "inode:start len size -> [dev:offset gen g, ...]" then " dirty"; a
 * PTR_CHECK_DEV pointer prints "check dev"; keys with KEY_CSUM set get
 * " cs<csum> <hex>" where hex is the second pointer word when the key has
 * one (the kernel reads that word unconditionally), else 0. Unlike the
 * kernel the text is not cut at 79 characters.
 */
void bt_bkey_to_text(struct printbuf *out, const struct bkey *k);

#endif /* BCACHE_TOOL_BKEY_H */
