// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A libsubid NSS backend for the tests (nsswitch.conf "subid: pamuserns"
 * loads libsubid_pamuserns.so): alice owns 700000:1000 (uids) and
 * 800000:1000 (gids); everyone else is unknown.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <shadow/subid.h>

enum subid_status shadow_subid_has_range(const char *owner, unsigned long start,
					 unsigned long count, enum subid_type t, bool *result);
enum subid_status shadow_subid_list_owner_ranges(const char *owner, enum subid_type t,
						 struct subid_range **ranges, int *count);
enum subid_status shadow_subid_find_subid_owners(unsigned long id, enum subid_type t,
						 uid_t **uids, int *count);

static unsigned long base(enum subid_type t)
{
	return t == ID_TYPE_UID ? 700000 : 800000;
}

enum subid_status shadow_subid_has_range(const char *owner, unsigned long start,
					 unsigned long count, enum subid_type t, bool *result)
{
	*result = !strcmp(owner, "alice") && start >= base(t) && start + count <= base(t) + 1000;
	return SUBID_STATUS_SUCCESS;
}

enum subid_status shadow_subid_list_owner_ranges(const char *owner, enum subid_type t,
						 struct subid_range **ranges, int *count)
{
	if (strcmp(owner, "alice") != 0)
		return SUBID_STATUS_UNKNOWN_USER;
	*ranges = malloc(sizeof(**ranges));
	if (!*ranges)
		return SUBID_STATUS_ERROR;
	(*ranges)[0].start = base(t);
	(*ranges)[0].count = 1000;
	*count = 1;
	return SUBID_STATUS_SUCCESS;
}

enum subid_status shadow_subid_find_subid_owners(unsigned long id, enum subid_type t,
						 uid_t **uids, int *count)
{
	*uids = NULL;
	*count = 0;
	return SUBID_STATUS_SUCCESS;
}
