/* test_man.c --- the manual pages document what the binary does. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* Every command of 'bcache-tool --help' has an entry in bcache-tool.8 and its own page. */
Test(man, every_command_documented)
{
	char *help = NULL, *man = t_read_text("man/bcache-tool.8", NULL);
	const char *p;
	unsigned n = 0;

	cr_assert_eq(t_run(&help, NULL, "--help"), 0);
	p = strstr(help, "commands:\n");
	cr_assert(p, "%s", help);
	for (p += 10; *p == ' '; ) {
		char name[64], entry[80], *page, *path;
		FILE *f;

		cr_assert_eq(sscanf(p, " %63s", name), 1);
		snprintf(entry, sizeof(entry), "\n.B %s\n", name);
		cr_assert(strstr(man, entry), "bcache-tool.8 does not list %s", name);
		cr_assert(asprintf(&page, "man/bcache-tool-%s.8", name) > 0);
		cr_assert(asprintf(&path, "%s/%s", t_srcdir(), page) > 0);
		f = fopen(path, "r");
		cr_assert(f, "no %s", page);
		fclose(f);
		free(page);
		free(path);
		p = strchr(p, '\n') + 1;
		n++;
	}
	cr_assert_geq(n, 1);
	cr_assert_eq(strstr(man, "planned"), NULL);
	free(help);
	free(man);
}

static void keys_documented_in(json_t *o, const char *man, const char *page, const char *what)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		char b[80], br[80];

		snprintf(b, sizeof(b), "\n.B %s\n", key);
		snprintf(br, sizeof(br), "\n.BR %s ", key);
		cr_assert(strstr(man, b) || strstr(man, br),
			  "JSON member %s (%s) is not in %s", key, what, page);
	}
}

static void keys_documented(json_t *o, const char *man, const char *what)
{
	keys_documented_in(o, man, "bcache-tool-show-super.8", what);
}

/* Every JSON member and text field show-super prints is in its manual page. */
Test(man, show_super_fields_documented, .timeout = 60)
{
	static const char *const imgs[] = {
		"images/s03-writeback-dirty-clean-stop/cache.img.zst",
		"images/s03-writeback-dirty-clean-stop/backing.img.zst",
	};
	char *man = t_read_text("man/bcache-tool-show-super.8", NULL);

	for (unsigned i = 0; i < 2; i++) {
		char *path = t_image(imgs[i]), *out = NULL;
		json_t *o;
		const char *line;

		cr_assert_eq(t_run(&out, NULL, "show-super --json '%s'", path), 0);
		o = json_loads(out, 0, NULL);
		cr_assert(json_is_object(o));
		keys_documented(o, man, imgs[i]);
		json_decref(o);
		free(out);

		cr_assert_eq(t_run(&out, NULL, "show-super '%s'", path), 0);
		for (line = out; *line; ) {
			size_t len = strcspn(line, "\n"), klen = strcspn(line, " \n");
			char b[80], br[80];

			if (klen) {
				snprintf(b, sizeof(b), "\n.B %.*s\n", (int)klen, line);
				snprintf(br, sizeof(br), "\n.BR %.*s ", (int)klen, line);
				cr_assert(strstr(man, b) || strstr(man, br),
					  "text field %.*s is not in the manual", (int)klen, line);
			}
			line += len + (line[len] == '\n');
		}
		free(out);
		free(path);
	}
	free(man);
}

/*
 * Every long option a command's --help lists is on its manual page (troff
 * spells "--force-in-use" as "\-\-force\-in\-use"), so that each override
 * (--force, --force-in-use, --wipe-bcache) is documented where it is offered.
 */
Test(man, every_option_documented, .timeout = 60)
{
	static const char *const cmds[] = {
		"format", "fsck", "show-super", "dump-journal", "dump-btree", "extract",
		"undo", "image", "gc", "migrate", "writeback", "detach",
	};

	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		char *help = NULL, rel[64], *man;
		const char *p;

		cr_assert_eq(t_run(&help, NULL, "%s --help", cmds[c]), 0, "%s --help", cmds[c]);
		snprintf(rel, sizeof(rel), "man/bcache-tool-%s.8", cmds[c]);
		man = t_read_text(rel, NULL);
		for (p = strstr(help, "--"); p; p = strstr(p + 2, "--")) {
			char opt[64], troff[160], *t = troff;
			size_t n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");

			if (!n || n >= sizeof(opt) - 1 || p[-1] == '-')
				continue;
			snprintf(opt, sizeof(opt), "%.*s", (int)n, p + 2);
			if (!strcmp(opt, "help") || !strcmp(opt, "usage"))
				continue;
			t += sprintf(t, "\\-\\-");
			for (const char *o = opt; *o; o++)
				t += *o == '-' ? sprintf(t, "\\-") : sprintf(t, "%c", *o);
			cr_expect(strstr(man, troff), "%s: --%s is not in %s", cmds[c], opt, rel);
		}
		free(man);
		free(help);
	}
}

/* Every member of fsck --json's summary (and of its per-slot objects) is in fsck.8. */
Test(man, fsck_summary_keys_documented, .timeout = 60)
{
	char *man = t_read_text("man/bcache-tool-fsck.8", NULL);
	char *path = t_image("images/s04-writeback-dirty-crash/cache.img.zst"), *out = NULL;
	json_t *o, *s;

	cr_assert_geq(t_run(&out, NULL, "fsck -n --json '%s'", path), 0);
	o = json_loads(out, 0, NULL);
	s = json_object_get(o, "summary");
	cr_assert(json_is_object(s), "%s", out);
	keys_documented_in(s, man, "bcache-tool-fsck.8", "summary");
	keys_documented_in(json_object_get(s, "on_disk"), man, "bcache-tool-fsck.8", "on_disk");
	cr_assert_gt(json_array_size(json_object_get(s, "devices")), 0);
	keys_documented_in(json_array_get(json_object_get(s, "devices"), 0), man,
			   "bcache-tool-fsck.8", "devices");
	cr_assert_gt(json_array_size(json_object_get(s, "dirty_sectors_per_device")), 0);
	keys_documented_in(json_array_get(json_object_get(s, "dirty_sectors_per_device"), 0), man,
			   "bcache-tool-fsck.8", "dirty_sectors_per_device");
	json_decref(o);
	free(out);
	free(path);
	free(man);
}
