// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The benchmark's plumbing: samples and statistics, tables, spawning a
 * process as a user, files and /proc readings.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

/* --- samples ---------------------------------------------------------------- */

void sample_init(struct sample *s, const char *label)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->label, sizeof(s->label), "%s", label);
}

void sample_add(struct sample *s, double us)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 256;
		double *v = realloc(s->v, ncap * sizeof(*v));

		if (!v)
			die("out of memory");
		s->v = v;
		s->cap = ncap;
	}
	s->v[s->n++] = us;
}

void sample_free(struct sample *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Linear interpolation between the closest ranks of sorted v. */
static double quantile(const double *v, size_t n, double q)
{
	double pos, frac;
	size_t i;

	if (!n)
		return NAN;
	pos = q * (double)(n - 1);
	i = (size_t)pos;
	frac = pos - (double)i;
	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + frac * (v[i + 1] - v[i]);
}

static double *sorted_copy(const double *v, size_t n)
{
	double *c = xmalloc(n * sizeof(*c));

	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	return c;
}

void sample_summary(const struct sample *s, struct summary *out)
{
	double *c, *dev, sum = 0;

	memset(out, 0, sizeof(*out));
	out->n = s->n;
	if (!s->n) {
		out->median = out->p10 = out->p90 = out->mad = out->mean = NAN;
		return;
	}
	c = sorted_copy(s->v, s->n);
	out->median = quantile(c, s->n, 0.5);
	out->p10 = quantile(c, s->n, 0.1);
	out->p90 = quantile(c, s->n, 0.9);
	dev = xmalloc(s->n * sizeof(*dev));
	for (size_t i = 0; i < s->n; i++) {
		dev[i] = fabs(c[i] - out->median);
		sum += c[i];
	}
	qsort(dev, s->n, sizeof(*dev), cmp_double);
	out->mad = quantile(dev, s->n, 0.5);
	out->mean = sum / (double)s->n;
	free(dev);
	free(c);
}

double sample_median(const struct sample *s)
{
	struct summary sm;

	sample_summary(s, &sm);
	return sm.median;
}

/* xorshift64*: a fixed-seed generator for the bootstrap. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static double resampled_median(const double *v, size_t n, double *scratch)
{
	for (size_t i = 0; i < n; i++)
		scratch[i] = v[rng() % n];
	qsort(scratch, n, sizeof(*scratch), cmp_double);
	return quantile(scratch, n, 0.5);
}

void ratio_ci(const struct sample *a, const struct sample *b, double *ratio,
	      double *lo, double *hi)
{
	enum { ROUNDS = 400 };
	double r[ROUNDS], *sa, *sb;

	*ratio = sample_median(a) / sample_median(b);
	*lo = *hi = *ratio;
	if (a->n < 5 || b->n < 5)
		return;
	rng_state = 0x9e3779b97f4a7c15ULL;
	sa = xmalloc(a->n * sizeof(*sa));
	sb = xmalloc(b->n * sizeof(*sb));
	for (int i = 0; i < ROUNDS; i++)
		r[i] = resampled_median(a->v, a->n, sa) / resampled_median(b->v, b->n, sb);
	qsort(r, ROUNDS, sizeof(r[0]), cmp_double);
	*lo = quantile(r, ROUNDS, 0.05);
	*hi = quantile(r, ROUNDS, 0.95);
	free(sa);
	free(sb);
}

void paired_diff(const struct sample *a, const struct sample *b, double *med, double *lo,
		 double *hi)
{
	enum { ROUNDS = 400 };
	size_t n = a->n < b->n ? a->n : b->n;
	double r[ROUNDS], *d, *scratch;

	*med = *lo = *hi = NAN;
	if (!n)
		return;
	d = xmalloc(n * sizeof(*d));
	scratch = xmalloc(n * sizeof(*scratch));
	for (size_t i = 0; i < n; i++)
		d[i] = a->v[i] - b->v[i];
	memcpy(scratch, d, n * sizeof(*d));
	qsort(scratch, n, sizeof(*scratch), cmp_double);
	*med = quantile(scratch, n, 0.5);
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < ROUNDS; i++)
		r[i] = resampled_median(d, n, scratch);
	qsort(r, ROUNDS, sizeof(r[0]), cmp_double);
	*lo = quantile(r, ROUNDS, 0.05);
	*hi = quantile(r, ROUNDS, 0.95);
	free(d);
	free(scratch);
}

/* --- tables ----------------------------------------------------------------- */

static double table_unit = 1;

void table_begin(const char *title, double unit)
{
	table_unit = unit;
	printf("\n== %s ==\n", title);
	printf("%-60s %6s %10s %10s %10s %9s %8s\n", "variant", "n",
	       table_unit >= 1000 ? "median ms" : "median us", "p10", "p90", "MAD", "ratio");
}

static void fmt_val(char *buf, size_t len, double us)
{
	double v = us / table_unit;

	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v >= 10000)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 100)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

void table_row(const struct sample *s, const struct sample *base)
{
	struct summary sm;
	char med[32], p10[32], p90[32], mad[32], ratio[32] = "";

	sample_summary(s, &sm);
	fmt_val(med, sizeof(med), sm.median);
	fmt_val(p10, sizeof(p10), sm.p10);
	fmt_val(p90, sizeof(p90), sm.p90);
	fmt_val(mad, sizeof(mad), sm.mad);
	if (base && base != s && base->n)
		snprintf(ratio, sizeof(ratio), "%.2fx", sm.median / sample_median(base));
	else if (base == s)
		snprintf(ratio, sizeof(ratio), "1.00x");
	printf("%-60.60s %6zu %10s %10s %10s %9s %8s\n", s->label, sm.n, med, p10, p90, mad,
	       ratio);
}

void table_note(const char *fmt, ...)
{
	va_list ap;

	fputs("  ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void table_end(void)
{
	fflush(stdout);
}

bool target(const char *what, double value, double limit, bool below, const char *unit)
{
	bool met = below ? value <= limit : value >= limit;

	printf("  target: %s: %.3g%s (%s %.3g%s) -> %s\n", what, value, unit,
	       below ? "limit" : "at least", limit, unit, met ? "met" : "MISSED");
	return met;
}

bool target_ratio(const char *what, const struct sample *a, const struct sample *b,
		  double limit)
{
	double r, lo, hi;
	bool met;

	ratio_ci(a, b, &r, &lo, &hi);
	met = r <= limit;
	printf("  target: %s: %.3fx [90%% CI %.3f-%.3f] (limit %.2fx) -> %s", what, r, lo, hi,
	       limit, met ? "met" : "MISSED");
	if (!met)
		printf(" by %.1f%%", (r / limit - 1) * 100);
	printf("\n");
	return met;
}

/* --- processes -------------------------------------------------------------- */

int cred_of(const char *user, struct cred *c)
{
	struct passwd *pw = getpwnam(user);

	memset(c, 0, sizeof(*c));
	if (!pw)
		return -ENOENT;
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	c->ngroups = (int)(sizeof(c->groups) / sizeof(c->groups[0]));
	if (getgrouplist(user, pw->pw_gid, c->groups, &c->ngroups) < 0)
		return -E2BIG;
	return 0;
}

struct spawn_args {
	const struct cred *c;
	char *const *argv, *const *envp;
	int in, out;
};

/*
 * The child of spawn(): it shares our memory until it execs (CLONE_VM |
 * CLONE_VFORK), so raw system calls only: no glibc set*id broadcast, no
 * stdio, no malloc.
 */
static int spawn_child(void *arg)
{
	const struct spawn_args *a = arg;
	const struct cred *c = a->c;

	if (syscall(SYS_dup2, a->in, 0) < 0 || syscall(SYS_dup2, a->out, 1) < 0 ||
	    syscall(SYS_dup2, a->out, 2) < 0)
		return 126;
	if (c && (syscall(SYS_setgroups, c->ngroups, c->groups) < 0 ||
		  syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
		  syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0))
		return 126;
	syscall(SYS_execve, a->argv[0], a->argv, a->envp);
	return 127;
}

#define SPAWN_STACK (64 * 1024)

int spawn(const struct cred *c, char *const argv[], char *const envp[], int outfd, double *us)
{
	static char *stack;
	struct spawn_args a = { c, argv, envp, -1, -1 };
	int null, st, r = 0;
	uint64_t t0;
	pid_t pid;

	if (!stack) {
		stack = mmap(NULL, SPAWN_STACK, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED) {
			stack = NULL;
			return -errno;
		}
	}
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -errno;
	a.in = null;
	a.out = outfd < 0 ? null : outfd;
	t0 = now_ns();
	pid = clone(spawn_child, stack + SPAWN_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			r = -errno;
			goto out;
		}
	}
	if (us)
		*us = us_since(t0);
	r = st;
out:
	close(null);
	return r;
}

int spawn_capture(const struct cred *c, char *const argv[], char *const envp[], char *buf,
		  size_t len)
{
	char path[] = "/tmp/bench-out.XXXXXX";
	ssize_t n;
	int fd, st;

	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(path);
	st = spawn(c, argv, envp, fd, NULL);
	n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return st;
}

/* --- files ------------------------------------------------------------------ */

char *read_text(const char *path, size_t *lenp)
{
	size_t len = 0, cap = 65536;
	char *buf = xmalloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			char *p = realloc(buf, cap * 2);

			if (!p)
				die("out of memory");
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

static int write_all(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		text += n;
		len -= (size_t)n;
	}
	return 0;
}

int write_inplace(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, text, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

int write_new(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
		      mode);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, text, strlen(text));
	if (fchmod(fd, mode) < 0 && r == 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* --- /proc ------------------------------------------------------------------ */

static long long field_kb(const char *text, const char *key)
{
	const char *p = text;
	size_t klen = strlen(key);

	while ((p = strstr(p, key))) {
		if ((p == text || p[-1] == '\n') && p[klen] == ':')
			return strtoll(p + klen + 1, NULL, 10);
		p += klen;
	}
	return -1;
}

int read_meminfo(struct meminfo *m)
{
	char *t = read_text("/proc/meminfo", NULL);

	if (!t)
		return -errno;
	m->mem_available = field_kb(t, "MemAvailable");
	m->slab = field_kb(t, "Slab");
	m->sreclaimable = field_kb(t, "SReclaimable");
	m->sunreclaim = field_kb(t, "SUnreclaim");
	m->shmem = field_kb(t, "Shmem");
	m->kernel_stack = field_kb(t, "KernelStack");
	m->page_tables = field_kb(t, "PageTables");
	free(t);
	return 0;
}

long long self_rss_kb(void)
{
	char *t = read_text("/proc/self/status", NULL);
	long long v;

	if (!t)
		return -1;
	v = field_kb(t, "VmRSS");
	free(t);
	return v;
}

int count_processes(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]))
			n++;
	closedir(d);
	return n;
}

int count_mounts(void)
{
	char *t = read_text("/proc/self/mountinfo", NULL);
	int n = 0;

	if (!t)
		return -errno;
	for (char *p = t; *p; p++)
		n += *p == '\n';
	free(t);
	return n;
}

/* --- /proc/slabinfo ------------------------------------------------------------- */

int read_slabs(struct slabs *sl)
{
	char *t = read_text("/proc/slabinfo", NULL), *line, *save = NULL;

	memset(sl, 0, sizeof(*sl));
	if (!t)
		return -errno;
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct slab *e;
		char name[64];
		long long active, total, size;

		if (sscanf(line, "%63s %lld %lld %lld", name, &active, &total, &size) != 4)
			continue;
		if (sl->n == sl->cap) {
			size_t ncap = sl->cap ? 2 * sl->cap : 256;
			struct slab *p = realloc(sl->e, ncap * sizeof(*p));

			if (!p)
				die("out of memory");
			sl->e = p;
			sl->cap = ncap;
		}
		e = &sl->e[sl->n++];
		snprintf(e->name, sizeof(e->name), "%s", name);
		e->bytes = active * size;
	}
	free(t);
	return 0;
}

static int cmp_growth(const void *a, const void *b)
{
	const struct slab *x = a, *y = b;

	return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

void slabs_growth(const struct slabs *a, const struct slabs *b, int n, char *out, size_t len)
{
	struct slab *g = xmalloc((b->n ? b->n : 1) * sizeof(*g));
	size_t k = 0, off = 0;

	for (size_t i = 0; i < b->n; i++) {
		long long before = 0;

		for (size_t j = 0; j < a->n; j++)
			if (!strcmp(a->e[j].name, b->e[i].name)) {
				before = a->e[j].bytes;
				break;
			}
		g[k] = b->e[i];
		g[k++].bytes -= before;
	}
	qsort(g, k, sizeof(*g), cmp_growth);
	out[0] = '\0';
	for (size_t i = 0; i < k && i < 8; i++) {
		double per = (double)g[i].bytes / n;
		int w;

		if (per < 16)
			break;
		w = snprintf(out + off, len - off, "%s%s %.0f B", off ? ", " : "", g[i].name, per);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	free(g);
}

void slabs_free(struct slabs *sl)
{
	free(sl->e);
	memset(sl, 0, sizeof(*sl));
}
