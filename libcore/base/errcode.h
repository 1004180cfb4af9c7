/* errcode.h --- bcache-tool's error codes: negative errno or -BT_ERR_*.
 *
 * libcore functions return 0 (or a count) on success and a negative code on
 * failure: either a plain -errno (I/O, memory) or -BT_ERR_*, a finer code
 * that belongs to an errno class (bt_err_class()). Validators also write a
 * human message naming the device, structure and byte offset into a
 * struct printbuf supplied by the caller.
 */
#ifndef BCACHE_TOOL_ERRCODE_H
#define BCACHE_TOOL_ERRCODE_H

#include <errno.h>

/*
 * x(class, name): each code and the errno class it belongs to. The SB_
 * codes up to SB_BAD_FIRST_BUCKET are bt_sb_validate()'s, one per rule
 * (sb.h), except SB_BAD_BUCKET_SIZE: a bucket size the geometry cannot
 * use (bt_cache_set_geometry()).
 */
#define BT_ERRCODES()							\
	x(EIO,		SHORT_READ)					\
	x(EBUSY,	DEV_MOUNTED)					\
	x(EBUSY,	DEV_REGISTERED)					\
	x(EBUSY,	DEV_IN_USE)					\
	x(EBUSY,	DEV_EXCL)					\
	x(EBUSY,	DEV_LOCKED)					\
	x(EINVAL,	SAME_DEVICE)					\
	x(EEXIST,	OUTPUT_EXISTS)					\
	x(EINVAL,	FOREIGN)					\
	x(EINVAL,	NO_SUPERBLOCK)					\
	x(EINVAL,	DEV_TOO_SMALL)					\
	x(EINVAL,	NOT_A_DEVICE)					\
	x(EROFS,	DEV_READONLY)					\
	x(EINVAL,	SB_BAD_OFFSET)					\
	x(EINVAL,	SB_BAD_MAGIC)					\
	x(EUCLEAN,	SB_BAD_CSUM)					\
	x(EINVAL,	SB_BAD_UUID)					\
	x(EINVAL,	SB_BAD_VERSION)					\
	x(EINVAL,	SB_BLOCK_SMALLER_THAN_DEVICE)			\
	x(EINVAL,	SB_DATA_OFFSET_TOO_SMALL)			\
	x(EINVAL,	SB_DATA_OFFSET_PAST_END)			\
	x(EINVAL,	SB_UNSUPPORTED_COMPAT)				\
	x(EINVAL,	SB_UNSUPPORTED_RO_COMPAT)			\
	x(EINVAL,	SB_UNSUPPORTED_INCOMPAT)			\
	x(EINVAL,	SB_TOO_MANY_JOURNAL_BUCKETS)			\
	x(EINVAL,	SB_TOO_MANY_BUCKETS)				\
	x(EINVAL,	SB_NOT_ENOUGH_BUCKETS)				\
	x(EINVAL,	SB_BLOCK_SIZE_NOT_POW2)				\
	x(EINVAL,	SB_BLOCK_SIZE_TOO_BIG)				\
	x(EINVAL,	SB_BUCKET_SIZE_NOT_POW2)			\
	x(EINVAL,	SB_BUCKET_SIZE_TOO_SMALL)			\
	x(EINVAL,	SB_BAD_BUCKET_SIZE)				\
	x(EINVAL,	SB_DEVICE_TOO_SMALL)				\
	x(EINVAL,	SB_BAD_SET_UUID)				\
	x(EINVAL,	SB_BAD_DEV_NUMBER)				\
	x(EINVAL,	SB_JOURNAL_NOT_SEQUENTIAL)			\
	x(EINVAL,	SB_JOURNAL_PAST_END)				\
	x(EINVAL,	SB_BAD_FIRST_BUCKET)				\
	x(EINVAL,	SB_NOT_CACHE)					\
	x(EINVAL,	SB_NOT_BACKING)					\
	x(EEXIST,	SIGNATURE_PRESENT)				\
	x(EINVAL,	FORMAT_BAD_OPTION)				\
	x(EUCLEAN,	JSET_BAD)					\
	x(EUCLEAN,	JOURNAL_EMPTY)					\
	x(EUCLEAN,	JOURNAL_MISSING_ENTRIES)			\
	x(EUCLEAN,	PRIO_BAD_MAGIC)					\
	x(EUCLEAN,	PRIO_BAD_CSUM)					\
	x(EUCLEAN,	PRIO_BAD_CHAIN)					\
	x(EUCLEAN,	UUID_BAD_PTR)					\
	x(EUCLEAN,	BKEY_INVALID)					\
	x(EUCLEAN,	BTREE_NODE_BAD)					\
	x(EUCLEAN,	BTREE_BAD_ROOT)					\
	x(EUCLEAN,	BTREE_TOPOLOGY)					\
	x(EUCLEAN,	BSET_BAD_VERSION)				\
	x(EUCLEAN,	BSET_TOO_BIG)					\
	x(EUCLEAN,	BSET_BAD_MAGIC)					\
	x(EUCLEAN,	BSET_BAD_CSUM)					\
	x(EUCLEAN,	BSET_EMPTY)					\
	x(EUCLEAN,	BSET_KEY_OVERRUN)				\
	x(EUCLEAN,	BTREE_NODE_SEQ_ZERO)				\
	x(EUCLEAN,	BTREE_NODE_CORRUPTED)				\
	x(EUCLEAN,	BTREE_NODE_SHORT_KEY)				\
	x(EUCLEAN,	BTREE_PTR_BAD_DEV)				\
	x(EUCLEAN,	BTREE_PTR_BAD_BUCKET)				\
	x(EUCLEAN,	BTREE_PTR_NOT_BUCKET_START)			\
	x(EUCLEAN,	BTREE_PTR_BAD_SIZE)				\
	x(EUCLEAN,	BTREE_PTR_PAST_DEVICE)				\
	x(EUCLEAN,	BTREE_LOOP)					\
	x(EUCLEAN,	BTREE_TOO_DEEP)					\
	x(EUCLEAN,	NO_CACHE_SET)					\
	x(EIO,		DATA_UNREADABLE)				\
	x(ENOSPC,	NO_FREE_BUCKET)					\
	x(ECANCELED,	WRITE_LIMIT)					\
	x(ENOSPC,	JOURNAL_FULL)					\
	x(EUCLEAN,	UNDO_BAD)					\
	x(EINVAL,	UNDO_WRONG_DEV)					\
	x(EINVAL,	BDEV_STATE)					\
	x(EUCLEAN,	SCAN_NO_PRIOS)					\
	x(EUCLEAN,	SCAN_NO_ROOT)					\
	x(EINTR,	INTERRUPTED)

enum bt_errcode {
	BT_ERR_START = 2048,
#define x(class, name) BT_ERR_##name,
	BT_ERRCODES()
#undef x
	BT_ERR_MAX
};

/* The errno class of a (positive or negative) code; plain errnos map to themselves. */
int bt_err_class(int err);
/* True when err (negative) is class (positive errno) or belongs to it. */
static inline int bt_err_matches(int err, int class)
{
	return bt_err_class(err) == class;
}
/* A short static description: "SB_BAD_CSUM" style names for BT_ERR_*, strerror otherwise. */
const char *bt_err_str(int err);

#endif /* BCACHE_TOOL_ERRCODE_H */
