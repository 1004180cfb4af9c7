/* prio_set.h --- one bucket of the prio chain (struct prio_set): its
 * checksum and its encoder. Walking the chain is read/prio.h.
 */
#ifndef BCACHE_TOOL_PRIO_SET_H
#define BCACHE_TOOL_PRIO_SET_H

#include <stddef.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"

/* The prio_set csum: bch_crc64 over bytes [8, meta_bucket_bytes) of the buffer. */
uint64_t bt_pset_csum(const void *buf, size_t meta_bucket_bytes);

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

#endif /* BCACHE_TOOL_PRIO_SET_H */
