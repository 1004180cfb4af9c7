/* extract.c --- bcache-tool extract: copy out what the kernel would serve
 * as /dev/bcacheN, reading both devices only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/base/errcode.h"
#include "recovery/extract.h"
#include "libcore/read/overlay.h"
#include "libcore/dev/target.h"
#include "libcore/read/uuid.h"
#include "cmds.h"

struct extract_opts {
	char	*uuid, *slot, *output, *cache_size;	/* popt-allocated */
	int	dry_run, no_journal, force, force_in_use;
};

static int out_write(void *priv, const void *buf, size_t bytes, uint64_t logical_byte)
{
	struct bt_outfile *o = priv;
	size_t done = 0;

	while (done < bytes) {
		ssize_t r = o->seekable
			? pwrite(o->fd, (const char *)buf + done, bytes - done,
				 (off_t)(logical_byte + done))
			: write(o->fd, (const char *)buf + done, bytes - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

static void list_extent(void *priv, const struct bkey *k, uint64_t logical_start,
			uint64_t sectors)
{
	struct printbuf pb = PRINTBUF;

	(void)priv;
	bt_bkey_to_text(&pb, k);
	printf("sector %llu +%llu <- %s\n", (unsigned long long)logical_start,
	       (unsigned long long)sectors, printbuf_str(&pb));
	printbuf_exit(&pb);
}

/* Dirty extents of inode that are in the view but stale: dirty data the kernel lost. */
static uint64_t report_stale_dirty(const struct cache_set *c, const struct bt_extmap *view,
				   unsigned inode, uint64_t base)
{
	uint64_t lost = 0;

	for (size_t i = bt_extmap_seek(view, inode, 0); i < view->nr; i++) {
		const struct bkey *k = bt_extmap_key(view, i);
		struct bt_extent_bad_info info = { 0 };

		if (KEY_INODE(k) != inode)
			break;
		if (!KEY_DIRTY(k) || !bt_extent_bad(c, k, &info) || !info.stale)
			continue;
		bt_error("dirty data lost: sectors %llu-%llu (%llu sectors) have a stale pointer "
			 "(stale by %u); the backing device's older data is served",
			 (unsigned long long)(KEY_START(k) - base),
			 (unsigned long long)(KEY_OFFSET(k) - base - 1),
			 (unsigned long long)KEY_SIZE(k), info.stale);
		lost += KEY_SIZE(k);
	}
	return lost;
}

/* Pick the uuid slot: --slot, --uuid, the backing device's uuid, or the only flash volume. */
static int pick_slot(const struct cache_set *c, const struct extract_opts *o,
		     const struct cache_sb *bsb, unsigned *slot)
{
	if (o->slot) {
		char *end;
		unsigned long v = strtoul(o->slot, &end, 10);

		if (*end || !*o->slot || v >= c->nr_uuids) {
			bt_error("extract: bad slot '%s' (the cache has %u uuid slots)", o->slot,
				 c->nr_uuids);
			return -EINVAL;
		}
		*slot = (unsigned)v;
	} else if (o->uuid || bsb) {
		uuid_t u;
		long s;

		if (o->uuid && uuid_parse(o->uuid, u)) {
			bt_error("extract: bad uuid '%s'", o->uuid);
			return -EINVAL;
		}
		s = bt_uuid_find(c, o->uuid ? u : bsb->uuid);
		if (s < 0) {
			struct printbuf pb = PRINTBUF;

			prt_uuid(&pb, o->uuid ? u : bsb->uuid);
			bt_error("extract: uuid %s has no slot in the cache set", printbuf_str(&pb));
			printbuf_exit(&pb);
			return -ENOENT;
		}
		*slot = (unsigned)s;
	} else {
		long found = -1;

		for (unsigned i = 0; i < c->nr_uuids; i++)
			if (bt_uuid_slot_state(&c->uuids[i]) == BT_UUID_LIVE &&
			    bt_uuid_flash_only(&c->uuids[i])) {
				if (found >= 0) {
					bt_error("extract: several flash volumes: name one with --slot or --uuid");
					return -EINVAL;
				}
				found = i;
			}
		if (found < 0) {
			bt_error("extract: no backing device given and no flash volume in the cache set");
			return -EINVAL;
		}
		*slot = (unsigned)found;
	}
	if (bt_uuid_slot_state(&c->uuids[*slot]) != BT_UUID_LIVE) {
		bt_error("extract: uuid slot %u is not in use", *slot);
		return -ENOENT;
	}
	return 0;
}

/*
 * Declare CACHE, BDEV and the output to the guard, open both devices
 * (read-only) and read BDEV's superblock. 0 or BT_EXIT_OPERATIONAL (printed).
 */
static int open_inputs(struct bt_guard *g, const char **args, const struct extract_opts *o,
		       struct bt_dev *cdev, struct bt_dev *bdev, struct cache_sb *bsb,
		       int *out)
{
	struct printbuf err = PRINTBUF;
	uint8_t block[SB_SIZE];
	int ret, c, b = -1;

	*out = -1;
	ret = c = bt_guard_add(g, args[0], BT_TARGET_INPUT, "cache device", BT_TARGET_BCACHE,
			       &err);
	if (ret >= 0 && args[1])
		ret = b = bt_guard_add(g, args[1], BT_TARGET_INPUT, "backing device",
				       BT_TARGET_BCACHE, &err);
	if (ret >= 0 && !o->dry_run)
		ret = *out = bt_guard_add(g, o->output, BT_TARGET_OUTPUT, "output", 0, &err);
	if (ret >= 0)
		ret = bt_guard_open(g, c, 0, cdev, &err);
	if (ret >= 0 && b >= 0)
		ret = bt_guard_open(g, b, 0, bdev, &err);
	if (ret >= 0 && b >= 0) {
		ret = bt_sb_read(bdev, block, bsb, true, &err);
		if (!ret && !bt_sb_is_bdev(bsb)) {
			prt_printf(&err, "'%s' is not a backing device (superblock version %llu)",
				   args[1], (unsigned long long)bsb->version);
			ret = -BT_ERR_SB_NOT_BACKING;
		}
	}
	bt_error_pb(g->warn);
	if (ret < 0)
		bt_error_pb(&err);
	printbuf_exit(&err);
	return ret < 0 ? BT_EXIT_OPERATIONAL : 0;
}

/* Open the output for bytes of content: a block device must hold them. */
static int open_output(struct bt_guard *g, int i, uint64_t bytes, struct bt_outfile *out)
{
	struct printbuf err = PRINTBUF;
	int ret = bt_guard_open_file(g, i, out, &err);

	if (!ret && out->seekable && !out->regular && out->size < bytes) {
		prt_printf(&err, "the output '%s' (%llu bytes) is smaller than the content "
			   "(%llu bytes)", out->path, (unsigned long long)out->size,
			   (unsigned long long)bytes);
		ret = -BT_ERR_DEV_TOO_SMALL;
	} else if (!ret && out->seekable && !out->regular && out->size > bytes) {
		bt_error("note: the output '%s' is larger than the content: its bytes from "
			 "byte %llu on are left as they were", out->path,
			 (unsigned long long)bytes);
	}
	bt_error_pb(g->warn);
	if (ret)
		bt_error_pb(&err);
	printbuf_exit(&err);
	return ret ? BT_EXIT_OPERATIONAL : 0;
}

static int run_extract(poptContext pc, const struct extract_opts *o);

int cmd_extract(int argc, const char **argv)
{
	struct extract_opts o = { 0 };
	struct poptOption opts[] = {
		{ "output", 'o', POPT_ARG_STRING, &o.output, 0,
		  "write the content to FILE ('-' for standard output)", "FILE" },
		{ "uuid", 0, POPT_ARG_STRING, &o.uuid, 0, "the device's uuid (its uuid slot)", "UUID" },
		{ "slot", 0, POPT_ARG_STRING, &o.slot, 0, "the uuid slot number", "N" },
		{ "dry-run", 'n', POPT_ARG_NONE, &o.dry_run, 0,
		  "list the extents that would be copied, write nothing", NULL },
		{ "no-journal", 0, POPT_ARG_NONE, &o.no_journal, 0,
		  "use the on-disk btree alone, without replaying the journal", NULL },
		{ "cache-size", 0, POPT_ARG_STRING, &o.cache_size, 0,
		  "memory bound of the node cache (default 64M)", "BYTES" },
		{ "force", 'f', POPT_ARG_NONE, &o.force, 0,
		  "overwrite an existing output that is not empty or holds a signature", NULL },
		BT_OPT_FORCE_IN_USE(&o.force_in_use),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("extract", argc, argv, opts, "CACHE [BDEV]");
	int status;

	if (!pc)
		return BT_EXIT_USAGE;
	status = run_extract(pc, &o);
	free(o.uuid);
	free(o.slot);
	free(o.output);
	free(o.cache_size);
	poptFreeContext(pc);
	return status;
}

static int run_extract(poptContext pc, const struct extract_opts *o)
{
	const char **args = poptGetArgs(pc);
	unsigned long long cache_bytes = BT_NODE_CACHE_DEFAULT_BYTES;
	unsigned slot;
	struct printbuf err = PRINTBUF, warn = PRINTBUF;
	struct bt_guard g;
	struct bt_dev cdev = { .fd = -1 }, bdev = { .fd = -1 };
	struct cache_set c;
	struct cache_sb bsb;
	struct bt_node_cache *nc = NULL;
	struct bt_extmap view;
	struct bt_overlay_stats ost;
	struct bt_extract_result res = { 0 };
	struct bt_outfile out = { .fd = -1 };
	struct bt_extract_req req = { 0 };
	bool have_bdev;
	int status = BT_EXIT_OK, ret, out_i;

	bt_extmap_init(&view);
	bt_guard_init(&g, (o->force_in_use ? BT_GUARD_FORCE_IN_USE : 0) |
		      (o->force ? BT_GUARD_OVERWRITE : 0), &warn);
	memset(&c, 0, sizeof(c));
	if (!args || !args[0] || (args[1] && args[2])) {
		bt_error("extract: expected CACHE [BDEV]");
		poptPrintUsage(pc, stderr, 0);
		return BT_EXIT_USAGE;
	}
	if (!o->output && !o->dry_run) {
		bt_error("extract: no output file: give -o FILE, or --dry-run");
		return BT_EXIT_USAGE;
	}
	if (o->slot && o->uuid) {
		bt_error("extract: --slot and --uuid exclude each other");
		return BT_EXIT_USAGE;
	}
	if (o->cache_size && bt_parse_size(o->cache_size, &cache_bytes)) {
		bt_error("extract: bad size '%s' for --cache-size", o->cache_size);
		return BT_EXIT_USAGE;
	}
	have_bdev = args[1] != NULL;

	/* read-only on both devices */
	status = open_inputs(&g, args, o, &cdev, &bdev, &bsb, &out_i);
	if (status)
		goto out;
	ret = bt_cache_set_open(&c, &cdev, BT_OPEN_KEEP_GOING | BT_OPEN_SB_IGNORE_CSUM, &err);
	if (!ret && c.sb_csum_bad) {
		bt_error("warning: the superblock of '%s' has a bad checksum (every other field is "
			 "valid): the kernel refuses it until 'bcache-tool fsck' recomputes it",
			 cdev.path);
		status = BT_EXIT_PROBLEM;
	}
	if (ret && (ret == -BT_ERR_NO_CACHE_SET || !c.buckets || !c.uuids ||
		    !KEY_PTRS((struct bkey *)&c.root_key))) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
		goto out;
	}
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_PROBLEM;
	}
	ret = pick_slot(&c, o, have_bdev ? &bsb : NULL, &slot);
	if (ret) {
		status = ret == -ENOENT ? BT_EXIT_OPERATIONAL : BT_EXIT_USAGE;
		goto out;
	}
	if (!have_bdev && !bt_uuid_flash_only(&c.uuids[slot])) {
		bt_error("extract: uuid slot %u belongs to a backing device: give the backing device too",
			 slot);
		status = BT_EXIT_USAGE;
		goto out;
	}
	nc = bt_node_cache_new(&c, cache_bytes, 0);
	if (!nc) {
		bt_error("extract: out of memory");
		status = BT_EXIT_OPERATIONAL;
		goto out;
	}
	ret = bt_overlay_build(&c, nc, (o->no_journal ? 0 : BT_OVERLAY_JOURNAL) |
			       BT_OVERLAY_KEEP_GOING, &view, &ost, &err);
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
		goto out;
	}
	if (err.pos) {		/* unreadable subtrees: their data is lost */
		bt_error_pb(&err);
		status = BT_EXIT_PROBLEM;
	}

	req.inode = slot;
	req.live = bt_overlay_key_live;
	req.write = out_write;
	req.priv = &out;
	req.dry_run = o->dry_run;
	req.list = list_extent;
	if (have_bdev) {
		req.bdev = &bdev;
		req.data_offset = bsb.data_offset;
		req.sectors = bt_dev_sectors(&bdev) - bsb.data_offset;
	} else {
		req.sectors = bt_uuid_sectors(&c.uuids[slot]);
	}

	if (!o->dry_run && open_output(&g, out_i, req.sectors << SECTOR_SHIFT, &out)) {
		status = BT_EXIT_OPERATIONAL;
		goto out;
	}
	if (report_stale_dirty(&c, &view, slot, req.data_offset))
		status = BT_EXIT_LOST;
	ret = bt_extract(&c, &view, &req, &res, &err);
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
		goto out;
	}
	if (bt_outfile_finish(&out, req.sectors << SECTOR_SHIFT, &err) ||
	    bt_outfile_close(&out, &err)) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
		goto out;
	}
	for (size_t i = 0; i < res.nr_lost; i++) {
		const struct bt_lost_range *l = &res.lost[i];

		bt_error("unreadable: sectors %llu-%llu (%llu sectors%s) from cache sector %llu of '%s': %s",
			 (unsigned long long)l->start,
			 (unsigned long long)(l->start + l->sectors - 1),
			 (unsigned long long)l->sectors, l->dirty ? ", dirty data lost" : "",
			 (unsigned long long)l->cache_sector, args[0], bt_err_str(l->err));
		status = BT_EXIT_LOST;
	}
	fprintf(stderr, "extract: slot %u, %llu sectors, %llu extents%s, %llu sectors from the cache "
		"(%llu dirty), %llu journal keys replayed\n", slot,
		(unsigned long long)req.sectors, (unsigned long long)res.extents,
		o->dry_run ? " (dry run)" : "", (unsigned long long)res.cache_sectors,
		(unsigned long long)res.dirty_sectors, (unsigned long long)ost.journal_keys);
out:
	bt_outfile_close(&out, &err);
	bt_guard_exit(&g);
	printbuf_exit(&warn);
	bt_extract_result_exit(&res);
	bt_extmap_exit(&view);
	bt_node_cache_free(nc);
	if (cdev.path)
		bt_cache_set_exit(&c);
	if (bdev.path)
		bt_dev_close(&bdev);
	if (cdev.path)
		bt_dev_close(&cdev);
	printbuf_exit(&err);
	return status;
}
