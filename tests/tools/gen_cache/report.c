/* report.c --- gen-cache: the expected sha256 of every slot and the list of extents. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "gen.h"

/* sha256 of slot sl's logical content, streamed through sha256sum(1). */
static int slot_sha256(struct gen *g, unsigned slot, char hex[65])
{
	const size_t chunk_sectors = 2048;
	struct slot *sl = &g->slot[slot];
	uint8_t *buf = malloc(chunk_sectors * 512);
	char tmpl[] = "/tmp/gen-cache-sum.XXXXXX", cmd[64];
	int fd = mkstemp(tmpl), ret = -1;
	uint64_t next = sl->first, end = sl->first + sl->nr;
	FILE *p = NULL, *r;

	if (!buf || fd < 0)
		goto out;
	snprintf(cmd, sizeof(cmd), "sha256sum > %s", tmpl);
	p = popen(cmd, "w");
	if (!p)
		goto out;
	for (uint64_t s = 0; s < sl->sectors; s += chunk_sectors) {
		uint64_t n = sl->sectors - s < chunk_sectors ? sl->sectors - s : chunk_sectors;
		uint64_t abs = s + sl->data_offset;

		for (uint64_t i = 0; i < n; i++) {
			uint8_t *d = buf + i * 512;

			if (sl->flash)
				memset(d, 0, 512);
			else
				gen_fill_sector((uint64_t *)d, KIND_BACKING, slot, abs + i, g->o.seed);
		}
		/* live extents laid over it; extents are sorted and do not overlap */
		while (next < end && g->ext[next].start + g->ext[next].sectors <= abs)
			next++;
		for (uint64_t k = next; k < end && g->ext[k].start < abs + n; k++) {
			const struct ext *e = &g->ext[k];

			if (e->stale)
				continue;
			for (uint64_t x = e->start; x < e->start + e->sectors; x++)
				if (x >= abs && x < abs + n)
					gen_extent_sector(g, e, x, buf + (x - abs) * 512);
		}
		if (fwrite(buf, 512, n, p) != n)
			goto out;
	}
	if (pclose(p))
		goto out_nopclose;
	p = NULL;
	r = fdopen(fd, "r");
	if (!r)
		goto out;
	fd = -1;
	if (fscanf(r, "%64s", hex) == 1 && strlen(hex) == 64)
		ret = 0;
	fclose(r);
out:
	if (p)
		pclose(p);
out_nopclose:
	if (fd >= 0)
		close(fd);
	unlink(tmpl);
	free(buf);
	return ret;
}

int gen_write_keys(struct gen *g)
{
	FILE *f = fopen(g->o.keys, "w");

	if (!f)
		return -1;
	for (uint64_t i = 0; i < g->nr_ext; i++) {
		const struct ext *e = &g->ext[i];

		fprintf(f, "%u %" PRIu64 " %u %" PRIu64 " %u %s%s%s\n", e->slot, e->start,
			e->sectors, e->cache_sector, e->gen, e->dirty ? "dirty" : "clean",
			e->stale ? " stale" : "", e->journal ? " journal" : "");
	}
	return fclose(f) ? -1 : 0;
}

int gen_report(struct gen *g)
{
	FILE *f = g->o.sums ? fopen(g->o.sums, "w") : stdout;
	uint64_t live = 0, dirty = 0, stale = 0, journal = 0;
	char uuid[37];

	if (!f)
		return -1;
	for (uint64_t i = 0; i < g->nr_ext; i++) {
		const struct ext *e = &g->ext[i];

		stale += e->stale;
		journal += e->journal;
		if (!e->stale) {
			live++;
			dirty += e->dirty;
			g->slot[e->slot].live_dirty += e->dirty;
		}
	}
	uuid_unparse(g->set_uuid, uuid);
	fprintf(f, "cache %s set %s nbuckets %" PRIu64 " bucket %u block %u extents %" PRIu64
		" live %" PRIu64 " dirty %" PRIu64 " stale %" PRIu64 " journal %" PRIu64
		" nodes %u leaves %u tree_depth %u\n", g->cache_path, uuid, g->nbuckets, g->o.bucket,
		g->o.block, g->nr_ext, live, dirty, stale, journal, g->nodes, g->leaves, g->tree_depth);
	for (unsigned i = 0; i < g->nr_slots; i++) {
		const struct slot *sl = &g->slot[i];
		char hex[65];

		if (slot_sha256(g, i, hex)) {
			fprintf(stderr, "gen-cache: sha256 of slot %u failed\n", i);
			return -1;
		}
		uuid_unparse(sl->uuid, uuid);
		if (sl->flash)
			fprintf(f, "slot %u flash uuid %s sectors %" PRIu64 " sha256 %s\n", i, uuid,
				sl->sectors, hex);
		else
			fprintf(f, "slot %u backing %s uuid %s data_offset %" PRIu64 " sectors %"
				PRIu64 " dirty_extents %" PRIu64 " sha256 %s\n", i, sl->path, uuid,
				sl->data_offset, sl->sectors, sl->live_dirty, hex);
	}
	return (f != stdout && fclose(f)) ? -1 : 0;
}
