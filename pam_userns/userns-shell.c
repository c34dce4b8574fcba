// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * userns-shell: the entry shell. Runs as the user, after the
 * application dropped privileges; joins the namespace pam_userns
 * prepared for this login, becomes 0:0 inside and execs the real shell.
 * Not setuid, no file capabilities: the kernel lets only the owner of a
 * user namespace setns() into it, and that is the whole boundary.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session.h"
#include "userns.h"
#include "list.h"

static const char *prog = "userns-shell";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* One line, in one write(): on a pty, typed-ahead echo must not split it. */
static void die(const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "%s: ", prog);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		exit(1);
	exit(1);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [-c COMMAND [ARG...]] | [SCRIPT [ARG...]]\n"
		"       %s --list [--json]\n"
		"\n"
		"The login shell (or sshd ForceCommand) of users that pam_userns puts in a\n"
		"user namespace: it joins the namespace prepared for this login, becomes\n"
		"root inside it and runs the configured shell.\n"
		"\n"
		"  --list        show the active namespaces (all of them as root)\n"
		"  --json        with --list: one JSON object per line\n"
		"  --help        this text\n"
		"  --version     the version\n",
		prog, prog);
}

/* NAME.ns with NAME 16 hex digits or "user": anything else is not ours. */
static bool valid_pin_name(const char *s, char *name, size_t len)
{
	size_t n = strlen(s);

	if (n < 4 || strcmp(s + n - 3, ".ns") != 0 || n - 3 >= len)
		return false;
	memcpy(name, s, n - 3);
	name[n - 3] = '\0';
	if (!strcmp(name, "user"))
		return true;
	if (strlen(name) != SESSION_ID_LEN)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

/*
 * Open the pin the environment names, trusting nothing: it must be
 * STATEDIR/UID/NAME.ns for our own uid, in directories only root can
 * change, an nsfs file, a user namespace, and owned by us.
 */
static int open_pin(const char *pin, uid_t uid, struct ns_record *rec)
{
	char prefix[PATH_MAX], name[SESSION_NAME_MAX], err[SESSION_ERR_MAX] = "";
	size_t plen;
	int dirfd, fd, r;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s/%u/", session_statedir,
				(unsigned int)uid);
	if (strncmp(pin, prefix, plen) != 0) {
		if (!strncmp(pin, session_statedir, strlen(session_statedir)) &&
		    pin[strlen(session_statedir)] == '/')
			die("refusing %s=%s: not a namespace of uid %u", SESSION_ENV, pin,
			    (unsigned int)uid);
		die("refusing %s=%s: not a pin in %s", SESSION_ENV, pin, prefix);
	}
	if (strchr(pin + plen, '/') || !valid_pin_name(pin + plen, name, sizeof(name)))
		die("refusing %s=%s: not a pin name pam_userns makes", SESSION_ENV, pin);
	dirfd = session_open_dir(uid, false, err, sizeof(err));
	if (dirfd < 0)
		die("refusing %s: %s", pin, err);
	fd = openat(dirfd, pin + plen, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0) {
		if (errno == ELOOP)
			die("refusing %s: it is a symbolic link", pin);
		if (errno == ENOENT)
			die("%s is gone: the session was closed, or pam_userns removed it as stale",
			    pin);
		die("cannot open %s: %s", pin, strerror(errno));
	}
	r = userns_check_fd(fd, uid);
	if (r == -EINVAL)
		die("refusing %s: not a user namespace pin", pin);
	if (r == -EPERM)
		die("refusing %s: the namespace belongs to another user", pin);
	if (r < 0)
		die("cannot check %s: %s", pin, strerror(-r));
	r = session_read_info(dirfd, name, rec);
	if (r < 0)
		die("refusing %s: its record %s/%u/%s.info is missing or unsafe (%s)", pin,
		    session_statedir, (unsigned int)uid, name, strerror(-r));
	if (rec->uid != uid)
		die("refusing %s: its record names uid %u", pin, (unsigned int)rec->uid);
	close(dirfd);
	return fd;
}

static bool is_self(const char *path)
{
	struct stat a, b;

	return stat(path, &a) == 0 && stat("/proc/self/exe", &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static bool usable_shell(const char *path)
{
	struct stat st;

	return path && path[0] == '/' && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0 && !is_self(path);
}

/* The configured shell; else the passwd one unless it is us; else the default. */
static const char *pick_shell(const struct ns_record *rec, const struct passwd *pw)
{
	if (rec->shell[0])
		return rec->shell;
	if (pw && usable_shell(pw->pw_shell))
		return pw->pw_shell;
	return DEFAULT_SHELL;
}

int main(int argc, char **argv)
{
	static struct ns_record rec;
	const char *pin, *shell, *cmd;
	char *base, *run;
	struct passwd *pw;
	char login_name[PATH_MAX + 1];
	char **nargv;
	uid_t uid = getuid();
	gid_t gid = getgid();
	bool login = argv[0] && argv[0][0] == '-';
	int fd, n = 0;

	if (argc > 1 && !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("%s %s\n", prog, PACKAGE_VERSION);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--list"))
		return list_main(argc - 1, argv + 1);

	if (geteuid() != uid || getegid() != gid)
		die("refusing to run with set-id privileges");
	pin = secure_getenv(SESSION_ENV);
	if (!pin || !*pin)
		die("no user namespace was prepared for this login (%s is not set): "
		    "is pam_userns.so in this service's PAM session stack, and is this user enabled in userns.conf?",
		    SESSION_ENV);

	fd = open_pin(pin, uid, &rec);
	if (setns(fd, CLONE_NEWUSER) < 0)
		die("cannot join %s: %s", pin, strerror(errno));
	close(fd);
	/* Our ids as the namespace sees them: the map must put us at 0. */
	if (getuid() != 0)
		die("refusing %s: it does not map uid %u to 0", pin, (unsigned int)uid);
	if (getgid() != 0)
		die("refusing %s: it does not map gid %u to 0", pin, (unsigned int)gid);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		die("cannot become root in %s: %s", pin, strerror(errno));

	pw = getpwnam(rec.user);
	shell = pick_shell(&rec, pw);
	base = strdup(strrchr(shell, '/') ? strrchr(shell, '/') + 1 : shell);
	if (!base)
		die("out of memory");

	nargv = calloc((size_t)argc + 4, sizeof(*nargv));
	if (!nargv)
		die("out of memory");
	cmd = getenv("SSH_ORIGINAL_COMMAND");
	if (login || argc == 1) {
		if (argc == 1 && cmd && *cmd) {
			/* sshd ForceCommand: run what the client asked for. */
			static char sftp[] = "/usr/lib/openssh/sftp-server";
			static char dash_c[] = "-c";

			run = !strcmp(cmd, "internal-sftp") ? sftp : strdup(cmd);
			if (!run)
				die("out of memory");
			nargv[n++] = base;
			nargv[n++] = dash_c;
			nargv[n++] = run;
		} else {
			snprintf(login_name, sizeof(login_name), "-%s", base);
			nargv[n++] = login_name;
		}
		for (int i = 1; i < argc; i++)
			nargv[n++] = argv[i];
	} else {
		nargv[n++] = base;
		for (int i = 1; i < argc; i++)
			nargv[n++] = argv[i];
	}
	nargv[n] = NULL;
	execv(shell, nargv);
	die("cannot run %s: %s", shell, strerror(errno));
}
