/* extent_map.c --- sorted non-overlapping extents with overwrite semantics. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/read/extent_map.h"

void bt_extmap_init(struct bt_extmap *m)
{
	memset(m, 0, sizeof(*m));
}

void bt_extmap_exit(struct bt_extmap *m)
{
	free(m->keys);
	memset(m, 0, sizeof(*m));
}

static int extmap_reserve(struct bt_extmap *m, size_t extra)
{
	size_t size;
	struct bkey_padded *keys;

	if (m->nr + extra <= m->size)
		return 0;
	size = m->size ? m->size * 2 : 256;
	while (size < m->nr + extra)
		size *= 2;
	keys = realloc(m->keys, size * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	m->keys = keys;
	m->size = size;
	return 0;
}

/* Drop the first `sectors` sectors of k, pointers advancing (bkey.c bt_cut_front()). */
static void cut_front_sectors(struct bkey *k, uint64_t sectors)
{
	struct bkey_padded where;

	bkey_init_pos((struct bkey *)&where, KEY_INODE(k), KEY_START(k) + sectors, 0);
	bt_cut_front((struct bkey *)&where, k);
}

/* Make k end at sector end (bkey.c bt_cut_back()). */
static void cut_back_to(struct bkey *k, uint64_t end)
{
	struct bkey_padded where;

	bkey_init_pos((struct bkey *)&where, KEY_INODE(k), end, 0);
	bt_cut_back((struct bkey *)&where, k);
}

/* (inode, offset) order of a key against a position. */
static int pos_cmp(const struct bkey *k, uint64_t inode, uint64_t offset)
{
	if (KEY_INODE(k) != inode)
		return KEY_INODE(k) < inode ? -1 : 1;
	if (KEY_OFFSET(k) != offset)
		return KEY_OFFSET(k) < offset ? -1 : 1;
	return 0;
}

size_t bt_extmap_seek(const struct bt_extmap *m, uint64_t inode, uint64_t after)
{
	size_t lo = 0, hi = m->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pos_cmp(bt_extmap_key(m, mid), inode, after) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool key_fits(const struct bkey *k)
{
	return KEY_PTRS(k) <= KEY_MAX_U64S - 2 && KEY_SIZE(k) <= KEY_OFFSET(k);
}

static void copy_key(struct bkey_padded *dst, const struct bkey *k)
{
	memset(dst, 0, sizeof(*dst));
	memcpy(dst, k, bkey_bytes(k));
}

int bt_extmap_insert(struct bt_extmap *m, const struct bkey *k)
{
	uint64_t inode = KEY_INODE(k), start = KEY_START(k), end = KEY_OFFSET(k);
	size_t i, j;
	int ret;

	if (!key_fits(k))
		return -EINVAL;
	if (!KEY_SIZE(k))
		return 0;
	/* room for a split (+1) and the new key (+1) */
	ret = extmap_reserve(m, 2);
	if (ret)
		return ret;

	i = bt_extmap_seek(m, inode, start);
	/* an older extent straddling both ends is split in two */
	if (i < m->nr) {
		struct bkey *e = bt_extmap_key(m, i);

		if (KEY_INODE(e) == inode && KEY_START(e) < start && KEY_OFFSET(e) > end) {
			memmove(&m->keys[i + 2], &m->keys[i], (m->nr - i) * sizeof(m->keys[0]));
			m->nr += 2;
			/* keys[i] = front part, keys[i+1] = new key, keys[i+2] = back part */
			cut_back_to(bt_extmap_key(m, i), start);
			cut_front_sectors(bt_extmap_key(m, i + 2), end - KEY_START(bt_extmap_key(m, i + 2)));
			copy_key(&m->keys[i + 1], k);
			return 0;
		}
		if (KEY_INODE(e) == inode && KEY_START(e) < start) {
			/* keeps its front: ends where the new key starts */
			cut_back_to(e, start);
			i++;
		}
	}
	/* extents from i on start at or after `start`: drop the covered ones */
	j = i;
	while (j < m->nr) {
		struct bkey *e = bt_extmap_key(m, j);

		if (KEY_INODE(e) != inode || KEY_START(e) >= end)
			break;
		if (KEY_OFFSET(e) > end) {
			cut_front_sectors(e, end - KEY_START(e));
			break;
		}
		j++;
	}
	/* replace [i, j) by the new key */
	if (j == i) {
		memmove(&m->keys[i + 1], &m->keys[i], (m->nr - i) * sizeof(m->keys[0]));
		m->nr++;
	} else if (j > i + 1) {
		memmove(&m->keys[i + 1], &m->keys[j], (m->nr - j) * sizeof(m->keys[0]));
		m->nr -= j - i - 1;
	}
	copy_key(&m->keys[i], k);
	return 0;
}

int bt_extmap_append(struct bt_extmap *m, const struct bkey *k)
{
	uint64_t inode = KEY_INODE(k), pos = KEY_START(k), end = KEY_OFFSET(k);
	size_t i;
	int ret;

	if (!key_fits(k))
		return -EINVAL;
	if (!KEY_SIZE(k))
		return 0;

	/* fast path: k sorts after everything in the map */
	if (!m->nr || pos_cmp(bt_extmap_key(m, m->nr - 1), inode, pos) <= 0) {
		ret = extmap_reserve(m, 1);
		if (!ret)
			copy_key(&m->keys[m->nr++], k);
		return ret;
	}

	/* fill only the gaps between the keys already there: they win */
	i = bt_extmap_seek(m, inode, pos);
	while (pos < end) {
		uint64_t gap_end = end;
		struct bkey_padded piece;
		struct bkey *p = (struct bkey *)&piece;

		if (i < m->nr && KEY_INODE(bt_extmap_key(m, i)) == inode) {
			const struct bkey *e = bt_extmap_key(m, i);

			if (KEY_START(e) <= pos) {
				/* covered up to e's end */
				pos = KEY_OFFSET(e);
				i++;
				continue;
			}
			if (KEY_START(e) < gap_end)
				gap_end = KEY_START(e);
		}
		ret = extmap_reserve(m, 1);
		if (ret)
			return ret;
		copy_key(&piece, k);
		cut_front_sectors(p, pos - KEY_START(p));
		cut_back_to(p, gap_end);
		memmove(&m->keys[i + 1], &m->keys[i], (m->nr - i) * sizeof(m->keys[0]));
		m->keys[i] = piece;
		m->nr++;
		i++;
		pos = gap_end;
	}
	return 0;
}
