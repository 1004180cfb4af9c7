/* write.h --- the write path: every change bcache-tool makes to a cache set.
 *
 * THE CONTRACT (shared by fsck repairs, journal replay, gc, writeback, format):
 *
 * 1. Copy-on-write. A live node, prio bucket, uuid bucket or journal entry
 *    the current on-disk state needs is never overwritten. New nodes, a new
 *    prio chain and a new uuid bucket go to buckets that nothing in the old
 *    state references (bucket mark NONE, not pinned by a journal key, not
 *    metadata, not below first_bucket), with their gen incremented
 *    (alloc.c bch_inc_gen(), only while the gc gen lag allows it:
 *    can_inc_bucket_gen()).
 * 2. One atomic switch. The commit writes, in order, with a flush after each
 *    step: (a) every new node; (b) the new prio chain (gens and prios of ALL
 *    buckets, including the incremented gens of the buckets used in (a));
 *    (c) the new uuid bucket if the uuids changed; (d) ONE new jset (seq =
 *    newest + 1, last_seq, btree_root and level, uuid_bucket,
 *    prio_bucket[nr_this_dev]) appended after the newest entry in the current
 *    journal bucket when it fits, else at the start of the next journal
 *    bucket provided that bucket holds no entry the old state still needs
 *    (seq >= old last_seq); the same write zeroes the rest of that journal
 *    bucket, so that the kernel's scan of it ends at the new jset. Until (d) is durable the old state is intact and
 *    is what the kernel (and bcache-tool) reads; after it, the new one.
 * 3. Old buckets (replaced nodes, the old prio chain, the old uuid bucket)
 *    become free only in memory after the commit; nothing is erased.
 * 4. All writes go through bt_dev_write(): a read-only device (fsck -n)
 *    refuses them, and dev->write_limit lets tests stop after write N to
 *    prove the crash safety of every step.
 *
 * Units: buckets are bucket numbers, sizes in sectors unless _bytes.
 */
#ifndef BCACHE_TOOL_WRITE_H
#define BCACHE_TOOL_WRITE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/read/mark.h"
#include "libcore/read/node_cache.h"
#include "libcore/base/printbuf.h"

/* One transaction on a cache set (bt_write_begin() .. bt_commit()). */
struct bt_write_ctx {
	struct cache_set	*c;
	struct bt_node_cache	*nc;
	/* buckets allocated by this transaction, in order */
	uint64_t		*new_buckets;
	size_t			nr_new, size_new;
	/* buckets the new state no longer references: freed after the commit */
	uint64_t		*free_after;
	size_t			nr_free_after, size_free_after;
	/* the new root (set by btree updates), and whether it changed */
	struct bkey_padded	new_root;
	unsigned		new_root_level;
	bool			root_changed;
	bool			uuids_changed;
	/* last_seq of the jset to write: 0 = the new jset's own seq (nothing to replay) */
	uint64_t		last_seq;
	/* keys to journal in the new jset (normally none); owned by the caller */
	uint64_t		*journal_keys;
	size_t			journal_u64s;

	/* private to alloc.c / commit.c */
	struct bt_bucket	*saved_buckets;	/* c->buckets at bt_write_begin() */
	struct uuid_entry	*saved_uuids;	/* c->uuids at bt_write_begin() */
	uint64_t		alloc_cursor;	/* next bucket bt_bucket_alloc() looks at */
	bool			active;		/* between begin and commit/abort */
	bool			held;		/* stop.h's signals held since begin */
	sigset_t		old_mask;	/* the signal mask before begin */
};

/*
 * Start a transaction; c must have been marked (bt_mark_buckets()).
 * From here until bt_commit() or bt_write_abort() ends it, SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT are held (stop.h): one arriving meanwhile
 * is delivered when the transaction ends.
 * new_root/new_root_level start as the current root. A change of the uuid
 * slots is made by editing c->uuids in place and setting uuids_changed.
 * Returns 0, -EINVAL when c is not marked (no message: there is no err
 * argument), -ENOMEM.
 */
int bt_write_begin(struct bt_write_ctx *w, struct cache_set *c, struct bt_node_cache *nc);
/*
 * bt_write_start(): the usual start of a change to a cache set read from
 * disk: the initial gc mark pass (bt_mark_buckets()), then
 * bt_write_begin(). Returns 0 or a negative code with a message naming
 * c's device ("cannot start a write transaction on ...").
 */
int bt_write_start(struct bt_write_ctx *w, struct cache_set *c, struct bt_node_cache *nc,
		   struct printbuf *err);
/*
 * Drop a transaction: nothing of it was committed; c->buckets and c->uuids
 * are restored to their state at bt_write_begin(). Blocks already written
 * to fresh buckets stay on disk, unreferenced. A no-op on a transaction
 * that bt_commit() ended.
 */
void bt_write_abort(struct bt_write_ctx *w);
/* Free a transaction's memory, leaving c as it is (bt_commit() does it). */
void bt_write_end(struct bt_write_ctx *w);

/*
 * bt_bucket_alloc(): a free bucket (mark NONE, not pinned, not metadata,
 * >= first_bucket, gen may be incremented), its gen incremented and prio set
 * (BTREE_PRIO for metadata, else INITIAL_PRIO), marked as used by this
 * transaction. Mirrors alloc.c bch_bucket_alloc(). Returns 0 and the bucket
 * number, or -BT_ERR_NO_FREE_BUCKET with a message.
 */
int bt_bucket_alloc(struct bt_write_ctx *w, bool metadata, uint64_t *bucket,
		    struct printbuf *err);

/*
 * bt_node_write(): write a new btree node holding the keys [keys, keys+u64s)
 * (already sorted, non-overlapping for leaves) at `level`, covering up to
 * max_key, in a fresh bucket: one bset (version 1, fresh random non-zero
 * seq, the set's bset magic, csum seeded with the new pointer), padded to
 * whole blocks, node size c->btree_node_sectors. The keys must fit in the
 * node. Fills *ptr_key with the pointer key the parent needs (position
 * max_key, KEY_SIZE node sectors, ptr = bucket start with the new gen).
 * Mirrors btree.c do_btree_node_write() / bch_btree_node_alloc().
 * Returns 0 or a negative code with a message.
 */
int bt_node_write(struct bt_write_ctx *w, const uint64_t *keys, size_t u64s, unsigned level,
		  const struct bkey *max_key, struct bkey_padded *ptr_key, struct printbuf *err);

/* Record that bucket b is no longer referenced once the commit is durable. */
int bt_free_after_commit(struct bt_write_ctx *w, uint64_t b);

/*
 * bt_commit(): steps (a)-(d) of the contract: flush the nodes, write the
 * prio chain (super.c bch_prio_write()) and, if w->uuids_changed, the uuid
 * bucket (super.c __uuid_write()), then the jset (journal.c
 * journal_write_unlocked()), flushing after each; then free w->free_after in
 * memory and update c (root, journal, prio chain, uuid key). Returns 0 or a
 * negative code with a message; on error the old state is the one on disk.
 *
 * Details:
 *  - The prio chain is prio_buckets fresh buckets (prio BTREE_PRIO), seq =
 *    c->prio_seq + 1, next_bucket of the last one = the old chain's first
 *    bucket (what the kernel leaves there; never followed).
 *  - A uuid bucket read in the v0 format (c->uuids_converted) is always
 *    rewritten: the new jset has version 1.
 *  - The jset's seq is one above every valid jset on the device (hidden
 *    ones included, so none can shadow it): newest + 1 on a sane journal.
 *    last_seq: w->last_seq, or the jset's own seq when 0; a non-zero
 *    w->last_seq must be in [current last_seq, new seq] (-EINVAL).
 *  - Placement: right after the newest entry in the current journal
 *    bucket when it fits and overlaps no entry of the replay range, else
 *    the first sector of the next journal bucket when every entry there
 *    is older than the current last_seq; else -BT_ERR_JOURNAL_FULL.
 *  - The superblock is never written.
 *  - Ends the transaction either way: on success c describes the new
 *    state (journal re-read from the device); on error the in-memory
 *    state is restored as by bt_write_abort(). Writes on a read-only
 *    device: -BT_ERR_DEV_READONLY before any write.
 */
int bt_commit(struct bt_write_ctx *w, struct printbuf *err);

#endif /* BCACHE_TOOL_WRITE_H */
