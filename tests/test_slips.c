/* test_slips.c --- the slip suite: the usual slips of a user (the output
 * named as an input, one device named twice, a mounted or busy device, a
 * foreign device, a cache the kernel would not register...), each a case
 * file of tests/slips/, run on copies of the golden images (and, for cases
 * that say "also-on-loop", again with every image on a loop device). After
 * each run every file and device of the case must hash as before, except
 * those the case says it changes.
 *
 * A case file, one directive a line (# starts a comment; @VAR@ in any
 * argument is the path of VAR, @DIR@ the case's directory):
 *   image VAR CASE WHICH   a copy of images/CASE/WHICH.img.zst
 *   file VAR SIZE          a sparse file of zeroes (SIZE: bytes, k/M/G)
 *   random VAR SIZE        a file of random bytes
 *   mkfs VAR TYPE          mkfs.TYPE on VAR (ext4, xfs; swap: mkswap)
 *   newpath VAR            a path in the case's directory that does not exist
 *   symlink VAR OTHER      a symbolic link to OTHER
 *   ptable VAR             a DOS partition table (one partition) on VAR
 *   loop VAR OTHER         a loop device over OTHER       (skipped without loop devices)
 *   mount VAR              VAR mounted read-only          (skipped when mount fails)
 *   node VAR OTHER         a second device node of block device OTHER
 *   hold VAR read|write|excl   the test process holds VAR open so while the run
 *   needs PROGRAM          skipped when PROGRAM is not installed
 *   also-on-loop           run a second time with each image, file and random on a loop device
 *   tool ARGS              setup: bcache-tool ARGS, must exit 0
 *   run ARGS               the slip: bcache-tool ARGS through sh (redirections allowed)
 *   exit N                 its exit status
 *   match TEXT             TEXT is in its output (stdout and stderr)
 *   nomatch TEXT           TEXT is not
 *   changes VAR            VAR may change (not hashed)
 *   served VAR CASE        VAR starts with what golden CASE's bcache0 served (manifest sha256)
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helpers.h"
#include "libcore/base/printbuf.h"

#define SLIP_VARS	16

struct slip_var {
	char	name[16];
	char	path[256];
	bool	data;		/* an image, file or random: put on a loop device in loop mode */
	bool	hashed;
	char	sum[65];
};

/*
 * What one case set up, released by slip_fini() even when an assertion
 * ends the case early (Criterion runs each case in its own process; its
 * fini has no argument, hence this file-level state of the test process).
 */
static struct slip_env {
	char		dir[64];
	struct slip_var	v[SLIP_VARS];
	unsigned	nr;
	char		loops[SLIP_VARS][32];
	unsigned	nr_loops;
	char		mounts[4][96];
	unsigned	nr_mounts;
	int		fds[SLIP_VARS];
	unsigned	nr_fds;
} env;

static void slip_fini(void)
{
	while (env.nr_fds)
		close(env.fds[--env.nr_fds]);
	for (; env.nr_mounts; env.nr_mounts--) {
		const char *m = env.mounts[env.nr_mounts - 1];

		t_sh(NULL, NULL, "umount '%s' && rmdir '%s'", m, m);
	}
	while (env.nr_loops)
		t_sh(NULL, NULL, "losetup -d '%s'", env.loops[--env.nr_loops]);
	if (env.dir[0])
		t_sh(NULL, NULL, "rm -rf '%s'", env.dir);
	env.dir[0] = '\0';
}

static struct slip_var *var(const char *name, bool create)
{
	for (unsigned i = 0; i < env.nr; i++)
		if (!strcmp(env.v[i].name, name))
			return &env.v[i];
	cr_assert(create, "unknown variable %s", name);
	cr_assert_lt(env.nr, SLIP_VARS);
	snprintf(env.v[env.nr].name, sizeof(env.v[0].name), "%s", name);
	env.v[env.nr].hashed = true;
	return &env.v[env.nr++];
}

/* s with @VAR@ replaced by paths and @DIR@ by the case directory (malloc'ed). */
static char *subst(const char *s)
{
	struct printbuf pb = PRINTBUF;

	while (*s) {
		const char *end = *s == '@' ? strchr(s + 1, '@') : NULL;

		if (end && end - s < 16) {
			char name[16];

			snprintf(name, sizeof(name), "%.*s", (int)(end - s - 1), s + 1);
			prt_str(&pb, !strcmp(name, "DIR") ? env.dir : var(name, false)->path);
			s = end + 1;
		} else {
			prt_char(&pb, *s++);
		}
	}
	return pb.buf ? pb.buf : strdup("");
}

static void sh_ok(const char *what, const char *cmd)
{
	char *err = NULL;

	cr_assert_eq(t_sh(NULL, &err, "%s", cmd), 0, "%s: %s: %s", what, cmd, err);
	free(err);
}

static bool have_loop(void)
{
	return !access("/dev/loop-control", W_OK) && !t_sh(NULL, NULL, "losetup -f >/dev/null 2>&1");
}

/* A loop device over path, recorded for slip_fini(). */
static void attach_loop(const char *path, char *dev, size_t n)
{
	char *out = NULL;

	if (!have_loop()) {
		slip_fini();	/* Criterion runs no fini after a skip */
		cr_skip_test("skipped: no loop devices (losetup -f fails)");
	}
	cr_assert_eq(t_sh(&out, NULL, "losetup -f --show '%s'", path), 0);
	out[strcspn(out, "\n")] = '\0';
	snprintf(dev, n, "%s", out);
	snprintf(env.loops[env.nr_loops++], sizeof(env.loops[0]), "%s", out);
	free(out);
}

static void do_mount(struct slip_var *v)
{
	char *mnt = env.mounts[env.nr_mounts], dir[sizeof(env.dir)];

	memcpy(dir, env.dir, sizeof(dir));
	snprintf(mnt, sizeof(env.mounts[0]), "%s/mnt-%s", dir, v->name);
	cr_assert_eq(mkdir(mnt, 0755), 0, "mkdir %s: %m", mnt);
	if (t_sh(NULL, NULL, "mount -o ro,noload '%s' '%s'", v->path, mnt)) {
		slip_fini();	/* Criterion runs no fini after a skip */
		cr_skip_test("cannot mount '%s' here", v->path);
	}
	env.nr_mounts++;
}

static void do_hold(struct slip_var *v, const char *how)
{
	int flags = !strcmp(how, "write") ? O_RDWR : !strcmp(how, "excl") ? O_RDONLY | O_EXCL
									 : O_RDONLY;
	int fd = open(v->path, flags | O_CLOEXEC);	/* held here, not by the run's shell */

	cr_assert(fd >= 0, "hold %s %s: %m", v->path, how);
	env.fds[env.nr_fds++] = fd;
}

/* A DOS partition table: one Linux partition from sector 2048, 65536 sectors. */
static void do_ptable(const struct slip_var *v)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "f='%s'; printf '\\203' | dd of=\"$f\" bs=1 seek=450 "
		 "conv=notrunc && printf '\\000\\010\\000\\000\\000\\000\\001\\000' | dd of=\"$f\" "
		 "bs=1 seek=454 conv=notrunc && printf '\\125\\252' | dd of=\"$f\" bs=1 seek=510 "
		 "conv=notrunc", v->path);
	sh_ok("ptable", cmd);
}

static void do_mkfs(const struct slip_var *v, const char *type)
{
	char cmd[512];

	if (!strcmp(type, "swap"))
		snprintf(cmd, sizeof(cmd), "mkswap '%s'", v->path);
	else
		snprintf(cmd, sizeof(cmd), "mkfs.%s -q %s '%s'", type,
			 !strcmp(type, "ext4") ? "-F" : "-f", v->path);
	sh_ok("mkfs", cmd);
}

/* A data variable: a file in the case directory (on a loop device in loop mode). */
static void make_data(struct slip_var *v, const char *kind, const char *arg, const char *arg2,
		      bool loop)
{
	char file[256], cmd[600];

	snprintf(file, sizeof(file), "%s/%s.img", env.dir, v->name);
	if (!strcmp(kind, "image")) {
		char *img = t_golden_image(arg, arg2);

		snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s'", img, file);
		free(img);
	} else if (!strcmp(kind, "file")) {
		snprintf(cmd, sizeof(cmd), "truncate -s %s '%s'", arg, file);
	} else {
		snprintf(cmd, sizeof(cmd), "head -c %s /dev/urandom > '%s'", arg, file);
	}
	sh_ok(kind, cmd);
	v->data = true;
	if (loop)
		attach_loop(file, v->path, sizeof(v->path));
	else
		snprintf(v->path, sizeof(v->path), "%s", file);
}

static const char *word(char **p)
{
	char *s = *p + strspn(*p, " \t"), *e;

	if (!*s)
		return NULL;
	e = s + strcspn(s, " \t");
	if (*e)
		*e++ = '\0';
	*p = e;
	return s;
}

/* One setup line; returns false for the lines that are not setup. */
static bool setup_line(const char *line, bool loop)
{
	char buf[1024], *p = buf;
	const char *d, *a, *b, *c;

	snprintf(buf, sizeof(buf), "%s", line);
	d = word(&p);
	a = word(&p);
	b = word(&p);
	c = word(&p);
	if (!d)
		return false;

	if (!strcmp(d, "image") || !strcmp(d, "file") || !strcmp(d, "random")) {
		make_data(var(a, true), d, b, c, loop);
	} else if (!strcmp(d, "newpath")) {
		snprintf(var(a, true)->path, sizeof(env.v[0].path), "%s/%s.new", env.dir, a);
	} else if (!strcmp(d, "symlink")) {
		struct slip_var *v = var(a, true);
		char cmd[600];

		snprintf(v->path, sizeof(v->path), "%s/%s.link", env.dir, a);
		snprintf(cmd, sizeof(cmd), "ln -s '%s' '%s'", var(b, false)->path, v->path);
		sh_ok("symlink", cmd);
		v->hashed = false;	/* its target is */
	} else if (!strcmp(d, "loop")) {
		struct slip_var *v = var(a, true);

		attach_loop(var(b, false)->path, v->path, sizeof(v->path));
	} else if (!strcmp(d, "node")) {
		struct slip_var *v = var(a, true);
		struct stat st;
		char cmd[600];

		cr_assert_eq(stat(var(b, false)->path, &st), 0);
		snprintf(v->path, sizeof(v->path), "%s/%s.node", env.dir, a);
		snprintf(cmd, sizeof(cmd), "mknod '%s' b %u %u", v->path, major(st.st_rdev),
			 minor(st.st_rdev));
		sh_ok("mknod", cmd);
		v->hashed = false;	/* the same device as b */
	} else if (!strcmp(d, "mkfs")) {
		do_mkfs(var(a, false), b);
	} else if (!strcmp(d, "ptable")) {
		do_ptable(var(a, false));
	} else if (!strcmp(d, "mount")) {
		do_mount(var(a, false));
	} else if (!strcmp(d, "hold")) {
		do_hold(var(a, false), b);
	} else if (!strcmp(d, "tool")) {
		char *args = subst(line + 5), *err = NULL;

		cr_assert_eq(t_run(NULL, &err, "%s", args), 0, "tool %s: %s", args, err);
		free(args);
		free(err);
	} else {
		return false;
	}
	return true;
}

static void hash_all(void)
{
	for (unsigned i = 0; i < env.nr; i++)
		if (env.v[i].hashed && !access(env.v[i].path, F_OK))
			t_sha256_file(env.v[i].path, env.v[i].sum);
		else
			env.v[i].hashed = false;
}

/* VAR's first bytes are what golden case served (bcache0.size_sectors, its sha256). */
static void assert_served(const char *name, const char *gcase)
{
	json_t *m = t_manifest_case(gcase);
	const char *sectors = t_manifest_str(m, "truth_before_stop", "bcache0.size_sectors");
	const char *want = t_manifest_str(m, "expected_logical_sha256", "bcache0");
	char *out = NULL;

	cr_assert_eq(t_sh(&out, NULL, "head -c %llu '%s' | sha256sum",
			  strtoull(sectors, NULL, 10) * 512, var(name, false)->path), 0);
	cr_expect_eq(strncmp(out, want, 64), 0, "%s: served %.64s, the kernel %s", name, out,
		     want);
	free(out);
	json_decref(m);
}

/* The expectations, after the run: exit, matches, hashes. */
static void check_line(char *line, int rc, const char *all, const char *cmd)
{
	char *p = line;
	const char *d = word(&p);

	if (!d)
		return;
	if (!strcmp(d, "exit")) {
		cr_expect_eq(rc, atoi(p), "'%s': exit %d, expected %s:\n%s", cmd, rc, p, all);
	} else if (!strcmp(d, "match") || !strcmp(d, "nomatch")) {
		char *m = subst(p + strspn(p, " "));

		cr_expect(!strstr(all, m) == !strcmp(d, "nomatch"), "'%s': %s \"%s\" in:\n%s",
			  cmd, d, m, all);
		free(m);
	} else if (!strcmp(d, "served")) {
		const char *v = word(&p), *gcase = word(&p);

		assert_served(v, gcase);
	}
}

/* The case's text with its "needs" and "changes" applied first. */
static char *case_text(const char *name, bool *also_on_loop)
{
	char rel[256], *text, *copy, *line, *save = NULL;

	snprintf(rel, sizeof(rel), "tests/slips/%s", name);
	text = t_read_text(rel, NULL);
	copy = strdup(text);
	*also_on_loop = false;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *p = line;
		const char *d = word(&p), *a = d ? word(&p) : NULL;

		if (d && !strcmp(d, "needs") && t_sh(NULL, NULL, "command -v '%s' >/dev/null", a))
			cr_skip_test("%s: %s is not installed", name, a);
		if (d && !strcmp(d, "also-on-loop"))
			*also_on_loop = true;
	}
	free(copy);
	return text;
}

static void run_slip(const char *name, bool loop)
{
	char *text, *line, *save = NULL, *cmd = NULL, *out = NULL, *err = NULL, *all;
	bool also;
	int rc = -1;

	text = case_text(name, &also);
	snprintf(env.dir, sizeof(env.dir), "/tmp/bt-slip-XXXXXX");
	cr_assert(mkdtemp(env.dir));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!*line || *line == '#' || setup_line(line, loop && also))
			continue;
		if (!strncmp(line, "changes ", 8))
			var(line + 8, false)->hashed = false;
		if (!strncmp(line, "run ", 4))
			cmd = subst(line + 4);
	}
	free(text);
	cr_assert(cmd, "%s: no run line", name);
	hash_all();
	rc = t_run(&out, &err, "%s", cmd);
	cr_assert(rc >= 0 && rc < 128, "'%s' died (status %d): %s", cmd, rc, err);
	cr_assert(asprintf(&all, "%s%s", out, err) > 0);
	text = case_text(name, &also);
	save = NULL;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (*line && *line != '#')
			check_line(line, rc, all, cmd);
	for (unsigned i = 0; i < env.nr; i++) {
		char now[65];

		if (!env.v[i].hashed)
			continue;
		t_sha256_file(env.v[i].path, now);
		cr_expect_str_eq(now, env.v[i].sum, "'%s' changed '%s' (%s)", cmd, env.v[i].path,
				 env.v[i].name);
	}
	free(text);
	free(all);
	free(out);
	free(err);
	free(cmd);
}

struct slip_param {
	char	name[256];
	bool	loop;
};

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* One parameter per case, and one more per "also-on-loop" case. */
ParameterizedTestParameters(slips, each)
{
	char dir[512];
	struct dirent **names;
	int n;
	struct slip_param *p;
	size_t nr = 0;

	snprintf(dir, sizeof(dir), "%s/tests/slips", t_srcdir());
	n = scandir(dir, &names, NULL, by_name);
	p = cr_malloc((size_t)(n > 0 ? 2 * n : 1) * sizeof(*p));
	for (int i = 0; i < n; i++) {
		char path[1024], *text;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && (text = t_read_file(path, NULL))) {
			snprintf(p[nr].name, sizeof(p[0].name), "%s", names[i]->d_name);
			p[nr++].loop = false;
			if (strstr(text, "\nalso-on-loop\n")) {
				p[nr] = p[nr - 1];
				p[nr++].loop = true;
			}
			free(text);
		}
		free(names[i]);
	}
	free(names);
	return cr_make_param_array(struct slip_param, p, nr);
}

ParameterizedTest(struct slip_param *p, slips, each, .timeout = 300, .fini = slip_fini)
{
	cr_log_info("slip %s%s", p->name, p->loop ? " (on loop devices)" : "");
	run_slip(p->name, p->loop);
}

/* The suite covers the slips of issue 15 (a case file each, at least). */
Test(slips, suite_is_complete)
{
	static const char *const must[] = {
		"extract-o-backing", "extract-o-cache", "extract-o-mounted", "extract-o-loop",
		"image-restore-onto-backing", "image-restore-onto-data", "format-force-mounted",
		"fsck-y-excl-held", "gc-excl-held", "format-force-excl-held",
		"fsck-y-open-elsewhere", "writeback-c-b-b", "writeback-c-c", "writeback-alias",
		"format-100m", "migrate-small-dst", "fsck-ext4", "fsck-swap", "fsck-zeroed",
		"fsck-undo-is-device", "fsck-log-is-device", "image-o-cache",
	};

	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		char rel[128];
		char *text;

		snprintf(rel, sizeof(rel), "tests/slips/%s", must[i]);
		text = t_read_text(rel, NULL);
		cr_expect(strstr(text, "\nrun "), "%s has no run line", must[i]);
		free(text);
	}
}
