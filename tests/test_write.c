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
#include "libcore/bkey.h"
#include "libcore/btree.h"
#include "libcore/cache_set.h"
#include "libcore/errcode.h"
#include "libcore/journal.h"
#include "libcore/mark.h"
#include "libcore/node_cache.h"
#include "libcore/overlay.h"
#include "libcore/write.h"

static json_t *manifest_case(const char *name)
{
	char *text = t_read_text("images/MANIFEST.json", NULL);
	json_t *m = json_loads(text, 0, NULL), *ret = NULL;

	cr_assert(m);
	for (size_t i = 0; i < json_array_size(m); i++) {
		json_t *c = json_array_get(m, i);

		if (!strcmp(json_string_value(json_object_get(c, "name")), name))
			ret = json_incref(c);
	}
	json_decref(m);
	free(text);
	cr_assert(ret, "%s not in the manifest", name);
	return ret;
}

/* The live keys of the view after replay, one per line (library level). */
static char *view_text(const char *path)
{
	struct printbuf err = PRINTBUF, out = PRINTBUF;
	struct bt_dev dev;
	struct cache_set c;
	struct bt_node_cache *nc;
	struct bt_extmap view;
	struct bt_overlay_stats st;
	char *ret;

	cr_assert_eq(bt_dev_open(path, BT_DEV_FORCE, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_cache_set_open(&c, &dev, BT_OPEN_STRICT, &err), 0, "%s",
		     printbuf_str(&err));
	cr_assert(!c.journal.kernel_differs, "the kernel's journal search would differ");
	nc = bt_node_cache_new(&c, 1 << 20, 0);
	bt_extmap_init(&view);
	cr_assert_eq(bt_overlay_build(&c, nc, true, false, &view, &st, &err), 0, "%s",
		     printbuf_str(&err));
	for (size_t i = 0; i < view.nr; i++)
		if (bt_overlay_key_live(&c, bt_extmap_key(&view, i))) {
			bt_bkey_to_text(&out, bt_extmap_key(&view, i));
			prt_newline(&out);
		}
	ret = strdup(printbuf_str(&out));
	bt_extmap_exit(&view);
	bt_node_cache_free(nc);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	printbuf_exit(&out);
	return ret;
}

struct rewrite {
	uint64_t	old_root_bucket, new_root_bucket;
	uint64_t	old_seq, new_seq;
	unsigned long	writes;
};

/*
 * Read the root, write its keys to a new node, make it the root, commit
 * (keeping the journal's replay range). write_limit < 0: no limit.
 * Returns bt_commit()'s code (or the first failing step's).
 */
static int rewrite_root(const char *path, long write_limit, struct rewrite *r,
			struct printbuf *err)
{
	struct bt_dev dev;
	struct cache_set c;
	struct bt_node_cache *nc;
	struct bt_write_ctx w;
	struct bt_node *n;
	struct bkey_padded ptr;
	int ret;

	memset(r, 0, sizeof(*r));
	cr_assert_eq(bt_dev_open(path, BT_DEV_RDWR | BT_DEV_FORCE, &dev, err), 0, "%s",
		     printbuf_str(err));
	cr_assert_eq(bt_cache_set_open(&c, &dev, 0, err), 0, "%s", printbuf_str(err));
	nc = bt_node_cache_new(&c, 1 << 20, 0);
	cr_assert_eq(bt_mark_buckets(&c, nc, err), 0, "%s", printbuf_str(err));
	cr_assert_eq(bt_write_begin(&w, &c, nc), 0);
	r->old_seq = c.journal.newest_seq;
	r->old_root_bucket = PTR_BUCKET_NR(&c, (struct bkey *)c.root_key.w, 0);
	cr_assert_eq(bt_btree_node_read(&c, (struct bkey *)c.root_key.w, c.root_level, 0, &n, err),
		     0, "%s", printbuf_str(err));
	dev.write_limit = write_limit;
	ret = bt_node_write(&w, n->keys, n->u64s, c.root_level, (struct bkey *)c.root_key.w,
			    &ptr, err);
	bt_node_free(n);
	if (ret) {
		bt_write_abort(&w);
		goto out;
	}
	w.new_root = ptr;
	w.new_root_level = c.root_level;
	w.root_changed = true;
	w.last_seq = c.journal.last_seq;
	cr_assert_eq(bt_free_after_commit(&w, r->old_root_bucket), 0);
	ret = bt_commit(&w, err);
	if (!ret) {
		r->new_root_bucket = PTR_BUCKET_NR(&c, (struct bkey *)c.root_key.w, 0);
		r->new_seq = c.journal.newest_seq;
		/* the old root's bucket is free again in memory only */
		cr_assert_eq(c.buckets[r->old_root_bucket].mark, GC_MARK_NONE);
		cr_assert_eq(c.buckets[r->new_root_bucket].mark, GC_MARK_METADATA);
	}
out:
	r->writes = dev.nr_writes;
	bt_write_abort(&w);	/* a no-op after bt_commit() */
	bt_node_cache_free(nc);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	return ret;
}

static char *image_of(const char *name, const char *which)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "images/%s/%s.img.zst", name, which);
	return t_image(rel);
}

static void check_extract(const char *name, const char *cache, const char *bdev)
{
	json_t *m = manifest_case(name);
	json_t *want = json_object_get(json_object_get(m, "expected_logical_sha256"), "bcache0");
	char *out, *err = NULL, sum[65];
	int rc;

	if (!want) {
		json_decref(m);
		return;
	}
	out = t_tmpfile(0);
	rc = t_run(NULL, &err, "extract '%s' %s%s%s -o '%s'", cache, bdev ? "'" : "",
		   bdev ? bdev : "", bdev ? "'" : "", out);
	cr_assert_eq(rc, 0, "%s: rc %d: %s", name, rc, err);
	t_sha256_file(out, sum);
	cr_assert_str_eq(sum, json_string_value(want), "%s: content differs from the kernel's", name);
	free(err);
	free(out);
	json_decref(m);
}

/* dump-btree's live keys equal the kernel's dump after re-registration. */
static void check_keys_post(const char *name, const char *cache)
{
	json_t *m = manifest_case(name);
	char rel[256], *want, *got = NULL, *err = NULL;
	int rc;

	snprintf(rel, sizeof(rel), "images/%s/keys-post.txt.zst", name);
	rc = t_run(&got, &err, "dump-btree --keys-only '%s'", cache);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	if (!strcmp(name, "s02-registered-empty")) {
		cr_assert_str_eq(got, "");
		cr_assert_str_eq(json_string_value(json_object_get(
			json_object_get(m, "truth_after_reregister"), "nkeys")), "0");
	} else {
		want = t_read_text(rel, NULL);
		cr_assert_str_eq(got, want, "%s: view differs from the kernel's key dump", name);
		free(want);
	}
	free(got);
	free(err);
	json_decref(m);
}

static void commit_keeps_view(const char *name, bool backing)
{
	char *cache = image_of(name, "cache"), *bdev = backing ? image_of(name, "backing") : NULL;
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

Test(write, commit_s02) { commit_keeps_view("s02-registered-empty", false); }
Test(write, commit_s03) { commit_keeps_view("s03-writeback-dirty-clean-stop", true); }
Test(write, commit_s04) { commit_keeps_view("s04-writeback-dirty-crash", true); }
Test(write, commit_s05) { commit_keeps_view("s05-btree-depth2", true); }
Test(write, commit_s06) { commit_keeps_view("s06-flash-volume", false); }
Test(write, commit_s07) { commit_keeps_view("s07-writethrough-clean", true); }

/*
 * Crash safety: stop the commit after each of its writes in turn; every
 * prefix leaves a cache that opens (strict journal) with the same live
 * keys and content; the full run commits.
 */
static void crash_at_every_write(const char *name, bool backing)
{
	char *orig = image_of(name, "cache"), *bdev = backing ? image_of(name, "backing") : NULL;
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

Test(write, crash_s03, .timeout = 120) { crash_at_every_write("s03-writeback-dirty-clean-stop", true); }
Test(write, crash_s04, .timeout = 120) { crash_at_every_write("s04-writeback-dirty-crash", true); }
Test(write, crash_s05, .timeout = 180) { crash_at_every_write("s05-btree-depth2", true); }
Test(write, crash_s06, .timeout = 120) { crash_at_every_write("s06-flash-volume", false); }

/* -n: a read-only device refuses writes and a commit writes nothing. */
Test(write, readonly_refuses)
{
	char *cache = image_of("s03-writeback-dirty-clean-stop", "cache"), before[65], after[65];
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	struct cache_set c;
	struct bt_node_cache *nc;
	struct bt_write_ctx w;
	struct bkey_padded ptr;
	uint8_t block[4096] = { 0 };
	uint64_t b;

	t_sha256_file(cache, before);
	cr_assert_eq(bt_dev_open(cache, BT_DEV_FORCE, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_dev_write(&dev, block, sizeof(block), 0, "test block", &err),
		     -BT_ERR_DEV_READONLY);
	cr_assert(strstr(printbuf_str(&err), "opened read-only"), "%s", printbuf_str(&err));
	cr_assert_eq(bt_cache_set_open(&c, &dev, 0, &err), 0, "%s", printbuf_str(&err));
	nc = bt_node_cache_new(&c, 1 << 20, 0);
	cr_assert_eq(bt_mark_buckets(&c, nc, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_write_begin(&w, &c, nc), 0);
	cr_assert_eq(bt_bucket_alloc(&w, true, &b, &err), 0);
	printbuf_reset(&err);
	cr_assert_eq(bt_node_write(&w, NULL, 0, 0, (struct bkey *)c.root_key.w, &ptr, &err),
		     -BT_ERR_DEV_READONLY);
	printbuf_reset(&err);
	w.root_changed = true;
	cr_assert_eq(bt_commit(&w, &err), -BT_ERR_DEV_READONLY);
	cr_assert(strstr(printbuf_str(&err), "read-only"), "%s", printbuf_str(&err));
	cr_assert_eq(dev.nr_writes, 0);
	bt_node_cache_free(nc);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	t_sha256_file(cache, after);
	cr_assert_str_eq(after, before);
	printbuf_exit(&err);
	free(cache);
}
