/* pass_gc_mark.c --- the gc_mark pass: bucket marks, gens and sectors used.
 *
 * Redoes the kernel's initial gc mark (btree.c bch_btree_check() +
 * bch_initial_mark_key(), journal.c bch_journal_mark(), btree.c
 * bch_btree_gc_finish(); FORMAT.md 9.3) on c->buckets in memory, and
 * checks on the way: a bucket used by both nodes and data ("inconsistent
 * ptrs", fatal in the kernel); journal, prio and uuid buckets also used by
 * the btree or data; dirty extents whose pointer is stale (dirty data
 * lost); keys stale by more than BUCKET_GC_GEN_MAX ("key too stale");
 * data pointers whose gen is ahead of the prio chain; buckets whose gen is
 * more than BUCKET_GC_GEN_MAX ahead of their oldest pointer (latched);
 * btree buckets whose prio is not BTREE_PRIO (latched, information). Gens
 * and prios are compared only when the whole prio chain was read.
 *
 * Hands on:
 *   stats.marks	buckets_in_use (partial when subtrees could not be read)
 *   stats.gen_lag	max_gen_lag (only when the whole prio chain was read)
 */
#include <errno.h>
#include <stdlib.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/base/errcode.h"
#include "libcore/read/mark.h"
#include "libcore/read/node_cache.h"
#include "fsck.h"

static void mpctx(struct fsck_ctx *ctx, struct problem_ctx *p, const struct bkey *k,
		  unsigned level, unsigned ptr)
{
	clear_problem_context(p);
	p->dev = ctx->path;
	p->structure = "bucket";
	p->key = k;
	p->btree_level = (int)level;
	if (k && ptr < KEY_PTRS(k)) {
		p->bucket = PTR_BUCKET_NR(ctx->c, k, ptr);
		p->sector = PTR_OFFSET(k, ptr);
	}
}

/* Pointer checks made once per key, before marking (bch_extent_bad() side effects). */
static void check_ptrs(struct fsck_ctx *ctx, const struct bkey *k, unsigned level)
{
	struct cache_set *c = ctx->c;
	struct problem_ctx p;

	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		uint64_t b = PTR_BUCKET_NR(c, k, i);
		unsigned stale;

		if (!bt_ptr_available(k, i) || b >= c->nbuckets)
			continue;
		/*
		 * Only data pointers: node pointers are ahead after the first
		 * registration (the prios are written before the root is
		 * allocated) and freeing keys carry gen + 1 on purpose.
		 */
		if (!level && ctx->prios_ok &&
		    gen_after((uint8_t)PTR_GEN(k, i), c->buckets[b].disk_gen)) {
			mpctx(ctx, &p, k, level, i);
			p.num = PTR_GEN(k, i);
			p.num2 = c->buckets[b].disk_gen;
			fix_problem(ctx, PR_PTR_GEN_IN_FUTURE, &p);
		}
		stale = bt_ptr_stale(c, k, i);
		if (stale > BUCKET_GC_GEN_MAX) {
			mpctx(ctx, &p, k, level, i);
			p.num = stale;
			fix_problem(ctx, PR_KEY_TOO_STALE, &p);
		} else if (stale && KEY_DIRTY(k) && !level) {
			mpctx(ctx, &p, k, level, i);
			p.num = stale;
			p.num2 = KEY_SIZE(k);
			p.uuid_slot = KEY_INODE(k);
			fix_problem(ctx, PR_DIRTY_PTR_STALE, &p);
		}
	}
}

/* "inconsistent ptrs": a bucket marked both as metadata and as data. */
static void report_conflict(void *arg, const struct bkey *k, unsigned level, unsigned ptr)
{
	struct fsck_ctx *ctx = arg;
	struct problem_ctx p;

	mpctx(ctx, &p, k, level, ptr);
	fix_problem(ctx, PR_BUCKET_METADATA_AND_DATA, &p);
}

/* A node's bucket whose prio (as read from the prio chain) is not BTREE_PRIO. */
static void report_btree_prio(void *arg, const struct bkey *k, unsigned level, unsigned ptr,
			      unsigned prio)
{
	struct fsck_ctx *ctx = arg;
	struct problem_ctx p;

	mpctx(ctx, &p, k, level - 1, ptr);
	p.num = prio;
	fix_problem(ctx, PR_BTREE_BUCKET_PRIO_WRONG, &p);
}

/*
 * The kernel's initial mark of one key (libcore mark.c, FORMAT.md 9.3), with
 * its conflicts reported; prios are compared only when the chain was read.
 */
static void mark_key(struct fsck_ctx *ctx, const struct bkey *k, unsigned level)
{
	struct bt_mark_hooks h = {
		.conflict = report_conflict,
		.btree_prio = ctx->prios_ok ? report_btree_prio : NULL,
		.arg = ctx,
	};

	bt_mark_key_hooked(ctx->c, k, level, &h);
}

/* What the mark walk hands on besides ctx. */
struct mark_walk {
	struct fsck_ctx	*ctx;
	bool		skipped;	/* a subtree was not marked: buckets in use is partial */
	struct fsck_view_count *vc;	/* the replay pass's count made on the way, or NULL */
};

static int mark_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct mark_walk *mw = arg;
	const struct bkey *k;

	(void)pos;
	if (mw->ctx->abort)
		return -ECANCELED;
	for_each_node_key(n, k) {
		check_ptrs(mw->ctx, k, n->level);
		mark_key(mw->ctx, k, n->level);
	}
	if (mw->vc)
		fsck_view_count_node(mw->vc, n);
	return 0;
}

/* Node read errors were reported by the btree pass: skip those subtrees quietly. */
static int skip_error(const struct bkey *k, unsigned level, int err, const char *msg, void *arg)
{
	struct mark_walk *mw = arg;

	(void)k; (void)level;
	if (mw->vc)
		fsck_view_count_error(mw->vc, msg);
	/* a loop or a second visit leads to a node marked already */
	if (err != -BT_ERR_BTREE_LOOP && err != -BT_ERR_BTREE_TOPOLOGY)
		mw->skipped = true;
	return err == -ENOMEM ? err : 0;
}

/* bch_btree_gc_finish(): journal, prio and uuid buckets are metadata. */
static void mark_meta_bucket(struct fsck_ctx *ctx, uint64_t b, const char *what)
{
	struct cache_set *c = ctx->c;
	struct problem_ctx p;

	if (b >= c->nbuckets)
		return;
	if (c->buckets[b].mark || (ctx->node_bucket && ctx->node_bucket[b])) {
		mpctx(ctx, &p, NULL, 0, 0);
		p.bucket = b;
		p.str = what;
		fix_problem(ctx, PR_META_BUCKET_ALSO_USED, &p);
	}
	c->buckets[b].mark = GC_MARK_METADATA;
}

static void finish(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	const struct bkey *u = (const struct bkey *)&c->uuid_key;
	struct problem_ctx p;
	int64_t in_use = 0, max_lag = 0;

	/* the uuid key sits in a jset slot: at most BKEY_PAD - 2 pointers are there */
	for (unsigned i = 0; i < KEY_PTRS(u) && i < BKEY_PAD - 2; i++)
		mark_meta_bucket(ctx, PTR_BUCKET_NR(c, u, i), "uuid");
	for (unsigned i = 0; i < c->sb.keys && i < SB_JOURNAL_BUCKETS; i++)
		mark_meta_bucket(ctx, c->sb.d[i], "journal");
	for (unsigned i = 0; c->prio_chain && i < c->prio_buckets; i++)
		mark_meta_bucket(ctx, c->prio_chain[i], "prio");

	for (uint64_t b = c->first_bucket; b < c->nbuckets; b++) {
		const struct bt_bucket *g = &c->buckets[b];
		uint8_t lag = (uint8_t)(g->gen - g->last_gc);

		if (g->mark)
			in_use++;
		if (lag > max_lag)
			max_lag = lag;
		if (lag > BUCKET_GC_GEN_MAX && ctx->prios_ok) {
			mpctx(ctx, &p, NULL, 0, 0);
			p.bucket = b;
			p.num = g->gen;
			p.num2 = lag;
			fix_problem(ctx, PR_BUCKET_GC_GEN_LAG, &p);
		}
	}
	end_problem_latch(ctx, LATCH_GEN_LAG);
	end_problem_latch(ctx, LATCH_BTREE_PRIO);
	ctx->stats.buckets_in_use = (uint64_t)in_use;
	ctx->stats.max_gen_lag = (uint64_t)max_lag;
	/* gens the prio chain did not give are 0: no lag can be told from them */
	ctx->stats.gen_lag = ctx->prios_ok ? FSCK_FIG_WHOLE : FSCK_FIG_NONE;
}

int fsck_pass_gc_mark(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	const struct bkey *root = (const struct bkey *)&c->root_key;
	struct mark_walk mw = { .ctx = ctx };
	/* the same walk as the btree pass's: the gens it raised stay raised */
	struct bt_walk_opts wo = { mark_node, skip_error, &mw, 0,
				   ctx->gens_raised ? 0 : BT_WALK_RAISE_GENS };
	int ret;

	if (!c->buckets || !ctx->node_cache) {
		fsck_pass_unavailable(ctx, "gc_mark (no bucket gens or no btree)");
		return 0;
	}
	/* bch_btree_check(): the root's own key is marked as a pointer */
	check_ptrs(ctx, root, c->root_level + 1);
	mark_key(ctx, root, c->root_level + 1);
	/*
	 * The view the replay pass counts, counted on this walk: the gens are
	 * final already when the btree pass raised them all and the journal
	 * raises none (its marking below would otherwise change staleness).
	 */
	if (ctx->gens_raised)
		mw.vc = fsck_view_count_begin(&ctx->stats, c);
	fsck_readers_attach(ctx);
	ret = bt_btree_walk(ctx->node_cache, root, c->root_level, &wo, ctx->err);
	fsck_readers_detach(ctx);
	if (mw.vc)
		ctx->view_counted = fsck_view_count_end(mw.vc, !ret);
	if (ret == -ECANCELED && ctx->abort)
		return 0;
	if (ret)
		return ret;
	/* bch_journal_mark(): journal keys, newest jset first, as leaf keys */
	{
		struct bt_mark_hooks h = { .conflict = report_conflict, .arg = ctx };

		bt_mark_journal_hooked(c, &h);
	}
	finish(ctx);
	ctx->stats.marks = mw.skipped ? FSCK_FIG_PARTIAL : FSCK_FIG_WHOLE;
	return 0;
}
