/* node_cache.c --- bounded LRU cache of btree nodes and the tree walk. */
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/base/errcode.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/node_pool.h"

#define NC_HASH_SIZE	4096

struct nc_entry {
	struct bt_node	*n;
	unsigned	pins;
	struct nc_entry	*hnext;			/* hash chain */
	struct nc_entry	*prev, *next;		/* LRU list, most recent first */
};

struct bt_node_cache {
	struct cache_set	*c;
	size_t			limit;
	unsigned		read_flags;
	struct nc_entry		*hash[NC_HASH_SIZE];
	struct nc_entry		*head, *tail;
	struct bt_node_cache_stats st;
	struct bt_node_pool	*pool;		/* reader threads, or NULL */
};

static unsigned key_hash(const struct bkey *k, unsigned level)
{
	uint64_t h = bk_ptr(k, 0) ^ (bk_low(k) * 0x9e3779b97f4a7c15ULL) ^ level;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (unsigned)(h >> 40) % NC_HASH_SIZE;
}

static bool same_node(const struct bt_node *n, const struct bkey *k, unsigned level)
{
	const struct bkey *nk = (const struct bkey *)n->key;

	return n->level == level && bkey_u64s(nk) == bkey_u64s(k) &&
	       !memcmp(nk, k, bkey_bytes(k));
}

struct bt_node_cache *bt_node_cache_new(struct cache_set *c, size_t limit_bytes,
					unsigned read_flags)
{
	struct bt_node_cache *nc = calloc(1, sizeof(*nc));

	if (!nc)
		return NULL;
	nc->c = c;
	nc->limit = limit_bytes;
	nc->read_flags = read_flags;
	return nc;
}

static void lru_unlink(struct bt_node_cache *nc, struct nc_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		nc->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		nc->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct bt_node_cache *nc, struct nc_entry *e)
{
	e->prev = NULL;
	e->next = nc->head;
	if (nc->head)
		nc->head->prev = e;
	nc->head = e;
	if (!nc->tail)
		nc->tail = e;
}

static void entry_free(struct bt_node_cache *nc, struct nc_entry *e)
{
	const struct bt_node *n = e->n;
	struct nc_entry **p = &nc->hash[key_hash((const struct bkey *)n->key, n->level)];

	while (*p && *p != e)
		p = &(*p)->hnext;
	if (*p)
		*p = e->hnext;
	lru_unlink(nc, e);
	nc->st.used_bytes -= n->mem_bytes + sizeof(*e);
	nc->st.nr_nodes--;
	bt_node_free(e->n);
	free(e);
}

/* Reclaim least recently used unpinned nodes until under the limit. */
static void reclaim(struct bt_node_cache *nc)
{
	struct nc_entry *e = nc->tail;

	while (e && nc->st.used_bytes > nc->limit) {
		struct nc_entry *prev = e->prev;

		if (!e->pins) {
			entry_free(nc, e);
			nc->st.reclaimed++;
		}
		e = prev;
	}
}

void bt_node_cache_free(struct bt_node_cache *nc)
{
	if (!nc)
		return;
	bt_node_cache_set_pool(nc, NULL);
	while (nc->head)
		entry_free(nc, nc->head);
	free(nc);
}

/* A miss: the node from the reader threads when they were asked for it, else read here. */
static int read_node(struct bt_node_cache *nc, const struct bkey *k, unsigned level,
		     struct bt_node **out, struct printbuf *err)
{
	int ret;

	if (!nc->pool)
		return bt_btree_node_read(nc->c, k, level, nc->read_flags, out, err);
	*out = NULL;
	ret = bt_btree_ptr_check(nc->c, k, level, err);
	if (ret)
		return ret;
	if (bt_node_pool_take(nc->pool, k, level, out, &ret, err))
		return ret;
	return bt_btree_node_read_unchecked(nc->c, k, level, nc->read_flags, out, err);
}

void bt_node_cache_set_pool(struct bt_node_cache *nc, struct bt_node_pool *pool)
{
	if (nc->pool)
		bt_node_pool_drain(nc->pool);
	nc->pool = pool;
}

bool bt_node_cache_ask(struct bt_node_cache *nc, const struct bkey *k, unsigned level)
{
	unsigned h = key_hash(k, level);

	if (!nc->pool)
		return false;
	for (struct nc_entry *e = nc->hash[h]; e; e = e->hnext)
		if (same_node(e->n, k, level))
			return true;		/* cached already */
	return bt_node_pool_ask(nc->pool, k, level);
}

int bt_node_cache_get(struct bt_node_cache *nc, const struct bkey *k, unsigned level,
		      struct bt_node **out, struct printbuf *err)
{
	unsigned h = key_hash(k, level);
	struct nc_entry *e;
	int ret;

	for (e = nc->hash[h]; e; e = e->hnext)
		if (same_node(e->n, k, level)) {
			nc->st.hits++;
			e->pins++;
			lru_unlink(nc, e);
			lru_push_front(nc, e);
			*out = e->n;
			return 0;
		}
	nc->st.misses++;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	ret = read_node(nc, k, level, &e->n, err);
	if (ret) {
		free(e);
		return ret;
	}
	e->n->cache_entry = e;
	e->pins = 1;
	e->hnext = nc->hash[h];
	nc->hash[h] = e;
	lru_push_front(nc, e);
	nc->st.nr_nodes++;
	nc->st.used_bytes += e->n->mem_bytes + sizeof(*e);
	if (nc->st.used_bytes > nc->st.peak_bytes)
		nc->st.peak_bytes = nc->st.used_bytes;
	reclaim(nc);
	*out = e->n;
	return 0;
}

void bt_node_cache_put(struct bt_node_cache *nc, struct bt_node *n)
{
	struct nc_entry *e = n ? n->cache_entry : NULL;

	if (!e)
		return;
	if (e->pins)
		e->pins--;
	reclaim(nc);
}

void bt_node_cache_stats(const struct bt_node_cache *nc, struct bt_node_cache_stats *s)
{
	*s = nc->st;
}

/* ---- walk ----------------------------------------------------------- */

struct walk {
	struct bt_node_cache	*nc;
	const struct bt_walk_opts *o;
	unsigned		max_depth;
	uint64_t		path[BT_BTREE_MAX_DEPTH + 1];	/* buckets, root first */
	uint8_t			*seen;				/* bitmap of node buckets */
	struct printbuf		*err;
};

/* Report a node that cannot be visited; returns 0 to go on. */
static int walk_error(struct walk *w, const struct bkey *k, unsigned level,
		      const struct bt_walk_pos *pos, int ret, struct printbuf *msg)
{
	if (w->o->lost_fn)
		w->o->lost_fn(k, level, pos, printbuf_str(msg), w->o->arg);
	if (w->o->error_fn) {
		int r = w->o->error_fn(k, level, ret, printbuf_str(msg), w->o->arg);

		if (!r) {
			printbuf_reset(msg);
			return 0;
		}
		ret = r;
	}
	prt_str(w->err, printbuf_str(msg));
	return ret;
}

static int walk_node(struct walk *w, const struct bkey *k, unsigned level,
		     struct bt_walk_pos *pos);

/*
 * Children whose reads are asked for ahead of the walk (bt_dev_readahead()):
 * the device then has up to this many node reads in flight while the walk
 * parses the one it reached (the kernel's own check reads one at a time).
 */
#define WALK_READAHEAD_NODES	32

/* Hint the read of the child at ck, when it looks like a node pointer. */
static void readahead_child(struct walk *w, const struct bkey *ck)
{
	struct cache_set *c = w->nc->c;

	if (!bt_btree_ptr_bad(c, ck))
		bt_dev_readahead(c->dev, PTR_OFFSET(ck, 0) << SECTOR_SHIFT,
				 (uint64_t)KEY_SIZE(ck) << SECTOR_SHIFT);
}

/*
 * Ask the reader threads (node_pool.h) for the children from *ask on, at
 * most WALK_READAHEAD_NODES past cur, until the pool is full; *ask moves
 * past every child asked for (or not a node pointer).
 */
static void ask_children(struct walk *w, const struct bt_node *n, const struct bkey *cur,
			 const struct bkey **ask)
{
	const uint64_t *end = n->keys + n->u64s;

	if (!w->nc->pool)
		return;		/* no reader threads: no pointer checks ahead of the walk */
	while ((const uint64_t *)*ask < end &&
	       (const uint64_t *)*ask - (const uint64_t *)cur < WALK_READAHEAD_NODES * 3) {
		if (!bt_btree_ptr_bad(w->nc->c, *ask) &&
		    !bt_node_cache_ask(w->nc, *ask, n->level - 1))
			return;
		*ask = bkey_next(*ask);
	}
}

/* The first child's range starts where the parent's does, the next ones after a sibling. */
static int walk_children(struct walk *w, const struct bt_node *n, const struct bt_walk_pos *ppos)
{
	struct cache_set *c = w->nc->c;
	const struct bkey *ck, *ahead = (const struct bkey *)n->keys, *ask = ahead;
	const uint64_t *end = n->keys + n->u64s;
	uint64_t si = ppos->start_inode, so = ppos->start_offset;
	unsigned depth = ppos->depth;
	int ret;

	for (unsigned i = 0; i < WALK_READAHEAD_NODES && (const uint64_t *)ahead < end; i++) {
		readahead_child(w, ahead);
		ahead = bkey_next(ahead);
	}
	for_each_node_key(n, ck) {
		struct bt_walk_pos pos = {
			.depth = depth + 1, .parent = (const struct bkey *)n->key,
			.start_inode = si, .start_offset = so, .end = ck,
		};

		if ((const uint64_t *)ahead < end) {
			readahead_child(w, ahead);
			ahead = bkey_next(ahead);
		}
		if ((const uint64_t *)ask < (const uint64_t *)ck)
			ask = ck;
		ask_children(w, n, ck, &ask);
		if (bt_btree_ptr_bad(c, ck))
			continue;
		ret = walk_node(w, ck, n->level - 1, &pos);
		if (ret)
			return ret;
		si = KEY_INODE(ck);
		so = KEY_OFFSET(ck);
	}
	return 0;
}

static int walk_node(struct walk *w, const struct bkey *k, unsigned level,
		     struct bt_walk_pos *pos)
{
	struct cache_set *c = w->nc->c;
	struct printbuf msg = PRINTBUF;
	struct bt_node *n;
	uint64_t b = PTR_BUCKET_NR(c, k, 0);
	int ret = 0;

	if (pos->depth > w->max_depth || level > w->max_depth) {
		prt_printf(&msg, "btree too deep: node at bucket %llu would be at depth %u, level %u (limit %u)",
			   (unsigned long long)b, pos->depth, level, w->max_depth);
		ret = walk_error(w, k, level, pos, -BT_ERR_BTREE_TOO_DEEP, &msg);
		goto out;
	}
	for (unsigned d = 0; d < pos->depth; d++)
		if (w->path[d] == b) {
			prt_printf(&msg, "btree loop: key ");
			bt_bkey_to_text(&msg, k);
			prt_printf(&msg, " in the node at bucket %llu (depth %u) points to bucket %llu, %s",
				   (unsigned long long)w->path[pos->depth - 1], pos->depth - 1,
				   (unsigned long long)b,
				   d == pos->depth - 1 ? "the node itself" : "an ancestor");
			ret = walk_error(w, k, level, pos, -BT_ERR_BTREE_LOOP, &msg);
			goto out;
		}
	if (w->seen && b < c->nbuckets) {
		if (w->seen[b / 8] & (1u << (b % 8))) {
			prt_printf(&msg, "btree node at bucket %llu referenced twice (again by key ",
				   (unsigned long long)b);
			bt_bkey_to_text(&msg, k);
			prt_printf(&msg, " at level %u)", level);
			ret = walk_error(w, k, level, pos, -BT_ERR_BTREE_TOPOLOGY, &msg);
			goto out;
		}
		w->seen[b / 8] |= 1u << (b % 8);
	}
	ret = bt_node_cache_get(w->nc, k, level, &n, &msg);
	if (ret) {
		ret = walk_error(w, k, level, pos, ret, &msg);
		goto out;
	}
	w->path[pos->depth] = b;
	if ((w->o->flags & BT_WALK_RAISE_GENS) && c->buckets) {
		const struct bkey *ck;

		for_each_node_key(n, ck)
			bt_raise_ptr_gens(c, ck);
	}
	if (w->o->node_fn)
		ret = w->o->node_fn(n, pos, w->o->arg);
	if (!ret && level)
		ret = walk_children(w, n, pos);
	bt_node_cache_put(w->nc, n);
out:
	printbuf_exit(&msg);
	return ret;
}

int bt_btree_walk(struct bt_node_cache *nc, const struct bkey *root, unsigned root_level,
		  const struct bt_walk_opts *o, struct printbuf *err)
{
	struct cache_set *c = nc->c;
	struct walk w = { .nc = nc, .o = o, .err = err };
	struct bt_walk_pos pos = { .end = root };
	int ret;

	w.max_depth = o->max_depth && o->max_depth <= BT_BTREE_MAX_DEPTH ?
		      o->max_depth : BT_BTREE_MAX_DEPTH;
	w.seen = calloc((size_t)(c->nbuckets + 7) / 8 + 1, 1);
	if (!w.seen)
		return -ENOMEM;
	/* the root key itself is marked with level + 1 before its node is read */
	if ((o->flags & BT_WALK_RAISE_GENS) && c->buckets)
		bt_raise_ptr_gens(c, root);
	ret = walk_node(&w, root, root_level, &pos);
	free(w.seen);
	return ret;
}
