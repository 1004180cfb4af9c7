/* jset.c --- a jset's checksum, key count and encoder (jset.h). */
#include <errno.h>
#include <string.h>

#include "libcore/base/csum.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/jset.h"

uint64_t bt_jset_csum(const struct jset *j)
{
	return bch_crc64((const char *)j + 8, (size_t)bt_jset_bytes(j) - 8);
}

unsigned bt_jset_nr_keys(const struct jset *j, bool *truncated)
{
	const uint64_t *p = j->d, *end = j->d + le32toh(j->keys);
	unsigned n = 0;

	while (p < end) {
		n++;
		p += bkey_u64s((const struct bkey *)p);
	}
	if (truncated)
		*truncated = p > end;
	return n;
}

size_t bt_jset_disk_bytes(const struct cache_set *c, size_t u64s)
{
	return bt_round_blocks(c, JSET_HEADER_BYTES + 8 * u64s);
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
