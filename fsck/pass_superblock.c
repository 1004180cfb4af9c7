/* pass_superblock.c --- the superblock pass: the superblock.
 *
 * Checks every rule of the kernel's read_super()/read_super_common()
 * (through libcore's bt_sb_validate(), one problem code per rule; a bad
 * checksum is reported and the other rules are checked as if it were
 * right), then what registration refuses later (512 buckets or fewer) and
 * whether the device holds a cache set at all.
 *
 * Hands on:
 *   ctx->c		the library's struct cache_set with the raw and decoded
 *			superblock and the geometry (bt_cache_set_geometry()).
 *   FSCK_NO_CACHE_SET	set for a backing device or a cache never registered
 *			(CACHE_SYNC unset): the later passes are skipped.
 *   stats.sb		buckets_total (a cache superblock)
 *   stats.cache_set	false with FSCK_NO_CACHE_SET
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "libcore/base/errcode.h"
#include "libcore/ondisk/sb.h"
#include "fsck.h"

#define SB_BYTE(field)	(SB_OFFSET_BYTES + offsetof(struct cache_sb_disk, field))


static void sb_pctx(struct fsck_ctx *ctx, struct problem_ctx *p, uint64_t byte)
{
	clear_problem_context(p);
	p->dev = ctx->path;
	p->structure = "superblock";
	p->sector = SB_SECTOR;
	p->byte_offset = byte;
}

/*
 * Every d[i] that is not first_bucket + i, as one latched report; the
 * answer rewrites d[] (journal_rebuild.c). Returns whether it did.
 */
static bool report_journal_list(struct fsck_ctx *ctx, const struct cache_sb *sb)
{
	struct problem_ctx p;

	for (unsigned i = 0; i < sb->keys && i < SB_JOURNAL_BUCKETS; i++) {
		if (sb->d[i] == (uint64_t)sb->first_bucket + i)
			continue;
		sb_pctx(ctx, &p, SB_BYTE(d) + 8 * i);
		p.num = i;
		p.num2 = sb->d[i];
		fix_problem(ctx, PR_SB_JOURNAL_BUCKET_NOT_SEQUENTIAL, &p);
	}
	return fsck_sb_journal_list_fix(ctx);
}

/* The figures a superblock problem names (%n and %m of its template). */
enum sb_fig {
	FIG_NONE,		/* left unset */
	FIG_OFFSET,
	FIG_VERSION,
	FIG_BLOCK_SIZE,		/* sectors */
	FIG_LOGICAL_BLOCK,	/* the device's, bytes */
	FIG_DATA_OFFSET,	/* sectors */
	FIG_DEV_SECTORS,
	FIG_COMPAT,		/* the unsupported feature bits */
	FIG_RO_COMPAT,
	FIG_INCOMPAT,
	FIG_KEYS,		/* journal buckets */
	FIG_NBUCKETS,
	FIG_BUCKET_SIZE,	/* sectors */
	FIG_BUCKETS_SECTORS,	/* nbuckets * bucket_size */
	FIG_NR_IN_SET,
	FIG_NR_THIS_DEV,
	FIG_FIRST_SECTOR,	/* first_bucket * bucket_size */
};

/*
 * The place each rule of bt_sb_validate() reports: the byte of its field
 * on the device and its figures. The problem comes from the rule's code
 * (problem_for_err()); SB_JOURNAL_BUCKET_NOT_SEQUENTIAL is a latched list
 * (report_journal_list()) and SB_BAD_CSUM is checked first (check_sb_rules()).
 */
static const struct sb_rule {
	enum problem	code;
	uint32_t	byte;		/* bytes on the device */
	uint8_t		num, num2;	/* enum sb_fig */
} sb_rules[] = {
	{ PR_SB_BAD_OFFSET,		SB_OFFSET_BYTES,	FIG_OFFSET },
	{ PR_SB_BAD_MAGIC,		SB_BYTE(magic) },
	{ PR_SB_BAD_UUID,		SB_BYTE(uuid) },
	{ PR_SB_BLOCK_SMALLER_THAN_DEVICE, SB_BYTE(block_size), FIG_BLOCK_SIZE, FIG_LOGICAL_BLOCK },
	{ PR_SB_DATA_OFFSET_TOO_SMALL,	SB_BYTE(nbuckets),	FIG_DATA_OFFSET, FIG_DEV_SECTORS },
	{ PR_SB_DATA_OFFSET_PAST_END,	SB_BYTE(nbuckets),	FIG_DATA_OFFSET, FIG_DEV_SECTORS },
	{ PR_SB_UNSUPPORTED_COMPAT,	SB_BYTE(feature_compat), FIG_COMPAT },
	{ PR_SB_UNSUPPORTED_RO_COMPAT,	SB_BYTE(feature_ro_compat), FIG_RO_COMPAT },
	{ PR_SB_UNSUPPORTED_INCOMPAT,	SB_BYTE(feature_incompat), FIG_INCOMPAT },
	{ PR_SB_TOO_MANY_JOURNAL_BUCKETS, SB_BYTE(keys),	FIG_KEYS },
	{ PR_SB_JOURNAL_PAST_END,	SB_BYTE(keys),		FIG_KEYS, FIG_NBUCKETS },
	{ PR_SB_TOO_MANY_BUCKETS,	SB_BYTE(nbuckets),	FIG_NBUCKETS },
	{ PR_SB_NOT_ENOUGH_BUCKETS,	SB_BYTE(nbuckets),	FIG_NBUCKETS },
	{ PR_SB_BLOCK_SIZE_NOT_POW2,	SB_BYTE(block_size),	FIG_BLOCK_SIZE },
	{ PR_SB_BLOCK_SIZE_TOO_BIG,	SB_BYTE(block_size),	FIG_BLOCK_SIZE },
	{ PR_SB_BUCKET_SIZE_NOT_POW2,	SB_BYTE(bucket_size),	FIG_BUCKET_SIZE },
	{ PR_SB_BUCKET_SIZE_TOO_SMALL,	SB_BYTE(bucket_size),	FIG_BUCKET_SIZE },
	{ PR_SB_DEVICE_TOO_SMALL,	SB_BYTE(nbuckets),	FIG_BUCKETS_SECTORS, FIG_DEV_SECTORS },
	{ PR_SB_BAD_SET_UUID,		SB_BYTE(set_uuid) },
	{ PR_SB_BAD_DEV_NUMBER,		SB_BYTE(nr_in_set),	FIG_NR_IN_SET, FIG_NR_THIS_DEV },
	{ PR_SB_FIRST_BUCKET_IN_SB,	SB_BYTE(first_bucket),	FIG_FIRST_SECTOR },
	{ PR_SB_BAD_VERSION,		SB_BYTE(version),	FIG_VERSION },
};

static uint64_t sb_fig(enum sb_fig fig, const struct cache_sb *sb, const struct bt_dev *dev)
{
	switch (fig) {
	case FIG_NONE:			return PCTX_UNSET;
	case FIG_OFFSET:		return sb->offset;
	case FIG_VERSION:		return sb->version;
	case FIG_BLOCK_SIZE:		return sb->block_size;
	case FIG_LOGICAL_BLOCK:		return dev->logical_block_size;
	case FIG_DATA_OFFSET:		return sb->data_offset;
	case FIG_DEV_SECTORS:		return bt_dev_sectors(dev);
	case FIG_COMPAT:		return sb->feature_compat & ~BCH_FEATURE_COMPAT_SUPP;
	case FIG_RO_COMPAT:		return sb->feature_ro_compat & ~BCH_FEATURE_RO_COMPAT_SUPP;
	case FIG_INCOMPAT:		return sb->feature_incompat & ~BCH_FEATURE_INCOMPAT_SUPP;
	case FIG_KEYS:			return sb->keys;
	case FIG_NBUCKETS:		return sb->nbuckets;
	case FIG_BUCKET_SIZE:		return sb->bucket_size;
	case FIG_BUCKETS_SECTORS:	return sb->nbuckets * sb->bucket_size;
	case FIG_NR_IN_SET:		return sb->nr_in_set;
	case FIG_NR_THIS_DEV:		return sb->nr_this_dev;
	case FIG_FIRST_SECTOR:		return (uint64_t)sb->first_bucket * sb->bucket_size;
	}
	return PCTX_UNSET;
}

/*
 * Report the failure ret of bt_sb_validate() as the problem of its rule.
 * Returns 0, 1 when the superblock was rewritten (validate it again), or
 * ret when it is not a superblock rule (operational error).
 */
static int report_sb_error(struct fsck_ctx *ctx, const struct cache_sb *sb, int ret)
{
	enum problem code = problem_for_err(FSCK_PASS_superblock, ret);
	struct problem_ctx p;

	if (code == PR_SB_JOURNAL_BUCKET_NOT_SEQUENTIAL)
		return report_journal_list(ctx, sb) ? 1 : 0;
	for (size_t i = 0; i < sizeof(sb_rules) / sizeof(sb_rules[0]); i++) {
		if (sb_rules[i].code != code)
			continue;
		sb_pctx(ctx, &p, sb_rules[i].byte);
		p.num = sb_fig(sb_rules[i].num, sb, ctx->dev);
		p.num2 = sb_fig(sb_rules[i].num2, sb, ctx->dev);
		fix_problem(ctx, code, &p);
		return 0;
	}
	return ret;
}

/*
 * SB_BAD_CSUM answered yes: rewrite the block with the csum computed
 * (bt_sb_write(): the decoded fields encode back to the same bytes), but
 * only when every other rule holds (valid is bt_sb_validate()'s verdict on
 * the corrected copy): a superblock that is wrong in another way is not
 * made to look valid. One 4 KiB write at byte 4096, flushed.
 *
 * The one exception is a journal bucket list d[] that is not sequential:
 * its repair (SB_JOURNAL_BUCKETS_LATCH, journal_rebuild.c) writes the
 * superblock, and so the csum, itself. The repair is then left deferred
 * and *pending is set; check_sb_rules() settles it by what the d[]
 * rewrite did.
 */
static int fix_sb_csum(struct fsck_ctx *ctx, struct cache_set *c, int valid, bool *pending)
{
	struct printbuf what = PRINTBUF, err = PRINTBUF;
	int ret = 0;

	prt_printf(&what, "superblock of %s (byte 4096): csum %#llx", ctx->path,
		   (unsigned long long)c->sb.csum);
	fsck_defer_fix(ctx, PR_SB_BAD_CSUM, printbuf_str(&what));
	if (valid == -BT_ERR_SB_JOURNAL_NOT_SEQUENTIAL) {
		*pending = true;
		goto out;
	}
	if (valid) {
		fsck_deferred_failed(ctx, "other superblock rules are broken");
		goto out;
	}
	ret = bt_sb_write(ctx->dev, c->sb_block, &c->sb, &err);
	if (ret) {
		prt_printf(ctx->err, "cannot write the superblock: %s", printbuf_str(&err));
		fsck_deferred_failed(ctx, "the write failed");
		ctx->flags |= FSCK_UNCORRECTED;
		goto out;
	}
	printbuf_reset(&what);
	prt_printf(&what, "csum %#llx", (unsigned long long)c->sb.csum);
	fsck_deferred_done(ctx, printbuf_str(&what));
out:
	printbuf_exit(&what);
	printbuf_exit(&err);
	return ret;
}

/*
 * Validate; on a bad csum report it and validate a copy with the csum made
 * right. Returns what report_sb_error() returns.
 */
static int check_sb_rules(struct fsck_ctx *ctx, struct cache_set *c)
{
	struct printbuf msg = PRINTBUF;
	int ret = bt_sb_validate((void *)c->sb_block, &c->sb, ctx->dev, &msg);
	size_t csum_mark = ctx->plan.nr_deferred;
	bool csum_pending = false;

	if (ret == -BT_ERR_SB_BAD_CSUM) {
		struct cache_sb_disk *copy = malloc(SB_SIZE);
		struct problem_ctx p;
		uint64_t csum = bt_sb_csum((void *)c->sb_block);
		bool fix;

		sb_pctx(ctx, &p, SB_BYTE(csum));
		p.csum_expected = csum;
		p.csum_got = c->sb.csum;
		fix = fix_problem(ctx, PR_SB_BAD_CSUM, &p);
		if (!copy) {
			printbuf_exit(&msg);
			return -ENOMEM;
		}
		memcpy(copy, c->sb_block, SB_SIZE);
		copy->csum = htole64(csum);
		printbuf_reset(&msg);
		c->sb.csum = csum;
		ret = bt_sb_validate(copy, &c->sb, ctx->dev, &msg);
		c->sb.csum = p.csum_got;
		if (fix) {
			int wret = fix_sb_csum(ctx, c, ret, &csum_pending);

			if (wret) {
				free(copy);
				printbuf_exit(&msg);
				return wret;
			}
		}
		free(copy);
	}
	if (ret)
		ret = report_sb_error(ctx, &c->sb, ret);
	if (csum_pending) {
		if (ret == 1)
			fsck_deferred_done_from(ctx, csum_mark,
						"csum written with the journal bucket list");
		else
			fsck_deferred_failed_from(ctx, csum_mark,
						  "the journal bucket list was not rewritten");
	}
	if (ret < 0 && ctx->err)
		prt_str(ctx->err, printbuf_str(&msg));
	printbuf_exit(&msg);
	return ret;
}

/* --log: which device the lines after this one are about (as read, before any check). */
static void log_identity(struct fsck_ctx *ctx, const struct cache_set *c)
{
	char set[37], dev[37];

	uuid_unparse(c->sb.set_uuid, set);
	uuid_unparse(c->sb.uuid, dev);
	fsck_log(ctx, "device: %s, %llu bytes, set uuid %s, device uuid %s",
		 bt_sb_is_bdev(&c->sb) ? "backing device" : "cache device",
		 (unsigned long long)bt_dev_sectors(ctx->dev) << SECTOR_SHIFT, set, dev);
}

int fsck_pass_superblock(struct fsck_ctx *ctx)
{
	struct cache_set *c = ctx->c;
	struct problem_ctx p;
	int ret;

	if (!c) {
		c = ctx->c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
	}
	c->dev = ctx->dev;
	c->stop = ctx->stop;
	ret = bt_sb_read(ctx->dev, c->sb_block, &c->sb, false, ctx->err);
	if (ret)
		return ret;
	log_identity(ctx, c);
	ret = check_sb_rules(ctx, c);
	if (ret == 1)	/* d[] rewritten: the rules after it were not checked yet */
		ret = check_sb_rules(ctx, c);
	if (ret || ctx->abort)
		return ret;

	sb_pctx(ctx, &p, SB_BYTE(version));
	if (bt_sb_is_bdev(&c->sb)) {
		p.num = c->sb.version;
		fix_problem(ctx, PR_SB_BACKING_DEVICE, &p);
		ctx->flags |= FSCK_NO_CACHE_SET;
		ctx->stats.cache_set = false;
		return 0;
	}
	if (c->sb.nbuckets <= 512) {
		sb_pctx(ctx, &p, SB_BYTE(nbuckets));
		p.num = c->sb.nbuckets;
		fix_problem(ctx, PR_SB_FEW_BUCKETS, &p);
	}
	ctx->stats.buckets_total = c->sb.nbuckets - c->sb.first_bucket;
	ctx->stats.sb = FSCK_FIG_WHOLE;
	if (!CACHE_SYNC(c->sb.flags)) {
		sb_pctx(ctx, &p, SB_BYTE(flags));
		fix_problem(ctx, PR_SB_NO_CACHE_SET, &p);
		ctx->flags |= FSCK_NO_CACHE_SET;
		ctx->stats.cache_set = false;
		return 0;
	}
	return bt_cache_set_geometry(c, ctx->err);
}
