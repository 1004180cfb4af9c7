/* btree.c --- fuzz target: a btree node (bsets), its parse and bset merge.
 *
 * Input: flags byte (FZ_FIX_MAGIC, FZ_FIX_CSUM; bits 2-3: the level the
 * node is read at; bit 4: no extent merge), then the node image, zero
 * filled to KEY_SIZE of the base's root key. Fixing follows the bsets the
 * way bch_btree_node_read_done() walks them (first at block 0, each next
 * one at the block after the previous). Parsed with the root key of the
 * base as its node key; then printed, every key checked.
 */
#include "common/fuzz.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/btree.h"

static struct fz_base base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_base_init(&base);
	return 0;
}

static void fix_bsets(const struct cache_set *c, unsigned char *buf, unsigned btree_blocks,
		      uint64_t seed, unsigned flags)
{
	size_t bb = bt_block_bytes(c);
	unsigned block = 0;

	while (block < btree_blocks) {
		struct bset *i = (struct bset *)(buf + block * bb);
		struct bt_bset_info info;

		if (flags & FZ_FIX_MAGIC)
			i->magic = htole64(c->bset_magic);
		bt_bset_info(c, buf, block, &info);
		if (le64toh(i->magic) != c->bset_magic || !info.blocks ||
		    info.blocks > btree_blocks - block)
			break;
		if (flags & FZ_FIX_CSUM)
			i->csum = htole64(bt_bset_csum(i, seed));
		block += info.blocks;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cache_set *c = &base.c;
	const struct bkey *k = (const struct bkey *)c->root_key.w;
	size_t bytes = (size_t)KEY_SIZE(k) << SECTOR_SHIFT;
	unsigned btree_blocks = KEY_SIZE(k) >> c->block_bits;
	struct printbuf out = PRINTBUF, err = PRINTBUF;
	struct bt_node *n = NULL;
	unsigned flags, level;
	unsigned char *buf;
	struct bkey *key;

	if (size < 1 || !bytes)
		return 0;
	flags = data[0];
	level = (flags >> 2) & 3;
	data++, size--;
	buf = calloc(1, bytes);
	if (!buf)
		return 0;
	memcpy(buf, data, size < bytes ? size : bytes);
	fix_bsets(c, buf, btree_blocks, bk_ptr(k, 0), flags);

	if (!bt_btree_node_parse(c, k, level, buf, (flags & 16) ? BT_NODE_NO_MERGE : 0, &n, &err)) {
		bt_node_to_text(&out, n);
		for_each_node_key(n, key) {
			bt_bkey_to_text(&out, key);
			bt_key_bad(c, key, level);
		}
		for_each_node_invalid_key(n, key)
			bt_bkey_to_text(&out, key);
		bt_node_last_key(n);
		bt_node_free(n);
	}
	free(buf);
	printbuf_exit(&out);
	printbuf_exit(&err);
	return 0;
}
