/* replay.c --- journal replay as one copy-on-write transaction. */
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/write/btree_update.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/write/replay.h"
#include "libcore/write/write.h"

static void report_missing(const struct cache_set *c, struct printbuf *err)
{
	const struct bt_journal *jl = &c->journal;

	prt_str(err, "journal entries ");
	for (size_t i = 0; i < jl->nr_missing; i++)
		prt_printf(err, "%s%llu-%llu", i ? ", " : "",
			   (unsigned long long)jl->missing[i][0],
			   (unsigned long long)jl->missing[i][1]);
	prt_printf(err, " missing (replaying %llu-%llu)",
		   (unsigned long long)jl->last_seq, (unsigned long long)jl->newest_seq);
}

/* Insert the keys of one jset; invalid ones are reported and skipped. */
static int replay_entry(struct bt_btree_update *u, const struct bt_journal_entry *e,
			struct bt_replay_stats *st, struct printbuf *report,
			struct printbuf *err)
{
	const struct cache_set *c = u->w->c;
	const struct jset *j = e->j;
	const uint64_t *p = j->d, *end = j->d + le32toh(j->keys);

	while (p < end) {
		const struct bkey *k = (const struct bkey *)p;
		enum bt_extent_validity v;
		int ret;

		/* the journal reader bounded the keys by bytes; a key must still fit */
		if (end - p < 2 || (size_t)(end - p) < bkey_u64s(k))
			break;
		v = bt_extent_invalid(c, k);
		if (v == BT_EXTENT_ZERO_SIZE) {
			st->zero_size++;
		} else if (v != BT_EXTENT_VALID || KEY_PTRS(k) > KEY_MAX_U64S - 2) {
			st->invalid++;
			if (report) {
				prt_printf(report, "skipped invalid key in jset %llu at sector %llu: ",
					   (unsigned long long)le64toh(j->seq),
					   (unsigned long long)e->sector);
				bt_bkey_to_text(report, k);
				prt_printf(report, " (%s)",
					   KEY_SIZE(k) > KEY_OFFSET(k) ? "size past offset" :
					   KEY_PTRS(k) > KEY_MAX_U64S - 2 ? "too many pointers" :
					   bt_ptr_status_str(bt_ptr_status(c, k)));
				prt_newline(report);
			}
		} else {
			ret = bt_btree_insert_keys(u, p, bkey_u64s(k), err);
			if (ret)
				return ret;
			st->keys++;
		}
		p += bkey_u64s(k);
	}
	return 0;
}

int bt_journal_replay_insert(struct bt_btree_update *u, struct bt_replay_stats *st,
			     struct printbuf *report, struct printbuf *err)
{
	const struct bt_journal *jl = &u->w->c->journal;
	int ret = 0;

	for (size_t i = 0; i < jl->nr && !ret; i++)
		ret = replay_entry(u, &jl->entries[i], st, report, err);
	return ret;
}

int bt_journal_replay(struct cache_set *c, struct bt_node_cache *nc, unsigned flags,
		      struct bt_replay_stats *st, struct printbuf *report, struct printbuf *err)
{
	struct bt_write_ctx w;
	struct bt_btree_update u;
	int ret;

	memset(st, 0, sizeof(*st));
	st->entries = c->journal.nr;
	if (c->journal.nr_missing && !(flags & BT_REPLAY_FORCE)) {
		report_missing(c, err);
		return -BT_ERR_JOURNAL_MISSING_ENTRIES;
	}
	if (!c->journal.nr_keys && !(flags & BT_REPLAY_COMMIT))
		return 0;

	ret = bt_write_start(&w, c, nc, err);
	if (ret)
		return ret;
	bt_btree_update_init(&u, &w);
	ret = bt_journal_replay_insert(&u, st, report, err);
	if (!ret)
		ret = bt_btree_update_write(&u, err);
	st->nodes_written = u.st.nodes_written;
	st->nodes_freed = u.st.nodes_freed;
	st->splits = u.st.splits;
	st->levels_added = u.st.levels_added;
	st->dead_dropped = u.st.dead_dropped;
	bt_btree_update_exit(&u);
	if (!ret) {
		w.last_seq = 0;		/* the new jset's own seq: nothing left to replay */
		ret = bt_commit(&w, err);
	}
	if (ret) {
		bt_write_abort(&w);
		return ret;
	}
	st->committed = true;
	return 0;
}
