/* pass_journal.c --- the journal pass: the journal.
 *
 * Checks, on libcore's bt_journal_read() (which reads every journal bucket
 * as the kernel's journal_read_bucket() does and emulates its search):
 * jsets with a good magic but a bad csum, too big, or unreadable (where
 * the kernel stops reading the bucket); jsets of the replay range that lie
 * past such a stop; seqs missing from [last_seq, newest seq]; last_seq
 * after seq; a kernel search that would end elsewhere; no jset at all
 * (repaired by journal_rebuild.c: a scan and one new jset); the newest jset's btree root (bt_journal_check_newest(),
 * fatal); every key of every jset of the replay range, bounded by the
 * jset's keys field (invalid extents, a truncated last key). Zero-size keys
 * are dropped silently, as the kernel does.
 *
 * Hands on:
 *   c->journal		the replay list (entries oldest first) and newest jset
 *   c->root_key, c->root_level, c->uuid_key, c->prio_start
 *   stats.journal	journal_entries, journal_keys_to_replay
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "fsck.h"

static void jpctx(struct fsck_ctx *ctx, struct problem_ctx *p, unsigned idx, uint64_t sector)
{
	clear_problem_context(p);
	p->dev = ctx->path;
	p->structure = "jset";
	p->sector = sector;
	if (sector != PCTX_UNSET)
		p->byte_offset = sector << SECTOR_SHIFT;
	if (idx < ctx->c->sb.keys && idx < SB_JOURNAL_BUCKETS) {
		p->num = idx;
		p->bucket = ctx->c->sb.d[idx];
	}
}

/*
 * Ask about a journal problem whose repair is the replay pass's commit
 * (PF_LATER): on a yes, record "where: old state" for the fix line.
 */
static bool ask_later(struct fsck_ctx *ctx, enum problem code, struct problem_ctx *p,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool ask_later(struct fsck_ctx *ctx, enum problem code, struct problem_ctx *p,
		      const char *fmt, ...)
{
	struct printbuf what = PRINTBUF;
	char buf[512];
	va_list args;

	if (!fix_problem(ctx, code, p))
		return false;
	va_start(args, fmt);
	vsnprintf(buf, sizeof(buf), fmt, args);
	va_end(args);
	prt_str(&what, buf);
	if (p->key) {
		prt_str(&what, ": ");
		fsck_bkey_to_text(&what, p->key);
	}
	fsck_defer_fix(ctx, code, printbuf_str(&what));
	printbuf_exit(&what);
	return true;
}

/* Damaged positions: where the kernel's scan of a bucket stops on a valid magic. */
static void report_damage(struct fsck_ctx *ctx)
{
	const struct bt_journal *jn = &ctx->c->journal;
	struct problem_ctx p;

	for (size_t i = 0; i < jn->nr_damage; i++) {
		const struct bt_journal_damage *d = &jn->damage[i];

		/*
		 * A damaged jset whose stored seq is below the replay range is
		 * an old entry: the kernel needs nothing from it and the scan
		 * stopping there hides nothing newer (a hidden newer jset is
		 * JSET_PAST_KERNEL_SCAN, a gap JOURNAL_SEQ_MISSING). A repair's
		 * new jset in another bucket leaves such leftovers behind. So
		 * does garbage whose stored seq is implausibly far ahead (the
		 * same window the commit's new seq uses).
		 */
		if (d->kind != BT_JDAMAGE_IO && jn->nr &&
		    (d->seq < jn->last_seq || d->seq - jn->newest_seq >= BT_JOURNAL_SEQ_WINDOW))
			continue;
		jpctx(ctx, &p, d->bucket_idx, d->kind == BT_JDAMAGE_IO ? PCTX_UNSET : d->sector);
		p.str = d->msg;
		switch (d->kind) {
		case BT_JDAMAGE_BAD_CSUM:
			p.jset_seq = d->seq;
			ask_later(ctx, PR_JSET_BAD_CSUM, &p,
				  "jset (stored seq %llu) at sector %llu of '%s': bad csum, "
				  "its keys not replayed by the kernel", (unsigned long long)d->seq,
				  (unsigned long long)d->sector, ctx->path);
			break;
		case BT_JDAMAGE_TOO_BIG:
			p.jset_seq = d->seq;
			p.num2 = d->bytes;
			ask_later(ctx, PR_JSET_TOO_BIG, &p,
				  "jset (stored seq %llu) at sector %llu of '%s': %llu bytes, "
				  "its keys not replayed by the kernel", (unsigned long long)d->seq,
				  (unsigned long long)d->sector, ctx->path,
				  (unsigned long long)d->bytes);
			break;
		default:
			fix_problem(ctx, PR_JOURNAL_READ_ERROR, &p);
			break;
		}
	}
}

/* The replay list as a whole: gaps, last_seq, jsets the kernel would not see. */
static void report_list(struct fsck_ctx *ctx)
{
	const struct bt_journal *jn = &ctx->c->journal;
	struct problem_ctx p;

	for (size_t i = 0; i < jn->nr_missing; i++) {
		jpctx(ctx, &p, ~0u, PCTX_UNSET);
		p.num = jn->missing[i][0];
		p.num2 = jn->missing[i][1];
		p.jset_seq = jn->last_seq;
		if (jn->missing[i][0] > jn->missing[i][1] ?
		    ask_later(ctx, PR_JOURNAL_SEQ_MISSING, &p,
			      "journal of '%s': replay range starts at seq %llu, after the jset "
			      "%llu it must start with; the %zu jsets found replayed", ctx->path,
			      (unsigned long long)jn->missing[i][0],
			      (unsigned long long)jn->missing[i][1] + 1, jn->nr) :
		    ask_later(ctx, PR_JOURNAL_SEQ_MISSING, &p,
			      "journal of '%s': seqs %llu-%llu missing, the keys they held "
			      "are lost; the other %zu jsets of %llu-%llu replayed", ctx->path,
			      (unsigned long long)jn->missing[i][0],
			      (unsigned long long)jn->missing[i][1], jn->nr,
			      (unsigned long long)jn->last_seq, (unsigned long long)jn->newest_seq))
			ctx->plan.replay_force = true;
	}
	if (jn->nr && !jn->sane_last_seq) {
		jpctx(ctx, &p, ~0u, bt_journal_newest(jn)->sector);
		p.jset_seq = jn->newest_seq;
		p.num = jn->last_seq;
		ask_later(ctx, PR_JSET_LAST_SEQ_AFTER_SEQ, &p,
			  "newest jset %llu at sector %llu of '%s', last_seq %llu: only the "
			  "%zu jsets found from last_seq on replayed, the keys of older jsets "
			  "are lost", (unsigned long long)jn->newest_seq,
			  (unsigned long long)bt_journal_newest(jn)->sector, ctx->path,
			  (unsigned long long)jn->last_seq, jn->nr);
	}
	for (size_t i = 0; i < jn->nr_all; i++) {
		const struct bt_journal_entry *e = &jn->all[i];

		if (!e->hidden || le64toh(e->j->seq) < jn->last_seq)
			continue;
		jpctx(ctx, &p, e->bucket_idx, e->sector);
		p.jset_seq = le64toh(e->j->seq);
		ask_later(ctx, PR_JSET_PAST_KERNEL_SCAN, &p,
			  "jset %llu at sector %llu of '%s': past the kernel's scan, "
			  "its %u keys not replayed by the kernel", (unsigned long long)p.jset_seq,
			  (unsigned long long)e->sector, ctx->path, bt_jset_nr_keys(e->j, NULL));
	}
	if (jn->kernel_differs) {
		jpctx(ctx, &p, jn->kernel_cur_idx, PCTX_UNSET);
		p.num = jn->kernel_newest_seq;
		p.jset_seq = jn->newest_seq;
		fix_problem(ctx, PR_JOURNAL_KERNEL_DIFFERS, &p);
	}
}

/* Every key of every jset in the replay range, bounded by the jset's keys field. */
static void check_keys(struct fsck_ctx *ctx)
{
	const struct bt_journal *jn = &ctx->c->journal;
	struct problem_ctx p;

	for (size_t i = 0; i < jn->nr; i++) {
		const struct bt_journal_entry *e = &jn->entries[i];
		const uint64_t *k = e->j->d, *end = e->j->d + le32toh(e->j->keys);
		unsigned n = 0;

		for (; k < end; k += bkey_u64s((const struct bkey *)k), n++) {
			const struct bkey *key = (const struct bkey *)k;

			jpctx(ctx, &p, e->bucket_idx, e->sector);
			p.jset_seq = le64toh(e->j->seq);
			if (k + 2 > end || k + bkey_u64s(key) > end) {
				ask_later(ctx, PR_JOURNAL_KEY_TRUNCATED, &p,
					  "jset %llu at sector %llu of '%s', key %u: truncated, not replayed",
					  (unsigned long long)p.jset_seq,
					  (unsigned long long)e->sector, ctx->path, n);
				break;
			}
			if (bt_extent_invalid(ctx->c, key) != BT_EXTENT_INVALID)
				continue;
			p.key = key;
			p.num = n;
			p.str = KEY_SIZE(key) > KEY_OFFSET(key) ? "size larger than offset" :
				bt_ptr_status_str(bt_ptr_status(ctx->c, key));
			ask_later(ctx, PR_JOURNAL_KEY_INVALID, &p,
				  "jset %llu at sector %llu of '%s', key %u (%s) not replayed",
				  (unsigned long long)p.jset_seq, (unsigned long long)e->sector,
				  ctx->path, n, p.str);
		}
	}
}

int fsck_pass_journal(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	struct printbuf msg = PRINTBUF;
	struct problem_ctx p;
	int ret;

	ret = bt_journal_read(c, &msg);
	if (ret && ret != -BT_ERR_JOURNAL_EMPTY) {
		prt_str(ctx->err, printbuf_str(&msg));
		printbuf_exit(&msg);
		return ret;
	}
	report_damage(ctx);
	if (ret == -BT_ERR_JOURNAL_EMPTY) {
		/* JOURNAL_NO_ENTRIES: a scan finds the btree, one new jset names it */
		ret = fsck_journal_rebuild(ctx);
		if (ret) {
			ctx->abort = true;
			printbuf_exit(&msg);
			return ret < 0 ? ret : 0;
		}
	}
	report_list(ctx);

	printbuf_reset(&msg);
	ret = bt_journal_check_newest(c, &msg);
	if (ret == -BT_ERR_BTREE_BAD_ROOT) {
		jpctx(ctx, &p, c->journal.cur_idx, bt_journal_newest(&c->journal)->sector);
		p.jset_seq = c->journal.newest_seq;
		p.key = (const struct bkey *)&c->root_key;
		p.str = printbuf_str(&msg);
		fix_problem(ctx, PR_JOURNAL_BAD_BTREE_ROOT, &p);
	} else if (ret) {
		prt_str(ctx->err, printbuf_str(&msg));
		printbuf_exit(&msg);
		return ret;
	}
	printbuf_exit(&msg);
	check_keys(ctx);

	ctx->stats.journal_entries = c->journal.nr;
	ctx->stats.journal_keys_to_replay = c->journal.nr_keys;
	ctx->stats.journal = FSCK_FIG_WHOLE;
	if (c->journal.nr_keys) {
		jpctx(ctx, &p, ~0u, PCTX_UNSET);
		p.num = c->journal.nr_keys;
		p.num2 = c->journal.nr;
		p.jset_seq = c->journal.last_seq;
		fix_problem(ctx, PR_JOURNAL_REPLAY_NEEDED, &p);
	}
	/* the replay itself (JOURNAL_REPLAY) is asked in the replay pass, after every check */
	return 0;
}
