/* rebuild.h --- rebuilding the btree from what can still be read (fsck -y).
 *
 * fsck's repair of the btree and its keys is one operation: collect the
 * leaf extents the kernel would serve (the overlay view, journal replay
 * included), reading every node in salvage mode (btree.h BT_NODE_SALVAGE:
 * bsets that verify are kept, damaged ones skipped) and skipping subtrees
 * that cannot be read at all; drop from that view every key that must not
 * survive (below); then write the result as a new tree (btree_update.h
 * bt_btree_update_init_fresh()) in one copy-on-write transaction
 * (write.h). Every node of the old tree is replaced, so child gaps and
 * overlaps, keys out of order or outside their node, a root short of
 * MAX_KEY and nodes sharing a bucket are all gone from the new tree, and
 * the prio chain the commit writes records every gen the marking raised
 * (pointers "in the future").
 *
 * Keys dropped from the view, each recorded (struct bt_lost) when it held
 * dirty data or when its contents are unknown:
 *   - stale pointers (clean: the data is on the backing device; dirty: the
 *     kernel since 4.17 drops them too, "stale dirty pointer"),
 *   - keys of a uuid slot that holds no device,
 *   - data pointers into metadata buckets (journal, prio chain, uuids,
 *     btree nodes of the old tree): that data was overwritten,
 *   - the part of a flash volume's extents past the volume's end (cut),
 *   - invalid keys (the kernel drops them at read; dirty ones are listed).
 * Subtrees that cannot be read (the root included), and nodes whose damaged bsets were
 * skipped, are recorded with the key range they covered: what the cache
 * held there (dirty data included) is unknown and is lost.
 *
 * Keys that cannot be real (bt_extent_implausible(): a pointer to a cache
 * device or bucket the set does not have, a slot past the uuid bucket's,
 * KEY_SIZE > KEY_OFFSET; and, in damaged bsets, a key outside its node's
 * range) are garbage -- random bytes read as keys -- and are never counted
 * as data: they are listed apart (struct bt_garbage), in no lost range.
 * No lost range names a slot past the uuid bucket's, a bucket outside
 * [first_bucket, nbuckets) or a sector past the end of a flash volume: the
 * part of a flash volume's keys past its recorded size, which the kernel
 * never serves, is recorded as BT_LOST_PAST_END, not as lost.
 *
 * Units: positions and lengths in sectors of the slot's device.
 */
#ifndef BCACHE_TOOL_REBUILD_H
#define BCACHE_TOOL_REBUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/write/btree_update.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/extent_map.h"
#include "libcore/base/printbuf.h"
#include "libcore/write/write.h"

#define BT_LOST_TO_END	UINT64_MAX	/* a lost range that runs to the device's end */
#define BT_LOST_NO_BUCKET UINT64_MAX	/* no bucket of the cache concerned (or known) */

enum bt_lost_kind {
	BT_LOST_DIRTY,		/* dirty data of these sectors is gone */
	BT_LOST_UNKNOWN,	/* the cache's contents here are unknown: dirty data may be gone */
	BT_LOST_CLEAN,		/* clean cached data dropped (still on the backing device) */
	BT_LOST_PAST_END,	/* data past the end of a flash volume: never served, dropped */
};

/* One range of one slot's device whose cached data the rebuild does not keep. */
struct bt_lost {
	uint64_t		inode;		/* uuid slot */
	uint64_t		start, end;	/* sectors [start, end); end may be BT_LOST_TO_END */
	enum bt_lost_kind	kind;
	uint64_t		bucket;		/* the node or data bucket concerned */
	const char		*reason;	/* static text */
};

/* Where a garbage key was found. */
enum bt_garbage_source {
	BT_GARBAGE_DAMAGED_BSET,	/* a bset that does not verify, of a damaged leaf */
	BT_GARBAGE_BSET,		/* a bset that verifies (an invalid or misplaced key) */
	BT_GARBAGE_JOURNAL,		/* a jset of the replay range */
	BT_GARBAGE_VIEW,		/* the tree after journal replay: a bset or a jset */
};

/* A key that cannot be real: not counted as data, in no lost range. */
struct bt_garbage {
	char			*key;		/* in kernel notation (bt_bkey_to_text()), owned */
	enum bt_garbage_source	source;
	uint64_t		bucket;		/* the node it was read from, or BT_LOST_NO_BUCKET */
	const char		*why;		/* static text */
};

struct bt_rebuild_stats {
	uint64_t	nodes_read;
	uint64_t	nodes_salvaged;		/* read with damaged bsets skipped */
	uint64_t	nodes_unreadable;	/* subtrees skipped */
	uint64_t	keys_kept;
	uint64_t	keys_stale;		/* clean stale keys dropped */
	uint64_t	keys_dropped;		/* other keys dropped (each in lost[]) */
	uint64_t	keys_cut;		/* flash volume keys cut at the volume's end */
	uint64_t	dirty_sectors_lost;	/* BT_LOST_DIRTY sectors */
	uint64_t	clean_sectors_dropped;	/* BT_LOST_CLEAN sectors */
	uint64_t	past_end_sectors;	/* BT_LOST_PAST_END sectors */
	uint64_t	garbage_keys;		/* keys in garbage[] */
};

struct bt_rebuild {
	struct bt_extmap	keys;		/* the new tree's leaf keys, sorted */
	struct bt_lost		*lost;
	size_t			nr_lost, size_lost;
	struct bt_garbage	*garbage;
	size_t			nr_garbage, size_garbage;
	uint64_t		*old_nodes;	/* buckets of the old tree's nodes */
	size_t			nr_old_nodes, size_old_nodes;
	struct bt_rebuild_stats	st;
	bool			root_lost;	/* the root could not be read: the new tree is empty */
};

/* Zero rb; bt_rebuild_exit() frees it. */
void bt_rebuild_init(struct bt_rebuild *rb);
void bt_rebuild_exit(struct bt_rebuild *rb);

/*
 * bt_rebuild_collect(): fill rb from c (opened by bt_cache_set_open(),
 * uuids read; the prio chain may be damaged: gens missing from it are
 * taken from the pointers, the newest one winning). Reads the tree with
 * its own node cache in salvage mode; raises c->buckets[].gen as the mark
 * pass does. Read-only. Returns 0 or a negative code with a message
 * (-ENOMEM). A root that cannot be read is not an error: rb->root_lost is
 * set, the whole key range is recorded as lost and the new tree is empty.
 */
int bt_rebuild_collect(struct cache_set *c, struct bt_rebuild *rb, struct printbuf *err);

/*
 * bt_rebuild_write(): in transaction w (bt_write_begin() done on the same
 * c, buckets marked), write rb->keys as a new tree and free every old node
 * bucket after the commit; sets w->new_root. The caller commits
 * (bt_commit()). st (may be NULL) gets the node counts. Returns 0 or the
 * codes of btree_update.h and alloc (-BT_ERR_NO_FREE_BUCKET).
 */
int bt_rebuild_write(struct bt_write_ctx *w, struct bt_rebuild *rb,
		     struct bt_btree_update_stats *st, struct printbuf *err);

/* "dirty data lost", "contents unknown", "clean data dropped", "past the end ...". */
const char *bt_lost_kind_str(enum bt_lost_kind kind);
/* "damaged bset", "bset", "journal", "btree or journal". */
const char *bt_garbage_source_str(enum bt_garbage_source src);

#endif /* BCACHE_TOOL_REBUILD_H */
