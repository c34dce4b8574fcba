// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Subordinate id ranges -> an id map. The files reader here follows
 * libsubid's format and matching rule (owner by name or numeric id) but
 * is reentrant, strict about the user's own entries, and fast on large
 * files; NSS subid backends are still served through libsubid.
 */
#include "config.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shadow/subid.h>

#include "subid.h"

const char *subid_uid_file = "/etc/subuid";
const char *subid_gid_file = "/etc/subgid";
const char *subid_nsswitch_file = "/etc/nsswitch.conf";

/* 64 MiB is far more than any real subuid file; a bound, not a guess. */
#define SUBID_FILE_MAX	(64u << 20)

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

static int read_file(const char *path, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto fail;
	}
	if ((uint64_t)st.st_size > SUBID_FILE_MAX) {
		r = -EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			free(buf);
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*out = buf;
	*len = got;
	return 0;
fail:
	close(fd);
	return r;
}

/* A decimal number filling [s, e) exactly, as getulong() wants it. */
static bool parse_ulong(const char *s, const char *e, uint64_t *out)
{
	uint64_t n = 0;

	if (s == e)
		return false;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*out = n;
	return true;
}

static int push_range(struct id_range **ranges, size_t *n, size_t *cap,
		      uint64_t start, uint64_t count)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct id_range *r = realloc(*ranges, ncap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		*ranges = r;
		*cap = ncap;
	}
	(*ranges)[*n].start = start;
	(*ranges)[*n].count = count;
	(*n)++;
	return 0;
}

uint64_t subid_group_gid(const char *name)
{
	struct group gr, *res = NULL;
	size_t len = 4096;
	uint64_t gid = (uint64_t)-1;
	char *buf;
	int r;

	for (;;) {
		buf = malloc(len);
		if (!buf)
			return gid;
		r = getgrnam_r(name, &gr, buf, len, &res);
		if (r != ERANGE || len >= (1u << 22))
			break;
		free(buf);
		len *= 4;
	}
	if (r == 0 && res)
		gid = gr.gr_gid;
	free(buf);
	return gid;
}

static int files_lookup(const char *path, const char *user, uint64_t owner_id,
			struct id_range **ranges, char *err, size_t errlen)
{
	char idstr[24] = "";
	size_t ulen = strlen(user), idlen = 0, len, n = 0, cap = 0;
	unsigned int lineno = 0;
	char *buf = NULL, *p, *end;
	int r;

	len = 0;
	*ranges = NULL;
	if (owner_id != (uint64_t)-1 && owner_id != SUBID_OWNER_GROUP_OF_USER)
		idlen = (size_t)snprintf(idstr, sizeof(idstr), "%llu",
					 (unsigned long long)owner_id);

	r = read_file(path, &buf, &len);
	if (r < 0) {
		seterr(err, errlen, "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	end = buf + len;
	for (p = buf; p < end; ) {
		char *eol = memchr(p, '\n', (size_t)(end - p));
		char *c1, *c2;
		uint64_t start, count;

		if (!eol)
			eol = end;
		lineno++;
		/*
		 * Only lines whose owner field is this user are parsed: the
		 * rest belong to others, and libsubid skips what it cannot
		 * parse, so a typo there must not lock this user out.
		 */
		c1 = memchr(p, ':', (size_t)(eol - p));
		if (c1 && c1 > p && *p >= '0' && *p <= '9' &&
		    owner_id == SUBID_OWNER_GROUP_OF_USER) {
			/* A numeric owner: now the group's id is needed. */
			owner_id = subid_group_gid(user);
			if (owner_id != (uint64_t)-1)
				idlen = (size_t)snprintf(idstr, sizeof(idstr), "%llu",
							 (unsigned long long)owner_id);
		}
		if (!c1 || (!((size_t)(c1 - p) == ulen && !memcmp(p, user, ulen)) &&
			    !(idlen && (size_t)(c1 - p) == idlen && !memcmp(p, idstr, idlen))))
			goto next;
		c2 = memchr(c1 + 1, ':', (size_t)(eol - c1 - 1));
		if (eol > p && eol[-1] == '\r') {
			seterr(err, errlen, "%s:%u: malformed entry for %s (carriage return)",
			       path, lineno, user);
			r = -EINVAL;
			goto out;
		}
		if (!c2 || memchr(c2 + 1, ':', (size_t)(eol - c2 - 1)) ||
		    !parse_ulong(c1 + 1, c2, &start) || !parse_ulong(c2 + 1, eol, &count)) {
			seterr(err, errlen,
			       "%s:%u: malformed entry for %s (expected NAME:START:COUNT)",
			       path, lineno, user);
			r = -EINVAL;
			goto out;
		}
		r = push_range(ranges, &n, &cap, start, count);
		if (r < 0)
			goto out;
next:
		p = eol + 1;
	}
	r = (int)n;
out:
	free(buf);
	if (r < 0) {
		free(*ranges);
		*ranges = NULL;
	}
	return r;
}

bool subid_nss_configured(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(subid_nsswitch_file, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *s = line;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!strncmp(s, "subid:", 6)) {
			s += 6;
			while (*s == ' ' || *s == '\t')
				s++;
			/* "files" is the built-in backend libsubid uses anyway. */
			found = *s && *s != '\n' && *s != '#' && strncmp(s, "files", 5) != 0;
		}
	}
	fclose(f);
	return found;
}

/*
 * libsubid is loaded only when an NSS backend is configured: it pulls in
 * libselinux, libsemanage, libaudit and more, whose loading would
 * otherwise be most of the cost of every login (pam_start() loads the
 * module anew each time).
 *
 * libsubid keeps global state and writes its complaints to a FILE of
 * its choosing (stderr by default). Serialise our calls and hand it a
 * FILE on /dev/null opened close-on-exec, so nothing reaches the
 * application's stderr or leaks into a child.
 */
static pthread_mutex_t subid_lock = PTHREAD_MUTEX_INITIALIZER;

struct libsubid {
	bool (*init)(const char *, FILE *);
	int (*uid_ranges)(const char *, struct subid_range **);
	int (*gid_ranges)(const char *, struct subid_range **);
};

static int load_libsubid(struct libsubid *l, char *err, size_t errlen)
{
	static void *so;

	if (!so)
		so = dlopen(SUBID_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!so) {
		seterr(err, errlen, "cannot load %s for the NSS subid backend: %s", SUBID_SONAME,
		       dlerror());
		return -ENOENT;
	}
	*(void **)&l->init = dlsym(so, "subid_init");
	*(void **)&l->uid_ranges = dlsym(so, "subid_get_uid_ranges");
	*(void **)&l->gid_ranges = dlsym(so, "subid_get_gid_ranges");
	if (!l->init || !l->uid_ranges || !l->gid_ranges) {
		seterr(err, errlen, "%s lacks the subid_* functions", SUBID_SONAME);
		return -ENOENT;
	}
	return 0;
}

static int nss_lookup(enum subid_kind kind, const char *user, struct id_range **out,
		      char *err, size_t errlen)
{
	struct subid_range *ranges = NULL;
	struct libsubid l;
	FILE *sink;
	size_t cap = 0, n = 0;
	int got, r = 0;

	*out = NULL;
	pthread_mutex_lock(&subid_lock);
	r = load_libsubid(&l, err, errlen);
	if (r < 0) {
		pthread_mutex_unlock(&subid_lock);
		return r;
	}
	sink = fopen("/dev/null", "we");
	if (!sink) {
		r = -errno;
		pthread_mutex_unlock(&subid_lock);
		return r;
	}
	l.init(NULL, sink);
	got = kind == SUBID_UID ? l.uid_ranges(user, &ranges) : l.gid_ranges(user, &ranges);
	l.init(NULL, stderr);
	pthread_mutex_unlock(&subid_lock);
	fclose(sink);

	if (got < 0) {
		seterr(err, errlen, "the NSS subid backend could not list the %s ranges of %s",
		       kind == SUBID_UID ? "subuid" : "subgid", user);
		return -EIO;
	}
	for (int i = 0; i < got && r == 0; i++)
		r = push_range(out, &n, &cap, ranges[i].start, ranges[i].count);
	free(ranges);
	if (r < 0) {
		free(*out);
		*out = NULL;
		return r;
	}
	return (int)n;
}

int subid_lookup(enum subid_kind kind, const char *user, uint64_t owner_id,
		 struct id_range **ranges, char *err, size_t errlen)
{
	if (subid_nss_configured())
		return nss_lookup(kind, user, ranges, err, errlen);
	return files_lookup(kind == SUBID_UID ? subid_uid_file : subid_gid_file, user,
			    owner_id, ranges, err, errlen);
}

int idmap_build(struct idmap *map, uint32_t self, const struct id_range *ranges, size_t n,
		uint64_t max_ids, const char *what, char *err, size_t errlen)
{
	uint64_t left = max_ids, inside = 1;
	char text[IDMAP_MAX_BYTES + 1];

	memset(map, 0, sizeof(*map));
	map->ext[0] = (struct idmap_extent){ .inside = 0, .outside = self, .count = 1 };
	map->n = 1;
	map->total = 1;

	for (size_t i = 0; i < n; i++) {
		uint64_t s = ranges[i].start, c = ranges[i].count, e;

		if (c == 0) {
			seterr(err, errlen, "%s range %llu:0 is empty", what,
			       (unsigned long long)s);
			return -EINVAL;
		}
		/* (uid_t)-1 is never a valid id, so the last usable is 2^32-2. */
		if (s > 0xfffffffeULL || c > 0xffffffffULL - s) {
			seterr(err, errlen, "%s range %llu:%llu runs past the 32-bit id space",
			       what, (unsigned long long)s, (unsigned long long)c);
			return -ERANGE;
		}
		e = s + c;	/* exclusive */
		if (s == 0) {
			seterr(err, errlen, "%s range %llu:%llu contains id 0 (root)", what,
			       (unsigned long long)s, (unsigned long long)c);
			return -EPERM;
		}
		if (self >= s && self < e) {
			seterr(err, errlen, "%s range %llu:%llu contains the user's own id %u",
			       what, (unsigned long long)s, (unsigned long long)c, self);
			return -EPERM;
		}
		for (size_t j = 0; j < i; j++) {
			uint64_t s2 = ranges[j].start, e2 = s2 + ranges[j].count;

			if (s < e2 && s2 < e) {
				seterr(err, errlen, "%s ranges %llu:%llu and %llu:%llu overlap",
				       what, (unsigned long long)s2,
				       (unsigned long long)ranges[j].count,
				       (unsigned long long)s, (unsigned long long)c);
				return -EINVAL;
			}
		}
		if (!left)
			continue;	/* validated, but past the cap */
		if (c > left)
			c = left;
		if (map->n == IDMAP_MAX_LINES) {
			seterr(err, errlen, "%s map would need more than %d lines (the kernel's limit)",
			       what, IDMAP_MAX_LINES);
			return -E2BIG;
		}
		if (inside + c > 0xffffffffULL) {
			seterr(err, errlen, "%s map runs past the 32-bit id space inside", what);
			return -ERANGE;
		}
		map->ext[map->n++] = (struct idmap_extent){
			.inside = (uint32_t)inside, .outside = (uint32_t)s, .count = (uint32_t)c,
		};
		inside += c;
		left -= c;
		map->total += c;
	}
	if (idmap_format(map, text, sizeof(text)) < 0) {
		seterr(err, errlen, "%s map is longer than %d bytes (the kernel's limit)", what,
		       IDMAP_MAX_BYTES);
		return -E2BIG;
	}
	return 0;
}

int idmap_format(const struct idmap *map, char *buf, size_t len)
{
	size_t off = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < map->n; i++) {
		int w = snprintf(buf + off, len - off, "%u %u %u\n", map->ext[i].inside,
				 map->ext[i].outside, map->ext[i].count);

		if (w < 0 || (size_t)w >= len - off)
			return -E2BIG;
		off += (size_t)w;
	}
	if (off > IDMAP_MAX_BYTES)
		return -E2BIG;
	return (int)off;
}
