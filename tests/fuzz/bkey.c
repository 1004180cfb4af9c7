/* bkey.c --- fuzz target: bkey validation, printing, cutting and merging.
 *
 * Input: packed bkeys (high, low, KEY_PTRS pointer words; little-endian),
 * as in a bset. Each whole key is checked against the base cache set as a
 * leaf extent and as a btree pointer, printed, cut at the next key's
 * start and end, and merged with the next key, as the btree read and the
 * extent overwrite rules do. The first 256 keys are used.
 */
#include "common/fuzz.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/btree.h"
#include "libcore/read/journal.h"

static struct fz_base base;
static struct bt_bucket *buckets;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_base_init(&base);
	buckets = malloc(base.c.nbuckets * sizeof(*buckets));
	if (!buckets)
		fz_die("out of memory");
	return 0;
}

/* Key at u64 offset pos of w (n u64s) copied into a 9-word buffer, or false. */
static bool key_at(const uint64_t *w, size_t n, size_t pos, uint64_t out[2 + 7])
{
	size_t u64s;

	if (pos + 2 > n)
		return false;
	u64s = bkey_u64s((const struct bkey *)(w + pos));
	if (pos + u64s > n)
		return false;
	memset(out, 0, 9 * 8);
	memcpy(out, w + pos, u64s * 8);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cache_set c = base.c;	/* gens changed by bt_raise_ptr_gens() stay here */
	size_t n = size / 8, pos = 0, nr = 0;
	uint64_t *w = malloc(n * 8 + 8);
	uint64_t k[9], next[9], tmp[9];
	struct printbuf out = PRINTBUF, err = PRINTBUF;

	if (!w)
		return 0;
	memcpy(w, data, n * 8);
	memcpy(buckets, base.c.buckets, c.nbuckets * sizeof(*buckets));
	c.buckets = buckets;
	/* 256 keys are plenty for the checks; more only slow the fuzzer down */
	while (nr++ < 256 && key_at(w, n, pos, k)) {
		const struct bkey *key = (const struct bkey *)k;
		struct bt_extent_bad_info info;
		bool have_next;

		pos += bkey_u64s(key);
		bt_bkey_to_text(&out, key);
		bt_ptr_status(&c, key);
		bt_ptr_invalid(&c, key);
		bt_btree_ptr_invalid(&c, key);
		bt_extent_invalid(&c, key);
		bt_btree_ptr_bad(&c, key);
		bt_extent_bad(&c, key, &info);
		bt_key_bad(&c, key, 0);
		bt_key_bad(&c, key, 1);
		bt_btree_ptr_check(&c, key, 1, &err);
		if (KEY_PTRS(key) <= BKEY_PAD - 2)
			bt_journal_ptr_check(&c, key, "fuzz key", &err);
		for (unsigned i = 0; i < KEY_PTRS(key); i++)
			bt_ptr_stale(&c, key, i);

		have_next = key_at(w, n, pos, next);
		if (!have_next)
			continue;
		memcpy(tmp, k, sizeof(tmp));
		bt_cut_front((const struct bkey *)next, (struct bkey *)tmp);
		memcpy(tmp, k, sizeof(tmp));
		bt_cut_back((const struct bkey *)next, (struct bkey *)tmp);
		bt_bkey_equal_header(key, (const struct bkey *)next);
		if (KEY_PTRS(key) == KEY_PTRS((const struct bkey *)next)) {
			memcpy(tmp, k, sizeof(tmp));
			bt_extent_try_merge(&c, (struct bkey *)tmp, (struct bkey *)next);
		}
		bt_raise_ptr_gens(&c, key);
	}
	free(w);
	printbuf_exit(&out);
	printbuf_exit(&err);
	return 0;
}
