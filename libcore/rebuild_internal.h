/* rebuild_internal.h --- shared by rebuild.c and rebuild_lost.c: the collection's state. */
#ifndef BCACHE_TOOL_REBUILD_INTERNAL_H
#define BCACHE_TOOL_REBUILD_INTERNAL_H

#include "rebuild.h"

struct collect {
	struct cache_set	*c;
	struct bt_rebuild	*rb;
	/* dirty leaf keys found in bsets that do not verify (reported where not covered) */
	struct bt_extmap	unverified;
	uint8_t			*meta;		/* per bucket: holds metadata (bitmap) */
	bool			root_lost;
	int			ret;		/* -ENOMEM seen in a callback */
};

/*
 * rebuild_lost.c: what the collection does not keep.
 * bt_rebuild_lost_add() records sectors [start, end) of slot inode;
 * bt_rebuild_lost_key() a key's sectors; bt_rebuild_lost_range() a node's
 * key range (start, end], split per live slot;
 * bt_rebuild_scan_unverified() gathers the dirty extents of a damaged
 * leaf's bsets that do not verify (node key k), and
 * bt_rebuild_report_unverified() records those no kept key covers. Out of
 * memory sets co->ret.
 */
void bt_rebuild_lost_add(struct collect *co, uint64_t inode, uint64_t start, uint64_t end,
			 enum bt_lost_kind kind, uint64_t bucket, const char *reason);
void bt_rebuild_lost_key(struct collect *co, const struct bkey *k, enum bt_lost_kind kind,
			 const char *reason);
void bt_rebuild_lost_range(struct collect *co, uint64_t si, uint64_t so,
			   const struct bkey *end, uint64_t bucket, enum bt_lost_kind kind,
			   const char *reason);
void bt_rebuild_scan_unverified(struct collect *co, const struct bkey *k);
void bt_rebuild_report_unverified(struct collect *co);

#endif /* BCACHE_TOOL_REBUILD_INTERNAL_H */
