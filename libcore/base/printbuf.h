/* printbuf.h --- a growing string buffer for messages and reports.
 *
 * Invariants: buf is NUL-terminated whenever it is non-NULL; pos is the
 * length of the text; allocation failures set allocation_failure and drop
 * the text that did not fit, they never return an error. Indentation set
 * with printbuf_indent_add() is written after every prt_newline().
 * Initialise with PRINTBUF; free with printbuf_exit().
 */
#ifndef BCACHE_TOOL_PRINTBUF_H
#define BCACHE_TOOL_PRINTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct printbuf {
	char		*buf;
	size_t		size;		/* bytes allocated */
	size_t		pos;		/* bytes of text */
	size_t		line_start;	/* pos where the current line begins */
	unsigned	indent;		/* spaces after each newline */
	bool		allocation_failure;
};

#define PRINTBUF ((struct printbuf) { 0 })

void prt_printf(struct printbuf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void prt_str(struct printbuf *out, const char *s);
void prt_char(struct printbuf *out, char c);
void prt_newline(struct printbuf *out);
/* Pad the current line with spaces to column col (no-op if already past it). */
void prt_tab_to(struct printbuf *out, unsigned col);
/* Print 16 raw bytes as a uuid string (lower case, 36 characters). */
void prt_uuid(struct printbuf *out, const unsigned char uuid[16]);
/* Print a size in bytes with a k/M/G/T unit, e.g. "512.0k". */
void prt_human_bytes(struct printbuf *out, unsigned long long bytes);
void printbuf_indent_add(struct printbuf *out, unsigned spaces);
void printbuf_indent_sub(struct printbuf *out, unsigned spaces);
void printbuf_reset(struct printbuf *out);
void printbuf_exit(struct printbuf *out);
/* The text, never NULL (an empty string for an empty buffer). */
static inline const char *printbuf_str(const struct printbuf *out)
{
	return out->buf ? out->buf : "";
}

#endif /* BCACHE_TOOL_PRINTBUF_H */
