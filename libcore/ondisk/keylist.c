/* keylist.c --- a growing array of packed bkeys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/keylist.h"

int bt_keylist_reserve(struct bt_keylist *l, size_t u64s)
{
	size_t size = l->size ? l->size : 64;
	uint64_t *d;

	if (l->u64s + u64s <= l->size)
		return 0;
	while (size < l->u64s + u64s)
		size *= 2;
	d = realloc(l->d, size * sizeof(*d));
	if (!d)
		return -ENOMEM;
	l->d = d;
	l->size = size;
	return 0;
}

int bt_keylist_push_all(struct bt_keylist *l, const struct bt_keylist *from)
{
	for (size_t o = 0; o < from->u64s; o += bkey_u64s((const struct bkey *)(from->d + o))) {
		int ret = bt_keylist_push(l, (const struct bkey *)(from->d + o));

		if (ret)
			return ret;
	}
	return 0;
}

void bt_keylist_exit(struct bt_keylist *l)
{
	free(l->d);
	memset(l, 0, sizeof(*l));
}
