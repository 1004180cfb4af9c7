/* test_dump_btree.c --- dump-btree and node reads on the golden kernel images.
 *
 * Expected values come from the kernel: its own debugfs key dumps
 * (keys-post.txt.zst), MANIFEST.json (tree_depth, btree_nodes after
 * re-registration), and the kernel's error messages for damaged nodes of
 * s05 recorded in FORMAT.md errata E5.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/btree.h"
#include "libcore/read/node_cache.h"
#include "libcore/ondisk/bset.h"
#include "libcore/dev/dev.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"

#define S05 "s05-btree-depth2"
#define S05_BUCKET_BYTES 65536ULL	/* 64 KiB buckets, 4 KiB blocks (MANIFEST) */
#define S05_BLOCK_BYTES 4096ULL

/* dump-btree --keys-only of a case's cache equals the kernel's debugfs dump. */
static void keys_equal_kernel_dump(const char *cas)
{
	char *img = t_golden_image(cas, "cache"), *out = t_keys_match_kernel(cas, img, "--no-journal");

	cr_assert(strlen(out) > 0);
	free(out);
	free(img);
}

/* Cases whose journal holds nothing the btree lacks: the on-disk btree alone is the kernel's view. */
GOLDEN_TEST(dump_btree, s03_keys_equal_kernel_dump) { keys_equal_kernel_dump("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(dump_btree, s05_keys_equal_kernel_dump) { keys_equal_kernel_dump("s05-btree-depth2"); }
GOLDEN_TEST(dump_btree, s06_keys_equal_kernel_dump) { keys_equal_kernel_dump("s06-flash-volume"); }
GOLDEN_TEST(dump_btree, s07_keys_equal_kernel_dump) { keys_equal_kernel_dump("s07-writethrough-clean"); }

static json_t *dump_json(const char *img, const char *opts)
{
	char *out = NULL, *err = NULL;
	json_error_t je;
	json_t *o;
	int rc = t_run(&out, &err, "dump-btree --json %s '%s'", opts, img);

	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	o = json_loads(out, 0, &je);
	cr_assert(o, "bad JSON: %s", je.text);
	free(out);
	free(err);
	return o;
}

GOLDEN_TEST(dump_btree, s05_nodes_and_depth_match_manifest)
{
	json_t *m = t_manifest_case(S05), *d, *nodes;
	char *img = t_golden_image(S05, "cache");
	long long want_nodes, want_depth, max_level = -1, nonroot = 0;

	want_nodes = atoll(t_manifest_str(m, "truth_after_reregister", "btree_nodes"));
	want_depth = atoll(t_manifest_str(m, "truth_after_reregister", "tree_depth"));
	cr_assert_eq(want_nodes, 8);
	cr_assert_eq(want_depth, 1);

	d = dump_json(img, "--nodes-only");
	nodes = json_object_get(d, "nodes");
	for (size_t i = 0; i < json_array_size(nodes); i++) {
		json_t *n = json_array_get(nodes, i);
		long long lvl = json_integer_value(json_object_get(n, "level"));

		if (json_integer_value(json_object_get(n, "depth")) > 0)
			nonroot++;
		if (lvl > max_level)
			max_level = lvl;
	}
	/* MANIFEST errata: after re-registration btree_nodes counts the non-root nodes */
	cr_assert_eq(nonroot, want_nodes);
	cr_assert_eq(max_level, want_depth);
	cr_assert_eq(json_integer_value(json_object_get(d, "root_level")), want_depth);
	json_decref(d);
	json_decref(m);
	free(img);
}

GOLDEN_TEST(dump_btree, low_cache_bound_reclaims_same_dump)
{
	char *img = t_golden_image(S05, "cache");
	char *big = NULL, *small = NULL;
	json_t *d, *s;
	long long peak, reclaimed;

	cr_assert_eq(t_run(&big, NULL, "dump-btree --keys-only '%s'", img), 0);
	cr_assert_eq(t_run(&small, NULL, "dump-btree --keys-only --cache-size 1 '%s'", img), 0);
	cr_assert_str_eq(small, big);

	d = dump_json(img, "--cache-size 100k");
	s = json_object_get(d, "stats");
	peak = json_integer_value(json_object_get(s, "cache_peak_bytes"));
	reclaimed = json_integer_value(json_object_get(s, "cache_reclaimed"));
	cr_assert_eq(json_integer_value(json_object_get(s, "nodes")), 9);
	/* 8 leaves of about 40 KiB each do not fit in 100 KiB: most are reclaimed */
	cr_assert_geq(reclaimed, 6, "reclaimed %lld", reclaimed);
	/* bound + the pinned path (root + one leaf) */
	cr_assert_lt(peak, 100 * 1024 + 2 * 64 * 1024, "peak %lld", peak);
	json_decref(d);
	free(big);
	free(small);
	free(img);
}

/* on 6.1's image only: the bucket, block and journal layout are that kernel's */
Test(dump_btree, s05_bad_checksum_kernel_message)
{
	char *img = t_golden_image(S05, "cache"), *err = NULL;
	unsigned char junk = 0x5a;
	char want[200];
	uint64_t off = 667 * S05_BUCKET_BYTES + 9 * S05_BLOCK_BYTES;

	t_patch(img, off + 200, &junk, 1);		/* inside the keys of the bset at block 9 */
	cr_assert_eq(t_run(NULL, &err, "dump-btree --nodes-only '%s'", img), 1);
	/* FORMAT.md E5: the kernel said "bad checksum at bucket 667, block 9, 504 keys" */
	snprintf(want, sizeof(want), "bcache-tool: bad checksum at bucket 667, block 9, 504 keys (byte %llu of '%s')",
		 (unsigned long long)off, img);
	cr_assert(strstr(err, want), "stderr: %s", err);
	free(err);
	free(img);
}

/* on 6.1's image only: the bucket, block and journal layout are that kernel's */
Test(dump_btree, s05_corrupted_btree_kernel_message)
{
	char *img = t_golden_image(S05, "cache"), *err = NULL;
	uint64_t seq = 0x0123456789abcdefULL;
	char want[200];
	uint64_t off = 724 * S05_BUCKET_BYTES;

	/* the bset at block 6 gets another seq: block 7 still carries the node's */
	t_patch(img, off + 6 * S05_BLOCK_BYTES + 16, &seq, 8);
	cr_assert_eq(t_run(NULL, &err, "dump-btree --nodes-only '%s'", img), 1);
	/* FORMAT.md E5: "corrupted btree at bucket 724, block 7, 12 keys" */
	snprintf(want, sizeof(want), "corrupted btree at bucket 724, block 7, 12 keys (byte %llu of '%s')",
		 (unsigned long long)(off + 7 * S05_BLOCK_BYTES), img);
	cr_assert(strstr(err, want), "stderr: %s", err);
	free(err);
	free(img);
}

/* A leaf of s05 with at least `sets` bsets: where it is and where its bsets start. */
struct bsets {
	uint64_t	bucket, byte;		/* the node's bucket and byte offset */
	uint64_t	block_bytes;
	unsigned	nr, block[16];		/* the blocks its bsets start at */
	uint32_t	keys[16];		/* u64s of keys of each */
};

struct bsets_find {
	struct cache_set	*c;
	unsigned		want;
	struct bsets		*out;
	bool			found;
};

/* The bsets of leaf n as its read accepts them (bt_bset_check() from block 0 on). */
static int find_bsets(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct bsets_find *f = arg;
	size_t bytes = (size_t)n->btree_blocks * bt_block_bytes(f->c);
	uint8_t *buf;
	struct printbuf err = PRINTBUF;
	struct bt_node_where w = { .dev = "?", .bucket = n->bucket };
	struct bsets b = { .bucket = n->bucket, .block_bytes = bt_block_bytes(f->c) };

	(void)pos;
	if (f->found || n->level || n->nsets < f->want || n->nsets > 16)
		return 0;
	b.byte = bt_bucket_to_sector(f->c, n->bucket) << SECTOR_SHIFT;
	buf = malloc(bytes);
	cr_assert(buf);
	cr_assert_eq(bt_dev_read(f->c->dev, buf, bytes, b.byte, "node", &err), 0);
	for (unsigned blk = 0; blk < n->written && b.nr < n->nsets;) {
		struct bt_bset_info info;

		cr_assert_eq(bt_bset_check(f->c, buf, n->btree_blocks, blk,
					   bk_ptr((const struct bkey *)n->key, 0), blk == 0, &w, &info,
					   &err), 0, "%s", printbuf_str(&err));
		b.block[b.nr] = blk;
		b.keys[b.nr++] = info.keys;
		blk += (unsigned)info.blocks;
	}
	free(buf);
	printbuf_exit(&err);
	*f->out = b;
	f->found = true;
	return 0;
}

/* The first leaf of s05 (of the kernel's image set) with at least `want` bsets. */
static struct bsets s05_leaf_with_bsets(const char *img, unsigned want)
{
	struct printbuf err = PRINTBUF;
	struct bt_dev dev = { .fd = -1 };
	struct cache_set c;
	struct bt_node_cache *nc;
	struct bsets b = { 0 };
	struct bsets_find f = { .c = &c, .want = want, .out = &b };
	/* the gens raised as the walk goes: stale pointers to old nodes are passed over */
	struct bt_walk_opts o = { .node_fn = find_bsets, .arg = &f, .flags = BT_WALK_RAISE_GENS };

	cr_assert_eq(bt_dev_open(img, BT_DEV_FORCE, &dev, &err), 0, "%s", printbuf_str(&err));
	cr_assert_eq(bt_cache_set_open(&c, &dev, 0, &err), 0, "%s", printbuf_str(&err));
	nc = bt_node_cache_new(&c, 1 << 20, 0);
	cr_assert_eq(bt_btree_walk(nc, (const struct bkey *)&c.root_key, c.root_level, &o, &err), 0,
		     "%s", printbuf_str(&err));
	cr_assert(f.found, "no leaf of s05 has %u bsets", want);
	bt_node_cache_free(nc);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	return b;
}

/*
 * The same damage as the two tests above on a leaf found in the image of
 * either kernel: the message names the bucket, the block, the bset's keys
 * and the byte, as the kernel's does (its words checked above on 6.1).
 */
GOLDEN_TEST(dump_btree, bad_checksum_names_bucket_block_keys)
{
	char *img = t_golden_image(S05, "cache"), *err = NULL;
	struct bsets b = s05_leaf_with_bsets(img, 2);
	uint64_t off = b.byte + b.block[1] * b.block_bytes;
	unsigned char junk = 0x5a;
	char want[300];

	t_patch(img, off + 40, &junk, 1);		/* inside the keys of its second bset */
	cr_assert_eq(t_run(NULL, &err, "dump-btree --nodes-only '%s'", img), 1);
	snprintf(want, sizeof(want), "bcache-tool: bad checksum at bucket %llu, block %u, %u keys "
		 "(byte %llu of '%s')", (unsigned long long)b.bucket, b.block[1], b.keys[1],
		 (unsigned long long)off, img);
	cr_assert(strstr(err, want), "want %s\nstderr: %s", want, err);
	free(err);
	free(img);
}

GOLDEN_TEST(dump_btree, node_seq_after_a_later_bset_is_corrupted)
{
	char *img = t_golden_image(S05, "cache"), *err = NULL;
	struct bsets b = s05_leaf_with_bsets(img, 3);
	uint64_t seq = 0x0123456789abcdefULL;
	char want[300];

	/* the second bset gets another seq: the third still carries the node's */
	t_patch(img, b.byte + b.block[1] * b.block_bytes + 16, &seq, 8);
	cr_assert_eq(t_run(NULL, &err, "dump-btree --nodes-only '%s'", img), 1);
	snprintf(want, sizeof(want), "corrupted btree at bucket %llu, block %u, %u keys (byte %llu of '%s')",
		 (unsigned long long)b.bucket, b.block[2], b.keys[2],
		 (unsigned long long)(b.byte + b.block[2] * b.block_bytes), img);
	cr_assert(strstr(err, want), "want %s\nstderr: %s", want, err);
	free(err);
	free(img);
}

/* The key of s05's level-1 root that points to the leaf at bucket b; false if there is none. */
static bool s05_leaf_key(struct cache_set *c, uint64_t b, struct bkey_padded *key)
{
	struct printbuf err = PRINTBUF;
	struct bt_node *root = NULL;
	const struct bkey *k;
	bool found = false;

	cr_assert_eq(bt_btree_node_read(c, (struct bkey *)&c->root_key, c->root_level, 0, &root,
					&err), 0, "%s", printbuf_str(&err));
	for_each_node_key(root, k)
		if (!bt_btree_ptr_bad(c, k) && PTR_BUCKET_NR(c, k, 0) == b) {
			memcpy(key, k, bkey_bytes(k));
			found = true;
		}
	bt_node_free(root);
	printbuf_exit(&err);
	return found;
}

GOLDEN_TEST(dump_btree, s05_short_btree_key_kernel_message)
{
	char *img = t_golden_image(S05, "cache");
	struct t_cset s;
	struct bt_node *n = NULL;
	struct bkey_padded key;

	t_cset_open(&s, img, BT_DEV_FORCE, 0);
	cr_assert(s05_leaf_key(&s.c, 525, &key));
	/* a parent key that ends before the node's last key */
	SET_KEY_OFFSET((struct bkey *)&key, 60000);
	cr_assert_eq(bt_btree_node_read(&s.c, (struct bkey *)&key, 0, 0, &n, &s.err),
		     -BT_ERR_BTREE_NODE_SHORT_KEY, "%s", printbuf_str(&s.err));
	/* FORMAT.md E5: "short btree key at bucket 525, block 0, 5091 keys" */
	cr_assert(!strncmp(printbuf_str(&s.err), "short btree key at bucket 525, block 0, 5091 keys (byte ", 56),
		  "%s", printbuf_str(&s.err));
	t_cset_close(&s);
	free(img);
}

/*
 * Robustness: random key bytes in a real leaf (bsets re-signed so that the
 * merge sees them) never crash or overrun (run under make asan), and the
 * parse returns 0 or a BT_ERR code with a message.
 */
GOLDEN_TEST(dump_btree, garbage_keys_in_signed_bsets)
{
	char *img = t_golden_image(S05, "cache");
	struct t_cset sc;
	struct cache_set *c = &sc.c;
	struct printbuf *err = &sc.err;
	struct bkey_padded key;
	const struct bkey *k;
	unsigned char *orig, *buf;
	unsigned blocks[16], keys[16], nsets = 0;
	size_t bytes = S05_BUCKET_BYTES;
	unsigned seed = 12345, ok = 0, failed = 0;

	t_cset_open(&sc, img, BT_DEV_FORCE, 0);
	cr_assert(s05_leaf_key(c, 525, &key));
	orig = malloc(bytes);
	buf = malloc(bytes);
	cr_assert_eq(bt_dev_read(&sc.dev, orig, bytes, 525 * S05_BUCKET_BYTES, "node", err), 0);
	for (unsigned b = 0; b < 16 && nsets < 16;) {
		const struct bset *i = (const struct bset *)(orig + b * S05_BLOCK_BYTES);

		if (i->seq != ((const struct bset *)orig)->seq)
			break;
		blocks[nsets] = b;
		keys[nsets++] = le32toh(i->keys);
		b += (32 + 8 * le32toh(i->keys) + 4095) / 4096;
	}
	cr_assert_eq(nsets, 6);
	for (unsigned round = 0; round < 200; round++) {
		struct bt_node *n = NULL;
		int ret;

		memcpy(buf, orig, bytes);
		for (unsigned j = 0; j < 1 + round % 40; j++) {
			unsigned s = rand_r(&seed) % nsets;
			size_t off = blocks[s] * S05_BLOCK_BYTES + 32 + rand_r(&seed) % (8 * keys[s]);

			buf[off] = (unsigned char)rand_r(&seed);
		}
		for (unsigned s = 0; s < nsets; s++) {
			struct bset *i = (struct bset *)(buf + blocks[s] * S05_BLOCK_BYTES);

			i->csum = htole64(bt_bset_csum(i, bk_ptr((struct bkey *)&key, 0)));
		}
		printbuf_reset(err);
		ret = bt_btree_node_parse(c, (struct bkey *)&key, 0, buf, 0, &n, err);
		if (ret) {
			cr_assert(bt_err_str(ret) && err->pos, "ret %d without a message", ret);
			failed++;
		} else {
			size_t cnt = 0;

			for_each_node_key(n, k)
				cnt++;
			cr_assert_eq(cnt, n->nr_keys);
			ok++;
		}
		bt_node_free(n);
	}
	cr_assert_eq(ok + failed, 200);
	cr_log_info("garbage keys: %u nodes parsed, %u refused", ok, failed);
	cr_assert_gt(ok, 0);
	free(orig);
	free(buf);
	t_cset_close(&sc);
	free(img);
}

/* --start/--end/--inode select the kernel dump's lines that overlap the range. */
GOLDEN_TEST(dump_btree, s03_filters_match_kernel_dump_lines)
{
	char *img = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	char *want = t_golden_keys("s03-writeback-dirty-clean-stop");
	char *out = NULL, *line, *save = NULL;
	struct printbuf exp = PRINTBUF;
	unsigned long long lo = 1000, hi = 3000, nsel = 0;

	for (line = strtok_r(want, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long inode, start, len;

		cr_assert_eq(sscanf(line, "%llu:%llu len %llu", &inode, &start, &len), 3);
		if (inode == 0 && start < hi && start + len > lo) {
			prt_printf(&exp, "%s\n", line);
			nsel++;
		}
	}
	cr_assert_gt(nsel, 3);
	cr_assert_eq(t_run(&out, NULL, "dump-btree --keys-only --inode 0 --start %llu --end %llu '%s'",
			   lo, hi, img), 0);
	cr_assert_str_eq(out, printbuf_str(&exp));
	free(out);
	cr_assert_eq(t_run(&out, NULL, "dump-btree --keys-only --inode 1 '%s'", img), 0);
	cr_assert_str_eq(out, "");
	free(out);
	printbuf_exit(&exp);
	free(want);
	free(img);
}

/* s04's keys live only in the journal: the btree is empty and the summary
 * counts the keys the kernel replayed ("journal replay done, 120 keys"). */
/* s04's keys live only in the journal: shown with the overlay, left out with --no-journal */
GOLDEN_TEST(dump_btree, s04_journal_keys_not_shown)
{
	json_t *m = t_manifest_case("s04-writeback-dirty-crash"), *msgs, *d, *s;
	char *img = t_golden_image("s04-writeback-dirty-crash", "cache");
	long long want = -1;

	msgs = json_object_get(json_object_get(m, "reregister"), "dmesg_bcache");
	for (size_t i = 0; i < json_array_size(msgs); i++) {
		const char *p = strstr(json_string_value(json_array_get(msgs, i)), "replay done, ");

		if (p)
			want = atoll(p + strlen("replay done, "));
	}
	cr_assert_eq(want, 120);
	d = dump_json(img, "--no-journal");
	s = json_object_get(d, "stats");
	cr_assert_eq(json_integer_value(json_object_get(s, "keys_printed")), 0);
	cr_assert_eq(json_integer_value(json_object_get(s, "journal_keys_not_shown")), want);
	json_decref(d);
	d = dump_json(img, "");
	s = json_object_get(d, "stats");
	cr_assert_eq(json_integer_value(json_object_get(d, "journal_keys_replayed")), want);
	cr_assert_eq(json_integer_value(json_object_get(s, "keys_printed")), want);
	cr_assert_eq(json_integer_value(json_object_get(s, "journal_keys_not_shown")), 0);
	json_decref(d);
	json_decref(m);
	free(img);
}
