/* test_csum.c --- crc64 against FORMAT.md's test vectors. */
#include <criterion/criterion.h>
#include <string.h>

#include "libcore/base/csum.h"
#include "libcore/base/ondisk.h"

Test(csum, catalogue_vectors)
{
	static const unsigned char zero[4096];

	cr_assert_eq(bch_crc64("123456789", 9), 0x62ec59e3f1a4f00aULL);
	cr_assert_eq(bch_crc64(zero, 4096), 0xa50f57a429cbcb64ULL);
	cr_assert_eq(bch_crc64(zero, 200), 0x9c0a134888dd67faULL);
	cr_assert_eq(bch_crc64(NULL, 0), 0);
	/* crc64_be(~0) without the final xor, and plain ECMA-182 with seed 0 */
	cr_assert_eq(bch_crc64("123456789", 9) ^ ~0ULL, 0x9d13a61c0e5b0ff5ULL);
	cr_assert_eq(bch_crc64_seeded(0, "123456789", 9) ^ ~0ULL, 0x6c40df5f0b497347ULL);
}

static const uint64_t set_magic = 0xefcdab8967452301ULL;

Test(csum, empty_bset_v1_seeded)
{
	uint64_t buf[4] = { 0 };
	struct bset *i = (struct bset *)buf;

	i->magic = htole64(set_magic ^ BSET_MAGIC_XOR);
	i->seq = htole64(0x1122334455667788ULL);
	i->version = htole32(1);
	i->keys = 0;
	cr_assert_eq(le64toh(i->magic), 0x7fdef7f1dedb24f4ULL);
	cr_assert_eq(bch_crc64_seeded(0x0000000000280001ULL, (char *)i + 8, 24),
		     0xc470d8f5222b55acULL);
}

Test(csum, bset_with_key_both_versions)
{
	uint64_t buf[7] = { 0 };
	struct bset *i = (struct bset *)buf;
	struct bkey *k = (struct bkey *)i->d;

	i->magic = htole64(set_magic ^ BSET_MAGIC_XOR);
	i->seq = htole64(0x1122334455667788ULL);
	i->version = htole32(1);
	i->keys = htole32(3);
	k->high = htole64(0x9000001000800001ULL);
	k->low = htole64(16);
	k->ptr[0] = htole64(0x0000000000500001ULL);
	cr_assert_eq(KEY_PTRS(k), 1);
	cr_assert_eq(KEY_DIRTY(k), 1);
	cr_assert_eq(KEY_SIZE(k), 8);
	cr_assert_eq(KEY_INODE(k), 1);
	cr_assert_eq(PTR_OFFSET(k, 0), 0x5000);
	cr_assert_eq(PTR_GEN(k, 0), 1);
	cr_assert_eq(bch_crc64_seeded(0x0000000000280001ULL, (char *)i + 8, 24 + 24),
		     0xdcb48a21bfc20c6dULL);
	cr_assert_eq(bch_crc64((char *)i + 8, 48), 0x6649348c7ea39f54ULL);
	i->version = 0;
	cr_assert_eq(bch_crc64((char *)i + 8, 48), 0x92c201764c8a1443ULL);
}

Test(csum, empty_jset)
{
	uint64_t buf[JSET_HEADER_BYTES / 8] = { 0 };
	struct jset *j = (struct jset *)buf;

	j->magic = htole64(set_magic ^ JSET_MAGIC_XOR);
	cr_assert_eq(le64toh(j->magic), 0xcb9f9e48c4277333ULL);
	cr_assert_eq(set_magic ^ PSET_MAGIC_XOR, 0x889d4ad6e0765c90ULL);
	j->seq = htole64(1);
	j->version = htole32(1);
	j->last_seq = htole64(1);
	j->uuid_bucket[0] = htole64(0x9000000040000000ULL);
	j->uuid_bucket[2] = htole64(0x240001);
	j->btree_root[0] = htole64(0x90000000200fffffULL);
	j->btree_root[1] = htole64(0x7fffffffffffffffULL);
	j->btree_root[2] = htole64(0x280001);
	j->prio_bucket[0] = htole64(9);
	cr_assert_eq(bch_crc64((char *)j + 8, JSET_HEADER_BYTES - 8), 0xf94d0d8847677b39ULL);
}
