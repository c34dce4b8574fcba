// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Namespaces: create, map, pin, unpin. No PAM and no policy here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/nsfs.h>

#include "userns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

#define CHILD_STACK_SIZE (64 * 1024)

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

struct child_args {
	uid_t uid;
	gid_t gid;
	int kinds;
	int ready_fd;		/* child -> parent: one int, 0 or -errno */
	int hold_fd;		/* parent -> child: EOF means exit */
	int close_fds[2];	/* the parent's ends, copied into our fd table */
};

/*
 * Runs in a child sharing the caller's memory: raw system calls only
 * (no malloc, no stdio, no glibc setxid broadcast to other threads).
 */
static int child_main(void *arg)
{
	const struct child_args *a = arg;
	int status = 0;
	char c;

	syscall(SYS_close, a->close_fds[0]);
	syscall(SYS_close, a->close_fds[1]);
	if (syscall(SYS_setgroups, 0, NULL) < 0 ||
	    syscall(SYS_setresgid, a->gid, a->gid, a->gid) < 0 ||
	    syscall(SYS_setresuid, a->uid, a->uid, a->uid) < 0)
		status = -EPERM;
	else if (syscall(SYS_unshare, a->kinds) < 0)
		status = -errno;
	if (syscall(SYS_write, a->ready_fd, &status, sizeof(status)) != sizeof(status))
		return 1;
	/* Stay alive until the parent has written the maps and pinned us. */
	while (syscall(SYS_read, a->hold_fd, &c, 1) < 0 && errno == EINTR)
		;
	return 0;
}

static int write_proc(pid_t pid, const char *file, const char *text)
{
	char path[64];
	size_t len = strlen(text);
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* The kernel takes a map in one write() and nothing after it. */
	n = write(fd, text, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	close(fd);
	return r;
}

static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, __WCLONE) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int userns_create_pinned(const struct ns_spec *spec, const char *pin_path,
			 char *err, size_t errlen)
{
	struct child_args args;
	int ready[2] = { -1, -1 }, hold[2] = { -1, -1 };
	sigset_t all, saved;
	void *stack = MAP_FAILED;
	char src[64];
	bool pin_made = false;
	pid_t pid = -1;
	int status = 0, fd, r;
	ssize_t n;

	if (!(spec->kinds & CLONE_NEWUSER)) {
		seterr(err, errlen, "a user namespace is required");
		return -EINVAL;
	}
	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0) {
		r = -errno;
		seterr(err, errlen, "pipe: %s", strerror(-r));
		goto out;
	}
	stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		r = -errno;
		seterr(err, errlen, "mmap: %s", strerror(-r));
		goto out;
	}

	args = (struct child_args){
		.uid = spec->uid, .gid = spec->gid, .kinds = spec->kinds,
		.ready_fd = ready[1], .hold_fd = hold[0],
		.close_fds = { ready[0], hold[1] },
	};
	/*
	 * The child shares our memory: it must never run one of the
	 * application's signal handlers. It inherits this mask and keeps it.
	 * Exit signal 0: no SIGCHLD for the application, and only a wait
	 * with __WCLONE (ours) can reap it.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE, CLONE_VM, &args);
	r = -errno;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (pid < 0) {
		seterr(err, errlen, "clone: %s", strerror(-r));
		goto out;
	}
	close(ready[1]);
	ready[1] = -1;
	close(hold[0]);
	hold[0] = -1;

	do {
		n = read(ready[0], &status, sizeof(status));
	} while (n < 0 && errno == EINTR);
	if (n != sizeof(status)) {
		r = -EIO;
		seterr(err, errlen, "the namespace child died before reporting");
		goto out;
	}
	if (status < 0) {
		r = status;
		if (r == -ENOSPC)
			seterr(err, errlen,
			       "cannot create a user namespace as uid %u: %s (user.max_user_namespaces reached?)",
			       (unsigned int)spec->uid, strerror(-r));
		else
			seterr(err, errlen, "cannot create a user namespace as uid %u: %s",
			       (unsigned int)spec->uid, strerror(-r));
		goto out;
	}

	if (spec->setgroups_deny && (r = write_proc(pid, "setgroups", "deny")) < 0) {
		seterr(err, errlen, "writing setgroups: %s", strerror(-r));
		goto out;
	}
	if ((r = write_proc(pid, "gid_map", spec->gid_map)) < 0) {
		seterr(err, errlen, "writing gid_map: %s", strerror(-r));
		goto out;
	}
	if ((r = write_proc(pid, "uid_map", spec->uid_map)) < 0) {
		seterr(err, errlen, "writing uid_map: %s", strerror(-r));
		goto out;
	}

	fd = open(pin_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0444);
	if (fd < 0) {
		r = -errno;
		seterr(err, errlen, "creating %s: %s", pin_path, strerror(-r));
		goto out;
	}
	close(fd);
	pin_made = true;
	snprintf(src, sizeof(src), "/proc/%d/ns/user", (int)pid);
	if (mount(src, pin_path, NULL, MS_BIND, NULL) < 0) {
		r = -errno;
		seterr(err, errlen, "bind-mounting %s on %s: %s", src, pin_path, strerror(-r));
		goto out;
	}
	pin_made = false;	/* it is a pin now: the caller owns it */
	r = 0;
out:
	if (hold[1] >= 0)
		close(hold[1]);		/* lets the child exit */
	if (pid > 0)
		reap(pid);
	if (pin_made)
		unlink(pin_path);
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (hold[0] >= 0)
		close(hold[0]);
	if (stack != MAP_FAILED)
		munmap(stack, CHILD_STACK_SIZE);
	return r;
}

bool userns_is_initial(void)
{
	char buf[128];
	unsigned long a, b, c;
	ssize_t n;
	int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 &&
	       c == 4294967295UL && !strchr(buf, '\n')[1];
}

bool userns_is_pin(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == NSFS_MAGIC;
}

int userns_unpin(const char *pin_path)
{
	int r = 0;

	if (umount2(pin_path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
		r = -errno;
	if (unlink(pin_path) < 0 && r == 0)
		r = -errno;
	return r;
}

int userns_check_fd(int fd, uid_t uid)
{
	struct statfs sfs;
	uid_t owner;

	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	if (sfs.f_type != NSFS_MAGIC)
		return -EINVAL;
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWUSER)
		return -EINVAL;
	if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0)
		return -errno;
	if (owner != uid)
		return -EPERM;
	return 0;
}
