/* uuid.h --- the uuid bucket: one slot per backing device / flash volume. */
#ifndef BCACHE_TOOL_UUID_H
#define BCACHE_TOOL_UUID_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/base/printbuf.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/ondisk/uuid_entry.h"

/*
 * bt_uuid_read(): read the uuid slots as super.c uuid_read() does: the
 * newest jset's uuid_bucket key (c->uuid_key, already checked by
 * bt_journal_check_newest()), KEY_SIZE sectors from ptr[0] only, bounded
 * by meta_bucket_bytes (the kernel's buffer); jset version 0 means 64-byte
 * v0 entries, converted to the current format (flags 0, sectors 0).
 * Allocates c->uuids (nr_uuids slots, zero beyond what was read).
 * Returns 0, -BT_ERR_UUID_BAD_PTR, -EIO, -ENOMEM.
 */
int bt_uuid_read(struct cache_set *c, struct printbuf *err);

/* Index of the live slot holding uuid, or -1. */
long bt_uuid_find(const struct cache_set *c, const uint8_t uuid[16]);

#endif /* BCACHE_TOOL_UUID_H */
