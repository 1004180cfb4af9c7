/* cache_set_open.c --- open a cache set as the kernel's run_cache_set() reads it.
 *
 * Order (super.c run_cache_set(), CACHE_SYNC branch): superblock, journal,
 * prio chain of the newest jset, btree root pointer, uuid bucket. The btree
 * itself is read by the btree code (btree.h) from c->root_key.
 */
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/prio.h"
#include "libcore/read/uuid.h"

static int open_sb(struct cache_set *c, struct bt_dev *dev, unsigned flags,
		   struct printbuf *err)
{
	int ret;

	ret = bt_sb_read(dev, c->sb_block, &c->sb, !(flags & BT_OPEN_NO_SB_VALIDATE), err);
	if (ret == -BT_ERR_SB_BAD_CSUM && (flags & BT_OPEN_SB_IGNORE_CSUM)) {
		/* every other rule must hold: validate a copy with the right csum */
		struct cache_sb_disk copy;
		struct printbuf msg = PRINTBUF;

		memcpy(&copy, c->sb_block, sizeof(copy));
		copy.csum = htole64(bt_sb_csum(&copy));
		c->sb.csum = le64toh(copy.csum);
		ret = bt_sb_validate(&copy, &c->sb, dev, &msg);
		c->sb.csum = le64toh(((const struct cache_sb_disk *)c->sb_block)->csum);
		if (!ret) {
			printbuf_reset(err);
			c->sb_csum_bad = true;
		}
		printbuf_exit(&msg);
	}
	if (ret)
		return ret;
	ret = bt_cache_set_geometry(c, err);
	if (ret)
		return ret;
	/* block and bucket sizes: bt_cache_set_geometry() refused unusable ones */
	if (!c->nbuckets) {
		prt_printf(err, "'%s': unusable geometry (0 buckets)", dev->path);
		return -BT_ERR_SB_BAD_BUCKET_SIZE;
	}
	/* a superblock read without validation must not size our arrays past the device */
	if (c->nbuckets > bt_dev_sectors(dev) / c->bucket_size) {
		prt_printf(err, "'%s': the superblock claims %llu buckets of %u sectors, the device "
			   "holds %llu", dev->path, (unsigned long long)c->nbuckets, c->bucket_size,
			   (unsigned long long)(bt_dev_sectors(dev) / c->bucket_size));
		return -BT_ERR_SB_DEVICE_TOO_SMALL;
	}
	if (!CACHE_SYNC(c->sb.flags)) {
		prt_printf(err, "no cache set yet on '%s': CACHE_SYNC is not set in the "
			   "superblock (the cache was never registered)", dev->path);
		return -BT_ERR_NO_CACHE_SET;
	}
	return 0;
}

int bt_cache_set_open(struct cache_set *c, struct bt_dev *dev, unsigned flags,
		      struct printbuf *err)
{
	struct printbuf root_err = PRINTBUF;
	int ret, root, first;

	memset(c, 0, sizeof(*c));
	c->dev = dev;

	ret = open_sb(c, dev, flags, err);
	if (ret)
		return ret;

	ret = bt_journal_read(c, err);
	if (ret)
		return ret;
	if (flags & BT_OPEN_STRICT && c->journal.nr_missing) {
		prt_printf(err, "journal entries %llu-%llu missing! (replaying %llu-%llu) on '%s'",
			   (unsigned long long)c->journal.missing[0][0],
			   (unsigned long long)c->journal.missing[0][1],
			   (unsigned long long)c->journal.last_seq,
			   (unsigned long long)c->journal.newest_seq, dev->path);
		return -BT_ERR_JOURNAL_MISSING_ENTRIES;
	}
	/* run_cache_set(): prio_read() before the root check, uuid_read() last */
	root = bt_journal_check_newest(c, &root_err);
	if (root == -BT_ERR_JOURNAL_EMPTY || flags & BT_OPEN_JOURNAL_ONLY) {
		prt_str(err, printbuf_str(&root_err));
		printbuf_exit(&root_err);
		return root;
	}

	first = bt_prio_read(c, err);
	if (first && root)
		prt_newline(err);
	if (!first || flags & BT_OPEN_KEEP_GOING)
		prt_str(err, printbuf_str(&root_err));
	printbuf_exit(&root_err);
	if (!first)
		first = root;
	if (first && !(flags & BT_OPEN_KEEP_GOING))
		return first;
	if (first)
		prt_newline(err);

	ret = bt_uuid_read(c, err);
	return first ? first : ret;
}

void bt_cache_set_exit(struct cache_set *c)
{
	bt_journal_exit(&c->journal);
	free(c->buckets);
	free(c->prio_chain);
	free(c->uuids);
	memset(c, 0, sizeof(*c));
}
