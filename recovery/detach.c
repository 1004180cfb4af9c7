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

uint64_t bt_slot_dirty(const struct cache_set *c, const struct bt_extmap *view, unsigned slot,
		       uint64_t *extents, uint64_t *stale)
{
	uint64_t sectors = 0, n = 0, st = 0;

	for (size_t i = bt_extmap_seek(view, slot, 0); i < view->nr; i++) {
		const struct bkey *k = bt_extmap_key(view, i);
		struct bt_extent_bad_info info = { 0 };

		if (KEY_INODE(k) != slot)
			break;
		if (!KEY_DIRTY(k) || !KEY_SIZE(k))
			continue;
		if (bt_extent_bad(c, k, &info)) {
			if (info.stale_dirty)
				st += KEY_SIZE(k);
			continue;
		}
		sectors += KEY_SIZE(k);
		n++;
	}
	if (extents)
		*extents = n;
	if (stale)
		*stale = st;
	return sectors;
}

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

int bt_slot_dirty_on_bdev(struct cache_set *c, const struct bt_extmap *view, unsigned slot,
			  struct bt_dev *bdev, uint64_t data_offset, uint64_t *same,
			  uint64_t *unreadable, struct printbuf *err)
{
	size_t bytes = (size_t)DETACH_CHUNK_SECTORS << SECTOR_SHIFT;
	uint8_t *cb = malloc(bytes), *bb = malloc(bytes);
	uint64_t hi = bt_dev_sectors(bdev);
	struct printbuf msg = PRINTBUF;
	int ret = 0;

	*same = *unreadable = 0;
	if (!cb || !bb)
		ret = -ENOMEM;
	for (size_t i = bt_extmap_seek(view, slot, 0); i < view->nr && !ret; i++) {
		const struct bkey *k = bt_extmap_key(view, i);
		uint64_t s = KEY_START(k), t = KEY_OFFSET(k);

		if (KEY_INODE(k) != slot)
			break;
		if (!KEY_DIRTY(k) || !KEY_SIZE(k) || bt_extent_bad(c, k, NULL))
			continue;
		s = s < data_offset ? data_offset : s;
		t = t > hi ? hi : t;
		while (s < t && !ret) {
			uint32_t n = t - s > DETACH_CHUNK_SECTORS ? DETACH_CHUNK_SECTORS : (uint32_t)(t - s);
			uint64_t cs = PTR_OFFSET(k, 0) + (s - KEY_START(k));

			ret = bt_dev_read(bdev, bb, (size_t)n << SECTOR_SHIFT, s << SECTOR_SHIFT,
					  "backing data", err);
			if (!ret && bt_dev_read(c->dev, cb, (size_t)n << SECTOR_SHIFT,
						cs << SECTOR_SHIFT, "dirty data", &msg))
				*unreadable += n;
			else if (!ret)
				*same += same_sectors(cb, bb, n);
			printbuf_reset(&msg);
			s += n;
		}
	}
	free(cb);
	free(bb);
	printbuf_exit(&msg);
	return ret;
}
