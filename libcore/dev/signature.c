/* signature.c --- other signatures on a device: list and wipe them with libblkid. */
#include <blkid.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/errcode.h"
#include "libcore/base/ondisk.h"
#include "libcore/dev/signature.h"

/*
 * A probe over dev's open descriptor that reports every superblock (bad
 * checksums too) and partition table with the position of its magic, as
 * wipefs sets one up.
 */
static int probe_open(int fd, const char *name, blkid_probe *ret, struct printbuf *err)
{
	blkid_probe pr = blkid_new_probe();

	if (!pr) {
		prt_printf(err, "cannot probe '%s' for signatures: out of memory", name);
		return -ENOMEM;
	}
	if (blkid_probe_set_device(pr, fd, 0, 0) ||
	    blkid_probe_enable_superblocks(pr, 1) ||
	    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE |
					      BLKID_SUBLKS_MAGIC | BLKID_SUBLKS_BADCSUM) ||
	    blkid_probe_enable_partitions(pr, 1) ||
	    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC)) {
		prt_printf(err, "cannot set up a libblkid probe of '%s'", name);
		blkid_free_probe(pr);
		return -EIO;
	}
	*ret = pr;
	return 0;
}

/* Describe the signature the last blkid_do_probe() found. */
static void probe_current(blkid_probe pr, struct bt_signature *s)
{
	const char *type = NULL, *off = NULL, *usage = NULL;

	memset(s, 0, sizeof(*s));
	if (!blkid_probe_lookup_value(pr, "TYPE", &type, NULL)) {
		blkid_probe_lookup_value(pr, "SBMAGIC_OFFSET", &off, NULL);
		blkid_probe_lookup_value(pr, "USAGE", &usage, NULL);
	} else if (!blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL)) {
		s->ptable = true;
		blkid_probe_lookup_value(pr, "PTMAGIC_OFFSET", &off, NULL);
	}
	snprintf(s->type, sizeof(s->type), "%s", type ? type : "unknown");
	snprintf(s->usage, sizeof(s->usage), "%s", usage ? usage : "");
	s->offset = off ? strtoull(off, NULL, 10) : 0;
}

int bt_probe_signatures(struct bt_dev *dev, struct bt_signatures *sigs,
			struct printbuf *err)
{
	memset(sigs, 0, sizeof(*sigs));
	return dev->fd < 0 ? 0 : bt_probe_signatures_fd(dev->fd, dev->path, sigs, err);
}

int bt_probe_signatures_fd(int fd, const char *name, struct bt_signatures *sigs,
			   struct printbuf *err)
{
	blkid_probe pr;
	int ret, r;

	memset(sigs, 0, sizeof(*sigs));
	ret = probe_open(fd, name, &pr, err);
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
		prt_printf(err, "libblkid failed to probe '%s' for signatures", name);
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
	ret = probe_open(dev->fd, dev->path, &pr, err);
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

void bt_signature_to_text(struct printbuf *out, const struct bt_signature *s)
{
	static const struct { const char *type, *text; } names[] = {
		{ "swap",		"swap space" },
		{ "LVM2_member",	"an LVM physical volume" },
		{ "linux_raid_member",	"a Linux RAID member" },
		{ "crypto_LUKS",	"a LUKS encrypted volume" },
		{ "bcache",		"a bcache superblock" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s->type, names[i].type)) {
			prt_str(out, names[i].text);
			return;
		}
	prt_printf(out, "%s %s %s", strchr("aeiouAEIOU", s->type[0]) ? "an" : "a", s->type,
		   s->ptable ? "partition table" :
		   !strcmp(s->usage, "filesystem") ? "filesystem" : "signature");
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

int bt_probe_foreign(struct bt_dev *dev, struct printbuf *err)
{
	uint8_t head[2 * SB_OFFSET_BYTES];
	struct bt_signatures sigs;
	int ret;

	if (dev->size < sizeof(head))
		return 0;
	ret = bt_dev_read(dev, head, sizeof(head), 0, "first 8 KiB", err);
	if (ret)
		return ret;
	if (!memcmp(head + SB_OFFSET_BYTES + offsetof(struct cache_sb_disk, magic),
		    bcache_sb_magic, sizeof(bcache_sb_magic)))
		return 0;
	ret = bt_probe_signatures(dev, &sigs, err);
	if (ret)
		return ret;
	for (unsigned i = 0; i < sigs.nr; i++) {
		if (!strcmp(sigs.s[i].type, "bcache"))
			continue;
		prt_printf(err, "'%s' holds ", dev->path);
		bt_signature_to_text(err, &sigs.s[i]);
		prt_printf(err, " (signature at byte %llu), not a bcache device",
			   (unsigned long long)sigs.s[i].offset);
		return -BT_ERR_FOREIGN;
	}
	if (all_zero(head, sizeof(head))) {
		prt_printf(err, "'%s' holds no bcache superblock (the first 8 KiB are zero)",
			   dev->path);
		return -BT_ERR_NO_SUPERBLOCK;
	}
	return 0;
}
