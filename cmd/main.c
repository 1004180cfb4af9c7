/* main.c --- bcache-tool: find the command and run it. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"

struct bt_command {
	const char	*name;
	int		(*fn)(int argc, const char **argv);
	const char	*help;
};

static const struct bt_command commands[] = {
	{ "format",	cmd_format,	"write new bcache superblocks (as make-bcache)" },
	{ "fsck",	cmd_fsck,	"check a cache device (-n: read-only)" },
	{ "show-super",	cmd_show_super,	"print a device's superblock" },
	{ "dump-journal", cmd_dump_journal, "print a cache's journal entries" },
	{ "dump-btree",	cmd_dump_btree,	"print a cache's btree nodes and keys" },
	{ "extract",	cmd_extract,	"copy out the content a bcache device would serve" },
	{ "undo",	cmd_undo,	"restore the blocks an undo file saved (fsck --undo)" },
	{ "image",	cmd_image,	"metadata-only image of a cache device, and its restore" },
	{ "gc",		cmd_gc,		"garbage-collect a cache: drop stale keys, coalesce nodes" },
	{ "migrate",	cmd_migrate,	"copy a cache set to another cache device (new geometry)" },
	{ "writeback",	cmd_writeback,	"copy a cache's dirty data to its backing devices offline" },
	{ "detach",	cmd_detach,	"detach a backing device from its cache set offline" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: bcache-tool COMMAND [OPTIONS] [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'bcache-tool COMMAND --help' describes a command's options.\n");
}

int main(int argc, const char **argv)
{
	int ret;

	/*
	 * One malloc arena: the nodes the reader threads parse are freed by
	 * the walk's thread, and with an arena per thread the freed memory
	 * stays in the readers' arenas, so the peak grows with the nodes read
	 * (20M extents: 81 MB against 69 MB at 5M). The threads allocate a few
	 * large blocks per node: the shared arena's lock costs nothing seen.
	 */
	mallopt(M_ARENA_MAX, 1);
	if (argc < 2) {
		usage(stderr);
		return BT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return BT_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("bcache-tool %s\n", BT_VERSION);
		return BT_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		ret = commands[i].fn(argc - 1, argv + 1);
		/* as git does: a failed write to stdout is an error too */
		if (fflush(stdout) || ferror(stdout) || fclose(stdout)) {
			bt_error("write error on standard output: %s", strerror(errno));
			return BT_EXIT_OPERATIONAL;
		}
		return ret;
	}
	bt_error("unknown command '%s'", argv[1]);
	usage(stderr);
	return BT_EXIT_USAGE;
}
