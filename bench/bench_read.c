/* bench_read.c --- how fast bcache-tool reads a btree, against the limit.
 *
 * For each image (the golden s05 cache, the largest kernel-written one, and
 * a generated cache of 1,000,000 extents made by tests/tools/gen-cache in
 * /tmp when absent), in a child process each so that peak RSS is per image:
 *   1. the limit: read every node's bytes (KEY_SIZE sectors at its pointer)
 *      and crc64 them, nothing else;
 *   2. ours: open the cache set and walk the whole tree through the node
 *      cache (node_cache.h): read, check every bset, merge the keys;
 *   3. bcache-tool fsck -n on the image, when the binary has fsck.
 * Nodes/s, keys/s and MB/s of each are printed side by side with the peak
 * RSS (getrusage). Runs are warm: one untimed pass of (1) first fills the
 * page cache. Nothing here asserts a time.
 *
 * Environment: BT_SRCDIR (images/), BT_BUILD (bcache-tool, gen-cache),
 * BENCH_1M (path of the generated image, default
 * /tmp/bcache-tool-bench-1M.img), BENCH_BIN (the bcache-tool to run fsck
 * with, default $BT_BUILD/bcache-tool).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libcore/ondisk/cache_set.h"
#include "libcore/base/clock.h"
#include "libcore/base/csum.h"
#include "libcore/read/node_cache.h"

/* 512-byte blocks keep the data small; --scatter keeps adjacent extents from merging */
#define GEN_1M_ARGS	"-q -n 1000000 --bdevs 0 --flash 1 -w 512 --scatter --seed 1"
#define MIN_SECONDS	0.5	/* repeat a measurement at least this long, keep the best */
#define MAX_REPEAT	1000

struct node_ref {
	uint64_t	offset;		/* bytes */
	uint32_t	bytes;
};

struct walk_stats {
	uint64_t	nodes, leaves, keys, leaf_keys, bytes;
	struct node_ref	*refs;
	size_t		nr_refs, size_refs;
	unsigned	tree_depth;	/* the root's level (the kernel's tree_depth) */
};

static int count_node(const struct bt_node *n, const struct bt_walk_pos *pos, void *arg)
{
	struct walk_stats *s = arg;
	const struct bkey *k = (const struct bkey *)n->key;

	s->nodes++;
	s->keys += n->nr_keys;
	if (!n->level) {
		s->leaves++;
		s->leaf_keys += n->nr_keys;
	}
	if (!pos->depth)
		s->tree_depth = n->level;
	s->bytes += KEY_SIZE(k) << SECTOR_SHIFT;
	if (s->nr_refs == s->size_refs) {
		size_t sz = s->size_refs ? s->size_refs * 2 : 256;
		struct node_ref *r = realloc(s->refs, sz * sizeof(*r));

		if (!r)
			return -ENOMEM;
		s->refs = r;
		s->size_refs = sz;
	}
	s->refs[s->nr_refs].offset = PTR_OFFSET(k, 0) << SECTOR_SHIFT;
	s->refs[s->nr_refs++].bytes = (uint32_t)(KEY_SIZE(k) << SECTOR_SHIFT);
	return 0;
}

/*
 * Open the set (time in *open_secs), then walk the whole tree with a fresh
 * node cache, repeated; s gets the last walk's counts. Returns the best
 * walk's seconds or < 0.
 */
static double walk(const char *path, struct walk_stats *s, double *open_secs)
{
	struct printbuf err = PRINTBUF;
	struct bt_dev dev;
	struct cache_set c;
	double t0 = bt_now_seconds(), best = -1, total = 0;
	int ret;

	if (bt_dev_open(path, BT_DEV_FORCE, &dev, &err)) {
		fprintf(stderr, "bench_read: %s\n", printbuf_str(&err));
		printbuf_exit(&err);
		return -1;
	}
	ret = bt_cache_set_open(&c, &dev, 0, &err);
	if (open_secs)
		*open_secs = bt_now_seconds() - t0;
	for (unsigned i = 0; !ret && i < MAX_REPEAT && (total < MIN_SECONDS || !i); i++) {
		struct bt_walk_opts o = { count_node, NULL, s, 0, 0 };
		struct bt_node_cache *nc = bt_node_cache_new(&c, BT_NODE_CACHE_DEFAULT_BYTES, 0);
		double t;

		free(s->refs);
		memset(s, 0, sizeof(*s));
		t0 = bt_now_seconds();
		ret = nc ? bt_btree_walk(nc, (struct bkey *)&c.root_key, c.root_level, &o, &err)
			 : -ENOMEM;
		bt_node_cache_free(nc);
		t = bt_now_seconds() - t0;
		total += t;
		if (best < 0 || t < best)
			best = t;
	}
	if (ret) {
		fprintf(stderr, "bench_read: %s: %s\n", path, printbuf_str(&err));
		best = -1;
	}
	bt_cache_set_exit(&c);
	bt_dev_close(&dev);
	printbuf_exit(&err);
	return best;
}

/* The limit: pread + crc64 of the same node bytes, repeated. Returns the best seconds or < 0. */
static double read_crc(const char *path, const struct walk_stats *s, uint64_t *sum)
{
	int fd = open(path, O_RDONLY);
	uint32_t max = 0;
	uint8_t *buf;
	double best = -1, total = 0;

	for (size_t i = 0; i < s->nr_refs; i++)
		if (s->refs[i].bytes > max)
			max = s->refs[i].bytes;
	buf = malloc(max ? max : 1);
	if (fd < 0 || !buf)
		goto out;
	for (unsigned r = 0; r < MAX_REPEAT && (total < MIN_SECONDS || !r); r++) {
		double t0 = bt_now_seconds(), t;

		*sum = 0;
		for (size_t i = 0; i < s->nr_refs; i++) {
			if (pread(fd, buf, s->refs[i].bytes, (off_t)s->refs[i].offset) !=
			    (ssize_t)s->refs[i].bytes) {
				best = -1;
				goto out;
			}
			*sum ^= bch_crc64(buf, s->refs[i].bytes);
		}
		t = bt_now_seconds() - t0;
		total += t;
		if (best < 0 || t < best)
			best = t;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return best;
}

static void rate_line(const char *what, double t, const struct walk_stats *s)
{
	printf("  %-28s %8.3f s %10.0f nodes/s %12.0f keys/s %9.1f MB/s\n", what, t,
	       s->nodes / t, s->keys / t, s->bytes / t / 1e6);
}

/* Child: the limit and our walk of one image; prints, exits 0 on success. */
static int measure(const char *path)
{
	struct walk_stats s = { 0 };
	uint64_t sum = 0;
	double tw, tl, topen;

	/* the page cache is warm for both after the walks; the limit runs last */
	tw = walk(path, &s, &topen);
	if (tw < 0)
		return 1;
	tl = read_crc(path, &s, &sum);
	if (tl < 0)
		return 1;
	printf("  tree: tree_depth %u, %llu nodes (%llu leaves), %llu keys (%llu in leaves), "
	       "%.1f MB of nodes\n", s.tree_depth, (unsigned long long)s.nodes,
	       (unsigned long long)s.leaves, (unsigned long long)s.keys,
	       (unsigned long long)s.leaf_keys, s.bytes / 1e6);
	printf("  open (superblock, journal, prios, uuids): %.3f s\n", topen);
	rate_line("limit: read + crc64", tl, &s);
	rate_line("ours: walk (read+check+merge)", tw, &s);
	printf("  ours / limit: %.2f of the limit's MB/s (best of repeated runs, warm cache)\n",
	       tl / tw);
	fflush(stdout);
	free(s.refs);
	return 0;
}

/* Run fn(path) or a command in a child; report its peak RSS. */
static int in_child(const char *path, const char *const *cmd, double *secs, long *rss_kb,
		    int *status)
{
	struct rusage ru;
	double t0 = bt_now_seconds();
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (cmd) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execv(cmd[0], (char *const *)cmd);
			_exit(127);
		}
		_exit(measure(path));
	}
	if (wait4(pid, status, 0, &ru) != pid)
		return -1;
	*secs = bt_now_seconds() - t0;
	*rss_kb = ru.ru_maxrss;
	return 0;
}

static bool has_fsck(const char *bin)
{
	char cmd[4096], line[256];
	FILE *p;
	bool found = false;

	snprintf(cmd, sizeof(cmd), "'%s' --help 2>&1", bin);
	p = popen(cmd, "r");
	if (!p)
		return false;
	while (fgets(line, sizeof(line), p))
		if (!strncmp(line, "  fsck ", 7))
			found = true;
	pclose(p);
	return found;
}

static void bench_image(const char *name, const char *path, const char *bin)
{
	struct walk_stats s = { 0 };
	double secs;
	long rss;
	int status;

	printf("== %s (%s)\n", name, path);
	if (in_child(path, NULL, &secs, &rss, &status) || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		printf("  failed to measure\n");
		return;
	}
	printf("  peak RSS of the walk: %ld MB\n", rss / 1024);
	if (!has_fsck(bin)) {
		printf("  fsck -n: skipped ('%s' has no fsck command yet)\n", bin);
		return;
	}
	if (walk(path, &s, NULL) < 0)
		return;
	{
		const char *cmd[] = { bin, "fsck", "-n", path, NULL };

		if (in_child(path, cmd, &secs, &rss, &status) || !WIFEXITED(status) ||
		    WEXITSTATUS(status) >= 8) {
			printf("  fsck -n: failed (status %d)\n",
			       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		} else {
			rate_line("fsck -n (whole run)", secs, &s);
			printf("  fsck -n exit status %d, peak RSS %ld MB\n", WEXITSTATUS(status),
			       rss / 1024);
		}
	}
	free(s.refs);
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st) && st.st_size > 0;
}

int main(void)
{
	const char *src = getenv("BT_SRCDIR") ? getenv("BT_SRCDIR") : ".";
	const char *build = getenv("BT_BUILD") ? getenv("BT_BUILD") : "build";
	const char *big = getenv("BENCH_1M") ? getenv("BENCH_1M") : "/tmp/bcache-tool-bench-1M.img";
	char bin[4096], s05[] = "/tmp/bcache-tool-bench-s05.img", cmd[8192];

	snprintf(bin, sizeof(bin), "%s", getenv("BENCH_BIN") ? getenv("BENCH_BIN") : "");
	if (!*bin)
		snprintf(bin, sizeof(bin), "%s/bcache-tool", build);
	if (!exists(s05)) {
		snprintf(cmd, sizeof(cmd), "zstd -q -d -f --long=31 '%s/images/s05-btree-depth2/"
			 "cache.img.zst' -o '%s'", src, s05);
		if (system(cmd))
			fprintf(stderr, "bench_read: cannot decompress the s05 image\n");
	}
	/* BIG.args records the gen-cache options it was made with: remade when they change */
	snprintf(cmd, sizeof(cmd), "grep -qxF -- '%s' '%s.args' 2>/dev/null", GEN_1M_ARGS, big);
	if (!exists(big) || system(cmd)) {
		printf("generating %s (gen-cache %s) ...\n", big, GEN_1M_ARGS);
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "'%s/tests/tools/gen-cache' %s -o /dev/null '%s' && "
			 "echo '%s' > '%s.args'", build, GEN_1M_ARGS, big, GEN_1M_ARGS, big);
		if (system(cmd))
			fprintf(stderr, "bench_read: gen-cache failed\n");
	}
	if (exists(s05))
		bench_image("golden s05-btree-depth2 (kernel-written)", s05, bin);
	if (exists(big))
		bench_image("generated, 1,000,000 extents", big, bin);
	return 0;
}
