/* fsck.c --- the pass runner, the fsck context and the exit status. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libcore/base/clock.h"
#include "libcore/base/errcode.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/node_pool.h"
#include "libcore/write/rebuild.h"
#include "libcore/dev/shadow.h"
#include "fsck.h"

struct fsck_pass_def {
	int		(*fn)(struct fsck_ctx *);
	const char	*name;
	unsigned	flags;		/* enum fsck_pass_flags */
	const char	*title;
};

static const struct fsck_pass_def fsck_passes[FSCK_PASS_NR] = {
#define x(_name, _flags, _title)					\
	[FSCK_PASS_##_name] = { fsck_pass_##_name, #_name, _flags, _title },
	BT_FSCK_PASSES(x)
#undef x
};

const char *fsck_pass_name(enum fsck_pass pass)
{
	return (unsigned)pass < FSCK_PASS_NR ? fsck_passes[pass].name : "?";
}

void fsck_ctx_init(struct fsck_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->opts.max_msgs = 10;
	ctx->out = stdout;
	ctx->tty_in = stdin;
	fsck_stats_init(&ctx->stats);
}

void fsck_readers_attach(struct fsck_ctx *ctx)
{
	if (ctx->node_pool && ctx->node_cache)
		bt_node_cache_set_pool(ctx->node_cache, ctx->node_pool);
}

void fsck_readers_detach(struct fsck_ctx *ctx)
{
	if (ctx->node_cache)
		bt_node_cache_set_pool(ctx->node_cache, NULL);
}

void fsck_ctx_free_cache_set(struct fsck_ctx *ctx)
{
	free(ctx->node_bucket);
	ctx->node_bucket = NULL;
	ctx->gens_raised = ctx->view_counted = false;
	if (ctx->node_cache)
		bt_node_cache_free(ctx->node_cache);	/* lets go of the pool */
	ctx->node_cache = NULL;
	bt_node_pool_free(ctx->node_pool);
	ctx->node_pool = NULL;
	if (ctx->c)
		bt_cache_set_exit(ctx->c);
	free(ctx->c);
	ctx->c = NULL;
}

void fsck_ctx_exit(struct fsck_ctx *ctx)
{
	for (unsigned i = 0; i < LATCH_NR; i++)
		free(ctx->latches[i].ranges);
	fsck_stats_exit(&ctx->stats);
	free(ctx->backing_uuids);
	free(ctx->plan.uuid_fix);
	free(ctx->lost);
	fsck_garbage_free(ctx);
	fsck_deferred_failed(ctx, NULL);
	fsck_ctx_free_cache_set(ctx);
	if (ctx->json_problems)
		json_decref(ctx->json_problems);
	ctx->json_problems = NULL;
}

void fsck_garbage_free(struct fsck_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_garbage; i++)
		free(ctx->garbage[i].key);
	free(ctx->garbage);
	ctx->garbage = NULL;
	ctx->nr_garbage = 0;
}

void fsck_progress(struct fsck_ctx *ctx, uint64_t done, uint64_t total)
{
	if (!ctx->progress || ctx->opts.json || !total)
		return;
	fprintf(stderr, "\r%s: %3u%%", fsck_pass_name(ctx->cur_pass),
		(unsigned)(done * 100 / total));
	if (done >= total)
		fputs("\r            \r", stderr);
	fflush(stderr);
}

void fsck_pass_unavailable(struct fsck_ctx *ctx, const char *what)
{
	ctx->unavailable[ctx->cur_pass] = what;
}

int fsck_run(struct fsck_ctx *ctx, struct printbuf *err)
{
	int ret = fsck_answer_mode_ok(ctx, err);
	bool shadow_said = false, own_shadow = false;

	if (ret) {
		ctx->flags |= FSCK_OPERATIONAL;
		return ret;
	}
	if (ctx->opts.json && !ctx->json_problems)
		ctx->json_problems = json_array();
	/* -n makes -y's repairs on a shadow of the device: they predict, nothing is written */
	if (ctx->opts.mode == FSCK_MODE_NO && ctx->dev && !bt_dev_shadow_of(ctx->dev)) {
		ret = bt_dev_shadow(ctx->dev, err);
		if (ret) {
			ctx->flags |= FSCK_OPERATIONAL;
			return ret;
		}
		own_shadow = true;
	}
	ctx->progress = isatty(STDERR_FILENO);
	ctx->err = err;

	for (unsigned i = 0; i < FSCK_PASS_NR; i++) {
		const struct fsck_pass_def *pass = &fsck_passes[i];
		double t0;

		fsck_check_interrupt(ctx);
		if (ctx->abort && !(pass->flags & PASS_ALWAYS))
			continue;
		if ((pass->flags & PASS_NEEDS_SET) && (ctx->flags & FSCK_NO_CACHE_SET))
			continue;
		if ((pass->flags & PASS_NEEDS_RW) && ctx->opts.mode == FSCK_MODE_NO)
			continue;
		if (!(pass->flags & PASS_RO) && ctx->opts.mode == FSCK_MODE_NO)
			continue;
		ctx->cur_pass = i;
		if (!ctx->opts.json && !shadow_said && i != FSCK_PASS_summary && ctx->dev &&
		    bt_dev_shadow_of(ctx->dev) && bt_dev_shadow_of(ctx->dev)->bytes_written) {
			fprintf(ctx->out, "%s: -n: the passes from here on check the cache as "
				"fsck -y would leave it; nothing is written\n", ctx->path);
			shadow_said = true;
		}
		if (!ctx->opts.json)
			fprintf(ctx->out, "Pass %u: %s\n", fsck_pass_number(i), pass->title);
		t0 = bt_now_seconds();
		ret = pass->fn(ctx);
		/* a pass that forgot to close a latch still gets its question */
		for (unsigned l = 1; l < LATCH_NR; l++)
			end_problem_latch(ctx, l);
		ctx->pass_seconds[i] = bt_now_seconds() - t0;
		ctx->pass_ran[i] = true;
		if (ret) {
			if (!err->pos)
				prt_printf(err, "pass %s failed: %s", pass->name, bt_err_str(ret));
			ctx->flags |= FSCK_OPERATIONAL;
			ctx->abort = true;
		}
	}
	/* accepted repairs that no pass made (an abort before the replay pass) */
	fsck_deferred_failed(ctx, "checking stopped before the replay pass");
	if (own_shadow)
		bt_shadow_free(ctx->dev);
	ctx->err = NULL;
	return (ctx->flags & FSCK_OPERATIONAL) ? -EIO : 0;
}

int fsck_exit_status(const struct fsck_ctx *ctx)
{
	int status = 0;

	if (ctx->flags & FSCK_PROBLEMS_FIXED)
		status |= 1;
	if (ctx->flags & (FSCK_UNCORRECTED | FSCK_PREEN_HALT))
		status |= 4;
	/* as e2fsck's FSCK_CANCELED: a signal, 'q' or the end of the answers */
	if (ctx->flags & (FSCK_INTERRUPTED | FSCK_USER_ABORT))
		status |= 32;
	/* -n: errors whose repair was only simulated are still on the device */
	if (ctx->opts.mode == FSCK_MODE_NO && (ctx->flags & FSCK_ERRORS_FOUND))
		status |= 4;
	if (ctx->flags & FSCK_OPERATIONAL)
		status |= 8;
	return status;
}

static json_t *json_bucket(uint64_t b)
{
	return b == BT_LOST_NO_BUCKET ? json_null() : json_integer((json_int_t)b);
}

/*
 * What a rebuild did not keep (fsck/rebuild.c), one object per range:
 * "lost" (past_end false) or the part of a flash volume's keys past its
 * size, which the kernel never serves ("past_end", past_end true).
 */
static json_t *lost_json(const struct fsck_ctx *ctx, bool past_end)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ctx->nr_lost; i++) {
		const struct bt_lost *l = &ctx->lost[i];
		json_t *o;

		if ((l->kind == BT_LOST_PAST_END) != past_end)
			continue;
		o = json_object();

		json_object_set_new(o, "slot", json_integer((json_int_t)l->inode));
		json_object_set_new(o, "start", json_integer((json_int_t)l->start));
		json_object_set_new(o, "end", l->end == BT_LOST_TO_END ? json_null() :
				    json_integer((json_int_t)l->end));
		json_object_set_new(o, "kind", json_string(bt_lost_kind_str(l->kind)));
		json_object_set_new(o, "reason", json_string(l->reason));
		json_object_set_new(o, "bucket", json_bucket(l->bucket));
		json_array_append_new(a, o);
	}
	return a;
}

/* The keys a rebuild found that cannot be real: garbage, not counted as data. */
static json_t *garbage_json(const struct fsck_ctx *ctx)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ctx->nr_garbage; i++) {
		const struct bt_garbage *g = &ctx->garbage[i];
		json_t *o = json_object();

		json_object_set_new(o, "key", json_string(g->key));
		json_object_set_new(o, "found_in", json_string(bt_garbage_source_str(g->source)));
		json_object_set_new(o, "bucket", json_bucket(g->bucket));
		json_object_set_new(o, "why", json_string(g->why));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *fsck_report_json(const struct fsck_ctx *ctx)
{
	json_t *top = json_object(), *passes = json_array();

	json_object_set_new(top, "device", json_string(ctx->path ? ctx->path : ""));
	json_object_set_new(top, "problems", ctx->json_problems ?
			    json_incref(ctx->json_problems) : json_array());
	for (unsigned i = 0; i < FSCK_PASS_NR; i++) {
		json_t *p;

		if (!ctx->pass_ran[i])
			continue;
		p = json_object();
		json_object_set_new(p, "name", json_string(fsck_passes[i].name));
		json_object_set_new(p, "seconds", json_real(ctx->pass_seconds[i]));
		json_object_set_new(p, "checks_available", json_boolean(!ctx->unavailable[i]));
		json_array_append_new(passes, p);
	}
	json_object_set_new(top, "passes", passes);
	json_object_set_new(top, "lost", lost_json(ctx, false));
	json_object_set_new(top, "past_end", lost_json(ctx, true));
	json_object_set_new(top, "garbage", garbage_json(ctx));

	json_object_set_new(top, "summary", fsck_summary_json(ctx));
	json_object_set_new(top, "exit_status", json_integer(fsck_exit_status(ctx)));
	return top;
}
