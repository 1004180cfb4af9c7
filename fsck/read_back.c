/* read_back.c --- after a repair, the summary's figures read back from the
 * device.
 *
 * A run that wrote (superblock rewrite, journal rebuild, replay, btree
 * rebuild) leaves ctx->stats describing the cache set the passes read
 * before the repair. fsck_read_back() runs every read-only pass again, in
 * a second fsck context answering no and printing nothing, on the same
 * open device, and takes its figures: the summary then gives exactly what
 * a following 'fsck -n' gives. The memory of the first run's passes (node
 * cache, cache set) is freed and trimmed before, so the peak is no higher
 * than the first run's; the time is about that of a check.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "libcore/read/node_cache.h"
#include "fsck.h"

/* A stream that drops what is written to it: the read-back says nothing itself. */
static ssize_t discard_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	(void)buf;
	return (ssize_t)size;
}

static FILE *discard_stream(void)
{
	cookie_io_functions_t io = { .write = discard_write };

	return fopencookie(NULL, "w", io);
}

int fsck_read_back(struct fsck_ctx *ctx)
{
	struct printbuf err = PRINTBUF;
	struct fsck_ctx r;
	int ret;

	fsck_ctx_init(&r);
	r.out = discard_stream();
	if (!r.out)
		return -ENOMEM;
	r.opts.mode = FSCK_MODE_NO;
	r.opts.json = true;		/* no pass headers, no progress */
	r.opts.max_msgs = ctx->opts.max_msgs;
	r.path = ctx->path;
	r.dev = ctx->dev;
	r.tty_in = NULL;
	/* nothing reads the first run's cache set any more */
	fsck_ctx_free_cache_set(ctx);
	/*
	 * give the freed heap back first: the second run allocates in another
	 * order and would otherwise grow the heap past the first run's peak
	 */
	malloc_trim(0);
	ret = fsck_run(&r, &err);

	/* ctx takes the figures and the cache set as they are now */
	fsck_stats_exit(&ctx->stats);
	ctx->stats = r.stats;
	fsck_stats_init(&r.stats);
	if (r.node_cache)
		bt_node_cache_free(r.node_cache);
	r.node_cache = NULL;
	ctx->c = r.c;
	r.c = NULL;
	ctx->read_back_errors = (r.flags & FSCK_ERRORS_FOUND) != 0;
	if (ret && ctx->err)
		prt_printf(ctx->err, "reading the repaired device back: %s", printbuf_str(&err));
	fclose(r.out);
	fsck_ctx_exit(&r);
	printbuf_exit(&err);
	return ret;
}
