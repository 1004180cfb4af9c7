/* test_journal.c --- journal, prios and uuids of the golden images against
 * the kernel's own re-registration messages in MANIFEST.json, and damaged
 * copies of them.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/csum.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/read/prio.h"
#include "libcore/read/uuid.h"
#include "helpers.h"

/* ---- manifest ----------------------------------------------------------- */

struct replay_truth {
	unsigned long long keys, entries, seq;
};

/* "journal replay done, N keys in M entries, seq S" from reregister.dmesg_bcache. */
static struct replay_truth manifest_replay(const char *name)
{
	json_t *c = t_manifest_case(name), *lines, *l;
	struct replay_truth t = { 0 };
	bool found = false;
	size_t i;

	lines = json_object_get(json_object_get(c, "reregister"), "dmesg_bcache");
	json_array_foreach(lines, i, l) {
		const char *s = strstr(json_string_value(l), "journal replay done, ");

		if (s && sscanf(s, "journal replay done, %llu keys in %llu entries, seq %llu",
				&t.keys, &t.entries, &t.seq) == 3)
			found = true;
	}
	json_decref(c);
	cr_assert(found, "%s: no journal replay message in the manifest", name);
	return t;
}

/* ---- opening -------------------------------------------------------------- */

struct opened {
	char			*path;
	struct bt_dev		dev;
	struct cache_set	c;
	struct printbuf		err;
	int			ret;
};

static void open_path(struct opened *o, const char *path, unsigned flags)
{
	struct printbuf derr = PRINTBUF;

	o->path = strdup(path);
	o->err = PRINTBUF;
	cr_assert_eq(bt_dev_open(path, BT_DEV_FORCE, &o->dev, &derr), 0, "%s",
		     printbuf_str(&derr));
	printbuf_exit(&derr);
	o->ret = bt_cache_set_open(&o->c, &o->dev, flags, &o->err);
}

static void close_opened(struct opened *o)
{
	bt_cache_set_exit(&o->c);
	bt_dev_close(&o->dev);
	printbuf_exit(&o->err);
	free(o->path);
}

/* Flip the bits mask of the byte at byte off of path. */
static void xor_byte(const char *path, uint64_t off, uint8_t mask)
{
	int fd = open(path, O_RDONLY);
	uint8_t byte;

	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, &byte, 1, (off_t)off), 1);
	close(fd);
	byte ^= mask;
	t_patch(path, off, &byte, 1);
}

/* A malloc'ed copy of the newest jset of an opened cache; its byte offset and size. */
static struct jset *newest_jset(const struct opened *o, uint64_t *off, size_t *bytes)
{
	const struct bt_journal_entry *e = bt_journal_newest(&o->c.journal);
	struct jset *j = malloc(e->bytes);

	cr_assert(j);
	memcpy(j, e->j, e->bytes);
	*off = e->sector << SECTOR_SHIFT;
	*bytes = e->bytes;
	return j;
}

/*
 * Run "dump-journal OPTS PATH": assert its exit status is want_rc and that
 * stdout holds out_has and stderr err_has (each unless NULL). Returns
 * stdout (malloc'ed).
 */
static char *dump_journal(const char *path, const char *opts, int want_rc, const char *out_has,
			  const char *err_has)
{
	char *out = NULL, *err = NULL;
	int rc = t_run(&out, &err, "dump-journal %s '%s'", opts, path);

	cr_assert_eq(rc, want_rc, "rc %d: %s", rc, err);
	if (out_has)
		cr_assert(strstr(out, out_has), "%s", out);
	if (err_has)
		cr_assert(strstr(err, err_has), "%s", err);
	free(err);
	return out;
}

static void zero_range(const char *path, uint64_t off, size_t len)
{
	void *z = calloc(1, len);

	t_patch(path, off, z, len);
	free(z);
}

/* ---- golden images ---------------------------------------------------------- */

/*
 * Journal replay range, keys, prio chain and uuid/root pointer gens of a
 * golden image against the kernel's re-registration.
 */
static void check_golden(const char *name)
{
	struct replay_truth t = manifest_replay(name);
	char *path = t_golden_image(name, "cache");
	struct opened o;
	const struct bkey *root, *uk;

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0, "%s: %s", name, printbuf_str(&o.err));
	cr_expect_eq(o.c.journal.newest_seq, t.seq, "%s: newest seq %llu, kernel %llu", name,
		     (unsigned long long)o.c.journal.newest_seq, t.seq);
	cr_expect_eq(o.c.journal.nr, t.entries, "%s: %zu entries, kernel %llu", name,
		     o.c.journal.nr, t.entries);
	cr_expect_eq(o.c.journal.nr_keys, t.keys, "%s: %llu keys, kernel %llu", name,
		     (unsigned long long)o.c.journal.nr_keys, t.keys);
	cr_expect_eq(o.c.journal.nr_missing, 0);
	cr_expect_eq(o.c.journal.nr_damage, 0, "%s: damage %s", name,
		     o.c.journal.nr_damage ? o.c.journal.damage[0].msg : "");
	cr_expect(!o.c.journal.kernel_differs, "%s: kernel probe differs", name);
	cr_expect_eq(o.c.journal.kernel_newest_seq, t.seq);
	cr_expect_eq(o.c.journal.kernel_nr, t.entries);

	/* the prio chain: every bucket read with a good csum, in range */
	cr_assert_geq(o.c.prio_buckets, 1);
	for (unsigned i = 0; i < o.c.prio_buckets; i++) {
		cr_expect_geq(o.c.prio_chain[i], o.c.first_bucket);
		cr_expect_lt(o.c.prio_chain[i], o.c.nbuckets);
	}
	/*
	 * kernel-written state: root and uuid pointers are not stale (a gen
	 * ahead of the prio chain is fine: s02's first registration writes
	 * the prios before it allocates root and uuid buckets, FORMAT.md 9.1)
	 */
	root = (const struct bkey *)o.c.root_key.w;
	uk = (const struct bkey *)o.c.uuid_key.w;
	cr_expect_eq(gen_after(o.c.buckets[PTR_BUCKET_NR(&o.c, root, 0)].gen,
			       (uint8_t)PTR_GEN(root, 0)), 0, "%s: root stale", name);
	cr_expect_eq(gen_after(o.c.buckets[PTR_BUCKET_NR(&o.c, uk, 0)].gen,
			       (uint8_t)PTR_GEN(uk, 0)), 0, "%s: uuid stale", name);
	/* btree node buckets get BTREE_PRIO when allocated and prios are written after */
	if (o.c.buckets[PTR_BUCKET_NR(&o.c, root, 0)].gen == PTR_GEN(root, 0))
		cr_expect_eq(o.c.buckets[PTR_BUCKET_NR(&o.c, root, 0)].prio, BTREE_PRIO);
	cr_expect_not_null(o.c.uuids);
	cr_expect_eq(o.c.uuids_version, BCACHE_JSET_VERSION);

	/* the backing device (if any) has a live slot */
	{
		json_t *m = t_manifest_case(name);
		const char *buuid = t_manifest_str_opt(m, "backing_image", "sb.dev.uuid");
		uuid_t u;

		if (buuid) {
			cr_assert_eq(uuid_parse(buuid, u), 0);
			cr_expect_geq(bt_uuid_find(&o.c, u), 0, "%s: backing uuid %s not in a slot",
				      name, buuid);
		}
		json_decref(m);
	}
	close_opened(&o);
}

GOLDEN_TEST(journal, s02) { check_golden("s02-registered-empty"); }
GOLDEN_TEST(journal, s03) { check_golden("s03-writeback-dirty-clean-stop"); }
GOLDEN_TEST(journal, s04) { check_golden("s04-writeback-dirty-crash"); }
GOLDEN_TEST(journal, s05) { check_golden("s05-btree-depth2"); }
GOLDEN_TEST(journal, s06) { check_golden("s06-flash-volume"); }
GOLDEN_TEST(journal, s07) { check_golden("s07-writethrough-clean"); }

GOLDEN_TEST(journal, s06_flash_slot)
{
	json_t *m = t_manifest_case("s06-flash-volume");
	const char *size = t_manifest_str(m, "truth_after_reregister", "bcache0.size_sectors");
	char *path = t_golden_image("s06-flash-volume", "cache");
	unsigned flash = 0, live = 0;
	struct opened o;
	long slot = -1;

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	for (unsigned i = 0; i < o.c.nr_uuids; i++) {
		if (bt_uuid_slot_state(&o.c.uuids[i]) != BT_UUID_LIVE)
			continue;
		live++;
		if (bt_uuid_flash_only(&o.c.uuids[i])) {
			flash++;
			slot = i;
		}
	}
	cr_assert_eq(flash, 1);
	cr_assert_eq(live, 1);
	cr_assert_eq(bt_uuid_sectors(&o.c.uuids[slot]), strtoull(size, NULL, 10));
	{
		struct printbuf pb = PRINTBUF;

		bt_uuid_entry_to_text(&pb, (unsigned)slot, &o.c.uuids[slot]);
		cr_assert(strstr(printbuf_str(&pb), "flash-only sectors 65536"), "%s",
			  printbuf_str(&pb));
		printbuf_exit(&pb);
	}
	json_decref(m);
	close_opened(&o);
}

GOLDEN_TEST(journal, s01_no_cache_set)
{
	char *path = t_golden_image("s01-fresh-superblocks", "cache");
	struct opened o;

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, -BT_ERR_NO_CACHE_SET, "%d %s", o.ret, printbuf_str(&o.err));
	cr_assert(strstr(printbuf_str(&o.err), "no cache set yet"), "%s", printbuf_str(&o.err));
	close_opened(&o);
}

/* ---- damage ------------------------------------------------------------------ */

static uint64_t journal_bucket_byte(const struct cache_set *c, unsigned idx)
{
	return bt_bucket_to_sector(c, c->sb.d[idx]) << SECTOR_SHIFT;
}

GOLDEN_TEST(journal_damage, zero_newest_bucket)
{
	const char *name = "s03-writeback-dirty-clean-stop";
	struct replay_truth t = manifest_replay(name);
	char *path = t_golden_image(name, "cache");
	struct opened o;
	unsigned cur;
	uint64_t off, bytes;

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	cur = o.c.journal.cur_idx;
	off = journal_bucket_byte(&o.c, cur);
	bytes = (uint64_t)o.c.bucket_size << SECTOR_SHIFT;
	close_opened(&o);
	zero_range(path, off, bytes);

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	/* older entries become the newest */
	cr_assert_gt(o.c.journal.nr, 0);
	cr_assert_lt(o.c.journal.newest_seq, t.seq);
	cr_assert_eq(o.c.journal.bucket_seq[cur], 0);
	for (size_t i = 0; i < o.c.journal.nr_all; i++)
		cr_assert_neq(o.c.journal.all[i].bucket_idx, cur);
	close_opened(&o);
}

GOLDEN_TEST(journal_damage, zero_all_buckets)
{
	char *path = t_golden_image("s04-writeback-dirty-crash", "cache");
	struct opened o;

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	{
		uint64_t off = journal_bucket_byte(&o.c, 0);
		size_t bytes = (size_t)o.c.sb.keys * o.c.bucket_size << SECTOR_SHIFT;

		close_opened(&o);
		zero_range(path, off, bytes);
	}
	open_path(&o, path, 0);
	cr_assert_eq(o.ret, -BT_ERR_JOURNAL_EMPTY, "%d %s", o.ret, printbuf_str(&o.err));
	cr_assert(strstr(printbuf_str(&o.err), "no journal entries found"), "%s",
		  printbuf_str(&o.err));
	close_opened(&o);

	/* dump-journal says so too and does not crash */
	free(dump_journal(path, "", 4, NULL, "no journal entries found"));
}

GOLDEN_TEST(journal_damage, bad_csum_newest)
{
	const char *name = "s04-writeback-dirty-crash";
	struct replay_truth t = manifest_replay(name);
	char *path = t_golden_image(name, "cache");
	struct opened o;
	uint64_t sector, newest_bytes;
	char want[128];

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0);
	sector = bt_journal_newest(&o.c.journal)->sector;
	newest_bytes = bt_journal_newest(&o.c.journal)->bytes;
	close_opened(&o);
	cr_assert_gt(newest_bytes, JSET_HEADER_BYTES, "newest jset has keys");

	/* flip a bit in the first key of the newest jset */
	xor_byte(path, (sector << SECTOR_SHIFT) + 248, 0x10);

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	cr_assert_eq(o.c.journal.nr_damage, 1);
	cr_assert_eq(o.c.journal.damage[0].kind, BT_JDAMAGE_BAD_CSUM);
	cr_assert_eq(o.c.journal.damage[0].seq, t.seq);
	snprintf(want, sizeof(want), "bad checksum in jset at byte %llu of '%s'",
		 (unsigned long long)(sector << SECTOR_SHIFT), path);
	cr_assert(strstr(o.c.journal.damage[0].msg, want), "%s", o.c.journal.damage[0].msg);
	cr_assert_eq(o.c.journal.newest_seq, t.seq - 1);
	close_opened(&o);

	/* dump-journal prints the damaged position */
	free(dump_journal(path, "", 0, want, NULL));
}

/* Rewrite next_bucket of the prio bucket at byte off and recompute its csum. */
static void patch_next_bucket(const char *path, const struct cache_set *c, uint64_t off,
			      uint64_t next)
{
	int fd = open(path, O_RDWR);
	struct prio_set *p = malloc(c->meta_bucket_bytes);

	cr_assert(fd >= 0 && p);
	cr_assert_eq(pread(fd, p, c->meta_bucket_bytes, (off_t)off),
		     (ssize_t)c->meta_bucket_bytes);
	p->next_bucket = htole64(next);
	p->csum = htole64(bt_pset_csum(p, c->meta_bucket_bytes));
	cr_assert_eq(pwrite(fd, p, c->meta_bucket_bytes, (off_t)off),
		     (ssize_t)c->meta_bucket_bytes);
	close(fd);
	free(p);
}

/*
 * The golden caches all have a one-bucket chain, whose next_bucket is never
 * followed. To walk a loop, the chain is read again as if the geometry
 * asked for two buckets.
 */
static int reread_two_bucket_chain(struct opened *o)
{
	o->c.prio_buckets = 2;
	free(o->c.prio_chain);
	o->c.prio_chain = NULL;
	printbuf_reset(&o->err);
	return bt_prio_read(&o->c, &o->err);
}

GOLDEN_TEST(journal_damage, prio_loop)
{
	char *path = t_golden_image("s07-writethrough-clean", "cache");
	struct opened o;
	uint64_t first, off;
	char want[160];
	int ret;

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	cr_assert_eq(o.c.prio_buckets, 1);
	first = o.c.prio_start;
	off = bt_bucket_to_sector(&o.c, first) << SECTOR_SHIFT;
	patch_next_bucket(path, &o.c, off, first);

	ret = reread_two_bucket_chain(&o);
	cr_assert_eq(ret, -BT_ERR_PRIO_BAD_CHAIN, "%d %s", ret, printbuf_str(&o.err));
	snprintf(want, sizeof(want), "prio chain of '%s' loops: bucket 1 of 2 is %llu, "
		 "already bucket 0 of the chain", path, (unsigned long long)first);
	cr_assert(strstr(printbuf_str(&o.err), want), "%s", printbuf_str(&o.err));
	cr_assert(strstr(printbuf_str(&o.err), "the chain ends after 1 of 2 buckets"), "%s",
		  printbuf_str(&o.err));

	/* the same patch is harmless with the real one-bucket chain */
	close_opened(&o);
	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));

	/* next_bucket into the journal, and past the end of the device */
	patch_next_bucket(path, &o.c, off, o.c.sb.d[0]);
	ret = reread_two_bucket_chain(&o);
	cr_assert_eq(ret, -BT_ERR_PRIO_BAD_CHAIN);
	cr_assert(strstr(printbuf_str(&o.err), "journal bucket 0"), "%s", printbuf_str(&o.err));
	patch_next_bucket(path, &o.c, off, o.c.nbuckets + 5);
	ret = reread_two_bucket_chain(&o);
	cr_assert_eq(ret, -BT_ERR_PRIO_BAD_CHAIN);
	cr_assert(strstr(printbuf_str(&o.err), "outside ["), "%s", printbuf_str(&o.err));
	close_opened(&o);
}

GOLDEN_TEST(journal_damage, prio_bad_csum)
{
	char *path = t_golden_image("s05-btree-depth2", "cache");
	struct opened o;
	uint64_t off;
	char want[200];

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	off = bt_bucket_to_sector(&o.c, o.c.prio_start) << SECTOR_SHIFT;
	close_opened(&o);

	/* change one gen byte in the data area */
	xor_byte(path, off + PRIO_SET_HEADER_BYTES + 2, 1);

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, -BT_ERR_PRIO_BAD_CSUM, "%d %s", o.ret, printbuf_str(&o.err));
	snprintf(want, sizeof(want), "bad csum reading priorities: prio_set at byte %llu of '%s'",
		 (unsigned long long)off, path);
	cr_assert(strstr(printbuf_str(&o.err), want), "%s", printbuf_str(&o.err));
	close_opened(&o);

	/* keep going: the uuids are still read */
	open_path(&o, path, BT_OPEN_KEEP_GOING);
	cr_assert_eq(o.ret, -BT_ERR_PRIO_BAD_CSUM);
	cr_assert_not_null(o.c.uuids);
	close_opened(&o);
}

/* ---- dump-journal ------------------------------------------------------------ */

GOLDEN_TEST(dump_journal, s05_text_and_json)
{
	const char *name = "s05-btree-depth2";
	struct replay_truth t = manifest_replay(name);
	char *path = t_golden_image(name, "cache"), *out = NULL, *err = NULL, want[160];
	unsigned long long keys = 0, jsets = 0;
	json_error_t jerr;
	json_t *o, *ents, *e;
	size_t i;
	int rc;

	rc = t_run(&out, &err, "dump-journal '%s'", path);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	snprintf(want, sizeof(want), "journal: %llu entries in replay range ", t.entries);
	cr_assert(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "-%llu, %llu keys,", t.seq, t.keys);
	cr_assert(strstr(out, want), "%s", out);
	/* one line per key in kernel notation */
	for (char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long long a, b, c2, d, e2, g;

		if (sscanf(l, " %llu:%llu len %llu -> [%llu:%llu gen %llu]", &a, &b, &c2, &d,
			   &e2, &g) == 6)
			keys++;
		if (!strncmp(l, "jset seq ", 9))
			jsets++;
	}
	cr_assert_eq(keys, t.keys);
	cr_assert_eq(jsets, t.entries);
	free(out);
	free(err);

	rc = t_run(&out, &err, "dump-journal --json '%s'", path);
	cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
	o = json_loads(out, 0, &jerr);
	cr_assert_not_null(o, "%s", jerr.text);
	cr_assert_eq(json_integer_value(json_object_get(o, "newest_seq")), (json_int_t)t.seq);
	cr_assert_eq(json_integer_value(json_object_get(o, "keys_in_replay")), (json_int_t)t.keys);
	ents = json_object_get(o, "entries");
	cr_assert_eq(json_array_size(ents), t.entries);
	keys = 0;
	json_array_foreach(ents, i, e)
		keys += json_array_size(json_object_get(e, "keys"));
	cr_assert_eq(keys, t.keys);
	/* the manifest: tree depth 1 after re-registration = root level 1 */
	{
		json_t *m = t_manifest_case(name);

		e = json_array_get(ents, json_array_size(ents) - 1);
		cr_assert_eq(json_integer_value(json_object_get(e, "btree_level")),
			     strtoll(t_manifest_str(m, "truth_after_reregister", "tree_depth"), NULL, 10));
		json_decref(m);
	}
	json_decref(o);
	free(out);
	free(err);

	/* --all lists at least the replay range */
	rc = t_run(&out, &err, "dump-journal --all --json '%s'", path);
	cr_assert_eq(rc, 0);
	o = json_loads(out, 0, &jerr);
	cr_assert_not_null(o);
	cr_assert_geq(json_array_size(json_object_get(o, "all_entries")), t.entries);
	json_decref(o);
	free(out);
	free(err);
}

GOLDEN_TEST(dump_journal, s01_and_usage)
{
	char *path = t_golden_image("s01-fresh-superblocks", "cache");
	char *out = NULL, *err = NULL;
	int rc;

	free(dump_journal(path, "", 4, NULL, "no cache set yet"));
	rc = t_run(&out, &err, "dump-journal");
	cr_assert_eq(rc, 16);
	free(out);
	free(err);
}

/* ---- more damage -------------------------------------------------------------- */

/*
 * s05 keeps entries in journal buckets 1..9, the newest (93) in 9 and the
 * replay range 81-93 across 7, 8 and 9. Zeroing bucket 7 loses seq 81 (the
 * first of the range) and fools the kernel's binary search: its probe finds
 * bucket 4, then bucket 7 looks empty, so it never reads 8 and 9 and takes
 * the newest entry of bucket 6 as the newest of the journal.
 */
/* on 6.1's image only: the bucket, block and journal layout are that kernel's */
Test(journal_damage, kernel_search_disagrees)
{
	const char *name = "s05-btree-depth2";
	struct replay_truth t = manifest_replay(name);
	char *path = t_golden_image(name, "cache"), want[128];
	uint64_t first = t.seq - t.entries + 1, newest6 = 0, newest7 = 0;
	struct opened o;

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0);
	cr_assert_eq(o.c.sb.keys, 32);
	cr_assert_eq(o.c.journal.cur_idx, 9);
	for (size_t i = 0; i < o.c.journal.nr_all; i++) {
		uint64_t seq = le64toh(o.c.journal.all[i].j->seq);

		if (o.c.journal.all[i].bucket_idx == 6 && seq > newest6)
			newest6 = seq;
		if (o.c.journal.all[i].bucket_idx == 7 && seq > newest7)
			newest7 = seq;
	}
	cr_assert_eq(newest7, first, "bucket 7 ends with the first seq of the replay range");
	zero_range(path, journal_bucket_byte(&o.c, 7), (size_t)o.c.bucket_size << SECTOR_SHIFT);
	close_opened(&o);

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	cr_assert_eq(o.c.journal.newest_seq, t.seq);
	cr_assert_eq(o.c.journal.nr, t.entries - 1);
	cr_assert_eq(o.c.journal.nr_missing, 1);
	cr_assert_eq(o.c.journal.missing[0][0], first);
	cr_assert_eq(o.c.journal.missing[0][1], first);
	cr_assert(o.c.journal.kernel_differs);
	cr_assert_eq(o.c.journal.kernel_newest_seq, newest6);
	cr_assert_eq(o.c.journal.kernel_cur_idx, 6);
	close_opened(&o);

	/* strict open fails the way the kernel's replay does */
	open_path(&o, path, BT_OPEN_STRICT);
	cr_assert_eq(o.ret, -BT_ERR_JOURNAL_MISSING_ENTRIES, "%d", o.ret);
	snprintf(want, sizeof(want), "journal entries %llu-%llu missing! (replaying %llu-%llu)",
		 (unsigned long long)first, (unsigned long long)first,
		 (unsigned long long)first, t.seq);
	cr_assert(strstr(printbuf_str(&o.err), want), "%s", printbuf_str(&o.err));
	close_opened(&o);

	{
		char *out = dump_journal(path, "", 0, want, NULL);

		cr_assert(strstr(out, "the kernel's journal search would find"), "%s", out);
		free(out);
	}
}

/* A jset header claiming more than 32 KiB stops the bucket scan ("too big"). */
GOLDEN_TEST(journal_damage, jset_too_big)
{
	const char *name = "s04-writeback-dirty-crash";
	struct replay_truth t = manifest_replay(name);
	char *path = t_golden_image(name, "cache");
	struct opened o;
	uint64_t sector;
	uint32_t keys = htole32(5000);	/* 240 + 40000 bytes */

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0);
	sector = bt_journal_newest(&o.c.journal)->sector;
	close_opened(&o);
	t_patch(path, (sector << SECTOR_SHIFT) + offsetof(struct jset, keys), &keys, 4);

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	cr_assert_eq(o.c.journal.nr_damage, 1);
	cr_assert_eq(o.c.journal.damage[0].kind, BT_JDAMAGE_TOO_BIG);
	cr_assert_eq(o.c.journal.damage[0].bytes, 240 + 8 * 5000);
	cr_assert(strstr(o.c.journal.damage[0].msg, "jset too big at byte"), "%s",
		  o.c.journal.damage[0].msg);
	cr_assert_eq(o.c.journal.newest_seq, t.seq - 1);
	close_opened(&o);
}

/*
 * A newest jset of version 0 makes the uuid bucket be read as 64-byte v0
 * entries (super.c uuid_read()): slot i of the converted array comes from
 * bytes [64 i, 64 i + 64) of the bucket, with flags and sectors zeroed.
 */
GOLDEN_TEST(journal_damage, uuid_v0_conversion)
{
	char *path = t_golden_image("s06-flash-volume", "cache");
	struct opened o;
	struct uuid_entry orig0;
	uint64_t off;
	struct jset *j;
	size_t bytes;

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0);
	orig0 = o.c.uuids[0];
	cr_assert(bt_uuid_flash_only(&orig0));
	j = newest_jset(&o, &off, &bytes);
	close_opened(&o);

	j->version = 0;
	j->csum = htole64(bt_jset_csum(j));
	t_patch(path, off, j, bytes);
	free(j);

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	cr_assert(o.c.uuids_converted);
	cr_assert_eq(o.c.uuids_version, 0);
	cr_assert_eq(memcmp(o.c.uuids[0].uuid, orig0.uuid, 16), 0);
	cr_assert_eq(memcmp(o.c.uuids[0].label, orig0.label, 32), 0);
	cr_assert_eq(o.c.uuids[0].first_reg, orig0.first_reg);
	cr_assert_eq(o.c.uuids[0].flags, 0);
	cr_assert_eq(o.c.uuids[0].sectors, 0);
	/* v0 slot 1 = bytes 64..79 of the v1 slot 0: its sectors field first */
	cr_assert_eq(memcmp(o.c.uuids[1].uuid, (const uint8_t *)&orig0 + 64, 16), 0);
	close_opened(&o);
}

/* A bad root pointer in the newest jset: "bad btree root"; dump-journal still prints. */
GOLDEN_TEST(journal_damage, bad_root_pointer)
{
	char *path = t_golden_image("s07-writethrough-clean", "cache");
	struct opened o;
	struct jset *j;
	uint64_t off;
	size_t bytes;
	struct bkey *k;

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0);
	j = newest_jset(&o, &off, &bytes);
	k = (struct bkey *)j->btree_root;
	SET_PTR(k, 0, PTR_GEN(k, 0), bt_bucket_to_sector(&o.c, o.c.nbuckets + 1), 0);
	j->csum = htole64(bt_jset_csum(j));
	close_opened(&o);
	t_patch(path, off, j, bytes);
	free(j);

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, -BT_ERR_BTREE_BAD_ROOT, "%d %s", o.ret, printbuf_str(&o.err));
	cr_assert(strstr(printbuf_str(&o.err), "bad, offset past end of device"), "%s",
		  printbuf_str(&o.err));
	cr_assert(strstr(printbuf_str(&o.err), "bad btree root"), "%s", printbuf_str(&o.err));
	close_opened(&o);
	free(dump_journal(path, "", 4, "jset seq ", "bad btree root"));
}

/* A dirty uuid_bucket key in the newest jset: "bad uuid pointer" after the prios are read. */
GOLDEN_TEST(journal_damage, bad_uuid_pointer)
{
	char *path = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	struct opened o;
	struct jset *j;
	uint64_t off;
	size_t bytes;
	char want[160];

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, 0);
	j = newest_jset(&o, &off, &bytes);
	SET_KEY_DIRTY((struct bkey *)j->uuid_bucket, 1);
	j->csum = htole64(bt_jset_csum(j));
	close_opened(&o);
	t_patch(path, off, j, bytes);
	free(j);

	open_path(&o, path, 0);
	cr_assert_eq(o.ret, -BT_ERR_UUID_BAD_PTR, "%d %s", o.ret, printbuf_str(&o.err));
	snprintf(want, sizeof(want), "uuid bucket pointer in jset %llu at byte %llu of '%s' is "
		 "marked dirty: bad uuid pointer", (unsigned long long)o.c.journal.newest_seq,
		 (unsigned long long)off + 40, path);
	cr_assert(strstr(printbuf_str(&o.err), want), "%s", printbuf_str(&o.err));
	/* the prio chain was read before */
	cr_assert_not_null(o.c.buckets);
	cr_assert_eq(o.c.prio_chain[0], o.c.prio_start);
	close_opened(&o);
}

GOLDEN_TEST(dump_journal, backing_device)
{
	char *path = t_golden_image("s03-writeback-dirty-clean-stop", "backing");

	free(dump_journal(path, "", 8, NULL, "is not a cache device"));
}

/* A key whose pointers run past the end of its jset: counted, printed as truncated, no crash. */
GOLDEN_TEST(journal_damage, truncated_key)
{
	char *path = t_golden_image("s04-writeback-dirty-crash", "cache");
	struct opened o;
	struct jset *j;
	uint64_t off;
	size_t bytes;
	bool truncated;

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0);
	j = newest_jset(&o, &off, &bytes);
	close_opened(&o);
	cr_assert_geq(le32toh(j->keys), 3);
	/* make the last 3-u64 key claim 7 pointers: 9 u64s, 6 past the end */
	SET_KEY_PTRS((struct bkey *)(j->d + le32toh(j->keys) - 3), 7);
	cr_assert_eq(bt_jset_nr_keys(j, &truncated), bt_jset_nr_keys(j, NULL));
	cr_assert(truncated);
	j->csum = htole64(bt_jset_csum(j));
	t_patch(path, off, j, bytes);
	free(j);

	free(dump_journal(path, "", 0, "truncated key: 6 u64s past the end of the jset", NULL));
	free(dump_journal(path, "--json --all", 0, "\"truncated_key\": true", NULL));
}

/*
 * A bad csum in the middle of a bucket: the kernel's scan stops there, so
 * the later jsets of that bucket are lost to it. They are still found
 * (hidden) and reported; the newest seq the kernel sees drops below them.
 */
GOLDEN_TEST(journal_damage, bad_csum_hides_later_entries)
{
	const char *name = "s04-writeback-dirty-crash";
	struct replay_truth t = manifest_replay(name);
	char *path = t_golden_image(name, "cache");
	uint64_t sector = 0, hidden_sector = 0, first = t.seq - t.entries + 1;
	unsigned bucket_idx;
	struct opened o;
	char want[256];

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0);
	/* the second entry of the replay range, and the newest, share a bucket */
	cr_assert_eq(o.c.journal.nr, 4);
	cr_assert_eq(o.c.journal.entries[1].bucket_idx, o.c.journal.entries[3].bucket_idx);
	sector = o.c.journal.entries[1].sector;
	hidden_sector = o.c.journal.entries[3].sector;
	bucket_idx = o.c.journal.entries[3].bucket_idx;
	close_opened(&o);

	xor_byte(path, (sector << SECTOR_SHIFT) + 250, 0x80);

	open_path(&o, path, BT_OPEN_JOURNAL_ONLY);
	cr_assert_eq(o.ret, 0, "%s", printbuf_str(&o.err));
	cr_assert_eq(o.c.journal.newest_seq, first);
	cr_assert_eq(o.c.journal.nr_damage, 1);
	cr_assert_eq(o.c.journal.damage[0].seq, first + 1);
	close_opened(&o);

	snprintf(want, sizeof(want), "jset seq %llu at byte %llu of '%s' (journal bucket %u) "
		 "lies past the end of the kernel's scan of its bucket", t.seq,
		 (unsigned long long)hidden_sector << SECTOR_SHIFT, path, bucket_idx);
	free(dump_journal(path, "", 0, want, NULL));
}

/* ---- robustness --------------------------------------------------------------- */

/*
 * Random damage to the journal, prio and uuid buckets of an in-memory copy
 * of s03: every open must end with 0 or one of the documented codes, never
 * crash or hang, and leave nothing allocated after bt_cache_set_exit().
 */
GOLDEN_TEST(journal_damage, random_corruption, .timeout = 120)
{
	char *path = t_golden_image("s03-writeback-dirty-clean-stop", "cache");
	size_t len;
	uint8_t *img = (uint8_t *)t_read_file(path, &len);
	struct bt_dev dev;
	struct cache_set c;
	struct printbuf err = PRINTBUF;
	uint64_t regions[3][2];
	unsigned seed = 12345;

	bt_dev_open_mem(&dev, "s03-mem", img, len, false);
	cr_assert_eq(bt_cache_set_open(&c, &dev, 0, &err), 0);
	regions[0][0] = bt_bucket_to_sector(&c, c.sb.d[0]) << SECTOR_SHIFT;
	regions[0][1] = bt_bucket_to_sector(&c, c.sb.d[c.sb.keys - 1] + 1) << SECTOR_SHIFT;
	regions[1][0] = bt_bucket_to_sector(&c, c.prio_start) << SECTOR_SHIFT;
	regions[1][1] = regions[1][0] + 4096;
	regions[2][0] = PTR_OFFSET((struct bkey *)c.uuid_key.w, 0) << SECTOR_SHIFT;
	regions[2][1] = regions[2][0] + 512;
	bt_cache_set_exit(&c);

	for (unsigned it = 0; it < 300; it++) {
		unsigned r = (unsigned)rand_r(&seed) % 3, n = 1 + (unsigned)rand_r(&seed) % 8;
		uint64_t saved_off[8];
		uint8_t saved[8];
		int ret;

		for (unsigned i = 0; i < n; i++) {
			uint64_t span = regions[r][1] - regions[r][0];

			/* bias toward jset headers: the first 256 bytes of a block */
			saved_off[i] = regions[r][0] + (uint64_t)rand_r(&seed) % span;
			if (r == 0 && rand_r(&seed) % 2)
				saved_off[i] = (saved_off[i] & ~4095ULL) + (unsigned)rand_r(&seed) % 256;
			saved[i] = img[saved_off[i]];
			img[saved_off[i]] ^= (uint8_t)(1 + rand_r(&seed) % 255);
		}
		printbuf_reset(&err);
		ret = bt_cache_set_open(&c, &dev, it % 2 ? BT_OPEN_KEEP_GOING : 0, &err);
		cr_assert(ret == 0 || ret == -BT_ERR_JOURNAL_EMPTY || ret == -BT_ERR_BTREE_BAD_ROOT ||
			  ret == -BT_ERR_UUID_BAD_PTR || ret == -BT_ERR_PRIO_BAD_CSUM ||
			  ret == -BT_ERR_PRIO_BAD_MAGIC || ret == -BT_ERR_PRIO_BAD_CHAIN,
			  "iteration %u: %d %s", it, ret, printbuf_str(&err));
		if (ret)
			cr_assert_gt(err.pos, 0, "iteration %u: no message", it);
		{
			struct printbuf out = PRINTBUF;

			for (size_t i = 0; i < c.journal.nr_all; i++)
				bt_jset_to_text(&out, &c, &c.journal.all[i], true);
			bt_journal_problems_to_text(&out, &c);
			printbuf_exit(&out);
		}
		bt_cache_set_exit(&c);
		for (unsigned i = n; i-- > 0;)
			img[saved_off[i]] = saved[i];
	}
	printbuf_exit(&err);
	bt_dev_close(&dev);
	free(img);
}

/* A superblock with a bad checksum stops dump-journal unless --force is given. */
GOLDEN_TEST(dump_journal, force_bad_sb_csum)
{
	const char *name = "s06-flash-volume";
	struct replay_truth t = manifest_replay(name);
	char *path = t_golden_image(name, "cache"), want[64];
	uint8_t byte = 0xff;

	/* a label byte: covered by the csum, checked by nothing else */
	t_patch(path, SB_OFFSET_BYTES + offsetof(struct cache_sb_disk, label) + 31, &byte, 1);
	free(dump_journal(path, "", 8, NULL, "bad checksum in superblock"));
	snprintf(want, sizeof(want), "entries in replay range %llu-%llu, %llu keys",
		 t.seq - t.entries + 1, t.seq, t.keys);
	free(dump_journal(path, "--force", 0, want, NULL));
}
