/* printbuf.c --- growing string buffer (see printbuf.h for invariants). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>

#include "libcore/base/printbuf.h"

static bool printbuf_make_room(struct printbuf *out, size_t extra)
{
	size_t need = out->pos + extra + 1;

	if (out->allocation_failure)
		return false;
	if (need <= out->size)
		return true;
	size_t size = out->size ? out->size : 64;
	while (size < need)
		size *= 2;
	char *buf = realloc(out->buf, size);
	if (!buf) {
		out->allocation_failure = true;
		return false;
	}
	out->buf = buf;
	out->size = size;
	return true;
}

static void prt_bytes(struct printbuf *out, const char *s, size_t len)
{
	if (!printbuf_make_room(out, len))
		return;
	memcpy(out->buf + out->pos, s, len);
	out->pos += len;
	out->buf[out->pos] = '\0';
}

void prt_printf(struct printbuf *out, const char *fmt, ...)
{
	va_list args;
	int len;

	va_start(args, fmt);
	len = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	if (len < 0 || !printbuf_make_room(out, (size_t)len))
		return;
	va_start(args, fmt);
	vsnprintf(out->buf + out->pos, (size_t)len + 1, fmt, args);
	va_end(args);
	out->pos += (size_t)len;
}

void prt_str(struct printbuf *out, const char *s)
{
	prt_bytes(out, s, strlen(s));
}

void prt_char(struct printbuf *out, char c)
{
	prt_bytes(out, &c, 1);
}

void prt_newline(struct printbuf *out)
{
	prt_char(out, '\n');
	out->line_start = out->pos;
	for (unsigned i = 0; i < out->indent; i++)
		prt_char(out, ' ');
}

void prt_tab_to(struct printbuf *out, unsigned col)
{
	while (out->pos - out->line_start < col && !out->allocation_failure)
		prt_char(out, ' ');
}

void prt_uuid(struct printbuf *out, const unsigned char uuid[16])
{
	char s[37];

	uuid_unparse_lower(uuid, s);
	prt_str(out, s);
}

void prt_human_bytes(struct printbuf *out, unsigned long long bytes)
{
	static const char units[] = "kMGTPE";
	double v = (double)bytes / 1024;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	prt_printf(out, "%.1f%c", v, units[u]);
}

void printbuf_indent_add(struct printbuf *out, unsigned spaces)
{
	out->indent += spaces;
	if (out->pos == out->line_start)
		for (unsigned i = 0; i < spaces; i++)
			prt_char(out, ' ');
}

void printbuf_indent_sub(struct printbuf *out, unsigned spaces)
{
	out->indent = spaces > out->indent ? 0 : out->indent - spaces;
}

void printbuf_reset(struct printbuf *out)
{
	out->pos = 0;
	out->line_start = 0;
	out->indent = 0;
	out->allocation_failure = false;
	if (out->buf)
		out->buf[0] = '\0';
}

void printbuf_exit(struct printbuf *out)
{
	free(out->buf);
	*out = PRINTBUF;
}
