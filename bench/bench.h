/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PAM_USERNS_BENCH_H
#define PAM_USERNS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* --- time ---------------------------------------------------------------- */

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double us_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1000.0;
}

/* --- samples and statistics (util.c) --------------------------------------- */

struct sample {
	char label[96];
	double *v;			/* microseconds */
	size_t n, cap;
};

struct summary {
	size_t n;
	double median, p10, p90, mad, mean;
};

void sample_init(struct sample *s, const char *label);
void sample_add(struct sample *s, double us);
void sample_free(struct sample *s);
void sample_summary(const struct sample *s, struct summary *out);
double sample_median(const struct sample *s);

/*
 * Ratio of the medians of a and b with a 90% bootstrap interval
 * (fixed seed: the same data give the same interval).
 */
void ratio_ci(const struct sample *a, const struct sample *b, double *ratio,
	      double *lo, double *hi);

/*
 * Median of the per-round differences a[i] - b[i] (samples taken in the
 * same rounds), with a 90% bootstrap interval.
 */
void paired_diff(const struct sample *a, const struct sample *b, double *med, double *lo,
		 double *hi);

/* --- tables (util.c) -------------------------------------------------------- */

/* unit: 1 = microseconds, 1000 = milliseconds. */
void table_begin(const char *title, double unit);
/* One row; base (may be NULL or s itself) gives the ratio column. */
void table_row(const struct sample *s, const struct sample *base);
/* A free-form row: label and text, aligned with the others. */
void table_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void table_end(void);

/*
 * A target line: "target: WHAT: VALUE (limit LIMIT) -> met|MISSED".
 * Returns whether it was met.
 */
bool target(const char *what, double value, double limit, bool below, const char *unit);
bool target_ratio(const char *what, const struct sample *a, const struct sample *b,
		  double limit);

/* --- processes ---------------------------------------------------------- */

struct cred {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[64];
};

/* uid, gid and supplementary groups of a user from the user database. */
int cred_of(const char *user, struct cred *c);

/*
 * vfork-style spawn of argv as c (NULL: as we are), stdin from /dev/null, stdout and
 * stderr to outfd (-1: /dev/null). Returns the wait status or -errno;
 * *us (if not NULL) gets the time from before the clone to after the reap.
 */
int spawn(const struct cred *c, char *const argv[], char *const envp[], int outfd, double *us);

/* spawn() capturing stdout+stderr into buf; returns the wait status. */
int spawn_capture(const struct cred *c, char *const argv[], char *const envp[], char *buf,
		  size_t len);

/* --- files and the system ------------------------------------------------------ */

char *read_text(const char *path, size_t *len);	/* malloc'd, NUL-terminated */
/* Replace a file's content keeping its inode (the bed's fixtures are binds). */
int write_inplace(const char *path, const char *text, size_t len);
int write_new(const char *path, const char *text, mode_t mode);

struct meminfo {
	long long mem_available, slab, sreclaimable, sunreclaim, shmem, kernel_stack;
	long long page_tables;
};
int read_meminfo(struct meminfo *m);
long long self_rss_kb(void);
int count_processes(void);
int count_mounts(void);

struct slab {
	char name[64];
	long long bytes;		/* active objects * object size */
};

struct slabs {
	struct slab *e;
	size_t n, cap;
};

int read_slabs(struct slabs *sl);
/* "cache B, ..." : the caches that grew most from a to b, per one of n. */
void slabs_growth(const struct slabs *a, const struct slabs *b, int n, char *out, size_t len);
void slabs_free(struct slabs *sl);

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void *xmalloc(size_t n);
char *xstrdup(const char *s);

/* --- the floor (floor.c) ---------------------------------------------------- */

struct floor {
	uid_t uid;
	gid_t gid;
	const char *uid_map, *gid_map;
	size_t uid_len, gid_len;
	bool setgroups_deny;
	char pin[4096];
	void *stack;
	size_t stack_size;
	int state;			/* child: 0 running, 1 unshared, < 0 -errno */
	int go;				/* parent: 1 = the child may exit */
};

int floor_init(struct floor *f, uid_t uid, gid_t gid, const char *uid_map,
	       const char *gid_map, bool setgroups_deny, const char *pin);
/* Create, map and pin a namespace (the child reaped); *us gets the time. */
int floor_create(struct floor *f, double *us);
/* Unpin it. */
int floor_remove(struct floor *f, double *us);
void floor_fini(struct floor *f);

#endif
