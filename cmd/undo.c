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

int cmd_undo(int argc, const char **argv)
{
	int dry_run = 0, force = 0, force_in_use = 0, status = BT_EXIT_OK, ret;
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
	struct printbuf err = PRINTBUF, warn = PRINTBUF;
	struct bt_undo_file uf;
	struct bt_dev dev;
	struct bt_guard g;
	const char **args;
	long n;

	if (!pc)
		return BT_EXIT_USAGE;
	args = poptGetArgs(pc);
	if (!args || !args[0] || !args[1] || args[2]) {
		bt_error("undo: give an undo file and a device");
		poptPrintUsage(pc, stderr, 0);
		poptFreeContext(pc);
		return BT_EXIT_USAGE;
	}
	bt_guard_init(&g, force_in_use ? BT_GUARD_FORCE_IN_USE : 0, &warn);
	ret = bt_guard_add(&g, args[0], BT_TARGET_INPUT, "undo file", 0, &err);
	if (ret >= 0)
		ret = bt_guard_add(&g, args[1], BT_TARGET_DEVICE, "device", 0, &err);
	if (ret < 0) {
		bt_error_pb(&err);
		bt_guard_exit(&g);
		printbuf_exit(&err);
		poptFreeContext(pc);
		return BT_EXIT_OPERATIONAL;
	}
	ret = bt_undo_file_load(args[0], &uf, &err);
	if (ret) {
		bt_error_pb(&err);
		status = undo_status(ret);
		goto out_uf;
	}
	ret = bt_guard_open(&g, 1, dry_run ? 0 : BT_GUARD_RDWR, &dev, &err);
	bt_error_pb(&warn);
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
		goto out_uf;
	}
	ret = bt_undo_file_check_dev(&uf, &dev, &err);
	if (ret && !(force && ret == -BT_ERR_UNDO_WRONG_DEV)) {
		bt_error_pb(&err);
		bt_error("undo: refusing to apply '%s' to '%s' (--force overrides)",
			 args[0], args[1]);
		status = undo_status(ret);
		goto out_dev;
	}
	if (ret) {
		bt_error_pb(&err);
		bt_error("undo: applying anyway (--force)");
	}
	if (!uf.finished)
		bt_error("undo: '%s' comes from a run that did not finish: restoring "
			 "what it saved%s; only the device's size and superblock were "
			 "checked, not the contents of the saved ranges", args[0],
			 uf.torn_tail ? " (its last, unsynced record is ignored)" : "");
	else if (!uf.has_digest)
		bt_error("undo: '%s' is a version-%u undo file: only the device's size "
			 "and superblock were checked, not the contents of the saved "
			 "ranges", args[0], uf.version);
	if (!ret && uf.nr_restored)
		bt_error("undo: %zu of %zu ranges already hold their saved bytes "
			 "(an interrupted undo)", uf.nr_restored, uf.nr);
	/* a dry run applies the file to a shadow of the device (libcore/shadow.h) */
	if (dry_run) {
		list_ranges(&uf);
		ret = bt_dev_shadow(&dev, &err);
		if (ret) {
			bt_error_pb(&err);
			status = BT_EXIT_OPERATIONAL;
			goto out_dev;
		}
	}
	n = bt_undo_file_apply(&uf, &dev, &err);
	if (n < 0) {
		bt_error_pb(&err);
		bt_error("undo: '%s' %s partly restored; run the undo again", args[1],
			 dry_run ? "would be" : "is");
		status = BT_EXIT_OPERATIONAL;
		goto out_dev;
	}
	printf("%s %ld ranges of '%s' from '%s'%s\n", dry_run ? "would have restored" : "restored", n,
	       args[1], args[0], dry_run ? " (dry run)" : "");
out_dev:
	bt_dev_close(&dev);
out_uf:
	bt_undo_file_exit(&uf);
	bt_guard_exit(&g);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	poptFreeContext(pc);
	return status;
}
