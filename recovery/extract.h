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
 * The content key by key, as a stream of the view hands the keys out
 * (view_stream.h): one chunk of 1 MiB in memory at a time.
 *
 * bt_extract_begin(): start the content described by req (kept by
 * reference) from c's cache device into res (zeroed; free it with
 * bt_extract_result_exit()). Returns 0, -ENOMEM or the backing device's
 * read error, with a message in err; on an error call
 * bt_extract_cursor_exit().
 *
 * bt_extract_key(): one key of the view, in key order (keys of other
 * slots and outside the content are ignored). Sectors of an extent that
 * cannot be read from the cache are recorded in res->lost and filled from
 * the backing device (or zeroes) as if uncached; extents reaching outside
 * [data_offset, data_offset + sectors) are clipped. Returns 0 or a
 * negative code with a message (backing device read error, output error).
 *
 * bt_extract_end(): write the rest (what no key covers) and free the
 * cursor; returns as bt_extract_key().
 */
struct bt_extract_cursor {
	struct cache_set		*c;
	const struct bt_extract_req	*req;
	struct bt_extract_result	*res;
	uint8_t				*buf;		/* the chunk, malloc'ed */
	uint64_t			lo, hi;		/* the chunk's key sectors [lo, hi) */
};

int bt_extract_begin(struct bt_extract_cursor *x, struct cache_set *c,
		     const struct bt_extract_req *req, struct bt_extract_result *res,
		     struct printbuf *err);
int bt_extract_key(struct bt_extract_cursor *x, const struct bkey *k, struct printbuf *err);
int bt_extract_end(struct bt_extract_cursor *x, struct printbuf *err);
void bt_extract_cursor_exit(struct bt_extract_cursor *x);

/*
 * bt_extract(): the same over a view built whole (overlay.h): begin, every
 * key of the slot, end. Returns 0 (check res->nr_lost), or a negative code
 * with a message. Free res with bt_extract_result_exit().
 */
int bt_extract(struct cache_set *c, const struct bt_extmap *view,
	       const struct bt_extract_req *req, struct bt_extract_result *res,
	       struct printbuf *err);

void bt_extract_result_exit(struct bt_extract_result *res);

/* ---- the extract command's run (extract_run.c) ------------------------ */

/* What to extract, from where, to where (the options of cmd/extract.c). */
struct bt_extract_opts {
	const char	*cache;		/* the cache device */
	const char	*bdev;		/* the backing device; NULL: a flash volume */
	const char	*output;	/* file, block device or "-"; unused with dry_run */
	const char	*uuid;		/* the uuid slot by its uuid, or NULL */
	const char	*slot;		/* the uuid slot by number (text, as given), or NULL */
	size_t		node_cache_bytes;	/* bytes; 0: the default */
	unsigned	threads;	/* reader threads of the node cache (view.h); 0, 1: none */
	bool		dry_run;	/* write nothing: list() each extent */
	bool		no_journal;	/* the on-disk btree alone */
	bool		force;		/* an output holding data (BT_GUARD_OVERWRITE) */
	bool		force_in_use;	/* BT_GUARD_FORCE_IN_USE */
	/* dry run: each extent that would be copied (bt_extract_req.list) */
	void		(*list)(void *priv, const struct bkey *k, uint64_t logical_start,
				uint64_t sectors);
	void		*priv;
};

/* What a run did: its figures, and whether anything was found wrong. */
struct bt_extract_run_result {
	unsigned		slot;		/* the uuid slot extracted */
	uint64_t		sectors;	/* the content's size */
	uint64_t		journal_keys;	/* journal keys replayed into the view */
	/*
	 * something was read in part or lost (each said in msg): a bad
	 * superblock checksum, a cache set opened in part, unreadable
	 * subtrees, stale dirty data; unreadable ranges are in res.lost
	 */
	bool			damaged;
	struct bt_extract_result res;
};

/*
 * bt_extract_run(): the whole extract: declare the cache, the backing
 * device and the output to a guard (target.h) and open them (both devices
 * read-only), open the cache set (a bad superblock checksum alone is
 * accepted, and a partial open that still has the btree and the uuid
 * slots: view.h), pick the uuid slot (--slot, --uuid, the backing
 * device's uuid, or the only flash volume), build the view after journal
 * replay and write the content (bt_extract()) to the output, finished
 * and closed. Warnings and what was found damaged go into msg, one a line,
 * in order. Returns 0 (check r->damaged and r->res.nr_lost) or a negative
 * code with a message in err: -BT_ERR_FORMAT_BAD_OPTION for a slot the
 * options name wrongly (a bad slot number or uuid, several or no flash
 * volumes, a backing device's slot without the backing device), -ENOENT
 * for a uuid or slot not in use, else the error of the step that failed.
 * Free r with bt_extract_run_result_exit() in every case.
 */
int bt_extract_run(const struct bt_extract_opts *o, struct bt_extract_run_result *r,
		   struct printbuf *msg, struct printbuf *err);

/* Free what bt_extract_run() left in r (the lost ranges) and zero it. */
void bt_extract_run_result_exit(struct bt_extract_run_result *r);

#endif /* BCACHE_TOOL_EXTRACT_H */
