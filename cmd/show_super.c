/* show_super.c --- bcache-tool show-super: print a device's superblock. */
#include <stdio.h>
#include <stdlib.h>

#include "../libcore/errcode.h"
#include "../libcore/sb.h"
#include "../libcore/sb_json.h"
#include "cmds.h"

int cmd_show_super(int argc, const char **argv)
{
	int force = 0, json = 0, ret, status = EXIT_OK;
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

	if (!pc)
		return EXIT_USAGE;
	devs = poptGetArgs(pc);
	if (!devs || !devs[0]) {
		bt_error("show-super: no device given");
		poptPrintUsage(pc, stderr, 0);
		poptFreeContext(pc);
		return EXIT_USAGE;
	}
	if (json)
		jarr = json_array();

	for (; *devs; devs++) {
		struct printbuf err = PRINTBUF, out = PRINTBUF;
		struct bt_dev dev;
		struct cache_sb sb;
		uint64_t csum;
		static uint8_t block[SB_SIZE];
		int vret;

		/* show-super only reads: no exclusivity needed */
		ret = bt_dev_open(*devs, BT_DEV_FORCE, &dev, &err);
		if (ret) {
			bt_error_pb(&err);
			status = 1;
			continue;
		}
		ret = bt_sb_read(&dev, block, &sb, false, &err);
		if (ret) {
			bt_error_pb(&err);
			bt_dev_close(&dev);
			status = 1;
			continue;
		}
		vret = bt_sb_validate((void *)block, &sb, &dev, &err);
		csum = bt_sb_csum((void *)block);
		if (vret) {
			bt_error_pb(&err);
			status = 1;
		}
		if (!vret || force) {
			if (json) {
				json_t *o = bt_sb_to_json(&sb, csum == sb.csum, csum);

				json_object_set_new(o, "device", json_string(*devs));
				json_object_set_new(o, "valid", json_boolean(!vret));
				json_array_append_new(jarr, o);
			} else {
				if (devs != poptGetArgs(pc) || devs[1])
					printf("%s:\n", *devs);
				bt_sb_to_text(&out, &sb, csum == sb.csum, csum);
				if (!vret)
					bt_sb_warnings(&sb, &out);
				fputs(printbuf_str(&out), stdout);
			}
		}
		printbuf_exit(&out);
		printbuf_exit(&err);
		bt_dev_close(&dev);
	}
	if (json) {
		json_t *top = json_array_size(jarr) == 1 ? json_incref(json_array_get(jarr, 0)) : json_incref(jarr);

		json_dumpf(top, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(top);
		json_decref(jarr);
	}
	poptFreeContext(pc);
	return status;
}
