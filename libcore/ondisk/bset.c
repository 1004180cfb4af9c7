/* bset.c --- checks of one bset of a btree node and bounded key walks,
 * mirroring the per-bset loop of btree.c bch_btree_node_read_done(). */
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

const struct bkey *bt_bset_next_key(const struct bset *i, size_t *pos, bool *overrun)
{
	size_t keys = le32toh(i->keys);
	const struct bkey *k;

	if (*pos >= keys)
		return NULL;
	k = (const struct bkey *)&i->d[*pos];
	if (keys - *pos < 2 || keys - *pos < bkey_u64s(k)) {
		if (overrun)
			*overrun = true;
		return NULL;
	}
	*pos += bkey_u64s(k);
	return k;
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
