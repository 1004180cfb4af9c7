/* keylist.h --- a growing array of packed bkeys (as in a bset). */
#ifndef BCACHE_TOOL_KEYLIST_H
#define BCACHE_TOOL_KEYLIST_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "libcore/base/ondisk.h"

struct bt_keylist {
	uint64_t	*d;		/* packed keys, malloc'ed */
	size_t		u64s;		/* words used */
	size_t		size;		/* words allocated */
	size_t		nr;		/* keys */
};

/*
 * bt_keylist_reserve(): room for at least u64s more words without another
 * allocation. Returns 0 or -ENOMEM (the list is unchanged then).
 */
int bt_keylist_reserve(struct bt_keylist *l, size_t u64s);

/*
 * bt_keylist_push(): append a copy of k (bkey_u64s(k) words). Returns 0
 * or -ENOMEM (the list is unchanged then). The caller owns l->d and frees
 * it with bt_keylist_exit() or by taking it over. Inline: the merge of
 * every node read pushes each of its keys here.
 */
static inline int bt_keylist_push(struct bt_keylist *l, const struct bkey *k)
{
	size_t n = bkey_u64s(k);

	if (l->u64s + n > l->size && bt_keylist_reserve(l, n))
		return -ENOMEM;
	memcpy(l->d + l->u64s, k, n * sizeof(*l->d));
	l->u64s += n;
	l->nr++;
	return 0;
}

/* bt_keylist_push_all(): append copies of every key of from, in order. 0 or -ENOMEM. */
int bt_keylist_push_all(struct bt_keylist *l, const struct bt_keylist *from);

void bt_keylist_exit(struct bt_keylist *l);

#endif /* BCACHE_TOOL_KEYLIST_H */
