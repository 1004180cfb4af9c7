/* rebuild_internal.h --- shared by rebuild.c and rebuild_lost.c: the collection's state. */
#ifndef BCACHE_TOOL_REBUILD_INTERNAL_H
#define BCACHE_TOOL_REBUILD_INTERNAL_H

#include "libcore/read/node_cache.h"
#include "libcore/write/rebuild.h"

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
 * bt_rebuild_lost_add() records sectors [start, end) of slot inode (the
 * part past a flash volume's end as BT_LOST_PAST_END; a bucket outside
 * the cache's as BT_LOST_NO_BUCKET); bt_rebuild_lost_range() a node's key
 * range (start, end], split per live slot. bt_rebuild_garbage() records k
 * as garbage and returns true when why is given or k cannot be real
 * (bt_extent_implausible()); bt_rebuild_lost_key() records a dropped key's
 * sectors, unless it is garbage (then returns false: not counted).
 * bt_rebuild_scan_unverified() gathers the dirty extents of a damaged
 * leaf's bsets that do not verify (node key k, range pos), and
 * bt_rebuild_report_unverified() records those no kept key covers. Out of
 * memory sets co->ret.
 */
void bt_rebuild_lost_add(struct collect *co, uint64_t inode, uint64_t start, uint64_t end,
			 enum bt_lost_kind kind, uint64_t bucket, const char *reason);
void bt_rebuild_lost_range(struct collect *co, uint64_t si, uint64_t so,
			   const struct bkey *end, uint64_t bucket, enum bt_lost_kind kind,
			   const char *reason);
bool bt_rebuild_garbage(struct collect *co, const struct bkey *k, enum bt_garbage_source src,
			uint64_t node_bucket, const char *why);
bool bt_rebuild_lost_key(struct collect *co, const struct bkey *k, enum bt_lost_kind kind,
			 const char *reason, enum bt_garbage_source src, uint64_t node_bucket);
void bt_rebuild_scan_unverified(struct collect *co, const struct bkey *k,
				const struct bt_walk_pos *pos);
void bt_rebuild_report_unverified(struct collect *co);

#endif /* BCACHE_TOOL_REBUILD_INTERNAL_H */
