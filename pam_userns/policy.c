// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * userns.conf: read with libeconf, validated here, resolved into a plain
 * struct policy. Nothing in this file knows about PAM.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libeconf.h>

#include "policy.h"

static const char *const key_names[KEY__COUNT] = {
	[KEY_ENABLE]		= "enable",
	[KEY_SUBIDS]		= "subids",
	[KEY_MAX_IDS]		= "max_ids",
	[KEY_SETGROUPS]		= "setgroups",
	[KEY_SCOPE]		= "scope",
	[KEY_KILL_ON_LOGOUT]	= "kill_on_logout",
	[KEY_SHELL]		= "shell",
};

const char *policy_key_name(enum policy_key key)
{
	return key < KEY__COUNT ? key_names[key] : "?";
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void policy_defaults(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->enable = false;
	p->subids = SUBIDS_AUTO;
	p->max_ids = POLICY_MAX_IDS_DEFAULT;
	p->setgroups = SETGROUPS_AUTO;
	p->scope = SCOPE_SESSION;
	p->kill_on_logout = false;
	snprintf(p->source, sizeof(p->source), "built-in default");
}

/*
 * libeconf does not tell where a key was; find its line ourselves so
 * that every error names file:line. 0 when not found.
 */
static unsigned int find_line(const char *path, const char *section, const char *key)
{
	FILE *f;
	char line[1024];
	unsigned int nr = 0, found = 0;
	bool in_section = section == NULL;
	size_t seclen = section ? strlen(section) : 0;

	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *s = line;

		nr++;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '[') {
			in_section = section && !strncmp(s + 1, section, seclen) &&
				     s[1 + seclen] == ']';
			if (in_section && !key) {
				found = nr;
				break;
			}
			continue;
		}
		if (in_section && key && !strncmp(s, key, strlen(key))) {
			char c = s[strlen(key)];

			if (c == '=' || c == ' ' || c == '\t') {
				found = nr;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* Digits only: strtoull would take "-1", " 7" and "0x10". */
static bool parse_count(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v)
		return false;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return false;
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*out = n;
	return true;
}

static int check_shell(const char *v, char *why, size_t whylen)
{
	struct stat st;

	if (v[0] != '/') {
		snprintf(why, whylen, "is not an absolute path");
		return -EINVAL;
	}
	if (strlen(v) >= PATH_MAX) {
		snprintf(why, whylen, "is too long");
		return -ENAMETOOLONG;
	}
	for (const char *s = v; *s; s++) {
		if (iscntrl((unsigned char)*s)) {
			snprintf(why, whylen, "contains a control character");
			return -EINVAL;
		}
	}
	if (stat(v, &st) < 0) {
		snprintf(why, whylen, "cannot be used: %s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "is not a regular file");
		return -EINVAL;
	}
	if (!(st.st_mode & S_IXOTH)) {
		snprintf(why, whylen, "is not executable by everyone (mode %04o)",
			 (unsigned int)(st.st_mode & 07777));
		return -EACCES;
	}
	return 0;
}

/* Parse one value into p; why says what is wrong with it. */
static int parse_value(enum policy_key key, const char *v, struct policy *p,
		       char *why, size_t whylen)
{
	switch (key) {
	case KEY_ENABLE:
		if (parse_bool(v, &p->enable))
			return 0;
		snprintf(why, whylen, "is not a boolean (yes or no)");
		return -EINVAL;
	case KEY_KILL_ON_LOGOUT:
		if (parse_bool(v, &p->kill_on_logout))
			return 0;
		snprintf(why, whylen, "is not a boolean (yes or no)");
		return -EINVAL;
	case KEY_SUBIDS:
		if (!strcmp(v, "auto"))
			p->subids = SUBIDS_AUTO;
		else if (!strcmp(v, "none"))
			p->subids = SUBIDS_NONE;
		else {
			snprintf(why, whylen, "is not auto or none");
			return -EINVAL;
		}
		return 0;
	case KEY_SETGROUPS:
		if (!strcmp(v, "auto"))
			p->setgroups = SETGROUPS_AUTO;
		else if (!strcmp(v, "allow"))
			p->setgroups = SETGROUPS_ALLOW;
		else if (!strcmp(v, "deny"))
			p->setgroups = SETGROUPS_DENY;
		else {
			snprintf(why, whylen, "is not allow, deny or auto");
			return -EINVAL;
		}
		return 0;
	case KEY_SCOPE:
		if (!strcmp(v, "session"))
			p->scope = SCOPE_SESSION;
		else if (!strcmp(v, "user"))
			p->scope = SCOPE_USER;
		else {
			snprintf(why, whylen, "is not session or user");
			return -EINVAL;
		}
		return 0;
	case KEY_MAX_IDS: {
		uint64_t n;

		if (!parse_count(v, &n)) {
			snprintf(why, whylen, "is not a number");
			return -EINVAL;
		}
		if (n < 1 || n > POLICY_MAX_IDS_LIMIT) {
			snprintf(why, whylen, "is out of range (1..%llu)",
				 (unsigned long long)POLICY_MAX_IDS_LIMIT);
			return -ERANGE;
		}
		p->max_ids = n;
		return 0;
	}
	case KEY_SHELL: {
		int r = check_shell(v, why, whylen);

		if (r < 0)
			return r;
		snprintf(p->shell, sizeof(p->shell), "%s", v);
		return 0;
	}
	case KEY__COUNT:
		break;
	}
	snprintf(why, whylen, "is not understood");
	return -EINVAL;
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 256)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-@$", *s))
			return false;
	return true;
}

static int parse_section(const char *group, enum section_kind *kind, const char **name)
{
	if (!strcmp(group, "default")) {
		*kind = SECTION_DEFAULT;
		*name = NULL;
		return 0;
	}
	if (!strncmp(group, "group:", 6) && valid_name(group + 6)) {
		*kind = SECTION_GROUP;
		*name = group + 6;
		return 0;
	}
	if (!strncmp(group, "user:", 5) && valid_name(group + 5)) {
		*kind = SECTION_USER;
		*name = group + 5;
		return 0;
	}
	return -EINVAL;
}

static struct policy_section *section_get(struct policy_config *cfg,
					  enum section_kind kind, const char *name)
{
	struct policy_section *s;

	for (size_t i = 0; i < cfg->n_sections; i++) {
		s = &cfg->sections[i];
		if (s->kind == kind && (kind == SECTION_DEFAULT || !strcmp(s->name, name)))
			return s;
	}
	s = realloc(cfg->sections, (cfg->n_sections + 1) * sizeof(*s));
	if (!s)
		return NULL;
	cfg->sections = s;
	s = &cfg->sections[cfg->n_sections];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	policy_defaults(&s->values);
	if (name && !(s->name = strdup(name)))
		return NULL;
	cfg->n_sections++;
	return s;
}

static void where(char *buf, size_t len, const char *path, unsigned int line)
{
	if (line)
		snprintf(buf, len, "%s:%u", path, line);
	else
		snprintf(buf, len, "%s", path);
}

/*
 * Every key line of the file must name a known key inside a section.
 * libeconf 0.5.1's econf_getKeys() drops keys that an earlier section
 * also has, so the file's own lines are the list we check.
 */
static int check_keys(const char *file, char *err, size_t errlen)
{
	char line[1024], section[300] = "";
	char (*seen)[300 + 32] = NULL;
	size_t n_seen = 0;
	unsigned int nr = 0, *seen_at = NULL;
	int r = 0;
	FILE *f = fopen(file, "re");

	if (!f) {
		seterr(err, errlen, "%s: %s", file, strerror(errno));
		return -errno;
	}
	while (r == 0 && fgets(line, sizeof(line), f)) {
		char *s = line, *e, id[300 + 32];
		size_t len;
		int key = -1;

		nr++;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		if (*s == '[') {
			e = strchr(s, ']');
			len = e ? (size_t)(e - s - 1) : strlen(s + 1);
			snprintf(section, sizeof(section), "%.*s", (int)len, s + 1);
			continue;
		}
		for (e = s; *e && *e != '=' && !isspace((unsigned char)*e); e++)
			;
		len = (size_t)(e - s);
		for (int i = 0; i < KEY__COUNT; i++)
			if (strlen(key_names[i]) == len && !strncmp(s, key_names[i], len))
				key = i;
		if (!len) {
			seterr(err, errlen, "%s:%u: a value without a key", file, nr);
			r = -EINVAL;
		} else if (!strchr(s, '=')) {
			/* libeconf would glue it onto the previous value */
			s[strcspn(s, "\r\n")] = '\0';
			seterr(err, errlen, "%s:%u: \"%s\" has no \"=\" (expected KEY = VALUE)",
			       file, nr, s);
			r = -EINVAL;
		} else if (!section[0]) {
			seterr(err, errlen,
			       "%s:%u: key \"%.*s\" is outside any section (put it under [default])",
			       file, nr, (int)len, s);
			r = -EINVAL;
		} else if (key < 0) {
			seterr(err, errlen, "%s:%u: unknown key \"%.*s\" in [%s]", file, nr,
			       (int)len, s, section);
			r = -EINVAL;
		}
		if (r < 0)
			break;
		/* libeconf keeps the first of two; an administrator expects the last. Refuse. */
		snprintf(id, sizeof(id), "%s]%s", section, key_names[key]);
		for (size_t i = 0; i < n_seen; i++) {
			if (!strcmp(seen[i], id)) {
				seterr(err, errlen, "%s:%u: \"%s\" is set twice in [%s] (first at line %u)",
				       file, nr, key_names[key], section, seen_at[i]);
				r = -EINVAL;
				break;
			}
		}
		if (r == 0) {
			void *p = realloc(seen, (n_seen + 1) * sizeof(*seen));
			void *q = p ? realloc(seen_at, (n_seen + 1) * sizeof(*seen_at)) : NULL;

			if (p)
				seen = p;
			if (!q) {
				r = -ENOMEM;
				break;
			}
			seen_at = q;
			memcpy(seen[n_seen], id, sizeof(id));
			seen_at[n_seen++] = nr;
		}
	}
	fclose(f);
	free(seen);
	free(seen_at);
	return r;
}

/* Fold one parsed file into cfg; later files override earlier ones. */
static int merge_file(struct policy_config *cfg, econf_file *kf, const char *fallback_path,
		      char *err, size_t errlen)
{
	char *path = econf_getPath(kf);
	const char *file = path && *path ? path : fallback_path;
	char **groups = NULL;
	size_t n_groups = 0;
	char loc[PATH_MAX + 16];
	econf_err e;
	int r;

	r = check_keys(file, err, errlen);
	if (r < 0)
		goto out;

	e = econf_getGroups(kf, &n_groups, &groups);
	if (e == ECONF_NOKEY || e == ECONF_NOGROUP || (e == ECONF_SUCCESS && !n_groups))
		goto out;
	if (e != ECONF_SUCCESS) {
		seterr(err, errlen, "%s: %s", file, econf_errString(e));
		r = -EIO;
		goto out;
	}

	for (size_t g = 0; g < n_groups; g++) {
		enum section_kind kind;
		const char *name;
		struct policy_section *sec;

		if (parse_section(groups[g], &kind, &name) < 0) {
			where(loc, sizeof(loc), file, find_line(file, groups[g], NULL));
			seterr(err, errlen,
			       "%s: unknown section [%s] (expected [default], [group:NAME] or [user:NAME])",
			       loc, groups[g]);
			r = -EINVAL;
			goto out;
		}
		sec = section_get(cfg, kind, name);
		if (!sec) {
			r = -ENOMEM;
			goto out;
		}

		for (int k = 0; k < KEY__COUNT; k++) {
			char *val = NULL;
			char why[PATH_MAX + 64];

			e = econf_getStringValue(kf, groups[g], key_names[k], &val);
			if (e == ECONF_NOKEY) {
				free(val);
				continue;
			}
			where(loc, sizeof(loc), file, find_line(file, groups[g], key_names[k]));
			if (e != ECONF_SUCCESS || !val || !*val) {
				free(val);
				seterr(err, errlen, "%s: %s: empty value", loc, key_names[k]);
				r = -EINVAL;
				goto out;
			}
			r = parse_value((enum policy_key)k, val, &sec->values, why, sizeof(why));
			if (r < 0) {
				seterr(err, errlen, "%s: %s: \"%s\" %s", loc, key_names[k], val, why);
				free(val);
				goto out;
			}
			free(val);
			sec->set |= 1u << k;
			free(sec->where[k]);
			sec->where[k] = strdup(loc);
			if (!sec->where[k]) {
				r = -ENOMEM;
				goto out;
			}
		}
	}
out:
	econf_freeArray(groups);
	free(path);
	return r;
}

struct file_check {
	char path[PATH_MAX];
	char why[128];
};

/*
 * Called by libeconf before it reads each file. A file that someone
 * other than root can change would let them hand out namespaces.
 */
static bool check_file(const char *filename, const void *data)
{
	struct file_check *fc = (struct file_check *)(uintptr_t)data;
	struct stat st;

	snprintf(fc->path, sizeof(fc->path), "%s", filename);
	if (stat(filename, &st) < 0) {
		snprintf(fc->why, sizeof(fc->why), "%s", strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(fc->why, sizeof(fc->why), "not a regular file");
		return false;
	}
	if (st.st_uid != 0) {
		snprintf(fc->why, sizeof(fc->why), "owned by uid %u, not root",
			 (unsigned int)st.st_uid);
		return false;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(fc->why, sizeof(fc->why), "writable by group or others (mode %04o)",
			 (unsigned int)(st.st_mode & 07777));
		return false;
	}
	return true;
}

static int check_one(const char *file, char *err, size_t errlen)
{
	struct file_check fc;

	if (check_file(file, &fc))
		return 0;
	seterr(err, errlen, "%s: refusing to read: %s", file, fc.why);
	return -EINVAL;
}

static void econf_error(econf_err e, const struct file_check *fc, const char *fallback,
			char *err, size_t errlen)
{
	char *file = NULL;
	uint64_t line = 0;

	if (e == ECONF_PARSING_CALLBACK_FAILED) {
		seterr(err, errlen, "%s: refusing to read: %s", fc->path, fc->why);
		return;
	}
	econf_errLocation(&file, &line);
	if (file && *file && line)
		seterr(err, errlen, "%s:%llu: %s", file, (unsigned long long)line,
		       econf_errString(e));
	else
		seterr(err, errlen, "%s: %s", file && *file ? file : fallback,
		       econf_errString(e));
	free(file);
}

static int append_file_name(struct policy_config *cfg, econf_file *kf, const char *fallback)
{
	char *path = econf_getPath(kf);
	const char *name = path && *path ? path : fallback;
	size_t old = cfg->files ? strlen(cfg->files) : 0;
	char *s = realloc(cfg->files, old + strlen(name) + 3);

	if (!s) {
		free(path);
		return -ENOMEM;
	}
	snprintf(s + old, strlen(name) + 3, "%s%s", old ? ", " : "", name);
	cfg->files = s;
	free(path);
	return 0;
}

int policy_load(const char *conf, const char *vendordir, const char *etcdir,
		struct policy_config *cfg, char *err, size_t errlen)
{
	struct file_check fc = { "", "" };
	econf_file **files = NULL;
	econf_file *one = NULL;
	size_t n = 0;
	econf_err e;
	int r = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (conf) {
		if (access(conf, F_OK) < 0) {
			r = -errno;
			seterr(err, errlen, "%s: %s", conf, strerror(errno));
			return r;
		}
		e = econf_readFileWithCallback(&one, conf, "=", "#", check_file, &fc);
		if (e != ECONF_SUCCESS) {
			econf_error(e, &fc, conf, err, errlen);
			return -EINVAL;
		}
		r = merge_file(cfg, one, conf, err, errlen);
		if (r == 0)
			r = append_file_name(cfg, one, conf);
		econf_freeFile(one);
		if (r < 0)
			policy_config_free(cfg);
		return r;
	}

	e = econf_readDirsHistoryWithCallback(&files, &n, vendordir, etcdir, "userns", "conf",
					      "=", "#", check_file, &fc);
	if (e == ECONF_NOFILE)
		return 0;	/* nothing configured: nobody is enabled */
	if (e != ECONF_SUCCESS) {
		econf_error(e, &fc, etcdir, err, errlen);
		return -EINVAL;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		char *p = econf_getPath(files[i]);

		/* libeconf 0.5.1 does not run the callback on drop-ins. */
		r = p ? check_one(p, err, errlen) : 0;
		free(p);
		if (r == 0)
			r = merge_file(cfg, files[i], etcdir, err, errlen);
		if (r == 0)
			r = append_file_name(cfg, files[i], etcdir);
	}
	for (size_t i = 0; i < n; i++)
		econf_freeFile(files[i]);
	free(files);
	if (r < 0)
		policy_config_free(cfg);
	return r;
}

void policy_config_free(struct policy_config *cfg)
{
	for (size_t i = 0; i < cfg->n_sections; i++) {
		free(cfg->sections[i].name);
		for (int k = 0; k < KEY__COUNT; k++)
			free(cfg->sections[i].where[k]);
	}
	free(cfg->sections);
	free(cfg->files);
	memset(cfg, 0, sizeof(*cfg));
}

static void copy_key(struct policy *dst, const struct policy *src, enum policy_key key)
{
	switch (key) {
	case KEY_ENABLE:		dst->enable = src->enable; break;
	case KEY_SUBIDS:		dst->subids = src->subids; break;
	case KEY_MAX_IDS:		dst->max_ids = src->max_ids; break;
	case KEY_SETGROUPS:		dst->setgroups = src->setgroups; break;
	case KEY_SCOPE:			dst->scope = src->scope; break;
	case KEY_KILL_ON_LOGOUT:	dst->kill_on_logout = src->kill_on_logout; break;
	case KEY_SHELL:
		memcpy(dst->shell, src->shell, sizeof(dst->shell));
		break;
	case KEY__COUNT:
		break;
	}
}

static bool same_key(const struct policy *a, const struct policy *b, enum policy_key key)
{
	struct policy x, y;

	policy_defaults(&x);
	policy_defaults(&y);
	copy_key(&x, a, key);
	copy_key(&y, b, key);
	memset(x.source, 0, sizeof(x.source));
	memset(y.source, 0, sizeof(y.source));
	return !memcmp(&x, &y, sizeof(x));
}

static void apply(struct policy *out, const struct policy_section *s, const char *label)
{
	for (int k = 0; k < KEY__COUNT; k++) {
		if (!(s->set & (1u << k)))
			continue;
		copy_key(out, &s->values, (enum policy_key)k);
		if (k == KEY_ENABLE)
			snprintf(out->source, sizeof(out->source), "%s", label);
	}
}

int policy_resolve(const struct policy_config *cfg, const char *user, uid_t uid,
		   policy_in_group_fn in_group, void *ctx,
		   struct policy *out, char *err, size_t errlen)
{
	const struct policy_section *user_sec = NULL;
	const struct policy_section *by_key[KEY__COUNT] = { NULL };
	char label[300];

	policy_defaults(out);
	for (size_t i = 0; i < cfg->n_sections; i++) {
		const struct policy_section *s = &cfg->sections[i];

		if (s->kind == SECTION_DEFAULT)
			apply(out, s, "[default]");
		else if (s->kind == SECTION_USER && !strcmp(s->name, user))
			user_sec = s;
	}

	for (size_t i = 0; i < cfg->n_sections; i++) {
		const struct policy_section *s = &cfg->sections[i];

		if (s->kind != SECTION_GROUP || !in_group || !in_group(s->name, ctx))
			continue;
		for (int k = 0; k < KEY__COUNT; k++) {
			const struct policy_section *prev = by_key[k];

			if (!(s->set & (1u << k)))
				continue;
			if (prev && !same_key(&prev->values, &s->values, (enum policy_key)k) &&
			    !(user_sec && (user_sec->set & (1u << k)))) {
				seterr(err, errlen,
				       "%s and %s: [group:%s] and [group:%s] disagree on \"%s\" for user %s "
				       "(settle it in a [user:%s] section or make the groups agree)",
				       prev->where[k], s->where[k], prev->name, s->name,
				       key_names[k], user, user);
				return -ENOTUNIQ;
			}
			by_key[k] = s;
		}
		snprintf(label, sizeof(label), "[group:%s]", s->name);
		apply(out, s, label);
	}

	if (user_sec) {
		snprintf(label, sizeof(label), "[user:%s]", user);
		apply(out, user_sec, label);
	}

	/* root only by name: a [default] or group line never covers it. */
	if (uid == 0 && !(user_sec && (user_sec->set & (1u << KEY_ENABLE)) && user_sec->values.enable)) {
		out->enable = false;
		snprintf(out->source, sizeof(out->source), "root needs [user:root]");
	}
	return 0;
}
