/* msg.h --- the messages of a recovery run, kept in order for the command
 * to print: one printbuf of lines (cmd/ prints it with bt_error_pb()).
 */
#ifndef BCACHE_TOOL_RECOVERY_MSG_H
#define BCACHE_TOOL_RECOVERY_MSG_H

#include "libcore/base/printbuf.h"

/*
 * bt_msg_take(): append the text of pb (a message, or the guard's
 * warnings) to msg as whole lines, then empty pb. pb may be NULL.
 */
static inline void bt_msg_take(struct printbuf *msg, struct printbuf *pb)
{
	if (!pb || !pb->pos)
		return;
	prt_str(msg, printbuf_str(pb));
	if (pb->buf[pb->pos - 1] != '\n')
		prt_newline(msg);
	printbuf_reset(pb);
}

#endif /* BCACHE_TOOL_RECOVERY_MSG_H */
