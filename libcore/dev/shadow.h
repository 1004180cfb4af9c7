/* shadow.h --- a dry run's private copy of what a run writes to a device.
 *
 * A dry run (gc -n, detach -n, undo -n, writeback -n) executes exactly the
 * code path of the real run, so that what it prints is what the real run
 * will print. The device stays opened read-only; bt_dev_shadow() attaches
 * a shadow to it, and from then on:
 *
 *  - bt_dev_write() writes into the shadow, never into the device (whose
 *    file descriptor is read-only, so no write can reach it by mistake);
 *  - bt_dev_read() returns, for every byte, the shadow's copy when the run
 *    wrote it, else the device's own byte;
 *  - bt_dev_flush() has nothing to make durable.
 *
 * Where the bytes go: an unnamed temporary file (O_TMPFILE; a file
 * unlinked right after creation where the file system lacks O_TMPFILE) in
 * $TMPDIR, or /tmp, at the same byte offsets as on the device (sparse).
 * Why a file and not memory: what a run writes is bounded by the nodes,
 * prio buckets, jsets and superblocks it writes, which on a large cache is
 * more than memory should hold (gc --invalidate-clean rewrites every leaf);
 * the file costs disk blocks only where written, and the kernel's page
 * cache keeps what fits. The memory used is one interval per run of
 * written bytes (16 bytes each), bounded by the number of writes.
 *
 * The shadow is freed with the device (bt_dev_close()); the temporary file
 * disappears with its descriptor.
 */
#ifndef BCACHE_TOOL_SHADOW_H
#define BCACHE_TOOL_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "libcore/dev/dev.h"
#include "libcore/base/printbuf.h"

/* A written byte range [start, end) of the shadow. */
struct bt_shadow_range {
	uint64_t	start, end;	/* bytes */
};

struct bt_shadow {
	int			fd;		/* the temporary file */
	char			*dir;		/* its directory, for messages (malloc'ed) */
	struct bt_shadow_range	*r;		/* sorted, disjoint, not adjacent */
	size_t			nr, size;
	uint64_t		bytes_written;	/* sum of the lengths of all writes */
};

/*
 * bt_dev_shadow(): attach a shadow to dev (see above); dev may be read-only
 * (the usual case) or a memory device. A device that already has one keeps
 * it (returns 0). An undo log attached to dev sees none of the shadow's
 * writes: they never reach the device (fsck's read-back after a repair
 * checks the repaired device, undo log and all, on a shadow). Returns 0,
 * or -errno with a message naming the
 * directory when the temporary file cannot be created, -ENOMEM.
 */
int bt_dev_shadow(struct bt_dev *dev, struct printbuf *err);

/* dev's shadow, or NULL when it has none (not owned: freed with dev). */
struct bt_shadow *bt_dev_shadow_of(const struct bt_dev *dev);

/* Free dev's shadow, if any (bt_dev_close() calls it through the redirect hook). */
void bt_shadow_free(struct bt_dev *dev);

#endif /* BCACHE_TOOL_SHADOW_H */
