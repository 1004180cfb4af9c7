/* bench_gc.c --- how fast bcache-tool gc collects a cache, next to how fast
 * fsck -n checks the same cache.
 *
 * The cache: tests/tools/gen-cache with 500,000 extents, 100,000 of them
 * stale, 100 keys per leaf, 128 KiB buckets (sparse nodes to coalesce), made in /tmp when
 * absent (BENCH_GC, default /tmp/bcache-tool-bench-gc.img). Each run works
 * on a fresh copy (gc changes it), in this order: fsck -n, gc --dry-run, gc
 * (which commits). Throughput is the btree's keys (all nodes, as fsck's key
 * bytes / 8 would not count them) divided by the wall time of the whole
 * command; keys = the live leaf keys gc reports before + the stale keys it
 * drops. Runs are warm (the copy was just written). Nothing is asserted.
 *
 * Environment: BT_BUILD (bcache-tool, gen-cache), BENCH_GC, BENCH_BIN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "libcore/base/clock.h"

#define GEN_ARGS	"-q -n 500000 --stale 100000 --leaf-keys 100 --fanout 50 -b 128k " \
			"--bdevs 1 --flash 1 -w 512 --seed 5"

static int exists(const char *path)
{
	struct stat st;

	return !stat(path, &st) && st.st_size > 0;
}

/* Run cmd, keep its stdout in out (size bytes); wall seconds in *secs; exit status. */
static int timed(const char *cmd, char *out, size_t size, double *secs)
{
	double t0 = bt_now_seconds();
	size_t n = 0;
	FILE *p = popen(cmd, "r");
	int st;

	if (!p)
		return -1;
	while (n + 1 < size && fgets(out + n, (int)(size - n), p))
		n += strlen(out + n);
	out[n] = 0;
	st = pclose(p);
	*secs = bt_now_seconds() - t0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static long long num(const char *text, const char *name, int col)
{
	const char *p = strstr(text, name);
	long long a = -1, b = -1;

	if (!p || sscanf(p + strlen(name), " %lld %lld", &a, &b) < 1)
		return -1;
	return col ? b : a;
}

static void rate(const char *what, double secs, long long keys, long long nodes)
{
	printf("  %-28s %8.3f s  %12.0f keys/s  %10.0f nodes/s\n", what, secs,
	       secs > 0 ? keys / secs : 0, secs > 0 ? nodes / secs : 0);
}

int main(void)
{
	const char *build = getenv("BT_BUILD") ? getenv("BT_BUILD") : "build";
	const char *img = getenv("BENCH_GC") ? getenv("BENCH_GC") : "/tmp/bcache-tool-bench-gc.img";
	char bin[4096], copy[4200], cmd[16384], *out = malloc(1 << 16);
	long long keys, nodes;
	double t_fsck, t_dry, t_gc;
	int rc;

	if (!out)
		return 1;
	snprintf(bin, sizeof(bin), "%s", getenv("BENCH_BIN") ? getenv("BENCH_BIN") : "");
	if (!*bin)
		snprintf(bin, sizeof(bin), "%s/bcache-tool", build);
	snprintf(copy, sizeof(copy), "%s.work", img);
	snprintf(cmd, sizeof(cmd), "grep -qxF -- '%s' '%s.args' 2>/dev/null", GEN_ARGS, img);
	if (!exists(img) || system(cmd)) {
		printf("generating %s (gen-cache %s) ...\n", img, GEN_ARGS);
		fflush(stdout);
		snprintf(cmd, sizeof(cmd), "'%s/tests/tools/gen-cache' %s -o /dev/null '%s' '%s.bdev' "
			 "&& echo '%s' > '%s.args'", build, GEN_ARGS, img, img, GEN_ARGS, img);
		if (system(cmd)) {
			fprintf(stderr, "bench_gc: gen-cache failed\n");
			return 1;
		}
	}
	snprintf(cmd, sizeof(cmd), "cp --sparse=always '%s' '%s' && sync -f '%s'", img, copy, copy);
	if (system(cmd)) {
		fprintf(stderr, "bench_gc: cannot copy %s\n", img);
		return 1;
	}
	printf("== gc against fsck -n, generated cache (gen-cache %s)\n", GEN_ARGS);
	snprintf(cmd, sizeof(cmd), "'%s' fsck -n '%s' 2>&1", bin, copy);
	rc = timed(cmd, out, 1 << 16, &t_fsck);
	if (rc < 0 || rc >= 8) {
		printf("  fsck -n failed (status %d)\n", rc);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "'%s' gc --dry-run '%s' 2>&1", bin, copy);
	if (timed(cmd, out, 1 << 16, &t_dry)) {
		printf("  gc --dry-run failed:\n%s", out);
		return 0;
	}
	keys = num(out, "\n  keys ", 0) + num(out, "\nstale keys dropped", 0);
	nodes = num(out, "\n  nodes ", 0);
	snprintf(cmd, sizeof(cmd), "'%s' gc '%s' 2>&1", bin, copy);
	if (timed(cmd, out, 1 << 16, &t_gc)) {
		printf("  gc failed:\n%s", out);
		return 0;
	}
	printf("  btree: %lld nodes, %lld leaf keys (live + stale); gc leaves %lld nodes, "
	       "%lld buckets in use of %lld before\n", nodes, keys, num(out, "\n  nodes ", 1),
	       num(out, "\n  buckets in use ", 1), num(out, "\n  buckets in use ", 0));
	rate("fsck -n (whole run)", t_fsck, keys, nodes);
	rate("gc --dry-run (whole run)", t_dry, keys, nodes);
	rate("gc (whole run, committed)", t_gc, keys, nodes);
	snprintf(cmd, sizeof(cmd), "rm -f '%s'", copy);
	if (system(cmd))
		fprintf(stderr, "bench_gc: cannot remove %s\n", copy);
	free(out);
	return 0;
}
