/* stop.c --- stop requests and the signals a commit holds (stop.h). */
#include <errno.h>
#include <time.h>

#include "libcore/base/stop.h"

void bt_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

bool bt_stop_requested(const struct bt_stop *stop)
{
	sigset_t held, pending;

	if (!stop || !stop->requested)
		return false;
	if (*stop->requested)
		return true;
	bt_stop_signals(&held);
	if (sigpending(&pending))
		return false;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&held, sig) == 1 && sigismember(&pending, sig) == 1)
			return true;
	return false;
}

int bt_signals_hold(sigset_t *old)
{
	sigset_t set;

	bt_stop_signals(&set);
	return sigprocmask(SIG_BLOCK, &set, old) ? -errno : 0;
}

void bt_signals_release(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

void bt_stop_test_delay(const struct bt_stop *stop)
{
	struct timespec ts;

	if (!stop || !stop->commit_delay_ms)
		return;
	ts.tv_sec = stop->commit_delay_ms / 1000;
	ts.tv_nsec = (long)(stop->commit_delay_ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}
