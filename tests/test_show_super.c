/* test_show_super.c --- show-super on every golden image, against the manifest
 * and Debian's bcache-super-show.
 *
 * The manifest's "sb.*" fields were captured by bcache-super-show right after
 * make-bcache, before the kernel ran; the stored images are the devices as
 * the kernel left them (their sha256 is the manifest's raw_sha256). Where the
 * kernel rewrote a superblock the expected value is the documented kernel
 * transformation (FORMAT.md §1.8, §1.12), taken from the manifest's own
 * records of what the kernel did:
 *
 *  - a cache the kernel registered (the case has a "run1") was rewritten by
 *    bcache_write_super(): version = max(version, 3), CACHE_SYNC = 1, and on
 *    its first registration keys = clamp(nbuckets >> 7, 2, 256) journal
 *    buckets d[j] = first_bucket + j (run_cache_set(), "invalidating existing
 *    data" in run1's dmesg);
 *  - a backing device the kernel attached ("Caching vdb as bcache0 on set U"
 *    in dmesg) carries the cache's set uuid U, not the make-bcache one, and
 *    the mode and state the kernel set: the sysfs cache_mode and state
 *    recorded in truth_before_stop, or, for the crash case that has no such
 *    record, writeback + dirty because dirty keys survived (ndirty_keys > 0
 *    after re-registration; only writeback makes dirty keys).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "libcore/ondisk/sb.h"

#define NAME_LEN 64

struct img_param {
	char	kernel[8];		/* golden set: "6.1" or "6.12" (t_set_kernel()) */
	char	name[NAME_LEN];		/* case directory of the set */
	char	role[8];		/* "cache" or "backing" */
};

static void free_params(struct criterion_test_params *crp)
{
	cr_free(crp->params);
}

/* The parameters of one golden set's manifest at p, from index n on; returns the new n. */
static size_t set_params(const char *kernel, struct img_param *p, size_t n, size_t max)
{
	static const char *const roles[] = { "cache", "backing" };
	json_t *m, *c;
	size_t i;

	t_set_kernel(kernel);
	m = t_manifest();
	json_array_foreach(m, i, c) {
		for (unsigned r = 0; r < 2 && n < max; r++) {
			char key[32];

			snprintf(key, sizeof(key), "%s_image", roles[r]);
			if (!json_object_get(c, key))
				continue;
			memset(&p[n], 0, sizeof(p[n]));
			snprintf(p[n].kernel, sizeof(p[n].kernel), "%s", kernel);
			snprintf(p[n].name, NAME_LEN, "%s",
				 json_string_value(json_object_get(c, "name")));
			snprintf(p[n].role, sizeof(p[n].role), "%s", roles[r]);
			n++;
		}
	}
	json_decref(m);
	return n;
}

/* One parameter per image each set's manifest lists: every case, cache and backing. */
ParameterizedTestParameters(show_super, golden_image)
{
	size_t max = 64, n = 0;
	struct img_param *p = cr_malloc(max * sizeof(*p));

	n = set_params("6.1", p, n, max);
	n = set_params("6.12", p, n, max);
	t_set_kernel("6.1");
	return cr_make_param_array(struct img_param, p, n, free_params);
}

/* "name<blanks>value" lines (ours: spaces, bcache-super-show: tabs) as an object. */
static json_t *parse_fields(const char *text)
{
	json_t *o = json_object();

	while (*text) {
		size_t len = strcspn(text, "\n"), klen = strcspn(text, " \t\n");
		const char *v = text + klen;
		char *key = strndup(text, klen);

		while (v < text + len && (*v == ' ' || *v == '\t'))
			v++;
		if (klen && klen < len)
			json_object_set_new(o, key, json_stringn(v, (size_t)(text + len - v)));
		free(key);
		text += len;
		if (*text)
			text++;
	}
	return o;
}

static const char *field(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	cr_assert(v, "show-super printed no %s", key);
	return v;
}

/* The number in the string field key of case c's image (img: "cache_image" or "backing_image"). */
static long long mnum(json_t *c, const char *img, const char *key)
{
	return strtoll(t_manifest_str(c, img, key), NULL, 10);
}

/* The set uuid U of "Caching vdb as bcache0 on set U" in run1's or reregister's dmesg. */
static const char *attached_set(json_t *c)
{
	static const char *const runs[] = { "run1", "reregister" };
	static char uuid[37];

	for (unsigned r = 0; r < 2; r++) {
		json_t *lines = json_object_get(json_object_get(c, runs[r]), "dmesg_bcache");
		json_t *l;
		size_t i;

		json_array_foreach(lines, i, l) {
			const char *s = strstr(json_string_value(l), " on set ");

			if (s && strstr(json_string_value(l), "Caching vdb as")) {
				snprintf(uuid, sizeof(uuid), "%s", s + 8);
				return uuid;
			}
		}
	}
	return NULL;
}

/* The bracketed choice of a sysfs list like "writethrough_[writeback]_...". */
static char *sysfs_choice(const char *s)
{
	const char *a = strchr(s, '['), *b = a ? strchr(a, ']') : NULL;

	cr_assert(a && b, "no [choice] in %s", s);
	return strndup(a + 1, (size_t)(b - a - 1));
}

struct expect {
	const char	*uuid, *set_uuid;
	long long	version, block, bucket;
	/* cache */
	long long	nbuckets, first_bucket, first_sector, keys;
	bool		sync;
	/* backing */
	long long	data_offset;
	int		mode, state;
};

static int mode_nr(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(bt_cache_mode_str((unsigned)i), name))
			return i;
	cr_assert_fail("unknown cache mode %s", name);
	return -1;
}

static int state_nr(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(bt_bdev_state_str((unsigned)i), name))
			return i;
	cr_assert_fail("unknown state %s", name);
	return -1;
}

static void expected(json_t *c, const char *role, struct expect *e)
{
	char img[32];
	const char *set;

	snprintf(img, sizeof(img), "%s_image", role);
	memset(e, 0, sizeof(*e));
	/* no --label in any case's make-bcache arguments: the label is empty */
	cr_assert(!strstr(t_manifest_str(c, img, "make_bcache_args"), "-l") &&
		  !strstr(t_manifest_str(c, img, "make_bcache_args"), "--label"));
	e->uuid = t_manifest_str(c, img, "sb.dev.uuid");
	e->set_uuid = t_manifest_str(c, img, "sb.cset.uuid");
	e->version = mnum(c, img, "sb.sb.version");
	e->block = mnum(c, img, "sb.dev.sectors_per_block");
	e->bucket = mnum(c, img, "sb.dev.sectors_per_bucket");

	if (!strcmp(role, "cache")) {
		bool registered = json_object_get(c, "run1") != NULL;

		e->nbuckets = json_integer_value(json_object_get(json_object_get(c, img), "size_bytes")) /
			      512 / e->bucket;
		e->first_sector = mnum(c, img, "sb.dev.cache.first_sector");
		e->first_bucket = e->first_sector / e->bucket;
		if (registered) {
			/* bcache_write_super(): version = max(version, 3), CACHE_SYNC set */
			e->version = e->version < 3 ? 3 : e->version;
			e->sync = true;
			/* run_cache_set() on a cache without CACHE_SYNC */
			e->keys = e->nbuckets >> 7;
			e->keys = e->keys < 2 ? 2 : e->keys > 256 ? 256 : e->keys;
		}
		return;
	}

	e->data_offset = mnum(c, img, "sb.dev.data.first_sector");
	e->mode = (int)mnum(c, img, "sb.dev.data.cache_mode");
	e->state = (int)mnum(c, img, "sb.dev.data.cache_state");
	set = attached_set(c);
	if (set) {
		json_t *truth = json_object_get(c, "truth_before_stop");
		const char *mode = json_string_value(json_object_get(truth, "bcache0.cache_mode"));
		const char *state = json_string_value(json_object_get(truth, "bcache0.state"));

		/* bch_cached_dev_attach() writes the cache's set uuid */
		cr_assert_str_eq(set, t_manifest_str(c, "cache_image", "sb.cset.uuid"));
		e->set_uuid = set;
		if (mode && state) {
			char *m = sysfs_choice(mode);

			e->mode = mode_nr(m);
			e->state = state_nr(state);
			free(m);
		} else {
			const char *nd = json_string_value(json_object_get(
				json_object_get(c, "truth_after_reregister"), "ndirty_keys"));

			cr_assert(nd && atoi(nd) > 0, "%s: cannot tell mode and state",
				  json_string_value(json_object_get(c, "name")));
			e->mode = CACHE_MODE_WRITEBACK;
			e->state = BDEV_STATE_DIRTY;
		}
	}
}

static void check_text(json_t *f, const char *role, const struct expect *e)
{
	char buf[128];

	cr_assert_str_eq(field(f, "sb.magic"), "ok");
	cr_assert_str_eq(field(f, "sb.first_sector"), "8 [match]");
	cr_assert(strstr(field(f, "sb.csum"), " [match]"));
	snprintf(buf, sizeof(buf), "%lld [%s]", e->version, bt_sb_version_str((uint64_t)e->version));
	cr_assert_str_eq(field(f, "sb.version"), buf);
	cr_assert_str_eq(field(f, "dev.label"), "(empty)");
	cr_assert_str_eq(field(f, "dev.uuid"), e->uuid);
	cr_assert_str_eq(field(f, "cset.uuid"), e->set_uuid);
	cr_assert_eq(atoll(field(f, "dev.sectors_per_block")), e->block);
	cr_assert_eq(atoll(field(f, "dev.sectors_per_bucket")), e->bucket);
	if (!strcmp(role, "cache")) {
		cr_assert_eq(atoll(field(f, "dev.cache.nbuckets")), e->nbuckets);
		cr_assert_eq(atoll(field(f, "dev.cache.first_bucket")), e->first_bucket);
		cr_assert_eq(atoll(field(f, "dev.cache.first_sector")), e->first_sector);
		cr_assert_eq(atoll(field(f, "dev.cache.total_sectors")), e->nbuckets * e->bucket);
		cr_assert_str_eq(field(f, "dev.cache.ordered"), e->sync ? "yes" : "no");
		cr_assert_eq(atoll(field(f, "dev.cache.journal_buckets")), e->keys);
		cr_assert_eq(json_object_get(f, "dev.data.first_sector"), NULL);
	} else {
		cr_assert_eq(atoll(field(f, "dev.data.first_sector")), e->data_offset);
		snprintf(buf, sizeof(buf), "%d [%s]", e->mode, bt_cache_mode_str((unsigned)e->mode));
		cr_assert_str_eq(field(f, "dev.data.cache_mode"), buf);
		snprintf(buf, sizeof(buf), "%d [%s]", e->state, bt_bdev_state_str((unsigned)e->state));
		cr_assert_str_eq(field(f, "dev.data.cache_state"), buf);
		cr_assert_eq(json_object_get(f, "dev.cache.nbuckets"), NULL);
	}
}

static json_int_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_integer(v), "JSON has no integer %s", key);
	return json_integer_value(v);
}

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	cr_assert(json_is_string(v), "JSON has no string %s", key);
	return json_string_value(v);
}

static void check_json(json_t *o, const char *role, const char *path, const struct expect *e)
{
	cr_assert(json_is_true(json_object_get(o, "valid")));
	cr_assert(json_is_true(json_object_get(o, "magic_ok")));
	cr_assert(json_is_true(json_object_get(o, "csum_ok")));
	cr_assert_str_eq(jstr(o, "csum"), jstr(o, "csum_computed"));
	cr_assert_str_eq(jstr(o, "device"), path);
	cr_assert_eq(jint(o, "offset"), 8);
	cr_assert_eq(jint(o, "version"), e->version);
	cr_assert_str_eq(jstr(o, "device_type"), role);
	cr_assert_str_eq(jstr(o, "label"), "");
	cr_assert_str_eq(jstr(o, "uuid"), e->uuid);
	cr_assert_str_eq(jstr(o, "set_uuid"), e->set_uuid);
	cr_assert_eq(jint(o, "block_size"), e->block);
	cr_assert_eq(jint(o, "bucket_size"), e->bucket);
	if (!strcmp(role, "cache")) {
		json_t *d = json_object_get(o, "journal_buckets");

		cr_assert_eq(jint(o, "nbuckets"), e->nbuckets);
		cr_assert_eq(jint(o, "first_bucket"), e->first_bucket);
		cr_assert_eq(jint(o, "nr_in_set"), 1);
		cr_assert_eq(jint(o, "nr_this_dev"), 0);
		cr_assert(json_is_boolean(json_object_get(o, "cache_sync")));
		cr_assert_eq(json_is_true(json_object_get(o, "cache_sync")), e->sync);
		cr_assert_eq((long long)json_array_size(d), e->keys);
		for (size_t j = 0; j < json_array_size(d); j++)
			cr_assert_eq(json_integer_value(json_array_get(d, j)),
				     e->first_bucket + (long long)j);
		cr_assert_eq(json_array_size(json_object_get(o, "warnings")),
			     e->nbuckets <= 512 ? 1u : 0u);
	} else {
		cr_assert_eq(jint(o, "data_offset"), e->data_offset);
		cr_assert_eq(jint(o, "cache_mode"), e->mode);
		cr_assert_str_eq(jstr(o, "cache_mode_name"), bt_cache_mode_str((unsigned)e->mode));
		cr_assert_eq(jint(o, "state"), e->state);
		cr_assert_str_eq(jstr(o, "state_name"), bt_bdev_state_str((unsigned)e->state));
	}
}

/* Every field Debian's bcache-super-show prints, show-super prints the same. */
static void check_against_bcache_super_show(json_t *ours, const char *path)
{
	char *out = NULL;
	json_t *theirs;
	const char *key;
	json_t *v;

	cr_assert_eq(t_sh(&out, NULL, "bcache-super-show -f '%s'", path), 0);
	theirs = parse_fields(out);
	cr_assert_gt(json_object_size(theirs), 10, "bcache-super-show printed: %s", out);
	json_object_foreach(theirs, key, v) {
		const char *t = json_string_value(v), *o = field(ours, key);

		if (!strcmp(key, "sb.csum")) {
			/* theirs is not zero-padded: compare the numbers */
			cr_assert_eq(strtoull(t, NULL, 16), strtoull(o, NULL, 16), "%s: %s vs %s",
				     key, t, o);
			cr_assert_str_eq(strchr(t, '['), strchr(o, '['));
		} else {
			cr_assert_str_eq(o, t, "%s differs from bcache-super-show", key);
		}
	}
	json_decref(theirs);
	free(out);
}

ParameterizedTest(struct img_param *p, show_super, golden_image, .timeout = 120)
{
	json_t *c, *jo, *f;
	char rel[160], key[32], sha[65];
	char *path, *out = NULL, *err = NULL;
	struct expect e;
	json_error_t jerr;

	t_set_kernel(p->kernel);
	c = t_manifest_case(p->name);
	snprintf(key, sizeof(key), "%s_image", p->role);
	snprintf(rel, sizeof(rel), "%s/%s/%s", t_golden_dir(), p->name, t_manifest_str(c, key, "file"));
	path = t_image(rel);
	expected(c, p->role, &e);

	cr_assert_eq(t_run(&out, &err, "show-super '%s'", path), 0, "%s: %s", rel, err);
	f = parse_fields(out);
	check_text(f, p->role, &e);
	check_against_bcache_super_show(f, path);
	/* the 512-bucket warning goes to stderr, nothing else */
	if (!strcmp(p->role, "cache") && e.nbuckets <= 512)
		cr_assert(strstr(err, "warning: 128 buckets"), "%s", err);
	else
		cr_assert_str_eq(err, "");
	json_decref(f);
	free(out);
	free(err);

	cr_assert_eq(t_run(&out, &err, "show-super --json '%s'", path), 0, "%s: %s", rel, err);
	cr_assert_str_eq(err, "");
	jo = json_loads(out, 0, &jerr);
	cr_assert(json_is_object(jo), "%s: bad JSON: %s", rel, jerr.text);
	check_json(jo, p->role, path, &e);
	json_decref(jo);
	free(out);
	free(err);

	/* show-super only reads: the image is still the manifest's */
	t_sha256_file(path, sha);
	cr_assert_str_eq(sha, t_manifest_str(c, key, "raw_sha256"), "%s changed", rel);
	json_decref(c);
	free(path);
}

/* The parameter list covers every image file in images/. */
GOLDEN_TEST(show_super, manifest_covers_every_image)
{
	json_t *m = t_manifest(), *c;
	size_t i, listed = 0;
	char *out = NULL;

	json_array_foreach(m, i, c) {
		listed += json_object_get(c, "cache_image") != NULL;
		listed += json_object_get(c, "backing_image") != NULL;
	}
	cr_assert_eq(t_sh(&out, NULL, "ls '%s/%s'/s*/*.img.zst | wc -l", t_srcdir(), t_golden_dir()),
		     0);
	cr_assert_eq(strtoul(out, NULL, 10), listed);
	cr_assert_geq(listed, 12);
	free(out);
	json_decref(m);
}
