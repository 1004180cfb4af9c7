/* scan_internal.h --- what scan.c (buckets, prio chain, uuid bucket) and
 * scan_tree.c (nodes and the root) share; not part of the library's API. */
#ifndef BCACHE_TOOL_SCAN_INTERNAL_H
#define BCACHE_TOOL_SCAN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/printbuf.h"
#include "libcore/scan/scan.h"

#define HEAD_BYTES	4096u		/* read per bucket: >= a page, <= any bucket */
#define NO_NODE		UINT32_MAX
#define NODE_INODES	16		/* distinct KEY_INODEs kept per leaf */

struct pset_cand {
	uint64_t	b, seq, next;
};

struct scan_node {
	uint64_t	b;
	uint64_t	seed;		/* the ptr[0] word the csum verified with */
	uint64_t	*ptrs;		/* ptr[0] words of keys that look like node pointers */
	uint32_t	nptrs;
	uint32_t	nkeys, nstale;
	uint32_t	*children, nchildren;
	uint32_t	ndangling;	/* node-like keys, not stale, that verify no node */
	uint32_t	inodes[NODE_INODES];
	uint8_t		ninodes;
	bool		inodes_overflow;
	bool		verified, referenced, max_key;
	int		level;		/* -1 unknown, -2 being computed, -3 in a loop */
	uint32_t	stamp;		/* subtree walk marker */
	bool		fresh;		/* its gen moved since the previous prio chain */
};

struct scan {
	struct cache_set	*c;
	const struct bt_scan_opts *o;
	struct bt_scan_result	*r;
	struct pset_cand	*psets;
	size_t			nr_psets, size_psets;
	uint64_t		*node_b, *uuid_b;
	size_t			nr_node_b, size_node_b, nr_uuid_b, size_uuid_b;
	struct scan_node	*nodes;
	size_t			nr_nodes;
	uint32_t		*node_at;	/* per bucket: index into nodes[] or NO_NODE */
	uint8_t			*prev_gen;	/* gens of the previous prio chain, or NULL */
};

/* Append x to the growing array *v; -ENOMEM. */
int bt_scan_push_u64(uint64_t **v, size_t *nr, size_t *size, uint64_t x);
/* The caller's progress callback, every 1024 steps and at the end. */
void bt_scan_progress(struct scan *s, uint64_t done, uint64_t total);

/* Byte offset of bucket b on the cache device. */
static inline uint64_t bt_scan_bucket_byte(const struct cache_set *c, uint64_t b)
{
	return bt_bucket_to_sector(c, b) << SECTOR_SHIFT;
}

/* scan_tree.c: phase 3, every bucket whose head holds a verified bset (s->nodes). */
int bt_scan_nodes(struct scan *s, struct printbuf *err);
/* scan_tree.c: phase 4, link the nodes and pick the root (scan.h's rule); -BT_ERR_SCAN_NO_ROOT. */
int bt_scan_choose_root(struct scan *s, struct printbuf *err);
/* scan_tree.c: the pointer key whose ptr[0] word is w (a node of this cache). */
void bt_scan_ptr_key(uint64_t w, struct bkey_padded *k);

#endif /* BCACHE_TOOL_SCAN_INTERNAL_H */
