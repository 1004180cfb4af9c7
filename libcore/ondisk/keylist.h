/* keylist.h --- a growing array of packed bkeys (as in a bset). */
#ifndef BCACHE_TOOL_KEYLIST_H
#define BCACHE_TOOL_KEYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "libcore/base/ondisk.h"

struct bt_keylist {
	uint64_t	*d;		/* packed keys, malloc'ed */
	size_t		u64s;		/* words used */
	size_t		size;		/* words allocated */
	size_t		nr;		/* keys */
};

/*
 * bt_keylist_push(): append a copy of k (bkey_u64s(k) words). Returns 0
 * or -ENOMEM (the list is unchanged then). The caller owns l->d and frees
 * it with bt_keylist_exit() or by taking it over.
 */
int bt_keylist_push(struct bt_keylist *l, const struct bkey *k);

/* bt_keylist_push_all(): append copies of every key of from, in order. 0 or -ENOMEM. */
int bt_keylist_push_all(struct bt_keylist *l, const struct bt_keylist *from);

void bt_keylist_exit(struct bt_keylist *l);

#endif /* BCACHE_TOOL_KEYLIST_H */
