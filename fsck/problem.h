/* problem.h --- problem codes, problem context and the answer policy of fsck.
 *
 * Check code reports every inconsistency through fix_problem():
 *
 *	struct problem_ctx p;
 *
 *	clear_problem_context(&p);
 *	p.dev = ctx->path; p.bucket = b; ...
 *	if (fix_problem(ctx, PR_SOMETHING, &p)) { repair; mark dirty; }
 *
 * fix_problem() is the only place that knows about -n/-y/-p and the
 * terminal; checks never test the options. The table of problems is
 * problems.h; runtime counts live in struct fsck_ctx, the table is const.
 */
#ifndef BCACHE_TOOL_FSCK_PROBLEM_H
#define BCACHE_TOOL_FSCK_PROBLEM_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/base/ondisk.h"
#include "libcore/base/printbuf.h"
#include "passes.h"
#include "problems.h"

struct fsck_ctx;

enum problem {
#define x(name, id, sev, prompt, flags, latch, msg) PR_##name,
	BT_PROBLEMS(x)
#undef x
	PR_NR
};

enum problem_severity {
	SEV_INFO,
	SEV_WARNING,
	SEV_ERROR,
};

/*
 * x(name, question, past, conditional). The conditional form is what -n
 * prints for the repair a yes would make ("would rewrite the leaf at
 * bucket 802"), and, without its "would ", the repair in --json (the
 * problem's "action"); it expands %-fields from the problem's context as
 * the messages do (problems.h), %L giving "leaf" or "btree node at level
 * N" from btree_level. Several prompts share a question: they differ in
 * what the repair does to the place.
 */
#define BT_PROMPTS(x)							\
	x(NONE,		"",				"",		"")	\
	x(CUT_EXTENTS,	"Fix?",				"FIXED",	\
	  "would cut %n extents at the end of the flash volume in uuid slot %u") \
	x(RECOMPUTE_CSUM, "Recompute checksum?",	"RECOMPUTED",	\
	  "would recompute the checksum of the superblock")		\
	x(REWRITE_NODE,	"Rewrite?",			"REWRITTEN",	\
	  "would rewrite the %L at bucket %b")				\
	x(DROP_NODE_PTR, "Rewrite?",			"REWRITTEN",	\
	  "would drop the btree node pointer %k")			\
	x(REWRITE_PRIOS, "Rewrite?",			"REWRITTEN",	\
	  "would write a new prio chain")				\
	x(REWRITE_JOURNAL_LIST, "Rewrite?",		"REWRITTEN",	\
	  "would rewrite the journal bucket list d[] of the superblock")	\
	x(CLEAR_SLOT,	"Clear?",			"CLEARED",	"would clear uuid slot %u") \
	x(CLEAR_FLAGS,	"Clear?",			"CLEARED",	\
	  "would clear flag bits %x of uuid slot %u")			\
	x(DROP_KEY,	"Drop key?",			"DROPPED",	"would drop key %k") \
	x(DROP_SLOT_KEYS, "Drop key?",			"DROPPED",	\
	  "would drop %n keys (%m sectors) of uuid slot %u")		\
	x(DROP_META_KEYS, "Drop key?",			"DROPPED",	\
	  "would drop the keys pointing into %t bucket %b")		\
	x(DROP_JOURNAL_KEY, "Drop key?",		"DROPPED",	\
	  "would drop key %k of jset %j")				\
	x(DROP_TRUNCATED_KEY, "Drop key?",		"DROPPED",	\
	  "would drop the last key of jset %j")			\
	x(REPLAY,	"Replay journal?",		"REPLAYED",	\
	  "would replay %n journal keys")				\
	x(SET_GEN,	"Update gen?",			"UPDATED",	\
	  "would raise the gen of bucket %b to %n")			\
	x(DROP_JSET,	"Drop from the journal?",	"DROPPED",	\
	  "would drop jset %j from the journal")			\
	x(DROP_MISSING,	"Drop from the journal?",	"DROPPED",	\
	  "would replay without the missing jsets %n-%m")		\
	x(DROP_LAST_SEQ, "Drop from the journal?",	"DROPPED",	\
	  "would restart the journal after jset %j")			\
	x(REBUILD_JOURNAL, "Scan the cache and write a new journal entry?", "REBUILT", \
	  "would write a new jset naming the prio chain, btree root and uuid bucket the scan found") \
	x(EMPTY_UUIDS,	"Rebuild with empty uuid slots?", "EMPTIED",	\
	  "would rebuild with empty uuid slots")

enum problem_prompt {
#define x(name, q, past, cond) PROMPT_##name,
	BT_PROMPTS(x)
#undef x
	PROMPT_NR
};

enum problem_flags {
	PF_PREEN_OK	= 1 << 0,	/* -p may answer yes without a person */
	PF_NO_OK	= 1 << 1,	/* answering no leaves a usable set */
	PF_NOT_A_FIX	= 1 << 2,	/* the action is not a repair (replay) */
	PF_MSG_ONLY	= 1 << 3,	/* print, never ask */
	PF_FATAL	= 1 << 4,	/* checking stops after this problem */
	PF_AFTER_CODE	= 1 << 5,	/* continues the previous message */
	PF_REPAIR	= 1 << 6,	/* the repair exists: a yes lets the caller make it */
	/*
	 * the repair is made later, by another pass (the journal problems:
	 * by the replay pass's commit): a yes is recorded with
	 * fsck_defer_fix() and counts as a fix only when that pass makes it
	 * (fsck_deferred_done()); otherwise the problem stays uncorrected
	 */
	PF_LATER	= 1 << 7,
	/*
	 * with PF_REPAIR | PF_LATER: the repair is the btree rebuild
	 * (fsck/rebuild.c, libcore/rebuild.h): a yes sets ctx->plan.rebuild and
	 * records the problem for the fix line; the replay pass then rebuilds
	 * the tree (journal included) in one copy-on-write commit
	 */
	PF_REBUILD	= 1 << 8,
};

/*
 * Latch groups: x(name, header problem). The first problem of a group
 * prints the header problem's message; every further one only adds its
 * number (bucket, else num) to a range list; end_problem_latch() prints
 * the list and asks the header's question once.
 */
#define BT_LATCHES(x)							\
	x(NONE,		PR_NR)						\
	x(SB_JOURNAL,	PR_SB_JOURNAL_BUCKETS_LATCH)				\
	x(GEN_LAG,	PR_BUCKET_GC_GEN_LAG_LATCH)				\
	x(BTREE_PRIO,	PR_BTREE_BUCKET_PRIO_LATCH)

enum problem_latch {
#define x(name, hdr) LATCH_##name,
	BT_LATCHES(x)
#undef x
	LATCH_NR
};

struct problem_def {
	const char	*name;		/* stable code */
	uint32_t	id;		/* 0xPPNNNN */
	uint8_t		severity;	/* enum problem_severity */
	uint8_t		prompt;		/* enum problem_prompt */
	uint16_t	flags;		/* enum problem_flags */
	uint8_t		latch;		/* enum problem_latch */
	const char	*msg;		/* template */
};

extern const struct problem_def problem_table[PR_NR];
extern const enum problem latch_header[LATCH_NR];
extern const char *const prompt_question[PROMPT_NR];
extern const char *const prompt_past[PROMPT_NR];
extern const char *const prompt_cond[PROMPT_NR];
extern const char *const severity_name[3];

/* "unset" values of struct problem_ctx, set by clear_problem_context() */
#define PCTX_UNSET	UINT64_MAX

/*
 * The location and the figures of one problem. Unset fields hold
 * PCTX_UNSET (numbers), -1 (btree_level), NULL (pointers); they are left
 * out of JSON and print as "?" in templates.
 */
struct problem_ctx {
	const char		*dev;		/* device path */
	const char		*structure;	/* "superblock", "jset", "btree node", ... */
	uint64_t		bucket;		/* buckets */
	uint64_t		sector;		/* sectors on dev */
	uint64_t		byte_offset;	/* bytes on dev */
	int			btree_level;
	const struct bkey	*key;		/* printed in kernel notation */
	uint64_t		jset_seq;
	uint64_t		uuid_slot;
	uint64_t		csum_expected;
	uint64_t		csum_got;
	uint64_t		num;
	uint64_t		num2;
	int			errcode;	/* negative code, 0 = unset */
	const char		*str;
};

void clear_problem_context(struct problem_ctx *p);

/*
 * fix_problem(): report problem code at p, apply the answer policy (-n: no,
 * -y: yes, -p: yes to PREEN_OK problems and preenhalt on the others, else
 * ask on the terminal) and return true when the caller should repair.
 * Counts the problem in ctx, records it for --json, suppresses messages
 * after ctx->opts.max_msgs of the same code, sets the ctx flags the exit
 * status is computed from, and sets ctx->abort on FATAL problems, on a
 * preen halt and on a 'q' answer. Returns true only for a yes to a
 * problem with a question (each has its repair, PF_REPAIR); a problem
 * without one is reported, with why it has no repair (nofix.h) when asked
 * to repair, and false returned. A PF_LATER yes is not counted as a fix
 * until the repairing pass reports it (fsck_defer_fix()).
 * -n answers no to a problem with a repair, prints what a yes would do (the
 * prompt's conditional form) and returns true: the repair is then made on
 * the device's shadow (fsck_run(): shadow.h bt_dev_shadow()), never on the
 * device, so that the rest of the run, and its report, predict -y's; it
 * sets FSCK_WOULD_FIX, not FSCK_PROBLEMS_FIXED, and -n's exit status is 4
 * whenever an error was found (fsck_exit_status()).
 */
bool fix_problem(struct fsck_ctx *ctx, enum problem code, struct problem_ctx *p);

/*
 * end_problem_latch(): close latch group: print the range list and ask the
 * header problem's question once. Returns whether to make the header's
 * repair, as fix_problem() does. A no-op returning false when the group
 * is not open.
 */
bool end_problem_latch(struct fsck_ctx *ctx, enum problem_latch latch);

/*
 * fsck_answer_mode_ok(): can the chosen answer mode work here? Interactive
 * mode needs a terminal on standard input. Returns 0 or -ENOTTY with a
 * message in err.
 */
int fsck_answer_mode_ok(struct fsck_ctx *ctx, struct printbuf *err);

/*
 * The repairs of PF_LATER problems. fsck_defer_fix(): fix_problem() said
 * yes to code; what names the place and the old state ("jset 2 at sector
 * 1032 of 'img': key 0 0:4 len 8 dirty (size past offset)"), copied.
 * fsck_deferred_done(): the later pass made them all: one line per repair,
 * "CODE: what -> how", on ctx->out (not in JSON mode) and appended to the
 * --log file; sets FSCK_PROBLEMS_FIXED. fsck_deferred_failed(): they were
 * not made: says why once and sets FSCK_UNCORRECTED. Both forget the list;
 * fsck_run() calls fsck_deferred_failed() for a list no pass dealt with.
 * Out of memory in fsck_defer_fix() marks the set uncorrected.
 */
void fsck_defer_fix(struct fsck_ctx *ctx, enum problem code, const char *what);
void fsck_deferred_done(struct fsck_ctx *ctx, const char *how);
void fsck_deferred_failed(struct fsck_ctx *ctx, const char *why);
/*
 * The same for the entries deferred since mark (ctx->plan.nr_deferred taken
 * before the fix_problem() calls): a pass that makes its own repair at
 * once settles it without touching what waits for a later pass.
 */
void fsck_deferred_done_from(struct fsck_ctx *ctx, size_t mark, const char *how);
void fsck_deferred_failed_from(struct fsck_ctx *ctx, size_t mark, const char *why);

/*
 * One repair line "CODE: line" on ctx->out (not in JSON mode) and in the
 * --log file; under -n "CODE: would: line" on ctx->out only.
 */
void fsck_fix_line(struct fsck_ctx *ctx, enum problem code, const char *line);

/*
 * fsck_confirm(): the last word on a repair that loses data, known only
 * once the repair is planned (the btree rebuild: question names what it
 * loses): asked on the terminal in interactive mode (y/n/a/q as
 * fix_problem()); -y, 'a' and -n go on (-n on the shadow); -p halts
 * (UNEXPECTED INCONSISTENCY: it makes only repairs that lose nothing).
 * Returns whether to make the repair.
 */
bool fsck_confirm(struct fsck_ctx *ctx, const char *question);

/*
 * fsck_check_interrupt(): has a signal asked fsck to stop (ctx->stop,
 * libcore/stop.h)? The first time it has, says "interrupted" and sets
 * FSCK_INTERRUPTED and ctx->abort: no pass after this one runs but the
 * summary, no question is asked, no repair is made (exit status 32, as
 * e2fsck's FSCK_CANCELED). A commit in progress is never cut short: its
 * signals are held until the jset is durable. Returns whether fsck stops.
 */
bool fsck_check_interrupt(struct fsck_ctx *ctx);

/*
 * fsck_log(): append "PATH: <text>" and a newline to --log FILE (flushed),
 * for a change made to the device; nothing without --log or under -n
 * (which changes nothing).
 */
void fsck_log(struct fsck_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Expand the template of code with p into out. */
void problem_msg_to_text(struct printbuf *out, enum problem code,
			 const struct problem_ctx *p);
/*
 * The repair of code at p: its prompt's conditional form without "would "
 * ("rewrite the leaf at bucket 802"), expanded from p.
 */
void problem_action_to_text(struct printbuf *out, enum problem code,
			    const struct problem_ctx *p);

/*
 * problem_for_err(): the problem a failure err (negative: -BT_ERR_* or
 * -errno) of a libcore validator or reader is in pass (problems.h
 * BT_PROBLEM_ERRCODES()), or PR_NR when err is no problem of that pass
 * (an operational error such as -ENOMEM, or a code the pass does not map).
 */
enum problem problem_for_err(enum fsck_pass pass, int err);

/* Why problem code has no repair (nofix.h), or NULL when it has one. */
const char *problem_nofix(enum problem code);

/* The troff (tbl) table of every problem, for the man page. */
void problem_table_to_troff(struct printbuf *out);

/* A key in kernel notation (libcore bt_bkey_to_text()). */
void fsck_bkey_to_text(struct printbuf *out, const struct bkey *k);

#endif /* BCACHE_TOOL_FSCK_PROBLEM_H */
