/* test_fsck_summary.c --- fsck's summary against what the kernel served.
 *
 * The figures are those of the view the kernel serves after journal
 * replay: per uuid slot, the data and dirty sectors equal the sums over
 * the kernel's own key dump after re-registration (keys-post.txt.zst), and
 * tree_depth is the kernel's (MANIFEST truth_after_reregister). Checked on
 * both bundled sets, images/ (Linux 6.1) and images/6.12/. After a repair
 * the summary is the one a following 'fsck -n' prints.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* A set of golden images: its directory (MANIFEST.json, NAME/...) and manifest. */
struct golden_set {
	char	*dir;
	json_t	*manifest;
};

static bool golden_set_load(struct golden_set *g, const char *dir)
{
	char path[1024];
	json_error_t jerr;

	snprintf(path, sizeof(path), "%s/MANIFEST.json", dir);
	if (access(path, R_OK))
		return false;
	g->manifest = json_load_file(path, 0, &jerr);
	cr_assert(json_is_array(g->manifest), "%s does not parse: %s", path, jerr.text);
	g->dir = strdup(dir);
	return true;
}

/* The bundled sets, 6.1 then 6.12; returns how many (2). */
static size_t golden_sets(struct golden_set sets[2])
{
	char dir[1024];

	snprintf(dir, sizeof(dir), "%s/images", t_srcdir());
	cr_assert(golden_set_load(&sets[0], dir));
	snprintf(dir, sizeof(dir), "%s/images/6.12", t_srcdir());
	cr_assert(golden_set_load(&sets[1], dir), "no images/6.12/MANIFEST.json");
	return 2;
}

/* A check of one golden case c of set g; returns whether the case was one to check. */
typedef bool (*golden_case_fn)(const struct golden_set *g, json_t *c);

/* fn on every case of every golden set; returns how many it checked. */
static size_t each_golden_case(golden_case_fn fn)
{
	struct golden_set sets[2];
	size_t n = golden_sets(sets), checked = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *c;
		size_t k;

		json_array_foreach(sets[i].manifest, k, c)
			checked += fn(&sets[i], c);
		free(sets[i].dir);
		json_decref(sets[i].manifest);
	}
	return checked;
}

/* DIR/NAME/FILE of set g decompressed into a new temporary file, or NULL if absent. */
static char *golden_file(const struct golden_set *g, const char *name, const char *file)
{
	char src[1024], *dst;

	snprintf(src, sizeof(src), "%s/%s/%s", g->dir, name, file);
	if (access(src, R_OK))
		return NULL;
	dst = t_tmpfile(0);
	cr_assert_eq(t_sh(NULL, NULL, "zstd -qdf --long=31 '%s' -o '%s'", src, dst), 0,
		     "cannot decompress %s", src);
	return dst;
}

/* Per uuid slot of the kernel's key dump ("0:720 len 8 -> [...] dirty"): data and dirty sectors. */
struct kernel_slot {
	long long	data, dirty, keys;
};

static size_t kernel_slots(const char *dump_path, struct kernel_slot *slots, size_t max)
{
	char line[1024];
	FILE *f = fopen(dump_path, "r");
	size_t nr = 0;

	cr_assert(f, "cannot open %s", dump_path);
	memset(slots, 0, max * sizeof(*slots));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long inode, off, len;

		if (sscanf(line, "%llu:%llu len %llu", &inode, &off, &len) != 3)
			continue;
		cr_assert_lt(inode, max, "slot %llu in the kernel's dump", inode);
		slots[inode].keys++;
		slots[inode].data += (long long)len;
		if (strstr(line, "] dirty"))
			slots[inode].dirty += (long long)len;
		if (inode + 1 > nr)
			nr = inode + 1;
	}
	fclose(f);
	return nr;
}

static long long jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_integer(v), "no integer %s in %s", key, json_dumps(o, JSON_COMPACT));
	return (long long)json_integer_value(v);
}

static long long manifest_ll(json_t *c, const char *a, const char *b)
{
	const char *s = t_manifest_str_opt(c, a, b);

	cr_assert(s, "manifest has no %s.%s", a, b);
	return atoll(s);
}

/*
 * One golden case with a kernel key dump: the served figures per slot
 * equal that dump's, in --json and in the text summary.
 */
static bool served_figures_match(const struct golden_set *g, json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	char *cache, *dump;
	struct kernel_slot ks[4];
	long long keys = 0, data = 0, dirty = 0;
	json_t *j, *s, *devs, *per;
	char *out = NULL, want[256];
	size_t nr, i, nr_dirty = 0;

	if (!t_manifest_str_opt(c, "truth_after_reregister", "nkeys") ||
	    !(dump = golden_file(g, name, "keys-post.txt.zst")))
		return false;
	cache = golden_file(g, name, "cache.img.zst");
	cr_assert(cache, "%s/%s: no cache image", g->dir, name);
	nr = kernel_slots(dump, ks, 4);
	j = t_fsck_report(cache, "-n", NULL);
	s = json_object_get(j, "summary");
	cr_expect(json_is_false(json_object_get(s, "partial")), "%s: partial figures", name);
	devs = json_object_get(s, "devices");
	per = json_object_get(s, "dirty_sectors_per_device");
	for (i = 0; i < nr; i++) {
		json_t *d = NULL, *e;
		size_t k;

		json_array_foreach(devs, k, e)
			if (jint(e, "slot") == (long long)i)
				d = e;
		keys += ks[i].keys;
		data += ks[i].data;
		dirty += ks[i].dirty;
		if (!ks[i].keys)
			continue;
		cr_assert(d, "%s/%s: slot %zu not in summary.devices", g->dir, name, i);
		cr_expect_eq(jint(d, "keys"), ks[i].keys, "%s/%s slot %zu: keys", g->dir, name, i);
		cr_expect_eq(jint(d, "data_sectors"), ks[i].data, "%s/%s slot %zu: data", g->dir, name, i);
		cr_expect_eq(jint(d, "dirty_sectors"), ks[i].dirty, "%s/%s slot %zu: dirty",
			     g->dir, name, i);
		if (!ks[i].dirty)
			continue;
		json_array_foreach(per, k, e)
			if (jint(e, "uuid_slot") == (long long)i) {
				cr_expect_eq(jint(e, "dirty_sectors"), ks[i].dirty,
					     "%s/%s: dirty_sectors_per_device slot %zu", g->dir, name, i);
				nr_dirty++;
			}
	}
	cr_expect_eq(json_array_size(per), nr_dirty, "%s/%s: dirty_sectors_per_device", g->dir, name);
	cr_expect_eq(jint(s, "keys"), keys, "%s/%s: keys", g->dir, name);
	cr_expect_eq(jint(s, "data_sectors"), data, "%s/%s: data sectors", g->dir, name);
	cr_expect_eq(jint(s, "dirty_sectors"), dirty, "%s/%s: dirty sectors", g->dir, name);
	cr_expect_eq(jint(s, "keys"), manifest_ll(c, "truth_after_reregister", "nkeys"));
	cr_expect_eq(jint(s, "dirty_keys"), manifest_ll(c, "truth_after_reregister", "ndirty_keys"));

	cr_assert_geq(t_run(&out, NULL, "fsck -n '%s'", cache), 0);
	snprintf(want, sizeof(want), "after journal replay: %lld keys, %lld data sectors (%lld dirty)",
		 keys, data, dirty);
	cr_expect(strstr(out, want), "%s/%s: no '%s' in\n%s", g->dir, name, want, out);
	free(out);
	json_decref(j);
	unlink(cache);
	unlink(dump);
	free(cache);
	free(dump);
	return true;
}

Test(fsck_summary, served_figures_per_device_are_the_kernels, .timeout = 300)
{
	size_t cases = each_golden_case(served_figures_match);

	cr_assert_geq(cases, 6, "only %zu golden cases checked", cases);
}

/*
 * s04 crashed with its 120 writes only in the journal: the kernel served
 * 960 dirty sectors after replay (MANIFEST ndirty_keys, 4 KiB writes),
 * while the btree on disk holds none of them.
 */
static bool s04_dirty_sectors(const struct golden_set *g, json_t *c)
{
	json_t *e, *j, *s, *per;
	char *cache, *out = NULL, want[128];
	long long ndirty;

	if (strcmp(json_string_value(json_object_get(c, "name")), "s04-writeback-dirty-crash"))
		return false;
	ndirty = manifest_ll(c, "truth_after_reregister", "ndirty_keys");
	cr_assert_eq(ndirty, 120);
	cache = golden_file(g, "s04-writeback-dirty-crash", "cache.img.zst");
	j = t_fsck_report(cache, "-n", NULL);
	s = json_object_get(j, "summary");
	per = json_object_get(s, "dirty_sectors_per_device");
	cr_assert_eq(json_array_size(per), 1, "%s", json_dumps(s, 0));
	e = json_array_get(per, 0);
	cr_expect_eq(jint(e, "uuid_slot"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(e, "uuid")),
			 t_manifest_str(c, "backing_image", "sb.dev.uuid"));
	cr_expect_eq(jint(e, "dirty_sectors"), 8 * ndirty, "%s", g->dir);
	cr_expect_eq(jint(json_object_get(s, "on_disk"), "dirty_sectors"), 0,
		     "the leaf on disk holds none of the writes");
	cr_expect_eq(jint(s, "journal_keys_to_replay"), ndirty);
	cr_assert_geq(t_run(&out, NULL, "fsck -n '%s'", cache), 0);
	snprintf(want, sizeof(want), "%lld data sectors (%lld dirty)", 8 * ndirty, 8 * ndirty);
	cr_expect(strstr(out, want), "%s: no '%s' in\n%s", g->dir, want, out);
	free(out);
	json_decref(j);
	unlink(cache);
	free(cache);
	return true;
}

Test(fsck_summary, s04_dirty_sectors_after_replay)
{
	cr_assert_geq(each_golden_case(s04_dirty_sectors), 1);
}

/* tree_depth is the root's level, the kernel's sysfs tree_depth, in fsck and dump-btree. */
static bool tree_depth_matches(const struct golden_set *g, json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));
	const char *want_s = t_manifest_str_opt(c, "truth_after_reregister", "tree_depth");
	char *cache, *out = NULL, want[64];
	long long want_d;
	json_t *j, *d;

	if (!want_s)
		return false;
	want_d = atoll(want_s);
	cache = golden_file(g, name, "cache.img.zst");
	j = t_fsck_report(cache, "-n", NULL);
	cr_expect_eq(jint(json_object_get(j, "summary"), "tree_depth"), want_d,
		     "%s/%s: fsck tree_depth", g->dir, name);
	json_decref(j);
	cr_assert_geq(t_run(&out, NULL, "fsck -n '%s'", cache), 0);
	snprintf(want, sizeof(want), "tree depth %lld,", want_d);
	cr_expect(strstr(out, want), "%s: no '%s' in\n%s", name, want, out);
	free(out);

	cr_assert_eq(t_run(&out, NULL, "dump-btree --json --nodes-only '%s'", cache), 0);
	d = json_loads(out, 0, NULL);
	cr_assert(d);
	cr_expect_eq(jint(json_object_get(d, "stats"), "tree_depth"), want_d,
		     "%s/%s: dump-btree tree_depth", g->dir, name);
	json_decref(d);
	free(out);
	cr_assert_eq(t_run(&out, NULL, "dump-btree --nodes-only '%s'", cache), 0);
	snprintf(want, sizeof(want), " tree_depth %lld ", want_d);
	cr_expect(strstr(out, want), "%s: no '%s' in\n%s", name, want, out);
	free(out);
	unlink(cache);
	free(cache);
	return true;
}

Test(fsck_summary, tree_depth_is_the_kernels, .timeout = 300)
{
	size_t cases = each_golden_case(tree_depth_matches);

	cr_assert_geq(cases, 6, "only %zu golden cases have a tree_depth", cases);
}

/*
 * fsck -y's closing summary describes the repaired device: the journal
 * replayed, it equals, figure for figure and line for line, what the
 * following fsck -n prints.
 */
static void repair_summary_is_the_next_checks(const char *name)
{
	char *json_img = t_golden_image(name, "cache"), *text_img = t_golden_image(name, "cache");
	char *yes = NULL, *no = NULL, *ys, *ns;
	json_t *y, *n;
	int rc;

	y = t_fsck_report(json_img, "-y", &rc);
	cr_assert_eq(rc, 1, "%s: nothing replayed", name);
	n = t_fsck_report(json_img, "-n", &rc);
	cr_assert_eq(rc, 0);
	cr_expect(json_equal(json_object_get(y, "summary"), json_object_get(n, "summary")),
		  "%s: fsck -y summary\n%s\nfsck -n summary\n%s", name,
		  json_dumps(json_object_get(y, "summary"), JSON_INDENT(1)),
		  json_dumps(json_object_get(n, "summary"), JSON_INDENT(1)));
	cr_expect_eq(jint(json_object_get(y, "summary"), "journal_keys_to_replay"), 0);

	cr_assert_eq(t_run(&yes, NULL, "fsck -y '%s'", text_img), 1);
	cr_assert_eq(t_run(&no, NULL, "fsck -n '%s'", text_img), 0);
	ys = t_fsck_summary_text(yes);
	ns = t_fsck_summary_text(no);
	cr_expect_str_eq(ys, ns, "%s: fsck -y printed\n%s\nfsck -n printed\n%s", name, yes, no);
	cr_expect(strstr(yes, ": clean, DEVICE WAS MODIFIED\n"), "%s", yes);
	free(ys);
	free(ns);
	free(yes);
	free(no);
	json_decref(y);
	json_decref(n);
	free(json_img);
	free(text_img);
}

Test(fsck_summary, s03_repair_summary) { repair_summary_is_the_next_checks("s03-writeback-dirty-clean-stop"); }
Test(fsck_summary, s04_repair_summary) { repair_summary_is_the_next_checks("s04-writeback-dirty-crash"); }
Test(fsck_summary, s05_repair_summary) { repair_summary_is_the_next_checks("s05-btree-depth2"); }
Test(fsck_summary, s06_repair_summary) { repair_summary_is_the_next_checks("s06-flash-volume"); }
