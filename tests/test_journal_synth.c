/* test_journal_synth.c --- the journal list rules (FORMAT.md 5.3-5.5) on small
 * synthetic caches: wrapped journals, duplicates, stale entries, gaps.
 *
 * Geometry: 1024 buckets of 16 sectors, 512-byte blocks, first_bucket 2,
 * 8 journal buckets (2..9). Root in bucket 100, uuids in 101, prios in 102.
 * Expected results follow from the kernel's rules, not from our output.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/prio.h"
#include "helpers.h"

#define S_BUCKET	16u
#define S_NBUCKETS	1024u
#define S_FIRST		2u
#define S_JBUCKETS	8u
#define S_ROOT		100u
#define S_UUID		101u
#define S_PRIO		102u

static const uint8_t s_set_uuid[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
					0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

static uint64_t set_magic(void)
{
	uint64_t m;

	memcpy(&m, s_set_uuid, 8);
	return le64toh(m);
}

static void pw(int fd, const void *buf, size_t len, uint64_t off)
{
	cr_assert_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
}

/* A synced cache with superblock, an empty uuid bucket and a valid one-bucket prio chain. */
static char *synth_cache(int *fdp)
{
	char *path = t_tmpfile((uint64_t)S_NBUCKETS * S_BUCKET * 512);
	uint8_t block[SB_SIZE] = { 0 };
	size_t meta = 2 * BT_PAGE_SIZE;		/* 16-sector bucket: 2 pages */
	struct prio_set *p = calloc(1, meta);
	struct cache_sb sb = { 0 };
	int fd = open(path, O_RDWR);

	cr_assert(fd >= 0 && p);
	sb.offset = SB_SECTOR;
	sb.version = BCACHE_SB_VERSION_CDEV_WITH_UUID;
	memcpy(sb.magic, bcache_sb_magic, 16);
	memset(sb.uuid, 0x5a, 16);
	memcpy(sb.set_uuid, s_set_uuid, 16);
	sb.flags = SET_CACHE_SYNC(0, 1);
	sb.seq = 1;
	sb.nbuckets = S_NBUCKETS;
	sb.block_size = 1;
	sb.bucket_size_raw = S_BUCKET;
	sb.bucket_size = S_BUCKET;
	sb.nr_in_set = 1;
	sb.first_bucket = S_FIRST;
	sb.keys = S_JBUCKETS;
	for (unsigned i = 0; i < S_JBUCKETS; i++)
		sb.d[i] = S_FIRST + i;
	bt_sb_encode(&sb, (struct cache_sb_disk *)block);
	pw(fd, block, SB_SIZE, SB_OFFSET_BYTES);

	p->magic = htole64(set_magic() ^ PSET_MAGIC_XOR);
	p->seq = htole64(1);
	for (unsigned b = 0; b < S_NBUCKETS; b++)
		p->data[b].gen = 1;
	p->csum = htole64(bt_pset_csum(p, meta));
	pw(fd, p, meta, (uint64_t)S_PRIO * S_BUCKET * 512);
	free(p);
	*fdp = fd;
	return path;
}

/* Write a jset with nkeys one-pointer dirty extents at sector offset off of journal bucket idx. */
static unsigned put_jset(int fd, unsigned idx, unsigned off, uint64_t seq, uint64_t last_seq,
			 unsigned nkeys)
{
	size_t bytes = JSET_HEADER_BYTES + 24u * nkeys;
	struct jset *j = calloc(1, bytes);
	struct bkey *k;

	j->magic = htole64(set_magic() ^ JSET_MAGIC_XOR);
	j->seq = htole64(seq);
	j->last_seq = htole64(last_seq);
	j->version = htole32(BCACHE_JSET_VERSION);
	j->keys = htole32(3 * nkeys);
	k = (struct bkey *)j->btree_root;
	bkey_init_pos(k, MAX_KEY_INODE, MAX_KEY_OFFSET, S_BUCKET);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 1, (uint64_t)S_ROOT * S_BUCKET, 0);
	k = (struct bkey *)j->uuid_bucket;
	bkey_init_pos(k, 0, 0, S_BUCKET);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, 1, (uint64_t)S_UUID * S_BUCKET, 0);
	j->prio_bucket[0] = htole64(S_PRIO);
	for (unsigned i = 0; i < nkeys; i++) {
		k = (struct bkey *)(j->d + 3 * i);
		bkey_init_pos(k, 0, 1000 * seq + 8 * (i + 1), 8);
		SET_KEY_PTRS(k, 1);
		SET_KEY_DIRTY(k, 1);
		SET_PTR(k, 0, 1, (uint64_t)(200 + i) * S_BUCKET, 0);
	}
	j->csum = htole64(bt_jset_csum(j));
	pw(fd, j, bytes, ((uint64_t)(S_FIRST + idx) * S_BUCKET + off) * 512);
	free(j);
	return (unsigned)((bytes + 511) / 512);	/* sectors used, 512-byte blocks */
}

static void open_synth(const char *path, struct bt_dev *dev, struct cache_set *c, int expect)
{
	struct printbuf err = PRINTBUF;
	int ret;

	cr_assert_eq(bt_dev_open(path, BT_DEV_FORCE, dev, &err), 0, "%s", printbuf_str(&err));
	ret = bt_cache_set_open(c, dev, 0, &err);
	cr_assert_eq(ret, expect, "%d: %s", ret, printbuf_str(&err));
	printbuf_exit(&err);
}

static void seqs_are(const struct cache_set *c, uint64_t from, uint64_t to)
{
	cr_assert_eq(c->journal.nr, to - from + 1, "%zu entries", c->journal.nr);
	for (size_t i = 0; i < c->journal.nr; i++)
		cr_assert_eq(le64toh(c->journal.entries[i].j->seq), from + i);
}

/*
 * A journal that has wrapped: buckets 1..7 hold old seqs 3..16 (two each),
 * bucket 0 the newest 17 and 18. Replay range = [18.last_seq, 18].
 */
Test(journal_synth, wrapped)
{
	int fd;
	char *path = synth_cache(&fd);
	struct cache_set c;
	struct bt_dev dev;
	uint64_t seq = 3;

	for (unsigned idx = 1; idx < S_JBUCKETS; idx++) {
		unsigned off = put_jset(fd, idx, 0, seq, seq - 2, 1);

		put_jset(fd, idx, off, seq + 1, seq - 1, 2);
		seq += 2;
	}
	cr_assert_eq(seq, 17);
	put_jset(fd, 0, put_jset(fd, 0, 0, 17, 14, 3), 18, 15, 1);
	close(fd);

	open_synth(path, &dev, &c, 0);
	cr_assert_eq(c.journal.newest_seq, 18);
	cr_assert_eq(c.journal.last_seq, 15);
	seqs_are(&c, 15, 18);
	/* keys: 15 -> 1, 16 -> 2, 17 -> 3, 18 -> 1 */
	cr_assert_eq(c.journal.nr_keys, 7);
	cr_assert_eq(c.journal.cur_idx, 0);
	cr_assert_eq(c.journal.nr_missing, 0);
	cr_assert(!c.journal.kernel_differs);
	cr_assert_eq(c.journal.bucket_seq[7], 16);
	cr_assert_eq(c.prio_chain[0], S_PRIO);
	cr_assert_eq(c.buckets[500].gen, 1);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
}

/* The same seq twice (two buckets), and a stale entry after the newest. */
Test(journal_synth, duplicate_and_stale)
{
	int fd;
	char *path = synth_cache(&fd);
	struct cache_set c;
	struct bt_dev dev;
	unsigned off;

	off = put_jset(fd, 0, 0, 10, 9, 1);
	put_jset(fd, 0, off, 11, 10, 1);
	off = put_jset(fd, 1, 0, 11, 10, 4);	/* duplicate of 11: the first one read is kept */
	put_jset(fd, 1, off, 12, 10, 1);
	put_jset(fd, 2, 0, 5, 4, 1);		/* older than last_seq 10: dropped */
	close(fd);

	open_synth(path, &dev, &c, 0);
	seqs_are(&c, 10, 12);
	cr_assert_eq(c.journal.entries[1].bucket_idx, 0);
	cr_assert_eq(c.journal.nr_keys, 3);
	cr_assert_eq(c.journal.nr_all, 5);
	cr_assert_eq(c.journal.cur_idx, 1);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
}

/* A gap inside the replay range is recorded as the kernel's replay would name it. */
Test(journal_synth, gap)
{
	int fd;
	char *path = synth_cache(&fd);
	struct cache_set c;
	struct bt_dev dev;
	struct printbuf out = PRINTBUF;

	put_jset(fd, 0, put_jset(fd, 0, 0, 20, 20, 1), 21, 20, 1);
	put_jset(fd, 1, 0, 24, 20, 1);
	close(fd);

	open_synth(path, &dev, &c, 0);
	cr_assert_eq(c.journal.nr, 3);
	cr_assert_eq(c.journal.nr_missing, 1);
	cr_assert_eq(c.journal.missing[0][0], 22);
	cr_assert_eq(c.journal.missing[0][1], 23);
	bt_journal_problems_to_text(&out, &c);
	cr_assert(strstr(printbuf_str(&out), "journal entries 22-23 missing! (replaying 20-24)"),
		  "%s", printbuf_str(&out));
	printbuf_exit(&out);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
}

/* An entry that fills its bucket exactly, then one that would cross the bucket end. */
Test(journal_synth, bucket_end)
{
	int fd;
	char *path = synth_cache(&fd);
	struct cache_set c;
	struct bt_dev dev;
	/* 240 + 24*n bytes in 15 sectors: n = 310 -> 7680 bytes = 15 sectors exactly */
	unsigned used = put_jset(fd, 0, 0, 30, 30, 310);

	cr_assert_eq(used, 15);
	put_jset(fd, 0, 15, 31, 30, 0);		/* the last sector of the bucket */
	cr_assert_eq(put_jset(fd, 1, 0, 32, 30, 310), 15);
	/* a 2-sector jset at the last sector of bucket 1: too big for what is left */
	put_jset(fd, 1, 15, 33, 30, 20);
	close(fd);

	open_synth(path, &dev, &c, 0);
	seqs_are(&c, 30, 32);
	cr_assert_eq(c.journal.nr_damage, 1);
	cr_assert_eq(c.journal.damage[0].kind, BT_JDAMAGE_TOO_BIG);
	cr_assert_eq(c.journal.damage[0].seq, 33);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
}
