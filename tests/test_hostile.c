/* test_hostile.c --- hostile superblocks read past validation (--force) give
 * a clear error, never a huge allocation or a crash.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* 2^50 buckets with a valid csum: dump-journal --force skips validation */
Test(hostile, nbuckets_far_beyond_the_device)
{
	char *img = t_image("images/s03-writeback-dirty-clean-stop/cache.img.zst");
	char *err = NULL;
	int rc;

	cr_assert_eq(t_sh(NULL, NULL, "'%s/tests/tools/corrupt' '%s' sb-field nbuckets "
			  "1125899906842624 --fix-csum", getenv("BT_BUILD"), img), 0);
	rc = t_run(NULL, &err, "dump-journal --force '%s'", img);
	cr_assert_eq(rc, 8, "rc %d: %s", rc, err);
	cr_assert(strstr(err, "the superblock claims 1125899906842624 buckets of 128 sectors, "
			 "the device holds 1024"), "%s", err);
	free(err);
	free(img);
}
