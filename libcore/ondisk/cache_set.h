/* cache_set.h --- the in-memory view of one cache set, as the kernel builds it
 * at registration: superblock, geometry, journal, buckets (gens/prios),
 * uuid slots, btree root and node cache.
 *
 * struct cache_set is the library context: every libcore function that
 * works on a cache set takes it explicitly; there are no globals. fsck, gc
 * and the other commands keep their own state in their own contexts and
 * point at this one.
 *
 * Units: sizes in sectors unless the name ends in _bytes; bucket numbers in
 * buckets.
 */
#ifndef BCACHE_TOOL_CACHE_SET_H
#define BCACHE_TOOL_CACHE_SET_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/dev/dev.h"
#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"
#include "libcore/base/stop.h"
#include "libcore/ondisk/sb.h"

/* In-memory gc mark of a bucket (btree.h GC_MARK_*), FORMAT.md 6.4. */
enum bt_gc_mark {
	GC_MARK_NONE		= 0,
	GC_MARK_RECLAIMABLE	= 1,	/* clean cached data */
	GC_MARK_DIRTY		= 2,
	GC_MARK_METADATA	= 3,
};
#define GC_SECTORS_USED_MAX	8191u

struct bt_bucket {
	uint8_t		gen;		/* current gen (prio chain, raised by marking) */
	uint8_t		disk_gen;	/* gen as read from the prio chain */
	uint8_t		last_gc;	/* oldest pointer gen seen by the mark pass */
	uint8_t		mark;		/* enum bt_gc_mark */
	uint16_t	prio;
	uint16_t	sectors_used;	/* saturates at GC_SECTORS_USED_MAX */
	uint8_t		pinned;		/* referenced by a journal key */
};

/* One valid jset found in the journal. */
struct bt_journal_entry {
	struct jset	*j;		/* malloc'ed copy of the whole jset (header + keys) */
	size_t		bytes;		/* 240 + 8*keys */
	unsigned	bucket_idx;	/* index into sb.d[] */
	uint64_t	sector;		/* on the cache device */
	/*
	 * found past the position where the kernel's scan of the bucket
	 * stops (bad magic, too big, bad csum): the kernel never reads it
	 */
	bool		hidden;
};

/* What stopped the scan of a journal bucket at a position with a valid magic. */
enum bt_journal_damage_kind {
	BT_JDAMAGE_BAD_CSUM	= 1,	/* journal_read_bucket "bad csum" */
	BT_JDAMAGE_TOO_BIG	= 2,	/* "too big": > 32 KiB or past the bucket end */
	BT_JDAMAGE_IO		= 3,	/* the read failed, or sb.d[i] is outside the device */
};

/* A damaged position met while scanning journal buckets. */
struct bt_journal_damage {
	unsigned	bucket_idx;
	uint64_t	sector;
	int		err;		/* -BT_ERR_JSET_BAD etc. */
	char		*msg;		/* malloc'ed */
	unsigned	kind;		/* enum bt_journal_damage_kind */
	uint64_t	seq;		/* seq field as stored (untrusted) */
	uint64_t	bytes;		/* set bytes the header claims (untrusted) */
};

struct bt_journal {
	/* Entries in the replay range [last_seq, newest seq], oldest first. */
	struct bt_journal_entry	*entries;
	size_t			nr;
	uint64_t		newest_seq;
	uint64_t		last_seq;	/* of the newest entry */
	unsigned		cur_idx;	/* journal bucket index holding the newest entry */
	uint64_t		cur_sector;	/* first free sector after the newest entry */
	/* per journal bucket: highest seq seen there (0 = none) */
	uint64_t		bucket_seq[SB_JOURNAL_BUCKETS];
	/* seq ranges [missing_from, missing_to] absent from the replay range */
	uint64_t		(*missing)[2];
	size_t			nr_missing;
	struct bt_journal_damage *damage;
	size_t			nr_damage;

	/*
	 * Every valid jset found (magic, size, csum), in scan order: bucket
	 * index, then position; those past the kernel's stop in their bucket
	 * have hidden set and never enter entries[]. entries[] above are
	 * copies of some of these (same j pointers); all[] owns the memory.
	 */
	struct bt_journal_entry	*all;
	size_t			nr_all;
	uint64_t		nr_keys;	/* bkeys in entries[] (kernel replay count) */
	bool			sane_last_seq;	/* newest.last_seq <= newest.seq */

	/*
	 * What the kernel's bch_journal_read() would have found with its
	 * golden-ratio probe, binary search and backward walk (it does not
	 * read every bucket): newest seq and number of entries of its list.
	 * kernel_differs is set when that list differs from entries[].
	 */
	uint64_t		kernel_newest_seq;
	size_t			kernel_nr;
	unsigned		kernel_cur_idx;
	bool			kernel_differs;
};

struct cache_set {
	struct bt_dev		*dev;		/* not owned */
	uint8_t			sb_block[SB_SIZE];	/* raw 4 KiB block at byte 4096 */
	struct cache_sb		sb;

	/* geometry, from the superblock (bt_cache_set_geometry()) */
	unsigned		bucket_size;		/* sectors */
	unsigned		bucket_bits;
	unsigned		block_size;		/* sectors */
	unsigned		block_bits;
	uint64_t		nbuckets;
	unsigned		first_bucket;
	unsigned		nr_this_dev;
	size_t			meta_bucket_bytes;	/* prio/uuid buffer size */
	unsigned		prios_per_bucket;
	unsigned		prio_buckets;		/* buckets in the prio chain */
	unsigned		nr_uuids;		/* uuid slots */
	unsigned		btree_node_sectors;	/* size the kernel gives new nodes */

	uint64_t		set_magic;
	uint64_t		jset_magic;
	uint64_t		pset_magic;
	uint64_t		bset_magic;

	struct bt_journal	journal;

	/* from the newest jset */
	struct bkey_padded	root_key;
	unsigned		root_level;
	struct bkey_padded	uuid_key;
	uint64_t		prio_start;		/* first bucket of the prio chain */

	struct bt_bucket	*buckets;		/* nbuckets entries */
	uint64_t		*prio_chain;		/* prio_buckets bucket numbers */
	uint64_t		prio_seq;		/* seq of the prio sets read */

	struct uuid_entry	*uuids;			/* nr_uuids slots, current format */
	unsigned		uuids_version;		/* jset version they were read with */
	bool			uuids_converted;	/* read as v0 (64-byte) entries */

	bool			sb_csum_bad;	/* opened with BT_OPEN_SB_IGNORE_CSUM over a bad csum */
	/* set by the command, not owned; NULL: never stops (stop.h) */
	const struct bt_stop	*stop;
};

/*
 * bt_cache_set_geometry(): fill the geometry and magics of c from c->sb
 * (already read and validated). Mirrors super.c/bcache.h:
 * meta_bucket_pages(), prios_per_bucket(), prio_buckets(), btree node size
 * of bch_cache_set_alloc(). Returns 0, -BT_ERR_SB_NOT_CACHE when sb is not a
 * cache superblock, or -BT_ERR_SB_BAD_BUCKET_SIZE for sizes no geometry can
 * come from (possible only without validation): a bucket under a page, a
 * block or bucket size that is not a power of two, a block of 0 sectors or
 * larger than the bucket; each with a message.
 */
int bt_cache_set_geometry(struct cache_set *c, struct printbuf *err);

/* Bucket of a sector, and the first sector of a bucket. */
static inline uint64_t bt_sector_to_bucket(const struct cache_set *c, uint64_t sector)
{
	return sector >> c->bucket_bits;
}
static inline uint64_t bt_bucket_to_sector(const struct cache_set *c, uint64_t b)
{
	return b << c->bucket_bits;
}
/* PTR_BUCKET_NR(). */
static inline uint64_t PTR_BUCKET_NR(const struct cache_set *c, const struct bkey *k,
				     unsigned i)
{
	return PTR_OFFSET(k, i) >> c->bucket_bits;
}
/* Bytes of n u64s rounded up to whole blocks. */
static inline unsigned bt_set_blocks(const struct cache_set *c, size_t bytes)
{
	size_t block_bytes = (size_t)c->block_size << SECTOR_SHIFT;

	return (unsigned)((bytes + block_bytes - 1) / block_bytes);
}

/* bytes rounded up to whole blocks of c (a bset or jset on disk), in bytes. */
static inline size_t bt_round_blocks(const struct cache_set *c, size_t bytes)
{
	size_t bb = (size_t)c->block_size << SECTOR_SHIFT;

	return (bytes + bb - 1) / bb * bb;
}

/* Flags of bt_cache_set_open(). */
enum bt_open_flags {
	/* stop after superblock, geometry and journal (dump-journal) */
	BT_OPEN_JOURNAL_ONLY	= 1 << 0,
	/* fail on missing journal entries, as the kernel's replay does */
	BT_OPEN_STRICT		= 1 << 1,
	/* read the uuids even when the prio chain is bad; return the first error */
	BT_OPEN_KEEP_GOING	= 1 << 2,
	/* do not refuse an invalid superblock (still needs a cache version) */
	BT_OPEN_NO_SB_VALIDATE	= 1 << 3,
	/*
	 * accept a superblock whose only fault is its checksum (recovery
	 * tools: extract); sets c->sb_csum_bad
	 */
	BT_OPEN_SB_IGNORE_CSUM	= 1 << 4,
};

/*
 * bt_cache_set_open(): build c from the cache device dev as the kernel's
 * run_cache_set() reads it: superblock (read + validate), geometry,
 * journal (journal.h), the root/uuid/prio pointers of the newest jset,
 * the prio chain (prio.h) and the uuid slots (uuid.h). dev is not owned
 * and must outlive c.
 *
 * c is zeroed first. On any return, including errors, c holds what was
 * read so far; call bt_cache_set_exit() in every case.
 *
 * Returns 0 or a negative code with a message in err naming the device,
 * structure, bucket and byte offset:
 *  -BT_ERR_SB_* (superblock), -BT_ERR_NO_CACHE_SET ("no cache set yet":
 *  a valid cache superblock without CACHE_SYNC, never registered; the
 *  superblock and geometry are filled), -BT_ERR_JOURNAL_EMPTY,
 *  -BT_ERR_BTREE_BAD_ROOT, -BT_ERR_UUID_BAD_PTR,
 *  -BT_ERR_JOURNAL_MISSING_ENTRIES (only with BT_OPEN_STRICT),
 *  -BT_ERR_PRIO_*, -ENOMEM, -EIO.
 */
int bt_cache_set_open(struct cache_set *c, struct bt_dev *dev, unsigned flags,
		      struct printbuf *err);

/*
 * bt_cache_set_exit(): free everything bt_cache_set_open() allocated
 * (journal, buckets, prio chain, uuids) and zero c. Does not close dev.
 * A node cache made on c (node_cache.h) must be freed by its owner first.
 */
void bt_cache_set_exit(struct cache_set *c);

#endif /* BCACHE_TOOL_CACHE_SET_H */
