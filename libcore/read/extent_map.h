/* extent_map.h --- a sorted set of non-overlapping leaf extents with the
 * kernel's overwrite rules.
 *
 * Used to build the view the kernel serves after journal replay: the btree's
 * leaf keys go in first (bt_extmap_append), then each journal key, in
 * journal order, is inserted with bt_extmap_insert(), which cuts every older
 * extent it overlaps (front, back, or splitting it in two) exactly as the
 * kernel's extent insert does (extents.c bch_extent_insert_fixup(),
 * bkey.c bch_cut_front()/bch_cut_back()). Keys that are bad (no pointer,
 * stale) stay in the map: they hide older data until the caller filters them.
 *
 * Keys are stored as struct bkey_padded (at most KEY_MAX_U64S words),
 * ordered by (KEY_INODE, KEY_OFFSET); within one inode the extents do not
 * overlap, so the order by end equals the order by start.
 */
#ifndef BCACHE_TOOL_EXTENT_MAP_H
#define BCACHE_TOOL_EXTENT_MAP_H

#include <stddef.h>

#include "libcore/base/ondisk.h"

struct bt_extmap {
	struct bkey_padded	*keys;
	size_t			nr;
	size_t			size;		/* allocated entries */
};

static inline struct bkey *bt_extmap_key(const struct bt_extmap *m, size_t i)
{
	return (struct bkey *)&m->keys[i];
}

void bt_extmap_init(struct bt_extmap *m);
void bt_extmap_exit(struct bt_extmap *m);

/*
 * bt_extmap_insert(): insert k (an extent key: KEY_SIZE sectors ending at
 * KEY_OFFSET) so that it wins over every extent already in the map that it
 * overlaps. A zero-size key changes nothing. k must have at most
 * KEY_MAX_U64S - 2 pointers. Returns 0, -EINVAL (too many pointers,
 * KEY_SIZE > KEY_OFFSET) or -ENOMEM.
 */
int bt_extmap_insert(struct bt_extmap *m, const struct bkey *k);

/*
 * bt_extmap_append(): add k UNDER the keys already in the map: where k
 * overlaps them they win and only the uncovered parts of k are added (the
 * kernel serves the earlier of two overlapping keys of one bset). Fast when
 * k sorts after every key (a leaf's merged key stream, in order). Zero-size
 * keys are dropped. Returns 0, -EINVAL (too many pointers,
 * KEY_SIZE > KEY_OFFSET) or -ENOMEM.
 */
int bt_extmap_append(struct bt_extmap *m, const struct bkey *k);

/* Index of the first key of inode whose end lies after sector `after`. */
size_t bt_extmap_seek(const struct bt_extmap *m, uint64_t inode, uint64_t after);

#endif /* BCACHE_TOOL_EXTENT_MAP_H */
