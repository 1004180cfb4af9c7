/* fsck_n.c --- fuzz target: whole-image fsck -n.
 *
 * Input: a compact sparse image (common/fuzz.h fz_image_load()), read by
 * every pass of fsck -n on a read-only memory device. -n makes -y's
 * repairs on the shadow fsck_run() puts over the device (dev_shadow.c), so
 * the repair code runs too; a write that got past the shadow would fail
 * on the read-only device. fsck must not crash, hang or leak, and -n must
 * end with an exit status of 0, 4 or 8 (never 1: nothing may be changed).
 */
#include "common/fsck_run.h"

static struct fz_image image;
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fz_image_init(&image);
	devnull = fz_devnull();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int status;

	if (!fz_image_load(&image, data, size))
		return 0;
	fz_dump(image.buf, image.size);
	status = fz_fsck(image.buf, image.size, FSCK_MODE_NO, devnull, NULL);
	if (status & 1) {
		fprintf(stderr, "fsck -n exit status %d: it claims a repair\n", status);
		abort();
	}
	fz_image_clear(&image);
	return 0;
}
