/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PAM_USERNS_SESSION_H
#define PAM_USERNS_SESSION_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The state directory, STATEDIR (root, 0755):
 *   UID/            root, 0755: one per user
 *   UID/.lock       flock()ed while a login or logout of UID changes it
 *   UID/NAME.ns     a pin: the namespace's ns/user bind-mounted here
 *   UID/NAME.info   the namespace's record (who, maps, shell, ...)
 *   UID/SID.ref     one per open session: its opener and the NAME it uses
 * NAME is the session id for scope = session, "user" for scope = user.
 * A namespace lives while a live .ref names it.
 */

#define SESSION_ID_LEN	16
#define SESSION_NAME_MAX 32
#define SESSION_ERR_MAX	512
#define SESSION_ENV	"PAM_USERNS_PIN"

extern const char *session_statedir;	/* STATEDIR; tests may repoint it */

struct ns_record {
	char user[257];
	uid_t uid;
	gid_t gid;
	char scope[16];
	bool kill_on_logout;
	char shell[4096];
	char uid_map[4096];
	char gid_map[4096];
	long long created;
};

struct ref_record {
	char name[SESSION_NAME_MAX];	/* the namespace it holds */
	pid_t pid;			/* the process that opened the session */
	unsigned long long starttime;	/* its start time, against pid reuse */
	char service[128];
	long long created;
};

/* Open (creating when root) STATEDIR/UID, checked; returns a dirfd or -errno. */
int session_open_dir(uid_t uid, bool create, char *err, size_t errlen);

/* Exclusive lock for one user's directory; returns an fd or -errno. */
int session_lock(int dirfd);

/* 16 random hex digits. */
int session_new_id(char id[SESSION_ID_LEN + 1]);

/* Start time of pid from /proc (clock ticks since boot); 0 if gone. */
unsigned long long session_starttime(pid_t pid);

/* Is the opener recorded in ref still that same process? */
bool session_ref_alive(const struct ref_record *ref);

int session_write_ref(int dirfd, const char *sid, const struct ref_record *ref);
int session_read_ref(int dirfd, const char *file, struct ref_record *ref);
int session_write_info(int dirfd, const char *name, const struct ns_record *rec);
int session_read_info(int dirfd, const char *name, struct ns_record *rec);

/* Number of live .ref files that name NAME (skipping "except" SID). */
int session_count_refs(int dirfd, const char *name, const char *except);

/*
 * Remove the .ref files of dead openers and the pins no live .ref names.
 * Bounded by this user's own entries. Returns how many pins it removed.
 */
int session_sweep(int dirfd, const char *dirpath);

/* Unpin NAME.ns and remove NAME.info in dirpath. */
int session_remove_ns(int dirfd, const char *dirpath, const char *name);

/*
 * SIGTERM every process inside the namespace pinned at path (or in a
 * namespace nested in it), wait up to timeout_ms for them to go, then
 * SIGKILL what is left. Returns how many processes were signalled.
 */
int session_kill_inside(const char *pin_path, unsigned int timeout_ms);

/* Processes whose user namespace is the pinned one (or nested in it). */
int session_count_inside(const char *pin_path);

#endif

/* One login's part, as the PAM module (or a benchmark) drives it. */
struct session_params {
	const char *user;
	uid_t uid;
	gid_t gid;
	bool shared;			/* scope = user */
	bool kill_on_logout;
	const char *shell;		/* "" = userns-shell decides */
	const char *uid_map;
	const char *gid_map;
	bool setgroups_deny;
	const char *service;
};

struct session_handle {
	uid_t uid;
	pid_t opener;
	char sid[SESSION_ID_LEN + 1];
	char name[SESSION_NAME_MAX];
	char pin[PATH_MAX];
	bool kill_on_logout;
	bool created;			/* this login made the namespace */
	int swept;			/* stale pins removed on the way in */
};

/*
 * Under the user's lock: sweep the user's stale entries, then create
 * and pin a namespace (or join the user's shared one) and record this
 * session. Nothing is left behind on failure.
 */
int session_begin(const struct session_params *p, struct session_handle *h,
		  char *err, size_t errlen);

/*
 * Forget this session; when no live session holds its namespace any
 * more, (kill what is inside and) unpin it. Returns 1 when the
 * namespace was removed, 0 when others still hold it, or -errno.
 */
int session_end(const struct session_handle *h, char *err, size_t errlen);

/*
 * Sweep one user's directory under its lock (a close_session that has
 * no record of its own: the session was opened by another process).
 * Returns the number of pins removed, or -errno.
 */
int session_sweep_user(uid_t uid);
