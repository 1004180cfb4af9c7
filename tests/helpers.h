/* helpers.h --- shared test helpers: images, running the binary, hashing. */
#ifndef BCACHE_TOOL_TEST_HELPERS_H
#define BCACHE_TOOL_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

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

/* sha256 of a whole file, or of len bytes from byte off, as 64 hex characters (static buffer per call: copy it). */
void t_sha256_file(const char *path, char hex[65]);

/* Read the whole file at srcdir-relative rel (zstd-decompressed if it ends in .zst). */
char *t_read_text(const char *rel, size_t *len);

/* The MANIFEST.json object of golden case name (a new reference); asserts it exists. */
struct json_t;
struct json_t *t_manifest_case(const char *name);
/* The string o.a.b of a manifest object; asserts it exists. */
const char *t_manifest_str(struct json_t *o, const char *a, const char *b);
/* The golden image images/NAME/WHICH.img.zst decompressed (t_image()). */
char *t_golden_image(const char *name, const char *which);

#endif
