/* overlay.h --- the leaf extents as the kernel sees them after journal
 * replay, built without writing anything.
 *
 * The btree's leaf keys (each node's merged key stream, in tree order) go
 * into an extent map; then the journal keys of the replay range are
 * applied in journal order (entries by seq, keys in stored order) with the
 * extent overwrite rules, as bch_journal_replay() inserts them. Before
 * that, bucket gens are raised as the kernel's initial mark pass does for
 * btree pointers (bch_btree_check()) and journal keys (bch_journal_mark()),
 * so staleness is judged on the gens the kernel would hold.
 *
 * Bad keys (no pointer, stale, check dev) stay in the map because they hide
 * older data; bt_overlay_key_live() tells which keys serve data.
 */
#ifndef BCACHE_TOOL_OVERLAY_H
#define BCACHE_TOOL_OVERLAY_H

#include <stdbool.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/read/extent_map.h"
#include "libcore/read/node_cache.h"

struct bt_overlay_stats {
	uint64_t	btree_keys;	/* leaf keys taken from the btree */
	uint64_t	journal_keys;	/* journal keys applied */
	uint64_t	journal_invalid;	/* journal keys skipped as invalid */
	uint64_t	leaves;		/* leaf nodes read */
	uint64_t	unreadable_nodes;	/* subtrees skipped after an error */
};

/* What bt_overlay_build() reads, and what it does on a node error. */
enum bt_overlay_flags {
	/* apply the journal's keys of the replay range; without: the on-disk btree alone */
	BT_OVERLAY_JOURNAL	= 1 << 0,
	/*
	 * a node that cannot be read: report it into err, skip its subtree
	 * and go on (counted in stats->unreadable_nodes); without: return
	 * its error
	 */
	BT_OVERLAY_KEEP_GOING	= 1 << 1,
};

/*
 * bt_overlay_build(): fill view (initialised by the caller, owned by it)
 * with the leaf extents of c, as flags (enum bt_overlay_flags) say.
 * Invalid journal keys are skipped and counted (the kernel would crash on
 * them: FORMAT.md 13 E2). Raises c->buckets[].gen as the mark pass does.
 * Returns 0 or a negative code with a message.
 */
int bt_overlay_build(struct cache_set *c, struct bt_node_cache *nc, unsigned flags,
		     struct bt_extmap *view, struct bt_overlay_stats *stats,
		     struct printbuf *err);

/* What bt_overlay_build_opts() reports besides the view (all optional). */
struct bt_overlay_opts {
	unsigned	flags;		/* enum bt_overlay_flags */
	/* a subtree that could not be read, with the key range it covered */
	bt_walk_lost_fn	lost_fn;
	/* every node read, interior ones included (to see n->invalid, n->bad_bsets) */
	void		(*node_fn)(const struct bt_node *n, const struct bt_walk_pos *pos,
				   void *arg);
	/* a journal key of the replay range skipped as invalid */
	void		(*journal_invalid_fn)(const struct bkey *k, void *arg);
	void		*arg;
};

/* bt_overlay_build() with reports through o. Same returns. */
int bt_overlay_build_opts(struct cache_set *c, struct bt_node_cache *nc,
			  const struct bt_overlay_opts *o, struct bt_extmap *view,
			  struct bt_overlay_stats *stats, struct printbuf *err);

/*
 * bt_overlay_journal(): the journal half of bt_overlay_build_opts(): raise
 * bucket gens for the valid journal keys (bch_journal_mark()), then insert
 * the keys of the replay range into view in journal order, skipping and
 * counting the invalid ones (o->journal_invalid_fn). On an empty view this
 * gives the journal's keys alone as they win over the btree's. Returns 0,
 * -ENOMEM, -EINVAL (a key the map cannot hold) with a message.
 */
int bt_overlay_journal(struct cache_set *c, const struct bt_overlay_opts *o,
		       struct bt_extmap *view, struct bt_overlay_stats *stats, struct printbuf *err);

/*
 * bt_overlay_journal_raises_gens(): would bt_overlay_journal() (and the
 * kernel's bch_journal_mark()) raise any bucket gen of c as the gens are
 * now: does a valid journal key hold a live pointer ahead of its bucket's
 * gen? When not, the view's staleness can be judged before the journal is
 * marked. Reads only.
 */
bool bt_overlay_journal_raises_gens(struct cache_set *c);

/* A key of the view that serves data: a pointer, available, not stale, valid. */
bool bt_overlay_key_live(const struct cache_set *c, const struct bkey *k);

#endif /* BCACHE_TOOL_OVERLAY_H */
