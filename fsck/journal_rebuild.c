/* journal_rebuild.c --- the repair of JOURNAL_NO_ENTRIES (the journal pass): a cache
 * set whose journal buckets hold no valid jset (zeroed by a discard, or
 * garbage) gets one fresh jset over the btree as found.
 *
 * libcore's bt_scan_cache() (scan.h) finds, without the journal, the prio
 * chain (gens and prios), the btree root and the uuid bucket. Then one
 * transaction of the write path (write.h) over that state: the initial
 * mark pass, a new prio chain holding the scanned gens, a new uuid bucket
 * and ONE jset naming root, uuid bucket and prio chain, placed at the start
 * of journal bucket 0. The kernel then finds a journal of one entry with
 * nothing to replay. What cannot be known is said (JOURNAL_REBUILD_*):
 * keys that were only in the lost journal, a root the scan cannot tell from
 * an older copy, a missing uuid bucket (asked: empty slots orphan the
 * cached data of every device).
 *
 * Hands on: c with a journal of one entry (as bt_journal_read() finds it
 * after the commit), root, uuid key and prio chain of that entry; the
 * later passes re-read the prios, uuids and btree from there.
 */
#include <errno.h>
#include <stdlib.h>

#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/mark.h"
#include "libcore/read/node_cache.h"
#include "libcore/scan/scan.h"
#include "libcore/ondisk/sb.h"
#include "libcore/write/write.h"
#include "fsck.h"

static void scan_progress(void *arg, uint64_t done, uint64_t total)
{
	fsck_progress(arg, done, total);
}

static void rpctx(struct fsck_ctx *ctx, struct problem_ctx *p)
{
	clear_problem_context(p);
	p->dev = ctx->path;
	p->structure = "journal";
}

/* The transaction: mark, new prio chain and uuid bucket, one jset. */
static int commit_found_state(struct fsck_ctx *ctx, struct printbuf *msg)
{
	struct cache_set *c = ctx->c;
	struct bt_node_cache *nc = bt_node_cache_new(c, BT_NODE_CACHE_DEFAULT_BYTES, 0);
	struct bt_write_ctx w;
	int ret;

	if (!nc) {
		prt_str(msg, "out of memory");
		return -ENOMEM;
	}
	ret = bt_write_start(&w, c, nc, msg);
	if (!ret) {
		/* a fresh copy of the slots: the old bucket's gen is only the prio chain's guess */
		w.uuids_changed = true;
		ret = bt_commit(&w, msg);
	}
	bt_node_cache_free(nc);
	/* the later passes mark from scratch, as on a set read from disk */
	bt_mark_reset(c);
	return ret;
}

/*
 * Called by the journal pass when the journal holds no valid jset. The scan runs
 * first (read-only, also under -n) so that JOURNAL_NO_ENTRIES is asked only
 * when the repair can be made; JOURNAL_REBUILD_NOT_FOUND says why not.
 * Returns 0 when the journal was rebuilt (c as after a journal read), 1
 * when it was not (checking cannot go on), or a negative code (message in
 * ctx->err).
 */
int fsck_journal_rebuild(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	struct bt_scan_opts o = { .progress = scan_progress, .progress_arg = ctx };
	struct printbuf msg = PRINTBUF, line = PRINTBUF;
	struct bt_scan_result r;
	struct problem_ctx p;
	size_t mark = ctx->plan.nr_deferred;
	int ret;

	o.backing_uuids = ctx->backing_uuids;
	o.nr_backing = ctx->nr_backing_uuids;
	ret = bt_scan_cache(c, &o, &r, &msg);
	if (ret == -BT_ERR_SCAN_NO_PRIOS || ret == -BT_ERR_SCAN_NO_ROOT) {
		rpctx(ctx, &p);
		p.errcode = ret;
		p.str = printbuf_str(&msg);
		fix_problem(ctx, PR_JOURNAL_REBUILD_NOT_FOUND, &p);
		ret = 1;
		goto out;
	}
	if (ret) {
		prt_printf(ctx->err, "scanning '%s' for the btree failed: %s", ctx->path,
			   printbuf_str(&msg));
		goto out;
	}
	rpctx(ctx, &p);
	p.num = c->sb.keys;
	bt_scan_result_to_text(&line, &r);
	p.str = printbuf_str(&line);
	if (!fix_problem(ctx, PR_JOURNAL_NO_ENTRIES, &p)) {
		ret = 1;
		goto out;
	}
	/* counted as fixed only once the new jset is written */
	fsck_defer_fix(ctx, PR_JOURNAL_NO_ENTRIES, "no valid jset");
	if (!r.uuid_found) {
		rpctx(ctx, &p);
		p.num = r.nr_uuid_candidates;
		p.num2 = r.nr_inodes;
		if (!fix_problem(ctx, PR_JOURNAL_REBUILD_NO_UUIDS, &p)) {
			fsck_deferred_failed_from(ctx, mark, "no uuid bucket, and empty uuid slots "
						  "were refused");
			ret = 1;
			goto out;
		}
	}
	if (r.nr_root_candidates > 1) {
		rpctx(ctx, &p);
		p.num = r.nr_root_candidates;
		p.bucket = r.root_bucket;
		fix_problem(ctx, PR_JOURNAL_REBUILD_ROOT_AMBIGUOUS, &p);
	}
	if (r.prio_newest_seq > r.prio_seq) {
		rpctx(ctx, &p);
		p.num = r.prio_newest_seq;
		p.num2 = r.prio_seq;
		p.bucket = r.prio_start;
		fix_problem(ctx, PR_JOURNAL_REBUILD_OLDER_PRIOS, &p);
	}
	ret = bt_scan_apply(c, &r, &msg);
	if (!ret)
		ret = commit_found_state(ctx, &msg);
	if (ret) {
		fsck_deferred_failed_from(ctx, mark, "the journal rebuild failed");
		ctx->flags |= FSCK_UNCORRECTED;
		prt_printf(ctx->err, "rebuilding the journal of '%s' failed, the device holds "
			   "its old state: %s", ctx->path, printbuf_str(&msg));
		goto out;
	}
	printbuf_reset(&line);
	bt_scan_result_to_text(&line, &r);
	prt_printf(&line, "; new jset %llu at sector %llu names them, with a new prio chain "
		   "at bucket %llu and uuid bucket %llu",
		   (unsigned long long)c->journal.newest_seq,
		   (unsigned long long)bt_journal_newest(&c->journal)->sector,
		   (unsigned long long)c->prio_start,
		   (unsigned long long)PTR_BUCKET_NR(c, (const struct bkey *)&c->uuid_key, 0));
	fsck_deferred_done_from(ctx, mark, printbuf_str(&line));
	rpctx(ctx, &p);
	fix_problem(ctx, PR_JOURNAL_REBUILD_KEYS_UNKNOWN, &p);
out:
	printbuf_exit(&msg);
	printbuf_exit(&line);
	return ret;
}

/* ---- the journal bucket list of the superblock ---------------------- */

/*
 * May d[] become first_bucket + i? The kernel only ever writes that list
 * (run_cache_set() on first registration) and refuses any other
 * (read_super_common(): "journal buckets not sequential"), so the journal
 * is there unless those buckets hold something else: a prio set, a btree
 * node or uuid slots mean the list was not the kernel's, and it is left
 * alone (SB_JOURNAL_BUCKETS_NOT_JOURNAL). *jsets counts the buckets whose
 * head is a jset.
 */
static bool sequential_is_journal(struct fsck_ctx *ctx, unsigned *jsets, unsigned *bad,
				  enum bt_bucket_kind *bad_kind)
{
	struct cache_set *c = ctx->c;
	unsigned n = c->sb.keys < SB_JOURNAL_BUCKETS ? c->sb.keys : SB_JOURNAL_BUCKETS;
	struct printbuf msg = PRINTBUF;
	bool ok = !bt_cache_set_geometry(c, &msg);

	*jsets = 0;
	*bad = ~0u;
	for (unsigned i = 0; ok && i < n; i++) {
		enum bt_bucket_kind kind = BT_BUCKET_OTHER;

		printbuf_reset(&msg);
		if (bt_scan_bucket_kind(c, (uint64_t)c->sb.first_bucket + i, &kind, &msg))
			kind = BT_BUCKET_OTHER;	/* unreadable: the kernel would find no jset there either */
		*jsets += kind == BT_BUCKET_JSET;
		if (kind != BT_BUCKET_OTHER && kind != BT_BUCKET_JSET) {
			*bad = i;
			*bad_kind = kind;
			ok = false;
		}
	}
	printbuf_exit(&msg);
	return ok;
}

static void report_not_journal(struct fsck_ctx *ctx, unsigned i, enum bt_bucket_kind kind)
{
	struct cache_set *c = ctx->c;
	struct problem_ctx p;

	clear_problem_context(&p);
	p.dev = ctx->path;
	p.structure = "superblock";
	p.num = i;
	p.str = bt_bucket_kind_str(kind);
	if (i != ~0u) {
		p.bucket = (uint64_t)c->sb.first_bucket + i;
		p.sector = bt_bucket_to_sector(c, p.bucket);
		p.byte_offset = p.sector << SECTOR_SHIFT;
	}
	fix_problem(ctx, PR_SB_JOURNAL_BUCKETS_NOT_JOURNAL, &p);
}

bool fsck_sb_journal_list_fix(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	unsigned n = c->sb.keys < SB_JOURNAL_BUCKETS ? c->sb.keys : SB_JOURNAL_BUCKETS, jsets, bad;
	struct printbuf msg = PRINTBUF, line = PRINTBUF;
	enum bt_bucket_kind bad_kind = BT_BUCKET_OTHER;
	bool ok;
	int ret;

	if (!ctx->latches[LATCH_SB_JOURNAL].open)
		return false;
	ok = sequential_is_journal(ctx, &jsets, &bad, &bad_kind);
	if (!ok)
		ctx->abort = true;	/* the latch is then answered no */
	if (!end_problem_latch(ctx, LATCH_SB_JOURNAL)) {
		if (!ok && bad != ~0u)
			report_not_journal(ctx, bad, bad_kind);
		ctx->abort = true;	/* the kernel refuses this superblock: nothing more to check */
		return false;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t want = (uint64_t)c->sb.first_bucket + i;

		if (c->sb.d[i] == want)
			continue;
		prt_printf(&line, "%sd[%u] %llu", line.pos ? ", " : "", i,
			   (unsigned long long)c->sb.d[i]);
		c->sb.d[i] = want;
	}
	prt_printf(&line, " -> d[i] = first_bucket + i (%u buckets from %u; %u of them begin "
		   "with a jset), superblock csum recomputed", n, c->sb.first_bucket, jsets);
	ret = bt_sb_write(ctx->dev, c->sb_block, &c->sb, &msg);
	if (ret) {
		prt_printf(ctx->err, "rewriting the superblock of '%s' failed: %s", ctx->path,
			   printbuf_str(&msg));
		ctx->flags |= FSCK_UNCORRECTED | FSCK_OPERATIONAL;
		ctx->abort = true;
	} else {
		fsck_fix_line(ctx, PR_SB_JOURNAL_BUCKETS_LATCH, printbuf_str(&line));
	}
	printbuf_exit(&msg);
	printbuf_exit(&line);
	return !ret;
}
