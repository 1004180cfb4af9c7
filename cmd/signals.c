/* signals.c --- SIGINT, SIGTERM, SIGHUP and SIGQUIT ask a writing command to
 * stop at its next safe point (libcore/stop.h); a second one ends it at once,
 * which is safe too: a commit holds the signals until its jset is durable.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"

/*
 * The one file-scope variable of the program: a signal handler can reach
 * nothing else. Only bt_signals_install() hands out its address.
 */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	static const char msg[] = "\nbcache-tool: interrupt: stopping at the next safe point "
				  "(once more to stop at once)\n";
	ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	(void)n;
	stop_signal = sig;
}

void bt_signals_install(struct bt_stop *stop)
{
	struct sigaction sa;
	const char *delay = getenv("BT_TEST_COMMIT_DELAY_MS");
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	/* the second signal takes the default action; no SA_RESTART: a question returns */
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	bt_stop_signals(&set);
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&set, sig) == 1)
			sigaction(sig, &sa, NULL);
	stop->requested = &stop_signal;
	stop->commit_delay_ms = delay ? (unsigned)strtoul(delay, NULL, 10) : 0;
}

int bt_interrupted(const char *cmd, const char *what)
{
	bt_error("%s: interrupted%s%s", cmd, what && *what ? ": " : "", what ? what : "");
	return BT_EXIT_CANCELED;
}
