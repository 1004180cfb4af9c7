/* common.c --- helpers shared by the commands: errors, option parsing, sizes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/errcode.h"
#include "cmds.h"

void bt_error(const char *fmt, ...)
{
	va_list args;

	fputs("bcache-tool: ", stderr);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fputc('\n', stderr);
}

void bt_error_pb(struct printbuf *pb)
{
	const char *s = printbuf_str(pb);

	while (*s) {
		size_t len = strcspn(s, "\n");

		if (len)
			fprintf(stderr, "bcache-tool: %.*s\n", (int)len, s);
		s += len;
		if (*s)
			s++;
	}
	printbuf_reset(pb);
}

poptContext bt_popt_parse(const char *cmd, int argc, const char **argv,
			  const struct poptOption *opts, const char *args_help)
{
	char name[64];
	poptContext pc;
	int rc;

	snprintf(name, sizeof(name), "bcache-tool %s", cmd);
	pc = poptGetContext(name, argc, argv, opts, 0);
	if (args_help)
		poptSetOtherOptionHelp(pc, args_help);
	while ((rc = poptGetNextOpt(pc)) > 0)
		;
	if (rc < -1) {
		bt_error("%s: %s: %s", cmd, poptBadOption(pc, POPT_BADOPTION_NOALIAS),
			 poptStrerror(rc));
		poptPrintUsage(pc, stderr, 0);
		poptFreeContext(pc);
		return NULL;
	}
	return pc;
}

int bt_parse_size(const char *s, unsigned long long *bytes)
{
	char *end;
	unsigned long long v, mult = 1;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':			break;
	case 's': case 'S':		mult = 512; break;
	case 'k': case 'K':		mult = 1ULL << 10; break;
	case 'm': case 'M':		mult = 1ULL << 20; break;
	case 'g': case 'G':		mult = 1ULL << 30; break;
	case 't': case 'T':		mult = 1ULL << 40; break;
	default:			return -EINVAL;
	}
	if (*end && end[1] && strcasecmp(end + 1, "b") && strcasecmp(end + 1, "ib"))
		return -EINVAL;
	if (v > ~0ULL / mult)
		return -EINVAL;
	*bytes = v * mult;
	return 0;
}

int bt_report_result(int ret, struct printbuf *out, struct printbuf *warn,
		     struct printbuf *err)
{
	fputs(printbuf_str(out), stdout);
	bt_error_pb(warn);
	if (!ret)
		return BT_EXIT_OK;
	bt_error_pb(err);
	return ret == -BT_ERR_FORMAT_BAD_OPTION ? BT_EXIT_USAGE : BT_EXIT_OPERATIONAL;
}

int bt_old_force(const char *cmd)
{
	bt_error("%s: --force no longer overrides the in-use checks: give --force-in-use "
		 "(a mounted device is never written)", cmd);
	return BT_EXIT_USAGE;
}
