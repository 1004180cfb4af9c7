/* scan.c --- find the prio chain, the btree root and the uuid bucket of a
 * cache set without its journal, by reading every bucket (scan.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bkey.h"
#include "bset.h"
#include "btree.h"
#include "encode.h"
#include "errcode.h"
#include "prio.h"
#include "scan.h"
#include "uuid.h"

#define HEAD_BYTES	4096u		/* read per bucket: >= a page, <= any bucket */
#define NO_NODE		UINT32_MAX
#define NODE_INODES	16		/* distinct KEY_INODEs kept per leaf */

struct pset_cand {
	uint64_t	b, seq, next;
};

struct scan_node {
	uint64_t	b;
	uint64_t	seed;		/* the ptr[0] word the csum verified with */
	uint64_t	*ptrs;		/* ptr[0] words of keys that look like node pointers */
	uint32_t	nptrs;
	uint32_t	nkeys, nstale;
	uint32_t	*children, nchildren;
	uint32_t	ndangling;	/* node-like keys, not stale, that verify no node */
	uint32_t	inodes[NODE_INODES];
	uint8_t		ninodes;
	bool		inodes_overflow;
	bool		verified, referenced, max_key;
	int		level;		/* -1 unknown, -2 being computed, -3 in a loop */
	uint32_t	stamp;		/* subtree walk marker */
	bool		fresh;		/* its gen moved since the previous prio chain */
};

struct scan {
	struct cache_set	*c;
	const struct bt_scan_opts *o;
	struct bt_scan_result	*r;
	struct pset_cand	*psets;
	size_t			nr_psets, size_psets;
	uint64_t		*node_b, *uuid_b;
	size_t			nr_node_b, size_node_b, nr_uuid_b, size_uuid_b;
	struct scan_node	*nodes;
	size_t			nr_nodes;
	uint32_t		*node_at;	/* per bucket: index into nodes[] or NO_NODE */
	uint8_t			*prev_gen;	/* gens of the previous prio chain, or NULL */
};

static int push_u64(uint64_t **v, size_t *nr, size_t *size, uint64_t x)
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
static void progress(struct scan *s, uint64_t done, uint64_t total)
{
	if (s->o && s->o->progress && (!(done & 1023) || done >= total))
		s->o->progress(s->o->progress_arg, done, total);
}

static uint64_t bucket_byte(const struct cache_set *c, uint64_t b)
{
	return bt_bucket_to_sector(c, b) << SECTOR_SHIFT;
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
	ret = bt_dev_read(c->dev, buf, HEAD_BYTES, bucket_byte(c, b), "bucket", err);
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

		progress(s, b, c->nbuckets);
		if (journal[b >> 3] & (1u << (b & 7)))
			continue;
		s->r->buckets_scanned++;
		if (bt_dev_read(c->dev, buf, HEAD_BYTES, bucket_byte(c, b), "bucket", &tmp)) {
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
			ret = push_u64(&s->node_b, &s->nr_node_b, &s->size_node_b, b);
		} else if (kind == BT_BUCKET_UUID) {
			ret = push_u64(&s->uuid_b, &s->nr_uuid_b, &s->size_uuid_b, b);
		}
	}
	progress(s, c->nbuckets, c->nbuckets);
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
		int ret = bt_dev_read(c->dev, p, c->meta_bucket_bytes, bucket_byte(c, b),
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
		     !bt_dev_read(c->dev, p, c->meta_bucket_bytes, bucket_byte(c, b), "prio_set", &tmp) &&
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

/* ---- phase 3: the nodes --------------------------------------------- */

static void max_key(struct bkey_padded *k)
{
	memset(k, 0, sizeof(*k));
	bkey_init_pos((struct bkey *)k->w, MAX_KEY_INODE, MAX_KEY_OFFSET, 0);
}

/* The gen with which the first bset of the node in buf verifies, or -1. */
static int node_gen(const struct cache_set *c, uint64_t b, const void *buf)
{
	struct bt_node_where w = { .dev = c->dev->path, .bucket = b, .byte = bucket_byte(c, b) };
	unsigned blocks = c->btree_node_sectors >> c->block_bits;

	for (unsigned d = 0; d <= BT_SCAN_GEN_AHEAD; d++) {
		uint8_t gen = (uint8_t)(c->buckets[b].gen + d);
		struct printbuf tmp = PRINTBUF;
		struct bt_bset_info info;
		int ret = bt_bset_check(c, buf, blocks, 0,
					MAKE_PTR(gen, bt_bucket_to_sector(c, b), c->nr_this_dev),
					true, &w, &info, &tmp);

		printbuf_exit(&tmp);
		if (!ret)
			return gen;
		if (ret != -BT_ERR_BSET_BAD_CSUM)
			return -1;
	}
	return -1;
}

/* Does k look like a pointer to a node (what an interior node holds)? */
static bool node_like(const struct cache_set *c, const struct bkey *k)
{
	return KEY_PTRS(k) && !KEY_DIRTY(k) && !bkey_is_zero_pos(k) &&
	       KEY_SIZE(k) == c->btree_node_sectors && PTR_DEV(k, 0) == c->nr_this_dev &&
	       !bt_ptr_bucket_remainder(c, k, 0) && PTR_BUCKET_NR(c, k, 0) < c->nbuckets;
}

static void note_inode(struct scan_node *sn, uint32_t inode)
{
	for (unsigned i = 0; i < sn->ninodes; i++)
		if (sn->inodes[i] == inode)
			return;
	if (sn->ninodes < NODE_INODES)
		sn->inodes[sn->ninodes++] = inode;
	else
		sn->inodes_overflow = true;
}

static int note_key(const struct cache_set *c, struct scan_node *sn, const struct bkey *k,
		    size_t *size_ptrs)
{
	bool live = KEY_PTRS(k) && KEY_SIZE(k);

	sn->nkeys++;
	for (unsigned i = 0; i < KEY_PTRS(k); i++) {
		if (!bt_ptr_available(k, i) || PTR_BUCKET_NR(c, k, i) >= c->nbuckets)
			continue;
		if (bt_ptr_stale(c, k, i)) {
			sn->nstale++;
			live = false;
		}
	}
	if (live && !bkey_is_zero_pos(k) && bt_extent_invalid(c, k) == BT_EXTENT_VALID)
		note_inode(sn, (uint32_t)KEY_INODE(k));
	if (node_like(c, k)) {
		size_t nr = sn->nptrs;
		int ret = push_u64(&sn->ptrs, &nr, size_ptrs, le64toh(k->ptr[0]));

		sn->nptrs = (uint32_t)nr;
		return ret;
	}
	return 0;
}

/* Read and verify the node candidate in bucket b; fill sn when it verifies. */
static int scan_one_node(struct scan *s, uint64_t b, void *buf, struct scan_node *sn)
{
	struct cache_set *c = s->c;
	struct printbuf tmp = PRINTBUF;
	struct bkey_padded mk, k;
	struct bt_node *n = NULL;
	const struct bkey *key, *last = NULL;
	size_t size_ptrs = 0;
	int gen, ret = 0;

	memset(sn, 0, sizeof(*sn));
	sn->b = b;
	sn->level = -1;
	if (bt_dev_read(c->dev, buf, (size_t)c->btree_node_sectors << SECTOR_SHIFT,
			bucket_byte(c, b), "btree node", &tmp)) {
		s->r->read_errors++;
		goto out;
	}
	gen = node_gen(c, b, buf);
	if (gen < 0)
		goto out;
	max_key(&mk);
	bt_node_ptr_key(c, b, (uint8_t)gen, (const struct bkey *)&mk, &k);
	/* level 1: keys kept in order, none merged; leaves' extents land in invalid */
	if (bt_btree_node_parse(c, (const struct bkey *)&k, 1, buf, 0, &n, &tmp))
		goto out;
	sn->seed = le64toh(k.w[2]);	/* ptr[0] */
	for_each_node_key(n, key) {
		last = key;
		ret = ret ? ret : note_key(c, sn, key, &size_ptrs);
	}
	for_each_node_invalid_key(n, key)
		ret = ret ? ret : note_key(c, sn, key, &size_ptrs);
	sn->max_key = last && KEY_INODE(last) == MAX_KEY_INODE &&
		      KEY_OFFSET(last) == MAX_KEY_OFFSET;
	sn->verified = !ret;
	s->r->nr_nodes += !ret;
out:
	bt_node_free(n);
	printbuf_exit(&tmp);
	return ret;
}

static int scan_nodes(struct scan *s, struct printbuf *err)
{
	struct cache_set *c = s->c;
	void *buf = malloc((size_t)c->btree_node_sectors << SECTOR_SHIFT);
	int ret = 0;

	s->nodes = calloc(s->nr_node_b ? s->nr_node_b : 1, sizeof(*s->nodes));
	s->node_at = malloc(c->nbuckets * sizeof(*s->node_at));
	if (!buf || !s->nodes || !s->node_at) {
		free(buf);
		prt_printf(err, "out of memory scanning the btree nodes of '%s'", c->dev->path);
		return -ENOMEM;
	}
	for (uint64_t b = 0; b < c->nbuckets; b++)
		s->node_at[b] = NO_NODE;
	for (size_t i = 0; i < s->nr_node_b && !ret; i++) {
		progress(s, i, s->nr_node_b);
		ret = scan_one_node(s, s->node_b[i], buf, &s->nodes[s->nr_nodes]);
		if (!ret && s->nodes[s->nr_nodes].verified)
			s->node_at[s->node_b[i]] = (uint32_t)s->nr_nodes++;
		else
			free(s->nodes[s->nr_nodes].ptrs);
	}
	progress(s, s->nr_node_b, s->nr_node_b);
	free(buf);
	if (ret)
		prt_printf(err, "out of memory scanning the btree nodes of '%s'", c->dev->path);
	return ret;
}

/* ---- phase 4: the tree ---------------------------------------------- */

/* A one-pointer key holding the pointer word w (for the PTR_* accessors). */
static void ptr_key(uint64_t w, struct bkey_padded *k)
{
	memset(k, 0, sizeof(*k));
	SET_KEY_PTRS((struct bkey *)k->w, 1);
	k->w[2] = htole64(w);	/* ptr[0] */
}

/* Children: the node-like keys whose pointer verifies another node. */
static int link_nodes(struct scan *s)
{
	const struct cache_set *c = s->c;

	for (size_t i = 0; i < s->nr_nodes; i++) {
		struct scan_node *sn = &s->nodes[i];

		sn->children = calloc(sn->nptrs ? sn->nptrs : 1, sizeof(*sn->children));
		if (!sn->children)
			return -ENOMEM;
		for (uint32_t p = 0; p < sn->nptrs; p++) {
			struct bkey_padded k;
			uint64_t b;

			ptr_key(sn->ptrs[p], &k);
			b = PTR_BUCKET_NR(c, (const struct bkey *)&k, 0);
			uint32_t j = s->node_at[b];

			if (j != NO_NODE && j != i && s->nodes[j].seed == sn->ptrs[p]) {
				sn->children[sn->nchildren++] = j;
				s->nodes[j].referenced = true;
			} else if (!bt_ptr_stale(c, (const struct bkey *)&k, 0)) {
				sn->ndangling++;
			}
		}
	}
	return 0;
}

/* Level: 0 without children, else one above the highest child; loops are -3. */
static int node_level(struct scan *s, uint32_t i, unsigned depth)
{
	struct scan_node *sn = &s->nodes[i];
	int level = 0;

	if (sn->level != -1)
		return sn->level == -2 ? -3 : sn->level;
	if (depth > BT_BTREE_MAX_DEPTH)
		return -3;
	sn->level = -2;
	for (uint32_t k = 0; k < sn->nchildren; k++) {
		int l = node_level(s, sn->children[k], depth + 1);

		if (l < 0) {
			level = -3;
			break;
		}
		if (l + 1 > level)
			level = l + 1;
	}
	sn->level = level;
	return level;
}

struct subtree {
	uint64_t	dangling, stale, keys;
	bool		bad;		/* a child at the wrong level */
};

static void walk_subtree(struct scan *s, uint32_t i, uint32_t stamp, unsigned depth,
			 struct subtree *t)
{
	struct scan_node *sn = &s->nodes[i];

	if (depth > BT_BTREE_MAX_DEPTH) {	/* node_level() rejected it already: bound the stack */
		t->bad = true;
		return;
	}
	if (sn->stamp == stamp)
		return;
	sn->stamp = stamp;
	t->keys += sn->nkeys;
	t->stale += sn->nstale;
	if (!sn->nchildren)
		return;
	t->dangling += sn->ndangling;
	for (uint32_t k = 0; k < sn->nchildren; k++) {
		if (s->nodes[sn->children[k]].level != sn->level - 1)
			t->bad = true;
		walk_subtree(s, sn->children[k], stamp, depth + 1, t);
	}
}

/* Is candidate a (subtree ta) better than b (tb)? The rule of scan.h. */
static bool better(const struct scan_node *a, const struct subtree *ta,
		   const struct scan_node *b, const struct subtree *tb)
{
	if (a->level != b->level)
		return a->level > b->level;
	if (a->fresh != b->fresh)
		return a->fresh;
	if (ta->keys - ta->stale != tb->keys - tb->stale)
		return ta->keys - ta->stale > tb->keys - tb->stale;
	if (ta->stale != tb->stale)
		return ta->stale < tb->stale;
	return a->b > b->b;
}

static bool same_score(const struct scan_node *a, const struct subtree *ta,
		       const struct scan_node *b, const struct subtree *tb)
{
	return a->level == b->level && a->fresh == b->fresh && ta->stale == tb->stale &&
	       ta->keys == tb->keys;
}

static int choose_root(struct scan *s, struct printbuf *err)
{
	struct cache_set *c = s->c;
	struct bt_scan_result *r = s->r;
	struct subtree *ts = calloc(s->nr_nodes ? s->nr_nodes : 1, sizeof(*ts));
	bool *ok = calloc(s->nr_nodes ? s->nr_nodes : 1, sizeof(*ok));
	uint32_t best = NO_NODE, stamp = 0;
	struct bkey_padded mk, pk;

	if (!ts || !ok || link_nodes(s)) {
		free(ts);
		free(ok);
		prt_printf(err, "out of memory linking the btree nodes of '%s'", c->dev->path);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->nr_nodes; i++)
		node_level(s, i, 0);
	for (uint32_t i = 0; i < s->nr_nodes; i++) {
		struct scan_node *sn = &s->nodes[i];

		if (sn->referenced)
			continue;
		walk_subtree(s, i, ++stamp, 0, &ts[i]);
		sn->fresh = s->prev_gen && s->prev_gen[sn->b] != (uint8_t)(sn->seed & 0xff);
		if (sn->level < 0 || ts[i].bad || ts[i].dangling || (sn->level > 0 && !sn->max_key)) {
			r->nr_rejected_roots++;
			continue;
		}
		ok[i] = true;
		if (best == NO_NODE || better(sn, &ts[i], &s->nodes[best], &ts[best]))
			best = i;
	}
	for (uint32_t i = 0; best != NO_NODE && i < s->nr_nodes; i++) {
		if (!ok[i])
			continue;
		if (same_score(&s->nodes[i], &ts[i], &s->nodes[best], &ts[best]))
			r->nr_root_candidates++;
		else
			r->nr_rejected_roots++;
	}
	free(ts);
	free(ok);
	if (best == NO_NODE) {
		prt_printf(err, "no btree root on '%s': %u nodes verify, none is an unreferenced "
			   "node whose subtree is whole", c->dev->path, r->nr_nodes);
		return -BT_ERR_SCAN_NO_ROOT;
	}
	max_key(&mk);
	ptr_key(s->nodes[best].seed, &pk);
	r->root_bucket = s->nodes[best].b;
	r->root_level = (unsigned)s->nodes[best].level;
	bt_node_ptr_key(c, r->root_bucket, (uint8_t)PTR_GEN((const struct bkey *)&pk, 0),
			(const struct bkey *)&mk, &r->root_key);
	r->root_found = true;
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

		ok = !bt_dev_read(c->dev, u, c->meta_bucket_bytes, bucket_byte(c, b), "uuid bucket",
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
		ret = scan_nodes(&s, err);
	if (!ret)
		ret = choose_root(&s, err);
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
				      bucket_byte(c, r->uuid_bucket), "uuid bucket", err);

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
