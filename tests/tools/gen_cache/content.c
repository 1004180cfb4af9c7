/* content.c --- gen-cache: pseudo-random numbers and the bytes of every sector. */
#include <endian.h>

#include "gen.h"

uint64_t gen_splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t gen_rnd(uint64_t *s, uint64_t n)
{
	return n ? gen_splitmix(s) % n : 0;
}

/* The 512 bytes of sector `sector` of `kind` for slot `slot`. */
void gen_fill_sector(uint64_t *w, unsigned kind, unsigned slot, uint64_t sector, uint64_t seed)
{
	uint64_t s = seed ^ ((uint64_t)kind << 56) ^ ((uint64_t)slot << 40) ^ sector;

	w[0] = htole64(0x454843414347454eULL);	/* "NEGCACHE" */
	w[1] = htole64(((uint64_t)kind << 32) | slot);
	w[2] = htole64(sector);
	w[3] = htole64(seed);
	for (unsigned i = 4; i < 64; i++)
		w[i] = htole64(gen_splitmix(&s));
}

/* The data an extent holds on the cache at sector `sector` (its device's sector). */
void gen_extent_sector(const struct gen *g, const struct ext *e, uint64_t sector, void *buf)
{
	const struct slot *sl = &g->slot[e->slot];
	unsigned kind = sl->flash ? KIND_FLASH : e->dirty ? KIND_DIRTY : KIND_BACKING;

	gen_fill_sector(buf, kind, e->slot, sector, g->o.seed);
}
