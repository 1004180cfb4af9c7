/* replay.h --- journal replay onto the device.
 *
 * bt_journal_replay() does offline what the kernel's bch_journal_replay()
 * does at registration (FORMAT.md 5.5): every key of the replay range, in
 * journal order, is inserted into the btree with the extent overwrite
 * rules (btree_update.h), and the result is committed as ONE write
 * transaction (write.h): new nodes, new prio chain, then one jset whose
 * last_seq is its own seq, so that nothing is left to replay. Until that
 * jset is durable the old state, with its journal still to replay, is what
 * the kernel and bcache-tool read; the view (overlay.h) is the same in both.
 *
 * Replay is idempotent: keys already in the btree (a cleanly stopped cache
 * keeps its journal) are inserted again with the same result, and a cache
 * set whose replay range holds no key is left untouched.
 */
#ifndef BCACHE_TOOL_REPLAY_H
#define BCACHE_TOOL_REPLAY_H

#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/read/node_cache.h"
#include "libcore/base/printbuf.h"

enum bt_replay_flags {
	/* replay even when seqs of the replay range are missing */
	BT_REPLAY_FORCE		= 1 << 0,
	/*
	 * commit a new jset (last_seq = its own seq) even when the replay
	 * range holds no key: fsck's journal repairs make a damaged journal
	 * unreachable this way
	 */
	BT_REPLAY_COMMIT	= 1 << 1,
};

struct bt_replay_stats {
	uint64_t	entries;	/* jsets in the replay range */
	uint64_t	keys;		/* keys inserted */
	uint64_t	zero_size;	/* zero-size keys (change nothing) */
	uint64_t	invalid;	/* invalid keys skipped (the kernel would crash: FORMAT.md 13 E2) */
	uint64_t	nodes_written;
	uint64_t	nodes_freed;
	uint64_t	splits;
	unsigned	levels_added;
	uint64_t	dead_dropped;	/* stale or bad keys of the rewritten nodes, left out */
	bool		committed;	/* a new jset was written */
};

/*
 * bt_journal_replay(): replay c's journal into its btree on c->dev (opened
 * read-write) and commit. c must come from bt_cache_set_open() and nc be
 * its node cache. Marks the buckets first (bt_mark_buckets()).
 *
 * Missing seqs in the replay range: refused with
 * -BT_ERR_JOURNAL_MISSING_ENTRIES and the ranges in err (the kernel's
 * "journal entries X-Y missing!"), unless flags has BT_REPLAY_FORCE.
 * Invalid keys (extents.c __bch_extent_invalid(), zero size excepted) are
 * skipped and each is described on one line of report (may be NULL).
 * When the range holds no key nothing is written (st->committed false),
 * unless flags has BT_REPLAY_COMMIT.
 *
 * Returns 0 or a negative code with a message (node read errors,
 * -BT_ERR_NO_FREE_BUCKET, -BT_ERR_WRITE_LIMIT and I/O errors from the
 * commit, -ENOMEM); on error the device holds the old state.
 * Mirrors journal.c bch_journal_replay().
 */
int bt_journal_replay(struct cache_set *c, struct bt_node_cache *nc, unsigned flags,
		      struct bt_replay_stats *st, struct printbuf *report, struct printbuf *err);

struct bt_btree_update;

/*
 * bt_journal_replay_insert(): the insert step of bt_journal_replay() inside
 * a caller's transaction: every valid key of the replay range of
 * u->w->c, in journal order, goes into u (in memory; the caller writes and
 * commits, with w->last_seq 0 so that nothing is left to replay). Counts
 * into st (keys, zero_size, invalid; not zeroed first); invalid keys are
 * reported into report (may be NULL) as bt_journal_replay() does. Does not
 * check for missing seqs. Returns 0 or the code of bt_btree_insert_keys().
 */
int bt_journal_replay_insert(struct bt_btree_update *u, struct bt_replay_stats *st,
			     struct printbuf *report, struct printbuf *err);

#endif /* BCACHE_TOOL_REPLAY_H */
