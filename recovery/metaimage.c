/* metaimage.c --- metadata-only images of a cache device (metaimage.h). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"
#include "recovery/metaimage.h"
#include "libcore/read/node_cache.h"
#include "libcore/base/ondisk.h"

#define MI_CHUNK	(1u << 20)	/* bytes read at a time */
#define MI_SCAN_BYTES	512u		/* bytes of a bucket read for its magic */

/* ---- the set of buckets to copy -------------------------------------- */

struct mi_ctx {
	struct cache_set	*c;
	struct bt_dev		*dev;
	uint64_t		nbuckets;	/* c->nbuckets, bounded by the device size */
	uint8_t			*want;		/* nbuckets entries: 1 = copy */
	struct printbuf		*warn;
	unsigned		nr_problems;
};

static void mi_problem(struct mi_ctx *m, const char *msg)
{
	prt_printf(m->warn, "%s\n", msg);
	m->nr_problems++;
}

/* Mark bucket b when it is a bucket of the cache inside the device. */
static void want_bucket(struct mi_ctx *m, uint64_t b)
{
	struct cache_set *c = m->c;

	if (b < c->first_bucket || b >= m->nbuckets)
		return;
	if ((bt_bucket_to_sector(c, b + 1) << SECTOR_SHIFT) > m->dev->size)
		return;
	m->want[b] = 1;
}

/* The buckets of k's pointers; k may be a jset slot key (BKEY_PAD words): no
 * more than its room is read whatever KEY_PTRS claims. */
static void want_key(struct mi_ctx *m, const struct bkey *k)
{
	for (unsigned i = 0; i < KEY_PTRS(k) && i < BKEY_PAD - 2; i++)
		if (PTR_DEV(k, i) == m->c->nr_this_dev)
			want_bucket(m, PTR_BUCKET_NR(m->c, k, i));
}

static int walk_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	(void)n;
	want_key(arg, pos->end);
	return 0;
}

static int walk_error(const struct bkey *k, unsigned level, int err, const char *msg,
		      void *arg)
{
	(void)level;
	(void)err;
	want_key(arg, k);	/* copy the damaged node as it is */
	mi_problem(arg, msg);
	return 0;
}

/* Buckets whose first sector carries a magic of the set. */
static void scan_magics(struct mi_ctx *m)
{
	struct cache_set *c = m->c;
	uint8_t buf[MI_SCAN_BYTES];
	struct printbuf e = PRINTBUF;
	unsigned unreadable = 0;

	for (uint64_t b = c->first_bucket; b < m->nbuckets; b++) {
		uint64_t off = bt_bucket_to_sector(c, b) << SECTOR_SHIFT, magic;

		if (m->want[b] || off + sizeof(buf) > m->dev->size)
			continue;
		if (bt_dev_read(m->dev, buf, sizeof(buf), off, "bucket magic", &e)) {
			if (!unreadable++)
				mi_problem(m, printbuf_str(&e));
			printbuf_reset(&e);
			continue;
		}
		memcpy(&magic, buf + 8, 8);
		magic = le64toh(magic);
		if (magic == c->bset_magic || magic == c->jset_magic || magic == c->pset_magic)
			want_bucket(m, b);
	}
	if (unreadable > 1) {
		prt_printf(&e, "%u buckets of '%s' could not be read to look for metadata magics",
			   unreadable, m->dev->path);
		mi_problem(m, printbuf_str(&e));
	}
	printbuf_exit(&e);
}

/* Fill m->want from an opened (perhaps partly) cache set. */
static void collect(struct mi_ctx *m, int open_ret)
{
	struct cache_set *c = m->c;
	unsigned nj = c->sb.keys < SB_JOURNAL_BUCKETS ? c->sb.keys : SB_JOURNAL_BUCKETS;
	struct printbuf e = PRINTBUF;
	int ret;

	for (unsigned i = 0; i < nj; i++)
		want_bucket(m, c->sb.d[i]);
	if (c->prio_chain)
		for (unsigned i = 0; i < c->prio_buckets; i++)
			if (c->prio_chain[i])
				want_bucket(m, c->prio_chain[i]);
	if (c->prio_start)
		want_bucket(m, c->prio_start);
	want_key(m, (const struct bkey *)&c->uuid_key);
	want_key(m, (const struct bkey *)&c->root_key);

	if (KEY_PTRS((const struct bkey *)&c->root_key) && open_ret != -BT_ERR_JOURNAL_EMPTY) {
		struct bt_walk_opts wo = { walk_node, walk_error, m, 0,
					   c->buckets ? BT_WALK_RAISE_GENS : 0 };
		struct bt_node_cache *nc = bt_node_cache_new(c, BT_NODE_CACHE_DEFAULT_BYTES, 0);

		/* even out of memory: the magic scan below still finds the nodes */
		ret = nc ? bt_btree_walk(nc, (const struct bkey *)&c->root_key, c->root_level,
					 &wo, &e) : -ENOMEM;
		if (ret) {
			prt_printf(&e, "%sbtree walk of '%s' stopped: %s", e.pos ? " -- " : "",
				   m->dev->path, bt_err_str(ret));
			mi_problem(m, printbuf_str(&e));
		}
		bt_node_cache_free(nc);
	}
	printbuf_exit(&e);
	scan_magics(m);
}

/* ---- extent list ------------------------------------------------------ */

struct mi_extents {
	struct bt_metaimage_extent	*v;
	size_t				nr, size;
};

/* Append [off, off + len) with flags, merging with the previous extent. */
static int ext_add(struct mi_extents *x, uint64_t off, uint64_t len, uint32_t flags)
{
	struct bt_metaimage_extent *last = x->nr ? &x->v[x->nr - 1] : NULL;

	if (last && last->flags == flags && last->offset + last->len >= off) {
		if (off + len > last->offset + last->len)
			last->len = off + len - last->offset;
		return 0;
	}
	if (x->nr == x->size) {
		size_t n = x->size ? x->size * 2 : 64;
		void *p = realloc(x->v, n * sizeof(*x->v));

		if (!p)
			return -ENOMEM;
		x->v = p;
		x->size = n;
	}
	x->v[x->nr++] = (struct bt_metaimage_extent){ off, len, flags };
	return 0;
}

/*
 * Probe-read every range [off, off + len) in chunks and append it as
 * present or missing extents.
 */
static int probe_range(struct mi_ctx *m, struct mi_extents *x, uint8_t *buf,
		       uint64_t off, uint64_t len)
{
	struct printbuf e = PRINTBUF;
	int ret = 0;

	while (!ret && len) {
		uint64_t n = len < MI_CHUNK ? len : MI_CHUNK;
		uint32_t flags = 0;

		if (bt_dev_read(m->dev, buf, n, off, "metadata", &e)) {
			prt_printf(&e, " (%llu bytes recorded as missing)", (unsigned long long)n);
			mi_problem(m, printbuf_str(&e));
			printbuf_reset(&e);
			flags = BT_METAIMAGE_MISSING;
		}
		ret = ext_add(x, off, n, flags);
		off += n;
		len -= n;
	}
	printbuf_exit(&e);
	return ret;
}

/* The extents of the image: [0, 8192) then the wanted buckets, in order. */
static int build_extents(struct mi_ctx *m, struct mi_extents *x, uint8_t *buf)
{
	uint64_t sb_end = m->dev->size < BT_METAIMAGE_SB_BYTES ? m->dev->size & ~511ULL
							       : BT_METAIMAGE_SB_BYTES;
	uint64_t run_start = 0, run_end = sb_end;
	int ret = 0;

	for (uint64_t b = 0; m->want && b < m->nbuckets && !ret; b++) {
		uint64_t s, e;

		if (!m->want[b])
			continue;
		s = bt_bucket_to_sector(m->c, b) << SECTOR_SHIFT;
		e = bt_bucket_to_sector(m->c, b + 1) << SECTOR_SHIFT;
		if (s <= run_end) {
			if (e > run_end)
				run_end = e;
			continue;
		}
		if (run_end > run_start)
			ret = probe_range(m, x, buf, run_start, run_end - run_start);
		run_start = s;
		run_end = e;
	}
	if (!ret && run_end > run_start)
		ret = probe_range(m, x, buf, run_start, run_end - run_start);
	return ret;
}

/* ---- compressed output -------------------------------------------------- */

struct mi_out {
	int		fd;
	ZSTD_CCtx	*z;
	void		*obuf;
	size_t		osize;
};

static int write_all(int fd, const void *buf, size_t len)
{
	while (len) {
		ssize_t r = write(fd, buf, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		buf = (const char *)buf + r;
		len -= (size_t)r;
	}
	return 0;
}

static int out_put(struct mi_out *o, const void *buf, size_t len, ZSTD_EndDirective end,
		   struct printbuf *err)
{
	ZSTD_inBuffer in = { buf, len, 0 };

	for (;;) {
		ZSTD_outBuffer ob = { o->obuf, o->osize, 0 };
		size_t left = ZSTD_compressStream2(o->z, &ob, &in, end);
		int ret;

		if (ZSTD_isError(left)) {
			prt_printf(err, "zstd compression failed: %s", ZSTD_getErrorName(left));
			return -EIO;
		}
		ret = write_all(o->fd, o->obuf, ob.pos);
		if (ret) {
			prt_printf(err, "write error on the image file: %s", strerror(-ret));
			return ret;
		}
		if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
			return 0;
	}
}

static void put_le32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put_le64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

static int write_header(struct mi_out *o, const struct mi_ctx *m, const struct mi_extents *x,
			struct printbuf *err)
{
	size_t len = BT_METAIMAGE_HDR_BYTES + x->nr * BT_METAIMAGE_EXTENT_BYTES;
	uint8_t *h = calloc(1, len);
	int ret;

	if (!h)
		return -ENOMEM;
	memcpy(h, BT_METAIMAGE_MAGIC, 8);
	put_le32(h + 8, BT_METAIMAGE_VERSION);
	put_le64(h + 16, m->dev->size);
	put_le32(h + 24, m->want ? (uint32_t)(m->c->bucket_size << SECTOR_SHIFT) : 0);
	put_le32(h + 28, (uint32_t)x->nr);
	for (size_t i = 0; i < x->nr; i++) {
		uint8_t *e = h + BT_METAIMAGE_HDR_BYTES + i * BT_METAIMAGE_EXTENT_BYTES;

		put_le64(e, x->v[i].offset);
		put_le64(e + 8, x->v[i].len);
		put_le32(e + 16, x->v[i].flags);
	}
	ret = out_put(o, h, len, ZSTD_e_continue, err);
	free(h);
	return ret;
}

/* Copy the present extents; a range unreadable now (it was readable when probed) is zeroed. */
static int write_data(struct mi_out *o, struct mi_ctx *m, const struct mi_extents *x,
		      uint8_t *buf, struct bt_metaimage_stats *st, struct printbuf *err)
{
	struct printbuf e = PRINTBUF;
	int ret = 0;

	for (size_t i = 0; i < x->nr && !ret; i++) {
		uint64_t off = x->v[i].offset, len = x->v[i].len;

		if (x->v[i].flags & BT_METAIMAGE_MISSING) {
			st->missing_bytes += len;
			continue;
		}
		while (!ret && len) {
			size_t n = len < MI_CHUNK ? (size_t)len : MI_CHUNK;

			if (bt_dev_read(m->dev, buf, n, off, "metadata", &e)) {
				prt_str(&e, " (written as zeroes)");
				mi_problem(m, printbuf_str(&e));
				printbuf_reset(&e);
				memset(buf, 0, n);
			}
			ret = out_put(o, buf, n, ZSTD_e_continue, err);
			st->bytes += n;
			off += n;
			len -= n;
		}
	}
	printbuf_exit(&e);
	return ret;
}

static int write_image(struct mi_ctx *m, int out_fd, int level, const struct mi_extents *x,
		       uint8_t *buf, struct bt_metaimage_stats *st, struct printbuf *err)
{
	struct mi_out o = { out_fd, ZSTD_createCCtx(), NULL, ZSTD_CStreamOutSize() };
	int ret = -ENOMEM;

	o.obuf = malloc(o.osize);
	if (!o.z || !o.obuf)
		goto out;
	ZSTD_CCtx_setParameter(o.z, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(o.z, ZSTD_c_checksumFlag, 1);
	ret = write_header(&o, m, x, err);
	if (!ret)
		ret = write_data(&o, m, x, buf, st, err);
	if (!ret)
		ret = out_put(&o, NULL, 0, ZSTD_e_end, err);
out:
	if (ret == -ENOMEM)
		prt_printf(err, "out of memory writing the image of '%s'", m->dev->path);
	ZSTD_freeCCtx(o.z);
	free(o.obuf);
	return ret;
}

int bt_metaimage_create(struct bt_dev *dev, int out_fd, int level,
			struct bt_metaimage_stats *st, struct printbuf *warn,
			struct printbuf *err)
{
	struct cache_set *c = calloc(1, sizeof(*c));
	struct mi_ctx m = { c, dev, 0, NULL, warn, 0 };
	struct mi_extents x = { 0 };
	uint8_t *buf = malloc(MI_CHUNK);
	struct printbuf e = PRINTBUF;
	int ret, open_ret;

	memset(st, 0, sizeof(*st));
	if (!c || !buf) {
		ret = -ENOMEM;
		prt_printf(err, "out of memory imaging '%s'", dev->path);
		goto out;
	}
	/* the superblock block must be readable, the rest is best effort */
	ret = bt_dev_read(dev, buf, SB_SIZE, SB_OFFSET_BYTES, "superblock", err);
	if (ret)
		goto out;
	open_ret = bt_cache_set_open(c, dev, BT_OPEN_KEEP_GOING | BT_OPEN_NO_SB_VALIDATE, &e);
	if (open_ret && open_ret != -BT_ERR_NO_CACHE_SET && !bt_sb_is_bdev(&c->sb)) {
		if (!c->nbuckets || !c->bucket_size)
			prt_printf(&e, " (no cache geometry: only bytes 0-%u imaged)",
				   BT_METAIMAGE_SB_BYTES - 1);
		mi_problem(&m, printbuf_str(&e));
	}
	if (c->nbuckets && c->bucket_size && c->sb.keys) {
		/* a damaged superblock may claim more buckets than the device holds */
		m.nbuckets = dev->size / ((uint64_t)c->bucket_size << SECTOR_SHIFT);
		if (m.nbuckets > c->nbuckets)
			m.nbuckets = c->nbuckets;
		m.want = calloc(m.nbuckets ? m.nbuckets : 1, 1);
		if (!m.want) {
			ret = -ENOMEM;
			prt_printf(err, "out of memory imaging '%s'", dev->path);
			goto out_c;
		}
		collect(&m, open_ret);
	}
	ret = build_extents(&m, &x, buf);
	if (!ret && x.nr > BT_METAIMAGE_MAX_EXTENTS)
		ret = -E2BIG;
	if (ret) {
		prt_printf(err, "cannot list the metadata extents of '%s': %s", dev->path,
			   strerror(-ret));
		goto out_c;
	}
	for (uint64_t b = 0; m.want && b < m.nbuckets; b++)
		st->nr_buckets += m.want[b];
	ret = write_image(&m, out_fd, level, &x, buf, st, err);
	if (!ret)
		ret = (int)m.nr_problems;
	st->nr_problems = m.nr_problems;
out_c:
	bt_cache_set_exit(c);
out:
	printbuf_exit(&e);
	free(m.want);
	free(x.v);
	free(buf);
	free(c);
	return ret;
}

/* ---- reading an image --------------------------------------------------- */

struct bt_metaimage_reader {
	int			fd;
	const char		*name;
	ZSTD_DCtx		*z;
	void			*ibuf;
	size_t			isize;
	ZSTD_inBuffer		in;
	bool			eof;		/* no more compressed input */
	struct bt_metaimage_hdr	hdr;
};

/* Decompress exactly len bytes into buf. Returns 0, -EIO (zstd, read error, truncated). */
static int mi_read(struct bt_metaimage_reader *r, void *buf, size_t len, struct printbuf *err)
{
	ZSTD_outBuffer out = { buf, len, 0 };

	while (out.pos < out.size) {
		size_t ret, before = out.pos;

		if (r->in.pos == r->in.size && !r->eof) {
			ssize_t n = read(r->fd, r->ibuf, r->isize);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				prt_printf(err, "read error on image '%s': %s", r->name,
					   strerror(errno));
				return -errno;
			}
			r->in = (ZSTD_inBuffer){ r->ibuf, (size_t)n, 0 };
			r->eof = n == 0;
		}
		ret = ZSTD_decompressStream(r->z, &out, &r->in);
		if (ZSTD_isError(ret)) {
			prt_printf(err, "image '%s' is not a valid zstd file: %s", r->name,
				   ZSTD_getErrorName(ret));
			return -EIO;
		}
		/* all input used and nothing more comes out: the file ends here */
		if (r->eof && r->in.pos == r->in.size && out.pos == before) {
			prt_printf(err, "image '%s' is truncated: its data ends early", r->name);
			return -EIO;
		}
	}
	return 0;
}

static uint32_t get_le32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get_le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }

static int check_extents(const struct bt_metaimage_reader *r, struct printbuf *err)
{
	const struct bt_metaimage_hdr *h = &r->hdr;
	uint64_t prev_end = 0;

	for (uint32_t i = 0; i < h->nr; i++) {
		const struct bt_metaimage_extent *e = &h->ext[i];

		if ((e->offset | e->len) & 511 || !e->len || e->offset < prev_end ||
		    e->len > h->dev_size || e->offset > h->dev_size - e->len ||
		    e->flags & ~(uint32_t)BT_METAIMAGE_MISSING) {
			prt_printf(err, "bad extent %u in image '%s' (byte %llu of its header): "
				   "offset %llu length %llu flags %u (device size %llu)", i, r->name,
				   (unsigned long long)(BT_METAIMAGE_HDR_BYTES +
							(uint64_t)i * BT_METAIMAGE_EXTENT_BYTES),
				   (unsigned long long)e->offset, (unsigned long long)e->len,
				   e->flags, (unsigned long long)h->dev_size);
			return -EINVAL;
		}
		prev_end = e->offset + e->len;
	}
	return 0;
}

static int read_header(struct bt_metaimage_reader *r, struct printbuf *err)
{
	uint8_t h[BT_METAIMAGE_HDR_BYTES], e[BT_METAIMAGE_EXTENT_BYTES];
	int ret = mi_read(r, h, sizeof(h), err);

	if (ret)
		return ret;
	if (memcmp(h, BT_METAIMAGE_MAGIC, 8)) {
		prt_printf(err, "'%s' is not a bcache-tool metadata image (bad magic at byte 0)",
			   r->name);
		return -EINVAL;
	}
	r->hdr.version = get_le32(h + 8);
	r->hdr.dev_size = get_le64(h + 16);
	r->hdr.bucket_bytes = get_le32(h + 24);
	r->hdr.nr = get_le32(h + 28);
	if (r->hdr.version != BT_METAIMAGE_VERSION) {
		prt_printf(err, "image '%s' has version %u at byte 8, this tool reads version %u",
			   r->name, r->hdr.version, BT_METAIMAGE_VERSION);
		return -EINVAL;
	}
	if (r->hdr.nr > BT_METAIMAGE_MAX_EXTENTS) {
		prt_printf(err, "image '%s' lists %u extents at byte 28, at most %u allowed",
			   r->name, r->hdr.nr, BT_METAIMAGE_MAX_EXTENTS);
		return -EINVAL;
	}
	r->hdr.ext = calloc(r->hdr.nr ? r->hdr.nr : 1, sizeof(*r->hdr.ext));
	if (!r->hdr.ext) {
		prt_printf(err, "out of memory reading image '%s'", r->name);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < r->hdr.nr; i++) {
		ret = mi_read(r, e, sizeof(e), err);
		if (ret)
			return ret;
		r->hdr.ext[i] = (struct bt_metaimage_extent){ get_le64(e), get_le64(e + 8),
							      get_le32(e + 16) };
	}
	return check_extents(r, err);
}

int bt_metaimage_open(int in_fd, const char *name, struct bt_metaimage_reader **out,
		      const struct bt_metaimage_hdr **hdr, struct printbuf *err)
{
	struct bt_metaimage_reader *r = calloc(1, sizeof(*r));
	int ret;

	*out = NULL;
	if (!r || !(r->z = ZSTD_createDCtx()) ||
	    !(r->ibuf = malloc(r->isize = ZSTD_DStreamInSize()))) {
		bt_metaimage_close(r);
		prt_printf(err, "out of memory reading image '%s'", name);
		return -ENOMEM;
	}
	r->fd = in_fd;
	r->name = name;
	ret = read_header(r, err);
	if (ret) {
		bt_metaimage_close(r);
		return ret;
	}
	*out = r;
	*hdr = &r->hdr;
	return 0;
}

int bt_metaimage_restore(struct bt_metaimage_reader *r, struct bt_dev *dev,
			 struct printbuf *err)
{
	uint8_t *buf = malloc(MI_CHUNK), extra;
	int ret = 0;

	if (!buf) {
		prt_printf(err, "out of memory restoring image '%s'", r->name);
		return -ENOMEM;
	}
	if (dev->size < r->hdr.dev_size) {
		prt_printf(err, "'%s' is too small for image '%s': %llu bytes, the image needs %llu",
			   dev->path, r->name, (unsigned long long)dev->size,
			   (unsigned long long)r->hdr.dev_size);
		ret = -BT_ERR_DEV_TOO_SMALL;
	}
	for (uint32_t i = 0; i < r->hdr.nr && !ret; i++) {
		uint64_t off = r->hdr.ext[i].offset, len = r->hdr.ext[i].len;

		if (r->hdr.ext[i].flags & BT_METAIMAGE_MISSING)
			continue;
		while (!ret && len) {
			size_t n = len < MI_CHUNK ? (size_t)len : MI_CHUNK;

			ret = mi_read(r, buf, n, err);
			if (!ret)
				ret = bt_dev_write(dev, buf, n, off, "metadata", err);
			off += n;
			len -= n;
		}
	}
	if (!ret) {
		struct printbuf e = PRINTBUF;

		if (!mi_read(r, &extra, 1, &e)) {
			prt_printf(err, "image '%s' has data after its last extent", r->name);
			ret = -EINVAL;
		}
		printbuf_exit(&e);
	}
	if (!ret)
		ret = bt_dev_flush(dev, err);
	free(buf);
	return ret;
}

void bt_metaimage_close(struct bt_metaimage_reader *r)
{
	if (!r)
		return;
	ZSTD_freeDCtx(r->z);
	free(r->ibuf);
	free(r->hdr.ext);
	free(r);
}
