// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The session lifecycle through libpam: shared namespaces (scope =
 * user) under concurrent logins, crashed openers, a later process
 * closing, close without privilege, kill_on_logout, the listing, and
 * no growth of fds, mounts, memory or processes over many sessions.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <linux/close_range.h>
#include <security/pam_appl.h>

#include "harness.h"
#include "session.h"
#include "userns.h"
#include "test_assert.h"

#ifndef LEAK_CYCLES_DEFAULT
#define LEAK_CYCLES_DEFAULT 10000
#endif

#define ALICE 2001
#define BOB 2002

static char out[65536];
static const char *conf_path;

static void service(const char *conf_text)
{
	char args[8192];

	conf_path = harness_conf("userns.conf", conf_text);
	snprintf(args, sizeof(args), "conf=%s", conf_path);
	harness_service("userns-test", args);
}

static int open_as(const char *user, pam_handle_t **pamh)
{
	int r = harness_start("userns-test", user, pamh);

	return r == PAM_SUCCESS ? pam_open_session(*pamh, 0) : r;
}

static void close_end(pam_handle_t *pamh)
{
	ASSERT_INT(PAM_SUCCESS, pam_close_session(pamh, 0));
	pam_end(pamh, PAM_SUCCESS);
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static int shell_as(uid_t uid, const char *pin, const char *cmd)
{
	char envpin[4200];
	char *env[] = { envpin, (char *)"PATH=/usr/bin:/bin", (char *)"HOME=/", NULL };
	char *argv[] = { (char *)harness_shell(), (char *)"-c", (char *)cmd, NULL };

	snprintf(envpin, sizeof(envpin), "%s=%s", SESSION_ENV, pin);
	return harness_run_as(uid, uid, env, argv, out, sizeof(out));
}

static void test_scope_user(void)
{
	pam_handle_t *a, *b;
	char pin_a[4200], pin_b[4200];

	service("[user:alice]\nenable = yes\nscope = user\n");
	ASSERT_INT(PAM_SUCCESS, open_as("alice", &a));
	ASSERT_INT(PAM_SUCCESS, open_as("alice", &b));
	snprintf(pin_a, sizeof(pin_a), "%s", pam_getenv(a, SESSION_ENV));
	snprintf(pin_b, sizeof(pin_b), "%s", pam_getenv(b, SESSION_ENV));
	ASSERT_STR(STATEDIR "/2001/user.ns", pin_a);
	ASSERT_STR(pin_a, pin_b);
	ASSERT_TRUE(ino_of(pin_a) != 0);
	/* both shells are in the same namespace */
	ASSERT_INT(0, shell_as(ALICE, pin_a, "readlink /proc/self/ns/user"));
	{
		char first[sizeof(out)];

		snprintf(first, sizeof(first), "%s", out);
		ASSERT_INT(0, shell_as(ALICE, pin_b, "readlink /proc/self/ns/user"));
		ASSERT_STR(first, out);
	}
	close_end(a);
	ASSERT_TRUE(userns_is_pin(pin_b));	/* the other login still holds it */
	close_end(b);
	ASSERT_TRUE(!userns_is_pin(pin_b));
	ASSERT_INT(0, harness_state_entries(ALICE));
}

/* Many processes logging alice in and out at once, sharing one namespace. */
static void test_scope_user_concurrent(void)
{
	enum { PROCS = 16, ROUNDS = 25 };
	pid_t kids[PROCS];
	int bad = 0;

	service("[user:alice]\nenable = yes\nscope = user\n");
	for (int i = 0; i < PROCS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			int errors = 0;

			for (int j = 0; j < ROUNDS; j++) {
				pam_handle_t *h;

				if (open_as("alice", &h) != PAM_SUCCESS) {
					errors++;
					continue;
				}
				/* while we are logged in, the namespace is there */
				if (!userns_is_pin(pam_getenv(h, SESSION_ENV)))
					errors++;
				if (pam_close_session(h, 0) != PAM_SUCCESS)
					errors++;
				pam_end(h, PAM_SUCCESS);
			}
			_exit(errors ? 1 : 0);
		}
	}
	for (int i = 0; i < PROCS; i++) {
		int st;

		waitpid(kids[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	ASSERT_INT(0, bad);
	ASSERT_INT(0, harness_state_entries(ALICE));
}

/*
 * Open a session of alice in a child that then goes away without closing
 * it (SIGKILL when crash, else _exit); returns its pin in pin and the
 * child's wait status.
 */
static int open_and_vanish(bool crash, char *pin, size_t len)
{
	int p[2], st = -1;
	pid_t pid;

	memset(pin, 0, len);
	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		pam_handle_t *c;

		if (open_as("alice", &c) == PAM_SUCCESS)
			dprintf(p[1], "%s", pam_getenv(c, SESSION_ENV));
		close(p[1]);
		if (crash)
			kill(getpid(), SIGKILL);
		_exit(0);	/* no close, no pam_end: the opener is simply gone */
	}
	close(p[1]);
	ASSERT_TRUE(read(p[0], pin, len - 1) > 0);
	close(p[0]);
	waitpid(pid, &st, 0);
	return st;
}

/* The opener dies without closing: the next login of that user cleans up. */
static void test_crash(void)
{
	pam_handle_t *h;
	char stale[4200];
	int st;

	service("[user:alice]\nenable = yes\n[user:bob]\nenable = yes\n");
	st = open_and_vanish(true, stale, sizeof(stale));
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_TRUE(userns_is_pin(stale));	/* left behind by the crash */

	/* bob's login does not look at alice's directory */
	ASSERT_INT(PAM_SUCCESS, open_as("bob", &h));
	ASSERT_TRUE(userns_is_pin(stale));
	close_end(h);

	harness_log_mark();
	ASSERT_INT(PAM_SUCCESS, open_as("alice", &h));
	ASSERT_TRUE(!userns_is_pin(stale));
	ASSERT_TRUE(access(stale, F_OK) < 0);
	ASSERT_TRUE(harness_log_has("removed 1 stale namespace pin(s) of alice"));
	ASSERT_INT(3, harness_state_entries(ALICE));	/* the new .ns, .info and .ref */
	close_end(h);
	ASSERT_INT(0, harness_state_entries(ALICE));
}

/* A live pid whose start time does not match is somebody else: stale. */
static void test_pid_reuse(void)
{
	pam_handle_t *h;
	char dir[4200], path[4300];
	struct ns_spec spec = { .kinds = CLONE_NEWUSER, .uid = ALICE, .gid = ALICE,
				.uid_map = "0 2001 1\n", .gid_map = "0 2001 1\n" };
	FILE *f;

	service("[user:alice]\nenable = yes\n");
	ASSERT_INT(PAM_SUCCESS, open_as("alice", &h));	/* makes the directory */
	close_end(h);
	snprintf(dir, sizeof(dir), "%s/2001", STATEDIR);
	snprintf(path, sizeof(path), "%s/00000000000000aa.ns", dir);
	ASSERT_INT(0, userns_create_pinned(&spec, path, NULL, 0));
	snprintf(path, sizeof(path), "%s/00000000000000aa.info", dir);
	f = fopen(path, "w");
	fprintf(f, "version=1\nuser=alice\nuid=2001\ngid=2001\nscope=session\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/00000000000000aa.ref", dir);
	f = fopen(path, "w");
	/* our own pid, alive, but not started at tick 1 */
	fprintf(f, "version=1\nns=00000000000000aa\npid=%d\nstarttime=1\n", (int)getpid());
	fclose(f);

	ASSERT_INT(PAM_SUCCESS, open_as("alice", &h));
	snprintf(path, sizeof(path), "%s/00000000000000aa.ns", dir);
	ASSERT_TRUE(access(path, F_OK) < 0);
	close_end(h);
	ASSERT_INT(0, harness_state_entries(ALICE));
}

/* close_session from a later process (pamtester-style) and without root. */
static void test_other_closers(void)
{
	pam_handle_t *h;
	char pin[4200];
	int st;
	pid_t pid;

	service("[user:alice]\nenable = yes\n");
	open_and_vanish(false, pin, sizeof(pin));
	ASSERT_TRUE(userns_is_pin(pin));
	harness_log_mark();
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "alice", &h));
	ASSERT_INT(PAM_SUCCESS, pam_close_session(h, 0));
	pam_end(h, PAM_SUCCESS);
	ASSERT_TRUE(!userns_is_pin(pin));
	ASSERT_TRUE(harness_log_has("removed 1 namespace pin(s) of alice whose session had ended"));
	ASSERT_INT(0, harness_state_entries(ALICE));

	/* close without privilege (systemd's PAMName= drops first): logged, success */
	ASSERT_INT(PAM_SUCCESS, open_as("alice", &h));
	snprintf(pin, sizeof(pin), "%s", pam_getenv(h, SESSION_ENV));
	harness_log_mark();
	pid = fork();
	if (pid == 0) {
		if (setresuid(ALICE, ALICE, 0) < 0)
			_exit(2);
		_exit(pam_close_session(h, 0) == PAM_SUCCESS ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ASSERT_TRUE(harness_log_has("not running as root; the next login of uid 2001 removes it"));
	ASSERT_TRUE(userns_is_pin(pin));
	close_end(h);
	ASSERT_TRUE(!userns_is_pin(pin));
}

static bool pid_running(pid_t pid)
{
	unsigned long long t = session_starttime(pid);

	return t != 0;
}

static pid_t start_background(const char *pin)
{
	/* the background process keeps none of our pipe: stdout to /dev/null */
	if (shell_as(ALICE, pin, "tail -f /dev/null >/dev/null 2>&1 </dev/null & echo $!") != 0)
		return -1;
	return (pid_t)strtol(out, NULL, 10);
}

static void test_kill_on_logout(void)
{
	pam_handle_t *h;
	char pin[4200], path[64], map[256];
	pid_t bg, outside;
	int fd;

	/* an alice process outside any namespace must never be touched */
	outside = fork();
	if (outside == 0) {
		if (setresuid(ALICE, ALICE, ALICE) < 0)
			_exit(1);
		pause();
		_exit(0);
	}

	service("[user:alice]\nenable = yes\nkill_on_logout = yes\n");
	ASSERT_INT(PAM_SUCCESS, open_as("alice", &h));
	snprintf(pin, sizeof(pin), "%s", pam_getenv(h, SESSION_ENV));
	bg = start_background(pin);
	ASSERT_TRUE(bg > 0 && pid_running(bg));
	ASSERT_INT(1, session_count_inside(pin));
	close_end(h);
	ASSERT_TRUE(!pid_running(bg));
	ASSERT_TRUE(pid_running(outside));

	service("[user:alice]\nenable = yes\nkill_on_logout = no\n");
	ASSERT_INT(PAM_SUCCESS, open_as("alice", &h));
	snprintf(pin, sizeof(pin), "%s", pam_getenv(h, SESSION_ENV));
	bg = start_background(pin);
	close_end(h);
	ASSERT_TRUE(bg > 0 && pid_running(bg));
	/* still inside, still uid 0 there */
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)bg);
	fd = open(path, O_RDONLY);
	memset(map, 0, sizeof(map));
	ASSERT_TRUE(fd >= 0 && read(fd, map, sizeof(map) - 1) > 0);
	close(fd);
	harness_normalise_map(map, out, sizeof(out));
	ASSERT_STR("0 2001 1;1 200000 65536", out);
	kill(bg, SIGKILL);
	kill(outside, SIGKILL);
	waitpid(outside, NULL, 0);
}

static void test_list(void)
{
	pam_handle_t *h;
	char *argv[] = { (char *)harness_shell(), (char *)"--list", (char *)"--json", NULL };
	char *argv_text[] = { (char *)harness_shell(), (char *)"--list", NULL };
	char *env[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	char want[128];
	pid_t bg;

	service("[user:alice]\nenable = yes\nscope = user\n");
	ASSERT_INT(PAM_SUCCESS, open_as("alice", &h));
	bg = start_background(pam_getenv(h, SESSION_ENV));
	ASSERT_INT(0, harness_run_as(0, 0, env, argv, out, sizeof(out)));
	ASSERT_CONTAINS("{\"user\":\"alice\",\"uid\":2001,\"scope\":\"user\",\"pin\":\"" STATEDIR
			"/2001/user.ns\",\"sessions\":1,", out);
	snprintf(want, sizeof(want), "\"openers\":\"%d(userns-test)\"", (int)getpid());
	ASSERT_CONTAINS(want, out);
	ASSERT_CONTAINS("\"processes\":1,\"uid_map\":\"0 2001 1;1 200000 65536\"", out);
	ASSERT_INT(0, harness_run_as(0, 0, env, argv_text, out, sizeof(out)));
	ASSERT_CONTAINS("USER", out);
	ASSERT_CONTAINS("alice", out);
	ASSERT_CONTAINS("0 2001 1;1 200000 65536 | 0 2001 1;1 200000 65536", out);
	kill(bg, SIGKILL);
	close_end(h);
	ASSERT_INT(0, harness_run_as(0, 0, env, argv, out, sizeof(out)));
	ASSERT_STR("", out);
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int c, n = 0;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int count_tasks(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Many sessions in one process: nothing grows. */
static void test_no_leaks(void)
{
	int cycles = getenv("LEAK_CYCLES") ? atoi(getenv("LEAK_CYCLES")) : LEAK_CYCLES_DEFAULT;
	struct mallinfo2 before, after;
	int fds, mounts, failures = 0;
	struct timespec t0, t1;

	service("[user:alice]\nenable = yes\n");
	/* warm up: libpam, NSS and libeconf have one-time allocations */
	for (int i = 0; i < 20; i++) {
		pam_handle_t *h;

		if (open_as("alice", &h) == PAM_SUCCESS)
			pam_close_session(h, 0);
		pam_end(h, PAM_SUCCESS);
	}
	malloc_trim(0);
	before = mallinfo2();
	fds = harness_count_fds();
	mounts = count_lines("/proc/self/mountinfo");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < cycles; i++) {
		pam_handle_t *h;

		if (open_as("alice", &h) != PAM_SUCCESS || pam_close_session(h, 0) != PAM_SUCCESS)
			failures++;
		pam_end(h, PAM_SUCCESS);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	malloc_trim(0);
	after = mallinfo2();
	ASSERT_INT(0, failures);
	ASSERT_INT(fds, harness_count_fds());
	ASSERT_INT(mounts, count_lines("/proc/self/mountinfo"));
	ASSERT_INT(1, count_tasks());
	ASSERT_INT(-1, waitpid(-1, NULL, WNOHANG));	/* no child left, none to reap */
	ASSERT_INT(0, harness_state_entries(ALICE));
	/* a leak of even 8 bytes a cycle would be 80 KB here */
	if (after.uordblks > before.uordblks + 16384)
		fprintf(stderr, "heap grew by %zu bytes over %d cycles\n",
			after.uordblks - before.uordblks, cycles);
	ASSERT_TRUE(after.uordblks <= before.uordblks + 16384);
	printf("%d open+close cycles: %.1f us each, heap %zd bytes after vs before\n", cycles,
	       ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / cycles,
	       (ssize_t)after.uordblks - (ssize_t)before.uordblks);
}

int main(int argc, char **argv)
{
	harness_enter_testbed(argc, argv);
	close_range(3, ~0U, 0);
	openlog("test_lifecycle", LOG_NDELAY, LOG_AUTHPRIV);

	test_scope_user();
	test_scope_user_concurrent();
	test_crash();
	test_pid_reuse();
	test_other_closers();
	test_kill_on_logout();
	test_list();
	test_no_leaks();
	return t_done("test_lifecycle");
}
