/* sb_json.c --- the superblock as a JSON object (jansson). */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "libcore/ondisk/sb_json.h"

static json_t *uuid_json(const uint8_t uuid[16])
{
	struct printbuf pb = PRINTBUF;
	json_t *j;

	prt_uuid(&pb, uuid);
	j = json_string(printbuf_str(&pb));
	printbuf_exit(&pb);
	return j;
}

static json_t *label_json(const struct cache_sb *sb)
{
	struct printbuf pb = PRINTBUF;
	json_t *j;

	bt_sb_label_to_text(&pb, sb);
	j = json_string(printbuf_str(&pb));
	printbuf_exit(&pb);
	return j;
}

static json_t *hex_json(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%016llx", (unsigned long long)v);
	return json_string(buf);
}

json_t *bt_sb_to_json(const struct cache_sb *sb, bool csum_ok, uint64_t csum_computed)
{
	json_t *o = json_object();

	json_object_set_new(o, "magic_ok", json_boolean(!memcmp(sb->magic, bcache_sb_magic, 16)));
	json_object_set_new(o, "offset", json_integer((json_int_t)sb->offset));
	json_object_set_new(o, "csum", hex_json(sb->csum));
	json_object_set_new(o, "csum_computed", hex_json(csum_computed));
	json_object_set_new(o, "csum_ok", json_boolean(csum_ok));
	json_object_set_new(o, "version", json_integer((json_int_t)sb->version));
	json_object_set_new(o, "version_name", json_string(bt_sb_version_str(sb->version)));
	json_object_set_new(o, "device_type",
			    json_string(bt_sb_is_bdev(sb) ? "backing" :
					bt_sb_is_cache(sb) ? "cache" : "unknown"));
	json_object_set_new(o, "label", label_json(sb));
	json_object_set_new(o, "uuid", uuid_json(sb->uuid));
	json_object_set_new(o, "set_uuid", uuid_json(sb->set_uuid));
	json_object_set_new(o, "seq", json_integer((json_int_t)sb->seq));
	json_object_set_new(o, "last_mount", json_integer(sb->last_mount));
	json_object_set_new(o, "block_size", json_integer(sb->block_size));
	json_object_set_new(o, "bucket_size", json_integer(sb->bucket_size));
	json_object_set_new(o, "flags", hex_json(sb->flags));
	if (sb->version >= BCACHE_SB_VERSION_CDEV_WITH_FEATURES) {
		json_object_set_new(o, "feature_compat", hex_json(sb->feature_compat));
		json_object_set_new(o, "feature_ro_compat", hex_json(sb->feature_ro_compat));
		json_object_set_new(o, "feature_incompat", hex_json(sb->feature_incompat));
	}
	if (bt_sb_is_bdev(sb)) {
		unsigned mode = (unsigned)BDEV_CACHE_MODE(sb->flags);
		unsigned state = (unsigned)BDEV_STATE(sb->flags);

		json_object_set_new(o, "data_offset", json_integer((json_int_t)sb->data_offset));
		json_object_set_new(o, "cache_mode", json_integer(mode));
		json_object_set_new(o, "cache_mode_name", json_string(bt_cache_mode_str(mode)));
		json_object_set_new(o, "state", json_integer(state));
		json_object_set_new(o, "state_name", json_string(bt_bdev_state_str(state)));
	} else {
		unsigned repl = (unsigned)CACHE_REPLACEMENT(sb->flags);
		json_t *d = json_array();

		json_object_set_new(o, "nbuckets", json_integer((json_int_t)sb->nbuckets));
		json_object_set_new(o, "first_bucket", json_integer(sb->first_bucket));
		json_object_set_new(o, "nr_in_set", json_integer(sb->nr_in_set));
		json_object_set_new(o, "nr_this_dev", json_integer(sb->nr_this_dev));
		json_object_set_new(o, "cache_sync", json_boolean(CACHE_SYNC(sb->flags)));
		json_object_set_new(o, "discard", json_boolean(CACHE_DISCARD(sb->flags)));
		json_object_set_new(o, "replacement", json_integer(repl));
		json_object_set_new(o, "replacement_name", json_string(bt_replacement_str(repl)));
		for (unsigned i = 0; i < sb->keys && i < SB_JOURNAL_BUCKETS; i++)
			json_array_append_new(d, json_integer((json_int_t)sb->d[i]));
		json_object_set_new(o, "journal_buckets", d);
	}
	return o;
}
