/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PAM_USERNS_USERNS_H
#define PAM_USERNS_USERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What to build: a set of CLONE_NEW* kinds, owned by uid:gid. */
struct ns_spec {
	int kinds;			/* CLONE_NEWUSER (required) | ... later */
	uid_t uid;
	gid_t gid;
	const char *uid_map;		/* text for /proc/PID/uid_map */
	const char *gid_map;
	bool setgroups_deny;
};

#define USERNS_ERR_MAX 256

/*
 * Create the namespace from a child whose ids are spec->uid/gid, so the
 * kernel records that user as its owner; write the maps from here (we
 * hold CAP_SETUID/CAP_SETGID in the parent namespace); bind-mount the
 * child's ns/user onto pin_path, which must not exist; reap the child.
 * The child shares our memory (clone(CLONE_VM)): its cost does not grow
 * with the caller's size, it raises no SIGCHLD and no waitpid(-1) of
 * the application can reap it. On failure nothing is left behind.
 * Returns 0 or -errno with err saying which step failed.
 */
int userns_create_pinned(const struct ns_spec *spec, const char *pin_path,
			 char *err, size_t errlen);

/* Unmount and remove a pin; -ENOENT if there was none. */
int userns_unpin(const char *pin_path);

/*
 * Is fd a pin of a user namespace owned by uid? 0, or -errno: -EINVAL
 * not an nsfs file or not a user namespace, -EPERM owned by another uid.
 */
int userns_check_fd(int fd, uid_t uid);

/*
 * Do we run in the initial user namespace (uid_map "0 0 4294967295")?
 * Root inside a user namespace passes geteuid() == 0 but has no host
 * privilege: it can neither map other ids nor own the state directory.
 */
bool userns_is_initial(void);

/* Is path a pinned namespace (an nsfs file)? */
bool userns_is_pin(const char *path);

#endif
