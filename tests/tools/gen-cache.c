/* gen-cache.c --- a synthetic cache set built on bcache-tool's write path.
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
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "format/format.h"
#include "libcore/bkey.h"
#include "libcore/cache_set.h"
#include "libcore/encode.h"
#include "libcore/errcode.h"
#include "libcore/node_cache.h"
#include "libcore/uuid.h"
#include "libcore/write.h"

#define MAX_SLOTS	64
#define KIND_BACKING	1
#define KIND_DIRTY	2
#define KIND_FLASH	3

struct opts {
	uint64_t	extents;
	double		dirty;		/* share of backing-device extents that are dirty */
	unsigned	bdevs, flash;
	unsigned	bucket, block;	/* sectors */
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
	unsigned	depth, nodes, leaves;
};

/* ---- pseudo-random numbers and content -------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return n ? splitmix(s) % n : 0;
}

/* The 512 bytes of sector `sector` of `kind` for slot `slot`. */
static void fill_sector(uint64_t *w, unsigned kind, unsigned slot, uint64_t sector, uint64_t seed)
{
	uint64_t s = seed ^ ((uint64_t)kind << 56) ^ ((uint64_t)slot << 40) ^ sector;

	w[0] = htole64(0x454843414347454eULL);	/* "NEGCACHE" */
	w[1] = htole64(((uint64_t)kind << 32) | slot);
	w[2] = htole64(sector);
	w[3] = htole64(seed);
	for (unsigned i = 4; i < 64; i++)
		w[i] = htole64(splitmix(&s));
}

/* The data an extent holds on the cache at sector `sector` (its device's sector). */
static void extent_sector(const struct gen *g, const struct ext *e, uint64_t sector, void *buf)
{
	const struct slot *sl = &g->slot[e->slot];
	unsigned kind = sl->flash ? KIND_FLASH : e->dirty ? KIND_DIRTY : KIND_BACKING;

	fill_sector(buf, kind, e->slot, sector, g->o.seed);
}

/* ---- planning ----------------------------------------------------------- */

static int plan_extents(struct gen *g)
{
	struct opts *o = &g->o;
	uint64_t s = o->seed, per, left = o->extents;

	g->nr_slots = o->bdevs + o->flash;
	if (!g->nr_slots || g->nr_slots > MAX_SLOTS) {
		fprintf(stderr, "gen-cache: 1 to %u devices (--bdevs + --flash)\n", MAX_SLOTS);
		return -1;
	}
	g->ext = calloc(o->extents ? o->extents : 1, sizeof(*g->ext));
	if (!g->ext)
		return -1;
	per = o->extents / g->nr_slots;
	for (unsigned i = 0; i < g->nr_slots; i++) {
		struct slot *sl = &g->slot[i];
		uint64_t n = i + 1 == g->nr_slots ? left : per;
		uint64_t pos;

		sl->flash = i >= o->bdevs;
		sl->data_offset = sl->flash ? 0 : BDEV_DATA_START_DEFAULT;
		sl->first = g->nr_ext;
		sl->nr = n;
		left -= n;
		pos = sl->data_offset;
		for (uint64_t k = 0; k < n; k++) {
			struct ext *e = &g->ext[g->nr_ext++];

			pos += rnd(&s, o->max_gap + 1) * o->block;
			e->start = pos;
			e->sectors = (uint32_t)((1 + rnd(&s, o->max_blocks)) * o->block);
			e->slot = (uint16_t)i;
			e->dirty = sl->flash || (double)(splitmix(&s) >> 11) / (1ULL << 53) < o->dirty;
			pos += e->sectors;
		}
		/* a tail after the last extent, then whole MiB */
		pos += (1 + rnd(&s, 16)) * o->block;
		sl->sectors = ((pos - sl->data_offset) + 2047) / 2048 * 2048;
	}
	/*
	 * Stale and journaled extents: distinct random picks. A stale pointer
	 * is normally clean data of a backing device whose bucket was reclaimed
	 * (a consistent cache); with --stale-dirty (or without backing devices)
	 * any extent, dirty ones included: dirty data lost, as fsck reports.
	 */
	{
		uint64_t cand = 0, k = 0;
		bool any = o->stale_dirty || !o->bdevs;

		for (uint64_t i = 0; i < g->nr_ext; i++)
			cand += any || !g->slot[g->ext[i].slot].flash;
		for (; k < o->stale && k < cand; ) {
			struct ext *e = &g->ext[rnd(&s, g->nr_ext)];

			if (e->stale || (!any && g->slot[e->slot].flash))
				continue;
			e->stale = 1;
			if (!any)
				e->dirty = 0;
			k++;
		}
	}
	for (unsigned k = 0; k < o->journal_keys && k < g->nr_ext; ) {
		struct ext *e = &g->ext[rnd(&s, g->nr_ext)];

		if (!e->stale && !e->journal) {
			e->journal = 1;
			k++;
		}
	}
	return 0;
}

/* Keys of 3 u64s (one pointer) that fit one bset in a node of node_sectors. */
static unsigned node_capacity(unsigned node_sectors)
{
	return (unsigned)(((uint64_t)node_sectors * 512 - BSET_HEADER_BYTES) / 24);
}

/* The data stream of extent i: live (one, or two alternating with scatter) or stale. */
static unsigned stream_of(const struct gen *g, uint64_t i)
{
	return g->ext[i].stale ? 2 : g->o.scatter ? (unsigned)(i & 1) : 0;
}

/* Buckets the set needs: data (three streams), nodes, metadata, journal; >= 1024. */
static uint64_t plan_buckets(struct gen *g, unsigned kpl, unsigned fan)
{
	uint64_t data[3] = { 0, 0, 0 }, room[3] = { 0, 0, 0 }, nodes, n, nb;

	for (uint64_t i = 0; i < g->nr_ext; i++) {
		const struct ext *e = &g->ext[i];
		unsigned k = stream_of(g, i);

		if (room[k] < e->sectors) {
			data[k]++;
			room[k] = g->o.bucket;
		}
		room[k] -= e->sectors;
	}
	n = (g->nr_ext + kpl - 1) / kpl;
	nodes = n ? n : 1;
	while (n > 1) {
		n = (n + fan - 1) / fan;
		nodes += n;
	}
	data[0] += data[2];
	nb = 23 / g->o.bucket + 1 + data[0] + data[1] + nodes + 16;
	for (int i = 0; i < 3; i++) {
		uint64_t prio = (nb * 3 + (uint64_t)g->o.bucket * 512 - 40 - 1) /
				((uint64_t)g->o.bucket * 512 - 40);
		uint64_t j = nb >> 7 < 2 ? 2 : nb >> 7 > 256 ? 256 : nb >> 7;
		uint64_t need = 23 / g->o.bucket + 1 + data[0] + data[1] + nodes + 2 * prio +
				2 + 1 + j + 16;

		nb = need + need / 50;
	}
	return nb < 1024 ? 1024 : nb;
}

/* ---- images ------------------------------------------------------------- */

static int make_file(const char *path, uint64_t bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)bytes)) {
		fprintf(stderr, "gen-cache: '%s': %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int format_all(struct gen *g)
{
	struct bt_format_opts fo;
	struct printbuf out = PRINTBUF, warn = PRINTBUF, err = PRINTBUF;
	int ret;

	bt_format_opts_init(&fo);
	fo.bucket_size = g->o.bucket;
	fo.block_size = g->o.block;
	fo.writeback = true;
	fo.force = true;
	if (g->o.cset_uuid) {
		if (uuid_parse(g->o.cset_uuid, fo.set_uuid)) {
			fprintf(stderr, "gen-cache: bad --cset-uuid '%s'\n", g->o.cset_uuid);
			return -1;
		}
		fo.set_uuid_given = true;
	}
	fo.devs[fo.nr_devs].path = g->cache_path;
	fo.devs[fo.nr_devs++].cache = true;
	for (unsigned i = 0; i < g->nr_slots; i++)
		if (!g->slot[i].flash) {
			fo.devs[fo.nr_devs].path = g->slot[i].path;
			fo.devs[fo.nr_devs++].cache = false;
		}
	ret = bt_format(&fo, &out, &warn, &err);
	if (ret)
		fprintf(stderr, "gen-cache: format: %s\n", printbuf_str(&err));
	else if (!g->o.quiet)
		fputs(printbuf_str(&out), stderr);
	printbuf_exit(&out);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	return ret ? -1 : 0;
}

/* The backing device's own data, from data_offset to its end. */
static int write_backing(struct gen *g, struct slot *sl, unsigned slot)
{
	const size_t chunk = 1 << 20;
	uint64_t end = sl->data_offset + sl->sectors;
	uint8_t *buf = malloc(chunk);
	int fd = open(sl->path, O_WRONLY), ret = 0;

	if (!buf || fd < 0) {
		ret = -1;
		goto out;
	}
	for (uint64_t s = sl->data_offset; s < end && !ret; ) {
		uint64_t n = end - s < chunk / 512 ? end - s : chunk / 512;

		for (uint64_t i = 0; i < n; i++)
			fill_sector((uint64_t *)(buf + i * 512), KIND_BACKING, slot, s + i,
				    g->o.seed);
		if (pwrite(fd, buf, n * 512, (off_t)(s * 512)) != (ssize_t)(n * 512))
			ret = -1;
		s += n;
	}
	if (!ret && fsync(fd))
		ret = -1;
out:
	if (ret)
		fprintf(stderr, "gen-cache: writing '%s': %s\n", sl->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* ---- the write path ----------------------------------------------------- */

/* A data stream: the bucket being filled and its buffer. */
struct stream {
	uint64_t	bucket;
	unsigned	used;		/* sectors */
	bool		open;
	uint8_t		*buf;		/* bucket bytes */
	bool		stale;
	uint64_t	*buckets;	/* stale stream: the buckets to bump */
	size_t		nr_buckets;
};

static int stream_flush(struct bt_write_ctx *w, struct stream *st, struct printbuf *err)
{
	struct cache_set *c = w->c;

	if (!st->open)
		return 0;
	st->open = false;
	return bt_dev_write(c->dev, st->buf, (size_t)st->used << SECTOR_SHIFT,
			    bt_bucket_to_sector(c, st->bucket) << SECTOR_SHIFT, "data", err);
}

/* Place extent e in the stream (a new bucket when it does not fit) and copy its data. */
static int stream_put(struct gen *g, struct bt_write_ctx *w, struct stream *st, struct ext *e,
		      struct printbuf *err)
{
	struct cache_set *c = w->c;
	int ret;

	if (!st->open || st->used + e->sectors > c->bucket_size) {
		ret = stream_flush(w, st, err);
		if (!ret)
			ret = bt_bucket_alloc(w, false, &st->bucket, err);
		if (ret)
			return ret;
		if (st->stale) {
			uint64_t *p = realloc(st->buckets, (st->nr_buckets + 1) * sizeof(*p));

			if (!p)
				return -ENOMEM;
			st->buckets = p;
			st->buckets[st->nr_buckets++] = st->bucket;
		}
		st->open = true;
		st->used = 0;
	}
	e->cache_sector = bt_bucket_to_sector(c, st->bucket) + st->used;
	e->gen = c->buckets[st->bucket].gen;
	for (uint32_t i = 0; i < e->sectors; i++)
		extent_sector(g, e, e->start + i, st->buf + ((size_t)(st->used + i) << SECTOR_SHIFT));
	st->used += e->sectors;
	return 0;
}

static void make_key(const struct ext *e, uint64_t *k3)
{
	struct bkey *k = (struct bkey *)k3;

	bkey_init_pos(k, e->slot, e->start + e->sectors, e->sectors);
	SET_KEY_PTRS(k, 1);
	SET_KEY_DIRTY(k, e->dirty);
	SET_PTR(k, 0, e->gen, e->cache_sector, 0);
}

/* One level of nodes over `keys` (u64s each key_u64s long): their pointer keys in *out. */
static int write_level(struct gen *g, struct bt_write_ctx *w, const uint64_t *keys, size_t nr,
		       unsigned per, unsigned level, struct bkey_padded **out, size_t *nr_out,
		       struct printbuf *err)
{
	size_t nodes = nr ? (nr + per - 1) / per : 1;
	struct bkey_padded *ptrs = calloc(nodes, sizeof(*ptrs));
	struct bkey_padded max;
	int ret = 0;

	if (!ptrs)
		return -ENOMEM;
	for (size_t n = 0; n < nodes && !ret; n++) {
		size_t first = n * per, cnt = nr - first < per ? nr - first : per;

		if (!nr)
			cnt = 0;
		memset(&max, 0, sizeof(max));
		if (n + 1 == nodes)
			bkey_init_pos((struct bkey *)&max, MAX_KEY_INODE, MAX_KEY_OFFSET, 0);
		else
			memcpy(&max, keys + (first + cnt - 1) * 3, 2 * 8);
		ret = bt_node_write(w, keys + first * 3, cnt * 3, level, (struct bkey *)&max,
				    &ptrs[n], err);
		g->nodes++;
	}
	*out = ptrs;
	*nr_out = nodes;
	return ret;
}

static int build_tree(struct gen *g, struct bt_write_ctx *w, struct printbuf *err)
{
	struct cache_set *c = w->c;
	unsigned cap = node_capacity(c->btree_node_sectors);
	unsigned kpl = g->o.leaf_keys ? g->o.leaf_keys : cap * 3 / 4;
	unsigned fan = g->o.fanout ? g->o.fanout : cap * 3 / 4;
	uint64_t *keys = NULL, *jkeys = NULL;
	size_t nr = 0, nj = 0, nr_ptrs;
	struct bkey_padded *ptrs = NULL;
	unsigned level = 0;
	int ret;

	if (kpl > cap || fan > cap || fan < 2 || !kpl) {
		prt_printf(err, "--leaf-keys and --fanout must be in [1, %u] and [2, %u]", cap, cap);
		return -EINVAL;
	}
	keys = malloc((g->nr_ext ? g->nr_ext : 1) * 3 * 8);
	jkeys = malloc((g->o.journal_keys + 1) * 3 * 8);
	if (!keys || !jkeys) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < g->nr_ext; i++) {
		if (g->ext[i].journal)
			make_key(&g->ext[i], jkeys + 3 * nj++);
		else
			make_key(&g->ext[i], keys + 3 * nr++);
	}
	g->leaves = nr ? (unsigned)((nr + kpl - 1) / kpl) : 1;
	ret = write_level(g, w, keys, nr, kpl, 0, &ptrs, &nr_ptrs, err);
	while (!ret && nr_ptrs > 1) {
		uint64_t *pk = malloc(nr_ptrs * 3 * 8);

		if (!pk) {
			ret = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < nr_ptrs; i++)
			memcpy(pk + 3 * i, &ptrs[i], 3 * 8);
		free(ptrs);
		ptrs = NULL;
		ret = write_level(g, w, pk, nr_ptrs, fan, ++level, &ptrs, &nr_ptrs, err);
		free(pk);
	}
	if (ret)
		goto out;
	ret = bt_free_after_commit(w, PTR_BUCKET_NR(c, (struct bkey *)&c->root_key, 0));
	if (ret)
		goto out;
	w->new_root = ptrs[0];
	w->new_root_level = level;
	w->root_changed = true;
	g->depth = level + 1;
	if (nj) {
		w->journal_keys = jkeys;
		w->journal_u64s = nj * 3;
		jkeys = NULL;
	}
out:
	free(keys);
	free(jkeys);
	free(ptrs);
	return ret;
}

static void fill_uuids(struct gen *g, struct cache_set *c)
{
	uint32_t now = (uint32_t)time(NULL);
	uint64_t s = g->o.seed ^ 0x5555;

	for (unsigned i = 0; i < g->nr_slots; i++) {
		struct uuid_entry *u = &c->uuids[i];
		struct slot *sl = &g->slot[i];

		memset(u, 0, sizeof(*u));
		if (sl->flash) {
			for (unsigned b = 0; b < 16; b += 8) {
				uint64_t r = splitmix(&s);

				memcpy(sl->uuid + b, &r, 8);
			}
			sl->uuid[6] = (sl->uuid[6] & 0x0f) | 0x40;
			sl->uuid[8] = (sl->uuid[8] & 0x3f) | 0x80;
			u->flags = htole32(UUID_FLASH_ONLY);
			u->sectors = htole64(sl->sectors);
		}
		memcpy(u->uuid, sl->uuid, 16);
		snprintf((char *)u->label, sizeof(u->label), "gen-cache %u", i);
		u->first_reg = u->last_reg = htole32(now);
	}
}

static int read_bdev_uuid(struct slot *sl, struct printbuf *err)
{
	struct bt_dev dev;
	uint8_t block[SB_SIZE];
	struct cache_sb sb;
	int ret = bt_dev_open(sl->path, BT_DEV_FORCE, &dev, err);

	if (ret)
		return ret;
	ret = bt_sb_read(&dev, block, &sb, true, err);
	if (!ret)
		memcpy(sl->uuid, sb.uuid, 16);
	bt_dev_close(&dev);
	return ret;
}

/* Attached backing devices: CLEAN, or DIRTY when the set holds dirty data for them. */
static int set_bdev_state(struct slot *sl, struct printbuf *err)
{
	struct bt_dev dev;
	uint8_t block[SB_SIZE];
	struct cache_sb sb;
	int ret = bt_dev_open(sl->path, BT_DEV_RDWR | BT_DEV_FORCE, &dev, err);

	if (ret)
		return ret;
	ret = bt_sb_read(&dev, block, &sb, true, err);
	if (!ret) {
		sb.flags = SET_BDEV_STATE(sb.flags, sl->live_dirty ? BDEV_STATE_DIRTY
							      : BDEV_STATE_CLEAN);
		ret = bt_sb_write(&dev, block, &sb, err);
	}
	if (!ret)
		ret = bt_dev_flush(&dev, err);
	bt_dev_close(&dev);
	return ret;
}

static int build_set(struct gen *g)
{
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	struct cache_set c;
	struct bt_node_cache *nc = NULL;
	struct bt_write_ctx w;
	struct stream st[3] = { { 0 }, { 0 }, { 0 } };
	bool began = false;
	int ret;

	ret = bt_dev_open(g->cache_path, BT_DEV_RDWR | BT_DEV_FORCE, &dev, &err);
	if (ret)
		goto out_noclose;
	ret = bt_cache_set_open(&c, &dev, BT_OPEN_STRICT, &err);
	if (ret)
		goto out;
	memcpy(g->set_uuid, c.sb.set_uuid, 16);
	nc = bt_node_cache_new(&c, BT_NODE_CACHE_DEFAULT_BYTES, 0);
	ret = nc ? bt_mark_buckets(&c, nc, &err) : -ENOMEM;
	if (!ret)
		ret = bt_write_begin(&w, &c, nc);
	if (ret)
		goto out;
	began = true;
	st[2].stale = true;
	for (int i = 0; i < 3; i++) {
		st[i].buf = malloc((size_t)c.bucket_size << SECTOR_SHIFT);
		if (!st[i].buf) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (uint64_t i = 0; i < g->nr_ext && !ret; i++)
		ret = stream_put(g, &w, &st[stream_of(g, i)], &g->ext[i], &err);
	for (int i = 0; i < 3 && !ret; i++)
		ret = stream_flush(&w, &st[i], &err);
	if (ret)
		goto out;
	/* the buckets of stale extents were reused: their gen moved on */
	for (size_t i = 0; i < st[2].nr_buckets; i++)
		c.buckets[st[2].buckets[i]].gen++;

	ret = build_tree(g, &w, &err);
	if (ret)
		goto out;
	for (unsigned i = 0; i < g->nr_slots && !ret; i++)
		if (!g->slot[i].flash)
			ret = read_bdev_uuid(&g->slot[i], &err);
	if (ret)
		goto out;
	fill_uuids(g, &c);
	w.uuids_changed = true;
	ret = bt_commit(&w, &err);
	began = false;
	free(w.journal_keys);
out:
	if (began) {
		free(w.journal_keys);
		bt_write_abort(&w);
	}
	for (int i = 0; i < 3; i++) {
		free(st[i].buf);
		free(st[i].buckets);
	}
	bt_node_cache_free(nc);
	g->nbuckets = c.nbuckets;
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
out_noclose:
	if (ret)
		fprintf(stderr, "gen-cache: %s (%s)\n", printbuf_str(&err), bt_err_str(ret));
	printbuf_exit(&err);
	return ret;
}

/* ---- expected content --------------------------------------------------- */

/* sha256 of slot sl's logical content, streamed through sha256sum(1). */
static int slot_sha256(struct gen *g, unsigned slot, char hex[65])
{
	const size_t chunk_sectors = 2048;
	struct slot *sl = &g->slot[slot];
	uint8_t *buf = malloc(chunk_sectors * 512);
	char tmpl[] = "/tmp/gen-cache-sum.XXXXXX", cmd[64];
	int fd = mkstemp(tmpl), ret = -1;
	uint64_t next = sl->first, end = sl->first + sl->nr;
	FILE *p = NULL, *r;

	if (!buf || fd < 0)
		goto out;
	snprintf(cmd, sizeof(cmd), "sha256sum > %s", tmpl);
	p = popen(cmd, "w");
	if (!p)
		goto out;
	for (uint64_t s = 0; s < sl->sectors; s += chunk_sectors) {
		uint64_t n = sl->sectors - s < chunk_sectors ? sl->sectors - s : chunk_sectors;
		uint64_t abs = s + sl->data_offset;

		for (uint64_t i = 0; i < n; i++) {
			uint8_t *d = buf + i * 512;

			if (sl->flash)
				memset(d, 0, 512);
			else
				fill_sector((uint64_t *)d, KIND_BACKING, slot, abs + i, g->o.seed);
		}
		/* live extents laid over it; extents are sorted and do not overlap */
		while (next < end && g->ext[next].start + g->ext[next].sectors <= abs)
			next++;
		for (uint64_t k = next; k < end && g->ext[k].start < abs + n; k++) {
			const struct ext *e = &g->ext[k];

			if (e->stale)
				continue;
			for (uint64_t x = e->start; x < e->start + e->sectors; x++)
				if (x >= abs && x < abs + n)
					extent_sector(g, e, x, buf + (x - abs) * 512);
		}
		if (fwrite(buf, 512, n, p) != n)
			goto out;
	}
	if (pclose(p))
		goto out_nopclose;
	p = NULL;
	r = fdopen(fd, "r");
	if (!r)
		goto out;
	fd = -1;
	if (fscanf(r, "%64s", hex) == 1 && strlen(hex) == 64)
		ret = 0;
	fclose(r);
out:
	if (p)
		pclose(p);
out_nopclose:
	if (fd >= 0)
		close(fd);
	unlink(tmpl);
	free(buf);
	return ret;
}

static int write_keys(struct gen *g)
{
	FILE *f = fopen(g->o.keys, "w");

	if (!f)
		return -1;
	for (uint64_t i = 0; i < g->nr_ext; i++) {
		const struct ext *e = &g->ext[i];

		fprintf(f, "%u %" PRIu64 " %u %" PRIu64 " %u %s%s%s\n", e->slot, e->start,
			e->sectors, e->cache_sector, e->gen, e->dirty ? "dirty" : "clean",
			e->stale ? " stale" : "", e->journal ? " journal" : "");
	}
	return fclose(f) ? -1 : 0;
}

static int report(struct gen *g)
{
	FILE *f = g->o.sums ? fopen(g->o.sums, "w") : stdout;
	uint64_t live = 0, dirty = 0, stale = 0, journal = 0;
	char uuid[37];

	if (!f)
		return -1;
	for (uint64_t i = 0; i < g->nr_ext; i++) {
		const struct ext *e = &g->ext[i];

		stale += e->stale;
		journal += e->journal;
		if (!e->stale) {
			live++;
			dirty += e->dirty;
			g->slot[e->slot].live_dirty += e->dirty;
		}
	}
	uuid_unparse(g->set_uuid, uuid);
	fprintf(f, "cache %s set %s nbuckets %" PRIu64 " bucket %u block %u extents %" PRIu64
		" live %" PRIu64 " dirty %" PRIu64 " stale %" PRIu64 " journal %" PRIu64
		" nodes %u leaves %u depth %u\n", g->cache_path, uuid, g->nbuckets, g->o.bucket,
		g->o.block, g->nr_ext, live, dirty, stale, journal, g->nodes, g->leaves, g->depth);
	for (unsigned i = 0; i < g->nr_slots; i++) {
		const struct slot *sl = &g->slot[i];
		char hex[65];

		if (slot_sha256(g, i, hex)) {
			fprintf(stderr, "gen-cache: sha256 of slot %u failed\n", i);
			return -1;
		}
		uuid_unparse(sl->uuid, uuid);
		if (sl->flash)
			fprintf(f, "slot %u flash uuid %s sectors %" PRIu64 " sha256 %s\n", i, uuid,
				sl->sectors, hex);
		else
			fprintf(f, "slot %u backing %s uuid %s data_offset %" PRIu64 " sectors %"
				PRIu64 " dirty_extents %" PRIu64 " sha256 %s\n", i, sl->path, uuid,
				sl->data_offset, sl->sectors, sl->live_dirty, hex);
	}
	return (f != stdout && fclose(f)) ? -1 : 0;
}

/* ---- main --------------------------------------------------------------- */

static int parse_bytes(const char *what, const char *s, unsigned *sectors)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'M')
		v <<= 20, end++;
	if (*end || v < 512 || (v & (v - 1)) || (v >> 9) > 32768) {
		fprintf(stderr, "gen-cache: bad %s '%s'\n", what, s);
		return -1;
	}
	*sectors = (unsigned)(v >> 9);
	return 0;
}

/* Size the cache for the planned tree and data (bt_cache_set_geometry() of the options). */
static int size_cache(struct gen *g)
{
	struct cache_set tmp = { 0 };
	struct printbuf err = PRINTBUF;
	unsigned cap, kpl, fanout;

	tmp.sb.version = BCACHE_SB_VERSION_CDEV;
	tmp.sb.bucket_size = g->o.bucket;
	tmp.sb.block_size = (uint16_t)g->o.block;
	tmp.sb.nbuckets = 1024;
	bt_cache_set_geometry(&tmp, &err);
	printbuf_exit(&err);
	cap = node_capacity(tmp.btree_node_sectors);
	kpl = g->o.leaf_keys ? g->o.leaf_keys : cap * 3 / 4;
	fanout = g->o.fanout ? g->o.fanout : cap * 3 / 4;
	if (!kpl || fanout < 2 || kpl > cap || fanout > cap) {
		fprintf(stderr, "gen-cache: --leaf-keys in [1, %u], --fanout in [2, %u]\n", cap, cap);
		return 16;
	}
	g->nbuckets = plan_buckets(g, kpl, fanout);
	return 0;
}

/* Everything after the options: images, format, data, tree, report. Returns the exit status. */
static int generate(struct gen *g, const char **args, unsigned nargs, char **paths)
{
	struct printbuf err = PRINTBUF;
	int ret;

	if (plan_extents(g))
		return 8;
	for (unsigned i = 0, b = 0; i < g->nr_slots; i++) {
		if (g->slot[i].flash)
			continue;
		if (1 + b < nargs)
			g->slot[i].path = args[1 + b];
		else if (asprintf(&paths[i], "%s.bdev%u", g->cache_path, b) > 0)
			g->slot[i].path = paths[i];
		b++;
	}
	ret = size_cache(g);
	if (ret)
		return ret;
	if (make_file(g->cache_path, g->nbuckets * g->o.bucket * 512))
		return 8;
	for (unsigned i = 0; i < g->nr_slots; i++)
		if (!g->slot[i].flash &&
		    make_file(g->slot[i].path, (g->slot[i].data_offset + g->slot[i].sectors) * 512))
			return 8;
	if (format_all(g))
		return 8;
	for (unsigned i = 0; i < g->nr_slots; i++)
		if (!g->slot[i].flash && write_backing(g, &g->slot[i], i))
			return 8;
	if (build_set(g) || report(g))
		return 8;
	for (unsigned i = 0; i < g->nr_slots; i++)
		if (!g->slot[i].flash && set_bdev_state(&g->slot[i], &err)) {
			fprintf(stderr, "gen-cache: %s\n", printbuf_str(&err));
			printbuf_exit(&err);
			return 8;
		}
	printbuf_exit(&err);
	if (g->o.keys && write_keys(g))
		return 8;
	return 0;
}

int main(int argc, const char **argv)
{
	struct gen g = { 0 };
	char *bucket = NULL, *block = NULL, *cset = NULL, *sums = NULL, *keys = NULL;
	long long extents = 1000000, stale = 0, seed = 1;
	int bdevs = 1, flash = 1, max_blocks = 1, max_gap = 2, jkeys = 0, leaf = 0, fan = 0;
	int quiet = 0, scatter = 0, stale_dirty = 0, rc;
	double dirty = 0.5;
	struct poptOption opts[] = {
		{ "extents", 'n', POPT_ARG_LONGLONG, &extents, 0, "extents (default 1000000)", "N" },
		{ "dirty", 'd', POPT_ARG_DOUBLE, &dirty, 0,
		  "share of backing-device extents that are dirty (default 0.5)", "R" },
		{ "bdevs", 0, POPT_ARG_INT, &bdevs, 0, "backing devices (default 1)", "N" },
		{ "flash", 0, POPT_ARG_INT, &flash, 0, "flash-only volumes (default 1)", "N" },
		{ "bucket", 'b', POPT_ARG_STRING, &bucket, 0, "bucket size (default 512k)", "SIZE" },
		{ "block", 'w', POPT_ARG_STRING, &block, 0, "block size (default 4k)", "SIZE" },
		{ "max-blocks", 0, POPT_ARG_INT, &max_blocks, 0,
		  "extent size 1..N blocks (default 1)", "N" },
		{ "max-gap", 0, POPT_ARG_INT, &max_gap, 0,
		  "gap before an extent 0..N blocks (default 2)", "N" },
		{ "stale", 0, POPT_ARG_LONGLONG, &stale, 0,
		  "stale pointers on clean backing-device data (default 0)", "N" },
		{ "stale-dirty", 0, POPT_ARG_NONE, &stale_dirty, 0,
		  "--stale picks dirty and flash extents too (lost data)", NULL },
		{ "journal-keys", 0, POPT_ARG_INT, &jkeys, 0,
		  "extents journaled instead of put in leaves (default 0)", "N" },
		{ "leaf-keys", 0, POPT_ARG_INT, &leaf, 0, "keys per leaf (default 3/4 full)", "N" },
		{ "fanout", 0, POPT_ARG_INT, &fan, 0, "keys per interior node", "N" },
		{ "seed", 0, POPT_ARG_LONGLONG, &seed, 0, "random seed (default 1)", "S" },
		{ "cset-uuid", 0, POPT_ARG_STRING, &cset, 0, "cache set uuid", "UUID" },
		{ "sums", 'o', POPT_ARG_STRING, &sums, 0, "write the report here", "FILE" },
		{ "keys", 0, POPT_ARG_STRING, &keys, 0, "list the generated extents", "FILE" },
		{ "scatter", 0, POPT_ARG_NONE, &scatter, 0,
		  "put consecutive extents in different buckets (no merging)", NULL },
		{ "quiet", 'q', POPT_ARG_NONE, &quiet, 0, "no progress on stderr", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = poptGetContext("gen-cache", argc, argv, opts, 0);
	const char **args;
	char **paths = NULL;
	unsigned nargs = 0;

	poptSetOtherOptionHelp(pc, "[OPTIONS] CACHE.img [BACKING.img...]");
	rc = poptGetNextOpt(pc);
	if (rc < -1) {
		fprintf(stderr, "gen-cache: %s: %s\n", poptBadOption(pc, 0), poptStrerror(rc));
		return 16;
	}
	args = poptGetArgs(pc);
	while (args && args[nargs])
		nargs++;
	if (!nargs || extents < 0 || stale < 0 || bdevs < 0 || flash < 0 || max_blocks < 1 ||
	    max_gap < 0 || jkeys < 0 || leaf < 0 || fan < 0 || dirty < 0 || dirty > 1 ||
	    (unsigned)(nargs - 1) > (unsigned)bdevs) {
		poptPrintUsage(pc, stderr, 0);
		return 16;
	}
	g.o = (struct opts) {
		.extents = (uint64_t)extents, .dirty = dirty, .bdevs = (unsigned)bdevs,
		.flash = (unsigned)flash, .bucket = 1024, .block = 8,
		.max_blocks = (unsigned)max_blocks, .max_gap = (unsigned)max_gap,
		.stale = (uint64_t)stale, .journal_keys = (unsigned)jkeys,
		.leaf_keys = (unsigned)leaf, .fanout = (unsigned)fan, .seed = (uint64_t)seed,
		.cset_uuid = cset, .sums = sums, .keys = keys, .quiet = quiet,
		.scatter = scatter, .stale_dirty = stale_dirty,
	};
	if ((bucket && parse_bytes("bucket size", bucket, &g.o.bucket)) ||
	    (block && parse_bytes("block size", block, &g.o.block)))
		return 16;
	if (g.o.block > g.o.bucket || (uint64_t)g.o.max_blocks * g.o.block > g.o.bucket ||
	    jkeys > 1300) {
		fprintf(stderr, "gen-cache: extents must fit a bucket; at most 1300 journal keys\n");
		return 16;
	}
	g.cache_path = args[0];
	paths = calloc(MAX_SLOTS, sizeof(*paths));
	rc = paths ? generate(&g, args, nargs, paths) : 8;
	for (unsigned i = 0; paths && i < MAX_SLOTS; i++)
		free(paths[i]);
	free(paths);
	free(g.ext);
	poptFreeContext(pc);
	free(bucket);
	free(block);
	free(cset);
	free(sums);
	free(keys);
	return rc;
}
