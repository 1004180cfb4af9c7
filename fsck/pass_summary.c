/* pass_summary.c --- pass 7: the summary.
 *
 * Checks: none on disk. Warns (CHECKS_NOT_AVAILABLE) when a pass could
 * not check anything because its reader is missing from this build, so a
 * clean result never claims checks that did not run. Prints the figures
 * gathered by the earlier passes (with -v, every figure and each pass's
 * time); figures a pass did not compute are printed as "not checked".
 *
 * Hands on: nothing (last pass). JSON output is made from ctx afterwards.
 */
#include <string.h>

#include "../libcore/uuid.h"
#include "fsck.h"

static void prt_stat(struct printbuf *out, const char *name, int64_t v)
{
	prt_printf(out, "  %-24s ", name);
	if (v < 0)
		prt_str(out, "not checked");
	else
		prt_printf(out, "%lld", (long long)v);
	prt_newline(out);
}

static void summary_figures(struct fsck_ctx *ctx, struct printbuf *out)
{
	const struct fsck_stats *s = &ctx->stats;

	prt_stat(out, "btree nodes", s->btree_nodes);
	prt_stat(out, "btree depth", s->btree_depth);
	prt_stat(out, "keys", s->keys);
	prt_stat(out, "key bytes", s->key_bytes);
	prt_stat(out, "data sectors", s->data_sectors);
	prt_stat(out, "dirty sectors", s->dirty_sectors);
	for (size_t i = 0; s->dirty_per_slot && i < s->nr_slots; i++) {
		const struct uuid_entry *u = ctx->c && ctx->c->uuids && i < ctx->c->nr_uuids ?
			&ctx->c->uuids[i] : NULL;

		if (!s->dirty_per_slot[i])
			continue;
		prt_printf(out, "    uuid slot %zu", i);
		if (u) {
			prt_str(out, bt_uuid_flash_only(u) ? " (flash volume " : " (backing device ");
			prt_uuid(out, u->uuid);
			prt_char(out, ')');
		}
		prt_printf(out, ": %llu dirty sectors\n", (unsigned long long)s->dirty_per_slot[i]);
	}
	prt_stat(out, "buckets in use", s->buckets_in_use);
	if (s->buckets_in_use >= 0 && s->buckets_total > 0)
		prt_printf(out, "  %-24s %.1f%%\n", "buckets in use (%)",
			   100.0 * (double)s->buckets_in_use / (double)s->buckets_total);
	prt_stat(out, "buckets", s->buckets_total);
	prt_stat(out, "max gen lag", s->max_gen_lag);
	prt_stat(out, "journal entries", s->journal_entries);
	prt_stat(out, "journal keys to replay", s->journal_keys_to_replay);
	prt_printf(out, "  %-24s", "pass times");
	for (unsigned i = 0; i < FSCK_PASS_NR; i++)
		if (ctx->pass_ran[i] && i != FSCK_PASS_summary)
			prt_printf(out, " %s %.3fs", fsck_pass_name(i), ctx->pass_seconds[i]);
	prt_newline(out);
}

int fsck_pass_summary(struct fsck_ctx *ctx)
{
	struct printbuf names = PRINTBUF, out = PRINTBUF;
	struct problem_ctx p;

	for (unsigned i = 0; i < FSCK_PASS_NR; i++)
		if (ctx->unavailable[i])
			prt_printf(&names, "%s%s", names.pos ? ", " : "", ctx->unavailable[i]);
	if (names.pos) {
		clear_problem_context(&p);
		p.dev = ctx->path;
		p.str = printbuf_str(&names);
		fix_problem(ctx, PR_CHECKS_NOT_AVAILABLE, &p);
	}
	if (!ctx->opts.json) {
		if (ctx->opts.verbose)
			summary_figures(ctx, &out);
		else if (ctx->stats.btree_nodes >= 0)
			/* one line, as e2fsck's "files, blocks" line */
			prt_printf(&out, "%s: %lld btree nodes, %lld keys, %lld data sectors "
				   "(%lld dirty), %lld/%lld buckets in use\n", ctx->path,
				   (long long)ctx->stats.btree_nodes, (long long)ctx->stats.keys,
				   (long long)ctx->stats.data_sectors,
				   (long long)ctx->stats.dirty_sectors,
				   (long long)ctx->stats.buckets_in_use,
				   (long long)ctx->stats.buckets_total);
		prt_printf(&out, "%s: %s\n", ctx->path,
			   fsck_exit_status(ctx) & 4 ? "errors left uncorrected" :
			   ctx->abort ? "check stopped" :
			   names.pos ? "no errors in the checks that ran" : "clean");
		fputs(printbuf_str(&out), ctx->out);
	}
	printbuf_exit(&names);
	printbuf_exit(&out);
	return 0;
}
