/* pass_prios.c --- the prios pass: bucket priorities and gens.
 *
 * Checks, on libcore's bt_prio_read() (super.c prio_read()): the prio
 * chain from the newest jset's prio_bucket, exactly prio_buckets buckets:
 * pset csum and magic of each, chain buckets in [first_bucket, nbuckets),
 * not journal buckets, no loop; unreadable buckets.
 *
 * Hands on:
 *   ctx->prios_ok	false when the chain could not be read whole: the mark
 *			pass then does not compare pointer gens and prios with it
 *   c->buckets[]	gen, prio (disk_gen, last_gc) of every bucket
 *   c->prio_chain[]	the chain buckets, for the mark pass
 */
#include "libcore/read/prio.h"
#include "fsck.h"

int fsck_pass_prios(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	struct printbuf msg = PRINTBUF;
	struct problem_ctx p;
	enum problem code;
	int ret = bt_prio_read(c, &msg);

	clear_problem_context(&p);
	p.dev = ctx->path;
	p.structure = "prio_set";
	p.bucket = c->prio_start;
	p.str = printbuf_str(&msg);
	if (!ret) {
		ctx->prios_ok = true;
		printbuf_exit(&msg);
		return 0;
	}
	code = problem_for_err(FSCK_PASS_prios, ret);
	if (code == PR_NR) {
		prt_str(ctx->err, printbuf_str(&msg));
		printbuf_exit(&msg);
		return ret;
	}
	/* bt_prio_read() keeps what it could read: gens of the rest stay 0 */
	fix_problem(ctx, code, &p);
	printbuf_exit(&msg);
	return 0;
}
