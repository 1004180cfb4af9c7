/* dry_helpers.h --- comparing a dry run's output with the real run's. */
#ifndef BCACHE_TOOL_TEST_DRY_HELPERS_H
#define BCACHE_TOOL_TEST_DRY_HELPERS_H

#include <stddef.h>

/* One rewording of a dry run: the dry run's words, then the real run's. */
struct t_reword {
	const char	*dry, *real;
};

/*
 * text with every occurrence of each sub[i].dry replaced by sub[i].real
 * (in order of sub) and every line that contains drop (when not NULL)
 * removed: what the real run must print when its dry run printed text.
 * Returns a malloc'ed string; asserts memory.
 */
char *t_dry_as_real(const char *text, const struct t_reword *sub, size_t nr, const char *drop);

#endif
