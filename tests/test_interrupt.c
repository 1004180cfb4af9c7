/* test_interrupt.c --- SIGINT at random points of fsck -y and writeback on a
 * generated cache (many runs), and inside a commit: exit 32 (33 after a
 * committed repair), never a death by the signal, never a state between the
 * old and the new one: a following fsck -n is clean and the bcache device
 * serves gen-cache's content (libcore/stop.h, cmd/signals.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/clock.h"
#include "helpers.h"

struct gen {
	char dir[256], cache0[300], bdev0[300], rep[300], sha[65];
	char cache[300], bdev[300], out[300], content[300];
};

/* A cache with journaled keys (-y replays them) and one backing device. */
static void gen_make(struct gen *g)
{
	char *err = NULL, *text = NULL, *p;

	snprintf(g->dir, sizeof(g->dir), "%s", t_tmpfile(0));
	cr_assert_eq(t_sh(NULL, NULL, "rm -f '%s' && mkdir '%s'", g->dir, g->dir), 0);
	snprintf(g->cache0, sizeof(g->cache0), "%s/c0.img", g->dir);
	snprintf(g->bdev0, sizeof(g->bdev0), "%s/b0.img", g->dir);
	snprintf(g->rep, sizeof(g->rep), "%s/report", g->dir);
	snprintf(g->cache, sizeof(g->cache), "%s/c.img", g->dir);
	snprintf(g->bdev, sizeof(g->bdev), "%s/b.img", g->dir);
	snprintf(g->out, sizeof(g->out), "%s/out", g->dir);
	snprintf(g->content, sizeof(g->content), "%s/content", g->dir);
	cr_assert_eq(t_sh(NULL, &err, "'%s/tests/tools/gen-cache' -q -n 30000 --flash 0 "
			  "--journal-keys 400 --leaf-keys 100 --fanout 8 -o '%s' '%s' '%s'",
			  getenv("BT_BUILD"), g->rep, g->cache0, g->bdev0), 0, "%s", err);
	free(err);
	cr_assert_eq(t_sh(&text, NULL, "cat '%s'", g->rep), 0);
	p = strstr(text, "\nslot 0 ");
	cr_assert(p, "%s", text);
	p = strstr(p, " sha256 ");
	cr_assert(p && sscanf(p, " sha256 %64s", g->sha) == 1);
	free(text);
}

/*
 * Run "bcache-tool ARGS" on fresh copies of the devices, send SIGINT after
 * delay seconds (none when delay < 0: a plain run), and return its exit
 * status (-1: killed by a signal); its output is in g->out.
 */
static int run_interrupted(struct gen *g, double delay, unsigned commit_delay_ms,
			   const char *args)
{
	char *out = NULL;
	int rc, st;

	rc = t_sh(&out, NULL, "cp '%s' '%s' && cp '%s' '%s' && "
		  "{ BT_TEST_COMMIT_DELAY_MS=%u \"$BT_BIN\" %s >'%s' 2>&1 & p=$!; "
		  "if [ %d = 1 ]; then sleep %.3f; kill -INT $p; fi; wait $p; echo $?; }",
		  g->cache0, g->cache, g->bdev0, g->bdev, commit_delay_ms, args, g->out,
		  delay >= 0, delay < 0 ? 0 : delay);
	cr_assert_eq(rc, 0);
	cr_assert(sscanf(out, "%d", &st) == 1, "%s", out);
	free(out);
	return st >= 128 ? -1 : st;
}

/* The old or the new state: fsck -n clean, the backing device's content right. */
static void assert_consistent(struct gen *g, const char *what)
{
	char *out = NULL, *err = NULL, got[65];
	int rc;

	rc = t_run(&out, &err, "fsck -n '%s'", g->cache);
	cr_assert_eq(rc, 0, "%s: fsck -n rc %d: %s %s", what, rc, out, err);
	free(out);
	free(err);
	rc = t_run(NULL, &err, "extract '%s' '%s' -o '%s' --force", g->cache, g->bdev,
		   g->content);
	cr_assert_eq(rc, 0, "%s: extract rc %d: %s", what, rc, err);
	free(err);
	t_sha256_file(g->content, got);
	cr_assert_str_eq(got, g->sha, "%s: content served", what);
	t_sh(NULL, NULL, "rm -f '%s'", g->content);
}

static bool output_has(struct gen *g, const char *s)
{
	char *text = t_read_file(g->out, NULL);
	bool has = strstr(text, s) != NULL;

	free(text);
	return has;
}

/*
 * SIGINT at spread points of a run: the run ends 32/33 (or 0/1 when it had
 * finished first), and leaves a consistent device every time.
 */
static void random_interrupts(const char *args_fmt, int done_lo, int done_hi,
			      int other_bits, unsigned commit_delay_ms)
{
	struct gen g;
	char args[1024];
	unsigned nr_cancelled = 0;
	double t0, whole;

	gen_make(&g);
	snprintf(args, sizeof(args), args_fmt, g.cache, g.bdev);
	t0 = bt_now_seconds();
	cr_assert_geq(run_interrupted(&g, -1, commit_delay_ms, args), done_lo);
	whole = bt_now_seconds() - t0;
	assert_consistent(&g, "uninterrupted run");
	srand(20261202);
	for (int i = 0; i < 12; i++) {
		double at = whole * (0.05 + 0.9 * (double)rand() / RAND_MAX);
		char what[64];
		int rc = run_interrupted(&g, at, commit_delay_ms, args);

		snprintf(what, sizeof(what), "run %d, SIGINT at %.3f s of %.3f", i, at, whole);
		cr_assert_neq(rc, -1, "%s: killed by the signal: %s", what,
			      t_read_file(g.out, NULL));
		bool cancelled = (rc & 32) && !(rc & ~(32 | other_bits));

		cr_assert(cancelled || (rc >= done_lo && rc <= done_hi),
			  "%s: exit %d: %s", what, rc, t_read_file(g.out, NULL));
		if (cancelled) {
			nr_cancelled++;
			cr_assert(output_has(&g, "interrupt"), "%s: no word of it", what);
		}
		assert_consistent(&g, what);
	}
	cr_assert_gt(nr_cancelled, 0, "no run was interrupted");
	t_sh(NULL, NULL, "rm -rf '%s'", g.dir);
}

Test(interrupt, fsck_y_at_random_points, .timeout = 600)
{
	/* 32, or 33 after a committed repair */
	random_interrupts("fsck -y '%s'", 0, 1, 1, 200);
}

Test(interrupt, writeback_at_random_points, .timeout = 600)
{
	/* 32, or 34 with "stays DIRTY" (the data is still dirty in the cache) */
	random_interrupts("writeback --no-progress '%s' '%s'", 0, 0, 2, 200);
}

/*
 * A SIGINT while the commit is between its prio chain and its jset (a 2 s
 * test pause there): held, the commit completes, then fsck stops: exit 33,
 * the journal replayed, and the log says both.
 */
Test(interrupt, fsck_y_inside_the_commit, .timeout = 300)
{
	struct gen g;
	char *out = NULL, log[320], *text;
	int rc, st;

	gen_make(&g);
	snprintf(log, sizeof(log), "%s/log", g.dir);
	rc = t_sh(&out, NULL, "cp '%s' '%s' && { BT_TEST_COMMIT_DELAY_MS=2000 \"$BT_BIN\" "
		  "fsck -y --log '%s' '%s' >'%s' 2>&1 & p=$!; "
		  "for i in $(seq 600); do grep -q 'Replay journal? yes' '%s' && break; "
		  "sleep 0.05; done; sleep 0.3; kill -INT $p; wait $p; echo $?; }",
		  g.cache0, g.cache, log, g.cache, g.out, g.out);
	cr_assert_eq(rc, 0);
	cr_assert(sscanf(out, "%d", &st) == 1);
	text = t_read_file(g.out, NULL);
	cr_assert_eq(st, 33, "exit %d: %s", st, text);
	cr_assert(strstr(text, "journal replayed:"), "%s", text);
	cr_assert(strstr(text, "interrupted: checking stopped"), "%s", text);
	free(text);
	text = t_read_file(log, NULL);
	cr_assert(strstr(text, "journal replayed:"), "log: %s", text);
	cr_assert(strstr(text, "interrupted"), "log: %s", text);
	free(text);
	free(out);
	t_sh(NULL, NULL, "cp '%s' '%s'", g.bdev0, g.bdev);
	assert_consistent(&g, "after the held commit");
	/* the replay landed: nothing is left in the journal */
	cr_assert_neq(t_run(&out, NULL, "fsck -n '%s'", g.cache), -1);
	cr_assert_null(strstr(out, "JOURNAL_REPLAY_NEEDED"), "%s", out);
	free(out);
	t_sh(NULL, NULL, "rm -rf '%s'", g.dir);
}

/* 'q' at fsck's question: exit 32, nothing written. */
Test(interrupt, fsck_quit_answer_exits_32, .timeout = 120)
{
	struct gen g;
	char before[65], after[65], *out = NULL;
	int rc, st;

	gen_make(&g);
	t_sh(NULL, NULL, "cp '%s' '%s'", g.cache0, g.cache);
	t_sha256_file(g.cache, before);
	/* script(1) gives fsck the terminal its questions need */
	rc = t_sh(&out, NULL, "command -v script >/dev/null || { echo skip; exit 0; }; "
		  "printf 'q\\n' | script -qec \"\\\"$BT_BIN\\\" fsck '%s'\" /dev/null >'%s' 2>&1; "
		  "echo $?", g.cache, g.out);
	cr_assert_eq(rc, 0);
	if (!strncmp(out, "skip", 4)) {
		cr_log_warn("script(1) missing: the 'q' answer is not tried");
		free(out);
		return;
	}
	cr_assert(sscanf(out, "%d", &st) == 1);
	t_sha256_file(g.cache, after);
	cr_assert_str_eq(before, after, "q changed the device");
	cr_assert_eq(st, 32, "exit %d: %s", st, t_read_file(g.out, NULL));
	free(out);
	t_sh(NULL, NULL, "rm -rf '%s'", g.dir);
}
