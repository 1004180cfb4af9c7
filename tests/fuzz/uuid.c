/* uuid.c --- fuzz target: the uuid bucket.
 *
 * Input: the KEY_SIZE sectors the base's uuid key points at (zero-filled).
 * Runs the whole open (uuid_read() last) and prints every slot.
 */
#include "common/fuzz.h"
#include "libcore/read/uuid.h"

static struct fz_base base;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_base_init(&base);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct bkey *k = (const struct bkey *)base.c.uuid_key.w;
	size_t bytes = (size_t)KEY_SIZE(k) << SECTOR_SHIFT;
	struct printbuf out = PRINTBUF, err = PRINTBUF;
	struct cache_set c;

	if (size > bytes)
		size = bytes;
	fz_base_put(&base, PTR_OFFSET(k, 0) << SECTOR_SHIFT, data, size, bytes);
	if (!bt_cache_set_open(&c, &base.dev, BT_OPEN_KEEP_GOING, &err) && c.uuids) {
		for (unsigned i = 0; i < c.nr_uuids; i++)
			bt_uuid_entry_to_text(&out, i, &c.uuids[i]);
		/* each lookup is a linear scan: a few, not nr_uuids^2 */
		for (unsigned i = 0; i < c.nr_uuids && i < 4; i++)
			bt_uuid_find(&c, c.uuids[i].uuid);
	}
	bt_cache_set_exit(&c);
	printbuf_exit(&out);
	printbuf_exit(&err);
	fz_base_restore(&base);
	return 0;
}
