/* test_layers.c --- the build refuses an arrow that goes up or sideways
 * between layers (scripts/layers, scripts/check-layers, the Makefile's one
 * archive per layer linked top first): the tree passes, and a planted
 * upward #include, an upward call in an object and an upward call at link
 * time are each refused.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* A new empty temporary directory; malloc'ed path. */
static char *tmp_dir(void)
{
	char *d = strdup("/tmp/bt-layers.XXXXXX");

	cr_assert(d && mkdtemp(d), "mkdtemp");
	return d;
}

/* The source tree and its objects follow the table. */
Test(layers, tree_follows_the_table)
{
	char *out = NULL, *err = NULL;
	int rc = t_sh(&out, &err, "'%s/scripts/check-layers' --objects '%s'", t_srcdir(),
		      getenv("BT_BUILD"));

	cr_assert_eq(rc, 0, "%s%s", out, err);
	free(out);
	free(err);
}

/* An #include from the base layer of a read-layer header is refused, with its line. */
Test(layers, planted_upward_include_refused)
{
	char *d = tmp_dir(), *out = NULL;
	int rc;

	cr_assert_eq(t_sh(NULL, NULL, "mkdir -p '%s/libcore/base' && printf '%s' > "
			  "'%s/libcore/base/plant.h'", d,
			  "/* planted */\\n#include \"libcore/read/btree.h\"\\n", d), 0);
	rc = t_sh(&out, NULL, "'%s/scripts/check-layers' --root '%s' --table '%s/scripts/layers'",
		  t_srcdir(), d, t_srcdir());
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "libcore/base/plant.h:2: includes libcore/read/btree.h: "
			 "layer libcore/base may not use layer libcore/read"), "%s", out);
	t_sh(NULL, NULL, "rm -rf '%s'", d);
	free(out);
	free(d);
}

/*
 * A base-layer object that calls the write path's bt_commit(): refused by
 * the symbol check, and the link of a program that reaches it through the
 * base archive fails, as the layer archives are linked top first.
 */
Test(layers, planted_upward_call_refused)
{
	const char *build = getenv("BT_BUILD");
	char *d = tmp_dir(), *out = NULL, *err = NULL;
	int rc;

	cr_assert_eq(t_sh(NULL, &err,
			  "cd '%s' && mkdir -p libcore/base libcore/write o/libcore/base "
			  "o/libcore/write cmd && : > libcore/write/commit.c && "
			  "printf 'int bt_commit(void *w, void *e);\\n"
			  "int plant(void) { return bt_commit(0, 0); }\\n' > libcore/base/plant.c && "
			  "printf 'int plant(void);\\nint main(void) { return plant(); }\\n' > cmd/main.c && "
			  "cc -c -o o/libcore/base/plant.o libcore/base/plant.c && "
			  "cp '%s/libcore/write/commit.o' o/libcore/write/", d, build), 0, "%s", err);
	free(err);
	rc = t_sh(&out, NULL, "'%s/scripts/check-layers' --root '%s' --table '%s/scripts/layers' "
		  "--objects '%s/o'", t_srcdir(), d, t_srcdir(), d);
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(strstr(out, "libcore/base/plant.o: uses bt_commit of libcore/write/commit.o: "
			 "layer libcore/base may not use layer libcore/write"), "%s", out);
	free(out);

	/* the same call at link time: the base archive comes after the write archive */
	rc = t_sh(NULL, &err, "cd '%s' && cp '%s/lib/libbase.a' libbase.a && "
		  "ar rcs libbase.a o/libcore/base/plant.o && cc -c -o main.o cmd/main.c && "
		  "cc -o prog main.o '%s/lib/libwrite.a' '%s/lib/libread.a' '%s/lib/libondisk.a' "
		  "'%s/lib/libdev.a' libbase.a", d, build, build, build, build, build);
	cr_expect_neq(rc, 0, "an upward call linked");
	cr_expect(strstr(err, "undefined reference to `bt_commit'"), "%s", err);
	t_sh(NULL, NULL, "rm -rf '%s'", d);
	free(err);
	free(d);
}
