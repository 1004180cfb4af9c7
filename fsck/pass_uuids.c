/* pass_uuids.c --- pass 4: uuid slots.
 *
 * Checks (planned, problems.h "pass 4"): the uuid bucket pointer of the
 * newest jset; each slot empty (zeroes), invalidated or live; no two live
 * slots with the same uuid; flags (only UUID_FLASH_ONLY); flash volume
 * sizes.
 *
 * Hands on:
 *   c->uuids[]		the slots: which KEY_INODE values are live
 */
#include "fsck.h"

int fsck_pass_uuids(struct fsck_ctx *ctx)
{
	/* the reader this pass builds on is not merged yet */
	fsck_pass_unavailable(ctx, "uuids");
	return 0;
}
