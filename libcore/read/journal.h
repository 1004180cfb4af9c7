/* journal.h --- reading a cache set's journal as the kernel does.
 *
 * The journal is sb.d[0..keys-1]: buckets holding jsets at block-aligned
 * positions. bt_journal_read() scans every journal bucket with the rules of
 * the kernel's journal_read_bucket() (journal.c) and keeps the list the
 * kernel would replay: the entries from newest.last_seq to the newest seq.
 * It also records damaged positions and missing seqs (struct bt_journal in
 * cache_set.h), and emulates the kernel's probing order of
 * bch_journal_read() to tell when the kernel would see a different list.
 *
 * Units: sectors for positions on the device, bytes where the name says so.
 */
#ifndef BCACHE_TOOL_JOURNAL_H
#define BCACHE_TOOL_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/ondisk/jset.h"
#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"

/*
 * A seq stored in a damaged jset is taken as plausible (a real entry's)
 * when it lies less than this above the newest valid seq; further ahead it
 * is garbage (commit.c next_seq(), fsck's journal damage report).
 */
#define BT_JOURNAL_SEQ_WINDOW	(1ULL << 32)

/*
 * bt_journal_read(): fill c->journal from the journal buckets of c->dev.
 * c's superblock and geometry must be set (bt_cache_set_geometry()).
 * Mirrors journal.c journal_read_bucket() per position (magic, size <=
 * 32 KiB and inside the bucket, csum, advance by set_blocks) and its list
 * rules; every bucket is read (FORMAT.md 5.4 allows it) and the kernel's
 * probe order is emulated on the same scan for kernel_differs.
 * Returns 0 (also when gaps or damage were found: see c->journal),
 * -BT_ERR_JOURNAL_EMPTY ("no journal entries found"), -ENOMEM. I/O errors
 * on a bucket are recorded as damage, not returned.
 */
int bt_journal_read(struct cache_set *c, struct printbuf *err);

/*
 * bt_journal_check_newest(): copy root key, root level, uuid key and
 * prio_bucket[nr_this_dev] of the newest jset into c, and validate the
 * root as a btree pointer (extents.c __bch_btree_ptr_invalid(), as
 * run_cache_set() does; the uuid key is checked by bt_uuid_read()).
 * Returns 0, -BT_ERR_BTREE_BAD_ROOT ("bad btree root") with the fields
 * still copied, or -BT_ERR_JOURNAL_EMPTY when there is no newest jset.
 */
int bt_journal_check_newest(struct cache_set *c, struct printbuf *err);

/*
 * bt_journal_ptr_check(): the btree-pointer rule of
 * __bch_btree_ptr_invalid() for a key held in a 64-byte jset slot: at
 * least one pointer and at most 6 (the slot), size > 0, not dirty, and
 * for every pointer: device in the set, bucket in [first_bucket,
 * nbuckets), remainder + size <= bucket_size. what names the key in the
 * message ("btree root in jset 23"). Returns 0 or -BT_ERR_BKEY_INVALID.
 * (May be replaced by bkey.c's validator once it exists.)
 */
int bt_journal_ptr_check(const struct cache_set *c, const struct bkey *k,
			 const char *what, struct printbuf *err);

/* Free c->journal's memory and zero it. */
void bt_journal_exit(struct bt_journal *j);

/* The newest entry, or NULL when the journal is empty. */
static inline const struct bt_journal_entry *bt_journal_newest(const struct bt_journal *j)
{
	return j->nr ? &j->entries[j->nr - 1] : NULL;
}

/*
 * bt_jset_to_text(): header fields (seq, last_seq, version, keys, btree
 * root and level, uuid bucket, prio bucket of this cache), then one line
 * per key when with_keys is set. e (may be NULL) gives the position.
 */
void bt_jset_to_text(struct printbuf *out, const struct cache_set *c,
		     const struct bt_journal_entry *e, bool with_keys);

/* One line per damaged position and per missing seq range of c->journal. */
void bt_journal_problems_to_text(struct printbuf *out, const struct cache_set *c);

#endif /* BCACHE_TOOL_JOURNAL_H */
