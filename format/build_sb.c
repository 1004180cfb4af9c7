/* build_sb.c --- the superblock make-bcache 1.0.8 builds for one device (FORMAT.md 1.10). */
#include <string.h>

#include "format.h"

unsigned bt_format_default_block(const struct bt_dev *dev)
{
	unsigned bytes;

	if (dev->is_blockdev)
		return dev->logical_block_size >> SECTOR_SHIFT;
	/* make-bcache uses st_blksize for a file; a page at most, see format.h */
	bytes = dev->preferred_io_size;
	if (bytes > BT_PAGE_SIZE)
		bytes = BT_PAGE_SIZE;
	if (bytes < SECTOR_SIZE)
		bytes = SECTOR_SIZE;
	return bytes >> SECTOR_SHIFT;
}

void bt_format_build_sb(const struct bt_format_opts *opts, bool cache,
			unsigned block_size, uint64_t dev_sectors,
			const uint8_t uuid[16], struct cache_sb *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->offset = SB_SECTOR;
	memcpy(sb->magic, bcache_sb_magic, 16);
	memcpy(sb->uuid, uuid, 16);
	memcpy(sb->set_uuid, opts->set_uuid, 16);
	if (opts->label)
		memcpy(sb->label, opts->label, strnlen(opts->label, BT_FORMAT_LABEL_MAX));
	sb->block_size = (uint16_t)block_size;
	/* make-bcache writes the bucket size into backing superblocks too */
	sb->bucket_size_raw = (uint16_t)opts->bucket_size;
	sb->bucket_size = opts->bucket_size;

	if (cache) {
		sb->version = BCACHE_SB_VERSION_CDEV;
		sb->nbuckets = dev_sectors / opts->bucket_size;
		sb->nr_in_set = 1;
		sb->nr_this_dev = 0;
		/* the first bucket that ends after the superblock (sectors 8..15) */
		sb->first_bucket = (uint16_t)(23 / opts->bucket_size + 1);
		sb->flags = SET_CACHE_DISCARD(sb->flags, opts->discard ? 1 : 0);
		sb->flags = SET_CACHE_REPLACEMENT(sb->flags, opts->replacement);
	} else {
		sb->version = opts->data_offset == BDEV_DATA_START_DEFAULT
			? BCACHE_SB_VERSION_BDEV : BCACHE_SB_VERSION_BDEV_WITH_OFFSET;
		sb->data_offset = opts->data_offset;
		sb->flags = SET_BDEV_CACHE_MODE(sb->flags, opts->writeback
						 ? CACHE_MODE_WRITEBACK
						 : CACHE_MODE_WRITETHROUGH);
	}
}
