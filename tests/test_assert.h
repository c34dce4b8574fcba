/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PAM_USERNS_TEST_ASSERT_H
#define PAM_USERNS_TEST_ASSERT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Count checks; a failed one prints what was expected and what came. */
static int t_pass, t_fail;

#define T_LOC __FILE__, __LINE__

#define ASSERT_INT(expected, actual) do {					\
	long long e_ = (long long)(expected), a_ = (long long)(actual);		\
	if (e_ == a_) {								\
		t_pass++;							\
	} else {								\
		t_fail++;							\
		fprintf(stderr, "%s:%d: %s: expected %lld, got %lld\n", T_LOC,	\
			#actual, e_, a_);					\
	}									\
} while (0)

#define ASSERT_TRUE(cond) do {							\
	if (cond) {								\
		t_pass++;							\
	} else {								\
		t_fail++;							\
		fprintf(stderr, "%s:%d: expected true: %s\n", T_LOC, #cond);	\
	}									\
} while (0)

#define ASSERT_STR(expected, actual) do {					\
	const char *e_ = (expected), *a_ = (actual);				\
	if (a_ && !strcmp(e_, a_)) {						\
		t_pass++;							\
	} else {								\
		t_fail++;							\
		fprintf(stderr, "%s:%d: %s: expected \"%s\", got \"%s\"\n",	\
			T_LOC, #actual, e_, a_ ? a_ : "(null)");		\
	}									\
} while (0)

#define ASSERT_CONTAINS(needle, hay) do {					\
	const char *n_ = (needle), *h_ = (hay);					\
	if (h_ && strstr(h_, n_)) {						\
		t_pass++;							\
	} else {								\
		t_fail++;							\
		fprintf(stderr, "%s:%d: %s: \"%s\" does not contain \"%s\"\n",	\
			T_LOC, #hay, h_ ? h_ : "(null)", n_);			\
	}									\
} while (0)

static inline int t_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
