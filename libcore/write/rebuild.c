/* rebuild.c --- collect the keys of a damaged btree and write them as a new tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/bset.h"
#include "libcore/dev/dev.h"
#include "libcore/base/errcode.h"
#include "libcore/read/mark.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"
#include "libcore/write/rebuild_internal.h"
#include "libcore/read/uuid.h"

void bt_rebuild_init(struct bt_rebuild *rb)
{
	memset(rb, 0, sizeof(*rb));
	bt_extmap_init(&rb->keys);
}

void bt_rebuild_exit(struct bt_rebuild *rb)
{
	bt_extmap_exit(&rb->keys);
	free(rb->lost);
	for (size_t i = 0; i < rb->nr_garbage; i++)
		free(rb->garbage[i].key);
	free(rb->garbage);
	free(rb->old_nodes);
	memset(rb, 0, sizeof(*rb));
}

static void set_meta(struct collect *co, uint64_t b)
{
	if (b < co->c->nbuckets)
		co->meta[b / 8] |= 1u << (b % 8);
}

static bool is_meta(const struct collect *co, uint64_t b)
{
	return b < co->c->nbuckets && (co->meta[b / 8] & (1u << (b % 8)));
}

static void collect_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct collect *co = arg;
	struct bt_rebuild *rb = co->rb;
	const struct bkey *k;

	rb->st.nodes_read++;
	if (rb->nr_old_nodes == rb->size_old_nodes) {
		size_t size = rb->size_old_nodes ? rb->size_old_nodes * 2 : 64;
		uint64_t *o = realloc(rb->old_nodes, size * sizeof(*o));

		if (!o) {
			co->ret = -ENOMEM;
			return;
		}
		rb->old_nodes = o;
		rb->size_old_nodes = size;
	}
	rb->old_nodes[rb->nr_old_nodes++] = n->bucket;
	set_meta(co, n->bucket);
	/* the initial mark pass, as bt_mark_buckets() makes it */
	bt_mark_key(co->c, (const struct bkey *)n->key, n->level + 1);
	for_each_node_key(n, k)
		bt_mark_key(co->c, k, n->level);
	if (n->bad_bsets) {
		rb->st.nodes_salvaged++;
		bt_rebuild_lost_range(co, pos->start_inode, pos->start_offset, pos->end, n->bucket,
				      BT_LOST_UNKNOWN, "damaged bsets of this btree node were skipped");
		if (!n->level)
			bt_rebuild_scan_unverified(co, (const struct bkey *)n->key, pos);
	}
	if (n->level)
		return;
	for_each_node_invalid_key(n, k)
		if (KEY_DIRTY(k) && KEY_SIZE(k))
			bt_rebuild_lost_key(co, k, BT_LOST_DIRTY, "invalid key", BT_GARBAGE_BSET,
					    n->bucket);
	for_each_node_suspect_key(n, k)
		if (KEY_SIZE(k) && KEY_PTRS(k))
			bt_rebuild_lost_key(co, k, KEY_DIRTY(k) ? BT_LOST_DIRTY : BT_LOST_CLEAN,
					    "key out of order in its bset", BT_GARBAGE_BSET,
					    n->bucket);
}

static void collect_lost(const struct bkey *k, unsigned level, const struct bt_walk_pos *pos,
			 const char *msg, void *arg)
{
	struct collect *co = arg;

	(void)msg;
	co->rb->st.nodes_unreadable++;
	if (!pos->depth)
		co->root_lost = true;
	bt_rebuild_lost_range(co, pos->start_inode, pos->start_offset, pos->end,
			      KEY_PTRS(k) ? PTR_BUCKET_NR(co->c, k, 0) : BT_LOST_NO_BUCKET,
			      BT_LOST_UNKNOWN, "btree node could not be read");
	if (!level)
		bt_rebuild_scan_unverified(co, k, pos);
}

static void collect_journal_invalid(const struct bkey *k, void *arg)
{
	if (KEY_DIRTY(k) && KEY_SIZE(k))
		bt_rebuild_lost_key(arg, k, BT_LOST_DIRTY, "invalid journal key", BT_GARBAGE_JOURNAL,
				    BT_LOST_NO_BUCKET);
}

/* Journal, prio chain and uuid buckets, and the buckets of the old nodes. */
static void meta_buckets(struct collect *co)
{
	struct cache_set *c = co->c;

	for (unsigned i = 0; i < c->sb.keys && i < SB_JOURNAL_BUCKETS; i++)
		set_meta(co, c->sb.d[i]);
	for (unsigned i = 0; c->prio_chain && i < c->prio_buckets; i++)
		if (c->prio_chain[i])
			set_meta(co, c->prio_chain[i]);
	if (KEY_PTRS((const struct bkey *)&c->uuid_key))
		set_meta(co, PTR_BUCKET_NR(c, (const struct bkey *)&c->uuid_key, 0));
}

/* Which slot a key belongs to: NULL when no device holds it. */
static const struct uuid_entry *key_slot(const struct cache_set *c, const struct bkey *k)
{
	uint64_t slot = KEY_INODE(k);

	if (!c->uuids || slot >= c->nr_uuids ||
	    bt_uuid_slot_state(&c->uuids[slot]) != BT_UUID_LIVE)
		return NULL;
	return &c->uuids[slot];
}

/* A key of the view dropped: lost, unless it cannot be real (garbage, not counted). */
static void drop_key(struct collect *co, const struct bkey *k, enum bt_lost_kind kind,
		     const char *reason)
{
	if (bt_rebuild_lost_key(co, k, kind, reason, BT_GARBAGE_VIEW, BT_LOST_NO_BUCKET))
		co->rb->st.keys_dropped++;
}

/* Keep, cut or drop one key of the view; kept keys are appended to rb->keys. */
static int filter_key(struct collect *co, struct bkey *k)
{
	struct cache_set *c = co->c;
	struct bt_rebuild *rb = co->rb;
	const struct uuid_entry *u;
	struct bt_extent_bad_info info;
	enum bt_lost_kind kind = KEY_DIRTY(k) ? BT_LOST_DIRTY : BT_LOST_CLEAN;

	if (!KEY_PTRS(k) || !KEY_SIZE(k))
		return 0;
	if (bt_extent_bad(c, k, &info)) {
		if (KEY_DIRTY(k))
			drop_key(co, k, BT_LOST_DIRTY, info.stale ? "stale dirty pointer" :
				 "dirty key with an unusable pointer");
		else if (!bt_rebuild_garbage(co, k, BT_GARBAGE_VIEW, BT_LOST_NO_BUCKET, NULL))
			rb->st.keys_stale++;
		return 0;
	}
	u = key_slot(c, k);
	if (!u) {
		drop_key(co, k, kind, "uuid slot holds no device");
		return 0;
	}
	for (unsigned i = 0; i < KEY_PTRS(k); i++)
		if (is_meta(co, PTR_BUCKET_NR(c, k, i))) {
			drop_key(co, k, kind, "data pointer into a metadata bucket");
			return 0;
		}
	if (bt_uuid_flash_only(u) && KEY_OFFSET(k) > bt_uuid_sectors(u)) {
		uint64_t end = bt_uuid_sectors(u);
		struct bkey_padded cut, pos;

		bt_rebuild_lost_add(co, KEY_INODE(k), KEY_START(k) > end ? KEY_START(k) : end,
				    KEY_OFFSET(k), kind, PTR_BUCKET_NR(c, k, 0),
				    "past the end of the flash volume");
		rb->st.keys_cut++;
		if (KEY_START(k) >= end)
			return 0;
		memset(&cut, 0, sizeof(cut));
		memset(&pos, 0, sizeof(pos));
		bt_bkey_copy((struct bkey *)&cut, k);
		bkey_init_pos((struct bkey *)&pos, KEY_INODE(k), end, 0);
		bt_cut_back((struct bkey *)&pos, (struct bkey *)&cut);
		rb->st.keys_kept++;
		return bt_extmap_append(&rb->keys, (struct bkey *)&cut);
	}
	rb->st.keys_kept++;
	return bt_extmap_append(&rb->keys, k);
}

/*
 * Filter the view into rb->keys in place: the kept keys take the view's
 * array from its start (each key is kept at most once and in order, so the
 * next one to read is never overwritten), and the view is left empty. The
 * rebuild holds one copy of the keys, not two.
 */
static int filter_view(struct collect *co, struct bt_extmap *view)
{
	size_t n = view->nr;
	int ret = 0;

	bt_extmap_exit(&co->rb->keys);
	co->rb->keys = *view;
	co->rb->keys.nr = 0;
	bt_extmap_init(view);
	for (size_t i = 0; i < n && !ret; i++) {
		struct bkey_padded k = co->rb->keys.keys[i];

		ret = filter_key(co, (struct bkey *)&k);
	}
	return ret;
}

int bt_rebuild_collect(struct cache_set *c, struct bt_rebuild *rb, struct printbuf *err)
{
	struct collect co = { .c = c, .rb = rb };
	struct bt_overlay_opts o = {
		.flags = BT_OVERLAY_JOURNAL | BT_OVERLAY_KEEP_GOING,
		.lost_fn = collect_lost, .node_fn = collect_node,
		.journal_invalid_fn = collect_journal_invalid, .arg = &co,
	};
	struct bt_node_cache *nc;
	struct bt_overlay_stats ost;
	struct bt_extmap view;
	struct printbuf msgs = PRINTBUF;
	int ret;

	if (!c->buckets) {
		prt_printf(err, "cannot rebuild the btree of '%s': bucket gens were not read",
			   c->dev->path);
		return -EINVAL;
	}
	co.meta = calloc((size_t)(c->nbuckets + 7) / 8 + 1, 1);
	nc = bt_node_cache_new(c, BT_NODE_CACHE_DEFAULT_BYTES, BT_NODE_SALVAGE);
	if (!co.meta || !nc) {
		free(co.meta);
		bt_node_cache_free(nc);
		return -ENOMEM;
	}
	bt_extmap_init(&view);
	bt_extmap_init(&co.unverified);
	/* bt_mark_buckets() in pieces: the walk below marks the nodes and keys */
	bt_mark_reset(c);
	bt_raise_ptr_gens(c, (const struct bkey *)&c->root_key);
	ret = bt_overlay_build_opts(c, nc, &o, &view, &ost, &msgs);
	if (!ret)
		ret = co.ret;
	if (ret)
		prt_str(err, printbuf_str(&msgs));
	rb->root_lost = co.root_lost;
	if (!ret) {
		bt_mark_journal(c);
		bt_mark_finish(c);
		meta_buckets(&co);
		ret = filter_view(&co, &view);
		if (!ret)
			bt_rebuild_report_unverified(&co);
		if (!ret)
			ret = co.ret;
		if (ret == -ENOMEM)
			prt_str(err, "out of memory collecting the btree's keys");
	}
	bt_extmap_exit(&view);
	bt_extmap_exit(&co.unverified);
	bt_node_cache_free(nc);
	free(co.meta);
	printbuf_exit(&msgs);
	return ret;
}

/* The new tree's finished leaves are written every this many keys (bt_btree_update_flush_before()). */
#define REBUILD_FLUSH_EVERY	4096

int bt_rebuild_write(struct bt_write_ctx *w, struct bt_rebuild *rb,
		     struct bt_btree_update_stats *st, struct printbuf *err)
{
	struct bt_btree_update u;
	int ret = bt_btree_update_init_fresh(&u, w);

	/* in key order into an empty tree: its leaves are written as they fill */
	u.bulk = true;
	for (size_t i = 0; !ret && i < rb->keys.nr; i++) {
		const struct bkey *k = bt_extmap_key(&rb->keys, i);

		if (i && i % REBUILD_FLUSH_EVERY == 0)
			ret = bt_btree_update_flush_before(&u, KEY_INODE(k), KEY_START(k), err);
		if (!ret)
			ret = bt_btree_insert_keys(&u, (const uint64_t *)k, bkey_u64s(k), err);
	}
	if (!ret)
		ret = bt_btree_update_write(&u, err);
	for (size_t i = 0; !ret && i < rb->nr_old_nodes; i++)
		ret = bt_free_after_commit(w, rb->old_nodes[i]);
	if (st)
		*st = u.st;
	bt_btree_update_exit(&u);
	if (ret == -ENOMEM)
		prt_str(err, "out of memory writing the rebuilt btree");
	return ret;
}
