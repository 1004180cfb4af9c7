/* test_write.c --- the write path (write.h): a commit that rewrites the root
 * node unchanged leaves every golden cache serving what the kernel served
 * (MANIFEST.json sha256, keys-post.txt.zst key dumps), a crash after any
 * write leaves it readable with the same content, and read-only opens
 * never write.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/btree.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/mark.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"
#include "libcore/write/write.h"

/* The live keys of the view after replay, one per line (library level). */
static char *view_text(const char *path)
{
	struct printbuf out = PRINTBUF;
	struct t_cset s;
	struct bt_extmap view;
	char *ret;

	t_cset_open(&s, path, BT_DEV_FORCE, BT_OPEN_STRICT);
	cr_assert(!s.c.journal.kernel_differs, "the kernel's journal search would differ");
	bt_extmap_init(&view);
	t_cset_view(&s, &view, NULL);
	for (size_t i = 0; i < view.nr; i++)
		if (bt_overlay_key_live(&s.c, bt_extmap_key(&view, i))) {
			bt_bkey_to_text(&out, bt_extmap_key(&view, i));
			prt_newline(&out);
		}
	ret = strdup(printbuf_str(&out));
	bt_extmap_exit(&view);
	t_cset_close(&s);
	printbuf_exit(&out);
	return ret;
}

/* A session: path opened read-write, its buckets marked. Closed by t_cset_close(). */
static void session_open(struct t_cset *s, const char *path)
{
	t_cset_open(s, path, BT_DEV_RDWR | BT_DEV_FORCE, 0);
	cr_assert_eq(bt_mark_buckets(&s->c, s->nc, &s->err), 0, "%s", printbuf_str(&s->err));
}

struct rewrite {
	uint64_t	old_root_bucket, new_root_bucket;
	uint64_t	old_seq, new_seq;
	unsigned long	writes;
};

/*
 * Read the root, write its keys to a new node, make it the root, commit
 * (keeping the journal's replay range). write_limit < 0: no limit.
 * Returns bt_commit()'s code (or the first failing step's); its messages
 * are appended to err.
 */
static int rewrite_root(const char *path, long write_limit, struct rewrite *r,
			struct printbuf *err)
{
	struct t_cset s;
	struct cache_set *c = &s.c;
	struct bt_write_ctx w;
	struct bt_node *n;
	struct bkey_padded ptr;
	int ret;

	memset(r, 0, sizeof(*r));
	session_open(&s, path);
	cr_assert_eq(bt_write_begin(&w, c, s.nc), 0);
	r->old_seq = c->journal.newest_seq;
	r->old_root_bucket = PTR_BUCKET_NR(c, (struct bkey *)c->root_key.w, 0);
	cr_assert_eq(bt_btree_node_read(c, (struct bkey *)c->root_key.w, c->root_level, 0, &n,
					&s.err), 0, "%s", printbuf_str(&s.err));
	s.dev.write_limit = write_limit;
	ret = bt_node_write(&w, n->keys, n->u64s, c->root_level, (struct bkey *)c->root_key.w,
			    &ptr, &s.err);
	bt_node_free(n);
	if (ret) {
		bt_write_abort(&w);
		goto out;
	}
	w.new_root = ptr;
	w.new_root_level = c->root_level;
	w.root_changed = true;
	w.last_seq = c->journal.last_seq;
	cr_assert_eq(bt_free_after_commit(&w, r->old_root_bucket), 0);
	ret = bt_commit(&w, &s.err);
	if (!ret) {
		r->new_root_bucket = PTR_BUCKET_NR(c, (struct bkey *)c->root_key.w, 0);
		r->new_seq = c->journal.newest_seq;
		/* the old root's bucket is free again in memory only */
		cr_assert_eq(c->buckets[r->old_root_bucket].mark, GC_MARK_NONE);
		cr_assert_eq(c->buckets[r->new_root_bucket].mark, GC_MARK_METADATA);
	}
out:
	r->writes = s.dev.nr_writes;
	bt_write_abort(&w);	/* a no-op after bt_commit() */
	prt_str(err, printbuf_str(&s.err));
	t_cset_close(&s);
	return ret;
}

static void check_extract(const char *name, const char *cache, const char *bdev)
{
	json_t *m = t_manifest_case(name);
	const char *want = t_manifest_str_opt(m, "expected_logical_sha256", "bcache0");
	char sum[65];

	if (want) {
		t_extract_sha256(cache, bdev, sum);
		cr_assert_str_eq(sum, want, "%s: content differs from the kernel's", name);
	}
	json_decref(m);
}

/* dump-btree's live keys equal the kernel's dump after re-registration. */
static void check_keys_post(const char *name, const char *cache)
{
	json_t *m = t_manifest_case(name);
	char *got = NULL, *err = NULL;
	int rc;

	if (strcmp(name, "s02-registered-empty")) {
		free(t_keys_match_kernel(name, cache, ""));
	} else {
		rc = t_run(&got, &err, "dump-btree --keys-only '%s'", cache);
		cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
		cr_assert_str_eq(got, "");
		cr_assert_str_eq(t_manifest_str(m, "truth_after_reregister", "nkeys"), "0");
		free(got);
		free(err);
	}
	json_decref(m);
}

static void commit_keeps_view(const char *name, bool backing)
{
	char *cache = t_golden_image(name, "cache"), *bdev = backing ? t_golden_image(name, "backing") : NULL;
	struct printbuf err = PRINTBUF;
	struct rewrite r;
	char *before = view_text(cache), *after;

	cr_assert_eq(rewrite_root(cache, -1, &r, &err), 0, "%s: %s", name, printbuf_str(&err));
	cr_assert_neq(r.new_root_bucket, r.old_root_bucket);
	cr_assert_eq(r.new_seq, r.old_seq + 1);
	after = view_text(cache);
	cr_assert_str_eq(after, before, "%s: live keys changed", name);
	check_keys_post(name, cache);
	check_extract(name, cache, bdev);
	/* and a second commit on top of the first */
	cr_assert_eq(rewrite_root(cache, -1, &r, &err), 0, "%s: %s", name, printbuf_str(&err));
	cr_assert_eq(r.new_seq, r.old_seq + 1);
	free(after);
	after = view_text(cache);
	cr_assert_str_eq(after, before, "%s: live keys changed after the second commit", name);
	free(after);
	free(before);
	free(cache);
	free(bdev);
	printbuf_exit(&err);
}

GOLDEN_TEST(write, commit_s02) { commit_keeps_view("s02-registered-empty", false); }
GOLDEN_TEST(write, commit_s03) { commit_keeps_view("s03-writeback-dirty-clean-stop", true); }
GOLDEN_TEST(write, commit_s04) { commit_keeps_view("s04-writeback-dirty-crash", true); }
GOLDEN_TEST(write, commit_s05) { commit_keeps_view("s05-btree-depth2", true); }
GOLDEN_TEST(write, commit_s06) { commit_keeps_view("s06-flash-volume", false); }
GOLDEN_TEST(write, commit_s07) { commit_keeps_view("s07-writethrough-clean", true); }

/*
 * Crash safety: stop the commit after each of its writes in turn; every
 * prefix leaves a cache that opens (strict journal) with the same live
 * keys and content; the full run commits.
 */
static void crash_at_every_write(const char *name, bool backing)
{
	char *orig = t_golden_image(name, "cache"), *bdev = backing ? t_golden_image(name, "backing") : NULL;
	char *copy, *before = view_text(orig), *after, sum[65], orig_sum[65];
	struct printbuf err = PRINTBUF;
	struct rewrite r;
	unsigned long total;

	cr_assert(asprintf(&copy, "%s.crash", orig) > 0);
	cr_assert_eq(t_sh(NULL, NULL, "cp --sparse=always '%s' '%s'", orig, copy), 0);
	cr_assert_eq(rewrite_root(copy, -1, &r, &err), 0, "%s", printbuf_str(&err));
	total = r.writes;
	/* node + prio chain + jset at least */
	cr_assert_geq(total, 3, "%s: %lu writes", name, total);
	t_sha256_file(orig, orig_sum);
	for (unsigned long n = 0; n < total; n++) {
		cr_assert_eq(t_sh(NULL, NULL, "cp --sparse=always '%s' '%s'", orig, copy), 0);
		printbuf_reset(&err);
		cr_assert_eq(rewrite_root(copy, (long)n, &r, &err), -BT_ERR_WRITE_LIMIT,
			     "%s: limit %lu: %s", name, n, printbuf_str(&err));
		cr_assert_eq(r.writes, n);
		after = view_text(copy);
		cr_assert_str_eq(after, before, "%s: crash after %lu writes changed the view", name, n);
		free(after);
		if (!n) {
			t_sha256_file(copy, sum);
			cr_assert_str_eq(sum, orig_sum, "%s: a commit stopped at write 0 wrote", name);
		}
		check_extract(name, copy, bdev);
	}
	cr_assert_eq(t_sh(NULL, NULL, "cp --sparse=always '%s' '%s'", orig, copy), 0);
	cr_assert_eq(rewrite_root(copy, (long)total, &r, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(r.new_seq, r.old_seq + 1);
	after = view_text(copy);
	cr_assert_str_eq(after, before);
	free(after);
	remove(copy);
	free(copy);
	free(before);
	free(orig);
	free(bdev);
	printbuf_exit(&err);
}

GOLDEN_TEST(write, crash_s03, .timeout = 120) { crash_at_every_write("s03-writeback-dirty-clean-stop", true); }
GOLDEN_TEST(write, crash_s04, .timeout = 120) { crash_at_every_write("s04-writeback-dirty-crash", true); }
GOLDEN_TEST(write, crash_s05, .timeout = 180) { crash_at_every_write("s05-btree-depth2", true); }
GOLDEN_TEST(write, crash_s06, .timeout = 120) { crash_at_every_write("s06-flash-volume", false); }

/* -n: a read-only device refuses writes and a commit writes nothing. */
GOLDEN_TEST(write, readonly_refuses)
{
	char *cache = t_golden_image("s03-writeback-dirty-clean-stop", "cache"), before[65], after[65];
	struct t_cset s;
	struct bt_write_ctx w;
	struct bkey_padded ptr;
	uint8_t block[4096] = { 0 };
	uint64_t b;

	t_sha256_file(cache, before);
	t_cset_open(&s, cache, BT_DEV_FORCE, 0);
	cr_assert_eq(bt_dev_write(&s.dev, block, sizeof(block), 0, "test block", &s.err),
		     -BT_ERR_DEV_READONLY);
	cr_assert(strstr(printbuf_str(&s.err), "opened read-only"), "%s", printbuf_str(&s.err));
	cr_assert_eq(bt_mark_buckets(&s.c, s.nc, &s.err), 0, "%s", printbuf_str(&s.err));
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	cr_assert_eq(bt_bucket_alloc(&w, true, &b, &s.err), 0);
	printbuf_reset(&s.err);
	cr_assert_eq(bt_node_write(&w, NULL, 0, 0, (struct bkey *)s.c.root_key.w, &ptr, &s.err),
		     -BT_ERR_DEV_READONLY);
	printbuf_reset(&s.err);
	w.root_changed = true;
	cr_assert_eq(bt_commit(&w, &s.err), -BT_ERR_DEV_READONLY);
	cr_assert(strstr(printbuf_str(&s.err), "read-only"), "%s", printbuf_str(&s.err));
	cr_assert_eq(s.dev.nr_writes, 0);
	t_cset_close(&s);
	t_sha256_file(cache, after);
	cr_assert_str_eq(after, before);
	free(cache);
}

/* ---- many commits in one session: journal placement ---------------------- */

/* One root rewrite; keep_replay: last_seq = the current one, else nothing to replay. */
static int session_commit(struct t_cset *s, bool keep_replay)
{
	struct cache_set *c = &s->c;
	struct bt_write_ctx w;
	struct bt_node *n;
	struct bkey_padded ptr;
	int ret;

	cr_assert_eq(bt_write_begin(&w, c, s->nc), 0);
	cr_assert_eq(bt_btree_node_read(c, (struct bkey *)c->root_key.w, c->root_level, 0, &n,
					&s->err), 0, "%s", printbuf_str(&s->err));
	ret = bt_node_write(&w, n->keys, n->u64s, c->root_level, (struct bkey *)c->root_key.w,
			    &ptr, &s->err);
	bt_node_free(n);
	if (ret) {
		bt_write_abort(&w);
		return ret;
	}
	w.new_root = ptr;
	w.root_changed = true;
	w.last_seq = keep_replay ? c->journal.last_seq : 0;
	cr_assert_eq(bt_free_after_commit(&w, PTR_BUCKET_NR(c, (struct bkey *)c->root_key.w, 0)), 0);
	return bt_commit(&w, &s->err);
}

/*
 * With nothing left to replay each jset frees the journal behind it: the
 * journal fills every bucket in turn and wraps (s02: 8 buckets of 32 jsets),
 * and the kernel's own bucket search agrees at every step.
 */
GOLDEN_TEST(write, journal_wraps, .timeout = 300)
{
	char *cache = t_golden_image("s02-registered-empty", "cache");
	struct t_cset s;
	uint64_t seq0;
	unsigned idx0, jsets = 0, moves = 0, prev_idx;
	char *view;

	session_open(&s, cache);
	seq0 = s.c.journal.newest_seq;
	idx0 = prev_idx = s.c.journal.cur_idx;
	jsets = (s.c.bucket_size / s.c.block_size) * s.c.sb.keys + 8;
	for (unsigned i = 0; i < jsets; i++) {
		cr_assert_eq(session_commit(&s, false), 0, "commit %u: %s", i,
			     printbuf_str(&s.err));
		cr_assert_eq(s.c.journal.newest_seq, seq0 + i + 1);
		cr_assert_eq(s.c.journal.nr, 1);
		cr_assert(!s.c.journal.kernel_differs, "commit %u: kernel search differs", i);
		if (s.c.journal.cur_idx != prev_idx) {
			cr_assert_eq(s.c.journal.cur_idx, (prev_idx + 1) % s.c.sb.keys);
			/* a new bucket is started at its first sector */
			cr_assert_eq(bt_journal_newest(&s.c.journal)->sector,
				     bt_bucket_to_sector(&s.c, s.c.sb.d[s.c.journal.cur_idx]));
			moves++;
			prev_idx = s.c.journal.cur_idx;
		}
	}
	cr_assert_geq(moves, s.c.sb.keys, "the journal did not wrap (%u moves)", moves);
	cr_assert_eq(s.c.journal.cur_idx, (idx0 + moves) % s.c.sb.keys);
	t_cset_close(&s);
	view = view_text(cache);
	cr_assert_str_eq(view, "");
	free(view);
	check_keys_post("s02-registered-empty", cache);
	free(cache);
}

/*
 * Keeping the replay range pinned, the journal runs full: the commit that
 * would overwrite a needed entry fails with JOURNAL_FULL and a message
 * naming the bucket, and the cache still serves the kernel's content.
 */
GOLDEN_TEST(write, journal_full, .timeout = 300)
{
	const char *name = "s03-writeback-dirty-clean-stop";
	char *cache = t_golden_image(name, "cache"), *bdev = t_golden_image(name, "backing"), *before, *after;
	struct t_cset s;
	uint64_t last;
	int ret = 0;
	unsigned i;

	before = view_text(cache);
	session_open(&s, cache);
	last = s.c.journal.last_seq;
	for (i = 0; i < 1000 && !ret; i++) {
		printbuf_reset(&s.err);
		ret = session_commit(&s, true);
		if (!ret)
			cr_assert_eq(s.c.journal.last_seq, last);
	}
	cr_assert_eq(ret, -BT_ERR_JOURNAL_FULL, "after %u commits: %d %s", i, ret,
		     printbuf_str(&s.err));
	cr_assert(strstr(printbuf_str(&s.err), "needed for replay from seq"), "%s",
		  printbuf_str(&s.err));
	/* every journal bucket was used before giving up */
	cr_assert_gt(i, (s.c.bucket_size / s.c.block_size) * (s.c.sb.keys - 2));
	t_cset_close(&s);
	after = view_text(cache);
	cr_assert_str_eq(after, before);
	check_keys_post(name, cache);
	check_extract(name, cache, bdev);
	free(before);
	free(after);
	free(cache);
	free(bdev);
}

/* ---- marks and allocation ---------------------------------------------------- */

/*
 * The mark pass gives the bucket classes the kernel reported after
 * registration (sysfs priority_stats, percent of nbuckets by GC mark):
 * Clean, Dirty and Metadata. (Unused counts sectors and moves as soon as
 * the kernel's allocator runs, so it is not compared.)
 */
static void marks_match_kernel(const char *name)
{
	json_t *m = t_manifest_case(name);
	const char *ps = t_manifest_str(m, "truth_after_reregister", "priority_stats");
	char *cache = t_golden_image(name, "cache");
	struct t_cset s;
	unsigned long cnt[4] = { 0 }, want[4] = { 0 };
	const char *p;

	cr_assert(p = strstr(ps, "Clean:"));
	want[GC_MARK_RECLAIMABLE] = strtoul(p + 6, NULL, 10);
	cr_assert(p = strstr(ps, "Dirty:"));
	want[GC_MARK_DIRTY] = strtoul(p + 6, NULL, 10);
	cr_assert(p = strstr(ps, "Metadata:"));
	want[GC_MARK_METADATA] = strtoul(p + 9, NULL, 10);
	session_open(&s, cache);
	for (uint64_t b = 0; b < s.c.nbuckets; b++)
		cnt[s.c.buckets[b].mark]++;
	for (unsigned k = 1; k < 4; k++)
		cr_assert_eq(cnt[k] * 100 / s.c.nbuckets, want[k], "%s: mark %u: %lu buckets", name,
			     k, cnt[k]);
	/* journal, prio and uuid buckets and the root are metadata; the root at BTREE_PRIO */
	for (unsigned i = 0; i < s.c.sb.keys; i++)
		cr_assert_eq(s.c.buckets[s.c.sb.d[i]].mark, GC_MARK_METADATA);
	for (unsigned i = 0; i < s.c.prio_buckets; i++)
		cr_assert_eq(s.c.buckets[s.c.prio_chain[i]].mark, GC_MARK_METADATA);
	cr_assert_eq(s.c.buckets[PTR_BUCKET_NR(&s.c, (struct bkey *)s.c.uuid_key.w, 0)].mark,
		     GC_MARK_METADATA);
	cr_assert_eq(s.c.buckets[PTR_BUCKET_NR(&s.c, (struct bkey *)s.c.root_key.w, 0)].prio,
		     BTREE_PRIO);
	t_cset_close(&s);
	free(cache);
	json_decref(m);
}

GOLDEN_TEST(mark, s02) { marks_match_kernel("s02-registered-empty"); }
GOLDEN_TEST(mark, s03) { marks_match_kernel("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(mark, s04) { marks_match_kernel("s04-writeback-dirty-crash"); }
GOLDEN_TEST(mark, s05) { marks_match_kernel("s05-btree-depth2"); }
GOLDEN_TEST(mark, s06) { marks_match_kernel("s06-flash-volume"); }
GOLDEN_TEST(mark, s07) { marks_match_kernel("s07-writethrough-clean"); }

/* Journal keys pin their buckets: s04's data lives only in the journal. */
GOLDEN_TEST(mark, journal_keys_pin)
{
	char *cache = t_golden_image("s04-writeback-dirty-crash", "cache");
	struct t_cset s;
	unsigned long keys = 0;

	session_open(&s, cache);
	for (size_t i = 0; i < s.c.journal.nr; i++) {
		const struct jset *j = s.c.journal.entries[i].j;

		for (const uint64_t *p = j->d; p < j->d + le32toh(j->keys);
		     p += bkey_u64s((const struct bkey *)p)) {
			const struct bkey *k = (const struct bkey *)p;

			keys++;
			cr_assert(s.c.buckets[PTR_BUCKET_NR(&s.c, k, 0)].pinned);
			cr_assert_eq(s.c.buckets[PTR_BUCKET_NR(&s.c, k, 0)].mark, GC_MARK_DIRTY);
		}
	}
	cr_assert_gt(keys, 0);
	t_cset_close(&s);
	free(cache);
}

/*
 * Allocation hands out only unused buckets, each once, with gen + 1 and the
 * metadata prio; it stops with NO_FREE_BUCKET; abort restores the buckets.
 */
GOLDEN_TEST(alloc, every_free_bucket_once)
{
	char *cache = t_golden_image("s05-btree-depth2", "cache");
	struct t_cset s;
	struct bt_write_ctx w;
	struct bt_bucket *before;
	uint8_t *seen;
	uint64_t b, n = 0, nfree = 0;
	int ret;

	session_open(&s, cache);
	before = malloc(s.c.nbuckets * sizeof(*before));
	memcpy(before, s.c.buckets, s.c.nbuckets * sizeof(*before));
	seen = calloc(s.c.nbuckets, 1);
	for (b = s.c.first_bucket; b < s.c.nbuckets; b++)
		nfree += before[b].mark == GC_MARK_NONE && !before[b].pinned;
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	while (!(ret = bt_bucket_alloc(&w, n & 1, &b, &s.err))) {
		cr_assert_geq(b, s.c.first_bucket);
		cr_assert_eq(before[b].mark, GC_MARK_NONE, "bucket %llu in use", (unsigned long long)b);
		cr_assert(!before[b].pinned);
		cr_assert(!seen[b], "bucket %llu handed out twice", (unsigned long long)b);
		seen[b] = 1;
		cr_assert_eq(s.c.buckets[b].gen, (uint8_t)(before[b].gen + 1));
		cr_assert_eq(s.c.buckets[b].prio, n & 1 ? BTREE_PRIO : INITIAL_PRIO);
		n++;
	}
	cr_assert_eq(ret, -BT_ERR_NO_FREE_BUCKET);
	cr_assert(strstr(printbuf_str(&s.err), "no free bucket"), "%s", printbuf_str(&s.err));
	cr_assert_eq(n, nfree);
	bt_write_abort(&w);
	cr_assert_eq(memcmp(before, s.c.buckets, s.c.nbuckets * sizeof(*before)), 0);
	free(seen);
	free(before);
	t_cset_close(&s);
	free(cache);
}

/* can_inc_bucket_gen(): a bucket whose gen is 96 ahead of its oldest pointer is skipped. */
GOLDEN_TEST(alloc, gen_lag_limit)
{
	char *cache = t_golden_image("s02-registered-empty", "cache");
	struct t_cset s;
	struct bt_write_ctx w;
	uint64_t b, first;

	session_open(&s, cache);
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	cr_assert_eq(bt_bucket_alloc(&w, true, &first, &s.err), 0);
	bt_write_abort(&w);
	s.c.buckets[first].last_gc = (uint8_t)(s.c.buckets[first].gen - BUCKET_GC_GEN_MAX);
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	cr_assert_eq(bt_bucket_alloc(&w, true, &b, &s.err), 0);
	cr_assert_neq(b, first);
	bt_write_abort(&w);
	s.c.buckets[first].last_gc = (uint8_t)(s.c.buckets[first].gen - BUCKET_GC_GEN_MAX + 1);
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	cr_assert_eq(bt_bucket_alloc(&w, true, &b, &s.err), 0);
	cr_assert_eq(b, first);
	bt_write_abort(&w);
	t_cset_close(&s);
	free(cache);
}

/* A transaction needs marked buckets; a node that does not fit is refused. */
GOLDEN_TEST(alloc, begin_needs_marks_and_node_must_fit)
{
	char *cache = t_golden_image("s02-registered-empty", "cache");
	struct t_cset s;
	struct bt_write_ctx w;
	struct bkey_padded ptr;
	uint64_t *keys;
	size_t u64s;

	session_open(&s, cache);
	u64s = (s.c.btree_node_sectors << SECTOR_SHIFT) / 8;
	keys = calloc(u64s, 8);
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	cr_assert_eq(bt_node_write(&w, keys, u64s, 0, (struct bkey *)s.c.root_key.w, &ptr, &s.err),
		     -EINVAL);
	cr_assert(strstr(printbuf_str(&s.err), "do not fit"), "%s", printbuf_str(&s.err));
	cr_assert_eq(w.nr_new, 0);
	bt_write_abort(&w);
	bt_mark_reset(&s.c);
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), -EINVAL);
	free(keys);
	t_cset_close(&s);
	free(cache);
}

/* ---- uuids ---------------------------------------------------------------------- */

/*
 * A changed uuid slot goes to a fresh uuid bucket published by the jset;
 * the old bucket is left as it was; an aborted change restores c->uuids.
 */
GOLDEN_TEST(write, uuid_change)
{
	const char *name = "s06-flash-volume";
	char *cache = t_golden_image(name, "cache"), *before = view_text(cache), *after;
	struct t_cset s;
	struct bt_write_ctx w;
	uint64_t old_b, new_b;
	struct uuid_entry slot0;
	uint8_t *old_bytes, *now;

	session_open(&s, cache);
	slot0 = s.c.uuids[0];
	old_b = PTR_BUCKET_NR(&s.c, (struct bkey *)s.c.uuid_key.w, 0);
	old_bytes = malloc(s.c.meta_bucket_bytes);
	now = malloc(s.c.meta_bucket_bytes);
	cr_assert_eq(bt_dev_read(&s.dev, old_bytes, s.c.meta_bucket_bytes,
				 bt_bucket_to_sector(&s.c, old_b) << SECTOR_SHIFT, "t", &s.err), 0);

	/* aborted: nothing changes in memory */
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	memcpy(s.c.uuids[0].label, "aborted", 8);
	bt_write_abort(&w);
	cr_assert_eq(memcmp(&s.c.uuids[0], &slot0, sizeof(slot0)), 0);

	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	memset(s.c.uuids[0].label, 0, 32);
	memcpy(s.c.uuids[0].label, "relabelled", 10);
	w.uuids_changed = true;
	w.last_seq = s.c.journal.last_seq;
	cr_assert_eq(bt_commit(&w, &s.err), 0, "%s", printbuf_str(&s.err));
	new_b = PTR_BUCKET_NR(&s.c, (struct bkey *)s.c.uuid_key.w, 0);
	cr_assert_neq(new_b, old_b);
	cr_assert_eq(s.c.buckets[old_b].mark, GC_MARK_NONE);
	t_cset_close(&s);

	session_open(&s, cache);
	cr_assert_eq(PTR_BUCKET_NR(&s.c, (struct bkey *)s.c.uuid_key.w, 0), new_b);
	cr_assert_str_eq((char *)s.c.uuids[0].label, "relabelled");
	cr_assert_eq(memcmp(s.c.uuids[0].uuid, slot0.uuid, 16), 0);
	cr_assert_eq(s.c.uuids[0].sectors, slot0.sectors);
	cr_assert_eq(bt_dev_read(&s.dev, now, s.c.meta_bucket_bytes,
				 bt_bucket_to_sector(&s.c, old_b) << SECTOR_SHIFT, "t", &s.err), 0);
	cr_assert_eq(memcmp(now, old_bytes, s.c.meta_bucket_bytes), 0, "old uuid bucket written");
	t_cset_close(&s);
	after = view_text(cache);
	cr_assert_str_eq(after, before);
	check_extract(name, cache, NULL);
	free(old_bytes);
	free(now);
	free(before);
	free(after);
	free(cache);
}

/* A crash anywhere in a uuid change leaves the old slots or the new ones, never a mix. */
GOLDEN_TEST(write, uuid_change_crash)
{
	const char *name = "s06-flash-volume";
	char *orig = t_golden_image(name, "cache"), *copy;
	unsigned long total = 0;

	cr_assert(asprintf(&copy, "%s.crash", orig) > 0);
	for (long n = -1; n < (long)total || n < 0; n++) {
		struct t_cset s;
		struct bt_write_ctx w;
		int ret;

		cr_assert_eq(t_sh(NULL, NULL, "cp --sparse=always '%s' '%s'", orig, copy), 0);
		session_open(&s, copy);
		cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
		memcpy(s.c.uuids[0].label, "crash-test", 11);
		w.uuids_changed = true;
		w.last_seq = s.c.journal.last_seq;
		s.dev.write_limit = n;
		ret = bt_commit(&w, &s.err);
		if (n < 0) {
			cr_assert_eq(ret, 0, "%s", printbuf_str(&s.err));
			total = s.dev.nr_writes;
			cr_assert_eq(total, s.c.prio_buckets + 2);	/* prios, uuids, jset */
		} else {
			cr_assert_eq(ret, -BT_ERR_WRITE_LIMIT);
			cr_assert_neq(memcmp(s.c.uuids[0].label, "crash-test", 11), 0,
				      "a failed commit left the new label in memory");
		}
		t_cset_close(&s);
		session_open(&s, copy);
		cr_assert_eq(memcmp(s.c.uuids[0].label, "crash-test", 11) == 0, n < 0,
			     "write limit %ld", n);
		t_cset_close(&s);
	}
	remove(copy);
	free(copy);
	free(orig);
}

/*
 * After a commit the in-memory buckets are what a fresh mark pass of the
 * new state finds (marks, gens, pins, sectors), so transactions can follow
 * each other in one session.
 */
static void commit_then_remark(const char *name)
{
	char *cache = t_golden_image(name, "cache");
	struct t_cset s;
	struct bt_bucket *mem;

	session_open(&s, cache);
	cr_assert_eq(session_commit(&s, true), 0, "%s", printbuf_str(&s.err));
	mem = malloc(s.c.nbuckets * sizeof(*mem));
	memcpy(mem, s.c.buckets, s.c.nbuckets * sizeof(*mem));
	cr_assert_eq(bt_mark_buckets(&s.c, s.nc, &s.err), 0, "%s", printbuf_str(&s.err));
	for (uint64_t b = 0; b < s.c.nbuckets; b++) {
		cr_assert_eq(mem[b].mark, s.c.buckets[b].mark, "%s: bucket %llu mark", name,
			     (unsigned long long)b);
		cr_assert_eq(mem[b].gen, s.c.buckets[b].gen, "%s: bucket %llu gen", name,
			     (unsigned long long)b);
		cr_assert_eq(mem[b].pinned, s.c.buckets[b].pinned);
		cr_assert_eq(mem[b].sectors_used, s.c.buckets[b].sectors_used, "%s: bucket %llu",
			     name, (unsigned long long)b);
	}
	free(mem);
	t_cset_close(&s);
	free(cache);
}

GOLDEN_TEST(write, remark_s03) { commit_then_remark("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(write, remark_s05) { commit_then_remark("s05-btree-depth2"); }
GOLDEN_TEST(write, remark_s06) { commit_then_remark("s06-flash-volume"); }

/*
 * Keys journaled by a commit are replayed by the readers (they appear in
 * the view over the data they cover), and pin their buckets in memory as a
 * fresh mark pass does.
 */
GOLDEN_TEST(write, journal_key)
{
	const char *name = "s03-writeback-dirty-clean-stop";
	char *cache = t_golden_image(name, "cache"), *view, line[160];
	struct t_cset s;
	struct bt_write_ctx w;
	struct bkey_padded kp;
	struct bkey *k = (struct bkey *)kp.w;
	struct printbuf kt = PRINTBUF;
	uint64_t b, keys[3];
	uint8_t data[4096];
	struct bt_bucket mem;

	session_open(&s, cache);
	cr_assert_eq(bt_write_begin(&w, &s.c, s.nc), 0);
	cr_assert_eq(bt_bucket_alloc(&w, false, &b, &s.err), 0);
	memset(data, 0xab, sizeof(data));
	cr_assert_eq(bt_dev_write(&s.dev, data, sizeof(data),
				  bt_bucket_to_sector(&s.c, b) << SECTOR_SHIFT, "data", &s.err), 0);
	memset(&kp, 0, sizeof(kp));
	/* slot 0, backing sectors [120000, 120008) (inside the 64 MiB device), dirty */
	bkey_init_pos(k, 0, 120008, 8);
	SET_KEY_DIRTY(k, 1);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, s.c.buckets[b].gen, bt_bucket_to_sector(&s.c, b), s.c.nr_this_dev);
	memcpy(keys, k, sizeof(keys));
	w.journal_keys = keys;
	w.journal_u64s = 3;
	w.last_seq = s.c.journal.last_seq;
	cr_assert_eq(bt_commit(&w, &s.err), 0, "%s", printbuf_str(&s.err));
	cr_assert(s.c.buckets[b].pinned);
	cr_assert_eq(s.c.buckets[b].mark, GC_MARK_DIRTY);
	mem = s.c.buckets[b];
	cr_assert_eq(bt_mark_buckets(&s.c, s.nc, &s.err), 0);
	cr_assert_eq(s.c.buckets[b].pinned, mem.pinned);
	cr_assert_eq(s.c.buckets[b].mark, mem.mark);
	cr_assert_eq(s.c.buckets[b].gen, mem.gen);
	t_cset_close(&s);
	view = view_text(cache);
	bt_bkey_to_text(&kt, k);
	snprintf(line, sizeof(line), "%s\n", printbuf_str(&kt));
	cr_assert(strstr(view, line), "journaled key %s not in the view", printbuf_str(&kt));
	printbuf_exit(&kt);
	free(view);
	free(cache);
}
