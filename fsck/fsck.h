/* fsck.h --- the fsck context and entry point.
 *
 * struct fsck_ctx holds everything fsck changes while it runs: options,
 * per-problem counts, open latches, statistics and flags. It points at the
 * library's struct cache_set (the on-disk view); no global state anywhere.
 * cmd/fsck.c fills the options and the device, calls fsck_run() and maps
 * fsck_exit_status() to the process exit status.
 */
#ifndef BCACHE_TOOL_FSCK_H
#define BCACHE_TOOL_FSCK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/dev/dev.h"
#include "passes.h"
#include "problem.h"

struct bt_node_cache;
struct bt_node_pool;

enum fsck_mode {
	FSCK_MODE_ASK,		/* no option: ask on the terminal */
	FSCK_MODE_NO,		/* -n */
	FSCK_MODE_YES,		/* -y */
	FSCK_MODE_PREEN,	/* -p */
};

struct fsck_opts {
	enum fsck_mode	mode;
	bool		force_check;	/* -f */
	bool		verbose;	/* -v */
	bool		json;		/* --json: problems and summary as JSON */
	unsigned	max_msgs;	/* messages per problem code before suppression */
	/*
	 * -j: reader threads that read and parse btree nodes ahead of the
	 * walks (node_pool.h); 0 or 1: none, the walk reads them itself
	 */
	unsigned	threads;
	/* --cache-size: bytes of parsed nodes the node cache keeps; 0: the default */
	size_t		node_cache_bytes;
};

/* ctx->flags: what happened, the exit status is computed from these. */
enum fsck_flags {
	FSCK_ERRORS_FOUND	= 1 << 0,	/* an error-severity problem was seen */
	FSCK_UNCORRECTED	= 1 << 1,	/* ... and left as it was */
	FSCK_PROBLEMS_FIXED	= 1 << 2,	/* a repair was made */
	FSCK_OPERATIONAL	= 1 << 3,	/* I/O error, out of memory, no tty */
	FSCK_PREEN_HALT		= 1 << 4,	/* -p met a problem it may not fix */
	FSCK_YES_TO_ALL		= 1 << 5,	/* 'a' answered on the terminal */
	FSCK_USER_ABORT		= 1 << 6,	/* 'q' or end of input on the terminal */
	FSCK_NO_CACHE_SET	= 1 << 7,	/* nothing beyond the superblock to check */
	FSCK_WOULD_FIX		= 1 << 8,	/* -n: a repair was made on the shadow only */
	FSCK_INTERRUPTED	= 1 << 9,	/* a signal asked to stop (stop.h) */
};

struct fsck_latch {
	bool		open;
	uint64_t	(*ranges)[2];	/* [first, last] numbers, in report order */
	size_t		nr, alloc;
	struct problem_ctx hdr;		/* context of the first problem */
};

/*
 * How much of a group of summary figures was computed. The summary prints
 * NONE as "not checked" (null in JSON) and PARTIAL with "partial:" (listed
 * in the JSON summary's "partial_figures"): never as a total.
 */
enum fsck_fig_state {
	FSCK_FIG_NONE = 0,	/* the pass that computes them did not run (or could not) */
	FSCK_FIG_PARTIAL,	/* it stopped early or skipped what it could not read: lower bounds */
	FSCK_FIG_WHOLE,
};

/* Live leaf keys of a set of extents and the sectors they cache. */
struct fsck_extent_stats {
	uint64_t	keys;
	uint64_t	dirty_keys;
	uint64_t	data_sectors;
	uint64_t	dirty_sectors;
};

enum fsck_slot_kind {
	FSCK_SLOT_NONE,		/* a uuid slot that holds no device (or past the uuid bucket) */
	FSCK_SLOT_BACKING,	/* a backing device */
	FSCK_SLOT_FLASH,	/* a flash-only volume */
};

/* One uuid slot's share of the view served after journal replay. */
struct fsck_slot_stats {
	uint64_t		slot;		/* KEY_INODE */
	enum fsck_slot_kind	kind;
	uint8_t			uuid[16];	/* the slot's uuid; zero for FSCK_SLOT_NONE */
	struct fsck_extent_stats e;
};

/*
 * The summary's figures, in groups, each filled by one pass (or, after a
 * repair, by the read-back: fsck/read_back.c). Sectors are 512-byte
 * sectors of the devices the keys belong to.
 */
struct fsck_stats {
	bool			cache_set;	/* false when the superblock pass set FSCK_NO_CACHE_SET */
	/* superblock pass: buckets_total = nbuckets - first_bucket */
	enum fsck_fig_state	sb;
	uint64_t		buckets_total;
	/* journal pass: the journal's replay range */
	enum fsck_fig_state	journal;
	uint64_t		journal_entries;
	uint64_t		journal_keys_to_replay;
	/* btree pass: the btree on disk, before journal replay */
	enum fsck_fig_state	tree;
	uint64_t		btree_nodes;
	uint64_t		tree_depth;	/* the root's level, the kernel's tree_depth */
	uint64_t		key_bytes;
	struct fsck_extent_stats on_disk;
	/* gc_mark pass: the initial gc mark (journal keys included); max_gen_lag needs the prios */
	enum fsck_fig_state	marks;
	uint64_t		buckets_in_use;
	enum fsck_fig_state	gen_lag;
	uint64_t		max_gen_lag;
	/* replay pass: the view the kernel serves after journal replay (overlay.h) */
	enum fsck_fig_state	view;
	struct fsck_extent_stats served;
	struct fsck_slot_stats	*slots;		/* slots with live keys, by slot; owned */
	size_t			nr_slots;
};

/* Every group FSCK_FIG_NONE, cache_set true (nothing known yet). */
void fsck_stats_init(struct fsck_stats *s);
/* Free what s owns and fsck_stats_init() it. */
void fsck_stats_exit(struct fsck_stats *s);

/* Add the live leaf key k to e (a key of the view, or of a leaf on disk). */
void fsck_extent_stats_add(struct fsck_extent_stats *e, const struct bkey *k);

/*
 * fsck_stats_count_view(): fill the view group of s from the leaf view
 * of c after journal replay (bt_overlay_build(), journal included,
 * unreadable subtrees skipped and the group marked partial). Raises
 * c->buckets[].gen as the kernel's mark does. Returns 0 or -ENOMEM (the
 * group is then FSCK_FIG_NONE).
 */
int fsck_stats_count_view(struct fsck_stats *s, struct cache_set *c, struct bt_node_cache *nc);

/*
 * The same count made from another pass's walk of the tree (the gc_mark
 * pass's), so that the replay pass need not walk it again: a view tap
 * (libcore/read/view_stream.h). fsck_view_count_begin() returns NULL when
 * the count cannot be made that way (the gens are not all raised, the
 * journal would raise some, out of memory): the replay pass counts then.
 * Each node of the walk goes to fsck_view_count_node(), each node error to
 * fsck_view_count_error(). fsck_view_count_end() frees vc and returns true
 * when s's view group now holds what fsck_stats_count_view() would give;
 * false (walk_done false: the walk stopped before its end; or the leaves
 * overlapped, or out of memory) leaves the group reset for
 * fsck_stats_count_view().
 */
struct fsck_view_count;
struct bt_node;
struct fsck_view_count *fsck_view_count_begin(struct fsck_stats *s, struct cache_set *c);
void fsck_view_count_node(struct fsck_view_count *vc, const struct bt_node *n);
void fsck_view_count_error(struct fsck_view_count *vc, const char *msg);
bool fsck_view_count_end(struct fsck_view_count *vc, bool walk_done);

/*
 * fsck_read_back(): after a run that wrote to the device, replace
 * ctx->stats (and ctx->c) with what a read-only check of the device as it
 * is now finds (fsck/read_back.c), so that the summary describes the
 * repaired cache set, as the next 'fsck -n' will. The passes' memory is
 * released first. Returns 0 or the negative code of the check.
 */
int fsck_read_back(struct fsck_ctx *ctx);

/* The JSON summary object made from ctx->stats (fsck/summary_json.c). Caller frees. */
json_t *fsck_summary_json(const struct fsck_ctx *ctx);

struct bt_lost;
struct bt_garbage;

enum fsck_uuid_fix {
	FSCK_UUID_KEEP		= 0,
	FSCK_UUID_CLEAR_SLOT	= 1,	/* duplicate: the kernel never finds it */
	FSCK_UUID_CLEAR_FLAGS	= 2,	/* unknown flag bits cleared */
};

/*
 * The repair plan: the repairs the answers accepted that a later pass
 * makes (PF_LATER, problem.h), filled by the checking passes and carried
 * out by the replay pass (pass_replay.c): the btree rebuild with the uuid
 * slot repairs (fsck_rebuild()) or the journal replay, each settling the
 * deferred repairs (fsck_deferred_done() or fsck_deferred_failed()).
 */
struct fsck_repair_plan {
	/* the accepted repairs, in the order accepted; owned */
	struct fsck_deferred {
		enum problem	code;
		char		*what;	/* the place and its old state; owned */
		json_t		*json;	/* its --json problem object (a reference), or NULL */
	}			*deferred;
	size_t			nr_deferred;
	/* the journal repair must replay over missing seqs (BT_REPLAY_FORCE) */
	bool			replay_force;
	/* a PF_REBUILD repair was accepted: the replay pass rebuilds the btree */
	bool			rebuild;
	/* uuid slot repairs for the rebuild's commit, per slot (enum fsck_uuid_fix); owned */
	uint8_t			*uuid_fix;
};

struct fsck_ctx {
	struct fsck_opts	opts;
	const char		*path;		/* the cache (or backing) device */
	struct bt_dev		*dev;		/* open, not owned */
	struct cache_set	*c;		/* library view, filled by the passes */

	FILE			*out;		/* messages (stdout) */
	FILE			*tty_in;	/* answers in ASK mode (stdin) */
	bool			progress;	/* stderr is a terminal */
	struct printbuf		*err;		/* operational errors of the passes (fsck_run()) */

	unsigned		flags;		/* enum fsck_flags */
	bool			abort;		/* stop before the next pass */
	enum fsck_pass		cur_pass;
	unsigned		counts[PR_NR];	/* reports per problem */
	struct fsck_latch	latches[LATCH_NR];
	struct fsck_stats	stats;
	double			pass_seconds[FSCK_PASS_NR];
	bool			pass_ran[FSCK_PASS_NR];
	const char		*unavailable[FSCK_PASS_NR];	/* passes whose checks are missing */

	json_t			*json_problems;	/* --json: array of problem objects */
	FILE			*log;		/* --log FILE: repair lines appended, not owned */
	/* a stop request (SIGINT, SIGTERM: cmd/signals.c), not owned; NULL: none */
	const struct bt_stop	*stop;

	struct fsck_repair_plan	plan;
	/* what the rebuild did not keep (libcore/rebuild.h), owned */
	struct bt_lost		*lost;
	size_t			nr_lost;
	/* keys the rebuild found that cannot be real, not counted as data; owned */
	struct bt_garbage	*garbage;
	size_t			nr_garbage;

	/* backing device uuids (--backing DEV): hints for the journal rebuild's uuid scan */
	uint8_t			(*backing_uuids)[16];
	size_t			nr_backing_uuids;

	/* the read-back after a repair (fsck_read_back()) found errors left */
	bool			read_back_errors;

	/* handed from the btree pass to the mark pass */
	/* the nodes the btree pass read, walked again by the mark and replay passes; owned */
	struct bt_node_cache	*node_cache;
	/* its reader threads (opts.threads), attached for the read-only walks; owned */
	struct bt_node_pool	*node_pool;
	bool			prios_ok;	/* every bucket's gen and prio were read */
	/*
	 * the btree pass's walk reached its end: every gen its pointers raise
	 * is raised, so a later walk of the same tree need not raise them again
	 */
	bool			gens_raised;
	/* the gc_mark pass's walk counted the view (fsck_view_count_end()) */
	bool			view_counted;
	uint8_t			*node_bucket;	/* per bucket: level + 1 of the node in it, 0 = none */
	uint64_t		nr_live_ptrs;	/* pointers of live keys seen */
};

/*
 * -n: the repairs are made on the device's shadow only (fsck_run()): they
 * predict. Figures that describe the device must not take them as done.
 */
static inline bool fsck_dry_run(const struct fsck_ctx *ctx)
{
	return ctx->opts.mode == FSCK_MODE_NO;
}

/* Set up ctx with default options (max_msgs 10, stdout, stdin). */
void fsck_ctx_init(struct fsck_ctx *ctx);
/* Free what fsck_ctx_init() and the passes allocated (not dev, not c's dev). */
void fsck_ctx_exit(struct fsck_ctx *ctx);
/* Free ctx->node_cache, ctx->c and ctx->node_bucket; all NULL after. */
void fsck_ctx_free_cache_set(struct fsck_ctx *ctx);

/*
 * fsck_readers_attach() / fsck_readers_detach(): put ctx->node_pool's
 * reader threads under ctx->node_cache for a walk that writes nothing
 * (nothing may write to the device while they are attached), and take
 * them away after it. No-ops without a pool.
 */
void fsck_readers_attach(struct fsck_ctx *ctx);
void fsck_readers_detach(struct fsck_ctx *ctx);

/*
 * fsck_run(): run every pass in order on ctx->dev, printing "Pass N: ..."
 * headers (not in JSON mode), stopping between passes when ctx->abort is
 * set. Returns 0 or a negative code when it could not check at all
 * (operational error: also sets FSCK_OPERATIONAL); the problems found are
 * in ctx.
 */
int fsck_run(struct fsck_ctx *ctx, struct printbuf *err);

/* Exit status (0, 1, 4, 8 or'ed) from ctx->flags, as e2fsck's. */
int fsck_exit_status(const struct fsck_ctx *ctx);

/* --json: the whole report (problems, summary, passes, exit status). Caller frees. */
json_t *fsck_report_json(const struct fsck_ctx *ctx);

/* Name of a pass ("superblock"). */
const char *fsck_pass_name(enum fsck_pass pass);

/* Progress of the current pass on stderr when it is a terminal. */
void fsck_progress(struct fsck_ctx *ctx, uint64_t done, uint64_t total);

/* journal_rebuild.c: the repair of JOURNAL_NO_ENTRIES (the journal pass). */
int fsck_journal_rebuild(struct fsck_ctx *ctx);
/*
 * journal_rebuild.c: close the SB_JOURNAL latch of the superblock pass and, on a yes,
 * rewrite d[i] = first_bucket + i in the superblock. Returns whether it did.
 */
bool fsck_sb_journal_list_fix(struct fsck_ctx *ctx);
/*
 * fsck_rebuild(): the repair of every PF_REBUILD problem (fsck/rebuild.c):
 * rebuild the btree from what can be read, journal included, apply the
 * uuid slot repairs, commit once, report what was lost. Called by the
 * replay pass. Returns 0 (the outcome is in ctx: deferred repairs done or
 * failed) or a negative operational error.
 */
int fsck_rebuild(struct fsck_ctx *ctx);

/* Free ctx->garbage (fsck.c). */
void fsck_garbage_free(struct fsck_ctx *ctx);

/* Note that pass's checks are not available in this build (summary warns). */
void fsck_pass_unavailable(struct fsck_ctx *ctx, const char *what);

#endif /* BCACHE_TOOL_FSCK_H */
