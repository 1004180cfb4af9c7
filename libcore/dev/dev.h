/* dev.h --- device layer: block devices, image files and memory buffers.
 *
 * Every read and write of bcache-tool goes through here. Offsets and lengths
 * are in bytes unless the name says sectors. Reads and writes name the
 * structure they concern ("what") so that errors say which device, which
 * structure and which byte offset failed.
 *
 * Writes are refused on a device opened read-only (a second barrier under
 * fsck -n), counted, and can be made to fail after a set number
 * (write_limit) to simulate a crash in tests. A dry run puts a shadow over
 * the device (shadow.h bt_dev_shadow()): writes then go to a temporary
 * file and reads see them; the device itself is never written.
 */
#ifndef BCACHE_TOOL_DEV_H
#define BCACHE_TOOL_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libcore/base/printbuf.h"

enum bt_dev_flags {
	BT_DEV_RDWR	= 1 << 0,	/* open for writing */
	BT_DEV_FORCE	= 1 << 1,	/* share the device: no O_EXCL, no advisory lock */
};

struct bt_undo;
struct bt_shadow;

struct bt_dev {
	char		*path;
	int		fd;		/* -1 for a memory device */
	unsigned char	*mem;		/* memory device contents (not owned) */
	bool		is_blockdev;
	bool		readonly;
	dev_t		rdev;		/* block devices: device number */
	uint64_t	size;		/* bytes */
	unsigned	logical_block_size;	/* bytes */
	unsigned	preferred_io_size;	/* bytes: st_blksize or physical block size */
	unsigned long	nr_writes;	/* writes done so far */
	long		write_limit;	/* < 0: no limit; else writes after this many fail */
	/* fault injection for tests: reads touching [fail_read_off, +fail_read_len) get -EIO */
	uint64_t	fail_read_off;	/* bytes */
	uint64_t	fail_read_len;	/* bytes; 0: none */
	/* undo log (undo.h): old contents saved before each first overwrite; owned */
	struct bt_undo	*undo;
	/* dry run (shadow.h): writes go to a temporary file, not the device; owned */
	struct bt_shadow *shadow;
};

/*
 * bt_dev_open(): open path (block device or regular file) and fill *out.
 * Unless BT_DEV_FORCE: a block device is opened O_EXCL, and a file gets an
 * advisory lock (flock: shared for reading, exclusive for writing) so two
 * bcache-tool runs do not share it. This is the bare open: whether a
 * device may be used at all (mounted, registered, the same as another one
 * of the run) is the guard's decision (target.h), through which every
 * command opens its devices. Returns 0, or a negative code with a message
 * in err (-BT_ERR_DEV_EXCL: O_EXCL failed, -BT_ERR_DEV_LOCKED: the lock is
 * held, -BT_ERR_NOT_A_DEVICE, -errno). Close with bt_dev_close().
 */
int bt_dev_open(const char *path, unsigned flags, struct bt_dev *out,
		struct printbuf *err);

/*
 * bt_dev_open_mem(): a device over a caller-owned buffer of len bytes (for
 * tests and fuzzing); writes go to the buffer unless readonly.
 */
void bt_dev_open_mem(struct bt_dev *out, const char *name, void *buf,
		     uint64_t len, bool readonly);

void bt_dev_close(struct bt_dev *dev);

/*
 * bt_dev_read(): read len bytes at byte offset off. Returns 0, -EIO (with
 * the system's reason), -BT_ERR_SHORT_READ when the range passes the end of
 * the device; the message names dev, what and the offset.
 */
int bt_dev_read(struct bt_dev *dev, void *buf, size_t len, uint64_t off,
		const char *what, struct printbuf *err);

/*
 * bt_dev_read_raw(): bt_dev_read() of the device itself, bypassing a
 * shadow and the injected read faults (for shadow.c). Same returns.
 */
int bt_dev_read_raw(struct bt_dev *dev, void *buf, size_t len, uint64_t off,
		    const char *what, struct printbuf *err);

/*
 * bt_dev_write(): write len bytes at byte offset off. Returns 0,
 * -BT_ERR_DEV_READONLY, -BT_ERR_WRITE_LIMIT (simulated crash; checked in
 * that order, before the range), -BT_ERR_SHORT_READ when the range passes
 * the end of the device (a write never extends an image file), -EIO.
 * Counts the write in nr_writes only when it is attempted. With an undo
 * log attached, first saves the old contents (bt_undo_before_write(); its
 * errors are returned and nothing is written). With a shadow (shadow.h,
 * a dry run) the write goes to the shadow, a read-only device included.
 */
int bt_dev_write(struct bt_dev *dev, const void *buf, size_t len, uint64_t off,
		 const char *what, struct printbuf *err);

/* bt_dev_flush(): make every completed write durable (fdatasync). */
int bt_dev_flush(struct bt_dev *dev, struct printbuf *err);

/*
 * May a run write to dev: opened read-write, or shadowed (a dry run whose
 * writes go to the shadow).
 */
static inline bool bt_dev_writable(const struct bt_dev *dev)
{
	return !dev->readonly || dev->shadow;
}

/* Size of the device in 512-byte sectors. */
static inline uint64_t bt_dev_sectors(const struct bt_dev *dev)
{
	return dev->size >> 9;
}

#endif /* BCACHE_TOOL_DEV_H */
