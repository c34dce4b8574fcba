/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef PAM_USERNS_LIST_H
#define PAM_USERNS_LIST_H

/* userns-shell --list [--json]: argv[0] is "--list". */
int list_main(int argc, char **argv);

#endif
