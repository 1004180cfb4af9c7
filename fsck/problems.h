/* problems.h --- the fsck problem registry: every problem fsck can report.
 *
 * One X-macro, BT_PROBLEMS(x), defines each problem once:
 *
 *   x(NAME, id, severity, prompt, flags, latch, template)
 *
 * NAME	  the stable code ("SB_BAD_CSUM"): enum PR_NAME, the JSON "code"
 *	  field and the man page table are generated from it. Never rename.
 * id	  0xPPNNNN: PP the pass (00 superblock, 01 journal, 02 prios,
 *	  03 uuids, 04 btree, 05 gc_mark, 06 summary), NNNN a number within
 *	  the pass. Ids are never reused, even when a problem is retired;
 *	  the table is kept sorted by id (tests/test_fsck_problems.c).
 * severity  SEV_INFO (a fact worth saying), SEV_WARNING (legal on disk
 *	  but suspicious: does not change the exit status) or SEV_ERROR (an
 *	  inconsistency: exit status 4 unless fixed).
 * prompt  PROMPT_* verb (problem.h: question / past / conditional forms).
 * flags  PF_PREEN_OK (-p may fix it silently), PF_NO_OK (answering no
 *	  leaves a usable cache set), PF_NOT_A_FIX (the action is not a repair
 *	  of corruption: journal replay), PF_MSG_ONLY (no question), PF_FATAL
 *	  (checking cannot go on after it), PF_AFTER_CODE (printed without the
 *	  code prefix, continuing the previous line), PF_REPAIR (the repair
 *	  exists: fix_problem() returns true on a yes), PF_LATER (with
 *	  PF_REPAIR: a later pass makes the repair -- the journal problems,
 *	  by the replay pass's commit -- and only then is it counted as fixed;
 *	  problem.h). PF_PREEN_OK on an error only where the repair loses
 *	  nothing the kernel would have kept.
 * latch  LATCH_* group (problem.h): a flood of the same problem prints one
 *	  header, a compressed list of numbers and one question.
 * template  the message; %-fields expand from struct problem_ctx:
 *	  %d device  %s structure  %b bucket  %S sector  %o byte offset
 *	  %l btree level  %k key  %j jset seq  %u uuid slot
 *	  %e csum expected  %g csum got  %n num  %m num2  %x num in hex
 *	  %E errcode name  %t str  %% a percent sign
 *
 * Only problems whose check exists are listed; problems of issue 4 whose
 * check is not written yet are kept in the "planned" block at the end,
 * so that neither --list-problems nor the man page claims a check that
 * does not exist. Add a line here (and to the man page, which a test
 * keeps in sync with 'bcache-tool fsck --list-problems') with each check.
 */
#ifndef BCACHE_TOOL_FSCK_PROBLEMS_H
#define BCACHE_TOOL_FSCK_PROBLEMS_H

#define BT_PROBLEMS(x)								\
	/* ---- superblock (00) ------------------------------------------ */	\
	x(SB_BAD_OFFSET,		0x000001, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "not a bcache superblock at byte %o of %d: offset field is %n, expected 8")	\
	x(SB_BAD_MAGIC,			0x000002, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "not a bcache superblock at byte %o of %d: bad magic")		\
	x(SB_BAD_CSUM,			0x000003, SEV_ERROR, PROMPT_RECOMPUTE_CSUM, \
	  PF_REPAIR | PF_LATER, LATCH_NONE,							\
	  "bad checksum in superblock of %d (byte %o): stored %g, computed %e")	\
	x(SB_BAD_UUID,			0x000004, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "device uuid is all zeroes in superblock of %d (byte %o)")		\
	x(SB_BLOCK_SMALLER_THAN_DEVICE,	0x000005, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "block size %n sectors in superblock of %d (byte %o) is smaller than the device's logical block (%m bytes)") \
	x(SB_DATA_OFFSET_TOO_SMALL,	0x000006, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "data offset %n sectors in superblock of backing device %d (byte %o) is below 16")	\
	x(SB_DATA_OFFSET_PAST_END,	0x000007, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "data offset %n sectors in superblock of backing device %d (byte %o) is beyond the device (%m sectors)") \
	x(SB_UNSUPPORTED_COMPAT,	0x000008, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "unsupported compatible feature bits %x in superblock of %d (byte %o)") \
	x(SB_UNSUPPORTED_RO_COMPAT,	0x000009, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "unsupported read-only compatible feature bits %x in superblock of %d (byte %o)") \
	x(SB_UNSUPPORTED_INCOMPAT,	0x00000a, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "unsupported incompatible feature bits %x in superblock of %d (byte %o)") \
	x(SB_TOO_MANY_JOURNAL_BUCKETS,	0x00000b, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "%n journal buckets in superblock of %d (byte %o), at most 256")	\
	x(SB_TOO_MANY_BUCKETS,		0x00000c, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "%n buckets in superblock of %d (byte %o) is more than a long holds") \
	x(SB_NOT_ENOUGH_BUCKETS,	0x00000d, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "%n buckets in superblock of %d (byte %o), need at least 128")	\
	x(SB_BLOCK_SIZE_NOT_POW2,	0x00000e, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "block size %n sectors in superblock of %d (byte %o) is not a power of two") \
	x(SB_BLOCK_SIZE_TOO_BIG,	0x00000f, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "block size %n sectors in superblock of %d (byte %o) is larger than a page (8 sectors)") \
	x(SB_BUCKET_SIZE_NOT_POW2,	0x000010, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "bucket size %n sectors in superblock of %d (byte %o) is not a power of two") \
	x(SB_BUCKET_SIZE_TOO_SMALL,	0x000011, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "bucket size %n sectors in superblock of %d (byte %o) is smaller than a page (8 sectors)") \
	x(SB_DEVICE_TOO_SMALL,		0x000012, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "%d is too small for its superblock (byte %o): the buckets need %n sectors, the device has %m") \
	x(SB_BAD_SET_UUID,		0x000013, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "cache set uuid is all zeroes in superblock of %d (byte %o)")	\
	x(SB_BAD_DEV_NUMBER,		0x000014, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "bad cache device number in superblock of %d (byte %o): nr_in_set %n, nr_this_dev %m") \
	x(SB_JOURNAL_BUCKET_NOT_SEQUENTIAL, 0x000015, SEV_ERROR, PROMPT_NONE,	\
	  0, LATCH_SB_JOURNAL,							\
	  "journal bucket d[%n] of %d (byte %o) is %m, expected first_bucket + %n")	\
	x(SB_JOURNAL_BUCKETS_LATCH,	0x000016, SEV_ERROR, PROMPT_REWRITE_JOURNAL_LIST,	\
	  PF_REPAIR, LATCH_NONE,						\
	  "journal bucket list d[] in superblock of %d is not first_bucket, first_bucket + 1, ...; wrong entries:") \
	x(SB_JOURNAL_PAST_END,		0x000017, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "journal of %d (byte %o) passes the last bucket: first_bucket + %n journal buckets > %m buckets") \
	x(SB_FIRST_BUCKET_IN_SB,	0x000018, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "first bucket of %d (byte %o) starts at sector %n, before the end of the superblock (16)") \
	x(SB_BAD_VERSION,		0x000019, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "unsupported superblock version %n in %d (byte %o)")		\
	x(SB_FEW_BUCKETS,		0x00001a, SEV_WARNING, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "%d has %n buckets: Linux 5.x and 6.x refuse to register a cache of 512 buckets or fewer") \
	x(SB_NO_CACHE_SET,		0x00001b, SEV_INFO, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "%d holds no cache set yet: never registered (CACHE_SYNC unset), nothing more to check") \
	x(SB_BACKING_DEVICE,		0x00001c, SEV_INFO, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "%d is a backing device (superblock version %n): its superblock is all there is to check") \
	x(SB_JOURNAL_BUCKETS_NOT_JOURNAL, 0x00001d, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "bucket %b (first_bucket + %n) of %d holds %t, not the journal: the journal bucket list d[] cannot be rewritten as first_bucket + i") \
	/* ---- journal (01) --------------------------------------------- */	\
	x(JOURNAL_NO_ENTRIES,		0x010001, SEV_ERROR, PROMPT_REBUILD_JOURNAL, \
	  PF_REPAIR | PF_LATER, LATCH_NONE,						\
	  "no valid jset in the %n journal buckets of %d although the cache set was registered (CACHE_SYNC): the kernel refuses it (\"no journal entries found\"); a scan of the buckets found what a new jset can name: %t") \
	x(JSET_BAD_CSUM,		0x010002, SEV_ERROR, PROMPT_DROP_JSET,	\
	  PF_REPAIR | PF_LATER, LATCH_NONE,	\
	  "bad checksum in jset (stored seq %j) at sector %S of %d, journal bucket %n (bucket %b): the kernel stops reading the bucket there") \
	x(JSET_TOO_BIG,			0x010003, SEV_ERROR, PROMPT_DROP_JSET,	\
	  PF_REPAIR | PF_LATER, LATCH_NONE,	\
	  "jset (stored seq %j) at sector %S of %d, journal bucket %n (bucket %b) claims %m bytes: more than 32 KiB or past its bucket") \
	x(JOURNAL_READ_ERROR,		0x010004, SEV_ERROR, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "cannot read journal bucket %n (bucket %b) of %d: %t")		\
	x(JOURNAL_SEQ_MISSING,		0x010005, SEV_ERROR, PROMPT_DROP_MISSING,	\
	  PF_REPAIR | PF_LATER, LATCH_NONE,	\
	  "journal entries %n-%m of %d are missing from the replay range starting at %j: the kernel refuses to replay (\"journal entries missing\")") \
	x(JSET_LAST_SEQ_AFTER_SEQ,	0x010006, SEV_ERROR, PROMPT_DROP_LAST_SEQ,	\
	  PF_REPAIR | PF_LATER, LATCH_NONE,	\
	  "newest jset %j of %d has last_seq %n after its own seq")		\
	x(JSET_PAST_KERNEL_SCAN,	0x010007, SEV_ERROR, PROMPT_DROP_JSET,	\
	  PF_REPAIR | PF_LATER, LATCH_NONE,	\
	  "jset %j at sector %S of %d (journal bucket %n) lies past the point where the kernel's scan of the bucket stops: the kernel will not replay it") \
	x(JOURNAL_KERNEL_DIFFERS,	0x010008, SEV_ERROR, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "the kernel's journal search on %d would end at seq %n instead of %j (the newest valid jset): it would replay a different journal") \
	x(JOURNAL_BAD_BTREE_ROOT,	0x010009, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "bad btree root %k in newest jset %j of %d: the kernel refuses the cache set (\"bad btree root\")") \
	x(JOURNAL_KEY_INVALID,		0x01000a, SEV_ERROR, PROMPT_DROP_JOURNAL_KEY,	\
	  PF_REPAIR | PF_LATER | PF_PREEN_OK, LATCH_NONE,	\
	  "invalid key %k (%t) number %n of jset %j at sector %S of %d")	\
	x(JOURNAL_KEY_TRUNCATED,	0x01000b, SEV_ERROR, PROMPT_DROP_TRUNCATED_KEY,	\
	  PF_REPAIR | PF_LATER | PF_PREEN_OK, LATCH_NONE,	\
	  "last key of jset %j at sector %S of %d runs past the end of the jset") \
	x(JOURNAL_REPLAY_NEEDED,	0x01000c, SEV_INFO, PROMPT_NONE,	\
	  PF_MSG_ONLY | PF_NOT_A_FIX, LATCH_NONE,				\
	  "%n journal keys in %m jsets (seq %j onwards) of %d are not in the btree yet: the kernel replays them at registration") \
	x(JOURNAL_REPLAY,		0x01000d, SEV_INFO, PROMPT_REPLAY,	\
	  PF_PREEN_OK | PF_NOT_A_FIX | PF_REPAIR, LATCH_NONE,		\
	  "the %n journal keys can be written into the btree of %d now, in one copy-on-write transaction committed by a single jset") \
	x(JOURNAL_REBUILD_NOT_FOUND,	0x01000e, SEV_ERROR, PROMPT_NONE,	\
	  PF_FATAL, LATCH_NONE,							\
	  "the journal of %d cannot be rebuilt: %t")				\
	x(JOURNAL_REBUILD_NO_UUIDS,	0x01000f, SEV_ERROR, PROMPT_EMPTY_UUIDS, \
	  PF_REPAIR, LATCH_NONE,						\
	  "no uuid bucket found on %d (%n well-formed candidates; the btree holds extents of %m devices): with empty uuid slots the cache set registers, but no backing device or flash volume attaches to its cached data; a dirty backing device is refused (\"Couldn't find uuid\")") \
	x(JOURNAL_REBUILD_ROOT_AMBIGUOUS, 0x010010, SEV_WARNING, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "%n btree roots of %d are equally good by the scan's rule (level, stale pointers, keys): the root at bucket %b was taken; an older copy may have been chosen") \
	x(JOURNAL_REBUILD_OLDER_PRIOS,	0x010011, SEV_WARNING, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "the newest prio sets of %d (seq %n) do not form a whole chain: the gens of the older chain seq %m are used; pointers newer than it raise their bucket's gen in the mark pass, but a stale pointer whose newer key is gone would look live") \
	x(JOURNAL_REBUILD_KEYS_UNKNOWN,	0x010012, SEV_WARNING, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "the journal of %d was rebuilt over the btree as found: keys that were only in the lost journal (written after their leaf was last written, e.g. before a crash) are lost, and which ones cannot be known; a cache stopped cleanly loses none") \
	/* ---- prios (02) ------------------------------------------------ */	\
	x(PRIO_BAD_CSUM,		0x020001, SEV_ERROR, PROMPT_REWRITE_PRIOS,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "prio chain of %d: %t")						\
	x(PRIO_BAD_MAGIC,		0x020002, SEV_ERROR, PROMPT_REWRITE_PRIOS,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "prio chain of %d: %t")						\
	x(PRIO_BAD_CHAIN,		0x020003, SEV_ERROR, PROMPT_REWRITE_PRIOS,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "prio chain of %d starting at bucket %b: %t")			\
	x(PRIO_READ_ERROR,		0x020004, SEV_ERROR, PROMPT_REWRITE_PRIOS,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "prio chain of %d: %t")						\
	/* ---- uuids (03) ------------------------------------------------ */	\
	x(UUID_BAD_PTR,			0x030001, SEV_ERROR, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "uuid bucket of %d: %t")						\
	x(UUID_READ_ERROR,		0x030002, SEV_ERROR, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "uuid bucket of %d: %t")						\
	x(UUID_DUPLICATE,		0x030003, SEV_ERROR, PROMPT_CLEAR_SLOT,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "uuid slots %n and %u of %d (bucket %b) hold the same uuid %t")	\
	x(UUID_BAD_FLAGS,		0x030004, SEV_ERROR, PROMPT_CLEAR_FLAGS,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "uuid slot %u of %d (bucket %b) has unknown flag bits %x")		\
	/* ---- btree (04) ------------------------------------------------ */	\
	x(BSET_BAD_MAGIC,		0x040001, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BSET_BAD_CSUM,			0x040002, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BSET_BAD_VERSION,		0x040003, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BSET_PAST_NODE_END,		0x040004, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BSET_EMPTY,			0x040005, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BSET_KEY_OVERRUN,		0x040006, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_NODE_SEQ_ZERO,		0x040007, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_NODE_CORRUPTED,		0x040008, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_SHORT_KEY,		0x040009, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_PTR_INVALID,		0x04000a, SEV_ERROR, PROMPT_DROP_NODE_PTR,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_CYCLE,			0x04000b, SEV_ERROR, PROMPT_DROP_NODE_PTR,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_TOO_DEEP,		0x04000c, SEV_ERROR, PROMPT_DROP_NODE_PTR,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_NODE_REACHED_TWICE,	0x04000d, SEV_ERROR, PROMPT_DROP_NODE_PTR,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_NODE_READ_ERROR,		0x04000e, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_NODE_BAD,		0x04000f, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree node at bucket %b, level %l of %d (key %k): %t")	\
	x(BTREE_KEY_INVALID,		0x040010, SEV_ERROR, PROMPT_DROP_KEY,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "invalid interior key %k (%t) in node at bucket %b, level %l of %d")	\
	x(EXTENT_INVALID,		0x040011, SEV_ERROR, PROMPT_DROP_KEY,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "invalid extent %k (%t) in leaf at bucket %b of %d")	\
	x(BTREE_KEY_OUTSIDE_NODE,	0x040012, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "key %k lies outside the range %t of its node at bucket %b, level %l of %d")	\
	x(BTREE_CHILD_GAP,		0x040013, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "children of node at bucket %b, level %l of %d stop at %t, before the node's own key: the rest of its range is not covered")	\
	x(BTREE_ROOT_NOT_MAX_KEY,	0x040014, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "btree root %k of %d does not end at MAX_KEY: keys after it cannot be reached")	\
	x(BTREE_BUCKET_SHARED,		0x040015, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "bucket %b of %d holds two btree nodes (levels %n and %l): key %k")	\
	x(EXTENT_NO_UUID_SLOT,		0x040016, SEV_ERROR, PROMPT_DROP_SLOT_KEYS,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "%n extents (%m sectors) in the btree of %d belong to uuid slot %u, which holds no device")	\
	x(BTREE_KEYS_UNSORTED,		0x040017, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "keys out of order in the bset at block %n of node at bucket %b, level %l of %d: %k comes after %t")	\
	x(BTREE_EXTENTS_OVERLAP,		0x040018, SEV_ERROR, PROMPT_REWRITE_NODE,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "overlapping extents in the bset at block %n of leaf at bucket %b of %d: %k overlaps %t")	\
	x(EXTENT_PAST_FLASH_VOLUME,	0x040019, SEV_ERROR, PROMPT_CUT_EXTENTS,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "%n extents in the btree of %d end past the %m sectors of the flash volume in uuid slot %u")	\
	/* ---- gc_mark (05) --------------------------------------------- */	\
	x(BUCKET_METADATA_AND_DATA,	0x050001, SEV_ERROR, PROMPT_DROP_KEY,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "bucket %b of %d is used by both btree nodes and data (key %k at level %l): the kernel stops at registration (\"inconsistent ptrs\")")	\
	x(META_BUCKET_ALSO_USED,		0x050002, SEV_ERROR, PROMPT_DROP_META_KEYS,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "%t bucket %b of %d is also used by the btree or by data")	\
	x(PTR_GEN_IN_FUTURE,		0x050003, SEV_ERROR, PROMPT_SET_GEN,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD | PF_PREEN_OK, LATCH_NONE,						\
	  "extent %k of %d has gen %n, ahead of gen %m of bucket %b in the prio chain (the allocator writes the prios before it hands out a bucket)")	\
	x(DIRTY_PTR_STALE,		0x050004, SEV_ERROR, PROMPT_DROP_KEY,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "dirty extent %k of %d points to bucket %b, reused since (stale by %n): %m sectors of dirty data of uuid slot %u are lost")	\
	x(KEY_TOO_STALE,			0x050005, SEV_ERROR, PROMPT_DROP_KEY,	\
	  PF_REPAIR | PF_LATER | PF_REBUILD, LATCH_NONE,						\
	  "key %k (level %l) of %d is stale by %n gens, more than 96: the kernel stops (\"key too stale\")")	\
	x(BUCKET_GC_GEN_LAG,		0x050006, SEV_WARNING, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_GEN_LAG,						\
	  "bucket %b of %d: gen %n is %m ahead of its oldest pointer gen (more than 96)")	\
	x(BUCKET_GC_GEN_LAG_LATCH,	0x050007, SEV_WARNING, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "buckets of %d whose gen is more than 96 ahead of their oldest pointer (the kernel cannot reuse them before a gc):")	\
	x(BTREE_BUCKET_PRIO_WRONG,	0x050008, SEV_INFO, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_BTREE_PRIO,						\
	  "bucket %b of %d holds a btree node at level %l but its prio is %n, not 65535")	\
	x(BTREE_BUCKET_PRIO_LATCH,	0x050009, SEV_INFO, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "btree node buckets of %d whose prio in the prio chain is not BTREE_PRIO (nodes allocated after the last prio write; the kernel sets it at registration):")	\
	/* ---- summary (06) --------------------------------------------- */	\
	x(CHECKS_NOT_AVAILABLE,		0x060001, SEV_WARNING, PROMPT_NONE,	\
	  PF_MSG_ONLY, LATCH_NONE,						\
	  "%t checks of %d are not available in this build: the cache set was not fully checked")

/*
 * The failures of libcore's validators and readers, each reported as one
 * problem: x(pass, NAME, code) says that in pass (passes.h) the failure
 * -code (a BT_ERR_* code, or a plain errno for I/O) is problem NAME, so
 * that no pass redoes a validator's comparisons to know which rule broke.
 * A code appears at most once per pass (a build-time check, problem.c).
 * The superblock's rules map one to one (bt_sb_validate(): one code per
 * rule; tests/test_fsck_problems.c). Where fsck has one problem for
 * several codes, the code itself is in the report (%E, JSON "errcode"):
 * the five pointer rules of bt_btree_ptr_check() are BTREE_PTR_INVALID,
 * a failed read (EIO) and a short one are the pass's read error.
 * problem_for_err() looks a failure up.
 */
#define BT_PROBLEM_ERRCODES(x)							\
	x(superblock,	SB_BAD_OFFSET,		BT_ERR_SB_BAD_OFFSET)		\
	x(superblock,	SB_BAD_MAGIC,		BT_ERR_SB_BAD_MAGIC)		\
	x(superblock,	SB_BAD_CSUM,		BT_ERR_SB_BAD_CSUM)		\
	x(superblock,	SB_BAD_UUID,		BT_ERR_SB_BAD_UUID)		\
	x(superblock,	SB_BAD_VERSION,		BT_ERR_SB_BAD_VERSION)		\
	x(superblock,	SB_BLOCK_SMALLER_THAN_DEVICE, BT_ERR_SB_BLOCK_SMALLER_THAN_DEVICE) \
	x(superblock,	SB_DATA_OFFSET_TOO_SMALL, BT_ERR_SB_DATA_OFFSET_TOO_SMALL)	\
	x(superblock,	SB_DATA_OFFSET_PAST_END, BT_ERR_SB_DATA_OFFSET_PAST_END)	\
	x(superblock,	SB_UNSUPPORTED_COMPAT,	BT_ERR_SB_UNSUPPORTED_COMPAT)	\
	x(superblock,	SB_UNSUPPORTED_RO_COMPAT, BT_ERR_SB_UNSUPPORTED_RO_COMPAT)	\
	x(superblock,	SB_UNSUPPORTED_INCOMPAT, BT_ERR_SB_UNSUPPORTED_INCOMPAT)	\
	x(superblock,	SB_TOO_MANY_JOURNAL_BUCKETS, BT_ERR_SB_TOO_MANY_JOURNAL_BUCKETS) \
	x(superblock,	SB_TOO_MANY_BUCKETS,	BT_ERR_SB_TOO_MANY_BUCKETS)	\
	x(superblock,	SB_NOT_ENOUGH_BUCKETS,	BT_ERR_SB_NOT_ENOUGH_BUCKETS)	\
	x(superblock,	SB_BLOCK_SIZE_NOT_POW2,	BT_ERR_SB_BLOCK_SIZE_NOT_POW2)	\
	x(superblock,	SB_BLOCK_SIZE_TOO_BIG,	BT_ERR_SB_BLOCK_SIZE_TOO_BIG)	\
	x(superblock,	SB_BUCKET_SIZE_NOT_POW2, BT_ERR_SB_BUCKET_SIZE_NOT_POW2)	\
	x(superblock,	SB_BUCKET_SIZE_TOO_SMALL, BT_ERR_SB_BUCKET_SIZE_TOO_SMALL)	\
	x(superblock,	SB_DEVICE_TOO_SMALL,	BT_ERR_SB_DEVICE_TOO_SMALL)	\
	x(superblock,	SB_BAD_SET_UUID,	BT_ERR_SB_BAD_SET_UUID)		\
	x(superblock,	SB_BAD_DEV_NUMBER,	BT_ERR_SB_BAD_DEV_NUMBER)	\
	x(superblock,	SB_JOURNAL_BUCKET_NOT_SEQUENTIAL, BT_ERR_SB_JOURNAL_NOT_SEQUENTIAL) \
	x(superblock,	SB_JOURNAL_PAST_END,	BT_ERR_SB_JOURNAL_PAST_END)	\
	x(superblock,	SB_FIRST_BUCKET_IN_SB,	BT_ERR_SB_BAD_FIRST_BUCKET)	\
	x(prios,	PRIO_BAD_CSUM,		BT_ERR_PRIO_BAD_CSUM)		\
	x(prios,	PRIO_BAD_MAGIC,		BT_ERR_PRIO_BAD_MAGIC)		\
	x(prios,	PRIO_BAD_CHAIN,		BT_ERR_PRIO_BAD_CHAIN)		\
	x(prios,	PRIO_READ_ERROR,	EIO)				\
	x(prios,	PRIO_READ_ERROR,	BT_ERR_SHORT_READ)		\
	x(uuids,	UUID_BAD_PTR,		BT_ERR_UUID_BAD_PTR)		\
	x(uuids,	UUID_READ_ERROR,	EIO)				\
	x(uuids,	UUID_READ_ERROR,	BT_ERR_SHORT_READ)		\
	x(btree,	BSET_BAD_MAGIC,		BT_ERR_BSET_BAD_MAGIC)		\
	x(btree,	BSET_BAD_CSUM,		BT_ERR_BSET_BAD_CSUM)		\
	x(btree,	BSET_BAD_VERSION,	BT_ERR_BSET_BAD_VERSION)	\
	x(btree,	BSET_PAST_NODE_END,	BT_ERR_BSET_TOO_BIG)		\
	x(btree,	BSET_EMPTY,		BT_ERR_BSET_EMPTY)		\
	x(btree,	BSET_KEY_OVERRUN,	BT_ERR_BSET_KEY_OVERRUN)	\
	x(btree,	BTREE_NODE_SEQ_ZERO,	BT_ERR_BTREE_NODE_SEQ_ZERO)	\
	x(btree,	BTREE_NODE_CORRUPTED,	BT_ERR_BTREE_NODE_CORRUPTED)	\
	x(btree,	BTREE_SHORT_KEY,	BT_ERR_BTREE_NODE_SHORT_KEY)	\
	x(btree,	BTREE_PTR_INVALID,	BT_ERR_BTREE_PTR_BAD_DEV)	\
	x(btree,	BTREE_PTR_INVALID,	BT_ERR_BTREE_PTR_BAD_BUCKET)	\
	x(btree,	BTREE_PTR_INVALID,	BT_ERR_BTREE_PTR_NOT_BUCKET_START) \
	x(btree,	BTREE_PTR_INVALID,	BT_ERR_BTREE_PTR_BAD_SIZE)	\
	x(btree,	BTREE_PTR_INVALID,	BT_ERR_BTREE_PTR_PAST_DEVICE)	\
	x(btree,	BTREE_CYCLE,		BT_ERR_BTREE_LOOP)		\
	x(btree,	BTREE_TOO_DEEP,		BT_ERR_BTREE_TOO_DEEP)		\
	x(btree,	BTREE_NODE_REACHED_TWICE, BT_ERR_BTREE_TOPOLOGY)		\
	x(btree,	BTREE_NODE_READ_ERROR,	EIO)				\
	x(btree,	BTREE_NODE_READ_ERROR,	BT_ERR_SHORT_READ)		\
	x(btree,	BTREE_NODE_BAD,		BT_ERR_BTREE_NODE_BAD)

/*
 * Planned (issue 4): the checks below are not written yet. Their codes are
 * reserved here; move a line into BT_PROBLEMS(), with a new id, with its check.
 *
 * journal (01): JSET_BAD_VERSION (the kernel does not check it),
 *   JOURNAL_BAD_PRIO_BUCKET
 * uuids (03): UUID_SLOT_NOT_EMPTY (an empty slot with non-zero bytes)
 * btree (04): BTREE_LEVEL_MISMATCH (nodes do not store their
 *   level: a leaf key met where pointers are expected needs a heuristic)
 * gc_mark (05): none. (Per-bucket marks and sectors used are not
 *   stored on disk, so there is nothing to compare them with; they are
 *   computed and summed up in the summary.)
 */

#endif /* BCACHE_TOOL_FSCK_PROBLEMS_H */
