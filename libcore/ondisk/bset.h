/* bset.h --- one bset of a btree node: header checks, key iteration, encoder.
 *
 * A btree node is a log of bsets at block boundaries (FORMAT.md §4). This
 * file checks one bset in a node buffer the way the loop of btree.c
 * bch_btree_node_read_done() does, and walks its keys with bounds checks.
 */
#ifndef BCACHE_TOOL_BSET_H
#define BCACHE_TOOL_BSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"

/* Where a node is, for messages. */
struct bt_node_where {
	const char	*dev;		/* device path */
	uint64_t	bucket;		/* bucket of the node */
	uint64_t	byte;		/* byte offset of the node on the device */
};

/* The header of a bset as found at a block of a node. */
struct bt_bset_info {
	unsigned	block;		/* block index inside the node */
	uint64_t	seq;
	unsigned	version;
	uint32_t	keys;		/* u64s of keys */
	uint64_t	bytes;		/* 32 + 8 * keys */
	uint64_t	blocks;		/* set_blocks(): bytes rounded up to blocks */
};

/* Bytes of one block of c. */
static inline size_t bt_block_bytes(const struct cache_set *c)
{
	return (size_t)c->block_size << SECTOR_SHIFT;
}

/* The bset at block `block` of a node buffer (no checks). */
static inline const struct bset *bt_node_bset(const struct cache_set *c,
					      const void *node, unsigned block)
{
	return (const struct bset *)((const char *)node + (size_t)block * bt_block_bytes(c));
}

/* Decode the header of the bset at block `block` into *info (no checks). */
void bt_bset_info(const struct cache_set *c, const void *node, unsigned block,
		  struct bt_bset_info *info);

/*
 * bt_bset_csum(): the checksum a bset of this version must carry:
 * version 0: bch_crc64 of bytes [8, 32 + 8*keys); version 1: the same
 * bytes seeded with seed = the raw first pointer word of the key that
 * references the node (btree.c btree_csum_set()). The caller ensures
 * the bytes lie inside its buffer.
 */
uint64_t bt_bset_csum(const struct bset *i, uint64_t seed);

/*
 * bt_bset_check(): check the bset at block `block` of a node buffer of
 * btree_blocks blocks (node points at btree_blocks * block bytes), in the
 * order of bch_btree_node_read_done():
 *   version > 1                       -BT_ERR_BSET_BAD_VERSION  "unsupported bset version"
 *   block + set_blocks > btree_blocks -BT_ERR_BSET_TOO_BIG      "bad btree header"
 *   magic != c->bset_magic            -BT_ERR_BSET_BAD_MAGIC    "bad magic"
 *   csum mismatch (version 0 or 1)    -BT_ERR_BSET_BAD_CSUM     "bad checksum"
 *   !first && keys == 0               -BT_ERR_BSET_EMPTY        "empty set"
 * then (our addition) every key must lie inside the bset:
 *                                     -BT_ERR_BSET_KEY_OVERRUN  "key overruns bset"
 * seed is the raw ptr[0] word of the node's key. The message reads
 * "<check> at bucket B, block K, N keys (byte X of 'dev')..." with the
 * kernel's text first. Returns 0 and fills *info (always filled).
 */
int bt_bset_check(const struct cache_set *c, const void *node, unsigned btree_blocks,
		  unsigned block, uint64_t seed, bool first,
		  const struct bt_node_where *w, struct bt_bset_info *info,
		  struct printbuf *err);

/*
 * Walk the keys of a bset that passed bt_bset_check(): start with
 * *pos = 0; each call returns the key at u64 offset *pos of i->d and
 * advances *pos past it, or NULL at the end. A key running past keys
 * returns NULL and sets *overrun (never for a checked bset).
 */
static inline const struct bkey *bt_bset_next_key(const struct bset *i, size_t *pos,
						  bool *overrun)
{
	size_t keys = le32toh(i->keys);
	const struct bkey *k;

	if (*pos >= keys)
		return NULL;
	k = (const struct bkey *)&i->d[*pos];
	if (keys - *pos < 2 || keys - *pos < bkey_u64s(k)) {
		if (overrun)
			*overrun = true;
		return NULL;
	}
	*pos += bkey_u64s(k);
	return k;
}

/* bt_bset_to_text(): "block K: seq S version V keys N (u64s) csum C". */
void bt_bset_to_text(struct printbuf *out, const struct bt_bset_info *info,
		     const struct bset *i);

/*
 * bt_random_seq(): a random non-zero u64 (getrandom(), or a time-based
 * fallback when that fails), for a new node's bset seq (bset.c
 * bch_bset_init_next() draws it with get_random_bytes()).
 */
uint64_t bt_random_seq(void);

/*
 * bt_bset_disk_bytes(): bytes a bset of u64s key words occupies on disk
 * (header + keys rounded up to whole blocks of c).
 */
size_t bt_bset_disk_bytes(const struct cache_set *c, size_t u64s);

/*
 * bt_bset_encode(): write one bset at buf: magic c->bset_magic, seq,
 * version 1 (BCACHE_BSET_VERSION), keys = u64s, the keys copied from
 * keys[0..u64s), csum seeded with seed = the raw ptr[0] word (host order,
 * bk_ptr(k, 0)) of the key that references the node (btree.c
 * btree_csum_set(), do_btree_node_write()). The rest of the last block is
 * zeroed. buf_bytes must be at least bt_bset_disk_bytes(c, u64s).
 * Returns the bytes written (whole blocks), or -EINVAL when buf is too
 * small or u64s does not fit the 32-bit keys field (message in err).
 */
long bt_bset_encode(const struct cache_set *c, void *buf, size_t buf_bytes, uint64_t seq,
		    const uint64_t *keys, size_t u64s, uint64_t seed, struct printbuf *err);

/*
 * bt_node_ptr_key(): the pointer key a parent (or jset btree_root) holds
 * for a node in bucket b with gen `gen`: position (inode, offset) of
 * max_key, KEY_SIZE c->btree_node_sectors, one pointer to the bucket's
 * first sector on device c->nr_this_dev (btree.c bch_btree_node_alloc()).
 * k is zeroed first (a padded key).
 */
void bt_node_ptr_key(const struct cache_set *c, uint64_t b, uint8_t gen,
		     const struct bkey *max_key, struct bkey_padded *k);

#endif /* BCACHE_TOOL_BSET_H */
