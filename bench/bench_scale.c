/* bench_scale.c --- how bcache-tool scales with the number of keys.
 *
 * For generated caches of growing size (tests/tools/gen-cache: one backing
 * device and one flash volume, 512-byte blocks, --scatter so that no two
 * extents merge; by default 1M, 5M and 20M extents), kept between runs in
 * a scratch folder and remade only when their gen-cache options change:
 *
 *   1. the limits, measured in the same run on the same bytes: every btree
 *      node's extent (KEY_SIZE sectors at its pointer) read with O_DIRECT at
 *      queue depth 32 (32 reader threads) from a cold page cache, and read +
 *      crc64 of the same extents warm;
 *   2. each command (fsck -n with the default threads and with -j 1,
 *      dump-btree --keys-only, extract of the backing device, gc -n,
 *      writeback --dry-run, detach --dry-run --force, migrate --dry-run to
 *      a sparse file as large as the cache), warm (after a run that fills the
 *      page cache) and cold (after dropping the page cache, where permitted):
 *      seconds, keys/s, MB/s of btree nodes, peak RSS (wait4);
 *   3. a least-squares line of time and of peak RSS against keys per
 *      command, over the sizes measured.
 *
 * Nothing here asserts a time. Environment: BT_BUILD (bcache-tool,
 * gen-cache), BENCH_DIR (scratch folder, default /tmp/bcache-tool-bench),
 * BENCH_SIZES (extents per cache, default "1000000 5000000 20000000"),
 * BENCH_BIN (the bcache-tool to measure).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libcore/base/clock.h"
#include "libcore/base/csum.h"
#include "libcore/ondisk/cache_set.h"
#include "libcore/read/node_cache.h"

#define GEN_ARGS	"-q --bdevs 1 --flash 1 -w 512 --scatter --seed 1"
#define QUEUE_DEPTH	32
#define MAX_SIZES	8
#define NR_CMDS		8

struct extent {
	uint64_t	offset;		/* bytes */
	uint32_t	bytes;
};

/* The btree nodes of a cache: their extents, keys and bytes. */
struct nodes {
	struct extent	*e;
	size_t		nr, size;
	uint64_t	keys, leaf_keys, bytes;
};

struct cmd {
	const char	*name;
	const char	*argv[8];	/* after the binary; CACHE, BDEV and DST filled in */
};

/* One run's figures. */
struct run {
	double		secs;
	long		rss_kb;
	int		status;
};

static int add_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct nodes *s = arg;
	const struct bkey *k = (const struct bkey *)n->key;

	(void)pos;
	if (s->nr == s->size) {
		size_t sz = s->size ? s->size * 2 : 1024;
		struct extent *e = realloc(s->e, sz * sizeof(*e));

		if (!e)
			return -ENOMEM;
		s->e = e;
		s->size = sz;
	}
	s->e[s->nr].offset = PTR_OFFSET(k, 0) << SECTOR_SHIFT;
	s->e[s->nr++].bytes = (uint32_t)(KEY_SIZE(k) << SECTOR_SHIFT);
	s->keys += n->nr_keys;
	s->bytes += KEY_SIZE(k) << SECTOR_SHIFT;
	if (!n->level)
		s->leaf_keys += n->nr_keys;
	return 0;
}

/* The node extents of the cache at path, by a walk of its tree. Returns 0 or -1. */
static int list_nodes(const char *path, struct nodes *s)
{
	struct printbuf err = PRINTBUF;
	struct bt_walk_opts o = { add_node, NULL, s, 0, 0 };
	struct bt_node_cache *nc = NULL;
	struct bt_dev dev;
	struct cache_set c;
	int ret = bt_dev_open(path, BT_DEV_FORCE, &dev, &err);

	if (!ret) {
		ret = bt_cache_set_open(&c, &dev, 0, &err);
		nc = ret ? NULL : bt_node_cache_new(&c, BT_NODE_CACHE_DEFAULT_BYTES, 0);
		ret = ret ? ret : nc ? bt_btree_walk(nc, (struct bkey *)&c.root_key,
						     c.root_level, &o, &err) : -ENOMEM;
		bt_node_cache_free(nc);
		bt_cache_set_exit(&c);
		bt_dev_close(&dev);
	}
	if (ret)
		fprintf(stderr, "bench_scale: %s: %s\n", path, printbuf_str(&err));
	printbuf_exit(&err);
	return ret ? -1 : 0;
}

/* Drop the page cache; false when not permitted. */
static bool drop_caches(void)
{
	int fd;
	bool ok;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return false;
	ok = write(fd, "3\n", 2) == 2;
	close(fd);
	return ok;
}

struct reader {
	const struct nodes	*s;
	int			fd;
	size_t			next;	/* shared: next extent to read */
	pthread_mutex_t		lock;
	int			failed;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	void *buf = NULL;

	if (posix_memalign(&buf, 4096, 1 << 20))
		return NULL;
	for (;;) {
		size_t i;

		pthread_mutex_lock(&r->lock);
		i = r->next++;
		pthread_mutex_unlock(&r->lock);
		if (i >= r->s->nr)
			break;
		if (r->s->e[i].bytes > (1 << 20) ||
		    pread(r->fd, buf, r->s->e[i].bytes, (off_t)r->s->e[i].offset) !=
		    (ssize_t)r->s->e[i].bytes)
			r->failed = 1;
	}
	free(buf);
	return NULL;
}

/* Cold limit: the node extents read with O_DIRECT, QUEUE_DEPTH at a time. Seconds or < 0. */
static double limit_cold(const char *path, const struct nodes *s)
{
	struct reader r = { .s = s, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[QUEUE_DEPTH];
	double t0;

	r.fd = open(path, O_RDONLY | O_DIRECT);
	if (r.fd < 0)
		return -1;
	t0 = bt_now_seconds();
	for (unsigned i = 0; i < QUEUE_DEPTH; i++)
		pthread_create(&t[i], NULL, reader_thread, &r);
	for (unsigned i = 0; i < QUEUE_DEPTH; i++)
		pthread_join(t[i], NULL);
	t0 = bt_now_seconds() - t0;
	close(r.fd);
	return r.failed ? -1 : t0;
}

/*
 * Warm limit: pread + crc64 of every node extent, from the page cache (a
 * first pass fills it). Seconds or < 0; *sum gets the crcs xored (printed,
 * so that they are computed).
 */
static double limit_warm(const char *path, const struct nodes *s, uint64_t *sum)
{
	int fd = open(path, O_RDONLY);
	uint8_t *buf = malloc(1 << 20);
	double t0 = -1;

	for (int pass = 0; fd >= 0 && buf && pass < 2; pass++) {
		*sum = 0;
		t0 = bt_now_seconds();
		for (size_t i = 0; i < s->nr; i++) {
			if (s->e[i].bytes > (1 << 20) ||
			    pread(fd, buf, s->e[i].bytes, (off_t)s->e[i].offset) != s->e[i].bytes) {
				t0 = -1;
				goto out;
			}
			*sum ^= bch_crc64(buf, s->e[i].bytes);
		}
		t0 = bt_now_seconds() - t0;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return t0;
}

/* Run argv with stdout and stderr to /dev/null; its wall time and peak RSS. */
static int run_cmd(const char *const *argv, struct run *r)
{
	struct rusage ru;
	double t0 = bt_now_seconds();
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (wait4(pid, &r->status, 0, &ru) != pid)
		return -1;
	r->secs = bt_now_seconds() - t0;
	r->rss_kb = ru.ru_maxrss;
	return 0;
}

static void print_run(const char *what, const struct run *r, const struct nodes *s)
{
	if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) >= 8) {
		printf("  %-34s failed (status %d)\n", what,
		       WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1);
		return;
	}
	printf("  %-34s %8.3f s %11.0f keys/s %8.1f MB/s  peak RSS %6ld MB\n", what, r->secs,
	       s->leaf_keys / r->secs, s->bytes / r->secs / 1e6, r->rss_kb / 1024);
}

/* Least-squares line y = a + b x over n points; prints b per key and a. */
static void print_fit(const char *what, const double *x, const double *y, unsigned n,
		      double unit, const char *per_key, const char *at_zero)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, b, a;

	if (n < 2)
		return;
	for (unsigned i = 0; i < n; i++) {
		sx += x[i];
		sy += y[i];
		sxx += x[i] * x[i];
		sxy += x[i] * y[i];
	}
	b = (n * sxy - sx * sy) / (n * sxx - sx * sx);
	a = (sy - b * sx) / n;
	printf("  %-34s %10.3f %s per key, %8.2f %s at 0 keys\n", what, b * unit, per_key,
	       a, at_zero);
}

static const struct cmd cmds[NR_CMDS] = {
	{ "fsck -n", { "fsck", "-n", "CACHE" } },
	{ "fsck -n -j 1", { "fsck", "-n", "-j", "1", "CACHE" } },
	{ "dump-btree --keys-only", { "dump-btree", "--keys-only", "CACHE" } },
	{ "extract (backing device)", { "extract", "CACHE", "BDEV", "-o", "/dev/null" } },
	{ "gc -n", { "gc", "-n", "CACHE" } },
	{ "writeback --dry-run", { "writeback", "--dry-run", "CACHE", "BDEV" } },
	{ "detach --dry-run", { "detach", "--dry-run", "--force", "--cache", "CACHE", "BDEV" } },
	{ "migrate --dry-run", { "migrate", "--dry-run", "CACHE", "DST" } },
};

/* argv of command i for bin on cache (its backing image bdev, a migrate target dst). */
static void cmd_argv(unsigned i, const char *bin, const char *cache, const char *bdev,
		     const char *dst, const char **argv)
{
	unsigned n = 0;

	argv[n++] = bin;
	for (unsigned j = 0; cmds[i].argv[j]; j++)
		argv[n++] = !strcmp(cmds[i].argv[j], "CACHE") ? cache :
			    !strcmp(cmds[i].argv[j], "BDEV") ? bdev :
			    !strcmp(cmds[i].argv[j], "DST") ? dst : cmds[i].argv[j];
	argv[n] = NULL;
}

/* dst: an empty sparse file as large as cache, for migrate --dry-run. */
static int make_dst(const char *cache, const char *dst)
{
	struct stat st;
	int fd, ret;

	if (stat(cache, &st))
		return -1;
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	ret = ftruncate(fd, st.st_size);
	close(fd);
	return ret;
}

/* Make dir/scale-N.img (and .bdev0) unless it exists with the same options. */
static int make_cache(const char *build, const char *cache, unsigned long long n)
{
	char cmd[16384], args[512];
	struct stat st;

	snprintf(args, sizeof(args), "%s -n %llu", GEN_ARGS, n);
	snprintf(cmd, sizeof(cmd), "grep -qxF -- '%s' '%s.args' 2>/dev/null", args, cache);
	if (!stat(cache, &st) && st.st_size > 0 && !system(cmd))
		return 0;
	printf("generating %s (gen-cache %s) ...\n", cache, args);
	fflush(stdout);
	snprintf(cmd, sizeof(cmd), "'%s/tests/tools/gen-cache' %s -o /dev/null '%s' '%s.bdev0' && "
		 "echo '%s' > '%s.args'", build, args, cache, cache, args, cache);
	return system(cmd) ? -1 : 0;
}

/* Limits and commands on one cache; y[c][0/1] gets the warm seconds and RSS of command c. */
static int bench_cache(const char *bin, const char *cache, double y[NR_CMDS][2], double *keys)
{
	struct nodes s = { 0 };
	char bdev[4200], dst[4200];
	bool cold = drop_caches();
	double lc = -1, lw;
	uint64_t sum = 0;

	snprintf(bdev, sizeof(bdev), "%s.bdev0", cache);
	snprintf(dst, sizeof(dst), "%s.migrate-dst", cache);
	if (make_dst(cache, dst))
		return -1;
	if (list_nodes(cache, &s))
		return -1;
	if (cold) {
		drop_caches();
		lc = limit_cold(cache, &s);
	}
	lw = limit_warm(cache, &s, &sum);
	*keys = (double)s.leaf_keys;
	printf("== %s: %llu leaf keys, %zu nodes, %.1f MB of nodes (crc64s xor %016llx)\n", cache,
	       (unsigned long long)s.leaf_keys, s.nr, s.bytes / 1e6, (unsigned long long)sum);
	if (lc > 0)
		printf("  %-34s %8.3f s %11s        %8.1f MB/s\n", "limit cold: O_DIRECT, QD 32", lc,
		       "", s.bytes / lc / 1e6);
	else
		printf("  limit cold: not measured (cannot drop the page cache here)\n");
	printf("  %-34s %8.3f s %11s        %8.1f MB/s\n", "limit warm: read + crc64", lw, "",
	       s.bytes / lw / 1e6);
	for (unsigned i = 0; i < NR_CMDS; i++) {
		const char *argv[12];
		char what[80];
		struct run r;

		cmd_argv(i, bin, cache, bdev, dst, argv);
		if (cold && drop_caches() && !run_cmd(argv, &r)) {
			snprintf(what, sizeof(what), "%s, cold", cmds[i].name);
			print_run(what, &r, &s);
		}
		if (run_cmd(argv, &r) || run_cmd(argv, &r))	/* the first run warms the cache */
			return -1;
		snprintf(what, sizeof(what), "%s, warm", cmds[i].name);
		print_run(what, &r, &s);
		y[i][0] = r.secs;
		y[i][1] = r.rss_kb / 1024.0;
	}
	free(s.e);
	return 0;
}

int main(void)
{
	const char *build = getenv("BT_BUILD") ? getenv("BT_BUILD") : "build";
	const char *dir = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp/bcache-tool-bench";
	const char *sizes = getenv("BENCH_SIZES") ? getenv("BENCH_SIZES") :
			    "1000000 5000000 20000000";
	double x[MAX_SIZES], y[MAX_SIZES][NR_CMDS][2];
	char bin[2048], cache[2048];
	unsigned n = 0;

	snprintf(bin, sizeof(bin), "%s", getenv("BENCH_BIN") ? getenv("BENCH_BIN") : "");
	if (!*bin)
		snprintf(bin, sizeof(bin), "%s/bcache-tool", build);
	mkdir(dir, 0755);
	for (const char *p = sizes; *p && n < MAX_SIZES; ) {
		char *end;
		unsigned long long e = strtoull(p, &end, 10);

		if (end == p)
			break;
		p = end;
		snprintf(cache, sizeof(cache), "%s/scale-%llu.img", dir, e);
		if (make_cache(build, cache, e) || bench_cache(bin, cache, y[n], &x[n]))
			fprintf(stderr, "bench_scale: %s failed\n", cache);
		else
			n++;
	}
	printf("== linear fit over %u caches (warm runs)\n", n);
	for (unsigned i = 0; i < NR_CMDS; i++) {
		double t[MAX_SIZES], m[MAX_SIZES];
		char what[80];

		for (unsigned j = 0; j < n; j++) {
			t[j] = y[j][i][0];
			m[j] = y[j][i][1];
		}
		snprintf(what, sizeof(what), "%s: time", cmds[i].name);
		print_fit(what, x, t, n, 1e6, "us", "s");
		snprintf(what, sizeof(what), "%s: peak RSS", cmds[i].name);
		print_fit(what, x, m, n, 1024.0 * 1024.0, "bytes", "MB");
	}
	return 0;
}
