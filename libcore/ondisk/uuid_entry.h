/* uuid_entry.h --- one uuid slot (struct uuid_entry) and the uuid bucket
 * image: slot state, size, text, the bucket encoder and its jset key.
 * Reading the bucket of a cache set is read/uuid.h.
 */
#ifndef BCACHE_TOOL_UUID_ENTRY_H
#define BCACHE_TOOL_UUID_ENTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"
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
 * bt_uuid_entry_to_text(): "slot N: live uuid ... label '...' flash-only
 * sectors S first_reg ... last_reg ... invalidated ..." on one line.
 */
void bt_uuid_entry_to_text(struct printbuf *out, unsigned slot,
			   const struct uuid_entry *u);

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

#endif /* BCACHE_TOOL_UUID_ENTRY_H */
