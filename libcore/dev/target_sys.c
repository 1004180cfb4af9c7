/* target_sys.c --- what sysfs and procfs say about a device or file: its
 * partitions, loop devices, mounts, swap, holders, the processes that have
 * it open and flock holders (for the guard, target.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "libcore/dev/target_internal.h"

/* The first line of a small file, without its newline; false when unreadable. */
static bool read_line(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)n, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/* A "MAJ:MIN" file (sysfs dev). */
static bool read_devno(const char *path, dev_t *out)
{
	char line[64];
	unsigned ma, mi;

	if (!read_line(path, line, sizeof(line)) || sscanf(line, "%u:%u", &ma, &mi) != 2)
		return false;
	*out = makedev(ma, mi);
	return true;
}

/* <sysfs>/dev/block/MAJ:MIN, then /rel when rel is not NULL. */
static void blkdir(const struct bt_guard *g, dev_t rdev, const char *rel, char *buf, size_t n)
{
	snprintf(buf, n, "%s/dev/block/%u:%u%s%s", g->sysfs, major(rdev), minor(rdev),
		 rel ? "/" : "", rel ? rel : "");
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

void tsys_blk_name(const struct bt_guard *g, dev_t rdev, char *name, size_t n)
{
	char path[PATH_MAX], real[PATH_MAX];
	const char *slash;

	blkdir(g, rdev, NULL, path, sizeof(path));
	if (!realpath(path, real)) {
		snprintf(name, n, "%u:%u", major(rdev), minor(rdev));
		return;
	}
	slash = strrchr(real, '/');
	snprintf(name, n, "%s", slash ? slash + 1 : real);
}

bool tsys_whole_disk(const struct bt_guard *g, dev_t rdev, dev_t *whole)
{
	char path[PATH_MAX];

	blkdir(g, rdev, "partition", path, sizeof(path));
	if (!exists(path))
		return false;
	blkdir(g, rdev, "../dev", path, sizeof(path));
	return read_devno(path, whole);
}

/* Add dir/name to out with the device number of dir/name/dev. */
static void devs_push(struct tsys_devs *out, const char *dir, const char *name)
{
	char path[PATH_MAX + 300];

	snprintf(path, sizeof(path), "%s/%s/dev", dir, name);
	if (read_devno(path, &out->rdev[out->nr]))
		snprintf(out->name[out->nr++], TSYS_NAME_MAX, "%s", name);
}

void tsys_partitions(const struct bt_guard *g, dev_t rdev, struct tsys_devs *out)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	out->nr = 0;
	blkdir(g, rdev, NULL, dir, sizeof(dir));
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d)) && out->nr < TSYS_MAX_DEVS) {
		char path[PATH_MAX + 300];	/* dir + a d_name */

		if (e->d_name[0] == '.' || strlen(e->d_name) >= TSYS_NAME_MAX)
			continue;
		snprintf(path, sizeof(path), "%s/%s/partition", dir, e->d_name);
		if (exists(path))
			devs_push(out, dir, e->d_name);
	}
	closedir(d);
}

bool tsys_loop_file(const struct bt_guard *g, dev_t rdev, struct stat *st,
		    char *path, size_t n)
{
	char p[PATH_MAX];

	blkdir(g, rdev, "loop/backing_file", p, sizeof(p));
	return read_line(p, path, n) && path[0] == '/' && !stat(path, st);
}

void tsys_loops_over(const struct bt_guard *g, const struct bt_tid *id,
		     struct tsys_devs *out)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;

	out->nr = 0;
	snprintf(dir, sizeof(dir), "%s/block", g->sysfs);
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d)) && out->nr < TSYS_MAX_DEVS) {
		char path[PATH_MAX + 300], back[PATH_MAX];
		struct stat st;
		struct bt_tid bid;

		if (strncmp(e->d_name, "loop", 4) || strlen(e->d_name) >= TSYS_NAME_MAX)
			continue;
		snprintf(path, sizeof(path), "%s/%s/loop/backing_file", dir, e->d_name);
		if (!read_line(path, back, sizeof(back)) || back[0] != '/' || stat(back, &st))
			continue;
		bid = tid_of(&st);
		if (tid_eq(&bid, id))
			devs_push(out, dir, e->d_name);
	}
	closedir(d);
}

/* <proc>/rel, opened for reading, or NULL. */
static FILE *proc_open(const struct bt_guard *g, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", g->proc, rel);
	return fopen(path, "re");
}

/* Does the source field of a mount name block device rdev? */
static bool source_is(const char *src, dev_t rdev)
{
	struct stat st;

	return src[0] == '/' && !stat(src, &st) && S_ISBLK(st.st_mode) && st.st_rdev == rdev;
}

/* The mount point of block device rdev in one mountinfo file, or false. */
static bool mountinfo_has(FILE *f, dev_t rdev, char *where, size_t n)
{
	char line[4096];

	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], src[PATH_MAX] = "";
		const char *sep = strstr(line, " - ");
		unsigned ma, mi;

		if (sscanf(line, "%*s %*s %u:%u %*s %4095s", &ma, &mi, mnt) != 3)
			continue;
		if (sep)
			sscanf(sep + 3, "%*s %4095s", src);
		if (makedev(ma, mi) == rdev || source_is(src, rdev)) {
			snprintf(where, n, "%s", mnt);
			return true;
		}
	}
	return false;
}

/* <proc>/rel (a mountinfo) searched for rdev. */
static bool proc_mountinfo_has(const struct bt_guard *g, const char *rel, dev_t rdev,
			       char *where, size_t n)
{
	FILE *f = proc_open(g, rel);
	bool found;

	if (!f)
		return false;
	found = mountinfo_has(f, rdev, where, n);
	fclose(f);
	return found;
}

/* Is namespace ns (a stat of <proc>/PID/ns/mnt) in seen[]? If not, add it. */
static bool ns_seen(ino_t *seen, unsigned *nr, const struct stat *ns)
{
	for (unsigned i = 0; i < *nr; i++)
		if (seen[i] == ns->st_ino)
			return true;
	seen[(*nr)++] = ns->st_ino;
	return false;
}

/*
 * rdev mounted in the mount namespace of another process (a container, a
 * service with private mounts): each namespace other than ours is read
 * once, through the first process found in it, up to TSYS_MAX_NS of them.
 * The pid, or 0.
 */
static pid_t mounted_elsewhere(const struct bt_guard *g, dev_t rdev, char *where, size_t n)
{
	char path[PATH_MAX + 300], rel[NAME_MAX + 16];
	ino_t seen[TSYS_MAX_NS];
	unsigned nseen = 0;
	struct dirent *e;
	struct stat ns;
	pid_t found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/self/ns/mnt", g->proc);
	if (stat(path, &ns) || !(d = opendir(g->proc)))
		return 0;
	ns_seen(seen, &nseen, &ns);
	while (!found && nseen < TSYS_MAX_NS && (e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (*end || pid <= 0 || pid == g->self)
			continue;
		snprintf(path, sizeof(path), "%s/%s/ns/mnt", g->proc, e->d_name);
		if (stat(path, &ns) || ns_seen(seen, &nseen, &ns))
			continue;
		snprintf(rel, sizeof(rel), "%s/mountinfo", e->d_name);
		if (proc_mountinfo_has(g, rel, rdev, where, n))
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

bool tsys_mounted(const struct bt_guard *g, dev_t rdev, char *where, size_t n,
		  pid_t *ns_pid)
{
	*ns_pid = 0;
	if (proc_mountinfo_has(g, "self/mountinfo", rdev, where, n))
		return true;
	*ns_pid = mounted_elsewhere(g, rdev, where, n);
	return *ns_pid != 0;
}

bool tsys_swap(const struct bt_guard *g, const struct bt_tid *id)
{
	FILE *f = proc_open(g, "swaps");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char name[PATH_MAX];
		struct stat st;
		struct bt_tid sid;

		if (sscanf(line, "%4095s", name) != 1 || name[0] != '/' || stat(name, &st))
			continue;
		sid = tid_of(&st);
		found = tid_eq(&sid, id);
	}
	fclose(f);
	return found;
}

int tsys_holder(const struct bt_guard *g, dev_t rdev, char *who, size_t n)
{
	char path[PATH_MAX];
	struct dirent *e;
	int ret = 0;
	DIR *d;

	blkdir(g, rdev, "bcache", path, sizeof(path));
	if (exists(path)) {
		snprintf(who, n, "bcache");
		return 1;
	}
	blkdir(g, rdev, "holders", path, sizeof(path));
	d = opendir(path);
	if (!d)
		return 0;
	while (!ret && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(who, n, "%s", e->d_name);
		ret = strncmp(e->d_name, "bcache", 6) ? 2 : 1;
	}
	closedir(d);
	return ret;
}

/* Is descriptor fd of pid open for writing (fdinfo "flags:" in octal)? */
static bool fd_writes(const struct bt_guard *g, const char *pid, const char *fd)
{
	char path[PATH_MAX], line[256];
	bool w = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/fdinfo/%s", g->proc, pid, fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long flags;

		if (sscanf(line, "flags: %lo", &flags) == 1) {
			w = (flags & O_ACCMODE) != O_RDONLY;
			break;
		}
	}
	fclose(f);
	return w;
}

/* Does any descriptor of process pid (a <proc> entry) name one of ids? -1 no, 0 read, 1 write. */
static int pid_uses(const struct bt_guard *g, const char *pid, const struct bt_tid *ids,
		    unsigned nids)
{
	char dir[PATH_MAX];
	struct dirent *e;
	int use = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s/fd", g->proc, pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while (use < 1 && (e = readdir(d))) {
		char path[PATH_MAX + 300], link[8];
		struct stat st;
		struct bt_tid fid;
		ssize_t l;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		l = readlink(path, link, sizeof(link));
		if (l <= 0 || link[0] != '/' || stat(path, &st))
			continue;	/* sockets, pipes, anon inodes */
		fid = tid_of(&st);
		for (unsigned i = 0; i < nids; i++)
			if (tid_eq(&fid, &ids[i])) {
				int w = fd_writes(g, pid, e->d_name);

				use = use > w ? use : w;
				break;
			}
	}
	closedir(d);
	return use;
}

void tsys_users(const struct bt_guard *g, const struct bt_tid *ids, unsigned nids,
		struct tsys_users *out)
{
	struct dirent *e;
	DIR *d = opendir(g->proc);

	memset(out, 0, sizeof(*out));
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		int use;

		if (*end || pid <= 0 || pid == g->self)
			continue;
		use = pid_uses(g, e->d_name, ids, nids);
		if (use < 0)
			continue;
		if (out->nr < TSYS_MAX_USERS) {
			struct tsys_user *u = &out->u[out->nr++];

			u->pid = (pid_t)pid;
			u->write = use > 0;
			tsys_comm(g, u->pid, u->comm, sizeof(u->comm));
		}
		out->total++;
	}
	closedir(d);
}

pid_t tsys_lock_holder(const struct bt_guard *g, dev_t dev, ino_t ino)
{
	FILE *f = proc_open(g, "locks");
	char line[512];
	pid_t holder = 0;

	if (!f)
		return 0;
	while (!holder && fgets(line, sizeof(line), f)) {
		char type[16];
		unsigned ma, mi;
		unsigned long long i;
		int pid;

		if (strstr(line, "->") ||
		    sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%llu", type, &pid, &ma, &mi, &i) != 5)
			continue;
		if (!strcmp(type, "FLOCK") && makedev(ma, mi) == dev && i == (unsigned long long)ino)
			holder = pid;
	}
	fclose(f);
	return holder;
}

void tsys_comm(const struct bt_guard *g, pid_t pid, char *comm, size_t n)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%d/comm", g->proc, (int)pid);
	if (!read_line(path, comm, n))
		snprintf(comm, n, "?");
}
