/* corrupt.c --- test tool: apply one named fault to an image file.
 *
 *   corrupt IMAGE sb-field FIELD VALUE [--fix-csum]
 *	set a superblock field (FORMAT.md 1.2 names: offset, version, magic,
 *	uuid, set_uuid, flags, seq, feature_compat, feature_incompat,
 *	feature_ro_compat, nbuckets, block_size, bucket_size, nr_in_set,
 *	nr_this_dev, last_mount, first_bucket, keys, d[N], csum,
 *	obso_bucket_size_hi). VALUE is a number (0x.. for hex) or, for the
 *	16-byte fields, "zero" or 32 hex digits. --fix-csum recomputes the
 *	superblock checksum afterwards, so only the named rule is broken.
 *   corrupt IMAGE bytes OFFSET HEX
 *	write the bytes HEX (pairs of hex digits) at byte OFFSET.
 *
 * Faults on jsets, nodes and prios come with the passes that check them.
 * Exit status 0, or 2 on a usage or I/O error (message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcore/ondisk.h"
#include "libcore/sb.h"

struct sb_field {
	const char	*name;
	size_t		off;		/* in struct cache_sb_disk */
	size_t		len;		/* bytes */
};

#define F(name) { #name, offsetof(struct cache_sb_disk, name), \
		  sizeof(((struct cache_sb_disk *)0)->name) }

static const struct sb_field sb_fields[] = {
	F(csum), F(offset), F(version), F(magic), F(uuid), F(set_uuid),
	F(flags), F(seq), F(feature_compat), F(feature_incompat),
	F(feature_ro_compat), F(nbuckets), F(block_size), F(bucket_size),
	F(nr_in_set), F(nr_this_dev), F(last_mount), F(first_bucket),
	F(keys), F(obso_bucket_size_hi),
};

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "corrupt: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 2;
}

static int parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > max)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -1 : 0;
}

static int set_sb_field(uint8_t *sb, const char *name, const char *value)
{
	const struct sb_field *f = NULL;
	struct sb_field d;
	unsigned idx;
	uint64_t v;

	if (sscanf(name, "d[%u]", &idx) == 1) {
		if (idx >= SB_JOURNAL_BUCKETS)
			return die("no field %s", name);
		d = (struct sb_field) { name, offsetof(struct cache_sb_disk, d) + 8 * idx, 8 };
		f = &d;
	}
	for (size_t i = 0; !f && i < sizeof(sb_fields) / sizeof(sb_fields[0]); i++)
		if (!strcmp(sb_fields[i].name, name))
			f = &sb_fields[i];
	if (!f)
		return die("no superblock field '%s'", name);
	if (f->len == 16) {
		size_t len;

		if (!strcmp(value, "zero"))
			memset(sb + f->off, 0, 16);
		else if (parse_hex(value, sb + f->off, 16, &len) || len != 16)
			return die("'%s' is not zero or 32 hex digits", value);
		return 0;
	}
	if (parse_u64(value, &v))
		return die("'%s' is not a number", value);
	for (size_t i = 0; i < f->len; i++)		/* little-endian */
		sb[f->off + i] = (uint8_t)(v >> (8 * i));
	return 0;
}

static int rw(int fd, void *buf, size_t len, off_t off, int write)
{
	ssize_t r = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);

	return r == (ssize_t)len ? 0 : -1;
}

int main(int argc, char **argv)
{
	uint8_t block[SB_SIZE];
	int fd, ret = 0;

	if (argc < 3)
		return die("usage: corrupt IMAGE sb-field FIELD VALUE [--fix-csum] | "
			   "corrupt IMAGE bytes OFFSET HEX%s", "");
	fd = open(argv[1], O_RDWR);
	if (fd < 0)
		return die("cannot open %s", argv[1]);

	if (!strcmp(argv[2], "sb-field") && (argc == 5 || argc == 6)) {
		if (argc == 6 && strcmp(argv[5], "--fix-csum"))
			return die("unknown option %s", argv[5]);
		if (rw(fd, block, SB_SIZE, SB_OFFSET_BYTES, 0))
			return die("cannot read the superblock of %s", argv[1]);
		ret = set_sb_field(block, argv[3], argv[4]);
		if (!ret && argc == 6) {
			struct cache_sb_disk *raw = (void *)block;

			raw->csum = htole64(bt_sb_csum(raw));
		}
		if (!ret && rw(fd, block, SB_SIZE, SB_OFFSET_BYTES, 1))
			ret = die("cannot write the superblock of %s", argv[1]);
	} else if (!strcmp(argv[2], "bytes") && argc == 5) {
		uint8_t bytes[4096];
		size_t len;
		uint64_t off;

		if (parse_u64(argv[3], &off) || parse_hex(argv[4], bytes, sizeof(bytes), &len))
			return die("bad offset or hex bytes: %s", argv[3]);
		if (rw(fd, bytes, len, (off_t)off, 1))
			ret = die("cannot write %s", argv[1]);
	} else {
		ret = die("unknown fault '%s'", argv[2]);
	}
	if (close(fd))
		ret = die("close %s failed", argv[1]);
	return ret;
}
