/* undo.c --- bcache-tool undo: write back the blocks an undo file saved (as e2undo). */
#include <stdio.h>
#include <stdlib.h>

#include "libcore/base/errcode.h"
#include "libcore/dev/shadow.h"
#include "libcore/dev/target.h"
#include "libcore/dev/undo.h"
#include "cmds.h"

static void list_ranges(const struct bt_undo_file *uf)
{
	unsigned long long bytes = 0;

	for (size_t i = 0; i < uf->nr; i++) {
		printf("would restore %u bytes at byte %llu\n", uf->recs[i].len,
		       (unsigned long long)uf->recs[i].offset);
		bytes += uf->recs[i].len;
	}
	printf("%zu ranges, %llu bytes\n", uf->nr, bytes);
}

static int undo_status(int ret)
{
	if (bt_err_matches(ret, EUCLEAN) || ret == -BT_ERR_UNDO_WRONG_DEV)
		return BT_EXIT_REFUSED;	/* refused or damaged */
	return BT_EXIT_OPERATIONAL;
}

/*
 * May uf be applied to dev? Says why not (BT_EXIT_REFUSED, or with --force
 * what it overrides) and what was not checked. 0 to go on, else the exit
 * status (printed).
 */
static int check_file(struct bt_undo_file *uf, struct bt_dev *dev, const char *file,
		      const char *path, bool force, struct printbuf *err)
{
	int ret = bt_undo_file_check_dev(uf, dev, err);

	if (ret && !(force && ret == -BT_ERR_UNDO_WRONG_DEV)) {
		bt_error_pb(err);
		bt_error("undo: refusing to apply '%s' to '%s' (--force overrides)", file, path);
		return undo_status(ret);
	}
	if (ret) {
		bt_error_pb(err);
		bt_error("undo: applying anyway (--force)");
	}
	if (!uf->finished)
		bt_error("undo: '%s' comes from a run that did not finish: restoring "
			 "what it saved%s; only the device's size and superblock were "
			 "checked, not the contents of the saved ranges", file,
			 uf->torn_tail ? " (its last, unsynced record is ignored)" : "");
	else if (!uf->has_digest)
		bt_error("undo: '%s' is a version-%u undo file: only the device's size "
			 "and superblock were checked, not the contents of the saved "
			 "ranges", file, uf->version);
	if (!ret && uf->nr_restored)
		bt_error("undo: %zu of %zu ranges already hold their saved bytes "
			 "(an interrupted undo)", uf->nr_restored, uf->nr);
	return BT_EXIT_OK;
}

/* Write uf's blocks to dev (a shadow of it in a dry run). The exit status (printed). */
static int apply(struct bt_undo_file *uf, struct bt_dev *dev, const char *file,
		 const char *path, bool dry_run, struct printbuf *err)
{
	long n;

	/* a dry run applies the file to a shadow of the device (libcore/shadow.h) */
	if (dry_run) {
		list_ranges(uf);
		if (bt_dev_shadow(dev, err)) {
			bt_error_pb(err);
			return BT_EXIT_OPERATIONAL;
		}
	}
	n = bt_undo_file_apply(uf, dev, err);
	if (n < 0) {
		bt_error_pb(err);
		bt_error("undo: '%s' %s partly restored; run the undo again", path,
			 dry_run ? "would be" : "is");
		return BT_EXIT_OPERATIONAL;
	}
	printf("%s %ld ranges of '%s' from '%s'%s\n", dry_run ? "would have restored" : "restored",
	       n, path, file, dry_run ? " (dry run)" : "");
	return BT_EXIT_OK;
}

/* Undo FILE onto DEV, both declared to the guard first. The exit status (printed). */
static int run_undo(const char *file, const char *path, bool dry_run, bool force,
		    bool force_in_use)
{
	struct printbuf err = PRINTBUF, warn = PRINTBUF;
	struct bt_undo_file uf;
	struct bt_dev dev = { .fd = -1 };
	struct bt_guard g;
	int status, ret;

	bt_guard_init(&g, force_in_use ? BT_GUARD_FORCE_IN_USE : 0, &warn);
	ret = bt_guard_add(&g, file, BT_TARGET_INPUT, "undo file", 0, &err);
	if (ret >= 0)
		ret = bt_guard_add(&g, path, BT_TARGET_DEVICE, "device", 0, &err);
	if (ret < 0) {
		bt_error_pb(&err);
		bt_guard_exit(&g);
		printbuf_exit(&err);
		return BT_EXIT_OPERATIONAL;
	}
	ret = bt_undo_file_load(file, &uf, &err);
	if (ret) {
		bt_error_pb(&err);
		status = undo_status(ret);
		goto out;
	}
	ret = bt_guard_open(&g, 1, dry_run ? 0 : BT_GUARD_RDWR, &dev, &err);
	bt_error_pb(&warn);
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
		goto out;
	}
	status = check_file(&uf, &dev, file, path, force, &err);
	if (!status)
		status = apply(&uf, &dev, file, path, dry_run, &err);
out:
	if (dev.path)
		bt_dev_close(&dev);
	bt_undo_file_exit(&uf);
	bt_guard_exit(&g);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	return status;
}

int cmd_undo(int argc, const char **argv)
{
	int dry_run = 0, force = 0, force_in_use = 0, status;
	struct poptOption opts[] = {
		{ NULL, 'n', POPT_ARG_NONE, &dry_run, 0,
		  "list the ranges that would be restored and check every record as the "
		  "real run does; write nothing", NULL },
		{ "force", 0, POPT_ARG_NONE, &force, 0,
		  "apply even if the device's size, superblock or saved ranges do "
		  "not match", NULL },
		BT_OPT_FORCE_IN_USE(&force_in_use),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("undo", argc, argv, opts, "[-n] [--force] FILE DEV");
	const char **args;

	if (!pc)
		return BT_EXIT_USAGE;
	args = poptGetArgs(pc);
	if (!args || !args[0] || !args[1] || args[2]) {
		bt_error("undo: give an undo file and a device");
		poptPrintUsage(pc, stderr, 0);
		status = BT_EXIT_USAGE;
	} else {
		status = run_undo(args[0], args[1], dry_run, force, force_in_use);
	}
	poptFreeContext(pc);
	return status;
}
