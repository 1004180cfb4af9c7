/* target_file.c --- the guard's outputs, undo and log files (target.h):
 * opened after the checks, never truncated unless a regular file, synced
 * at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "libcore/base/errcode.h"
#include "libcore/dev/signature.h"
#include "libcore/dev/target_internal.h"

/* What kind of file each role may be. */
static int kind_allowed(const struct bt_target *t, struct printbuf *err)
{
	bool reg = !t->exists || S_ISREG(t->st.st_mode);

	if (t->role == BT_TARGET_UNDO && !reg) {
		prt_printf(err, "the undo file '%s' is not a regular file", t->path);
		return -BT_ERR_NOT_A_DEVICE;
	}
	if (t->role == BT_TARGET_LOG && t->exists && S_ISBLK(t->st.st_mode)) {
		prt_printf(err, "the log file '%s' is a block device", t->path);
		return -BT_ERR_NOT_A_DEVICE;
	}
	if (t->exists && S_ISDIR(t->st.st_mode)) {
		prt_printf(err, "the %s '%s' is a directory", t->what, t->path);
		return -BT_ERR_NOT_A_DEVICE;
	}
	return 0;
}

static int open_flags(const struct bt_target *t, bool excl)
{
	int f = O_CLOEXEC;

	if (t->role == BT_TARGET_UNDO)
		return f | O_RDWR | O_CREAT;
	if (t->role == BT_TARGET_LOG)
		return f | O_APPEND | O_CREAT | (t->exists && S_ISREG(t->st.st_mode) ? O_RDWR
									       : O_WRONLY);
	if (!t->exists)
		return f | O_RDWR | O_CREAT | O_EXCL;
	if (S_ISBLK(t->st.st_mode))
		return f | O_RDWR | (excl ? O_EXCL : 0);
	return f | (S_ISREG(t->st.st_mode) ? O_RDWR : O_WRONLY);
}

/* open(2) with the role's flags; a block device O_EXCL unless --force-in-use must skip it. */
static int open_fd(struct bt_guard *g, const struct bt_target *t, struct printbuf *err)
{
	int fd = open(t->path, open_flags(t, true), t->role == BT_TARGET_UNDO ? 0600 : 0644);
	struct printbuf e = PRINTBUF;

	if (fd >= 0)
		return fd;
	if (errno != EBUSY || !t->exists || !S_ISBLK(t->st.st_mode)) {
		prt_printf(err, "cannot open the %s '%s': %s", t->what, t->path, strerror(errno));
		return -errno;
	}
	prt_printf(&e, "'%s' is open exclusively (O_EXCL) by another program or the kernel",
		   t->path);
	guard_explain_busy(g, t, -BT_ERR_DEV_EXCL, &e);
	if (!(g->flags & BT_GUARD_FORCE_IN_USE)) {
		prt_printf(err, "%s (--force-in-use overrides this)", printbuf_str(&e));
		printbuf_exit(&e);
		return -BT_ERR_DEV_EXCL;
	}
	guard_override(g, t, true, printbuf_str(&e));
	printbuf_exit(&e);
	fd = open(t->path, open_flags(t, false));
	if (fd < 0) {
		prt_printf(err, "cannot open the %s '%s': %s", t->what, t->path, strerror(errno));
		return -errno;
	}
	return fd;
}

/* A regular file: the lock two bcache-tool runs take. */
static int lock_file(struct bt_guard *g, const struct bt_target *t, int fd,
		     struct printbuf *err)
{
	struct printbuf e = PRINTBUF;

	if (!S_ISREG(t->st.st_mode) || !flock(fd, LOCK_EX | LOCK_NB))
		return 0;
	prt_printf(&e, "'%s' is locked (flock) by another process", t->path);
	guard_explain_busy(g, t, -BT_ERR_DEV_LOCKED, &e);
	if (g->flags & BT_GUARD_FORCE_IN_USE) {
		guard_override(g, t, true, printbuf_str(&e));
		printbuf_exit(&e);
		return 0;
	}
	prt_printf(err, "%s (--force-in-use overrides this)", printbuf_str(&e));
	printbuf_exit(&e);
	return -BT_ERR_DEV_LOCKED;
}

/* A log that holds a file system (or anything blkid knows) is not a log. */
static int check_log(const struct bt_target *t, int fd, uint64_t size, struct printbuf *err)
{
	struct bt_signatures sigs;
	int ret;

	if (!S_ISREG(t->st.st_mode) || !size)
		return 0;
	ret = bt_probe_signatures_fd(fd, t->path, &sigs, err);
	if (ret || !sigs.nr)
		return ret;
	prt_printf(err, "the log file '%s' holds ", t->path);
	bt_signature_to_text(err, &sigs.s[0]);
	prt_printf(err, " (signature at byte %llu): not a log", (unsigned long long)sigs.s[0].offset);
	return -BT_ERR_OUTPUT_EXISTS;
}

/* After the open: lock, size, and what an existing output or log may hold. */
static int settle(struct bt_guard *g, struct bt_target *t, struct bt_outfile *f,
		  bool existed, struct printbuf *err)
{
	int ret = lock_file(g, t, f->fd, err);

	if (ret)
		return ret;
	if (fstat(f->fd, &t->st)) {
		prt_printf(err, "cannot stat '%s': %s", t->path, strerror(errno));
		return -errno;
	}
	f->regular = S_ISREG(t->st.st_mode);
	f->seekable = f->regular || S_ISBLK(t->st.st_mode);
	f->size = f->regular ? (uint64_t)t->st.st_size : 0;
	if (S_ISBLK(t->st.st_mode) && ioctl(f->fd, BLKGETSIZE64, &f->size)) {
		prt_printf(err, "cannot get the size of '%s': %s", t->path, strerror(errno));
		return -errno;
	}
	if (t->role == BT_TARGET_LOG)
		return check_log(t, f->fd, f->size, err);
	if (t->role != BT_TARGET_OUTPUT || !existed)
		return 0;
	ret = guard_check_content(g, t, f->fd, f->size, err);
	if (!ret && f->regular && f->size && ftruncate(f->fd, 0)) {
		prt_printf(err, "cannot empty '%s': %s", t->path, strerror(errno));
		return -errno;
	}
	if (f->regular)
		f->size = 0;
	return ret;
}

int bt_guard_open_file(struct bt_guard *g, int i, struct bt_outfile *f,
		       struct printbuf *err)
{
	struct bt_target *t = &g->t[i];
	bool existed = t->exists;
	int ret;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->path = t->path;
	if (t->role == BT_TARGET_OUTPUT && !strcmp(t->path, "-")) {
		f->fd = STDOUT_FILENO;
		f->is_stdout = true;
		return 0;
	}
	ret = kind_allowed(t, err);
	if (!ret)
		ret = guard_check(g, t, true, err);
	if (ret)
		return ret;
	f->fd = open_fd(g, t, err);
	if (f->fd < 0)
		return f->fd;
	ret = guard_recheck(g, (unsigned)i, f->fd, err);
	if (!ret)
		ret = settle(g, t, f, existed, err);
	if (ret) {
		close(f->fd);
		f->fd = -1;
		if (!existed)
			unlink(t->path);
	}
	return ret;
}

int bt_outfile_finish(struct bt_outfile *f, uint64_t size, struct printbuf *err)
{
	if (f->fd < 0 || f->is_stdout || !f->seekable)
		return 0;
	if (f->regular && size != UINT64_MAX && ftruncate(f->fd, (off_t)size)) {
		prt_printf(err, "cannot set the size of '%s' to %llu bytes: %s", f->path,
			   (unsigned long long)size, strerror(errno));
		return -errno;
	}
	if (fsync(f->fd)) {
		prt_printf(err, "cannot sync '%s': %s", f->path, strerror(errno));
		return -errno;
	}
	return 0;
}

int bt_outfile_close(struct bt_outfile *f, struct printbuf *err)
{
	int fd = f->fd;

	f->fd = -1;
	if (fd < 0 || f->is_stdout)
		return 0;
	if (close(fd)) {
		prt_printf(err, "write error on '%s': %s", f->path, strerror(errno));
		return -errno;
	}
	return 0;
}
