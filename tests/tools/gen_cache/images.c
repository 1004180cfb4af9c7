/* images.c --- gen-cache: the image files, format, backing data and superblocks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "format/format.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/ondisk/sb.h"

#include "gen.h"

int gen_make_file(const char *path, uint64_t bytes)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)bytes)) {
		fprintf(stderr, "gen-cache: '%s': %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int gen_format_all(struct gen *g)
{
	struct bt_format_opts fo;
	struct printbuf out = PRINTBUF, warn = PRINTBUF, err = PRINTBUF;
	int ret;

	bt_format_opts_init(&fo);
	fo.bucket_size = g->o.bucket;
	fo.block_size = g->o.block;
	fo.writeback = true;
	fo.force = true;
	if (g->o.cset_uuid) {
		if (uuid_parse(g->o.cset_uuid, fo.set_uuid)) {
			fprintf(stderr, "gen-cache: bad --cset-uuid '%s'\n", g->o.cset_uuid);
			return -1;
		}
		fo.set_uuid_given = true;
	}
	fo.devs[fo.nr_devs].path = g->cache_path;
	fo.devs[fo.nr_devs++].cache = true;
	for (unsigned i = 0; i < g->nr_slots; i++)
		if (!g->slot[i].flash) {
			fo.devs[fo.nr_devs].path = g->slot[i].path;
			fo.devs[fo.nr_devs++].cache = false;
		}
	ret = bt_format(&fo, &out, &warn, &err);
	if (ret)
		fprintf(stderr, "gen-cache: format: %s\n", printbuf_str(&err));
	else if (!g->o.quiet)
		fputs(printbuf_str(&out), stderr);
	printbuf_exit(&out);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	return ret ? -1 : 0;
}

/* The backing device's own data, from data_offset to its end. */
int gen_write_backing(struct gen *g, struct slot *sl, unsigned slot)
{
	const size_t chunk = 1 << 20;
	uint64_t end = sl->data_offset + sl->sectors;
	uint8_t *buf = malloc(chunk);
	int fd = open(sl->path, O_WRONLY), ret = 0;

	if (!buf || fd < 0) {
		ret = -1;
		goto out;
	}
	for (uint64_t s = sl->data_offset; s < end && !ret; ) {
		uint64_t n = end - s < chunk / 512 ? end - s : chunk / 512;

		for (uint64_t i = 0; i < n; i++)
			gen_fill_sector((uint64_t *)(buf + i * 512), KIND_BACKING, slot, s + i,
				    g->o.seed);
		if (pwrite(fd, buf, n * 512, (off_t)(s * 512)) != (ssize_t)(n * 512))
			ret = -1;
		s += n;
	}
	if (!ret && fsync(fd))
		ret = -1;
out:
	if (ret)
		fprintf(stderr, "gen-cache: writing '%s': %s\n", sl->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

int gen_read_bdev_uuid(struct slot *sl, struct printbuf *err)
{
	struct bt_dev dev;
	uint8_t block[SB_SIZE];
	struct cache_sb sb;
	int ret = bt_dev_open(sl->path, BT_DEV_FORCE, &dev, err);

	if (ret)
		return ret;
	ret = bt_sb_read(&dev, block, &sb, true, err);
	if (!ret)
		memcpy(sl->uuid, sb.uuid, 16);
	bt_dev_close(&dev);
	return ret;
}

/* Attached backing devices: CLEAN, or DIRTY when the set holds dirty data for them. */
int gen_set_bdev_state(struct slot *sl, struct printbuf *err)
{
	struct bt_dev dev;
	uint8_t block[SB_SIZE];
	struct cache_sb sb;
	int ret = bt_dev_open(sl->path, BT_DEV_RDWR | BT_DEV_FORCE, &dev, err);

	if (ret)
		return ret;
	ret = bt_sb_read(&dev, block, &sb, true, err);
	if (!ret) {
		sb.flags = SET_BDEV_STATE(sb.flags, sl->live_dirty ? BDEV_STATE_DIRTY
							      : BDEV_STATE_CLEAN);
		ret = bt_sb_write(&dev, block, &sb, err);
	}
	if (!ret)
		ret = bt_dev_flush(&dev, err);
	bt_dev_close(&dev);
	return ret;
}
