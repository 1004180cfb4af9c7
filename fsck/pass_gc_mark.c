/* pass_gc_mark.c --- pass 6: bucket marks, gens and sectors used.
 *
 * Checks (planned, problems.h "pass 6"): the kernel's initial gc mark
 * (bch_btree_check + bch_journal_mark + gc finish) redone from the btree and
 * the journal keys: per bucket mark and sectors used; a bucket with both
 * metadata and data; pointer gen in the future; dirty extents whose
 * pointer is stale (dirty data lost, sectors per backing device); gc gen
 * lag above BUCKET_GC_GEN_MAX; journal, prio, uuid and superblock buckets
 * also used by btree or data; btree buckets whose prio is not BTREE_PRIO.
 *
 * Hands on:
 *   stats.buckets_in_use, stats.max_gen_lag
 */
#include "fsck.h"

int fsck_pass_gc_mark(struct fsck_ctx *ctx)
{
	/* the reader this pass builds on is not merged yet */
	fsck_pass_unavailable(ctx, "gc_mark");
	return 0;
}
