/* stats.c --- the summary's figures: extent counts and the view served
 * after journal replay, shared by the passes and the read-back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/read/extent_map.h"
#include "libcore/read/overlay.h"
#include "libcore/read/uuid.h"
#include "libcore/read/view_stream.h"
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

/* The view's counting: its keys as bt_view_stream() hands them out. */
struct count_arg {
	struct fsck_stats	*s;
	size_t			size;	/* entries allocated in s->slots */
};

static void count_reset(struct fsck_stats *s)
{
	free(s->slots);
	s->slots = NULL;
	s->nr_slots = 0;
	memset(&s->served, 0, sizeof(s->served));
}

static void count_restart(void *arg)
{
	struct count_arg *a = arg;

	count_reset(a->s);
	a->size = 0;
}

static int count_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct count_arg *a = arg;
	struct fsck_slot_stats *e;

	if (!bt_overlay_key_live(c, k))
		return 0;
	if (!(e = slot_of(a->s, c, k, &a->size)))
		return -ENOMEM;
	fsck_extent_stats_add(&a->s->served, k);
	fsck_extent_stats_add(&e->e, k);
	return 0;
}

/*
 * keep going: node errors were reported by the btree pass, the view says
 * partial; the btree and mark passes raised the gens already
 */
static const struct bt_view_stream_opts count_opts = {
	.with_journal = true, .keep_going = true, .gens_raised = true,
	.key_fn = count_key, .restart_fn = count_restart,
};

int fsck_stats_count_view(struct fsck_stats *s, struct cache_set *c, struct bt_node_cache *nc)
{
	struct printbuf msg = PRINTBUF;
	struct count_arg a = { .s = s };
	struct bt_view_stream_opts o = count_opts;
	struct bt_overlay_stats st;
	int ret;

	o.arg = &a;
	count_reset(s);
	s->view = FSCK_FIG_NONE;
	ret = bt_view_stream(c, nc, &o, &st, &msg);
	if (!ret)
		s->view = st.unreadable_nodes ? FSCK_FIG_PARTIAL : FSCK_FIG_WHOLE;
	printbuf_exit(&msg);
	return ret == -ENOMEM ? ret : 0;
}

struct fsck_view_count {
	struct count_arg	a;
	struct bt_view_stream_opts o;
	struct bt_overlay_stats	st;
	struct bt_view_tap	*tap;
};

struct fsck_view_count *fsck_view_count_begin(struct fsck_stats *s, struct cache_set *c)
{
	struct fsck_view_count *vc = calloc(1, sizeof(*vc));
	struct printbuf msg = PRINTBUF;

	if (!vc)
		return NULL;
	vc->a.s = s;
	vc->o = count_opts;
	vc->o.arg = &vc->a;
	count_reset(s);
	s->view = FSCK_FIG_NONE;
	if (bt_view_tap_begin(c, &vc->o, &vc->st, &vc->tap, &msg)) {
		free(vc);
		vc = NULL;
	}
	printbuf_exit(&msg);
	return vc;
}

void fsck_view_count_node(struct fsck_view_count *vc, const struct bt_node *n)
{
	bt_view_tap_node(vc->tap, n);	/* an -ENOMEM stops the tap: the end says so */
}

void fsck_view_count_error(struct fsck_view_count *vc, const char *msg)
{
	bt_view_tap_node_error(vc->tap, msg);
}

bool fsck_view_count_end(struct fsck_view_count *vc, bool walk_done)
{
	struct printbuf msg = PRINTBUF;
	struct fsck_stats *s = vc->a.s;
	int ret = -ECANCELED;

	if (walk_done)
		ret = bt_view_tap_end(vc->tap, &msg);
	else
		bt_view_tap_free(vc->tap);

	printbuf_exit(&msg);
	if (!ret)
		s->view = vc->st.unreadable_nodes ? FSCK_FIG_PARTIAL : FSCK_FIG_WHOLE;
	else
		count_reset(s);
	free(vc);
	return !ret;
}
