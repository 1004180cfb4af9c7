/* prio.h --- reading the prio/gen chain of a cache as the kernel does. */
#ifndef BCACHE_TOOL_PRIO_H
#define BCACHE_TOOL_PRIO_H

#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/ondisk/prio_set.h"

/*
 * bt_prio_read(): walk the chain from c->prio_start for exactly
 * c->prio_buckets buckets (the last next_bucket is never followed), as
 * super.c prio_read() (v6.x) does, and fill c->buckets[0..nbuckets)
 * (gen = disk_gen = last_gc = entry gen, prio) and c->prio_chain[].
 * Allocates c->buckets (zeroed) and c->prio_chain if they are NULL.
 * Each chain bucket: in [first_bucket, nbuckets), not a journal bucket,
 * not met before in the chain; meta_bucket_bytes read from its first
 * sector; csum then magic checked. Buckets whose prio bucket could not be
 * read keep gen 0 / prio 0. c->prio_seq = seq of the first chain bucket.
 * Returns 0, -BT_ERR_PRIO_BAD_CSUM, -BT_ERR_PRIO_BAD_MAGIC,
 * -BT_ERR_PRIO_BAD_CHAIN (out of range, loop, journal bucket; the chain
 * is then short), -EIO, -ENOMEM, with a message naming device, chain
 * index, bucket and byte offset.
 */
int bt_prio_read(struct cache_set *c, struct printbuf *err);

#endif /* BCACHE_TOOL_PRIO_H */
