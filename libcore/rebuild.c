/* rebuild.c --- collect the keys of a damaged btree and write them as a new tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "bset.h"
#include "dev.h"
#include "errcode.h"
#include "mark.h"
#include "node_cache.h"
#include "overlay.h"
#include "rebuild.h"
#include "uuid.h"

void bt_rebuild_init(struct bt_rebuild *rb)
{
	memset(rb, 0, sizeof(*rb));
	bt_extmap_init(&rb->keys);
}

void bt_rebuild_exit(struct bt_rebuild *rb)
{
	bt_extmap_exit(&rb->keys);
	free(rb->lost);
	free(rb->old_nodes);
	memset(rb, 0, sizeof(*rb));
}

const char *bt_lost_kind_str(enum bt_lost_kind kind)
{
	switch (kind) {
	case BT_LOST_DIRTY:	return "dirty data lost";
	case BT_LOST_UNKNOWN:	return "contents unknown";
	case BT_LOST_CLEAN:	return "clean data dropped";
	}
	return "?";
}

struct collect {
	struct cache_set	*c;
	struct bt_rebuild	*rb;
	/* dirty leaf keys found in bsets that do not verify (reported where not covered) */
	struct bt_extmap	unverified;
	uint8_t			*meta;		/* per bucket: holds metadata (bitmap) */
	bool			root_lost;
	int			ret;		/* -ENOMEM seen in a callback */
};

static void lost_add(struct collect *co, uint64_t inode, uint64_t start, uint64_t end,
		     enum bt_lost_kind kind, uint64_t bucket, const char *reason)
{
	struct bt_rebuild *rb = co->rb;

	if (start >= end)
		return;
	if (rb->nr_lost == rb->size_lost) {
		size_t size = rb->size_lost ? rb->size_lost * 2 : 16;
		struct bt_lost *l = realloc(rb->lost, size * sizeof(*l));

		if (!l) {
			co->ret = -ENOMEM;
			return;
		}
		rb->lost = l;
		rb->size_lost = size;
	}
	rb->lost[rb->nr_lost++] = (struct bt_lost){
		.inode = inode, .start = start, .end = end, .kind = kind,
		.bucket = bucket, .reason = reason,
	};
	if (kind == BT_LOST_DIRTY)
		rb->st.dirty_sectors_lost += end - start;
	else if (kind == BT_LOST_CLEAN)
		rb->st.clean_sectors_dropped += end - start;
}

/* A key's sectors as a lost range. */
static void lost_key(struct collect *co, const struct bkey *k, enum bt_lost_kind kind,
		     const char *reason)
{
	uint64_t size = KEY_SIZE(k) <= KEY_OFFSET(k) ? KEY_SIZE(k) : KEY_OFFSET(k);
	uint64_t bucket = KEY_PTRS(k) ? PTR_BUCKET_NR(co->c, k, 0) : 0;

	lost_add(co, KEY_INODE(k), KEY_OFFSET(k) - size, KEY_OFFSET(k), kind, bucket, reason);
}

static bool slot_live(const struct cache_set *c, uint64_t slot)
{
	return c->uuids && slot < c->nr_uuids &&
	       bt_uuid_slot_state(&c->uuids[slot]) == BT_UUID_LIVE;
}

/* The key range (start, end] of a node, split per slot. */
static void lost_range(struct collect *co, uint64_t si, uint64_t so, const struct bkey *end,
		       uint64_t bucket, enum bt_lost_kind kind, const char *reason)
{
	uint64_t ei = KEY_INODE(end), eo = KEY_OFFSET(end);

	if (si == ei) {
		lost_add(co, si, so, eo, kind, bucket, reason);
		return;
	}
	/* only slots that hold a device: nothing is lost of the others */
	if (slot_live(co->c, si))
		lost_add(co, si, so, BT_LOST_TO_END, kind, bucket, reason);
	for (uint64_t i = si + 1; i < ei && i < co->c->nr_uuids; i++)
		if (slot_live(co->c, i))
			lost_add(co, i, 0, BT_LOST_TO_END, kind, bucket, reason);
	if (eo && slot_live(co->c, ei))
		lost_add(co, ei, 0, eo, kind, bucket, reason);
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

/*
 * The dirty extents a damaged leaf held, as far as its bsets that do not
 * verify can still be parsed (magic right, keys inside the node): they
 * are not kept -- nothing vouches for them -- but they say which dirty
 * ranges are gone. Bsets that verify are skipped (their keys are kept).
 * Best effort: read errors and garbage just end the scan.
 */
static void scan_unverified(struct collect *co, const struct bkey *k)
{
	struct cache_set *c = co->c;
	unsigned blocks = (unsigned)(KEY_SIZE(k) >> c->block_bits);
	size_t bytes = (size_t)KEY_SIZE(k) << SECTOR_SHIFT;
	uint64_t seed = bk_ptr(k, 0);
	struct printbuf msg = PRINTBUF;
	struct bt_node_where w;
	void *buf;

	if (!KEY_PTRS(k) || !blocks || KEY_SIZE(k) > c->bucket_size ||
	    PTR_BUCKET_NR(c, k, 0) >= c->nbuckets || !(buf = malloc(bytes)))
		return;
	w.dev = c->dev->path;
	w.bucket = PTR_BUCKET_NR(c, k, 0);
	w.byte = PTR_OFFSET(k, 0) << SECTOR_SHIFT;
	if (bt_dev_read(c->dev, buf, bytes, w.byte, "btree node", &msg))
		goto out;
	for (unsigned b = 0; b < blocks; ) {
		const struct bset *i = bt_node_bset(c, buf, b);
		size_t room = bytes - (size_t)b * bt_block_bytes(c) - BSET_HEADER_BYTES;
		size_t u64s = le32toh(i->keys), pos = 0;
		struct bt_bset_info info;
		bool overrun = false;
		const struct bkey *uk;

		printbuf_reset(&msg);
		if (le64toh(i->magic) != c->bset_magic || u64s * 8 > room) {
			b++;
			continue;
		}
		if (!bt_bset_check(c, buf, blocks, b, seed, b == 0, &w, &info, &msg)) {
			b += info.blocks ? (unsigned)info.blocks : 1;
			continue;
		}
		while ((uk = bt_bset_next_key(i, &pos, &overrun)) && !overrun)
			if (KEY_DIRTY(uk) && KEY_PTRS(uk) && KEY_SIZE(uk) &&
			    bt_extent_invalid(c, uk) == BT_EXTENT_VALID &&
			    bt_extmap_insert(&co->unverified, uk))
				break;
		b += bt_set_blocks(c, BSET_HEADER_BYTES + u64s * 8) ?: 1;
	}
out:
	printbuf_exit(&msg);
	free(buf);
}

/* Dirty ranges of the damaged bsets that no kept key covers: lost. */
static void report_unverified(struct collect *co)
{
	struct bt_rebuild *rb = co->rb;

	for (size_t i = 0; i < co->unverified.nr; i++) {
		const struct bkey *u = bt_extmap_key(&co->unverified, i);
		uint64_t inode = KEY_INODE(u), s = KEY_START(u), e = KEY_OFFSET(u);
		size_t j = bt_extmap_seek(&rb->keys, inode, s);

		for (; j < rb->keys.nr && s < e; j++) {
			const struct bkey *k = bt_extmap_key(&rb->keys, j);

			if (KEY_INODE(k) != inode || KEY_START(k) >= e)
				break;
			if (KEY_START(k) > s)
				lost_add(co, inode, s, KEY_START(k), BT_LOST_DIRTY,
					 PTR_BUCKET_NR(co->c, u, 0),
					 "dirty extent of a damaged bset (key unverified)");
			s = KEY_OFFSET(k);
		}
		if (s < e)
			lost_add(co, inode, s, e, BT_LOST_DIRTY, PTR_BUCKET_NR(co->c, u, 0),
				 "dirty extent of a damaged bset (key unverified)");
	}
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
		lost_range(co, pos->start_inode, pos->start_offset, pos->end, n->bucket,
			   BT_LOST_UNKNOWN, "damaged bsets of this btree node were skipped");
		if (!n->level)
			scan_unverified(co, (const struct bkey *)n->key);
	}
	if (n->level)
		return;
	for_each_node_invalid_key(n, k)
		if (KEY_DIRTY(k) && KEY_SIZE(k))
			lost_key(co, k, BT_LOST_DIRTY, "invalid key");
	for_each_node_suspect_key(n, k)
		if (KEY_SIZE(k) && KEY_PTRS(k))
			lost_key(co, k, KEY_DIRTY(k) ? BT_LOST_DIRTY : BT_LOST_CLEAN,
				 "key out of order in its bset");
}

static void collect_lost(const struct bkey *k, unsigned level, const struct bt_walk_pos *pos,
			 const char *msg, void *arg)
{
	struct collect *co = arg;

	(void)msg;
	co->rb->st.nodes_unreadable++;
	if (!pos->depth)
		co->root_lost = true;
	lost_range(co, pos->start_inode, pos->start_offset, pos->end,
		   KEY_PTRS(k) ? PTR_BUCKET_NR(co->c, k, 0) : 0, BT_LOST_UNKNOWN,
		   "btree node could not be read");
	if (!level)
		scan_unverified(co, k);
}

static void collect_journal_invalid(const struct bkey *k, void *arg)
{
	if (KEY_DIRTY(k) && KEY_SIZE(k))
		lost_key(arg, k, BT_LOST_DIRTY, "invalid journal key");
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
		if (KEY_DIRTY(k)) {
			lost_key(co, k, BT_LOST_DIRTY, info.stale ? "stale dirty pointer" :
				 "dirty key with an unusable pointer");
			rb->st.keys_dropped++;
		} else {
			rb->st.keys_stale++;
		}
		return 0;
	}
	u = key_slot(c, k);
	if (!u) {
		lost_key(co, k, kind, "uuid slot holds no device");
		rb->st.keys_dropped++;
		return 0;
	}
	for (unsigned i = 0; i < KEY_PTRS(k); i++)
		if (is_meta(co, PTR_BUCKET_NR(c, k, i))) {
			lost_key(co, k, kind, "data pointer into a metadata bucket");
			rb->st.keys_dropped++;
			return 0;
		}
	if (bt_uuid_flash_only(u) && KEY_OFFSET(k) > bt_uuid_sectors(u)) {
		uint64_t end = bt_uuid_sectors(u);
		struct bkey_padded cut, pos;

		lost_add(co, KEY_INODE(k), KEY_START(k) > end ? KEY_START(k) : end,
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

int bt_rebuild_collect(struct cache_set *c, struct bt_rebuild *rb, struct printbuf *err)
{
	struct collect co = { .c = c, .rb = rb };
	struct bt_overlay_opts o = {
		.with_journal = true, .keep_going = true,
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
		for (size_t i = 0; i < view.nr && !ret; i++)
			ret = filter_key(&co, bt_extmap_key(&view, i));
		if (!ret)
			report_unverified(&co);
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

int bt_rebuild_write(struct bt_write_ctx *w, struct bt_rebuild *rb,
		     struct bt_btree_update_stats *st, struct printbuf *err)
{
	struct bt_btree_update u;
	int ret = bt_btree_update_init_fresh(&u, w);

	for (size_t i = 0; !ret && i < rb->keys.nr; i++) {
		const struct bkey *k = bt_extmap_key(&rb->keys, i);

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
