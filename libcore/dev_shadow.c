/* dev_shadow.c --- dry runs: a device's writes kept in memory, its reads seeing them.
 *
 * fsck -n makes every repair fsck -y would make, on a shadow: bt_dev_write()
 * stores the bytes in 4 KiB pages here instead of writing the device, and
 * bt_dev_read() lays those pages over what it read. So the passes after a
 * repair see the state it leaves, and -n reports what -y then does and
 * loses, while the device (opened read-only) is never written. Pages are
 * kept in an open-addressing hash table keyed by page number.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"

#define SHADOW_PAGE	4096u

struct bt_dev_shadow {
	uint64_t	*pages;		/* page numbers; EMPTY where unused */
	uint8_t		**data;		/* SHADOW_PAGE bytes each */
	size_t		nr, size;	/* used slots, slots (a power of two) */
};

#define EMPTY	UINT64_MAX

static size_t slot_of(const struct bt_dev_shadow *s, uint64_t page)
{
	size_t i = (size_t)((page * 0x9e3779b97f4a7c15ULL) >> 17) & (s->size - 1);

	while (s->pages[i] != EMPTY && s->pages[i] != page)
		i = (i + 1) & (s->size - 1);
	return i;
}

static uint8_t *lookup(const struct bt_dev_shadow *s, uint64_t page)
{
	size_t i;

	if (!s->nr)
		return NULL;
	i = slot_of(s, page);
	return s->pages[i] == page ? s->data[i] : NULL;
}

static int grow(struct bt_dev_shadow *s)
{
	struct bt_dev_shadow n = { .size = s->size ? s->size * 2 : 256 };

	n.pages = malloc(n.size * sizeof(*n.pages));
	n.data = malloc(n.size * sizeof(*n.data));
	if (!n.pages || !n.data) {
		free(n.pages);
		free(n.data);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n.size; i++)
		n.pages[i] = EMPTY;
	for (size_t i = 0; i < s->size; i++) {
		size_t j;

		if (s->pages[i] == EMPTY)
			continue;
		j = slot_of(&n, s->pages[i]);
		n.pages[j] = s->pages[i];
		n.data[j] = s->data[i];
		n.nr++;
	}
	free(s->pages);
	free(s->data);
	*s = n;
	return 0;
}

int bt_dev_shadow_start(struct bt_dev *dev)
{
	if (dev->shadow)
		return 0;
	dev->shadow = calloc(1, sizeof(*dev->shadow));
	if (!dev->shadow || grow(dev->shadow)) {
		free(dev->shadow);
		dev->shadow = NULL;
		return -ENOMEM;
	}
	return 0;
}

void bt_dev_shadow_stop(struct bt_dev *dev)
{
	struct bt_dev_shadow *s = dev->shadow;

	if (!s)
		return;
	for (size_t i = 0; i < s->size; i++)
		if (s->pages[i] != EMPTY)
			free(s->data[i]);
	free(s->pages);
	free(s->data);
	free(s);
	dev->shadow = NULL;
}

uint64_t bt_dev_shadow_bytes(const struct bt_dev *dev)
{
	return dev->shadow ? (uint64_t)dev->shadow->nr * SHADOW_PAGE : 0;
}

void bt_dev_shadow_overlay(const struct bt_dev *dev, void *buf, size_t len, uint64_t off)
{
	const struct bt_dev_shadow *s = dev->shadow;

	if (!s || !s->nr || !len)
		return;
	for (uint64_t p = off / SHADOW_PAGE; p <= (off + len - 1) / SHADOW_PAGE; p++) {
		const uint8_t *d = lookup(s, p);
		uint64_t from, to;

		if (!d)
			continue;
		from = p * SHADOW_PAGE > off ? p * SHADOW_PAGE : off;
		to = (p + 1) * SHADOW_PAGE < off + len ? (p + 1) * SHADOW_PAGE : off + len;
		memcpy((uint8_t *)buf + (from - off), d + (from - p * SHADOW_PAGE), to - from);
	}
}

/* The page's shadow copy, made from the device's bytes the first time. */
static int page_for_write(struct bt_dev *dev, uint64_t p, uint8_t **out, const char *what,
			  struct printbuf *err)
{
	struct bt_dev_shadow *s = dev->shadow;
	uint64_t start = p * SHADOW_PAGE;
	size_t len = dev->size - start < SHADOW_PAGE ? (size_t)(dev->size - start) : SHADOW_PAGE;
	uint8_t *d = lookup(s, p);
	size_t i;
	int ret;

	if (d) {
		*out = d;
		return 0;
	}
	if ((s->nr + 1) * 2 > s->size && grow(s))
		return -ENOMEM;
	d = calloc(1, SHADOW_PAGE);
	if (!d)
		return -ENOMEM;
	/* the device's bytes under the part of the page not written now */
	ret = bt_dev_read(dev, d, len, start, what, err);
	if (ret) {
		free(d);
		return ret;
	}
	i = slot_of(s, p);
	s->pages[i] = p;
	s->data[i] = d;
	s->nr++;
	*out = d;
	return 0;
}

int bt_dev_shadow_write(struct bt_dev *dev, const void *buf, size_t len, uint64_t off,
			const char *what, struct printbuf *err)
{
	for (uint64_t p = off / SHADOW_PAGE; len && p <= (off + len - 1) / SHADOW_PAGE; p++) {
		uint64_t from = p * SHADOW_PAGE > off ? p * SHADOW_PAGE : off;
		uint64_t to = (p + 1) * SHADOW_PAGE < off + len ? (p + 1) * SHADOW_PAGE : off + len;
		uint8_t *d;
		int ret = page_for_write(dev, p, &d, what, err);

		if (ret == -ENOMEM)
			prt_printf(err, "out of memory keeping the dry run's write of %s at byte %llu "
				   "of '%s'", what, (unsigned long long)off, dev->path);
		if (ret)
			return ret;
		memcpy(d + (from - p * SHADOW_PAGE), (const uint8_t *)buf + (from - off), to - from);
	}
	dev->nr_shadow_writes++;
	return 0;
}
