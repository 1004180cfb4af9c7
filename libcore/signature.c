/* signature.c --- other signatures on a device: list and wipe them with libblkid. */
#include <blkid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "signature.h"

/*
 * A probe over dev's open descriptor that reports every superblock (bad
 * checksums too) and partition table with the position of its magic, as
 * wipefs sets one up.
 */
static int probe_open(struct bt_dev *dev, blkid_probe *ret, struct printbuf *err)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr) {
		prt_printf(err, "cannot probe '%s' for signatures: out of memory", dev->path);
		return -ENOMEM;
	}
	if (blkid_probe_set_device(pr, dev->fd, 0, 0) ||
	    blkid_probe_enable_superblocks(pr, 1) ||
	    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
					      BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM) ||
	    blkid_probe_enable_partitions(pr, 1) ||
	    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC)) {
		prt_printf(err, "cannot set up a libblkid probe of '%s'", dev->path);
		blkid_free_probe(pr);
		return -EIO;
	}
	*ret = pr;
	return 0;
}

/* Describe the signature the last blkid_do_probe() found. */
static void probe_current(blkid_probe pr, struct bt_signature *s)
{
	const char *type = NULL, *off = NULL;

	memset(s, 0, sizeof(*s));
	if (!blkid_probe_lookup_value(pr, "TYPE", &type, NULL)) {
		blkid_probe_lookup_value(pr, "SBMAGIC_OFFSET", &off, NULL);
	} else if (!blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL)) {
		s->ptable = true;
		blkid_probe_lookup_value(pr, "PTMAGIC_OFFSET", &off, NULL);
	}
	snprintf(s->type, sizeof(s->type), "%s", type ? type : "unknown");
	s->offset = off ? strtoull(off, NULL, 10) : 0;
}

int bt_probe_signatures(struct bt_dev *dev, struct bt_signatures *sigs,
			struct printbuf *err)
{
	blkid_probe pr;
	int ret, r;

	memset(sigs, 0, sizeof(*sigs));
	if (dev->fd < 0)
		return 0;
	ret = probe_open(dev, &pr, err);
	if (ret)
		return ret;
	/* blkid_do_probe() moves on to the next match each call: 0 found, 1 done */
	while ((r = blkid_do_probe(pr)) == 0) {
		if (sigs->nr == BT_MAX_SIGNATURES) {
			sigs->truncated = true;
			break;
		}
		probe_current(pr, &sigs->s[sigs->nr++]);
	}
	blkid_free_probe(pr);
	if (r < 0) {
		prt_printf(err, "libblkid failed to probe '%s' for signatures", dev->path);
		return -EIO;
	}
	return 0;
}

int bt_wipe_signatures(struct bt_dev *dev, struct printbuf *out, struct printbuf *err)
{
	blkid_probe pr;
	int ret, r, nr = 0;

	if (dev->fd < 0)
		return 0;
	if (dev->readonly) {
		prt_printf(err, "refusing to wipe signatures of '%s': opened read-only", dev->path);
		return -BT_ERR_DEV_READONLY;
	}
	ret = probe_open(dev, &pr, err);
	if (ret)
		return ret;
	/*
	 * blkid_do_wipe() zeroes the magic just found and steps the probe back,
	 * so the next blkid_do_probe() looks again at the same place. The bound
	 * keeps a signature that will not go away from looping forever.
	 */
	while ((r = blkid_do_probe(pr)) == 0) {
		struct bt_signature s;

		probe_current(pr, &s);
		if (nr >= 4 * BT_MAX_SIGNATURES) {
			prt_printf(err, "'%s': the %s signature at byte %llu came back after "
				   "%d wipes", dev->path, s.type,
				   (unsigned long long)s.offset, nr);
			blkid_free_probe(pr);
			return -EIO;
		}
		if (blkid_do_wipe(pr, 0)) {
			prt_printf(err, "cannot wipe the %s signature at byte %llu of '%s': %s",
				   s.type, (unsigned long long)s.offset, dev->path,
				   strerror(errno));
			blkid_free_probe(pr);
			return -EIO;
		}
		prt_printf(out, "wiped %s %s at byte %llu of '%s'", s.type,
			   s.ptable ? "partition table" : "signature",
			   (unsigned long long)s.offset, dev->path);
		prt_newline(out);
		nr++;
	}
	blkid_free_probe(pr);
	if (r < 0) {
		prt_printf(err, "libblkid failed to probe '%s' for signatures", dev->path);
		return -EIO;
	}
	dev->nr_writes += (unsigned long)nr;
	return nr;
}
