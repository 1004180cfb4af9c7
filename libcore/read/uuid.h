/* uuid.h --- the uuid bucket: one slot per backing device / flash volume. */
#ifndef BCACHE_TOOL_UUID_H
#define BCACHE_TOOL_UUID_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"

enum bt_uuid_slot_state {
	BT_UUID_EMPTY		= 0,	/* all-zero uuid */
	BT_UUID_LIVE		= 1,	/* a device's uuid */
	BT_UUID_INVALIDATED	= 2,	/* bcache_invalid_uuid: detached, never reused */
};

enum bt_uuid_slot_state bt_uuid_slot_state(const struct uuid_entry *u);

static inline bool bt_uuid_flash_only(const struct uuid_entry *u)
{
	return le32toh(u->flags) & UUID_FLASH_ONLY;
}
static inline uint64_t bt_uuid_sectors(const struct uuid_entry *u)
{
	return le64toh(u->sectors);
}

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

/*
 * bt_uuid_entry_to_text(): "slot N: live uuid ... label '...' flash-only
 * sectors S first_reg ... last_reg ... invalidated ..." on one line.
 */
void bt_uuid_entry_to_text(struct printbuf *out, unsigned slot,
			   const struct uuid_entry *u);

#endif /* BCACHE_TOOL_UUID_H */
