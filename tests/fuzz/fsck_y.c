/* fsck_y.c --- fuzz target: fsck -n predicts fsck -y, and repair convergence.
 *
 * Input: a compact sparse image (common/fuzz.h). fsck -n predicts, fsck -y
 * repairs it in memory, then fsck -n checks the result. Failures (abort):
 *  - the first -n run did not predict the -y run: other problems, other
 *    repairs (each problem's "action"), or other "lost", "past_end" or
 *    "garbage" lists;
 *  - the -n run reports a problem whose repair exists (PF_REPAIR in
 *    fsck/problems.h) although the -y run left nothing uncorrected (exit
 *    status without 4), or that the -y run never reported (a repair made
 *    a new fixable problem);
 *  - the -y run fixed everything (exit 0 or 1) but the -n run is not
 *    clean (exit status not 0).
 * A -y run that leaves problems it declares unfixable (exit 4) may leave
 * them, and PF_REPAIR problems it reported but could not repair because
 * another error blocked the repair. BT_FUZZ_STRICT=1 applies the plain
 * rule instead: after fsck -y, fsck -n reports no PF_REPAIR problem.
 * BT_FUZZ_CONVERGE=0 turns the convergence checks off (crashes, leaks and
 * sanitizer reports of both runs are still found): CI uses it while
 * convergence findings are open (tests/fuzz/README).
 */
#include "common/fsck_run.h"

static struct fz_image image;
static FILE *devnull;
static bool strict, converge = true;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_image_init(&image);
	devnull = fz_devnull();
	strict = getenv("BT_FUZZ_STRICT") && atoi(getenv("BT_FUZZ_STRICT"));
	if (getenv("BT_FUZZ_CONVERGE"))
		converge = atoi(getenv("BT_FUZZ_CONVERGE"));
	return 0;
}

static const struct problem_def *lookup(const char *code)
{
	for (unsigned i = 0; i < PR_NR; i++)
		if (!strcmp(problem_table[i].name, code))
			return &problem_table[i];
	return NULL;
}

static bool reported(json_t *problems, const char *code)
{
	size_t i;
	json_t *p;

	json_array_foreach(problems, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "code")), code))
			return true;
	return false;
}

static void fail(const char *why, const char *code, int s1, int s2, json_t *p1, json_t *p2)
{
	fprintf(stderr, "fsck -y then -n does not converge: %s %s (exit %d then %d)\n",
		why, code, s1, s2);
	fprintf(stderr, "-y problems: ");
	json_dumpf(p1, stderr, JSON_COMPACT);
	fprintf(stderr, "\n-n problems: ");
	json_dumpf(p2, stderr, JSON_COMPACT);
	fprintf(stderr, "\n");
	abort();
}

/* The -n run's report as -y's would read: "would" for "done", "answer" and "repaired" left out. */
static char *as_predicted(json_t *r, bool dry)
{
	json_t *c = json_object(), *problems = json_array(), *p;
	size_t i;
	char *s;

	json_array_foreach(json_object_get(r, "problems"), i, p) {
		json_t *q = json_object(), *a = json_object_get(p, "action");

		json_object_set(q, "code", json_object_get(p, "code"));
		json_object_set(q, "message", json_object_get(p, "message"));
		if (a) {
			json_t *b = json_deep_copy(a);
			const char *st = json_string_value(json_object_get(b, "state"));

			if (!dry && st && !strcmp(st, "done"))
				json_object_set_new(b, "state", json_string("would"));
			json_object_set_new(q, "action", b);
		}
		json_array_append_new(problems, q);
	}
	json_object_set_new(c, "problems", problems);
	json_object_set(c, "lost", json_object_get(r, "lost"));
	json_object_set(c, "past_end", json_object_get(r, "past_end"));
	json_object_set(c, "garbage", json_object_get(r, "garbage"));
	s = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(c);
	return s;
}

/* fsck -n (r0) said what fsck -y (r1) then did and lost. */
static void predicted(json_t *r0, json_t *r1, int s0, int s1)
{
	char *n = as_predicted(r0, true), *y = as_predicted(r1, false);

	if (strcmp(n, y)) {
		fprintf(stderr, "fsck -n (exit %d) did not predict fsck -y (exit %d)\n-n: %s\n-y: %s\n",
			s0, s1, n, y);
		abort();
	}
	free(n);
	free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *r0, *r1, *r2, *p1, *p2, *p;
	int s0, s1, s2;
	size_t i;

	if (!fz_image_load(&image, data, size))
		return 0;
	fz_dump(image.buf, image.size);
	s0 = fz_fsck(image.buf, image.size, FSCK_MODE_NO, devnull, &r0);
	s1 = fz_fsck(image.buf, image.size, FSCK_MODE_YES, devnull, &r1);
	s2 = fz_fsck(image.buf, image.size, FSCK_MODE_NO, devnull, &r2);
	p1 = json_object_get(r1, "problems");
	p2 = json_object_get(r2, "problems");
	if (!converge)
		goto out;
	predicted(r0, r1, s0, s1);
	if (!(s1 & ~1) && s2)
		fail("everything was fixed, the check is not clean:", "", s1, s2, p1, p2);
	json_array_foreach(p2, i, p) {
		const char *code = json_string_value(json_object_get(p, "code"));
		const struct problem_def *pr = lookup(code);

		if (!pr || !(pr->flags & PF_REPAIR))
			continue;
		if (strict)
			fail("a problem with a repair is left:", code, s1, s2, p1, p2);
		if (!(s1 & 4))
			fail("a problem with a repair is left, -y claimed success:", code,
			     s1, s2, p1, p2);
		if (!reported(p1, code))
			fail("the repair made a new problem:", code, s1, s2, p1, p2);
	}
out:
	json_decref(r0);
	json_decref(r1);
	json_decref(r2);
	fz_image_clear(&image);
	return 0;
}
