/* alloc.c --- transactions and bucket allocation of the write path
 * (write.h): alloc.c bch_bucket_alloc() / bch_can_invalidate_bucket() /
 * bch_inc_gen() on the marked in-memory buckets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/errcode.h"
#include "libcore/write/write.h"

/* bt_mark_buckets() makes every journal bucket METADATA: a cheap proof it ran. */
static bool marked(const struct cache_set *c)
{
	return c->buckets && (!c->sb.keys || (c->sb.d[0] < c->nbuckets &&
				c->buckets[c->sb.d[0]].mark == GC_MARK_METADATA));
}

int bt_write_begin(struct bt_write_ctx *w, struct cache_set *c, struct bt_node_cache *nc)
{
	memset(w, 0, sizeof(*w));
	if (!marked(c))
		return -EINVAL;
	w->saved_buckets = malloc(c->nbuckets * sizeof(*c->buckets));
	if (!w->saved_buckets)
		return -ENOMEM;
	memcpy(w->saved_buckets, c->buckets, c->nbuckets * sizeof(*c->buckets));
	if (c->uuids) {
		w->saved_uuids = malloc((size_t)c->nr_uuids * sizeof(*c->uuids));
		if (!w->saved_uuids) {
			free(w->saved_buckets);
			w->saved_buckets = NULL;
			return -ENOMEM;
		}
		memcpy(w->saved_uuids, c->uuids, (size_t)c->nr_uuids * sizeof(*c->uuids));
	}
	w->c = c;
	w->nc = nc;
	w->new_root = c->root_key;
	w->new_root_level = c->root_level;
	w->alloc_cursor = c->first_bucket;
	w->active = true;
	/* no signal may cut the writes of the transaction short (stop.h) */
	w->held = !bt_signals_hold(&w->old_mask);
	return 0;
}

int bt_write_start(struct bt_write_ctx *w, struct cache_set *c, struct bt_node_cache *nc,
		   struct printbuf *err)
{
	int ret = bt_mark_buckets(c, nc, err);

	if (ret)
		return ret;
	ret = bt_write_begin(w, c, nc);
	if (ret)
		prt_printf(err, "cannot start a write transaction on '%s': %s",
			   c->dev ? c->dev->path : "?", bt_err_str(ret));
	return ret;
}

/* Free the transaction's memory; c is left as it is. */
void bt_write_end(struct bt_write_ctx *w)
{
	free(w->saved_buckets);
	free(w->saved_uuids);
	free(w->new_buckets);
	free(w->free_after);
	w->saved_buckets = NULL;
	w->saved_uuids = NULL;
	w->new_buckets = w->free_after = NULL;
	w->nr_new = w->size_new = w->nr_free_after = w->size_free_after = 0;
	w->active = false;
	if (w->held)
		bt_signals_release(&w->old_mask);
	w->held = false;
}

void bt_write_abort(struct bt_write_ctx *w)
{
	if (w->active && w->saved_buckets)
		memcpy(w->c->buckets, w->saved_buckets,
		       w->c->nbuckets * sizeof(*w->c->buckets));
	if (w->active && w->saved_uuids && w->c->uuids)
		memcpy(w->c->uuids, w->saved_uuids, (size_t)w->c->nr_uuids * sizeof(*w->c->uuids));
	bt_write_end(w);
}

static int push(uint64_t **v, size_t *nr, size_t *size, uint64_t b)
{
	if (*nr == *size) {
		size_t n = *size ? *size * 2 : 16;
		uint64_t *p = realloc(*v, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*v = p;
		*size = n;
	}
	(*v)[(*nr)++] = b;
	return 0;
}

/*
 * May bucket b be handed out? Nothing of the current state uses it (mark
 * NONE, not pinned by a journal key, not below first_bucket) and its gen
 * may move (can_inc_bucket_gen(): gen - last_gc < BUCKET_GC_GEN_MAX).
 */
static bool bucket_free(const struct cache_set *c, uint64_t b)
{
	const struct bt_bucket *g = &c->buckets[b];

	return b >= c->first_bucket && g->mark == GC_MARK_NONE && !g->pinned &&
	       (uint8_t)(g->gen - g->last_gc) < BUCKET_GC_GEN_MAX;
}

int bt_bucket_alloc(struct bt_write_ctx *w, bool metadata, uint64_t *bucket,
		    struct printbuf *err)
{
	struct cache_set *c = w->c;
	uint64_t n = c->nbuckets - c->first_bucket, b = w->alloc_cursor;

	if (!w->active) {
		prt_str(err, "bucket allocation outside a transaction");
		return -EINVAL;
	}
	for (uint64_t i = 0; i < n; i++, b++) {
		struct bt_bucket *g;

		if (b >= c->nbuckets)
			b = c->first_bucket;
		if (!bucket_free(c, b))
			continue;
		if (push(&w->new_buckets, &w->nr_new, &w->size_new, b)) {
			prt_str(err, "out of memory allocating a bucket");
			return -ENOMEM;
		}
		g = &c->buckets[b];
		g->gen++;			/* bch_inc_gen() */
		g->prio = metadata ? BTREE_PRIO : INITIAL_PRIO;
		g->mark = metadata ? GC_MARK_METADATA : GC_MARK_RECLAIMABLE;
		g->sectors_used = 0;
		w->alloc_cursor = b + 1;
		*bucket = b;
		return 0;
	}
	prt_printf(err, "no free bucket on '%s': every bucket from %u to %llu is in use, "
		   "pinned by the journal or too far from its oldest pointer gen "
		   "(%zu allocated by this change)", c->dev->path, c->first_bucket,
		   (unsigned long long)c->nbuckets - 1, w->nr_new);
	return -BT_ERR_NO_FREE_BUCKET;
}

int bt_free_after_commit(struct bt_write_ctx *w, uint64_t b)
{
	if (b >= w->c->nbuckets)
		return -EINVAL;
	return push(&w->free_after, &w->nr_free_after, &w->size_free_after, b);
}
