/* btree_update.c --- leaf key inserts, node splits and copy-on-write of the
 * btree, kept in memory until bt_btree_update_write(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/write/btree_update.h"
#include "libcore/ondisk/keylist.h"
#include "libcore/base/errcode.h"
#include "libcore/read/extent_map.h"
#include "libcore/read/node_cache.h"

/* A child pointer of an in-memory interior node. */
struct bt_uchild {
	struct bkey_padded	key;	/* the pointer as read */
	struct bt_unode		*node;	/* loaded copy, NULL when untouched or flushed */
	/*
	 * a changed leaf written early (bt_btree_update_flush_before()): the
	 * pointers of its new nodes, which replace key
	 */
	bool			flushed;
	struct bt_keylist	written;
};

/* An in-memory copy of a node on the path to a changed leaf. */
struct bt_unode {
	struct bkey_padded	key;	/* key referencing the node on disk */
	unsigned		level;
	bool			dirty;	/* must be rewritten */
	bool			is_new;	/* a new root: no old node to free */
	struct bt_unode		*parent;
	struct bt_extmap	ext;	/* level 0: the leaf's extents */
	struct bt_uchild	*ch;	/* level > 0: live children in key order */
	size_t			nr_ch, size_ch;
	uint64_t		dead;	/* stale or bad keys of the node on disk */
};

size_t bt_node_max_u64s(const struct cache_set *c, unsigned level)
{
	size_t bytes = (size_t)c->btree_node_sectors << SECTOR_SHIFT;
	size_t u64s = bytes > BSET_HEADER_BYTES ? (bytes - BSET_HEADER_BYTES) / 8 : 0;

	if (!level)
		u64s = u64s > KEY_MAX_U64S ? u64s - KEY_MAX_U64S : 0;
	return u64s;
}

static size_t node_limit(const struct bt_btree_update *u, unsigned level)
{
	return u->max_node_u64s ? u->max_node_u64s : bt_node_max_u64s(u->w->c, level);
}

static void unode_free(struct bt_unode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nr_ch; i++) {
		unode_free(n->ch[i].node);
		bt_keylist_exit(&n->ch[i].written);
	}
	free(n->ch);
	bt_extmap_exit(&n->ext);
	free(n);
}

void bt_btree_update_init(struct bt_btree_update *u, struct bt_write_ctx *w)
{
	memset(u, 0, sizeof(*u));
	u->w = w;
}

int bt_btree_update_init_fresh(struct bt_btree_update *u, struct bt_write_ctx *w)
{
	bt_btree_update_init(u, w);
	u->root = calloc(1, sizeof(*u->root));
	if (!u->root)
		return -ENOMEM;
	bkey_init_pos((struct bkey *)&u->root->key, MAX_KEY_INODE, MAX_KEY_OFFSET, 0);
	u->root->dirty = true;
	u->root->is_new = true;
	bt_extmap_init(&u->root->ext);
	return 0;
}

void bt_btree_update_exit(struct bt_btree_update *u)
{
	unode_free(u->root);
	u->root = NULL;
}

/* Read the node k references at level into a new unode. */
static int unode_load(struct bt_btree_update *u, const struct bkey *k, unsigned level,
		      struct bt_unode *parent, struct bt_unode **out, struct printbuf *err)
{
	struct cache_set *c = u->w->c;
	struct bt_unode *un = calloc(1, sizeof(*un));
	struct bt_node *n;
	const struct bkey *ck;
	int ret;

	if (!un)
		return -ENOMEM;
	ret = bt_node_cache_get(u->w->nc, k, level, &n, err);
	if (ret) {
		free(un);
		return ret;
	}
	bt_bkey_copy((struct bkey *)&un->key, k);
	un->level = level;
	un->parent = parent;
	un->dead = n->nr_invalid;
	bt_extmap_init(&un->ext);
	for_each_node_key(n, ck) {
		if (!level) {
			un->dead += KEY_SIZE(ck) && bt_extent_bad(c, ck, NULL);
			ret = bt_extmap_append(&un->ext, ck);
		} else if (bt_btree_ptr_bad(c, ck)) {
			un->dead++;
		} else {
			if (un->nr_ch == un->size_ch) {
				size_t size = un->size_ch ? un->size_ch * 2 : 16;
				struct bt_uchild *ch = realloc(un->ch, size * sizeof(*ch));

				if (!ch) {
					ret = -ENOMEM;
					break;
				}
				un->ch = ch;
				un->size_ch = size;
			}
			memset(&un->ch[un->nr_ch], 0, sizeof(un->ch[0]));
			bt_bkey_copy((struct bkey *)&un->ch[un->nr_ch].key, ck);
			un->nr_ch++;
		}
		if (ret) {
			prt_printf(err, "cannot copy key of the node at bucket %llu: %s",
				   (unsigned long long)n->bucket, bt_err_str(ret));
			break;
		}
	}
	bt_node_cache_put(u->w->nc, n);
	if (ret) {
		unode_free(un);
		return ret;
	}
	u->st.nodes_loaded++;
	*out = un;
	return 0;
}

/*
 * The leaf whose range holds the sector after position (inode, offset):
 * in every interior node, the first live child whose key is above the
 * position (the kernel's bch_btree_map_leaf_nodes() from START_KEY).
 */
static int find_leaf(struct bt_btree_update *u, uint64_t inode, uint64_t offset,
		     struct bt_unode **out, struct printbuf *err)
{
	struct bt_unode *n;
	int ret;

	if (!u->root) {
		ret = unode_load(u, (const struct bkey *)&u->w->c->root_key,
				 u->w->c->root_level, NULL, &u->root, err);
		if (ret)
			return ret;
	}
	n = u->root;
	while (n->level) {
		size_t i = 0, hi = n->nr_ch;

		/* children are in key order: binary search for the first above */
		while (i < hi) {
			size_t mid = i + (hi - i) / 2;

			if (bkey_cmp_pos((const struct bkey *)&n->ch[mid].key, inode, offset) > 0)
				hi = mid;
			else
				i = mid + 1;
		}
		if (i == n->nr_ch) {
			prt_printf(err, "no btree node covers %llu:%llu: the node at bucket %llu (level %u) ends below it",
				   (unsigned long long)inode, (unsigned long long)offset,
				   (unsigned long long)PTR_BUCKET_NR(u->w->c, (const struct bkey *)&n->key, 0),
				   n->level);
			return -BT_ERR_BTREE_TOPOLOGY;
		}
		if (n->ch[i].flushed) {
			prt_printf(err, "cannot insert at %llu:%llu: its leaf was written already "
				   "(bt_btree_update_flush_before())",
				   (unsigned long long)inode, (unsigned long long)offset);
			return -EINVAL;
		}
		if (!n->ch[i].node) {
			ret = unode_load(u, (const struct bkey *)&n->ch[i].key, n->level - 1, n,
					 &n->ch[i].node, err);
			if (ret)
				return ret;
		}
		n = n->ch[i].node;
	}
	*out = n;
	return 0;
}

static void mark_dirty(struct bt_unode *n)
{
	for (; n && !n->dirty; n = n->parent)
		n->dirty = true;
}

/* The end position of a node's range: its key (the parent's pointer). */
static const struct bkey *unode_end(const struct bt_unode *n)
{
	return (const struct bkey *)&n->key;
}

/* Insert one extent, cutting it at leaf boundaries (bch_btree_insert_keys()). */
static int insert_one(struct bt_btree_update *u, const struct bkey *key, struct printbuf *err)
{
	struct bkey_padded kp;
	struct bkey *k = (struct bkey *)&kp;
	unsigned guard = 0;

	memset(&kp, 0, sizeof(kp));
	bt_bkey_copy(k, key);
	while (KEY_SIZE(k)) {
		struct bt_unode *leaf;
		int ret = find_leaf(u, KEY_INODE(k), KEY_START(k), &leaf, err);

		if (ret)
			return ret;
		if (bkey_cmp(k, unode_end(leaf)) <= 0) {
			ret = bt_extmap_insert(&leaf->ext, k);
			if (!ret) {
				mark_dirty(leaf);
				u->st.keys_inserted++;
			}
			return ret;
		} else {
			struct bkey_padded front = kp;

			bt_cut_back(unode_end(leaf), (struct bkey *)&front);
			ret = bt_extmap_insert(&leaf->ext, (struct bkey *)&front);
			if (ret)
				return ret;
			mark_dirty(leaf);
			u->st.keys_inserted++;
			/* find_leaf() gave a leaf ending above the key's start: the cut moves it on */
			if (!bt_cut_front(unode_end(leaf), k) || ++guard > (1u << 30)) {
				prt_str(err, "btree leaf ranges do not advance while inserting ");
				bt_bkey_to_text(err, key);
				return -BT_ERR_BTREE_TOPOLOGY;
			}
		}
	}
	return 0;
}

int bt_btree_insert_keys(struct bt_btree_update *u, const uint64_t *keys, size_t u64s,
			 struct printbuf *err)
{
	const uint64_t *p = keys, *end = keys + u64s;

	while (p < end) {
		const struct bkey *k = (const struct bkey *)p;
		int ret;

		if (end - p < 2 || (size_t)(end - p) < bkey_u64s(k)) {
			prt_printf(err, "truncated key at u64 %zu of %zu to insert",
				   (size_t)(p - keys), u64s);
			return -EINVAL;
		}
		if (KEY_PTRS(k) > KEY_MAX_U64S - 2 || KEY_SIZE(k) > KEY_OFFSET(k)) {
			prt_str(err, "cannot insert invalid key ");
			bt_bkey_to_text(err, k);
			return -EINVAL;
		}
		ret = insert_one(u, k, err);
		if (ret) {
			if (ret == -ENOMEM)
				prt_str(err, "out of memory inserting keys into the btree");
			return ret;
		}
		p += bkey_u64s(k);
	}
	return 0;
}

/* ---- writing -------------------------------------------------------- */

/* The compacted key set of leaf n (bch_btree_sort_into(): bad keys dropped, merged). */
static int leaf_keys(struct bt_btree_update *u, struct bt_unode *n, struct bt_keylist *out)
{
	const struct cache_set *c = u->w->c;
	struct bkey_padded last;
	bool have_last = false;
	int ret;

	for (size_t i = 0; i < n->ext.nr; i++) {
		struct bkey_padded cur = n->ext.keys[i];

		if (!KEY_SIZE((struct bkey *)&cur) || bt_extent_bad(c, (struct bkey *)&cur, NULL))
			continue;
		if (have_last &&
		    bt_extent_try_merge(c, (struct bkey *)&last, (struct bkey *)&cur))
			continue;
		if (have_last) {
			ret = bt_keylist_push(out, (struct bkey *)&last);
			if (ret)
				return ret;
		}
		last = cur;
		have_last = true;
	}
	return have_last ? bt_keylist_push(out, (struct bkey *)&last) : 0;
}

static int write_node(struct bt_btree_update *u, struct bt_unode *n, struct bt_keylist *ptrs,
		      struct printbuf *err);

/* The new key set of interior node n: its children, changed ones written first. */
static int interior_keys(struct bt_btree_update *u, struct bt_unode *n, struct bt_keylist *out,
			 struct printbuf *err)
{
	for (size_t i = 0; i < n->nr_ch; i++) {
		struct bt_unode *ch = n->ch[i].node;
		int ret;

		if (ch && ch->dirty)
			ret = write_node(u, ch, out, err);
		else if (n->ch[i].flushed)
			ret = bt_keylist_push_all(out, &n->ch[i].written);
		else
			ret = bt_keylist_push(out, (const struct bkey *)&n->ch[i].key);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Cut keys [d, d + u64s) into nodes of at most limit u64s, the kernel's
 * way (btree_split(): the first node ends after the key where 3/5 of the
 * u64s are reached); *cuts gets the u64 offsets where each node ends.
 */
static size_t split_points(const uint64_t *d, size_t u64s, size_t limit, size_t *cuts,
			   size_t max_cuts)
{
	size_t nr = 0, pos = 0;

	while (u64s - pos > limit && nr + 1 < max_cuts) {
		size_t rem = u64s - pos, target = (rem < limit ? rem : limit) * 3 / 5, taken = 0;

		/* keys while below the target, then the key that reaches it */
		while (taken < target && pos + taken < u64s)
			taken += bkey_u64s((const struct bkey *)(d + pos + taken));
		if (pos + taken < u64s)
			taken += bkey_u64s((const struct bkey *)(d + pos + taken));
		if (pos + taken >= u64s)
			break;		/* the rest is one node */
		pos += taken;
		cuts[nr++] = pos;
	}
	cuts[nr++] = u64s;
	return nr;
}

/*
 * Write n (dirty) as one or more new nodes and append their pointer keys
 * to ptrs; the old node's bucket is freed after the commit.
 */
static int write_node(struct bt_btree_update *u, struct bt_unode *n, struct bt_keylist *ptrs,
		      struct printbuf *err)
{
	struct bt_write_ctx *w = u->w;
	struct bt_keylist keys = { 0 };
	size_t limit = node_limit(u, n->level), *cuts = NULL, nr_cuts, start = 0;
	int ret;

	ret = n->level ? interior_keys(u, n, &keys, err) : leaf_keys(u, n, &keys);
	if (ret)
		goto out;
	u->st.dead_dropped += n->dead;
	/* a node holds at least one maximal key */
	if (limit < 2 * KEY_MAX_U64S)
		limit = 2 * KEY_MAX_U64S;
	nr_cuts = keys.u64s / (limit * 3 / 5) + 2;
	cuts = calloc(nr_cuts, sizeof(*cuts));
	if (!cuts) {
		ret = -ENOMEM;
		goto out;
	}
	nr_cuts = split_points(keys.d, keys.u64s, limit, cuts, nr_cuts);
	if (nr_cuts > 1)
		u->st.splits++;
	for (size_t i = 0; i < nr_cuts; i++) {
		struct bkey_padded max, ptr;
		const struct bkey *last = NULL;

		/* every node but the last ends at its last key's position */
		for (size_t o = start; o < cuts[i]; o += bkey_u64s((const struct bkey *)(keys.d + o)))
			last = (const struct bkey *)(keys.d + o);
		memset(&max, 0, sizeof(max));
		if (i + 1 < nr_cuts)
			bkey_init_pos((struct bkey *)&max, KEY_INODE(last), KEY_OFFSET(last), 0);
		else
			bkey_init_pos((struct bkey *)&max, KEY_INODE(unode_end(n)),
				      KEY_OFFSET(unode_end(n)), 0);
		/* an empty key list has no array (NULL): no pointer arithmetic on it */
		ret = bt_node_write(w, keys.d ? keys.d + start : max.w, cuts[i] - start, n->level,
				    (struct bkey *)&max, &ptr, err);
		if (ret)
			goto out;
		u->st.nodes_written++;
		ret = bt_keylist_push(ptrs, (struct bkey *)&ptr);
		if (ret)
			goto out;
		start = cuts[i];
	}
	if (!n->is_new) {
		ret = bt_free_after_commit(w, PTR_BUCKET_NR(w->c, unode_end(n), 0));
		if (!ret)
			u->st.nodes_freed++;
	}
out:
	if (ret == -ENOMEM)
		prt_printf(err, "out of memory writing the btree node at level %u", n->level);
	free(cuts);
	free(keys.d);
	return ret;
}

/*
 * Write the changed leaves under n that end at or before position pos
 * (inode, offset), and free the copies of those leaves.
 */
static int flush_under(struct bt_btree_update *u, struct bt_unode *n, uint64_t inode,
		       uint64_t offset, struct printbuf *err)
{
	for (size_t i = 0; i < n->nr_ch; i++) {
		struct bt_uchild *ch = &n->ch[i];
		bool before = bkey_cmp_pos((const struct bkey *)&ch->key, inode, offset) <= 0;
		int ret = 0;

		if (ch->node && ch->node->level)
			ret = flush_under(u, ch->node, inode, offset, err);
		else if (ch->node && before && ch->node->dirty)
			ret = write_node(u, ch->node, &ch->written, err);
		if (ret)
			return ret;
		if (ch->node && !ch->node->level && before) {
			ch->flushed = ch->node->dirty;
			unode_free(ch->node);
			ch->node = NULL;
		}
		if (!before)
			break;	/* the children after this one start after pos */
	}
	return 0;
}

/* ---- bulk load (u->bulk) ----------------------------------------------- */

/* A new root above the root leaf, as the write puts above a root that splits. */
static int promote_root(struct bt_btree_update *u)
{
	struct bt_unode *top = calloc(1, sizeof(*top));

	if (!top || !(top->ch = calloc(16, sizeof(*top->ch)))) {
		free(top);
		return -ENOMEM;
	}
	top->level = u->root->level + 1;
	top->dirty = top->is_new = true;
	bkey_init_pos((struct bkey *)&top->key, MAX_KEY_INODE, MAX_KEY_OFFSET, 0);
	bt_extmap_init(&top->ext);
	top->size_ch = 16;
	top->nr_ch = 1;
	bt_bkey_copy((struct bkey *)&top->ch[0].key, (const struct bkey *)&u->root->key);
	top->ch[0].node = u->root;
	u->root->parent = top;
	u->root = top;
	u->st.levels_added++;
	return 0;
}

/* Undo promote_root(): the one leaf under the new root is the root again. */
static void demote_root(struct bt_btree_update *u)
{
	struct bt_unode *top = u->root;

	u->root = top->ch[0].node;
	u->root->parent = NULL;
	free(top->ch);
	free(top);
	u->st.levels_added--;
}

/* Room in p->ch for one more child at index i (the ones from i move up). */
static int child_insert(struct bt_unode *p, size_t i)
{
	if (p->nr_ch == p->size_ch) {
		size_t size = p->size_ch * 2;
		struct bt_uchild *ch = realloc(p->ch, size * sizeof(*ch));

		if (!ch)
			return -ENOMEM;
		p->ch = ch;
		p->size_ch = size;
	}
	memmove(p->ch + i + 1, p->ch + i, (p->nr_ch - i) * sizeof(*p->ch));
	memset(&p->ch[i], 0, sizeof(p->ch[i]));
	p->nr_ch++;
	return 0;
}

/* Append the packed keys [d, d + u64s) to ext; *last gets the last of them. */
static int ext_append_keys(struct bt_extmap *ext, const uint64_t *d, size_t u64s,
			   const struct bkey **last)
{
	int ret = 0;

	for (size_t o = 0; o < u64s && !ret; o += bkey_u64s(*last)) {
		*last = (const struct bkey *)(d + o);
		ret = bt_extmap_append(ext, *last);
	}
	return ret;
}

/* A new leaf under p at index i holding keys [d, d + u64s), ending at its last key. */
static int leaf_from(struct bt_unode *p, size_t i, const uint64_t *d, size_t u64s)
{
	struct bt_unode *n = calloc(1, sizeof(*n));
	const struct bkey *last = NULL;
	int ret = n ? child_insert(p, i) : -ENOMEM;

	if (ret) {
		free(n);
		return ret;
	}
	n->dirty = n->is_new = true;
	n->parent = p;
	bt_extmap_init(&n->ext);
	ret = ext_append_keys(&n->ext, d, u64s, &last);
	bkey_init_pos((struct bkey *)&n->key, KEY_INODE(last), KEY_OFFSET(last), 0);
	p->ch[i].key = n->key;
	p->ch[i].node = n;
	return ret;
}

/*
 * Child i of p, a leaf grown past the limit: cut where write_node() would
 * (split_points() over its merged keys), the parts before the last as new
 * leaves before it; the leaf keeps the last part. Sets *added.
 */
static int split_leaf(struct bt_btree_update *u, struct bt_unode *p, size_t i, size_t *added)
{
	struct bt_unode *l = p->ch[i].node;
	struct bt_keylist keys = { 0 };
	size_t limit = node_limit(u, 0), cuts[64], nr, start = 0;
	int ret;

	*added = 0;
	if (limit < 2 * KEY_MAX_U64S)
		limit = 2 * KEY_MAX_U64S;
	ret = leaf_keys(u, l, &keys);
	if (ret || keys.u64s <= limit)
		goto out;
	nr = split_points(keys.d, keys.u64s, limit, cuts, sizeof(cuts) / sizeof(cuts[0]));
	for (size_t j = 0; j + 1 < nr && !ret; j++, (*added)++) {
		ret = leaf_from(p, i + j, keys.d + start, cuts[j] - start);
		start = cuts[j];
	}
	if (!ret && *added) {
		const struct bkey *last;

		u->st.splits++;
		l->ext.nr = 0;
		ret = ext_append_keys(&l->ext, keys.d + start, keys.u64s - start, &last);
	}
out:
	free(keys.d);
	return ret;
}

/* Cut every loaded leaf under n grown past the limit (bulk load). */
static int split_grown(struct bt_btree_update *u, struct bt_unode *n)
{
	for (size_t i = 0; i < n->nr_ch; i++) {
		struct bt_unode *ch = n->ch[i].node;
		size_t added = 0;
		int ret = 0;

		if (ch && ch->level)
			ret = split_grown(u, ch);
		else if (ch && ch->dirty && ch->ext.nr * 3 > node_limit(u, 0))
			ret = split_leaf(u, n, i, &added);
		if (ret)
			return ret;
		i += added;
	}
	return 0;
}

int bt_btree_update_flush_before(struct bt_btree_update *u, uint64_t inode, uint64_t offset,
				 struct printbuf *err)
{
	int ret = 0;

	if (u->bulk && u->root && !u->root->level && u->root->dirty &&
	    u->root->ext.nr * 3 > node_limit(u, 0))
		ret = promote_root(u);
	if (!ret && u->bulk && u->root && u->root->level)
		ret = split_grown(u, u->root);
	if (!ret && u->bulk && u->root && u->root->is_new && u->root->nr_ch == 1 &&
	    u->root->ch[0].node && !u->root->ch[0].node->level)
		demote_root(u);		/* the root leaf did not need cutting after all */
	if (ret) {
		prt_str(err, "out of memory cutting a btree leaf");
		return ret;
	}
	if (!u->root || !u->root->level)
		return 0;	/* a root leaf has no parent to hold its new pointers */
	return flush_under(u, u->root, inode, offset, err);
}

int bt_btree_update_write(struct bt_btree_update *u, struct printbuf *err)
{
	struct bt_write_ctx *w = u->w;
	struct bt_keylist ptrs = { 0 };
	unsigned level;
	int ret;

	if (!u->root || !u->root->dirty)
		return 0;
	level = u->root->level;
	ret = write_node(u, u->root, &ptrs, err);
	/* the root split: one more level above the new nodes, at MAX_KEY */
	while (!ret && ptrs.u64s > bkey_u64s((const struct bkey *)ptrs.d)) {
		struct bt_unode top = { .level = level + 1, .dirty = true, .is_new = true };
		struct bt_keylist up = { 0 };
		size_t nr = 0;

		for (size_t o = 0; o < ptrs.u64s; o += bkey_u64s((const struct bkey *)(ptrs.d + o)))
			nr++;
		top.ch = calloc(nr, sizeof(*top.ch));
		if (!top.ch) {
			ret = -ENOMEM;
			break;
		}
		for (size_t o = 0, i = 0; o < ptrs.u64s;
		     o += bkey_u64s((const struct bkey *)(ptrs.d + o)), i++)
			bt_bkey_copy((struct bkey *)&top.ch[i].key, (const struct bkey *)(ptrs.d + o));
		top.nr_ch = top.size_ch = nr;
		bkey_init_pos((struct bkey *)&top.key, MAX_KEY_INODE, MAX_KEY_OFFSET, 0);
		ret = write_node(u, &top, &up, err);
		free(top.ch);
		free(ptrs.d);
		ptrs = up;
		level++;
		u->st.levels_added++;
	}
	if (!ret) {
		memset(&w->new_root, 0, sizeof(w->new_root));
		bt_bkey_copy((struct bkey *)&w->new_root, (const struct bkey *)ptrs.d);
		w->new_root_level = level;
		w->root_changed = true;
	}
	free(ptrs.d);
	return ret;
}
