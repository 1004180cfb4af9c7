/* test_hostile.c --- hostile inputs give a clear error and the promised exit
 * status, never a huge allocation, a hang, a crash or a sanitizer report:
 * superblocks read past validation (--force), and the data-driven suite of
 * tests/hostile/ (below).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "libcore/base/printbuf.h"

/*
 * One superblock field of s03 set to value (csum made valid), then
 * dump-journal --force, which skips validation: exit 8 (operational error)
 * with msg in its error output and no sanitizer report.
 */
static void forced_sb_field(const char *field, const char *value, const char *msg)
{
	char *img = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	char *err = NULL;
	int rc;

	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' sb-field %s %s --fix-csum",
			  getenv("BT_BUILD"), img, field, value), 0);
	rc = t_run(NULL, &err, "dump-journal --force '%s'", img);
	cr_assert_eq(rc, 8, "%s %s: rc %d: %s", field, value, rc, err);
	cr_assert(strstr(err, msg), "%s", err);
	cr_assert(!strstr(err, "Sanitizer") && !strstr(err, "runtime error"), "%s", err);
	free(err);
	free(img);
}

/* 2^50 buckets: no array may be sized by them */
GOLDEN_TEST(hostile, nbuckets_far_beyond_the_device)
{
	forced_sb_field("nbuckets", "1125899906842624", "the superblock claims 1125899906842624 "
			"buckets of 128 sectors, the device holds 1024");
}

/*
 * A bucket of 4 sectors (under a page): every metadata size is in pages of
 * a bucket, so there is no geometry (the sb fuzz target's finding: a
 * prio_set buffer of 0 bytes).
 */
GOLDEN_TEST(hostile, bucket_under_a_page_without_validation)
{
	forced_sb_field("bucket_size", "4", "bucket size 4 sectors is smaller than a page "
			"(8 sectors): no geometry");
}

/*
 * The hostile-input suite, tests/hostile/CASE/:
 *   name	one line saying what the input is
 *   recipe	"image <srcdir-relative .img.zst>" followed by faults (the
 *		arguments of tests/tools/corrupt after IMAGE, as in tests/fsck),
 *		or "file-bytes N" (a file of N zero bytes), or "directory"
 *   expect	"exit N": the exit status of 'fsck -n DEV' (bcache-tool-fsck(8):
 *		4 errors left, 8 operational error), and "match TEXT" lines:
 *		each TEXT, with @DEV@ replaced by the path given, must appear in
 *		its output (stdout and stderr); # starts a comment
 * Each input is then also given to fsck -y (on a copy), dump-journal,
 * dump-btree and show-super: every run must end within 120 s (timeout(1)
 * exits 124), with an exit status the commands can return (< 128, not a
 * signal) and without a sanitizer report (under make asan).
 */
static char *hostile_input(const char *dir, bool *is_dir)
{
	char rel[512], *recipe, *line, *save = NULL, *dev = NULL;

	snprintf(rel, sizeof(rel), "tests/hostile/%s/recipe", dir);
	recipe = t_read_text(rel, NULL);
	*is_dir = false;
	for (line = strtok_r(recipe, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *err = NULL;

		if (!*line || *line == '#')
			continue;
		if (!strncmp(line, "image ", 6)) {
			dev = t_image(line + 6);
		} else if (!strncmp(line, "file-bytes ", 11)) {
			dev = t_tmpfile(strtoull(line + 11, NULL, 0));
		} else if (!strcmp(line, "directory")) {
			char tmpl[] = "/tmp/bt-hostile-dir-XXXXXX";

			cr_assert(mkdtemp(tmpl), "%s: mkdtemp", dir);
			dev = strdup(tmpl);
			*is_dir = true;
		} else {
			cr_assert(dev, "%s: a fault before the input line", dir);
			cr_assert_eq(t_sh(NULL, &err, "'%s/tests/tools/corrupt' '%s' %s",
					  getenv("BT_BUILD"), dev, line), 0,
				     "%s: corrupt %s: %s", dir, line, err);
			free(err);
		}
	}
	cr_assert(dev, "%s: no input line in the recipe", dir);
	free(recipe);
	return dev;
}

/* Replace every @DEV@ of s by dev (malloc'ed). */
static char *subst_dev(const char *s, const char *dev)
{
	struct printbuf pb = PRINTBUF;
	const char *p;

	while ((p = strstr(s, "@DEV@"))) {
		prt_printf(&pb, "%.*s%s", (int)(p - s), s, dev);
		s = p + 5;
	}
	prt_str(&pb, s);
	return pb.buf ? pb.buf : strdup("");
}

static void assert_sane_run(const char *dir, const char *what, int rc, const char *err)
{
	cr_assert(rc != 124, "%s: %s did not end within 120 s", dir, what);
	cr_assert(rc >= 0 && rc < 128, "%s: %s died (status %d): %s", dir, what, rc, err);
	cr_assert(!strstr(err, "Sanitizer") && !strstr(err, "runtime error"),
		  "%s: %s: sanitizer report:\n%s", dir, what, err);
}

static void hostile_case(const char *dir)
{
	char rel[512], *expect, *line, *save = NULL, *out = NULL, *err = NULL, *all;
	const char *bin = getenv("BT_BIN");
	static const char *const others[] = { "dump-journal", "dump-btree", "show-super" };
	int rc, want = -1;
	bool is_dir;
	char *dev = hostile_input(dir, &is_dir);

	rc = t_sh(&out, &err, "timeout 120 '%s' fsck -n '%s'", bin, dev);
	assert_sane_run(dir, "fsck -n", rc, err);
	cr_assert(asprintf(&all, "%s%s", out, err) > 0);

	snprintf(rel, sizeof(rel), "tests/hostile/%s/expect", dir);
	expect = t_read_text(rel, NULL);
	for (line = strtok_r(expect, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "exit ", 5)) {
			want = atoi(line + 5);
		} else if (!strncmp(line, "match ", 6)) {
			char *m = subst_dev(line + 6, dev);

			cr_assert(strstr(all, m), "%s: fsck -n output lacks \"%s\":\n%s", dir, m, all);
			free(m);
		} else {
			cr_assert(!*line || *line == '#', "%s: bad expect line \"%s\"", dir, line);
		}
	}
	cr_assert(want >= 0, "%s: no exit line in expect", dir);
	cr_assert_eq(rc, want, "%s: fsck -n exit %d, expected %d:\n%s", dir, rc, want, all);
	free(expect);
	free(all);
	free(out);
	free(err);

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		rc = t_sh(NULL, &err, "timeout 120 '%s' %s '%s'", bin, others[i], dev);
		assert_sane_run(dir, others[i], rc, err);
		free(err);
	}
	/* last: fsck -y may change the input */
	rc = t_sh(NULL, &err, "timeout 120 '%s' fsck -y '%s'", bin, dev);
	assert_sane_run(dir, "fsck -y", rc, err);
	free(err);
	if (is_dir)
		rmdir(dev);
	free(dev);
}

Test(hostile, suite, .timeout = 1800)
{
	char path[1024];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/tests/hostile", t_srcdir());
	d = opendir(path);
	cr_assert(d, "no %s", path);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		hostile_case(de->d_name);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 14, "only %u hostile cases", n);
}
