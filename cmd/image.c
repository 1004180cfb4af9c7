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

#include "libcore/dev/dev.h"
#include "recovery/metaimage.h"
#include "libcore/dev/target.h"
#include "cmds.h"

struct image_opts {
	char	*output;	/* popt-allocated */
	int	restore, force, force_in_use, level;
};

/* Declare and open CACHE (read-only) and the output. 0 or a negative code (message in err). */
static int make_open(struct bt_guard *g, const char *cache, const char *output,
		     struct bt_dev *dev, struct bt_outfile *out, struct printbuf *err)
{
	int ret, c, o;

	ret = c = bt_guard_add(g, cache, BT_TARGET_INPUT, "cache device", BT_TARGET_BCACHE, err);
	if (ret >= 0)
		ret = o = bt_guard_add(g, output, BT_TARGET_OUTPUT, "output", 0, err);
	if (ret >= 0)
		ret = bt_guard_open(g, c, 0, dev, err);
	if (ret >= 0) {
		ret = bt_guard_open_file(g, o, out, err);
		if (ret)
			bt_dev_close(dev);
	}
	return ret < 0 ? ret : 0;
}

static int image_make(const char *cache, const struct image_opts *o)
{
	bool to_stdout = !strcmp(o->output, "-"), existed = to_stdout || !access(o->output, F_OK);
	struct printbuf err = PRINTBUF, warn = PRINTBUF;
	struct bt_metaimage_stats st;
	struct bt_outfile out = { .fd = -1 };
	struct bt_guard g;
	struct bt_dev dev;
	struct stat sb;
	int ret;

	bt_guard_init(&g, (o->force_in_use ? BT_GUARD_FORCE_IN_USE : 0) |
		      (o->force ? BT_GUARD_OVERWRITE : 0), &warn);
	ret = make_open(&g, cache, o->output, &dev, &out, &err);
	bt_error_pb(&warn);
	bt_guard_exit(&g);
	if (ret) {
		bt_error_pb(&err);
		printbuf_exit(&err);
		printbuf_exit(&warn);
		return BT_EXIT_OPERATIONAL;
	}
	ret = bt_metaimage_create(&dev, out.fd, o->level, &st, &warn, &err);
	bt_dev_close(&dev);
	if (warn.pos)
		bt_error_pb(&warn);
	if (ret >= 0 && (bt_outfile_finish(&out, UINT64_MAX, &err) ||
			 (!to_stdout && fstat(out.fd, &sb)) || bt_outfile_close(&out, &err)))
		ret = -EIO;
	if (ret < 0) {
		bt_error_pb(&err);
		bt_outfile_close(&out, &err);
		if (!existed)
			unlink(o->output);
		printbuf_exit(&err);
		printbuf_exit(&warn);
		return BT_EXIT_OPERATIONAL;
	}
	fprintf(to_stdout ? stderr : stdout,
		"%s: %llu buckets, %llu bytes of metadata, %llu bytes missing%s",
		cache, (unsigned long long)st.nr_buckets, (unsigned long long)st.bytes,
		(unsigned long long)st.missing_bytes, to_stdout ? "\n" : "");
	if (!to_stdout)
		printf(", image '%s' of %llu bytes\n", o->output, (unsigned long long)sb.st_size);
	if (ret > 0)
		bt_error("image: %d problem%s while reading '%s' (listed above); the image "
			 "holds what could be read", ret, ret == 1 ? "" : "s", cache);
	printbuf_exit(&err);
	printbuf_exit(&warn);
	return ret ? BT_EXIT_PROBLEM : BT_EXIT_OK;
}

/*
 * Declare FILE and DEV, open DEV read-write through the guard (an existing
 * DEV holding data needs --force) and make a regular file at least size
 * bytes: one the guard let us write (new, empty, or --force).
 */
static int open_target(struct bt_guard *g, const char *file, const char *path, uint64_t size,
		       struct bt_dev *dev, struct printbuf *err)
{
	int ret, t;

	ret = bt_guard_add(g, file, BT_TARGET_INPUT, "image", 0, err);
	if (ret >= 0)
		ret = t = bt_guard_add(g, path, BT_TARGET_OUTPUT, "restore target", 0, err);
	if (ret >= 0)
		ret = bt_guard_open(g, t, BT_GUARD_RDWR, dev, err);
	if (ret < 0)
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
	struct printbuf err = PRINTBUF, warn = PRINTBUF;
	const struct bt_metaimage_hdr *hdr;
	struct bt_metaimage_reader *r = NULL;
	struct bt_guard g;
	struct bt_dev dev;
	int fd, ret;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bt_error("image: cannot open '%s': %s", file, strerror(errno));
		return BT_EXIT_OPERATIONAL;
	}
	bt_guard_init(&g, (o->force_in_use ? BT_GUARD_FORCE_IN_USE : 0) |
		      (o->force ? BT_GUARD_OVERWRITE : 0), &warn);
	ret = bt_metaimage_open(fd, file, &r, &hdr, &err);
	if (!ret)
		ret = open_target(&g, file, target, hdr->dev_size, &dev, &err);
	bt_error_pb(&warn);
	bt_guard_exit(&g);
	printbuf_exit(&warn);
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
	return ret ? BT_EXIT_OPERATIONAL : BT_EXIT_OK;
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
		  "overwrite an existing output, or a restore target holding data", NULL },
		BT_OPT_FORCE_IN_USE(&o.force_in_use),
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("image", argc, argv, opts,
				       "CACHE -o FILE | --restore FILE DEV");
	const char **args;
	int n = 0, ret;

	if (!pc)
		return BT_EXIT_USAGE;
	args = poptGetArgs(pc);
	while (args && args[n])
		n++;
	if (o.restore ? n != 2 || o.output : n != 1 || !o.output) {
		bt_error("image: usage: bcache-tool image CACHE -o FILE, or "
			 "bcache-tool image --restore FILE DEV");
		ret = BT_EXIT_USAGE;
	} else if (o.level < 1 || o.level > 19) {
		bt_error("image: bad --level %d (1..19)", o.level);
		ret = BT_EXIT_USAGE;
	} else {
		ret = o.restore ? image_restore(args[0], args[1], &o) : image_make(args[0], &o);
	}
	poptFreeContext(pc);
	free(o.output);
	return ret;
}
