/* test_fsck_threads.c --- fsck -j N (reader threads, libcore/read/node_pool.h)
 * prints the same problems, figures and messages, in the same order, and
 * exits the same, for any N: on the golden images, on a generated cache of
 * many leaves with stale pointers and journal keys, and on trees with
 * unreadable nodes (read errors found by the threads must come out where
 * the walk reaches them).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* fsck MODE -j 1 and -j N of path give the same output and exit status. */
static void check_same_output(const char *path, const char *mode)
{
	static const unsigned jobs[] = { 2, 3, 8 };
	char *out1 = NULL, *err1 = NULL;
	int rc1 = t_run(&out1, &err1, "fsck %s -j 1 '%s'", mode, path);

	cr_assert_geq(rc1, 0, "fsck -j 1 died: %s", err1);
	cr_assert(strstr(out1, "Pass 5"), "fsck did not reach the btree pass: %s%s", out1, err1);
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		char *out = NULL, *err = NULL;
		int rc = t_run(&out, &err, "fsck %s -j %u '%s'", mode, jobs[i], path);

		cr_expect_eq(rc, rc1, "%s: -j %u exits %d, -j 1 %d", path, jobs[i], rc, rc1);
		cr_expect_str_eq(out, out1, "%s: -j %u prints otherwise", path, jobs[i]);
		cr_expect_str_eq(err, err1, "%s: -j %u says otherwise on stderr", path, jobs[i]);
		free(out);
		free(err);
	}
	free(out1);
	free(err1);
}

static void check_golden(const char *name)
{
	char *cache = t_golden_image(name, "cache");

	check_same_output(cache, "-n");
	free(cache);
}

GOLDEN_TEST(fsck_threads, s03) { check_golden("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(fsck_threads, s04_journal) { check_golden("s04-writeback-dirty-crash"); }
GOLDEN_TEST(fsck_threads, s05_depth2) { check_golden("s05-btree-depth2"); }
GOLDEN_TEST(fsck_threads, s06_flash) { check_golden("s06-flash-volume"); }

Test(fsck_threads, generated_many_leaves, .timeout = 120)
{
	struct t_gen g = { 0 };

	t_gen_cache(&g, "-n 20000 --leaf-keys 40 --fanout 8 --stale 40 --journal-keys 30 "
		    "--dirty 0.4 --seed 5");
	check_same_output(g.cache, "-n");
	t_gen_free(&g);
}

/* s with every occurrence of path cut out (malloc'ed). */
static char *without(const char *s, const char *path)
{
	char *r = strdup(s), *at;

	cr_assert(r);
	while ((at = strstr(r, path)))
		memmove(at, at + strlen(path), strlen(at + strlen(path)) + 1);
	return r;
}

/* A leaf whose bset checksum fails (tests/fsck/leaf-bad-csum), checked and repaired. */
Test(fsck_threads, unreadable_leaf, .timeout = 120)
{
	char *cache = t_golden_image("s05-btree-depth2", "cache"), *copy = NULL;
	char *o1 = NULL, *o2 = NULL, *c1, *c2;
	static const uint8_t zero[8];
	int r1, r2;

	t_patch(cache, 52559872, zero, sizeof(zero));
	check_same_output(cache, "-n");
	cr_assert(asprintf(&copy, "%s.y", cache) > 0);
	cr_assert_eq(t_sh(NULL, NULL, "cp '%s' '%s'", cache, copy), 0);
	/* the repair: the same problems, answers and rebuild for any N */
	r1 = t_run(&o1, NULL, "fsck -y -j 1 '%s'", cache);
	r2 = t_run(&o2, NULL, "fsck -y -j 4 '%s'", copy);
	cr_expect_eq(r1, r2);
	cr_expect(r1 & 1, "fsck -y repaired nothing (exit %d): %s", r1, o1);
	c1 = without(o1, cache);
	c2 = without(o2, copy);
	cr_expect_str_eq(c1, c2);
	/* and both repaired caches are clean, with the same keys */
	check_same_output(copy, "-n");
	cr_expect_eq(t_run(NULL, NULL, "fsck -n '%s'", copy), 0);
	free(c1), free(c2), free(o1), free(o2);
	unlink(copy);
	free(copy);
	free(cache);
}
