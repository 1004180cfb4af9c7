/* sb_json.h --- the superblock as JSON, for show-super --json. */
#ifndef BCACHE_TOOL_SB_JSON_H
#define BCACHE_TOOL_SB_JSON_H

#include <jansson.h>

#include "libcore/ondisk/sb.h"

/* A new JSON object (caller owns the reference) with every field of sb. */
json_t *bt_sb_to_json(const struct cache_sb *sb, bool csum_ok, uint64_t csum_computed);

#endif /* BCACHE_TOOL_SB_JSON_H */
