/* commit.c --- the one atomic switch of the write path (write.h, FORMAT.md
 * 5.6, 6.2, 7.1, 10 #20): flush the nodes, write a new prio chain
 * (super.c bch_prio_write()), the uuid bucket if needed (__uuid_write()),
 * then one jset (journal.c journal_write_unlocked()), flushing after each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/prio_set.h"
#include "libcore/ondisk/uuid_entry.h"
#include "libcore/ondisk/jset.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/mark.h"
#include "libcore/write/write.h"

/* Step (b): a fresh chain of c->prio_buckets buckets holding every gen and prio. */
static int write_prios(struct bt_write_ctx *w, uint64_t *chain, struct printbuf *err)
{
	struct cache_set *c = w->c;
	void *buf;
	int ret = 0;

	for (unsigned i = 0; i < c->prio_buckets; i++) {
		ret = bt_bucket_alloc(w, true, &chain[i], err);
		if (ret)
			return ret;
	}
	buf = malloc(c->meta_bucket_bytes);
	if (!buf) {
		prt_str(err, "out of memory writing the prio chain");
		return -ENOMEM;
	}
	/* highest first as the kernel does; the last next_bucket is the old chain's start */
	for (unsigned i = c->prio_buckets; i-- > 0 && !ret;) {
		uint64_t next = i + 1 < c->prio_buckets ? chain[i + 1] : c->prio_chain[0];

		bt_prio_set_encode(c, i, c->buckets, c->prio_seq + 1, next, buf);
		ret = bt_dev_write(c->dev, buf, c->meta_bucket_bytes,
				   bt_bucket_to_sector(c, chain[i]) << SECTOR_SHIFT, "prio_set", err);
	}
	free(buf);
	if (!ret)
		ret = bt_dev_flush(c->dev, err);
	for (unsigned i = 0; i < c->prio_buckets && !ret; i++)
		ret = bt_free_after_commit(w, c->prio_chain[i]);
	return ret;
}

/* Step (c): the uuid slots of c->uuids to a fresh bucket; *key is its pointer. */
static int write_uuids(struct bt_write_ctx *w, struct bkey_padded *key, struct printbuf *err)
{
	struct cache_set *c = w->c;
	const struct bkey *old = (const struct bkey *)c->uuid_key.w;
	uint64_t b;
	void *buf;
	int ret;

	ret = bt_bucket_alloc(w, true, &b, err);
	if (ret)
		return ret;
	buf = malloc(c->meta_bucket_bytes);
	if (!buf) {
		prt_str(err, "out of memory writing the uuid bucket");
		return -ENOMEM;
	}
	bt_uuid_bucket_encode(c, c->uuids, buf);
	bt_uuid_ptr_key(c, b, c->buckets[b].gen, key);
	ret = bt_dev_write(c->dev, buf, c->meta_bucket_bytes,
			   bt_bucket_to_sector(c, b) << SECTOR_SHIFT, "uuid bucket", err);
	free(buf);
	if (!ret)
		ret = bt_dev_flush(c->dev, err);
	for (unsigned i = 0; i < KEY_PTRS(old) && i < BKEY_PAD - 2 && !ret; i++)
		if (PTR_BUCKET_NR(c, old, i) < c->nbuckets)
			ret = bt_free_after_commit(w, PTR_BUCKET_NR(c, old, i));
	return ret;
}

/* Does [sector, sector + len) overlap an entry the old state needs? */
static bool hits_needed_entry(const struct cache_set *c, uint64_t sector, uint64_t len)
{
	size_t bb = (size_t)c->block_size << SECTOR_SHIFT;

	for (size_t i = 0; i < c->journal.nr; i++) {
		const struct bt_journal_entry *e = &c->journal.entries[i];
		uint64_t end = e->sector + (e->bytes + bb - 1) / bb * c->block_size;

		if (sector < end && e->sector < sector + len)
			return true;
	}
	return false;
}

/*
 * Where the new jset of `sectors` goes: after the newest entry in the
 * current journal bucket when it fits there, else at the start of the next
 * journal bucket when that bucket holds no entry the old state needs.
 */
static int jset_place(const struct cache_set *c, uint64_t sectors, uint64_t *at,
		      struct printbuf *err)
{
	const struct bt_journal *jn = &c->journal;
	unsigned n = c->sb.keys < SB_JOURNAL_BUCKETS ? c->sb.keys : SB_JOURNAL_BUCKETS;
	unsigned next;
	uint64_t end;

	if (!n || jn->cur_idx >= n) {
		prt_printf(err, "no journal bucket to write to on '%s'", c->dev->path);
		return -BT_ERR_JOURNAL_EMPTY;
	}
	end = bt_bucket_to_sector(c, c->sb.d[jn->cur_idx]) + c->bucket_size;
	if (jn->cur_sector + sectors <= end && !hits_needed_entry(c, jn->cur_sector, sectors)) {
		*at = jn->cur_sector;
		return 0;
	}
	next = (jn->cur_idx + 1) % n;
	*at = bt_bucket_to_sector(c, c->sb.d[next]);
	if (jn->bucket_seq[next] < jn->last_seq && !hits_needed_entry(c, *at, sectors))
		return 0;
	prt_printf(err, "no room for a jset of %llu sectors on '%s': journal bucket %u "
		   "(bucket %llu) is full after sector %llu and the next journal bucket %u "
		   "(bucket %llu, byte %llu) still holds seq %llu, needed for replay from seq %llu",
		   (unsigned long long)sectors, c->dev->path, jn->cur_idx,
		   (unsigned long long)c->sb.d[jn->cur_idx], (unsigned long long)jn->cur_sector,
		   next, (unsigned long long)c->sb.d[next], (unsigned long long)*at << SECTOR_SHIFT,
		   (unsigned long long)jn->bucket_seq[next], (unsigned long long)jn->last_seq);
	return -BT_ERR_JOURNAL_FULL;
}

/*
 * The seq of the new jset: above every valid jset on the device, hidden
 * ones included, and above the seq stored in a damaged one when it is
 * plausible (within BT_JOURNAL_SEQ_WINDOW of the newest), so that no leftover claims the
 * new seq.
 */
static uint64_t next_seq(const struct cache_set *c)
{
	uint64_t seq = c->journal.newest_seq, base = seq;

	for (size_t i = 0; i < c->journal.nr_all; i++)
		if (le64toh(c->journal.all[i].j->seq) > seq)
			seq = le64toh(c->journal.all[i].j->seq);
	for (size_t i = 0; i < c->journal.nr_damage; i++) {
		uint64_t d = c->journal.damage[i].seq;

		if (c->journal.damage[i].kind != BT_JDAMAGE_IO && d > seq && d - base < BT_JOURNAL_SEQ_WINDOW)
			seq = d;
	}
	return seq + 1;
}

/*
 * The same write zeroes the rest of the journal bucket after the new jset:
 * the kernel's scan of the bucket (journal_read_bucket()) must end at the
 * new jset. Whatever followed it there -- entries older than the old
 * last_seq, or jsets hidden behind damage the new jset now overwrites --
 * would otherwise be read after it, and one with a garbage last_seq above
 * the new seq makes the kernel drop the new jset (FORMAT.md 5.3). Nothing
 * there is needed by the old state (jset_place() put the jset after the
 * newest entry the kernel reads, or in a bucket of older entries only);
 * when a needed entry is there after all, nothing more is written. A torn
 * write leaves a jset with a bad csum: the old state, as for any jset.
 */
static int pad_to_bucket_end(const struct cache_set *c, uint64_t at, void **buf, size_t *bytes)
{
	uint64_t end = (bt_sector_to_bucket(c, at) + 1) << c->bucket_bits;
	size_t total = (size_t)(end - at) << SECTOR_SHIFT;
	void *p;

	if (total <= *bytes || hits_needed_entry(c, at, end - at))
		return 0;
	p = realloc(*buf, total);
	if (!p)
		return -ENOMEM;
	memset((char *)p + *bytes, 0, total - *bytes);
	*buf = p;
	*bytes = total;
	return 0;
}

/* Step (d): the jset that publishes root, uuid bucket and prio chain. */
static int write_jset(struct bt_write_ctx *w, const struct bkey *uuid_key, uint64_t prio_start,
		      struct printbuf *err)
{
	struct cache_set *c = w->c;
	struct bt_jset_fields f = {
		.seq = next_seq(c), .btree_root = (const struct bkey *)w->new_root.w,
		.btree_level = w->new_root_level, .uuid_bucket = uuid_key,
		.prio_bucket = prio_start, .keys = w->journal_keys, .u64s = w->journal_u64s,
	};
	uint64_t at = 0;
	size_t bytes;
	void *buf;
	long n;
	int ret;

	f.last_seq = w->last_seq ? w->last_seq : f.seq;
	if (f.last_seq > f.seq || (w->last_seq && w->last_seq < c->journal.last_seq)) {
		prt_printf(err, "last_seq %llu of the new jset is outside [%llu, %llu]",
			   (unsigned long long)f.last_seq, (unsigned long long)c->journal.last_seq,
			   (unsigned long long)f.seq);
		return -EINVAL;
	}
	bytes = bt_jset_disk_bytes(c, f.u64s);
	buf = malloc(bytes);
	if (!buf) {
		prt_str(err, "out of memory writing a jset");
		return -ENOMEM;
	}
	n = bt_jset_encode(c, buf, bytes, &f, err);
	ret = n < 0 ? (int)n : jset_place(c, bytes >> SECTOR_SHIFT, &at, err);
	if (!ret)
		ret = pad_to_bucket_end(c, at, &buf, &bytes);
	if (!ret)
		ret = bt_dev_write(c->dev, buf, bytes, at << SECTOR_SHIFT, "jset", err);
	free(buf);
	if (!ret)
		ret = bt_dev_flush(c->dev, err);
	return ret;
}

/* After the jset is durable: c describes the new state. */
static int switch_state(struct bt_write_ctx *w, uint64_t *chain, const struct bkey_padded *uk,
			struct printbuf *err)
{
	struct cache_set *c = w->c;
	int ret;

	for (size_t i = 0; i < w->nr_free_after; i++) {
		struct bt_bucket *g = &c->buckets[w->free_after[i]];

		g->mark = GC_MARK_NONE;
		g->sectors_used = 0;
	}
	for (uint64_t b = 0; b < c->nbuckets; b++)
		c->buckets[b].disk_gen = c->buckets[b].gen;
	memcpy(c->prio_chain, chain, c->prio_buckets * sizeof(*chain));
	c->prio_seq++;
	c->prio_start = chain[0];
	c->uuid_key = *uk;
	c->root_key = w->new_root;
	c->root_level = w->new_root_level;
	c->uuids_version = BCACHE_JSET_VERSION;
	c->uuids_converted = false;
	/* the journal as a reader now finds it: the new jset is the newest */
	ret = bt_journal_read(c, err);
	if (!ret)
		ret = bt_journal_check_newest(c, err);
	/* its keys pin and mark their buckets as bch_journal_mark() would */
	for (size_t i = 0; !ret && i < w->journal_u64s;) {
		const struct bkey *k = (const struct bkey *)(w->journal_keys + i);

		if (w->journal_u64s - i < 2 || w->journal_u64s - i < bkey_u64s(k))
			break;
		if (bt_extent_invalid(c, k) == BT_EXTENT_VALID) {
			for (unsigned p = 0; p < KEY_PTRS(k); p++)
				if (bt_ptr_available(k, p) && PTR_BUCKET_NR(c, k, p) < c->nbuckets)
					c->buckets[PTR_BUCKET_NR(c, k, p)].pinned = 1;
			bt_mark_key(c, k, 0);
		}
		i += bkey_u64s(k);
	}
	if (ret)
		prt_printf(err, " (after a committed change of '%s')", c->dev->path);
	return ret;
}

int bt_commit(struct bt_write_ctx *w, struct printbuf *err)
{
	struct cache_set *c = w->c;
	struct bkey_padded uk;
	uint64_t *chain = NULL;
	int ret;

	if (!w->active) {
		prt_str(err, "commit outside a transaction");
		return -EINVAL;
	}
	if (!bt_dev_writable(c->dev)) {
		prt_printf(err, "refusing to commit a change to '%s': opened read-only",
			   c->dev->path);
		ret = -BT_ERR_DEV_READONLY;
		goto fail;
	}
	chain = calloc(c->prio_buckets ? c->prio_buckets : 1, sizeof(*chain));
	if (!chain) {
		prt_str(err, "out of memory committing a change");
		ret = -ENOMEM;
		goto fail;
	}
	uk = c->uuid_key;
	/* (a) the nodes bt_node_write() wrote */
	ret = bt_dev_flush(c->dev, err);
	/* (b) prio chain: gens of all buckets, the new ones included */
	if (!ret)
		ret = write_prios(w, chain, err);
	/* (c) a v0 uuid bucket must be rewritten for a version 1 jset */
	if (!ret && (w->uuids_changed || c->uuids_converted))
		ret = write_uuids(w, &uk, err);
	/* tests: a window inside the commit for a signal to land in */
	if (!ret)
		bt_stop_test_delay(c->stop);
	/* (d) the switch */
	if (!ret)
		ret = write_jset(w, (const struct bkey *)uk.w, chain[0], err);
	if (ret)
		goto fail;
	ret = switch_state(w, chain, &uk, err);
	free(chain);
	bt_write_end(w);
	return ret;
fail:
	free(chain);
	bt_write_abort(w);
	return ret;
}
