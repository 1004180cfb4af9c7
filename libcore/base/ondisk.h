/* ondisk.h --- the bcache on-disk format: structures, bit fields, constants.
 *
 * Overview (see ../shared/FORMAT.md for the field-by-field reference):
 *
 * A cache device is divided into buckets of sb.bucket_size sectors. Buckets
 * below sb.first_bucket hold the superblock (4 KiB at byte 4096). Every bucket
 * has an 8-bit generation (gen) and a 16-bit priority (prio), stored in a
 * chain of prio buckets ("prio_set"). A pointer into a bucket carries the gen
 * it was made with; incrementing a bucket's gen makes every older pointer into
 * it stale, which is how the cache reuses space.
 *
 * The index is a btree of bkeys. Leaves hold extents: (inode = uuid slot,
 * offset = END sector, size) -> a pointer to cache sectors. Interior nodes
 * hold pointers to child nodes, keyed by the child's maximum key. A node is
 * a log of bsets (sorted key arrays) written one after another at block
 * boundaries, all carrying the node's random seq.
 *
 * The journal (buckets sb.d[0..keys-1]) holds jsets: leaf inserts not yet
 * in the btree, plus the current root pointer, root level, uuid bucket
 * pointer and first prio bucket. The newest jset is the cache set's root of
 * trust. The uuid bucket is a raw array of uuid_entry slots; a leaf key's
 * inode is the index of its slot.
 *
 * Everything here is little-endian on disk. The superblock declares this
 * explicitly; the rest is written from native structs by a kernel that only
 * exists on little-endian hosts in practice. All fields are therefore stored
 * as raw little-endian words and read through the accessors below.
 */
#ifndef BCACHE_TOOL_ONDISK_H
#define BCACHE_TOOL_ONDISK_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- units ---------------------------------------------------------- */

#define SECTOR_SHIFT		9
#define SECTOR_SIZE		512u		/* bytes */
#define BT_PAGE_SIZE		4096u		/* bytes; the kernel's PAGE_SIZE on x86 */
#define BT_PAGE_SECTORS		(BT_PAGE_SIZE >> SECTOR_SHIFT)

/* ---- superblock ----------------------------------------------------- */

#define SB_SECTOR		8		/* sector of the superblock */
#define SB_OFFSET_BYTES		(SB_SECTOR * SECTOR_SIZE)
#define SB_SIZE			4096u		/* bytes of the on-disk block */
#define SB_JOURNAL_BUCKETS	256		/* entries of d[] */
#define BDEV_DATA_START_DEFAULT	16		/* sectors */
#define MAX_CACHES_PER_SET	8

enum bcache_sb_version {
	BCACHE_SB_VERSION_CDEV			= 0,
	BCACHE_SB_VERSION_BDEV			= 1,
	BCACHE_SB_VERSION_CDEV_WITH_UUID	= 3,
	BCACHE_SB_VERSION_BDEV_WITH_OFFSET	= 4,
	BCACHE_SB_VERSION_CDEV_WITH_FEATURES	= 5,
	BCACHE_SB_VERSION_BDEV_WITH_FEATURES	= 6,
	BCACHE_SB_MAX_VERSION			= 6,
};

/* Feature bits (version >= 5 only). */
#define BCH_FEATURE_INCOMPAT_OBSO_LARGE_BUCKET	0x0001ULL
#define BCH_FEATURE_INCOMPAT_LOG_LARGE_BUCKET	0x0002ULL
#define BCH_FEATURE_COMPAT_SUPP			0ULL
#define BCH_FEATURE_RO_COMPAT_SUPP		0ULL
#define BCH_FEATURE_INCOMPAT_SUPP		0x0003ULL

extern const uint8_t bcache_sb_magic[16];
/* The uuid written into a uuid slot when its device is detached. */
extern const uint8_t bcache_invalid_uuid[16];

/* struct cache_sb_disk: the superblock as stored at byte 4096. */
struct cache_sb_disk {
	uint64_t	csum;			/*   0: see bt_sb_csum() */
	uint64_t	offset;			/*   8: sector of this sb, must be 8 */
	uint64_t	version;		/*  16: enum bcache_sb_version */
	uint8_t		magic[16];		/*  24 */
	uint8_t		uuid[16];		/*  40: this device */
	uint8_t		set_uuid[16];		/*  56: cache set; first 8 bytes = set_magic */
	uint8_t		label[32];		/*  72: NUL padded */
	uint64_t	flags;			/* 104: CACHE_* or BDEV_* bit fields */
	uint64_t	seq;			/* 112: superblock write count */
	uint64_t	feature_compat;		/* 120 */
	uint64_t	feature_incompat;	/* 128 */
	uint64_t	feature_ro_compat;	/* 136 */
	uint64_t	pad[5];			/* 144 */
	uint64_t	nbuckets;		/* 184: cache: buckets; backing: data_offset (sectors) */
	uint16_t	block_size;		/* 192: sectors */
	uint16_t	bucket_size;		/* 194: sectors (or log2 with LOG_LARGE_BUCKET) */
	uint16_t	nr_in_set;		/* 196 */
	uint16_t	nr_this_dev;		/* 198 */
	uint32_t	last_mount;		/* 200: seconds since the epoch */
	uint16_t	first_bucket;		/* 204: buckets */
	uint16_t	keys;			/* 206: journal buckets used in d[] */
	uint64_t	d[SB_JOURNAL_BUCKETS];	/* 208: journal bucket numbers */
	uint16_t	obso_bucket_size_hi;	/* 2256: OBSO_LARGE_BUCKET high bits */
	uint8_t		pad_end[6];
} __attribute__((packed));

_Static_assert(sizeof(struct cache_sb_disk) == 2264, "cache_sb_disk size");
_Static_assert(offsetof(struct cache_sb_disk, magic) == 24, "sb magic");
_Static_assert(offsetof(struct cache_sb_disk, label) == 72, "sb label");
_Static_assert(offsetof(struct cache_sb_disk, flags) == 104, "sb flags");
_Static_assert(offsetof(struct cache_sb_disk, nbuckets) == 184, "sb nbuckets");
_Static_assert(offsetof(struct cache_sb_disk, block_size) == 192, "sb block_size");
_Static_assert(offsetof(struct cache_sb_disk, last_mount) == 200, "sb last_mount");
_Static_assert(offsetof(struct cache_sb_disk, first_bucket) == 204, "sb first_bucket");
_Static_assert(offsetof(struct cache_sb_disk, keys) == 206, "sb keys");
_Static_assert(offsetof(struct cache_sb_disk, d) == 208, "sb d");
_Static_assert(offsetof(struct cache_sb_disk, obso_bucket_size_hi) == 2256, "sb obso");

/* Bytes covered by the superblock csum: [8, 208 + 8*keys). */
#define SB_CSUM_START		8u
#define SB_CSUM_BYTES(keys)	(200u + 8u * (unsigned)(keys))

/* Whether v is a power of two (0 is not): block and bucket sizes must be. */
static inline bool bt_is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* Generic bit-field helpers on host-order 64-bit words. */
static inline uint64_t bt_bits_get(uint64_t w, unsigned lsb, unsigned width)
{
	return (w >> lsb) & (width == 64 ? ~0ULL : ((1ULL << width) - 1));
}

static inline uint64_t bt_bits_set(uint64_t w, unsigned lsb, unsigned width,
				   uint64_t v)
{
	uint64_t mask = (width == 64 ? ~0ULL : ((1ULL << width) - 1)) << lsb;

	return (w & ~mask) | ((v << lsb) & mask);
}

/* Superblock flags (host order value of sb.flags). */
#define CACHE_SYNC(f)		bt_bits_get(f, 0, 1)
#define CACHE_DISCARD(f)	bt_bits_get(f, 1, 1)
#define CACHE_REPLACEMENT(f)	bt_bits_get(f, 2, 3)
#define SET_CACHE_SYNC(f, v)		bt_bits_set(f, 0, 1, v)
#define SET_CACHE_DISCARD(f, v)		bt_bits_set(f, 1, 1, v)
#define SET_CACHE_REPLACEMENT(f, v)	bt_bits_set(f, 2, 3, v)
#define CACHE_REPLACEMENT_LRU		0
#define CACHE_REPLACEMENT_FIFO		1
#define CACHE_REPLACEMENT_RANDOM	2

#define BDEV_CACHE_MODE(f)	bt_bits_get(f, 0, 4)
#define BDEV_STATE(f)		bt_bits_get(f, 61, 2)
#define SET_BDEV_CACHE_MODE(f, v)	bt_bits_set(f, 0, 4, v)
#define SET_BDEV_STATE(f, v)		bt_bits_set(f, 61, 2, v)
#define CACHE_MODE_WRITETHROUGH	0
#define CACHE_MODE_WRITEBACK	1
#define CACHE_MODE_WRITEAROUND	2
#define CACHE_MODE_NONE		3
#define BDEV_STATE_NONE		0
#define BDEV_STATE_CLEAN	1
#define BDEV_STATE_DIRTY	2
#define BDEV_STATE_STALE	3

/* ---- derived magics -------------------------------------------------- */

#define JSET_MAGIC_XOR		0x245235c1a3625032ULL
#define PSET_MAGIC_XOR		0x6750e15f87337f91ULL
#define BSET_MAGIC_XOR		0x90135c78b99e07f5ULL

/* ---- bkey ------------------------------------------------------------ */

/*
 * A bkey as stored: high word, low word (KEY_OFFSET = END sector of the
 * extent, exclusive), then KEY_PTRS pointer words. All words are
 * little-endian; use the accessors.
 */
struct bkey {
	uint64_t	high;
	uint64_t	low;
	uint64_t	ptr[];
};

#define KEY_MAX_U64S		8	/* 2 + up to 6 pointers */
#define BKEY_PAD		8	/* u64s of a padded key slot in a jset */
#define PTR_CHECK_DEV		4095u	/* dev of transient "check" keys */
#define MAX_KEY_INODE		0xFFFFFULL
#define MAX_KEY_OFFSET		0x7FFFFFFFFFFFFFFFULL

/* A bkey with room for the largest key, for building keys on the stack. */
struct bkey_padded {
	uint64_t	w[KEY_MAX_U64S];
};

static inline uint64_t bk_high(const struct bkey *k) { return le64toh(k->high); }
static inline uint64_t bk_low(const struct bkey *k) { return le64toh(k->low); }

#define BKEY_FIELD(name, lsb, width)					\
static inline uint64_t name(const struct bkey *k)			\
{ return bt_bits_get(bk_high(k), lsb, width); }				\
static inline void SET_##name(struct bkey *k, uint64_t v)		\
{ k->high = htole64(bt_bits_set(bk_high(k), lsb, width, v)); }

BKEY_FIELD(KEY_INODE, 0, 20)	/* uuid slot */
BKEY_FIELD(KEY_SIZE, 20, 16)	/* sectors */
BKEY_FIELD(KEY_DIRTY, 36, 1)
BKEY_FIELD(KEY_PINNED, 55, 1)	/* unused since v3.10 */
BKEY_FIELD(KEY_CSUM, 56, 2)	/* vestigial */
BKEY_FIELD(KEY_HDRBITS, 58, 2)	/* unused */
BKEY_FIELD(KEY_PTRS, 60, 3)	/* number of pointer words */
#undef BKEY_FIELD

/* KEY_OFFSET: END sector (exclusive) of the extent, or a node's max key. */
static inline uint64_t KEY_OFFSET(const struct bkey *k) { return bk_low(k); }
static inline void SET_KEY_OFFSET(struct bkey *k, uint64_t v) { k->low = htole64(v); }
static inline uint64_t KEY_START(const struct bkey *k)
{
	return KEY_OFFSET(k) - KEY_SIZE(k);
}

/* Pointer word fields. */
static inline uint64_t bk_ptr(const struct bkey *k, unsigned i)
{
	return le64toh(k->ptr[i]);
}
static inline uint64_t PTR_GEN(const struct bkey *k, unsigned i)
{
	return bt_bits_get(bk_ptr(k, i), 0, 8);
}
static inline uint64_t PTR_OFFSET(const struct bkey *k, unsigned i)
{
	return bt_bits_get(bk_ptr(k, i), 8, 43);		/* sectors */
}
static inline uint64_t PTR_DEV(const struct bkey *k, unsigned i)
{
	return bt_bits_get(bk_ptr(k, i), 51, 12);
}
static inline uint64_t MAKE_PTR(uint64_t gen, uint64_t offset, uint64_t dev)
{
	return (dev << 51) | ((offset & ((1ULL << 43) - 1)) << 8) | (gen & 0xff);
}
static inline void SET_PTR(struct bkey *k, unsigned i, uint64_t gen,
			   uint64_t offset, uint64_t dev)
{
	k->ptr[i] = htole64(MAKE_PTR(gen, offset, dev));
}

/* Key length in u64 words, pointers included. */
static inline unsigned bkey_u64s(const struct bkey *k)
{
	return 2 + (unsigned)KEY_PTRS(k);
}
static inline size_t bkey_bytes(const struct bkey *k)
{
	return (size_t)bkey_u64s(k) * 8;
}
static inline struct bkey *bkey_next(const struct bkey *k)
{
	return (struct bkey *)((uint64_t *)k + bkey_u64s(k));
}

/* Build KEY(inode, offset, size) with no pointers; sets bit 63 as the kernel does. */
static inline void bkey_init_pos(struct bkey *k, uint64_t inode, uint64_t offset,
				 uint64_t size)
{
	k->high = htole64((1ULL << 63) | ((size & 0xffff) << 20) | (inode & 0xfffff));
	k->low = htole64(offset);
}

/* ---- bset ------------------------------------------------------------ */

#define BCACHE_BSET_CSUM	1	/* bset version with the pointer-seeded csum */
#define BCACHE_BSET_VERSION	1

struct bset {
	uint64_t	csum;
	uint64_t	magic;
	uint64_t	seq;		/* node seq, same in every bset of a node */
	uint32_t	version;
	uint32_t	keys;		/* u64s of keys that follow */
	uint64_t	d[];		/* packed bkeys */
};

_Static_assert(sizeof(struct bset) == 32, "bset header size");
#define BSET_HEADER_BYTES	32u

/* ---- jset ------------------------------------------------------------ */

#define BCACHE_JSET_VERSION_UUIDv1	1
#define BCACHE_JSET_VERSION		1
#define JSET_MAX_BYTES			(BT_PAGE_SIZE << 3)	/* 32 KiB */

struct jset {
	uint64_t	csum;
	uint64_t	magic;
	uint64_t	seq;
	uint32_t	version;
	uint32_t	keys;			/* u64s of keys that follow */
	uint64_t	last_seq;
	uint64_t	uuid_bucket[BKEY_PAD];	/* padded bkey slot */
	uint64_t	btree_root[BKEY_PAD];	/* padded bkey slot */
	uint16_t	btree_level;
	uint16_t	pad[3];
	uint64_t	prio_bucket[MAX_CACHES_PER_SET];	/* buckets */
	uint64_t	d[];			/* leaf keys in insertion order */
};

_Static_assert(sizeof(struct jset) == 240, "jset header size");
_Static_assert(offsetof(struct jset, last_seq) == 32, "jset last_seq");
_Static_assert(offsetof(struct jset, uuid_bucket) == 40, "jset uuid_bucket");
_Static_assert(offsetof(struct jset, btree_root) == 104, "jset btree_root");
_Static_assert(offsetof(struct jset, btree_level) == 168, "jset btree_level");
_Static_assert(offsetof(struct jset, prio_bucket) == 176, "jset prio_bucket");
#define JSET_HEADER_BYTES	240u

/* ---- prio_set -------------------------------------------------------- */

struct bucket_disk {
	uint16_t	prio;		/* little-endian */
	uint8_t		gen;
} __attribute__((packed));

struct prio_set {
	uint64_t	csum;		/* over the whole meta bucket after csum */
	uint64_t	magic;
	uint64_t	seq;
	uint32_t	version;
	uint32_t	pad;
	uint64_t	next_bucket;	/* bucket number */
	struct bucket_disk data[];
};

_Static_assert(sizeof(struct bucket_disk) == 3, "bucket_disk size");
_Static_assert(sizeof(struct prio_set) == 40, "prio_set header size");
#define PRIO_SET_HEADER_BYTES	40u

#define BTREE_PRIO		65535u
#define INITIAL_PRIO		32768u
#define BUCKET_GC_GEN_MAX	96u

/* ---- uuid bucket ----------------------------------------------------- */

#define UUID_FLASH_ONLY		1u

struct uuid_entry {
	uint8_t		uuid[16];
	uint8_t		label[32];
	uint32_t	first_reg;	/* seconds */
	uint32_t	last_reg;	/* seconds */
	uint32_t	invalidated;	/* seconds */
	uint32_t	flags;		/* bit 0: UUID_FLASH_ONLY */
	uint64_t	sectors;	/* flash-only volume size */
	uint8_t		pad[56];
};

struct uuid_entry_v0 {
	uint8_t		uuid[16];
	uint8_t		label[32];
	uint32_t	first_reg;
	uint32_t	last_reg;
	uint32_t	invalidated;
	uint32_t	pad;
} __attribute__((packed));

_Static_assert(sizeof(struct uuid_entry) == 128, "uuid_entry size");
_Static_assert(offsetof(struct uuid_entry, flags) == 60, "uuid_entry flags");
_Static_assert(offsetof(struct uuid_entry, sectors) == 64, "uuid_entry sectors");
_Static_assert(sizeof(struct uuid_entry_v0) == 64, "uuid_entry_v0 size");

/* ---- gens ------------------------------------------------------------ */

/*
 * gen_after(a, b): how far gen a is ahead of gen b, modulo 256; 0 when a is
 * behind b by less than 128 (mirrors bcache.h gen_after()).
 */
static inline uint8_t gen_after(uint8_t a, uint8_t b)
{
	uint8_t r = (uint8_t)(a - b);

	return r > 128 ? 0 : r;
}

#endif /* BCACHE_TOOL_ONDISK_H */
