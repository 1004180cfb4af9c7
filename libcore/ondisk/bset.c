/* bset.c --- checks of one bset of a btree node and bounded key walks,
 * mirroring the per-bset loop of btree.c bch_btree_node_read_done(). */
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/bset.h"
#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"

void bt_bset_info(const struct cache_set *c, const void *node, unsigned block,
		  struct bt_bset_info *info)
{
	const struct bset *i = bt_node_bset(c, node, block);
	uint64_t bb = bt_block_bytes(c);

	info->block = block;
	info->seq = le64toh(i->seq);
	info->version = le32toh(i->version);
	info->keys = le32toh(i->keys);
	info->bytes = BSET_HEADER_BYTES + 8ULL * info->keys;
	info->blocks = (info->bytes + bb - 1) / bb;
}

uint64_t bt_bset_csum(const struct bset *i, uint64_t seed)
{
	size_t len = BSET_HEADER_BYTES - 8 + 8 * (size_t)le32toh(i->keys);

	if (le32toh(i->version) == 0)
		return bch_crc64((const char *)i + 8, len);
	return bch_crc64_seeded(seed, (const char *)i + 8, len);
}

static void where_to_text(struct printbuf *err, const char *what,
			  const struct bt_node_where *w, const struct bt_bset_info *info,
			  uint64_t block_bytes)
{
	prt_printf(err, "%s at bucket %llu, block %u, %u keys (byte %llu of '%s')",
		   what, (unsigned long long)w->bucket, info->block, info->keys,
		   (unsigned long long)(w->byte + info->block * block_bytes),
		   w->dev ? w->dev : "?");
}

int bt_bset_check(const struct cache_set *c, const void *node, unsigned btree_blocks,
		  unsigned block, uint64_t seed, bool first,
		  const struct bt_node_where *w, struct bt_bset_info *info,
		  struct printbuf *err)
{
	const struct bset *i = bt_node_bset(c, node, block);
	uint64_t bb = bt_block_bytes(c), csum;
	size_t pos = 0;
	bool overrun = false;

	bt_bset_info(c, node, block, info);
	if (info->version > BCACHE_BSET_VERSION) {
		where_to_text(err, "unsupported bset version", w, info, bb);
		prt_printf(err, ": version %u", info->version);
		return -BT_ERR_BSET_BAD_VERSION;
	}
	if (block + info->blocks > btree_blocks) {
		where_to_text(err, "bad btree header", w, info, bb);
		prt_printf(err, ": bset of %llu blocks passes the end of the %u-block node",
			   (unsigned long long)info->blocks, btree_blocks);
		return -BT_ERR_BSET_TOO_BIG;
	}
	if (le64toh(i->magic) != c->bset_magic) {
		where_to_text(err, "bad magic", w, info, bb);
		prt_printf(err, ": expected %#llx, got %#llx",
			   (unsigned long long)c->bset_magic,
			   (unsigned long long)le64toh(i->magic));
		return -BT_ERR_BSET_BAD_MAGIC;
	}
	csum = bt_bset_csum(i, seed);
	if (le64toh(i->csum) != csum) {
		where_to_text(err, "bad checksum", w, info, bb);
		prt_printf(err, ": expected %#llx, got %#llx (bset version %u)",
			   (unsigned long long)csum, (unsigned long long)le64toh(i->csum),
			   info->version);
		return -BT_ERR_BSET_BAD_CSUM;
	}
	if (!first && !info->keys) {
		where_to_text(err, "empty set", w, info, bb);
		return -BT_ERR_BSET_EMPTY;
	}
	while (bt_bset_next_key(i, &pos, &overrun))
		;
	if (overrun) {
		where_to_text(err, "key overruns bset", w, info, bb);
		prt_printf(err, ": key at u64 %zu of %u needs more words", pos, info->keys);
		return -BT_ERR_BSET_KEY_OVERRUN;
	}
	return 0;
}

void bt_bset_to_text(struct printbuf *out, const struct bt_bset_info *info,
		     const struct bset *i)
{
	prt_printf(out, "block %u: seq %#llx version %u keys %u csum %#llx",
		   info->block, (unsigned long long)info->seq, info->version, info->keys,
		   (unsigned long long)le64toh(i->csum));
}

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

size_t bt_bset_disk_bytes(const struct cache_set *c, size_t u64s)
{
	return bt_round_blocks(c, BSET_HEADER_BYTES + 8 * u64s);
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
