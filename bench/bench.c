// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pam_userns_bench: what a namespaced login costs (issue 5).
 *
 *   pam_userns_bench ITEM...     inside the test bed (bench/run.sh does it)
 *
 * Items: core (1, 2), breakdown (1, internal timers), entry (3),
 * caller (4), ssh (5), scale (6), users (7). Each prints one or more
 * tables: median, p10, p90 and MAD of in-process CLOCK_MONOTONIC
 * timings over many iterations, ratios of medians against a baseline
 * measured in the same run (variants interleaved round by round), and
 * target lines. BENCH_QUICK=1 cuts the iteration counts.
 *
 * Environment: PAM_USERNS_MODULE (the built .so), USERNS_SHELL (the
 * built userns-shell), TESTBED_DIR (set by the bed), TESTBED_SSH_KEY
 * (ssh only).
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "bench.h"
#include "policy.h"
#include "session.h"
#include "subid.h"
#include "userns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static bool quick;
static const char *module_path;
static const char *module_b_path;		/* BENCH_MODULE_B: a second build to compare */
static const char *shell_path;
static char scratch[PATH_MAX];
static char pamdir[PATH_MAX + 16];
static char conf_default[PATH_MAX + 32];	/* [default] enable = yes */
static char conf_group[PATH_MAX + 32];		/* [group:sandboxed] enable = yes */

#define USER "alice"

static void read_full(int fd, void *buf, size_t len);
static void write_full(int fd, const void *buf, size_t len);

/* Iterations: full, or quick. */
static size_t iters(size_t full, size_t fast)
{
	return quick ? fast : full;
}

/* --- PAM ---------------------------------------------------------------------- */

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	*resp = NULL;
	return PAM_CONV_ERR;	/* a session stack has nothing to ask */
}

static const struct pam_conv pam_conversation = { conv, NULL };

static pam_handle_t *pam_begin(const char *service, const char *user)
{
	pam_handle_t *pamh = NULL;
	int r = pam_start_confdir(service, user, &pam_conversation, pamdir, &pamh);

	if (r != PAM_SUCCESS)
		die("pam_start_confdir(%s, %s): %s", service, user, pam_strerror(pamh, r));
	return pamh;
}

static void pam_open(pam_handle_t *pamh, const char *service, const char *user)
{
	int r = pam_open_session(pamh, 0);

	if (r != PAM_SUCCESS)
		die("pam_open_session(%s, %s): %s (see %s/syslog)", service, user,
		    pam_strerror(pamh, r), getenv("TESTBED_DIR"));
}

static void pam_close(pam_handle_t *pamh, const char *service, const char *user)
{
	int r = pam_close_session(pamh, 0);

	if (r != PAM_SUCCESS)
		die("pam_close_session(%s, %s): %s", service, user, pam_strerror(pamh, r));
}

/*
 * One login's PAM session part, as sshd's monitor does it: pam_start,
 * open, close, pam_end. oc gets open+close, whole all of it.
 */
static void pam_cycle(const char *service, const char *user, struct sample *oc,
		      struct sample *whole)
{
	uint64_t t0 = now_ns(), t1, t2;
	pam_handle_t *pamh = pam_begin(service, user);

	t1 = now_ns();
	pam_open(pamh, service, user);
	pam_close(pamh, service, user);
	t2 = now_ns();
	pam_end(pamh, PAM_SUCCESS);
	if (oc)
		sample_add(oc, (double)(t2 - t1) / 1000.0);
	if (whole)
		sample_add(whole, us_since(t0));
}

/* Does one open_session really pin a namespace, and does close remove it? */
static void check_module(const char *service, const char *user)
{
	pam_handle_t *pamh = pam_begin(service, user);
	const char *pin;
	struct statfs sfs;
	char *copy;

	pam_open(pamh, service, user);
	pin = pam_getenv(pamh, SESSION_ENV);
	if (!pin)
		die("%s: pam_userns set no %s for %s", service, SESSION_ENV, user);
	if (statfs(pin, &sfs) < 0 || sfs.f_type != NSFS_MAGIC)
		die("%s is not a namespace pin", pin);
	copy = xstrdup(pin);
	pam_close(pamh, service, user);
	pam_end(pamh, PAM_SUCCESS);
	if (access(copy, F_OK) == 0)
		die("%s is still there after close_session", copy);
	free(copy);
}

/* --- set-up ------------------------------------------------------------------- */

static void setup(void)
{
	const char *bed = getenv("TESTBED_DIR");
	char path[PATH_MAX + 64], text[PATH_MAX + 256];
	struct stat st;
	int r;

	if (!bed || !*bed)
		die("not in the test bed (TESTBED_DIR is unset): run bench/run.sh or make bench");
	if (geteuid() != 0)
		die("must run as root (inside the test bed)");
	module_path = getenv("PAM_USERNS_MODULE");
	shell_path = getenv("USERNS_SHELL");
	if (!module_path || module_path[0] != '/' || stat(module_path, &st) < 0)
		die("PAM_USERNS_MODULE must name the built pam_userns.so by absolute path");
	if (!shell_path || shell_path[0] != '/' || access(shell_path, X_OK) < 0)
		die("USERNS_SHELL must name the built userns-shell by absolute path");
	quick = getenv("BENCH_QUICK") && *getenv("BENCH_QUICK") &&
		strcmp(getenv("BENCH_QUICK"), "0") != 0;

	snprintf(scratch, sizeof(scratch), "%s/bench", bed);
	snprintf(pamdir, sizeof(pamdir), "%s/pam.d", scratch);
	if ((mkdir(scratch, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(pamdir, 0755) < 0 && errno != EEXIST))
		die("cannot create %s: %s", pamdir, strerror(errno));

	snprintf(conf_default, sizeof(conf_default), "%s/userns.conf", scratch);
	r = write_new(conf_default,
		      "# pam_userns benchmark: every user (not root) gets a namespace\n"
		      "[default]\nenable = yes\nsubids = auto\nshell = /bin/sh\n", 0644);
	snprintf(conf_group, sizeof(conf_group), "%s/userns-group.conf", scratch);
	if (r == 0)
		r = write_new(conf_group,
			      "# pam_userns benchmark: members of group sandboxed\n"
			      "[default]\nenable = no\n\n"
			      "[group:sandboxed]\nenable = yes\nsubids = auto\nshell = /bin/sh\n",
			      0644);
	if (r < 0)
		die("cannot write the configuration fixtures: %s", strerror(-r));

	snprintf(path, sizeof(path), "%s/permit", pamdir);
	r = write_new(path, "session required pam_permit.so\n", 0644);
	snprintf(path, sizeof(path), "%s/userns", pamdir);
	snprintf(text, sizeof(text), "session required pam_permit.so\n"
		 "session required %s conf=%s\n", module_path, conf_default);
	if (r == 0)
		r = write_new(path, text, 0644);
	snprintf(path, sizeof(path), "%s/userns-group", pamdir);
	snprintf(text, sizeof(text), "session required pam_permit.so\n"
		 "session required %s conf=%s\n", module_path, conf_group);
	if (r == 0)
		r = write_new(path, text, 0644);
	module_b_path = getenv("BENCH_MODULE_B");
	if (module_b_path && !*module_b_path)
		module_b_path = NULL;
	if (module_b_path) {
		if (module_b_path[0] != '/' || stat(module_b_path, &st) < 0)
			die("BENCH_MODULE_B must name a built pam_userns.so by absolute path");
		snprintf(path, sizeof(path), "%s/userns-b", pamdir);
		snprintf(text, sizeof(text), "session required pam_permit.so\n"
			 "session required %s conf=%s\n", module_b_path, conf_default);
		if (r == 0)
			r = write_new(path, text, 0644);
	}
	if (r < 0)
		die("cannot write the PAM services: %s", strerror(-r));
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* The user's maps as pam_userns builds them (0 -> self, 1.. -> subids). */
struct maps {
	char uid_map[IDMAP_MAX_BYTES + 1];
	char gid_map[IDMAP_MAX_BYTES + 1];
	bool setgroups_deny;
	uid_t uid;
	gid_t gid;
};

static void build_maps(const char *user, struct maps *m)
{
	struct passwd *pw = getpwnam(user);
	struct id_range *ranges = NULL;
	struct idmap map;
	char err[512] = "";
	int n;

	if (!pw)
		die("no user %s", user);
	m->uid = pw->pw_uid;
	m->gid = pw->pw_gid;
	n = subid_lookup(SUBID_UID, user, pw->pw_uid, &ranges, err, sizeof(err));
	if (n < 0 || idmap_build(&map, pw->pw_uid, ranges, (size_t)n, POLICY_MAX_IDS_DEFAULT,
				 "subuid", err, sizeof(err)) < 0 ||
	    idmap_format(&map, m->uid_map, sizeof(m->uid_map)) < 0)
		die("uid map of %s: %s", user, err);
	free(ranges);
	ranges = NULL;
	n = subid_lookup(SUBID_GID, user, pw->pw_gid, &ranges, err, sizeof(err));
	if (n < 0 || idmap_build(&map, pw->pw_gid, ranges, (size_t)n, POLICY_MAX_IDS_DEFAULT,
				 "subgid", err, sizeof(err)) < 0 ||
	    idmap_format(&map, m->gid_map, sizeof(m->gid_map)) < 0)
		die("gid map of %s: %s", user, err);
	m->setgroups_deny = map.n == 1;
	free(ranges);
}

/* "0 2001 1\n1 200000 65536\n" (or the kernel's padded columns) -> "0 2001 1;1 200000 65536" */
static void one_line(char *s)
{
	char *w = s;
	bool space = false;

	for (const char *r = s; *r; r++) {
		if (*r == '\n') {
			while (w > s && w[-1] == ' ')
				w--;
			if (r[1])
				*w++ = ';';
			space = false;
		} else if (*r == ' ' || *r == '\t') {
			space = w > s && w[-1] != ';';
		} else {
			if (space)
				*w++ = ' ';
			space = false;
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* --- items 1 and 2: open+close vs pam_permit vs the floor ------------------------ */

static void item_core(void)
{
	struct sample permit_oc, permit_all, userns_oc, userns_all, floor_all, floor_mk,
		      floor_rm, lib, b_oc, b_all;
	int workloads = module_b_path ? 5 : 4;
	size_t rounds = iters(3000, 400), warm = 50;
	char pin[PATH_MAX + 64], err[USERNS_ERR_MAX];
	struct floor fl;
	struct maps m;
	int r;

	build_maps(USER, &m);
	check_module("userns", USER);
	snprintf(pin, sizeof(pin), "%s/floor.pin", scratch);
	r = floor_init(&fl, m.uid, m.gid, m.uid_map, m.gid_map, m.setgroups_deny, pin);
	if (r < 0)
		die("floor: %s", strerror(-r));

	sample_init(&permit_oc, "pam_permit only: open+close");
	sample_init(&userns_oc, "pam_userns: open+close");
	sample_init(&permit_all, "pam_permit only: pam_start..pam_end");
	sample_init(&userns_all, "pam_userns: pam_start..pam_end");
	sample_init(&floor_all, "floor: create+map+pin, unpin (bench/floor.c)");
	sample_init(&floor_mk, "  floor: create+map+pin (child reaped)");
	sample_init(&floor_rm, "  floor: unpin (umount2 MNT_DETACH + unlink)");
	sample_init(&lib, "userns_create_pinned+userns_unpin (module code)");
	sample_init(&b_oc, "BENCH_MODULE_B: open+close");
	sample_init(&b_all, "BENCH_MODULE_B: pam_start..pam_end");
	if (module_b_path)
		check_module("userns-b", USER);

	for (size_t i = 0; i < rounds + warm; i++) {
		bool keep = i >= warm;

		for (int k = 0; k < workloads; k++) {
			double a, b;

			switch ((k + i) % (size_t)workloads) {
			case 0:
				pam_cycle("permit", USER, keep ? &permit_oc : NULL,
					  keep ? &permit_all : NULL);
				break;
			case 1:
				pam_cycle("userns", USER, keep ? &userns_oc : NULL,
					  keep ? &userns_all : NULL);
				break;
			case 2:
				if ((r = floor_create(&fl, &a)) < 0 ||
				    (r = floor_remove(&fl, &b)) < 0)
					die("floor: %s", strerror(-r));
				if (keep) {
					sample_add(&floor_mk, a);
					sample_add(&floor_rm, b);
					sample_add(&floor_all, a + b);
				}
				break;
			case 3: {
				struct ns_spec spec = {
					.kinds = CLONE_NEWUSER, .uid = m.uid, .gid = m.gid,
					.uid_map = m.uid_map, .gid_map = m.gid_map,
					.setgroups_deny = m.setgroups_deny,
				};
				uint64_t t0 = now_ns();

				if ((r = userns_create_pinned(&spec, pin, err, sizeof(err))) < 0)
					die("userns_create_pinned: %s", err);
				if ((r = userns_unpin(pin)) < 0)
					die("userns_unpin: %s", strerror(-r));
				if (keep)
					sample_add(&lib, us_since(t0));
				break;
			}
			case 4:
				pam_cycle("userns-b", USER, keep ? &b_oc : NULL, keep ? &b_all : NULL);
				break;
			}
		}
	}
	floor_fini(&fl);

	one_line(m.uid_map);
	one_line(m.gid_map);
	table_begin("1. pam_open_session+pam_close_session through libpam (alice, subids auto)", 1);
	table_note("uid_map %s | gid_map %s | %zu rounds, %d workloads interleaved", m.uid_map,
		   m.gid_map, rounds, workloads);
	table_row(&permit_oc, &permit_oc);
	table_row(&userns_oc, &permit_oc);
	table_row(&permit_all, &permit_all);
	table_row(&userns_all, &permit_all);
	table_note("pam_userns adds %.1f us to open+close, %.1f us to pam_start..pam_end",
		   sample_median(&userns_oc) - sample_median(&permit_oc),
		   sample_median(&userns_all) - sample_median(&permit_all));
	if (module_b_path) {
		table_note("BENCH_MODULE_B = %s", module_b_path);
		table_row(&b_oc, &userns_oc);
		table_row(&b_all, &userns_all);
	}
	table_end();

	table_begin("2. the floor: the same kernel work, no PAM, no config, no state dir", 1);
	table_row(&floor_all, &floor_all);
	table_row(&floor_mk, &floor_all);
	table_row(&floor_rm, &floor_all);
	table_row(&lib, &floor_all);
	table_row(&userns_oc, &floor_all);
	if (module_b_path)
		table_row(&b_oc, &floor_all);
	target_ratio("pam_userns open+close / floor", &userns_oc, &floor_all, 1.3);
	target("what pam_userns adds to open+close (minus pam_permit's) / floor",
	       (sample_median(&userns_oc) - sample_median(&permit_oc)) / sample_median(&floor_all),
	       1.3, true, "x");
	if (module_b_path)
		target_ratio("BENCH_MODULE_B open+close / floor", &b_oc, &floor_all, 1.3);
	table_end();

	sample_free(&permit_oc);
	sample_free(&permit_all);
	sample_free(&userns_oc);
	sample_free(&userns_all);
	sample_free(&floor_all);
	sample_free(&floor_mk);
	sample_free(&floor_rm);
	sample_free(&lib);
	sample_free(&b_oc);
	sample_free(&b_all);
}

/* --- item 1, internal timers: where the module's time goes ----------------------- */

static bool bd_in_group(const char *group, void *ctx)
{
	return false;
}

static void item_breakdown(void)
{
	enum { PW, POL, SUB, BEGIN, END, LOG, SUM, NS, N_PARTS };
	static const char *const names[N_PARTS] = {
		"getpwnam_r + getgrnam_r (user database)",
		"policy_load + policy_resolve (libeconf)",
		"subid_lookup x2 + idmap_build/format",
		"session_begin (state dir + namespace + pin)",
		"session_end (state dir + unpin + sweep)",
		"syslog() x2 (one line at open, one at close)",
		"sum of the above",
		"  of which userns_create_pinned+unpin",
	};
	struct sample s[N_PARTS], oc;
	size_t rounds = iters(1500, 200);
	char buf[16384], err[SESSION_ERR_MAX], pin[PATH_MAX + 64];
	struct maps m;

	for (int i = 0; i < N_PARTS; i++)
		sample_init(&s[i], names[i]);
	sample_init(&oc, "pam_userns: open+close through libpam");
	build_maps(USER, &m);
	snprintf(pin, sizeof(pin), "%s/bd.pin", scratch);
	openlog("pam_userns_bench", LOG_PID, LOG_AUTHPRIV);

	for (size_t i = 0; i < rounds + 20; i++) {
		bool keep = i >= 20;
		struct passwd pw, *pwr;
		struct group gr, *grr;
		struct policy_config cfg;
		struct policy pol;
		struct id_range *ranges;
		struct idmap map;
		struct session_params sp;
		struct session_handle h;
		struct ns_spec spec = {
			.kinds = CLONE_NEWUSER, .uid = m.uid, .gid = m.gid,
			.uid_map = m.uid_map, .gid_map = m.gid_map,
			.setgroups_deny = m.setgroups_deny,
		};
		double t[N_PARTS];
		uint64_t t0;
		int n, r;

		pam_cycle("userns", USER, keep ? &oc : NULL, NULL);

		t0 = now_ns();
		if (getpwnam_r(USER, &pw, buf, sizeof(buf), &pwr) || !pwr ||
		    getgrnam_r(USER, &gr, buf + 8192, 8192, &grr))
			die("getpwnam_r/getgrnam_r %s", USER);
		t[PW] = us_since(t0);

		t0 = now_ns();
		if (policy_load(conf_default, VENDORDIR, SYSCONFDIR "/security", &cfg, err,
				sizeof(err)) < 0 ||
		    policy_resolve(&cfg, USER, m.uid, bd_in_group, NULL, &pol, err, sizeof(err)) < 0)
			die("policy: %s", err);
		policy_config_free(&cfg);
		t[POL] = us_since(t0);

		t0 = now_ns();
		for (int k = 0; k < 2; k++) {
			char text[IDMAP_MAX_BYTES + 1];

			ranges = NULL;
			n = subid_lookup(k ? SUBID_GID : SUBID_UID, USER, k ? m.gid : m.uid, &ranges,
					 err, sizeof(err));
			if (n < 0 || idmap_build(&map, k ? m.gid : m.uid, ranges, (size_t)n,
						 pol.max_ids, "ids", err, sizeof(err)) < 0)
				die("subid: %s", err);
			idmap_format(&map, text, sizeof(text));
			free(ranges);
		}
		t[SUB] = us_since(t0);

		sp = (struct session_params){
			.user = USER, .uid = m.uid, .gid = m.gid, .shell = "/bin/sh",
			.uid_map = m.uid_map, .gid_map = m.gid_map,
			.setgroups_deny = m.setgroups_deny, .service = "bench",
		};
		t0 = now_ns();
		if (session_begin(&sp, &h, err, sizeof(err)) < 0)
			die("session_begin: %s", err);
		t[BEGIN] = us_since(t0);
		t0 = now_ns();
		if ((r = session_end(&h, err, sizeof(err))) < 0)
			die("session_end: %s", err);
		t[END] = us_since(t0);

		t0 = now_ns();
		syslog(LOG_INFO, "user namespace created for %s (uid %u): %s, 65537 uids, "
		       "65537 gids, setgroups allow, from [default]", USER, (unsigned int)m.uid,
		       h.pin);
		syslog(LOG_INFO, "user namespace %s removed", h.pin);
		t[LOG] = us_since(t0);

		t0 = now_ns();
		if (userns_create_pinned(&spec, pin, err, sizeof(err)) < 0 ||
		    userns_unpin(pin) < 0)
			die("userns_create_pinned: %s", err);
		t[NS] = us_since(t0);

		t[SUM] = t[PW] + t[POL] + t[SUB] + t[BEGIN] + t[END] + t[LOG];
		if (keep)
			for (int k = 0; k < N_PARTS; k++)
				sample_add(&s[k], t[k]);
	}
	closelog();

	table_begin("1b. where pam_userns's open+close goes (internal timers, libuserns called "
		    "directly in the module's order)", 1);
	table_row(&oc, &oc);
	for (int i = 0; i < N_PARTS; i++)
		table_row(&s[i], &oc);
	table_note("session_begin+session_end beyond the namespace itself: %.1f us",
		   sample_median(&s[BEGIN]) + sample_median(&s[END]) - sample_median(&s[NS]));
	table_end();
	for (int i = 0; i < N_PARTS; i++)
		sample_free(&s[i]);
	sample_free(&oc);
}

/* --- item 3: entering a namespace as the user -------------------------------------- */

static void item_entry(void)
{
	enum { TRUE, SH, UNSHARE, UNSHARE_SH, ENTRY, N_VAR };
	struct sample s[N_VAR];
	size_t rounds = iters(400, 60), warm = 10;
	char pinenv[PATH_MAX + 32], out[4096];
	struct cred c;
	pam_handle_t *pamh;
	const char *pin;

	char *env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/home/" USER, "USER=" USER,
			"LOGNAME=" USER, "LANG=C", "SHELL=/bin/sh", pinenv, NULL };
	char *argv_true[] = { "/bin/true", NULL };
	char *argv_sh[] = { "/bin/sh", "-c", "true", NULL };
	char *argv_unshare[] = { "/usr/bin/unshare", "--user", "--map-root-user", "--map-auto",
				 "true", NULL };
	char *argv_unshare_sh[] = { "/usr/bin/unshare", "--user", "--map-root-user",
				    "--map-auto", "/bin/sh", "-c", "true", NULL };
	char *argv_entry[] = { (char *)shell_path, "-c", "true", NULL };
	char *argv_unshare_map[] = { "/usr/bin/unshare", "--user", "--map-root-user",
				     "--map-auto", "cat", "/proc/self/uid_map", NULL };
	char *argv_entry_map[] = { (char *)shell_path, "-c", "cat /proc/self/uid_map", NULL };
	char *const *argvs[N_VAR] = { argv_true, argv_sh, argv_unshare, argv_unshare_sh,
				      argv_entry };

	sample_init(&s[TRUE], "exec /bin/true as alice (no namespace; reference)");
	sample_init(&s[SH], "exec /bin/sh -c true as alice (reference)");
	sample_init(&s[UNSHARE], "unshare --user --map-root-user --map-auto true");
	sample_init(&s[UNSHARE_SH], "unshare ... --map-auto /bin/sh -c true");
	sample_init(&s[ENTRY], "userns-shell -c true (pin from pam_userns; sh -c)");
	if (cred_of(USER, &c) < 0)
		die("no user %s", USER);

	pamh = pam_begin("userns", USER);
	pam_open(pamh, "userns", USER);
	pin = pam_getenv(pamh, SESSION_ENV);
	if (!pin)
		die("no %s after open_session", SESSION_ENV);
	snprintf(pinenv, sizeof(pinenv), "%s=%s", SESSION_ENV, pin);

	/* Both routes must land in the same map, with the user at 0. */
	table_begin("3. entering a namespace as alice: unshare --map-auto vs userns-shell "
		    "(vfork+exec from the bench, alice's credentials)", 1);
	if (spawn_capture(&c, argv_unshare_map, env, out, sizeof(out)) != 0)
		die("unshare --map-auto as %s failed: %s", USER, out);
	one_line(out);
	table_note("unshare --map-auto lands in uid_map: %s", out);
	if (spawn_capture(&c, argv_entry_map, env, out, sizeof(out)) != 0)
		die("userns-shell as %s failed: %s", USER, out);
	one_line(out);
	table_note("userns-shell lands in uid_map:       %s", out);

	for (size_t i = 0; i < rounds + warm; i++) {
		for (int k = 0; k < N_VAR; k++) {
			int v = (int)((k + i) % N_VAR), st;
			double us;

			st = spawn(&c, argvs[v], env, -1, &us);
			if (st != 0)
				die("%s: exit status %d", argvs[v][0], st);
			if (i >= warm)
				sample_add(&s[v], us);
		}
	}
	pam_close(pamh, "userns", USER);
	pam_end(pamh, PAM_SUCCESS);

	table_note("%zu rounds, variants interleaved; ratios against unshare --map-auto true",
		   rounds);
	for (int k = 0; k < N_VAR; k++)
		table_row(&s[k], &s[UNSHARE]);
	target_ratio("userns-shell -c true / unshare --map-auto true (faster: < 1)", &s[ENTRY],
		     &s[UNSHARE], 1.0);
	target_ratio("same work: userns-shell / unshare --map-auto sh -c true", &s[ENTRY],
		     &s[UNSHARE_SH], 1.0);
	table_end();
	for (int k = 0; k < N_VAR; k++)
		sample_free(&s[k]);
}

/* --- item 4: caller size -------------------------------------------------------------- */

#define BIG (1ULL << 30)

static void *touch_heap(void)
{
	char *p = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap 1 GiB: %s", strerror(errno));
	/* 4 KiB pages, as a malloc heap mostly has: the worst case for fork(). */
	madvise(p, BIG, MADV_NOHUGEPAGE);
	for (size_t off = 0; off < BIG; off += 4096)
		p[off] = 1;
	return p;
}

static double fork_once(void)
{
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		die("fork: %s", strerror(errno));
	waitpid(pid, &st, 0);
	return us_since(t0);
}

/*
 * The two callers run side by side, in turns: this process stays small,
 * a child of it touches 1 GiB; a token goes back and forth over two
 * pipes, so both see the same background, iteration by iteration.
 */
enum { CALLER_OC, CALLER_FLOOR, CALLER_FORK, CALLER_N };

static void caller_iteration(size_t i, size_t fork_every, struct floor *f, struct sample *s)
{
	double a, b;
	int r;

	pam_cycle("userns", USER, &s[CALLER_OC], NULL);
	if ((r = floor_create(f, &a)) < 0 || (r = floor_remove(f, &b)) < 0)
		die("floor: %s", strerror(-r));
	sample_add(&s[CALLER_FLOOR], a + b);
	if (i % fork_every == 0)
		sample_add(&s[CALLER_FORK], fork_once());
}

static void item_caller(void)
{
	static const char *const what[CALLER_N] = {
		"pam_userns open+close", "floor", "fork()+_exit+wait (reference)",
	};
	struct sample s[2][CALLER_N];
	size_t rounds = iters(1500, 200), fork_every = 8, warm = 30;
	char pin[2][PATH_MAX + 64], label[96];
	int to[2], from[2], st;
	long long rss[2];
	struct floor f[2];
	struct maps m;
	pid_t pid;
	char c = 't';
	int r;

	build_maps(USER, &m);
	for (int big = 0; big < 2; big++) {
		snprintf(pin[big], sizeof(pin[big]), "%s/caller%d.pin", scratch, big);
		for (int k = 0; k < CALLER_N; k++) {
			snprintf(label, sizeof(label), "%s, %s", what[k],
				 big ? "caller with 1 GiB touched" : "small caller");
			sample_init(&s[big][k], label);
		}
	}
	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/* The large caller. */
		touch_heap();
		rss[1] = self_rss_kb();
		if ((r = floor_init(&f[1], m.uid, m.gid, m.uid_map, m.gid_map, m.setgroups_deny,
				    pin[1])) < 0)
			die("floor: %s", strerror(-r));
		for (size_t i = 0; i < warm; i++)
			pam_cycle("userns", USER, NULL, NULL);
		write_full(from[1], &c, 1);
		for (size_t i = 0; i < rounds; i++) {
			read_full(to[0], &c, 1);
			caller_iteration(i, fork_every, &f[1], s[1]);
			write_full(from[1], &c, 1);
		}
		write_full(from[1], &rss[1], sizeof(rss[1]));
		for (int k = 0; k < CALLER_N; k++) {
			write_full(from[1], &s[1][k].n, sizeof(s[1][k].n));
			write_full(from[1], s[1][k].v, s[1][k].n * sizeof(double));
		}
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	if ((r = floor_init(&f[0], m.uid, m.gid, m.uid_map, m.gid_map, m.setgroups_deny,
			    pin[0])) < 0)
		die("floor: %s", strerror(-r));
	for (size_t i = 0; i < warm; i++)
		pam_cycle("userns", USER, NULL, NULL);
	rss[0] = self_rss_kb();
	read_full(from[0], &c, 1);	/* the large one is ready */
	for (size_t i = 0; i < rounds; i++) {
		caller_iteration(i, fork_every, &f[0], s[0]);
		write_full(to[1], &c, 1);
		read_full(from[0], &c, 1);
	}
	read_full(from[0], &rss[1], sizeof(rss[1]));
	for (int k = 0; k < CALLER_N; k++) {
		size_t n;

		read_full(from[0], &n, sizeof(n));
		for (size_t i = 0; i < n; i++) {
			double v;

			read_full(from[0], &v, sizeof(v));
			sample_add(&s[1][k], v);
		}
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the large caller failed (status %d)", st);
	close(to[1]);
	close(from[0]);
	floor_fini(&f[0]);

	table_begin("4. caller size: open+close from a small caller vs one with a 1 GiB heap", 1);
	table_note("caller RSS: small %lld MiB, large %lld MiB (4 KiB pages); two processes "
		   "taking turns, iteration by iteration", rss[0] / 1024, rss[1] / 1024);
	for (int k = 0; k < CALLER_N; k++) {
		table_row(&s[0][k], &s[0][k]);
		table_row(&s[1][k], &s[0][k]);
	}
	target_ratio("large caller / small caller, pam_userns open+close", &s[1][CALLER_OC],
		     &s[0][CALLER_OC], 1.1);
	table_end();
	for (int big = 0; big < 2; big++)
		for (int k = 0; k < CALLER_N; k++)
			sample_free(&s[big][k]);
}

/* --- fixture files ------------------------------------------------------------- */

static const char *const fixture_paths[] = { "/etc/passwd", "/etc/group", "/etc/subuid",
					     "/etc/subgid" };
#define N_FIXTURES 4
static char *fixture_saved[N_FIXTURES];
static size_t fixture_saved_len[N_FIXTURES];

static void fixtures_restore(void)
{
	for (int i = 0; i < N_FIXTURES; i++)
		if (fixture_saved[i])
			write_inplace(fixture_paths[i], fixture_saved[i], fixture_saved_len[i]);
}

static void fixtures_save(void)
{
	for (int i = 0; i < N_FIXTURES; i++) {
		fixture_saved[i] = read_text(fixture_paths[i], &fixture_saved_len[i]);
		if (!fixture_saved[i])
			die("cannot read %s: %s", fixture_paths[i], strerror(errno));
	}
	atexit(fixtures_restore);
}

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t ncap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, ncap);

		if (!p)
			die("out of memory");
		b->p = p;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/*
 * Generated users NAME%05d (uid/gid first+i, subids 1000000 + i * 65536,
 * 65536 each): which file, how many.
 */
static void gen_lines(struct buf *b, int file, const char *prefix, int first, int n)
{
	char line[256];

	for (int i = 0; i < n; i++) {
		unsigned int id = (unsigned int)(first + i);
		unsigned long sub = 1000000UL + (unsigned long)i * 65536UL;
		int len;

		switch (file) {
		case 0:
			len = snprintf(line, sizeof(line),
				       "%s%05d:x:%u:%u:bench user:/home/%s%05d:/bin/sh\n", prefix,
				       i, id, id, prefix, i);
			break;
		case 1:
			len = snprintf(line, sizeof(line), "%s%05d:x:%u:\n", prefix, i, id);
			break;
		default:
			len = snprintf(line, sizeof(line), "%s%05d:%lu:65536\n", prefix, i, sub);
			break;
		}
		buf_add(b, line, (size_t)len);
	}
}

/*
 * A fixture with n generated users: before the first line of "before"
 * (the worst case for a linear scan), or appended when before is NULL.
 */
static char *fixture_with(int file, const char *prefix, int first, int n, const char *before,
			  size_t *len)
{
	const char *orig = fixture_saved[file], *at = NULL;
	struct buf b = { 0 };
	char key[64];

	if (before) {
		snprintf(key, sizeof(key), "%s:", before);
		if (!strncmp(orig, key, strlen(key)))
			at = orig;
		else if ((at = strstr(orig, key)) && at[-1] == '\n')
			;
		else
			at = NULL;
	}
	if (!at)
		at = orig + fixture_saved_len[file];
	buf_add(&b, orig, (size_t)(at - orig));
	gen_lines(&b, file, prefix, first, n);
	buf_add(&b, at, strlen(at));
	*len = b.len;
	return b.p;
}

/* --- item 5: whole ssh logins -------------------------------------------------------- */

static void set_shell(const char *passwd, size_t len, const char *user, const char *shell)
{
	struct buf b = { 0 };
	char key[64];
	const char *line = passwd, *end = passwd + len;
	size_t klen = (size_t)snprintf(key, sizeof(key), "%s:", user);
	int r;

	while (line < end) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *next = eol ? eol + 1 : end;

		if (!strncmp(line, key, klen)) {
			const char *c = eol ? eol : end;

			/* The shell is the last field. */
			while (c > line && c[-1] != ':')
				c--;
			buf_add(&b, line, (size_t)(c - line));
			buf_add(&b, shell, strlen(shell));
			buf_add(&b, "\n", 1);
		} else {
			buf_add(&b, line, (size_t)(next - line));
		}
		line = next;
	}
	if ((r = write_inplace("/etc/passwd", b.p, b.len)) < 0)
		die("cannot rewrite /etc/passwd: %s", strerror(-r));
	free(b.p);
}

static int pins_left(uid_t uid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%u", STATEDIR, (unsigned int)uid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		n += l > 3 && !strcmp(de->d_name + l - 3, ".ns");
	}
	closedir(d);
	return n;
}

static void item_ssh(void)
{
	enum { PLAIN, ENTRY, PAMONLY, N_VAR };
	static const char *const labels[N_VAR] = {
		"ssh alice true: no pam_userns, shell /bin/sh",
		"ssh alice true: pam_userns + userns-shell",
		"ssh alice true: pam_userns, shell /bin/sh (ns not entered)",
	};
	const char *bed = getenv("TESTBED_DIR"), *key = getenv("TESTBED_SSH_KEY");
	char portfile[PATH_MAX], port[16] = "", userns_line[PATH_MAX * 2 + 64], out[4096];
	char *pam_orig, *pam_with, *passwd_orig;
	size_t pam_len, passwd_len, rounds = iters(150, 10), warm = 3;
	struct sample s[N_VAR];
	struct passwd *pw;
	uid_t uid;
	FILE *f;
	int r;

	char *argv_ssh[] = { "/usr/bin/ssh", "-F", "/dev/null", "-i", (char *)key,
			     "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
			     "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
			     "-o", "UserKnownHostsFile=/dev/null",
			     "-o", "GlobalKnownHostsFile=/dev/null", "-o", "UpdateHostKeys=no",
			     "-o", "ControlPath=none", "-o", "LogLevel=ERROR", "-p", port,
			     "-l", USER, "127.0.0.1", "true", NULL };
	char *env[] = { "PATH=/usr/bin:/bin", "HOME=/root", "LANG=C", NULL };
	const size_t cmd_arg = sizeof(argv_ssh) / sizeof(argv_ssh[0]) - 2;

	if (!key)
		die("TESTBED_SSH_KEY is unset");
	snprintf(portfile, sizeof(portfile), "%s/ssh/port", bed);
	f = fopen(portfile, "re");
	if (!f || !fgets(port, sizeof(port), f))
		die("sshd is not running in the bed (no %s): run bench/run.sh", portfile);
	fclose(f);
	port[strcspn(port, "\n")] = '\0';
	pw = getpwnam(USER);
	if (!pw)
		die("no user %s", USER);
	uid = pw->pw_uid;

	pam_orig = read_text("/etc/pam.d/sshd", &pam_len);
	passwd_orig = read_text("/etc/passwd", &passwd_len);
	if (!pam_orig || !passwd_orig)
		die("cannot read /etc/pam.d/sshd or /etc/passwd");
	snprintf(userns_line, sizeof(userns_line), "session required %s conf=%s\n", module_path,
		 conf_default);
	pam_with = xmalloc(pam_len + strlen(userns_line) + 1);
	memcpy(pam_with, pam_orig, pam_len);
	strcpy(pam_with + pam_len, userns_line);

	for (int k = 0; k < N_VAR; k++)
		sample_init(&s[k], labels[k]);

	table_begin("5. whole logins: ssh -p PORT alice@127.0.0.1 true through the bed's sshd", 1000);
	for (int v = 0; v < N_VAR; v++) {
		r = write_inplace("/etc/pam.d/sshd", v == PLAIN ? pam_orig : pam_with,
				  v == PLAIN ? pam_len : strlen(pam_with));
		if (r < 0)
			die("cannot write /etc/pam.d/sshd: %s", strerror(-r));
		set_shell(passwd_orig, passwd_len, USER, v == ENTRY ? shell_path : "/bin/sh");
		argv_ssh[cmd_arg] = "cat /proc/self/uid_map";
		if ((r = spawn_capture(NULL, argv_ssh, env, out, sizeof(out))) != 0)
			die("ssh (%s) failed (%d): %s", labels[v], r, out);
		one_line(out);
		table_note("%-8s uid_map inside: %s", v == PLAIN ? "plain" : v == ENTRY ? "entry" :
			   "pam-only", out);
	}
	argv_ssh[cmd_arg] = "true";

	for (size_t i = 0; i < rounds + warm; i++) {
		for (int k = 0; k < N_VAR; k++) {
			int v = (int)((k + i) % N_VAR);
			double us;

			r = write_inplace("/etc/pam.d/sshd", v == PLAIN ? pam_orig : pam_with,
					  v == PLAIN ? pam_len : strlen(pam_with));
			if (r < 0)
				die("cannot write /etc/pam.d/sshd: %s", strerror(-r));
			set_shell(passwd_orig, passwd_len, USER,
				  v == ENTRY ? shell_path : "/bin/sh");
			r = spawn(NULL, argv_ssh, env, -1, &us);
			if (r != 0)
				die("ssh (%s) exit status %d", labels[v], r);
			if (i >= warm)
				sample_add(&s[v], us);
		}
	}
	write_inplace("/etc/pam.d/sshd", pam_orig, pam_len);
	write_inplace("/etc/passwd", passwd_orig, passwd_len);

	/* The monitors close their sessions after the client is gone. */
	for (int i = 0; i < 100 && pins_left(uid); i++)
		usleep(20000);
	table_note("%zu rounds, variants interleaved; pins left after the last logout: %d",
		   rounds, pins_left(uid));
	for (int k = 0; k < N_VAR; k++)
		table_row(&s[k], &s[PLAIN]);
	{
		double med, lo, hi, base = sample_median(&s[PLAIN]);

		paired_diff(&s[PAMONLY], &s[PLAIN], &med, &lo, &hi);
		table_note("paired per round, pam_userns in the stack (shell /bin/sh): %+.2f ms "
			   "[90%% CI %+.2f..%+.2f] = %+.2f%%", med / 1000, lo / 1000, hi / 1000,
			   100 * med / base);
		paired_diff(&s[ENTRY], &s[PLAIN], &med, &lo, &hi);
		table_note("paired per round, pam_userns + userns-shell: %+.2f ms [90%% CI "
			   "%+.2f..%+.2f] = %+.2f%% [%+.2f%%..%+.2f%%]", med / 1000, lo / 1000,
			   hi / 1000, 100 * med / base, 100 * lo / base, 100 * hi / base);
		target_ratio("ssh login with pam_userns / without (ratio of medians)", &s[ENTRY],
			     &s[PLAIN], 1.02);
		target("ssh login overhead, paired per round", 100 * med / base, 2, true, "%");
	}
	table_end();
	for (int k = 0; k < N_VAR; k++)
		sample_free(&s[k]);
	free(pam_orig);
	free(pam_with);
	free(passwd_orig);
}

/* --- item 6: live sessions -------------------------------------------------------- */

struct snap {
	struct meminfo mem;
	struct slabs slabs;
	long long rss;
	int procs, mounts;
};

/* What the system holds now; settle first (namespaces are freed by a worker). */
static void snap_take(struct snap *sn, unsigned int settle_ms)
{
	if (settle_ms)
		usleep(settle_ms * 1000);
	if (read_meminfo(&sn->mem) < 0 || read_slabs(&sn->slabs) < 0)
		die("cannot read /proc/meminfo or /proc/slabinfo");
	sn->rss = self_rss_kb();
	sn->procs = count_processes();
	sn->mounts = count_mounts();
}

static void print_mem(const char *what, const struct snap *a, const struct snap *b, int n)
{
	char slabs[512];
	double d = n;

	slabs_growth(&a->slabs, &b->slabs, n, slabs, sizeof(slabs));
	table_note("%s, per live session: Slab %+.2f KiB (unreclaimable %+.2f), Shmem (tmpfs "
		   "records) %+.2f KiB, PageTables %+.2f KiB, MemAvailable %+.1f KiB; processes "
		   "%+d (the holder) in all; mounts %+.2f", what,
		   (double)(b->mem.slab - a->mem.slab) / d,
		   (double)(b->mem.sunreclaim - a->mem.sunreclaim) / d,
		   (double)(b->mem.shmem - a->mem.shmem) / d,
		   (double)(b->mem.page_tables - a->mem.page_tables) / d,
		   (double)(b->mem.mem_available - a->mem.mem_available) / d,
		   b->procs - a->procs, (double)(b->mounts - a->mounts) / d);
	table_note("  slab caches that grew, per session: %s", slabs);
	table_note("  (the holder process, the sessions' opener: RSS %.2f KiB per session, its "
		   "PAM handles; a process of its own, not an extra one per session)",
		   (double)b->rss / d);
}

/*
 * The other sessions live in a holder process, as they would in sshd's
 * per-connection monitors: the bench's own heap and PAM handles stay as
 * they were. The holder opens n sessions (timing each), reports, waits
 * for a byte, closes them (timing each), reports again and exits.
 */
struct holder {
	pid_t pid;
	int to, from;		/* pipes to and from the holder */
	int n;
	long long rss_kb;	/* the holder's RSS with all sessions open */
};

static void read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t k = read(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("the session holder died (see its messages above)");
		p += k;
		len -= (size_t)k;
	}
}

static void write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t k = write(fd, p, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("cannot talk to the session holder: %s", strerror(errno));
		p += k;
		len -= (size_t)k;
	}
}

static void holder_main(int n, const char *prefix, int in, int out)
{
	pam_handle_t **h = xmalloc((size_t)n * sizeof(*h));
	char **user = xmalloc((size_t)n * sizeof(*user));
	double *t = xmalloc((size_t)n * sizeof(*t));
	long long rss;
	char name[64], c;

	for (int i = 0; i < n; i++) {
		uint64_t t0;

		if (prefix)
			snprintf(name, sizeof(name), "%s%05d", prefix, i);
		else
			snprintf(name, sizeof(name), "%s", USER);
		user[i] = xstrdup(name);
		h[i] = pam_begin("userns", name);
		t0 = now_ns();
		pam_open(h[i], "userns", name);
		t[i] = us_since(t0);
	}
	rss = self_rss_kb();
	write_full(out, &rss, sizeof(rss));
	write_full(out, t, (size_t)n * sizeof(*t));
	read_full(in, &c, 1);
	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		pam_close(h[i], "userns", user[i]);
		t[i] = us_since(t0);
		pam_end(h[i], PAM_SUCCESS);
	}
	write_full(out, t, (size_t)n * sizeof(*t));
}

static void holder_start(struct holder *hd, int n, const char *prefix, struct sample *open_s)
{
	int to[2], from[2];
	double *t = xmalloc((size_t)n * sizeof(*t));

	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	hd->pid = fork();
	if (hd->pid < 0)
		die("fork: %s", strerror(errno));
	if (hd->pid == 0) {
		close(to[1]);
		close(from[0]);
		holder_main(n, prefix, to[0], from[1]);
		_exit(0);	/* not exit(): the fixtures are the parent's to restore */
	}
	close(to[0]);
	close(from[1]);
	hd->to = to[1];
	hd->from = from[0];
	hd->n = n;
	read_full(hd->from, &hd->rss_kb, sizeof(hd->rss_kb));
	read_full(hd->from, t, (size_t)n * sizeof(*t));
	for (int i = 0; i < n; i++)
		sample_add(open_s, t[i]);
	free(t);
}

static void holder_stop(struct holder *hd, struct sample *close_s)
{
	double *t = xmalloc((size_t)hd->n * sizeof(*t));
	int st;

	write_full(hd->to, "x", 1);
	read_full(hd->from, t, (size_t)hd->n * sizeof(*t));
	for (int i = 0; i < hd->n; i++)
		sample_add(close_s, t[i]);
	free(t);
	while (waitpid(hd->pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the session holder failed (status %d)", st);
	close(hd->to);
	close(hd->from);
}

/* The median of the first and of the last tenth of a sample (growth). */
static void ends(const struct sample *s, double *first, double *last)
{
	struct sample a, b;
	size_t k = s->n / 10 ? s->n / 10 : 1;

	sample_init(&a, "");
	sample_init(&b, "");
	for (size_t i = 0; i < k && i < s->n; i++) {
		sample_add(&a, s->v[i]);
		sample_add(&b, s->v[s->n - 1 - i]);
	}
	*first = sample_median(&a);
	*last = sample_median(&b);
	sample_free(&a);
	sample_free(&b);
}

/* k iterations of alice's open+close (and of the floor, if f) into oc (and fl). */
static void scale_block(size_t k, struct sample *oc, struct floor *f, struct sample *fl)
{
	for (size_t i = 0; i < k; i++) {
		double a, b;
		int r;

		pam_cycle("userns", USER, oc, NULL);
		if ((r = floor_create(f, &a)) < 0 || (r = floor_remove(f, &b)) < 0)
			die("floor: %s", strerror(-r));
		sample_add(fl, a + b);
	}
}

static void item_scale(void)
{
	enum { ALTERNATIONS = 3 };
	int n = (int)iters(1000, 200);
	size_t m = iters(300, 60), m_same = iters(60, 20);
	struct sample base, others, same, fl_base, fl_others, fl_same, open_o, close_o, open_s,
		      close_s;
	char label[96], pin[PATH_MAX + 64], blocks[512] = "";
	size_t boff = 0;
	struct snap sn[4];
	struct holder hd;
	struct floor f;
	struct maps mp;
	double first, last;
	int r;

	fixtures_save();
	/* n other users, after the fixture users: alice's lookups stay as they were. */
	for (int i = 0; i < N_FIXTURES; i++) {
		size_t len;
		char *t = fixture_with(i, "bo", 30000, n, NULL, &len);

		if ((r = write_inplace(fixture_paths[i], t, len)) < 0)
			die("cannot write %s: %s", fixture_paths[i], strerror(-r));
		free(t);
	}
	build_maps(USER, &mp);
	snprintf(pin, sizeof(pin), "%s/scale.pin", scratch);
	if ((r = floor_init(&f, mp.uid, mp.gid, mp.uid_map, mp.gid_map, mp.setgroups_deny, pin)) < 0)
		die("floor: %s", strerror(-r));

	sample_init(&base, "alice open+close, no other session live");
	snprintf(label, sizeof(label), "alice, %d sessions of %d other users live", n, n);
	sample_init(&others, label);
	snprintf(label, sizeof(label), "alice, %d other sessions of alice live", n);
	sample_init(&same, label);
	sample_init(&fl_base, "floor, no session live");
	snprintf(label, sizeof(label), "floor, %d sessions of other users live", n);
	sample_init(&fl_others, label);
	snprintf(label, sizeof(label), "floor, %d sessions of alice live", n);
	sample_init(&fl_same, label);
	sample_init(&open_o, "");
	sample_init(&close_o, "");
	sample_init(&open_s, "");
	sample_init(&close_s, "");

	for (int i = 0; i < 30; i++)
		pam_cycle("userns", USER, NULL, NULL);
	/* none, others, none, others, ..., none: drift shows between the blocks. */
	for (int alt = 0; alt < ALTERNATIONS; alt++) {
		size_t n0 = base.n, n1;
		int w;

		scale_block(m / ALTERNATIONS, &base, &f, &fl_base);
		if (alt == 0)
			snap_take(&sn[0], 300);
		holder_start(&hd, n, "bo", &open_o);
		if (alt == 0) {
			snap_take(&sn[1], 300);
			sn[1].rss = hd.rss_kb;
		}
		n1 = others.n;
		scale_block(m / ALTERNATIONS, &others, &f, &fl_others);
		holder_stop(&hd, &close_o);
		w = snprintf(blocks + boff, sizeof(blocks) - boff, "%s%.0f/%.0f", alt ? ", " : "",
			     sample_median(&(struct sample){ .v = base.v + n0, .n = base.n - n0 }),
			     sample_median(&(struct sample){ .v = others.v + n1, .n = others.n - n1 }));
		if (w > 0 && (size_t)w < sizeof(blocks) - boff)
			boff += (size_t)w;
	}
	scale_block(m / ALTERNATIONS, &base, &f, &fl_base);

	snap_take(&sn[2], 1000);
	holder_start(&hd, n, NULL, &open_s);
	snap_take(&sn[3], 300);
	sn[3].rss = hd.rss_kb;
	scale_block(m_same, &same, &f, &fl_same);
	holder_stop(&hd, &close_s);
	floor_fini(&f);
	fixtures_restore();

	table_begin("6. live sessions: memory, and open+close with many sessions live", 1);
	print_mem("other users", &sn[0], &sn[1], n);
	print_mem("same user", &sn[2], &sn[3], n);
	table_note("the live sessions are held by one holder process (their opener), like "
		   "sshd monitors; blocks none/others alternate %d times (block medians, us: %s)",
		   ALTERNATIONS, blocks);
	table_row(&base, &base);
	table_row(&others, &base);
	table_row(&same, &base);
	table_row(&fl_base, &fl_base);
	table_row(&fl_others, &fl_base);
	table_row(&fl_same, &fl_base);
	ends(&open_o, &first, &last);
	table_note("open_session of other users in the holder as they pile up: first tenth "
		   "%.1f us, last tenth %.1f us", first, last);
	ends(&close_o, &first, &last);
	table_note("close_session of other users as they go: first tenth %.1f us, last tenth "
		   "%.1f us", first, last);
	ends(&open_s, &first, &last);
	table_note("open_session of alice as hers pile up: first tenth %.1f us, last tenth %.1f us",
		   first, last);
	ends(&close_s, &first, &last);
	table_note("close_session of alice as hers go: first tenth %.1f us, last tenth %.1f us",
		   first, last);
	target("resident processes per live session (beyond the one holder)",
	       (double)(sn[1].procs - sn[0].procs - 1) / n, 0, true, "");
	snprintf(label, sizeof(label), "open+close with %d other users' sessions live / none", n);
	target_ratio(label, &others, &base, 1.1);
	snprintf(label, sizeof(label), "open+close with %d of the same user's sessions live / none",
		 n);
	target_ratio(label, &same, &base, 1.1);
	table_end();
	for (int i = 0; i < 4; i++)
		slabs_free(&sn[i].slabs);
	sample_free(&base);
	sample_free(&others);
	sample_free(&same);
	sample_free(&fl_base);
	sample_free(&fl_others);
	sample_free(&fl_same);
	sample_free(&open_o);
	sample_free(&close_o);
	sample_free(&open_s);
	sample_free(&close_s);
}

/* --- item 7: a big user database ----------------------------------------------------- */

struct subid_range_ref {
	unsigned long start, count;
};

typedef int (*subid_ranges_fn)(const char *owner, struct subid_range_ref **ranges);

static void item_users(void)
{
	enum { A_OC, D_OC, PW, GR, GL, SUBU, LIBSUBID, N_VAR };
	static const char *const labels[N_VAR] = {
		"alice open+close ([default] enable=yes)",
		"dave open+close ([group:sandboxed] enable=yes)",
		"  getpwnam_r(alice)",
		"  getgrnam_r(alice)",
		"  getgrouplist(dave) (for group sections)",
		"  subid_lookup(alice) (module's own reader)",
		"  libsubid subid_get_uid_ranges(alice) (unused)",
	};
	int n = 10000;
	size_t per_block = iters(150, 30);
	struct sample s[2][N_VAR];
	char *big[N_FIXTURES];
	size_t big_len[N_FIXTURES];
	subid_ranges_fn libsubid_uid = NULL;
	void *so;
	char buf[1 << 16], err[512], label[128];

	fixtures_save();
	for (int f = 0; f < N_FIXTURES; f++)
		big[f] = fixture_with(f, "bu", 40000, n, USER, &big_len[f]);
	so = dlopen(SUBID_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (so)
		*(void **)&libsubid_uid = dlsym(so, "subid_get_uid_ranges");
	for (int v = 0; v < N_VAR; v++) {
		snprintf(label, sizeof(label), "%s, few users", labels[v]);
		sample_init(&s[0][v], label);
		snprintf(label, sizeof(label), "%s, %dk users", labels[v], n / 1000);
		sample_init(&s[1][v], label);
	}
	check_module("userns-group", "dave");
	for (int i = 0; i < 30; i++)
		pam_cycle("userns", USER, NULL, NULL);

	/* Blocks: few, many, few, many, ... (fixtures rewritten in place). */
	for (int block = 0; block < 6; block++) {
		int b = block & 1;

		for (int f = 0; f < N_FIXTURES; f++) {
			int r = write_inplace(fixture_paths[f], b ? big[f] : fixture_saved[f],
					      b ? big_len[f] : fixture_saved_len[f]);

			if (r < 0)
				die("cannot write %s: %s", fixture_paths[f], strerror(-r));
		}
		/* The logins first: the lookups below would leave the caches cold. */
		for (size_t i = 0; i < per_block; i++) {
			pam_cycle("userns", USER, &s[b][A_OC], NULL);
			pam_cycle("userns-group", "dave", &s[b][D_OC], NULL);
		}
		for (size_t i = 0; i < per_block; i++) {
			struct passwd pw, *pwr;
			struct group gr, *grr;
			struct id_range *ranges = NULL;
			struct subid_range_ref *lr = NULL;
			gid_t groups[256];
			int ng = 256;
			uint64_t t0;

			t0 = now_ns();
			if (getpwnam_r(USER, &pw, buf, sizeof(buf), &pwr) || !pwr)
				die("getpwnam_r(%s)", USER);
			sample_add(&s[b][PW], us_since(t0));
			t0 = now_ns();
			if (getgrnam_r(USER, &gr, buf, sizeof(buf), &grr) || !grr)
				die("getgrnam_r(%s)", USER);
			sample_add(&s[b][GR], us_since(t0));
			t0 = now_ns();
			if (getgrouplist("dave", 2004, groups, &ng) < 0)
				die("getgrouplist(dave)");
			sample_add(&s[b][GL], us_since(t0));
			t0 = now_ns();
			if (subid_lookup(SUBID_UID, USER, pw.pw_uid, &ranges, err, sizeof(err)) != 1)
				die("subid_lookup(%s): %s", USER, err);
			sample_add(&s[b][SUBU], us_since(t0));
			free(ranges);
			if (libsubid_uid) {
				t0 = now_ns();
				if (libsubid_uid(USER, &lr) != 1)
					die("libsubid found no range of %s", USER);
				sample_add(&s[b][LIBSUBID], us_since(t0));
				free(lr);
			}
		}
	}
	fixtures_restore();
	for (int f = 0; f < N_FIXTURES; f++)
		free(big[f]);

	table_begin("7. size of the user database: few users vs 10,000 in passwd, group, subuid, "
		    "subgid", 1);
	table_note("the 10,000 generated users come before alice and dave in every file (a "
		   "linear scan's worst case); blocks alternate, %zu iterations each, 3 of each",
		   per_block);
	table_note("nscd: %s", access("/var/run/nscd/socket", F_OK) == 0 ?
		   "running (passwd and group lookups are served from its cache)" :
		   "not running (glibc reads /etc/passwd and /etc/group itself)");
	for (int v = 0; v < N_VAR; v++) {
		if (!s[0][v].n)
			continue;
		table_row(&s[0][v], &s[0][v]);
		table_row(&s[1][v], &s[0][v]);
	}
	target_ratio("alice open+close, 10,000 users / few", &s[1][A_OC], &s[0][A_OC], 1.5);
	target_ratio("dave (group section) open+close, 10,000 users / few", &s[1][D_OC],
		     &s[0][D_OC], 1.5);
	table_end();
	for (int v = 0; v < N_VAR; v++) {
		sample_free(&s[0][v]);
		sample_free(&s[1][v]);
	}
	if (so)
		dlclose(so);
}

/* --- loops for perf/strace: one workload, BENCH_LOOPS times -------------------- */

static size_t loops(void)
{
	const char *v = getenv("BENCH_LOOPS");

	return v && atoi(v) > 0 ? (size_t)atoi(v) : 2000;
}

static void loop_pam(const char *service)
{
	struct sample s;
	size_t n = loops();

	sample_init(&s, service);
	for (size_t i = 0; i < n; i++)
		pam_cycle(service, USER, &s, NULL);
	table_begin("loop: open+close", 1);
	table_row(&s, &s);
	table_end();
	sample_free(&s);
}

static void item_loop_userns(void)
{
	loop_pam("userns");
}

static void item_loop_permit(void)
{
	loop_pam("permit");
}

static void item_loop_floor(void)
{
	char pin[PATH_MAX + 64];
	struct sample s;
	size_t n = loops();
	struct floor f;
	struct maps m;
	double a, b;
	int r;

	build_maps(USER, &m);
	snprintf(pin, sizeof(pin), "%s/loop.pin", scratch);
	if ((r = floor_init(&f, m.uid, m.gid, m.uid_map, m.gid_map, m.setgroups_deny, pin)) < 0)
		die("floor: %s", strerror(-r));
	sample_init(&s, "floor");
	for (size_t i = 0; i < n; i++) {
		if ((r = floor_create(&f, &a)) < 0 || (r = floor_remove(&f, &b)) < 0)
			die("floor: %s", strerror(-r));
		sample_add(&s, a + b);
	}
	floor_fini(&f);
	table_begin("loop: floor", 1);
	table_row(&s, &s);
	table_end();
	sample_free(&s);
}

/* --- main -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*fn)(void);
} items[] = {
	{ "core", item_core },
	{ "breakdown", item_breakdown },
	{ "entry", item_entry },
	{ "caller", item_caller },
	{ "ssh", item_ssh },
	{ "scale", item_scale },
	{ "users", item_users },
	/* For perf record / strace -c: one workload in a loop. */
	{ "loop-userns", item_loop_userns },
	{ "loop-permit", item_loop_permit },
	{ "loop-floor", item_loop_floor },
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s ITEM...   (inside the test bed; see bench/README.md)\n"
			"items:", argv[0]);
		for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
			fprintf(stderr, " %s", items[i].name);
		fputc('\n', stderr);
		return 2;
	}
	setup();
	for (int a = 1; a < argc; a++) {
		size_t i;

		for (i = 0; i < sizeof(items) / sizeof(items[0]); i++)
			if (!strcmp(argv[a], items[i].name))
				break;
		if (i == sizeof(items) / sizeof(items[0]))
			die("unknown item %s", argv[a]);
		items[i].fn();
	}
	return 0;
}
