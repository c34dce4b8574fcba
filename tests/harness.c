// SPDX-License-Identifier: LGPL-2.1-or-later
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char workdir[4096];
static char pamdir[4200];
static long log_offset;

void harness_enter_testbed(int argc, char **argv)
{
	const char *bed;
	char **nargv;

	if (getenv("TESTBED_DIR"))
		return;
	if (geteuid() != 0) {
		fprintf(stderr, "%s: needs root (namespaces, bind mounts)\n", argv[0]);
		exit(99);
	}
	bed = getenv("TESTBED");
	if (!bed) {
		fprintf(stderr, "%s: TESTBED (path of tests/testbed/testbed.sh) is not set\n",
			argv[0]);
		exit(99);
	}
	nargv = calloc((size_t)argc + 3, sizeof(*nargv));
	nargv[0] = (char *)bed;
	nargv[1] = (char *)"--";
	for (int i = 0; i < argc; i++)
		nargv[i + 2] = argv[i];
	execv(bed, nargv);
	fprintf(stderr, "%s: cannot run %s: %s\n", argv[0], bed, strerror(errno));
	exit(99);
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

const char *harness_module(void)
{
	return env_or("PAM_USERNS_MODULE", ".libs/pam_userns.so");
}

const char *harness_shell(void)
{
	return env_or("USERNS_SHELL", "userns-shell");
}

const char *harness_workdir(void)
{
	if (!workdir[0]) {
		snprintf(workdir, sizeof(workdir), "%s/harness", env_or("TESTBED_DIR", "/tmp"));
		mkdir(workdir, 0755);
		snprintf(pamdir, sizeof(pamdir), "%s/pam.d", workdir);
		mkdir(pamdir, 0755);
	}
	return workdir;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		exit(99);
	}
	chmod(path, mode);
}

const char *harness_service(const char *name, const char *module_args)
{
	char path[4400], text[8192];

	harness_workdir();
	snprintf(path, sizeof(path), "%s/%s", pamdir, name);
	snprintf(text, sizeof(text), "session required %s %s\n", harness_module(), module_args);
	write_text(path, text, 0644);
	return pamdir;
}

const char *harness_conf(const char *name, const char *text)
{
	static char path[4400];

	harness_workdir();
	snprintf(path, sizeof(path), "%s/%s", workdir, name);
	write_text(path, text, 0644);
	return path;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	/* Nothing in a session stack of ours should ask anything. */
	*resp = NULL;
	return PAM_CONV_ERR;
}

int harness_start(const char *service, const char *user, pam_handle_t **pamh)
{
	static const struct pam_conv c = { conv, NULL };

	harness_workdir();
	return pam_start_confdir(service, user, &c, pamdir, pamh);
}

int harness_run_as(uid_t uid, gid_t gid, char *const env[], char *const argv[],
		   char *out, size_t outlen)
{
	int p[2], st;
	size_t got = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		signal(SIGCHLD, SIG_DFL);
		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0) {
			perror("drop privileges");
			_exit(126);
		}
		execve(argv[0], argv, env);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], out + got, outlen - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || got + (size_t)n >= outlen - 1) {
			if (n > 0)
				got += (size_t)n;
			break;
		}
		got += (size_t)n;
	}
	out[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static char logbuf[1 << 20];

static const char *log_path(void)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/syslog", env_or("TESTBED_DIR", "/tmp"));
	return path;
}

void harness_log_mark(void)
{
	struct stat st;

	log_offset = stat(log_path(), &st) == 0 ? (long)st.st_size : 0;
}

const char *harness_log_text(void)
{
	FILE *f = fopen(log_path(), "r");
	size_t n = 0;

	logbuf[0] = '\0';
	if (!f)
		return logbuf;
	if (fseek(f, log_offset, SEEK_SET) == 0)
		n = fread(logbuf, 1, sizeof(logbuf) - 1, f);
	logbuf[n] = '\0';
	fclose(f);
	return logbuf;
}

/*
 * syslog() hands the datagram over before it returns, but the catcher
 * writes it out on its own time: wait (bounded) for the line to arrive.
 */
bool harness_log_has(const char *needle)
{
	for (int i = 0; i < 200; i++) {
		if (strstr(harness_log_text(), needle))
			return true;
		poll(NULL, 0, 10);
	}
	fprintf(stderr, "log has no \"%s\"; since the mark it has:\n%s\n", needle, logbuf);
	return false;
}

int harness_state_entries(uid_t uid)
{
	char path[4200];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%u", STATEDIR, (unsigned int)uid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, ".lock")) {
			fprintf(stderr, "left in %s: %s\n", path, de->d_name);
			n++;
		}
	closedir(d);
	return n;
}

int harness_count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own */
}

void harness_normalise_map(const char *text, char *out, size_t len)
{
	unsigned long a, b, c;
	size_t off = 0;
	int used;

	out[0] = '\0';
	while (sscanf(text, " %lu %lu %lu%n", &a, &b, &c, &used) == 3) {
		off += (size_t)snprintf(out + off, len - off, "%s%lu %lu %lu", off ? ";" : "", a, b, c);
		text += used;
		if (off >= len)
			break;
	}
}
