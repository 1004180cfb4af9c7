/* stats.c --- the summary's figures: extent counts and the view served
 * after journal replay, shared by the passes and the read-back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/read/extent_map.h"
#include "libcore/read/overlay.h"
#include "libcore/read/uuid.h"
#include "fsck.h"

void fsck_stats_init(struct fsck_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->cache_set = true;
}

void fsck_stats_exit(struct fsck_stats *s)
{
	free(s->slots);
	fsck_stats_init(s);
}

void fsck_extent_stats_add(struct fsck_extent_stats *e, const struct bkey *k)
{
	e->keys++;
	e->data_sectors += KEY_SIZE(k);
	if (KEY_DIRTY(k)) {
		e->dirty_keys++;
		e->dirty_sectors += KEY_SIZE(k);
	}
}

/* The entry of k's slot: the view is sorted by slot, so it is the last one or a new one. */
static struct fsck_slot_stats *slot_of(struct fsck_stats *s, const struct cache_set *c,
				       const struct bkey *k, size_t *size)
{
	uint64_t slot = KEY_INODE(k);
	struct fsck_slot_stats *e;

	if (s->nr_slots && s->slots[s->nr_slots - 1].slot == slot)
		return &s->slots[s->nr_slots - 1];
	if (s->nr_slots == *size) {
		size_t n = *size ? *size * 2 : 4;
		void *p = realloc(s->slots, n * sizeof(*s->slots));

		if (!p)
			return NULL;
		s->slots = p;
		*size = n;
	}
	e = &s->slots[s->nr_slots++];
	memset(e, 0, sizeof(*e));
	e->slot = slot;
	if (c->uuids && slot < c->nr_uuids && bt_uuid_slot_state(&c->uuids[slot]) == BT_UUID_LIVE) {
		e->kind = bt_uuid_flash_only(&c->uuids[slot]) ? FSCK_SLOT_FLASH : FSCK_SLOT_BACKING;
		memcpy(e->uuid, c->uuids[slot].uuid, sizeof(e->uuid));
	}
	return e;
}

int fsck_stats_count_view(struct fsck_stats *s, struct cache_set *c, struct bt_node_cache *nc)
{
	struct printbuf msg = PRINTBUF;
	struct bt_overlay_stats st;
	struct bt_extmap view;
	size_t size = 0;
	int ret;

	free(s->slots);
	s->slots = NULL;
	s->nr_slots = 0;
	memset(&s->served, 0, sizeof(s->served));
	s->view = FSCK_FIG_NONE;
	bt_extmap_init(&view);
	/* keep going: node errors were reported by the btree pass, the view says partial */
	ret = bt_overlay_build(c, nc, true, true, &view, &st, &msg);
	for (size_t i = 0; !ret && i < view.nr; i++) {
		const struct bkey *k = bt_extmap_key(&view, i);
		struct fsck_slot_stats *e;

		if (!bt_overlay_key_live(c, k))
			continue;
		if (!(e = slot_of(s, c, k, &size))) {
			ret = -ENOMEM;
			break;
		}
		fsck_extent_stats_add(&s->served, k);
		fsck_extent_stats_add(&e->e, k);
	}
	if (!ret)
		s->view = st.unreadable_nodes ? FSCK_FIG_PARTIAL : FSCK_FIG_WHOLE;
	bt_extmap_exit(&view);
	printbuf_exit(&msg);
	return ret == -ENOMEM ? ret : 0;
}
