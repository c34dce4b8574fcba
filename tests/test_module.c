// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The module through libpam, in the style of Linux-PAM's tst-*-retval:
 * a service file in the build tree, the module by path, conf= a
 * fixture, every return code asserted; then the entry shell, run as the
 * user, joining what the module made.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/nsfs.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <dlfcn.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "harness.h"
#include "session.h"
#include "subid.h"
#include "userns.h"
#include "test_assert.h"

#define ALICE 2001
#define BOB 2002
#define CAROL 2003
#define DAVE 2004

static char out[65536];
static volatile sig_atomic_t sigchld_seen;

static void on_sigchld(int sig)
{
	sigchld_seen++;
}

/* The module's own return code, not libpam's verdict on the stack. */
static int direct(const char *fn, pam_handle_t *pamh, const char *conf_path)
{
	static void *so;
	int (*sm)(pam_handle_t *, int, int, const char **);
	char arg[4200];
	const char *argv[] = { arg };

	if (!so)
		so = dlopen(harness_module(), RTLD_NOW);
	sm = so ? (int (*)(pam_handle_t *, int, int, const char **))dlsym(so, fn) : NULL;
	if (!sm) {
		fprintf(stderr, "cannot load %s from %s\n", fn, harness_module());
		return -1;
	}
	snprintf(arg, sizeof(arg), "conf=%s", conf_path);
	return sm(pamh, 0, 1, argv);
}

static const char *conf_path;

static void service(const char *conf_text)
{
	char args[8192];

	conf_path = harness_conf("userns.conf", conf_text);
	snprintf(args, sizeof(args), "conf=%s", conf_path);
	harness_service("userns-test", args);
}

static const char *pin_of(pam_handle_t *pamh)
{
	return pam_getenv(pamh, SESSION_ENV);
}

/* Run userns-shell as uid with the pin in its environment. */
static int shell_as(uid_t uid, gid_t gid, const char *pin, const char *cmd)
{
	char envpin[4200];
	char *env[] = { envpin, (char *)"PATH=/usr/bin:/bin", (char *)"HOME=/", NULL };
	char *argv[] = { (char *)harness_shell(), (char *)"-c", (char *)cmd, NULL };

	if (pin)
		snprintf(envpin, sizeof(envpin), "%s=%s", SESSION_ENV, pin);
	else
		env[0] = (char *)"NOTHING=1";
	return harness_run_as(uid, gid, env, argv, out, sizeof(out));
}

static uid_t pin_owner(const char *pin)
{
	uid_t owner = (uid_t)-1;
	int fd = open(pin, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (ioctl(fd, NS_GET_OWNER_UID, &owner) < 0)
			owner = (uid_t)-1;
		close(fd);
	}
	return owner;
}

static void test_covered_user(void)
{
	pam_handle_t *pamh;
	struct stat self_ns_before, self_ns_after;
	struct passwd *held;
	char pin[4200], umap[512];
	int fds, r;

	service("[default]\nenable = no\n[user:alice]\nenable = yes\n");

	/* What the application holds must survive us. */
	held = getpwnam("bob");
	ASSERT_TRUE(held != NULL);
	stat("/proc/self/ns/user", &self_ns_before);
	sigchld_seen = 0;
	fds = harness_count_fds();

	harness_log_mark();
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "alice", &pamh));
	ASSERT_INT(PAM_SUCCESS, pam_open_session(pamh, 0));
	ASSERT_TRUE(pin_of(pamh) != NULL);
	snprintf(pin, sizeof(pin), "%s", pin_of(pamh) ? pin_of(pamh) : "");
	ASSERT_TRUE(!strncmp(pin, STATEDIR "/2001/", strlen(STATEDIR "/2001/")));
	ASSERT_TRUE(userns_is_pin(pin));
	ASSERT_INT(ALICE, pin_owner(pin));
	/* the application is as it was */
	ASSERT_INT(0, sigchld_seen);
	ASSERT_TRUE(harness_log_has("user namespace created for alice (uid 2001)"));
	ASSERT_INT(-1, waitpid(-1, NULL, WNOHANG));
	ASSERT_INT(0, getuid());
	ASSERT_INT(0, geteuid());
	stat("/proc/self/ns/user", &self_ns_after);
	ASSERT_INT(self_ns_before.st_ino, self_ns_after.st_ino);
	ASSERT_STR("bob", held->pw_name);
	ASSERT_INT(BOB, held->pw_uid);
	/* one fd more: libpam's own? no: the module keeps none open */
	ASSERT_INT(fds, harness_count_fds());

	/* alice joins it and is root with her ranges mapped */
	r = shell_as(ALICE, ALICE, pin, "id -u; id -g; cat /proc/self/uid_map");
	ASSERT_INT(0, r);
	ASSERT_TRUE(!strncmp(out, "0\n0\n", 4));
	harness_normalise_map(out + 4, umap, sizeof(umap));
	ASSERT_STR("0 2001 1;1 200000 65536", umap);
	r = shell_as(ALICE, ALICE, pin, "cat /proc/self/gid_map");
	ASSERT_INT(0, r);
	harness_normalise_map(out, umap, sizeof(umap));
	ASSERT_STR("0 2001 1;1 200000 65536", umap);
	r = shell_as(ALICE, ALICE, pin, "cat /proc/self/setgroups");
	ASSERT_STR("allow\n", out);
	/* no fd of the module reaches the shell */
	r = shell_as(ALICE, ALICE, pin, "cd /proc/self/fd && echo *");
	ASSERT_STR("0 1 2 3\n", out);	/* 3: the shell's own glob of the directory */

	sigchld_seen = 0;
	ASSERT_INT(PAM_SUCCESS, pam_close_session(pamh, 0));
	ASSERT_TRUE(access(pin, F_OK) < 0 && errno == ENOENT);
	ASSERT_INT(0, harness_state_entries(ALICE));
	ASSERT_TRUE(harness_log_has("removed"));
	ASSERT_TRUE(pam_getenv(pamh, SESSION_ENV) == NULL);
	ASSERT_INT(PAM_SUCCESS, pam_end(pamh, PAM_SUCCESS));
	ASSERT_INT(fds, harness_count_fds());
	ASSERT_INT(0, sigchld_seen);

	/* the shell refuses once the session is gone */
	r = shell_as(ALICE, ALICE, pin, "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("is gone", out);
}

static void test_ignored_users(void)
{
	pam_handle_t *pamh;

	service("[default]\nenable = yes\n[user:bob]\nenable = no\n");
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "bob", &pamh));
	ASSERT_INT(PAM_IGNORE, direct("pam_sm_open_session", pamh, conf_path));
	ASSERT_TRUE(pam_getenv(pamh, SESSION_ENV) == NULL);
	ASSERT_INT(-1, harness_state_entries(BOB));
	ASSERT_INT(PAM_IGNORE, direct("pam_sm_close_session", pamh, conf_path));
	/* through libpam, alone in the stack: no module said yes */
	ASSERT_INT(PAM_PERM_DENIED, pam_open_session(pamh, 0));
	pam_end(pamh, PAM_SUCCESS);

	/* [default] never covers root */
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "root", &pamh));
	ASSERT_INT(PAM_IGNORE, direct("pam_sm_open_session", pamh, conf_path));
	pam_end(pamh, PAM_SUCCESS);

	/* nobody is covered when the file says nothing */
	service("# empty\n");
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "alice", &pamh));
	ASSERT_INT(PAM_IGNORE, direct("pam_sm_open_session", pamh, conf_path));
	pam_end(pamh, PAM_SUCCESS);
}

static void expect_refused(const char *conf, const char *user, const char *logline)
{
	pam_handle_t *pamh;
	struct passwd *pw = getpwnam(user);

	service(conf);
	harness_log_mark();
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", user, &pamh));
	ASSERT_INT(PAM_SESSION_ERR, pam_open_session(pamh, 0));
	ASSERT_TRUE(pam_getenv(pamh, SESSION_ENV) == NULL);
	ASSERT_TRUE(harness_log_has(logline));
	if (pw)
		ASSERT_TRUE(harness_state_entries(pw->pw_uid) <= 0);
	pam_end(pamh, PAM_SUCCESS);
}

static void test_refusals(void)
{
	char want[8192];

	expect_refused("[default]\nenable = yes\n", "carol",
		       "carol has no subuid range (add one with usermod --add-subuids, or set subids = none)");
	expect_refused("[default]\nenable = yes\n", "nosuchuser",
		       "unknown user nosuchuser: not in the user database");
	snprintf(want, sizeof(want), "configuration error: %s/userns.conf:2: unknown key \"enabled\"",
		 harness_workdir());
	expect_refused("[default]\nenabled = yes\n", "alice", want);
	snprintf(want, sizeof(want), "configuration error: %s/userns.conf:3: max_ids: \"lots\" is not a number",
		 harness_workdir());
	expect_refused("[default]\nenable = yes\nmax_ids = lots\n", "alice", want);
	expect_refused("[default]\nenable = yes\nshell = /no/such/shell\n", "alice",
		       "shell: \"/no/such/shell\" cannot be used");

	/* a config file others can write is not read at all */
	service("[default]\nenable = yes\n");
	chmod(harness_conf("userns.conf", "[default]\nenable = yes\n"), 0666);
	{
		pam_handle_t *pamh;

		harness_log_mark();
		harness_start("userns-test", "alice", &pamh);
		ASSERT_INT(PAM_SESSION_ERR, pam_open_session(pamh, 0));
		ASSERT_TRUE(harness_log_has("refusing to read: writable by group or others (mode 0666)"));
		pam_end(pamh, PAM_SUCCESS);
	}
}

static void test_subids_none_and_groups(void)
{
	pam_handle_t *pamh;
	char umap[512];

	service("[default]\nenable = yes\nsubids = none\n");
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "carol", &pamh));
	ASSERT_INT(PAM_SUCCESS, pam_open_session(pamh, 0));
	ASSERT_INT(0, shell_as(CAROL, CAROL, pin_of(pamh), "id -u; cat /proc/self/uid_map /proc/self/setgroups"));
	ASSERT_TRUE(!strncmp(out, "0\n", 2));
	harness_normalise_map(out + 2, umap, sizeof(umap));
	ASSERT_STR("0 2003 1", umap);
	ASSERT_CONTAINS("deny", out);	/* setgroups = auto, no subgids: deny */
	ASSERT_INT(PAM_SUCCESS, pam_close_session(pamh, 0));
	pam_end(pamh, PAM_SUCCESS);

	/* dave gets his namespace through [group:sandboxed], capped by it */
	service("[group:sandboxed]\nenable = yes\nmax_ids = 1000\n");
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "dave", &pamh));
	ASSERT_INT(PAM_SUCCESS, pam_open_session(pamh, 0));
	ASSERT_INT(0, shell_as(DAVE, DAVE, pin_of(pamh), "cat /proc/self/uid_map"));
	harness_normalise_map(out, umap, sizeof(umap));
	ASSERT_STR("0 2004 1;1 400000 1000", umap);
	ASSERT_INT(PAM_SUCCESS, pam_close_session(pamh, 0));
	pam_end(pamh, PAM_SUCCESS);
	/* and alice, not in the group, does not */
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "alice", &pamh));
	ASSERT_INT(PAM_IGNORE, direct("pam_sm_open_session", pamh, conf_path));
	pam_end(pamh, PAM_SUCCESS);
}

/* login and su end PAM in the child with PAM_DATA_SILENT before exec. */
static void test_data_silent(void)
{
	pam_handle_t *pamh;
	char pin[4200];
	pid_t pid;
	int st;

	service("[user:alice]\nenable = yes\n");
	harness_start("userns-test", "alice", &pamh);
	ASSERT_INT(PAM_SUCCESS, pam_open_session(pamh, 0));
	snprintf(pin, sizeof(pin), "%s", pin_of(pamh));
	pid = fork();
	if (pid == 0) {
		pam_end(pamh, PAM_SUCCESS | PAM_DATA_SILENT);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	ASSERT_TRUE(userns_is_pin(pin));
	/* a child ending PAM loudly does not end the parent's session either */
	pid = fork();
	if (pid == 0) {
		pam_end(pamh, PAM_SUCCESS);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	ASSERT_TRUE(userns_is_pin(pin));
	ASSERT_INT(PAM_SUCCESS, pam_close_session(pamh, 0));
	ASSERT_TRUE(!userns_is_pin(pin));
	pam_end(pamh, PAM_SUCCESS);

	/* pam_end without close_session, in the opener: cleaned up */
	harness_start("userns-test", "alice", &pamh);
	ASSERT_INT(PAM_SUCCESS, pam_open_session(pamh, 0));
	snprintf(pin, sizeof(pin), "%s", pin_of(pamh));
	pam_end(pamh, PAM_SUCCESS);
	ASSERT_TRUE(access(pin, F_OK) < 0);
	ASSERT_INT(0, harness_state_entries(ALICE));
}

static void *thread_open(void *arg)
{
	pam_handle_t *pamh;
	long ok = 0;

	if (harness_start("userns-test", "alice", &pamh) == PAM_SUCCESS &&
	    pam_open_session(pamh, 0) == PAM_SUCCESS) {
		ok = userns_is_pin(pin_of(pamh));
		ok &= pam_close_session(pamh, 0) == PAM_SUCCESS;
	}
	pam_end(pamh, PAM_SUCCESS);
	return (void *)ok;
}

/* A threaded caller: the namespace is made in a child, never in a thread. */
static void test_threads(void)
{
	pthread_t t[4];
	void *ok;

	service("[user:alice]\nenable = yes\n");
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_open, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], &ok);
		ASSERT_INT(1, (long)ok);
	}
	ASSERT_INT(0, harness_state_entries(ALICE));
}

/* What the entry shell must refuse, each with its message and exit 1. */
static void test_shell_refusals(void)
{
	char forged[4300], dir[4200], info[4300];
	pam_handle_t *pamh;
	const char *alice_pin;
	struct ns_spec spec;
	int r;

	r = shell_as(BOB, BOB, NULL, "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("no user namespace was prepared for this login (PAM_USERNS_PIN is not set)", out);

	r = shell_as(BOB, BOB, "/tmp/whatever.ns", "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("not a pin in " STATEDIR "/2002/", out);

	service("[default]\nenable = yes\n");
	harness_start("userns-test", "alice", &pamh);
	ASSERT_INT(PAM_SUCCESS, pam_open_session(pamh, 0));
	alice_pin = pin_of(pamh);

	/* bob pointing at alice's pin */
	r = shell_as(BOB, BOB, alice_pin, "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("not a namespace of uid 2002", out);

	/* alice's namespace mounted into bob's directory: the kernel says whose it is */
	snprintf(dir, sizeof(dir), "%s/2002", STATEDIR);
	mkdir(dir, 0755);
	snprintf(forged, sizeof(forged), "%s/0123456789abcdef.ns", dir);
	close(open(forged, O_CREAT | O_WRONLY, 0444));
	ASSERT_INT(0, mount(alice_pin, forged, NULL, MS_BIND, NULL));
	r = shell_as(BOB, BOB, forged, "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("the namespace belongs to another user", out);
	umount2(forged, MNT_DETACH);

	/* a regular file */
	r = shell_as(BOB, BOB, forged, "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("not a user namespace pin", out);
	unlink(forged);

	/* a symbolic link */
	ASSERT_INT(0, symlink(alice_pin, forged));
	r = shell_as(BOB, BOB, forged, "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("is a symbolic link", out);
	unlink(forged);

	/* bob's own namespace that does not put him at 0 */
	spec = (struct ns_spec){ .kinds = CLONE_NEWUSER, .uid = BOB, .gid = BOB,
				 .uid_map = "5 2002 1\n", .gid_map = "5 2002 1\n" };
	ASSERT_INT(0, userns_create_pinned(&spec, forged, NULL, 0));
	snprintf(info, sizeof(info), "%s/0123456789abcdef.info", dir);
	{
		FILE *f = fopen(info, "w");

		fprintf(f, "version=1\nuser=bob\nuid=2002\ngid=2002\nscope=session\n");
		fclose(f);
	}
	r = shell_as(BOB, BOB, forged, "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("does not map uid 2002 to 0", out);
	/* ... nor with a record others could have written */
	chmod(info, 0666);
	r = shell_as(BOB, BOB, forged, "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("is missing or unsafe", out);
	userns_unpin(forged);
	unlink(info);

	/* a state directory bob could write */
	chmod(dir, 0777);
	r = shell_as(BOB, BOB, forged, "id -u");
	ASSERT_INT(1, r);
	ASSERT_CONTAINS("is not a directory owned by root", out);
	rmdir(dir);

	ASSERT_INT(PAM_SUCCESS, pam_close_session(pamh, 0));
	pam_end(pamh, PAM_SUCCESS);
}

static void write_self(const char *file, const char *text)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		_exit(90);
	close(fd);
}

/* Root inside a user namespace is not root: refused, and said so. */
static void test_inside_userns(void)
{
	pid_t pid;
	int st;

	service("[default]\nenable = yes\n");
	harness_log_mark();
	pid = fork();
	if (pid == 0) {
		pam_handle_t *pamh;

		if (unshare(CLONE_NEWUSER) < 0)
			_exit(91);
		write_self("/proc/self/setgroups", "deny");
		write_self("/proc/self/gid_map", "0 0 1");
		write_self("/proc/self/uid_map", "0 0 1");
		if (geteuid() != 0 || harness_start("userns-test", "alice", &pamh) != PAM_SUCCESS)
			_exit(92);
		_exit(pam_open_session(pamh, 0));
	}
	waitpid(pid, &st, 0);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_INT(PAM_SESSION_ERR, WEXITSTATUS(st));
	ASSERT_TRUE(harness_log_has("cannot prepare a namespace for alice: this process is root only inside a user namespace"));
	ASSERT_INT(0, harness_state_entries(ALICE));
}

int main(int argc, char **argv)
{
	harness_enter_testbed(argc, argv);
	/* Start with 0, 1, 2 only, so an fd the shell sees can only be a leak. */
	close_range(3, ~0U, 0);
	signal(SIGCHLD, on_sigchld);
	/* glibc keeps its /dev/log socket: have it before we count fds. */
	openlog("test_module", LOG_NDELAY, LOG_AUTHPRIV);

	test_covered_user();
	test_ignored_users();
	test_refusals();
	test_subids_none_and_groups();
	test_data_silent();
	test_threads();
	test_shell_refusals();
	test_inside_userns();
	return t_done("test_module");
}
