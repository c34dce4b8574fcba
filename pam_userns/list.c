// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The status listing: every pinned namespace in the state directory,
 * with its user, scope, sessions and their openers, age, maps and the
 * processes inside (counted fully only as root: /proc/PID/ns of other
 * users' processes is not readable otherwise).
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "list.h"
#include "session.h"
#include "userns.h"

struct opener_ctx {
	const char *name;
	char text[1024];
	int n;
};

static int collect_refs(int dirfd, const char *name, struct opener_ctx *o)
{
	DIR *d;
	struct dirent *de;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	o->name = name;
	o->text[0] = '\0';
	o->n = 0;
	while ((de = readdir(d))) {
		struct ref_record ref;
		size_t len = strlen(de->d_name), used;

		if (len < 5 || strcmp(de->d_name + len - 4, ".ref") != 0)
			continue;
		if (session_read_ref(dirfd, de->d_name, &ref) < 0 || strcmp(ref.name, name) != 0)
			continue;
		used = strlen(o->text);
		snprintf(o->text + used, sizeof(o->text) - used, "%s%d(%s%s)", o->n ? "," : "",
			 (int)ref.pid, ref.service[0] ? ref.service : "?",
			 session_ref_alive(&ref) ? "" : ",gone");
		o->n++;
	}
	closedir(d);
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void show(const char *dirpath, int dirfd, const char *name, bool json, time_t now)
{
	struct ns_record rec;
	struct opener_ctx o;
	char pin[4096 + 64];
	int procs;

	if (session_read_info(dirfd, name, &rec) < 0)
		return;
	snprintf(pin, sizeof(pin), "%s/%s.ns", dirpath, name);
	if (!userns_is_pin(pin))
		return;
	collect_refs(dirfd, name, &o);
	procs = session_count_inside(pin);
	if (json) {
		printf("{\"user\":");
		json_str(rec.user);
		printf(",\"uid\":%u,\"scope\":", (unsigned int)rec.uid);
		json_str(rec.scope);
		printf(",\"pin\":");
		json_str(pin);
		printf(",\"sessions\":%d,\"openers\":", o.n);
		json_str(o.text);
		printf(",\"created\":%lld,\"age_seconds\":%lld,\"processes\":%d,\"uid_map\":",
		       rec.created, (long long)(now - rec.created), procs);
		json_str(rec.uid_map);
		printf(",\"gid_map\":");
		json_str(rec.gid_map);
		printf(",\"kill_on_logout\":%s}\n", rec.kill_on_logout ? "true" : "false");
		return;
	}
	printf("%-12s %6u %-8s %-16s %4d %-24s %7llds %5d  %s | %s\n", rec.user,
	       (unsigned int)rec.uid, rec.scope, name, o.n, o.text[0] ? o.text : "-",
	       (long long)(now - rec.created), procs, rec.uid_map, rec.gid_map);
}

int list_main(int argc, char **argv)
{
	bool json = false;
	struct dirent *de;
	time_t now = time(NULL);
	DIR *top;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "userns-shell: --list: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	top = opendir(session_statedir);
	if (!top) {
		if (errno == ENOENT)
			return 0;	/* nothing was ever pinned */
		fprintf(stderr, "userns-shell: cannot open %s: %s\n", session_statedir,
			strerror(errno));
		return 1;
	}
	if (!json)
		printf("%-12s %6s %-8s %-16s %4s %-24s %8s %5s  %s\n", "USER", "UID", "SCOPE",
		       "NAME", "SESS", "OPENERS", "AGE", "PROCS", "UID_MAP | GID_MAP");
	while ((de = readdir(top))) {
		char dirpath[4096], err[SESSION_ERR_MAX];
		struct dirent *e;
		DIR *d;
		int dirfd, fd;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		dirfd = session_open_dir((uid_t)strtoul(de->d_name, NULL, 10), false, err,
					 sizeof(err));
		if (dirfd < 0)
			continue;
		snprintf(dirpath, sizeof(dirpath), "%s/%s", session_statedir, de->d_name);
		fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			close(dirfd);
			continue;
		}
		while ((e = readdir(d))) {
			size_t len = strlen(e->d_name);
			char name[SESSION_NAME_MAX];

			if (len < 4 || len - 3 >= sizeof(name) ||
			    strcmp(e->d_name + len - 3, ".ns") != 0)
				continue;
			memcpy(name, e->d_name, len - 3);
			name[len - 3] = '\0';
			show(dirpath, dirfd, name, json, now);
		}
		closedir(d);
		close(dirfd);
	}
	closedir(top);
	return 0;
}
