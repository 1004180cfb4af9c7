/* prio.c --- reading the prio/gen chain as super.c prio_read() does (prio.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/read/prio.h"

static bool is_journal_bucket(const struct cache_set *c, uint64_t b, unsigned *idx)
{
	unsigned n = c->sb.keys < SB_JOURNAL_BUCKETS ? c->sb.keys : SB_JOURNAL_BUCKETS;

	for (unsigned i = 0; i < n; i++)
		if (c->sb.d[i] == b) {
			*idx = i;
			return true;
		}
	return false;
}

/* Chain index of bucket b among the first i chain buckets (b was seen). */
static unsigned chain_index(const struct cache_set *c, unsigned i, uint64_t b)
{
	unsigned k = 0;

	while (k < i && c->prio_chain[k] != b)
		k++;
	return k;
}

/*
 * Is bucket b fit to be chain bucket i? Checks that prio_read() itself does
 * not make. seen: one bit per bucket of the chain buckets so far.
 */
static int check_chain_bucket(const struct cache_set *c, unsigned i, uint64_t b,
			      uint64_t from, const uint8_t *seen, struct printbuf *err)
{
	unsigned jidx;

	if (b < c->first_bucket || b >= c->nbuckets) {
		prt_printf(err, "prio chain of '%s': bucket %u of %u is %llu, outside [%u, %llu)",
			   c->dev->path, i, c->prio_buckets, (unsigned long long)b,
			   c->first_bucket, (unsigned long long)c->nbuckets);
		goto from;
	}
	if (is_journal_bucket(c, b, &jidx)) {
		prt_printf(err, "prio chain of '%s': bucket %u of %u is %llu, journal bucket %u",
			   c->dev->path, i, c->prio_buckets, (unsigned long long)b, jidx);
		goto from;
	}
	if (seen[b >> 3] & (1u << (b & 7))) {
		prt_printf(err, "prio chain of '%s' loops: bucket %u of %u is %llu, "
			   "already bucket %u of the chain", c->dev->path, i,
			   c->prio_buckets, (unsigned long long)b, chain_index(c, i, b));
		goto from;
	}
	return 0;
from:
	if (i)
		prt_printf(err, " (next_bucket of bucket %llu at byte %llu); the chain ends "
			   "after %u of %u buckets", (unsigned long long)from,
			   (unsigned long long)(bt_bucket_to_sector(c, from) << SECTOR_SHIFT) +
			   offsetof(struct prio_set, next_bucket), i, c->prio_buckets);
	else
		prt_str(err, " (prio_bucket of the newest jset)");
	return -BT_ERR_PRIO_BAD_CHAIN;
}

/* Check csum then magic of a read chain bucket, as prio_read() does. */
static int check_pset(const struct cache_set *c, unsigned i, uint64_t b,
		      const struct prio_set *p, struct printbuf *err)
{
	uint64_t csum = bt_pset_csum(p, c->meta_bucket_bytes);
	unsigned long long off = (unsigned long long)bt_bucket_to_sector(c, b) << SECTOR_SHIFT;
	bool magic_ok = le64toh(p->magic) == c->pset_magic;

	if (csum != le64toh(p->csum)) {
		prt_printf(err, "bad csum reading priorities: prio_set at byte %llu of '%s' "
			   "(bucket %llu, chain bucket %u of %u): stored %#llx, computed %#llx%s",
			   off, c->dev->path, (unsigned long long)b, i, c->prio_buckets,
			   (unsigned long long)le64toh(p->csum), (unsigned long long)csum,
			   magic_ok ? "" : "; magic wrong too");
		return -BT_ERR_PRIO_BAD_CSUM;
	}
	if (!magic_ok) {
		prt_printf(err, "bad magic reading priorities: prio_set at byte %llu of '%s' "
			   "(bucket %llu, chain bucket %u of %u): %#llx, expected %#llx",
			   off, c->dev->path, (unsigned long long)b, i, c->prio_buckets,
			   (unsigned long long)le64toh(p->magic), (unsigned long long)c->pset_magic);
		return -BT_ERR_PRIO_BAD_MAGIC;
	}
	return 0;
}

static void fill_buckets(struct cache_set *c, unsigned i, const struct prio_set *p)
{
	uint64_t first = (uint64_t)i * c->prios_per_bucket;

	for (uint64_t k = 0; k < c->prios_per_bucket && first + k < c->nbuckets; k++) {
		const struct bucket_disk *d = &p->data[k];
		struct bt_bucket *bk = &c->buckets[first + k];

		bk->prio = le16toh(d->prio);
		bk->gen = bk->disk_gen = bk->last_gc = d->gen;
	}
}

int bt_prio_read(struct cache_set *c, struct printbuf *err)
{
	uint64_t b = c->prio_start, from = 0;
	struct prio_set *p;
	uint8_t *seen;
	int ret = 0;

	if (!c->buckets)
		c->buckets = calloc(c->nbuckets ? c->nbuckets : 1, sizeof(*c->buckets));
	if (!c->prio_chain)
		c->prio_chain = calloc(c->prio_buckets ? c->prio_buckets : 1,
				       sizeof(*c->prio_chain));
	p = malloc(c->meta_bucket_bytes);
	seen = calloc((size_t)(c->nbuckets >> 3) + 1, 1);
	if (!c->buckets || !c->prio_chain || !p || !seen) {
		free(p);
		free(seen);
		prt_printf(err, "out of memory reading the prio chain of '%s'", c->dev->path);
		return -ENOMEM;
	}

	for (unsigned i = 0; i < c->prio_buckets; i++) {
		ret = check_chain_bucket(c, i, b, from, seen, err);
		if (ret)
			break;
		c->prio_chain[i] = b;
		seen[b >> 3] |= (uint8_t)(1u << (b & 7));
		ret = bt_dev_read(c->dev, p, c->meta_bucket_bytes,
				  bt_bucket_to_sector(c, b) << SECTOR_SHIFT, "prio_set", err);
		if (ret)
			break;
		ret = check_pset(c, i, b, p, err);
		if (ret)
			break;
		if (!i)
			c->prio_seq = le64toh(p->seq);
		fill_buckets(c, i, p);
		from = b;
		b = le64toh(p->next_bucket);
	}
	free(p);
	free(seen);
	return ret;
}
