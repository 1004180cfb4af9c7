/* uuid_entry.c --- a uuid slot's state and text, the uuid bucket's encoder (uuid_entry.h). */
#include <string.h>
#include <time.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/uuid_entry.h"

static const uint8_t zero_uuid[16];

enum bt_uuid_slot_state bt_uuid_slot_state(const struct uuid_entry *u)
{
	if (!memcmp(u->uuid, zero_uuid, 16))
		return BT_UUID_EMPTY;
	if (!memcmp(u->uuid, bcache_invalid_uuid, 16))
		return BT_UUID_INVALIDATED;
	return BT_UUID_LIVE;
}

static void prt_time(struct printbuf *out, const char *name, uint32_t secs)
{
	char buf[32];
	time_t t = secs;
	struct tm tm;

	if (!secs)
		return;
	if (gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		prt_printf(out, " %s %s", name, buf);
	else
		prt_printf(out, " %s %u", name, secs);
}

void bt_uuid_entry_to_text(struct printbuf *out, unsigned slot, const struct uuid_entry *u)
{
	static const char *const state[] = { "empty", "live", "invalidated" };
	enum bt_uuid_slot_state s = bt_uuid_slot_state(u);
	char label[33];

	memcpy(label, u->label, 32);
	label[32] = '\0';
	prt_printf(out, "slot %u: %s uuid ", slot, state[s]);
	prt_uuid(out, u->uuid);
	if (label[0])
		prt_printf(out, " label '%s'", label);
	if (bt_uuid_flash_only(u))
		prt_printf(out, " flash-only sectors %llu", (unsigned long long)bt_uuid_sectors(u));
	else if (bt_uuid_sectors(u))
		prt_printf(out, " sectors %llu", (unsigned long long)bt_uuid_sectors(u));
	if (le32toh(u->flags) & ~UUID_FLASH_ONLY)
		prt_printf(out, " flags %#x", le32toh(u->flags));
	prt_time(out, "first_reg", le32toh(u->first_reg));
	prt_time(out, "last_reg", le32toh(u->last_reg));
	prt_time(out, "invalidated", le32toh(u->invalidated));
}

void bt_uuid_bucket_encode(const struct cache_set *c, const struct uuid_entry *uuids,
			   void *buf)
{
	memset(buf, 0, c->meta_bucket_bytes);
	if (uuids)
		memcpy(buf, uuids, (size_t)c->nr_uuids * sizeof(*uuids));
}

void bt_uuid_ptr_key(const struct cache_set *c, uint64_t b, uint8_t gen,
		     struct bkey_padded *kp)
{
	struct bkey *k = (struct bkey *)kp->w;

	memset(kp, 0, sizeof(*kp));
	bkey_init_pos(k, 0, 0, c->meta_bucket_bytes >> SECTOR_SHIFT);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, gen, bt_bucket_to_sector(c, b), c->nr_this_dev);
}
