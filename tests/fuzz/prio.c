/* prio.c --- fuzz target: the prio/gen chain (prio_sets).
 *
 * Input: flags byte, then the first bucket of the base's prio chain
 * (meta_bucket_bytes of it, zero-filled). FZ_FIX_MAGIC / FZ_FIX_CSUM fix
 * that prio_set so that its entries and next_bucket are read; the rest of
 * the chain is the base's. Runs the whole open (prio_read() comes after
 * the journal, before the uuids).
 */
#include "common/fuzz.h"
#include "libcore/read/prio.h"

static struct fz_base base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_base_init(&base);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cache_set *bc = &base.c;
	size_t bytes = bc->meta_bucket_bytes;
	uint64_t off = bt_bucket_to_sector(bc, bc->prio_start) << SECTOR_SHIFT;
	struct printbuf err = PRINTBUF;
	struct prio_set *p;
	struct cache_set c;
	unsigned flags;

	if (size < 1 || bytes < PRIO_SET_HEADER_BYTES || off + bytes > base.size)
		return 0;
	flags = data[0];
	data++, size--;
	if (size > bytes)
		size = bytes;
	fz_base_put(&base, off, data, size, bytes);
	p = (struct prio_set *)(base.work + off);
	if (flags & FZ_FIX_MAGIC)
		p->magic = htole64(bc->pset_magic);
	if (flags & FZ_FIX_CSUM)
		p->csum = htole64(bt_pset_csum(p, bytes));

	bt_cache_set_open(&c, &base.dev, BT_OPEN_KEEP_GOING, &err);
	bt_cache_set_exit(&c);
	printbuf_exit(&err);
	fz_base_restore(&base);
	return 0;
}
