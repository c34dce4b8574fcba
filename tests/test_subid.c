// SPDX-License-Identifier: LGPL-2.1-or-later
/* Subordinate ranges and the id map: every bad input refused, with why. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "subid.h"
#include "test_assert.h"

static char dir[] = "/tmp/test_subid.XXXXXX";
static char uidfile[600], nssfile[600];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0) {
		perror(path);
		exit(99);
	}
	fclose(f);
}

static int lookup(const char *text, const char *user, uint64_t id, struct id_range **r,
		  char *err)
{
	write_file(uidfile, text);
	err[0] = '\0';
	return subid_lookup(SUBID_UID, user, id, r, err, SUBID_ERR_MAX);
}

static void test_files(void)
{
	struct id_range *r = NULL;
	char err[SUBID_ERR_MAX], want[700];

	ASSERT_INT(2, lookup("bob:300000:65536\nalice:200000:65536\n2001:500000:10\n",
			     "alice", 2001, &r, err));
	ASSERT_INT(200000, r[0].start);
	ASSERT_INT(65536, r[0].count);
	ASSERT_INT(500000, r[1].start);	/* by numeric id, as libsubid does */
	ASSERT_INT(10, r[1].count);
	free(r);

	ASSERT_INT(0, lookup("bob:300000:65536\n", "alice", 2001, &r, err));
	ASSERT_TRUE(r == NULL);
	/* a prefix of another name is not a match */
	ASSERT_INT(0, lookup("alice2:300000:65536\nalic:1:2\n", "alice", 2001, &r, err));

	snprintf(want, sizeof(want), "%s:2: malformed entry for alice (expected NAME:START:COUNT)",
		 uidfile);
	ASSERT_INT(-EINVAL, lookup("bob:300000:65536\nalice:20000x:65536\n", "alice", 2001, &r, err));
	ASSERT_STR(want, err);
	ASSERT_INT(-EINVAL, lookup("alice:200000\n", "alice", 2001, &r, err));
	ASSERT_INT(-EINVAL, lookup("alice:200000:65536:9\n", "alice", 2001, &r, err));
	ASSERT_INT(-EINVAL, lookup("alice::65536\n", "alice", 2001, &r, err));
	ASSERT_INT(-EINVAL, lookup("alice:-5:65536\n", "alice", 2001, &r, err));
	ASSERT_INT(-EINVAL, lookup("alice:200000:65536\r\n", "alice", 2001, &r, err));
	ASSERT_CONTAINS("carriage return", err);
	/* someone else's typo does not lock alice out */
	ASSERT_INT(1, lookup("bob:30000x:65536\nalice:200000:65536\n", "alice", 2001, &r, err));
	free(r);

	/* subgid: a numeric owner is the gid of the group named like the user */
	{
		char gidfile[700];

		snprintf(gidfile, sizeof(gidfile), "%s/subgid", dir);
		write_file(gidfile, "daemon:400000:5\n0:500000:10\nroot:600000:7\n");
		subid_gid_file = gidfile;
		ASSERT_INT(2, subid_lookup(SUBID_GID, "root", SUBID_OWNER_GROUP_OF_USER, &r, err,
					   sizeof(err)));
		ASSERT_INT(500000, r[0].start);
		ASSERT_INT(600000, r[1].start);
		free(r);
		/* no group of that name: numeric lines are nobody's */
		ASSERT_INT(0, subid_lookup(SUBID_GID, "nosuchuser-x", SUBID_OWNER_GROUP_OF_USER, &r,
					   err, sizeof(err)));
	}

	unlink(uidfile);
	ASSERT_INT(-ENOENT, subid_lookup(SUBID_UID, "alice", 2001, &r, err, sizeof(err)));
	snprintf(want, sizeof(want), "cannot read %s: No such file or directory", uidfile);
	ASSERT_STR(want, err);
}

static void test_nsswitch(void)
{
	write_file(nssfile, "passwd: files\n");
	ASSERT_INT(0, subid_nss_configured());
	write_file(nssfile, "passwd: files\nsubid: files\n");
	ASSERT_INT(0, subid_nss_configured());
	write_file(nssfile, "#subid: sss\n");
	ASSERT_INT(0, subid_nss_configured());
	write_file(nssfile, "passwd: files\n  subid:   sss\n");
	ASSERT_INT(1, subid_nss_configured());
	write_file(nssfile, "passwd: files\n");
}

static int build(struct idmap *m, uint32_t self, const struct id_range *r, size_t n,
		 uint64_t max, char *text, char *err)
{
	int rc;

	err[0] = '\0';
	rc = idmap_build(m, self, r, n, max, "subuid", err, SUBID_ERR_MAX);
	if (rc == 0)
		idmap_format(m, text, IDMAP_MAX_BYTES + 1);
	return rc;
}

static void test_idmap(void)
{
	static struct idmap m;
	char text[IDMAP_MAX_BYTES + 1], err[SUBID_ERR_MAX];
	struct id_range one[] = { { 100000, 65536 } };
	struct id_range two[] = { { 100000, 10 }, { 300000, 65536 } };
	static struct id_range many[400];

	ASSERT_INT(0, build(&m, 1001, NULL, 0, 65536, text, err));
	ASSERT_STR("0 1001 1\n", text);

	ASSERT_INT(0, build(&m, 1001, one, 1, 65536, text, err));
	ASSERT_STR("0 1001 1\n1 100000 65536\n", text);
	ASSERT_INT(65537, m.total);

	/* the cap cuts the last range mapped, later ones are dropped */
	ASSERT_INT(0, build(&m, 1001, two, 2, 1000, text, err));
	ASSERT_STR("0 1001 1\n1 100000 10\n11 300000 990\n", text);
	ASSERT_INT(0, build(&m, 1001, two, 2, 5, text, err));
	ASSERT_STR("0 1001 1\n1 100000 5\n", text);

	struct id_range root[] = { { 0, 65536 } };
	ASSERT_INT(-EPERM, build(&m, 1001, root, 1, 65536, text, err));
	ASSERT_STR("subuid range 0:65536 contains id 0 (root)", err);

	struct id_range self[] = { { 1000, 10 } };
	ASSERT_INT(-EPERM, build(&m, 1001, self, 1, 65536, text, err));
	ASSERT_STR("subuid range 1000:10 contains the user's own id 1001", err);

	struct id_range overlap[] = { { 100000, 65536 }, { 165535, 10 } };
	ASSERT_INT(-EINVAL, build(&m, 1001, overlap, 2, 1u << 20, text, err));
	ASSERT_STR("subuid ranges 100000:65536 and 165535:10 overlap", err);

	/* a range past the cap is still checked: a bad file is refused */
	struct id_range late[] = { { 100000, 65536 }, { 100005, 10 } };
	ASSERT_INT(-EINVAL, build(&m, 1001, late, 2, 10, text, err));

	struct id_range dup[] = { { 100000, 65536 }, { 100000, 65536 } };
	ASSERT_INT(-EINVAL, build(&m, 1001, dup, 2, 1u << 20, text, err));

	struct id_range empty[] = { { 100000, 0 } };
	ASSERT_INT(-EINVAL, build(&m, 1001, empty, 1, 65536, text, err));
	ASSERT_STR("subuid range 100000:0 is empty", err);

	struct id_range huge[] = { { 100000, 4294967295ULL } };
	ASSERT_INT(-ERANGE, build(&m, 1001, huge, 1, 65536, text, err));
	ASSERT_STR("subuid range 100000:4294967295 runs past the 32-bit id space", err);
	struct id_range edge[] = { { 4294967294ULL, 1 } };
	ASSERT_INT(0, build(&m, 1001, edge, 1, 65536, text, err));
	struct id_range over[] = { { 4294967295ULL, 1 } };
	ASSERT_INT(-ERANGE, build(&m, 1001, over, 1, 65536, text, err));

	/* the largest map there is: everything but the user and 0 */
	struct id_range all[] = { { 1, 1000 }, { 1002, 4294967294ULL - 1001 } };
	ASSERT_INT(0, build(&m, 1001, all, 2, 4294967294ULL, text, err));
	ASSERT_STR("0 1001 1\n1 1 1000\n1001 1002 4294966293\n", text);

	/* the kernel's limits: 340 lines, one page */
	for (int i = 0; i < 400; i++)
		many[i] = (struct id_range){ 2 + (uint64_t)i * 2, 1 };
	ASSERT_INT(0, build(&m, 100000, many, 339, 1u << 20, text, err));
	ASSERT_INT(340, m.n);
	ASSERT_INT(-E2BIG, build(&m, 100000, many, 340, 1u << 20, text, err));
	ASSERT_CONTAINS("more than 340 lines", err);
	for (int i = 0; i < 400; i++)
		many[i] = (struct id_range){ 1000000000ULL + (uint64_t)i * 2000000, 1000000 };
	ASSERT_INT(-E2BIG, build(&m, 1001, many, 300, 4294967294ULL, text, err));
	ASSERT_CONTAINS("longer than 4095 bytes", err);
}

int main(void)
{
	char cmd[700];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(uidfile, sizeof(uidfile), "%s/subuid", dir);
	snprintf(nssfile, sizeof(nssfile), "%s/nsswitch.conf", dir);
	write_file(nssfile, "passwd: files\n");
	subid_uid_file = uidfile;
	subid_nsswitch_file = nssfile;

	test_files();
	test_nsswitch();
	test_idmap();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return t_done("test_subid");
}
