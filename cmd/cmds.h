/* cmds.h --- the commands of bcache-tool and their shared helpers.
 *
 * Each command is int cmd_NAME(int argc, const char **argv) in cmd/NAME.c;
 * it parses its options with popt, builds its context, calls one library
 * entry point and returns the process exit status.
 */
#ifndef BCACHE_TOOL_CMDS_H
#define BCACHE_TOOL_CMDS_H

#include <popt.h>

#include "libcore/base/printbuf.h"
#include "libcore/base/stop.h"

/*
 * Exit statuses, as the EXIT STATUS section of each command's man page
 * names them (fsck's follow e2fsck; fsck's and writeback's are ORed bits).
 * 1 and 2 mean what the command's page says; the names say which meaning.
 */
enum bt_exit {
	BT_EXIT_OK		= 0,
	BT_EXIT_CHANGED		= 1,	/* fsck: errors corrected */
	BT_EXIT_PROBLEM		= 1,	/* ran and found a problem (bcache-tool(8)) */
	BT_EXIT_REFUSED		= 1,	/* detach, undo: refused, nothing written */
	BT_EXIT_LOST		= 1,	/* extract, writeback: data lost (listed) */
	BT_EXIT_INCOMPLETE	= 2,	/* detach, writeback: the cache not all updated */
	BT_EXIT_UNCORRECTED	= 4,	/* fsck: errors left; dump-journal: no cache set */
	BT_EXIT_OPERATIONAL	= 8,
	BT_EXIT_USAGE		= 16,
	BT_EXIT_CANCELED	= 32,	/* stopped: a signal or 'q' (e2fsck's FSCK_CANCELED) */
};

int cmd_format(int argc, const char **argv);
int cmd_fsck(int argc, const char **argv);
int cmd_show_super(int argc, const char **argv);
int cmd_dump_journal(int argc, const char **argv);
int cmd_dump_btree(int argc, const char **argv);
int cmd_extract(int argc, const char **argv);
int cmd_undo(int argc, const char **argv);
int cmd_image(int argc, const char **argv);
int cmd_gc(int argc, const char **argv);
int cmd_migrate(int argc, const char **argv);
int cmd_writeback(int argc, const char **argv);
int cmd_detach(int argc, const char **argv);

/*
 * Install the handlers of SIGINT, SIGTERM, SIGHUP and SIGQUIT for a command
 * that writes (cmd/signals.c): the first asks it to stop at its next safe
 * point (stop->requested, libcore/stop.h), a second one ends it at once.
 * BT_TEST_COMMIT_DELAY_MS (tests) sets stop->commit_delay_ms.
 */
void bt_signals_install(struct bt_stop *stop);
/* Say "CMD: interrupted: WHAT" on stderr; returns BT_EXIT_CANCELED. */
int bt_interrupted(const char *cmd, const char *what);

/* Print "bcache-tool: <msg>" to stderr. */
void bt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print the text of a printbuf as an error (one line per line), then reset it. */
void bt_error_pb(struct printbuf *pb);

/*
 * The end of a command whose library call fills out, warn and err (format,
 * migrate): out on stdout, warn and, when ret is nonzero, err on stderr.
 * Returns the exit status: BT_EXIT_OK for ret 0, BT_EXIT_USAGE for
 * -BT_ERR_FORMAT_BAD_OPTION (an option the checks refused), else
 * BT_EXIT_OPERATIONAL. The printbufs stay the caller's.
 */
int bt_report_result(int ret, struct printbuf *out, struct printbuf *warn,
		     struct printbuf *err);

/*
 * --force-in-use, the one option that lets a command use a device in use
 * (the guard's BT_GUARD_FORCE_IN_USE, libcore/target.h); var is an int.
 * BT_OPT_FORCE_IN_USE_VAL(): the same option, returned by poptGetNextOpt()
 * as val (a table of option codes: format).
 */
#define BT_FORCE_IN_USE_HELP							\
	"use a device in use: registered with bcache, held, open exclusively or "	\
	"for writing elsewhere, an image file behind a loop device (never a "	\
	"mounted one); says what it overrides"
#define BT_OPT_FORCE_IN_USE(var)						\
	{ "force-in-use", 0, POPT_ARG_NONE, (var), 0, BT_FORCE_IN_USE_HELP, NULL }
#define BT_OPT_FORCE_IN_USE_VAL(val)						\
	{ "force-in-use", 0, POPT_ARG_NONE, NULL, (val), BT_FORCE_IN_USE_HELP, NULL }

/*
 * The old --force of a command whose only meaning was the in-use checks
 * (fsck, gc): hidden, and refused with a pointer to --force-in-use.
 */
#define BT_OPT_OLD_FORCE(var)							\
	{ "force", 0, POPT_ARG_NONE | POPT_ARGFLAG_DOC_HIDDEN, (var), 0, NULL, NULL }

/* The refusal of BT_OPT_OLD_FORCE; returns BT_EXIT_USAGE. */
int bt_old_force(const char *cmd);

/*
 * Parse options with popt: returns a context positioned after the options
 * or NULL after printing a usage error (the caller returns BT_EXIT_USAGE).
 * Non-option arguments are left in the context (poptGetArgs()).
 */
poptContext bt_popt_parse(const char *cmd, int argc, const char **argv,
			  const struct poptOption *opts, const char *args_help);

/*
 * Parse a size with an optional k/M/G/T suffix (powers of 1024) or "s" for
 * sectors, into bytes. Returns 0, or -EINVAL.
 */
int bt_parse_size(const char *s, unsigned long long *bytes);

#endif /* BCACHE_TOOL_CMDS_H */
