/* encode.h --- pure encoders: the on-disk images of a bset, a prio set, a
 * uuid bucket and a jset, built in a caller's buffer without any I/O.
 *
 * The write path (write.h) uses these inside a transaction; format's cache
 * set initialization uses them directly on a fresh cache. Each encoder
 * needs only c's geometry and magics (bt_cache_set_geometry() on a filled
 * c->sb is enough: no journal, no buckets read). Everything is written
 * little-endian; bytes of the buffer past the structure up to the end of
 * its last block are zeroed. What the readers (bset.c, prio.c, uuid.c,
 * journal.c) and the kernel accept is what is written.
 */
#ifndef BCACHE_TOOL_ENCODE_H
#define BCACHE_TOOL_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/printbuf.h"

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

/*
 * bt_prio_set_encode(): chain bucket `idx` (0-based) of a prio chain into
 * buf (c->meta_bucket_bytes): entries prio/gen of buckets
 * [idx * prios_per_bucket, min(nbuckets, (idx+1) * prios_per_bucket)) from
 * buckets[] (nbuckets entries: .gen and .prio are used), zeroed tail,
 * seq, next_bucket, magic c->pset_magic, version 0 (as the kernel leaves
 * it), csum = bch_crc64 over [8, meta_bucket_bytes) (super.c
 * bch_prio_write()). idx must be < c->prio_buckets.
 */
void bt_prio_set_encode(const struct cache_set *c, unsigned idx,
			const struct bt_bucket *buckets, uint64_t seq, uint64_t next_bucket,
			void *buf);

/*
 * bt_uuid_bucket_encode(): the uuid bucket image (c->meta_bucket_bytes):
 * the c->nr_uuids slots of uuids[] as a raw array, current (128-byte)
 * format; no header, no csum (super.c __uuid_write()). uuids NULL writes
 * all-empty slots.
 */
void bt_uuid_bucket_encode(const struct cache_set *c, const struct uuid_entry *uuids,
			   void *buf);

/*
 * bt_uuid_ptr_key(): the jset uuid_bucket key for a uuid bucket b with
 * gen `gen`: position 0:0, KEY_SIZE = meta bucket sectors, one pointer to
 * the bucket start on c->nr_this_dev (super.c __uuid_write()).
 */
void bt_uuid_ptr_key(const struct cache_set *c, uint64_t b, uint8_t gen,
		     struct bkey_padded *k);

/* The header fields of a jset to encode. */
struct bt_jset_fields {
	uint64_t		seq;
	uint64_t		last_seq;
	const struct bkey	*btree_root;	/* copied into the 64-byte slot */
	unsigned		btree_level;
	const struct bkey	*uuid_bucket;	/* copied into the 64-byte slot */
	uint64_t		prio_bucket;	/* first prio bucket of this cache */
	const uint64_t		*keys;		/* leaf keys to journal, may be NULL */
	size_t			u64s;
};

/* Bytes a jset with u64s key words occupies on disk (whole blocks). */
size_t bt_jset_disk_bytes(const struct cache_set *c, size_t u64s);

/*
 * bt_jset_encode(): a jset at buf: magic c->jset_magic, version 1, the
 * fields of f (prio_bucket[c->nr_this_dev]; other prio slots and unused
 * slot words zero), csum = bch_crc64 over [8, 240 + 8*u64s) (journal.c
 * journal_write_unlocked()), tail of the last block zeroed. Returns the
 * bytes written (whole blocks) or -EINVAL (message in err) when buf is too
 * small, the jset would pass JSET_MAX_BYTES, or a key does not fit its
 * 64-byte slot.
 */
long bt_jset_encode(const struct cache_set *c, void *buf, size_t buf_bytes,
		    const struct bt_jset_fields *f, struct printbuf *err);

#endif /* BCACHE_TOOL_ENCODE_H */
