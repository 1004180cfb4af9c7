/* journal.c --- reading a cache set's journal as the kernel does (journal.h).
 *
 * Two steps: every journal bucket is scanned once with the per-position
 * rules of journal.c journal_read_bucket(), keeping every valid jset in
 * c->journal.all[]; then the kernel's list rules are applied to those jsets
 * twice: in bucket index order (our result, entries[]) and in the order
 * bch_journal_read() would read the buckets (golden-ratio probe, binary
 * search, backward walk), to report when the kernel would disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/ondisk/bkey.h"
#include "libcore/read/journal.h"

#define JSET_READ_SECTORS	(JSET_MAX_BYTES >> SECTOR_SHIFT)	/* 64: PAGE_SECTORS << JSET_BITS */
#define JSET_SLOT_MAX_PTRS	(BKEY_PAD - 2)

static inline uint64_t jseq(const struct bt_journal *jn, size_t ai)
{
	return le64toh(jn->all[ai].j->seq);
}

static inline uint64_t jlast(const struct bt_journal *jn, size_t ai)
{
	return le64toh(jn->all[ai].j->last_seq);
}

/* ---- damage and storage ---------------------------------------------- */

static int add_damage(struct bt_journal *jn, unsigned idx, uint64_t sector,
		      unsigned kind, uint64_t seq, uint64_t bytes, const char *msg)
{
	struct bt_journal_damage *d;

	d = realloc(jn->damage, (jn->nr_damage + 1) * sizeof(*d));
	if (!d)
		return -ENOMEM;
	jn->damage = d;
	d += jn->nr_damage;
	memset(d, 0, sizeof(*d));
	d->bucket_idx = idx;
	d->sector = sector;
	d->err = -BT_ERR_JSET_BAD;
	d->kind = kind;
	d->seq = seq;
	d->bytes = bytes;
	d->msg = strdup(msg);
	if (!d->msg)
		return -ENOMEM;
	jn->nr_damage++;
	return 0;
}

static int add_found(struct bt_journal *jn, const struct jset *j, size_t bytes,
		     unsigned idx, uint64_t sector, bool hidden)
{
	struct bt_journal_entry *e;

	e = realloc(jn->all, (jn->nr_all + 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	jn->all = e;
	e += jn->nr_all;
	e->j = malloc(bytes);
	if (!e->j)
		return -ENOMEM;
	memcpy(e->j, j, bytes);
	e->bytes = bytes;
	e->bucket_idx = idx;
	e->sector = sector;
	e->hidden = hidden;
	jn->nr_all++;
	return 0;
}

/* ---- one bucket --------------------------------------------------------- */

#define WIN_SECTORS	2048u		/* 1 MiB read window */

/* A read window over one journal bucket: sequential large reads. */
struct bwin {
	struct cache_set	*c;
	uint64_t		start;		/* first sector of the bucket */
	uint8_t			*buf;		/* WIN_SECTORS sectors */
	unsigned		wstart, wlen;	/* window, sectors from the bucket start */
};

/*
 * The len sectors at bucket offset off (off + len <= bucket_size,
 * len <= WIN_SECTORS), or NULL after a read error (message in err).
 */
static const void *win_get(struct bwin *w, unsigned off, unsigned len, struct printbuf *err)
{
	unsigned n;

	if (off >= w->wstart && off + len <= w->wstart + w->wlen)
		return w->buf + ((size_t)(off - w->wstart) << SECTOR_SHIFT);
	n = w->c->bucket_size - off;
	if (n > WIN_SECTORS)
		n = WIN_SECTORS;
	w->wlen = 0;
	if (bt_dev_read(w->c->dev, w->buf, (size_t)n << SECTOR_SHIFT,
			(w->start + off) << SECTOR_SHIFT, "jset", err))
		return NULL;
	w->wstart = off;
	w->wlen = n;
	return w->buf;
}

enum pos_verdict { POS_VALID, POS_BAD_MAGIC, POS_TOO_BIG, POS_BAD_CSUM, POS_IO };

/*
 * journal_read_bucket()'s checks at bucket offset off (sectors): magic,
 * size (<= 32 KiB and inside the bucket), csum. *jp points at the jset
 * in the window when the magic matched.
 */
static enum pos_verdict check_position(struct bwin *w, unsigned off, const struct jset **jp,
				       uint64_t *csum, struct printbuf *err)
{
	unsigned left = w->c->bucket_size - off;
	unsigned len = left < JSET_READ_SECTORS ? left : JSET_READ_SECTORS;
	const struct jset *j = win_get(w, off, len, err);
	uint64_t bytes;

	*jp = j;
	if (!j)
		return POS_IO;
	if (le64toh(j->magic) != w->c->jset_magic)
		return POS_BAD_MAGIC;
	bytes = bt_jset_bytes(j);
	if (bytes > ((uint64_t)left << SECTOR_SHIFT) || bytes > JSET_MAX_BYTES)
		return POS_TOO_BIG;
	*csum = bt_jset_csum(j);
	return *csum == le64toh(j->csum) ? POS_VALID : POS_BAD_CSUM;
}

static int record_stop(struct cache_set *c, unsigned idx, unsigned off, enum pos_verdict v,
		       const struct jset *j, uint64_t csum, const char *ioerr)
{
	struct bt_journal *jn = &c->journal;
	uint64_t b = c->sb.d[idx], sector = bt_bucket_to_sector(c, b) + off;
	unsigned long long byte = (unsigned long long)sector << SECTOR_SHIFT;
	char msg[512];

	switch (v) {
	case POS_IO:
		return add_damage(jn, idx, sector, BT_JDAMAGE_IO, 0, 0, ioerr);
	case POS_TOO_BIG:
		snprintf(msg, sizeof(msg),
			 "jset too big at byte %llu of '%s' (journal bucket %u = bucket %llu, "
			 "offset %u sectors): %llu bytes, %llu left in the bucket, at most %u",
			 byte, c->dev->path, idx, (unsigned long long)b, off,
			 (unsigned long long)bt_jset_bytes(j),
			 (unsigned long long)(c->bucket_size - off) << SECTOR_SHIFT, JSET_MAX_BYTES);
		return add_damage(jn, idx, sector, BT_JDAMAGE_TOO_BIG, le64toh(j->seq),
				  bt_jset_bytes(j), msg);
	case POS_BAD_CSUM:
		snprintf(msg, sizeof(msg),
			 "bad checksum in jset at byte %llu of '%s' (journal bucket %u = bucket %llu, "
			 "offset %u sectors): stored %#llx, computed %#llx (seq %llu, %llu bytes)",
			 byte, c->dev->path, idx, (unsigned long long)b, off,
			 (unsigned long long)le64toh(j->csum), (unsigned long long)csum,
			 (unsigned long long)le64toh(j->seq), (unsigned long long)bt_jset_bytes(j));
		return add_damage(jn, idx, sector, BT_JDAMAGE_BAD_CSUM, le64toh(j->seq),
				  bt_jset_bytes(j), msg);
	default:
		return 0;
	}
}

static unsigned jset_sectors(const struct cache_set *c, uint64_t bytes)
{
	size_t block_bytes = (size_t)c->block_size << SECTOR_SHIFT;

	return (unsigned)((bytes + block_bytes - 1) / block_bytes) * c->block_size;
}

/*
 * Scan journal bucket idx from its start: per position magic, size, csum
 * (journal_read_bucket()). Valid jsets go to all[]; the position that ends
 * the scan is recorded as damage unless it is a plain magic mismatch.
 * Then the rest of the bucket is searched block by block for valid jsets
 * the kernel will not see (hidden).
 */
static int scan_bucket(struct cache_set *c, unsigned idx, struct bwin *w)
{
	struct bt_journal *jn = &c->journal;
	uint64_t b = c->sb.d[idx];
	struct printbuf rerr = PRINTBUF;
	enum pos_verdict v = POS_VALID;
	const struct jset *j = NULL;
	unsigned off = 0;
	uint64_t csum = 0;
	char msg[256];
	int ret = 0;

	if (b < c->first_bucket || b >= c->nbuckets) {
		snprintf(msg, sizeof(msg),
			 "journal bucket %u is bucket %llu, outside [%u, %llu) of '%s'",
			 idx, (unsigned long long)b, c->first_bucket,
			 (unsigned long long)c->nbuckets, c->dev->path);
		return add_damage(jn, idx, 0, BT_JDAMAGE_IO, 0, 0, msg);
	}
	w->start = bt_bucket_to_sector(c, b);
	w->wstart = w->wlen = 0;

	while (off < c->bucket_size) {
		v = check_position(w, off, &j, &csum, &rerr);
		if (v != POS_VALID)
			break;
		ret = add_found(jn, j, (size_t)bt_jset_bytes(j), idx, w->start + off, false);
		if (ret)
			goto out;
		off += jset_sectors(c, bt_jset_bytes(j));
	}
	if (off >= c->bucket_size)
		goto out;
	ret = record_stop(c, idx, off, v, j, csum, printbuf_str(&rerr));
	if (ret || v == POS_IO)
		goto out;

	/* past the kernel's stop: anything valid there is invisible to it */
	for (off += c->block_size; off < c->bucket_size;) {
		printbuf_reset(&rerr);
		v = check_position(w, off, &j, &csum, &rerr);
		if (v == POS_IO)
			break;
		if (v != POS_VALID) {
			off += c->block_size;
			continue;
		}
		ret = add_found(jn, j, (size_t)bt_jset_bytes(j), idx, w->start + off, true);
		if (ret)
			break;
		off += jset_sectors(c, bt_jset_bytes(j));
	}
out:
	printbuf_exit(&rerr);
	return ret;
}

/* ---- the kernel's list ---------------------------------------------------- */

/* A list of all[] indices, sorted by seq, oldest first (journal_read_bucket()'s list). */
struct jlist {
	size_t		*idx;
	size_t		nr;
	size_t		cap;
	uint64_t	bucket_seq[SB_JOURNAL_BUCKETS];	/* ja->seq[] */
};

/*
 * Offer jset all[ai] to list l with journal_read_bucket()'s rules: drop
 * heads older than its last_seq; skip it if its seq is listed or older
 * than the last_seq of a newer listed entry; else insert in seq order.
 * Returns 1 if inserted, 0 if skipped, -ENOMEM.
 */
static int jlist_add(const struct bt_journal *jn, struct jlist *l, size_t ai)
{
	uint64_t seq = jseq(jn, ai), last = jlast(jn, ai);
	size_t drop = 0, pos = 0, i;

	while (drop < l->nr && jseq(jn, l->idx[drop]) < last)
		drop++;
	if (drop) {
		memmove(l->idx, l->idx + drop, (l->nr - drop) * sizeof(*l->idx));
		l->nr -= drop;
	}

	for (i = l->nr; i-- > 0;) {
		if (seq == jseq(jn, l->idx[i]) || seq < jlast(jn, l->idx[i]))
			return 0;
		if (seq > jseq(jn, l->idx[i])) {
			pos = i + 1;
			break;
		}
	}

	if (l->nr == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16, *n = realloc(l->idx, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->idx = n;
		l->cap = cap;
	}
	memmove(l->idx + pos + 1, l->idx + pos, (l->nr - pos) * sizeof(*l->idx));
	l->idx[pos] = ai;
	l->nr++;
	if (seq > l->bucket_seq[jn->all[ai].bucket_idx])
		l->bucket_seq[jn->all[ai].bucket_idx] = seq;
	return 1;
}

/* Offer every jset of journal bucket idx, in position order. Returns 1 if any was inserted. */
static int jlist_read_bucket(const struct bt_journal *jn, struct jlist *l, unsigned idx)
{
	int found = 0;

	for (size_t ai = 0; ai < jn->nr_all; ai++) {
		int ret;

		if (jn->all[ai].bucket_idx != idx || jn->all[ai].hidden)
			continue;
		ret = jlist_add(jn, l, ai);
		if (ret < 0)
			return ret;
		found |= ret;
	}
	return found;
}

/* Kernel read_bucket(): mark probed, read, propagate -ENOMEM. */
#define KREAD(b)						\
	({							\
		int __r = jlist_read_bucket(jn, l, (b));	\
		probed[(b)] = true;				\
		if (__r < 0)					\
			return __r;				\
		__r;						\
	})

static uint64_t jlist_newest(const struct bt_journal *jn, const struct jlist *l)
{
	return l->nr ? jseq(jn, l->idx[l->nr - 1]) : 0;
}

/*
 * Emulate bch_journal_read()'s choice of buckets for n journal buckets:
 * golden-ratio probe from index 0, linear fallback, binary search toward
 * the newest bucket, then a backward walk until a bucket yields nothing.
 */
static int kernel_probe(const struct bt_journal *jn, struct jlist *l, unsigned n)
{
	bool probed[SB_JOURNAL_BUCKETS] = { false };
	unsigned i, lo = 0, r, m;

	for (i = 0; i < n; i++) {
		lo = (unsigned)((uint32_t)(i * 2654435769U) % n);
		if (probed[lo])
			break;
		if (KREAD(lo))
			goto bsearch;
	}
	for (lo = 0; lo < n; lo++)
		if (!probed[lo] && KREAD(lo))
			goto bsearch;
	return 0;
bsearch:
	m = lo;
	for (r = lo + 1; r < n && !probed[r]; r++)
		;
	while (lo + 1 < r) {
		uint64_t seq = jlist_newest(jn, l);

		m = (lo + r) >> 1;
		KREAD(m);
		if (seq != jlist_newest(jn, l))
			lo = m;
		else
			r = m;
	}
	lo = m;
	while (1) {
		if (!lo--)
			lo = n - 1;
		if (lo == m)
			break;
		if (probed[lo])
			continue;
		if (!KREAD(lo))
			break;
	}
	return 0;
}
#undef KREAD

static unsigned newest_bucket(const uint64_t *bucket_seq, unsigned n)
{
	uint64_t seq = 0;
	unsigned cur = 0;

	for (unsigned i = 0; i < n; i++)
		if (bucket_seq[i] > seq) {
			seq = bucket_seq[i];
			cur = i;
		}
	return cur;
}

/* Record seq gaps the way bch_journal_replay() walks the list. */
static int find_missing(struct bt_journal *jn)
{
	uint64_t n = jn->last_seq;

	for (size_t i = 0; i < jn->nr; i++) {
		uint64_t seq = le64toh(jn->entries[i].j->seq);

		if (seq != n) {
			uint64_t (*m)[2] = realloc(jn->missing, (jn->nr_missing + 1) * sizeof(*m));

			if (!m)
				return -ENOMEM;
			jn->missing = m;
			m[jn->nr_missing][0] = n;
			m[jn->nr_missing][1] = seq - 1;
			jn->nr_missing++;
		}
		n = seq + 1;
	}
	return 0;
}

static int build_result(struct cache_set *c, const struct jlist *ours, const struct jlist *k,
			unsigned n)
{
	struct bt_journal *jn = &c->journal;
	const struct bt_journal_entry *newest;
	size_t block_bytes = (size_t)c->block_size << SECTOR_SHIFT;

	memcpy(jn->bucket_seq, ours->bucket_seq, sizeof(jn->bucket_seq));
	jn->kernel_nr = k->nr;
	jn->kernel_newest_seq = jlist_newest(jn, k);
	jn->kernel_cur_idx = newest_bucket(k->bucket_seq, n);
	jn->kernel_differs = k->nr != ours->nr ||
		(ours->nr && memcmp(k->idx, ours->idx, ours->nr * sizeof(*k->idx)));
	if (!ours->nr)
		return 0;

	jn->entries = calloc(ours->nr, sizeof(*jn->entries));
	if (!jn->entries)
		return -ENOMEM;
	for (size_t i = 0; i < ours->nr; i++) {
		jn->entries[i] = jn->all[ours->idx[i]];
		jn->nr_keys += bt_jset_nr_keys(jn->entries[i].j, NULL);
	}
	jn->nr = ours->nr;
	newest = &jn->entries[jn->nr - 1];
	jn->newest_seq = le64toh(newest->j->seq);
	jn->last_seq = le64toh(newest->j->last_seq);
	jn->sane_last_seq = jn->last_seq <= jn->newest_seq;
	jn->cur_idx = newest_bucket(jn->bucket_seq, n);
	jn->cur_sector = newest->sector +
		((newest->bytes + block_bytes - 1) / block_bytes) * c->block_size;
	if (jn->kernel_cur_idx != jn->cur_idx)
		jn->kernel_differs = true;
	return find_missing(jn);
}

int bt_journal_read(struct cache_set *c, struct printbuf *err)
{
	struct bt_journal *jn = &c->journal;
	unsigned n = c->sb.keys < SB_JOURNAL_BUCKETS ? c->sb.keys : SB_JOURNAL_BUCKETS;
	struct jlist ours = { 0 }, kern = { 0 };
	struct bwin w = { .c = c };
	int ret = 0;

	bt_journal_exit(jn);
	w.buf = malloc((size_t)WIN_SECTORS << SECTOR_SHIFT);
	if (!w.buf)
		return -ENOMEM;
	for (unsigned idx = 0; idx < n && !ret; idx++)
		ret = scan_bucket(c, idx, &w);
	free(w.buf);

	for (unsigned idx = 0; idx < n && !ret; idx++)
		ret = jlist_read_bucket(jn, &ours, idx) < 0 ? -ENOMEM : 0;
	if (!ret)
		ret = kernel_probe(jn, &kern, n);
	if (!ret)
		ret = build_result(c, &ours, &kern, n);
	free(ours.idx);
	free(kern.idx);
	if (ret == -ENOMEM) {
		prt_printf(err, "out of memory reading the journal of '%s'", c->dev->path);
		return ret;
	}
	if (ret)
		return ret;
	if (!jn->nr) {
		prt_printf(err, "no journal entries found in the %u journal buckets of '%s'", n,
			   c->dev->path);
		if (n)
			prt_printf(err, " (buckets %llu..%llu, bytes %llu..%llu)",
				   (unsigned long long)c->sb.d[0],
				   (unsigned long long)c->sb.d[n - 1],
				   (unsigned long long)bt_bucket_to_sector(c, c->sb.d[0]) << SECTOR_SHIFT,
				   (unsigned long long)(bt_bucket_to_sector(c, c->sb.d[n - 1] + 1)
							<< SECTOR_SHIFT) - 1);
		if (jn->nr_damage)
			prt_printf(err, ", %zu damaged position%s", jn->nr_damage,
				   jn->nr_damage == 1 ? "" : "s");
		return -BT_ERR_JOURNAL_EMPTY;
	}
	return 0;
}

void bt_journal_exit(struct bt_journal *jn)
{
	for (size_t i = 0; i < jn->nr_all; i++)
		free(jn->all[i].j);
	for (size_t i = 0; i < jn->nr_damage; i++)
		free(jn->damage[i].msg);
	free(jn->all);
	free(jn->entries);
	free(jn->missing);
	free(jn->damage);
	memset(jn, 0, sizeof(*jn));
}

/* ---- the newest jset's pointers ------------------------------------------ */

int bt_journal_ptr_check(const struct cache_set *c, const struct bkey *k,
			 const char *what, struct printbuf *err)
{
	unsigned ptrs = (unsigned)KEY_PTRS(k);

	if (!ptrs) {
		prt_printf(err, "%s has no pointers", what);
		return -BT_ERR_BKEY_INVALID;
	}
	if (ptrs > JSET_SLOT_MAX_PTRS) {
		prt_printf(err, "%s has %u pointers, more than its 64-byte slot holds", what, ptrs);
		return -BT_ERR_BKEY_INVALID;
	}
	if (!KEY_SIZE(k)) {
		prt_printf(err, "%s has size 0", what);
		return -BT_ERR_BKEY_INVALID;
	}
	if (KEY_DIRTY(k)) {
		prt_printf(err, "%s is marked dirty", what);
		return -BT_ERR_BKEY_INVALID;
	}
	for (unsigned i = 0; i < ptrs; i++) {
		uint64_t b = PTR_BUCKET_NR(c, k, i);
		uint64_t rem = PTR_OFFSET(k, i) & (c->bucket_size - 1);

		if (PTR_DEV(k, i) >= MAX_CACHES_PER_SET) {
			prt_printf(err, "%s: pointer %u to device %llu, not in the set", what, i,
				   (unsigned long long)PTR_DEV(k, i));
			return -BT_ERR_BKEY_INVALID;
		}
		if (KEY_SIZE(k) + rem > c->bucket_size) {
			prt_printf(err, "%s: pointer %u: bad, length too big (%llu sectors at "
				   "offset %llu of bucket %llu, bucket size %u)", what, i,
				   (unsigned long long)KEY_SIZE(k), (unsigned long long)rem,
				   (unsigned long long)b, c->bucket_size);
			return -BT_ERR_BKEY_INVALID;
		}
		if (b < c->first_bucket) {
			prt_printf(err, "%s: pointer %u: bad, short offset (bucket %llu below "
				   "first bucket %u)", what, i, (unsigned long long)b, c->first_bucket);
			return -BT_ERR_BKEY_INVALID;
		}
		if (b >= c->nbuckets) {
			prt_printf(err, "%s: pointer %u: bad, offset past end of device (bucket "
				   "%llu of %llu)", what, i, (unsigned long long)b,
				   (unsigned long long)c->nbuckets);
			return -BT_ERR_BKEY_INVALID;
		}
	}
	return 0;
}

int bt_journal_check_newest(struct cache_set *c, struct printbuf *err)
{
	const struct bt_journal_entry *e = bt_journal_newest(&c->journal);
	const struct jset *j;
	char what[128];
	int ret;

	if (!e) {
		prt_printf(err, "no journal entries found on '%s'", c->dev->path);
		return -BT_ERR_JOURNAL_EMPTY;
	}
	j = e->j;
	memcpy(c->root_key.w, j->btree_root, sizeof(c->root_key.w));
	memcpy(c->uuid_key.w, j->uuid_bucket, sizeof(c->uuid_key.w));
	c->root_level = le16toh(j->btree_level);
	c->prio_start = c->nr_this_dev < MAX_CACHES_PER_SET ?
		le64toh(j->prio_bucket[c->nr_this_dev]) : 0;

	snprintf(what, sizeof(what), "btree root in jset %llu at byte %llu of '%s'",
		 (unsigned long long)le64toh(j->seq),
		 (unsigned long long)(e->sector << SECTOR_SHIFT) + offsetof(struct jset, btree_root),
		 c->dev->path);
	ret = bt_journal_ptr_check(c, (const struct bkey *)c->root_key.w, what, err);
	if (ret) {
		prt_printf(err, ": bad btree root");
		return -BT_ERR_BTREE_BAD_ROOT;
	}
	return 0;
}

/* ---- printing -------------------------------------------------------------- */

/* Same output as bkey.c bt_bkey_to_text(); replace with it once that is on main. */
/* A key from a 64-byte slot: never print more pointers than the slot holds. */
static void slot_key_to_text(struct printbuf *out, const uint64_t slot[BKEY_PAD])
{
	struct bkey_padded tmp;
	struct bkey *k = (struct bkey *)tmp.w;

	memcpy(tmp.w, slot, sizeof(tmp.w));
	if (KEY_PTRS(k) > JSET_SLOT_MAX_PTRS) {
		prt_printf(out, "invalid key (%llu pointers) %#018llx %#018llx",
			   (unsigned long long)KEY_PTRS(k), (unsigned long long)bk_high(k),
			   (unsigned long long)bk_low(k));
		return;
	}
	bt_bkey_to_text(out, k);
}

void bt_jset_to_text(struct printbuf *out, const struct cache_set *c,
		     const struct bt_journal_entry *e, bool with_keys)
{
	const struct jset *j = e->j;
	unsigned dev = c->nr_this_dev < MAX_CACHES_PER_SET ? c->nr_this_dev : 0;
	bool truncated;
	unsigned nkeys = bt_jset_nr_keys(j, &truncated);

	/* each indented line starts with the newline that ends the previous one */
	prt_printf(out, "jset seq %llu last_seq %llu version %u keys %u (%u u64s)",
		   (unsigned long long)le64toh(j->seq), (unsigned long long)le64toh(j->last_seq),
		   le32toh(j->version), nkeys, le32toh(j->keys));
	printbuf_indent_add(out, 2);
	prt_newline(out);
	prt_printf(out, "at journal bucket %u (bucket %llu) sector %llu, %zu bytes%s",
		   e->bucket_idx, (unsigned long long)c->sb.d[e->bucket_idx % SB_JOURNAL_BUCKETS],
		   (unsigned long long)e->sector, e->bytes,
		   e->hidden ? ", past the kernel's scan (not read by it)" : "");
	prt_newline(out);
	prt_str(out, "btree root: ");
	slot_key_to_text(out, j->btree_root);
	prt_printf(out, " level %u", le16toh(j->btree_level));
	prt_newline(out);
	prt_str(out, "uuid bucket: ");
	slot_key_to_text(out, j->uuid_bucket);
	prt_newline(out);
	prt_printf(out, "prio bucket: %llu", (unsigned long long)le64toh(j->prio_bucket[dev]));
	if (with_keys) {
		const uint64_t *p = j->d, *end = j->d + le32toh(j->keys);

		while (p < end) {
			const struct bkey *k = (const struct bkey *)p;

			prt_newline(out);
			if (p + bkey_u64s(k) > end) {
				prt_printf(out, "truncated key: %u u64s past the end of the jset",
					   (unsigned)(p + bkey_u64s(k) - end));
				break;
			}
			bt_bkey_to_text(out, k);
			p += bkey_u64s(k);
		}
	}
	printbuf_indent_sub(out, 2);
	prt_newline(out);
}

void bt_journal_problems_to_text(struct printbuf *out, const struct cache_set *c)
{
	const struct bt_journal *jn = &c->journal;

	for (size_t i = 0; i < jn->nr_damage; i++) {
		prt_printf(out, "damaged: %s", jn->damage[i].msg);
		prt_newline(out);
	}
	for (size_t i = 0; i < jn->nr_missing; i++) {
		prt_printf(out, "journal entries %llu-%llu missing! (replaying %llu-%llu)",
			   (unsigned long long)jn->missing[i][0],
			   (unsigned long long)jn->missing[i][1],
			   (unsigned long long)jn->last_seq, (unsigned long long)jn->newest_seq);
		prt_newline(out);
	}
	for (size_t i = 0; i < jn->nr_all; i++) {
		const struct bt_journal_entry *e = &jn->all[i];

		if (!e->hidden || le64toh(e->j->seq) < jn->last_seq)
			continue;
		prt_printf(out, "jset seq %llu at byte %llu of '%s' (journal bucket %u) lies past "
			   "the end of the kernel's scan of its bucket: the kernel does not read it",
			   (unsigned long long)le64toh(e->j->seq),
			   (unsigned long long)e->sector << SECTOR_SHIFT, c->dev->path,
			   e->bucket_idx);
		prt_newline(out);
	}
	if (jn->nr && !jn->sane_last_seq) {
		prt_printf(out, "newest jset %llu has last_seq %llu after its own seq",
			   (unsigned long long)jn->newest_seq, (unsigned long long)jn->last_seq);
		prt_newline(out);
	}
	if (jn->kernel_differs) {
		prt_printf(out, "the kernel's journal search would find %zu entries up to seq %llu "
			   "(newest in journal bucket %u); reading every bucket found %zu up to seq "
			   "%llu (journal bucket %u)", jn->kernel_nr,
			   (unsigned long long)jn->kernel_newest_seq, jn->kernel_cur_idx, jn->nr,
			   (unsigned long long)jn->newest_seq, jn->cur_idx);
		prt_newline(out);
	}
}
