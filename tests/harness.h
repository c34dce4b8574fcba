/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PAM_USERNS_HARNESS_H
#define PAM_USERNS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <security/pam_appl.h>

/*
 * Helpers for tests that drive the built module through libpam inside
 * the test bed (tests/testbed): fixture users alice (2001, subids
 * 200000:65536), bob (2002, 300000:65536), carol (2003, none) and dave
 * (2004, group sandboxed, 400000:65536); /dev/log lands in
 * $TESTBED_DIR/syslog.
 */

/* Re-run argv inside the test bed unless we already are in it. */
void harness_enter_testbed(int argc, char **argv);

/* Build-tree paths, from the environment make check gives us. */
const char *harness_module(void);		/* .../.libs/pam_userns.so */
const char *harness_shell(void);		/* .../userns-shell */
const char *harness_workdir(void);		/* scratch dir for confs */

/* Write the PAM service NAME into the work dir's pam.d with these module args. */
const char *harness_service(const char *name, const char *module_args);
/* Write userns.conf text to a file in the work dir; returns its path. */
const char *harness_conf(const char *name, const char *text);

int harness_start(const char *service, const char *user, pam_handle_t **pamh);

/*
 * Run argv as uid:gid (supplementary groups: just gid) with env, stdin
 * from /dev/null; collect stdout+stderr into out. Returns the exit
 * status (or 128+signal).
 */
int harness_run_as(uid_t uid, gid_t gid, char *const env[], char *const argv[],
		   char *out, size_t outlen);

/* The syslog lines since the last harness_log_mark(). */
void harness_log_mark(void);
bool harness_log_has(const char *needle);
const char *harness_log_text(void);

/* Entries in /run/pam_userns/UID other than .lock; -1 if no dir. */
int harness_state_entries(uid_t uid);

/* Open fds of this process. */
int harness_count_fds(void);

/* /proc/self/uid_map as "0 2001 1;1 200000 65536" for comparisons. */
void harness_normalise_map(const char *text, char *out, size_t len);

#endif
