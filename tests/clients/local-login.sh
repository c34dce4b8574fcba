#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# local-login.sh - pam_userns through shadow's login: `login -f alice` under
# a pty (util-linux script), driven line by line: each command is typed only
# after the previous one's output has shown up on the terminal.
#
# alice's login shell is userns-shell. Checked while the session is open:
# the shell is 0:0 in the namespace with alice's map, it is a login shell,
# PAM_USERNS_PIN names the pin, the pin is mounted, the shell is in exactly
# the pinned namespace and is host uid 2001, no descriptor of the module
# reached it. After `exit`: login's waiting parent closed the session (the
# "removed" line), nothing is left, no process remains in a namespace.
#
# Two login stacks:
#   minimal  auth/account pam_permit (login -f runs no authentication; the
#            auth stack is only asked to setcred), session pam_userns +
#            pam_permit;
#   debian   Debian 12's /etc/pam.d/login (pam_faildelay, pam_nologin,
#            pam_selinux, pam_loginuid, pam_motd, pam_env, common-auth,
#            pam_group, pam_limits, pam_lastlog, pam_mail, pam_keyinit,
#            common-account, common-session, common-password) with
#            `session required pam_userns.so` appended, as pam-auth-update
#            would put it: pam_userns must get along with all of them.

. "$(dirname -- "$0")/lib-local.sh"

lt_require login script setpriv logger

testbed_set_shell alice "$LT_SHELL"
lt_conf <<EOF
[default]
enable = yes
EOF

minimal_stack() {
	lt_services
}

debian_stack() {
	testbed_pam_service login <<-EOF
	auth       optional   pam_faildelay.so  delay=3000000
	auth       requisite  pam_nologin.so
	session [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so close
	session    required   pam_loginuid.so
	session    optional   pam_motd.so motd=/run/motd.dynamic
	session    optional   pam_motd.so noupdate
	session [success=ok ignore=ignore module_unknown=ignore default=bad] pam_selinux.so open
	session    required   pam_env.so readenv=1
	session    required   pam_env.so readenv=1 envfile=/etc/default/locale
	@include common-auth
	auth       optional   pam_group.so
	session    required   pam_limits.so
	session    optional   pam_lastlog.so
	session    optional   pam_mail.so standard
	session    optional   pam_keyinit.so force revoke
	@include common-account
	@include common-session
	@include common-password
	session    required   $LT_MODULE conf=$LT_CONF
	EOF
}

# term_value NAME KEY: the value a "@KEY=value@" line showed on the terminal.
term_value() {
	pty_output "$1" | sed -n "s/^.*@$2=\\([^@]*\\)@.*\$/\\1/p" | tail -n1
}

# ask NAME KEY SHELL-EXPRESSION: have the shell print @KEY=value@, wait for
# it. The typed line (which the terminal echoes) reads "@KEY""=...", so only
# the answer matches.
ask() {
	pty_send "$1" "echo \"@$2\"\"=$3@\""
	pty_wait "$1" "@$2=[^@]*@" || return 1
}

# descriptors the test itself holds (inherited by login and the shell):
# anything else in the shell that is a pipe, an nsfs file or in the state
# directory came from the session's making.
own_fds=$(for f in /proc/$$/fd/*; do readlink "$f"; done 2>/dev/null | sort -u)

login_session() {
	local stack=$1 t=login-$1 mark pid pin t0 t1 fds
	mark=$(lt_log_mark)
	t0=$(date +%s%N)
	pty_start "$t" 'login -f alice'
	if ! ask "$t" uid '$(id -u):$(id -g)'; then
		not_ok "$stack stack: login -f alice gives a shell"
		pty_finish "$t"
		lt_clear_state
		return 1
	fi
	t1=$(date +%s%N)
	echo "# $stack stack: login -f alice to the first answer: $(((t1 - t0) / 1000000)) ms"
	check "$stack stack: the shell is root in the namespace (id -u: 0, id -g: 0)" \
		is_eq 0:0 "$(term_value "$t" uid)"
	ask "$t" map '$(awk "{ printf \"%s %s %s;\", \$1, \$2, \$3 }" /proc/self/uid_map)'
	check "$stack stack: uid_map is 0 2001 1 / 1 200000 65536" \
		is_eq '0 2001 1;1 200000 65536;' "$(term_value "$t" map)"
	ask "$t" gmap '$(awk "{ printf \"%s %s %s;\", \$1, \$2, \$3 }" /proc/self/gid_map)'
	check "$stack stack: gid_map is 0 2001 1 / 1 200000 65536" \
		is_eq '0 2001 1;1 200000 65536;' "$(term_value "$t" gmap)"
	ask "$t" zero '$0'
	check "$stack stack: userns-shell ran bash as a login shell (\$0 = -bash)" \
		is_eq -bash "$(term_value "$t" zero)"
	ask "$t" pin '$PAM_USERNS_PIN'
	pin=$(term_value "$t" pin)
	ask "$t" pid '$$'
	pid=$(term_value "$t" pid)
	check "$stack stack: PAM_USERNS_PIN names a pin of uid 2001, mounted, with its record" \
		eval '[[ $pin =~ ^/run/pam_userns/2001/[0-9a-f]{16}\.ns$ ]] &&
			[[ -e ${pin%.ns}.info ]] && lt_state_leftovers | grep -qxF "mount: $pin" ||
			{ lt_diag "pin=$pin" "$(lt_state_leftovers)"; false; }'
	check "$stack stack: the shell (pid $pid) is in the pinned namespace, host uid 2001" \
		eval 'is_eq "$(stat -L -c %i "$pin")" "$(stat -L -c %i "/proc/$pid/ns/user")" &&
			is_eq 2001 "$(awk "/^Uid:/ { print \$2 }" "/proc/$pid/status")"'
	# The shell waits for input: its descriptors, seen from outside.
	echo "# $stack stack: the shell's descriptors:" \
		$(for f in "/proc/$pid/fd/"*; do echo "${f##*/}=$(readlink "$f")"; done 2>/dev/null)
	fds=$(for f in "/proc/$pid/fd/"*; do readlink "$f"; done 2>/dev/null |
		grep -E 'pipe:|user:|mnt:|anon_inode|pam_userns' | grep -vxF -f <(echo "$own_fds") || true)
	check "$stack stack: no descriptor of the module reached the shell" is_eq "" "$fds"
	check "$stack stack: login's parent still holds the session (no 'removed' yet)" \
		lt_log_lacks "$mark" "removed"

	pty_send "$t" 'exit'
	pty_exit "$t"
	check "$stack stack: exit logs out (login ends, status 0)" \
		eval 'is_rc 0 "$LT_RC" "$(pty_output "$t" | tail -n 5)" && pty_wait "$t" "^logout" 1'
	pty_finish "$t"
	check "$stack stack: syslog: user namespace created for alice ..., from [default]" \
		lt_log_wait "$mark" "pam_userns(login:session): user namespace created for alice (uid 2001): $pin, 65537 uids, 65537 gids, setgroups allow, from [default]"
	check "$stack stack: logout closed the session: syslog: user namespace $pin removed" \
		lt_log_wait "$mark" "pam_userns(login:session): user namespace $pin removed"
	check "$stack stack: nothing is left in /run/pam_userns, no process in a namespace" \
		eval 'lt_state_clean && lt_no_ns_procs'
	lt_clear_state
}

minimal_stack
login_session minimal
debian_stack
login_session debian
check "debian stack: pam_unix opened and closed its session around ours" \
	eval 'grep -qF "pam_unix(login:session): session opened for user alice" "$TESTBED_SYSLOG" &&
		grep -qF "pam_unix(login:session): session closed for user alice" "$TESTBED_SYSLOG"'

lt_finish
