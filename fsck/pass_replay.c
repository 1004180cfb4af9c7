/* pass_replay.c --- the replay pass: the view after journal replay, and the replay.
 *
 * Checks: none. Builds the leaf view the kernel serves after replaying the
 * journal (overlay.h) and counts its live and dirty keys. When the replay
 * range holds keys, asks JOURNAL_REPLAY: -n answers no (the kernel
 * replays them at the next registration), -y and -p replay them onto the
 * device with libcore's bt_journal_replay() -- one copy-on-write
 * transaction committed by a single jset (write.h). The replay is refused
 * while an earlier pass left an error uncorrected: a damaged tree is not
 * written to.
 *
 * Repairs: the journal problems of the journal pass answered yes (PF_LATER: invalid
 * or truncated keys, damaged jsets, jsets past the kernel's scan, missing
 * seqs, last_seq after seq) are made here, by the same commit: the replay
 * skips invalid keys, replays what the kernel would replay (over missing
 * seqs with BT_REPLAY_FORCE) and the new jset's last_seq is its own seq, so
 * no damaged or dropped entry is reachable any more. One fix line per
 * repair after the commit (fsck_deferred_done()).
 *
 * Rebuild: when a PF_REBUILD problem was answered yes, the journal's keys
 * go into the rebuilt tree instead (fsck_rebuild(), fsck/rebuild.c): one
 * commit for both.
 *
 * Hands on: stats.view, the live keys and sectors of that view, per uuid
 * slot (fsck_stats_count_view()). After a commit the summary reads the
 * device back (fsck_read_back()): the figures describe what was written.
 */
#include "libcore/base/errcode.h"
#include "libcore/write/replay.h"
#include "fsck.h"

int fsck_pass_replay(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	struct printbuf msg = PRINTBUF, report = PRINTBUF;
	struct bt_replay_stats st = { 0 };
	struct problem_ctx p;
	int ret = 0;

	if (!ctx->node_cache || !c->buckets) {
		fsck_deferred_failed(ctx, "the btree could not be read");
		return 0;
	}
	/* counted by the gc_mark pass's walk when it could (fsck_view_count_begin()) */
	if (!ctx->view_counted) {
		fsck_readers_attach(ctx);
		ret = fsck_stats_count_view(&ctx->stats, c, ctx->node_cache);
		fsck_readers_detach(ctx);
	}
	if (ret)
		return ret;
	if (!c->journal.nr_keys && !ctx->plan.nr_deferred)
		return 0;

	clear_problem_context(&p);
	p.dev = ctx->path;
	p.structure = "journal";
	p.num = c->journal.nr_keys;
	p.num2 = c->journal.nr;
	p.jset_seq = c->journal.last_seq;
	/* errors found and fixed, or to be fixed by this commit, do not count */
	if (ctx->flags & FSCK_UNCORRECTED) {
		if (!ctx->opts.json)
			fprintf(ctx->out, "%s: the journal is not replayed while errors remain\n",
				ctx->path);
		fsck_deferred_failed(ctx, "other errors remain");
		return 0;
	}
	/* the rebuild takes the journal's keys into the new tree */
	if (ctx->plan.rebuild)
		return fsck_rebuild(ctx);
	if (c->journal.nr_keys && !fix_problem(ctx, PR_JOURNAL_REPLAY, &p)) {
		fsck_deferred_failed(ctx, "the journal is not replayed");
		return 0;
	}

	ret = bt_journal_replay(c, ctx->node_cache,
				(ctx->plan.replay_force ? BT_REPLAY_FORCE : 0) |
				(ctx->plan.nr_deferred ? BT_REPLAY_COMMIT : 0),
				&st, &report, &msg);
	if (ret) {
		prt_printf(ctx->err, "journal replay failed, the device holds its old state: %s",
			   printbuf_str(&msg));
		fsck_deferred_failed(ctx, "the replay failed");
		ctx->flags |= FSCK_UNCORRECTED;
	} else {
		struct printbuf how = PRINTBUF;

		prt_printf(&how, "journal restarted by jset %llu (last_seq %llu): "
			   "the old entries are unreachable",
			   (unsigned long long)c->journal.newest_seq,
			   (unsigned long long)c->journal.last_seq);
		fsck_deferred_done(ctx, printbuf_str(&how));
		printbuf_exit(&how);
	}
	if (!ret)
		fsck_log(ctx, "journal replayed: %llu keys of %llu jsets, %llu nodes written, "
			 "%llu invalid keys skipped; new jset seq %llu",
			 (unsigned long long)st.keys, (unsigned long long)st.entries,
			 (unsigned long long)st.nodes_written, (unsigned long long)st.invalid,
			 (unsigned long long)c->journal.newest_seq);
	if (!ret && !ctx->opts.json) {
		/* -n: the replay was made on the shadow, and predicts */
		fputs(printbuf_str(&report), ctx->out);
		fprintf(ctx->out, "%s: %s: %llu keys of %llu jsets, %llu nodes written, "
			"%llu invalid keys skipped\n", ctx->path,
			fsck_dry_run(ctx) ? "-y would replay the journal" : "journal replayed",
			(unsigned long long)st.keys,
			(unsigned long long)st.entries, (unsigned long long)st.nodes_written,
			(unsigned long long)st.invalid);
	}
	printbuf_exit(&msg);
	printbuf_exit(&report);
	return ret;
}
