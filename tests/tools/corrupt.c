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
 *   corrupt IMAGE bytes WHERE HEX
 *	write the bytes HEX (pairs of hex digits) at WHERE: a byte offset,
 *	or BASE+OFFSET with BASE one of jset:SEQ (the jset of that seq),
 *	prio:N (the N-th bucket of the prio chain), root (the btree root
 *	node), uuid (the uuid bucket), found with libcore's readers.
 *   corrupt IMAGE jset-field SEQ FIELD VALUE [--fix-csum]
 *	set a jset header field (seq, last_seq, version, keys, btree_level,
 *	prio_bucket (of cache 0), magic, csum), word W of the btree root or uuid key ("root.W",
 *	"uuid.W") or of the N-th key ("kN.W"; words: 0 high, 1 low, 2..
 *	pointers); --fix-csum recomputes the jset csum.
 *   corrupt IMAGE root-key BLOCK N FIELD VALUE [--fix-csum]
 *	set FIELD (size, offset, high, low, ptr0.., gen of ptr0) of the N-th key of the
 *	bset at block BLOCK of the btree root node; --fix-csum recomputes
 *	that bset's csum (version 1, seeded with the root's pointer).
 *   corrupt IMAGE journal-fill zero|random SEED
 *	overwrite every journal bucket d[0..keys-1] of the superblock with
 *	zeroes (what a discard leaves on an SSD) or with pseudo-random bytes
 *	from SEED (xorshift64, so a recipe always gives the same image).
 *   corrupt IMAGE random WHERE LEN SEED
 *	write LEN pseudo-random bytes from SEED (xorshift64, as journal-fill)
 *	at WHERE (as for bytes): random data over a structure, e.g. a dd of
 *	/dev/urandom into a btree node, the same bytes on every run.
 * Exit status 0, or 2 on a usage or I/O error (message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcore/ondisk/bset.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/journal.h"
#include "libcore/base/ondisk.h"
#include "libcore/ondisk/sb.h"

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

/* A number at the start of s, up to a '+'. */
static int parse_u64_prefix(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || (*end && *end != '+') ? -1 : 0;
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

/* Open the image's cache set read-only (journal, prios, uuids) to find structures. */
static int open_set(const char *path, struct bt_dev *dev, struct cache_set *c)
{
	struct printbuf err = PRINTBUF;
	int ret = bt_dev_open(path, BT_DEV_FORCE, dev, &err);

	if (!ret) {
		ret = bt_cache_set_open(c, dev, BT_OPEN_KEEP_GOING, &err);
		if (ret && !c->journal.nr_all)
			bt_dev_close(dev);
		else
			ret = 0;
	}
	if (ret)
		fprintf(stderr, "corrupt: %s\n", printbuf_str(&err));
	printbuf_exit(&err);
	return ret;
}

static const struct bt_journal_entry *find_jset(const struct cache_set *c, uint64_t seq)
{
	for (size_t i = 0; i < c->journal.nr_all; i++)
		if (le64toh(c->journal.all[i].j->seq) == seq)
			return &c->journal.all[i];
	return NULL;
}

/* WHERE as a byte offset; see the comment at the top. */
static int resolve(const char *path, const char *where, uint64_t *off)
{
	struct bt_dev dev;
	struct cache_set c;
	const char *plus = strchr(where, '+');
	uint64_t base = 0, n = 0, add;
	int ret = 0;

	if (!plus)
		return parse_u64(where, off);
	if (parse_u64(plus + 1, &add))
		return -1;
	if (open_set(path, &dev, &c))
		return -1;
	if (!strncmp(where, "jset:", 5) && !parse_u64_prefix(where + 5, &n)) {
		const struct bt_journal_entry *e = find_jset(&c, n);

		ret = e ? 0 : -1;
		if (e)
			base = e->sector << SECTOR_SHIFT;
	} else if (!strncmp(where, "prio:", 5) && !parse_u64_prefix(where + 5, &n)) {
		ret = c.prio_chain && n < c.prio_buckets ? 0 : -1;
		if (!ret)
			base = bt_bucket_to_sector(&c, c.prio_chain[n]) << SECTOR_SHIFT;
	} else if (!strncmp(where, "root+", 5)) {
		base = PTR_OFFSET((struct bkey *)&c.root_key, 0) << SECTOR_SHIFT;
	} else if (!strncmp(where, "uuid+", 5)) {
		base = PTR_OFFSET((struct bkey *)&c.uuid_key, 0) << SECTOR_SHIFT;
	} else {
		ret = -1;
	}
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	*off = base + add;
	return ret;
}

static int set_jset_field(const char *path, int fd, const char *seq_s, const char *field,
			  const char *value, bool fix)
{
	static const struct { const char *name; size_t off, len; } jf[] = {
		{ "csum", 0, 8 }, { "magic", 8, 8 }, { "seq", 16, 8 }, { "version", 24, 4 },
		{ "keys", 28, 4 }, { "last_seq", 32, 8 }, { "btree_level", 168, 2 },
		{ "prio_bucket", 176, 8 },
	};
	const struct bt_journal_entry *e;
	struct bt_dev dev;
	struct cache_set c;
	uint64_t seq, v, off = ~0ULL, len = 8;
	unsigned kn, kw;
	uint8_t *buf;
	int ret = 0;

	if (parse_u64(seq_s, &seq) || parse_u64(value, &v))
		return die("bad seq or value: %s", seq_s);
	if (open_set(path, &dev, &c))
		return 2;
	e = find_jset(&c, seq);
	if (!e) {
		bt_cache_set_exit(&c);
		bt_dev_close(&dev);
		return die("no jset of seq %s", seq_s);
	}
	buf = calloc(1, JSET_MAX_BYTES);
	memcpy(buf, e->j, e->bytes);
	if (sscanf(field, "root.%u", &kw) == 1 && kw < BKEY_PAD) {
		off = offsetof(struct jset, btree_root) + 8 * kw;
	} else if (sscanf(field, "uuid.%u", &kw) == 1 && kw < BKEY_PAD) {
		off = offsetof(struct jset, uuid_bucket) + 8 * kw;
	} else if (sscanf(field, "k%u.%u", &kn, &kw) == 2) {
		const uint64_t *k = ((struct jset *)buf)->d, *end = k + le32toh(e->j->keys);

		for (; kn && k < end; kn--)
			k += bkey_u64s((const struct bkey *)k);
		if (k + kw < end)
			off = (size_t)((const uint8_t *)(k + kw) - buf);
	} else {
		for (size_t i = 0; i < sizeof(jf) / sizeof(jf[0]); i++)
			if (!strcmp(jf[i].name, field)) {
				off = jf[i].off;
				len = jf[i].len;
			}
	}
	if (off == ~0ULL) {
		ret = die("no jset field '%s'", field);
	} else {
		for (size_t i = 0; i < len; i++)
			buf[off + i] = (uint8_t)(v >> (8 * i));
		if (fix)
			((struct jset *)buf)->csum = htole64(bt_jset_csum((struct jset *)buf));
		if (pwrite(fd, buf, e->bytes, (off_t)(e->sector << SECTOR_SHIFT)) != (ssize_t)e->bytes)
			ret = die("cannot write the jset of %s", path);
	}
	free(buf);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	return ret;
}

static int set_root_key(const char *path, int fd, char **argv, bool fix)
{
	struct bt_dev dev;
	struct cache_set c;
	const struct bkey *root;
	uint64_t block, n, v, node_off, *w;
	struct bset *i;
	struct bkey *k;
	size_t bytes, pos = 0;
	uint8_t *buf;
	bool overrun = false;
	int ret = 0;

	if (parse_u64(argv[0], &block) || parse_u64(argv[1], &n) || parse_u64(argv[3], &v))
		return die("bad number in %s", argv[0]);
	if (open_set(path, &dev, &c))
		return 2;
	root = (const struct bkey *)&c.root_key;
	bytes = (size_t)KEY_SIZE(root) << SECTOR_SHIFT;
	node_off = PTR_OFFSET(root, 0) << SECTOR_SHIFT;
	buf = malloc(bytes);
	if (!buf || pread(fd, buf, bytes, (off_t)node_off) != (ssize_t)bytes ||
	    block >= bytes / bt_block_bytes(&c)) {
		ret = die("cannot read the root node of %s", path);
		goto out;
	}
	i = (struct bset *)bt_node_bset(&c, buf, (unsigned)block);
	do
		k = (struct bkey *)bt_bset_next_key(i, &pos, &overrun);
	while (k && n--);
	if (!k) {
		ret = die("no such key in block %s", argv[0]);
		goto out;
	}
	w = (uint64_t *)k;
	if (!strcmp(argv[2], "size"))
		SET_KEY_SIZE(k, v);
	else if (!strcmp(argv[2], "gen") && KEY_PTRS(k))
		SET_PTR(k, 0, v, PTR_OFFSET(k, 0), PTR_DEV(k, 0));
	else if (!strcmp(argv[2], "offset") || !strcmp(argv[2], "low"))
		w[1] = htole64(v);
	else if (!strcmp(argv[2], "high"))
		w[0] = htole64(v);
	else if (!strncmp(argv[2], "ptr", 3) && argv[2][3] >= '0' && argv[2][3] < '0' + (int)KEY_PTRS(k))
		w[2 + argv[2][3] - '0'] = htole64(v);
	else {
		ret = die("no key field '%s'", argv[2]);
		goto out;
	}
	if (fix)
		i->csum = htole64(bt_bset_csum(i, le64toh(root->ptr[0])));
	if (pwrite(fd, buf, bytes, (off_t)node_off) != (ssize_t)bytes)
		ret = die("cannot write the root node of %s", path);
out:
	free(buf);
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	return ret;
}

static int rw(int fd, void *buf, size_t len, off_t off, int write)
{
	ssize_t r = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);

	return r == (ssize_t)len ? 0 : -1;
}

/* The next word of the xorshift64 sequence from *seed (0 stays 0). */
static uint64_t xorshift64(uint64_t *seed)
{
	if (*seed) {
		*seed ^= *seed << 13;
		*seed ^= *seed >> 7;
		*seed ^= *seed << 17;
	}
	return *seed;
}

/* LEN xorshift64 bytes from seed at the place where (resolve()). */
static int write_random(int fd, const char *path, const char *where, const char *len_s,
			const char *seed_s)
{
	uint64_t off, len, seed;
	uint8_t *buf;
	int ret = 0;

	if (resolve(path, where, &off) || parse_u64(len_s, &len) || !len || len > (1u << 24) ||
	    parse_u64(seed_s, &seed) || !seed)
		return die("bad place, length (1..16 MiB) or seed (a non-zero number): %s", where);
	buf = malloc(len + 8);
	if (!buf)
		return die("out of memory%s", "");
	for (uint64_t i = 0; i < len; i += 8) {
		uint64_t w = htole64(xorshift64(&seed));

		memcpy(buf + i, &w, 8);
	}
	if (rw(fd, buf, len, (off_t)off, 1))
		ret = die("cannot write %s", path);
	free(buf);
	return ret;
}

/* Overwrite every journal bucket with zeroes (seed 0) or xorshift64 bytes from seed. */
static int fill_journal(int fd, const char *path, uint64_t seed)
{
	uint8_t block[SB_SIZE];
	struct cache_sb sb;
	uint64_t *buf;
	size_t bytes;
	int ret = 0;

	if (rw(fd, block, SB_SIZE, SB_OFFSET_BYTES, 0))
		return die("cannot read the superblock of %s", path);
	bt_sb_decode((const struct cache_sb_disk *)block, &sb);
	if (!sb.bucket_size || sb.keys > SB_JOURNAL_BUCKETS)
		return die("no journal in the superblock of %s", path);
	bytes = (size_t)sb.bucket_size << SECTOR_SHIFT;
	buf = malloc(bytes);
	if (!buf)
		return die("out of memory%s", "");
	for (unsigned i = 0; i < sb.keys && !ret; i++) {
		for (size_t w = 0; w < bytes / 8; w++)
			buf[w] = xorshift64(&seed);
		if (rw(fd, buf, bytes, (off_t)(sb.d[i] * sb.bucket_size) << SECTOR_SHIFT, 1))
			ret = die("cannot write the journal of %s", path);
	}
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	uint8_t block[SB_SIZE];
	int fd, ret = 0;

	if (argc < 3)
		return die("usage: corrupt IMAGE sb-field FIELD VALUE [--fix-csum] | "
			   "bytes WHERE HEX | jset-field SEQ FIELD VALUE [--fix-csum]%s", "");
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

		if (parse_hex(argv[4], bytes, sizeof(bytes), &len) || resolve(argv[1], argv[3], &off))
			return die("bad place or hex bytes: %s", argv[3]);
		if (rw(fd, bytes, len, (off_t)off, 1))
			ret = die("cannot write %s", argv[1]);
	} else if (!strcmp(argv[2], "jset-field") && (argc == 6 || argc == 7)) {
		if (argc == 7 && strcmp(argv[6], "--fix-csum"))
			return die("unknown option %s", argv[6]);
		ret = set_jset_field(argv[1], fd, argv[3], argv[4], argv[5], argc == 7);
	} else if (!strcmp(argv[2], "root-key") && (argc == 7 || argc == 8)) {
		if (argc == 8 && strcmp(argv[7], "--fix-csum"))
			return die("unknown option %s", argv[7]);
		ret = set_root_key(argv[1], fd, argv + 3, argc == 8);
	} else if (!strcmp(argv[2], "journal-fill") && argc == 4 && !strcmp(argv[3], "zero")) {
		ret = fill_journal(fd, argv[1], 0);
	} else if (!strcmp(argv[2], "journal-fill") && argc == 5 && !strcmp(argv[3], "random")) {
		uint64_t seed;

		if (parse_u64(argv[4], &seed) || !seed)
			return die("bad seed '%s' (a non-zero number)", argv[4]);
		ret = fill_journal(fd, argv[1], seed);
	} else if (!strcmp(argv[2], "random") && argc == 6) {
		ret = write_random(fd, argv[1], argv[3], argv[4], argv[5]);
	} else {
		ret = die("unknown fault '%s'", argv[2]);
	}
	if (close(fd))
		ret = die("close %s failed", argv[1]);
	return ret;
}
