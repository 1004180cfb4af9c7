/* fsck_run.h --- run fsck in-process on a memory device, for the fsck targets. */
#ifndef BCACHE_TOOL_FUZZ_FSCK_RUN_H
#define BCACHE_TOOL_FUZZ_FSCK_RUN_H

#include "fsck/fsck.h"
#include "fuzz.h"

/* One fsck run in mode on buf (bytes), JSON mode so that nothing prints;
 * *report (may be NULL) gets the --json report (fsck_report_json()). */
static inline int fz_fsck(unsigned char *buf, uint64_t bytes, enum fsck_mode mode,
			  FILE *devnull, json_t **report)
{
	struct printbuf err = PRINTBUF;
	struct fsck_ctx ctx;
	struct bt_dev dev;
	int status;

	bt_dev_open_mem(&dev, "fuzz.img", buf, bytes, mode == FSCK_MODE_NO);
	fsck_ctx_init(&ctx);
	ctx.opts.mode = mode;
	ctx.opts.json = true;
	ctx.out = devnull;
	ctx.tty_in = NULL;
	ctx.progress = false;
	ctx.path = "fuzz.img";
	ctx.dev = &dev;
	fsck_run(&ctx, &err);
	status = fsck_exit_status(&ctx);
	if (report)
		*report = fsck_report_json(&ctx);
	fsck_ctx_exit(&ctx);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	return status;
}

/* BT_FUZZ_DUMP=FILE: write the decoded image to FILE (to run the real
 * bcache-tool on a finding: fsck_y CRASH-FILE with BT_FUZZ_DUMP set). */
static inline void fz_dump(const unsigned char *buf, uint64_t bytes)
{
	const char *path = getenv("BT_FUZZ_DUMP");
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (!f || fwrite(buf, 1, bytes, f) != bytes || fclose(f))
		fz_die("cannot write BT_FUZZ_DUMP");
}

static inline FILE *fz_devnull(void)
{
	FILE *f = fopen("/dev/null", "w");

	if (!f)
		fz_die("cannot open /dev/null");
	return f;
}

#endif /* BCACHE_TOOL_FUZZ_FSCK_RUN_H */
