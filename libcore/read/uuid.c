/* uuid.c --- reading the uuid slots as super.c uuid_read() does (uuid.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/uuid.h"

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
