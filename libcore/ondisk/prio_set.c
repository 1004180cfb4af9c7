/* prio_set.c --- the checksum and the encoder of a prio chain bucket (prio_set.h). */
#include <string.h>

#include "libcore/base/csum.h"
#include "libcore/ondisk/prio_set.h"

uint64_t bt_pset_csum(const void *buf, size_t meta_bucket_bytes)
{
	return bch_crc64((const char *)buf + 8, meta_bucket_bytes - 8);
}

void bt_prio_set_encode(const struct cache_set *c, unsigned idx,
			const struct bt_bucket *buckets, uint64_t seq, uint64_t next_bucket,
			void *buf)
{
	struct prio_set *p = buf;
	uint64_t first = (uint64_t)idx * c->prios_per_bucket;

	memset(buf, 0, c->meta_bucket_bytes);
	for (uint64_t k = 0; k < c->prios_per_bucket && first + k < c->nbuckets; k++) {
		struct bucket_disk *d = &p->data[k];

		d->prio = htole16(buckets[first + k].prio);
		d->gen = buckets[first + k].gen;
	}
	p->next_bucket = htole64(next_bucket);
	p->seq = htole64(seq);
	p->magic = htole64(c->pset_magic);
	p->csum = htole64(bt_pset_csum(buf, c->meta_bucket_bytes));
}
