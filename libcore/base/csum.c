/* csum.c --- bcache's crc64 through ISA-L's crc64_ecma_norm().
 *
 * crc64_ecma_norm(seed, ...) starts the register at ~seed and inverts the
 * result, so seed 0 gives bch_crc64() and seed ~ptr gives the seeded form.
 */
#include <isa-l/crc64.h>

#include "libcore/base/csum.h"

uint64_t bch_crc64(const void *buf, size_t len)
{
	return crc64_ecma_norm(0, (const unsigned char *)buf, (uint64_t)len);
}

uint64_t bch_crc64_seeded(uint64_t seed, const void *buf, size_t len)
{
	return crc64_ecma_norm(~seed, (const unsigned char *)buf, (uint64_t)len);
}
