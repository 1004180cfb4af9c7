/* stop.h --- stopping a long run cleanly, and holding signals over a commit.
 *
 * The library installs no signal handler and keeps no global: a command
 * (cmd/signals.c) installs one that sets a flag, and hands the library a
 * struct bt_stop pointing at it (cache_set->stop). Long loops ask
 * bt_stop_requested() at points where stopping leaves the old state, and
 * return -BT_ERR_INTERRUPTED. A write transaction (bt_write_begin() ..
 * bt_commit() or bt_write_abort(), write.h) holds SIGINT, SIGTERM, SIGHUP
 * and SIGQUIT from before its first write until its jset is durable: a
 * signal sent then is delivered when the transaction ends, so the device
 * holds the old or the new state, never a commit cut short.
 */
#ifndef BCACHE_TOOL_STOP_H
#define BCACHE_TOOL_STOP_H

#include <signal.h>
#include <stdbool.h>

struct bt_stop {
	/* nonzero (the signal number) once a stop was asked for; not owned */
	volatile sig_atomic_t	*requested;
	/*
	 * Tests only (BT_TEST_COMMIT_DELAY_MS, cmd/signals.c): milliseconds
	 * bt_commit() sleeps after its prio chain, before its jset, so that
	 * an interrupt test can land a signal inside a commit. 0: none.
	 */
	unsigned		commit_delay_ms;
};

/* The signals a transaction holds: SIGINT, SIGTERM, SIGHUP, SIGQUIT. */
void bt_stop_signals(sigset_t *set);

/*
 * Has a stop been asked for? True when *stop->requested is set, or when
 * one of bt_stop_signals() is pending while held (inside a transaction).
 * False for a NULL stop or NULL requested (a caller that never stops).
 */
bool bt_stop_requested(const struct bt_stop *stop);

/*
 * Hold bt_stop_signals() (sigprocmask), saving the old mask in *old.
 * Returns 0 or -errno. bt_signals_release() restores *old, which delivers
 * any signal that arrived meanwhile.
 */
int bt_signals_hold(sigset_t *old);
void bt_signals_release(const sigset_t *old);

/* Sleep ms milliseconds (the test delay of struct bt_stop); 0: return at once. */
void bt_stop_test_delay(const struct bt_stop *stop);

#endif /* BCACHE_TOOL_STOP_H */
