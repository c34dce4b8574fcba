// SPDX-License-Identifier: LGPL-2.1-or-later
/* userns.conf parsing and resolution, every bad input with its location. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "test_assert.h"

static char dir[] = "/tmp/test_policy.XXXXXX";
static char path[512];

static const char *put(const char *name, mode_t mode, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static const char *put(const char *name, mode_t mode, const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	chmod(path, mode);
	return path;
}

/* Groups the fake user is in, for the resolver. */
static const char *member_of[8];

static bool in_group(const char *g, void *ctx)
{
	for (int i = 0; member_of[i]; i++)
		if (!strcmp(member_of[i], g))
			return true;
	return false;
}

static int load(const char *file, struct policy_config *cfg, char *err)
{
	err[0] = '\0';
	return policy_load(file, "/nonexistent/vendor", "/nonexistent/etc", cfg, err,
			   POLICY_ERR_MAX);
}

/* Load text as a file and expect an error containing want. */
static void expect_error(const char *text, const char *want, int code)
{
	struct policy_config cfg;
	char err[POLICY_ERR_MAX];
	const char *f = put("bad.conf", 0644, "%s", text);
	int r = load(f, &cfg, err);

	ASSERT_INT(code, r);
	ASSERT_CONTAINS(want, err);
	if (r == 0)
		policy_config_free(&cfg);
}

static int resolve(const char *text, const char *user, uid_t uid, struct policy *p, char *err)
{
	struct policy_config cfg;
	int r = load(put("r.conf", 0644, "%s", text), &cfg, err);

	if (r < 0) {
		fprintf(stderr, "unexpected load error: %s\n", err);
		return r;
	}
	r = policy_resolve(&cfg, user, uid, in_group, NULL, p, err, POLICY_ERR_MAX);
	policy_config_free(&cfg);
	return r;
}

static void test_errors(void)
{
	char want[600];

	snprintf(want, sizeof(want), "%s/bad.conf:3: unknown key \"colour\" in [default]", dir);
	expect_error("[default]\nenable = yes\ncolour = blue\n", want, -EINVAL);

	snprintf(want, sizeof(want), "%s/bad.conf:2: enable: \"maybe\" is not a boolean", dir);
	expect_error("[default]\nenable = maybe\n", want, -EINVAL);

	snprintf(want, sizeof(want), "%s/bad.conf:4: max_ids: \"7x\" is not a number", dir);
	expect_error("# comment\n[default]\nenable = yes\nmax_ids = 7x\n", want, -EINVAL);
	expect_error("[default]\nmax_ids = -1\n", "is not a number", -EINVAL);
	expect_error("[default]\nmax_ids = 0x10\n", "is not a number", -EINVAL);
	expect_error("[default]\nmax_ids = 0\n", "out of range (1..4294967294)", -ERANGE);
	expect_error("[default]\nmax_ids = 4294967295\n", "out of range", -ERANGE);
	expect_error("[default]\nmax_ids = 99999999999999999999999\n", "not a number", -EINVAL);
	expect_error("[default]\nsubids = some\n", "subids: \"some\" is not auto or none", -EINVAL);
	expect_error("[default]\nsetgroups = maybe\n", "is not allow, deny or auto", -EINVAL);
	expect_error("[default]\nscope = host\n", "is not session or user", -EINVAL);
	expect_error("[default]\nkill_on_logout = sometimes\n", "is not a boolean", -EINVAL);
	expect_error("[default]\nshell = bin/bash\n", "is not an absolute path", -EINVAL);
	expect_error("[default]\nshell = /nonexistent/zsh\n",
		     "shell: \"/nonexistent/zsh\" cannot be used: No such file or directory", -ENOENT);
	expect_error("[default]\nshell = /etc\n", "is not a regular file", -EINVAL);
	expect_error("[default]\nshell = /etc/passwd\n", "is not executable", -EACCES);

	snprintf(want, sizeof(want), "%s/bad.conf:2: unknown section [users:alice]", dir);
	expect_error("[default]\n[users:alice]\nenable = yes\n", want, -EINVAL);
	expect_error("[user:]\nenable = yes\n", "unknown section [user:]", -EINVAL);
	expect_error("[group:a b]\nenable = yes\n", "unknown section", -EINVAL);

	snprintf(want, sizeof(want), "%s/bad.conf:1: key \"enable\" is outside any section", dir);
	expect_error("enable = yes\n[default]\n", want, -EINVAL);

	/* libeconf's own syntax errors carry its location. */
	snprintf(want, sizeof(want), "%s/bad.conf:2:", dir);
	expect_error("[default]\n[user:bob\nenable = yes\n", want, -EINVAL);

	expect_error("[default]\nenable =\n", "enable: empty value", -EINVAL);
	expect_error("[default]\n = yes\n", "bad.conf:2: a value without a key", -EINVAL);
	expect_error("[user:alice]\nenable\n", "bad.conf:2: \"enable\" has no \"=\"", -EINVAL);
	expect_error("[user:alice]\nenable = yes\nmax_ids 5\n",
		     "bad.conf:3: \"max_ids 5\" has no \"=\" (expected KEY = VALUE)", -EINVAL);

	/* the same key twice in a section: not a silent first-wins */
	snprintf(want, sizeof(want),
		 "%s/bad.conf:4: \"enable\" is set twice in [user:alice] (first at line 2)", dir);
	expect_error("[user:alice]\nenable = yes\nmax_ids = 5\nenable = no\n", want, -EINVAL);
	/* ... but one key in two sections is fine */
	{
		struct policy_config cfg;
		char err[POLICY_ERR_MAX];

		ASSERT_INT(0, load(put("two.conf", 0644, "[default]\nenable = no\n[user:alice]\nenable = yes\n"),
				   &cfg, err));
		policy_config_free(&cfg);
	}
}

static void test_file_safety(void)
{
	struct policy_config cfg;
	char err[POLICY_ERR_MAX], want[600];
	const char *f;

	f = put("gw.conf", 0664, "[default]\nenable = yes\n");
	ASSERT_INT(-EINVAL, load(f, &cfg, err));
	snprintf(want, sizeof(want), "%s: refusing to read: writable by group or others (mode 0664)", f);
	ASSERT_STR(want, err);

	f = put("ww.conf", 0646, "[default]\nenable = yes\n");
	ASSERT_INT(-EINVAL, load(f, &cfg, err));
	ASSERT_CONTAINS("writable by group or others (mode 0646)", err);

	f = put("owned.conf", 0644, "[default]\nenable = yes\n");
	ASSERT_INT(0, chown(f, 4242, 0));
	ASSERT_INT(-EINVAL, load(f, &cfg, err));
	ASSERT_CONTAINS("owned by uid 4242, not root", err);

	snprintf(want, sizeof(want), "%s/missing.conf", dir);
	ASSERT_INT(-ENOENT, load(want, &cfg, err));
	ASSERT_CONTAINS("missing.conf: No such file or directory", err);
}

static void test_resolution(void)
{
	struct policy p;
	char err[POLICY_ERR_MAX] = "";
	const char *conf =
		"[default]\nenable = no\nmax_ids = 1000\n"
		"[group:lab]\nenable = yes\nsubids = none\n"
		"[user:alice]\nenable = yes\nmax_ids = 5\nsetgroups = allow\n"
		"[user:mallory]\nenable = no\n";

	member_of[0] = NULL;
	ASSERT_INT(0, resolve(conf, "nobody-here", 1500, &p, err));
	ASSERT_INT(0, p.enable);
	ASSERT_INT(1000, p.max_ids);
	ASSERT_STR("[default]", p.source);

	ASSERT_INT(0, resolve(conf, "alice", 1501, &p, err));
	ASSERT_INT(1, p.enable);
	ASSERT_INT(5, p.max_ids);
	ASSERT_INT(SETGROUPS_ALLOW, p.setgroups);
	ASSERT_INT(SUBIDS_AUTO, p.subids);

	member_of[0] = "lab";
	member_of[1] = NULL;
	ASSERT_INT(0, resolve(conf, "bob", 1502, &p, err));
	ASSERT_INT(1, p.enable);
	ASSERT_INT(SUBIDS_NONE, p.subids);
	ASSERT_INT(1000, p.max_ids);
	ASSERT_STR("[group:lab]", p.source);

	/* user beats group */
	ASSERT_INT(0, resolve(conf, "mallory", 1503, &p, err));
	ASSERT_INT(0, p.enable);
	ASSERT_STR("[user:mallory]", p.source);

	/* two groups that disagree: refused, naming both places */
	member_of[0] = "lab";
	member_of[1] = "staff";
	member_of[2] = NULL;
	ASSERT_INT(-ENOTUNIQ, resolve("[group:lab]\nenable = yes\nmax_ids = 10\n"
				      "[group:staff]\nmax_ids = 20\n", "bob", 1502, &p, err));
	ASSERT_CONTAINS("r.conf:3 and ", err);
	ASSERT_CONTAINS("r.conf:5: [group:lab] and [group:staff] disagree on \"max_ids\" for user bob", err);
	/* ... unless a user section settles it */
	ASSERT_INT(0, resolve("[group:lab]\nenable = yes\nmax_ids = 10\n"
			      "[group:staff]\nmax_ids = 20\n[user:bob]\nmax_ids = 30\n",
			      "bob", 1502, &p, err));
	ASSERT_INT(30, p.max_ids);
	/* ... and groups that agree are fine */
	ASSERT_INT(0, resolve("[group:lab]\nenable = yes\n[group:staff]\nenable = yes\n",
			      "bob", 1502, &p, err));
	ASSERT_INT(1, p.enable);
	member_of[0] = NULL;

	/* root: only an explicit [user:root] */
	ASSERT_INT(0, resolve("[default]\nenable = yes\n", "root", 0, &p, err));
	ASSERT_INT(0, p.enable);
	member_of[0] = "root";
	member_of[1] = NULL;
	ASSERT_INT(0, resolve("[group:root]\nenable = yes\n", "root", 0, &p, err));
	ASSERT_INT(0, p.enable);
	member_of[0] = NULL;
	ASSERT_INT(0, resolve("[user:root]\nenable = yes\n", "root", 0, &p, err));
	ASSERT_INT(1, p.enable);

	ASSERT_INT(0, resolve("[default]\nenable = yes\nscope = user\nkill_on_logout = yes\n"
			      "shell = /bin/sh\nsetgroups = deny\n", "carol", 1504, &p, err));
	ASSERT_INT(SCOPE_USER, p.scope);
	ASSERT_INT(1, p.kill_on_logout);
	ASSERT_STR("/bin/sh", p.shell);
	ASSERT_INT(SETGROUPS_DENY, p.setgroups);
	ASSERT_INT(65536, p.max_ids);
}

/* The default lookup: vendor file, the /etc file, drop-ins. */
static void test_lookup(void)
{
	struct policy_config cfg;
	struct policy p;
	char err[POLICY_ERR_MAX] = "", vendor[600], etc[600], sub[700];

	snprintf(vendor, sizeof(vendor), "%s/usr", dir);
	snprintf(etc, sizeof(etc), "%s/etc", dir);
	mkdir(vendor, 0755);
	mkdir(etc, 0755);

	/* nothing anywhere: an empty configuration, nobody enabled */
	ASSERT_INT(0, policy_load(NULL, vendor, etc, &cfg, err, sizeof(err)));
	ASSERT_INT(0, cfg.n_sections);
	ASSERT_INT(0, policy_resolve(&cfg, "alice", 1501, in_group, NULL, &p, err, sizeof(err)));
	ASSERT_INT(0, p.enable);
	policy_config_free(&cfg);

	put("usr/userns.conf", 0644, "[default]\nenable = yes\nmax_ids = 7\n");
	ASSERT_INT(0, policy_load(NULL, vendor, etc, &cfg, err, sizeof(err)));
	ASSERT_INT(0, policy_resolve(&cfg, "alice", 1501, in_group, NULL, &p, err, sizeof(err)));
	ASSERT_INT(1, p.enable);
	ASSERT_INT(7, p.max_ids);
	policy_config_free(&cfg);

	/* the /etc file replaces the vendor one; a drop-in comes after it */
	put("etc/userns.conf", 0644, "[default]\nenable = yes\n");
	snprintf(sub, sizeof(sub), "%s/userns.conf.d", etc);
	mkdir(sub, 0755);
	put("etc/userns.conf.d/50-alice.conf", 0644, "[user:alice]\nmax_ids = 9\n");
	ASSERT_INT(0, policy_load(NULL, vendor, etc, &cfg, err, sizeof(err)));
	ASSERT_INT(0, policy_resolve(&cfg, "alice", 1501, in_group, NULL, &p, err, sizeof(err)));
	ASSERT_INT(1, p.enable);
	ASSERT_INT(9, p.max_ids);
	ASSERT_INT(0, policy_resolve(&cfg, "bob", 1502, in_group, NULL, &p, err, sizeof(err)));
	ASSERT_INT(65536, p.max_ids);
	policy_config_free(&cfg);

	/* a bad drop-in is an error with its own location */
	put("etc/userns.conf.d/60-bad.conf", 0644, "[user:bob]\n\nmax_ids = lots\n");
	ASSERT_INT(-EINVAL, policy_load(NULL, vendor, etc, &cfg, err, sizeof(err)));
	ASSERT_CONTAINS("userns.conf.d/60-bad.conf:3: max_ids: \"lots\" is not a number", err);

	/* an unsafe drop-in is refused */
	put("etc/userns.conf.d/60-bad.conf", 0666, "[user:bob]\nmax_ids = 3\n");
	ASSERT_INT(-EINVAL, policy_load(NULL, vendor, etc, &cfg, err, sizeof(err)));
	ASSERT_CONTAINS("60-bad.conf: refusing to read: writable by group or others", err);
}

int main(void)
{
	char cmd[600];

	if (geteuid() != 0) {
		fprintf(stderr, "test_policy: must run as root (config files must be root-owned)\n");
		return 99;
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 99;
	}
	test_errors();
	test_file_safety();
	test_resolution();
	test_lookup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return t_done("test_policy");
}
