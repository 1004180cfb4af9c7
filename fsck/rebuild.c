/* rebuild.c --- the repair of every PF_REBUILD problem: a new btree.
 *
 * Called by the replay pass when a btree, prio, uuid or gc_mark problem
 * was answered yes. libcore's bt_rebuild_collect() gathers the leaf
 * extents the kernel would serve after journal replay (damaged bsets
 * skipped, unreadable subtrees skipped, bad keys dropped); the uuid slot
 * repairs are applied to c->uuids; then one write transaction (write.h)
 * writes the new tree, a new prio chain with every gen the pass raised,
 * the new uuid bucket when a slot changed, and one jset whose last_seq is
 * its own seq. Until that jset is durable the old state is on disk.
 *
 * The rebuild is planned before anything is written, in every mode (-n
 * too: its commit goes to the device's shadow): every range whose data it
 * does not keep is printed first, one line each, as "would lose: slot N
 * (backing device UUID | flash volume): sectors A-B: KIND (reason, bucket
 * B)", and the keys that cannot be real are counted apart (garbage); the
 * interactive run is then asked whether to lose that (fsck_confirm()).
 * Once committed the ranges go to --log ("lost: ...") and, with the
 * garbage, to ctx for --json. Clean data dropped is counted, not listed:
 * it is on the backing device.
 */
#include <stdlib.h>
#include <string.h>

#include "libcore/base/errcode.h"
#include "libcore/write/rebuild.h"
#include "libcore/read/uuid.h"
#include "libcore/write/write.h"
#include "fsck.h"

static void slot_to_text(struct printbuf *out, const struct cache_set *c, uint64_t slot)
{
	prt_printf(out, "slot %llu", (unsigned long long)slot);
	if (!c->uuids || slot >= c->nr_uuids ||
	    bt_uuid_slot_state(&c->uuids[slot]) != BT_UUID_LIVE) {
		prt_str(out, " (no device)");
		return;
	}
	prt_str(out, bt_uuid_flash_only(&c->uuids[slot]) ? " (flash volume " :
		" (backing device ");
	prt_uuid(out, c->uuids[slot].uuid);
	prt_char(out, ')');
}

/* How many lost ranges share one reason (reasons are static strings: few). */
struct lost_tally {
	const char	*reason;
	size_t		total, shown;
};

static struct lost_tally *tally_of(struct lost_tally *t, size_t *nr, const char *reason)
{
	for (size_t i = 0; i < *nr; i++)
		if (t[i].reason == reason)
			return &t[i];
	if (*nr == 32)
		return &t[31];	/* more reasons than exist: share the last entry */
	t[*nr] = (struct lost_tally){ .reason = reason };
	return &t[(*nr)++];
}

/* "slot N (...): sectors A-B: KIND (reason, bucket B)" */
static void lost_to_text(struct printbuf *out, const struct cache_set *c, const struct bt_lost *l)
{
	slot_to_text(out, c, l->inode);
	if (l->end == BT_LOST_TO_END)
		prt_printf(out, ": sectors %llu-end: ", (unsigned long long)l->start);
	else
		prt_printf(out, ": sectors %llu-%llu: ", (unsigned long long)l->start,
			   (unsigned long long)l->end - 1);
	prt_printf(out, "%s (%s", bt_lost_kind_str(l->kind), l->reason);
	if (l->bucket != BT_LOST_NO_BUCKET)
		prt_printf(out, ", bucket %llu", (unsigned long long)l->bucket);
	prt_char(out, ')');
}

/* "N unparseable keys (garbage), ...: K in damaged bsets (node at bucket 525), ..." */
static void garbage_to_text(struct printbuf *out, const struct bt_rebuild *rb)
{
	static const enum bt_garbage_source srcs[] = {
		BT_GARBAGE_DAMAGED_BSET, BT_GARBAGE_BSET, BT_GARBAGE_JOURNAL, BT_GARBAGE_VIEW,
	};
	static const char *const where[] = {
		"in damaged bsets", "in bsets that verify", "in the journal",
		"in the tree after journal replay",
	};
	const char *sep = ": ";

	prt_printf(out, "%zu unparseable keys (garbage), not counted as data", rb->nr_garbage);
	for (size_t s = 0; s < sizeof(srcs) / sizeof(srcs[0]); s++) {
		struct printbuf nodes = PRINTBUF;
		size_t n = 0, nr_nodes = 0;

		for (size_t i = 0; i < rb->nr_garbage; i++) {
			const struct bt_garbage *g = &rb->garbage[i];
			bool seen = false;

			if (g->source != srcs[s])
				continue;
			n++;
			for (size_t j = 0; j < i && !seen; j++)
				seen = rb->garbage[j].source == g->source &&
				       rb->garbage[j].bucket == g->bucket;
			if (seen || g->bucket == BT_LOST_NO_BUCKET)
				continue;
			if (nr_nodes++ < 8)
				prt_printf(&nodes, "%s%llu", nodes.pos ? ", " : "",
					   (unsigned long long)g->bucket);
		}
		if (!n)
			continue;
		prt_printf(out, "%s%zu %s", sep, n, where[s]);
		if (nr_nodes)
			prt_printf(out, " (node%s at bucket%s %s%s)", nr_nodes > 1 ? "s" : "",
				   nr_nodes > 1 ? "s" : "", printbuf_str(&nodes),
				   nr_nodes > 8 ? ", ..." : "");
		sep = ", ";
		printbuf_exit(&nodes);
	}
}

/*
 * The plan's losses, before anything is written (every mode, so that -n
 * prints what -y then does): "would lose: ..." for the first max_msgs
 * ranges of each reason, then how many more (all are in --json, and in
 * --log once committed). Clean data dropped is counted, not listed.
 */
static void print_plan(struct fsck_ctx *ctx, const struct bt_rebuild *rb)
{
	struct lost_tally tally[32];
	size_t nr_tally = 0;

	if (ctx->opts.json)
		return;
	if (rb->nr_garbage) {
		struct printbuf g = PRINTBUF;

		garbage_to_text(&g, rb);
		fprintf(ctx->out, "%s: %s; listed in --json%s\n", ctx->path, printbuf_str(&g),
			ctx->opts.verbose ? "" : " and by -v");
		printbuf_exit(&g);
		for (size_t i = 0; ctx->opts.verbose && i < rb->nr_garbage; i++)
			fprintf(ctx->out, "%s: garbage: %s (%s, %s)\n", ctx->path,
				rb->garbage[i].key, rb->garbage[i].why,
				bt_garbage_source_str(rb->garbage[i].source));
	}
	for (size_t i = 0; i < rb->nr_lost; i++)
		if (rb->lost[i].kind != BT_LOST_CLEAN)
			tally_of(tally, &nr_tally, rb->lost[i].reason)->total++;
	for (size_t i = 0; i < rb->nr_lost; i++) {
		const struct bt_lost *l = &rb->lost[i];
		const char *verb = l->kind == BT_LOST_PAST_END ? "would drop" : "would lose";
		struct printbuf line = PRINTBUF;
		struct lost_tally *t;

		if (l->kind == BT_LOST_CLEAN)
			continue;
		t = tally_of(tally, &nr_tally, l->reason);
		lost_to_text(&line, ctx->c, l);
		if (t->shown < ctx->opts.max_msgs)
			fprintf(ctx->out, "%s: %s: %s\n", ctx->path, verb, printbuf_str(&line));
		else if (t->shown == ctx->opts.max_msgs)
			fprintf(ctx->out, "%s: %s: %zu more ranges (%s), all listed in "
				"--json (and --log once made)\n", ctx->path, verb,
				t->total - t->shown, l->reason);
		t->shown++;
		printbuf_exit(&line);
	}
}

/* The repair was made: one "lost:" line per range in the --log file. */
static void log_lost(struct fsck_ctx *ctx, const struct bt_rebuild *rb)
{
	for (size_t i = 0; ctx->log && i < rb->nr_lost; i++) {
		struct printbuf line = PRINTBUF;

		if (rb->lost[i].kind == BT_LOST_CLEAN)
			continue;
		lost_to_text(&line, ctx->c, &rb->lost[i]);
		fprintf(ctx->log, "%s: lost: %s\n", ctx->path, printbuf_str(&line));
		fflush(ctx->log);
		printbuf_exit(&line);
	}
}

/*
 * What the plan loses, per slot, for the question: "120 dirty sectors of
 * slot 0 would be lost, and 22640 sectors of slot 0 whose cached contents
 * are unknown". Empty when it loses nothing but clean data.
 */
static void loss_to_text(struct printbuf *out, const struct bt_rebuild *rb)
{
	for (size_t i = 0; i < rb->nr_lost; i++) {
		uint64_t slot = rb->lost[i].inode, dirty = 0, unknown = 0;
		bool to_end = false, first = rb->lost[i].kind == BT_LOST_DIRTY ||
					     rb->lost[i].kind == BT_LOST_UNKNOWN;

		/* one clause per slot, at its first range that is not clean */
		for (size_t j = 0; j < i && first; j++)
			first = rb->lost[j].inode != slot || (rb->lost[j].kind != BT_LOST_DIRTY &&
							      rb->lost[j].kind != BT_LOST_UNKNOWN);
		if (!first)
			continue;
		for (size_t j = i; j < rb->nr_lost; j++) {
			const struct bt_lost *l = &rb->lost[j];

			if (l->inode != slot || l->kind == BT_LOST_CLEAN || l->kind == BT_LOST_PAST_END)
				continue;
			if (l->end == BT_LOST_TO_END)
				to_end = true;
			else if (l->kind == BT_LOST_DIRTY)
				dirty += l->end - l->start;
			else
				unknown += l->end - l->start;
		}
		prt_printf(out, "%s%llu dirty sectors of slot %llu would be lost", out->pos ? "; " : "",
			   (unsigned long long)dirty, (unsigned long long)slot);
		if (unknown || to_end)
			prt_printf(out, ", and %llu sectors%s of slot %llu whose cached contents are "
				   "unknown", (unsigned long long)unknown,
				   to_end ? " and its end" : "", (unsigned long long)slot);
	}
}

/* Apply the accepted uuid slot repairs to c->uuids; returns whether one changed. */
static bool apply_uuid_fixes(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	bool changed = false;

	for (unsigned i = 0; ctx->plan.uuid_fix && c->uuids && i < c->nr_uuids; i++) {
		struct uuid_entry *u = &c->uuids[i];

		switch (ctx->plan.uuid_fix[i]) {
		case FSCK_UUID_CLEAR_SLOT:
			memset(u, 0, sizeof(*u));
			changed = true;
			break;
		case FSCK_UUID_CLEAR_FLAGS:
			u->flags = htole32(le32toh(u->flags) & UUID_FLASH_ONLY);
			changed = true;
			break;
		}
	}
	return changed;
}

/* ctx takes the lost ranges and the garbage keys over from rb (for --json). */
static void keep_lost(struct fsck_ctx *ctx, struct bt_rebuild *rb)
{
	free(ctx->lost);
	ctx->lost = rb->lost;
	ctx->nr_lost = rb->nr_lost;
	rb->lost = NULL;
	rb->nr_lost = rb->size_lost = 0;
	fsck_garbage_free(ctx);
	ctx->garbage = rb->garbage;
	ctx->nr_garbage = rb->nr_garbage;
	rb->garbage = NULL;
	rb->nr_garbage = rb->size_garbage = 0;
}

/* The plan is made: say what it loses and, asked, whether to go on. */
static bool plan_accepted(struct fsck_ctx *ctx, const struct bt_rebuild *rb)
{
	struct printbuf loss = PRINTBUF, q = PRINTBUF;
	bool ok = true;

	print_plan(ctx, rb);
	loss_to_text(&loss, rb);
	if (loss.pos) {
		prt_printf(&q, "Rebuild the btree? %s (listed above)", printbuf_str(&loss));
		ok = fsck_confirm(ctx, printbuf_str(&q));
	}
	printbuf_exit(&loss);
	printbuf_exit(&q);
	return ok;
}

/* Write the planned tree and commit it (on the shadow under -n). */
static int rebuild_commit(struct fsck_ctx *ctx, struct bt_rebuild *rb, bool uuids_changed,
			  struct bt_btree_update_stats *ust, struct printbuf *msg)
{
	struct bt_write_ctx w;
	int ret = bt_write_begin(&w, ctx->c, ctx->node_cache);

	if (ret)
		return ret;
	ret = bt_rebuild_write(&w, rb, ust, msg);
	w.uuids_changed = uuids_changed;
	w.last_seq = 0;
	if (ret)
		bt_write_abort(&w);
	else
		ret = bt_commit(&w, msg);
	bt_write_end(&w);
	return ret;
}

int fsck_rebuild(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	struct printbuf msg = PRINTBUF, how = PRINTBUF;
	struct uuid_entry *saved_uuids = NULL;
	struct bt_btree_update_stats ust = { 0 };
	struct bt_rebuild rb;
	bool uuids_changed, declined = false;
	int ret;

	bt_rebuild_init(&rb);
	if (c->uuids) {
		saved_uuids = malloc((size_t)c->nr_uuids * sizeof(*c->uuids));
		if (!saved_uuids)
			return -ENOMEM;
		memcpy(saved_uuids, c->uuids, (size_t)c->nr_uuids * sizeof(*c->uuids));
	}
	uuids_changed = apply_uuid_fixes(ctx);
	ret = bt_rebuild_collect(c, &rb, &msg);
	if (!ret && !plan_accepted(ctx, &rb))
		declined = true;
	else if (!ret)
		ret = rebuild_commit(ctx, &rb, uuids_changed, &ust, &msg);
	if (ret || declined) {
		if (saved_uuids)
			memcpy(c->uuids, saved_uuids, (size_t)c->nr_uuids * sizeof(*c->uuids));
		if (ret)
			prt_printf(ctx->err, "btree rebuild failed, the device holds its old state: %s",
				   printbuf_str(&msg));
		fsck_deferred_failed(ctx, !declined ? "the rebuild failed" :
				     ctx->flags & FSCK_PREEN_HALT ? "-p makes no repair that loses data" :
				     "the btree rebuild was declined");
		ctx->flags |= FSCK_UNCORRECTED;
		/* a full cache is a finding, not an operational failure */
		ret = ret == -BT_ERR_NO_FREE_BUCKET ? 0 : ret;
		goto out;
	}
	log_lost(ctx, &rb);
	keep_lost(ctx, &rb);
	prt_printf(&how, "btree rebuilt by jset %llu: %llu keys kept in %llu nodes (root level %u), "
		   "%llu stale clean keys and %llu other keys dropped, %llu dirty sectors lost, "
		   "%llu garbage keys not counted",
		   (unsigned long long)c->journal.newest_seq,
		   (unsigned long long)rb.st.keys_kept, (unsigned long long)ust.nodes_written,
		   c->root_level, (unsigned long long)rb.st.keys_stale,
		   (unsigned long long)rb.st.keys_dropped,
		   (unsigned long long)rb.st.dirty_sectors_lost,
		   (unsigned long long)rb.st.garbage_keys);
	fsck_deferred_done(ctx, printbuf_str(&how));
	if (!fsck_dry_run(ctx))
		ctx->stats.journal_keys_to_replay = 0;
out:
	free(saved_uuids);
	bt_rebuild_exit(&rb);
	printbuf_exit(&msg);
	printbuf_exit(&how);
	return ret;
}
