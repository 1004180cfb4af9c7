/* test_replay.c --- journal replay onto the golden images: the view the
 * kernel serves (keys-post.txt.zst, MANIFEST.json sha256) survives it, the
 * journal is empty afterwards, a second replay does nothing, and a crash
 * after any write leaves the old or the new state.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"
#include "libcore/write/replay.h"

/* The manifest's sha256 of what the kernel served for case name, or NULL (malloc'ed). */
static char *manifest_sha(const char *name)
{
	json_t *m = t_manifest_case(name);
	const char *s = t_manifest_str_opt(m, "expected_logical_sha256", "bcache0");
	char *ret = s ? strdup(s) : NULL;

	json_decref(m);
	return ret;
}

/* What a cache set looks like from outside: journal and served extents. */
struct state {
	uint64_t		newest_seq, last_seq, nr_keys;
	struct bkey_padded	*live;		/* live extents, adjacent ones merged */
	size_t			nr_live;
};

static void state_free(struct state *s)
{
	free(s->live);
	memset(s, 0, sizeof(*s));
}

/* Open path read-only and take its state (the view after replay, in memory). */
static void state_read(const char *path, struct state *s)
{
	struct t_cset o;
	struct bt_extmap view;
	struct bt_overlay_stats st;

	memset(s, 0, sizeof(*s));
	t_cset_open(&o, path, BT_DEV_FORCE, 0);
	cr_assert_eq(o.c.journal.nr_missing, 0);
	s->newest_seq = o.c.journal.newest_seq;
	s->last_seq = o.c.journal.last_seq;
	s->nr_keys = o.c.journal.nr_keys;
	bt_extmap_init(&view);
	t_cset_view(&o, &view, &st);
	cr_assert_eq(st.unreadable_nodes, 0);
	s->live = calloc(view.nr + 1, sizeof(*s->live));
	for (size_t i = 0; i < view.nr; i++) {
		struct bkey_padded k = view.keys[i];

		if (!bt_overlay_key_live(&o.c, (struct bkey *)&k))
			continue;
		if (s->nr_live && bt_extent_try_merge(&o.c, (struct bkey *)&s->live[s->nr_live - 1],
						      (struct bkey *)&k))
			continue;
		s->live[s->nr_live++] = k;
	}
	bt_extmap_exit(&view);
	t_cset_close(&o);
}

static void assert_same_view(const struct state *a, const struct state *b, const char *what)
{
	cr_assert_eq(a->nr_live, b->nr_live, "%s: %zu live extents, expected %zu", what,
		     b->nr_live, a->nr_live);
	for (size_t i = 0; i < a->nr_live; i++) {
		const struct bkey *x = (const struct bkey *)&a->live[i];

		cr_assert(!memcmp(x, &b->live[i], bkey_bytes(x)), "%s: extent %zu differs", what, i);
	}
}

/* Replay path (read-write); returns the code, fills *st and the number of writes. */
static int replay(const char *path, long write_limit, struct bt_replay_stats *st,
		  unsigned long *writes, char **report_out)
{
	struct printbuf report = PRINTBUF;
	struct t_cset o;
	int ret;

	t_cset_open(&o, path, BT_DEV_RDWR | BT_DEV_FORCE, 0);
	o.dev.write_limit = write_limit;
	ret = bt_journal_replay(&o.c, o.nc, 0, st, &report, &o.err);
	if (write_limit < 0)
		cr_assert_eq(ret, 0, "replay of %s: %s", path, printbuf_str(&o.err));
	*writes = o.dev.nr_writes;
	if (report_out)
		*report_out = strdup(printbuf_str(&report));
	t_cset_close(&o);
	printbuf_exit(&report);
	return ret;
}

static void check_extract(const char *name, const char *cache, const char *bdev,
			  const char *want)
{
	char sum[65];

	t_extract_sha256(cache, bdev, sum);
	cr_assert_str_eq(sum, want, "%s: extract after replay differs from what the kernel served",
			 name);
}

static void check_replay(const char *name, bool backing)
{
	char *cache = t_golden_image(name, "cache"), *bdev = backing ? t_golden_image(name, "backing") : NULL;
	char *sha = manifest_sha(name), *report = NULL;
	struct state before, after, again;
	struct bt_replay_stats st;
	unsigned long writes;

	state_read(cache, &before);
	replay(cache, -1, &st, &writes, &report);
	cr_assert_eq(st.invalid, 0, "%s: %s", name, report);
	cr_assert_eq(st.keys + st.zero_size, before.nr_keys);
	cr_assert_eq(st.committed, before.nr_keys != 0);
	state_read(cache, &after);
	/* nothing left to replay: one new jset, its own last_seq */
	cr_assert_eq(after.nr_keys, 0);
	if (st.committed) {
		cr_assert_eq(after.newest_seq, before.newest_seq + 1);
		cr_assert_eq(after.last_seq, after.newest_seq);
	} else {
		cr_assert_eq(writes, 0, "%s: nothing to replay but %lu writes", name, writes);
	}
	assert_same_view(&before, &after, name);

	/* the kernel's own dump after its replay, line for line */
	free(t_keys_match_kernel(name, cache, ""));
	if (sha)
		check_extract(name, cache, bdev, sha);

	/* a second replay has nothing to do */
	replay(cache, -1, &st, &writes, NULL);
	cr_assert_not(st.committed);
	cr_assert_eq(writes, 0);
	state_read(cache, &again);
	cr_assert_eq(again.newest_seq, after.newest_seq);
	assert_same_view(&after, &again, name);

	state_free(&before);
	state_free(&after);
	state_free(&again);
	free(report);
	free(sha);
	free(cache);
	free(bdev);
}

GOLDEN_TEST(replay, s02_empty) { check_replay("s02-registered-empty", false); }
GOLDEN_TEST(replay, s03_clean_stop) { check_replay("s03-writeback-dirty-clean-stop", true); }
GOLDEN_TEST(replay, s04_crash) { check_replay("s04-writeback-dirty-crash", true); }
GOLDEN_TEST(replay, s05_depth2) { check_replay("s05-btree-depth2", true); }
GOLDEN_TEST(replay, s06_flash_volume) { check_replay("s06-flash-volume", false); }
GOLDEN_TEST(replay, s07_writethrough) { check_replay("s07-writethrough-clean", true); }

/*
 * Crash safety: stop the replay after write N for every N; reopening shows
 * the old state (journal still to replay) or, once the jset is written,
 * the new one, with the same view and content either way.
 */
static void check_crashes(const char *name)
{
	char *orig = t_golden_image(name, "cache"), *bdev = t_golden_image(name, "backing");
	char *sha = manifest_sha(name), *copy = t_tmpfile(0);
	struct state before;
	struct bt_replay_stats st;
	unsigned long total, writes;

	cr_assert(sha);
	state_read(orig, &before);
	cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s'", orig, copy), 0);
	replay(copy, -1, &st, &total, NULL);
	cr_assert(st.committed);
	cr_assert_gt(total, 2, "nodes, prios and a jset: more than two writes");
	for (unsigned long n = 0; n <= total; n++) {
		struct state s;
		int ret;

		cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s'", orig, copy), 0);
		ret = replay(copy, (long)n, &st, &writes, NULL);
		if (n < total)
			cr_assert_eq(ret, -BT_ERR_WRITE_LIMIT, "%s: stop after write %lu gave %d",
				     name, n, ret);
		else
			cr_assert_eq(ret, 0);
		state_read(copy, &s);
		if (n < total) {
			cr_assert_eq(s.newest_seq, before.newest_seq, "%s: write %lu", name, n);
			cr_assert_eq(s.nr_keys, before.nr_keys);
		} else {
			cr_assert_eq(s.newest_seq, before.newest_seq + 1);
			cr_assert_eq(s.nr_keys, 0);
		}
		assert_same_view(&before, &s, name);
		check_extract(name, copy, bdev, sha);
		state_free(&s);
	}
	state_free(&before);
	free(sha);
	free(orig);
	free(bdev);
	free(copy);
}

GOLDEN_TEST(replay_crash, s03, .timeout = 600) { check_crashes("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(replay_crash, s04, .timeout = 600) { check_crashes("s04-writeback-dirty-crash"); }
GOLDEN_TEST(replay_crash, s05, .timeout = 600) { check_crashes("s05-btree-depth2"); }

/*
 * Break the magic of the last jset before the newest journal bucket of
 * path, so that its seq is missing from the replay range; returns that seq.
 */
static uint64_t break_mid_jset(const char *path)
{
	static const uint8_t zero[8];
	const struct bt_journal_entry *mid = NULL;
	struct t_cset o;
	uint64_t seq, off;

	t_cset_open(&o, path, BT_DEV_FORCE, 0);
	for (size_t i = 0; i < o.c.journal.nr; i++)
		if (o.c.journal.entries[i].bucket_idx != o.c.journal.cur_idx)
			mid = &o.c.journal.entries[i];
	cr_assert(mid);
	seq = le64toh(mid->j->seq);
	off = mid->sector * 512 + 8;
	t_cset_close(&o);
	t_patch(path, off, zero, sizeof(zero));
	return seq;
}

/* Missing journal entries: refused, and the ranges named */
GOLDEN_TEST(replay, missing_entries_refused)
{
	char *cache = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	struct t_cset o;
	struct bt_replay_stats st;
	uint64_t seq = break_mid_jset(cache);
	char buf[64];
	int ret;

	t_cset_open(&o, cache, BT_DEV_RDWR | BT_DEV_FORCE, 0);
	ret = bt_journal_replay(&o.c, o.nc, 0, &st, NULL, &o.err);
	cr_assert_eq(ret, -BT_ERR_JOURNAL_MISSING_ENTRIES, "%d %s (seq %llu)", ret,
		     printbuf_str(&o.err), (unsigned long long)seq);
	snprintf(buf, sizeof(buf), "%llu-%llu missing", (unsigned long long)seq, (unsigned long long)seq);
	cr_assert(strstr(printbuf_str(&o.err), buf), "%s", printbuf_str(&o.err));
	cr_assert_eq(o.dev.nr_writes, 0);
	t_cset_close(&o);
	free(cache);
}

/* Forced past the gap: the entries present are replayed, the view is the overlay's */
GOLDEN_TEST(replay, missing_entries_forced)
{
	char *cache = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	struct t_cset o;
	struct bt_replay_stats st;
	struct state before, after;
	uint64_t nr_keys;

	break_mid_jset(cache);
	/* state_read() wants no gap: take the view by hand */
	t_cset_open(&o, cache, BT_DEV_RDWR | BT_DEV_FORCE, 0);
	cr_assert_eq(o.c.journal.nr_missing, 1);
	nr_keys = o.c.journal.nr_keys;
	cr_assert_eq(bt_journal_replay(&o.c, o.nc, BT_REPLAY_FORCE, &st, NULL, &o.err), 0, "%s",
		     printbuf_str(&o.err));
	cr_assert(st.committed);
	cr_assert_eq(st.keys, nr_keys);
	t_cset_close(&o);
	state_read(cache, &after);
	cr_assert_eq(after.nr_keys, 0);
	cr_assert_eq(after.last_seq, after.newest_seq);
	/* the same journal keys on the original image give the same view */
	free(cache);
	cache = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	state_read(cache, &before);
	/* seq 16 held no key in s03: the view is the full one */
	assert_same_view(&before, &after, "forced replay");
	state_free(&before);
	state_free(&after);
	free(cache);
}

/* An invalid journal key (pointer past the device end) is skipped and reported */
GOLDEN_TEST(replay, invalid_key_skipped)
{
	const char *name = "s04-writeback-dirty-crash";
	char *cache = t_golden_image(name, "cache"), *bdev = t_golden_image(name, "backing");
	char *sha = manifest_sha(name), *report = NULL, want[128];
	struct t_cset o;
	struct bt_replay_stats st;
	struct state before, after;
	unsigned long writes;
	struct jset *j;
	struct bkey *k;
	size_t bytes;
	uint64_t sector, seq;

	/* append to the newest jset a copy of its last key, moved past the device end */
	t_cset_open(&o, cache, BT_DEV_RDWR | BT_DEV_FORCE, 0);
	const struct bt_journal_entry *e = bt_journal_newest(&o.c.journal);
	cr_assert(le32toh(e->j->keys) >= 3);
	bytes = e->bytes + 24;
	sector = e->sector;
	seq = le64toh(e->j->seq);
	j = calloc(1, bytes + 4096);
	memcpy(j, e->j, e->bytes);
	k = (struct bkey *)(j->d + le32toh(j->keys));
	memcpy(k, j->d + le32toh(j->keys) - 3, 24);
	cr_assert_eq(KEY_PTRS(k), 1);
	SET_KEY_OFFSET(k, KEY_OFFSET(k) + 100000);	/* a place nothing else covers */
	SET_PTR(k, 0, PTR_GEN(k, 0), (o.c.nbuckets + 5) << o.c.bucket_bits, 0);
	j->keys = htole32(le32toh(j->keys) + 3);
	j->csum = htole64(bt_jset_csum(j));
	/* the jset stays within its blocks (its next block is free in s04) */
	cr_assert_eq(bt_dev_write(&o.dev, j, (bytes + 4095) / 4096 * 4096, sector * 512, "jset",
				  &o.err), 0, "%s", printbuf_str(&o.err));
	free(j);
	t_cset_close(&o);

	state_read(cache, &before);
	replay(cache, -1, &st, &writes, &report);
	cr_assert_eq(st.invalid, 1);
	cr_assert_eq(st.keys, before.nr_keys - 1);
	snprintf(want, sizeof(want), "skipped invalid key in jset %llu at sector %llu: ",
		 (unsigned long long)seq, (unsigned long long)sector);
	cr_assert(strstr(report, want), "%s", report);
	cr_assert(strstr(report, "(bad, offset past end of device)"), "%s", report);
	state_read(cache, &after);
	cr_assert_eq(after.nr_keys, 0);
	assert_same_view(&before, &after, name);
	check_extract(name, cache, bdev, sha);
	state_free(&before);
	state_free(&after);
	free(report);
	free(sha);
	free(cache);
	free(bdev);
}
