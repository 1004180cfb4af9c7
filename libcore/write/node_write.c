/* node_write.c --- writing a new btree node to a fresh bucket (write.h):
 * btree.c bch_btree_node_alloc() + do_btree_node_write().
 */
#include <errno.h>
#include <stdlib.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/bset.h"
#include "libcore/write/write.h"

/* The keys fit and none lies past max_key (the node's range ends there). */
static int check_keys(const struct cache_set *c, const uint64_t *keys, size_t u64s,
		      const struct bkey *max_key, struct printbuf *err)
{
	size_t node_bytes = (size_t)c->btree_node_sectors << SECTOR_SHIFT;
	const uint64_t *p = keys, *end = keys + u64s;

	if (bt_bset_disk_bytes(c, u64s) > node_bytes) {
		prt_printf(err, "%zu u64s of keys do not fit a %u-sector btree node", u64s,
			   c->btree_node_sectors);
		return -EINVAL;
	}
	while (p < end) {
		const struct bkey *k = (const struct bkey *)p;

		if (end - p < 2 || (size_t)(end - p) < bkey_u64s(k)) {
			prt_printf(err, "key at u64 %zu runs past the %zu u64s given",
				   (size_t)(p - keys), u64s);
			return -EINVAL;
		}
		if (bkey_cmp(k, max_key) > 0) {
			prt_str(err, "key ");
			bt_bkey_to_text(err, k);
			prt_str(err, " lies past the node's max key ");
			bt_bkey_to_text(err, max_key);
			return -EINVAL;
		}
		p += bkey_u64s(k);
	}
	return 0;
}

int bt_node_write(struct bt_write_ctx *w, const uint64_t *keys, size_t u64s, unsigned level,
		  const struct bkey *max_key, struct bkey_padded *ptr_key, struct printbuf *err)
{
	struct cache_set *c = w->c;
	uint64_t b;
	size_t bytes;
	void *buf;
	long n;
	int ret;

	(void)level;	/* the level is not stored in a node (FORMAT.md 4.5) */
	ret = check_keys(c, keys, u64s, max_key, err);
	if (ret)
		return ret;
	ret = bt_bucket_alloc(w, true, &b, err);
	if (ret)
		return ret;
	c->buckets[b].sectors_used = (uint16_t)c->btree_node_sectors;
	bt_node_ptr_key(c, b, c->buckets[b].gen, max_key, ptr_key);
	bytes = bt_bset_disk_bytes(c, u64s);
	buf = malloc(bytes);
	if (!buf) {
		prt_str(err, "out of memory writing a btree node");
		return -ENOMEM;
	}
	n = bt_bset_encode(c, buf, bytes, bt_random_seq(), keys, u64s,
			   bk_ptr((const struct bkey *)ptr_key->w, 0), err);
	/* do_btree_node_write(): only the blocks of the bset */
	ret = n < 0 ? (int)n : bt_dev_write(c->dev, buf, (size_t)n,
					    bt_bucket_to_sector(c, b) << SECTOR_SHIFT,
					    "btree node", err);
	free(buf);
	return ret;
}
