/* build.c --- gen-cache: data buckets, btree, uuid slots and the commit, on the write path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/uuid.h"
#include "libcore/write/write.h"

#include "gen.h"

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
		gen_extent_sector(g, e, e->start + i, st->buf + ((size_t)(st->used + i) << SECTOR_SHIFT));
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
	unsigned cap = gen_node_capacity(c->btree_node_sectors);
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
	g->tree_depth = level;
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
				uint64_t r = gen_splitmix(&s);

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

int gen_build_set(struct gen *g)
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
		ret = stream_put(g, &w, &st[gen_stream_of(g, i)], &g->ext[i], &err);
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
			ret = gen_read_bdev_uuid(&g->slot[i], &err);
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
