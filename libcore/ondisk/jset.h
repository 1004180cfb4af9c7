/* jset.h --- one journal entry (struct jset): its size, checksum, key
 * count and encoder. Scanning the journal for jsets is read/journal.h.
 */
#ifndef BCACHE_TOOL_JSET_H
#define BCACHE_TOOL_JSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"
#include "libcore/ondisk/cache_set.h"

/* Bytes of a jset: header + keys u64s (set_bytes()); 64-bit, keys is untrusted. */
static inline uint64_t bt_jset_bytes(const struct jset *j)
{
	return JSET_HEADER_BYTES + 8ULL * le32toh(j->keys);
}

/* csum_set() of a jset: bch_crc64 over bytes [8, 240 + 8*keys). j must hold them. */
uint64_t bt_jset_csum(const struct jset *j);

/*
 * bt_jset_nr_keys(): number of bkeys in j's key area, walking as the
 * kernel's replay does (a key is counted when it starts before the end;
 * a last key whose pointers run past the end is counted and *truncated is
 * set when truncated is not NULL).
 */
unsigned bt_jset_nr_keys(const struct jset *j, bool *truncated);

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

#endif /* BCACHE_TOOL_JSET_H */
