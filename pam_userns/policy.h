/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PAM_USERNS_POLICY_H
#define PAM_USERNS_POLICY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The resolved answer for one login: what the module should do. */
enum subids_mode { SUBIDS_AUTO, SUBIDS_NONE };
enum setgroups_mode { SETGROUPS_AUTO, SETGROUPS_ALLOW, SETGROUPS_DENY };
enum ns_scope { SCOPE_SESSION, SCOPE_USER };

#define POLICY_MAX_IDS_DEFAULT	65536ULL
/* Inside ids run 0..N; 4294967295 is (uid_t)-1 and never valid. */
#define POLICY_MAX_IDS_LIMIT	4294967294ULL

struct policy {
	bool enable;
	enum subids_mode subids;
	uint64_t max_ids;
	enum setgroups_mode setgroups;
	enum ns_scope scope;
	bool kill_on_logout;
	char shell[PATH_MAX];		/* "" = userns-shell picks */
	char source[128];		/* section that decided "enable" */
};

enum policy_key {
	KEY_ENABLE,
	KEY_SUBIDS,
	KEY_MAX_IDS,
	KEY_SETGROUPS,
	KEY_SCOPE,
	KEY_KILL_ON_LOGOUT,
	KEY_SHELL,
	KEY__COUNT
};

enum section_kind { SECTION_DEFAULT, SECTION_GROUP, SECTION_USER };

/* One [section] after all files were merged; values set per key. */
struct policy_section {
	enum section_kind kind;
	char *name;			/* NULL for [default] */
	unsigned int set;		/* bit per enum policy_key */
	struct policy values;
	char *where[KEY__COUNT];	/* "file:line" of each set key */
};

struct policy_config {
	struct policy_section *sections;
	size_t n_sections;
	char *files;			/* files read, for debug logs */
};

/* Error text is "file:line: what" where there is a location. */
#define POLICY_ERR_MAX 512

/*
 * Read the configuration. conf == NULL: the vendor file, sysconfdir's
 * security/userns.conf and userns.conf.d drop-ins (libeconf); otherwise
 * just that file. No file at all in the default lookup is an empty
 * configuration (nobody enabled). Returns 0 or -errno with err filled.
 */
int policy_load(const char *conf, const char *vendordir, const char *etcdir,
		struct policy_config *cfg, char *err, size_t errlen);
void policy_config_free(struct policy_config *cfg);

/* Membership test the resolver asks for each [group:NAME] section. */
typedef bool (*policy_in_group_fn)(const char *group, void *ctx);

/*
 * Decide the policy for a user. [user:NAME] beats [group:NAME] beats
 * [default]. Two matching group sections that set one key to different
 * values, with no [user:] section settling it, are an error: we do not
 * guess which the administrator meant. uid 0 is enabled only by an
 * explicit [user:root] section.
 */
int policy_resolve(const struct policy_config *cfg, const char *user, uid_t uid,
		   policy_in_group_fn in_group, void *ctx,
		   struct policy *out, char *err, size_t errlen);

const char *policy_key_name(enum policy_key key);

#endif
