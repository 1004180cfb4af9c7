/* pass_btree.c --- the btree pass: btree nodes and keys.
 *
 * Checks every node reachable from the root with libcore's tree walk
 * (bt_btree_walk(), the order of btree.c bch_btree_check()): nodes that
 * cannot be read as bch_btree_node_read_done() reads them (bset magic,
 * version, csum, size, empty bsets, keys running past their bset, first
 * seq 0, a later block carrying the node's seq, short btree key), bad node
 * pointers, cycles, depth, nodes reached twice, two nodes in one bucket;
 * in each node: invalid keys (extent and btree pointer rules), keys outside
 * the node's range (start, end], interior nodes whose last child does not
 * reach the node's own key; the root ending at MAX_KEY; live extents of
 * uuid slots that hold no device, and of flash volumes past their size
 * (one report per slot).
 * Within each bset as written (recorded by the node's one read): keys
 * sorted, leaf extents not overlapping.
 *
 * Hands on:
 *   ctx->node_bucket[]	level + 1 of the node held by each bucket
 *   ctx->node_cache	the nodes read, for the mark pass's second walk
 *   stats.tree		btree_nodes, tree_depth (the root's level), key_bytes
 *			and the live leaf keys on disk (before journal replay);
 *			partial when subtrees could not be read or checking stopped
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/base/errcode.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/node_pool.h"
#include "libcore/read/uuid.h"
#include "fsck.h"

struct btree_pass {
	struct fsck_ctx	*ctx;
	/* live extents per uuid slot that holds no device: [slot] = {keys, sectors} */
	uint64_t	(*orphans)[2];
	size_t		nr_orphan_slots;
	/* live extents past the end of their flash volume, per slot */
	uint64_t	*past_end;
	uint64_t	root_children;	/* keys of the root, for progress */
	uint64_t	children_done;
	bool		skipped;	/* a subtree was not read: the figures are partial */
};

static void npctx(struct fsck_ctx *ctx, struct problem_ctx *p, const struct bkey *k,
		  unsigned level)
{
	clear_problem_context(p);
	p->dev = ctx->path;
	p->structure = "btree node";
	p->btree_level = (int)level;
	p->key = k;
	if (k && KEY_PTRS(k)) {
		p->bucket = PTR_BUCKET_NR(ctx->c, k, 0);
		p->sector = PTR_OFFSET(k, 0);
		p->byte_offset = PTR_OFFSET(k, 0) << SECTOR_SHIFT;
	}
}

/* A node the walk could not visit: its error code says which problem (problems.h). */
static int walk_error(const struct bkey *k, unsigned level, int err, const char *msg,
		      void *arg)
{
	struct btree_pass *bp = arg;
	struct problem_ctx p;
	enum problem code;

	if (err == -ENOMEM)
		return err;			/* operational, not a problem on disk */
	code = problem_for_err(FSCK_PASS_btree, err);
	if (code == PR_NR)
		code = PR_BTREE_NODE_BAD;
	/* a loop or a second visit leads to a node counted already */
	if (err != -BT_ERR_BTREE_LOOP && err != -BT_ERR_BTREE_TOPOLOGY)
		bp->skipped = true;
	npctx(bp->ctx, &p, k, level);
	p.errcode = err;
	p.str = msg;
	fix_problem(bp->ctx, code, &p);
	return 0;
}

static void range_str(struct printbuf *out, const struct bt_walk_pos *pos)
{
	prt_printf(out, "(%llu:%llu, %llu:%llu]",
		   (unsigned long long)pos->start_inode, (unsigned long long)pos->start_offset,
		   (unsigned long long)KEY_INODE(pos->end), (unsigned long long)KEY_OFFSET(pos->end));
}

/* Every key inside (start, end]; a leaf extent also starts at or after start. */
static void check_key_range(struct fsck_ctx *ctx, const struct bt_node *n,
			    const struct bt_walk_pos *pos, const struct bkey *k)
{
	struct printbuf r = PRINTBUF;
	struct problem_ctx p;
	bool outside = bkey_cmp(k, pos->end) > 0 ||
		       bkey_cmp_pos(k, pos->start_inode, pos->start_offset) <= 0;

	if (!outside && !n->level && KEY_SIZE(k))
		outside = KEY_INODE(k) == pos->start_inode && KEY_START(k) < pos->start_offset;
	if (!outside)
		return;
	npctx(ctx, &p, pos->end, n->level);
	p.key = k;
	range_str(&r, pos);
	p.str = printbuf_str(&r);
	fix_problem(ctx, PR_BTREE_KEY_OUTSIDE_NODE, &p);
	printbuf_exit(&r);
}

static void note_slot(struct btree_pass *bp, const struct bkey *k);

static void count_leaf_key(struct btree_pass *bp, const struct bkey *k)
{
	struct fsck_ctx *ctx = bp->ctx;

	if (!KEY_SIZE(k) || bt_extent_bad(ctx->c, k, NULL))
		return;
	fsck_extent_stats_add(&ctx->stats.on_disk, k);
	ctx->nr_live_ptrs += KEY_PTRS(k);
	note_slot(bp, k);
}

/*
 * The slot checks of a live leaf key, from the btree or from the journal's
 * replay range (the replay would put it in the btree): extents past a flash
 * volume's end, extents of a slot that holds no device.
 */
static void note_slot(struct btree_pass *bp, const struct bkey *k)
{
	const struct cache_set *c = bp->ctx->c;
	uint64_t slot = KEY_INODE(k);

	if (c->uuids && slot < c->nr_uuids && bp->past_end &&
	    bt_uuid_slot_state(&c->uuids[slot]) == BT_UUID_LIVE &&
	    bt_uuid_flash_only(&c->uuids[slot]) &&
	    KEY_OFFSET(k) > bt_uuid_sectors(&c->uuids[slot]))
		bp->past_end[slot]++;
	/*
	 * Keys of a slot the kernel invalidated at a detach stay until its gc
	 * drops them: clean ones are no error (the kernel leaves them there
	 * itself); dirty ones are data that no device will get.
	 */
	if (c->uuids && (slot >= c->nr_uuids ||
			 bt_uuid_slot_state(&c->uuids[slot]) != BT_UUID_LIVE) &&
	    !(slot < c->nr_uuids && !KEY_DIRTY(k) &&
	      bt_uuid_slot_state(&c->uuids[slot]) == BT_UUID_INVALIDATED)) {
		/* counted here, reported once per slot at the end of the pass */
		if (slot >= bp->nr_orphan_slots) {
			size_t n = slot + 1;
			void *o = realloc(bp->orphans, n * sizeof(*bp->orphans));

			if (!o)
				return;
			memset((uint64_t (*)[2])o + bp->nr_orphan_slots, 0,
			       (n - bp->nr_orphan_slots) * sizeof(*bp->orphans));
			bp->orphans = o;
			bp->nr_orphan_slots = n;
		}
		bp->orphans[slot][0]++;
		bp->orphans[slot][1] += KEY_SIZE(k);
	}
}

/* The journal keys the replay would insert (valid, live), through note_slot(). */
static void note_journal_slots(struct btree_pass *bp)
{
	const struct cache_set *c = bp->ctx->c;

	for (size_t e = 0; e < c->journal.nr; e++) {
		const struct jset *j = c->journal.entries[e].j;
		const uint64_t *p = j->d, *end = j->d + le32toh(j->keys);

		while (p < end && end - p >= 2 && (size_t)(end - p) >= bkey_u64s((const struct bkey *)p)) {
			const struct bkey *k = (const struct bkey *)p;

			if (bt_extent_invalid(c, k) == BT_EXTENT_VALID && !bt_extent_bad(c, k, NULL))
				note_slot(bp, k);
			p += bkey_u64s(k);
		}
	}
}

static void report_orphans(struct btree_pass *bp)
{
	struct problem_ctx p;

	for (size_t slot = 0; slot < bp->nr_orphan_slots; slot++) {
		if (!bp->orphans[slot][0])
			continue;
		clear_problem_context(&p);
		p.dev = bp->ctx->path;
		p.structure = "btree";
		p.uuid_slot = slot;
		p.num = bp->orphans[slot][0];
		p.num2 = bp->orphans[slot][1];
		fix_problem(bp->ctx, PR_EXTENT_NO_UUID_SLOT, &p);
	}
	free(bp->orphans);
	for (size_t slot = 0; bp->past_end && slot < bp->ctx->c->nr_uuids; slot++) {
		if (!bp->past_end[slot])
			continue;
		clear_problem_context(&p);
		p.dev = bp->ctx->path;
		p.structure = "btree";
		p.uuid_slot = slot;
		p.num = bp->past_end[slot];
		p.num2 = bt_uuid_sectors(&bp->ctx->c->uuids[slot]);
		fix_problem(bp->ctx, PR_EXTENT_PAST_FLASH_VOLUME, &p);
	}
	free(bp->past_end);
}

/*
 * Within each bset written to disk keys are sorted and, in leaves, extents
 * do not overlap (FORMAT.md 10 #16). The merged view hides this: the read
 * of the node keeps each accepted bset's first violation (n->order,
 * libcore/read/btree.h), reported here in block order, one per bset.
 */
static void check_bsets(struct fsck_ctx *ctx, const struct bt_node *n)
{
	const struct bkey *nk = (const struct bkey *)n->key;
	struct problem_ctx p;

	for (size_t i = 0; i < n->nr_order; i++) {
		const struct bt_bset_order *o = &n->order[i];
		struct printbuf t = PRINTBUF;

		npctx(ctx, &p, nk, n->level);
		p.key = (const struct bkey *)o->key;
		p.num = o->block;
		bt_bkey_to_text(&t, (const struct bkey *)o->prev);
		p.str = printbuf_str(&t);
		fix_problem(ctx, o->fault == BT_BSET_KEYS_UNSORTED ? PR_BTREE_KEYS_UNSORTED :
			    PR_BTREE_EXTENTS_OVERLAP, &p);
		printbuf_exit(&t);
	}
}

/* One bucket, one node: remember each node's bucket for the mark pass. */
static void note_node_bucket(struct fsck_ctx *ctx, const struct bt_node *n)
{
	const struct bkey *k = (const struct bkey *)n->key;
	struct problem_ctx p;

	if (!ctx->node_bucket || n->bucket >= ctx->c->nbuckets)
		return;
	if (ctx->node_bucket[n->bucket]) {
		npctx(ctx, &p, k, n->level);
		p.num = ctx->node_bucket[n->bucket] - 1u;
		fix_problem(ctx, PR_BTREE_BUCKET_SHARED, &p);
		return;
	}
	ctx->node_bucket[n->bucket] = (uint8_t)(n->level + 1);
}

static int check_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct btree_pass *bp = arg;
	struct fsck_ctx *ctx = bp->ctx;
	const struct bkey *k, *last;
	struct problem_ctx p;

	if (ctx->abort)
		return -ECANCELED;
	ctx->stats.btree_nodes++;
	ctx->stats.key_bytes += (uint64_t)n->u64s * 8;
	note_node_bucket(ctx, n);
	check_bsets(ctx, n);
	if (pos->depth == 0)
		bp->root_children = n->level ? n->nr_keys : 0;
	if (pos->depth == 1)
		fsck_progress(ctx, ++bp->children_done, bp->root_children);

	for_each_node_invalid_key(n, k) {
		npctx(ctx, &p, (const struct bkey *)n->key, n->level);
		p.key = k;
		p.str = KEY_SIZE(k) > KEY_OFFSET(k) && !n->level ? "size larger than offset" :
			bt_ptr_status_str(bt_ptr_status(ctx->c, k));
		fix_problem(ctx, n->level ? PR_BTREE_KEY_INVALID : PR_EXTENT_INVALID, &p);
	}
	for_each_node_key(n, k) {
		/* freeing keys (bch_btree_node_free()) sit at ZERO_KEY on purpose */
		if (!bkey_is_zero_pos(k))
			check_key_range(ctx, n, pos, k);
		if (!n->level)
			count_leaf_key(bp, k);
	}
	last = n->level ? bt_node_last_key(n) : NULL;
	if (n->level && (!last || bkey_cmp(last, pos->end))) {
		struct printbuf s = PRINTBUF;

		npctx(ctx, &p, pos->end, n->level);
		if (last)
			prt_printf(&s, "%llu:%llu", (unsigned long long)KEY_INODE(last),
				   (unsigned long long)KEY_OFFSET(last));
		else
			prt_str(&s, "no child at all");
		p.str = printbuf_str(&s);
		fix_problem(ctx, PR_BTREE_CHILD_GAP, &p);
		printbuf_exit(&s);
	}
	return 0;
}

int fsck_pass_btree(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	const struct bkey *root = (const struct bkey *)&c->root_key;
	struct btree_pass bp = { .ctx = ctx };
	struct bt_walk_opts wo = { check_node, walk_error, &bp, 0, BT_WALK_RAISE_GENS };
	struct problem_ctx p;
	int ret;

	ctx->stats.btree_nodes = ctx->stats.key_bytes = 0;
	memset(&ctx->stats.on_disk, 0, sizeof(ctx->stats.on_disk));
	/* the kernel's tree_depth is the root's level (sysfs, btree.h c->root->level) */
	ctx->stats.tree_depth = c->root_level;
	ctx->node_bucket = calloc(c->nbuckets, 1);
	if (c->uuids && !(bp.past_end = calloc(c->nr_uuids, sizeof(uint64_t))))
		return -ENOMEM;
	ctx->node_cache = bt_node_cache_new(c, ctx->opts.node_cache_bytes ?
					    ctx->opts.node_cache_bytes : BT_NODE_CACHE_DEFAULT_BYTES, 0);
	if (!ctx->node_bucket || !ctx->node_cache)
		return -ENOMEM;
	/* no reader threads (out of memory, none started): the walk reads alone, same result */
	ctx->node_pool = bt_node_pool_for(c, ctx->opts.threads, 0);

	if (bkey_cmp_pos(root, MAX_KEY_INODE, MAX_KEY_OFFSET)) {
		npctx(ctx, &p, root, c->root_level);
		fix_problem(ctx, PR_BTREE_ROOT_NOT_MAX_KEY, &p);
	}
	fsck_readers_attach(ctx);
	ret = bt_btree_walk(ctx->node_cache, root, c->root_level, &wo, ctx->err);
	fsck_readers_detach(ctx);
	ctx->gens_raised = !ret;
	if (ret == -ECANCELED && ctx->abort) {
		bp.skipped = true;	/* checking stopped before the whole tree was read */
		ret = 0;
	}
	if (!ret)
		ctx->stats.tree = bp.skipped ? FSCK_FIG_PARTIAL : FSCK_FIG_WHOLE;
	note_journal_slots(&bp);
	report_orphans(&bp);
	return ret;
}
