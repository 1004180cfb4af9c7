/* detach.c --- the superblock and uuid-slot sides of a detach, and what
 * dirty data a detach would abandon.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "recovery/detach.h"
#include "libcore/base/errcode.h"
#include "libcore/ondisk/sb.h"
#include "libcore/read/uuid.h"
#include "libcore/write/write.h"

#define DETACH_CHUNK_SECTORS	2048u	/* 1 MiB per compared read */

int bt_detach_bdev_sb(struct bt_dev *dev, void *sb_block, struct cache_sb *sb,
		      struct printbuf *err)
{
	memset(sb->set_uuid, 0, sizeof(sb->set_uuid));
	sb->flags = SET_BDEV_STATE(sb->flags, BDEV_STATE_NONE);
	return bt_sb_write(dev, sb_block, sb, err);
}

int bt_detach_invalidate_slot(struct cache_set *c, struct bt_node_cache *nc, unsigned slot,
			      uint32_t now, struct printbuf *err)
{
	struct bt_write_ctx w;
	struct uuid_entry *u;
	int ret;

	if (!c->uuids || slot >= c->nr_uuids) {
		prt_printf(err, "no uuid slot %u in the cache set of '%s'", slot, c->dev->path);
		return -EINVAL;
	}
	ret = bt_write_start(&w, c, nc, err);
	if (ret)
		return ret;
	u = &c->uuids[slot];
	memcpy(u->uuid, bcache_invalid_uuid, 16);
	u->invalidated = htole32(now);
	u->flags = htole32(le32toh(u->flags) & ~(uint32_t)UUID_FLASH_ONLY);
	w.uuids_changed = true;
	w.last_seq = c->journal.nr ? c->journal.last_seq : 0;
	ret = bt_commit(&w, err);
	if (ret)
		bt_write_abort(&w);
	return ret;
}

/* Equal 512-byte sectors of a and b, n sectors each. */
static uint64_t same_sectors(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint64_t same = 0;

	for (uint32_t i = 0; i < n; i++)
		same += !memcmp(a + ((size_t)i << SECTOR_SHIFT), b + ((size_t)i << SECTOR_SHIFT),
				1u << SECTOR_SHIFT);
	return same;
}

int bt_slot_dirty_init(struct bt_slot_dirty *d, unsigned slot, struct bt_dev *bdev,
		       uint64_t data_offset)
{
	size_t bytes = (size_t)DETACH_CHUNK_SECTORS << SECTOR_SHIFT;

	memset(d, 0, sizeof(*d));
	d->slot = slot;
	d->bdev = bdev;
	d->data_offset = data_offset;
	d->bdev_msg = PRINTBUF;
	d->cb = malloc(bytes);
	d->bb = malloc(bytes);
	return d->cb && d->bb ? 0 : -ENOMEM;
}

void bt_slot_dirty_reset(struct bt_slot_dirty *d)
{
	d->sectors = d->extents = d->stale = d->same = d->unreadable = 0;
	d->bdev_err = 0;
	printbuf_reset(&d->bdev_msg);
}

void bt_slot_dirty_exit(struct bt_slot_dirty *d)
{
	free(d->cb);
	free(d->bb);
	printbuf_exit(&d->bdev_msg);
	memset(d, 0, sizeof(*d));
}

/* Compare the live dirty key k with the backing device, chunk by chunk. */
static void compare_key(struct cache_set *c, const struct bkey *k, struct bt_slot_dirty *d)
{
	uint64_t hi = bt_dev_sectors(d->bdev), s = KEY_START(k), t = KEY_OFFSET(k);
	struct printbuf msg = PRINTBUF;

	s = s < d->data_offset ? d->data_offset : s;
	t = t > hi ? hi : t;
	while (s < t && !d->bdev_err) {
		uint32_t n = t - s > DETACH_CHUNK_SECTORS ? DETACH_CHUNK_SECTORS : (uint32_t)(t - s);
		uint64_t cs = PTR_OFFSET(k, 0) + (s - KEY_START(k));

		d->bdev_err = bt_dev_read(d->bdev, d->bb, (size_t)n << SECTOR_SHIFT,
					  s << SECTOR_SHIFT, "backing data", &d->bdev_msg);
		if (!d->bdev_err && bt_dev_read(c->dev, d->cb, (size_t)n << SECTOR_SHIFT,
						cs << SECTOR_SHIFT, "dirty data", &msg))
			d->unreadable += n;
		else if (!d->bdev_err)
			d->same += same_sectors(d->cb, d->bb, n);
		printbuf_reset(&msg);
		s += n;
	}
	printbuf_exit(&msg);
}

int bt_slot_dirty_key(struct cache_set *c, const struct bkey *k, struct bt_slot_dirty *d)
{
	struct bt_extent_bad_info info = { 0 };

	if (KEY_INODE(k) > d->slot)
		return 1;
	if (KEY_INODE(k) != d->slot || !KEY_DIRTY(k) || !KEY_SIZE(k))
		return 0;
	if (bt_extent_bad(c, k, &info)) {
		if (info.stale_dirty)
			d->stale += KEY_SIZE(k);
		return 0;
	}
	d->sectors += KEY_SIZE(k);
	d->extents++;
	if (d->bdev)
		compare_key(c, k, d);
	return 0;
}
