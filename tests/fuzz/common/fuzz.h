/* fuzz.h --- shared pieces of the libFuzzer targets of tests/fuzz/.
 *
 * Two kinds of targets:
 *
 * - structure targets (sb, jset, prio, uuid, btree, bkey) splice the input
 *   into a real kernel-written image, the base (images/s03-*, decompressed
 *   by `make fuzz` into build-fuzz/base.img; env BT_FUZZ_BASE overrides),
 *   at the place of the structure they test, optionally fix its magic and
 *   checksum (the first input byte holds those flags, so the fuzzer reaches
 *   past the checks), run the library's reader and put the base back.
 *
 * - whole-image targets (fsck_n, fsck_y) decode the input as a compact
 *   sparse image (fz_image_load() below) into a zeroed memory device.
 *
 * Nothing here writes to a file; the memory device (dev.h) is the only
 * device. Every target must return 0 and never print.
 */
#ifndef BCACHE_TOOL_FUZZ_H
#define BCACHE_TOOL_FUZZ_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/dev/dev.h"
#include "libcore/base/printbuf.h"

#ifndef BT_FUZZ_BASE_IMG
#define BT_FUZZ_BASE_IMG "build-fuzz/base.img"
#endif

/* Flags of the first input byte of the structure targets. */
enum fz_flags {
	FZ_FIX_CSUM	= 1 << 0,	/* recompute the structure's checksum(s) */
	FZ_FIX_MAGIC	= 1 << 1,	/* write the set's magic */
};

static inline void fz_die(const char *what)
{
	fprintf(stderr, "fuzz setup: %s\n", what);
	abort();
}

/* ---- the base image ---------------------------------------------------- */

struct fz_base {
	unsigned char	*pristine;	/* read-only mapping of the base image */
	unsigned char	*work;		/* private writable copy, restored after each run */
	uint64_t	size;		/* bytes */
	struct bt_dev	dev;		/* memory device over work */
	struct cache_set c;		/* the base, opened once (geometry, keys) */
	/* ranges changed by the current run, restored by fz_base_restore() */
	struct { uint64_t off, len; } dirty[SB_JOURNAL_BUCKETS + 8];
	unsigned	nr_dirty;
};

static inline void fz_base_init(struct fz_base *b)
{
	const char *path = getenv("BT_FUZZ_BASE");
	struct printbuf err = PRINTBUF;
	struct stat st;
	int fd;

	if (!path)
		path = BT_FUZZ_BASE_IMG;
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		fz_die("cannot open the base image (run make fuzz, or set BT_FUZZ_BASE)");
	b->size = (uint64_t)st.st_size;
	b->pristine = mmap(NULL, b->size, PROT_READ, MAP_PRIVATE, fd, 0);
	b->work = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (b->pristine == MAP_FAILED || b->work == MAP_FAILED)
		fz_die("mmap of the base image");
	bt_dev_open_mem(&b->dev, "base.img", b->work, b->size, true);
	if (bt_cache_set_open(&b->c, &b->dev, 0, &err))
		fz_die(printbuf_str(&err));
	printbuf_exit(&err);
}

/* Copy len bytes of data to byte off of the work image, zero-filling up to
 * fill bytes; clipped to the image. Remembered for fz_base_restore(). */
static inline void fz_base_put(struct fz_base *b, uint64_t off, const void *data,
			       size_t len, size_t fill)
{
	if (off >= b->size)
		return;
	if (fill < len)
		fill = len;
	if (fill > b->size - off)
		fill = b->size - off;
	if (len > fill)
		len = fill;
	if (b->nr_dirty == sizeof(b->dirty) / sizeof(b->dirty[0]))
		fz_die("too many spliced ranges");
	b->dirty[b->nr_dirty].off = off;
	b->dirty[b->nr_dirty++].len = fill;
	if (len)
		memcpy(b->work + off, data, len);
	memset(b->work + off + len, 0, fill - len);
}

static inline void fz_base_restore(struct fz_base *b)
{
	for (unsigned i = 0; i < b->nr_dirty; i++)
		memcpy(b->work + b->dirty[i].off, b->pristine + b->dirty[i].off, b->dirty[i].len);
	b->nr_dirty = 0;
}

/* ---- compact sparse images (fsck targets) -------------------------------- */

/*
 * Input format, little-endian:
 *   u32  device size in 512-byte sectors (clamped to [16, FZ_IMAGE_MAX_SECTORS])
 *   then records until the input ends:
 *   u32  first sector;  u16  sectors n;  n * 512 bytes of data (a record
 *        cut short by the end of the input keeps what is there)
 * Records are clipped to the device. tests/fuzz/img2fuzz.py makes one from
 * a raw image (runs of non-zero sectors).
 */
#define FZ_IMAGE_MAX_SECTORS	(1u << 19)	/* 256 MiB: the largest golden image */

struct fz_image {
	unsigned char	*buf;		/* FZ_IMAGE_MAX_SECTORS sectors, anonymous mapping */
	uint64_t	size;		/* bytes of the current image */
};

static inline void fz_image_init(struct fz_image *im)
{
	im->buf = mmap(NULL, (size_t)FZ_IMAGE_MAX_SECTORS << 9, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (im->buf == MAP_FAILED)
		fz_die("mmap of the image buffer");
	im->size = 0;
}

static inline uint32_t fz_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Decode data into im->buf (zero where no record says otherwise); false if too short. */
static inline bool fz_image_load(struct fz_image *im, const uint8_t *data, size_t size)
{
	uint64_t sectors;
	size_t pos = 4;

	if (size < 4)
		return false;
	sectors = fz_le32(data);
	if (sectors < 16)
		sectors = 16;
	if (sectors > FZ_IMAGE_MAX_SECTORS)
		sectors = FZ_IMAGE_MAX_SECTORS;
	im->size = sectors << 9;
	while (pos + 6 <= size) {
		uint64_t first = fz_le32(data + pos);
		size_t n = (size_t)(data[pos + 4] | data[pos + 5] << 8) << 9;

		pos += 6;
		if (n > size - pos)
			n = size - pos;
		if (first < sectors) {
			size_t room = (size_t)((sectors - first) << 9);

			memcpy(im->buf + (first << 9), data + pos, n < room ? n : room);
		}
		pos += n;
	}
	return true;
}

/* Zero the image again (pages given back to the kernel). */
static inline void fz_image_clear(struct fz_image *im)
{
	if (madvise(im->buf, (size_t)FZ_IMAGE_MAX_SECTORS << 9, MADV_DONTNEED))
		fz_die("madvise");
	im->size = 0;
}

#endif /* BCACHE_TOOL_FUZZ_H */
