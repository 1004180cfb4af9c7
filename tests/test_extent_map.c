/* test_extent_map.c --- the overwrite rules against a per-sector model. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/read/extent_map.h"

#define SPACE 512	/* sectors of the model address space */

/* model: for each sector, the cache sector holding it (0 = hole) */
struct model {
	uint64_t where[2][SPACE];
};

static void make_key(struct bkey_padded *p, unsigned inode, unsigned start,
		     unsigned size, uint64_t cache_off)
{
	struct bkey *k = (struct bkey *)p;

	memset(p, 0, sizeof(*p));
	bkey_init_pos(k, inode, start + size, size);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 3, cache_off, 0);
}

static void check_map(const struct bt_extmap *m, const struct model *mod)
{
	uint64_t seen[2][SPACE] = { { 0 } };

	for (size_t i = 0; i < m->nr; i++) {
		const struct bkey *k = bt_extmap_key(m, i);

		cr_assert(KEY_SIZE(k) > 0);
		if (i) {
			const struct bkey *p = bt_extmap_key(m, i - 1);

			cr_assert(KEY_INODE(p) < KEY_INODE(k) ||
				  (KEY_INODE(p) == KEY_INODE(k) && KEY_OFFSET(p) <= KEY_START(k)),
				  "keys %zu and %zu overlap or are out of order", i - 1, i);
		}
		for (uint64_t s = KEY_START(k); s < KEY_OFFSET(k); s++)
			seen[KEY_INODE(k)][s] = PTR_OFFSET(k, 0) + (s - KEY_START(k));
	}
	for (int ino = 0; ino < 2; ino++)
		for (int s = 0; s < SPACE; s++)
			cr_assert_eq(seen[ino][s], mod->where[ino][s],
				     "inode %d sector %d: map %llu, model %llu", ino, s,
				     (unsigned long long)seen[ino][s],
				     (unsigned long long)mod->where[ino][s]);
}

Test(extent_map, cut_front_back_split_cover)
{
	struct bt_extmap m;
	struct model mod = { 0 };
	struct bkey_padded k;

	bt_extmap_init(&m);
	make_key(&k, 0, 0, 64, 1000);		/* [0,64) */
	cr_assert_eq(bt_extmap_insert(&m, (struct bkey *)&k), 0);
	make_key(&k, 0, 16, 8, 5000);		/* split it */
	cr_assert_eq(bt_extmap_insert(&m, (struct bkey *)&k), 0);
	cr_assert_eq(m.nr, 3);
	/* back part's pointer advanced by 24 sectors */
	cr_assert_eq(PTR_OFFSET(bt_extmap_key(&m, 2), 0), 1024);
	cr_assert_eq(KEY_START(bt_extmap_key(&m, 2)), 24);
	make_key(&k, 0, 60, 10, 7000);		/* cuts the back of [24,64) */
	cr_assert_eq(bt_extmap_insert(&m, (struct bkey *)&k), 0);
	cr_assert_eq(KEY_OFFSET(bt_extmap_key(&m, 2)), 60);
	make_key(&k, 0, 0, 100, 9000);		/* covers everything */
	cr_assert_eq(bt_extmap_insert(&m, (struct bkey *)&k), 0);
	cr_assert_eq(m.nr, 1);
	for (int s = 0; s < 100; s++)
		mod.where[0][s] = 9000 + (uint64_t)s;
	check_map(&m, &mod);
	bt_extmap_exit(&m);
}

Test(extent_map, append_keeps_earlier_key)
{
	struct bt_extmap m;
	struct model mod = { 0 };
	struct bkey_padded k;

	bt_extmap_init(&m);
	make_key(&k, 0, 0, 16, 100);
	cr_assert_eq(bt_extmap_append(&m, (struct bkey *)&k), 0);
	make_key(&k, 0, 8, 16, 200);		/* overlaps: only [16,24) is added */
	cr_assert_eq(bt_extmap_append(&m, (struct bkey *)&k), 0);
	make_key(&k, 0, 4, 2, 300);		/* fully covered: nothing */
	cr_assert_eq(bt_extmap_append(&m, (struct bkey *)&k), 0);
	for (int s = 0; s < 16; s++)
		mod.where[0][s] = 100 + (uint64_t)s;
	for (int s = 16; s < 24; s++)
		mod.where[0][s] = 200 + (uint64_t)(s - 8);
	check_map(&m, &mod);
	bt_extmap_exit(&m);
}

Test(extent_map, random_against_model)
{
	struct bt_extmap m;
	struct model mod = { 0 };
	struct bkey_padded k;

	srand(12345);
	bt_extmap_init(&m);
	for (int n = 0; n < 4000; n++) {
		unsigned ino = (unsigned)rand() % 2;
		unsigned size = 1 + (unsigned)rand() % 40;
		unsigned start = (unsigned)rand() % (SPACE - size);
		uint64_t off = 10000 + (uint64_t)n * 64;
		bool under = rand() % 4 == 0;

		make_key(&k, ino, start, size, off);
		if (under) {
			cr_assert_eq(bt_extmap_append(&m, (struct bkey *)&k), 0);
			for (unsigned s = start; s < start + size; s++)
				if (!mod.where[ino][s])
					mod.where[ino][s] = off + (s - start);
		} else {
			cr_assert_eq(bt_extmap_insert(&m, (struct bkey *)&k), 0);
			for (unsigned s = start; s < start + size; s++)
				mod.where[ino][s] = off + (s - start);
		}
		if (n % 97 == 0)
			check_map(&m, &mod);
	}
	check_map(&m, &mod);
	bt_extmap_exit(&m);
}

Test(extent_map, rejects_bad_keys)
{
	struct bt_extmap m;
	struct bkey_padded k;

	bt_extmap_init(&m);
	make_key(&k, 0, 0, 8, 100);
	SET_KEY_OFFSET((struct bkey *)&k, 4);	/* size > offset */
	cr_assert_eq(bt_extmap_insert(&m, (struct bkey *)&k), -EINVAL);
	make_key(&k, 0, 0, 8, 100);
	SET_KEY_PTRS((struct bkey *)&k, 7);
	cr_assert_eq(bt_extmap_append(&m, (struct bkey *)&k), -EINVAL);
	cr_assert_eq(m.nr, 0);
	bt_extmap_exit(&m);
}
