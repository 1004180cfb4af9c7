/* opts.c --- format options: make-bcache's defaults and the checks that need no device. */
#include <string.h>

#include "libcore/base/errcode.h"
#include "format.h"

void bt_format_opts_init(struct bt_format_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->bucket_size = BT_FORMAT_DEFAULT_BUCKET;
	opts->data_offset = BDEV_DATA_START_DEFAULT;
	opts->replacement = CACHE_REPLACEMENT_LRU;
}


#define bad_option(fmt, ...)						\
do {									\
	prt_printf(err, fmt, ##__VA_ARGS__);				\
	return -BT_ERR_FORMAT_BAD_OPTION;				\
} while (0)

/* Sizes: make-bcache's power-of-two rule plus the kernel's page limits for caches. */
static int check_sizes(const struct bt_format_opts *opts, unsigned nr_cache,
		       struct printbuf *err)
{
	if (!bt_is_pow2(opts->bucket_size))
		bad_option("bucket size %u sectors is not a power of two", opts->bucket_size);
	if (opts->bucket_size > BT_FORMAT_MAX_BUCKET)
		bad_option("bucket size %u sectors is too large: at most %u sectors (%u MiB)",
			   opts->bucket_size, BT_FORMAT_MAX_BUCKET, BT_FORMAT_MAX_BUCKET >> 11);
	if (nr_cache && opts->bucket_size < BT_PAGE_SECTORS)
		bad_option("bucket size %u sectors is smaller than a page (%u sectors): "
			   "the kernel refuses such a cache", opts->bucket_size, BT_PAGE_SECTORS);
	if (opts->block_size) {
		if (!bt_is_pow2(opts->block_size))
			bad_option("block size %u sectors is not a power of two",
				   opts->block_size);
		if (opts->block_size > opts->bucket_size)
			bad_option("block size (%u sectors) is larger than the bucket size "
				   "(%u sectors)", opts->block_size, opts->bucket_size);
		if (nr_cache && opts->block_size > BT_PAGE_SECTORS)
			bad_option("block size %u sectors is larger than a page (%u sectors): "
				   "the kernel refuses such a cache",
				   opts->block_size, BT_PAGE_SECTORS);
	}
	if (opts->data_offset < BDEV_DATA_START_DEFAULT)
		bad_option("data offset %llu sectors is too small: at least %u sectors",
			   (unsigned long long)opts->data_offset, BDEV_DATA_START_DEFAULT);
	return 0;
}

int bt_format_check_opts(const struct bt_format_opts *opts, struct printbuf *warn,
			 struct printbuf *err)
{
	unsigned nr_cache = 0, nr_bdev = 0;
	int ret;

	if (!opts->nr_devs)
		bad_option("no device given");
	if (opts->nr_devs > BT_FORMAT_MAX_DEVS)
		bad_option("too many devices: at most %u", BT_FORMAT_MAX_DEVS);
	for (unsigned i = 0; i < opts->nr_devs; i++) {
		if (opts->devs[i].cache)
			nr_cache++;
		else
			nr_bdev++;
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(opts->devs[i].path, opts->devs[j].path))
				bad_option("device '%s' is given twice", opts->devs[i].path);
	}
	if (nr_cache > 1)
		bad_option("%u cache devices given: a cache set has one cache device "
			   "(the kernel refuses a second one as a duplicate member)", nr_cache);
	if (opts->uuid_given && opts->nr_devs > 1)
		bad_option("--uuid sets the uuid of one device, but %u devices are given",
			   opts->nr_devs);
	if (opts->replacement > CACHE_REPLACEMENT_RANDOM)
		bad_option("unknown cache replacement policy %u", opts->replacement);
	if (opts->label && strlen(opts->label) > BT_FORMAT_LABEL_MAX)
		bad_option("label '%s' is too long: %zu characters, at most %u",
			   opts->label, strlen(opts->label), BT_FORMAT_LABEL_MAX);
	ret = check_sizes(opts, nr_cache, err);
	if (ret)
		return ret;

	if (!nr_cache && (opts->discard || opts->replacement != CACHE_REPLACEMENT_LRU)) {
		prt_str(warn, "warning: --discard and --cache-replacement-policy apply to "
			"cache devices only; no cache device is given");
		prt_newline(warn);
	}
	if (!nr_bdev && (opts->writeback || opts->data_offset != BDEV_DATA_START_DEFAULT)) {
		prt_str(warn, "warning: --writeback and --data-offset apply to backing "
			"devices only; no backing device is given");
		prt_newline(warn);
	}
	return 0;
}
