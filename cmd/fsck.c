/* fsck.c --- bcache-tool fsck: check a cache device (e2fsck-style options). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../fsck/fsck.h"
#include "libcore/ondisk/sb.h"
#include "libcore/dev/target.h"
#include "libcore/dev/undo.h"
#include "libcore/read/node_pool.h"
#include "cmds.h"

static int list_problems(void)
{
	struct printbuf out = PRINTBUF;

	problem_table_to_troff(&out);
	fputs(printbuf_str(&out), stdout);
	printbuf_exit(&out);
	return BT_EXIT_OK;
}

static void free_argv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* What fsck opens: declared to the guard first, all of them, then opened. */
struct fsck_files {
	struct bt_guard		g;
	struct printbuf		warn;
	int			dev, undo, log;	/* guard indices; -1: none */
	int			*backing;	/* guard indices of --backing, nr_backing */
	size_t			nr_backing;
	struct bt_outfile	undo_file, log_file;
	FILE			*logf;
};

/* Declare DEV, each --backing DEV, --undo FILE and --log FILE. 0 or -1 (printed). */
static int declare(struct fsck_files *f, const char *dev, char **backing, const char *undo,
		   const char *log)
{
	struct printbuf err = PRINTBUF;
	int ret;

	f->undo = f->log = -1;
	for (; backing && backing[f->nr_backing]; f->nr_backing++)
		;
	f->backing = calloc(f->nr_backing + 1, sizeof(*f->backing));
	ret = f->backing ? 0 : -ENOMEM;
	if (!ret)
		ret = f->dev = bt_guard_add(&f->g, dev, BT_TARGET_DEVICE, "cache device",
					    BT_TARGET_BCACHE, &err);
	for (size_t i = 0; ret >= 0 && i < f->nr_backing; i++)
		ret = f->backing[i] = bt_guard_add(&f->g, backing[i], BT_TARGET_INPUT,
						   "backing device", BT_TARGET_BCACHE, &err);
	if (ret >= 0 && undo)
		ret = f->undo = bt_guard_add(&f->g, undo, BT_TARGET_UNDO, "undo file", 0, &err);
	if (ret >= 0 && log)
		ret = f->log = bt_guard_add(&f->g, log, BT_TARGET_LOG, "log file", 0, &err);
	if (ret == -ENOMEM && !err.pos)
		prt_str(&err, "fsck: out of memory");
	if (ret < 0)
		bt_error_pb(&err);
	printbuf_exit(&err);
	return ret < 0 ? -1 : 0;
}

/*
 * The header of one run in the log: when, which bcache-tool, the command
 * line (the device's identity follows from fsck's superblock pass).
 */
static void log_header(FILE *log, int argc, const char **argv)
{
	time_t now = time(NULL);
	char when[64];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
	fprintf(log, "# %s bcache-tool %s:", when, BT_VERSION);
	fprintf(log, " bcache-tool");
	for (int i = 0; i < argc; i++)
		fprintf(log, " %s", argv[i]);
	fputc('\n', log);
	fflush(log);
}

/* --log FILE: appended to, through the guard. 0 or -1 (printed). */
static int open_log(struct fsck_files *f, int argc, const char **argv)
{
	struct printbuf err = PRINTBUF;
	int ret = f->log < 0 ? 0 : bt_guard_open_file(&f->g, f->log, &f->log_file, &err);

	if (!ret && f->log >= 0) {
		f->logf = fdopen(f->log_file.fd, "a");
		if (!f->logf) {
			prt_printf(&err, "cannot open the log file '%s': %s", f->log_file.path,
				   strerror(errno));
			ret = -errno;
		} else {
			f->log_file.fd = -1;	/* the FILE owns it */
			log_header(f->logf, argc, argv);
		}
	}
	bt_error_pb(&f->warn);
	if (ret)
		bt_error_pb(&err);
	printbuf_exit(&err);
	return ret ? -1 : 0;
}

/* The end of the log: flushed and synced. 0 or BT_EXIT_OPERATIONAL (printed). */
static int close_log(struct fsck_files *f, const char *path)
{
	int ret = 0;

	if (!f->logf)
		return 0;
	if (fflush(f->logf) || fsync(fileno(f->logf)))
		ret = -1;
	if (fclose(f->logf))
		ret = -1;
	f->logf = NULL;
	if (ret)
		bt_error("fsck: writing log file %s: %m", path);
	return ret ? BT_EXIT_OPERATIONAL : 0;
}

static void files_exit(struct fsck_files *f)
{
	struct printbuf err = PRINTBUF;

	bt_outfile_close(&f->undo_file, &err);
	bt_outfile_close(&f->log_file, &err);
	printbuf_exit(&err);
	free(f->backing);
	bt_guard_exit(&f->g);
	printbuf_exit(&f->warn);
}

/*
 * --backing DEV: the uuid of each backing device's superblock, a hint for
 * the uuid bucket scan of the journal rebuild (journal_rebuild.c). The
 * devices are only read. Returns 0 or -1 with a message.
 */
static int load_backing_hints(struct fsck_ctx *ctx, struct fsck_files *f)
{
	int ret = 0;

	if (f->nr_backing)
		ctx->backing_uuids = calloc(f->nr_backing, sizeof(*ctx->backing_uuids));
	for (size_t i = 0; i < f->nr_backing; i++) {
		struct printbuf err = PRINTBUF;
		uint8_t block[SB_SIZE];
		struct cache_sb sb;
		struct bt_dev dev;

		if (!ret && !ctx->backing_uuids) {
			bt_error("fsck: out of memory");
			ret = -1;
		}
		if (!ret && bt_guard_open(&f->g, f->backing[i], 0, &dev, &err)) {
			bt_error_pb(&f->warn);
			bt_error_pb(&err);
			ret = -1;
		} else if (!ret) {
			bt_error_pb(&f->warn);
			if (bt_sb_read(&dev, block, &sb, true, &err)) {
				bt_error_pb(&err);
				ret = -1;
			} else if (!bt_sb_is_bdev(&sb)) {
				bt_error("fsck: --backing %s is not a backing device", dev.path);
				ret = -1;
			} else {
				memcpy(ctx->backing_uuids[ctx->nr_backing_uuids++], sb.uuid, 16);
			}
			bt_dev_close(&dev);
		}
		printbuf_exit(&err);
	}
	return ret;
}

/* Open DEV (read-only with -n) and attach --undo FILE. 0 or -1 (printed). */
static int open_dev(struct fsck_files *f, bool no, bool json, struct bt_dev *dev,
		    const char *undo)
{
	struct printbuf err = PRINTBUF;
	int ret = bt_guard_open(&f->g, f->dev, no ? 0 : BT_GUARD_RDWR, dev, &err);

	if (!ret && undo) {
		ret = bt_guard_open_file(&f->g, f->undo, &f->undo_file, &err);
		if (!ret) {
			ret = bt_undo_open(dev, f->undo_file.fd, undo, &err);
			f->undo_file.fd = -1;	/* the undo log owns it */
		}
		if (!ret && !json)
			printf("saving the blocks it changes; undo with: bcache-tool undo %s %s\n",
			       undo, dev->path);
	}
	bt_error_pb(&f->warn);
	if (ret)
		bt_error_pb(&err);
	printbuf_exit(&err);
	return ret ? -1 : 0;
}

/* The options as popt leaves them. */
struct fsck_cli_opts {
	int	no, yes, preen, force_check, verbose, json, force, force_in_use, list;
	int	jobs;		/* -j N; 0: the online CPUs */
	char	*cache_size;	/* popt-allocated */
	char	*log, *undo;	/* popt-allocated */
	char	**backing;	/* popt-allocated */
};

/* The refusals of the arguments and option combinations: 0, or BT_EXIT_USAGE (printed). */
static int check_opts(poptContext pc, const struct fsck_cli_opts *o, const char **args)
{
	if (!args || !args[0] || args[1]) {
		bt_error("fsck: %s", args && args[0] ? "only one device can be checked" :
			 "no device given");
		poptPrintUsage(pc, stderr, 0);
		return BT_EXIT_USAGE;
	}
	if (o->no + o->yes + o->preen > 1) {
		bt_error("fsck: only one of -n, -y and -p can be given");
		return BT_EXIT_USAGE;
	}
	if (o->json && !(o->no || o->yes || o->preen)) {
		bt_error("fsck: --json needs -n, -y or -p (no questions can be asked)");
		return BT_EXIT_USAGE;
	}
	if (o->undo && o->no) {
		bt_error("fsck: --undo needs -y, -p or questions (-n writes nothing)");
		return BT_EXIT_USAGE;
	}
	if (o->jobs < 0 || o->jobs > 1024) {
		bt_error("fsck: bad number of threads %d for -j (1 to 1024)", o->jobs);
		return BT_EXIT_USAGE;
	}
	if (o->cache_size && bt_parse_size(o->cache_size, &(unsigned long long){ 0 })) {
		bt_error("fsck: bad size '%s' for --cache-size", o->cache_size);
		return BT_EXIT_USAGE;
	}
	if (o->force)
		return bt_old_force("fsck");
	return BT_EXIT_OK;
}

/* The check of the open device, the undo file closed, the JSON report: the exit status. */
static int check_dev(struct fsck_ctx *ctx, struct bt_dev *dev, bool json, struct printbuf *err)
{
	int status, ret;

	ctx->dev = dev;
	ret = fsck_run(ctx, err);
	if (ret)
		bt_error_pb(err);
	status = fsck_exit_status(ctx);
	if (bt_undo_close(dev, err)) {
		bt_error_pb(err);
		status |= BT_EXIT_OPERATIONAL;
	}
	if (json) {
		json_t *report = fsck_report_json(ctx);

		json_dumpf(report, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(report);
	}
	return status;
}

static int run_fsck(const struct fsck_cli_opts *o, const char *path, int argc, const char **argv)
{
	struct fsck_files files = { .warn = PRINTBUF };
	struct printbuf err = PRINTBUF;
	struct fsck_ctx ctx;
	struct bt_stop stop = { 0 };
	struct bt_dev dev = { .fd = -1 };
	int status = BT_EXIT_OPERATIONAL;

	/* one exit path: what is not set up yet is NULL or empty, and freed as such */
	fsck_ctx_init(&ctx);
	bt_guard_init(&files.g, o->force_in_use ? BT_GUARD_FORCE_IN_USE : 0, &files.warn);
	if (declare(&files, path, o->backing, o->undo, o->log) || open_log(&files, argc, argv))
		goto out;
	ctx.log = files.logf;
	ctx.opts.mode = o->no ? FSCK_MODE_NO : o->yes ? FSCK_MODE_YES :
			o->preen ? FSCK_MODE_PREEN : FSCK_MODE_ASK;
	ctx.opts.force_check = o->force_check;
	ctx.opts.verbose = o->verbose;
	ctx.opts.json = o->json;
	ctx.opts.threads = o->jobs ? (unsigned)o->jobs : bt_online_cpus();
	if (o->cache_size) {
		unsigned long long bytes = 0;

		bt_parse_size(o->cache_size, &bytes);	/* checked in check_opts() */
		ctx.opts.node_cache_bytes = (size_t)bytes;
	}
	ctx.path = path;
	bt_signals_install(&stop);
	ctx.stop = &stop;
	if (load_backing_hints(&ctx, &files))
		goto out;
	/* -n: the I/O layer refuses writes too, a second barrier under the policy */
	if (open_dev(&files, o->no, o->json, &dev, o->undo))
		goto out;
	status = check_dev(&ctx, &dev, o->json, &err);
out:
	fsck_ctx_exit(&ctx);
	bt_dev_close(&dev);
	status |= close_log(&files, o->log);
	files_exit(&files);
	printbuf_exit(&err);
	return status;
}

int cmd_fsck(int argc, const char **argv)
{
	struct fsck_cli_opts o = { 0 };
	struct poptOption opts[] = {
		{ NULL, 'n', POPT_ARG_NONE, &o.no, 0,
		  "check only: open the device read-only, answer no to every question", NULL },
		{ NULL, 'y', POPT_ARG_NONE, &o.yes, 0, "answer yes to every question", NULL },
		{ NULL, 'p', POPT_ARG_NONE, &o.preen, 0,
		  "preen: fix what is safe without questions, stop on anything else", NULL },
		{ NULL, 'f', POPT_ARG_NONE, &o.force_check, 0,
		  "check even if the set looks clean (every check always runs for now)", NULL },
		{ "verbose", 'v', POPT_ARG_NONE, &o.verbose, 0,
		  "print every figure and the time of each pass", NULL },
		{ "json", 0, POPT_ARG_NONE, &o.json, 0,
		  "print problems and summary as one JSON object", NULL },
		{ "jobs", 'j', POPT_ARG_INT, &o.jobs, 0,
		  "read and parse btree nodes with N threads ahead of the check (default: the "
		  "online CPUs; 1: none); the output is the same for any N", "N" },
		{ "cache-size", 0, POPT_ARG_STRING, &o.cache_size, 0,
		  "memory bound of the btree node cache (default 64M)", "BYTES" },
		BT_OPT_FORCE_IN_USE(&o.force_in_use),
		BT_OPT_OLD_FORCE(&o.force),
		{ "log", 0, POPT_ARG_STRING, &o.log, 0,
		  "append one line per repair made to FILE", "FILE" },
		{ "undo", 0, POPT_ARG_STRING, &o.undo, 0,
		  "save the old contents of every block before it is overwritten to FILE "
		  "('bcache-tool undo FILE DEV' restores them)", "FILE" },
		{ "backing", 0, POPT_ARG_ARGV, &o.backing, 0,
		  "a backing device of the set (may be repeated): its uuid helps the journal "
		  "rebuild find the uuid bucket; only read", "DEV" },
		{ "list-problems", 0, POPT_ARG_NONE, &o.list, 0,
		  "print the table of problem codes (troff, for the man page)", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("fsck", argc, argv, opts, "[-n|-y|-p] DEV");
	const char **args;
	int status = BT_EXIT_USAGE;

	if (pc && o.list)
		status = list_problems();
	else if (pc && !(status = check_opts(pc, &o, args = poptGetArgs(pc))))
		status = run_fsck(&o, args[0], argc, argv);
	free(o.log);
	free(o.undo);
	free(o.cache_size);
	free_argv(o.backing);
	if (pc)
		poptFreeContext(pc);
	return status;
}
