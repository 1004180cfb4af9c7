/* passes.h --- the fsck passes, in the order they run.
 *
 * x(name, flags, title): generates enum fsck_pass (FSCK_PASS_name), the
 * names used by -v timings and JSON, and the runner's table of
 * { fsck_pass_name(), name, flags, title } (fsck.c). Each pass lives in
 * fsck/pass_<name>.c, whose opening comment says what it checks and what
 * it hands on to the later passes. A pass's number, printed in its
 * "Pass N: title" header, is its place in this table (fsck_pass_number()):
 * comments name a pass, never number it, so that adding a pass changes
 * the output only.
 *
 * Flags: PASS_RO (runs under -n), PASS_NEEDS_RW (only when repairing),
 * PASS_NEEDS_SET (skipped when the device holds no cache set: a backing
 * device or a cache that was never registered), PASS_ALWAYS (runs even
 * after an abort, to print the summary).
 */
#ifndef BCACHE_TOOL_FSCK_PASSES_H
#define BCACHE_TOOL_FSCK_PASSES_H

enum fsck_pass_flags {
	PASS_RO		= 1 << 0,
	PASS_NEEDS_RW	= 1 << 1,
	PASS_NEEDS_SET	= 1 << 2,
	PASS_ALWAYS	= 1 << 3,
};

#define BT_FSCK_PASSES(x)						\
	x(superblock,	PASS_RO,		"checking the superblock")	\
	x(journal,	PASS_RO|PASS_NEEDS_SET,	"checking the journal")	\
	x(prios,	PASS_RO|PASS_NEEDS_SET,	"checking bucket priorities and gens") \
	x(uuids,	PASS_RO|PASS_NEEDS_SET,	"checking uuid slots")	\
	x(btree,	PASS_RO|PASS_NEEDS_SET,	"checking btree nodes and keys") \
	x(gc_mark,	PASS_RO|PASS_NEEDS_SET,	"checking bucket marks, gens and sectors used") \
	x(replay,	PASS_RO|PASS_NEEDS_SET,	"replaying the journal")	\
	x(summary,	PASS_RO|PASS_ALWAYS,	"summary")

enum fsck_pass {
#define x(name, flags, title) FSCK_PASS_##name,
	BT_FSCK_PASSES(x)
#undef x
	FSCK_PASS_NR
};

/* The number of pass in its "Pass N: title" header: its place in BT_FSCK_PASSES(), from 1. */
static inline unsigned fsck_pass_number(enum fsck_pass pass)
{
	return (unsigned)pass + 1;
}

struct fsck_ctx;

#define x(name, flags, title) int fsck_pass_##name(struct fsck_ctx *ctx);
BT_FSCK_PASSES(x)
#undef x

#endif /* BCACHE_TOOL_FSCK_PASSES_H */
