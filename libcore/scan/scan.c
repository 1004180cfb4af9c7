/* scan.c --- find the prio chain, the btree root and the uuid bucket of a
 * cache set without its journal, by reading every bucket (scan.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/bset.h"
#include "libcore/read/btree.h"
#include "libcore/ondisk/prio_set.h"
#include "libcore/ondisk/uuid_entry.h"
#include "libcore/base/errcode.h"
#include "libcore/read/prio.h"
#include "libcore/scan/scan.h"
#include "libcore/scan/scan_internal.h"
#include "libcore/read/uuid.h"

int bt_scan_push_u64(uint64_t **v, size_t *nr, size_t *size, uint64_t x)
{
	if (*nr == *size) {
		size_t n = *size ? *size * 2 : 64;
		uint64_t *p = realloc(*v, n * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*v = p;
		*size = n;
	}
	(*v)[(*nr)++] = x;
	return 0;
}

/* Report progress every 1024 steps and at the end. */
void bt_scan_progress(struct scan *s, uint64_t done, uint64_t total)
{
	if (s->o && s->o->progress && (!(done & 1023) || done >= total))
		s->o->progress(s->o->progress_arg, done, total);
}

/* ---- uuid slots ----------------------------------------------------- */

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * A well-formed slot (FORMAT.md 7.2): all zero when empty; else a known
 * flag, zero padding and a first_reg time (set at attach and at flash
 * volume creation).
 */
static bool uuid_slot_ok(const struct uuid_entry *u)
{
	if (all_zero(u->uuid, 16))
		return all_zero(u, sizeof(*u));
	return !(le32toh(u->flags) & ~UUID_FLASH_ONLY) &&
	       all_zero((const uint8_t *)u + 72, sizeof(*u) - 72) && le32toh(u->first_reg);
}

/* n slots well formed and slot 0 used: a uuid bucket candidate. */
static bool uuid_slots_ok(const void *buf, size_t n)
{
	const struct uuid_entry *u = buf;

	if (all_zero(u[0].uuid, 16))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!uuid_slot_ok(&u[i]))
			return false;
	return true;
}

/* ---- phase 1: the head of every bucket ------------------------------ */

static enum bt_bucket_kind head_kind(const struct cache_set *c, const void *buf)
{
	const uint64_t *w = buf;
	uint64_t magic = le64toh(w[1]);

	if (magic == c->pset_magic)
		return BT_BUCKET_PSET;
	if (magic == c->bset_magic && w[2])
		return BT_BUCKET_BSET;
	if (magic == c->jset_magic)
		return BT_BUCKET_JSET;
	if (uuid_slots_ok(buf, HEAD_BYTES / sizeof(struct uuid_entry)))
		return BT_BUCKET_UUID;
	return BT_BUCKET_OTHER;
}

int bt_scan_bucket_kind(struct cache_set *c, uint64_t b, enum bt_bucket_kind *kind,
			struct printbuf *err)
{
	void *buf;
	int ret;

	if (b >= c->nbuckets) {
		prt_printf(err, "bucket %llu is past the %llu buckets of '%s'",
			   (unsigned long long)b, (unsigned long long)c->nbuckets, c->dev->path);
		return -EINVAL;
	}
	buf = malloc(HEAD_BYTES);
	if (!buf) {
		prt_str(err, "out of memory");
		return -ENOMEM;
	}
	ret = bt_dev_read(c->dev, buf, HEAD_BYTES, bt_scan_bucket_byte(c, b), "bucket", err);
	if (!ret)
		*kind = head_kind(c, buf);
	free(buf);
	return ret;
}

const char *bt_bucket_kind_str(enum bt_bucket_kind kind)
{
	static const char *const names[] = {
		"other", "journal", "prio set", "btree node", "uuid slots",
	};
	return (unsigned)kind < 5 ? names[kind] : "?";
}


static int scan_heads(struct scan *s, struct printbuf *err)
{
	struct cache_set *c = s->c;
	uint8_t *journal = calloc((size_t)(c->nbuckets >> 3) + 1, 1);
	uint8_t *buf = malloc(HEAD_BYTES);
	unsigned keys = c->sb.keys < SB_JOURNAL_BUCKETS ? c->sb.keys : SB_JOURNAL_BUCKETS;
	int ret = 0;

	if (!journal || !buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < keys; i++)
		if (c->sb.d[i] < c->nbuckets)
			journal[c->sb.d[i] >> 3] |= (uint8_t)(1u << (c->sb.d[i] & 7));
	for (uint64_t b = c->first_bucket; b < c->nbuckets && !ret; b++) {
		struct printbuf tmp = PRINTBUF;
		enum bt_bucket_kind kind;

		bt_scan_progress(s, b, c->nbuckets);
		if (journal[b >> 3] & (1u << (b & 7)))
			continue;
		s->r->buckets_scanned++;
		if (bt_dev_read(c->dev, buf, HEAD_BYTES, bt_scan_bucket_byte(c, b), "bucket", &tmp)) {
			s->r->read_errors++;
			printbuf_exit(&tmp);
			continue;
		}
		printbuf_exit(&tmp);
		kind = head_kind(c, buf);
		if (kind == BT_BUCKET_PSET) {
			if (s->nr_psets == s->size_psets) {
				size_t n = s->size_psets ? s->size_psets * 2 : 16;
				struct pset_cand *p = realloc(s->psets, n * sizeof(*p));

				if (!p) {
					ret = -ENOMEM;
					break;
				}
				s->psets = p;
				s->size_psets = n;
			}
			/* seq as stored, csum not checked yet: for prio_newest_seq */
			s->psets[s->nr_psets++] = (struct pset_cand) {
				.b = b, .seq = le64toh(((const uint64_t *)buf)[2]) };
		} else if (kind == BT_BUCKET_BSET) {
			ret = bt_scan_push_u64(&s->node_b, &s->nr_node_b, &s->size_node_b, b);
		} else if (kind == BT_BUCKET_UUID) {
			ret = bt_scan_push_u64(&s->uuid_b, &s->nr_uuid_b, &s->size_uuid_b, b);
		}
	}
	bt_scan_progress(s, c->nbuckets, c->nbuckets);
out:
	if (ret)
		prt_printf(err, "out of memory scanning the buckets of '%s'", c->dev->path);
	free(journal);
	free(buf);
	return ret;
}

/* ---- phase 2: the prio chain ---------------------------------------- */

static int cmp_pset_seq_desc(const void *a, const void *b)
{
	const struct pset_cand *x = a, *y = b;

	return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : (x->b > y->b) - (x->b < y->b);
}

static const struct pset_cand *find_pset(const struct scan *s, uint64_t b)
{
	for (size_t i = 0; i < s->nr_psets; i++)
		if (s->psets[i].b == b)
			return &s->psets[i];
	return NULL;
}

/* Is b the next_bucket of another prio set of the same seq (not a head)? */
static bool pset_has_prev(const struct scan *s, const struct pset_cand *p)
{
	for (size_t i = 0; i < s->nr_psets; i++)
		if (&s->psets[i] != p && s->psets[i].seq == p->seq && s->psets[i].next == p->b)
			return true;
	return false;
}

/* bt_prio_read() from head p; every chain bucket must carry p's seq. */
static bool try_chain(struct scan *s, const struct pset_cand *p)
{
	struct cache_set *c = s->c;
	struct printbuf tmp = PRINTBUF;
	int ret;

	c->prio_start = p->b;
	ret = bt_prio_read(c, &tmp);
	printbuf_exit(&tmp);
	if (ret)
		return false;
	for (unsigned i = 0; i < c->prio_buckets; i++) {
		const struct pset_cand *q = find_pset(s, c->prio_chain[i]);

		if (!q || q->seq != p->seq)
			return false;
	}
	return true;
}

static int scan_prios(struct scan *s, struct printbuf *err)
{
	struct cache_set *c = s->c;
	struct prio_set *p = malloc(c->meta_bucket_bytes);
	size_t n = 0;

	if (!p) {
		prt_printf(err, "out of memory scanning the prio sets of '%s'", c->dev->path);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->nr_psets; i++)
		if (s->psets[i].seq > s->r->prio_newest_seq)
			s->r->prio_newest_seq = s->psets[i].seq;
	for (size_t i = 0; i < s->nr_psets; i++) {
		struct printbuf tmp = PRINTBUF;
		uint64_t b = s->psets[i].b;
		int ret = bt_dev_read(c->dev, p, c->meta_bucket_bytes, bt_scan_bucket_byte(c, b),
				      "prio_set", &tmp);

		printbuf_exit(&tmp);
		if (ret || le64toh(p->csum) != bt_pset_csum(p, c->meta_bucket_bytes))
			continue;
		s->psets[n++] = (struct pset_cand) {
			.b = b, .seq = le64toh(p->seq), .next = le64toh(p->next_bucket),
		};
	}
	free(p);
	s->nr_psets = n;
	s->r->nr_psets = (unsigned)n;
	if (n)
		qsort(s->psets, n, sizeof(*s->psets), cmp_pset_seq_desc);
	for (size_t i = 0; i < n; i++) {
		if (pset_has_prev(s, &s->psets[i]) || !try_chain(s, &s->psets[i]))
			continue;
		s->r->prio_found = true;
		s->r->prio_start = c->prio_start;
		s->r->prio_seq = c->prio_seq;
		return 0;
	}
	prt_printf(err, "no whole prio chain on '%s': %zu prio sets with a good csum, "
		   "none heads a chain of %u buckets of one seq", c->dev->path, n, c->prio_buckets);
	return -BT_ERR_SCAN_NO_PRIOS;
}

/*
 * The previous prio chain: the last next_bucket of the chosen one points
 * at its head (write.h, super.c bch_prio_write()). Its gens, when it is
 * still whole (every bucket a good prio set of one older seq), say which
 * buckets were allocated since: their gen moved. NULL otherwise.
 */
static int read_prev_chain(struct scan *s)
{
	struct cache_set *c = s->c;
	const struct pset_cand *last = find_pset(s, c->prio_chain[c->prio_buckets - 1]), *q;
	struct prio_set *p;
	uint64_t b, seq;
	bool ok = true;

	if (!last || !c->prio_buckets)
		return 0;
	q = find_pset(s, last->next);
	if (!q || q->seq >= s->r->prio_seq)
		return 0;
	seq = q->seq;
	p = malloc(c->meta_bucket_bytes);
	s->prev_gen = malloc(c->nbuckets);
	if (!p || !s->prev_gen) {
		free(p);
		return -ENOMEM;
	}
	b = q->b;
	for (unsigned i = 0; ok && i < c->prio_buckets; i++) {
		struct printbuf tmp = PRINTBUF;
		uint64_t first = (uint64_t)i * c->prios_per_bucket;

		q = find_pset(s, b);
		ok = q && q->seq == seq &&
		     !bt_dev_read(c->dev, p, c->meta_bucket_bytes, bt_scan_bucket_byte(c, b), "prio_set", &tmp) &&
		     le64toh(p->csum) == bt_pset_csum(p, c->meta_bucket_bytes);
		printbuf_exit(&tmp);
		for (uint64_t k = 0; ok && k < c->prios_per_bucket && first + k < c->nbuckets; k++)
			s->prev_gen[first + k] = p->data[k].gen;
		b = ok ? le64toh(p->next_bucket) : 0;
	}
	free(p);
	if (!ok) {
		free(s->prev_gen);
		s->prev_gen = NULL;
	}
	s->r->prev_prio_found = ok;
	return 0;
}

/* ---- phase 5: the uuid bucket --------------------------------------- */

/* The distinct KEY_INODEs of the live extents under node i (NULL: too many to say). */
static void tree_inodes(struct scan *s, uint32_t i, uint32_t stamp, unsigned depth,
			uint8_t *seen, unsigned nr, bool *overflow)
{
	struct scan_node *sn = &s->nodes[i];

	if (sn->stamp == stamp || depth > BT_BTREE_MAX_DEPTH)
		return;
	sn->stamp = stamp;
	if (!sn->nchildren) {
		*overflow |= sn->inodes_overflow;
		for (unsigned k = 0; k < sn->ninodes; k++)
			if (sn->inodes[k] < nr)
				seen[sn->inodes[k]] = 1;
			else
				*overflow = true;
	}
	for (uint32_t k = 0; k < sn->nchildren; k++)
		tree_inodes(s, sn->children[k], stamp, depth + 1, seen, nr, overflow);
}

static uint32_t slots_newest(const struct uuid_entry *u, unsigned n, unsigned *live,
			     const struct bt_scan_opts *o, unsigned *matches)
{
	uint32_t t = 0;

	*live = *matches = 0;
	for (unsigned i = 0; i < n; i++) {
		if (all_zero(u[i].uuid, 16))
			continue;
		(*live)++;
		if (le32toh(u[i].first_reg) > t)
			t = le32toh(u[i].first_reg);
		if (le32toh(u[i].last_reg) > t)
			t = le32toh(u[i].last_reg);
		if (le32toh(u[i].invalidated) > t)
			t = le32toh(u[i].invalidated);
		for (size_t h = 0; o && h < o->nr_backing; h++)
			if (!memcmp(u[i].uuid, o->backing_uuids[h], 16))
				(*matches)++;
	}
	return t;
}

static int scan_uuids(struct scan *s, uint32_t root, struct printbuf *err)
{
	struct cache_set *c = s->c;
	struct bt_scan_result *r = s->r;
	struct uuid_entry *u = malloc(c->meta_bucket_bytes);
	uint8_t *need = calloc(c->nr_uuids ? c->nr_uuids : 1, 1);
	bool overflow = false;
	uint32_t best_t = 0;
	unsigned best_live = 0, best_match = 0;

	if (!u || !need) {
		free(u);
		free(need);
		prt_printf(err, "out of memory scanning the uuid buckets of '%s'", c->dev->path);
		return -ENOMEM;
	}
	tree_inodes(s, root, UINT32_MAX, 0, need, c->nr_uuids, &overflow);
	for (unsigned i = 0; i < c->nr_uuids; i++)
		r->nr_inodes += need[i];
	for (size_t i = 0; i < s->nr_uuid_b; i++) {
		struct printbuf tmp = PRINTBUF;
		uint64_t b = s->uuid_b[i];
		unsigned live, match;
		uint32_t t;
		bool ok;

		ok = !bt_dev_read(c->dev, u, c->meta_bucket_bytes, bt_scan_bucket_byte(c, b), "uuid bucket",
				  &tmp) && uuid_slots_ok(u, c->nr_uuids);
		printbuf_exit(&tmp);
		for (unsigned k = 0; ok && k < c->nr_uuids; k++)
			if (need[k] && bt_uuid_slot_state(&u[k]) != BT_UUID_LIVE)
				ok = false;
		if (!ok)
			continue;
		r->nr_uuid_candidates++;
		t = slots_newest(u, c->nr_uuids, &live, s->o, &match);
		if (r->uuid_found && (match < best_match || (match == best_match &&
		    (t < best_t || (t == best_t && live <= best_live)))))
			continue;
		r->uuid_found = true;
		r->uuid_bucket = b;
		r->uuid_gen = c->buckets[b].gen;
		r->uuid_live_slots = live;
		r->uuid_backing_matches = match;
		best_t = t;
		best_live = live;
		best_match = match;
	}
	free(u);
	free(need);
	return 0;
}

/* ---- entry points --------------------------------------------------- */

static void scan_exit(struct scan *s)
{
	for (size_t i = 0; i < s->nr_nodes; i++) {
		free(s->nodes[i].ptrs);
		free(s->nodes[i].children);
	}
	free(s->nodes);
	free(s->node_at);
	free(s->psets);
	free(s->node_b);
	free(s->uuid_b);
	free(s->prev_gen);
}

int bt_scan_cache(struct cache_set *c, const struct bt_scan_opts *o,
		  struct bt_scan_result *r, struct printbuf *err)
{
	struct scan s = { .c = c, .o = o, .r = r };
	int ret;

	memset(r, 0, sizeof(*r));
	ret = scan_heads(&s, err);
	if (!ret)
		ret = scan_prios(&s, err);
	if (!ret && read_prev_chain(&s)) {
		prt_printf(err, "out of memory reading the previous prio chain of '%s'", c->dev->path);
		ret = -ENOMEM;
	}
	if (!ret)
		ret = bt_scan_nodes(&s, err);
	if (!ret)
		ret = bt_scan_choose_root(&s, err);
	if (!ret)
		ret = scan_uuids(&s, s.node_at[r->root_bucket], err);
	scan_exit(&s);
	return ret;
}

int bt_scan_apply(struct cache_set *c, const struct bt_scan_result *r, struct printbuf *err)
{
	c->root_key = r->root_key;
	c->root_level = r->root_level;
	memset(&c->uuid_key, 0, sizeof(c->uuid_key));
	if (r->uuid_found)
		bt_uuid_ptr_key(c, r->uuid_bucket, r->uuid_gen, &c->uuid_key);
	free(c->uuids);
	c->uuids = calloc(c->nr_uuids ? c->nr_uuids : 1, sizeof(*c->uuids));
	if (!c->uuids) {
		prt_printf(err, "out of memory reading the uuids of '%s'", c->dev->path);
		return -ENOMEM;
	}
	c->uuids_version = BCACHE_JSET_VERSION;
	c->uuids_converted = false;
	if (r->uuid_found) {
		int ret = bt_dev_read(c->dev, c->uuids, (size_t)c->nr_uuids * sizeof(*c->uuids),
				      bt_scan_bucket_byte(c, r->uuid_bucket), "uuid bucket", err);

		if (ret)
			return ret;
	}
	c->journal.cur_idx = 0;
	c->journal.cur_sector = c->sb.keys ? bt_bucket_to_sector(c, c->sb.d[0]) : 0;
	return 0;
}

void bt_scan_result_to_text(struct printbuf *out, const struct bt_scan_result *r)
{
	prt_printf(out, "%llu buckets scanned", (unsigned long long)r->buckets_scanned);
	if (r->read_errors)
		prt_printf(out, " (%llu unreadable)", (unsigned long long)r->read_errors);
	if (r->prio_found)
		prt_printf(out, ", prio chain at bucket %llu seq %llu",
			   (unsigned long long)r->prio_start, (unsigned long long)r->prio_seq);
	if (r->root_found) {
		prt_printf(out, ", btree root at bucket %llu level %u (%u nodes verify",
			   (unsigned long long)r->root_bucket, r->root_level, r->nr_nodes);
		if (r->nr_root_candidates > 1)
			prt_printf(out, ", %u equally good roots", r->nr_root_candidates);
		prt_str(out, ")");
	}
	if (r->uuid_found)
		prt_printf(out, ", uuid bucket %llu (%u used slots, %u candidates, %u backing "
			   "uuids matched)", (unsigned long long)r->uuid_bucket, r->uuid_live_slots,
			   r->nr_uuid_candidates, r->uuid_backing_matches);
	else
		prt_printf(out, ", no uuid bucket (%u candidates)", r->nr_uuid_candidates);
}
