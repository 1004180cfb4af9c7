/* target.c --- the guard (target.h): declare every device and file of a
 * run, refuse two names for one device, open each after the checks of
 * target_check.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libcore/base/errcode.h"
#include "libcore/dev/signature.h"
#include "libcore/dev/target_internal.h"

void bt_guard_init(struct bt_guard *g, unsigned flags, struct printbuf *warn)
{
	memset(g, 0, sizeof(*g));
	g->sysfs = "/sys";
	g->proc = "/proc";
	g->self = getpid();
	g->flags = flags;
	g->warn = warn;
}

void bt_guard_exit(struct bt_guard *g)
{
	for (unsigned i = 0; i < g->nr; i++) {
		free(g->t[i].path);
		free(g->t[i].base);
		free(g->t[i].file_path);
	}
	free(g->t);
	g->t = NULL;
	g->nr = 0;
}

/* A path that does not exist yet: where it will be created. */
static int target_new(struct bt_target *t, struct printbuf *err)
{
	char *copy = strdup(t->path), *copy2 = strdup(t->path);
	struct stat st;
	int ret = 0;

	if (!copy || !copy2) {
		ret = -ENOMEM;
	} else if (stat(dirname(copy), &st)) {
		ret = -errno;
		prt_printf(err, "cannot create '%s': %s", t->path, strerror(errno));
	} else {
		t->dir_dev = st.st_dev;
		t->dir_ino = st.st_ino;
		t->base = strdup(basename(copy2));
		ret = t->base ? 0 : -ENOMEM;
	}
	free(copy);
	free(copy2);
	return ret;
}

/* Fill t's identity from its path (a loop device's file, a partition's disk). */
static int target_stat(const struct bt_guard *g, struct bt_target *t, struct printbuf *err)
{
	bool is_stdout = !strcmp(t->path, "-") && t->role == BT_TARGET_OUTPUT;
	bool may_create = t->role == BT_TARGET_OUTPUT || t->role == BT_TARGET_UNDO ||
			  t->role == BT_TARGET_LOG;
	char file[PATH_MAX];
	struct stat fst;

	if (is_stdout ? fstat(STDOUT_FILENO, &t->st) : stat(t->path, &t->st)) {
		if (errno == ENOENT && may_create && !is_stdout)
			return target_new(t, err);
		prt_printf(err, "cannot open '%s': %s", is_stdout ? "standard output" : t->path,
			   strerror(errno));
		return -errno;
	}
	t->exists = true;
	t->id = tid_of(&t->st);
	if (!t->id.blk)
		return 0;
	t->partition = tsys_whole_disk(g, t->id.rdev, &t->whole);
	if (tsys_loop_file(g, t->id.rdev, &fst, file, sizeof(file)) ||
	    (t->partition && tsys_loop_file(g, t->whole, &fst, file, sizeof(file)))) {
		t->has_file = true;
		t->file_of_whole = t->partition;
		t->file = tid_of(&fst);
		t->file_path = strdup(file);
		if (!t->file_path)
			return -ENOMEM;
	}
	return 0;
}

/* Is t written as a file of its own (output, undo, log) rather than a device of the set? */
static bool side_file(const struct bt_target *t)
{
	return t->role == BT_TARGET_OUTPUT || t->role == BT_TARGET_UNDO ||
	       t->role == BT_TARGET_LOG;
}

enum relation { REL_NONE, REL_SAME, REL_LOOP, REL_PART_OF, REL_WHOLE_OF };

/* How b relates to a. */
static enum relation relate(const struct bt_target *a, const struct bt_target *b)
{
	if (!a->exists || !b->exists)
		return !a->exists && !b->exists && a->dir_dev == b->dir_dev &&
		       a->dir_ino == b->dir_ino && !strcmp(a->base, b->base) ? REL_SAME : REL_NONE;
	if (tid_eq(&a->id, &b->id))
		return REL_SAME;
	if (b->partition && a->id.blk && b->whole == a->id.rdev)
		return REL_PART_OF;
	if (a->partition && b->id.blk && a->whole == b->id.rdev)
		return REL_WHOLE_OF;
	if ((a->has_file && tid_eq(&a->file, &b->id)) ||
	    (b->has_file && tid_eq(&b->file, &a->id)) ||
	    (a->has_file && b->has_file && tid_eq(&a->file, &b->file)))
		return REL_LOOP;
	return REL_NONE;
}

static const char *shown(const struct bt_target *t)
{
	return !strcmp(t->path, "-") && t->role == BT_TARGET_OUTPUT ? "standard output" : t->path;
}

/* "'X' and 'Y' are the same device", "the output 'X' is the cache device 'Y'", ... */
static void prt_relation(struct printbuf *err, const struct bt_target *a,
			 const struct bt_target *b, enum relation rel)
{
	const struct bt_target *x = side_file(b) ? b : a, *y = x == b ? a : b;

	if (rel == REL_PART_OF || rel == REL_WHOLE_OF) {
		const struct bt_target *part = rel == REL_PART_OF ? b : a;

		prt_printf(err, "the %s '%s' is a partition of the %s '%s'", part->what,
			   shown(part), (part == a ? b : a)->what, shown(part == a ? b : a));
	} else if (side_file(a) || side_file(b)) {
		prt_printf(err, "the %s '%s' is the %s '%s'", x->what, shown(x), y->what, shown(y));
	} else {
		prt_printf(err, "'%s' and '%s' are the same device", shown(a), shown(b));
	}
	if (rel != REL_LOOP)
		return;
	if (a->has_file && b->has_file) {
		prt_printf(err, " (both are %sloop devices over '%s')",
			   a->file_of_whole || b->file_of_whole ? "on " : "", a->file_path);
	} else {
		const struct bt_target *l = a->has_file ? a : b;

		prt_printf(err, " ('%s' is %s loop device over '%s')", shown(l),
			   l->file_of_whole ? "a partition of a" : "a", l->file_path);
	}
}

int bt_guard_add(struct bt_guard *g, const char *path, enum bt_target_role role,
		 const char *what, unsigned flags, struct printbuf *err)
{
	struct bt_target *t, *nt = realloc(g->t, (g->nr + 1) * sizeof(*g->t));
	int ret;

	if (!nt)
		return -ENOMEM;
	g->t = nt;
	t = &g->t[g->nr];
	memset(t, 0, sizeof(*t));
	t->path = strdup(path);
	t->what = what;
	t->role = role;
	t->flags = flags;
	if (!t->path)
		return -ENOMEM;
	g->nr++;
	ret = target_stat(g, t, err);
	if (ret)
		return ret;
	for (unsigned i = 0; i + 1 < g->nr; i++) {
		enum relation rel = relate(&g->t[i], t);

		if (rel != REL_NONE) {
			prt_relation(err, &g->t[i], t, rel);
			return -BT_ERR_SAME_DEVICE;
		}
	}
	return (int)g->nr - 1;
}

int bt_guard_find(const struct bt_guard *g, const char *path)
{
	for (unsigned i = 0; i < g->nr; i++)
		if (!strcmp(g->t[i].path, path))
			return (int)i;
	return -1;
}

int guard_recheck(struct bt_guard *g, unsigned i, int fd, struct printbuf *err)
{
	struct bt_target *t = &g->t[i];
	struct stat st;
	struct bt_tid id;

	if (fstat(fd, &st)) {
		prt_printf(err, "cannot stat '%s': %s", t->path, strerror(errno));
		return -errno;
	}
	id = tid_of(&st);
	if (t->exists && !tid_eq(&id, &t->id)) {
		prt_printf(err, "'%s' changed while it was being checked: another file or "
			   "device has its name now", t->path);
		return -BT_ERR_SAME_DEVICE;
	}
	if (t->exists)
		return 0;
	/* created now: the name may have led somewhere else (a dangling link) */
	t->exists = true;
	t->st = st;
	t->id = id;
	for (unsigned j = 0; j < g->nr; j++) {
		enum relation rel = j == i ? REL_NONE : relate(&g->t[j], t);

		if (rel != REL_NONE) {
			prt_relation(err, &g->t[j], t, rel);
			return -BT_ERR_SAME_DEVICE;
		}
	}
	return 0;
}

/* bt_dev_open(), exclusive unless --force-in-use lets an exclusive user or a lock be. */
static int open_dev(struct bt_guard *g, struct bt_target *t, bool rdwr, struct bt_dev *dev,
		    struct printbuf *err)
{
	unsigned flags = rdwr ? BT_DEV_RDWR : 0;
	struct printbuf e = PRINTBUF;
	int ret = bt_dev_open(t->path, flags, dev, &e);

	if (ret == -BT_ERR_DEV_EXCL || ret == -BT_ERR_DEV_LOCKED) {
		guard_explain_busy(g, t, ret, &e);
		if (g->flags & BT_GUARD_FORCE_IN_USE) {
			guard_override(g, t, rdwr, printbuf_str(&e));
			printbuf_reset(&e);
			ret = bt_dev_open(t->path, flags | BT_DEV_FORCE, dev, &e);
		} else {
			prt_str(&e, " (--force-in-use overrides this)");
		}
	}
	if (ret)
		prt_str(err, printbuf_str(&e));
	printbuf_exit(&e);
	return ret;
}

/* An OUTPUT written through bt_dev that does not exist yet: an empty file. */
static int create_empty(struct bt_target *t, struct printbuf *err)
{
	int fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0) {
		prt_printf(err, "cannot create '%s': %s", t->path, strerror(errno));
		return -errno;
	}
	close(fd);
	return 0;
}

int bt_guard_open(struct bt_guard *g, int i, unsigned flags, struct bt_dev *dev,
		  struct printbuf *err)
{
	struct bt_target *t = &g->t[i];
	bool rdwr = flags & BT_GUARD_RDWR;
	bool created = false;
	int ret;

	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	if (rdwr && t->role == BT_TARGET_INPUT) {
		prt_printf(err, "'%s' is an input of this run: it is never written", t->path);
		return -EINVAL;
	}
	if (t->role == BT_TARGET_OUTPUT && !t->exists) {
		ret = create_empty(t, err);
		if (ret)
			return ret;
		created = true;
	}
	ret = guard_check(g, t, rdwr || t->role == BT_TARGET_OUTPUT, err);
	if (!ret)
		ret = open_dev(g, t, rdwr, dev, err);
	if (!ret)
		ret = guard_recheck(g, (unsigned)i, dev->fd, err);
	if (!ret && t->role == BT_TARGET_OUTPUT && !created)
		ret = guard_check_content(g, t, dev->fd, dev->size, err);
	if (!ret && (t->flags & BT_TARGET_BCACHE))
		ret = bt_probe_foreign(dev, err);
	if (ret && dev->path)
		bt_dev_close(dev);
	if (ret && created)
		unlink(t->path);
	return ret;
}
