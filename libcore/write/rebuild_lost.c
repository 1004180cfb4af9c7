/* rebuild_lost.c --- what a btree rebuild does not keep: lost ranges, damaged bsets' keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/bset.h"
#include "libcore/dev/dev.h"
#include "libcore/write/rebuild_internal.h"
#include "libcore/read/uuid.h"

const char *bt_lost_kind_str(enum bt_lost_kind kind)
{
	switch (kind) {
	case BT_LOST_DIRTY:	return "dirty data lost";
	case BT_LOST_UNKNOWN:	return "contents unknown";
	case BT_LOST_CLEAN:	return "clean data dropped";
	case BT_LOST_PAST_END:	return "dropped past the end of the flash volume (never served)";
	}
	return "?";
}

const char *bt_garbage_source_str(enum bt_garbage_source src)
{
	switch (src) {
	case BT_GARBAGE_DAMAGED_BSET:	return "damaged bset";
	case BT_GARBAGE_BSET:		return "bset";
	case BT_GARBAGE_JOURNAL:	return "journal";
	case BT_GARBAGE_VIEW:		return "btree or journal";
	}
	return "?";
}

static bool slot_live(const struct cache_set *c, uint64_t slot)
{
	return c->uuids && slot < c->nr_uuids &&
	       bt_uuid_slot_state(&c->uuids[slot]) == BT_UUID_LIVE;
}

/* The sectors of slot's device the kernel serves: a flash volume's size, else no bound. */
static uint64_t slot_sectors(const struct cache_set *c, uint64_t slot)
{
	if (!slot_live(c, slot) || !bt_uuid_flash_only(&c->uuids[slot]))
		return BT_LOST_TO_END;
	return bt_uuid_sectors(&c->uuids[slot]);
}

static void lost_push(struct collect *co, const struct bt_lost *l)
{
	struct bt_rebuild *rb = co->rb;

	if (rb->nr_lost == rb->size_lost) {
		size_t size = rb->size_lost ? rb->size_lost * 2 : 16;
		struct bt_lost *n = realloc(rb->lost, size * sizeof(*n));

		if (!n) {
			co->ret = -ENOMEM;
			return;
		}
		rb->lost = n;
		rb->size_lost = size;
	}
	rb->lost[rb->nr_lost++] = *l;
	if (l->kind == BT_LOST_DIRTY)
		rb->st.dirty_sectors_lost += l->end - l->start;
	else if (l->kind == BT_LOST_CLEAN)
		rb->st.clean_sectors_dropped += l->end - l->start;
	else if (l->kind == BT_LOST_PAST_END)
		rb->st.past_end_sectors += l->end - l->start;
}

/*
 * No range names a bucket outside the cache's, or sectors past the end of
 * a flash volume: the part of a key past it is BT_LOST_PAST_END (what is
 * unknown there is nothing the kernel serves: left out).
 */
void bt_rebuild_lost_add(struct collect *co, uint64_t inode, uint64_t start, uint64_t end,
			 enum bt_lost_kind kind, uint64_t bucket, const char *reason)
{
	const struct cache_set *c = co->c;
	uint64_t lim = slot_sectors(c, inode);

	if (bucket < c->first_bucket || bucket >= c->nbuckets)
		bucket = BT_LOST_NO_BUCKET;
	if (end > lim && (kind == BT_LOST_DIRTY || kind == BT_LOST_CLEAN))
		lost_push(co, &(struct bt_lost){
			.inode = inode, .start = start > lim ? start : lim, .end = end,
			.kind = BT_LOST_PAST_END, .bucket = bucket,
			.reason = kind == BT_LOST_DIRTY ? "dirty data past the volume's size" :
				  "clean data past the volume's size",
		});
	if (end > lim)
		end = lim;
	if (start >= end)
		return;
	lost_push(co, &(struct bt_lost){
		.inode = inode, .start = start, .end = end, .kind = kind,
		.bucket = bucket, .reason = reason,
	});
}

bool bt_rebuild_garbage(struct collect *co, const struct bkey *k, enum bt_garbage_source src,
			uint64_t node_bucket, const char *why)
{
	struct bt_rebuild *rb = co->rb;
	struct printbuf text = PRINTBUF;
	struct bt_garbage *g;

	if (!why && !(why = bt_extent_implausible(co->c, k)))
		return false;
	if (rb->nr_garbage == rb->size_garbage) {
		size_t size = rb->size_garbage ? rb->size_garbage * 2 : 16;

		g = realloc(rb->garbage, size * sizeof(*g));
		if (!g) {
			co->ret = -ENOMEM;
			return true;
		}
		rb->garbage = g;
		rb->size_garbage = size;
	}
	g = &rb->garbage[rb->nr_garbage];
	bt_bkey_to_text(&text, k);
	if (text.allocation_failure) {
		printbuf_exit(&text);
		co->ret = -ENOMEM;
		return true;
	}
	rb->nr_garbage++;
	g->key = text.buf;	/* taken over: freed by bt_rebuild_exit() */
	g->source = src;
	g->bucket = node_bucket;
	g->why = why;
	rb->st.garbage_keys++;
	return true;
}

bool bt_rebuild_lost_key(struct collect *co, const struct bkey *k, enum bt_lost_kind kind,
			 const char *reason, enum bt_garbage_source src, uint64_t node_bucket)
{
	if (bt_rebuild_garbage(co, k, src, node_bucket, NULL))
		return false;
	bt_rebuild_lost_add(co, KEY_INODE(k), KEY_START(k), KEY_OFFSET(k), kind,
			    PTR_BUCKET_NR(co->c, k, 0), reason);
	return true;
}

/* The key range (start, end] of a node, split per slot. */
void bt_rebuild_lost_range(struct collect *co, uint64_t si, uint64_t so,
			   const struct bkey *end, uint64_t bucket, enum bt_lost_kind kind,
			   const char *reason)
{
	uint64_t ei = KEY_INODE(end), eo = KEY_OFFSET(end);

	if (si == ei) {
		bt_rebuild_lost_add(co, si, so, eo, kind, bucket, reason);
		return;
	}
	/* only slots that hold a device: nothing is lost of the others */
	if (slot_live(co->c, si))
		bt_rebuild_lost_add(co, si, so, BT_LOST_TO_END, kind, bucket, reason);
	for (uint64_t i = si + 1; i < ei && i < co->c->nr_uuids; i++)
		if (slot_live(co->c, i))
			bt_rebuild_lost_add(co, i, 0, BT_LOST_TO_END, kind, bucket, reason);
	if (eo && slot_live(co->c, ei))
		bt_rebuild_lost_add(co, ei, 0, eo, kind, bucket, reason);
}

/* Inside the node's range (start, end], an extent starting at or after start (pass_btree.c). */
static bool in_node_range(const struct bt_walk_pos *pos, const struct bkey *k)
{
	if (bkey_cmp(k, pos->end) > 0 || bkey_cmp_pos(k, pos->start_inode, pos->start_offset) <= 0)
		return false;
	return KEY_INODE(k) != pos->start_inode || KEY_START(k) >= pos->start_offset;
}

/* One key of a bset that does not verify: garbage, a dirty extent to report, or nothing. */
static int unverified_key(struct collect *co, const struct bkey *uk, const struct bt_walk_pos *pos,
			  uint64_t bucket)
{
	const char *why;

	if (!KEY_SIZE(uk))
		return 0;
	why = bt_extent_implausible(co->c, uk);
	if (!why && !in_node_range(pos, uk))
		why = "outside the key range of its node";
	if (why && bt_rebuild_garbage(co, uk, BT_GARBAGE_DAMAGED_BSET, bucket, why))
		return 0;
	if (KEY_DIRTY(uk) && bt_extent_invalid(co->c, uk) == BT_EXTENT_VALID)
		return bt_extmap_insert(&co->unverified, uk);
	return 0;
}

/*
 * The dirty extents a damaged leaf held, as far as its bsets that do not
 * verify can still be parsed (magic right, keys inside the node): they
 * are not kept -- nothing vouches for them -- but they say which dirty
 * ranges are gone. Keys that cannot be real are garbage (random bytes read
 * as keys): recorded apart, not counted. Bsets that verify are skipped
 * (their keys are kept). Best effort: read errors end the scan.
 */
void bt_rebuild_scan_unverified(struct collect *co, const struct bkey *k,
				const struct bt_walk_pos *pos)
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
		size_t u64s = le32toh(i->keys), at = 0;
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
		while ((uk = bt_bset_next_key(i, &at, &overrun)) && !overrun)
			if (unverified_key(co, uk, pos, w.bucket))
				break;
		b += bt_set_blocks(c, BSET_HEADER_BYTES + u64s * 8) ?: 1;
	}
out:
	printbuf_exit(&msg);
	free(buf);
}

/* Dirty ranges of the damaged bsets that no kept key covers: lost. */
void bt_rebuild_report_unverified(struct collect *co)
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
				bt_rebuild_lost_add(co, inode, s, KEY_START(k), BT_LOST_DIRTY,
						    PTR_BUCKET_NR(co->c, u, 0),
						    "dirty extent of a damaged bset (key unverified)");
			s = KEY_OFFSET(k);
		}
		if (s < e)
			bt_rebuild_lost_add(co, inode, s, e, BT_LOST_DIRTY, PTR_BUCKET_NR(co->c, u, 0),
					    "dirty extent of a damaged bset (key unverified)");
	}
}
