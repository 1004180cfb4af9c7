/* problem.c --- the problem table, message templates and fix_problem().
 *
 * All answer policy of fsck is here: the default answers of -n/-y/-p, the
 * terminal questions, preen halts, suppression of floods, latch groups and
 * the flags the exit status is computed from (e2fsck problem.c and
 * bcachefs bch2_fsck_err() are the models; no code of theirs is used).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/base/errcode.h"
#include "fsck.h"
#include "problem.h"
#include "nofix.h"

const struct problem_def problem_table[PR_NR] = {
#define x(_name, _id, _sev, _prompt, _flags, _latch, _msg)		\
	[PR_##_name] = { .name = #_name, .id = _id, .severity = _sev,	\
			 .prompt = _prompt, .flags = _flags,		\
			 .latch = _latch, .msg = _msg },
	BT_PROBLEMS(x)
#undef x
};

const enum problem latch_header[LATCH_NR] = {
#define x(name, hdr) [LATCH_##name] = hdr,
	BT_LATCHES(x)
#undef x
};

const char *const prompt_question[PROMPT_NR] = {
#define x(name, q, past, cond) [PROMPT_##name] = q,
	BT_PROMPTS(x)
#undef x
};
const char *const prompt_past[PROMPT_NR] = {
#define x(name, q, past, cond) [PROMPT_##name] = past,
	BT_PROMPTS(x)
#undef x
};
const char *const prompt_cond[PROMPT_NR] = {
#define x(name, q, past, cond) [PROMPT_##name] = cond,
	BT_PROMPTS(x)
#undef x
};
const char *const severity_name[3] = { "info", "warning", "error" };

/* Build-time check that no two problems share an id: duplicate case labels do not compile. */
static inline __attribute__((unused)) void problem_ids_unique(unsigned id)
{
	switch (id) {
#define x(name, id, sev, prompt, flags, latch, msg) case id:
	BT_PROBLEMS(x)
#undef x
		break;
	}
}

/* Build-time check that no code maps to two problems in one pass. */
static inline __attribute__((unused)) void problem_errcodes_unique(unsigned pass_err)
{
	switch (pass_err) {
#define x(pass, name, err) case FSCK_PASS_##pass << 16 | (err):
	BT_PROBLEM_ERRCODES(x)
#undef x
		break;
	}
}

enum problem problem_for_err(enum fsck_pass pass, int err)
{
	static const struct {
		enum fsck_pass	pass;
		int		err;		/* positive */
		enum problem	code;
	} map[] = {
#define x(_pass, name, _err) { FSCK_PASS_##_pass, _err, PR_##name },
		BT_PROBLEM_ERRCODES(x)
#undef x
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].pass == pass && map[i].err == -err)
			return map[i].code;
	return PR_NR;
}

void clear_problem_context(struct problem_ctx *p)
{
	memset(p, 0, sizeof(*p));
	p->bucket = p->sector = p->byte_offset = PCTX_UNSET;
	p->jset_seq = p->uuid_slot = PCTX_UNSET;
	p->csum_expected = p->csum_got = PCTX_UNSET;
	p->num = p->num2 = PCTX_UNSET;
	p->btree_level = -1;
}

void fsck_bkey_to_text(struct printbuf *out, const struct bkey *k)
{
	bt_bkey_to_text(out, k);
}

static void prt_u64_field(struct printbuf *out, uint64_t v)
{
	if (v == PCTX_UNSET)
		prt_char(out, '?');
	else
		prt_printf(out, "%llu", (unsigned long long)v);
}

static void prt_hex_field(struct printbuf *out, uint64_t v, bool wide)
{
	if (v == PCTX_UNSET)
		prt_char(out, '?');
	else
		prt_printf(out, wide ? "%016llx" : "%llx", (unsigned long long)v);
}

/* Expand the %-fields of tmpl from p (problems.h; %L: problem.h BT_PROMPTS). */
static void expand(struct printbuf *out, const char *tmpl, const struct problem_ctx *p)
{
	for (const char *s = tmpl; *s; s++) {
		if (*s != '%' || !s[1]) {
			prt_char(out, *s);
			continue;
		}
		switch (*++s) {
		case 'd': prt_printf(out, "'%s'", p->dev ? p->dev : "?"); break;
		case 's': prt_str(out, p->structure ? p->structure : "?"); break;
		case 'b': prt_u64_field(out, p->bucket); break;
		case 'S': prt_u64_field(out, p->sector); break;
		case 'o': prt_u64_field(out, p->byte_offset); break;
		case 'l':
			if (p->btree_level < 0)
				prt_char(out, '?');
			else
				prt_printf(out, "%d", p->btree_level);
			break;
		case 'L':
			if (p->btree_level > 0)
				prt_printf(out, "btree node at level %d", p->btree_level);
			else
				prt_str(out, p->btree_level ? "btree node" : "leaf");
			break;
		case 'k':
			if (p->key)
				fsck_bkey_to_text(out, p->key);
			else
				prt_char(out, '?');
			break;
		case 'j': prt_u64_field(out, p->jset_seq); break;
		case 'u': prt_u64_field(out, p->uuid_slot); break;
		case 'e': prt_hex_field(out, p->csum_expected, true); break;
		case 'g': prt_hex_field(out, p->csum_got, true); break;
		case 'n': prt_u64_field(out, p->num); break;
		case 'm': prt_u64_field(out, p->num2); break;
		case 'x': prt_hex_field(out, p->num, false); break;
		case 'E': prt_str(out, p->errcode ? bt_err_str(p->errcode) : "?"); break;
		case 't': prt_str(out, p->str ? p->str : "?"); break;
		case '%': prt_char(out, '%'); break;
		default: prt_char(out, '%'); prt_char(out, *s); break;
		}
	}
}

void problem_msg_to_text(struct printbuf *out, enum problem code,
			 const struct problem_ctx *p)
{
	expand(out, problem_table[code].msg, p);
}

void problem_action_to_text(struct printbuf *out, enum problem code,
			    const struct problem_ctx *p)
{
	const char *cond = prompt_cond[problem_table[code].prompt];

	if (!strncmp(cond, "would ", 6))
		cond += 6;
	expand(out, cond, p);
}

/* ---- JSON ----------------------------------------------------------- */

static void json_set_u64(json_t *o, const char *key, uint64_t v)
{
	if (v != PCTX_UNSET)
		json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void json_set_hex(json_t *o, const char *key, uint64_t v)
{
	char buf[24];

	if (v == PCTX_UNSET)
		return;
	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)v);
	json_object_set_new(o, key, json_string(buf));
}

const char *problem_nofix(enum problem code)
{
	static const struct { enum problem code; const char *why; } nofix[] = {
#define x(name, why) { PR_##name, why },
		BT_PROBLEM_NOFIX(x)
#undef x
	};

	for (size_t i = 0; i < sizeof(nofix) / sizeof(nofix[0]); i++)
		if (nofix[i].code == code)
			return nofix[i].why;
	return NULL;
}

/* The answer to one problem, for --json: "answer", and the repair's state ("action"). */
struct answer_rec {
	const char	*answer;
	const char	*state;		/* "would", "done", "pending", "declined", "not made" */
};

/*
 * "action": the repair (the prompt's conditional form without "would ")
 * and its state. The same repair text in -n and -y makes the two runs
 * comparable: -n's "would" is -y's "done".
 */
static void json_action(json_t *o, enum problem code, const struct problem_ctx *p,
			const char *state)
{
	struct printbuf what = PRINTBUF;
	json_t *a = json_object();

	problem_action_to_text(&what, code, p);
	json_object_set_new(a, "repair", json_string(printbuf_str(&what)));
	json_object_set_new(a, "state", json_string(state));
	json_object_set_new(o, "action", a);
	printbuf_exit(&what);
}

static void json_record(struct fsck_ctx *ctx, enum problem code,
			const struct problem_ctx *p, const struct answer_rec *r)
{
	const struct problem_def *pr = &problem_table[code];
	const char *answer = r->answer;
	struct printbuf msg = PRINTBUF;
	char id[16];
	json_t *o;

	if (!ctx->json_problems)
		return;
	o = json_object();
	problem_msg_to_text(&msg, code, p);
	snprintf(id, sizeof(id), "0x%06x", pr->id);
	json_object_set_new(o, "code", json_string(pr->name));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "severity", json_string(severity_name[pr->severity]));
	json_object_set_new(o, "pass", json_string(fsck_pass_name(ctx->cur_pass)));
	json_object_set_new(o, "message", json_string(printbuf_str(&msg)));
	if (answer)
		json_object_set_new(o, "answer", json_string(answer));
	if (p->dev)
		json_object_set_new(o, "device", json_string(p->dev));
	if (p->structure)
		json_object_set_new(o, "structure", json_string(p->structure));
	json_set_u64(o, "bucket", p->bucket);
	json_set_u64(o, "sector", p->sector);
	json_set_u64(o, "byte_offset", p->byte_offset);
	if (p->btree_level >= 0)
		json_object_set_new(o, "btree_level", json_integer(p->btree_level));
	if (p->key) {
		struct printbuf k = PRINTBUF;

		fsck_bkey_to_text(&k, p->key);
		json_object_set_new(o, "key", json_string(printbuf_str(&k)));
		printbuf_exit(&k);
	}
	json_set_u64(o, "jset_seq", p->jset_seq);
	json_set_u64(o, "uuid_slot", p->uuid_slot);
	json_set_hex(o, "csum_expected", p->csum_expected);
	json_set_hex(o, "csum_got", p->csum_got);
	json_set_u64(o, "num", p->num);
	json_set_u64(o, "num2", p->num2);
	if (p->errcode)
		json_object_set_new(o, "errcode", json_string(bt_err_str(p->errcode)));
	if (p->str)
		json_object_set_new(o, "str", json_string(p->str));
	if (problem_nofix(code))
		json_object_set_new(o, "no_fix", json_string(problem_nofix(code)));
	if (r->state && (pr->flags & PF_REPAIR))
		json_action(o, code, p, r->state);
	json_array_append_new(ctx->json_problems, o);
	printbuf_exit(&msg);
}

/* ---- answers -------------------------------------------------------- */

/* ANSWER_WOULD: -n, "no" on the device, "yes" on its shadow (fsck_run()) */
enum answer { ANSWER_NO, ANSWER_YES, ANSWER_HALT, ANSWER_QUIT, ANSWER_WOULD };

int fsck_answer_mode_ok(struct fsck_ctx *ctx, struct printbuf *err)
{
	if (ctx->opts.mode != FSCK_MODE_ASK)
		return 0;
	if (!ctx->tty_in || !isatty(fileno(ctx->tty_in))) {
		prt_printf(err, "need a terminal for interactive repairs: "
			   "use -n (check only), -y or -p");
		return -ENOTTY;
	}
	return 0;
}

/* Ask the question on the terminal: y, n, a (yes to all), q (quit). */
static enum answer ask_tty(struct fsck_ctx *ctx, const char *question)
{
	char line[64];

	for (;;) {
		fprintf(ctx->out, "%s <y>/n/a/q ", question);
		fflush(ctx->out);
		if (!ctx->tty_in || !fgets(line, sizeof(line), ctx->tty_in)) {
			fputc('\n', ctx->out);
			return ANSWER_QUIT;
		}
		switch (line[0]) {
		case '\n': case 'y': case 'Y':
			return ANSWER_YES;
		case 'n': case 'N':
			return ANSWER_NO;
		case 'a': case 'A':
			ctx->flags |= FSCK_YES_TO_ALL;
			return ANSWER_YES;
		case 'q': case 'Q':
			return ANSWER_QUIT;
		}
	}
}

/* The default answer of the mode, asking when it must. */
static enum answer decide(struct fsck_ctx *ctx, const struct problem_def *pr, bool quiet)
{
	if (ctx->opts.mode == FSCK_MODE_NO)
		return ANSWER_WOULD;
	if (ctx->opts.mode == FSCK_MODE_YES || (ctx->flags & FSCK_YES_TO_ALL))
		return ANSWER_YES;
	if (ctx->opts.mode == FSCK_MODE_PREEN)
		return (pr->flags & PF_PREEN_OK) ? ANSWER_YES : ANSWER_HALT;
	if (quiet)	/* suppressed messages are not asked about */
		return ANSWER_NO;
	return ask_tty(ctx, prompt_question[pr->prompt]);
}

/*
 * -n's answer to a problem with a repair: "no" for the device, but the
 * repair is made on the device's shadow (fsck_run()) so that the passes
 * after it, and the report, are those of -y. Prints the question, "no"
 * and what -y would do.
 */
static bool answer_would(struct fsck_ctx *ctx, enum problem code, const struct problem_ctx *p,
			 bool text, struct answer_rec *r)
{
	const struct problem_def *pr = &problem_table[code];

	if (text) {
		struct printbuf what = PRINTBUF;

		expand(&what, prompt_cond[pr->prompt], p);
		fprintf(ctx->out, "%s no: %s\n", prompt_question[pr->prompt], printbuf_str(&what));
		printbuf_exit(&what);
	}
	r->answer = "no";
	r->state = "would";
	/* a repair made now (not by a later pass) would have been made */
	if (!(pr->flags & PF_LATER))
		ctx->flags |= FSCK_WOULD_FIX;
	return true;
}

/* A preen halt or a 'q': nothing more is checked or repaired. */
static void stop_checking(struct fsck_ctx *ctx, enum answer a, struct answer_rec *r)
{
	if (a == ANSWER_HALT) {
		if (!ctx->opts.json)
			fprintf(ctx->out, "\n%s: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n"
				"\t(i.e., without -p)\n", ctx->path ? ctx->path : "?");
		ctx->flags |= FSCK_PREEN_HALT;
		r->answer = "preen halt";
	} else {
		if (!ctx->opts.json)
			fprintf(ctx->out, "checking stopped\n");
		ctx->flags |= FSCK_USER_ABORT;
		r->answer = "quit";
	}
	ctx->abort = true;
	r->state = "not made";
}

/*
 * Apply the answer to a problem with a question: print it, set the flags.
 * Returns whether the caller may repair: for a yes (every problem with a
 * question has its repair, PF_REPAIR) and for -n's simulated one.
 */
static bool apply_answer(struct fsck_ctx *ctx, enum problem code, const struct problem_ctx *p,
			 enum answer a, bool quiet, struct answer_rec *r)
{
	const struct problem_def *pr = &problem_table[code];
	bool text = !ctx->opts.json && !quiet;
	bool asked = ctx->opts.mode == FSCK_MODE_ASK && !(ctx->flags & FSCK_YES_TO_ALL);
	const char *q = asked ? "" : prompt_question[pr->prompt];

	if (a == ANSWER_WOULD && (pr->flags & PF_REPAIR))
		return answer_would(ctx, code, p, text, r);
	if (a == ANSWER_WOULD)
		a = ANSWER_NO;
	switch (a) {
	case ANSWER_YES:
		/* a problem with a question has a repair (tests/test_fsck_problems.c) */
		if (text) {
			fprintf(ctx->out, "%s yes\n", q);
			fflush(ctx->out);	/* seen when given, even in a pipe */
		}
		if (pr->flags & PF_LATER) {
			/* counted as fixed when the later pass makes the repair */
			r->answer = "yes";
			r->state = "pending";
			return true;
		}
		r->answer = prompt_past[pr->prompt];
		r->state = "done";
		ctx->flags |= FSCK_PROBLEMS_FIXED;
		return true;
	case ANSWER_NO:
	case ANSWER_WOULD:	/* no repair to simulate: a plain no */
		if (text && !asked)
			fprintf(ctx->out, "%s no\n", q);
		r->answer = "no";
		r->state = "declined";
		break;
	case ANSWER_HALT:
	case ANSWER_QUIT:
		stop_checking(ctx, a, r);
		break;
	}
	/*
	 * No repair is made, so every answer here leaves the error; "no" to
	 * a NO_OK problem (e2fsck PR_NO_OK) leaves a usable set and counts
	 * as fine, and a NOT_A_FIX action was never a repair of an error.
	 */
	if (pr->severity == SEV_ERROR && !(pr->flags & PF_NOT_A_FIX) &&
	    !(a == ANSWER_NO && (pr->flags & PF_NO_OK)))
		ctx->flags |= FSCK_UNCORRECTED;
	if (text)	/* an answer is seen when it is given, even in a pipe */
		fflush(ctx->out);
	return false;
}

static void print_msg(struct fsck_ctx *ctx, enum problem code, const struct problem_ctx *p)
{
	struct printbuf msg = PRINTBUF;
	const struct problem_def *pr = &problem_table[code];

	if (!(pr->flags & PF_AFTER_CODE))
		prt_printf(&msg, "%s: ", pr->name);
	problem_msg_to_text(&msg, code, p);
	fprintf(ctx->out, "%s\n", printbuf_str(&msg));
	printbuf_exit(&msg);
}

/* Add n to the latch's range list, extending the last range when adjacent. */
static void latch_add(struct fsck_latch *l, uint64_t n)
{
	if (l->nr && (l->ranges[l->nr - 1][1] == n - 1 || l->ranges[l->nr - 1][1] == n)) {
		l->ranges[l->nr - 1][1] = n;
		return;
	}
	if (l->nr == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 16;
		void *r = realloc(l->ranges, na * sizeof(*l->ranges));

		if (!r)
			return;		/* the list is only for show; keep going */
		l->ranges = r;
		l->alloc = na;
	}
	l->ranges[l->nr][0] = l->ranges[l->nr][1] = n;
	l->nr++;
}

/* A yes to a PF_REBUILD problem: the replay pass rebuilds the tree. */
static void defer_rebuild(struct fsck_ctx *ctx, enum problem code, const struct problem_ctx *p)
{
	struct printbuf what = PRINTBUF;

	problem_msg_to_text(&what, code, p);
	ctx->plan.rebuild = true;
	fsck_defer_fix(ctx, code, printbuf_str(&what));
	printbuf_exit(&what);
}

bool fix_problem(struct fsck_ctx *ctx, enum problem code, struct problem_ctx *p)
{
	const struct problem_def *pr;
	struct answer_rec r = { 0 };
	enum answer a;
	bool quiet, ret = false;

	if ((unsigned)code >= PR_NR)
		return false;
	pr = &problem_table[code];
	ctx->counts[code]++;
	if (pr->severity == SEV_ERROR)
		ctx->flags |= FSCK_ERRORS_FOUND;
	/* after a preen halt, a 'q' or an interrupt nothing more is said or asked */
	if (fsck_check_interrupt(ctx) || (ctx->flags & (FSCK_PREEN_HALT | FSCK_USER_ABORT)))
		return false;

	if (pr->latch != LATCH_NONE) {
		struct fsck_latch *l = &ctx->latches[pr->latch];

		if (!l->open) {
			l->open = true;
			l->nr = 0;
			l->hdr = *p;
			l->hdr.key = NULL;
			l->hdr.num = l->hdr.num2 = l->hdr.bucket = PCTX_UNSET;
			if (!ctx->opts.json)
				print_msg(ctx, latch_header[pr->latch], p);
		}
		latch_add(l, p->bucket != PCTX_UNSET ? p->bucket : p->num);
		if (ctx->opts.verbose && !ctx->opts.json)
			print_msg(ctx, code, p);
		json_record(ctx, code, p, &(struct answer_rec){ .answer = "latched" });
		/* a latch whose header has a repair is corrected (or not) by its answer */
		if (pr->severity == SEV_ERROR &&
		    !(problem_table[latch_header[pr->latch]].flags & PF_REPAIR))
			ctx->flags |= FSCK_UNCORRECTED;
		return false;	/* answered by end_problem_latch() */
	}

	quiet = ctx->counts[code] > ctx->opts.max_msgs;
	if (!ctx->opts.json && !quiet)
		print_msg(ctx, code, p);
	if (!ctx->opts.json && ctx->counts[code] == ctx->opts.max_msgs + 1)
		fprintf(ctx->out, "%s: further messages of this kind are suppressed\n", pr->name);

	if (pr->flags & PF_MSG_ONLY || pr->prompt == PROMPT_NONE) {
		/* asked to repair: say why this one is not */
		if (!ctx->opts.json && !quiet && ctx->opts.mode != FSCK_MODE_NO &&
		    problem_nofix(code))
			fprintf(ctx->out, "%s: no safe repair: %s\n", pr->name, problem_nofix(code));
		/* -p stops on any error it may not fix, asked about or not (e2fsck) */
		if (pr->severity == SEV_ERROR && ctx->opts.mode == FSCK_MODE_PREEN)
			apply_answer(ctx, code, p, ANSWER_HALT, quiet, &r);
		if (pr->severity == SEV_ERROR)
			ctx->flags |= FSCK_UNCORRECTED;
	} else {
		a = decide(ctx, pr, quiet);
		ret = apply_answer(ctx, code, p, a, quiet, &r);
	}
	json_record(ctx, code, p, &r);
	if (ret && (pr->flags & PF_REBUILD))
		defer_rebuild(ctx, code, p);
	if (pr->flags & PF_FATAL)
		ctx->abort = true;
	return ret;
}

bool end_problem_latch(struct fsck_ctx *ctx, enum problem_latch latch)
{
	struct fsck_latch *l;
	const struct problem_def *pr;
	struct answer_rec r = { 0 };
	bool ret = false;

	if ((unsigned)latch >= LATCH_NR || latch == LATCH_NONE || !ctx->latches[latch].open)
		return false;
	l = &ctx->latches[latch];
	if (fsck_check_interrupt(ctx) || (ctx->flags & (FSCK_PREEN_HALT | FSCK_USER_ABORT))) {
		l->open = false;
		return false;
	}
	pr = &problem_table[latch_header[latch]];
	if (!ctx->opts.json) {
		struct printbuf list = PRINTBUF;

		for (size_t i = 0; i < l->nr; i++) {
			if (l->ranges[i][0] == l->ranges[i][1])
				prt_printf(&list, " %llu", (unsigned long long)l->ranges[i][0]);
			else
				prt_printf(&list, " (%llu--%llu)",
					   (unsigned long long)l->ranges[i][0],
					   (unsigned long long)l->ranges[i][1]);
		}
		fprintf(ctx->out, " %s\n", printbuf_str(&list));
		printbuf_exit(&list);
	}
	ctx->counts[latch_header[latch]]++;
	if (pr->severity == SEV_ERROR)
		ctx->flags |= FSCK_ERRORS_FOUND | (pr->flags & PF_REPAIR ? 0 : FSCK_UNCORRECTED);
	/* after a fatal problem nothing more is repaired: the answer is no */
	if (!(pr->flags & PF_MSG_ONLY) && pr->prompt != PROMPT_NONE)
		ret = apply_answer(ctx, latch_header[latch], &l->hdr,
				   ctx->abort ? ANSWER_NO : decide(ctx, pr, false), false, &r);
	else if (pr->severity == SEV_ERROR && ctx->opts.mode == FSCK_MODE_PREEN)
		/* -p stops on any error it may not fix (as fix_problem()) */
		apply_answer(ctx, latch_header[latch], &l->hdr, ANSWER_HALT, false, &r);
	json_record(ctx, latch_header[latch], &l->hdr, &r);
	if (pr->flags & PF_FATAL)
		ctx->abort = true;
	l->open = false;
	l->nr = 0;
	return ret;
}

/* ---- interrupts ----------------------------------------------------- */

bool fsck_check_interrupt(struct fsck_ctx *ctx)
{
	if (ctx->flags & FSCK_INTERRUPTED)
		return true;
	if (!bt_stop_requested(ctx->stop))
		return false;
	ctx->flags |= FSCK_INTERRUPTED;
	ctx->abort = true;
	fsck_log(ctx, "interrupted: checking stopped, nothing more repaired");
	if (!ctx->opts.json)
		fprintf(ctx->out, "%s: interrupted: checking stopped, nothing more is repaired%s\n",
			ctx->path ? ctx->path : "?",
			(ctx->flags & FSCK_PROBLEMS_FIXED) && !fsck_dry_run(ctx) ?
			" (the repairs already committed stay)" : "");
	return true;
}

/* ---- repairs made by a later pass ----------------------------------- */

void fsck_fix_line(struct fsck_ctx *ctx, enum problem code, const char *line)
{
	const char *name = (unsigned)code < PR_NR ? problem_table[code].name : "?";
	bool dry = fsck_dry_run(ctx);

	if (!ctx->opts.json)
		fprintf(ctx->out, "%s: %s%s\n", name, dry ? "would: " : "", line);
	fsck_log(ctx, "%s: %s", name, line);
}

void fsck_log(struct fsck_ctx *ctx, const char *fmt, ...)
{
	va_list args;

	/* the log records changes: -n makes none */
	if (!ctx->log || fsck_dry_run(ctx))
		return;
	fprintf(ctx->log, "%s: ", ctx->path ? ctx->path : "?");
	va_start(args, fmt);
	vfprintf(ctx->log, fmt, args);
	va_end(args);
	fputc('\n', ctx->log);
	fflush(ctx->log);
}

void fsck_defer_fix(struct fsck_ctx *ctx, enum problem code, const char *what)
{
	struct fsck_deferred *d = realloc(ctx->plan.deferred,
					  (ctx->plan.nr_deferred + 1) * sizeof(*d));
	char *w = strdup(what);

	if (!d || !w) {
		free(w);
		if (d)
			ctx->plan.deferred = d;
		ctx->flags |= FSCK_UNCORRECTED;	/* the repair is not made */
		return;
	}
	ctx->plan.deferred = d;
	d[ctx->plan.nr_deferred].code = code;
	d[ctx->plan.nr_deferred].what = w;
	/* --json: the problem just recorded learns whether its repair was made */
	d[ctx->plan.nr_deferred].json = NULL;
	if (ctx->json_problems && json_array_size(ctx->json_problems))
		d[ctx->plan.nr_deferred].json = json_incref(json_array_get(ctx->json_problems,
					json_array_size(ctx->json_problems) - 1));
	ctx->plan.nr_deferred++;
}

/*
 * Set "repaired" and "repair" of the deferred problems' JSON objects, and
 * the state of their "action": "done" (-n: "would"), else "not made" and
 * why. -n repairs nothing: no "repaired".
 */
static void deferred_json(struct fsck_ctx *ctx, size_t mark, bool made, const char *how)
{
	bool dry = fsck_dry_run(ctx);

	for (size_t i = mark; i < ctx->plan.nr_deferred; i++) {
		json_t *o = ctx->plan.deferred[i].json, *a;

		if (!o)
			continue;
		if (!dry)
			json_object_set_new(o, "repaired", json_boolean(made));
		if (how)
			json_object_set_new(o, "repair", json_string(how));
		a = json_object_get(o, "action");
		if (!a)
			continue;
		json_object_set_new(a, "state", json_string(made ? dry ? "would" : "done" :
							     "not made"));
		if (!made && how)
			json_object_set_new(a, "why", json_string(how));
	}
}

/* Drop the deferred entries from mark on (all of them when mark is 0). */
static void deferred_forget(struct fsck_ctx *ctx, size_t mark)
{
	for (size_t i = mark; i < ctx->plan.nr_deferred; i++) {
		free(ctx->plan.deferred[i].what);
		json_decref(ctx->plan.deferred[i].json);
	}
	ctx->plan.nr_deferred = mark;
	if (!mark) {
		free(ctx->plan.deferred);
		ctx->plan.deferred = NULL;
	}
}

void fsck_deferred_done_from(struct fsck_ctx *ctx, size_t mark, const char *how)
{
	if (mark > ctx->plan.nr_deferred)
		mark = ctx->plan.nr_deferred;
	for (size_t i = mark; i < ctx->plan.nr_deferred; i++) {
		struct printbuf line = PRINTBUF;

		prt_printf(&line, "%s -> %s", ctx->plan.deferred[i].what, how);
		fsck_fix_line(ctx, ctx->plan.deferred[i].code, printbuf_str(&line));
		printbuf_exit(&line);
	}
	if (ctx->plan.nr_deferred > mark)
		ctx->flags |= fsck_dry_run(ctx) ? FSCK_WOULD_FIX : FSCK_PROBLEMS_FIXED;
	deferred_json(ctx, mark, true, how);
	deferred_forget(ctx, mark);
}

void fsck_deferred_failed_from(struct fsck_ctx *ctx, size_t mark, const char *why)
{
	if (mark >= ctx->plan.nr_deferred)
		return;
	if (!ctx->opts.json && why)
		fprintf(ctx->out, fsck_dry_run(ctx) ?
			"%s: %zu repairs would not be made: %s\n" :
			"%s: %zu accepted repairs not made: %s\n",
			ctx->path ? ctx->path : "?", ctx->plan.nr_deferred - mark, why);
	ctx->flags |= FSCK_UNCORRECTED;
	deferred_json(ctx, mark, false, why);
	deferred_forget(ctx, mark);
}

void fsck_deferred_done(struct fsck_ctx *ctx, const char *how)
{
	fsck_deferred_done_from(ctx, 0, how);
}

void fsck_deferred_failed(struct fsck_ctx *ctx, const char *why)
{
	fsck_deferred_failed_from(ctx, 0, why);
}

bool fsck_confirm(struct fsck_ctx *ctx, const char *question)
{
	struct answer_rec r = { 0 };
	enum answer a;

	if (fsck_check_interrupt(ctx) || (ctx->flags & (FSCK_PREEN_HALT | FSCK_USER_ABORT)))
		return false;
	if (ctx->opts.mode == FSCK_MODE_NO || ctx->opts.mode == FSCK_MODE_YES ||
	    (ctx->flags & FSCK_YES_TO_ALL))
		return true;
	/* -p makes only the repairs that lose nothing */
	a = ctx->opts.mode == FSCK_MODE_PREEN ? ANSWER_HALT : ask_tty(ctx, question);
	if (a == ANSWER_YES)
		return true;
	if (a == ANSWER_HALT || a == ANSWER_QUIT)
		stop_checking(ctx, a, &r);
	return false;
}

/* ---- man page table ------------------------------------------------- */

/* troff-escape s: backslashes, and a leading dot or quote. */
static void prt_troff(struct printbuf *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		prt_str(out, "\\&");
	for (; *s; s++) {
		if (*s == '\\')
			prt_str(out, "\\e");
		else if (*s == '-')
			prt_str(out, "\\-");
		else
			prt_char(out, *s);
	}
}

void problem_table_to_troff(struct printbuf *out)
{
	prt_str(out, ".\\\" generated by 'bcache-tool fsck --list-problems': do not edit\n");
	for (unsigned i = 0; i < PR_NR; i++) {
		const struct problem_def *pr = &problem_table[i];

		prt_str(out, ".TP\n.B ");
		prt_troff(out, pr->name);
		prt_printf(out, "\n0x%06x, %s, ", pr->id, severity_name[pr->severity]);
		if (pr->flags & PF_FATAL)
			prt_str(out, "fatal (checking stops)");
		else if (pr->latch != LATCH_NONE)
			prt_troff(out, problem_table[latch_header[pr->latch]].name);
		else if (pr->flags & PF_MSG_ONLY || pr->prompt == PROMPT_NONE)
			prt_str(out, "reported");
		else
			prt_printf(out, "\"%s\"", prompt_question[pr->prompt]);
		if (pr->latch != LATCH_NONE)
			prt_str(out, " lists them all");
		if (pr->flags & PF_REBUILD)
			prt_str(out, ", repaired by rebuilding the btree (replay pass)");
		else if (pr->prompt == PROMPT_REBUILD_JOURNAL)
			prt_str(out, ", repaired by rebuilding the journal (journal pass)");
		else if ((pr->flags & PF_REPAIR) && !(pr->id >> 16))
			prt_str(out, ", repaired by rewriting the superblock");
		else if ((pr->flags & (PF_REPAIR | PF_NOT_A_FIX | PF_LATER)) == (PF_REPAIR | PF_LATER))
			prt_str(out, ", repaired by the commit of the replay pass");
		else if ((pr->flags & (PF_REPAIR | PF_NOT_A_FIX)) == PF_REPAIR)
			prt_str(out, ", repaired");
		else if (problem_nofix(i)) {
			prt_str(out, ", no repair: ");
			prt_troff(out, problem_nofix(i));
		}
		if (pr->flags & PF_PREEN_OK)
			prt_str(out, ", fixed by \\-p");
		prt_str(out, ".\n.br\n");
		prt_troff(out, pr->msg);
		prt_char(out, '\n');
	}
}
