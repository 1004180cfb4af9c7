/* signature.h --- other signatures on a device (libblkid): list and wipe them.
 *
 * What else a device holds besides bcache: file systems, swap, RAID and
 * LVM members, partition tables. format refuses or wipes them.
 */
#ifndef BCACHE_TOOL_SIGNATURE_H
#define BCACHE_TOOL_SIGNATURE_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/dev/dev.h"
#include "libcore/base/printbuf.h"

#define BT_MAX_SIGNATURES	16

struct bt_signature {
	char		type[32];	/* blkid TYPE or PTTYPE: "ext4", "swap", "dos", "bcache" */
	uint64_t	offset;		/* bytes: where its magic lies */
	bool		ptable;		/* a partition table */
	char		usage[16];	/* blkid USAGE: "filesystem", "raid", "crypto", "other" */
};

struct bt_signatures {
	unsigned		nr;
	bool			truncated;	/* more than BT_MAX_SIGNATURES */
	struct bt_signature	s[BT_MAX_SIGNATURES];
};

/*
 * bt_probe_signatures(): every file system, RAID, swap, bcache or partition
 * table signature libblkid finds on dev (bad checksums included, as wipefs
 * lists them). A memory device has none. Returns 0 or -EIO / -ENOMEM with a
 * message.
 */
int bt_probe_signatures(struct bt_dev *dev, struct bt_signatures *sigs,
			struct printbuf *err);

/* bt_probe_signatures() of an open descriptor; name is used in messages. */
int bt_probe_signatures_fd(int fd, const char *name, struct bt_signatures *sigs,
			   struct printbuf *err);

/*
 * bt_signature_to_text(): what s is, for a message: "an ext4 filesystem",
 * "swap space", "a dos partition table", "an LVM physical volume", ...
 */
void bt_signature_to_text(struct printbuf *out, const struct bt_signature *s);

/*
 * bt_probe_foreign(): does dev, about to be read as a bcache device, hold
 * something else? Only a positive answer counts, so that a damaged bcache
 * superblock is still reported as its problems: a device whose bcache magic
 * is in place (byte 4120) is never foreign; otherwise the first signature
 * libblkid identifies that is not bcache makes it foreign ("'X' holds an
 * ext4 filesystem (signature at byte 1080), not a bcache device";
 * -BT_ERR_FOREIGN), and so do first 8 KiB of zeroes ("'X' holds no bcache
 * superblock (the first 8 KiB are zero)"; -BT_ERR_NO_SUPERBLOCK). A device
 * shorter than 8 KiB is left to the superblock reader. Returns 0, one of
 * those, or a read error, with a message.
 */
int bt_probe_foreign(struct bt_dev *dev, struct printbuf *err);

/*
 * bt_wipe_signatures(): erase the magic of every signature libblkid finds on
 * dev (blkid_do_wipe(), as "wipefs -a" does), appending one line per wiped
 * signature to out. Needs a read-write open. Returns the number wiped or a
 * negative code with a message.
 */
int bt_wipe_signatures(struct bt_dev *dev, struct printbuf *out, struct printbuf *err);

#endif /* BCACHE_TOOL_SIGNATURE_H */
