/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PAM_USERNS_SUBID_H
#define PAM_USERNS_SUBID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The kernel's limits on one uid_map/gid_map write (user_namespaces(7)). */
#define IDMAP_MAX_LINES	340
#define IDMAP_MAX_BYTES	4095

struct id_range {
	uint64_t start;
	uint64_t count;
};

struct idmap_extent {
	uint32_t inside;
	uint32_t outside;
	uint32_t count;
};

struct idmap {
	size_t n;
	uint64_t total;			/* ids mapped, the user's own included */
	struct idmap_extent ext[IDMAP_MAX_LINES];
};

enum subid_kind { SUBID_UID, SUBID_GID };

#define SUBID_ERR_MAX 512

/*
 * The user's subordinate ranges, in file order. With no "subid:" line in
 * nsswitch.conf this reads /etc/subuid (/etc/subgid) itself, strictly
 * (a malformed entry for this user is an error with file:line) and
 * without getpwnam(), which libsubid's files backend calls and which
 * would overwrite the application's static struct passwd. With a
 * "subid:" line it asks libsubid, so NSS backends (sssd, ...) answer.
 *
 * owner_id is the numeric id that also names the user in the file
 * (libsubid's rule: the uid for subuid, the gid of the group named like
 * the user for subgid); pass (uint64_t)-1 for none.
 * Returns the number of ranges (0: the user has none) or -errno.
 */
/*
 * owner_id SUBID_OWNER_GROUP_OF_USER: the gid of the group named like the
 * user, looked up (getgrnam_r, a scan of /etc/group) only when a line
 * with a numeric owner shows up.
 */
#define SUBID_OWNER_GROUP_OF_USER ((uint64_t)-2)

int subid_lookup(enum subid_kind kind, const char *user, uint64_t owner_id,
		 struct id_range **ranges, char *err, size_t errlen);

/* The gid of the group named name (getgrnam_r), or (uint64_t)-1. */
uint64_t subid_group_gid(const char *name);

/* Paths, overridable by tests; default /etc/subuid, /etc/subgid, /etc/nsswitch.conf. */
extern const char *subid_uid_file;
extern const char *subid_gid_file;
extern const char *subid_nsswitch_file;

/* Is a "subid:" NSS backend configured? */
bool subid_nss_configured(void);

/*
 * Build "0 SELF 1" followed by the ranges at 1.. in order, capped at
 * max_ids subordinate ids. Refuses (-EINVAL, err says why) a range that
 * is empty, runs past the id space, contains id 0 or SELF, overlaps
 * another one, and a map past the kernel's limits (-E2BIG).
 */
int idmap_build(struct idmap *map, uint32_t self, const struct id_range *ranges, size_t n,
		uint64_t max_ids, const char *what, char *err, size_t errlen);

/* The text the kernel takes; returns its length or -E2BIG. */
int idmap_format(const struct idmap *map, char *buf, size_t len);

#endif
