/* bkey_json.h --- a bkey as a JSON object, for dump-btree and dump-journal. */
#ifndef BCACHE_TOOL_BKEY_JSON_H
#define BCACHE_TOOL_BKEY_JSON_H

#include <jansson.h>

#include "libcore/ondisk/cache_set.h"

/*
 * bt_bkey_to_json(): a new object (caller owns it) with the key's text in
 * kernel notation, inode, start, offset (end), size (sectors), dirty and its
 * pointers (dev, offset in sectors, gen). When c is given, each available
 * pointer also gets "stale" (gens its bucket is ahead, 0 = live).
 */
json_t *bt_bkey_to_json(const struct cache_set *c, const struct bkey *k);

#endif /* BCACHE_TOOL_BKEY_JSON_H */
