/* migrate.c --- bt_migrate(): read SRC, plan DST, format it, copy in one transaction.
 *
 * Steps (migrate.h has the contract):
 *   1. open SRC read-only and choose the extents of its view (btree +
 *      journal) to copy (live, of a slot in use);
 *   2. plan DST: its superblock and layout as format will write them, the
 *      buckets the data needs (the same packing as the copy), a bound on
 *      the btree nodes; refuse here when dirty data does not fit;
 *   3. format DST (format's checks first), open its cache set, copy the
 *      data, insert the keys, copy the uuid slots, commit.
 *
 * The view of SRC is never held: each step that needs it streams it again
 * (view_stream.h), and a key's fate (mig_fate()) is worked out from the key
 * each time, so memory does not grow with the keys. The new tree is
 * written as the copy goes (bt_btree_update_flush_before()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/write/btree_update.h"
#include "libcore/base/errcode.h"
#include "recovery/migrate.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/node_pool.h"
#include "libcore/read/overlay.h"
#include "libcore/read/view_stream.h"
#include "libcore/dev/target.h"
#include "libcore/read/uuid.h"
#include "libcore/write/write.h"

/* What happens to each key of the view. */
enum mig_fate {
	FATE_SKIP	= 0,
	FATE_DIRTY	= 1,
	FATE_CLEAN	= 2,
};

/* Places pieces of extents in consecutive buckets, block aligned (plan and copy alike). */
struct packer {
	unsigned	bucket, block;	/* DST sectors */
	unsigned	used;		/* sectors of the open bucket in use */
	bool		open;
	uint64_t	buckets;	/* buckets opened */
	uint64_t	pieces;		/* keys made */
};

struct classify;
struct clean_plan;
struct copy;

struct mig {
	const struct bt_migrate_opts	*o;
	struct bt_migrate_stats		*st;
	struct printbuf			*out, *warn, *err;
	const char			*src_path, *dst_path;
	struct bt_guard			g;		/* SRC and DST, declared first */
	int				src_i, dst_i;

	struct bt_dev			sdev;
	struct cache_set		sc;
	struct bt_node_cache		*snc;
	struct bt_node_pool		*spool;		/* its reader threads, or NULL */
	/* the packing of the dirty data (classify()), and the clean keys that fit */
	struct packer			dirty;
	uint64_t			clean_take;	/* the first this many FATE_CLEAN keys */
	struct classify			*classify;	/* during classify() */
	struct clean_plan		*clean_plan;	/* during plan_space() */
	struct copy			*copy;		/* during copy_data() */

	/* the planned DST */
	struct bt_format_opts		fo;
	struct cache_set		pc;		/* sb + geometry only */
	struct bt_format_layout		layout;
	unsigned			nr_slots;	/* slots copied: min of both */
	uint64_t			free_buckets;

	struct bt_dev			ddev;
	struct cache_set		dc;
	struct bt_node_cache		*dnc;
};

static void packer_init(struct packer *p, unsigned bucket, unsigned block)
{
	memset(p, 0, sizeof(*p));
	p->bucket = bucket;
	p->block = block;
}

/*
 * The next piece of an extent with `remaining` sectors left: its length,
 * its offset in the bucket (*pos), and whether a new bucket is opened for
 * it (*new_bucket). Pieces start at block boundaries.
 */
static unsigned packer_next(struct packer *p, uint64_t remaining, unsigned *pos,
			    bool *new_bucket)
{
	unsigned n;

	*new_bucket = !p->open || p->used >= p->bucket;
	if (*new_bucket) {
		p->open = true;
		p->used = 0;
		p->buckets++;
	}
	n = remaining < p->bucket - p->used ? (unsigned)remaining : p->bucket - p->used;
	*pos = p->used;
	p->used += n;
	p->used = (p->used + p->block - 1) / p->block * p->block;
	p->pieces++;
	return n;
}

static void packer_add(struct packer *p, uint64_t sectors)
{
	unsigned pos;
	bool nb;

	while (sectors)
		sectors -= packer_next(p, sectors, &pos, &nb);
}

/*
 * An upper bound on the nodes bt_btree_update_write() writes for `keys`
 * leaf keys of at most 3 u64s: every node but the last of a level gets at
 * least 3/5 of the node limit (btree_update.c split_points()).
 */
static uint64_t nodes_bound(const struct cache_set *c, uint64_t keys)
{
	uint64_t u64s = keys * 3, nodes, total = 0;
	unsigned level = 0;

	do {
		uint64_t limit = bt_node_max_u64s(c, level);

		if (limit < 2 * KEY_MAX_U64S)
			limit = 2 * KEY_MAX_U64S;
		nodes = u64s <= limit ? 1 : u64s / (limit * 3 / 5) + 1;
		total += nodes;
		u64s = nodes * 3;
		level++;
	} while (nodes > 1);
	return total;
}

/*
 * Free buckets the kernel's allocator wants at hand once it runs on DST
 * (super.c cache_alloc(): the free fifos of RESERVE_BTREE (journal buckets,
 * or 8), RESERVE_PRIO (prio_buckets), RESERVE_MOVINGGC and RESERVE_NONE
 * (roundup_pow_of_two(nbuckets) >> 10 each) and free_inc (4 times that)).
 * migrate leaves twice that free: a cache whose every bucket holds data
 * makes the kernel's allocator wait forever for a bucket after
 * registration (a read that misses hangs in cache_lookup()).
 */
static uint64_t kernel_reserve(const struct mig *m)
{
	uint64_t pow2 = 1, free;
	unsigned btree = m->layout.journal_buckets ? m->layout.journal_buckets : 8;

	while (pow2 < m->pc.nbuckets)
		pow2 <<= 1;
	free = pow2 >> 10;
	return 2 * (btree + m->pc.prio_buckets + 6 * free);
}

/*
 * Buckets the plan needs besides data: new nodes, the new prio chain and
 * uuid bucket, and the kernel's reserve.
 */
static uint64_t reserve_for(const struct mig *m, uint64_t pieces)
{
	return nodes_bound(&m->pc, pieces) + m->pc.prio_buckets + 1 + kernel_reserve(m);
}

/* ---- 1. SRC ------------------------------------------------------------ */

/*
 * One pass over the view of SRC after journal replay: every key to fn in
 * key order. raised: the gens were raised by a pass before, and restart
 * (called when the stream starts again) forgets what fn counted; without,
 * the stream raises them by a first walk of its own, which also sees
 * overlapping leaves before any key is handed out (for a pass that cannot
 * start again: the copy). A node that cannot be read fails the pass.
 */
static int stream_src(struct mig *m, int (*fn)(struct cache_set *, const struct bkey *, void *),
		      void (*restart)(void *), bool raised, struct bt_overlay_stats *st)
{
	struct bt_overlay_stats ignored;
	struct bt_view_stream_opts so = {
		.with_journal = true, .gens_raised = raised, .key_fn = fn,
		.restart_fn = raised ? restart : NULL, .arg = m,
	};

	return bt_view_stream(&m->sc, m->snc, &so, st ? st : &ignored, m->err);
}

/* A later pass (the gens raised): restart sets fn's counts up, before and on a restart. */
static int stream_again(struct mig *m, int (*fn)(struct cache_set *, const struct bkey *, void *),
			void (*restart)(void *))
{
	restart(m);
	return stream_src(m, fn, restart, true, NULL);
}

static int count_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct mig *m = arg;

	(void)c, (void)k;
	m->st->src_keys++;
	return 0;
}

static int open_src(struct mig *m)
{
	struct bt_overlay_stats ost;
	size_t bytes = m->o->node_cache_bytes ? m->o->node_cache_bytes : BT_NODE_CACHE_DEFAULT_BYTES;
	int ret;

	ret = m->src_i = bt_guard_add(&m->g, m->src_path, BT_TARGET_INPUT, "source",
				      BT_TARGET_BCACHE, m->err);
	if (ret >= 0)
		ret = m->dst_i = bt_guard_add(&m->g, m->dst_path, BT_TARGET_DEVICE, "destination",
					      0, m->err);
	if (ret >= 0)
		ret = bt_guard_open(&m->g, m->src_i, 0, &m->sdev, m->err);
	if (ret < 0)
		return ret;
	if (ret)
		return ret;
	ret = bt_cache_set_open(&m->sc, &m->sdev, BT_OPEN_STRICT, m->err);
	if (ret == -BT_ERR_NO_CACHE_SET)
		prt_str(m->err, "\nnothing to migrate: format the new cache device instead");
	else if (ret == -BT_ERR_JOURNAL_MISSING_ENTRIES)
		prt_str(m->err, "\nthe kernel would refuse this cache set: check it with fsck first");
	if (ret)
		return ret;
	m->snc = bt_node_cache_new(&m->sc, bytes, 0);
	if (!m->snc)
		return -ENOMEM;
	/* SRC is only read: its nodes may be read ahead by every core (none: the same, slower) */
	m->spool = bt_node_pool_for(&m->sc, bt_online_cpus(), 0);
	bt_node_cache_set_pool(m->snc, m->spool);
	/* the first pass raises the gens: the later ones judge staleness as they go */
	ret = stream_src(m, count_key, NULL, false, &ost);
	if (ret) {
		prt_printf(m->err, "\ncannot read the btree of '%s': check it with fsck first",
			   m->src_path);
		return ret;
	}
	m->st->journal_keys = ost.journal_keys;
	return 0;
}

/* Is slot i of SRC a device whose extents are copied? */
static bool slot_live(const struct mig *m, uint64_t slot)
{
	return slot < m->sc.nr_uuids && slot < m->nr_slots &&
	       bt_uuid_slot_state(&m->sc.uuids[slot]) == BT_UUID_LIVE;
}

/* The uuid slots: all of SRC's must fit in DST's uuid bucket, but invalidated ones. */
static int check_slots(struct mig *m)
{
	unsigned dropped = 0;

	m->nr_slots = m->sc.nr_uuids < m->pc.nr_uuids ? m->sc.nr_uuids : m->pc.nr_uuids;
	for (unsigned i = 0; i < m->sc.nr_uuids; i++) {
		enum bt_uuid_slot_state s = bt_uuid_slot_state(&m->sc.uuids[i]);

		if (s != BT_UUID_EMPTY)
			m->st->slots_copied += i < m->nr_slots;
		if (i < m->nr_slots || s == BT_UUID_EMPTY)
			continue;
		if (s == BT_UUID_INVALIDATED) {
			dropped++;
			continue;
		}
		prt_printf(m->err, "uuid slot %u of '%s' is in use (uuid ", i, m->src_path);
		prt_uuid(m->err, m->sc.uuids[i].uuid);
		prt_printf(m->err, ") but buckets of %u sectors hold only %u uuid slots on '%s': "
			   "give a larger --bucket", m->pc.bucket_size, m->pc.nr_uuids, m->dst_path);
		return -ENOSPC;
	}
	if (dropped) {
		prt_printf(m->warn, "warning: %u invalidated uuid slots above slot %u are not "
			   "copied (DST's uuid bucket holds %u slots)", dropped, m->nr_slots - 1,
			   m->pc.nr_uuids);
		prt_newline(m->warn);
	}
	return 0;
}

static bool aligned(const struct bkey *k, unsigned block)
{
	return !(KEY_START(k) % block) && !(KEY_SIZE(k) % block);
}

/*
 * The fate of key k of the view: not copied (not live, of a slot not
 * copied, clean and not aligned to DST's blocks), dirty or clean.
 */
static enum mig_fate mig_fate(const struct mig *m, const struct bkey *k)
{
	unsigned block = m->pc.block_size;
	bool need_align = block > m->sc.block_size;

	if (bt_extent_bad(&m->sc, k, NULL) || !slot_live(m, KEY_INODE(k)))
		return FATE_SKIP;
	if (KEY_DIRTY(k))
		return FATE_DIRTY;
	return need_align && !aligned(k, block) ? FATE_SKIP : FATE_CLEAN;
}

/* classify()'s counts of the keys seen so far. */
struct classify {
	uint64_t		unaligned;	/* dirty keys not aligned to DST's blocks */
	struct bkey_padded	first;		/* the first of them */
};

static void classify_restart(void *arg)
{
	struct mig *m = arg;
	struct bt_migrate_stats *st = m->st;

	st->not_live = st->stale_dirty = st->no_slot = 0;
	st->dirty_extents = st->dirty_sectors = st->clean_extents = st->clean_sectors = 0;
	st->clean_unaligned = 0;
	packer_init(&m->dirty, m->pc.bucket_size, m->pc.block_size);
	memset(m->classify, 0, sizeof(*m->classify));
}

static int classify_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct mig *m = arg;
	struct bt_migrate_stats *st = m->st;
	struct bt_extent_bad_info info = { 0 };
	bool need_align = m->pc.block_size > m->sc.block_size;

	(void)c;
	if (bt_extent_bad(&m->sc, k, &info)) {
		st->not_live++;
		st->stale_dirty += KEY_DIRTY(k) && info.stale;
	} else if (!slot_live(m, KEY_INODE(k))) {
		st->no_slot++;
	} else if (KEY_DIRTY(k)) {
		st->dirty_extents++;
		st->dirty_sectors += KEY_SIZE(k);
		if (need_align && !aligned(k, m->pc.block_size) && !m->classify->unaligned++)
			bt_bkey_copy((struct bkey *)&m->classify->first, k);
		packer_add(&m->dirty, KEY_SIZE(k));
	} else {
		st->clean_extents++;
		st->clean_sectors += KEY_SIZE(k);
		st->clean_unaligned += need_align && !aligned(k, m->pc.block_size);
	}
	return 0;
}

/* Count the fate of every key of the view, pack the dirty data; refuse misaligned dirty data. */
static int classify(struct mig *m)
{
	struct bt_migrate_stats *st = m->st;
	unsigned block = m->pc.block_size;
	struct classify cl = { 0 };
	const struct bkey *first = (const struct bkey *)&cl.first;
	uint64_t unaligned;
	int ret;

	m->classify = &cl;
	ret = stream_again(m, classify_key, classify_restart);
	m->classify = NULL;
	if (ret)
		return ret;
	unaligned = cl.unaligned;
	if (unaligned) {
		prt_printf(m->err, "%llu dirty extents of '%s' are not aligned to the block size "
			   "of '%s' (%u sectors, larger than SRC's %u), e.g. ",
			   (unsigned long long)unaligned, m->src_path, m->dst_path, block,
			   m->sc.block_size);
		bt_bkey_to_text(m->err, first);
		prt_printf(m->err, ": the kernel would read and write them with I/O smaller than "
			   "a block of DST; use --block %u bytes or less",
			   m->sc.block_size << SECTOR_SHIFT);
		return -EINVAL;
	}
	if (st->stale_dirty) {
		prt_printf(m->warn, "warning: %llu dirty extents of '%s' have a stale pointer: "
			   "their data is already lost (the kernel serves the backing device's)",
			   (unsigned long long)st->stale_dirty, m->src_path);
		prt_newline(m->warn);
	}
	if (st->clean_unaligned) {
		prt_printf(m->warn, "warning: %llu clean extents are not aligned to DST's block "
			   "size (%u sectors) and are not copied (the backing devices hold their data)",
			   (unsigned long long)st->clean_unaligned, block);
		prt_newline(m->warn);
	}
	return 0;
}

/* ---- 2. the plan ------------------------------------------------------- */

/* DST's size and logical block size (opened read-only through the guard). */
static int probe_dst(struct mig *m, uint64_t *sectors, unsigned *lbs)
{
	struct bt_dev d;
	int ret;

	ret = bt_guard_open(&m->g, m->dst_i, 0, &d, m->err);
	if (ret)
		return ret;
	*sectors = bt_dev_sectors(&d);
	*lbs = d.logical_block_size >> SECTOR_SHIFT;
	if (!*lbs)
		*lbs = 1;
	bt_dev_close(&d);
	return 0;
}

/* Format options: SRC's set uuid, label and policies, the requested geometry. */
static void plan_format_opts(struct mig *m, unsigned dst_lbs)
{
	struct bt_format_opts *fo = &m->fo;
	const struct cache_sb *sb = &m->sc.sb;

	bt_format_opts_init(fo);
	fo->devs[0].path = m->dst_path;
	fo->devs[0].cache = true;
	fo->nr_devs = 1;
	fo->bucket_size = m->o->bucket_size ? m->o->bucket_size : m->sc.bucket_size;
	fo->block_size = m->o->block_size;
	if (!fo->block_size)
		fo->block_size = dst_lbs > m->sc.block_size ? dst_lbs : m->sc.block_size;
	fo->set_uuid_given = true;
	memcpy(fo->set_uuid, sb->set_uuid, 16);
	if (strlen(sb->label) <= BT_FORMAT_LABEL_MAX)
		fo->label = sb->label;
	fo->discard = CACHE_DISCARD(sb->flags);
	fo->replacement = (unsigned)CACHE_REPLACEMENT(sb->flags);
	fo->wipe_bcache = m->o->wipe_bcache;
	fo->force = m->o->force;
	fo->force_in_use = m->o->force_in_use;
	fo->guard = &m->g;
	fo->dry_run = m->o->dry_run;
}

/* DST's superblock and layout as format will write them, and its geometry. */
static int plan_dst(struct mig *m)
{
	struct printbuf warn = PRINTBUF;
	struct cache_sb mb;
	uint64_t sectors;
	uint8_t uuid[16] = { 1 };	/* the real one is random; the layout does not depend on it */
	unsigned lbs;
	int ret;

	ret = probe_dst(m, &sectors, &lbs);
	if (ret)
		return ret;
	plan_format_opts(m, lbs);
	ret = bt_format_check_opts(&m->fo, &warn, m->err);
	printbuf_exit(&warn);
	if (ret)
		return ret;
	bt_format_build_sb(&m->fo, true, m->fo.block_size, sectors, uuid, &mb);
	if (mb.nbuckets < BT_FORMAT_MIN_BUCKETS) {
		prt_printf(m->err, "'%s' is too small: %llu sectors make %llu buckets of %u "
			   "sectors, a cache needs at least %u", m->dst_path,
			   (unsigned long long)sectors, (unsigned long long)mb.nbuckets,
			   mb.bucket_size, BT_FORMAT_MIN_BUCKETS);
		return -ENOSPC;
	}
	/* before anything is read of SRC's data; format checks again (and warns) */
	warn = PRINTBUF;
	ret = bt_format_check_registrable(m->dst_path, sectors, mb.bucket_size, mb.block_size,
					  m->o->force, &warn, m->err);
	printbuf_exit(&warn);
	if (ret)
		return ret;
	memset(&m->pc, 0, sizeof(m->pc));
	ret = bt_format_init_plan(&mb, &m->pc.sb, &m->layout, m->err);
	if (!ret)
		ret = bt_cache_set_geometry(&m->pc, m->err);
	if (ret)
		return ret;
	m->free_buckets = m->pc.nbuckets - m->pc.first_bucket - m->layout.journal_buckets -
			  m->layout.prio_buckets - 2;	/* uuid bucket, root */
	m->st->dst_nbuckets = m->pc.nbuckets;
	m->st->dst_bucket_size = m->pc.bucket_size;
	m->st->dst_block_size = m->pc.block_size;
	m->st->dst_free_buckets = m->free_buckets;
	return 0;
}

/* Is the packing of dirty + clean, with its metadata, within DST's free buckets? */
static bool fits(const struct mig *m, const struct packer *d, const struct packer *c)
{
	return d->buckets + c->buckets + reserve_for(m, d->pieces + c->pieces) <=
	       m->free_buckets;
}

/* plan_space()'s packing of the clean keys seen so far. */
struct clean_plan {
	struct packer	c;
	uint64_t	dropped, dropped_sectors;
};

static void clean_restart(void *arg)
{
	struct mig *m = arg;

	packer_init(&m->clean_plan->c, m->pc.bucket_size, m->pc.block_size);
	m->clean_plan->dropped = m->clean_plan->dropped_sectors = 0;
	m->st->clean_copied_extents = m->st->clean_copied_sectors = 0;
}

/* A clean key is taken while it fits after the dirty data; once one does not, none is. */
static int clean_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct mig *m = arg;
	struct clean_plan *p = m->clean_plan;
	struct packer t = p->c;

	(void)c;
	if (mig_fate(m, k) != FATE_CLEAN)
		return 0;
	if (!m->o->drop_clean && !p->dropped) {
		packer_add(&t, KEY_SIZE(k));
		if (fits(m, &m->dirty, &t)) {
			p->c = t;
			m->st->clean_copied_extents++;
			m->st->clean_copied_sectors += KEY_SIZE(k);
			return 0;
		}
	}
	p->dropped++;
	p->dropped_sectors += KEY_SIZE(k);
	return 0;
}

/* Dirty data must fit; clean data is taken in key order while it fits. */
static int plan_space(struct mig *m)
{
	struct bt_migrate_stats *st = m->st;
	struct clean_plan p = { 0 };
	struct packer d = m->dirty, c;
	uint64_t dropped, dropped_sectors;
	int ret;

	packer_init(&p.c, m->pc.bucket_size, m->pc.block_size);
	c = p.c;
	if (!fits(m, &d, &c)) {
		prt_printf(m->err, "'%s' is too small for the dirty data of '%s': %llu sectors of "
			   "dirty data need %llu buckets of %u sectors, and the btree, prio and uuid "
			   "buckets and the free buckets the kernel's allocator needs up to %llu more, but only %llu buckets are free after the "
			   "format; nothing was written", m->dst_path, m->src_path,
			   (unsigned long long)st->dirty_sectors, (unsigned long long)d.buckets,
			   m->pc.bucket_size, (unsigned long long)reserve_for(m, d.pieces),
			   (unsigned long long)m->free_buckets);
		return -ENOSPC;
	}
	m->clean_plan = &p;
	ret = stream_again(m, clean_key, clean_restart);
	m->clean_plan = NULL;
	if (ret)
		return ret;
	c = p.c;
	dropped = p.dropped;
	dropped_sectors = p.dropped_sectors;
	m->clean_take = st->clean_copied_extents;
	st->data_buckets = d.buckets + c.buckets;
	st->dst_reserved_buckets = reserve_for(m, d.pieces + c.pieces);
	if (dropped && m->o->drop_clean) {
		prt_printf(m->out, "--drop-clean: %llu clean extents (%llu sectors) not copied",
			   (unsigned long long)dropped, (unsigned long long)dropped_sectors);
		prt_newline(m->out);
	} else if (dropped) {
		prt_printf(m->warn, "warning: '%s' is too small for all the clean data: %llu clean "
			   "extents (%llu sectors) are dropped, %llu (%llu sectors) copied; the "
			   "backing devices hold that data", m->dst_path,
			   (unsigned long long)dropped, (unsigned long long)dropped_sectors,
			   (unsigned long long)st->clean_copied_extents,
			   (unsigned long long)st->clean_copied_sectors);
		prt_newline(m->warn);
	}
	return 0;
}

static void report_plan(struct mig *m)
{
	const struct bt_migrate_stats *st = m->st;

	prt_printf(m->out, "%s '%s': cache set ", m->o->dry_run ? "would read" : "reading",
		   m->src_path);
	prt_uuid(m->out, m->sc.sb.set_uuid);
	prt_printf(m->out, ", %llu buckets of %u sectors, block %u sectors; %llu extents "
		   "(%llu journal keys replayed): %llu dirty (%llu sectors), %llu clean (%llu "
		   "sectors), %llu not live, %llu of unused uuid slots",
		   (unsigned long long)m->sc.nbuckets, m->sc.bucket_size, m->sc.block_size,
		   (unsigned long long)st->src_keys, (unsigned long long)st->journal_keys,
		   (unsigned long long)st->dirty_extents, (unsigned long long)st->dirty_sectors,
		   (unsigned long long)st->clean_extents, (unsigned long long)st->clean_sectors,
		   (unsigned long long)st->not_live, (unsigned long long)st->no_slot);
	prt_newline(m->out);
	prt_printf(m->out, "%s '%s': %llu buckets of %u sectors, block %u sectors, %llu free: "
		   "%llu for data, at most %llu for btree nodes, prios, uuids and the "
		   "kernel's allocator",
		   m->o->dry_run ? "would write" : "writing", m->dst_path,
		   (unsigned long long)m->pc.nbuckets, m->pc.bucket_size, m->pc.block_size,
		   (unsigned long long)m->free_buckets, (unsigned long long)st->data_buckets,
		   (unsigned long long)st->dst_reserved_buckets);
	prt_newline(m->out);
}

/* ---- 3. DST ------------------------------------------------------------ */

static int open_dst(struct mig *m)
{
	uint64_t nfree = 0;
	int ret;

	ret = bt_guard_open(&m->g, m->dst_i, BT_GUARD_RDWR, &m->ddev, m->err);
	if (ret)
		return ret;
	m->ddev.write_limit = m->o->dst_write_limit;
	ret = bt_cache_set_open(&m->dc, &m->ddev, BT_OPEN_STRICT, m->err);
	if (ret)
		return ret;
	m->dnc = bt_node_cache_new(&m->dc, BT_NODE_CACHE_DEFAULT_BYTES, 0);
	if (!m->dnc)
		return -ENOMEM;
	ret = bt_mark_buckets(&m->dc, m->dnc, m->err);
	if (ret)
		return ret;
	for (uint64_t b = m->dc.first_bucket; b < m->dc.nbuckets; b++)
		nfree += m->dc.buckets[b].mark == GC_MARK_NONE && !m->dc.buckets[b].pinned;
	if (m->dc.nbuckets != m->pc.nbuckets || m->dc.bucket_size != m->pc.bucket_size ||
	    m->dc.block_size != m->pc.block_size || m->dc.nr_uuids != m->pc.nr_uuids ||
	    nfree < m->free_buckets ||
	    memcmp(m->dc.sb.set_uuid, m->sc.sb.set_uuid, 16)) {
		prt_printf(m->err, "the cache set formatted on '%s' is not the one planned "
			   "(%llu buckets of %u sectors, %llu free)", m->dst_path,
			   (unsigned long long)m->dc.nbuckets, m->dc.bucket_size,
			   (unsigned long long)nfree);
		return -EIO;
	}
	return 0;
}

/* One output stream of data buckets: dirty or clean. */
struct stream {
	struct packer	p;
	uint64_t	bucket;
	uint8_t		*buf;		/* the open bucket's contents */
	bool		dirty;
};

static int stream_flush(struct mig *m, struct stream *s)
{
	if (!s->p.open || !s->p.used)
		return 0;
	return bt_dev_write(&m->ddev, s->buf, (size_t)s->p.used << SECTOR_SHIFT,
			    bt_bucket_to_sector(&m->dc, s->bucket) << SECTOR_SHIFT,
			    s->dirty ? "dirty data" : "clean data", m->err);
}

/* Copy one extent of the view through stream s, one key per piece. */
static int copy_extent(struct mig *m, struct bt_write_ctx *w, struct bt_btree_update *u,
		       struct stream *s, const struct bkey *k)
{
	uint64_t done = 0, start = KEY_START(k), src = PTR_OFFSET(k, 0);
	int ret;

	while (done < KEY_SIZE(k)) {
		struct printbuf rerr = PRINTBUF;
		struct bkey_padded kp;
		struct bkey *nk = (struct bkey *)&kp;
		unsigned pos, n;
		bool nb;

		if (!s->p.open || s->p.used >= s->p.bucket) {
			ret = stream_flush(m, s);
			if (!ret)
				ret = bt_bucket_alloc(w, false, &s->bucket, m->err);
			if (ret)
				return ret;
			memset(s->buf, 0, (size_t)s->p.bucket << SECTOR_SHIFT);
			m->dc.buckets[s->bucket].mark = s->dirty ? GC_MARK_DIRTY
								 : GC_MARK_RECLAIMABLE;
		}
		n = packer_next(&s->p, KEY_SIZE(k) - done, &pos, &nb);
		ret = bt_dev_read(&m->sdev, s->buf + ((size_t)pos << SECTOR_SHIFT),
				  (size_t)n << SECTOR_SHIFT, (src + done) << SECTOR_SHIFT,
				  s->dirty ? "dirty data" : "clean data", &rerr);
		if (ret && !s->dirty) {
			/* clean data is also on the backing device: drop the extent */
			prt_printf(m->warn, "warning: clean extent not copied: %s",
				   printbuf_str(&rerr));
			prt_newline(m->warn);
			printbuf_exit(&rerr);
			m->st->clean_read_errors++;
			m->st->clean_copied_extents--;
			m->st->clean_copied_sectors -= KEY_SIZE(k);
			return 0;
		}
		if (ret) {
			prt_printf(m->err, "dirty data unreadable: %s", printbuf_str(&rerr));
			printbuf_exit(&rerr);
			return ret;
		}
		printbuf_exit(&rerr);
		memset(&kp, 0, sizeof(kp));
		bkey_init_pos(nk, KEY_INODE(k), start + done + n, n);
		SET_KEY_PTRS(nk, 1);
		SET_KEY_DIRTY(nk, s->dirty);
		SET_PTR(nk, 0, m->dc.buckets[s->bucket].gen,
			bt_bucket_to_sector(&m->dc, s->bucket) + pos, m->dc.nr_this_dev);
		ret = bt_btree_insert_keys(u, (const uint64_t *)nk, bkey_u64s(nk), m->err);
		if (ret)
			return ret;
		if (m->dc.buckets[s->bucket].sectors_used + n < GC_SECTORS_USED_MAX)
			m->dc.buckets[s->bucket].sectors_used += n;
		else
			m->dc.buckets[s->bucket].sectors_used = GC_SECTORS_USED_MAX;
		m->st->keys_inserted++;
		done += n;
	}
	return 0;
}

/*
 * The new tree's leaves are written every this many extents copied
 * (bt_btree_update_flush_before()): the update holds the leaves still to
 * be filled, not the whole tree.
 */
#define MIG_FLUSH_EVERY	4096

/* copy_data()'s state: the two output streams, the extents copied so far. */
struct copy {
	struct bt_write_ctx	*w;
	struct bt_btree_update	*u;
	struct stream		s[2];		/* dirty, clean */
	uint64_t		clean_seen;	/* FATE_CLEAN keys met */
	uint64_t		copied;
};

static int copy_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct mig *m = arg;
	struct copy *x = m->copy;
	enum mig_fate f = mig_fate(m, k);
	int ret = 0;

	(void)c;
	if (f == FATE_SKIP || (f == FATE_CLEAN && x->clean_seen++ >= m->clean_take))
		return 0;
	if (++x->copied % MIG_FLUSH_EVERY == 0)
		ret = bt_btree_update_flush_before(x->u, KEY_INODE(k), KEY_START(k), m->err);
	return ret ? ret : copy_extent(m, x->w, x->u, &x->s[f == FATE_DIRTY ? 0 : 1], k);
}

/* Copy every chosen extent in key order, writing the new btree's leaves as they fill. */
static int copy_data(struct mig *m, struct bt_write_ctx *w, struct bt_btree_update *u)
{
	struct copy x = { .w = w, .u = u };
	int ret = 0;

	for (int i = 0; i < 2; i++) {
		packer_init(&x.s[i].p, m->dc.bucket_size, m->dc.block_size);
		x.s[i].dirty = !i;
		x.s[i].buf = malloc((size_t)m->dc.bucket_size << SECTOR_SHIFT);
		if (!x.s[i].buf)
			ret = -ENOMEM;
	}
	m->copy = &x;
	/* its own first walk: overlapping leaves are seen before anything is copied */
	if (!ret)
		ret = stream_src(m, copy_key, NULL, false, NULL);
	m->copy = NULL;
	for (int i = 0; i < 2 && !ret; i++)
		ret = stream_flush(m, &x.s[i]);
	if (!ret)
		ret = bt_dev_flush(&m->ddev, m->err);
	for (int i = 0; i < 2; i++)
		free(x.s[i].buf);
	if (ret == -ENOMEM)
		prt_str(m->err, "out of memory copying data");
	return ret;
}

/* The one transaction: data, btree, uuid slots, commit. */
static int fill_dst(struct mig *m)
{
	struct bt_write_ctx w;
	struct bt_btree_update u;
	int ret;

	ret = bt_write_begin(&w, &m->dc, m->dnc);
	if (ret) {
		prt_printf(m->err, "cannot start the transaction on '%s': %s", m->dst_path,
			   bt_err_str(ret));
		return ret;
	}
	bt_btree_update_init(&u, &w);
	u.bulk = true;		/* into an empty tree, in key order: leaves written as they fill */
	ret = copy_data(m, &w, &u);
	if (!ret)
		ret = bt_btree_update_write(&u, m->err);
	m->st->nodes_written = u.st.nodes_written;
	bt_btree_update_exit(&u);
	if (!ret && bt_stop_requested(m->o->stop)) {
		prt_printf(m->err, "migration to '%s' stopped before its commit: '%s' holds "
			   "no usable cache set; '%s' was only read", m->dst_path, m->dst_path,
			   m->src_path);
		ret = -BT_ERR_INTERRUPTED;
	}
	if (!ret) {
		memcpy(m->dc.uuids, m->sc.uuids, (size_t)m->nr_slots * sizeof(*m->dc.uuids));
		w.uuids_changed = true;
		w.last_seq = 0;
		ret = bt_commit(&w, m->err);
	}
	if (ret) {
		bt_write_abort(&w);
		return ret;
	}
	m->st->committed = true;
	m->st->tree_depth = m->dc.root_level;
	return 0;
}

static void report_done(struct mig *m)
{
	const struct bt_migrate_stats *st = m->st;

	prt_printf(m->out, "copied %llu dirty extents (%llu sectors) and %llu clean extents "
		   "(%llu sectors) as %llu keys in %llu buckets; btree of %llu nodes, "
		   "tree_depth %u; %u uuid slots",
		   (unsigned long long)st->dirty_extents, (unsigned long long)st->dirty_sectors,
		   (unsigned long long)st->clean_copied_extents,
		   (unsigned long long)st->clean_copied_sectors,
		   (unsigned long long)st->keys_inserted, (unsigned long long)st->data_buckets,
		   (unsigned long long)st->nodes_written, st->tree_depth, st->slots_copied);
	prt_newline(m->out);
}

static void mig_exit(struct mig *m)
{
	bt_node_cache_free(m->dnc);
	if (m->ddev.path) {
		bt_cache_set_exit(&m->dc);
		bt_dev_close(&m->ddev);
	}
	bt_node_cache_free(m->snc);	/* lets go of the pool */
	bt_node_pool_free(m->spool);
	if (m->sdev.path) {
		bt_cache_set_exit(&m->sc);
		bt_dev_close(&m->sdev);
	}
	bt_guard_exit(&m->g);
}

int bt_migrate(const char *src_path, const char *dst_path, const struct bt_migrate_opts *o,
	       struct bt_migrate_stats *st, struct printbuf *out, struct printbuf *warn,
	       struct printbuf *err)
{
	struct bt_migrate_stats st_local;
	struct mig m;
	int ret;

	memset(&m, 0, sizeof(m));
	m.o = o;
	m.st = st ? st : &st_local;
	memset(m.st, 0, sizeof(*m.st));
	m.out = out;
	m.warn = warn;
	m.err = err;
	m.src_path = src_path;
	m.dst_path = dst_path;
	m.sdev.fd = m.ddev.fd = -1;
	bt_guard_init(&m.g, o->force_in_use ? BT_GUARD_FORCE_IN_USE : 0, warn);

	ret = open_src(&m);
	if (!ret)
		ret = plan_dst(&m);
	if (!ret)
		ret = check_slots(&m);
	if (!ret)
		ret = classify(&m);
	if (!ret)
		ret = plan_space(&m);
	if (ret)
		goto out;
	report_plan(&m);
	/* format's own checks (signatures, in use) run before it writes anything */
	ret = bt_format(&m.fo, out, warn, err);
	if (ret || o->dry_run)
		goto out;
	ret = open_dst(&m);
	if (!ret)
		ret = fill_dst(&m);
	if (ret) {
		prt_printf(err, "\n'%s' holds an empty cache set with the set uuid of '%s'; "
			   "'%s' is unchanged: run migrate again", dst_path, src_path, src_path);
		goto out;
	}
	report_done(&m);
out:
	mig_exit(&m);
	return ret;
}
