/* format.c --- bt_format(): check every device, then write the superblocks.
 *
 * Two phases, so that a refusal on any device leaves every device untouched:
 *   1. open each device, decide the block size, build and validate each
 *      superblock (and, for a cache, the superblock of the initialised set),
 *      look for other signatures;
 *   2. for each device: wipe the other signatures, zero bytes 0..4095, write
 *      the superblock block at byte 4096, flush, read it back; for a cache
 *      (unless sb_only) then write the new cache set (init.c), the synced
 *      superblock last, and open it with the readers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "libcore/base/errcode.h"
#include "format.h"

struct fmt_dev {
	const struct bt_format_dev *fd;
	struct bt_dev		dev;
	bool			opened;
	struct cache_sb		sb;
	uint8_t			block[SB_SIZE];	/* the encoded superblock block */
	struct bt_signatures	sigs;
	/* a cache device without sb_only: the initialised set (init.c) */
	bool			init;
	struct cache_sb		init_sb;
	struct bt_format_layout	layout;
	uint8_t			init_block[SB_SIZE];
};

/* Print text with every non-empty line indented by n spaces. */
static void prt_indented(struct printbuf *out, const char *text, unsigned n)
{
	while (*text) {
		size_t len = strcspn(text, "\n");

		if (len)
			prt_printf(out, "%*s%.*s", (int)n, "", (int)len, text);
		prt_newline(out);
		text += len;
		if (*text)
			text++;
	}
}

static void prt_summary(struct printbuf *out, const struct fmt_dev *d, bool dry_run)
{
	const struct cache_sb *sb = &d->sb;

	prt_printf(out, "%s '%s' as a %s device: uuid ", dry_run ? "would format" : "formatted",
		   d->dev.path, d->fd->cache ? "cache" : "backing");
	prt_uuid(out, sb->uuid);
	prt_str(out, ", set uuid ");
	prt_uuid(out, sb->set_uuid);
	if (d->fd->cache)
		prt_printf(out, ", %llu buckets of %u sectors, block %u sectors, first bucket %u",
			   (unsigned long long)sb->nbuckets, sb->bucket_size, sb->block_size,
			   sb->first_bucket);
	else
		prt_printf(out, ", block %u sectors, data offset %llu sectors, %s",
			   sb->block_size, (unsigned long long)sb->data_offset,
			   bt_cache_mode_str(BDEV_CACHE_MODE(sb->flags)));
	prt_newline(out);
}

/* Declare every device to the guard (format's own, or the caller's). */
static int declare_all(const struct bt_format_opts *o, struct bt_guard *g, int *idx,
		       struct printbuf *err)
{
	for (unsigned i = 0; i < o->nr_devs; i++) {
		const struct bt_format_dev *fd = &o->devs[i];

		idx[i] = bt_guard_find(g, fd->path);
		if (idx[i] < 0)
			idx[i] = bt_guard_add(g, fd->path, BT_TARGET_DEVICE,
					      fd->cache ? "cache device" : "backing device", 0, err);
		if (idx[i] < 0)
			return idx[i];
	}
	return 0;
}

/* Open every device through the guard; refuse one too small to hold a superblock. */
static int open_all(const struct bt_format_opts *o, struct bt_guard *g, struct fmt_dev *devs,
		    struct printbuf *err)
{
	int idx[BT_FORMAT_MAX_DEVS];
	int ret = declare_all(o, g, idx, err);

	for (unsigned i = 0; !ret && i < o->nr_devs; i++) {
		struct fmt_dev *d = &devs[i];

		d->fd = &o->devs[i];
		ret = bt_guard_open(g, idx[i], o->dry_run ? 0 : BT_GUARD_RDWR, &d->dev, err);
		if (ret)
			return ret;
		d->opened = true;
		if (d->dev.size < SB_OFFSET_BYTES + SB_SIZE) {
			prt_printf(err, "'%s' is too small: %llu bytes, the superblock ends at "
				   "byte %u", d->dev.path, (unsigned long long)d->dev.size,
				   SB_OFFSET_BYTES + SB_SIZE);
			return -BT_ERR_DEV_TOO_SMALL;
		}
	}
	return ret;
}

/* make-bcache: the given block size, else the largest device block of all devices. */
static int decide_block(const struct bt_format_opts *o, const struct fmt_dev *devs,
			unsigned *block, struct printbuf *err)
{
	unsigned b = o->block_size;

	for (unsigned i = 0; !o->block_size && i < o->nr_devs; i++) {
		unsigned db = bt_format_default_block(&devs[i].dev);

		if (db > b)
			b = db;
	}
	if (b > o->bucket_size) {
		prt_printf(err, "block size (%u sectors, from the devices) is larger than the "
			   "bucket size (%u sectors): give a larger --bucket", b, o->bucket_size);
		return -BT_ERR_FORMAT_BAD_OPTION;
	}
	*block = b;
	return 0;
}

/* Warnings about a valid superblock, each naming the device. */
static void warn_sb(const struct fmt_dev *d, struct printbuf *warn)
{
	if (!d->fd->cache && d->sb.data_offset % d->sb.block_size) {
		prt_printf(warn, "warning: '%s': data offset %llu sectors is not a multiple of "
			   "the block size (%u sectors)", d->dev.path,
			   (unsigned long long)d->sb.data_offset, d->sb.block_size);
		prt_newline(warn);
	}
}

/* The initialised set of a cache: its superblock must pass read_super() too. */
static int plan_init(struct fmt_dev *d, struct printbuf *err)
{
	struct printbuf verr = PRINTBUF;
	int ret;

	ret = bt_format_init_plan(&d->sb, &d->init_sb, &d->layout, err);
	if (ret)
		return ret;
	memset(d->init_block, 0, sizeof(d->init_block));
	bt_sb_encode(&d->init_sb, (struct cache_sb_disk *)d->init_block);
	bt_sb_decode((struct cache_sb_disk *)d->init_block, &d->init_sb);
	ret = bt_sb_validate((struct cache_sb_disk *)d->init_block, &d->init_sb, &d->dev, &verr);
	if (ret) {
		prt_printf(err, "the kernel would refuse the superblock of the initialised cache "
			   "set: %s", printbuf_str(&verr));
		printbuf_exit(&verr);
		return ret;
	}
	d->init = true;
	return 0;
}

/* Build, encode and validate one superblock as the kernel's read_super() would. */
static int build_one(const struct bt_format_opts *o, struct fmt_dev *d, unsigned block,
		     struct printbuf *warn, struct printbuf *err)
{
	struct printbuf verr = PRINTBUF;
	uint8_t uuid[16];
	int ret;

	if (o->uuid_given)
		memcpy(uuid, o->uuid, 16);
	else
		uuid_generate(uuid);
	bt_format_build_sb(o, d->fd->cache, block, bt_dev_sectors(&d->dev), uuid, &d->sb);

	if (d->fd->cache && d->sb.nbuckets < BT_FORMAT_MIN_BUCKETS) {
		prt_printf(err, "not enough buckets on '%s': %llu sectors make %llu buckets of "
			   "%u sectors, need at least %u", d->dev.path,
			   (unsigned long long)bt_dev_sectors(&d->dev),
			   (unsigned long long)d->sb.nbuckets, d->sb.bucket_size,
			   BT_FORMAT_MIN_BUCKETS);
		return -BT_ERR_SB_NOT_ENOUGH_BUCKETS;
	}
	if (d->fd->cache) {
		ret = bt_format_check_registrable(d->dev.path, bt_dev_sectors(&d->dev),
						  d->sb.bucket_size, d->sb.block_size, o->force,
						  warn, err);
		if (ret)
			return ret;
	}
	memset(d->block, 0, sizeof(d->block));
	bt_sb_encode(&d->sb, (struct cache_sb_disk *)d->block);
	/* from here on, the superblock is what a reader decodes from the block */
	bt_sb_decode((struct cache_sb_disk *)d->block, &d->sb);
	ret = bt_sb_validate((struct cache_sb_disk *)d->block, &d->sb, &d->dev, &verr);
	if (ret) {
		prt_printf(err, "the kernel would refuse this superblock: %s", printbuf_str(&verr));
		printbuf_exit(&verr);
		return ret;
	}
	warn_sb(d, warn);
	if (d->fd->cache && !o->sb_only)
		return plan_init(d, err);
	return 0;
}

/*
 * A cache re-formatted into the set it belonged to keeps its old journal
 * buckets, whose jsets still carry the set's magic: the kernel may replay
 * them later (FORMAT.md 1.10). An initialised set has its journal zeroed;
 * with sb_only only the superblock is written, so warn.
 */
static void warn_same_set(const struct fmt_dev *d, const uint8_t *old_block,
			  struct printbuf *warn)
{
	struct cache_sb old;

	bt_sb_decode((const struct cache_sb_disk *)old_block, &old);
	if (d->fd->cache && !d->init && bt_sb_is_cache(&old) &&
	    !memcmp(old.set_uuid, d->sb.set_uuid, 16)) {
		prt_printf(warn, "warning: '%s': the old cache superblock has the same cache "
			   "set uuid; the kernel may replay the old journal entries still on "
			   "the device: use a new --cset-uuid", d->dev.path);
		prt_newline(warn);
	}
}

/* Find other signatures; refuse unless the options allow overwriting them. */
static int check_signatures(const struct bt_format_opts *o, struct fmt_dev *d,
			    struct printbuf *warn, struct printbuf *err)
{
	uint8_t old[SB_SIZE];
	bool bcache_magic, bcache_listed = false;
	int ret, refused = 0;

	ret = bt_dev_read(&d->dev, old, sizeof(old), SB_OFFSET_BYTES, "old superblock", err);
	if (ret)
		return ret;
	bcache_magic = !memcmp(((struct cache_sb_disk *)old)->magic, bcache_sb_magic, 16);
	if (bcache_magic)
		warn_same_set(d, old, warn);
	ret = bt_probe_signatures(&d->dev, &d->sigs, err);
	if (ret)
		return ret;
	for (unsigned i = 0; i < d->sigs.nr; i++) {
		const struct bt_signature *s = &d->sigs.s[i];
		bool bcache = !strcmp(s->type, "bcache");

		bcache_listed |= bcache;
		if (bcache ? o->wipe_bcache || o->force : o->force)
			continue;
		if (refused++)
			prt_newline(err);
		if (bcache)
			prt_printf(err, "'%s' already holds a bcache superblock (use "
				   "--wipe-bcache to overwrite it)", d->dev.path);
		else
			prt_printf(err, "existing %s %s at byte %llu of '%s' (use --force "
				   "to overwrite it)", s->type,
				   s->ptable ? "partition table" : "signature",
				   (unsigned long long)s->offset, d->dev.path);
	}
	if (bcache_magic && !bcache_listed && !o->wipe_bcache && !o->force) {
		if (refused++)
			prt_newline(err);
		prt_printf(err, "'%s' already holds a bcache superblock (use --wipe-bcache "
			   "to overwrite it)", d->dev.path);
	}
	if (d->sigs.truncated) {
		if (refused++)
			prt_newline(err);
		prt_printf(err, "'%s' holds more than %u signatures", d->dev.path,
			   BT_MAX_SIGNATURES);
	}
	return refused ? -BT_ERR_SIGNATURE_PRESENT : 0;
}

static void report_dry_run(struct printbuf *out, const struct fmt_dev *d)
{
	struct printbuf sbtext = PRINTBUF;

	for (unsigned i = 0; i < d->sigs.nr; i++) {
		prt_printf(out, "would wipe %s %s at byte %llu of '%s'", d->sigs.s[i].type,
			   d->sigs.s[i].ptable ? "partition table" : "signature",
			   (unsigned long long)d->sigs.s[i].offset, d->dev.path);
		prt_newline(out);
	}
	prt_summary(out, d, true);
	if (d->init) {
		prt_str(out, "would initialise the cache set: ");
		bt_format_layout_to_text(out, &d->init_sb, &d->layout);
		prt_newline(out);
	}
	bt_sb_to_text(&sbtext, d->init ? &d->init_sb : &d->sb, true,
		      d->init ? d->init_sb.csum : d->sb.csum);
	prt_indented(out, printbuf_str(&sbtext), 4);
	printbuf_exit(&sbtext);
}

/* Phase 2 of a cache: the new cache set, the synced superblock, then read it all back. */
static int write_init(struct fmt_dev *d, struct printbuf *out, struct printbuf *err)
{
	uint8_t block[SB_SIZE] = { 0 }, back[SB_SIZE];
	struct cache_sb sb;
	int ret;

	ret = bt_format_init_write(&d->dev, &d->init_sb, &d->layout, block, err);
	if (!ret)
		ret = bt_sb_read(&d->dev, back, &sb, true, err);
	if (ret)
		return ret;
	if (memcmp(back, d->init_block, SB_SIZE) || memcmp(block, d->init_block, SB_SIZE)) {
		prt_printf(err, "'%s': the superblock read back differs from the one planned",
			   d->dev.path);
		return -EIO;
	}
	ret = bt_format_init_verify(&d->dev, &d->layout, err);
	if (ret)
		return ret;
	prt_str(out, "initialised the cache set: ");
	bt_format_layout_to_text(out, &d->init_sb, &d->layout);
	prt_newline(out);
	return 0;
}

/* Phase 2 for one device. */
static int write_one(struct fmt_dev *d, struct printbuf *out, struct printbuf *err)
{
	static const uint8_t zero[SB_OFFSET_BYTES];
	uint8_t back[SB_SIZE];
	struct cache_sb sb;
	int ret;

	ret = bt_wipe_signatures(&d->dev, out, err);
	if (ret < 0)
		return ret;
	ret = bt_dev_write(&d->dev, zero, sizeof(zero), 0, "bytes before the superblock", err);
	if (!ret)
		ret = bt_dev_write(&d->dev, d->block, SB_SIZE, SB_OFFSET_BYTES, "superblock", err);
	if (!ret)
		ret = bt_dev_flush(&d->dev, err);
	if (!ret)
		ret = bt_sb_read(&d->dev, back, &sb, true, err);
	if (ret)
		return ret;
	if (memcmp(back, d->block, SB_SIZE)) {
		prt_printf(err, "'%s': the superblock read back differs from the one written",
			   d->dev.path);
		return -EIO;
	}
	prt_summary(out, d, false);
	return d->init ? write_init(d, out, err) : 0;
}

int bt_format(const struct bt_format_opts *opts, struct printbuf *out,
	      struct printbuf *warn, struct printbuf *err)
{
	struct bt_format_opts o = *opts;
	struct fmt_dev *devs;
	struct bt_guard own, *g = opts->guard;
	unsigned block, done = 0;
	int ret, failed = 0;

	ret = bt_format_check_opts(&o, warn, err);
	if (ret)
		return ret;
	if (!o.set_uuid_given)
		uuid_generate(o.set_uuid);
	devs = calloc(o.nr_devs, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	if (!g) {
		g = &own;
		bt_guard_init(g, o.force_in_use ? BT_GUARD_FORCE_IN_USE : 0, warn);
	}

	ret = open_all(&o, g, devs, err);
	if (!ret)
		ret = decide_block(&o, devs, &block, err);
	/* check every device and report every refusal before giving up */
	for (unsigned i = 0; !ret && i < o.nr_devs; i++) {
		int r = build_one(&o, &devs[i], block, warn, err);

		if (!r)
			r = check_signatures(&o, &devs[i], warn, err);
		if (r) {
			failed = failed ? failed : r;
			if (err->pos && err->buf[err->pos - 1] != '\n')
				prt_newline(err);
		}
	}
	if (!ret)
		ret = failed;

	for (unsigned i = 0; !ret && i < o.nr_devs; i++) {
		if (o.dry_run) {
			report_dry_run(out, &devs[i]);
			continue;
		}
		ret = write_one(&devs[i], out, err);
		if (ret && done)
			prt_printf(err, "\n%u of %u devices were formatted before this failure",
				   done, o.nr_devs);
		if (!ret)
			done++;
	}

	for (unsigned i = 0; i < o.nr_devs; i++)
		if (devs[i].opened)
			bt_dev_close(&devs[i].dev);
	free(devs);
	if (g == &own)
		bt_guard_exit(g);
	return ret;
}
