/* pass_uuids.c --- the uuids pass: uuid slots.
 *
 * Checks, on libcore's bt_uuid_read() (super.c uuid_read()): the uuid
 * bucket pointer of the newest jset and its read; then the live slots: no
 * uuid in two slots (uuid_find() only ever finds the first), no flag bits
 * but UUID_FLASH_ONLY.
 *
 * Hands on:
 *   c->uuids[]		the slots: which KEY_INODE values are live
 */
#include <stdlib.h>
#include <string.h>

#include "libcore/read/uuid.h"
#include "fsck.h"

static void upctx(struct fsck_ctx *ctx, struct problem_ctx *p)
{
	clear_problem_context(p);
	p->dev = ctx->path;
	p->structure = "uuid bucket";
	if (KEY_PTRS((const struct bkey *)&ctx->c->uuid_key))
		p->bucket = PTR_BUCKET_NR(ctx->c, (const struct bkey *)&ctx->c->uuid_key, 0);
}

/* Record a uuid slot repair for the rebuild's commit (fsck/rebuild.c). */
static void uuid_fix(struct fsck_ctx *ctx, unsigned slot, enum fsck_uuid_fix fix)
{
	if (!ctx->plan.uuid_fix)
		ctx->plan.uuid_fix = calloc(ctx->c->nr_uuids, 1);
	if (ctx->plan.uuid_fix && !ctx->plan.uuid_fix[slot])
		ctx->plan.uuid_fix[slot] = fix;
}

/* Live slots: no uuid twice (super.c uuid_find() takes the first); known flags only. */
static void check_slots(struct fsck_ctx *ctx)
{
	const struct cache_set *c = ctx->c;
	struct problem_ctx p;

	for (unsigned i = 0; i < c->nr_uuids; i++) {
		const struct uuid_entry *u = &c->uuids[i];

		if (bt_uuid_slot_state(u) != BT_UUID_LIVE)
			continue;
		if (le32toh(u->flags) & ~UUID_FLASH_ONLY) {
			upctx(ctx, &p);
			p.uuid_slot = i;
			p.num = le32toh(u->flags) & ~UUID_FLASH_ONLY;
			if (fix_problem(ctx, PR_UUID_BAD_FLAGS, &p))
				uuid_fix(ctx, i, FSCK_UUID_CLEAR_FLAGS);
		}
		for (unsigned j = 0; j < i; j++) {
			struct printbuf s = PRINTBUF;

			if (memcmp(c->uuids[j].uuid, u->uuid, 16))
				continue;
			upctx(ctx, &p);
			p.uuid_slot = i;
			p.num = j;
			prt_uuid(&s, u->uuid);
			p.str = printbuf_str(&s);
			if (fix_problem(ctx, PR_UUID_DUPLICATE, &p))
				uuid_fix(ctx, i, FSCK_UUID_CLEAR_SLOT);
			printbuf_exit(&s);
			break;
		}
	}
}

int fsck_pass_uuids(struct fsck_ctx *ctx)
{
	struct printbuf msg = PRINTBUF;
	struct problem_ctx p;
	int ret = bt_uuid_read(ctx->c, &msg);

	upctx(ctx, &p);
	p.str = printbuf_str(&msg);
	if (ret) {
		enum problem code = problem_for_err(FSCK_PASS_uuids, ret);

		if (code == PR_NR) {
			prt_str(ctx->err, printbuf_str(&msg));
			printbuf_exit(&msg);
			return ret;
		}
		if (code == PR_UUID_BAD_PTR)
			p.key = (const struct bkey *)&ctx->c->uuid_key;
		fix_problem(ctx, code, &p);
	}
	printbuf_exit(&msg);
	if (!ret && ctx->c->uuids)
		check_slots(ctx);
	return 0;
}
