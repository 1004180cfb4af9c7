/* fsck.c --- bcache-tool fsck: check a cache device (e2fsck-style options). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fsck/fsck.h"
#include "../libcore/sb.h"
#include "../libcore/undo.h"
#include "cmds.h"

static int list_problems(void)
{
	struct printbuf out = PRINTBUF;

	problem_table_to_troff(&out);
	fputs(printbuf_str(&out), stdout);
	printbuf_exit(&out);
	return EXIT_OK;
}

static void free_argv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/*
 * --backing DEV: the uuid of each backing device's superblock, a hint for
 * the uuid bucket scan of the journal rebuild (journal_rebuild.c). The
 * devices are only read. Frees paths. Returns 0 or -1 with a message.
 */
static int load_backing_hints(struct fsck_ctx *ctx, char **paths)
{
	size_t n = 0;
	int ret = 0;

	for (; paths && paths[n]; n++)
		;
	if (n)
		ctx->backing_uuids = calloc(n, sizeof(*ctx->backing_uuids));
	for (size_t i = 0; i < n; i++) {
		struct printbuf err = PRINTBUF;
		uint8_t block[SB_SIZE];
		struct cache_sb sb;
		struct bt_dev dev;

		if (!ret && !ctx->backing_uuids) {
			bt_error("fsck: out of memory");
			ret = -1;
		}
		if (!ret && bt_dev_open(paths[i], BT_DEV_FORCE, &dev, &err)) {
			bt_error_pb(&err);
			ret = -1;
		} else if (!ret) {
			if (bt_sb_read(&dev, block, &sb, true, &err)) {
				bt_error_pb(&err);
				ret = -1;
			} else if (!bt_sb_is_bdev(&sb)) {
				bt_error("fsck: --backing %s is not a backing device", paths[i]);
				ret = -1;
			} else {
				memcpy(ctx->backing_uuids[ctx->nr_backing_uuids++], sb.uuid, 16);
			}
			bt_dev_close(&dev);
		}
		printbuf_exit(&err);
	}
	free_argv(paths);
	return ret;
}

int cmd_fsck(int argc, const char **argv)
{
	int no = 0, yes = 0, preen = 0, force_check = 0, verbose = 0, json = 0;
	int force = 0, list = 0, status, ret;
	char *log_path = NULL;
	FILE *log = NULL;
	char *undo = NULL;	/* popt allocates it */
	char **backing = NULL;	/* popt allocates it */
	struct poptOption opts[] = {
		{ NULL, 'n', POPT_ARG_NONE, &no, 0,
		  "check only: open the device read-only, answer no to every question", NULL },
		{ NULL, 'y', POPT_ARG_NONE, &yes, 0, "answer yes to every question", NULL },
		{ NULL, 'p', POPT_ARG_NONE, &preen, 0,
		  "preen: fix what is safe without questions, stop on anything else", NULL },
		{ NULL, 'f', POPT_ARG_NONE, &force_check, 0,
		  "check even if the set looks clean (every check always runs for now)", NULL },
		{ "verbose", 'v', POPT_ARG_NONE, &verbose, 0,
		  "print every figure and the time of each pass", NULL },
		{ "json", 0, POPT_ARG_NONE, &json, 0,
		  "print problems and summary as one JSON object", NULL },
		{ "force", 0, POPT_ARG_NONE, &force, 0,
		  "check a device that is in use (mounted, registered, held)", NULL },
		{ "log", 0, POPT_ARG_STRING, &log_path, 0,
		  "append one line per repair made to FILE", "FILE" },
		{ "undo", 0, POPT_ARG_STRING, &undo, 0,
		  "save the old contents of every block before it is overwritten to FILE "
		  "('bcache-tool undo FILE DEV' restores them)", "FILE" },
		{ "backing", 0, POPT_ARG_ARGV, &backing, 0,
		  "a backing device of the set (may be repeated): its uuid helps the journal "
		  "rebuild find the uuid bucket; only read", "DEV" },
		{ "list-problems", 0, POPT_ARG_NONE, &list, 0,
		  "print the table of problem codes (troff, for the man page)", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("fsck", argc, argv, opts, "[-n|-y|-p] DEV");
	struct printbuf err = PRINTBUF;
	struct fsck_ctx ctx;
	struct bt_dev dev = { .fd = -1 };
	const char **args;

	/* one exit path: what is not set up yet is NULL or empty, and freed as such */
	fsck_ctx_init(&ctx);
	status = EXIT_USAGE;
	if (!pc)
		goto out;
	if (list) {
		status = list_problems();
		goto out;
	}
	args = poptGetArgs(pc);
	if (!args || !args[0] || args[1]) {
		bt_error("fsck: %s", args && args[0] ? "only one device can be checked" :
			 "no device given");
		poptPrintUsage(pc, stderr, 0);
		goto out;
	}
	if (no + yes + preen > 1) {
		bt_error("fsck: only one of -n, -y and -p can be given");
		goto out;
	}
	if (json && !(no || yes || preen)) {
		bt_error("fsck: --json needs -n, -y or -p (no questions can be asked)");
		goto out;
	}
	if (undo && no) {
		bt_error("fsck: --undo needs -y, -p or questions (-n writes nothing)");
		goto out;
	}

	status = EXIT_OPERATIONAL;
	if (log_path) {
		log = fopen(log_path, "a");
		if (!log) {
			bt_error("fsck: cannot open log file %s: %m", log_path);
			goto out;
		}
	}
	ctx.log = log;
	ctx.opts.mode = no ? FSCK_MODE_NO : yes ? FSCK_MODE_YES :
			preen ? FSCK_MODE_PREEN : FSCK_MODE_ASK;
	ctx.opts.force_check = force_check;
	ctx.opts.verbose = verbose;
	ctx.opts.json = json;
	ctx.path = args[0];
	ret = load_backing_hints(&ctx, backing);
	backing = NULL;
	if (ret)
		goto out;

	/* -n: the I/O layer refuses writes too, a second barrier under the policy */
	ret = bt_dev_open(args[0], (no ? 0 : BT_DEV_RDWR) | (force ? BT_DEV_FORCE : 0),
			  &dev, &err);
	if (ret) {
		bt_error_pb(&err);
		goto out;
	}
	if (undo) {
		ret = bt_undo_open(&dev, undo, &err);
		if (ret) {
			bt_error_pb(&err);
			goto out;
		}
		if (!json)
			printf("saving the blocks it changes; undo with: bcache-tool undo %s %s\n",
			       undo, args[0]);
	}
	ctx.dev = &dev;
	ret = fsck_run(&ctx, &err);
	if (ret)
		bt_error_pb(&err);
	status = fsck_exit_status(&ctx);
	if (bt_undo_close(&dev, &err)) {
		bt_error_pb(&err);
		status |= EXIT_OPERATIONAL;
	}
	if (json) {
		json_t *report = fsck_report_json(&ctx);

		json_dumpf(report, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(report);
	}
out:
	fsck_ctx_exit(&ctx);
	bt_dev_close(&dev);
	if (log && fclose(log)) {
		bt_error("fsck: writing log file %s: %m", log_path);
		status |= EXIT_OPERATIONAL;
	}
	free(log_path);
	printbuf_exit(&err);
	free(undo);
	free_argv(backing);
	if (pc)
		poptFreeContext(pc);
	return status;
}
