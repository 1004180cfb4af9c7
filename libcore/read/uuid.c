/* uuid.c --- reading the uuid slots as super.c uuid_read() does (uuid.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/uuid.h"

static const uint8_t zero_uuid[16];

enum bt_uuid_slot_state bt_uuid_slot_state(const struct uuid_entry *u)
{
	if (!memcmp(u->uuid, zero_uuid, 16))
		return BT_UUID_EMPTY;
	if (!memcmp(u->uuid, bcache_invalid_uuid, 16))
		return BT_UUID_INVALIDATED;
	return BT_UUID_LIVE;
}

/* Convert n v0 entries at the start of buf, in place, highest slot first. */
static void convert_v0(struct uuid_entry *u1, unsigned n)
{
	const struct uuid_entry_v0 *u0 = (const void *)u1;

	for (unsigned i = n; i-- > 0;) {
		struct uuid_entry_v0 tmp = u0[i];

		memset(&u1[i], 0, sizeof(u1[i]));
		memcpy(u1[i].uuid, tmp.uuid, 16);
		memcpy(u1[i].label, tmp.label, 32);
		u1[i].first_reg = tmp.first_reg;
		u1[i].last_reg = tmp.last_reg;
		u1[i].invalidated = tmp.invalidated;
	}
}

int bt_uuid_read(struct cache_set *c, struct printbuf *err)
{
	const struct bt_journal_entry *e = bt_journal_newest(&c->journal);
	const struct bkey *k = (const struct bkey *)c->uuid_key.w;
	char what[160];
	size_t bytes;
	int ret;

	if (!e) {
		prt_printf(err, "no journal entries found on '%s'", c->dev->path);
		return -BT_ERR_JOURNAL_EMPTY;
	}
	snprintf(what, sizeof(what), "uuid bucket pointer in jset %llu at byte %llu of '%s'",
		 (unsigned long long)le64toh(e->j->seq),
		 (unsigned long long)(e->sector << SECTOR_SHIFT) + offsetof(struct jset, uuid_bucket),
		 c->dev->path);
	ret = bt_journal_ptr_check(c, k, what, err);
	if (ret) {
		prt_str(err, ": bad uuid pointer");
		return -BT_ERR_UUID_BAD_PTR;
	}
	free(c->uuids);
	c->uuids = calloc(c->nr_uuids ? c->nr_uuids : 1, sizeof(*c->uuids));
	if (!c->uuids) {
		prt_printf(err, "out of memory reading the uuids of '%s'", c->dev->path);
		return -ENOMEM;
	}
	/* the kernel reads KEY_SIZE sectors into a meta_bucket_bytes buffer */
	bytes = (size_t)KEY_SIZE(k) << SECTOR_SHIFT;
	if (bytes > (size_t)c->nr_uuids * sizeof(struct uuid_entry))
		bytes = (size_t)c->nr_uuids * sizeof(struct uuid_entry);
	ret = bt_dev_read(c->dev, c->uuids, bytes, PTR_OFFSET(k, 0) << SECTOR_SHIFT,
			  "uuid bucket", err);
	if (ret)
		return ret;
	c->uuids_version = le32toh(e->j->version);
	c->uuids_converted = c->uuids_version < BCACHE_JSET_VERSION_UUIDv1;
	if (c->uuids_converted)
		convert_v0(c->uuids, c->nr_uuids);
	return 0;
}

long bt_uuid_find(const struct cache_set *c, const uint8_t uuid[16])
{
	if (!c->uuids)
		return -1;
	for (unsigned i = 0; i < c->nr_uuids; i++)
		if (bt_uuid_slot_state(&c->uuids[i]) == BT_UUID_LIVE &&
		    !memcmp(c->uuids[i].uuid, uuid, 16))
			return (long)i;
	return -1;
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
