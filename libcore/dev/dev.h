/* dev.h --- device layer: block devices, image files and memory buffers.
 *
 * Every read and write of bcache-tool goes through here. Offsets and lengths
 * are in bytes unless the name says sectors. Reads and writes name the
 * structure they concern ("what") so that errors say which device, which
 * structure and which byte offset failed.
 *
 * Writes are refused on a device opened read-only (a second barrier under
 * fsck -n), counted, and can be made to fail after a set number
 * (write_limit) to simulate a crash in tests.
 *
 * Two hooks may be stacked over a device, as e2fsprogs stacks its undo io
 * manager over unix_io; this file calls them and knows nothing else of
 * them: a write hook is told of each write before and after it is made
 * (the undo log, undo.h), and a redirect takes the reads and writes in
 * place of the device (a dry run's shadow, shadow.h: writes go to a
 * temporary file and reads see them; the device itself is never written).
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

struct bt_dev;

/*
 * The callbacks of a hook (see above); a NULL callback is skipped. Each
 * returns 0 or a negative code with a message in err; an error of
 * before_write() stops the write before any byte is written. read() and
 * write() are called after the range check, with the arguments of
 * bt_dev_read() / bt_dev_write(). free() releases the hook's state at
 * bt_dev_close().
 */
struct bt_dev_hook_ops {
	int	(*before_write)(struct bt_dev *dev, uint64_t off, size_t len,
				struct printbuf *err);
	int	(*after_write)(struct bt_dev *dev, uint64_t off, size_t len,
			       struct printbuf *err);
	int	(*read)(struct bt_dev *dev, void *buf, size_t len, uint64_t off,
			const char *what, struct printbuf *err);
	int	(*write)(struct bt_dev *dev, const void *buf, size_t len, uint64_t off,
			 const char *what, struct printbuf *err);
	void	(*free)(struct bt_dev *dev);
};

struct bt_dev_hook {
	const struct bt_dev_hook_ops	*ops;	/* NULL: no hook */
	void				*priv;	/* the hook's state, owned by the hook */
};

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
	/* told of every write (the undo log, undo.h) */
	struct bt_dev_hook write_hook;
	/* takes reads and writes in place of the device (a dry run, shadow.h) */
	struct bt_dev_hook redirect;
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
 * Counts the write in nr_writes only when it is attempted. With a write
 * hook (the undo log), calls its before_write() first (its errors are
 * returned and nothing is written) and its after_write() after. With a
 * redirect (a dry run's shadow) the write goes there, a read-only device
 * included, and the write hook is not called.
 */
int bt_dev_write(struct bt_dev *dev, const void *buf, size_t len, uint64_t off,
		 const char *what, struct printbuf *err);

/*
 * bt_dev_readahead(): a hint that len bytes at byte offset off will be read
 * soon (posix_fadvise WILLNEED: the kernel starts reading them in the
 * background, many requests in flight). No error: a hint the system cannot
 * take, or a range past the end, is ignored.
 */
void bt_dev_readahead(struct bt_dev *dev, uint64_t off, uint64_t len);

/* bt_dev_flush(): make every completed write durable (fdatasync). */
int bt_dev_flush(struct bt_dev *dev, struct printbuf *err);

/*
 * May a run write to dev: opened read-write, or redirected (a dry run whose
 * writes go to the shadow).
 */
static inline bool bt_dev_writable(const struct bt_dev *dev)
{
	return !dev->readonly || dev->redirect.ops;
}

/* Size of the device in 512-byte sectors. */
static inline uint64_t bt_dev_sectors(const struct bt_dev *dev)
{
	return dev->size >> 9;
}

#endif /* BCACHE_TOOL_DEV_H */
