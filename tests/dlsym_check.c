// SPDX-License-Identifier: LGPL-2.1-or-later
/* The built module loads with every symbol resolved and exports only what PAM calls. */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "test_assert.h"

int main(int argc, char **argv)
{
	const char *so = argc > 1 ? argv[1] : ".libs/pam_userns.so";
	static const char *const hidden[] = {
		"policy_load", "policy_resolve", "subid_lookup", "idmap_build",
		"userns_create_pinned", "userns_unpin", "session_begin", "session_end",
		"session_statedir", "pam_sm_authenticate", "pam_sm_acct_mgmt",
		"pam_sm_setcred", "pam_sm_chauthtok", NULL,
	};
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "dlopen %s: %s\n", so, dlerror());
		return 1;
	}
	ASSERT_TRUE(dlsym(h, "pam_sm_open_session") != NULL);
	ASSERT_TRUE(dlsym(h, "pam_sm_close_session") != NULL);
	for (int i = 0; hidden[i]; i++) {
		void *p = dlsym(h, hidden[i]);

		if (p)
			fprintf(stderr, "%s is exported\n", hidden[i]);
		ASSERT_TRUE(p == NULL);
	}
	dlclose(h);
	return t_done("dlsym_check");
}
