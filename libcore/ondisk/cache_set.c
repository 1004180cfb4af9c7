/* cache_set.c --- geometry of a cache set derived from its superblock. */
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"

static unsigned ilog2_u64(uint64_t v)
{
	unsigned r = 0;

	while (v >>= 1)
		r++;
	return r;
}

int bt_cache_set_geometry(struct cache_set *c, struct printbuf *err)
{
	const struct cache_sb *sb = &c->sb;
	unsigned meta_pages, btree_pages;

	if (!bt_sb_is_cache(sb)) {
		prt_printf(err, "'%s' is not a cache device (superblock version %llu)",
			   c->dev ? c->dev->path : "?", (unsigned long long)sb->version);
		return -BT_ERR_SB_NOT_CACHE;
	}
	/*
	 * Every size below is in pages of a bucket: a bucket under a page
	 * (only in a superblock read without validation; read_super_common()
	 * refuses it) would make them 0 and the prio arithmetic wrap.
	 */
	if (sb->bucket_size < BT_PAGE_SECTORS) {
		prt_printf(err, "'%s': bucket size %u sectors is smaller than a page (%u "
			   "sectors): no geometry", c->dev ? c->dev->path : "?", sb->bucket_size,
			   BT_PAGE_SECTORS);
		return -BT_ERR_SB_BAD_BUCKET_SIZE;
	}
	/* bucket_bits and block_bits are exact only for powers of two */
	if (!bt_is_pow2(sb->bucket_size) || !bt_is_pow2(sb->block_size) ||
	    sb->block_size > sb->bucket_size) {
		prt_printf(err, "'%s': unusable geometry (block size %u, bucket size %u sectors)",
			   c->dev ? c->dev->path : "?", sb->block_size, sb->bucket_size);
		return -BT_ERR_SB_BAD_BUCKET_SIZE;
	}
	c->bucket_size = sb->bucket_size;
	c->bucket_bits = ilog2_u64(sb->bucket_size);
	c->block_size = sb->block_size;
	c->block_bits = ilog2_u64(sb->block_size);
	c->nbuckets = sb->nbuckets;
	c->first_bucket = sb->first_bucket;
	c->nr_this_dev = sb->nr_this_dev;

	/* bcache.h meta_bucket_pages(): bucket pages, at most min(32768 / PAGE_SECTORS, MAX_ORDER_NR_PAGES) */
	meta_pages = sb->bucket_size / BT_PAGE_SECTORS;
	if (meta_pages > 1024)		/* MAX_ORDER_NR_PAGES with 4 KiB pages */
		meta_pages = 1024;
	c->meta_bucket_bytes = (size_t)meta_pages * BT_PAGE_SIZE;
	c->prios_per_bucket = (unsigned)((c->meta_bucket_bytes - PRIO_SET_HEADER_BYTES) /
					 sizeof(struct bucket_disk));
	c->prio_buckets = (unsigned)((sb->nbuckets + c->prios_per_bucket - 1) /
				     c->prios_per_bucket);
	c->nr_uuids = (unsigned)(c->meta_bucket_bytes / sizeof(struct uuid_entry));

	/* super.c bch_cache_set_alloc(): btree_pages, capped at 256 KiB */
	btree_pages = meta_pages;
	if (btree_pages > 64)
		btree_pages = btree_pages / 4 > 64 ? btree_pages / 4 : 64;
	c->btree_node_sectors = btree_pages * BT_PAGE_SECTORS;

	c->set_magic = bt_sb_set_magic(sb);
	c->jset_magic = c->set_magic ^ JSET_MAGIC_XOR;
	c->pset_magic = c->set_magic ^ PSET_MAGIC_XOR;
	c->bset_magic = c->set_magic ^ BSET_MAGIC_XOR;
	return 0;
}
