// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The state directory: pins, records, the stale sweep and what is left
 * inside a namespace at logout. No PAM here.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/nsfs.h>

#include "session.h"
#include "userns.h"

const char *session_statedir = STATEDIR;

#define RECORD_MAX 16384

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

/* A directory only root may change, reached without following links. */
static int open_root_dir(int at, const char *name, bool create, const char *shown,
			 char *err, size_t errlen)
{
	struct stat st;
	int fd;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(at, name, 0755) < 0 && errno != EEXIST) {
			seterr(err, errlen, "cannot create %s: %s", shown, strerror(errno));
			return -errno;
		}
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fchmod(fd, 0755) < 0) {
			seterr(err, errlen, "cannot set the mode of %s: %s", shown, strerror(errno));
			close(fd);
			return -errno;
		}
	}
	if (fd < 0) {
		int r = -errno;

		seterr(err, errlen, "cannot open %s: %s", shown,
		       r == -ELOOP || r == -ENOTDIR ? "not a directory" : strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		seterr(err, errlen, "%s is not a directory owned by root and writable only by it",
		       shown);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int session_open_dir(uid_t uid, bool create, char *err, size_t errlen)
{
	char name[16], shown[PATH_MAX];
	int top, fd;

	top = open_root_dir(AT_FDCWD, session_statedir, create, session_statedir, err, errlen);
	if (top < 0)
		return top;
	snprintf(name, sizeof(name), "%u", (unsigned int)uid);
	snprintf(shown, sizeof(shown), "%s/%s", session_statedir, name);
	fd = open_root_dir(top, name, create, shown, err, errlen);
	close(top);
	return fd;
}

int session_lock(int dirfd)
{
	int fd = openat(dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;

			close(fd);
			return r;
		}
	}
	return fd;
}

int session_new_id(char id[SESSION_ID_LEN + 1])
{
	unsigned char raw[SESSION_ID_LEN / 2];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -EIO;
	for (size_t i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 15];
	}
	id[SESSION_ID_LEN] = '\0';
	return 0;
}

static ssize_t read_small(int at, const char *name, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd = openat(at, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1) {
		n = read(fd, buf + got, len - 1 - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

unsigned long long session_starttime(pid_t pid)
{
	char path[64], buf[1024], *s;
	unsigned long long start = 0;
	int field = 3;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_small(AT_FDCWD, path, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	s = strrchr(buf, ')');
	if (!s || s[1] != ' ')
		return 0;
	s += 2;
	if (*s == 'Z' || *s == 'X')
		return 0;	/* a zombie is gone: it will never close anything */
	for (; *s && field < 22; s++)
		if (*s == ' ')
			field++;
	if (field == 22)
		start = strtoull(s, NULL, 10);
	return start;
}

bool session_ref_alive(const struct ref_record *ref)
{
	return ref->pid > 0 && ref->starttime && session_starttime(ref->pid) == ref->starttime;
}

/* Write a record in one go under a temporary name, then rename it in. */
static int write_record(int dirfd, const char *name, const char *text)
{
	char tmp[SESSION_NAME_MAX + 16];
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		    0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && fchmodat(dirfd, tmp, 0644, 0) < 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

/* Map text on one line: "0 1001 1;1 100000 65536". */
static void one_line(char *dst, size_t len, const char *map)
{
	size_t i = 0;

	for (; *map && i + 1 < len; map++) {
		if (*map == '\n') {
			if (map[1])
				dst[i++] = ';';
		} else if (!iscntrl((unsigned char)*map)) {
			dst[i++] = *map;
		}
	}
	dst[i] = '\0';
}

int session_write_info(int dirfd, const char *name, const struct ns_record *rec)
{
	char file[SESSION_NAME_MAX + 8], text[RECORD_MAX], um[4096], gm[4096];
	int n;

	one_line(um, sizeof(um), rec->uid_map);
	one_line(gm, sizeof(gm), rec->gid_map);
	n = snprintf(text, sizeof(text),
		     "version=1\nuser=%s\nuid=%u\ngid=%u\nscope=%s\nkill_on_logout=%d\n"
		     "shell=%s\ncreated=%lld\nuid_map=%s\ngid_map=%s\n",
		     rec->user, (unsigned int)rec->uid, (unsigned int)rec->gid, rec->scope,
		     rec->kill_on_logout ? 1 : 0, rec->shell, rec->created, um, gm);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -E2BIG;
	snprintf(file, sizeof(file), "%s.info", name);
	return write_record(dirfd, file, text);
}

int session_write_ref(int dirfd, const char *sid, const struct ref_record *ref)
{
	char file[SESSION_NAME_MAX + 8], text[1024];
	int n;

	n = snprintf(text, sizeof(text), "version=1\nns=%s\npid=%d\nstarttime=%llu\nservice=%s\ncreated=%lld\n",
		     ref->name, (int)ref->pid, ref->starttime, ref->service, ref->created);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -E2BIG;
	snprintf(file, sizeof(file), "%s.ref", sid);
	return write_record(dirfd, file, text);
}

/* Calls fn(key, value) for each line; the text is modified. */
static void each_line(char *text, void (*fn)(const char *k, const char *v, void *ctx), void *ctx)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq = '\0';
		fn(line, eq + 1, ctx);
	}
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src);
}

static void info_kv(const char *k, const char *v, void *ctx)
{
	struct ns_record *r = ctx;

	if (!strcmp(k, "user"))
		copy(r->user, sizeof(r->user), v);
	else if (!strcmp(k, "uid"))
		r->uid = (uid_t)strtoul(v, NULL, 10);
	else if (!strcmp(k, "gid"))
		r->gid = (gid_t)strtoul(v, NULL, 10);
	else if (!strcmp(k, "scope"))
		copy(r->scope, sizeof(r->scope), v);
	else if (!strcmp(k, "kill_on_logout"))
		r->kill_on_logout = !strcmp(v, "1");
	else if (!strcmp(k, "shell"))
		copy(r->shell, sizeof(r->shell), v);
	else if (!strcmp(k, "created"))
		r->created = strtoll(v, NULL, 10);
	else if (!strcmp(k, "uid_map"))
		copy(r->uid_map, sizeof(r->uid_map), v);
	else if (!strcmp(k, "gid_map"))
		copy(r->gid_map, sizeof(r->gid_map), v);
}

static void ref_kv(const char *k, const char *v, void *ctx)
{
	struct ref_record *r = ctx;

	if (!strcmp(k, "ns"))
		copy(r->name, sizeof(r->name), v);
	else if (!strcmp(k, "pid"))
		r->pid = (pid_t)strtol(v, NULL, 10);
	else if (!strcmp(k, "starttime"))
		r->starttime = strtoull(v, NULL, 10);
	else if (!strcmp(k, "service"))
		copy(r->service, sizeof(r->service), v);
	else if (!strcmp(k, "created"))
		r->created = strtoll(v, NULL, 10);
}

/* Records are trusted only as regular root-owned files nobody else can write. */
static int check_record(int dirfd, const char *file)
{
	struct stat st;

	if (fstatat(dirfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

int session_read_info(int dirfd, const char *name, struct ns_record *rec)
{
	char file[SESSION_NAME_MAX + 8], text[RECORD_MAX];
	ssize_t n;
	int r;

	memset(rec, 0, sizeof(*rec));
	snprintf(file, sizeof(file), "%s.info", name);
	if ((r = check_record(dirfd, file)) < 0)
		return r;
	n = read_small(dirfd, file, text, sizeof(text));
	if (n < 0)
		return (int)n;
	each_line(text, info_kv, rec);
	return 0;
}

int session_read_ref(int dirfd, const char *file, struct ref_record *ref)
{
	char text[1024];
	ssize_t n;
	int r;

	memset(ref, 0, sizeof(*ref));
	if ((r = check_record(dirfd, file)) < 0)
		return r;
	n = read_small(dirfd, file, text, sizeof(text));
	if (n < 0)
		return (int)n;
	each_line(text, ref_kv, ref);
	return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a > b && !strcmp(s + a - b, suffix);
}

/* Calls fn for each directory entry; fn returns nonzero to stop. */
static int each_entry(int dirfd, int (*fn)(int dirfd, const char *name, void *ctx), void *ctx)
{
	struct dirent *de;
	DIR *d;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || !(d = fdopendir(fd))) {
		r = -errno;
		close(fd);
		return r;
	}
	rewinddir(d);
	while (!r && (de = readdir(d)))
		if (de->d_name[0] != '.')
			r = fn(dirfd, de->d_name, ctx);
	closedir(d);
	return r < 0 ? r : 0;
}

struct count_ctx {
	const char *name;
	const char *except;
	int count;
};

static int count_one(int dirfd, const char *file, void *ctx)
{
	struct count_ctx *c = ctx;
	struct ref_record ref;
	size_t len = strlen(file);

	if (!has_suffix(file, ".ref"))
		return 0;
	if (c->except && len == strlen(c->except) + 4 && !strncmp(file, c->except, len - 4))
		return 0;
	if (session_read_ref(dirfd, file, &ref) == 0 && !strcmp(ref.name, c->name) &&
	    session_ref_alive(&ref))
		c->count++;
	return 0;
}

int session_count_refs(int dirfd, const char *name, const char *except)
{
	struct count_ctx c = { name, except, 0 };
	int r = each_entry(dirfd, count_one, &c);

	return r < 0 ? r : c.count;
}

int session_remove_ns(int dirfd, const char *dirpath, const char *name)
{
	char path[PATH_MAX + 64], file[SESSION_NAME_MAX + 8];
	int r;

	snprintf(path, sizeof(path), "%s/%s.ns", dirpath, name);
	r = userns_unpin(path);
	snprintf(file, sizeof(file), "%s.info", name);
	unlinkat(dirfd, file, 0);
	return r == -ENOENT ? 0 : r;
}

struct sweep_ctx {
	char (*live)[SESSION_NAME_MAX];
	size_t n_live;
	size_t cap;
	const char *dirpath;
	int removed;
	int err;
};

static int sweep_refs(int dirfd, const char *file, void *ctx)
{
	struct sweep_ctx *s = ctx;
	struct ref_record ref;

	if (!has_suffix(file, ".ref"))
		return 0;
	if (session_read_ref(dirfd, file, &ref) == 0 && session_ref_alive(&ref)) {
		if (s->n_live == s->cap) {
			size_t ncap = s->cap ? 2 * s->cap : 8;
			void *p = realloc(s->live, ncap * sizeof(*s->live));

			if (!p)
				return -ENOMEM;
			s->live = p;
			s->cap = ncap;
		}
		copy(s->live[s->n_live++], SESSION_NAME_MAX, ref.name);
		return 0;
	}
	unlinkat(dirfd, file, 0);
	return 0;
}

static int sweep_pins(int dirfd, const char *file, void *ctx)
{
	struct sweep_ctx *s = ctx;
	char name[SESSION_NAME_MAX];
	size_t len = strlen(file);

	if (has_suffix(file, ".ns"))
		len -= 3;
	else if (has_suffix(file, ".info"))
		len -= 5;
	else
		return 0;
	if (len >= sizeof(name))
		return 0;
	memcpy(name, file, len);
	name[len] = '\0';
	for (size_t i = 0; i < s->n_live; i++)
		if (!strcmp(s->live[i], name))
			return 0;
	if (has_suffix(file, ".ns")) {
		if (session_remove_ns(dirfd, s->dirpath, name) == 0)
			s->removed++;
	} else {
		char pin[SESSION_NAME_MAX + 8];
		struct stat st;

		/* An .info whose pin is gone is left over: drop it. */
		snprintf(pin, sizeof(pin), "%s.ns", name);
		if (fstatat(dirfd, pin, &st, AT_SYMLINK_NOFOLLOW) < 0)
			unlinkat(dirfd, file, 0);
	}
	return 0;
}

int session_sweep(int dirfd, const char *dirpath)
{
	struct sweep_ctx s = { .dirpath = dirpath };
	int r;

	r = each_entry(dirfd, sweep_refs, &s);
	if (r == 0)
		r = each_entry(dirfd, sweep_pins, &s);
	free(s.live);
	return r < 0 ? r : s.removed;
}

/* Is the user namespace of pid the one identified by (dev, ino), or below it? */
static bool pid_inside(pid_t pid, dev_t dev, ino_t ino, ino_t self_ino)
{
	char path[64];
	struct stat st;
	int fd, parent;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat(path, &st) < 0)
		return false;
	if (st.st_dev == dev && st.st_ino == ino)
		return true;
	if (st.st_ino == self_ino)
		return false;	/* ours: the common case, and never inside */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* Walk up: a nested namespace is inside too. EPERM ends at our own. */
	while ((parent = ioctl(fd, NS_GET_PARENT)) >= 0) {
		close(fd);
		fd = parent;
		if (fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino) {
			close(fd);
			return true;
		}
	}
	close(fd);
	return false;
}

static int scan_inside(const char *pin_path, int sig)
{
	struct stat pin, self;
	struct dirent *de;
	DIR *proc;
	int n = 0;

	if (stat(pin_path, &pin) < 0)
		return -errno;
	if (stat("/proc/self/ns/user", &self) < 0)
		return -errno;
	if (pin.st_ino == self.st_ino && pin.st_dev == self.st_dev)
		return -EINVAL;		/* never the namespace we run in */
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		pid_t pid;
		int pidfd;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (!pid_inside(pid, pin.st_dev, pin.st_ino, self.st_ino))
			continue;
		if (!sig) {
			n++;
			continue;
		}
		/* Hold the process by a pidfd, then look again: no pid reuse race. */
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0)
			continue;
		if (pid_inside(pid, pin.st_dev, pin.st_ino, self.st_ino) &&
		    syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0)
			n++;
		close(pidfd);
	}
	closedir(proc);
	return n;
}

int session_count_inside(const char *pin_path)
{
	return scan_inside(pin_path, 0);
}

int session_kill_inside(const char *pin_path, unsigned int timeout_ms)
{
	struct timespec step = { 0, 10 * 1000 * 1000 };
	int n = scan_inside(pin_path, SIGTERM);

	if (n <= 0)
		return n;
	for (unsigned int waited = 0; waited < timeout_ms; waited += 10) {
		if (session_count_inside(pin_path) <= 0)
			return n;
		nanosleep(&step, NULL);
	}
	scan_inside(pin_path, SIGKILL);
	return n;
}

/*
 * A sweep reads every .ref of the user. With many live sessions of one
 * user that is most of a login, so a large directory is swept at most
 * every SWEEP_INTERVAL seconds (stamp: the mtime of .lock); a small one
 * (tmpfs counts 20 bytes an entry: a few dozen sessions) always is.
 */
#define SWEEP_INTERVAL	30
#define SWEEP_SMALL_DIR	(64 * 20)

static bool sweep_due(int dirfd, int lockfd)
{
	struct timespec now;
	struct stat st;

	if (fstat(dirfd, &st) < 0 || st.st_size <= SWEEP_SMALL_DIR)
		return true;
	if (fstat(lockfd, &st) < 0)
		return true;
	clock_gettime(CLOCK_REALTIME, &now);
	return now.tv_sec - st.st_mtim.tv_sec >= SWEEP_INTERVAL || now.tv_sec < st.st_mtim.tv_sec;
}

static void dir_path(char *buf, size_t len, uid_t uid)
{
	snprintf(buf, len, "%s/%u", session_statedir, (unsigned int)uid);
}

int session_begin(const struct session_params *p, struct session_handle *h,
		  char *err, size_t errlen)
{
	char dirpath[PATH_MAX - 64], file[SESSION_NAME_MAX + 8];
	struct ref_record ref;
	bool reuse = false;
	int dirfd, lock = -1, r;

	memset(h, 0, sizeof(*h));
	h->uid = p->uid;
	h->opener = getpid();
	h->kill_on_logout = p->kill_on_logout;
	if ((r = session_new_id(h->sid)) < 0) {
		seterr(err, errlen, "cannot make a session id: %s", strerror(-r));
		return r;
	}
	copy(h->name, sizeof(h->name), p->shared ? "user" : h->sid);
	dir_path(dirpath, sizeof(dirpath), p->uid);
	snprintf(h->pin, sizeof(h->pin), "%s/%s.ns", dirpath, h->name);

	dirfd = session_open_dir(p->uid, true, err, errlen);
	if (dirfd < 0)
		return dirfd;
	lock = session_lock(dirfd);
	if (lock < 0) {
		r = lock;
		seterr(err, errlen, "cannot lock %s: %s", dirpath, strerror(-r));
		goto out;
	}
	/* A shared namespace is joined only after a full sweep says it is in use. */
	if (p->shared || sweep_due(dirfd, lock)) {
		r = session_sweep(dirfd, dirpath);
		h->swept = r > 0 ? r : 0;
		futimens(lock, NULL);
	}

	if (p->shared) {
		struct stat st;

		/* After the sweep, a shared pin that is still here is in use. */
		if (fstatat(dirfd, "user.ns", &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!userns_is_pin(h->pin)) {
				r = -EEXIST;
				seterr(err, errlen, "%s exists and is not a namespace pin", h->pin);
				goto out;
			}
			reuse = true;
		}
	}
	if (!reuse) {
		struct ns_spec spec = {
			.kinds = CLONE_NEWUSER, .uid = p->uid, .gid = p->gid,
			.uid_map = p->uid_map, .gid_map = p->gid_map,
			.setgroups_deny = p->setgroups_deny,
		};
		struct ns_record rec = {
			.uid = p->uid, .gid = p->gid, .kill_on_logout = p->kill_on_logout,
			.created = (long long)time(NULL),
		};

		copy(rec.user, sizeof(rec.user), p->user);
		copy(rec.scope, sizeof(rec.scope), p->shared ? "user" : "session");
		copy(rec.shell, sizeof(rec.shell), p->shell ? p->shell : "");
		copy(rec.uid_map, sizeof(rec.uid_map), p->uid_map);
		copy(rec.gid_map, sizeof(rec.gid_map), p->gid_map);
		/* The record first: a pin is never there without one. */
		r = session_write_info(dirfd, h->name, &rec);
		if (r < 0) {
			seterr(err, errlen, "cannot write %s/%s.info: %s", dirpath, h->name,
			       strerror(-r));
			goto out;
		}
		r = userns_create_pinned(&spec, h->pin, err, errlen);
		if (r < 0) {
			snprintf(file, sizeof(file), "%s.info", h->name);
			unlinkat(dirfd, file, 0);
			goto out;
		}
		h->created = true;
	}

	memset(&ref, 0, sizeof(ref));
	copy(ref.name, sizeof(ref.name), h->name);
	ref.pid = h->opener;
	ref.starttime = session_starttime(h->opener);
	copy(ref.service, sizeof(ref.service), p->service ? p->service : "");
	ref.created = (long long)time(NULL);
	r = session_write_ref(dirfd, h->sid, &ref);
	if (r < 0) {
		seterr(err, errlen, "cannot write %s/%s.ref: %s", dirpath, h->sid, strerror(-r));
		if (h->created)
			session_remove_ns(dirfd, dirpath, h->name);
		goto out;
	}
	r = 0;
out:
	if (lock >= 0)
		close(lock);
	close(dirfd);
	return r;
}

int session_end(const struct session_handle *h, char *err, size_t errlen)
{
	char dirpath[PATH_MAX], file[SESSION_NAME_MAX + 8];
	int dirfd, lock, r, live;
	bool shared;

	dir_path(dirpath, sizeof(dirpath), h->uid);
	dirfd = session_open_dir(h->uid, false, err, errlen);
	if (dirfd < 0)
		return dirfd;
	lock = session_lock(dirfd);
	if (lock < 0) {
		r = lock;
		seterr(err, errlen, "cannot lock %s: %s", dirpath, strerror(-r));
		close(dirfd);
		return r;
	}
	snprintf(file, sizeof(file), "%s.ref", h->sid);
	unlinkat(dirfd, file, 0);
	/*
	 * A per-session namespace is named by its session id: no other .ref
	 * can hold it, and others' leftovers are the next login's sweep.
	 */
	shared = strcmp(h->name, h->sid) != 0;
	live = shared ? session_count_refs(dirfd, h->name, NULL) : 0;
	if (live > 0) {
		r = 0;
		goto out;
	}
	if (h->kill_on_logout)
		session_kill_inside(h->pin, 2000);
	r = session_remove_ns(dirfd, dirpath, h->name);
	if (r < 0)
		seterr(err, errlen, "cannot remove %s: %s", h->pin, strerror(-r));
	else
		r = 1;
	/* Others' leftovers too, while we hold the lock. */
	if (shared)
		session_sweep(dirfd, dirpath);
out:
	close(lock);
	close(dirfd);
	return r;
}

int session_sweep_user(uid_t uid)
{
	char dirpath[PATH_MAX - 64];
	int dirfd, lock, r;

	dirfd = session_open_dir(uid, false, NULL, 0);
	if (dirfd < 0)
		return dirfd == -ENOENT ? 0 : dirfd;
	lock = session_lock(dirfd);
	if (lock < 0) {
		close(dirfd);
		return lock;
	}
	dir_path(dirpath, sizeof(dirpath), uid);
	r = session_sweep(dirfd, dirpath);
	close(lock);
	close(dirfd);
	return r;
}
