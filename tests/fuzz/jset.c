/* jset.c --- fuzz target: journal entries (jsets).
 *
 * Input: flags byte, then the contents of the base's first journal bucket
 * (sb.d[0]); every other journal bucket is zeroed, so the input is the
 * whole journal. FZ_FIX_MAGIC / FZ_FIX_CSUM fix each jset met walking
 * the bucket block by block as the kernel's journal_read_bucket() does.
 * Then the whole open (journal scan, newest-jset checks, its prio chain,
 * root and uuid pointers into the base image) and the printers.
 */
#include "common/fuzz.h"
#include "libcore/read/journal.h"

static struct fz_base base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_base_init(&base);
	return 0;
}

/* Fix magic and csum of each jset from the start of buf, in block steps. */
static void fix_jsets(const struct cache_set *c, unsigned char *buf, size_t len, unsigned flags)
{
	size_t bb = (size_t)c->block_size << SECTOR_SHIFT, off = 0;

	while (off + JSET_HEADER_BYTES <= len) {
		struct jset *j = (struct jset *)(buf + off);
		size_t bytes;

		if (flags & FZ_FIX_MAGIC)
			j->magic = htole64(c->jset_magic);
		if (le64toh(j->magic) != c->jset_magic)
			break;
		bytes = JSET_HEADER_BYTES + 8 * (size_t)le32toh(j->keys);
		if (bytes > len - off)
			break;
		if (flags & FZ_FIX_CSUM)
			j->csum = htole64(bt_jset_csum(j));
		off += (bytes + bb - 1) / bb * bb;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cache_set *bc = &base.c;
	size_t bucket = (size_t)bc->bucket_size << SECTOR_SHIFT;
	struct printbuf out = PRINTBUF, err = PRINTBUF;
	struct cache_set c;
	unsigned flags;

	if (size < 1 || !bc->sb.keys)
		return 0;
	flags = data[0];
	data++, size--;
	if (size > bucket)
		size = bucket;
	for (unsigned i = bc->sb.keys; i-- > 0; )
		fz_base_put(&base, bt_bucket_to_sector(bc, bc->sb.d[i]) << SECTOR_SHIFT,
			    i ? NULL : data, i ? 0 : size, bucket);
	fix_jsets(bc, base.work + (bt_bucket_to_sector(bc, bc->sb.d[0]) << SECTOR_SHIFT),
		  size, flags);

	bt_cache_set_open(&c, &base.dev, BT_OPEN_KEEP_GOING, &err);
	for (size_t i = 0; i < c.journal.nr_all; i++)
		bt_jset_to_text(&out, &c, &c.journal.all[i], true);
	bt_journal_problems_to_text(&out, &c);
	bt_cache_set_exit(&c);
	printbuf_exit(&out);
	printbuf_exit(&err);
	fz_base_restore(&base);
	return 0;
}
