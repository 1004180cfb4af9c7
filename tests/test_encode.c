/* test_encode.c --- the encoders (ondisk/bset.h, jset.h, prio_set.h, uuid_entry.h) against kernel-written bytes of
 * the golden images and round trips through the readers.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "libcore/read/btree.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/ondisk/bset.h"
#include "libcore/ondisk/prio_set.h"
#include "libcore/ondisk/uuid_entry.h"
#include "libcore/ondisk/jset.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/prio.h"
#include "libcore/read/uuid.h"

struct fix {
	char		*path;
	struct bt_dev	dev;
	struct cache_set c;
	struct printbuf	err;
};

static void fix_open(struct fix *f, const char *name, bool rw)
{
	f->path = t_golden_image(name, "cache");
	f->err = PRINTBUF;
	cr_assert_eq(bt_dev_open(f->path, (rw ? BT_DEV_RDWR : 0) | BT_DEV_FORCE, &f->dev, &f->err),
		     0, "%s", printbuf_str(&f->err));
	cr_assert_eq(bt_cache_set_open(&f->c, &f->dev, 0, &f->err), 0, "%s",
		     printbuf_str(&f->err));
}

static void fix_close(struct fix *f)
{
	bt_cache_set_exit(&f->c);
	bt_dev_close(&f->dev);
	printbuf_exit(&f->err);
	free(f->path);
}

static void *read_at(struct fix *f, size_t len, uint64_t off)
{
	void *buf = malloc(len);

	cr_assert(buf);
	cr_assert_eq(bt_dev_read(&f->dev, buf, len, off, "test", &f->err), 0, "%s",
		     printbuf_str(&f->err));
	return buf;
}

/* The first bset of the kernel's root node, re-encoded from its keys, seq and
 * pointer, is byte-identical (header, keys, seeded csum). */
static void bset_matches_kernel(const char *name)
{
	struct fix f;
	const struct bkey *root;
	const struct bset *i;
	uint8_t *node, *buf;
	size_t len;
	long n;

	fix_open(&f, name, false);
	root = (const struct bkey *)f.c.root_key.w;
	node = read_at(&f, (size_t)KEY_SIZE(root) << SECTOR_SHIFT, PTR_OFFSET(root, 0) << SECTOR_SHIFT);
	i = (const struct bset *)node;
	len = BSET_HEADER_BYTES + 8 * (size_t)le32toh(i->keys);
	buf = malloc(bt_bset_disk_bytes(&f.c, le32toh(i->keys)));
	n = bt_bset_encode(&f.c, buf, bt_bset_disk_bytes(&f.c, le32toh(i->keys)), le64toh(i->seq),
			   i->d, le32toh(i->keys), bk_ptr(root, 0), &f.err);
	cr_assert_eq(n, (long)bt_bset_disk_bytes(&f.c, le32toh(i->keys)));
	cr_assert_eq(n % (f.c.block_size << SECTOR_SHIFT), 0);
	cr_assert_eq(memcmp(buf, node, len), 0, "%s: re-encoded first bset differs", name);
	free(buf);
	free(node);
	fix_close(&f);
}

GOLDEN_TEST(encode, bset_s02_root) { bset_matches_kernel("s02-registered-empty"); }
GOLDEN_TEST(encode, bset_s03_root) { bset_matches_kernel("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(encode, bset_s05_root) { bset_matches_kernel("s05-btree-depth2"); }

/* A node of the root's keys written with a new seq at a free bucket reads back
 * with the same keys through bt_btree_node_read(). */
GOLDEN_TEST(encode, bset_round_trip)
{
	struct fix f;
	struct bt_node *n, *m;
	struct bkey_padded k;
	const struct bkey *root;
	uint64_t b = 900;	/* beyond every structure of s03 (1024 buckets, all near the start) */
	size_t sz;
	uint8_t *buf;

	fix_open(&f, "s03-writeback-dirty-clean-stop", true);
	root = (const struct bkey *)f.c.root_key.w;
	cr_assert_eq(bt_btree_node_read(&f.c, root, f.c.root_level, 0, &n, &f.err), 0, "%s",
		     printbuf_str(&f.err));
	bt_node_ptr_key(&f.c, b, (uint8_t)(f.c.buckets[b].gen + 1), root, &k);
	cr_assert_eq(KEY_SIZE((struct bkey *)k.w), f.c.btree_node_sectors);
	cr_assert_eq(KEY_OFFSET((struct bkey *)k.w), KEY_OFFSET(root));
	cr_assert_eq(KEY_INODE((struct bkey *)k.w), KEY_INODE(root));
	sz = bt_bset_disk_bytes(&f.c, n->u64s);
	buf = malloc(sz);
	cr_assert_gt(bt_bset_encode(&f.c, buf, sz, bt_random_seq(), n->keys, n->u64s,
				    bk_ptr((struct bkey *)k.w, 0), &f.err), 0);
	cr_assert_eq(bt_dev_write(&f.dev, buf, sz, b << (f.c.bucket_bits + SECTOR_SHIFT), "node",
				  &f.err), 0);
	cr_assert_eq(bt_btree_node_read(&f.c, (struct bkey *)k.w, f.c.root_level, 0, &m, &f.err),
		     0, "%s", printbuf_str(&f.err));
	cr_assert_eq(m->u64s, n->u64s);
	cr_assert_eq(m->nsets, 1);
	cr_assert_eq(memcmp(m->keys, n->keys, 8 * n->u64s), 0);
	bt_node_free(m);
	/* a seed from another gen fails the csum: the seed is really used */
	bt_node_ptr_key(&f.c, b, (uint8_t)(f.c.buckets[b].gen + 2), root, &k);
	printbuf_reset(&f.err);
	cr_assert_eq(bt_btree_node_read(&f.c, (struct bkey *)k.w, f.c.root_level, 0, &m, &f.err),
		     -BT_ERR_BSET_BAD_CSUM);
	bt_node_free(n);
	free(buf);
	fix_close(&f);
}

/* Re-encoding the kernel's prio chain from the gens and prios read gives the
 * kernel's entries, magic, seq and next_bucket; csum verifies (prio_read). */
static void prio_matches_kernel(const char *name)
{
	struct fix f;
	uint8_t *buf;

	fix_open(&f, name, true);
	buf = malloc(f.c.meta_bucket_bytes);
	for (unsigned i = 0; i < f.c.prio_buckets; i++) {
		uint64_t off = bt_bucket_to_sector(&f.c, f.c.prio_chain[i]) << SECTOR_SHIFT;
		struct prio_set *disk = read_at(&f, f.c.meta_bucket_bytes, off), *p = (void *)buf;
		uint64_t first = (uint64_t)i * f.c.prios_per_bucket, n = f.c.nbuckets - first;

		if (n > f.c.prios_per_bucket)
			n = f.c.prios_per_bucket;
		bt_prio_set_encode(&f.c, i, f.c.buckets, le64toh(disk->seq),
				   le64toh(disk->next_bucket), buf);
		/* magic, seq, version (never set: 0), pad, next_bucket */
		cr_assert_eq(memcmp((char *)p + 8, (char *)disk + 8, PRIO_SET_HEADER_BYTES - 8), 0,
			     "%s: prio_set header differs", name);
		cr_assert_eq(memcmp(p->data, disk->data, 3 * n), 0, "%s: prio entries differ", name);
		cr_assert_eq(le64toh(p->csum), bt_pset_csum(p, f.c.meta_bucket_bytes));
		/* the kernel's tail past nbuckets is zero on these images: whole bucket, csum included */
		cr_assert_eq(memcmp(p, disk, f.c.meta_bucket_bytes), 0, "%s: prio bucket %u differs",
			     name, i);
		free(disk);
	}
	free(buf);
	fix_close(&f);
}

GOLDEN_TEST(encode, prio_s02) { prio_matches_kernel("s02-registered-empty"); }
GOLDEN_TEST(encode, prio_s03) { prio_matches_kernel("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(encode, prio_s05) { prio_matches_kernel("s05-btree-depth2"); }

/* Changed gens written over the chain in place read back through bt_prio_read(). */
GOLDEN_TEST(encode, prio_round_trip)
{
	struct fix f;
	uint8_t *buf;
	struct bt_bucket *want;

	fix_open(&f, "s05-btree-depth2", true);
	want = calloc(f.c.nbuckets, sizeof(*want));
	for (uint64_t b = 0; b < f.c.nbuckets; b++) {
		want[b].gen = (uint8_t)(b * 7);
		want[b].prio = (uint16_t)(b * 13);
	}
	buf = malloc(f.c.meta_bucket_bytes);
	for (unsigned i = 0; i < f.c.prio_buckets; i++) {
		bt_prio_set_encode(&f.c, i, want, 77, i + 1 < f.c.prio_buckets ?
				   f.c.prio_chain[i + 1] : 12345, buf);
		cr_assert_eq(bt_dev_write(&f.dev, buf, f.c.meta_bucket_bytes,
					  bt_bucket_to_sector(&f.c, f.c.prio_chain[i]) << SECTOR_SHIFT,
					  "prio", &f.err), 0);
	}
	memset(f.c.buckets, 0, f.c.nbuckets * sizeof(*f.c.buckets));
	cr_assert_eq(bt_prio_read(&f.c, &f.err), 0, "%s", printbuf_str(&f.err));
	cr_assert_eq(f.c.prio_seq, 77);
	for (uint64_t b = 0; b < f.c.nbuckets; b++) {
		cr_assert_eq(f.c.buckets[b].gen, want[b].gen, "bucket %llu", (unsigned long long)b);
		cr_assert_eq(f.c.buckets[b].prio, want[b].prio);
	}
	free(want);
	free(buf);
	fix_close(&f);
}

/* The uuid bucket re-encoded from the slots read is the kernel's bucket. */
static void uuid_matches_kernel(const char *name)
{
	struct fix f;
	const struct bkey *u;
	uint8_t *buf, *disk;
	struct bkey_padded k;

	fix_open(&f, name, false);
	u = (const struct bkey *)f.c.uuid_key.w;
	buf = malloc(f.c.meta_bucket_bytes);
	bt_uuid_bucket_encode(&f.c, f.c.uuids, buf);
	disk = read_at(&f, f.c.meta_bucket_bytes, PTR_OFFSET(u, 0) << SECTOR_SHIFT);
	cr_assert_eq(memcmp(buf, disk, f.c.meta_bucket_bytes), 0, "%s: uuid bucket differs", name);
	/* the key the kernel wrote: 0:0, meta bucket sectors, one pointer */
	bt_uuid_ptr_key(&f.c, PTR_BUCKET_NR(&f.c, u, 0), (uint8_t)PTR_GEN(u, 0), &k);
	cr_assert_eq(memcmp(k.w, u, bkey_bytes(u)), 0, "%s: uuid key differs", name);
	free(buf);
	free(disk);
	fix_close(&f);
}

GOLDEN_TEST(encode, uuid_s03) { uuid_matches_kernel("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(encode, uuid_s06) { uuid_matches_kernel("s06-flash-volume"); }

/* The newest jset re-encoded from its fields has the kernel's header and keys. */
GOLDEN_TEST(encode, jset_matches_kernel)
{
	static const char *const cases[] = { "s03-writeback-dirty-clean-stop", "s05-btree-depth2" };

	for (unsigned n = 0; n < 2; n++) {
		struct fix f;
		const struct jset *j;
		struct bt_jset_fields jf;
		struct jset *e;
		size_t sz;

		fix_open(&f, cases[n], false);
		j = bt_journal_newest(&f.c.journal)->j;
		jf = (struct bt_jset_fields) {
			.seq = le64toh(j->seq), .last_seq = le64toh(j->last_seq),
			.btree_root = (const struct bkey *)j->btree_root,
			.btree_level = le16toh(j->btree_level),
			.uuid_bucket = (const struct bkey *)j->uuid_bucket,
			.prio_bucket = le64toh(j->prio_bucket[f.c.nr_this_dev]),
			.keys = j->d, .u64s = le32toh(j->keys),
		};
		sz = bt_jset_disk_bytes(&f.c, jf.u64s);
		e = malloc(sz);
		cr_assert_eq(bt_jset_encode(&f.c, e, sz, &jf, &f.err), (long)sz);
		cr_assert_eq(memcmp((char *)e + 8, (const char *)j + 8, 32), 0, "%s header", cases[n]);
		cr_assert_eq(memcmp(e->d, j->d, 8 * jf.u64s), 0);
		cr_assert_eq(e->btree_level, j->btree_level);
		cr_assert_eq(e->prio_bucket[f.c.nr_this_dev], j->prio_bucket[f.c.nr_this_dev]);
		cr_assert_eq(le64toh(e->csum), bt_jset_csum(e));
		free(e);
		fix_close(&f);
	}
}

/* A jset with seq newest+1 written after the newest entry is the newest on re-read. */
GOLDEN_TEST(encode, jset_round_trip)
{
	struct fix f;
	struct bt_jset_fields jf;
	struct bkey_padded root;
	const struct bt_journal_entry *e;
	uint64_t seq, keys[3];
	size_t sz;
	void *buf;

	fix_open(&f, "s03-writeback-dirty-clean-stop", true);
	seq = f.c.journal.newest_seq;
	root = f.c.root_key;
	bkey_init_pos((struct bkey *)keys, 0, 4096, 8);
	SET_KEY_PTRS((struct bkey *)keys, 1);
	SET_PTR((struct bkey *)keys, 0, 1, 5000, 0);
	jf = (struct bt_jset_fields) {
		.seq = seq + 1, .last_seq = seq + 1, .btree_root = (struct bkey *)root.w,
		.btree_level = f.c.root_level, .uuid_bucket = (struct bkey *)f.c.uuid_key.w,
		.prio_bucket = f.c.prio_start, .keys = keys, .u64s = 3,
	};
	sz = bt_jset_disk_bytes(&f.c, 3);
	buf = malloc(sz);
	cr_assert_eq(bt_jset_encode(&f.c, buf, sz, &jf, &f.err), (long)sz);
	cr_assert_eq(bt_dev_write(&f.dev, buf, sz, f.c.journal.cur_sector << SECTOR_SHIFT, "jset",
				  &f.err), 0);
	cr_assert_eq(bt_journal_read(&f.c, &f.err), 0, "%s", printbuf_str(&f.err));
	e = bt_journal_newest(&f.c.journal);
	cr_assert_eq(f.c.journal.newest_seq, seq + 1);
	cr_assert_eq(f.c.journal.nr, 1);
	cr_assert_eq(f.c.journal.nr_keys, 1);
	cr_assert_eq(memcmp(e->j->d, keys, 24), 0);
	cr_assert_eq(bt_journal_check_newest(&f.c, &f.err), 0, "%s", printbuf_str(&f.err));
	cr_assert_eq(memcmp(f.c.root_key.w, root.w, 24), 0);
	free(buf);
	fix_close(&f);
}

/* Encoders refuse what does not fit. */
GOLDEN_TEST(encode, too_big)
{
	struct fix f;
	struct bt_jset_fields jf = { .u64s = (JSET_MAX_BYTES - JSET_HEADER_BYTES) / 8 + 1 };
	uint8_t small[64];

	fix_open(&f, "s02-registered-empty", false);
	jf.keys = calloc(jf.u64s, 8);
	cr_assert_eq(bt_jset_encode(&f.c, small, sizeof(small), &jf, &f.err), -EINVAL);
	cr_assert_eq(bt_bset_encode(&f.c, small, sizeof(small), 1, NULL, 0, 0, &f.err), -EINVAL);
	free((void *)jf.keys);
	fix_close(&f);
}
