/* sb.c --- fuzz target: the superblock block (4 KiB at byte 4096).
 *
 * Input: flags byte (FZ_FIX_CSUM: recompute the csum) then up to 4096
 * bytes of superblock block. Decode, validate against the base device,
 * print (show-super's printer), warnings; then the whole open of the base
 * image with this superblock, with and without validation
 * (BT_OPEN_NO_SB_VALIDATE: dump-journal --force), which sizes the
 * geometry, the journal and the buckets from it.
 */
#include "common/fuzz.h"
#include "libcore/ondisk/sb.h"

static struct fz_base base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_base_init(&base);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t block[SB_SIZE] = { 0 };
	struct cache_sb_disk *raw = (struct cache_sb_disk *)block;
	struct printbuf out = PRINTBUF, err = PRINTBUF;
	struct cache_sb sb;
	struct cache_set c;
	unsigned flags;
	bool ok;

	if (size < 1)
		return 0;
	flags = data[0];
	data++, size--;
	memcpy(block, data, size < SB_SIZE ? size : SB_SIZE);
	if (flags & FZ_FIX_CSUM)
		raw->csum = htole64(bt_sb_csum(raw));

	bt_sb_decode(raw, &sb);
	ok = !bt_sb_validate(raw, &sb, &base.dev, &err);
	bt_sb_warnings(&sb, &out);
	bt_sb_to_text(&out, &sb, ok, bt_sb_csum(raw));
	printbuf_exit(&out);
	printbuf_exit(&err);

	fz_base_put(&base, 4096, block, SB_SIZE, SB_SIZE);
	bt_cache_set_open(&c, &base.dev, (flags & 8) ? BT_OPEN_NO_SB_VALIDATE | BT_OPEN_KEEP_GOING : 0,
			  &err);
	bt_cache_set_exit(&c);
	printbuf_exit(&err);
	fz_base_restore(&base);
	return 0;
}
