/* nofix.h --- why a problem has no repair.
 *
 * x(NAME, reason): every error-severity problem of problems.h that has no
 * PF_REPAIR is listed here with the reason no safe repair exists
 * (tests/test_fsck_problems.c checks that each error has exactly one of
 * the two). fsck prints the reason after the problem when it was asked to
 * repair (-y, -p, a terminal) and puts it in --json ("no_fix"); the man
 * page's table shows it.
 */
#ifndef BCACHE_TOOL_FSCK_NOFIX_H
#define BCACHE_TOOL_FSCK_NOFIX_H

#define BT_PROBLEM_NOFIX(x)						\
	x(SB_BAD_OFFSET, "the block is not a bcache superblock: nothing to repair it from") \
	x(SB_BAD_MAGIC, "the block is not a bcache superblock: nothing to repair it from") \
	x(SB_BAD_UUID, "the device uuid cannot be guessed; a new one would detach the device") \
	x(SB_BLOCK_SMALLER_THAN_DEVICE, "the device, not the superblock, is wrong: use the device the cache was made on") \
	x(SB_DATA_OFFSET_TOO_SMALL, "the data offset cannot be guessed: a wrong one serves wrong data") \
	x(SB_DATA_OFFSET_PAST_END, "the device is too small or the offset is damaged: neither can be guessed") \
	x(SB_UNSUPPORTED_COMPAT, "written by a newer bcache: its meaning is unknown here") \
	x(SB_UNSUPPORTED_RO_COMPAT, "written by a newer bcache: its meaning is unknown here") \
	x(SB_UNSUPPORTED_INCOMPAT, "written by a newer bcache: its meaning is unknown here") \
	x(SB_TOO_MANY_JOURNAL_BUCKETS, "the geometry cannot be guessed from a damaged superblock") \
	x(SB_TOO_MANY_BUCKETS, "the geometry cannot be guessed from a damaged superblock") \
	x(SB_NOT_ENOUGH_BUCKETS, "the geometry cannot be guessed from a damaged superblock") \
	x(SB_BLOCK_SIZE_NOT_POW2, "the geometry cannot be guessed from a damaged superblock") \
	x(SB_BLOCK_SIZE_TOO_BIG, "the geometry cannot be guessed from a damaged superblock") \
	x(SB_BUCKET_SIZE_NOT_POW2, "the geometry cannot be guessed from a damaged superblock") \
	x(SB_BUCKET_SIZE_TOO_SMALL, "the geometry cannot be guessed from a damaged superblock") \
	x(SB_DEVICE_TOO_SMALL, "the device, or the bucket count, is wrong: neither can be guessed") \
	x(SB_BAD_SET_UUID, "the cache set uuid ties backing devices to the cache: it cannot be guessed") \
	x(SB_BAD_DEV_NUMBER, "the device's place in its cache set cannot be guessed") \
	x(SB_JOURNAL_BUCKET_NOT_SEQUENTIAL, "one question for the whole list: SB_JOURNAL_BUCKETS_LATCH") \
	x(SB_JOURNAL_PAST_END, "the geometry cannot be guessed from a damaged superblock") \
	x(SB_FIRST_BUCKET_IN_SB, "the geometry cannot be guessed from a damaged superblock") \
	x(SB_BAD_VERSION, "the version decides the layout: it cannot be guessed") \
	x(JOURNAL_REBUILD_NOT_FOUND, "without a whole prio chain (the gens) or a btree root the scan has nothing to name in a new jset") \
	x(SB_JOURNAL_BUCKETS_NOT_JOURNAL, "those buckets hold other metadata: the list was not first_bucket + i, and the right one cannot be guessed") \
	x(JOURNAL_READ_ERROR, "the entries of an unreadable journal bucket cannot be known; the journal repairs handle the rest") \
	x(JOURNAL_KERNEL_DIFFERS, "reported for the repairs of the damaged jsets it comes with") \
	x(JOURNAL_BAD_BTREE_ROOT, "an older jset's root may point to reused buckets: no root can be trusted") \
	x(UUID_BAD_PTR, "the uuid slots tie keys to devices: without them no key can be kept") \
	x(UUID_READ_ERROR, "the uuid slots tie keys to devices: without them no key can be kept")

#endif /* BCACHE_TOOL_FSCK_NOFIX_H */
