/* clock.h --- elapsed time for progress bars, pass timings and benchmarks. */
#ifndef BCACHE_TOOL_CLOCK_H
#define BCACHE_TOOL_CLOCK_H

#include <time.h>

/*
 * bt_now_seconds(): seconds on the monotonic clock (CLOCK_MONOTONIC), for
 * differences only: its zero is arbitrary and it never steps with the wall
 * clock.
 */
static inline double bt_now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif /* BCACHE_TOOL_CLOCK_H */
