/* undo_internal.h --- what undo.c (writing), undo_apply.c (loading,
 * applying) and undo_digest.c (the final-contents digest) share; not part
 * of the library's API (undo.h is). */
#ifndef BCACHE_TOOL_UNDO_INTERNAL_H
#define BCACHE_TOOL_UNDO_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "libcore/dev/dev.h"
#include "libcore/base/printbuf.h"
#include "libcore/dev/undo.h"

#define BT_UNDO_MAX_REC	(1U << 20)	/* bytes of data per record at most */

/* A device byte range [start, end). */
struct bt_undo_range {
	uint64_t	start, end;
};

/* Write all len bytes at file byte off of fd (named path); 0 or -EIO. */
int bt_undo_pwrite(int fd, const void *buf, size_t len, uint64_t off,
		   const char *path, struct printbuf *err);

/* Read up to len bytes at byte off of uf's file: the count read (short at
 * the end of the file) or -EIO. */
ssize_t bt_undo_file_pread(struct bt_undo_file *uf, void *buf, size_t len,
			   uint64_t off, struct printbuf *err);

/*
 * bt_undo_digest_write(): read dev's current bytes of each of the nr
 * ranges (sorted in place by start; each at most BT_UNDO_MAX_REC bytes) and
 * write the digest (struct bt_undo_digest_hdr, then one entry per range)
 * at byte pos of the undo file fd (named path). Not synced. Returns 0, a
 * device read error, -EIO, -ENOMEM.
 */
int bt_undo_digest_write(struct bt_dev *dev, int fd, const char *path, uint64_t pos,
			 struct bt_undo_range *ranges, size_t nr, struct printbuf *err);

/* A digest read from an undo file, before it is matched with the records. */
struct bt_undo_digest {
	bool				found;	/* a complete, valid digest */
	struct bt_undo_digest_ent	*ent;	/* malloc'ed; sorted by offset */
	size_t				nr;
};

/*
 * bt_undo_digest_read(): is there a digest at file byte pos (size: the
 * file's size)? Returns 0 when not (no digest magic), 1 when there is one:
 * verified and loaded into d when uf->finished, else ignored (a run that
 * crashed after writing it). -BT_ERR_UNDO_BAD when a finished run's digest
 * is damaged, cut short or followed by more bytes; -EIO, -ENOMEM.
 */
int bt_undo_digest_read(struct bt_undo_file *uf, uint64_t pos, uint64_t size,
			struct bt_undo_digest *d, struct printbuf *err);

/*
 * bt_undo_digest_match(): for a finished version-2 file, d must hold one
 * entry per record (uf->recs sorted by offset), same range; copies each
 * final_csum into the record and sets uf->has_digest. Frees d->ent.
 * Returns 0 or -BT_ERR_UNDO_BAD (no digest, or it does not fit the records).
 */
int bt_undo_digest_match(struct bt_undo_file *uf, struct bt_undo_digest *d,
			 struct printbuf *err);

/*
 * bt_undo_digest_check(): every saved range of dev must hold the bytes the
 * run left (final_csum) or already the saved ones (data_csum: an undo that
 * was interrupted, counted in uf->nr_restored). Returns 0,
 * -BT_ERR_UNDO_WRONG_DEV naming the first range (by offset) that holds
 * neither, or a device read error.
 */
int bt_undo_digest_check(struct bt_undo_file *uf, struct bt_dev *dev,
			 struct printbuf *err);

#endif /* BCACHE_TOOL_UNDO_INTERNAL_H */
