/* gen.h --- gen-cache, a synthetic cache set built on bcache-tool's write path.
 *
 *   gen-cache [options] CACHE.img [BACKING.img...]
 *
 * Formats CACHE.img (and one backing image per --bdevs, named by the extra
 * arguments or CACHE.img.bdevN) with bt_format() (one cache set uuid),
 * writes pseudo-random data, then builds the btree in one transaction of the
 * write path (libcore/write.h): data buckets from bt_bucket_alloc(), leaves
 * of sorted extent keys written with bt_node_write() (bulk build, no
 * per-key insert), interior levels above them, the uuid slots of every
 * device, and bt_commit() (prio chain, uuid bucket, jset). Optionally some
 * extents go into the new jset instead of the leaves (--journal-keys), and
 * some into buckets whose gen is then bumped, making their pointers stale
 * (--stale). With --scatter consecutive extents go to two alternating
 * buckets, so that no two of them can merge (one key per extent).
 *
 * It prints, for each uuid slot, the sha256 of the logical content the
 * kernel should serve for it (/dev/bcacheN), computed from its own list of
 * extents and the data functions below (sha256sum(1) over the stream), not
 * through bcache-tool's readers or extract. --keys FILE writes that list.
 *
 * Content: every sector is 512 bytes made from (kind, slot, sector, seed):
 * backing data, dirty data (newer than the backing device's) and flash
 * volume data differ everywhere. A clean cached extent holds the backing
 * device's data, as a clean cache does.
 *
 * The tool's files (tests/tools/gen_cache/), one job each: content.c
 * (pseudo-random numbers, the bytes of every sector), plan.c (the extents
 * and the cache size), images.c (image files, format, backing data and
 * superblocks), build.c (data buckets, btree, uuid slots, the commit),
 * report.c (the expected sha256 and the key list), main.c (options).
 */
#ifndef GEN_CACHE_GEN_H
#define GEN_CACHE_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/base/printbuf.h"

#define MAX_SLOTS	64
#define KIND_BACKING	1
#define KIND_DIRTY	2
#define KIND_FLASH	3

struct opts {
	uint64_t	extents;
	double		dirty;		/* share of backing-device extents that are dirty */
	unsigned	bdevs, flash;
	unsigned	bucket, block;	/* sectors */
	uint64_t	nbuckets;	/* buckets of the cache; 0: what the data needs */
	unsigned	max_blocks;	/* extent size: 1..max_blocks blocks */
	unsigned	max_gap;	/* gap before an extent: 0..max_gap blocks */
	uint64_t	stale;		/* extents whose pointer is made stale */
	unsigned	journal_keys;	/* extents journaled instead of put in leaves */
	unsigned	leaf_keys;	/* keys per leaf; 0: 3/4 of a node */
	unsigned	fanout;		/* keys per interior node; 0: 3/4 of a node */
	uint64_t	seed;
	const char	*cset_uuid;
	const char	*sums;		/* output of the sha256 lines, NULL: stdout */
	const char	*keys;		/* list of the generated extents */
	bool		quiet;
	bool		scatter;	/* consecutive extents in different buckets: no merging */
	bool		stale_dirty;	/* stale pointers on dirty data too (lost data) */
};

/* One generated extent. */
struct ext {
	uint64_t	start;		/* KEY_START: device sector (absolute for a backing device) */
	uint32_t	sectors;
	uint16_t	slot;
	uint8_t		dirty, stale, journal;
	uint8_t		gen;		/* pointer gen */
	uint64_t	cache_sector;	/* where its data is on the cache */
};

struct slot {
	bool		flash;
	const char	*path;		/* backing image */
	uint64_t	data_offset;	/* sectors */
	uint64_t	sectors;	/* logical size */
	uint64_t	first, nr;	/* its extents: ext[first .. first+nr) */
	uint64_t	live_dirty;
	uint8_t		uuid[16];
};

struct gen {
	struct opts	o;
	struct ext	*ext;
	uint64_t	nr_ext;
	struct slot	slot[MAX_SLOTS];
	unsigned	nr_slots;
	const char	*cache_path;
	uint64_t	nbuckets;
	uint8_t		set_uuid[16];
	unsigned	tree_depth;	/* the root's level, the kernel's tree_depth */
	unsigned	nodes, leaves;
};

/* content.c: splitmix64 step of state *s; a number in [0, n) (0 when n is 0). */
uint64_t gen_splitmix(uint64_t *s);
uint64_t gen_rnd(uint64_t *s, uint64_t n);
/* The 512 bytes of sector `sector` (device sectors) of `kind` for slot `slot`, into w[64]. */
void gen_fill_sector(uint64_t *w, unsigned kind, unsigned slot, uint64_t sector, uint64_t seed);
/* The 512 bytes extent e holds for its device's sector `sector`. */
void gen_extent_sector(const struct gen *g, const struct ext *e, uint64_t sector, void *buf);

/* plan.c: the slots and extents of the options (g->ext allocated; -1 on error). */
int gen_plan_extents(struct gen *g);
/* Keys of 3 u64s that fit one bset in a node of node_sectors sectors. */
unsigned gen_node_capacity(unsigned node_sectors);
/* Data stream of extent i: 0 or 1 live (two alternate with --scatter), 2 stale. */
unsigned gen_stream_of(const struct gen *g, uint64_t i);
/* Buckets the set needs for kpl keys per leaf and fan per interior node (>= 1024). */
uint64_t gen_plan_buckets(struct gen *g, unsigned kpl, unsigned fan);

/* images.c: each returns 0 or -1 with a message on stderr (set_bdev_state: in err). */
int gen_make_file(const char *path, uint64_t bytes);
int gen_format_all(struct gen *g);
int gen_write_backing(struct gen *g, struct slot *sl, unsigned slot);
int gen_read_bdev_uuid(struct slot *sl, struct printbuf *err);
int gen_set_bdev_state(struct slot *sl, struct printbuf *err);

/* build.c: data, btree, uuid slots and jset in one write-path transaction. */
int gen_build_set(struct gen *g);

/* report.c: the report (sha256 per slot) and the --keys list; 0 or -1. */
int gen_report(struct gen *g);
int gen_write_keys(struct gen *g);

#endif /* GEN_CACHE_GEN_H */
