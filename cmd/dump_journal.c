/* dump_journal.c --- bcache-tool dump-journal: print a cache's journal entries. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey_json.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"
#include "libcore/read/journal.h"
#include "libcore/dev/signature.h"
#include "cmds.h"

/* A key from a 64-byte jset slot; NULL when its pointer count overflows the slot. */
static json_t *slot_json(const uint64_t slot[BKEY_PAD])
{
	struct bkey_padded tmp;

	memcpy(tmp.w, slot, sizeof(tmp.w));
	if (KEY_PTRS((struct bkey *)tmp.w) > BKEY_PAD - 2)
		return json_null();
	return bt_bkey_to_json(NULL, (struct bkey *)tmp.w);
}

static json_t *jset_json(const struct cache_set *c, const struct bt_journal_entry *e)
{
	const struct jset *j = e->j;
	const uint64_t *p = j->d, *end = j->d + le32toh(j->keys);
	unsigned dev = c->nr_this_dev < MAX_CACHES_PER_SET ? c->nr_this_dev : 0;
	json_t *o = json_object(), *keys = json_array();

	json_object_set_new(o, "seq", json_integer((json_int_t)le64toh(j->seq)));
	json_object_set_new(o, "last_seq", json_integer((json_int_t)le64toh(j->last_seq)));
	json_object_set_new(o, "version", json_integer(le32toh(j->version)));
	json_object_set_new(o, "u64s", json_integer(le32toh(j->keys)));
	json_object_set_new(o, "journal_bucket", json_integer(e->bucket_idx));
	json_object_set_new(o, "sector", json_integer((json_int_t)e->sector));
	json_object_set_new(o, "bytes", json_integer((json_int_t)e->bytes));
	json_object_set_new(o, "hidden", json_boolean(e->hidden));
	json_object_set_new(o, "btree_root", slot_json(j->btree_root));
	json_object_set_new(o, "btree_level", json_integer(le16toh(j->btree_level)));
	json_object_set_new(o, "uuid_bucket", slot_json(j->uuid_bucket));
	json_object_set_new(o, "prio_bucket",
			    json_integer((json_int_t)le64toh(j->prio_bucket[dev])));
	while (p < end && p + bkey_u64s((const struct bkey *)p) <= end) {
		json_array_append_new(keys, bt_bkey_to_json(NULL, (const struct bkey *)p));
		p += bkey_u64s((const struct bkey *)p);
	}
	json_object_set_new(o, "keys", keys);
	json_object_set_new(o, "truncated_key", json_boolean(p < end));
	return o;
}

static int print_json(const struct cache_set *c, const char *path, bool all, int ret,
		      const char *msg)
{
	const struct bt_journal *jn = &c->journal;
	json_t *o = json_object(), *arr = json_array(), *dmg = json_array(), *miss = json_array();
	const struct bt_journal_entry *v = all ? jn->all : jn->entries;
	size_t n = all ? jn->nr_all : jn->nr;

	json_object_set_new(o, "device", json_string(path));
	json_object_set_new(o, "error", ret ? json_string(bt_err_str(ret)) : json_null());
	json_object_set_new(o, "message", msg && *msg ? json_string(msg) : json_null());
	json_object_set_new(o, "newest_seq", json_integer((json_int_t)jn->newest_seq));
	json_object_set_new(o, "last_seq", json_integer((json_int_t)jn->last_seq));
	json_object_set_new(o, "entries_in_replay", json_integer((json_int_t)jn->nr));
	json_object_set_new(o, "keys_in_replay", json_integer((json_int_t)jn->nr_keys));
	json_object_set_new(o, "cur_idx", json_integer(jn->cur_idx));
	json_object_set_new(o, "kernel_differs", json_boolean(jn->kernel_differs));
	json_object_set_new(o, "kernel_newest_seq", json_integer((json_int_t)jn->kernel_newest_seq));
	json_object_set_new(o, "kernel_entries", json_integer((json_int_t)jn->kernel_nr));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, jset_json(c, &v[i]));
	json_object_set_new(o, all ? "all_entries" : "entries", arr);
	for (size_t i = 0; i < jn->nr_damage; i++) {
		static const char *const kinds[] = { "?", "bad_csum", "too_big", "io" };
		const struct bt_journal_damage *d = &jn->damage[i];
		json_t *dj = json_object();

		json_object_set_new(dj, "journal_bucket", json_integer(d->bucket_idx));
		json_object_set_new(dj, "sector", json_integer((json_int_t)d->sector));
		json_object_set_new(dj, "kind", json_string(kinds[d->kind < 4 ? d->kind : 0]));
		json_object_set_new(dj, "message", json_string(d->msg));
		json_array_append_new(dmg, dj);
	}
	json_object_set_new(o, "damage", dmg);
	for (size_t i = 0; i < jn->nr_missing; i++) {
		json_t *r = json_array();

		json_array_append_new(r, json_integer((json_int_t)jn->missing[i][0]));
		json_array_append_new(r, json_integer((json_int_t)jn->missing[i][1]));
		json_array_append_new(miss, r);
	}
	json_object_set_new(o, "missing", miss);
	json_dumpf(o, stdout, JSON_INDENT(1));
	fputc('\n', stdout);
	json_decref(o);
	return 0;
}

static void print_text(const struct cache_set *c, bool all)
{
	const struct bt_journal *jn = &c->journal;
	const struct bt_journal_entry *v = all ? jn->all : jn->entries;
	size_t n = all ? jn->nr_all : jn->nr;
	struct printbuf out = PRINTBUF;

	if (jn->nr)
		prt_printf(&out, "journal: %zu entries in replay range %llu-%llu, %llu keys, "
			   "newest in journal bucket %u", jn->nr,
			   (unsigned long long)jn->last_seq, (unsigned long long)jn->newest_seq,
			   (unsigned long long)jn->nr_keys, jn->cur_idx);
	else
		prt_str(&out, "journal: no entries in replay range");
	if (all)
		prt_printf(&out, "; %zu valid jsets found", jn->nr_all);
	prt_newline(&out);
	for (size_t i = 0; i < n; i++)
		bt_jset_to_text(&out, c, &v[i], true);
	bt_journal_problems_to_text(&out, c);
	fputs(printbuf_str(&out), stdout);
	printbuf_exit(&out);
}

/* Read DEV's journal and print it. The exit status (printed). */
static int dump(const char *path, bool all, bool json, bool force)
{
	struct printbuf err = PRINTBUF;
	struct cache_set c;
	struct bt_dev dev;
	int ret, status = BT_EXIT_OK;

	/* only reads: no in-use checks (libcore/target.h), but nothing foreign */
	ret = bt_dev_open(path, BT_DEV_FORCE, &dev, &err);
	if (!ret && (ret = bt_probe_foreign(&dev, &err)))
		bt_dev_close(&dev);
	if (ret) {
		bt_error_pb(&err);
		printbuf_exit(&err);
		return BT_EXIT_OPERATIONAL;
	}
	ret = bt_cache_set_open(&c, &dev, BT_OPEN_JOURNAL_ONLY |
				(force ? BT_OPEN_NO_SB_VALIDATE : 0), &err);
	/* a bad root pointer or an empty journal still leaves something to print */
	if (ret && ret != -BT_ERR_BTREE_BAD_ROOT && ret != -BT_ERR_JOURNAL_EMPTY) {
		if (json)
			print_json(&c, path, all, ret, printbuf_str(&err));
		bt_error_pb(&err);
		status = ret == -BT_ERR_NO_CACHE_SET ? BT_EXIT_UNCORRECTED : BT_EXIT_OPERATIONAL;
		goto out;
	}
	if (json)
		print_json(&c, path, all, ret, printbuf_str(&err));
	else
		print_text(&c, all);
	/* damage and gaps are printed; they alone do not fail the dump */
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_UNCORRECTED;
	}
out:
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	return status;
}

int cmd_dump_journal(int argc, const char **argv)
{
	int all = 0, json = 0, force = 0, status;
	struct poptOption opts[] = {
		{ "force", 'f', POPT_ARG_NONE, &force, 0,
		  "read the journal even when the superblock does not validate", NULL },
		{ "all", 'a', POPT_ARG_NONE, &all, 0,
		  "print every valid jset found, not only the replay range", NULL },
		{ "json", 0, POPT_ARG_NONE, &json, 0, "print JSON", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("dump-journal", argc, argv, opts, "DEV");
	const char **args;

	if (!pc)
		return BT_EXIT_USAGE;
	args = poptGetArgs(pc);
	if (!args || !args[0] || args[1]) {
		bt_error("dump-journal: expected exactly one device");
		poptPrintUsage(pc, stderr, 0);
		status = BT_EXIT_USAGE;
	} else {
		status = dump(args[0], all, json, force);
	}
	poptFreeContext(pc);
	return status;
}
