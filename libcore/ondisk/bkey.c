/* bkey.c --- bkey validity, staleness, cutting, merging and text, as the
 * kernel's extents.c and bset.c define them (FORMAT.md §3). */
#include <string.h>

#include "libcore/ondisk/bkey.h"

void bt_bkey_copy(struct bkey *dst, const struct bkey *src)
{
	memmove(dst, src, bkey_bytes(src));
}

static uint64_t ptr_bucket(const struct cache_set *c, const struct bkey *k, unsigned i)
{
	return PTR_OFFSET(k, i) >> c->bucket_bits;
}

unsigned bt_ptr_stale(const struct cache_set *c, const struct bkey *k, unsigned i)
{
	uint64_t b = ptr_bucket(c, k, i);

	if (!c->buckets || b >= c->nbuckets)
		return 0;
	return gen_after(c->buckets[b].gen, (uint8_t)PTR_GEN(k, i));
}

/* The __ptr_invalid() status of one available pointer, or BT_PTR_OK. */
static enum bt_ptr_status one_ptr_status(const struct cache_set *c,
					 const struct bkey *k, unsigned i)
{
	uint64_t b = ptr_bucket(c, k, i);

	if (KEY_SIZE(k) + bt_ptr_bucket_remainder(c, k, i) > c->bucket_size)
		return BT_PTR_LENGTH_TOO_BIG;
	if (b < c->first_bucket)
		return BT_PTR_SHORT_OFFSET;
	if (b >= c->nbuckets)
		return BT_PTR_PAST_END;
	return BT_PTR_OK;
}

enum bt_ptr_status bt_ptr_status(const struct cache_set *c, const struct bkey *k)
{
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		enum bt_ptr_status s;

		if (!bt_ptr_available(k, i))
			continue;
		s = one_ptr_status(c, k, i);
		if (s != BT_PTR_OK)
			return s;
		if (bt_ptr_stale(c, k, i))
			return BT_PTR_STALE;
	}
	if (bkey_is_zero_pos(k))
		return BT_PTR_NULL_KEY;
	if (!KEY_PTRS(k))
		return BT_PTR_NO_PTRS;
	if (!KEY_SIZE(k))
		return BT_PTR_ZEROED;
	return BT_PTR_OK;
}

const char *bt_ptr_status_str(enum bt_ptr_status s)
{
	switch (s) {
	case BT_PTR_OK:			return "";
	case BT_PTR_LENGTH_TOO_BIG:	return "bad, length too big";
	case BT_PTR_SHORT_OFFSET:	return "bad, short offset";
	case BT_PTR_PAST_END:		return "bad, offset past end of device";
	case BT_PTR_STALE:		return "stale";
	case BT_PTR_NULL_KEY:		return "bad, null key";
	case BT_PTR_NO_PTRS:		return "bad, no pointers";
	case BT_PTR_ZEROED:		return "zeroed key";
	}
	return "?";
}

bool bt_ptr_invalid(const struct cache_set *c, const struct bkey *k)
{
	for (unsigned i = 0; i < KEY_PTRS(k); i++)
		if (bt_ptr_available(k, i) && one_ptr_status(c, k, i) != BT_PTR_OK)
			return true;
	return false;
}

bool bt_btree_ptr_invalid(const struct cache_set *c, const struct bkey *k)
{
	return !KEY_PTRS(k) || !KEY_SIZE(k) || KEY_DIRTY(k) || bt_ptr_invalid(c, k);
}

enum bt_extent_validity bt_extent_invalid(const struct cache_set *c, const struct bkey *k)
{
	if (!KEY_SIZE(k))
		return BT_EXTENT_ZERO_SIZE;
	if (KEY_SIZE(k) > KEY_OFFSET(k) || bt_ptr_invalid(c, k))
		return BT_EXTENT_INVALID;
	return BT_EXTENT_VALID;
}

bool bt_btree_ptr_bad(const struct cache_set *c, const struct bkey *k)
{
	if (bkey_is_zero_pos(k) || !KEY_PTRS(k) || bt_btree_ptr_invalid(c, k))
		return true;
	for (unsigned i = 0; i < KEY_PTRS(k); i++)
		if (!bt_ptr_available(k, i) || bt_ptr_stale(c, k, i))
			return true;
	return false;
}

bool bt_extent_bad(const struct cache_set *c, const struct bkey *k,
		   struct bt_extent_bad_info *info)
{
	struct bt_extent_bad_info tmp = { 0 };
	bool unavailable = false;

	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		if (PTR_DEV(k, i) == PTR_CHECK_DEV)
			tmp.check_dev = true;
		if (!bt_ptr_available(k, i)) {
			unavailable = true;
			continue;
		}
		unsigned s = bt_ptr_stale(c, k, i);
		if (s > tmp.stale)
			tmp.stale = s;
	}
	tmp.too_stale = tmp.stale > BUCKET_GC_GEN_MAX;
	tmp.stale_dirty = tmp.stale && KEY_DIRTY(k) && KEY_SIZE(k);
	if (info)
		*info = tmp;

	if (!KEY_PTRS(k) || bt_extent_invalid(c, k) != BT_EXTENT_VALID || unavailable)
		return true;
	/* since "treat stale && dirty keys as bad keys" (v4.17) dirty keys too */
	return tmp.stale != 0;
}

const char *bt_extent_implausible(const struct cache_set *c, const struct bkey *k)
{
	uint64_t slot = KEY_INODE(k);

	if (!KEY_PTRS(k))
		return "no pointer";
	if (KEY_SIZE(k) > KEY_OFFSET(k))
		return "size larger than its offset";
	if (KEY_OFFSET(k) > BT_MAX_DEVICE_SECTORS)
		return "sectors past the largest device Linux can have";
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		uint64_t b = ptr_bucket(c, k, i);

		/* the kernel's check keys (btree.c bch_btree_insert_check_key()): clean, random offset */
		if (PTR_DEV(k, i) == PTR_CHECK_DEV && !KEY_DIRTY(k))
			continue;
		if (PTR_DEV(k, i) >= c->sb.nr_in_set)
			return "pointer to a cache device the set does not have";
		if (b < c->first_bucket || b >= c->nbuckets)
			return "pointer outside the cache's buckets";
		if (KEY_SIZE(k) + bt_ptr_bucket_remainder(c, k, i) > c->bucket_size)
			return "extent runs past the end of its bucket";
	}
	if (c->uuids && slot >= c->nr_uuids)
		return "uuid slot past the slots of the uuid bucket";
	return NULL;
}

bool bt_key_bad(const struct cache_set *c, const struct bkey *k, unsigned level)
{
	return level ? bt_btree_ptr_bad(c, k) : bt_extent_bad(c, k, NULL);
}

/* bkey_copy_key(): take where's inode and offset. */
static void copy_pos(struct bkey *k, const struct bkey *where)
{
	SET_KEY_INODE(k, KEY_INODE(where));
	SET_KEY_OFFSET(k, KEY_OFFSET(where));
}

bool bt_cut_front(const struct bkey *where, struct bkey *k)
{
	uint64_t len = 0;

	if (bkey_cmp_to_start(where, k) <= 0)
		return false;
	if (bkey_cmp(where, k) < 0)
		len = KEY_OFFSET(k) - KEY_OFFSET(where);
	else
		copy_pos(k, where);
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		uint64_t w = bk_ptr(k, i);
		uint64_t off = PTR_OFFSET(k, i) + KEY_SIZE(k) - len;

		k->ptr[i] = htole64(bt_bits_set(w, 8, 43, off));
	}
	if (len > KEY_SIZE(k))		/* the kernel BUGs here */
		len = KEY_SIZE(k);
	SET_KEY_SIZE(k, len);
	return true;
}

bool bt_cut_back(const struct bkey *where, struct bkey *k)
{
	uint64_t len = 0;

	if (bkey_cmp(where, k) >= 0)
		return false;
	if (bkey_cmp_to_start(where, k) > 0)
		len = KEY_OFFSET(where) - KEY_START(k);
	copy_pos(k, where);
	if (len > KEY_SIZE(k))		/* the kernel BUGs here */
		len = KEY_SIZE(k);
	SET_KEY_SIZE(k, len);
	return true;
}

bool bt_bkey_equal_header(const struct bkey *l, const struct bkey *r)
{
	return KEY_DIRTY(l) == KEY_DIRTY(r) && KEY_PTRS(l) == KEY_PTRS(r) &&
	       KEY_CSUM(l) == KEY_CSUM(r);
}

bool bt_extent_try_merge(const struct cache_set *c, struct bkey *l, struct bkey *r)
{
	if (!bt_bkey_equal_header(l, r) || bkey_cmp_to_start(l, r))
		return false;
	for (unsigned i = 0; i < KEY_PTRS(l); i++)
		if (bk_ptr(l, i) + (KEY_SIZE(l) << 8) != bk_ptr(r, i) ||
		    ptr_bucket(c, l, i) != ptr_bucket(c, r, i))
			return false;
	if (KEY_SIZE(l) + KEY_SIZE(r) > 0xffff) {
		SET_KEY_OFFSET(l, KEY_OFFSET(l) + 0xffff - KEY_SIZE(l));
		SET_KEY_SIZE(l, 0xffff);
		bt_cut_front(l, r);
		return false;
	}
	if (KEY_CSUM(l) && !KEY_CSUM(r))
		SET_KEY_CSUM(l, 0);
	SET_KEY_OFFSET(l, KEY_OFFSET(l) + KEY_SIZE(r));
	SET_KEY_SIZE(l, KEY_SIZE(l) + KEY_SIZE(r));
	return true;
}

void bt_bkey_to_text(struct printbuf *out, const struct bkey *k)
{
	prt_printf(out, "%llu:%llu len %llu -> [",
		   (unsigned long long)KEY_INODE(k), (unsigned long long)KEY_START(k),
		   (unsigned long long)KEY_SIZE(k));
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		if (i)
			prt_str(out, ", ");
		if (PTR_DEV(k, i) == PTR_CHECK_DEV)
			prt_str(out, "check dev");
		else
			prt_printf(out, "%llu:%llu gen %llu",
				   (unsigned long long)PTR_DEV(k, i),
				   (unsigned long long)PTR_OFFSET(k, i),
				   (unsigned long long)PTR_GEN(k, i));
	}
	prt_char(out, ']');
	if (KEY_DIRTY(k))
		prt_str(out, " dirty");
	if (KEY_CSUM(k))
		prt_printf(out, " cs%llu %llx", (unsigned long long)KEY_CSUM(k),
			   (unsigned long long)(KEY_PTRS(k) > 1 ? bk_ptr(k, 1) : 0));
}

void bt_raise_ptr_gens(struct cache_set *c, const struct bkey *k)
{
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		uint64_t b = PTR_BUCKET_NR(c, k, i);

		if (!bt_ptr_available(k, i) || b >= c->nbuckets || bt_ptr_stale(c, k, i))
			continue;
		c->buckets[b].gen = (uint8_t)PTR_GEN(k, i);
	}
}
