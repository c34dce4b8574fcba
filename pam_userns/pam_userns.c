// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pam_userns: give each login its own user namespace.
 *
 *   session required pam_userns.so [debug] [conf=/path/to/userns.conf]
 *
 * open_session (as root) decides from userns.conf, maps the user's
 * subordinate ranges, creates a namespace owned by the user and pins it
 * under the state directory; userns-shell joins it once the application
 * has dropped to the user. close_session unpins it. Only this file
 * knows about PAM.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "policy.h"
#include "session.h"
#include "subid.h"
#include "userns.h"

#define DATA_NAME "pam_userns"

struct args {
	bool debug;
	const char *conf;
};

static void parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	a->debug = false;
	a->conf = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "debug"))
			a->debug = true;
		else if (!strncmp(argv[i], "conf=", 5) && argv[i][5])
			a->conf = argv[i] + 5;
		else
			pam_syslog(pamh, LOG_ERR, "unknown option: %s", argv[i]);
	}
}

/* Reentrant lookups: the application may hold getpwnam()'s static buffer. */
struct user {
	struct passwd pw;
	char *buf;
	gid_t *groups;		/* filled on the first group question */
	int n_groups;
	bool groups_done;
};

static int get_user(const char *name, struct user *u)
{
	struct passwd *res = NULL;
	size_t len = 4096;
	int r;

	memset(u, 0, sizeof(*u));
	for (;;) {
		u->buf = malloc(len);
		if (!u->buf)
			return -ENOMEM;
		r = getpwnam_r(name, &u->pw, u->buf, len, &res);
		if (r != ERANGE || len >= (1u << 20))
			break;
		free(u->buf);
		len *= 4;
	}
	if (r != 0)
		return -r;
	return res ? 0 : -ENOENT;
}

static void put_user(struct user *u)
{
	free(u->buf);
	free(u->groups);
}

static bool in_group(const char *group, void *ctx)
{
	struct user *u = ctx;
	uint64_t id = subid_group_gid(group);
	gid_t gid = (gid_t)id;

	if (id == (uint64_t)-1)
		return false;
	if (gid == u->pw.pw_gid)
		return true;
	if (!u->groups_done) {
		int n = 64;

		u->groups_done = true;
		for (int tries = 0; tries < 8; tries++) {
			gid_t *g = realloc(u->groups, (size_t)n * sizeof(*g));

			if (!g)
				return false;
			u->groups = g;
			if (getgrouplist(u->pw.pw_name, u->pw.pw_gid, u->groups, &n) >= 0) {
				u->n_groups = n;
				break;
			}
		}
	}
	for (int i = 0; i < u->n_groups; i++)
		if (u->groups[i] == gid)
			return true;
	return false;
}

static void free_handle(pam_handle_t *pamh, void *data, int error_status)
{
	struct session_handle *h = data;

	/*
	 * PAM_DATA_SILENT: login and su end PAM this way in the child
	 * that is about to exec the shell; the session is not over.
	 * PAM_DATA_REPLACE: close_session already did the work. Otherwise
	 * pam_end() came without close_session: end it here, but only in
	 * the process that opened it.
	 */
	if (!(error_status & (PAM_DATA_SILENT | PAM_DATA_REPLACE)) &&
	    getpid() == h->opener && geteuid() == 0) {
		char err[SESSION_ERR_MAX] = "";

		if (session_end(h, err, sizeof(err)) < 0)
			pam_syslog(pamh, LOG_ERR, "cleaning up %s: %s", h->pin, err);
	}
	free(h);
}

/* Build "0 SELF 1" + the user's subordinate ranges, or only "0 SELF 1". */
static int build_map(pam_handle_t *pamh, enum subid_kind kind, const struct policy *pol,
		     const char *user, uint32_t self, uint64_t owner_id, struct idmap *map,
		     char *text, size_t textlen)
{
	const char *what = kind == SUBID_UID ? "subuid" : "subgid";
	char err[SUBID_ERR_MAX] = "";
	struct id_range *ranges = NULL;
	int n = 0, r;

	if (pol->subids == SUBIDS_AUTO) {
		n = subid_lookup(kind, user, owner_id, &ranges, err, sizeof(err));
		if (n < 0) {
			pam_syslog(pamh, LOG_ERR, "%s: %s", user, err);
			return n;
		}
		if (n == 0) {
			pam_syslog(pamh, LOG_ERR,
				   "%s has no %s range (add one with usermod --add-sub%cids, or set subids = none)",
				   user, what, kind == SUBID_UID ? 'u' : 'g');
			return -ENOENT;
		}
	}
	r = idmap_build(map, self, ranges, (size_t)n, pol->max_ids, what, err, sizeof(err));
	free(ranges);
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "%s: %s", user, err);
		return r;
	}
	return idmap_format(map, text, textlen);
}

static int load_policy(pam_handle_t *pamh, const struct args *a, struct user *u,
		       struct policy *pol)
{
	struct policy_config cfg;
	char err[POLICY_ERR_MAX] = "";
	int r;

	r = policy_load(a->conf, VENDORDIR, SYSCONFDIR "/security", &cfg, err, sizeof(err));
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "configuration error: %s", err);
		return r;
	}
	if (a->debug)
		pam_syslog(pamh, LOG_DEBUG, "configuration read from %s",
			   cfg.files ? cfg.files : "nowhere (no file found)");
	r = policy_resolve(&cfg, u->pw.pw_name, u->pw.pw_uid, in_group, u, pol, err, sizeof(err));
	policy_config_free(&cfg);
	if (r < 0)
		pam_syslog(pamh, LOG_ERR, "configuration error: %s", err);
	return r;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args a;
	struct user u;
	struct policy pol;
	struct idmap umap, gmap;
	char utext[IDMAP_MAX_BYTES + 1], gtext[IDMAP_MAX_BYTES + 1];
	char err[SESSION_ERR_MAX] = "", env[PATH_MAX + 32];
	struct session_params sp;
	struct session_handle *h = NULL;
	const char *name = NULL, *service = NULL;
	int retval = PAM_SESSION_ERR, r;

	parse_args(pamh, argc, argv, &a);
	if (pam_get_user(pamh, &name, NULL) != PAM_SUCCESS || !name || !*name) {
		pam_syslog(pamh, LOG_ERR, "cannot determine the user");
		return PAM_SESSION_ERR;
	}
	r = get_user(name, &u);
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "unknown user %s: %s", name,
			   r == -ENOENT ? "not in the user database" : strerror(-r));
		put_user(&u);
		return PAM_SESSION_ERR;
	}
	/*
	 * Inside a user namespace (su or login from a namespaced session)
	 * nothing here is what it seems: root is not root and root's files
	 * belong to nobody. Say so instead of a misleading config error.
	 */
	if (!userns_is_initial()) {
		pam_syslog(pamh, LOG_ERR,
			   "cannot prepare a namespace for %s: this process is root only inside a user namespace "
			   "(su or login from a namespaced session?)", name);
		goto out;
	}
	if (load_policy(pamh, &a, &u, &pol) < 0)
		goto out;
	if (!pol.enable) {
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "no namespace for %s (enable = no, from %s)",
				   name, pol.source);
		retval = PAM_IGNORE;
		goto out;
	}
	if (geteuid() != 0) {
		pam_syslog(pamh, LOG_ERR, "cannot prepare a namespace for %s: not running as root",
			   name);
		goto out;
	}

	if (build_map(pamh, SUBID_UID, &pol, name, u.pw.pw_uid, u.pw.pw_uid, &umap, utext,
		      sizeof(utext)) < 0)
		goto out;
	if (build_map(pamh, SUBID_GID, &pol, name, u.pw.pw_gid, SUBID_OWNER_GROUP_OF_USER, &gmap,
		      gtext, sizeof(gtext)) < 0)
		goto out;

	h = calloc(1, sizeof(*h));
	if (!h) {
		pam_syslog(pamh, LOG_CRIT, "out of memory");
		goto out;
	}
	pam_get_item(pamh, PAM_SERVICE, (const void **)&service);
	sp = (struct session_params){
		.user = name, .uid = u.pw.pw_uid, .gid = u.pw.pw_gid,
		.shared = pol.scope == SCOPE_USER, .kill_on_logout = pol.kill_on_logout,
		.shell = pol.shell, .uid_map = utext, .gid_map = gtext,
		/* newgidmap's rule (CVE-2018-7169): no subgids, no setgroups(). */
		.setgroups_deny = pol.setgroups == SETGROUPS_DENY ||
				  (pol.setgroups == SETGROUPS_AUTO && gmap.n == 1),
		.service = service,
	};
	r = session_begin(&sp, h, err, sizeof(err));
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "cannot prepare a namespace for %s: %s", name, err);
		goto out;
	}
	if (h->swept)
		pam_syslog(pamh, LOG_INFO, "removed %d stale namespace pin(s) of %s", h->swept, name);

	snprintf(env, sizeof(env), "%s=%s", SESSION_ENV, h->pin);
	if (pam_putenv(pamh, env) != PAM_SUCCESS ||
	    pam_set_data(pamh, DATA_NAME, h, free_handle) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "cannot record the session of %s", name);
		session_end(h, err, sizeof(err));
		goto out;
	}
	pam_syslog(pamh, LOG_INFO,
		   "user namespace %s for %s (uid %u): %s, %llu uids, %llu gids, setgroups %s, from %s",
		   h->created ? "created" : "joined", name, (unsigned int)u.pw.pw_uid, h->pin,
		   (unsigned long long)umap.total, (unsigned long long)gmap.total,
		   sp.setgroups_deny ? "deny" : "allow", pol.source);
	h = NULL;
	retval = PAM_SUCCESS;
out:
	free(h);
	put_user(&u);
	return retval;
}

/*
 * No record in this handle: open_session said PAM_IGNORE, or the session
 * was opened by another process (pamtester open_session, then a later
 * pamtester close_session). Remove what that user left behind whose
 * opener is gone; a live session of another process is not ours to end.
 */
static int close_unrecorded(pam_handle_t *pamh, const struct args *a)
{
	const char *name = NULL;
	struct user u;
	int r;

	if (pam_get_user(pamh, &name, NULL) != PAM_SUCCESS || !name || geteuid() != 0)
		return PAM_IGNORE;
	if (get_user(name, &u) < 0) {
		put_user(&u);
		return PAM_IGNORE;
	}
	r = session_sweep_user(u.pw.pw_uid);
	if (r > 0)
		pam_syslog(pamh, LOG_INFO, "removed %d namespace pin(s) of %s whose session had ended",
			   r, name);
	else if (a->debug)
		pam_syslog(pamh, LOG_DEBUG, "no namespace recorded for this session of %s", name);
	put_user(&u);
	return r > 0 ? PAM_SUCCESS : PAM_IGNORE;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct session_handle *h = NULL;
	char err[SESSION_ERR_MAX] = "";
	struct args a;
	int r;

	parse_args(pamh, argc, argv, &a);
	if (pam_get_data(pamh, DATA_NAME, (const void **)&h) != PAM_SUCCESS || !h)
		return close_unrecorded(pamh, &a);
	if (geteuid() != 0) {
		pam_syslog(pamh, LOG_WARNING,
			   "cannot remove %s: not running as root; the next login of uid %u removes it",
			   h->pin, (unsigned int)h->uid);
		return PAM_SUCCESS;
	}
	r = session_end(h, err, sizeof(err));
	if (r < 0) {
		pam_syslog(pamh, LOG_ERR, "closing %s: %s", h->pin, err);
		pam_set_data(pamh, DATA_NAME, NULL, NULL);
		return PAM_SESSION_ERR;
	}
	pam_syslog(pamh, LOG_INFO, "user namespace %s %s", h->pin,
		   r == 1 ? "removed" : "kept: other sessions still use it");
	pam_putenv(pamh, SESSION_ENV);
	/* Replacing the data frees it (PAM_DATA_REPLACE) without ending twice. */
	pam_set_data(pamh, DATA_NAME, NULL, NULL);
	return PAM_SUCCESS;
}
