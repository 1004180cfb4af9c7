/* init.c --- initialise the cache set of a newly formatted cache device, as
 * the kernel's first registration of a cache without CACHE_SYNC does
 * (super.c run_cache_set(), else branch; FORMAT.md 9.1).
 *
 * The result is a synced cache set the kernel reads like any other:
 *   journal   sb.d[0..keys) = first_bucket.., keys = clamp(nbuckets >> 7, 2, 256),
 *             every journal bucket zeroed (FORMAT.md 1.10 hazard), then one
 *             jset (seq 1, last_seq 1, no keys) in d[1], where the kernel's
 *             first journal write lands;
 *   prios     a chain of prio_buckets buckets right after the journal, with
 *             gen and prio of every bucket, seq 1;
 *   uuids     one bucket of all-zero slots (meta bucket sectors);
 *   btree     an empty root leaf: one bset, keys 0, random seq, node size
 *             c->btree_node_sectors, key at MAX_KEY;
 *   sb        version 3, CACHE_SYNC, seq 1, keys and d[].
 * The buckets used by the prio chain, the uuid bucket and the root get gen 1
 * and BTREE_PRIO (the kernel allocates them after one invalidation); every
 * other bucket keeps gen 0 and prio 0. last_mount stays 0: the set was never
 * registered.
 *
 * Write order (a crash at any point leaves a cache the kernel initialises
 * itself): the make-bcache superblock (CACHE_SYNC 0) is written and flushed
 * by the caller first; then zeroed journal buckets, prio chain, uuid bucket,
 * root node, flush; the jset, flush; the final superblock, flush.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bset.h"
#include "libcore/read/btree.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/ondisk/prio_set.h"
#include "libcore/ondisk/uuid_entry.h"
#include "libcore/ondisk/jset.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/prio.h"
#include "libcore/read/uuid.h"
#include "format.h"

#define ZERO_CHUNK_BYTES	(1u << 20)

static unsigned clamp_u(uint64_t v, unsigned lo, unsigned hi)
{
	return v < lo ? lo : v > hi ? hi : (unsigned)v;
}

int bt_format_init_plan(const struct cache_sb *mb_sb, struct cache_sb *sb,
			struct bt_format_layout *l, struct printbuf *err)
{
	struct cache_set c = { 0 };
	uint64_t next;
	int ret;

	*sb = *mb_sb;
	memset(l, 0, sizeof(*l));
	c.sb = *mb_sb;
	ret = bt_cache_set_geometry(&c, err);
	if (ret)
		return ret;

	l->journal_buckets = clamp_u(sb->nbuckets >> 7, 2, SB_JOURNAL_BUCKETS);
	l->prio_buckets = c.prio_buckets;
	l->node_sectors = c.btree_node_sectors;
	next = sb->first_bucket + (uint64_t)l->journal_buckets;
	l->prio_bucket = next;
	next += l->prio_buckets;
	l->uuid_bucket = next++;
	l->root_bucket = next++;
	l->jset_idx = 1;
	if (next > sb->nbuckets) {
		prt_printf(err, "cache of %llu buckets is too small to initialise: the journal "
			   "(%u buckets from bucket %u), %u prio buckets, the uuid bucket and the "
			   "btree root need buckets up to %llu", (unsigned long long)sb->nbuckets,
			   l->journal_buckets, sb->first_bucket, l->prio_buckets,
			   (unsigned long long)next - 1);
		return -BT_ERR_SB_NOT_ENOUGH_BUCKETS;
	}

	/* bcache_write_super() after the first journal write */
	if (sb->version < BCACHE_SB_VERSION_CDEV_WITH_UUID)
		sb->version = BCACHE_SB_VERSION_CDEV_WITH_UUID;
	sb->seq = 1;
	sb->flags = SET_CACHE_SYNC(sb->flags, 1);
	sb->keys = (uint16_t)l->journal_buckets;
	memset(sb->d, 0, sizeof(sb->d));
	for (unsigned j = 0; j < l->journal_buckets; j++)
		sb->d[j] = sb->first_bucket + j;
	return 0;
}

void bt_format_layout_to_text(struct printbuf *out, const struct cache_sb *sb,
			      const struct bt_format_layout *l)
{
	prt_printf(out, "journal buckets %u-%u, prio bucket%s %llu",
		   sb->first_bucket, sb->first_bucket + l->journal_buckets - 1,
		   l->prio_buckets > 1 ? "s" : "", (unsigned long long)l->prio_bucket);
	if (l->prio_buckets > 1)
		prt_printf(out, "-%llu", (unsigned long long)(l->prio_bucket + l->prio_buckets - 1));
	prt_printf(out, ", uuid bucket %llu, btree root in bucket %llu (%u-sector node), "
		   "first journal entry in bucket %llu", (unsigned long long)l->uuid_bucket,
		   (unsigned long long)l->root_bucket, l->node_sectors,
		   (unsigned long long)sb->d[l->jset_idx]);
}

/* ---- writing ---------------------------------------------------------- */

static int zero_range(struct bt_dev *dev, uint64_t off, uint64_t len, const char *what,
		      struct printbuf *err)
{
	void *zero = calloc(1, ZERO_CHUNK_BYTES);
	int ret = 0;

	if (!zero)
		return -ENOMEM;
	while (!ret && len) {
		size_t n = len < ZERO_CHUNK_BYTES ? (size_t)len : ZERO_CHUNK_BYTES;

		ret = bt_dev_write(dev, zero, n, off, what, err);
		off += n;
		len -= n;
	}
	free(zero);
	return ret;
}

/* super.c bch_prio_write(): gens and prios of every bucket, chain bucket by chain bucket. */
static int write_prios(struct bt_dev *dev, const struct cache_set *c,
		       const struct bt_format_layout *l, struct printbuf *err)
{
	struct bt_bucket *buckets = calloc(c->nbuckets, sizeof(*buckets));
	void *buf = malloc(c->meta_bucket_bytes);
	uint64_t meta[] = { l->uuid_bucket, l->root_bucket };
	int ret = 0;

	if (!buckets || !buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < l->prio_buckets; i++) {
		buckets[l->prio_bucket + i].gen = 1;
		buckets[l->prio_bucket + i].prio = BTREE_PRIO;
	}
	for (unsigned i = 0; i < 2; i++) {
		buckets[meta[i]].gen = 1;
		buckets[meta[i]].prio = BTREE_PRIO;
	}
	for (unsigned i = 0; !ret && i < l->prio_buckets; i++) {
		/* the last next_bucket points at the previous chain: there is none */
		uint64_t next = i + 1 < l->prio_buckets ? l->prio_bucket + i + 1 : 0;

		bt_prio_set_encode(c, i, buckets, 1, next, buf);
		ret = bt_dev_write(dev, buf, c->meta_bucket_bytes,
				   bt_bucket_to_sector(c, l->prio_bucket + i) << SECTOR_SHIFT,
				   "prio bucket", err);
	}
out:
	free(buckets);
	free(buf);
	return ret;
}

int bt_format_init_write(struct bt_dev *dev, const struct cache_sb *sb,
			 const struct bt_format_layout *l, uint8_t block[SB_SIZE],
			 struct printbuf *err)
{
	struct cache_set c = { 0 };
	struct bkey_padded root, uuid, max;
	size_t node_bytes = (size_t)l->node_sectors << SECTOR_SHIFT;
	struct bt_jset_fields f = { 0 };
	void *buf = NULL;
	long n;
	int ret;

	c.dev = dev;
	c.sb = *sb;
	ret = bt_cache_set_geometry(&c, err);
	if (ret)
		return ret;

	ret = zero_range(dev, bt_bucket_to_sector(&c, sb->d[0]) << SECTOR_SHIFT,
			 ((uint64_t)l->journal_buckets << c.bucket_bits) << SECTOR_SHIFT,
			 "journal buckets", err);
	if (!ret)
		ret = write_prios(dev, &c, l, err);
	if (ret)
		return ret;

	buf = calloc(1, node_bytes > c.meta_bucket_bytes ? node_bytes : c.meta_bucket_bytes);
	if (!buf)
		return -ENOMEM;

	/* super.c __uuid_write(): the whole (all-empty) slot array */
	bt_uuid_ptr_key(&c, l->uuid_bucket, 1, &uuid);
	bt_uuid_bucket_encode(&c, NULL, buf);
	ret = bt_dev_write(dev, buf, c.meta_bucket_bytes,
			   bt_bucket_to_sector(&c, l->uuid_bucket) << SECTOR_SHIFT,
			   "uuid bucket", err);
	if (ret)
		goto out;

	/* the root: an empty leaf whose key is MAX_KEY; the rest of the node zeroed */
	memset(&max, 0, sizeof(max));
	bkey_init_pos((struct bkey *)&max, MAX_KEY_INODE, MAX_KEY_OFFSET, 0);
	bt_node_ptr_key(&c, l->root_bucket, 1, (struct bkey *)&max, &root);
	memset(buf, 0, node_bytes);
	n = bt_bset_encode(&c, buf, node_bytes, bt_random_seq(), NULL, 0,
			   bk_ptr((struct bkey *)&root, 0), err);
	ret = n < 0 ? (int)n : bt_dev_write(dev, buf, node_bytes,
					    bt_bucket_to_sector(&c, l->root_bucket) << SECTOR_SHIFT,
					    "btree root", err);
	if (!ret)
		ret = bt_dev_flush(dev, err);
	if (ret)
		goto out;

	/* the first journal entry (journal.c journal_write_unlocked()): one block */
	f.seq = 1;
	f.last_seq = 1;
	f.btree_root = (struct bkey *)&root;
	f.btree_level = 0;
	f.uuid_bucket = (struct bkey *)&uuid;
	f.prio_bucket = l->prio_bucket;
	n = bt_jset_encode(&c, buf, node_bytes, &f, err);
	ret = n < 0 ? (int)n : bt_dev_write(dev, buf, (size_t)n,
					    bt_bucket_to_sector(&c, sb->d[l->jset_idx]) << SECTOR_SHIFT,
					    "journal entry", err);
	if (!ret)
		ret = bt_dev_flush(dev, err);
	if (ret)
		goto out;

	/* and only then the superblock that says the set is valid */
	ret = bt_sb_write(dev, block, &c.sb, err);
out:
	free(buf);
	return ret;
}

/* ---- reading it back --------------------------------------------------- */

int bt_format_init_verify(struct bt_dev *dev, const struct bt_format_layout *l,
			  struct printbuf *err)
{
	struct cache_set c;
	struct bt_node *n = NULL;
	int ret;

	ret = bt_cache_set_open(&c, dev, BT_OPEN_STRICT, err);
	if (ret)
		goto out;
	ret = -EIO;
	if (c.journal.nr != 1 || c.journal.newest_seq != 1 || c.journal.nr_damage) {
		prt_printf(err, "'%s': the new journal reads as %zu entries up to seq %llu, "
			   "%zu damaged positions", dev->path, c.journal.nr,
			   (unsigned long long)c.journal.newest_seq, c.journal.nr_damage);
		goto out;
	}
	if (c.prio_start != l->prio_bucket || c.root_level ||
	    PTR_BUCKET_NR(&c, (struct bkey *)&c.root_key, 0) != l->root_bucket ||
	    PTR_BUCKET_NR(&c, (struct bkey *)&c.uuid_key, 0) != l->uuid_bucket) {
		prt_printf(err, "'%s': the new jset points elsewhere than written", dev->path);
		goto out;
	}
	for (unsigned i = 0; i < c.nr_uuids; i++)
		if (bt_uuid_slot_state(&c.uuids[i]) != BT_UUID_EMPTY) {
			prt_printf(err, "'%s': uuid slot %u of the new set is not empty",
				   dev->path, i);
			goto out;
		}
	ret = bt_btree_node_read(&c, (struct bkey *)&c.root_key, 0, 0, &n, err);
	if (ret)
		goto out;
	if (n->nr_keys || n->nsets != 1) {
		prt_printf(err, "'%s': the new root holds %zu keys in %u bsets", dev->path,
			   n->nr_keys, n->nsets);
		ret = -EIO;
		goto out;
	}
	ret = 0;
out:
	bt_node_free(n);
	bt_cache_set_exit(&c);
	return ret;
}
