/* show_super.c --- bcache-tool show-super: print a device's superblock.
 *
 * Exit status: 0 when every superblock is valid, 1 when any device cannot be
 * read or holds no valid superblock (the fields are still printed with
 * --force), 16 on a usage error. Warnings (conditions read_super() accepts
 * but later registration refuses) go to stderr, or into "warnings" in JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libcore/base/errcode.h"
#include "libcore/ondisk/sb.h"
#include "libcore/ondisk/sb_json.h"
#include "libcore/dev/signature.h"
#include "cmds.h"

/* The lines of pb as a JSON array of strings, "warning: " prefixes dropped. */
static json_t *lines_json(const struct printbuf *pb)
{
	json_t *a = json_array();
	const char *s = printbuf_str(pb);

	while (*s) {
		size_t len = strcspn(s, "\n");
		const char *line = s;

		if (!strncmp(line, "warning: ", 9) && len >= 9) {
			line += 9;
			len -= 9;
		}
		if (len)
			json_array_append_new(a, json_stringn(line, len));
		s = line + len;
		if (*s)
			s++;
	}
	return a;
}

/*
 * The fields of sb (csum: the checksum computed over its block): a JSON
 * object into jarr with err (the validation's message, NULL: valid) and
 * the warnings, or the text, after a "path:" header when asked.
 */
static void show_fields(const char *path, const struct cache_sb *sb, uint64_t csum,
			const struct printbuf *err, const struct printbuf *warn, json_t *jarr,
			bool header)
{
	struct printbuf out = PRINTBUF;

	if (jarr) {
		json_t *o = bt_sb_to_json(sb, csum == sb->csum, csum);

		json_object_set_new(o, "device", json_string(path));
		json_object_set_new(o, "valid", json_boolean(!err));
		if (err)
			json_object_set_new(o, "error", json_string(printbuf_str(err)));
		json_object_set_new(o, "warnings", lines_json(warn));
		json_array_append_new(jarr, o);
	} else {
		if (header)
			printf("%s:\n", path);
		bt_sb_to_text(&out, sb, csum == sb->csum, csum);
		fputs(printbuf_str(&out), stdout);
	}
	printbuf_exit(&out);
}

/*
 * Show one device: returns 0 if its superblock is valid, else 1. In JSON
 * mode the object goes into jarr; in text mode it is printed, after a
 * "path:" header when several devices are shown.
 */
static int show_one(const char *path, bool force, json_t *jarr, bool header)
{
	struct printbuf err = PRINTBUF, warn = PRINTBUF;
	uint8_t block[SB_SIZE] __attribute__((aligned(8)));
	const struct cache_sb_disk *raw = (const void *)block;
	struct bt_dev dev;
	struct cache_sb sb;
	uint64_t csum;
	int ret, vret;

	/* show-super only reads: no exclusivity needed; a foreign device is named */
	ret = bt_dev_open(path, BT_DEV_FORCE, &dev, &err);
	if (!ret && bt_probe_foreign(&dev, &err) == -BT_ERR_FOREIGN) {
		ret = -BT_ERR_FOREIGN;
		bt_dev_close(&dev);
	} else if (!ret) {
		printbuf_reset(&err);	/* zeroes: the superblock checks say so */
	}
	if (ret) {
		bt_error_pb(&err);
		printbuf_exit(&err);
		return BT_EXIT_PROBLEM;
	}
	ret = bt_sb_read(&dev, block, &sb, false, &err);
	if (ret) {
		bt_error_pb(&err);
		printbuf_exit(&err);
		bt_dev_close(&dev);
		return BT_EXIT_PROBLEM;
	}
	vret = bt_sb_validate(raw, &sb, &dev, &err);
	csum = bt_sb_csum(raw);
	if (!vret)
		bt_sb_warnings(&sb, &warn);

	if (!vret || force)
		show_fields(path, &sb, csum, vret ? &err : NULL, &warn, jarr, header);
	if (vret)
		bt_error_pb(&err);
	if (!jarr)
		bt_error_pb(&warn);
	printbuf_exit(&warn);
	printbuf_exit(&err);
	bt_dev_close(&dev);
	return vret ? BT_EXIT_PROBLEM : BT_EXIT_OK;
}

int cmd_show_super(int argc, const char **argv)
{
	int force = 0, json = 0, status = BT_EXIT_OK;
	struct poptOption opts[] = {
		{ "force", 'f', POPT_ARG_NONE, &force, 0,
		  "print the fields even when the superblock is invalid", NULL },
		{ "json", 0, POPT_ARG_NONE, &json, 0, "print JSON", NULL },
		POPT_AUTOHELP
		POPT_TABLEEND
	};
	poptContext pc = bt_popt_parse("show-super", argc, argv, opts, "DEV...");
	const char **devs;
	json_t *jarr = NULL;
	bool several;

	if (!pc)
		return BT_EXIT_USAGE;
	devs = poptGetArgs(pc);
	if (!devs || !devs[0]) {
		bt_error("show-super: no device given");
		poptPrintUsage(pc, stderr, 0);
		poptFreeContext(pc);
		return BT_EXIT_USAGE;
	}
	several = devs[1] != NULL;
	if (json)
		jarr = json_array();

	for (; *devs; devs++)
		if (show_one(*devs, force, jarr, several))
			status = BT_EXIT_PROBLEM;

	if (json) {
		/* one device: its object; several: an array of them */
		json_t *top = several ? jarr : json_array_get(jarr, 0);

		if (top) {
			json_dumpf(top, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
		}
		json_decref(jarr);
	}
	poptFreeContext(pc);
	return status;
}
