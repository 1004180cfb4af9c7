/* test_fsck_problems.c --- the problem registry and fix_problem()'s answer policy. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsck/fsck.h"
#include "libcore/base/errcode.h"
#include "libcore/base/ondisk.h"
#include "helpers.h"

/* e2fsck verify_problem_table(): sorted, unique, complete, consistent. */
Test(fsck_problems, table_sorted_and_complete)
{
	for (unsigned i = 0; i < PR_NR; i++) {
		const struct problem_def *pr = &problem_table[i];

		cr_assert(pr->name && pr->msg && *pr->msg, "problem %u has no name or message", i);
		if (i)
			cr_assert_gt(pr->id, problem_table[i - 1].id,
				     "%s (0x%06x) is not after %s: keep the table sorted by id",
				     pr->name, pr->id, problem_table[i - 1].name);
		/* 0xPPNNNN: the pass part names a real pass, the number is not 0 */
		cr_assert_lt(pr->id >> 16, FSCK_PASS_NR, "%s: bad pass in id", pr->name);
		cr_assert(pr->id & 0xffff, "%s: number 0 in id", pr->name);
		cr_assert_leq(pr->severity, SEV_ERROR);
		cr_assert_lt(pr->prompt, PROMPT_NR);
		cr_assert_lt(pr->latch, LATCH_NR);
		/* every problem either asks, or is a report, a fatal or a latched one */
		if (pr->prompt == PROMPT_NONE)
			cr_assert(pr->flags & (PF_MSG_ONLY | PF_FATAL) || pr->latch != LATCH_NONE,
				  "%s has no question but is neither MSG_ONLY, FATAL nor latched",
				  pr->name);
		if (pr->flags & PF_MSG_ONLY)
			cr_assert_eq(pr->prompt, PROMPT_NONE, "%s: MSG_ONLY with a question", pr->name);
		/* warnings and info only report, or offer an action that is not a repair */
		if (pr->severity != SEV_ERROR)
			cr_assert(pr->flags & (PF_MSG_ONLY | PF_NOT_A_FIX),
				  "%s: warnings and info only report", pr->name);
		/* a repair is asked for; a later repair is a repair */
		if (pr->flags & PF_REPAIR)
			cr_assert(pr->prompt != PROMPT_NONE && !(pr->flags & PF_MSG_ONLY),
				  "%s: a repair without a question", pr->name);
		if (pr->flags & PF_LATER)
			cr_assert(pr->flags & PF_REPAIR, "%s: LATER without REPAIR", pr->name);
		/* -p answers yes only where a yes repairs something */
		if (pr->severity == SEV_ERROR && (pr->flags & PF_PREEN_OK))
			cr_assert(pr->flags & PF_REPAIR, "%s: PREEN_OK error without a repair",
				  pr->name);
		/* names are stable identifiers: upper case, digits, underscores */
		for (const char *s = pr->name; *s; s++)
			cr_assert((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_',
				  "%s: bad character in name", pr->name);
		/* every %-field of the template is one problem_msg_to_text() knows */
		for (const char *s = pr->msg; *s; s++)
			if (*s == '%') {
				s++;
				cr_assert(*s && strchr("dsbSolkjuegnmxEt%", *s),
					  "%s: unknown field %%%c", pr->name, *s);
			}
	}
	for (unsigned l = 1; l < LATCH_NR; l++) {
		cr_assert_lt(latch_header[l], PR_NR, "latch %u has no header problem", l);
		cr_assert_eq(problem_table[latch_header[l]].latch, LATCH_NONE,
			     "a latch header is not itself latched");
	}
	for (unsigned p = 1; p < PROMPT_NR; p++)
		cr_assert(*prompt_question[p] && *prompt_past[p] && *prompt_cond[p]);
}

Test(fsck_problems, superblock_codes_have_the_stable_names)
{
	/* codes scripts and expect files rely on */
	cr_assert_str_eq(problem_table[PR_SB_BAD_CSUM].name, "SB_BAD_CSUM");
	cr_assert_eq(problem_table[PR_SB_BAD_CSUM].id, 0x000003);
	cr_assert_str_eq(problem_table[PR_SB_NO_CACHE_SET].name, "SB_NO_CACHE_SET");
}

/*
 * Every rule of bt_sb_validate() has its own code and every code its own
 * problem: a code maps one to one to a problem of the superblock pass.
 */
Test(fsck_problems, superblock_rules_map_one_to_one)
{
	bool seen[PR_NR] = { false };

	for (int err = BT_ERR_SB_BAD_OFFSET; err <= BT_ERR_SB_BAD_FIRST_BUCKET; err++) {
		enum problem code = problem_for_err(FSCK_PASS_superblock, -err);

		if (err == BT_ERR_SB_BAD_BUCKET_SIZE) {	/* the geometry's, not a rule */
			cr_expect_eq(code, PR_NR, "SB_BAD_BUCKET_SIZE is no problem");
			continue;
		}
		cr_assert_lt(code, PR_NR, "%s is no problem of the superblock pass", bt_err_str(-err));
		cr_expect_not(seen[code], "%s: a second code for %s", bt_err_str(-err),
			      problem_table[code].name);
		cr_expect_eq(problem_table[code].id >> 16, 0, "%s: not a superblock problem",
			     problem_table[code].name);
		seen[code] = true;
	}
	/* a failure that is not a rule is an operational error */
	cr_expect_eq(problem_for_err(FSCK_PASS_superblock, -ENOMEM), PR_NR);
	cr_expect_eq(problem_for_err(FSCK_PASS_btree, -EIO), PR_BTREE_NODE_READ_ERROR);
	cr_expect_eq(problem_for_err(FSCK_PASS_prios, -EIO), PR_PRIO_READ_ERROR);
}

Test(fsck_problems, man_page_in_sync)
{
	char *man = t_read_text("man/bcache-tool-fsck.8", NULL), *out = NULL;
	const char *begin, *end;

	cr_assert_eq(t_run(&out, NULL, "fsck --list-problems"), 0);
	begin = strstr(man, ".\\\" BEGIN PROBLEM TABLE\n");
	end = strstr(man, ".\\\" END PROBLEM TABLE\n");
	cr_assert(begin && end && begin < end, "man page lacks the problem table markers");
	begin += strlen(".\\\" BEGIN PROBLEM TABLE\n");
	cr_assert(strlen(out) == (size_t)(end - begin) && !memcmp(out, begin, strlen(out)),
		  "man/bcache-tool-fsck.8 is out of date: run scripts/update-fsck-man");
	free(man);
	free(out);
}

/* ---- fix_problem() on a ctx with its output captured ------------------ */

struct captured {
	struct fsck_ctx	ctx;
	char		*buf;
	size_t		len;
};

static void cap_init(struct captured *c, enum fsck_mode mode)
{
	fsck_ctx_init(&c->ctx);
	c->ctx.opts.mode = mode;
	c->ctx.path = "img";
	c->ctx.out = open_memstream(&c->buf, &c->len);
	c->ctx.tty_in = NULL;
	cr_assert(c->ctx.out);
}

static const char *cap_text(struct captured *c)
{
	fflush(c->ctx.out);
	return c->buf;
}

static void cap_exit(struct captured *c)
{
	fclose(c->ctx.out);
	free(c->buf);
	fsck_ctx_exit(&c->ctx);
}

static void csum_pctx(struct problem_ctx *p)
{
	clear_problem_context(p);
	p->dev = "img";
	p->byte_offset = 4096;
	p->csum_expected = 0x1122334455667788ULL;
	p->csum_got = 5;
}

/*
 * -n answers no and says what a yes would do; the caller still makes the
 * repair, on the shadow fsck_run() puts over the device, so that -n goes on
 * as -y does. The error stays on the device: exit 4.
 */
Test(fsck_problems, no_mode_answers_no_and_says_what_yes_would_do)
{
	struct captured c;
	struct problem_ctx p;

	cap_init(&c, FSCK_MODE_NO);
	csum_pctx(&p);
	cr_assert(fix_problem(&c.ctx, PR_SB_BAD_CSUM, &p));
	cr_assert_str_eq(cap_text(&c),
		"SB_BAD_CSUM: bad checksum in superblock of 'img' (byte 4096): "
		"stored 0000000000000005, computed 1122334455667788\n"
		"Recompute checksum? no: would recompute the checksum of the superblock\n");
	cr_assert_eq(c.ctx.counts[PR_SB_BAD_CSUM], 1);
	fsck_defer_fix(&c.ctx, PR_SB_BAD_CSUM, "csum 0x5");
	fsck_deferred_done(&c.ctx, "csum 0x1122334455667788");
	cr_assert(strstr(cap_text(&c), "SB_BAD_CSUM: would: csum 0x5 -> csum 0x1122334455667788\n"),
		  "%s", cap_text(&c));
	cr_assert_not(c.ctx.flags & FSCK_PROBLEMS_FIXED, "-n fixes nothing");
	cr_assert(c.ctx.flags & FSCK_WOULD_FIX);
	cr_assert_eq(fsck_exit_status(&c.ctx), 4);
	cr_assert_not(c.ctx.abort);
	cap_exit(&c);
}

Test(fsck_problems, yes_mode_accepts_a_repair_and_explains_a_missing_one)
{
	struct captured c;
	struct problem_ctx p;

	cap_init(&c, FSCK_MODE_YES);
	csum_pctx(&p);
	/* PF_LATER: the caller makes the repair, counted when it is made */
	cr_assert(fix_problem(&c.ctx, PR_SB_BAD_CSUM, &p));
	cr_assert(strstr(cap_text(&c), "Recompute checksum? yes"));
	cr_assert_eq(fsck_exit_status(&c.ctx), 0, "not fixed until the caller says so");
	fix_problem(&c.ctx, PR_SB_BAD_VERSION, &p);
	cr_assert(strstr(cap_text(&c), "SB_BAD_VERSION: no safe repair: the version decides"));
	cr_assert_eq(fsck_exit_status(&c.ctx), 4);
	cap_exit(&c);
}

Test(fsck_problems, every_error_has_a_repair_or_a_reason)
{
	for (unsigned i = 0; i < PR_NR; i++) {
		const struct problem_def *pr = &problem_table[i];

		if (pr->severity != SEV_ERROR)
			cr_expect_null(problem_nofix(i), "%s: a reason but no error", pr->name);
		else if (pr->flags & PF_REPAIR)
			cr_expect_null(problem_nofix(i), "%s: a repair and a reason", pr->name);
		else
			cr_expect(problem_nofix(i), "%s: an error without repair or reason", pr->name);
	}
}

/* A question is asked only where a yes is acted on (fix_problem()'s ANSWER_YES). */
Test(fsck_problems, every_prompt_has_a_repair)
{
	for (unsigned i = 0; i < PR_NR; i++) {
		const struct problem_def *pr = &problem_table[i];

		if (pr->prompt != PROMPT_NONE)
			cr_expect(pr->flags & PF_REPAIR, "%s asks \"%s\" but has no repair",
				  pr->name, prompt_question[pr->prompt]);
	}
}

Test(fsck_problems, preen_halts_on_a_problem_not_preen_ok)
{
	struct captured c;
	struct problem_ctx p;

	cr_assert_not(problem_table[PR_SB_BAD_CSUM].flags & PF_PREEN_OK);
	cap_init(&c, FSCK_MODE_PREEN);
	csum_pctx(&p);
	cr_assert_not(fix_problem(&c.ctx, PR_SB_BAD_CSUM, &p));
	cr_assert(strstr(cap_text(&c), "img: UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY."));
	cr_assert(c.ctx.abort);
	cr_assert(c.ctx.flags & FSCK_PREEN_HALT);
	cr_assert_eq(fsck_exit_status(&c.ctx), 4);
	/* nothing more is said after the halt */
	size_t len = strlen(cap_text(&c));
	fix_problem(&c.ctx, PR_SB_BAD_CSUM, &p);
	cr_assert_eq(strlen(cap_text(&c)), len);
	cap_exit(&c);
}

Test(fsck_problems, ask_mode_needs_a_terminal)
{
	struct captured c;
	struct printbuf err = PRINTBUF;

	cap_init(&c, FSCK_MODE_ASK);
	cr_assert_eq(fsck_answer_mode_ok(&c.ctx, &err), -ENOTTY);
	cr_assert(strstr(printbuf_str(&err), "need a terminal"));
	c.ctx.opts.mode = FSCK_MODE_NO;
	cr_assert_eq(fsck_answer_mode_ok(&c.ctx, &err), 0);
	printbuf_exit(&err);
	cap_exit(&c);
}

Test(fsck_problems, warnings_and_info_do_not_change_the_exit_status)
{
	struct captured c;
	struct problem_ctx p;

	cap_init(&c, FSCK_MODE_NO);
	clear_problem_context(&p);
	p.dev = "img";
	p.num = 128;
	fix_problem(&c.ctx, PR_SB_FEW_BUCKETS, &p);
	fix_problem(&c.ctx, PR_SB_NO_CACHE_SET, &p);
	cr_assert_eq(fsck_exit_status(&c.ctx), 0);
	cr_assert(strstr(cap_text(&c), "SB_FEW_BUCKETS: 'img' has 128 buckets"));
	cap_exit(&c);
}

Test(fsck_problems, floods_are_suppressed_after_max_msgs)
{
	struct captured c;
	struct problem_ctx p;
	const char *s;
	unsigned n = 0;

	cap_init(&c, FSCK_MODE_NO);
	c.ctx.opts.max_msgs = 3;
	csum_pctx(&p);
	for (int i = 0; i < 7; i++)
		fix_problem(&c.ctx, PR_SB_BAD_CSUM, &p);
	for (s = cap_text(&c); (s = strstr(s, "SB_BAD_CSUM: bad checksum")); s++)
		n++;
	cr_assert_eq(n, 3);
	cr_assert(strstr(cap_text(&c), "SB_BAD_CSUM: further messages of this kind are suppressed\n"));
	cr_assert_eq(c.ctx.counts[PR_SB_BAD_CSUM], 7, "suppressed problems are still counted");
	cap_exit(&c);
}

Test(fsck_problems, latch_prints_one_header_and_a_range_list)
{
	static const unsigned idx[] = { 3, 4, 5, 8, 10, 11 };
	struct captured c;
	struct problem_ctx p;

	cap_init(&c, FSCK_MODE_NO);
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		clear_problem_context(&p);
		p.dev = "img";
		p.num = idx[i];
		p.num2 = 100 + idx[i];
		cr_assert_not(fix_problem(&c.ctx, PR_SB_JOURNAL_BUCKET_NOT_SEQUENTIAL, &p));
	}
	cr_assert_not(c.ctx.abort, "the latch is answered at its end");
	end_problem_latch(&c.ctx, LATCH_SB_JOURNAL);
	cr_assert_str_eq(cap_text(&c),
		"SB_JOURNAL_BUCKETS_LATCH: journal bucket list d[] in superblock of 'img' "
		"is not first_bucket, first_bucket + 1, ...; wrong entries:\n"
		"  (3--5) 8 (10--11)\n"
		"Rewrite? no: would rewrite the journal bucket list d[] of the superblock\n");
	cr_assert_eq(c.ctx.counts[PR_SB_JOURNAL_BUCKET_NOT_SEQUENTIAL], 6);
	cr_assert_eq(c.ctx.counts[PR_SB_JOURNAL_BUCKETS_LATCH], 1);
	cr_assert_not(c.ctx.abort, "the header has a repair: its pass stops on a no");
	cr_assert_eq(fsck_exit_status(&c.ctx), 4);
	/* closing again is a no-op */
	cr_assert_not(end_problem_latch(&c.ctx, LATCH_SB_JOURNAL));
	cap_exit(&c);
}

Test(fsck_problems, templates_expand_unset_fields_as_question_marks)
{
	struct printbuf out = PRINTBUF;
	struct problem_ctx p;

	clear_problem_context(&p);
	problem_msg_to_text(&out, PR_SB_BAD_CSUM, &p);
	cr_assert_str_eq(printbuf_str(&out),
			 "bad checksum in superblock of '?' (byte ?): stored ?, computed ?");
	printbuf_exit(&out);
}

Test(fsck_problems, key_in_kernel_notation)
{
	struct bkey_padded kp = { 0 };
	struct bkey *k = (struct bkey *)&kp;
	struct printbuf out = PRINTBUF;

	/* FORMAT.md 3.6: <inode>:<KEY_START> len <KEY_SIZE> -> [<dev>:<offset> gen <gen>] dirty */
	bkey_init_pos(k, 1, 24, 8);
	SET_KEY_PTRS(k, 1);
	SET_KEY_DIRTY(k, 1);
	SET_PTR(k, 0, 3, 0x5000, 0);
	fsck_bkey_to_text(&out, k);
	cr_assert_str_eq(printbuf_str(&out), "1:16 len 8 -> [0:20480 gen 3] dirty");
	printbuf_exit(&out);
}

/* e2fsck's exit status: the OR of 1 (fixed), 4 (left), 8 (operational), from the ctx flags. */
Test(fsck_problems, exit_status_is_an_or_of_bits)
{
	struct fsck_ctx ctx;

	fsck_ctx_init(&ctx);
	cr_assert_eq(fsck_exit_status(&ctx), 0);
	ctx.flags = FSCK_ERRORS_FOUND;		/* found, not yet decided: nothing left */
	cr_assert_eq(fsck_exit_status(&ctx), 0);
	ctx.flags = FSCK_PROBLEMS_FIXED;
	cr_assert_eq(fsck_exit_status(&ctx), 1);
	ctx.flags = FSCK_PROBLEMS_FIXED | FSCK_UNCORRECTED;
	cr_assert_eq(fsck_exit_status(&ctx), 5);
	ctx.flags = FSCK_UNCORRECTED | FSCK_OPERATIONAL;
	cr_assert_eq(fsck_exit_status(&ctx), 12);
	ctx.flags = FSCK_PREEN_HALT;
	cr_assert_eq(fsck_exit_status(&ctx), 4);
	ctx.flags = FSCK_USER_ABORT;
	cr_assert_eq(fsck_exit_status(&ctx), 32);
	ctx.flags = FSCK_INTERRUPTED | FSCK_PROBLEMS_FIXED;
	cr_assert_eq(fsck_exit_status(&ctx), 33);
	ctx.flags = FSCK_NO_CACHE_SET;
	cr_assert_eq(fsck_exit_status(&ctx), 0);
	fsck_ctx_exit(&ctx);
}

/* --json records every problem with its location, suppressed ones too. */
Test(fsck_problems, json_records_locations_and_suppressed_problems)
{
	struct captured c;
	struct problem_ctx p;
	struct bkey_padded kp = { 0 };
	struct bkey *k = (struct bkey *)&kp;
	json_t *o;

	cap_init(&c, FSCK_MODE_NO);
	c.ctx.opts.json = true;
	c.ctx.opts.max_msgs = 1;
	c.ctx.json_problems = json_array();
	bkey_init_pos(k, 2, 64, 8);
	clear_problem_context(&p);
	p.dev = "img";
	p.bucket = 21;
	p.sector = 2688;
	p.btree_level = 0;
	p.key = k;
	p.str = "detail";
	fix_problem(&c.ctx, PR_BTREE_NODE_BAD, &p);
	fix_problem(&c.ctx, PR_BTREE_NODE_BAD, &p);
	cr_assert_str_eq(cap_text(&c) ? cap_text(&c) : "", "", "JSON mode prints no text");
	cr_assert_eq(json_array_size(c.ctx.json_problems), 2);
	o = json_array_get(c.ctx.json_problems, 1);
	cr_assert_str_eq(json_string_value(json_object_get(o, "code")), "BTREE_NODE_BAD");
	cr_assert_str_eq(json_string_value(json_object_get(o, "id")), "0x04000f");
	cr_assert_eq(json_integer_value(json_object_get(o, "bucket")), 21);
	cr_assert_eq(json_integer_value(json_object_get(o, "sector")), 2688);
	cr_assert_eq(json_integer_value(json_object_get(o, "btree_level")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "key")), "2:56 len 8 -> []");
	cr_assert_null(json_object_get(o, "jset_seq"), "unset fields are left out");
	cap_exit(&c);
}

/* ---- repairs made by a later pass (PF_LATER) -------------------------- */

static void key_pctx(struct problem_ctx *p)
{
	clear_problem_context(p);
	p->dev = "img";
	p->jset_seq = 2;
	p->sector = 264;
	p->num = 0;
	p->str = "size larger than offset";
}

Test(fsck_problems, later_repair_counts_only_when_made)
{
	struct captured c;
	struct problem_ctx p;
	char *logbuf = NULL;
	size_t loglen = 0;

	cap_init(&c, FSCK_MODE_YES);
	c.ctx.log = open_memstream(&logbuf, &loglen);
	key_pctx(&p);
	cr_assert(fix_problem(&c.ctx, PR_JOURNAL_KEY_INVALID, &p), "a yes to a repair");
	cr_assert(strstr(cap_text(&c), "Drop key? yes\n"));
	/* accepted, not made yet: neither fixed nor left */
	cr_assert_eq(fsck_exit_status(&c.ctx), 0);
	fsck_defer_fix(&c.ctx, PR_JOURNAL_KEY_INVALID, "jset 2 at sector 264 of 'img', key 0");
	cr_assert_eq(c.ctx.plan.nr_deferred, 1);
	fsck_deferred_done(&c.ctx, "journal restarted by jset 6 (last_seq 6)");
	cr_assert_eq(c.ctx.plan.nr_deferred, 0);
	cr_assert(strstr(cap_text(&c), "JOURNAL_KEY_INVALID: jset 2 at sector 264 of 'img', key 0"
			 " -> journal restarted by jset 6 (last_seq 6)\n"));
	fclose(c.ctx.log);
	c.ctx.log = NULL;
	cr_assert_str_eq(logbuf, "img: JOURNAL_KEY_INVALID: jset 2 at sector 264 of 'img', key 0"
			 " -> journal restarted by jset 6 (last_seq 6)\n");
	cr_assert_eq(fsck_exit_status(&c.ctx), 1);
	free(logbuf);
	cap_exit(&c);
}

Test(fsck_problems, later_repair_not_made_is_uncorrected)
{
	struct captured c;
	struct problem_ctx p;

	cap_init(&c, FSCK_MODE_YES);
	key_pctx(&p);
	cr_assert(fix_problem(&c.ctx, PR_JOURNAL_KEY_INVALID, &p));
	fsck_defer_fix(&c.ctx, PR_JOURNAL_KEY_INVALID, "key 0");
	fsck_deferred_failed(&c.ctx, "other errors remain");
	cr_assert(strstr(cap_text(&c), "img: 1 accepted repairs not made: other errors remain\n"));
	cr_assert_eq(fsck_exit_status(&c.ctx), 4);
	cap_exit(&c);
}

Test(fsck_problems, preen_drops_invalid_journal_keys_but_not_jsets)
{
	struct captured c;
	struct problem_ctx p;

	/* an invalid key crashes the kernel's replay: dropping it loses nothing */
	cap_init(&c, FSCK_MODE_PREEN);
	key_pctx(&p);
	cr_assert(fix_problem(&c.ctx, PR_JOURNAL_KEY_INVALID, &p));
	cr_assert_not(c.ctx.flags & FSCK_PREEN_HALT);
	/* dropping a jset or replaying over missing seqs loses keys: a person decides */
	cr_assert_not(fix_problem(&c.ctx, PR_JSET_BAD_CSUM, &p));
	cr_assert(c.ctx.flags & FSCK_PREEN_HALT);
	cr_assert(strstr(cap_text(&c), "UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY"));
	cr_assert_eq(fsck_exit_status(&c.ctx), 4);
	cap_exit(&c);
	for (enum problem pr = PR_JSET_BAD_CSUM; pr <= PR_JSET_PAST_KERNEL_SCAN; pr++)
		if (pr != PR_JOURNAL_READ_ERROR)
			cr_assert_not(problem_table[pr].flags & PF_PREEN_OK, "%s",
				      problem_table[pr].name);
}

/* The last word on a repair that loses data: asked, or -y/-n go on, -p halts. */
Test(fsck_problems, confirm_a_repair_that_loses_data)
{
	static const struct { enum fsck_mode mode; const char *in; bool ok; unsigned flags; } t[] = {
		{ FSCK_MODE_YES,   NULL,  true,  0 },
		{ FSCK_MODE_NO,    NULL,  true,  0 },
		{ FSCK_MODE_PREEN, NULL,  false, FSCK_PREEN_HALT },
		{ FSCK_MODE_ASK,   "y\n", true,  0 },
		{ FSCK_MODE_ASK,   "n\n", false, 0 },
		{ FSCK_MODE_ASK,   "q\n", false, FSCK_USER_ABORT },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct captured c;

		cap_init(&c, t[i].mode);
		if (t[i].in)
			c.ctx.tty_in = fmemopen((void *)t[i].in, strlen(t[i].in), "r");
		cr_assert_eq(fsck_confirm(&c.ctx, "Rebuild the btree? 8 dirty sectors of slot 0 "
					  "would be lost (listed above)"), t[i].ok, "case %zu", i);
		cr_assert_eq(c.ctx.flags & (FSCK_PREEN_HALT | FSCK_USER_ABORT), t[i].flags,
			     "case %zu", i);
		if (t[i].in)
			cr_assert(strstr(cap_text(&c), "Rebuild the btree? 8 dirty sectors of slot 0 "
					 "would be lost (listed above) <y>/n/a/q "), "%s", cap_text(&c));
		if (t[i].mode == FSCK_MODE_PREEN)
			cr_assert(strstr(cap_text(&c), "UNEXPECTED INCONSISTENCY"), "%s", cap_text(&c));
		cr_assert_eq(fsck_exit_status(&c.ctx), t[i].flags == FSCK_USER_ABORT ? 32 :
			     t[i].flags ? 4 : 0, "case %zu", i);
		if (c.ctx.tty_in)
			fclose(c.ctx.tty_in);
		cap_exit(&c);
	}
}
