/* scan.h --- finding a cache set's metadata without its journal.
 *
 * The newest jset is the only place that names the btree root, the uuid
 * bucket and the first bucket of the prio chain. When every journal bucket
 * is zeroed (an SSD discard) or garbage, the kernel refuses the set ("no
 * journal entries found") although the btree, the prios, the uuids and
 * the data are intact. bt_scan_cache() finds them again by reading the
 * head of every bucket of the cache device, one bucket at a time:
 *
 *  prio chain  buckets whose prio_set has the set's pset magic and a good
 *		csum; the head is the chain of the highest seq that reads
 *		in full (prio_buckets buckets from its head, all of that seq).
 *		Gives every bucket's gen and prio.
 *  btree	buckets whose first block holds a bset with the set's bset
 *		magic and a csum that verifies when seeded with the pointer
 *		PTR(gen, bucket start, dev), gen tried from the prio chain's
 *		gen up to BT_SCAN_GEN_AHEAD above it (a pointer may be ahead
 *		of the prio chain, FORMAT.md 13 "gen in the future"). A
 *		node key whose pointer verifies another node's csum is a
 *		child pointer: a node with children is interior, its level
 *		one above its highest child's; one without is a leaf.
 *  root	among the nodes no other node points to (rule below).
 *  uuids	buckets of 128-byte uuid_entry slots (FORMAT.md 7.2) whose
 *		slot 0 is used and whose used slots are well formed.
 *
 * The root rule. Copy-on-write leaves old nodes behind: an old root is a
 * node that verifies and that nothing points to, like the real root; the
 * bset seq is random and orders nothing. A candidate is rejected when its
 * subtree is not whole: an interior key (not a freeing key at 0:0, not
 * stale against the prio gens) that points to no verifying node means a
 * child bucket was reused since, so that tree is older than the reuse. An
 * interior candidate must also end at MAX_KEY. Among the rest:
 *  1. the highest level (bcache trees only grow);
 *  2. a root allocated since the previous prio write: the previous chain
 *     (the last next_bucket of the chosen one points at it) is read when
 *     still whole, and a node whose pointer gen differs from that chain's
 *     gen of its bucket was allocated after it (every allocation raises the
 *     gen and writes the prios first). This is what tells a root replaced
 *     moments before the journal was lost from its replacement;
 *  3. the most live (not stale) pointers in the subtree: an old tree's data
 *     buckets get reused (its pointers go stale), and an empty first root
 *     holds none;
 *  4. the fewest stale pointers, then the highest bucket.
 * Limits: an old root whose buckets were not reused, replaced before the
 * previous prio write (or with no previous chain left on disk), and holding
 * as many live pointers as the real one cannot be told from it (its
 * content then mostly equals the real one's); nr_root_candidates > 1 says
 * so when the two score the same, and the caller must warn.
 *
 * Other limits: child pointers are recognised by KEY_SIZE equal to the
 * node size this kernel version gives new nodes (c->btree_node_sectors):
 * nodes written with another size by an older kernel are not linked; a
 * leaf keeps at most 16 distinct KEY_INODEs for the uuid rule (beyond, only
 * those are required).
 *
 * The uuid rule: a candidate must hold a live slot for every KEY_INODE of
 * the live extents of the chosen tree and, when backing device uuids are
 * given, the more of them the better; then the newest by the highest
 * first_reg / last_reg / invalidated time in its slots (every change of
 * the slots stamps one of these), then the most used slots. Limit: two
 * copies with the same slots and times cannot be told apart (they are
 * then the same content).
 *
 * Units: buckets, sectors unless _bytes.
 */
#ifndef BCACHE_TOOL_SCAN_H
#define BCACHE_TOOL_SCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/printbuf.h"

#define BT_SCAN_GEN_AHEAD	4	/* gens above the prio chain's tried per node */

struct bt_scan_opts {
	/* uuids of backing devices that belong to the set (hints), may be NULL */
	const uint8_t	(*backing_uuids)[16];
	size_t		nr_backing;
	/* called every bucket of each scan phase (done, total); may be NULL */
	void		(*progress)(void *arg, uint64_t done, uint64_t total);
	void		*progress_arg;
};

struct bt_scan_result {
	/* prio chain: c->prio_start etc. are set when found */
	bool		prio_found;
	uint64_t	prio_start;
	uint64_t	prio_seq;
	unsigned	nr_psets;		/* prio_sets with a good csum */
	uint64_t	prio_newest_seq;	/* highest seq of a prio set with the magic, csum
						   good or not (> prio_seq: the newest chain
						   is not whole) */
	bool		prev_prio_found;	/* the chain before it is whole (root rule) */

	/* btree */
	bool		root_found;
	struct bkey_padded root_key;		/* MAX_KEY, node size, ptr with the verified gen */
	unsigned	root_level;
	uint64_t	root_bucket;
	unsigned	nr_nodes;		/* nodes that verified */
	unsigned	nr_root_candidates;	/* acceptable roots at the chosen level and score */
	unsigned	nr_rejected_roots;	/* unreferenced nodes rejected by the rule */

	/* uuids */
	bool		uuid_found;
	uint64_t	uuid_bucket;
	uint8_t		uuid_gen;
	unsigned	nr_uuid_candidates;	/* well-formed uuid buckets */
	unsigned	uuid_live_slots;
	unsigned	uuid_backing_matches;	/* of opts->nr_backing */
	unsigned	nr_inodes;		/* distinct KEY_INODEs of live extents */

	uint64_t	buckets_scanned;
	uint64_t	read_errors;		/* buckets that could not be read (skipped) */
};

/*
 * bt_scan_cache(): scan c->dev (superblock and geometry set,
 * bt_cache_set_geometry(); the journal is not used) for the prio chain,
 * the btree root and the uuid bucket with the rules above. Reads the first
 * 4 KiB of every bucket from first_bucket on (journal buckets d[] skipped),
 * then the prio sets, nodes and uuid candidates in full, one at a time:
 * memory is O(nbuckets) bytes plus a few words per candidate.
 *
 * On return c->buckets/c->prio_chain/c->prio_seq/c->prio_start hold the
 * chosen prio chain (bt_prio_read()) when one was found. Nothing is
 * written. Returns 0 when prio chain and root were found (uuid_found may
 * still be false: the caller decides), -BT_ERR_SCAN_NO_PRIOS,
 * -BT_ERR_SCAN_NO_ROOT, -ENOMEM, with a message naming the device.
 * Mirrors no kernel function: the kernel has no such recovery.
 */
int bt_scan_cache(struct cache_set *c, const struct bt_scan_opts *o,
		  struct bt_scan_result *r, struct printbuf *err);

/*
 * bt_scan_apply(): make c look as if its newest jset had named what r
 * found: c->root_key/root_level, c->uuid_key (bucket r->uuid_bucket with
 * its prio gen) and c->uuids read from it in the current format (all
 * empty slots when !r->uuid_found), c->uuids_version 1, and an empty
 * journal whose next entry goes at the start of journal bucket 0
 * (c->journal.cur_idx/cur_sector). Returns 0, -EIO or -ENOMEM.
 */
int bt_scan_apply(struct cache_set *c, const struct bt_scan_result *r, struct printbuf *err);

/* What the head of a bucket holds (bt_scan_bucket_kind()). */
enum bt_bucket_kind {
	BT_BUCKET_OTHER	= 0,	/* zeroes, data, garbage */
	BT_BUCKET_JSET	= 1,	/* the set's jset magic at byte 8 */
	BT_BUCKET_PSET	= 2,	/* a prio_set: pset magic */
	BT_BUCKET_BSET	= 3,	/* a btree node: bset magic, non-zero seq */
	BT_BUCKET_UUID	= 4,	/* well-formed uuid slots, slot 0 used */
};

/*
 * bt_scan_bucket_kind(): classify bucket b by its first 4 KiB with the
 * rules of bt_scan_cache() (magics only: no csum is checked). c needs its
 * superblock and geometry. Returns 0 and *kind, or a negative code (read
 * error, bucket out of range) with a message.
 */
int bt_scan_bucket_kind(struct cache_set *c, uint64_t b, enum bt_bucket_kind *kind,
			struct printbuf *err);

/* "journal", "prio set", "btree node", "uuid slots", "other". */
const char *bt_bucket_kind_str(enum bt_bucket_kind kind);

/* One line: what was found ("prio chain at bucket B seq S, root ..."). */
void bt_scan_result_to_text(struct printbuf *out, const struct bt_scan_result *r);

#endif /* BCACHE_TOOL_SCAN_H */
