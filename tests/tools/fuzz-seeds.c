/* fuzz-seeds.c --- cut the seed inputs of the fuzz targets out of one cache image.
 *
 *   fuzz-seeds IMAGE OUTDIR NAME
 *
 * Writes OUTDIR/TARGET/NAME-... in the input formats of the targets in tests/fuzz:
 *   sb/     flags 0 + the 4 KiB superblock block
 *   jset/   flags 0 + each journal bucket of sb.d[] up to its last
 *           non-zero block (empty buckets skipped)
 *   prio/   flags 0 + the first prio bucket of the newest jset
 *           (meta_bucket_bytes)
 *   uuid/   the KEY_SIZE sectors of the uuid key
 *   btree/  flags (level << 2) + each btree node reachable from the root
 *           (KEY_SIZE sectors, trailing zero blocks cut)
 *   bkey/   the merged keys of each node (packed u64s)
 * The image is opened read-only and nothing is validated beyond what
 * bt_cache_set_open() with BT_OPEN_KEEP_GOING needs; what cannot be
 * read is skipped. The whole-image seeds (fsck_n, fsck_y) are made by
 * tests/fuzz/img2fuzz.py.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/read/node_cache.h"

struct seeds {
	const char	*dir, *name;
	struct cache_set *c;
	unsigned	nr_nodes;
};

static void put1(const struct seeds *s, const char *target, const char *what, int flags,
		 const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", s->dir, target);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/%s/%s-%s", s->dir, target, s->name, what);
	f = fopen(path, "w");
	if (!f || (flags >= 0 && fputc(flags, f) == EOF) || fwrite(buf, 1, len, f) != len ||
	    fclose(f)) {
		fprintf(stderr, "fuzz-seeds: writing %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/*
 * put1(), and for a target with a flags byte a second copy "-fixed" with
 * FZ_FIX_MAGIC | FZ_FIX_CSUM (tests/fuzz/common/fuzz.h) set: the harness
 * then gives it the base's magics and valid csums, so that the seeds of
 * other cache sets than the base's reach the parsers.
 */
static void put(const struct seeds *s, const char *target, const char *what, int flags,
		const void *buf, size_t len)
{
	char fixed[128];

	put1(s, target, what, flags, buf, len);
	if (flags < 0 || !strcmp(target, "sb"))
		return;
	snprintf(fixed, sizeof(fixed), "%s-fixed", what);
	put1(s, target, fixed, flags | 3, buf, len);
}

/* Length of buf without its trailing all-zero blocks of bb bytes. */
static size_t trim(const unsigned char *buf, size_t len, size_t bb)
{
	while (len >= bb) {
		size_t i;

		for (i = len - bb; i < len && !buf[i]; i++)
			;
		if (i < len)
			break;
		len -= bb;
	}
	return len;
}

static int read_at(struct cache_set *c, void *buf, size_t len, uint64_t off)
{
	struct printbuf err = PRINTBUF;
	int ret = bt_dev_read(c->dev, buf, len, off, "seed", &err);

	printbuf_exit(&err);
	return ret;
}

static int node_fn(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct seeds *s = arg;
	const struct bkey *k = (const struct bkey *)n->key;
	size_t len = (size_t)KEY_SIZE(k) << SECTOR_SHIFT;
	unsigned char *buf = malloc(len);
	char what[64];

	(void)pos;
	if (buf && !read_at(s->c, buf, len, PTR_OFFSET(k, 0) << SECTOR_SHIFT)) {
		snprintf(what, sizeof(what), "node%u-l%u", s->nr_nodes, n->level);
		put(s, "btree", what, (n->level & 3) << 2, buf,
		    trim(buf, len, (size_t)s->c->block_size << SECTOR_SHIFT));
		if (n->u64s && s->nr_nodes < 16)
			put(s, "bkey", what, -1, n->keys, n->u64s * 8);
	}
	free(buf);
	s->nr_nodes++;
	return s->nr_nodes < 64 ? 0 : 1;
}

static int error_fn(const struct bkey *k, unsigned level, int err, const char *msg, void *arg)
{
	(void)k, (void)level, (void)err, (void)msg, (void)arg;
	return 0;
}

int main(int argc, char **argv)
{
	struct printbuf err = PRINTBUF;
	struct cache_set c;
	struct bt_dev dev;
	struct seeds s = { .c = &c };
	size_t bucket, bb;
	unsigned char *buf;

	if (argc != 4) {
		fprintf(stderr, "usage: fuzz-seeds IMAGE OUTDIR NAME\n");
		return 16;
	}
	s.dir = argv[2];
	s.name = argv[3];
	mkdir(s.dir, 0777);
	if (bt_dev_open(argv[1], BT_DEV_FORCE, &dev, &err)) {
		fprintf(stderr, "fuzz-seeds: %s\n", printbuf_str(&err));
		return 8;
	}
	bt_cache_set_open(&c, &dev, BT_OPEN_KEEP_GOING | BT_OPEN_NO_SB_VALIDATE, &err);
	put(&s, "sb", "sb", 0, c.sb_block, SB_SIZE);
	if (!c.bucket_size || !c.block_size)
		goto out;
	bucket = (size_t)c.bucket_size << SECTOR_SHIFT;
	bb = (size_t)c.block_size << SECTOR_SHIFT;
	buf = malloc(bucket);
	for (unsigned i = 0; buf && i < c.sb.keys && i < SB_JOURNAL_BUCKETS; i++) {
		char what[32];
		size_t len;

		if (read_at(&c, buf, bucket, bt_bucket_to_sector(&c, c.sb.d[i]) << SECTOR_SHIFT))
			continue;
		len = trim(buf, bucket, bb);
		snprintf(what, sizeof(what), "journal%u", i);
		if (len)
			put(&s, "jset", what, 0, buf, len);
	}
	if (buf && c.prio_start && c.meta_bucket_bytes <= bucket &&
	    !read_at(&c, buf, c.meta_bucket_bytes, bt_bucket_to_sector(&c, c.prio_start) << SECTOR_SHIFT))
		put(&s, "prio", "prio", 0, buf, c.meta_bucket_bytes);
	{
		const struct bkey *uk = (const struct bkey *)c.uuid_key.w;
		size_t len = (size_t)KEY_SIZE(uk) << SECTOR_SHIFT;

		if (buf && KEY_PTRS(uk) && len && len <= bucket &&
		    !read_at(&c, buf, len, PTR_OFFSET(uk, 0) << SECTOR_SHIFT))
			put(&s, "uuid", "uuid", -1, buf, trim(buf, len, 512));
	}
	free(buf);
	if (KEY_PTRS((const struct bkey *)c.root_key.w)) {
		struct bt_walk_opts o = { .node_fn = node_fn, .error_fn = error_fn, .arg = &s };
		struct bt_node_cache *nc = bt_node_cache_new(&c, 64 << 20, 0);

		if (nc)
			bt_btree_walk(nc, (const struct bkey *)c.root_key.w, c.root_level, &o, &err);
		bt_node_cache_free(nc);
	}
out:
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	return 0;
}
