/* plan.c --- gen-cache: the slots, the extents and the buckets they need. */
#include <stdio.h>
#include <stdlib.h>

#include "libcore/ondisk/bset.h"
#include "libcore/ondisk/cache_set.h"

#include "gen.h"

int gen_plan_extents(struct gen *g)
{
	struct opts *o = &g->o;
	uint64_t s = o->seed, per, left = o->extents;

	g->nr_slots = o->bdevs + o->flash;
	if (!g->nr_slots || g->nr_slots > MAX_SLOTS) {
		fprintf(stderr, "gen-cache: 1 to %u devices (--bdevs + --flash)\n", MAX_SLOTS);
		return -1;
	}
	g->ext = calloc(o->extents ? o->extents : 1, sizeof(*g->ext));
	if (!g->ext)
		return -1;
	per = o->extents / g->nr_slots;
	for (unsigned i = 0; i < g->nr_slots; i++) {
		struct slot *sl = &g->slot[i];
		uint64_t n = i + 1 == g->nr_slots ? left : per;
		uint64_t pos;

		sl->flash = i >= o->bdevs;
		sl->data_offset = sl->flash ? 0 : BDEV_DATA_START_DEFAULT;
		sl->first = g->nr_ext;
		sl->nr = n;
		left -= n;
		pos = sl->data_offset;
		for (uint64_t k = 0; k < n; k++) {
			struct ext *e = &g->ext[g->nr_ext++];

			pos += gen_rnd(&s, o->max_gap + 1) * o->block;
			e->start = pos;
			e->sectors = (uint32_t)((1 + gen_rnd(&s, o->max_blocks)) * o->block);
			e->slot = (uint16_t)i;
			e->dirty = sl->flash || (double)(gen_splitmix(&s) >> 11) / (1ULL << 53) < o->dirty;
			pos += e->sectors;
		}
		/* a tail after the last extent, then whole MiB */
		pos += (1 + gen_rnd(&s, 16)) * o->block;
		sl->sectors = ((pos - sl->data_offset) + 2047) / 2048 * 2048;
	}
	/*
	 * Stale and journaled extents: distinct random picks. A stale pointer
	 * is normally clean data of a backing device whose bucket was reclaimed
	 * (a consistent cache); with --stale-dirty (or without backing devices)
	 * any extent, dirty ones included: dirty data lost, as fsck reports.
	 */
	{
		uint64_t cand = 0, k = 0;
		bool any = o->stale_dirty || !o->bdevs;

		for (uint64_t i = 0; i < g->nr_ext; i++)
			cand += any || !g->slot[g->ext[i].slot].flash;
		for (; k < o->stale && k < cand; ) {
			struct ext *e = &g->ext[gen_rnd(&s, g->nr_ext)];

			if (e->stale || (!any && g->slot[e->slot].flash))
				continue;
			e->stale = 1;
			if (!any)
				e->dirty = 0;
			k++;
		}
	}
	for (unsigned k = 0; k < o->journal_keys && k < g->nr_ext; ) {
		struct ext *e = &g->ext[gen_rnd(&s, g->nr_ext)];

		if (!e->stale && !e->journal) {
			e->journal = 1;
			k++;
		}
	}
	return 0;
}

/* Keys of 3 u64s (one pointer) that fit one bset in a node of node_sectors. */
unsigned gen_node_capacity(unsigned node_sectors)
{
	return (unsigned)(((uint64_t)node_sectors * 512 - BSET_HEADER_BYTES) / 24);
}

/* The data stream of extent i: live (one, or two alternating with scatter) or stale. */
unsigned gen_stream_of(const struct gen *g, uint64_t i)
{
	return g->ext[i].stale ? 2 : g->o.scatter ? (unsigned)(i & 1) : 0;
}

/* Buckets the set needs: data (three streams), nodes, metadata, journal; >= 1024. */
uint64_t gen_plan_buckets(struct gen *g, unsigned kpl, unsigned fan)
{
	uint64_t data[3] = { 0, 0, 0 }, room[3] = { 0, 0, 0 }, nodes, n, nb;

	for (uint64_t i = 0; i < g->nr_ext; i++) {
		const struct ext *e = &g->ext[i];
		unsigned k = gen_stream_of(g, i);

		if (room[k] < e->sectors) {
			data[k]++;
			room[k] = g->o.bucket;
		}
		room[k] -= e->sectors;
	}
	n = (g->nr_ext + kpl - 1) / kpl;
	nodes = n ? n : 1;
	while (n > 1) {
		n = (n + fan - 1) / fan;
		nodes += n;
	}
	data[0] += data[2];
	nb = 23 / g->o.bucket + 1 + data[0] + data[1] + nodes + 16;
	for (int i = 0; i < 3; i++) {
		uint64_t prio = (nb * 3 + (uint64_t)g->o.bucket * 512 - 40 - 1) /
				((uint64_t)g->o.bucket * 512 - 40);
		uint64_t j = nb >> 7 < 2 ? 2 : nb >> 7 > 256 ? 256 : nb >> 7;
		uint64_t need = 23 / g->o.bucket + 1 + data[0] + data[1] + nodes + 2 * prio +
				2 + 1 + j + 16;

		nb = need + need / 50;
	}
	return nb < 1024 ? 1024 : nb;
}
