/* node_cache.h --- a memory-bounded cache of parsed btree nodes, and the
 * top-down walk of the whole btree.
 *
 * Like the kernel's btree node cache (btree.c mca_*), nodes are kept after
 * use and the least recently used unpinned nodes are reclaimed when the
 * memory they hold passes a bound. The reserve is the set of pinned nodes:
 * a walk pins the nodes on its current path (at most BT_BTREE_MAX_DEPTH),
 * which are never reclaimed, so memory stays below
 * limit_bytes + (pinned nodes). A limit of 0 keeps only pinned nodes.
 */
#ifndef BCACHE_TOOL_NODE_CACHE_H
#define BCACHE_TOOL_NODE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcore/read/btree.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/printbuf.h"

#define BT_NODE_CACHE_DEFAULT_BYTES	(64ULL << 20)

struct bt_node_cache_stats {
	unsigned long	hits, misses;
	unsigned long	reclaimed;	/* nodes freed to stay under the bound */
	size_t		used_bytes;	/* now */
	size_t		peak_bytes;
	size_t		nr_nodes;	/* cached now */
};

struct bt_node_cache;

/*
 * bt_node_cache_new(): a cache for nodes of c (not owned; c->dev must stay
 * open) holding at most about limit_bytes of node memory; read_flags are
 * passed to bt_btree_node_read(). Returns NULL when out of memory.
 */
struct bt_node_cache *bt_node_cache_new(struct cache_set *c, size_t limit_bytes,
					unsigned read_flags);
/* Free every cached node and the cache; no node may be in use. NULL is a no-op. */
void bt_node_cache_free(struct bt_node_cache *nc);

/*
 * bt_node_cache_get(): the node that key k at level `level` references,
 * read on a miss (bt_btree_node_read() codes and messages), pinned until
 * bt_node_cache_put(). Nodes are identified by the whole key and level.
 */
int bt_node_cache_get(struct bt_node_cache *nc, const struct bkey *k, unsigned level,
		      struct bt_node **out, struct printbuf *err);
/* Unpin a node from bt_node_cache_get(); it may be reclaimed from now on. */
void bt_node_cache_put(struct bt_node_cache *nc, struct bt_node *n);

struct bt_node_pool;

/*
 * bt_node_cache_set_pool(): read misses through the reader threads of
 * pool (node_pool.h; not owned), which the tree walk asks for the
 * children it reaches next; NULL: read them here. The pool attached
 * before is drained. While a pool is attached nothing may write to the
 * cache device.
 */
void bt_node_cache_set_pool(struct bt_node_cache *nc, struct bt_node_pool *pool);

/*
 * bt_node_cache_ask(): have the pool read the node of k at level ahead,
 * unless cached. False when there is no pool or it is full.
 */
bool bt_node_cache_ask(struct bt_node_cache *nc, const struct bkey *k, unsigned level);

/* Counters and memory use of the cache, copied into *s. */
void bt_node_cache_stats(const struct bt_node_cache *nc, struct bt_node_cache_stats *s);

/* ---- tree walk ------------------------------------------------------ */

/* Where a visited node sits in the tree. */
struct bt_walk_pos {
	unsigned		depth;		/* 0 = root */
	const struct bkey	*parent;	/* key of the parent node, NULL at the root */
	/*
	 * key range (start, end]: start = the previous live key in the parent,
	 * or for a first child the parent's own start (0:0 at the root)
	 */
	uint64_t		start_inode, start_offset;
	const struct bkey	*end;		/* the node's own key */
};

/* Return 0 to go on, or a negative code to stop the walk with it. */
typedef int (*bt_walk_node_fn)(const struct bt_node *n, const struct bt_walk_pos *pos,
			       void *arg);
/*
 * Called when a node cannot be visited (read error, loop, too deep, node
 * referenced twice); k is the key that points to it. Return 0 to skip
 * that subtree and go on, or a negative code to stop.
 */
typedef int (*bt_walk_error_fn)(const struct bkey *k, unsigned level, int err,
				const char *msg, void *arg);

/*
 * Optional: called before error_fn for a node that cannot be visited, with
 * its place in the tree (the key range it was to cover), for callers that
 * report what the skipped subtree held (fsck's repair).
 */
typedef void (*bt_walk_lost_fn)(const struct bkey *k, unsigned level,
				const struct bt_walk_pos *pos, const char *msg, void *arg);

enum bt_walk_flags {
	/*
	 * Before visiting a node's children, raise c->buckets[].gen to every
	 * live pointer gen ahead of it, as the initial mark pass does
	 * (btree.c bch_initial_mark_key()), so that pointers made stale by
	 * freeing keys are skipped like the kernel skips them.
	 */
	BT_WALK_RAISE_GENS	= 1 << 0,
};

struct bt_walk_opts {
	bt_walk_node_fn		node_fn;
	bt_walk_error_fn	error_fn;	/* NULL: stop at the first error */
	void			*arg;
	unsigned		max_depth;	/* 0: BT_BTREE_MAX_DEPTH */
	unsigned		flags;		/* enum bt_walk_flags */
	bt_walk_lost_fn		lost_fn;	/* NULL: none */
};

/*
 * bt_btree_walk(): visit every node reachable from root (level
 * root_level) top-down, parents before children, children in key order,
 * following only child keys that are not bad (bt_btree_ptr_bad(); the
 * order of btree.c bch_btree_check()). Detects a node key pointing to the
 * node itself or an ancestor (-BT_ERR_BTREE_LOOP), trees deeper than
 * max_depth (-BT_ERR_BTREE_TOO_DEEP) and a node reached twice
 * (-BT_ERR_BTREE_TOPOLOGY). Returns 0, the first error not absorbed by
 * error_fn (its message in err), or a callback's code.
 */
int bt_btree_walk(struct bt_node_cache *nc, const struct bkey *root, unsigned root_level,
		  const struct bt_walk_opts *o, struct printbuf *err);

#endif /* BCACHE_TOOL_NODE_CACHE_H */
