/* target_check.c --- the guard's policy (the table in target.h): mounted,
 * in use, open elsewhere, an existing output holding data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libcore/base/errcode.h"
#include "libcore/dev/signature.h"
#include "libcore/dev/target_internal.h"

/* " on /mnt", and the namespace when it is not ours: " on /mnt (in the mount namespace of pid 12 (sh))" */
static void prt_on(const struct bt_guard *g, struct printbuf *pb, const char *where, pid_t ns)
{
	char comm[32];

	prt_printf(pb, " on %s", where);
	if (!ns)
		return;
	tsys_comm(g, ns, comm, sizeof(comm));
	prt_printf(pb, " (in the mount namespace of pid %d (%s))", (int)ns, comm);
}

/* Is a partition of whole disk rdev (shown as name) mounted or swap? */
static bool part_mounted(const struct bt_guard *g, const char *name, dev_t rdev,
			 struct printbuf *pb)
{
	struct bt_tid id = { .blk = true };
	char where[PATH_MAX];
	struct tsys_devs parts;
	pid_t ns;

	tsys_partitions(g, rdev, &parts);
	for (unsigned i = 0; i < parts.nr; i++) {
		id.rdev = parts.rdev[i];
		if (tsys_mounted(g, parts.rdev[i], where, sizeof(where), &ns)) {
			prt_printf(pb, "'%s' is in use: its partition /dev/%s is mounted", name,
				   parts.name[i]);
			prt_on(g, pb, where, ns);
			return true;
		}
		if (tsys_swap(g, &id)) {
			prt_printf(pb, "'%s' is in use: its partition /dev/%s is in use as swap",
				   name, parts.name[i]);
			return true;
		}
	}
	return false;
}

/* Is block device rdev (shown as name) mounted or swap, itself or a partition of it? */
static bool blk_mounted(const struct bt_guard *g, const char *name, dev_t rdev,
			struct printbuf *pb)
{
	struct bt_tid id = { .blk = true, .rdev = rdev };
	char where[PATH_MAX], disk[TSYS_NAME_MAX];
	dev_t whole;
	pid_t ns;

	if (tsys_mounted(g, rdev, where, sizeof(where), &ns)) {
		prt_printf(pb, "'%s' is mounted", name);
		prt_on(g, pb, where, ns);
		return true;
	}
	if (tsys_swap(g, &id)) {
		prt_printf(pb, "'%s' is in use as swap", name);
		return true;
	}
	if (tsys_whole_disk(g, rdev, &whole) &&
	    tsys_mounted(g, whole, where, sizeof(where), &ns)) {
		tsys_blk_name(g, whole, disk, sizeof(disk));
		prt_printf(pb, "'%s' is in use: its whole disk /dev/%s is mounted", name, disk);
		prt_on(g, pb, where, ns);
		return true;
	}
	return part_mounted(g, name, rdev, pb);
}

/* Is t mounted: the device, or a loop device over the file, or swap? */
static bool mounted(const struct bt_guard *g, const struct bt_target *t, struct printbuf *pb)
{
	struct tsys_devs loops;

	if (t->id.blk)
		return blk_mounted(g, t->path, t->id.rdev, pb);
	if (tsys_swap(g, &t->id)) {
		prt_printf(pb, "'%s' is in use as a swap file", t->path);
		return true;
	}
	tsys_loops_over(g, &t->id, &loops);
	for (unsigned i = 0; i < loops.nr; i++) {
		struct printbuf why = PRINTBUF;
		char name[TSYS_NAME_MAX + 8];

		snprintf(name, sizeof(name), "/dev/%s", loops.name[i]);
		if (blk_mounted(g, name, loops.rdev[i], &why)) {
			prt_printf(pb, "'%s' is the backing file of %s, and %s", t->path, name,
				   printbuf_str(&why));
			printbuf_exit(&why);
			return true;
		}
		printbuf_exit(&why);
	}
	return false;
}

/* Registered with bcache or held, the device or a partition of it: the code, else 0. */
static int blk_in_use(const struct bt_guard *g, const struct bt_target *t, struct printbuf *pb)
{
	struct tsys_devs parts;
	char who[TSYS_NAME_MAX];
	int h = tsys_holder(g, t->id.rdev, who, sizeof(who));

	if (h) {
		prt_printf(pb, "'%s' is %s %s (%s/dev/block/%u:%u/%s)", t->path,
			   h == 1 ? "registered with the kernel's bcache as" : "held by", who,
			   g->sysfs, major(t->id.rdev), minor(t->id.rdev),
			   strcmp(who, "bcache") ? "holders" : "bcache");
		return h == 1 ? -BT_ERR_DEV_REGISTERED : -BT_ERR_DEV_IN_USE;
	}
	tsys_partitions(g, t->id.rdev, &parts);
	for (unsigned i = 0; i < parts.nr; i++) {
		h = tsys_holder(g, parts.rdev[i], who, sizeof(who));
		if (h) {
			prt_printf(pb, "'%s' is in use: its partition /dev/%s is %s %s", t->path,
				   parts.name[i], h == 1 ? "registered with the kernel's bcache as"
				   : "held by", who);
			return h == 1 ? -BT_ERR_DEV_REGISTERED : -BT_ERR_DEV_IN_USE;
		}
	}
	return 0;
}

/* In use by the kernel: registered, held, the backing file of a loop device. */
static int in_use(const struct bt_guard *g, const struct bt_target *t, struct printbuf *pb)
{
	struct tsys_devs loops;

	if (t->id.blk)
		return blk_in_use(g, t, pb);
	tsys_loops_over(g, &t->id, &loops);
	if (!loops.nr)
		return 0;
	prt_printf(pb, "'%s' is the backing file of /dev/%s", t->path, loops.name[0]);
	return -BT_ERR_DEV_IN_USE;
}

void guard_override(struct bt_guard *g, const struct bt_target *t, bool write,
		    const char *fact)
{
	if (!g->warn)
		return;
	prt_printf(g->warn, "warning: %s: %s '%s' anyway (--force-in-use)", fact,
		   write ? "writing" : "reading", t->path);
	prt_newline(g->warn);
}

/* Refuse with code, or with --force-in-use warn and go on. */
static int refuse_in_use(struct bt_guard *g, const struct bt_target *t, bool write,
			 struct printbuf *fact, int code, struct printbuf *err)
{
	if (g->flags & BT_GUARD_FORCE_IN_USE) {
		guard_override(g, t, write, printbuf_str(fact));
		printbuf_reset(fact);
		return 0;
	}
	prt_printf(err, "%s (--force-in-use overrides this)", printbuf_str(fact));
	return code;
}

/* Identities whose open descriptors count as opens of t, and how a message names them. */
struct user_group {
	struct bt_tid	ids[2];
	unsigned	nr;
	char		label[TSYS_NAME_MAX + 32];	/* "": t itself */
};

/* devs as groups labelled "its partition /dev/sda1" etc., after the n of grp (max in all). */
static unsigned groups_of(const struct tsys_devs *devs, const char *rel,
			  struct user_group *grp, unsigned n, unsigned max)
{
	for (unsigned i = 0; i < devs->nr && n < max; i++, n++) {
		grp[n].ids[0] = (struct bt_tid){ .blk = true, .rdev = devs->rdev[i] };
		grp[n].nr = 1;
		snprintf(grp[n].label, sizeof(grp[n].label), "its %s /dev/%s", rel,
			 devs->name[i]);
	}
	return n;
}

/*
 * The groups of t: itself (with a loop device's file), then each partition
 * of a whole disk, or the whole disk of a partition, or each loop device
 * over a file. Returns how many (at most max).
 */
static unsigned user_groups(const struct bt_guard *g, const struct bt_target *t,
			    struct user_group *grp, unsigned max)
{
	struct tsys_devs devs = { 0 };

	grp[0] = (struct user_group){ .ids = { t->id }, .nr = 1 };
	if (t->has_file)
		grp[0].ids[grp[0].nr++] = t->file;
	if (t->id.blk && t->partition) {
		devs.nr = 1;
		devs.rdev[0] = t->whole;
		tsys_blk_name(g, t->whole, devs.name[0], sizeof(devs.name[0]));
		return groups_of(&devs, "whole disk", grp, 1, max);
	}
	if (t->id.blk) {
		tsys_partitions(g, t->id.rdev, &devs);
		return groups_of(&devs, "partition", grp, 1, max);
	}
	tsys_loops_over(g, &t->id, &devs);
	return groups_of(&devs, "loop device", grp, 1, max);
}

/* "pid 12 (sh, reading), pid 40 (dd, writing)"; true when one writes. */
static bool prt_users(struct printbuf *pb, const struct tsys_users *u)
{
	bool write = false;

	for (unsigned i = 0; i < u->nr; i++) {
		prt_printf(pb, "%spid %d (%s, %s)", i ? ", " : "", (int)u->u[i].pid,
			   u->u[i].comm, u->u[i].write ? "writing" : "reading");
		write |= u->u[i].write;
	}
	if (u->total > u->nr)
		prt_printf(pb, " and %u more", u->total - u->nr);
	return write;
}

/*
 * The other processes with t open, group by group, into pb: "pid 12 (sh,
 * reading); pid 40 (dd, writing) through its partition /dev/sda1"; with busy, as
 * the reason of a refused O_EXCL open: "pid 12 (sh, reading) has it open;
 * its partition /dev/sda1 is open in pid 40 (dd, writing)". Returns the
 * number of processes found; *write when one named writes.
 */
static unsigned prt_who(const struct bt_guard *g, const struct bt_target *t, bool busy,
			struct printbuf *pb, bool *write)
{
	struct user_group grp[TSYS_MAX_DEVS + 1];
	unsigned n = user_groups(g, t, grp, TSYS_MAX_DEVS + 1), total = 0;
	struct tsys_users u;

	*write = false;
	for (unsigned i = 0; i < n; i++) {
		tsys_users(g, grp[i].ids, grp[i].nr, &u);
		if (!u.total)
			continue;
		if (total)
			prt_str(pb, "; ");
		if (busy && grp[i].label[0])
			prt_printf(pb, "%s is open in ", grp[i].label);
		*write |= prt_users(pb, &u);
		if (busy && !grp[i].label[0])
			prt_str(pb, u.total > 1 ? " have it open" : " has it open");
		else if (!busy && grp[i].label[0])
			prt_printf(pb, " through %s", grp[i].label);
		total += u.total;
	}
	return total;
}

/* Other processes with t open: refuse a writer (unless forced), warn about the rest. */
static int check_users(struct bt_guard *g, const struct bt_target *t, struct printbuf *err)
{
	struct printbuf pb = PRINTBUF;
	bool input = t->role == BT_TARGET_INPUT, write;
	int ret = 0;

	prt_printf(&pb, "'%s' is open in another process: ", t->path);
	if (!prt_who(g, t, false, &pb, &write)) {	/* write: of the processes named */
		printbuf_exit(&pb);
		return 0;
	}
	if (write && !input) {
		ret = refuse_in_use(g, t, true, &pb, -BT_ERR_DEV_IN_USE, err);
	} else if (g->warn && (write || !input)) {
		prt_printf(g->warn, "warning: %s%s", printbuf_str(&pb),
			   input ? ": what is read may change during the run" : "");
		prt_newline(g->warn);
	}
	printbuf_exit(&pb);
	return ret;
}

int guard_check(struct bt_guard *g, struct bt_target *t, bool write, struct printbuf *err)
{
	struct printbuf fact = PRINTBUF;
	int ret = 0, code;

	if (!t->exists || (!t->id.blk && !S_ISREG(t->st.st_mode)))
		return 0;
	if (mounted(g, t, &fact)) {
		if (write) {
			prt_printf(err, "%s: unmount it first (no option overrides this)",
				   printbuf_str(&fact));
			ret = -BT_ERR_DEV_MOUNTED;
		} else if (t->role != BT_TARGET_INPUT && !(g->flags & BT_GUARD_FORCE_IN_USE)) {
			/* a dry run predicts the refusal of the real run */
			prt_printf(err, "%s: a real run refuses it whatever the options (this "
				   "read-only run reads it with --force-in-use)", printbuf_str(&fact));
			ret = -BT_ERR_DEV_MOUNTED;
		} else {
			ret = refuse_in_use(g, t, false, &fact, -BT_ERR_DEV_MOUNTED, err);
		}
	}
	printbuf_reset(&fact);
	if (!ret && (code = in_use(g, t, &fact)))
		ret = refuse_in_use(g, t, write, &fact, code, err);
	if (!ret)
		ret = check_users(g, t, err);
	printbuf_exit(&fact);
	return ret;
}

void guard_explain_busy(struct bt_guard *g, const struct bt_target *t, int code,
			struct printbuf *msg)
{
	struct printbuf who = PRINTBUF;
	char comm[32];
	bool write;
	pid_t pid;

	if (code == -BT_ERR_DEV_LOCKED) {
		pid = tsys_lock_holder(g, t->st.st_dev, t->st.st_ino);
		if (!pid)
			return;
		tsys_comm(g, pid, comm, sizeof(comm));
		prt_printf(msg, ": pid %d (%s) holds the lock%s", (int)pid, comm,
			   strcmp(comm, "bcache-tool") ? "" : ", another bcache-tool run");
		return;
	}
	if (prt_who(g, t, true, &who, &write))
		prt_printf(msg, ": %s", printbuf_str(&who));
	else
		prt_str(msg, ": no process has it open, so the kernel holds it (a mount, a "
			"RAID or device-mapper member, bcache)");
	printbuf_exit(&who);
}

/* The first non-zero byte in sampled ranges of fd (size bytes): 1 and *at, else 0. */
static int first_nonzero(int fd, uint64_t size, uint64_t *at)
{
	enum { CHUNK = 64 << 10, SAMPLES = 64, END = 1 << 20 };
	uint8_t *buf = malloc(CHUNK);
	uint64_t starts[SAMPLES + 32], n = 0;
	int found = 0;

	if (!buf)
		return 0;
	for (uint64_t o = 0; o < END && o < size; o += CHUNK)
		starts[n++] = o;
	for (uint64_t i = 1; i < SAMPLES; i++)
		starts[n++] = size / SAMPLES * i / CHUNK * CHUNK;
	for (uint64_t o = size > END ? (size - END) / CHUNK * CHUNK : 0; o < size && n <
	     sizeof(starts) / sizeof(starts[0]); o += CHUNK)
		starts[n++] = o;
	for (uint64_t i = 0; i < n && !found; i++) {
		ssize_t r = pread(fd, buf, CHUNK, (off_t)starts[i]);

		for (ssize_t j = 0; j < r && !found; j++)
			if (buf[j]) {
				*at = starts[i] + (uint64_t)j;
				found = 1;
			}
	}
	free(buf);
	return found;
}

int guard_check_content(struct bt_guard *g, struct bt_target *t, int fd, uint64_t size,
			struct printbuf *err)
{
	struct printbuf fact = PRINTBUF;
	struct bt_signatures sigs;
	uint64_t at;
	int ret;

	if (!t->exists || (!t->id.blk && !S_ISREG(t->st.st_mode)) ||
	    (S_ISREG(t->st.st_mode) && !size))
		return 0;
	ret = bt_probe_signatures_fd(fd, t->path, &sigs, err);
	if (ret)
		return ret;
	if (sigs.nr) {
		prt_printf(&fact, "the %s '%s' holds ", t->what, t->path);
		bt_signature_to_text(&fact, &sigs.s[0]);
		prt_printf(&fact, " (signature at byte %llu)", (unsigned long long)sigs.s[0].offset);
	} else if (S_ISREG(t->st.st_mode)) {
		prt_printf(&fact, "the %s '%s' already exists (%llu bytes)", t->what, t->path,
			   (unsigned long long)size);
	} else if (first_nonzero(fd, size, &at)) {
		prt_printf(&fact, "the %s '%s' holds data (a non-zero byte at byte %llu)",
			   t->what, t->path, (unsigned long long)at);
	}
	if (fact.pos && (g->flags & BT_GUARD_OVERWRITE)) {
		if (g->warn) {
			prt_printf(g->warn, "warning: %s: overwriting it (--force)",
				   printbuf_str(&fact));
			prt_newline(g->warn);
		}
	} else if (fact.pos) {
		prt_printf(err, "%s (--force overwrites it)", printbuf_str(&fact));
		ret = -BT_ERR_OUTPUT_EXISTS;
	}
	printbuf_exit(&fact);
	return ret;
}
