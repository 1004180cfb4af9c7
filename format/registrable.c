/* registrable.c --- would the kernel register a cache of this geometry?
 * Refuse what it would not (or, with --force, warn), and say what fits.
 */
#include "libcore/base/errcode.h"
#include "format.h"

/*
 * The largest bucket (sectors, a power of two of two pages or more, at
 * least block) that makes more than BT_KERNEL_MIN_BUCKETS buckets of
 * dev_sectors; 0 when none does.
 */
static unsigned fitting_bucket(uint64_t dev_sectors, unsigned block)
{
	unsigned lo = block > 2 * BT_PAGE_SECTORS ? block : 2 * BT_PAGE_SECTORS;

	for (unsigned b = BT_FORMAT_MAX_BUCKET; b >= lo; b >>= 1)
		if (dev_sectors / b > BT_KERNEL_MIN_BUCKETS)
			return b;
	return 0;
}

/* "use --bucket 128k: 800 buckets", or the smallest device that would do. */
static void prt_fit(struct printbuf *pb, uint64_t dev_sectors, unsigned block)
{
	unsigned b = fitting_bucket(dev_sectors, block);
	unsigned lo = block > 2 * BT_PAGE_SECTORS ? block : 2 * BT_PAGE_SECTORS;

	if (b)
		prt_printf(pb, "use --bucket %uk: %llu buckets", b / 2,
			   (unsigned long long)(dev_sectors / b));
	else
		prt_printf(pb, "the device is too small for one: it needs at least %llu bytes "
			   "(%u buckets of %uk)",
			   (unsigned long long)(BT_KERNEL_MIN_BUCKETS + 1) * lo * SECTOR_SIZE,
			   BT_KERNEL_MIN_BUCKETS + 1, lo / 2);
}

/* With force, the refusal as a warning; else as the error. */
static int refuse(bool force, struct printbuf *why, int code, struct printbuf *warn,
		  struct printbuf *err)
{
	if (!force) {
		prt_printf(err, "%s (--force writes it anyway)", printbuf_str(why));
		return code;
	}
	prt_printf(warn, "warning: %s; written anyway (--force)", printbuf_str(why));
	prt_newline(warn);
	return 0;
}

int bt_format_check_registrable(const char *path, uint64_t dev_sectors, unsigned bucket,
				unsigned block, bool force, struct printbuf *warn,
				struct printbuf *err)
{
	uint64_t nbuckets = dev_sectors / bucket;
	struct printbuf why = PRINTBUF;
	int ret = 0;

	if (bucket == BT_PAGE_SECTORS) {
		prt_printf(&why, "'%s': buckets of %u sectors (one page): Linux 6.1 registers "
			   "such a cache, but reads through it hang (cache_lookup() waits "
			   "forever); ", path, bucket);
		prt_fit(&why, dev_sectors, block);
		ret = refuse(force, &why, -BT_ERR_FORMAT_BAD_OPTION, warn, err);
		printbuf_reset(&why);
	}
	if (!ret && nbuckets <= BT_KERNEL_MIN_BUCKETS) {
		prt_printf(&why, "'%s': %llu buckets of %u sectors: Linux 5.x and 6.x refuse to "
			   "register a cache of %u buckets or fewer (cache_alloc(): \"ca->sb.nbuckets "
			   "is too small\"); ", path, (unsigned long long)nbuckets, bucket,
			   BT_KERNEL_MIN_BUCKETS);
		prt_fit(&why, dev_sectors, block);
		ret = refuse(force, &why, -BT_ERR_SB_NOT_ENOUGH_BUCKETS, warn, err);
	}
	printbuf_exit(&why);
	return ret;
}
