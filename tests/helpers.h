/* helpers.h --- shared test helpers: images, running the binary, hashing. */
#ifndef BCACHE_TOOL_TEST_HELPERS_H
#define BCACHE_TOOL_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "libcore/read/overlay.h"

/* $BT_SRCDIR (the source tree), for images/ and tests/ files. */
const char *t_srcdir(void);

/*
 * Decompress the zstd file at srcdir-relative path rel (e.g.
 * "images/s03-writeback-dirty-clean-stop/cache.img.zst") into a new
 * temporary file and return its path (malloc'ed; the file is removed at exit).
 */
char *t_image(const char *rel);

/* A new empty temporary file of size bytes (sparse); path malloc'ed. */
char *t_tmpfile(uint64_t size);

/*
 * Run "$BT_BIN args" through the shell; capture stdout and stderr
 * (malloc'ed, NUL-terminated; pass NULL to discard). Returns the exit
 * status, or -1 when the command died of a signal (asserted against by callers).
 */
int t_run(char **out, char **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Run an arbitrary shell command the same way. */
int t_sh(char **out, char **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Overwrite len bytes of the file at path from byte off with buf (in place, no truncation). */
void t_patch(const char *path, uint64_t off, const void *buf, size_t len);

/* sha256 of a whole file, or of len bytes from byte off, as 64 hex characters (static buffer per call: copy it). */
void t_sha256_file(const char *path, char hex[65]);

/* Read the whole file at srcdir-relative rel (zstd-decompressed if it ends in .zst). */
char *t_read_text(const char *rel, size_t *len);

/*
 * Read the whole file at path (absolute or cwd-relative, not decompressed)
 * into a malloc'ed buffer with a NUL after its last byte; *len (if len is
 * not NULL) is its size in bytes. Asserts the file can be read.
 */
char *t_read_file(const char *path, size_t *len);

/*
 * The golden images come in two sets, written by Linux 6.1 (images/) and by
 * Linux 6.12 (images/6.12/), with the same cases. GOLDEN_TEST(suite, name)
 * defines a test run once on each, as suite::name_6_1 and suite::name_6_12:
 * t_golden_image(), t_golden_keys() and t_manifest*() then read the set of
 * the running test. Plain Test()s see the 6.1 set.
 */
void t_set_kernel(const char *kernel);
/* "6.1" or "6.12": the golden set of the running test. */
const char *t_kernel(void);
/* The folder of that set, relative to the source tree: "images" or "images/6.12". */
const char *t_golden_dir(void);

#define GOLDEN_TEST(suite, name, ...)						\
	static void suite##_##name##_body(void);				\
	Test(suite, name##_6_1, ##__VA_ARGS__)					\
	{									\
		t_set_kernel("6.1");						\
		suite##_##name##_body();					\
	}									\
	Test(suite, name##_6_12, ##__VA_ARGS__)					\
	{									\
		t_set_kernel("6.12");						\
		suite##_##name##_body();					\
	}									\
	static void suite##_##name##_body(void)

/*
 * MANIFEST.json of the set, the ground truth of the golden images: an array of
 * cases, each an object with "name" and objects of string fields such as
 * "cache_image" { "raw_sha256", "sb.dev.uuid", ... }.
 */
struct json_t;
/* The whole manifest array (a new reference: json_decref() it); asserts it parses. */
struct json_t *t_manifest(void);
/* The MANIFEST.json object of golden case name (a new reference); asserts it exists. */
struct json_t *t_manifest_case(const char *name);
/* The string o.a.b of a manifest object; asserts it exists. */
const char *t_manifest_str(struct json_t *o, const char *a, const char *b);
/*
 * The string o.a.b of a manifest object, or NULL where the manifest has
 * none (a case without a backing_image, or whose kernel served nothing so
 * it has no expected_logical_sha256). Owned by o.
 */
const char *t_manifest_str_opt(struct json_t *o, const char *a, const char *b);
/* t_manifest_str() of golden case name, as a malloc'ed copy; asserts it exists. */
char *t_manifest_case_str(const char *name, const char *a, const char *b);
/* The golden image DIR/NAME/WHICH.img.zst of the set decompressed (t_image()). */
char *t_golden_image(const char *name, const char *which);
/*
 * The kernel's own btree key dump of golden case name after re-registration
 * (DIR/NAME/keys-post.txt.zst of the set), as malloc'ed text.
 */
char *t_golden_keys(const char *name);

/*
 * Run "dump-btree --keys-only OPTS CACHE", assert it exits 0 and prints the
 * kernel's own key dump of golden case name (t_golden_keys()) line for
 * line. Returns what it printed (malloc'ed).
 */
char *t_keys_match_kernel(const char *name, const char *cache, const char *opts);

/*
 * Run "extract CACHE [BDEV] -o TMP" (bdev NULL: a cache alone, slot 0 or the
 * flash volume), assert exit status 0 and put the sha256 of what it served
 * into sum (64 hex characters). The output file is removed.
 */
void t_extract_sha256(const char *cache, const char *bdev, char sum[65]);

/*
 * A synthetic cache set made by tests/tools/gen-cache ($BT_BUILD): "gen-cache
 * -q ARGS -o REPORT --keys KEYS CACHE BDEV" run into a new directory dir,
 * asserted to exit 0. From its report: the sha256 of what slot 0 (the
 * backing device) and slot 1 (the flash volume) serve, asserted present,
 * and the tree_depth (the root's level, as the kernel's tree_depth; 0 when
 * the report gives none). KEYS lists the
 * generated extents, one a line.
 */
struct t_gen {
	char		*dir, *cache, *bdev, *report, *keys;	/* malloc'ed paths */
	char		sha[2][65];
	unsigned	tree_depth;
};
void t_gen_cache(struct t_gen *g, const char *args);
/* Remove the directory of g, free its paths and zero it (it can be made again). */
void t_gen_free(struct t_gen *g);

/*
 * A cache device opened at library level, as most library tests need it:
 * the device, its cache set, a node cache of 1 MiB and the printbuf that
 * collects the messages of the open and of later calls.
 */
struct t_cset {
	struct bt_dev		dev;
	struct cache_set	c;
	struct bt_node_cache	*nc;
	struct printbuf		err;
};

/*
 * Open path with bt_dev_open(dev_flags) (BT_DEV_RDWR, BT_DEV_FORCE) and its
 * cache set with bt_cache_set_open(open_flags) (BT_OPEN_*), asserting both
 * return 0 (the message in the failure), then a node cache of 1 MiB.
 * Release with t_cset_close().
 */
void t_cset_open(struct t_cset *s, const char *path, unsigned dev_flags, unsigned open_flags);
/* Free the node cache, the cache set, the device and the messages of s. */
void t_cset_close(struct t_cset *s);
/*
 * The view after journal replay of s (bt_overlay_build() with the journal,
 * stopping at the first error), asserting the build returns 0; view must be
 * bt_extmap_init()ed, st may be NULL.
 */
void t_cset_view(struct t_cset *s, struct bt_extmap *view, struct bt_overlay_stats *st);

/*
 * Run "fsck OPTS --json IMG" (OPTS gives -n, -y or -p), assert it did not
 * die of a signal and printed one JSON object, and return it (a new
 * reference); *rc (if rc is not NULL) gets the exit status.
 */
struct json_t *t_fsck_report(const char *img, const char *opts, int *rc);
/*
 * The figure lines of fsck's text summary in out (what "fsck IMG" printed):
 * after the "Pass N: summary" header, without the last line (the verdict,
 * "IMG: clean" etc.). A malloc'ed copy; asserts the header is there.
 */
char *t_fsck_summary_text(const char *out);

#endif
