/* node_pool.h --- reader threads that read and parse btree nodes ahead of
 * a tree walk, so that a check uses every core and keeps many reads in
 * flight.
 *
 * The walk stays one thread and keeps its order: it asks for the children
 * it will reach next (bt_node_pool_ask()), the pool's threads read and
 * parse them (bt_btree_node_read_unchecked(): the device read, checksums,
 * bset checks and merge, the costly part), and the node cache takes a
 * node from the pool when the walk reaches it (bt_node_pool_take()), or
 * reads it itself when it was never asked for. What a node's read gives
 * (the node, or its error and message) does not depend on which thread
 * read it, so every figure, problem and message is the same for any
 * number of threads. The pointer check (bt_btree_ptr_check(), which reads
 * the bucket gens the walk raises) stays in the walk's thread.
 *
 * While a pool is attached to a node cache (bt_node_cache_set_pool()),
 * nothing may write to the cache device: the threads read it.
 *
 * Memory: at most max_jobs parsed nodes wait for the walk, besides the
 * node cache's bound.
 */
#ifndef BCACHE_TOOL_NODE_POOL_H
#define BCACHE_TOOL_NODE_POOL_H

#include <stdbool.h>

#include "libcore/base/printbuf.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/btree.h"

struct bt_node_pool;

/*
 * bt_node_pool_new(): nr_threads reader threads for nodes of c (not
 * owned; c->dev must stay open), read with read_flags
 * (bt_btree_node_parse()), at most max_jobs nodes asked for at once.
 * Returns NULL when out of memory or when no thread could be started.
 */
struct bt_node_pool *bt_node_pool_new(const struct cache_set *c, unsigned nr_threads,
				      unsigned read_flags, unsigned max_jobs);

/*
 * bt_node_pool_for(): the pool of a check asked to use nr_threads: NULL
 * for 0 or 1 (the walk reads alone), else bt_node_pool_new() with four
 * jobs a thread (NULL too when they cannot be started: the same result,
 * read by one thread).
 */
struct bt_node_pool *bt_node_pool_for(const struct cache_set *c, unsigned nr_threads,
				      unsigned read_flags);

/* Stop the threads and free the pool and every node not taken. NULL is a no-op. */
void bt_node_pool_free(struct bt_node_pool *p);

/*
 * bt_node_pool_ask(): read the node of key k at level ahead. True when it
 * is asked for (now or before); false when every job is busy (a node not
 * taken keeps its job until taken or bt_node_pool_drain()).
 */
bool bt_node_pool_ask(struct bt_node_pool *p, const struct bkey *k, unsigned level);

/*
 * bt_node_pool_take(): the node of k at level if it was asked for:
 * waits for its read and returns 1 with bt_btree_node_read_unchecked()'s
 * result in *ret (*out: the node, the caller's to free; or the error's
 * message appended to err). Returns 0 when it was not asked for (the
 * caller reads it itself).
 */
int bt_node_pool_take(struct bt_node_pool *p, const struct bkey *k, unsigned level,
		      struct bt_node **out, int *ret, struct printbuf *err);

/* Wait for the reads in flight and drop every node not taken. */
void bt_node_pool_drain(struct bt_node_pool *p);

/* The online CPUs, at least 1: the default number of threads of a check. */
unsigned bt_online_cpus(void);

#endif /* BCACHE_TOOL_NODE_POOL_H */
