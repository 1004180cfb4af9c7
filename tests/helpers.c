/* helpers.c --- shared test helpers (see helpers.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <jansson.h>

#include "helpers.h"

const char *t_srcdir(void)
{
	const char *s = getenv("BT_SRCDIR");

	return s ? s : ".";
}

static char *tmp_template(void)
{
	const char *tmp = getenv("TMPDIR");
	char *path;

	cr_assert(asprintf(&path, "%s/bt-test-XXXXXX", tmp ? tmp : "/tmp") > 0);
	return path;
}

static char **cleanup_paths;
static size_t nr_cleanup;

static void cleanup(void)
{
	for (size_t i = 0; i < nr_cleanup; i++)
		unlink(cleanup_paths[i]);
}

static void remember(const char *path)
{
	if (!nr_cleanup)
		atexit(cleanup);
	cleanup_paths = realloc(cleanup_paths, (nr_cleanup + 1) * sizeof(char *));
	cleanup_paths[nr_cleanup++] = strdup(path);
}

static void *zstd_decompress_file(const char *path, int out_fd, size_t *out_len)
{
	FILE *in = fopen(path, "rb");
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	size_t in_cap = ZSTD_DStreamInSize(), out_cap = ZSTD_DStreamOutSize();
	void *ibuf = malloc(in_cap), *obuf = malloc(out_cap);
	char *mem = NULL;
	size_t mem_len = 0, n;

	cr_assert(in, "cannot open %s", path);
	ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 31);
	while ((n = fread(ibuf, 1, in_cap, in)) > 0) {
		ZSTD_inBuffer input = { ibuf, n, 0 };

		while (input.pos < input.size) {
			ZSTD_outBuffer output = { obuf, out_cap, 0 };
			size_t r = ZSTD_decompressStream(dctx, &output, &input);

			cr_assert(!ZSTD_isError(r), "zstd: %s: %s", path, ZSTD_getErrorName(r));
			if (out_fd >= 0) {
				/* keep zero runs sparse */
				size_t off = 0;

				while (off < output.pos) {
					size_t chunk = output.pos - off < 4096 ? output.pos - off : 4096;
					const char *p = (const char *)obuf + off;
					size_t z = 0;

					while (z < chunk && !p[z])
						z++;
					if (z == chunk)
						cr_assert(lseek(out_fd, (off_t)chunk, SEEK_CUR) >= 0);
					else
						cr_assert(write(out_fd, p, chunk) == (ssize_t)chunk);
					off += chunk;
				}
			} else {
				mem = realloc(mem, mem_len + output.pos + 1);
				memcpy(mem + mem_len, obuf, output.pos);
				mem_len += output.pos;
			}
		}
	}
	if (out_fd >= 0) {
		off_t end = lseek(out_fd, 0, SEEK_CUR);

		cr_assert(ftruncate(out_fd, end) == 0);
	}
	fclose(in);
	free(ibuf);
	free(obuf);
	ZSTD_freeDCtx(dctx);
	if (mem)
		mem[mem_len] = '\0';
	else if (out_fd < 0)
		mem = calloc(1, 1);
	if (out_len)
		*out_len = mem_len;
	return mem;
}

char *t_image(const char *rel)
{
	char *src, *path = tmp_template();
	int fd = mkstemp(path);

	cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
	remember(path);
	cr_assert(asprintf(&src, "%s/%s", t_srcdir(), rel) > 0);
	zstd_decompress_file(src, fd, NULL);
	close(fd);
	free(src);
	return path;
}

char *t_tmpfile(uint64_t size)
{
	char *path = tmp_template();
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	remember(path);
	cr_assert(ftruncate(fd, (off_t)size) == 0);
	close(fd);
	return path;
}

char *t_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long sz;
	char *ret;

	cr_assert(f, "cannot open %s", path);
	cr_assert(fseek(f, 0, SEEK_END) == 0);
	sz = ftell(f);
	cr_assert(sz >= 0, "cannot size %s", path);
	rewind(f);
	ret = malloc((size_t)sz + 1);
	cr_assert(ret);
	cr_assert(fread(ret, 1, (size_t)sz, f) == (size_t)sz, "short read of %s", path);
	ret[sz] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)sz;
	return ret;
}

char *t_read_text(const char *rel, size_t *len)
{
	char *path;
	size_t l = strlen(rel);
	char *ret;

	cr_assert(asprintf(&path, "%s/%s", t_srcdir(), rel) > 0);
	if (l > 4 && !strcmp(rel + l - 4, ".zst"))
		ret = zstd_decompress_file(path, -1, len);
	else
		ret = t_read_file(path, len);
	free(path);
	return ret;
}

static char *slurp_fd(int fd)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t r;

	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r > 0)
			len += (size_t)r;
	} while (r > 0 || (r < 0 && errno == EINTR));
	buf[len] = '\0';
	return buf;
}

static int run_shell(char **out, char **err, const char *cmd)
{
	char *ofile = tmp_template(), *efile = tmp_template();
	int ofd = mkstemp(ofile), efd = mkstemp(efile), status;
	char *full;

	cr_assert(ofd >= 0 && efd >= 0);
	cr_assert(asprintf(&full, "( %s ) >'%s' 2>'%s' </dev/null", cmd, ofile, efile) > 0);
	status = system(full);
	free(full);
	if (out) {
		lseek(ofd, 0, SEEK_SET);
		*out = slurp_fd(ofd);
	}
	if (err) {
		lseek(efd, 0, SEEK_SET);
		*err = slurp_fd(efd);
	}
	close(ofd);
	close(efd);
	unlink(ofile);
	unlink(efile);
	free(ofile);
	free(efile);
	if (WIFEXITED(status)) {
		int rc = WEXITSTATUS(status);

		/* the shell reports a signal death as 128+N */
		return rc > 128 ? -1 : rc;
	}
	return -1;
}

int t_sh(char **out, char **err, const char *fmt, ...)
{
	va_list args;
	char *cmd;
	int ret;

	va_start(args, fmt);
	cr_assert(vasprintf(&cmd, fmt, args) > 0);
	va_end(args);
	ret = run_shell(out, err, cmd);
	free(cmd);
	return ret;
}

int t_run(char **out, char **err, const char *fmt, ...)
{
	const char *bin = getenv("BT_BIN");
	va_list args;
	char *args_s, *cmd;
	int ret;

	cr_assert(bin, "BT_BIN is not set: run the tests through make check");
	va_start(args, fmt);
	cr_assert(vasprintf(&args_s, fmt, args) >= 0);
	va_end(args);
	cr_assert(asprintf(&cmd, "'%s' %s", bin, args_s) > 0);
	ret = run_shell(out, err, cmd);
	free(args_s);
	free(cmd);
	return ret;
}

void t_patch(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);

	cr_assert(fd >= 0, "cannot open %s: %s", path, strerror(errno));
	cr_assert_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len, "short write to %s", path);
	close(fd);
}

void t_sha256_file(const char *path, char hex[65])
{
	char *out = NULL;

	cr_assert_eq(t_sh(&out, NULL, "sha256sum '%s'", path), 0);
	cr_assert(strlen(out) >= 64);
	memcpy(hex, out, 64);
	hex[64] = '\0';
	free(out);
}

json_t *t_manifest(void)
{
	char *text = t_read_text("images/MANIFEST.json", NULL);
	json_error_t jerr;
	json_t *m = json_loads(text, 0, &jerr);

	cr_assert(m && json_is_array(m), "images/MANIFEST.json does not parse: %s", jerr.text);
	free(text);
	return m;
}

json_t *t_manifest_case(const char *name)
{
	json_t *m = t_manifest(), *c, *ret = NULL;
	size_t i;

	json_array_foreach(m, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "name")), name))
			ret = json_incref(c);
	json_decref(m);
	cr_assert(ret, "%s not in the manifest", name);
	return ret;
}

const char *t_manifest_str_opt(json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

const char *t_manifest_str(json_t *o, const char *a, const char *b)
{
	const char *s = t_manifest_str_opt(o, a, b);

	cr_assert(s, "manifest has no %s.%s", a, b);
	return s;
}

char *t_manifest_case_str(const char *name, const char *a, const char *b)
{
	json_t *c = t_manifest_case(name);
	char *ret = strdup(t_manifest_str(c, a, b));

	json_decref(c);
	return ret;
}

char *t_golden_image(const char *name, const char *which)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "images/%s/%s.img.zst", name, which);
	return t_image(rel);
}

char *t_golden_keys(const char *name)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "images/%s/keys-post.txt.zst", name);
	return t_read_text(rel, NULL);
}

void t_extract_sha256(const char *cache, const char *bdev, char sum[65])
{
	char *out = t_tmpfile(0), *err = NULL;
	int rc = t_run(NULL, &err, "extract '%s' %s%s%s -o '%s'", cache, bdev ? "'" : "",
		       bdev ? bdev : "", bdev ? "'" : "", out);

	cr_assert_eq(rc, 0, "extract '%s': rc %d: %s", cache, rc, err);
	t_sha256_file(out, sum);
	unlink(out);
	free(out);
	free(err);
}
