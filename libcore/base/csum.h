/* csum.h --- bcache's crc64 (ECMA-182, MSB first), computed with ISA-L. */
#ifndef BCACHE_TOOL_CSUM_H
#define BCACHE_TOOL_CSUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * bch_crc64(): the checksum of superblocks, jsets, prio sets and version-0
 * bsets: crc64_be(~0, buf, len) ^ ~0 (CRC-64/WE). Mirrors util.h bch_crc64().
 * len in bytes; buf may be NULL when len is 0.
 */
uint64_t bch_crc64(const void *buf, size_t len);

/*
 * bch_crc64_seeded(): the checksum of version-1 bsets:
 * crc64_be(seed, buf, len) ^ ~0, where seed is the raw first pointer word of
 * the key referencing the node (btree.c btree_csum_set()).
 */
uint64_t bch_crc64_seeded(uint64_t seed, const void *buf, size_t len);

#endif /* BCACHE_TOOL_CSUM_H */
