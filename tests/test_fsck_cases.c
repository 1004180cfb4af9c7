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
 * Codes listed in tests/fsck/filter (volatile across builds) are dropped
 * before comparing. Every run hashes the image before and after: -n must not
 * change one byte. (expect.2, the clean second run after a repair, comes with
 * the repairs.)
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "libcore/printbuf.h"

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

/* Apply the recipe of case dir; returns the image path. */
static char *apply_recipe(const char *dir)
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

static void run_case(const char *dir, const char *filter)
{
	char rel[512], before[65], after[65], *img, *expect, *out = NULL, *got;
	int rc;

	img = apply_recipe(dir);
	snprintf(rel, sizeof(rel), "tests/fsck/%s/expect.1", dir);
	expect = t_read_text(rel, NULL);
	t_sha256_file(img, before);
	rc = t_run(&out, NULL, "fsck -n --json '%s'", img);
	t_sha256_file(img, after);
	cr_expect_str_eq(before, after, "%s: fsck -n changed the image", dir);
	got = codes_of_report(dir, out, filter);
	cr_expect_str_eq(got, expect, "%s: expected\n%sgot\n%s", dir, expect, got);
	cr_expect_eq(rc, atoi(strstr(got, "exit ") + 5), "%s: exit status %d, JSON says otherwise", dir, rc);
	free(got);
	free(out);
	free(expect);
	free(img);
}

Test(fsck_cases, every_case, .timeout = 600)
{
	char path[512], *filter;
	struct dirent **names;
	int n, ran = 0;

	snprintf(path, sizeof(path), "%s/tests/fsck", t_srcdir());
	filter = t_read_text("tests/fsck/filter", NULL);
	n = scandir(path, &names, NULL, alphasort);
	cr_assert_gt(n, 0, "no %s", path);
	for (int i = 0; i < n; i++) {
		char recipe[1024];
		FILE *f;

		snprintf(recipe, sizeof(recipe), "%s/%s/recipe", path, names[i]->d_name);
		f = fopen(recipe, "r");
		if (f) {
			fclose(f);
			run_case(names[i]->d_name, filter);
			ran++;
		}
		free(names[i]);
	}
	free(names);
	free(filter);
	cr_assert_geq(ran, 10, "only %d cases ran", ran);
}
