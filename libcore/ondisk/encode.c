/* encode.c --- on-disk images of bsets, prio sets, uuid buckets and jsets (encode.h). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "libcore/base/csum.h"
#include "libcore/ondisk/encode.h"
#include "libcore/read/journal.h"
#include "libcore/read/prio.h"

uint64_t bt_random_seq(void)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		/* splitmix64 of the time and pid: only a fallback */
		v = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
		    ((uint64_t)getpid() << 32);
		v += 0x9e3779b97f4a7c15ULL;
		v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
		v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
		v ^= v >> 31;
	}
	return v ? v : 1;
}

static size_t round_blocks(const struct cache_set *c, size_t bytes)
{
	size_t bb = (size_t)c->block_size << SECTOR_SHIFT;

	return (bytes + bb - 1) / bb * bb;
}

size_t bt_bset_disk_bytes(const struct cache_set *c, size_t u64s)
{
	return round_blocks(c, BSET_HEADER_BYTES + 8 * u64s);
}

long bt_bset_encode(const struct cache_set *c, void *buf, size_t buf_bytes, uint64_t seq,
		    const uint64_t *keys, size_t u64s, uint64_t seed, struct printbuf *err)
{
	size_t bytes = bt_bset_disk_bytes(c, u64s);
	struct bset *i = buf;

	if (u64s > UINT32_MAX || bytes > buf_bytes) {
		prt_printf(err, "bset of %zu key u64s needs %zu bytes, buffer has %zu", u64s,
			   bytes, buf_bytes);
		return -EINVAL;
	}
	memset(buf, 0, bytes);
	i->magic = htole64(c->bset_magic);
	i->seq = htole64(seq);
	i->version = htole32(BCACHE_BSET_VERSION);
	i->keys = htole32((uint32_t)u64s);
	if (u64s)
		memcpy(i->d, keys, 8 * u64s);
	i->csum = htole64(bch_crc64_seeded(seed, (const char *)i + 8,
					   BSET_HEADER_BYTES - 8 + 8 * u64s));
	return (long)bytes;
}

void bt_node_ptr_key(const struct cache_set *c, uint64_t b, uint8_t gen,
		     const struct bkey *max_key, struct bkey_padded *kp)
{
	struct bkey *k = (struct bkey *)kp->w;

	memset(kp, 0, sizeof(*kp));
	bkey_init_pos(k, KEY_INODE(max_key), KEY_OFFSET(max_key), c->btree_node_sectors);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, gen, bt_bucket_to_sector(c, b), c->nr_this_dev);
}

void bt_prio_set_encode(const struct cache_set *c, unsigned idx,
			const struct bt_bucket *buckets, uint64_t seq, uint64_t next_bucket,
			void *buf)
{
	struct prio_set *p = buf;
	uint64_t first = (uint64_t)idx * c->prios_per_bucket;

	memset(buf, 0, c->meta_bucket_bytes);
	for (uint64_t k = 0; k < c->prios_per_bucket && first + k < c->nbuckets; k++) {
		struct bucket_disk *d = &p->data[k];

		d->prio = htole16(buckets[first + k].prio);
		d->gen = buckets[first + k].gen;
	}
	p->next_bucket = htole64(next_bucket);
	p->seq = htole64(seq);
	p->magic = htole64(c->pset_magic);
	p->csum = htole64(bt_pset_csum(buf, c->meta_bucket_bytes));
}

void bt_uuid_bucket_encode(const struct cache_set *c, const struct uuid_entry *uuids,
			   void *buf)
{
	memset(buf, 0, c->meta_bucket_bytes);
	if (uuids)
		memcpy(buf, uuids, (size_t)c->nr_uuids * sizeof(*uuids));
}

void bt_uuid_ptr_key(const struct cache_set *c, uint64_t b, uint8_t gen,
		     struct bkey_padded *kp)
{
	struct bkey *k = (struct bkey *)kp->w;

	memset(kp, 0, sizeof(*kp));
	bkey_init_pos(k, 0, 0, c->meta_bucket_bytes >> SECTOR_SHIFT);
	SET_KEY_PTRS(k, 1);
	SET_PTR(k, 0, gen, bt_bucket_to_sector(c, b), c->nr_this_dev);
}

size_t bt_jset_disk_bytes(const struct cache_set *c, size_t u64s)
{
	return round_blocks(c, JSET_HEADER_BYTES + 8 * u64s);
}

static int copy_slot(uint64_t slot[BKEY_PAD], const struct bkey *k, const char *what,
		     struct printbuf *err)
{
	if (!k)
		return 0;
	if (bkey_u64s(k) > BKEY_PAD) {
		prt_printf(err, "%s key of %u u64s does not fit its %u-u64 jset slot", what,
			   bkey_u64s(k), BKEY_PAD);
		return -EINVAL;
	}
	memcpy(slot, k, bkey_bytes(k));
	return 0;
}

long bt_jset_encode(const struct cache_set *c, void *buf, size_t buf_bytes,
		    const struct bt_jset_fields *f, struct printbuf *err)
{
	size_t bytes = bt_jset_disk_bytes(c, f->u64s);
	struct jset *j = buf;

	if (JSET_HEADER_BYTES + 8 * f->u64s > JSET_MAX_BYTES || bytes > buf_bytes) {
		prt_printf(err, "jset of %zu key u64s needs %zu bytes: more than %s", f->u64s,
			   bytes, bytes > buf_bytes ? "the buffer" : "32 KiB");
		return -EINVAL;
	}
	memset(buf, 0, bytes);
	if (copy_slot(j->btree_root, f->btree_root, "btree root", err) ||
	    copy_slot(j->uuid_bucket, f->uuid_bucket, "uuid bucket", err))
		return -EINVAL;
	j->magic = htole64(c->jset_magic);
	j->seq = htole64(f->seq);
	j->version = htole32(BCACHE_JSET_VERSION);
	j->keys = htole32((uint32_t)f->u64s);
	j->last_seq = htole64(f->last_seq);
	j->btree_level = htole16((uint16_t)f->btree_level);
	if (c->nr_this_dev < MAX_CACHES_PER_SET)
		j->prio_bucket[c->nr_this_dev] = htole64(f->prio_bucket);
	if (f->u64s)
		memcpy(j->d, f->keys, 8 * f->u64s);
	j->csum = htole64(bt_jset_csum(j));
	return (long)bytes;
}
