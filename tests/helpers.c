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
#include "libcore/read/node_cache.h"

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

/*
 * The golden set of the running test (GOLDEN_TEST() sets it; each test runs
 * in a process of its own): Linux 6.1's images in images/, 6.12's in
 * images/6.12/.
 */
static const char *golden_kernel = "6.1";

void t_set_kernel(const char *kernel)
{
	cr_assert(!strcmp(kernel, "6.1") || !strcmp(kernel, "6.12"), "no golden set %s", kernel);
	golden_kernel = kernel;
}

const char *t_kernel(void)
{
	return golden_kernel;
}

const char *t_golden_dir(void)
{
	return strcmp(golden_kernel, "6.1") ? "images/6.12" : "images";
}

json_t *t_manifest(void)
{
	char rel[64], *text;
	json_error_t jerr;
	json_t *m;

	snprintf(rel, sizeof(rel), "%s/MANIFEST.json", t_golden_dir());
	text = t_read_text(rel, NULL);
	m = json_loads(text, 0, &jerr);
	cr_assert(m && json_is_array(m), "%s does not parse: %s", rel, jerr.text);
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

	snprintf(rel, sizeof(rel), "%s/%s/%s.img.zst", t_golden_dir(), name, which);
	return t_image(rel);
}

char *t_golden_keys(const char *name)
{
	char rel[256];

	snprintf(rel, sizeof(rel), "%s/%s/keys-post.txt.zst", t_golden_dir(), name);
	return t_read_text(rel, NULL);
}

char *t_keys_match_kernel(const char *name, const char *cache, const char *opts)
{
	char *want = t_golden_keys(name), *got = NULL, *err = NULL;
	int rc = t_run(&got, &err, "dump-btree --keys-only %s '%s'", opts, cache);

	cr_assert_eq(rc, 0, "dump-btree of %s: rc %d: %s", name, rc, err);
	cr_assert_str_eq(got, want, "%s: dump-btree differs from the kernel's key dump", name);
	free(want);
	free(err);
	return got;
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

void t_gen_cache(struct t_gen *g, const char *args)
{
	const char *build = getenv("BT_BUILD");
	char *out = NULL, *err = NULL, line[512];
	FILE *f;

	cr_assert(build, "BT_BUILD is not set");
	memset(g, 0, sizeof(*g));
	g->dir = t_tmpfile(0);
	cr_assert_eq(t_sh(NULL, NULL, "rm -f '%s' && mkdir '%s'", g->dir, g->dir), 0);
	cr_assert(asprintf(&g->cache, "%s/cache.img", g->dir) > 0);
	cr_assert(asprintf(&g->bdev, "%s/bdev.img", g->dir) > 0);
	cr_assert(asprintf(&g->report, "%s/report", g->dir) > 0);
	cr_assert(asprintf(&g->keys, "%s/keys", g->dir) > 0);
	cr_assert_eq(t_sh(&out, &err, "'%s/tests/tools/gen-cache' -q %s -o '%s' --keys '%s' '%s' '%s'",
			  build, args, g->report, g->keys, g->cache, g->bdev), 0, "%s%s", out, err);
	free(out);
	free(err);

	f = fopen(g->report, "r");
	cr_assert(f, "no report %s", g->report);
	while (fgets(line, sizeof(line), f)) {
		unsigned slot, tree_depth;
		char *p = strstr(line, " sha256 ");

		if (sscanf(line, "slot %u", &slot) == 1 && slot < 2 && p)
			cr_assert_eq(sscanf(p, " sha256 %64s", g->sha[slot]), 1);
		if ((p = strstr(line, " tree_depth ")) &&
		    sscanf(p, " tree_depth %u", &tree_depth) == 1)
			g->tree_depth = tree_depth;
	}
	fclose(f);
	cr_assert_eq(strlen(g->sha[0]), 64);
	cr_assert_eq(strlen(g->sha[1]), 64);
}

void t_gen_free(struct t_gen *g)
{
	t_sh(NULL, NULL, "rm -rf '%s'", g->dir);
	free(g->dir);
	free(g->cache);
	free(g->bdev);
	free(g->report);
	free(g->keys);
	memset(g, 0, sizeof(*g));
}

void t_cset_open(struct t_cset *s, const char *path, unsigned dev_flags, unsigned open_flags)
{
	s->err = PRINTBUF;
	cr_assert_eq(bt_dev_open(path, dev_flags, &s->dev, &s->err), 0, "%s",
		     printbuf_str(&s->err));
	cr_assert_eq(bt_cache_set_open(&s->c, &s->dev, open_flags, &s->err), 0, "%s",
		     printbuf_str(&s->err));
	s->nc = bt_node_cache_new(&s->c, 1 << 20, 0);
	cr_assert(s->nc, "out of memory for the node cache");
}

void t_cset_close(struct t_cset *s)
{
	bt_node_cache_free(s->nc);
	bt_cache_set_exit(&s->c);
	bt_dev_close(&s->dev);
	printbuf_exit(&s->err);
}

void t_cset_view(struct t_cset *s, struct bt_extmap *view, struct bt_overlay_stats *st)
{
	struct bt_overlay_stats ignored;

	cr_assert_eq(bt_overlay_build(&s->c, s->nc, BT_OVERLAY_JOURNAL, view, st ? st : &ignored,
				      &s->err), 0, "%s", printbuf_str(&s->err));
}

json_t *t_fsck_report(const char *img, const char *opts, int *rc)
{
	char *out = NULL, *err = NULL;
	json_error_t jerr;
	json_t *j;
	int status = t_run(&out, &err, "fsck %s --json '%s'", opts, img);

	cr_assert_geq(status, 0, "fsck %s died: %s", opts, err);
	j = json_loads(out, 0, &jerr);
	cr_assert(j && json_is_object(j), "fsck %s --json printed no JSON object (%s):\n%s%s",
		  opts, jerr.text, out, err);
	if (rc)
		*rc = status;
	free(out);
	free(err);
	return j;
}

char *t_fsck_summary_text(const char *out)
{
	const char *p = strstr(out, ": summary\n"), *end;

	cr_assert(p, "no summary pass in fsck's output:\n%s", out);
	p += strlen(": summary\n");
	end = p + strlen(p);
	/* the verdict is the last line */
	if (end > p && end[-1] == '\n')
		end--;
	while (end > p && end[-1] != '\n')
		end--;
	return strndup(p, (size_t)(end - p));
}
