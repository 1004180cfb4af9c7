/* pass_journal.c --- pass 2: the journal.
 *
 * Checks (planned, problems.h "pass 2"): every jset in the journal buckets
 * d[0..keys-1]: magic, csum, version, size within 32 KiB and its bucket,
 * last_seq <= seq; the seq chain: every seq in [newest.last_seq, newest.seq]
 * present (none missed); the newest entry's btree root, uuid and prio
 * pointers; every journal key valid as an extent (no key is skipped).
 *
 * Hands on:
 *   c->journal		the replay list (entries oldest first) and newest jset
 *   c->root_key, c->root_level, c->uuid_key, c->prio_start
 *   stats.journal_entries, stats.journal_keys_to_replay
 */
#include "fsck.h"

int fsck_pass_journal(struct fsck_ctx *ctx)
{
	/* the reader this pass builds on is not merged yet */
	fsck_pass_unavailable(ctx, "journal");
	return 0;
}
