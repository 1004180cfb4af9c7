/* target_internal.h --- what sysfs and procfs say about a device or file,
 * for the guard (target.c); read from the roots g->sysfs and g->proc.
 *
 * Block devices are named by their device number; names returned are the
 * kernel's ("sda1", "loop0"), printed as "/dev/NAME".
 */
#ifndef BCACHE_TOOL_TARGET_INTERNAL_H
#define BCACHE_TOOL_TARGET_INTERNAL_H

#include <limits.h>

#include "libcore/dev/target.h"

#define TSYS_NAME_MAX	64
#define TSYS_MAX_DEVS	64	/* partitions of one disk, loop devices over one file */
#define TSYS_MAX_USERS	8	/* processes named in a message */
#define TSYS_MAX_NS	256	/* mount namespaces searched for a mount */

struct tsys_devs {
	unsigned	nr;
	dev_t		rdev[TSYS_MAX_DEVS];
	char		name[TSYS_MAX_DEVS][TSYS_NAME_MAX];
};

struct tsys_user {
	pid_t		pid;
	char		comm[32];
	bool		write;		/* opened for writing */
};

struct tsys_users {
	unsigned	nr;		/* named in u[] */
	unsigned	total;		/* found */
	struct tsys_user u[TSYS_MAX_USERS];
};

/* The kernel's name of block device rdev ("sda1"), or "MAJ:MIN" when sysfs has none. */
void tsys_blk_name(const struct bt_guard *g, dev_t rdev, char *name, size_t n);

/* A partition: true and the device number of its whole disk. */
bool tsys_whole_disk(const struct bt_guard *g, dev_t rdev, dev_t *whole);

/* The partitions of whole disk rdev (none for a partition or a device without). */
void tsys_partitions(const struct bt_guard *g, dev_t rdev, struct tsys_devs *out);

/* A loop device: true and the stat of its backing file (path in path). */
bool tsys_loop_file(const struct bt_guard *g, dev_t rdev, struct stat *st,
		    char *path, size_t n);

/* The loop devices whose backing file is the file id. */
void tsys_loops_over(const struct bt_guard *g, const struct bt_tid *id,
		     struct tsys_devs *out);

/*
 * Is block device rdev mounted, in our mount namespace or another one
 * (<proc>/PID/mountinfo of a process in each other namespace)? where gets
 * the mount point; *ns_pid 0 for ours, else a process of the namespace.
 */
bool tsys_mounted(const struct bt_guard *g, dev_t rdev, char *where, size_t n,
		  pid_t *ns_pid);

/* Is id (a block device or a file) active swap (<proc>/swaps)? */
bool tsys_swap(const struct bt_guard *g, const struct bt_tid *id);

/*
 * Registered with bcache (<sysfs>/dev/block/M:m/bcache exists, or a holder
 * named bcacheN): 1; held by another driver (a holder): 2, its name in who;
 * else 0.
 */
int tsys_holder(const struct bt_guard *g, dev_t rdev, char *who, size_t n);

/*
 * The processes other than g->self with an open descriptor on any of the
 * nids identities ids (as fuser: <proc>/PID/fd/N, the access mode from
 * fdinfo); each process counted once, as a writer if any of its
 * descriptors writes.
 */
void tsys_users(const struct bt_guard *g, const struct bt_tid *ids, unsigned nids,
		struct tsys_users *out);

/* The pid holding a flock on the file (dev, ino) per <proc>/locks, or 0. */
pid_t tsys_lock_holder(const struct bt_guard *g, dev_t dev, ino_t ino);

/* <proc>/PID/comm, or "?" */
void tsys_comm(const struct bt_guard *g, pid_t pid, char *comm, size_t n);

/* ---- the policy (target_check.c), for target.c and target_file.c ---- */

/*
 * The checks of the table in target.h for target t (nothing for one that
 * does not exist yet or a stream); write: it is going to be written. A
 * refusal returns its code with the message in err; a warning (or what
 * --force-in-use overrides) goes to g->warn.
 */
int guard_check(struct bt_guard *g, struct bt_target *t, bool write, struct printbuf *err);

/*
 * An existing OUTPUT open on fd (size bytes): refuse a non-empty file or a
 * block device holding a signature or data unless BT_GUARD_OVERWRITE
 * (-BT_ERR_OUTPUT_EXISTS).
 */
int guard_check_content(struct bt_guard *g, struct bt_target *t, int fd, uint64_t size,
			struct printbuf *err);

/* Add to msg (bt_dev_open()'s) who holds t: the O_EXCL user or the flock holder. */
void guard_explain_busy(struct bt_guard *g, const struct bt_target *t, int code,
			struct printbuf *msg);

/* Warn that --force-in-use overrides fact (a sentence about t). */
void guard_override(struct bt_guard *g, const struct bt_target *t, bool write,
		    const char *fact);

/*
 * After target i was opened on fd: it must still be what was declared
 * (a new file: not the same as another target). 0 or -BT_ERR_SAME_DEVICE.
 */
int guard_recheck(struct bt_guard *g, unsigned i, int fd, struct printbuf *err);

/* Same identity? */
static inline bool tid_eq(const struct bt_tid *a, const struct bt_tid *b)
{
	return a->blk == b->blk &&
	       (a->blk ? a->rdev == b->rdev : a->dev == b->dev && a->ino == b->ino);
}

/* The identity of a stat: its rdev for a block device, else its dev and inode. */
static inline struct bt_tid tid_of(const struct stat *st)
{
	struct bt_tid id = { .blk = S_ISBLK(st->st_mode) };

	if (id.blk)
		id.rdev = st->st_rdev;
	id.dev = st->st_dev;
	id.ino = st->st_ino;
	return id;
}

#endif /* BCACHE_TOOL_TARGET_INTERNAL_H */
