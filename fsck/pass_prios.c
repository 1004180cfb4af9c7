/* pass_prios.c --- pass 3: bucket priorities and gens.
 *
 * Checks (planned, problems.h "pass 3"): the prio chain from the newest
 * jset's prio_bucket: pset magic and csum of each bucket, no loop, exactly
 * prio_buckets buckets, each in [first_bucket, nbuckets) and not a journal
 * bucket.
 *
 * Hands on:
 *   c->buckets[]	gen, prio (disk_gen, last_gc) of every bucket
 *   c->prio_chain[]	the chain buckets, for the mark pass
 */
#include "fsck.h"

int fsck_pass_prios(struct fsck_ctx *ctx)
{
	/* the reader this pass builds on is not merged yet */
	fsck_pass_unavailable(ctx, "prios");
	return 0;
}
