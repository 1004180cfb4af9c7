/* dry_helpers.c --- comparing a dry run's output with the real run's (dry_helpers.h). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "dry_helpers.h"

/* s with every from replaced by to (malloc'ed; s is freed). */
static char *replace_all(char *s, const char *from, const char *to)
{
	size_t a = strlen(from), b = strlen(to), n = 0;
	char *out, *o;

	for (const char *p = s; (p = strstr(p, from)); p += a)
		n++;
	out = o = malloc(strlen(s) + n * b + 1);
	cr_assert(out);
	for (const char *p = s, *q; ; p = q + a) {
		q = strstr(p, from);
		if (!q) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, b);
		o += b;
	}
	free(s);
	return out;
}

char *t_dry_as_real(const char *text, const struct t_reword *sub, size_t nr, const char *drop)
{
	char *s = malloc(strlen(text) + 1), *o = s;

	cr_assert(s);
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');

		if (!drop || !memmem(p, len, drop, strlen(drop))) {
			memcpy(o, p, len);
			o += len;
		}
		p += len;
	}
	*o = '\0';
	for (size_t i = 0; i < nr; i++)
		s = replace_all(s, sub[i].dry, sub[i].real);
	return s;
}
