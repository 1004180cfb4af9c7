/* test_fsck_cases.c --- the corruption suite: tests/fsck/CASE/{name,recipe,expect.1}.
 *
 * e2fsprogs' f_* tests in Criterion. For each case directory:
 *   name	one line saying what the case breaks
 *   recipe	"image <srcdir-relative .img.zst>" then one fault per line,
 *		the arguments of tests/tools/corrupt after IMAGE
 *		(# starts a comment)
 *   expect.1	the problem codes of 'fsck -n --json', one per line in report
 *		order, then "exit N" -- codes, not prose, so that messages can
 *		change without touching the cases
 *   expect.2	(every case, e2fsprogs style) the codes and "exit N" of the
 *		repair run 'fsck -y --json' made after expect.1's -n run: exit 1
 *		when everything was fixed, 4 where the registry has no fix for
 *		one of the problems, 0 when there are warnings only.
 * Codes listed in tests/fsck/filter (volatile across builds) are dropped
 * before comparing. Every run hashes the image before and after: -n must not
 * change one byte.
 *
 * With expect.2 exit 1, the repair must also (a) leave an image a final
 * 'fsck -n' finds clean (exit 0), (b) keep the content: 'bcache-tool
 * extract' of the case's backing device (or flash volume) gives, sector by
 * sector, the same bytes after the repair as before it -- before meaning
 * what the kernel serves from the damaged image, or, when extract (like the
 * kernel) refuses the damaged tree, the image before the fault -- except
 * inside the ranges the repair's --json "lost" list declares (dirty data
 * lost, contents unknown), (c) append one --log line per fix, each naming
 * a code of expect.2 (plus the "lost:" lines), and (d) 'bcache-tool undo'
 * with the run's --undo file gives back the image's exact bytes before the
 * repair (sha256). And on a fresh copy, 'fsck -p' exits 1 when every error
 * code of expect.1 is PREEN_OK in the registry, else 4 with the image
 * unchanged (a preen halt writes nothing).
 * With expect.2 exit 4 or 0, 'fsck -y' must leave the image unchanged: no
 * repair is made while an error without a fix remains.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fsck_predict.h"
#include "helpers.h"
#include "libcore/base/printbuf.h"
#include "fsck/problem.h"
#include <unistd.h>

static bool filtered(const char *filter, const char *code)
{
	size_t n = strlen(code);

	for (const char *s = filter; s && *s; ) {
		size_t len = strcspn(s, "\n");

		if (len == n && !memcmp(s, code, n))
			return true;
		s += len;
		if (*s)
			s++;
	}
	return false;
}

/* Decompressed base images, one per distinct recipe image, copied for each case. */
struct base_image {
	char	*rel;
	char	*path;
};
static struct base_image bases[16];

static char *fresh_copy(const char *rel)
{
	struct base_image *b = NULL;
	char *copy = t_tmpfile(0);

	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]) && !b; i++)
		if (!bases[i].rel || !strcmp(bases[i].rel, rel))
			b = &bases[i];
	cr_assert(b, "too many distinct base images");
	if (!b->rel) {
		b->rel = strdup(rel);
		b->path = t_image(rel);
	}
	cr_assert_eq(t_sh(NULL, NULL, "cp --sparse=always '%s' '%s'", b->path, copy), 0);
	return copy;
}

/* Apply the recipe of case dir; returns the image path, *rel_out the recipe's image (malloc'ed). */
static char *apply_recipe(const char *dir, char **rel_out)
{
	char rel[512], *recipe, *line, *save = NULL, *img = NULL;

	snprintf(rel, sizeof(rel), "tests/fsck/%s/recipe", dir);
	recipe = t_read_text(rel, NULL);
	for (line = strtok_r(recipe, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *out = NULL, *err = NULL;

		if (!*line || *line == '#')
			continue;
		if (!strncmp(line, "image ", 6)) {
			cr_assert_null(img, "%s: two image lines", dir);
			img = fresh_copy(line + 6);
			if (rel_out)
				*rel_out = strdup(line + 6);
			continue;
		}
		cr_assert(img, "%s: a fault before the image line", dir);
		cr_assert_eq(t_sh(&out, &err, "'%s/tests/tools/corrupt' '%s' %s",
				  getenv("BT_BUILD"), img, line), 0,
			     "%s: corrupt %s: %s", dir, line, err);
		free(out);
		free(err);
	}
	cr_assert(img, "%s: no image line", dir);
	free(recipe);
	return img;
}

/* "CODE\n...exit N\n" from the JSON report. */
static char *codes_of_report(const char *dir, const char *json, const char *filter)
{
	json_error_t jerr;
	json_t *j = json_loads(json, 0, &jerr), *p;
	struct printbuf pb = PRINTBUF;
	size_t i;

	cr_assert(j, "%s: fsck --json output is not JSON (%s):\n%s", dir, jerr.text, json);
	json_array_foreach(json_object_get(j, "problems"), i, p) {
		const char *code = json_string_value(json_object_get(p, "code"));

		if (!filtered(filter, code))
			prt_printf(&pb, "%s\n", code);
	}
	prt_printf(&pb, "exit %lld\n", (long long)json_integer_value(json_object_get(j, "exit_status")));
	json_decref(j);
	return pb.buf;	/* the caller frees */
}

static bool case_file_exists(const char *dir, const char *file)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/tests/fsck/%s/%s", t_srcdir(), dir, file);
	return access(path, R_OK) == 0;
}

/* The backing image next to the recipe's cache image, or NULL. */
static char *backing_of(const char *rel)
{
	char brel[512], path[1024];
	const char *slash = strrchr(rel, '/');

	if (!slash || strcmp(slash, "/cache.img.zst"))
		return NULL;
	snprintf(brel, sizeof(brel), "%.*s/backing.img.zst", (int)(slash - rel), rel);
	snprintf(path, sizeof(path), "%s/%s", t_srcdir(), brel);
	if (access(path, R_OK))
		return NULL;
	return t_image(brel);
}

/* data_offset of a backing device (show-super --json). */
static uint64_t data_offset(const char *bdev)
{
	char *out = NULL;
	json_t *j;
	uint64_t off;

	cr_assert_eq(t_run(&out, NULL, "show-super --json '%s'", bdev), 0);
	j = json_loads(out, 0, NULL);
	cr_assert(j);
	off = (uint64_t)json_integer_value(json_object_get(j, "data_offset"));
	json_decref(j);
	free(out);
	return off;
}

/*
 * What 'extract' copies out of img (+ bdev, else uuid slot 0: the flash
 * volume of s06) into a new temporary file, or NULL when extract refuses
 * the image (a tree the kernel would not read either).
 */
static char *extract_file(const char *img, const char *bdev)
{
	char *out = t_tmpfile(0);
	int rc;

	if (bdev)
		rc = t_run(NULL, NULL, "extract -o '%s' '%s' '%s'", out, img, bdev);
	else
		rc = t_run(NULL, NULL, "extract --slot 0 -o '%s' '%s'", out, img);
	/* 1: written, with ranges it could not read or lost dirty data */
	if (rc != 0 && rc != 1) {
		unlink(out);
		free(out);
		return NULL;
	}
	return out;
}

/*
 * Is sector s of slot 0's device inside a range the repair declared lost?
 * Lost ranges are in key sectors: for a backing device those count from
 * the device's start, data offset included (the kernel remaps a bcache
 * device's bio by data_offset before the btree lookup); s counts from the
 * data offset: base is the data offset (0 for a flash volume).
 */
static bool sector_lost(json_t *lost, uint64_t s, uint64_t base)
{
	size_t i;
	json_t *l;

	json_array_foreach(lost, i, l) {
		json_t *end = json_object_get(l, "end");

		if (json_integer_value(json_object_get(l, "slot")) != 0 ||
		    !strcmp(json_string_value(json_object_get(l, "kind")), "clean data dropped"))
			continue;
		if (s + base >= (uint64_t)json_integer_value(json_object_get(l, "start")) &&
		    (json_is_null(end) || s + base < (uint64_t)json_integer_value(end)))
			return true;
	}
	return false;
}

/*
 * The repair keeps the content: every 512-byte sector of now (extract after
 * the repair) equals the same sector of dmg (extract of the damaged image:
 * what the kernel would serve; NULL when extract refuses it) or of orig
 * (extract of the image before the fault: a repair may give back the true
 * content), or lies inside a range the repair's --json report lists as
 * lost (dirty data lost, contents unknown). Returns the number of sectors
 * that match neither and were declared lost.
 */
static unsigned compare_content(const char *dir, const char *dmg, const char *orig,
				const char *now, json_t *lost, uint64_t base)
{
	FILE *fd = dmg ? fopen(dmg, "rb") : NULL, *fo = fopen(orig, "rb"), *fn = fopen(now, "rb");
	char sd[512], so[512], sn[512];
	unsigned declared = 0;
	uint64_t s = 0;

	cr_assert(fo && fn && (fd || !dmg), "%s: cannot open the extracts", dir);
	for (;; s++) {
		size_t ro = fread(so, 1, sizeof(so), fo), rn = fread(sn, 1, sizeof(sn), fn);
		size_t rd = fd ? fread(sd, 1, sizeof(sd), fd) : rn;

		/* a repair keeps the device's size (a flash volume's was damaged: orig differs) */
		cr_assert(rd == rn && (fd || ro == rn), "%s: extracts differ in size", dir);
		if (!rn)
			break;
		if ((ro == rn && !memcmp(so, sn, rn)) || (fd && !memcmp(sd, sn, rn)))
			continue;
		cr_expect(sector_lost(lost, s, base),
			  "%s: sector %llu changed by the repair but not reported lost",
			  dir, (unsigned long long)s);
		if (!sector_lost(lost, s, base))
			break;
		declared++;
	}
	if (fd)
		fclose(fd);
	fclose(fo);
	fclose(fn);
	return declared;
}

/* Every error-severity code of an expect file is PREEN_OK in the registry. */
static bool all_preen_ok(const char *expect)
{
	char *copy = strdup(expect), *line, *save = NULL;
	bool ok = true;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		for (unsigned i = 0; i < PR_NR; i++)
			if (!strcmp(problem_table[i].name, line) &&
			    problem_table[i].severity == SEV_ERROR &&
			    !(problem_table[i].flags & PF_PREEN_OK))
				ok = false;
	free(copy);
	return ok;
}

/*
 * The -y run against the -n run before it (njson): the same problems and
 * repairs, the same lost, past_end and garbage lists, every range in range
 * of the repaired set; expect.garbage, where the case has one, gives the
 * number of garbage keys both report (none without it).
 */
static void check_prediction(const char *dir, const char *rel, const char *img,
			     const char *bdev, json_t *njson, json_t *report)
{
	char *rbdev = NULL;

	t_predict_same(dir, njson, report);
	if (!bdev && json_array_size(json_object_get(report, "lost")))
		bdev = rbdev = backing_of(rel);
	t_lost_in_range(dir, report, img, bdev);
	/* real keys (the kernel's, check keys included) are never garbage: none without the file */
	if (case_file_exists(dir, "expect.garbage")) {
		char path[512], *want;

		snprintf(path, sizeof(path), "tests/fsck/%s/expect.garbage", dir);
		want = t_read_text(path, NULL);
		cr_expect_eq(json_array_size(json_object_get(report, "garbage")),
			     (size_t)atoi(want), "%s: %zu garbage keys, expect.garbage says %s", dir,
			     json_array_size(json_object_get(report, "garbage")), want);
		free(want);
	} else {
		cr_expect_eq(json_array_size(json_object_get(report, "garbage")), 0,
			     "%s: %zu garbage keys in a case without expect.garbage", dir,
			     json_array_size(json_object_get(report, "garbage")));
	}
	if (rbdev)
		unlink(rbdev);
	free(rbdev);
}

/*
 * fsck -p on a copy of img: nothing to do on warnings only (want 0), exit 1
 * when every error is PREEN_OK, else a preen halt that writes nothing.
 */
static void check_preen(const char *dir, const char *img, int want, const char *expect1)
{
	char sha[65], after[65], *pimg = t_tmpfile(0), *out = NULL;
	int rc;

	cr_assert_eq(t_sh(NULL, NULL, "cp --sparse=always '%s' '%s'", img, pimg), 0);
	t_sha256_file(pimg, sha);
	rc = t_run(&out, NULL, "fsck -p '%s'", pimg);
	if (want == 0) {
		/* warnings only: nothing to repair, nothing written */
		t_sha256_file(pimg, after);
		cr_expect_eq(rc, 0, "%s: fsck -p exit %d on warnings only:\n%s", dir, rc, out);
		cr_expect_str_eq(sha, after, "%s: fsck -p changed an image with no error", dir);
	} else if (want == 1 && all_preen_ok(expect1)) {
		cr_expect_eq(rc, 1, "%s: fsck -p exit %d, every error is PREEN_OK:\n%s", dir, rc, out);
	} else {
		t_sha256_file(pimg, after);
		cr_expect_eq(rc, 4, "%s: fsck -p exit %d, expected a preen halt:\n%s", dir, rc, out);
		cr_expect(strstr(out, "UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY"),
			  "%s: no preen halt message:\n%s", dir, out);
		cr_expect_str_eq(sha, after, "%s: fsck -p halted but changed the image", dir);
	}
	free(out);
	unlink(pimg);
	free(pimg);
}

/* A repair made after the question (PF_LATER) says so in the report. */
static void check_yes_answers(const char *dir, json_t *report, int want)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(report, "problems"), i, p) {
		const char *a = json_string_value(json_object_get(p, "answer"));

		if (a && !strcmp(a, "yes"))
			cr_expect(json_is_boolean(json_object_get(p, "repaired")) &&
				  json_is_true(json_object_get(p, "repaired")) == (want == 1),
				  "%s: %s answered yes: \"repaired\" should be %s", dir,
				  json_string_value(json_object_get(p, "code")),
				  want == 1 ? "true" : "false");
	}
}

/*
 * The --log of a repair of img (logtext, consumed): its header, then
 * "IMG: CODE: old -> new" lines of codes in expect (the rebuild's "lost:",
 * the identity and the replay lines aside), at least one.
 */
static void check_repair_log(const char *dir, const char *img, const char *expect,
			     char *logtext)
{
	char *line, *save = NULL;
	unsigned n = 0;

	cr_assert(logtext);
	cr_expect(!strncmp(logtext, "# ", 2) && strstr(logtext, "bcache-tool fsck -y"),
		  "%s: the log opens without its header: %.200s", dir, logtext);
	for (line = strtok_r(logtext, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char pre[600];
		const char *code, *colon;

		if (!strncmp(line, "# ", 2))	/* a run's header */
			continue;
		snprintf(pre, sizeof(pre), "%s: ", img);
		cr_expect(!strncmp(line, pre, strlen(pre)), "%s: log line %s", dir, line);
		code = line + strlen(pre);
		/* the rebuild's "lost:" lines follow its fix lines; identity, replay */
		if (!strncmp(code, "lost: ", 6) || !strncmp(code, "device: ", 8) ||
		    !strncmp(code, "journal replayed: ", 18))
			continue;
		colon = strchr(code, ':');
		cr_assert(colon, "%s: log line %s", dir, line);
		snprintf(pre, sizeof(pre), "%.*s\n", (int)(colon - code), code);
		cr_expect(strstr(expect, pre), "%s: log line of a code not in expect.2: %s",
			  dir, line);
		cr_expect(strstr(colon, " -> "), "%s: log line without old -> new: %s",
			  dir, line);
		n++;
	}
	cr_expect_gt(n, 0, "%s: the repair logged nothing", dir);
}

/*
 * After a repair: fsck -n is clean, and the content the kernel serves is
 * what the damaged cache served (dmg), less what the report says was lost
 * (before: the content before the fault).
 */
static void check_repaired(const char *dir, const char *img, const char *bdev,
			   const char *dmg, const char *before, json_t *report)
{
	char *out = NULL, *now;
	int rc = t_run(&out, NULL, "fsck -n --json '%s'", img);

	cr_expect_eq(rc, 0, "%s: fsck -n after the repair exits %d:\n%s", dir, rc, out);
	free(out);
	now = extract_file(img, bdev);
	/* a device the damaged cache already did not know (its slot lost) stays unknown */
	cr_assert(now || !dmg, "%s: extract fails after the repair", dir);
	if (now) {
		compare_content(dir, dmg, before, now, json_object_get(report, "lost"),
				bdev ? data_offset(bdev) : 0);
		unlink(now);
	}
	free(now);
}

/* The undo file of the repair of img gives back the exact bytes (sha: before the repair). */
static void check_undo(const char *dir, const char *undo, const char *img, const char *sha)
{
	char after[65], *out = NULL;
	int rc = t_run(&out, NULL, "undo '%s' '%s'", undo, img);

	cr_expect_eq(rc, 0, "%s: undo exit %d: %s", dir, rc, out);
	free(out);
	t_sha256_file(img, after);
	cr_expect_str_eq(sha, after, "%s: undo did not restore the image", dir);
}

/* Remove the temporary file path, if any, and free its name. */
static void drop_tmpfile(char *path)
{
	if (path)
		unlink(path);
	free(path);
}

/* expect.2: the repair run, the clean rerun, the content kept, the log, preen. */
static void run_repair(const char *dir, const char *rel, const char *img,
		       const char *expect1, const char *filter, json_t *njson)
{
	char path[512], sha[65], after[65], *expect, *out = NULL, *got, *logtext = NULL;
	char *log, *undo, *bdev, *before = NULL, *dmg = NULL;
	json_t *report;
	int rc, want;

	snprintf(path, sizeof(path), "tests/fsck/%s/expect.2", dir);
	expect = t_read_text(path, NULL);
	want = atoi(strstr(expect, "exit ") + 5);
	bdev = want == 1 ? backing_of(rel) : NULL;
	if (want == 1) {
		/* what the kernel serves now (NULL if extract refuses), and before the fault */
		char *pristine = fresh_copy(rel);

		dmg = extract_file(img, bdev);
		before = extract_file(pristine, bdev);
		drop_tmpfile(pristine);
		cr_assert(before, "%s: extract of the image before the fault failed", dir);
	}
	check_preen(dir, img, want, expect1);	/* -p first, on a copy */

	log = t_tmpfile(0);
	undo = t_tmpfile(0);
	t_sha256_file(img, sha);
	rc = t_run(&out, NULL, "fsck -y --json --log '%s' --undo '%s' '%s'", log, undo, img);
	if (want != 1) {
		/* an accepted repair is not made while an unfixable error remains */
		t_sha256_file(img, after);
		cr_expect_str_eq(sha, after, "%s: fsck -y left errors but changed the image", dir);
	}
	got = codes_of_report(dir, out, filter);
	cr_expect_str_eq(got, expect, "%s: fsck -y: expected\n%sgot\n%s", dir, expect, got);
	cr_expect_eq(rc, want, "%s: fsck -y exit %d, expect.2 says %d", dir, rc, want);
	report = json_loads(out, 0, NULL);
	cr_assert(report, "%s: fsck -y --json output is not JSON", dir);
	check_prediction(dir, rel, img, bdev, njson, report);
	check_yes_answers(dir, report, want);
	free(out);

	cr_assert_eq(t_sh(&logtext, NULL, "cat '%s'", log), 0);
	if (want == 1) {
		check_repaired(dir, img, bdev, dmg, before, report);
		check_repair_log(dir, img, expect, logtext);
		check_undo(dir, undo, img, sha);
	}
	drop_tmpfile(undo);
	drop_tmpfile(log);
	free(logtext);
	free(got);
	free(expect);
	drop_tmpfile(bdev);
	drop_tmpfile(before);
	drop_tmpfile(dmg);
	json_decref(report);
}

/* Returns whether the case has expect.2 (was repaired). */
static bool run_case(const char *dir, const char *filter)
{
	char rel[512], before[65], after[65], *img, *expect, *out = NULL, *got, *irel = NULL;
	json_t *njson;
	int rc;

	img = apply_recipe(dir, &irel);
	snprintf(rel, sizeof(rel), "tests/fsck/%s/expect.1", dir);
	expect = t_read_text(rel, NULL);
	t_sha256_file(img, before);
	rc = t_run(&out, NULL, "fsck -n --json '%s'", img);
	t_sha256_file(img, after);
	cr_expect_str_eq(before, after, "%s: fsck -n changed the image", dir);
	got = codes_of_report(dir, out, filter);
	cr_expect_str_eq(got, expect, "%s: expected\n%sgot\n%s", dir, expect, got);
	cr_expect_eq(rc, atoi(strstr(got, "exit ") + 5), "%s: exit status %d, JSON says otherwise", dir, rc);
	njson = json_loads(out, 0, NULL);
	cr_assert(njson, "%s: fsck -n --json output is not JSON", dir);
	/* the text run says "would" where the JSON has a repair, and writes nothing either */
	free(out);
	out = NULL;
	cr_expect_eq(t_run(&out, NULL, "fsck -n '%s'", img), rc, "%s: -n text and --json differ "
		     "in exit status", dir);
	t_sha256_file(img, after);
	cr_expect_str_eq(before, after, "%s: fsck -n changed the image", dir);
	t_predict_text(dir, out, njson);
	bool repaired = case_file_exists(dir, "expect.2");

	if (repaired)
		run_repair(dir, irel, img, expect, filter, njson);
	json_decref(njson);
	free(irel);
	free(got);
	free(out);
	free(expect);
	free(img);
	return repaired;
}

/* The case directories (those with a recipe), sorted; *nr set. The caller frees. */
static char **case_names(size_t *nr)
{
	char path[512], recipe[1024], **out;
	struct dirent **names;
	int n;

	snprintf(path, sizeof(path), "%s/tests/fsck", t_srcdir());
	n = scandir(path, &names, NULL, alphasort);
	*nr = 0;
	out = calloc(n > 0 ? (size_t)n : 1, sizeof(*out));
	for (int i = 0; i < n; i++) {
		snprintf(recipe, sizeof(recipe), "%s/%s/recipe", path, names[i]->d_name);
		if (out && !access(recipe, R_OK))
			out[(*nr)++] = strdup(names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return out;
}

struct fsck_case {
	char	name[128];
};

/* The cases as Criterion parameters (BT_FSCK_CASE=name: that case only). */
static struct criterion_test_params case_params(void)
{
	size_t nr, n = 0;
	char **names = case_names(&nr);
	struct fsck_case *cases = cr_malloc((nr ? nr : 1) * sizeof(*cases));

	for (size_t i = 0; i < nr; i++) {
		if (!getenv("BT_FSCK_CASE") || !strcmp(getenv("BT_FSCK_CASE"), names[i]))
			snprintf(cases[n++].name, sizeof(cases[0].name), "%s", names[i]);
		free(names[i]);
	}
	free(names);
	return cr_make_param_array(struct fsck_case, cases, n);
}

/* One parameter per case directory, so that Criterion runs them in parallel. */
ParameterizedTestParameters(fsck_cases, each)
{
	return case_params();
}

ParameterizedTest(struct fsck_case *fc, fsck_cases, each, .timeout = 300)
{
	char *filter = t_read_text("tests/fsck/filter", NULL);

	run_case(fc->name, filter);
	free(filter);
}

/*
 * The closing summary of a repair describes the repaired device: fsck
 * -y's --json "summary" equals, key for key, that of the 'fsck -n' after
 * it (also where -y repairs nothing). The rest of the report is not
 * compared: "problems", "lost", "passes" (with the pass times) and
 * "exit_status" record what each run found and did, not the device.
 */
ParameterizedTestParameters(fsck_cases, repair_summary_is_the_next_checks)
{
	return case_params();
}

ParameterizedTest(struct fsck_case *fc, fsck_cases, repair_summary_is_the_next_checks,
		  .timeout = 300)
{
	char *img = apply_recipe(fc->name, NULL);
	json_t *y = t_fsck_report(img, "-y", NULL), *n = t_fsck_report(img, "-n", NULL);
	json_t *ys = json_object_get(y, "summary"), *ns = json_object_get(n, "summary");

	cr_assert(ys && ns, "%s: no summary", fc->name);
	cr_expect(json_equal(ys, ns), "%s: fsck -y summary\n%s\nthe next fsck -n summary\n%s",
		  fc->name, json_dumps(ys, JSON_INDENT(1) | JSON_PRESERVE_ORDER),
		  json_dumps(ns, JSON_INDENT(1) | JSON_PRESERVE_ORDER));
	json_decref(y);
	json_decref(n);
	unlink(img);
	free(img);
}

/* Does partial_figures of summary s list key? */
static bool figure_partial(json_t *s, const char *key)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(s, "partial_figures"), i, v)
		if (!strcmp(json_string_value(v), key))
			return true;
	return false;
}

/* The text summary's line starting "DEV: what" (malloc'ed), or NULL. */
static char *summary_line(const char *text, const char *dev, const char *what)
{
	char start[1200];
	const char *p;

	snprintf(start, sizeof(start), "%s: %s", dev, what);
	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, start, strlen(start)))
			return strndup(p, strcspn(p, "\n"));
	return NULL;
}

/*
 * What -p printed of summary s: no negative number (a sentinel), each
 * partial group after "partial:", each group not computed as "not checked".
 */
static void check_preen_text(const char *dir, const char *dev, const char *text, json_t *s)
{
	char *view = summary_line(text, dev, "after journal replay: ");
	char *disk = summary_line(text, dev, "on disk before replay: ");

	for (const char *p = strchr(text, '-'); p; p = strchr(p + 1, '-'))
		cr_expect(!(p[1] >= '0' && p[1] <= '9' && (p == text || strchr(" (/\n", p[-1]))),
			  "%s: a negative figure in fsck -p's summary:\n%s", dir, text);
	if (!view || !disk) {
		/* no figures at all (no cache set, or checking stopped in pass 1) */
		cr_expect(!view && !disk && !strstr(text, " keys"), "%s:\n%s", dir, text);
		goto out;
	}
	cr_expect(json_is_null(json_object_get(s, "keys")) ==
		  !!strstr(view, "after journal replay: not checked"), "%s: %s", dir, view);
	cr_expect(!figure_partial(s, "keys") || strstr(view, "after journal replay: partial: "),
		  "%s: partial figures unlabelled: %s", dir, view);
	cr_expect(json_is_null(json_object_get(s, "buckets_in_use")) ==
		  !!strstr(view, "buckets in use: not checked"), "%s: %s", dir, view);
	cr_expect(!figure_partial(s, "buckets_in_use") || strstr(view, "; partial: "),
		  "%s: partial figures unlabelled: %s", dir, view);
	cr_expect(json_is_null(json_object_get(s, "btree_nodes")) ==
		  !!strstr(disk, "btree not checked"), "%s: %s", dir, disk);
	cr_expect(!figure_partial(s, "btree_nodes") || strstr(disk, "partial: "),
		  "%s: partial figures unlabelled: %s", dir, disk);
out:
	free(view);
	free(disk);
}

/*
 * fsck -p stops at the first error it may not fix, in the middle of a
 * pass: the figures it has are partial, the later passes' are not
 * computed. The summary says so (JSON "partial", text "partial:" and "not
 * checked") and never prints a sentinel (-1) or a partial count as a total.
 */
ParameterizedTestParameters(fsck_cases, preen_summary_labels_partial_figures)
{
	return case_params();
}

/* fsck -p of case dir, on two copies: its --json report and its text output. */
struct preen_run {
	json_t	*report;
	char	*out;		/* what 'fsck -p COPY' printed */
	char	*copy;		/* the copy it ran on */
	int	rc;		/* its exit status */
};

static void preen_run(const char *dir, struct preen_run *r)
{
	char *img = apply_recipe(dir, NULL);

	r->copy = t_tmpfile(0);
	cr_assert_eq(t_sh(NULL, NULL, "cp --sparse=always '%s' '%s'", img, r->copy), 0);
	r->report = t_fsck_report(img, "-p", NULL);
	r->rc = t_run(&r->out, NULL, "fsck -p '%s'", r->copy);
	cr_assert_geq(r->rc, 0);
	unlink(img);
	free(img);
}

static void preen_run_free(struct preen_run *r)
{
	json_decref(r->report);
	free(r->out);
	unlink(r->copy);
	free(r->copy);
}

ParameterizedTest(struct fsck_case *fc, fsck_cases, preen_summary_labels_partial_figures,
		  .timeout = 300)
{
	struct preen_run r;
	json_t *s, *v;
	const char *key;
	char *text;

	preen_run(fc->name, &r);
	s = json_object_get(r.report, "summary");
	json_object_foreach(s, key, v)
		cr_expect(!json_is_integer(v) || json_integer_value(v) >= 0, "%s: summary.%s %lld",
			  fc->name, key, (long long)json_integer_value(v));
	cr_expect_eq(json_is_true(json_object_get(s, "partial")),
		     json_array_size(json_object_get(s, "partial_figures")) > 0, "%s", fc->name);
	text = t_fsck_summary_text(r.out);
	check_preen_text(fc->name, r.copy, text, s);
	free(text);
	preen_run_free(&r);
}

/* leaf-bad-csum: -p halts in the btree pass, at the damaged leaf (issue 15: "-1/4095 buckets"). */
Test(fsck_cases, preen_halt_in_the_btree_pass_says_partial)
{
	struct preen_run r;
	json_t *s;
	char *text;

	preen_run("leaf-bad-csum", &r);
	s = json_object_get(r.report, "summary");
	cr_assert(json_is_true(json_object_get(s, "partial")), "%s", json_dumps(s, 0));
	cr_expect(figure_partial(s, "btree_nodes") && figure_partial(s, "on_disk.keys"));
	cr_expect(json_is_integer(json_object_get(s, "tree_depth")), "the root's level is known");
	cr_expect(json_is_null(json_object_get(s, "keys")), "the replay pass did not run");
	cr_expect(json_is_null(json_object_get(s, "buckets_in_use")), "the mark pass did not run");
	cr_assert_eq(r.rc, 4, "%s", r.out);
	text = t_fsck_summary_text(r.out);
	cr_expect(strstr(text, "after journal replay: not checked; buckets in use: not checked"),
		  "%s", r.out);
	cr_expect(strstr(text, "on disk before replay: tree depth 1, partial: "), "%s", r.out);
	/* a sentinel as a figure ("-1/4095", " -1 keys"); the temporary path may hold "-1" */
	cr_expect_not(strstr(text, " -1"), "%s", r.out);
	check_preen_text("leaf-bad-csum", r.copy, text, s);
	free(text);
	preen_run_free(&r);
}

/* issue 6: every corruption case has expect.1 and expect.2 */
Test(fsck_cases, every_case_has_both_runs)
{
	size_t nr;
	char **names = case_names(&nr);

	cr_assert_geq(nr, 10, "only %zu cases", nr);
	for (size_t i = 0; i < nr; i++) {
		cr_expect(case_file_exists(names[i], "expect.1"), "%s: no expect.1", names[i]);
		cr_expect(case_file_exists(names[i], "expect.2"), "%s: no expect.2", names[i]);
		free(names[i]);
	}
	free(names);
}

/*
 * A repair accepted and then given up: yes to JOURNAL_NO_ENTRIES, no to the
 * empty uuid slots it needs. Nothing is written and nothing counts as
 * fixed: exit 4 (errors left), not 5, and the image keeps its bytes.
 */
Test(fsck_cases, journal_rebuild_given_up_is_not_a_fix, .timeout = 120)
{
	char *img = apply_recipe("journal-zeroed-no-uuids", NULL), *out = NULL;
	char before[65], after[65];

	t_sha256_file(img, before);
	cr_assert_eq(t_sh(&out, NULL, "printf 'y\\nn\\n' | script -qec \"'%s' fsck '%s'\" /dev/null",
			  getenv("BT_BIN"), img), 4, "%s", out);
	cr_assert(strstr(out, "JOURNAL_NO_ENTRIES: ") && strstr(out, "JOURNAL_REBUILD_NO_UUIDS: "),
		  "%s", out);
	cr_assert(strstr(out, "1 accepted repairs not made: no uuid bucket"), "%s", out);
	cr_assert_not(strstr(out, "JOURNAL_NO_ENTRIES: no valid jset ->"), "%s", out);
	free(out);
	t_sha256_file(img, after);
	cr_assert_str_eq(before, after, "nothing may be written");
	free(img);
}

/* Dirty sectors of slot 0 in the "lost" list of a --json report. */
static uint64_t dirty_lost(const char *json)
{
	json_t *j = json_loads(json, 0, NULL), *l;
	uint64_t sum = 0;
	size_t i;

	cr_assert(j, "not JSON: %s", json);
	json_array_foreach(json_object_get(j, "lost"), i, l)
		if (!json_integer_value(json_object_get(l, "slot")) &&
		    !strcmp(json_string_value(json_object_get(l, "kind")), "dirty data lost"))
			sum += (uint64_t)(json_integer_value(json_object_get(l, "end")) -
					  json_integer_value(json_object_get(l, "start")));
	json_decref(j);
	return sum;
}

/*
 * The interactive run asks before the rebuild loses data, naming what it
 * loses (the figure -n predicts): no leaves the image as it was, yes makes
 * the repair -n predicted.
 */
Test(fsck_cases, interactive_rebuild_names_what_it_loses, .timeout = 240)
{
	char *img = apply_recipe("leaf-bad-csum", NULL), *out = NULL, *q;
	char before[65], after[65];
	uint64_t dirty;

	cr_assert_eq(t_run(&out, NULL, "fsck -n --json '%s'", img), 4);
	dirty = dirty_lost(out);
	cr_assert_gt(dirty, 0, "the case loses dirty data");
	free(out);
	cr_assert(asprintf(&q, "Rebuild the btree? %llu dirty sectors of slot 0 would be lost",
			   (unsigned long long)dirty) > 0);
	t_sha256_file(img, before);
	cr_assert_eq(t_sh(&out, NULL, "printf 'y\\nn\\n' | script -qec \"'%s' fsck '%s'\" /dev/null",
			  getenv("BT_BIN"), img), 4, "%s", out);
	cr_assert(strstr(out, "Rewrite? ") && strstr(out, q), "no \"%s\":\n%s", q, out);
	cr_assert(strstr(out, "(listed above) <y>/n/a/q"), "%s", out);
	cr_assert(strstr(out, ": would lose: slot 0 "), "%s", out);
	cr_assert(strstr(out, "1 accepted repairs not made: the btree rebuild was declined"), "%s", out);
	free(out);
	t_sha256_file(img, after);
	cr_assert_str_eq(before, after, "a declined rebuild wrote nothing");

	cr_assert_eq(t_sh(&out, NULL, "printf 'y\\ny\\n' | script -qec \"'%s' fsck '%s'\" /dev/null",
			  getenv("BT_BIN"), img), 1, "%s", out);
	cr_assert(strstr(out, q), "%s", out);
	cr_assert(strstr(out, "clean, DEVICE WAS MODIFIED"), "%s", out);
	free(out);
	cr_assert_eq(t_run(&out, NULL, "fsck -n '%s'", img), 0, "%s", out);
	free(out);
	free(q);
	free(img);
}
