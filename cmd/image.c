/* image.c --- bcache-tool image: a metadata-only image of a cache device
 * for bug reports (libcore/metaimage.h has the format), and its restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../libcore/dev.h"
#include "../libcore/metaimage.h"
#include "cmds.h"

struct image_opts {
	char	*output;	/* popt-allocated */
	int	restore, force, level;
};

static int image_make(const char *cache, const struct image_opts *o)
{
	bool to_stdout = !strcmp(o->output, "-");
	struct printbuf err = PRINTBUF, warn = PRINTBUF;
	struct bt_metaimage_stats st;
	struct bt_dev dev;
	struct stat sb;
	int fd, ret;

	ret = bt_dev_open(cache, o->force ? BT_DEV_FORCE : 0, &dev, &err);
	if (ret) {
		bt_error_pb(&err);
		printbuf_exit(&err);
		return EXIT_OPERATIONAL;
	}
	fd = to_stdout ? STDOUT_FILENO
		       : open(o->output, O_WRONLY | O_CREAT | O_CLOEXEC |
					 (o->force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		bt_error("image: cannot create '%s': %s%s", o->output, strerror(errno),
			 errno == EEXIST ? " (--force overwrites it)" : "");
		bt_dev_close(&dev);
		return EXIT_OPERATIONAL;
	}
	ret = bt_metaimage_create(&dev, fd, o->level, &st, &warn, &err);
	bt_dev_close(&dev);
	if (warn.pos)
		bt_error_pb(&warn);
	if (ret < 0) {
		bt_error_pb(&err);
		if (!to_stdout) {
			close(fd);
			unlink(o->output);
		}
		printbuf_exit(&err);
		printbuf_exit(&warn);
		return EXIT_OPERATIONAL;
	}
	if (!to_stdout && (fstat(fd, &sb) || close(fd))) {
		bt_error("image: write error on '%s': %s", o->output, strerror(errno));
		ret = -1;
	}
	if (ret >= 0)
		fprintf(to_stdout ? stderr : stdout,
			"%s: %llu buckets, %llu bytes of metadata, %llu bytes missing%s",
			cache, (unsigned long long)st.nr_buckets, (unsigned long long)st.bytes,
			(unsigned long long)st.missing_bytes, to_stdout ? "\n" : "");
	if (ret >= 0 && !to_stdout)
		printf(", image '%s' of %llu bytes\n", o->output, (unsigned long long)sb.st_size);
	if (ret > 0)
		bt_error("image: %d problem%s while reading '%s' (listed above); the image "
			 "holds what could be read", ret, ret == 1 ? "" : "s", cache);
	printbuf_exit(&err);
	printbuf_exit(&warn);
	return ret < 0 ? EXIT_OPERATIONAL : ret ? EXIT_CORRECTED : EXIT_OK;
}

/* Open (creating when absent) DEV read-write and make a regular file at least size bytes. */
static int open_target(const char *path, uint64_t size, int force, struct bt_dev *dev,
		       struct printbuf *err)
{
	int ret, fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd >= 0)
		close(fd);
	else if (errno != EEXIST) {
		prt_printf(err, "image: cannot create '%s': %s", path, strerror(errno));
		return -errno;
	}
	ret = bt_dev_open(path, BT_DEV_RDWR | (force ? BT_DEV_FORCE : 0), dev, err);
	if (ret)
		return ret;
	if (!dev->is_blockdev && dev->fd >= 0 && dev->size < size) {
		if (ftruncate(dev->fd, (off_t)size)) {
			ret = -errno;
			prt_printf(err, "image: cannot extend '%s' to %llu bytes: %s", path,
				   (unsigned long long)size, strerror(errno));
			bt_dev_close(dev);
			return ret;
		}
		dev->size = size;
	}
	return 0;
}

static int image_restore(const char *file, const char *target, const struct image_opts *o)
{
	struct printbuf err = PRINTBUF;
	const struct bt_metaimage_hdr *hdr;
	struct bt_metaimage_reader *r = NULL;
	struct bt_dev dev;
	int fd, ret;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bt_error("image: cannot open '%s': %s", file, strerror(errno));
		return EXIT_OPERATIONAL;
	}
	ret = bt_metaimage_open(fd, file, &r, &hdr, &err);
	if (!ret)
		ret = open_target(target, hdr->dev_size, o->force, &dev, &err);
	if (!ret) {
		ret = bt_metaimage_restore(r, &dev, &err);
		bt_dev_close(&dev);
	}
	if (!ret) {
		uint64_t missing = 0;

		for (uint32_t i = 0; i < hdr->nr; i++)
			if (hdr->ext[i].flags & BT_METAIMAGE_MISSING)
				missing += hdr->ext[i].len;
		printf("%s: restored %u extents of image '%s' (device of %llu bytes)\n", target,
		       hdr->nr, file, (unsigned long long)hdr->dev_size);
		if (missing)
			bt_error("image: %llu bytes were unreadable when the image was made and "
				 "are not restored", (unsigned long long)missing);
	}
	bt_metaimage_close(r);
	close(fd);
	if (ret)
		bt_error_pb(&err);
	printbuf_exit(&err);
	return ret ? EXIT_OPERATIONAL : EXIT_OK;
}

int cmd_image(int argc, const char **argv)
{
	struct image_opts o = { .level = 10 };
	const struct poptOption opts[] = {
		{ "output", 'o', POPT_ARG_STRING, &o.output, 0,
		  "write the image to FILE ('-': standard output)", "FILE" },
		{ "restore", 0, POPT_ARG_NONE, &o.restore, 0,
		  "write the image FILE back into DEV", NULL },
		{ "level", 0, POPT_ARG_INT, &o.level, 0, "zstd level (1..19, default 10)", "N" },
		{ "force", 'f', POPT_ARG_NONE, &o.force, 0,
		  "skip the device in-use checks; overwrite an existing output file", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("image", argc, argv, opts,
				       "CACHE -o FILE | --restore FILE DEV");
	const char **args;
	int n = 0, ret;

	if (!pc)
		return EXIT_USAGE;
	args = poptGetArgs(pc);
	while (args && args[n])
		n++;
	if (o.restore ? n != 2 || o.output : n != 1 || !o.output) {
		bt_error("image: usage: bcache-tool image CACHE -o FILE, or "
			 "bcache-tool image --restore FILE DEV");
		ret = EXIT_USAGE;
	} else if (o.level < 1 || o.level > 19) {
		bt_error("image: bad --level %d (1..19)", o.level);
		ret = EXIT_USAGE;
	} else {
		ret = o.restore ? image_restore(args[0], args[1], &o) : image_make(args[0], &o);
	}
	poptFreeContext(pc);
	free(o.output);
	return ret;
}
