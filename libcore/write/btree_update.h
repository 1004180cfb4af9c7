/* btree_update.h --- inserting leaf keys into the btree, copy-on-write.
 *
 * One struct bt_btree_update collects every change of one write
 * transaction (write.h) in memory: the nodes on the paths to the leaves
 * that receive keys are loaded (through the node cache) into an in-memory
 * copy of the tree; leaf keys are inserted with the kernel's extent
 * overwrite rules (extents.c bch_extent_insert_fixup(), via extent_map.h),
 * cut at leaf boundaries as btree.c bch_btree_insert_keys() cuts them.
 * Nothing is written until bt_btree_update_write(), which rewrites every
 * changed node bottom-up into fresh buckets (bt_node_write()), splits the
 * nodes whose keys no longer fit, replaces their parents' pointers (which
 * makes the parents change too, up to the root), adds a root level when
 * the root splits, and sets w->new_root / new_root_level / root_changed
 * for bt_commit().
 *
 * Decisions (the kernel does the same job online, node by node):
 *
 * - A rewritten node is compacted like btree.c btree_node_alloc_replacement()
 *   (bset.c bch_btree_sort_into()): one bset, keys sorted, bad keys dropped
 *   (bch_ptr_bad: stale, no pointer, check dev, zero-position freeing keys),
 *   adjacent extents merged (bch_extent_merge()).
 * - Splits are decided on the final key set of a node, not insert by
 *   insert: a node is split when its keys would leave less room than the
 *   kernel needs to insert one more key (btree.c insert_u64s_remaining():
 *   node buffer minus the bset, minus KEY_MAX_U64S for leaves). The
 *   kernel's btree_split() then cuts after the key where 3/5 of the u64s
 *   are reached (the first node gets that key's position, the last one the
 *   old node's key); when more than two nodes are needed, each cut takes
 *   3/5 of a full node. A root that splits gets a new root one level up at
 *   MAX_KEY.
 * - No freeing keys (FORMAT.md 4.5). The kernel appends a ZERO_KEY-position
 *   key with gen + 1 to the parent because the old child pointer stays in
 *   the parent's older bsets. Here every parent of a replaced node is itself
 *   rewritten from scratch and no longer contains the old pointer, so the
 *   old node's bucket is unreferenced in the new state; it goes to
 *   bt_free_after_commit() and its gen is incremented when it is allocated
 *   again (write.h rule 1). Freeing keys and stale pointers already in a
 *   rewritten node are dropped: the gens they raised (bt_mark_buckets())
 *   are persisted by the commit's prio write.
 *
 * Units: positions in sectors; sizes of key arrays in u64s.
 */
#ifndef BCACHE_TOOL_BTREE_UPDATE_H
#define BCACHE_TOOL_BTREE_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"
#include "libcore/write/write.h"

struct bt_unode;

struct bt_btree_update_stats {
	uint64_t	keys_inserted;	/* keys (or key pieces per leaf) inserted */
	uint64_t	nodes_loaded;	/* nodes copied into memory */
	uint64_t	nodes_written;	/* new nodes written */
	uint64_t	nodes_freed;	/* old nodes replaced */
	uint64_t	splits;		/* nodes that were split */
	unsigned	levels_added;	/* new root levels */
	/* stale or bad keys (invalid ones included) of the old nodes rewritten: left out */
	uint64_t	dead_dropped;
};

struct bt_btree_update {
	struct bt_write_ctx		*w;
	struct bt_unode			*root;		/* NULL until a key is inserted */
	/*
	 * Largest key set of a node in u64s; 0 = derived from the node size
	 * as the kernel does. Tests set it small to force splits.
	 */
	size_t				max_node_u64s;
	/*
	 * Bulk load: the keys come in key order into a tree that grows (a
	 * freshly formatted cache). bt_btree_update_flush_before() then first
	 * cuts every leaf grown past a node's limit where the write would cut
	 * it (a root leaf gets a new root above it first), so that the leaves
	 * the inserts have passed can be written and let go: the update holds
	 * about one leaf, not the whole tree. The tree written is the one the
	 * write alone would give (same keys, same nodes).
	 */
	bool				bulk;
	struct bt_btree_update_stats	st;
};

/* Start collecting updates for transaction w (bt_write_begin() done). */
void bt_btree_update_init(struct bt_btree_update *u, struct bt_write_ctx *w);
/*
 * bt_btree_update_init_fresh(): like bt_btree_update_init(), but the keys
 * go into a new, empty tree (one empty leaf at MAX_KEY) instead of the
 * current one: nothing of the old tree is read or freed (the caller frees
 * the old nodes' buckets with bt_free_after_commit()). bt_btree_update_write()
 * then writes the whole new tree, split into as many nodes and levels as
 * the keys need, even when it holds no key. fsck's rebuild and migrate
 * use it. Returns 0 or -ENOMEM.
 */
int bt_btree_update_init_fresh(struct bt_btree_update *u, struct bt_write_ctx *w);
/* Free the in-memory tree; nothing is written. */
void bt_btree_update_exit(struct bt_btree_update *u);

/*
 * bt_btree_insert_keys(): insert the leaf keys [keys, keys + u64s) in
 * order, each overwriting what it overlaps (btree.c bch_btree_insert(),
 * bch_btree_insert_keys(), extents.c bch_extent_insert_fixup()). Zero-size
 * keys change nothing. The caller filters invalid keys
 * (bt_extent_invalid()); a key with KEY_SIZE > KEY_OFFSET or more than 6
 * pointers gives -EINVAL. Node read errors are returned with their
 * message; -BT_ERR_BTREE_TOPOLOGY when no node covers a key (the last key
 * of an interior node is below the key), -ENOMEM. In memory only.
 */
int bt_btree_insert_keys(struct bt_btree_update *u, const uint64_t *keys, size_t u64s,
			 struct printbuf *err);

/*
 * bt_btree_update_flush_before(): write now, as bt_btree_update_write()
 * would (same keys, splits and pointers), every changed leaf whose range
 * ends at or before position (inode, offset), and free its copy, so that
 * a long run of inserts in key order holds only the leaves from there on.
 * The caller promises that every key it inserts from now on starts at or
 * after that position: one that does not gives -EINVAL. A root that is a
 * leaf is kept, unless u->bulk (above). Returns 0 or
 * bt_btree_update_write()'s codes.
 */
int bt_btree_update_flush_before(struct bt_btree_update *u, uint64_t inode, uint64_t offset,
				 struct printbuf *err);

/*
 * bt_btree_update_write(): write every changed node, children before
 * parents, split as needed (see above), free the old nodes after the
 * commit and set u->w->new_root, new_root_level and root_changed. Does
 * nothing when no key was inserted. Returns 0 or the code of
 * bt_node_write() / bt_free_after_commit(), -ENOMEM.
 */
int bt_btree_update_write(struct bt_btree_update *u, struct printbuf *err);

/*
 * The largest key set (u64s) a node at `level` may hold here: the node
 * (c->btree_node_sectors) minus the bset header, minus KEY_MAX_U64S for
 * leaves (btree.c insert_u64s_remaining()).
 */
size_t bt_node_max_u64s(const struct cache_set *c, unsigned level);

#endif /* BCACHE_TOOL_BTREE_UPDATE_H */
