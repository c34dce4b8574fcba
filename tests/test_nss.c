// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * With "subid:" in nsswitch.conf the ranges come from libsubid's NSS
 * backend (here tests/libsubid_pamuserns.so), not from /etc/subuid.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/close_range.h>
#include <security/pam_appl.h>

#include "harness.h"
#include "session.h"
#include "test_assert.h"

static char out[8192];

static int shell_as(uid_t uid, const char *pin, const char *cmd)
{
	char envpin[4200];
	char *env[] = { envpin, (char *)"PATH=/usr/bin:/bin", NULL };
	char *argv[] = { (char *)harness_shell(), (char *)"-c", (char *)cmd, NULL };

	snprintf(envpin, sizeof(envpin), "%s=%s", SESSION_ENV, pin);
	return harness_run_as(uid, uid, env, argv, out, sizeof(out));
}

int main(int argc, char **argv)
{
	const char *libdir = getenv("NSS_SUBID_DIR");
	char args[4400], map[512];
	struct passwd *held;
	pam_handle_t *pamh;
	FILE *f;

	harness_enter_testbed(argc, argv);
	/* ld.so reads LD_LIBRARY_PATH at start: set it and start again. */
	if (!libdir) {
		fprintf(stderr, "test_nss: NSS_SUBID_DIR (where libsubid_pamuserns.so is) is not set\n");
		return 99;
	}
	if (!getenv("LD_LIBRARY_PATH")) {
		setenv("LD_LIBRARY_PATH", libdir, 1);
		execv("/proc/self/exe", argv);
		return 99;
	}
	close_range(3, ~0U, 0);
	openlog("test_nss", LOG_NDELAY, LOG_AUTHPRIV);

	f = fopen("/etc/nsswitch.conf", "w");	/* the bed's fixture, in place */
	fprintf(f, "passwd: files\ngroup: files\nshadow: files\nsubid: pamuserns\n");
	fclose(f);

	snprintf(args, sizeof(args), "conf=%s",
		 harness_conf("userns.conf", "[default]\nenable = yes\n"));
	harness_service("userns-test", args);

	held = getpwnam("bob");
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "alice", &pamh));
	ASSERT_INT(PAM_SUCCESS, pam_open_session(pamh, 0));
	ASSERT_STR("bob", held->pw_name);
	ASSERT_INT(0, shell_as(2001, pam_getenv(pamh, SESSION_ENV), "cat /proc/self/uid_map"));
	harness_normalise_map(out, map, sizeof(map));
	ASSERT_STR("0 2001 1;1 700000 1000", map);
	ASSERT_INT(0, shell_as(2001, pam_getenv(pamh, SESSION_ENV), "cat /proc/self/gid_map"));
	harness_normalise_map(out, map, sizeof(map));
	ASSERT_STR("0 2001 1;1 800000 1000", map);
	ASSERT_INT(PAM_SUCCESS, pam_close_session(pamh, 0));
	pam_end(pamh, PAM_SUCCESS);

	/* bob is in /etc/subuid but not in the backend: the backend decides */
	harness_log_mark();
	ASSERT_INT(PAM_SUCCESS, harness_start("userns-test", "bob", &pamh));
	ASSERT_INT(PAM_SESSION_ERR, pam_open_session(pamh, 0));
	ASSERT_TRUE(harness_log_has("bob: the NSS subid backend could not list the subuid ranges of bob"));
	pam_end(pamh, PAM_SUCCESS);
	ASSERT_INT(0, harness_state_entries(2001));
	return t_done("test_nss");
}
