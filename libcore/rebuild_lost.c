/* rebuild_lost.c --- what a btree rebuild does not keep: lost ranges, damaged bsets' keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "bset.h"
#include "dev.h"
#include "rebuild_internal.h"
#include "uuid.h"

const char *bt_lost_kind_str(enum bt_lost_kind kind)
{
	switch (kind) {
	case BT_LOST_DIRTY:	return "dirty data lost";
	case BT_LOST_UNKNOWN:	return "contents unknown";
	case BT_LOST_CLEAN:	return "clean data dropped";
	}
	return "?";
}

void bt_rebuild_lost_add(struct collect *co, uint64_t inode, uint64_t start, uint64_t end,
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
void bt_rebuild_lost_key(struct collect *co, const struct bkey *k, enum bt_lost_kind kind,
			 const char *reason)
{
	uint64_t size = KEY_SIZE(k) <= KEY_OFFSET(k) ? KEY_SIZE(k) : KEY_OFFSET(k);
	uint64_t bucket = KEY_PTRS(k) ? PTR_BUCKET_NR(co->c, k, 0) : 0;

	bt_rebuild_lost_add(co, KEY_INODE(k), KEY_OFFSET(k) - size, KEY_OFFSET(k), kind, bucket,
			    reason);
}

static bool slot_live(const struct cache_set *c, uint64_t slot)
{
	return c->uuids && slot < c->nr_uuids &&
	       bt_uuid_slot_state(&c->uuids[slot]) == BT_UUID_LIVE;
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

/*
 * The dirty extents a damaged leaf held, as far as its bsets that do not
 * verify can still be parsed (magic right, keys inside the node): they
 * are not kept -- nothing vouches for them -- but they say which dirty
 * ranges are gone. Bsets that verify are skipped (their keys are kept).
 * Best effort: read errors and garbage just end the scan.
 */
void bt_rebuild_scan_unverified(struct collect *co, const struct bkey *k)
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
