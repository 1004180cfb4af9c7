/* dump_btree.c --- bcache-tool dump-btree: print a cache's btree nodes and keys.
 *
 * Source of leaf keys: by default the view after journal replay (overlay.h:
 * the btree's leaves with the journal's keys applied, each key shown in the
 * leaf whose range holds it, cut at leaf boundaries as the kernel's insert
 * cuts it); with --no-journal the on-disk btree alone.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/ondisk/bkey.h"
#include "libcore/ondisk/bkey_json.h"
#include "libcore/read/btree.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/base/errcode.h"
#include "libcore/read/node_cache.h"
#include "libcore/read/overlay.h"
#include "libcore/read/view.h"
#include "libcore/read/view_leaves.h"
#include "cmds.h"

struct dump_ctx {
	struct cache_set	*c;
	bool			json, nodes_only, keys_only, live_only;
	long long		level;		/* -1: all levels */
	long long		inode;		/* -1: all inodes */
	unsigned long long	start, end;	/* sector range [start, end) */
	bool			with_journal;	/* the view after journal replay, not the on-disk btree */
	bool			wanted;		/* the current node's keys are printed */
	/*
	 * --json is printed as it goes, one node object at a time (never the
	 * whole document in memory): jcur is the current node's, keys and
	 * inval its arrays; jheader the document's opening, printed before
	 * the first node (jnodes: nodes printed)
	 */
	json_t			*jcur, *keys, *inval;
	char			*jheader;
	unsigned long		jnodes;
	const struct bt_view	*v;		/* the device and its view's figures */
	const char		*path;
	unsigned long		nr_nodes, nr_keys, nr_errors;
};

/* Does a leaf key lie in the inode/sector filter? Interior keys always do. */
static bool key_selected(const struct dump_ctx *d, const struct bkey *k, unsigned level)
{
	if (level)
		return true;
	if (d->inode >= 0 && KEY_INODE(k) != (unsigned long long)d->inode)
		return false;
	return KEY_OFFSET(k) > d->start && KEY_START(k) < d->end;
}

/* Kernel-visible state of a key as a short marker ("" when live). */
static void key_marker(const struct dump_ctx *d, const struct bkey *k, unsigned level,
		       struct printbuf *out, bool *live)
{
	struct bt_extent_bad_info info = { 0 };
	bool bad = level ? bt_btree_ptr_bad(d->c, k) : bt_extent_bad(d->c, k, &info);
	enum bt_ptr_status s = bt_ptr_status(d->c, k);

	*live = !bad && KEY_SIZE(k);
	if (!bad)
		return;
	if (info.check_dev)
		prt_str(out, "bad: check dev");
	else if (s == BT_PTR_STALE && info.stale)
		prt_printf(out, "bad: stale %u%s%s", info.stale,
			   info.stale_dirty ? ", dirty data lost" : "",
			   info.too_stale ? ", too stale" : "");
	else if (s != BT_PTR_OK)
		prt_printf(out, "bad: %s", bt_ptr_status_str(s));
	else
		prt_str(out, "bad");
}

static json_t *key_json(const struct dump_ctx *d, const struct bkey *k, unsigned level)
{
	struct printbuf mk = PRINTBUF;
	json_t *o = bt_bkey_to_json(d->c, k);
	bool live;

	key_marker(d, k, level, &mk, &live);
	json_object_set_new(o, "live", json_boolean(live));
	json_object_set_new(o, "status", json_string(printbuf_str(&mk)));
	printbuf_exit(&mk);
	return o;
}

static void print_key(struct dump_ctx *d, const struct bkey *k, unsigned level,
		      const char *prefix, json_t *arr)
{
	struct printbuf pb = PRINTBUF, mk = PRINTBUF;
	bool live;

	key_marker(d, k, level, &mk, &live);
	if (d->live_only && !live)
		goto out;
	if (d->keys_only && level)
		goto out;
	d->nr_keys++;
	if (arr) {
		json_array_append_new(arr, key_json(d, k, level));
		goto out;
	}
	bt_bkey_to_text(&pb, k);
	if (mk.pos)
		printf("%s%s (%s)\n", prefix, printbuf_str(&pb), printbuf_str(&mk));
	else
		printf("%s%s\n", prefix, printbuf_str(&pb));
out:
	printbuf_exit(&pb);
	printbuf_exit(&mk);
}

static void range_text(struct printbuf *out, const struct bt_walk_pos *pos)
{
	prt_printf(out, "(%llu:%llu, %llu:%llu]",
		   (unsigned long long)pos->start_inode, (unsigned long long)pos->start_offset,
		   (unsigned long long)KEY_INODE(pos->end),
		   (unsigned long long)KEY_OFFSET(pos->end));
}

static json_t *node_json(const struct bt_node *n, const struct bt_walk_pos *pos)
{
	struct printbuf pb = PRINTBUF;
	json_t *o = json_object();

	range_text(&pb, pos);
	json_object_set_new(o, "level", json_integer(n->level));
	json_object_set_new(o, "depth", json_integer(pos->depth));
	json_object_set_new(o, "bucket", json_integer((json_int_t)n->bucket));
	json_object_set_new(o, "ptr_gen", json_integer(n->ptr_gen));
	json_object_set_new(o, "seq", json_integer((json_int_t)n->seq));
	json_object_set_new(o, "bsets", json_integer(n->nsets));
	json_object_set_new(o, "written_blocks", json_integer(n->written));
	json_object_set_new(o, "u64s", json_integer((json_int_t)n->bset_u64s));
	json_object_set_new(o, "nr_keys", json_integer((json_int_t)n->nr_keys));
	json_object_set_new(o, "range", json_string(printbuf_str(&pb)));
	json_object_set_new(o, "key_past_node", json_boolean(n->key_past_node));
	json_object_set_new(o, "nr_invalid", json_integer((json_int_t)n->nr_invalid));
	json_object_set_new(o, "nr_zero_size", json_integer((json_int_t)n->nr_zero_size));
	printbuf_exit(&pb);
	return o;
}

/*
 * The JSON document's opening, up to the "nodes" array: the same text as
 * jansson prints for the whole object; made at the first node (or at the
 * end), when bt_view_leaves() has counted the journal's keys. NULL when
 * out of memory.
 */
static char *json_header(const struct dump_ctx *d)
{
	const struct bt_view *v = d->v;
	json_t *top = json_object();
	char *text, *end, *h = NULL;

	json_object_set_new(top, "device", json_string(d->path));
	json_object_set_new(top, "source", json_string(d->with_journal ? "btree+journal" : "btree"));
	json_object_set_new(top, "journal_keys_replayed", json_integer((json_int_t)v->stats.journal_keys));
	json_object_set_new(top, "root_level", json_integer(v->c.root_level));
	text = json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(top);
	end = text ? strrchr(text, '\n') : NULL;	/* before the closing brace */
	if (end) {
		*end = 0;
		if (asprintf(&h, "%s,\n  \"nodes\": ", text) < 0)
			h = NULL;
	}
	free(text);
	return h;
}

/* Print the JSON text of o with every line after the first indented by indent more spaces. */
static void print_indented(json_t *o, const char *indent)
{
	char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	for (const char *p = text; p && *p; p++) {
		putchar(*p);
		if (*p == '\n')
			fputs(indent, stdout);
	}
	free(text);
}

/* The current node's object into the "nodes" array, after the document's opening. */
static void emit_node(struct dump_ctx *d)
{
	if (!d->jcur)
		return;
	if (!d->jnodes++ && (d->jheader || (d->jheader = json_header(d))))
		printf("%s[\n    ", d->jheader);
	else
		fputs(",\n    ", stdout);
	print_indented(d->jcur, "    ");
	json_decref(d->jcur);
	d->jcur = d->keys = d->inval = NULL;
}

/*
 * A node's line (or JSON object): does the node pass the --level filter
 * and are its keys wanted? Sets d->keys and d->inval for the JSON form.
 */
static bool node_header(struct dump_ctx *d, const struct bt_node *n, const struct bt_walk_pos *pos)
{
	d->keys = d->inval = NULL;
	if (d->level >= 0 && n->level != (unsigned long long)d->level)
		return false;
	if (d->json) {
		d->jcur = node_json(n, pos);
		if (d->nodes_only) {
			emit_node(d);
			return false;
		}
		d->keys = json_array();
		d->inval = json_array();
		json_object_set_new(d->jcur, "keys", d->keys);
		json_object_set_new(d->jcur, "invalid", d->inval);
	} else if (!d->keys_only) {
		struct printbuf pb = PRINTBUF;

		bt_node_to_text(&pb, n);
		prt_str(&pb, " range ");
		range_text(&pb, pos);
		printf("node %s\n", printbuf_str(&pb));
		printbuf_exit(&pb);
	}
	return !d->nodes_only;
}

/* The keys a node's read found invalid, after its keys. */
static void print_invalid(struct dump_ctx *d, const struct bt_node *n)
{
	const struct bkey *k;

	if (d->keys_only || d->live_only)
		return;
	for_each_node_invalid_key(n, k) {
		struct printbuf pb = PRINTBUF;

		if (!key_selected(d, k, n->level))
			continue;
		if (d->inval) {
			json_array_append_new(d->inval, key_json(d, k, n->level));
		} else {
			bt_bkey_to_text(&pb, k);
			printf("  invalid: %s (%s)\n", printbuf_str(&pb),
			       bt_ptr_status_str(bt_ptr_status(d->c, k)));
		}
		printbuf_exit(&pb);
	}
}

/*
 * Each node as the walk reaches it: its line, then its own keys, except
 * for a leaf of the view after journal replay, whose keys come through
 * view_key() and whose invalid keys through view_leaf_done().
 */
static int print_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct dump_ctx *d = arg;
	const struct bkey *k;

	d->nr_nodes++;
	d->wanted = node_header(d, n, pos);
	if (!d->wanted || (d->with_journal && !n->level))
		return 0;
	for_each_node_key(n, k)
		if (key_selected(d, k, n->level))
			print_key(d, k, n->level, d->keys_only ? "" : "  ", d->keys);
	print_invalid(d, n);
	emit_node(d);
	return 0;
}

/* A key of the view in the current leaf's range, cut to it (view_leaves.h). */
static int view_key(struct cache_set *c, const struct bkey *k, void *arg)
{
	struct dump_ctx *d = arg;

	(void)c;
	if (d->wanted && key_selected(d, k, 0))
		print_key(d, k, 0, d->keys_only ? "" : "  ", d->keys);
	return 0;
}

static int view_leaf_done(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct dump_ctx *d = arg;

	(void)pos;
	if (d->wanted) {
		print_invalid(d, n);
		emit_node(d);
	}
	return 0;
}

static int walk_error(const struct bkey *k, unsigned level, int err, const char *msg,
		      void *arg)
{
	struct dump_ctx *d = arg;

	(void)k;
	(void)level;
	(void)err;
	d->nr_errors++;
	bt_error("%s", msg);
	return 0;
}

static int parse_num(const char *opt, const char *s, unsigned long long *v)
{
	char *end;

	if (!s)
		return 0;
	*v = strtoull(s, &end, 0);
	if (*s == '-' || !*s || *end) {
		bt_error("dump-btree: bad number '%s' for %s", s, opt);
		return -1;
	}
	return 0;
}

/* The options as popt leaves them. */
struct dump_opts {
	char	*inode, *start, *end, *level, *cache_size;	/* popt-allocated */
	int	json, nodes_only, no_journal, keys_only, live;
};

static int run_dump(poptContext pc, const struct dump_opts *o);

int cmd_dump_btree(int argc, const char **argv)
{
	struct dump_opts o = { 0 };
	struct poptOption opts[] = {
		{ "json", 0, POPT_ARG_NONE, &o.json, 0, "print JSON", NULL },
		{ "no-journal", 0, POPT_ARG_NONE, &o.no_journal, 0,
		  "the on-disk btree alone, without the journal's keys", NULL },
		{ "inode", 0, POPT_ARG_STRING, &o.inode, 0, "only keys of this inode (uuid slot)", "N" },
		{ "start", 0, POPT_ARG_STRING, &o.start, 0, "only keys ending after this sector", "SECTOR" },
		{ "end", 0, POPT_ARG_STRING, &o.end, 0, "only keys starting before this sector", "SECTOR" },
		{ "level", 0, POPT_ARG_STRING, &o.level, 0, "only nodes of this level", "L" },
		{ "nodes-only", 0, POPT_ARG_NONE, &o.nodes_only, 0, "print nodes, not keys", NULL },
		{ "keys-only", 0, POPT_ARG_NONE, &o.keys_only, 0,
		  "print leaf keys only, one per line, in kernel notation", NULL },
		{ "live", 0, POPT_ARG_NONE, &o.live, 0,
		  "only keys the kernel serves (not bad, non-zero size)", NULL },
		{ "cache-size", 0, POPT_ARG_STRING, &o.cache_size, 0,
		  "memory bound of the node cache (default 64M)", "BYTES" },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("dump-btree", argc, argv, opts, "DEV");
	int status;

	if (!pc)
		return BT_EXIT_USAGE;
	status = run_dump(pc, &o);
	/* popt hands string options over to us */
	free(o.inode);
	free(o.start);
	free(o.end);
	free(o.level);
	free(o.cache_size);
	poptFreeContext(pc);
	return status;
}

/* The filters and forms of the options into d. 0, or BT_EXIT_USAGE (printed). */
static int parse_filters(const struct dump_opts *o, struct dump_ctx *d,
			 unsigned long long *cache_bytes)
{
	unsigned long long v;

	if (parse_num("--inode", o->inode, &v))
		return BT_EXIT_USAGE;
	if (o->inode)
		d->inode = (long long)v;
	if (parse_num("--level", o->level, &v))
		return BT_EXIT_USAGE;
	if (o->level)
		d->level = (long long)v;
	if (parse_num("--start", o->start, &d->start) || parse_num("--end", o->end, &d->end))
		return BT_EXIT_USAGE;
	if (o->cache_size && bt_parse_size(o->cache_size, cache_bytes)) {
		bt_error("dump-btree: bad size '%s' for --cache-size", o->cache_size);
		return BT_EXIT_USAGE;
	}
	d->json = o->json;
	d->nodes_only = o->nodes_only;
	d->keys_only = o->keys_only;
	d->live_only = o->live || o->keys_only;
	return BT_EXIT_OK;
}

/* The closing figures: the JSON document (nodes and stats), or one or two lines. */
static void print_summary(struct dump_ctx *d, const struct bt_view *v,
			  unsigned long long cache_bytes)
{
	const struct cache_set *c = &v->c;
	uint64_t journal_keys = v->stats.journal_keys;
	struct bt_node_cache_stats st;

	bt_node_cache_stats(v->nc, &st);
	if (d->json) {
		json_t *s = json_object();

		if (!d->jnodes && (d->jheader = json_header(d)))
			printf("%s[]", d->jheader);
		else
			fputs("\n  ]", stdout);
		json_object_set_new(s, "nodes", json_integer((json_int_t)d->nr_nodes));
		/* the kernel's tree_depth: the root's level */
		json_object_set_new(s, "tree_depth", json_integer(c->root_level));
		json_object_set_new(s, "keys_printed", json_integer((json_int_t)d->nr_keys));
		json_object_set_new(s, "errors", json_integer((json_int_t)d->nr_errors));
		json_object_set_new(s, "journal_keys_not_shown",
				    json_integer(d->with_journal ? 0 : (json_int_t)c->journal.nr_keys));
		json_object_set_new(s, "cache_hits", json_integer((json_int_t)st.hits));
		json_object_set_new(s, "cache_misses", json_integer((json_int_t)st.misses));
		json_object_set_new(s, "cache_reclaimed", json_integer((json_int_t)st.reclaimed));
		json_object_set_new(s, "cache_peak_bytes", json_integer((json_int_t)st.peak_bytes));
		json_object_set_new(s, "cache_limit_bytes", json_integer((json_int_t)cache_bytes));
		fputs(",\n  \"stats\": ", stdout);
		print_indented(s, "  ");
		fputs("\n}\n", stdout);
		json_decref(s);
	} else if (!d->keys_only) {
		printf("nodes %lu tree_depth %u keys %lu errors %lu cache: misses %lu reclaimed %lu peak %zu bytes (limit %llu)\n",
		       d->nr_nodes, c->root_level, d->nr_keys, d->nr_errors, st.misses, st.reclaimed,
		       st.peak_bytes, cache_bytes);
		if (d->with_journal)
			printf("journal: %llu keys of the replay range applied\n",
			       (unsigned long long)journal_keys);
		else if (c->journal.nr_keys)
			printf("journal: %llu keys of the replay range are not shown (on-disk btree only)\n",
			       (unsigned long long)c->journal.nr_keys);
	}
}

/*
 * Open DEV's cache set and, unless --no-journal, the view after journal
 * replay. BT_EXIT_OK, BT_EXIT_PROBLEM (opened in part) or BT_EXIT_OPERATIONAL;
 * every message printed.
 */
static int dump_open(struct bt_view *v, const char *path, struct printbuf *err)
{
	int status = BT_EXIT_OK, ret;

	/* only reads: no in-use checks (libcore/target.h), but nothing foreign */
	ret = bt_view_open_path(v, path, err);
	if (!ret)
		ret = bt_view_open_set(v, err);
	if (ret) {
		bt_error_pb(err);
		return BT_EXIT_OPERATIONAL;
	}
	if (v->partial) {	/* e.g. a bad prio chain: go on with what was read */
		bt_error_pb(err);
		status = BT_EXIT_PROBLEM;
	}
	if (bt_view_node_cache(v, err)) {
		bt_error_pb(err);
		return BT_EXIT_OPERATIONAL;
	}
	return status;
}

/*
 * The walk: with the journal, the view leaf by leaf (view_leaves.h: the
 * gens raised by its first walk); without, the on-disk nodes as they are.
 */
static int dump_walk(struct dump_ctx *d, struct bt_view *v, struct printbuf *err)
{
	struct bt_walk_opts wo = {
		.node_fn = print_node, .error_fn = walk_error, .arg = d,
		.flags = BT_WALK_RAISE_GENS,
	};
	struct bt_view_leaves_opts lo = {
		.with_journal = true, .node_fn = print_node, .key_fn = view_key,
		.leaf_done_fn = view_leaf_done, .error_fn = walk_error, .arg = d,
	};

	if (d->with_journal)
		return bt_view_leaves(&v->c, v->nc, &lo, &v->stats, err);
	return bt_btree_walk(v->nc, (struct bkey *)&v->c.root_key, v->c.root_level, &wo, err);
}

static int run_dump(poptContext pc, const struct dump_opts *o)
{
	struct dump_ctx d = { .level = -1, .inode = -1, .end = ~0ULL };
	unsigned long long cache_bytes = BT_NODE_CACHE_DEFAULT_BYTES;
	struct printbuf err = PRINTBUF;
	struct bt_view v;
	const char **args = poptGetArgs(pc);
	int status, ret;

	if (!args || !args[0] || args[1]) {
		bt_error("dump-btree: exactly one device expected");
		poptPrintUsage(pc, stderr, 0);
		return BT_EXIT_USAGE;
	}
	status = parse_filters(o, &d, &cache_bytes);
	if (status)
		return status;
	bt_view_init(&v, &(struct bt_view_opts){
		.node_cache_bytes = cache_bytes, .who = "dump-btree",
		.threads = bt_online_cpus() });
	status = dump_open(&v, args[0], &err);
	if (status == BT_EXIT_OPERATIONAL)
		goto out;
	d.c = &v.c;
	d.with_journal = !o->no_journal;
	d.v = &v;
	d.path = args[0];
	ret = dump_walk(&d, &v, &err);
	json_decref(d.jcur);	/* a node the walk stopped in */
	if (ret) {
		bt_error_pb(&err);
		status = BT_EXIT_OPERATIONAL;
	}
	if (d.nr_errors && status == BT_EXIT_OK)
		status = BT_EXIT_PROBLEM;
	print_summary(&d, &v, cache_bytes);
	free(d.jheader);
out:
	bt_view_exit(&v);
	printbuf_exit(&err);
	return status;
}
