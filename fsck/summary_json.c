/* summary_json.c --- the "summary" object of fsck --json, made from ctx->stats.
 *
 * The keys are documented in bcache-tool-fsck(8) (SUMMARY); keep them
 * stable. Unqualified figures (keys, data_sectors, ...) describe the view
 * the kernel serves after journal replay; "on_disk" the btree as written,
 * before replay. A figure that was not computed is null; a partial one
 * (a lower bound) keeps its value and its key is listed in
 * "partial_figures", with "partial": true.
 */
#include "libcore/base/printbuf.h"
#include "fsck.h"

struct sum_json {
	json_t	*partial;	/* array of the keys of partial figures */
};

/* key = v, or null when not computed; a partial one is listed under prefix.key. */
static void fig(struct sum_json *sj, json_t *o, const char *prefix, const char *key,
		enum fsck_fig_state st, uint64_t v)
{
	if (st == FSCK_FIG_NONE) {
		json_object_set_new(o, key, json_null());
		return;
	}
	json_object_set_new(o, key, json_integer((json_int_t)v));
	if (st == FSCK_FIG_PARTIAL) {
		struct printbuf name = PRINTBUF;

		prt_printf(&name, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", key);
		json_array_append_new(sj->partial, json_string(printbuf_str(&name)));
		printbuf_exit(&name);
	}
}

static void extent_figs(struct sum_json *sj, json_t *o, const char *prefix,
			enum fsck_fig_state st, const struct fsck_extent_stats *e)
{
	fig(sj, o, prefix, "keys", st, e->keys);
	fig(sj, o, prefix, "dirty_keys", st, e->dirty_keys);
	fig(sj, o, prefix, "data_sectors", st, e->data_sectors);
	fig(sj, o, prefix, "dirty_sectors", st, e->dirty_sectors);
}

static const char *const slot_kind_name[] = {
	[FSCK_SLOT_NONE]	= "none",
	[FSCK_SLOT_BACKING]	= "backing",
	[FSCK_SLOT_FLASH]	= "flash",
};

static json_t *uuid_json(const struct fsck_slot_stats *e)
{
	struct printbuf pb = PRINTBUF;
	json_t *u;

	if (e->kind == FSCK_SLOT_NONE)
		return json_null();
	prt_uuid(&pb, e->uuid);
	u = json_string(printbuf_str(&pb));
	printbuf_exit(&pb);
	return u;
}

/*
 * The served view per uuid slot: "devices" (every slot with live keys) and
 * the older "dirty_sectors_per_device" (slots with dirty data).
 */
static void slot_figs(struct sum_json *sj, json_t *sum, const struct fsck_stats *s)
{
	json_t *dev, *dirty;

	if (s->view == FSCK_FIG_NONE) {
		json_object_set_new(sum, "devices", json_null());
		json_object_set_new(sum, "dirty_sectors_per_device", json_null());
		return;
	}
	dev = json_array();
	dirty = json_array();
	for (size_t i = 0; i < s->nr_slots; i++) {
		const struct fsck_slot_stats *e = &s->slots[i];
		json_t *o = json_object();

		json_object_set_new(o, "slot", json_integer((json_int_t)e->slot));
		json_object_set_new(o, "uuid", uuid_json(e));
		json_object_set_new(o, "kind", json_string(slot_kind_name[e->kind]));
		json_object_set_new(o, "keys", json_integer((json_int_t)e->e.keys));
		json_object_set_new(o, "dirty_keys", json_integer((json_int_t)e->e.dirty_keys));
		json_object_set_new(o, "data_sectors", json_integer((json_int_t)e->e.data_sectors));
		json_object_set_new(o, "dirty_sectors", json_integer((json_int_t)e->e.dirty_sectors));
		json_array_append_new(dev, o);
		if (!e->e.dirty_sectors)
			continue;
		o = json_object();
		json_object_set_new(o, "uuid_slot", json_integer((json_int_t)e->slot));
		if (e->kind != FSCK_SLOT_NONE) {
			json_object_set_new(o, "uuid", uuid_json(e));
			json_object_set_new(o, "flash_only", json_boolean(e->kind == FSCK_SLOT_FLASH));
		}
		json_object_set_new(o, "dirty_sectors", json_integer((json_int_t)e->e.dirty_sectors));
		json_array_append_new(dirty, o);
	}
	json_object_set_new(sum, "devices", dev);
	json_object_set_new(sum, "dirty_sectors_per_device", dirty);
	if (s->view == FSCK_FIG_PARTIAL) {
		json_array_append_new(sj->partial, json_string("devices"));
		json_array_append_new(sj->partial, json_string("dirty_sectors_per_device"));
	}
}

static void bucket_figs(struct sum_json *sj, json_t *sum, const struct fsck_stats *s)
{
	fig(sj, sum, NULL, "buckets_in_use", s->marks, s->buckets_in_use);
	fig(sj, sum, NULL, "buckets_total", s->sb, s->buckets_total);
	if (s->marks != FSCK_FIG_NONE && s->sb != FSCK_FIG_NONE && s->buckets_total) {
		json_object_set_new(sum, "buckets_in_use_percent",
				    json_real(100.0 * (double)s->buckets_in_use /
					      (double)s->buckets_total));
		if (s->marks == FSCK_FIG_PARTIAL)
			json_array_append_new(sj->partial, json_string("buckets_in_use_percent"));
	} else {
		json_object_set_new(sum, "buckets_in_use_percent", json_null());
	}
	fig(sj, sum, NULL, "max_gen_lag", s->gen_lag, s->max_gen_lag);
}

json_t *fsck_summary_json(const struct fsck_ctx *ctx)
{
	const struct fsck_stats *s = &ctx->stats;
	struct sum_json sj = { .partial = json_array() };
	json_t *sum = json_object(), *disk = json_object();

	json_object_set_new(sum, "cache_set", json_boolean(s->cache_set));
	json_object_set_new(sum, "partial", json_false());	/* set below, kept here in order */
	/* the view after journal replay: what the kernel will serve */
	extent_figs(&sj, sum, NULL, s->view, &s->served);
	slot_figs(&sj, sum, s);
	fig(&sj, sum, NULL, "keys_after_replay", s->view, s->served.keys);
	fig(&sj, sum, NULL, "dirty_keys_after_replay", s->view, s->served.dirty_keys);
	/* the btree as it is on disk */
	fig(&sj, sum, NULL, "btree_nodes", s->tree, s->btree_nodes);
	/* the root's level is known whole even when the walk stopped */
	fig(&sj, sum, NULL, "tree_depth", s->tree ? FSCK_FIG_WHOLE : FSCK_FIG_NONE, s->tree_depth);
	fig(&sj, sum, NULL, "key_bytes", s->tree, s->key_bytes);
	extent_figs(&sj, disk, "on_disk", s->tree, &s->on_disk);
	json_object_set_new(sum, "on_disk", disk);
	bucket_figs(&sj, sum, s);
	fig(&sj, sum, NULL, "journal_entries", s->journal, s->journal_entries);
	fig(&sj, sum, NULL, "journal_keys_to_replay", s->journal, s->journal_keys_to_replay);
	json_object_set_new(sum, "partial", json_boolean(json_array_size(sj.partial) > 0));
	json_object_set_new(sum, "partial_figures", sj.partial);
	return sum;
}
