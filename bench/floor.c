// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The floor: the kernel work pam_userns does for one session, written as
 * tightly as we can, with no PAM, no configuration and no state
 * directory. A clone(CLONE_VM) child takes the user's ids with raw
 * system calls and unshares CLONE_NEWUSER; the parent opens the child's
 * uid_map, gid_map and ns/user (which hold the namespace from then on),
 * lets the child go at once, writes the maps, bind-mounts the ns file on
 * the pin and reaps the child. Parent and child meet on futexes in the
 * memory they share: no pipes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define FLOOR_STACK (64 * 1024)

static long futex(int *addr, int op, int val)
{
	return syscall(SYS_futex, addr, op, val, NULL, NULL, 0);
}

/* Raw system calls only: the child runs on our memory, with our TLS. */
static int floor_child(void *arg)
{
	struct floor *f = arg;
	int st = 1;

	if (syscall(SYS_setgroups, 0, NULL) < 0 ||
	    syscall(SYS_setresgid, f->gid, f->gid, f->gid) < 0 ||
	    syscall(SYS_setresuid, f->uid, f->uid, f->uid) < 0)
		st = -EPERM;
	else if (syscall(SYS_unshare, CLONE_NEWUSER) < 0)
		st = -ENOSPC;
	__atomic_store_n(&f->state, st, __ATOMIC_RELEASE);
	futex(&f->state, FUTEX_WAKE, 1);
	while (!__atomic_load_n(&f->go, __ATOMIC_ACQUIRE))
		futex(&f->go, FUTEX_WAIT, 0);
	return 0;
}

int floor_init(struct floor *f, uid_t uid, gid_t gid, const char *uid_map,
	       const char *gid_map, bool setgroups_deny, const char *pin)
{
	memset(f, 0, sizeof(*f));
	f->uid = uid;
	f->gid = gid;
	f->uid_map = uid_map;
	f->gid_map = gid_map;
	f->uid_len = strlen(uid_map);
	f->gid_len = strlen(gid_map);
	f->setgroups_deny = setgroups_deny;
	snprintf(f->pin, sizeof(f->pin), "%s", pin);
	f->stack_size = FLOOR_STACK;
	f->stack = mmap(NULL, f->stack_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (f->stack == MAP_FAILED)
		return -errno;
	return 0;
}

void floor_fini(struct floor *f)
{
	if (f->stack && f->stack != MAP_FAILED)
		munmap(f->stack, f->stack_size);
	f->stack = NULL;
}

static int open_proc(pid_t pid, const char *what, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return open(path, flags | O_CLOEXEC | O_NOCTTY);
}

static int write_map(int fd, const char *text, size_t len)
{
	ssize_t n = write(fd, text, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int floor_create(struct floor *f, double *us)
{
	int ufd = -1, gfd = -1, sfd = -1, nsfd = -1, pfd, st, r = 0;
	char src[64];
	uint64_t t0 = now_ns();
	sigset_t all, saved;
	pid_t pid;

	f->state = 0;
	f->go = 0;
	/* The child must not run a signal handler of ours on our stack. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &saved);
	pid = clone(floor_child, (char *)f->stack + f->stack_size, CLONE_VM, f);
	if (pid < 0)
		r = -errno;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (pid < 0)
		return r;
	while ((st = __atomic_load_n(&f->state, __ATOMIC_ACQUIRE)) == 0)
		futex(&f->state, FUTEX_WAIT, 0);
	if (st < 0) {
		r = st;
		goto release;
	}
	/* These hold the namespace: the child need not wait for the maps. */
	ufd = open_proc(pid, "uid_map", O_WRONLY);
	gfd = open_proc(pid, "gid_map", O_WRONLY);
	if (f->setgroups_deny)
		sfd = open_proc(pid, "setgroups", O_WRONLY);
	nsfd = open_proc(pid, "ns/user", O_RDONLY);
	if (ufd < 0 || gfd < 0 || nsfd < 0 || (f->setgroups_deny && sfd < 0))
		r = -errno;
release:
	__atomic_store_n(&f->go, 1, __ATOMIC_RELEASE);
	futex(&f->go, FUTEX_WAKE, 1);
	if (r < 0)
		goto out;
	if (sfd >= 0 && (r = write_map(sfd, "deny", 4)) < 0)
		goto out;
	if ((r = write_map(gfd, f->gid_map, f->gid_len)) < 0 ||
	    (r = write_map(ufd, f->uid_map, f->uid_len)) < 0)
		goto out;
	pfd = open(f->pin, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0444);
	if (pfd < 0) {
		r = -errno;
		goto out;
	}
	close(pfd);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", nsfd);
	if (mount(src, f->pin, NULL, MS_BIND, NULL) < 0) {
		r = -errno;
		unlink(f->pin);
	}
out:
	if (ufd >= 0)
		close(ufd);
	if (gfd >= 0)
		close(gfd);
	if (sfd >= 0)
		close(sfd);
	if (nsfd >= 0)
		close(nsfd);
	while (waitpid(pid, &st, __WCLONE) < 0 && errno == EINTR)
		;
	if (us)
		*us = us_since(t0);
	return r;
}

int floor_remove(struct floor *f, double *us)
{
	uint64_t t0 = now_ns();
	int r = 0;

	if (umount2(f->pin, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
		r = -errno;
	if (unlink(f->pin) < 0 && r == 0)
		r = -errno;
	if (us)
		*us = us_since(t0);
	return r;
}
