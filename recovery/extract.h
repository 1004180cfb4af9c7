/* extract.h --- build the logical content of a bcache device offline:
 * what the kernel would serve as /dev/bcacheN.
 *
 * For a backing device: its raw sectors from data_offset on, overlaid with
 * the live extents of its uuid slot (leaf keys use absolute backing-device
 * sectors, FORMAT.md 8). For a flash-only volume: zeroes overlaid with its
 * extents. The caller supplies the view (btree + journal overlay) and the
 * predicate that tells which keys are live (pointer present, available,
 * not stale); both devices are only read.
 */
#ifndef BCACHE_TOOL_EXTRACT_H
#define BCACHE_TOOL_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/read/extent_map.h"

/* A range that could not be read from the cache device. */
struct bt_lost_range {
	uint64_t	start;		/* logical device sector */
	uint64_t	sectors;
	uint64_t	cache_sector;	/* where it should have come from */
	bool		dirty;
	int		err;
};

struct bt_extract_req {
	unsigned		inode;		/* uuid slot */
	struct bt_dev		*bdev;		/* backing device, NULL for a flash volume */
	uint64_t		data_offset;	/* sectors: first data sector of bdev */
	uint64_t		sectors;	/* logical size in sectors */
	/* does the extent k count (pointer 0 is used for the data)? */
	bool			(*live)(const struct cache_set *c, const struct bkey *k);
	/* output: called with consecutive logical chunks; returns 0 or -errno */
	int			(*write)(void *priv, const void *buf, size_t bytes,
					 uint64_t logical_byte);
	void			*priv;
	/*
	 * read what the real run reads from the cache and count the same
	 * figures and lost ranges, call list() for each extent, but neither
	 * read the backing device nor call write()
	 */
	bool			dry_run;
	void			(*list)(void *priv, const struct bkey *k, uint64_t logical_start,
					uint64_t sectors);
};

struct bt_extract_result {
	uint64_t		extents;	/* live extents used */
	uint64_t		cache_sectors;	/* sectors taken from the cache */
	uint64_t		dirty_sectors;
	struct bt_lost_range	*lost;		/* malloc'ed, nr_lost entries */
	size_t			nr_lost;
};

/*
 * bt_extract(): produce the logical content described by req from c's
 * cache device and view. Sectors of an extent that cannot be read from the
 * cache are recorded in res->lost and filled from the backing device (or
 * zeroes) as if uncached. Extents reaching outside [data_offset,
 * data_offset + sectors) are clipped. Returns 0 (check res->nr_lost),
 * or a negative code with a message (backing device read error, output error).
 * Free res with bt_extract_result_exit().
 */
int bt_extract(struct cache_set *c, const struct bt_extmap *view,
	       const struct bt_extract_req *req, struct bt_extract_result *res,
	       struct printbuf *err);

void bt_extract_result_exit(struct bt_extract_result *res);

#endif /* BCACHE_TOOL_EXTRACT_H */
