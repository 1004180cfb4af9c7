/* undo.h --- an undo file for the writes of a repair (as e2fsprogs' undo_io).
 *
 * While an undo log is attached to a struct bt_dev (bt_undo_open()),
 * bt_dev_write() first saves the old contents of every 4 KiB block it is
 * about to overwrite for the first time: the block is appended to the undo
 * file as a record and the undo file is fdatasync'ed before the device
 * write proceeds (write-ahead). bcache-tool undo (bt_undo_file_load(),
 * bt_undo_file_check_dev(), bt_undo_file_apply()) writes the saved blocks
 * back, restoring the device to its bytes before the first run.
 *
 * File layout, all words little-endian (struct bt_undo_hdr, records, then
 * in version 2 the digest):
 *
 *   header   magic "bcundo01", version (1 or 2; same layout), state (bit 0:
 *            the run finished), the device's size in bytes, the byte
 *            offset and length of its superblock block (4096, up to 4096
 *            bytes), that block as it was when the undo file was created
 *            (sb_open) and as it is now (sb_final: updated after each write
 *            that touches it and when the run finishes), then bch_crc64 of
 *            everything before it.
 *   records  magic "bcundrec", device byte offset, length in bytes,
 *            bch_crc64 of the data, bch_crc64 of the 32 bytes before it,
 *            then the data. Records never overlap. A record cut short at
 *            the end of the file was never synced, so the device write it
 *            guarded never happened: it is ignored.
 *   digest   (version 2, written when the run finishes, before the header
 *            is marked finished) magic "bcunddig", the number of entries,
 *            bch_crc64 of the entries, bch_crc64 of the 24 bytes before
 *            it; then one entry per record, sorted by device offset: the
 *            record's offset and length and bch_crc64 of the device's bytes
 *            of that range when the run finished. It ends the file. A run
 *            that resumes the file drops the digest (after marking the
 *            header unfinished) and writes a new one covering all records.
 *
 * As e2undo, applying requires the device's current superblock block to
 * equal sb_final (and its size to equal the recorded one): that refuses
 * another device. A finished version-2 file also requires every saved range
 * to hold the bytes the run left there (its digest entry), so a device
 * changed since the run is refused even when the change missed the
 * superblock. Why one crc per record and not one over all: the refusal can
 * name the range that differs, and a range that already holds its saved
 * bytes (an undo interrupted after writing it) can be told apart and
 * accepted, so an interrupted undo can be rerun; 8 bytes per record of up
 * to 1 MiB is negligible. Without a digest (a version-1 file, or a run that
 * did not finish: what undo is for after a crash) only size and superblock
 * are checked.
 */
#ifndef BCACHE_TOOL_UNDO_H
#define BCACHE_TOOL_UNDO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libcore/dev/dev.h"
#include "libcore/base/printbuf.h"

#define BT_UNDO_MAGIC		"bcundo01"
#define BT_UNDO_REC_MAGIC	"bcundrec"
#define BT_UNDO_DIGEST_MAGIC	"bcunddig"
#define BT_UNDO_VERSION		2	/* written; 1 (no digest) is still read */
#define BT_UNDO_BLOCK		4096	/* bytes: granularity of the saved ranges */
#define BT_UNDO_SB_OFFSET	4096	/* bytes: the bcache superblock block */
#define BT_UNDO_STATE_FINISHED	1

struct bt_undo_hdr {
	char		magic[8];
	uint32_t	version;
	uint32_t	state;
	uint64_t	dev_size;	/* bytes */
	uint64_t	sb_offset;	/* bytes */
	uint32_t	sb_len;		/* bytes, <= BT_UNDO_BLOCK */
	uint32_t	pad;
	uint8_t		sb_open[BT_UNDO_BLOCK];
	uint8_t		sb_final[BT_UNDO_BLOCK];
	uint64_t	csum;		/* bch_crc64 of the bytes before it */
} __attribute__((packed));

struct bt_undo_rec_hdr {
	char		magic[8];
	uint64_t	offset;		/* device bytes */
	uint32_t	len;		/* bytes of data following */
	uint32_t	pad;
	uint64_t	data_csum;	/* bch_crc64 of the data */
	uint64_t	csum;		/* bch_crc64 of the 32 bytes before it */
} __attribute__((packed));

struct bt_undo_digest_hdr {
	char		magic[8];
	uint64_t	nr;		/* entries following */
	uint64_t	ent_csum;	/* bch_crc64 of the entries */
	uint64_t	csum;		/* bch_crc64 of the 24 bytes before it */
} __attribute__((packed));

struct bt_undo_digest_ent {
	uint64_t	offset;		/* device bytes, as the record's */
	uint32_t	len;		/* bytes, as the record's */
	uint32_t	pad;
	uint64_t	final_csum;	/* bch_crc64 of the device's bytes at the end of the run */
} __attribute__((packed));

_Static_assert(sizeof(struct bt_undo_hdr) == 48 + 2 * BT_UNDO_BLOCK, "undo header");
_Static_assert(sizeof(struct bt_undo_rec_hdr) == 40, "undo record header");
_Static_assert(sizeof(struct bt_undo_digest_hdr) == 32, "undo digest header");
_Static_assert(sizeof(struct bt_undo_digest_ent) == 24, "undo digest entry");

/*
 * bt_undo_open(): attach an undo log in the file open on fd (read-write;
 * path names it in messages) to dev (opened read-write); the log owns fd
 * from here on, also on failure. Commands open the file through the guard
 * (target.h, BT_TARGET_UNDO), which refuses the device itself, a block
 * device or a file of another device of the run. As e2fsprogs: a missing or empty file is created; an existing
 * undo file for this device in its current state (bt_undo_file_check_dev())
 * is resumed, so that undoing restores the state before the first run: its
 * header is marked unfinished and version 2, and its digest dropped (a new
 * one covering every record is written by bt_undo_close()); any other
 * existing file is refused (-BT_ERR_UNDO_WRONG_DEV, -BT_ERR_UNDO_BAD).
 * Refuses the device itself as undo file (-EINVAL). The header is written
 * and synced before returning.
 * Returns 0 or a negative code with a message naming the file.
 */
int bt_undo_open(struct bt_dev *dev, int fd, const char *path, struct printbuf *err);

/*
 * bt_undo_close(): record the device's final superblock block and the
 * digest of the final contents of every saved range (reads them all back:
 * as many bytes as the undo file holds), sync, then mark the run finished,
 * sync and detach the undo log from dev. Returns 0, a device read error,
 * -EIO, -ENOMEM; on error the file stays unfinished. The log is detached
 * and freed even on error. No-op without an undo log.
 */
int bt_undo_close(struct bt_dev *dev, struct printbuf *err);

/*
 * bt_undo_free(): detach and free the undo log without marking the run
 * finished (as a crash would leave it). Called by bt_dev_close().
 */
void bt_undo_free(struct bt_dev *dev);

/* One saved range of an undo file being applied. */
struct bt_undo_rec {
	uint64_t	offset;		/* device bytes */
	uint32_t	len;		/* bytes */
	uint64_t	file_off;	/* bytes: where the data is in the undo file */
	uint64_t	data_csum;	/* bch_crc64 of the data */
	uint64_t	final_csum;	/* bch_crc64 the device's range had when the run
					 * finished; valid when uf->has_digest */
};

struct bt_undo_file {
	char			*path;
	int			fd;
	struct bt_undo_hdr	hdr;
	uint32_t		version;	/* 1 or 2 */
	bool			finished;	/* the run that wrote it ended normally */
	bool			has_digest;	/* final contents recorded (version 2, finished) */
	size_t			nr_restored;	/* set by bt_undo_file_check_dev(): ranges
						 * already holding their saved bytes */
	uint64_t		valid_end;	/* bytes: end of the last complete record */
	bool			torn_tail;	/* a partial record followed valid_end */
	struct bt_undo_rec	*recs;		/* sorted by offset */
	size_t			nr;
};

/*
 * bt_undo_file_load(): open and verify the undo file at path: header magic,
 * version (1 or 2) and checksum, then every record's magic and both
 * checksums, that records do not overlap, and for a finished version-2 file
 * its digest (checksums, one entry per record; sets has_digest). A partial
 * record at the end is ignored (torn_tail), and so is the digest of an
 * unfinished run. Returns 0, -BT_ERR_UNDO_BAD (message names the file byte
 * offset and the device range of a bad record), -errno. Free with
 * bt_undo_file_exit().
 */
int bt_undo_file_load(const char *path, struct bt_undo_file *uf, struct printbuf *err);
void bt_undo_file_exit(struct bt_undo_file *uf);

/*
 * bt_undo_file_check_dev(): is dev the device uf was written for, unchanged
 * since? Its size must equal the recorded size and its superblock block the
 * recorded sb_final (e2undo's check_filesystem()); with a digest, every
 * saved range must also hold the bytes the run left there, or already its
 * saved bytes (counted in uf->nr_restored: an interrupted undo); this reads
 * every saved range of dev. Returns 0, -BT_ERR_UNDO_WRONG_DEV with the
 * reason (for the digest: the device byte offset and length of the first
 * range that differs), or a read error.
 */
int bt_undo_file_check_dev(struct bt_undo_file *uf, struct bt_dev *dev,
			   struct printbuf *err);

/*
 * bt_undo_file_apply(): write every saved range back to dev (re-checking
 * each record's checksum as it is read) and flush. Returns the number of
 * ranges written, or a negative code.
 */
long bt_undo_file_apply(struct bt_undo_file *uf, struct bt_dev *dev,
			struct printbuf *err);

#endif /* BCACHE_TOOL_UNDO_H */
