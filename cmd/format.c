/* format.c --- bcache-tool format: new bcache devices and a new, empty cache set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "../format/format.h"
#include "libcore/base/errcode.h"
#include "cmds.h"

enum {
	OPT_CACHE = 'C',
	OPT_BDEV = 'B',
	OPT_BUCKET = 'b',
	OPT_BLOCK = 'w',
	OPT_DATA_OFFSET = 'o',
	OPT_LABEL = 'l',
	OPT_POLICY = 0x100,
	OPT_CSET_UUID,
	OPT_UUID,
	OPT_WRITEBACK,
	OPT_DISCARD,
	OPT_WIPE_BCACHE,
	OPT_FORCE,
	OPT_FORCE_IN_USE,
	OPT_DRY_RUN,
	OPT_SB_ONLY,
};

/* A size in bytes (k/M/G suffixes), a power of two and a multiple of 512, into sectors. */
static int parse_sectors(const char *what, const char *arg, unsigned *sectors)
{
	unsigned long long bytes;

	if (bt_parse_size(arg, &bytes)) {
		bt_error("format: bad %s '%s': expected bytes with an optional k, M or G suffix",
			 what, arg);
		return -1;
	}
	if (!bt_is_pow2(bytes)) {
		bt_error("format: %s '%s' is not a power of two", what, arg);
		return -1;
	}
	if (bytes < SECTOR_SIZE) {
		bt_error("format: %s '%s' is smaller than a sector (512 bytes)", what, arg);
		return -1;
	}
	if (bytes >> SECTOR_SHIFT > UINT16_MAX) {
		bt_error("format: %s '%s' is too large: at most %uk", what, arg,
			 BT_FORMAT_MAX_BUCKET / 2);
		return -1;
	}
	*sectors = (unsigned)(bytes >> SECTOR_SHIFT);
	return 0;
}

static int parse_policy(const char *arg, unsigned *policy)
{
	for (unsigned p = CACHE_REPLACEMENT_LRU; p <= CACHE_REPLACEMENT_RANDOM; p++)
		if (!strcmp(arg, bt_replacement_str(p))) {
			*policy = p;
			return 0;
		}
	bt_error("format: unknown cache replacement policy '%s' (lru, fifo or random)", arg);
	return -1;
}

static int parse_uuid(const char *what, const char *arg, uint8_t uuid[16])
{
	if (uuid_parse(arg, uuid)) {
		bt_error("format: bad %s '%s'", what, arg);
		return -1;
	}
	return 0;
}

static int parse_offset(const char *arg, uint64_t *sectors)
{
	char *end;

	errno = 0;
	*sectors = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-') {
		bt_error("format: bad data offset '%s': expected a number of sectors", arg);
		return -1;
	}
	return 0;
}

/* An option without an argument. */
static int handle_flag(int rc, struct bt_format_opts *o)
{
	switch (rc) {
	case OPT_WRITEBACK:	o->writeback = true; return 0;
	case OPT_DISCARD:	o->discard = true; return 0;
	case OPT_WIPE_BCACHE:	o->wipe_bcache = true; return 0;
	case OPT_FORCE:		o->force = true; return 0;
	case OPT_FORCE_IN_USE:	o->force_in_use = true; return 0;
	case OPT_DRY_RUN:	o->dry_run = true; return 0;
	case OPT_SB_ONLY:	o->sb_only = true; return 0;
	}
	return -1;
}

/* One option that poptGetNextOpt() returned; arg is its argument or NULL. */
static int handle_opt(int rc, const char *arg, int *mode, struct bt_format_opts *o)
{
	switch (rc) {
	case OPT_CACHE:
	case OPT_BDEV:
		*mode = rc;
		return 0;
	case 0:		/* a device (POPT_CONTEXT_ARG_OPTS), for the last -C or -B */
		if (!*mode) {
			bt_error("format: '%s': say -C (cache) or -B (backing) before the device",
				 arg);
			return -1;
		}
		if (o->nr_devs == BT_FORMAT_MAX_DEVS) {
			bt_error("format: too many devices: at most %u", BT_FORMAT_MAX_DEVS);
			return -1;
		}
		o->devs[o->nr_devs].path = strdup(arg);
		o->devs[o->nr_devs++].cache = *mode == OPT_CACHE;
		return 0;
	case OPT_BUCKET:
		return parse_sectors("bucket size", arg, &o->bucket_size);
	case OPT_BLOCK:
		return parse_sectors("block size", arg, &o->block_size);
	case OPT_DATA_OFFSET:
		return parse_offset(arg, &o->data_offset);
	case OPT_POLICY:
		return parse_policy(arg, &o->replacement);
	case OPT_CSET_UUID:
		o->set_uuid_given = true;
		return parse_uuid("cache set uuid", arg, o->set_uuid);
	case OPT_UUID:
		o->uuid_given = true;
		return parse_uuid("uuid", arg, o->uuid);
	case OPT_LABEL:
		free((char *)o->label);
		o->label = strdup(arg);
		return 0;
	}
	return handle_flag(rc, o);
}

static void free_opts(struct bt_format_opts *o)
{
	for (unsigned i = 0; i < o->nr_devs; i++)
		free((char *)o->devs[i].path);
	free((char *)o->label);
}

/* Every option comes back from poptGetNextOpt() as its OPT_* code (handle_opt()). */
static const struct poptOption format_opts[] = {
	{ "cache", 'C', POPT_ARG_NONE, NULL, OPT_CACHE,
	  "the devices that follow are cache devices", NULL },
	{ "bdev", 'B', POPT_ARG_NONE, NULL, OPT_BDEV,
	  "the devices that follow are backing devices", NULL },
	{ "bucket", 'b', POPT_ARG_STRING, NULL, OPT_BUCKET,
	  "bucket size in bytes (default 512k)", "SIZE" },
	{ "block", 'w', POPT_ARG_STRING, NULL, OPT_BLOCK,
	  "block size in bytes (default: the devices' largest logical block)", "SIZE" },
	{ "data-offset", 'o', POPT_ARG_STRING, NULL, OPT_DATA_OFFSET,
	  "backing devices: first data sector (default 16)", "SECTORS" },
	{ "data_offset", 0, POPT_ARG_STRING | POPT_ARGFLAG_DOC_HIDDEN, NULL,
	  OPT_DATA_OFFSET, NULL, NULL },
	{ "writeback", 0, POPT_ARG_NONE, NULL, OPT_WRITEBACK,
	  "backing devices: start in writeback mode", NULL },
	{ "discard", 0, POPT_ARG_NONE, NULL, OPT_DISCARD,
	  "cache device: discard buckets when they are reused", NULL },
	{ "cache-replacement-policy", 0, POPT_ARG_STRING, NULL, OPT_POLICY,
	  "cache device: lru (default), fifo or random", "POLICY" },
	{ "cache_replacement_policy", 0, POPT_ARG_STRING | POPT_ARGFLAG_DOC_HIDDEN,
	  NULL, OPT_POLICY, NULL, NULL },
	{ "cset-uuid", 0, POPT_ARG_STRING, NULL, OPT_CSET_UUID,
	  "cache set uuid (default: random)", "UUID" },
	{ "uuid", 0, POPT_ARG_STRING, NULL, OPT_UUID,
	  "device uuid, one device only (default: random)", "UUID" },
	{ "label", 'l', POPT_ARG_STRING, NULL, OPT_LABEL,
	  "label, at most 31 characters", "LABEL" },
	{ "wipe-bcache", 0, POPT_ARG_NONE, NULL, OPT_WIPE_BCACHE,
	  "overwrite an existing bcache superblock", NULL },
	{ "force", 'f', POPT_ARG_NONE, NULL, OPT_FORCE,
	  "overwrite any other signature; write a cache the kernel would not register "
	  "(512 buckets or fewer, one-page buckets); never the in-use checks", NULL },
	BT_OPT_FORCE_IN_USE_VAL(OPT_FORCE_IN_USE),
	{ "dry-run", 'n', POPT_ARG_NONE, NULL, OPT_DRY_RUN,
	  "print what would be written, write nothing", NULL },
	{ "sb-only", 0, POPT_ARG_NONE, NULL, OPT_SB_ONLY,
	  "cache: write only the superblock, as make-bcache does (the kernel "
	  "initialises the cache set at its first registration)", NULL },
	POPT_AUTOHELP
	POPT_TABLEEND
};

int cmd_format(int argc, const char **argv)
{
	struct printbuf out = PRINTBUF, warn = PRINTBUF, err = PRINTBUF;
	struct bt_format_opts o;
	poptContext pc;
	int rc, mode = 0, ret, status = BT_EXIT_OK;

	bt_format_opts_init(&o);
	/* ARG_OPTS: devices come back in order, so -C and -B apply to those after them */
	pc = poptGetContext("bcache-tool format", argc, argv, format_opts, POPT_CONTEXT_ARG_OPTS);
	poptSetOtherOptionHelp(pc, "[OPTIONS] -C CACHE_DEV | -B BACKING_DEV...");
	while ((rc = poptGetNextOpt(pc)) >= 0) {
		char *arg = poptGetOptArg(pc);

		ret = handle_opt(rc, arg, &mode, &o);
		free(arg);
		if (ret) {
			status = BT_EXIT_USAGE;
			goto out;
		}
	}
	if (rc < -1) {
		bt_error("format: %s: %s", poptBadOption(pc, POPT_BADOPTION_NOALIAS),
			 poptStrerror(rc));
		poptPrintUsage(pc, stderr, 0);
		status = BT_EXIT_USAGE;
		goto out;
	}
	if (!o.nr_devs) {
		bt_error("format: no device given");
		poptPrintUsage(pc, stderr, 0);
		status = BT_EXIT_USAGE;
		goto out;
	}
	ret = bt_format(&o, &out, &warn, &err);
	status = bt_report_result(ret, &out, &warn, &err);
out:
	printbuf_exit(&out);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	free_opts(&o);
	poptFreeContext(pc);
	return status;
}
