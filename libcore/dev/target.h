/* target.h --- the guard: the one way a run opens what it reads and writes.
 *
 * Every command declares each device and file of its run first
 * (bt_guard_add(): the cache, the backing devices, the output, the undo and
 * log files), then opens them through the guard (bt_guard_open() for a
 * struct bt_dev, bt_guard_open_file() for an output, undo or log file).
 *
 * Declaring refuses, before anything is opened, a path that is the same
 * device or file as another one of the run, whatever its name: the same
 * inode, the same block device (a second node, a /dev/disk/by-* link), a
 * loop device (or a partition of one) over an image file also named, a
 * partition of a whole disk also named (or the reverse). No option
 * overrides this.
 *
 * Opening then refuses, by these rules (roles: enum bt_target_role):
 *
 *                          written (DEVICE,         read (INPUT, and a
 *                          OUTPUT, UNDO, LOG)       dry run of a DEVICE)
 *   mounted, active swap   refused, always          refused unless
 *                          (a whole disk: any of    BT_GUARD_FORCE_IN_USE
 *                          its partitions)
 *   registered with bcache,
 *   held (sysfs holders),
 *   open O_EXCL elsewhere,  refused unless BT_GUARD_FORCE_IN_USE, which
 *   an image file backing   prints what it overrides
 *   a loop device, locked
 *   by another bcache-tool
 *   open for writing by     refused unless           warned about
 *   another process         BT_GUARD_FORCE_IN_USE
 *   open read-only by       warned about (pid and    --
 *   another process         command)
 *
 * An existing OUTPUT (extract -o, image -o, the image --restore target)
 * that is a non-empty file or a block device holding a signature or data
 * is refused unless BT_GUARD_OVERWRITE. Block and character devices are
 * never truncated. The facts come from sysfs and procfs under g->sysfs and
 * g->proc ("/sys", "/proc"; tests point them at a fake tree).
 */
#ifndef BCACHE_TOOL_TARGET_H
#define BCACHE_TOOL_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "libcore/dev/dev.h"
#include "libcore/base/printbuf.h"

enum bt_target_role {
	BT_TARGET_INPUT,	/* only read: a cache to extract from, migrate's SRC */
	BT_TARGET_DEVICE,	/* written in place: fsck -y, gc, format, undo's DEV */
	BT_TARGET_OUTPUT,	/* filled from the start: extract -o, image -o, --restore */
	BT_TARGET_UNDO,		/* an undo file: a regular file (undo.h) */
	BT_TARGET_LOG,		/* a log appended to: a file, a FIFO or a character device */
};

enum bt_guard_flags {
	BT_GUARD_FORCE_IN_USE	= 1 << 0,	/* --force-in-use: open devices in use */
	BT_GUARD_OVERWRITE	= 1 << 1,	/* --force: an existing output holding data */
};

/* Flags of bt_guard_add(). */
enum bt_target_flags {
	BT_TARGET_BCACHE	= 1 << 0,	/* must be a bcache device: refuse a foreign one */
};

/* Flags of bt_guard_open(). */
enum bt_guard_open_flags {
	BT_GUARD_RDWR		= 1 << 0,	/* open read-write (DEVICE, OUTPUT) */
};

/* What a device or file is beneath its name. */
struct bt_tid {
	bool		blk;		/* a block device: rdev; else a file: dev and ino */
	dev_t		rdev;
	dev_t		dev;
	ino_t		ino;
};

struct bt_target {
	char		*path;		/* malloc'ed copy; "-" is standard output */
	const char	*what;		/* static: "cache device", "output", ... */
	enum bt_target_role role;
	unsigned	flags;		/* BT_TARGET_* */
	bool		exists;
	struct stat	st;		/* when exists */
	struct bt_tid	id;		/* when exists */
	bool		has_file;	/* a loop device: the file behind it */
	bool		file_of_whole;	/* has_file: of its whole disk (a partition) */
	struct bt_tid	file;
	char		*file_path;	/* malloc'ed: its backing_file */
	bool		partition;	/* a partition: its whole disk is whole */
	dev_t		whole;
	dev_t		dir_dev;	/* a new file: its directory and name */
	ino_t		dir_ino;
	char		*base;		/* malloc'ed */
};

struct bt_guard {
	const char	*sysfs;		/* root of sysfs: "/sys" */
	const char	*proc;		/* root of procfs: "/proc" */
	pid_t		self;		/* this process: its open files are not "elsewhere" */
	unsigned	flags;		/* BT_GUARD_* */
	struct printbuf	*warn;		/* the caller's; warnings, one a line; may be NULL */
	struct bt_target *t;		/* malloc'ed, nr of them */
	unsigned	nr;
};

/*
 * bt_guard_init(): an empty guard with the real sysfs and procfs, flags
 * BT_GUARD_*, warnings appended to warn (caller-owned, may be NULL: then
 * they are dropped). Free with bt_guard_exit().
 */
void bt_guard_init(struct bt_guard *g, unsigned flags, struct printbuf *warn);
void bt_guard_exit(struct bt_guard *g);

/*
 * bt_guard_add(): declare path, the device or file of the run named what
 * ("cache device", "backing device", "output", "undo file", ...; a static
 * string), with its role and BT_TARGET_* flags. A path that does not exist
 * is accepted for OUTPUT, UNDO and LOG (it will be created). Refuses a
 * path that is the same device or file as one declared before
 * ("'X' and 'Y' are the same device", "the output 'X' is the backing
 * device 'Y'"; -BT_ERR_SAME_DEVICE) or cannot be found (-errno).
 * Returns the index to open it by (>= 0) or a negative code with a message.
 */
int bt_guard_add(struct bt_guard *g, const char *path, enum bt_target_role role,
		 const char *what, unsigned flags, struct printbuf *err);

/* bt_guard_find(): the index of the target declared with this very path, or -1. */
int bt_guard_find(const struct bt_guard *g, const char *path);

/*
 * bt_guard_open(): open target i (INPUT, DEVICE, or OUTPUT for a device
 * written through bt_dev, as image --restore does; an OUTPUT that does not
 * exist is created as an empty file) into *dev after the checks of the
 * table above; read-write with BT_GUARD_RDWR. A block device is opened
 * O_EXCL and a file locked (flock) unless BT_GUARD_FORCE_IN_USE lets an
 * exclusive user or a lock be. A BT_TARGET_BCACHE target holding something
 * else is refused (bt_probe_foreign()). Returns 0, -BT_ERR_DEV_MOUNTED,
 * -BT_ERR_DEV_REGISTERED, -BT_ERR_DEV_IN_USE, -BT_ERR_DEV_EXCL,
 * -BT_ERR_DEV_LOCKED, -BT_ERR_OUTPUT_EXISTS, -BT_ERR_FOREIGN,
 * -BT_ERR_NO_SUPERBLOCK, -BT_ERR_SAME_DEVICE (it changed since declared)
 * or -errno, with a message. Close dev with bt_dev_close().
 */
int bt_guard_open(struct bt_guard *g, int i, unsigned flags, struct bt_dev *dev,
		  struct printbuf *err);

/* An output, undo or log file opened by bt_guard_open_file(). */
struct bt_outfile {
	int		fd;		/* -1: not open */
	bool		seekable;	/* a regular file or a block device: pwrite */
	bool		regular;	/* a regular file: may be truncated */
	bool		is_stdout;	/* "-": fd is standard output, not closed */
	uint64_t	size;		/* bytes: a block device's size, a file's at open */
	const char	*path;		/* the target's */
};

/*
 * bt_guard_open_file(): open target i, an OUTPUT ("-": standard output),
 * UNDO (a regular file, created 0600 when absent, opened read-write) or LOG
 * (appended to; created 0644) after the checks of the table above, into *f.
 * An existing regular OUTPUT is emptied (O_TRUNC) once allowed; a block
 * device is not. Returns 0 or a negative code as bt_guard_open(), with a
 * message. Finish an output with bt_outfile_finish(), close with
 * bt_outfile_close() (an undo file's fd may be handed over instead).
 */
int bt_guard_open_file(struct bt_guard *g, int i, struct bt_outfile *f,
		       struct printbuf *err);

/*
 * bt_outfile_finish(): the end of an output of size bytes (UINT64_MAX:
 * unknown): a regular file is truncated (or extended, sparse) to size, a
 * file or block device is synced (fsync); a stream is left as it is.
 * Returns 0 or -errno with a message naming the file.
 */
int bt_outfile_finish(struct bt_outfile *f, uint64_t size, struct printbuf *err);

/* Close f (not standard output). Returns 0 or -errno with a message. */
int bt_outfile_close(struct bt_outfile *f, struct printbuf *err);

#endif /* BCACHE_TOOL_TARGET_H */
