/* pass_summary.c --- the summary pass, the last one.
 *
 * Checks: none on disk. Warns (CHECKS_NOT_AVAILABLE) when a pass could
 * not check anything because its reader is missing from this build, so a
 * clean result never claims checks that did not run. After a run that
 * wrote to the device, reads it back first (fsck_read_back()): the figures
 * then describe the repaired cache set, as the next 'fsck -n' gives them.
 *
 * Prints the figures gathered by the earlier passes (struct fsck_stats),
 * the view the kernel serves after journal replay first, per uuid slot,
 * then the btree on disk before replay; with -v one figure a line and
 * each pass's time. A figure a pass did not compute is "not checked", one
 * it computed only in part (checking stopped, subtrees unreadable) is
 * printed after "partial:", never as a total.
 *
 * Hands on: nothing (last pass). JSON output is made from ctx afterwards
 * (summary_json.c).
 */
#include <string.h>

#include "fsck.h"

/* "partial: " before partial figures; false (and "not checked") when there are none. */
static bool prt_state(struct printbuf *out, enum fsck_fig_state st)
{
	if (st == FSCK_FIG_NONE)
		prt_str(out, "not checked");
	else if (st == FSCK_FIG_PARTIAL)
		prt_str(out, "partial: ");
	return st != FSCK_FIG_NONE;
}

/* "1 key", "2 keys". */
static void prt_count(struct printbuf *out, uint64_t n, const char *what)
{
	prt_printf(out, "%llu %s%s", (unsigned long long)n, what, n == 1 ? "" : "s");
}

static void prt_extents(struct printbuf *out, const struct fsck_extent_stats *e)
{
	prt_count(out, e->keys, "key");
	prt_str(out, ", ");
	prt_count(out, e->data_sectors, "data sector");
	prt_printf(out, " (%llu dirty)", (unsigned long long)e->dirty_sectors);
}

static void prt_slot(struct printbuf *out, const struct fsck_slot_stats *e)
{
	prt_printf(out, "slot %llu (", (unsigned long long)e->slot);
	if (e->kind == FSCK_SLOT_NONE) {
		prt_str(out, "no device)");
		return;
	}
	prt_str(out, e->kind == FSCK_SLOT_FLASH ? "flash volume " : "backing device ");
	prt_uuid(out, e->uuid);
	prt_char(out, ')');
}

static void prt_buckets(struct printbuf *out, const struct fsck_stats *s)
{
	if (s->marks == FSCK_FIG_NONE || s->sb == FSCK_FIG_NONE) {
		prt_str(out, "buckets in use: not checked");
		return;
	}
	prt_state(out, s->marks);
	prt_printf(out, "%llu/%llu buckets in use", (unsigned long long)s->buckets_in_use,
		   (unsigned long long)s->buckets_total);
}

/* Each slot with live keys after replay, one line each, the first max_msgs of them. */
static void prt_slots(struct fsck_ctx *ctx, struct printbuf *out, const char *indent)
{
	const struct fsck_stats *s = &ctx->stats;

	for (size_t i = 0; s->view != FSCK_FIG_NONE && i < s->nr_slots; i++) {
		if (i == ctx->opts.max_msgs) {
			prt_printf(out, "%s%zu more slots (--json lists every one)\n", indent,
				   s->nr_slots - i);
			break;
		}
		prt_str(out, indent);
		prt_slot(out, &s->slots[i]);
		prt_str(out, ": ");
		prt_state(out, s->view);
		prt_extents(out, &s->slots[i].e);
		prt_newline(out);
	}
}

/* The one-paragraph summary (e2fsck's "files, blocks" line). */
static void summary_lines(struct fsck_ctx *ctx, struct printbuf *out)
{
	const struct fsck_stats *s = &ctx->stats;
	struct printbuf indent = PRINTBUF;

	prt_printf(out, "%s: after journal replay: ", ctx->path);
	if (prt_state(out, s->view))
		prt_extents(out, &s->served);
	prt_str(out, "; ");
	prt_buckets(out, s);
	prt_newline(out);
	prt_printf(&indent, "%s:   ", ctx->path);
	prt_slots(ctx, out, printbuf_str(&indent));
	printbuf_exit(&indent);

	prt_printf(out, "%s: on disk before replay: ", ctx->path);
	if (s->tree == FSCK_FIG_NONE) {
		prt_str(out, "btree not checked");
	} else {
		prt_printf(out, "tree depth %llu, ", (unsigned long long)s->tree_depth);
		prt_state(out, s->tree);
		prt_count(out, s->btree_nodes, "btree node");
		prt_str(out, ", ");
		prt_extents(out, &s->on_disk);
	}
	prt_str(out, "; journal: ");
	if (s->journal == FSCK_FIG_NONE)
		prt_str(out, "not checked");
	else if (s->journal_keys_to_replay) {
		prt_count(out, s->journal_keys_to_replay, "key");
		prt_str(out, " in ");
		prt_count(out, s->journal_entries, "jset");
		prt_str(out, " to replay");
	} else {
		prt_str(out, "nothing to replay (");
		prt_count(out, s->journal_entries, "jset");
		prt_char(out, ')');
	}
	prt_newline(out);
}

/* One figure a line: "  name   value", "partial: value" or "not checked". */
static void prt_fig(struct printbuf *out, const char *name, enum fsck_fig_state st,
		    uint64_t v)
{
	prt_printf(out, "    %-24s ", name);
	if (prt_state(out, st))
		prt_printf(out, "%llu", (unsigned long long)v);
	prt_newline(out);
}

static void prt_extent_figs(struct printbuf *out, enum fsck_fig_state st,
			    const struct fsck_extent_stats *e)
{
	prt_fig(out, "keys", st, e->keys);
	prt_fig(out, "dirty keys", st, e->dirty_keys);
	prt_fig(out, "data sectors", st, e->data_sectors);
	prt_fig(out, "dirty sectors", st, e->dirty_sectors);
}

/* -v: every figure. */
static void summary_figures(struct fsck_ctx *ctx, struct printbuf *out)
{
	const struct fsck_stats *s = &ctx->stats;

	prt_str(out, "  after journal replay (the view the kernel serves):\n");
	prt_extent_figs(out, s->view, &s->served);
	prt_slots(ctx, out, "    ");
	prt_str(out, "  on disk before replay:\n");
	prt_fig(out, "tree depth", s->tree ? FSCK_FIG_WHOLE : FSCK_FIG_NONE, s->tree_depth);
	prt_fig(out, "btree nodes", s->tree, s->btree_nodes);
	prt_fig(out, "key bytes", s->tree, s->key_bytes);
	prt_extent_figs(out, s->tree, &s->on_disk);
	prt_str(out, "  buckets and journal:\n");
	prt_fig(out, "buckets", s->sb, s->buckets_total);
	prt_fig(out, "buckets in use", s->sb ? s->marks : FSCK_FIG_NONE, s->buckets_in_use);
	if (s->marks != FSCK_FIG_NONE && s->sb != FSCK_FIG_NONE && s->buckets_total) {
		prt_printf(out, "    %-24s ", "buckets in use (%)");
		prt_state(out, s->marks);
		prt_printf(out, "%.1f%%\n",
			   100.0 * (double)s->buckets_in_use / (double)s->buckets_total);
	}
	prt_fig(out, "max gen lag", s->gen_lag, s->max_gen_lag);
	prt_fig(out, "journal entries", s->journal, s->journal_entries);
	prt_fig(out, "journal keys to replay", s->journal, s->journal_keys_to_replay);
	prt_printf(out, "  %-26s", "pass times");
	for (unsigned i = 0; i < FSCK_PASS_NR; i++)
		if (ctx->pass_ran[i] && i != FSCK_PASS_summary)
			prt_printf(out, " %s %.3fs", fsck_pass_name(i), ctx->pass_seconds[i]);
	prt_newline(out);
}

static const char *verdict(const struct fsck_ctx *ctx, bool unavailable)
{
	int status = fsck_exit_status(ctx);

	if (status & 4)
		return ctx->read_back_errors ?
			"errors left uncorrected (found when the repaired device was read back)" :
			"errors left uncorrected";
	if (ctx->abort)
		return "check stopped";
	if (unavailable)
		return "no errors in the checks that ran";
	return status & 1 ? "clean, DEVICE WAS MODIFIED" : "clean";
}

int fsck_pass_summary(struct fsck_ctx *ctx)
{
	struct printbuf names = PRINTBUF, out = PRINTBUF;
	const struct fsck_stats *s = &ctx->stats;
	struct problem_ctx p;
	int ret = 0;

	for (unsigned i = 0; i < FSCK_PASS_NR; i++)
		if (ctx->unavailable[i])
			prt_printf(&names, "%s%s", names.pos ? ", " : "", ctx->unavailable[i]);
	if (names.pos) {
		clear_problem_context(&p);
		p.dev = ctx->path;
		p.str = printbuf_str(&names);
		fix_problem(ctx, PR_CHECKS_NOT_AVAILABLE, &p);
	}
	if (ctx->opts.mode != FSCK_MODE_NO && ctx->dev && ctx->dev->nr_writes) {
		ret = fsck_read_back(ctx);
		/* errors a repair left: the next check finds them, this one says so */
		if (ctx->read_back_errors)
			ctx->flags |= FSCK_UNCORRECTED;
	}
	if (!ctx->opts.json) {
		if (s->cache_set && (s->journal || s->tree || s->marks || s->view)) {
			if (ctx->opts.verbose)
				summary_figures(ctx, &out);
			else
				summary_lines(ctx, &out);
		}
		prt_printf(&out, "%s: %s\n", ctx->path, verdict(ctx, names.pos));
		fputs(printbuf_str(&out), ctx->out);
	}
	printbuf_exit(&names);
	printbuf_exit(&out);
	return ret;
}
