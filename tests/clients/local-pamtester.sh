#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# local-pamtester.sh - pam_userns through pamtester (open_session and
# close_session in one process, no shell).
#
# - a covered user: exit 0, the "created" then "removed" syslog lines naming
#   one pin, and during the session (a pam_exec probe after pam_userns in
#   the stack) the pin is an nsfs file the user can join with userns-shell,
#   as 0 with the right maps; afterwards nothing is left;
# - a user covered through [group:NAME], one with subids = none;
# - uncovered users (PAM_IGNORE): with pam_permit after pam_userns the
#   session opens, no namespace, no state; pam_userns alone makes libpam
#   refuse (every module ignored);
# - open_session without close_session: pam_end cleans up;
# - every failure case of lib-local.sh's matrix: refused, the reason in the
#   log, nothing left.
#
# Run by `make check`, or by hand as root: tests/clients/local-pamtester.sh

. "$(dirname -- "$0")/lib-local.sh"

lt_require pamtester setpriv logger

for u in alice bob carol dave; do
	testbed_set_shell "$u" "$LT_SHELL"
done

# The probe: pam_exec runs it during open_session, after pam_userns, with
# the PAM environment (PAM_USERNS_PIN) and PAM_USER set.
cat > "$LT/probe.sh" <<EOF
#!/bin/sh
out=$LT/probe.\$PAM_USER
{
	echo "pin=\${PAM_USERNS_PIN:-}"
	if [ -n "\${PAM_USERNS_PIN:-}" ]; then
		echo "fstype=\$(stat -f -c %T "\$PAM_USERNS_PIN")"
		echo "files=\$(cd "\${PAM_USERNS_PIN%/*}" && ls | tr '\n' ' ')"
		setpriv --reuid="\$PAM_USER" --regid="\$(id -g "\$PAM_USER")" --init-groups \\
			--reset-env env PAM_USERNS_PIN="\$PAM_USERNS_PIN" $LT_SHELL -c '
			echo "inside=\$(id -u):\$(id -g)"
			echo "uid_map=\$(awk "{ printf \\"%s %s %s;\\", \\\$1, \\\$2, \\\$3 }" /proc/self/uid_map)"
			echo "gid_map=\$(awk "{ printf \\"%s %s %s;\\", \\\$1, \\\$2, \\\$3 }" /proc/self/gid_map)"
			echo "setgroups=\$(cat /proc/self/setgroups)"'
		echo "join=\$?"
	fi
} > "\$out" 2>&1
exit 0
EOF
chmod 0755 "$LT/probe.sh"

# lt-probe: pam_userns, then the probe.
probe_service() {
	testbed_pam_service lt-probe <<-EOF
	auth     required  pam_permit.so
	account  required  pam_permit.so
	session  required  $LT_MODULE ${1:-} conf=$LT_CONF
	session  optional  pam_exec.so type=open_session quiet $LT/probe.sh
	session  required  pam_permit.so
	EOF
}

probe_value() {
	sed -n "s/^$2=//p" "$LT/probe.$1" 2>/dev/null | head -n1
}

pin_re='/run/pam_userns/[0-9]+/[0-9a-f]{16}\.ns'

# created_first MARK A B: the first line with A comes before the first with B.
created_first() {
	local a b
	a=$(lt_log_since "$1" | grep -nF -m1 -e "$2" | cut -d: -f1)
	b=$(lt_log_since "$1" | grep -nF -m1 -e "$3" | cut -d: -f1)
	[[ -n $a && -n $b && $a -lt $b ]] && return 0
	lt_diag "'$2' at line ${a:-none}, '$3' at line ${b:-none}"
	return 1
}

# state_files PIN LISTING: the user's directory held NAME.info NAME.ns and
# NAME.ref (scope = session: the namespace is named after the session).
state_files() {
	local name=${1##*/}
	name=${name%.ns}
	is_eq "$name.info $name.ns $name.ref " "$2"
}

# covered USER UID SECTION UIDS GIDS SETGROUPS UID_MAP GID_MAP
covered() {
	local user=$1 uid=$2 section=$3 nuid=$4 ngid=$5 sg=$6 umap=$7 gmap=$8
	local out rc mark created pin t0 t1
	rm -f "$LT/probe.$user"
	mark=$(lt_log_mark)
	t0=$(date +%s%N)
	out=$(pamtester lt-probe "$user" open_session close_session 2>&1)
	rc=$?
	t1=$(date +%s%N)
	echo "# $user: pamtester open_session close_session took $(((t1 - t0) / 1000000)) ms"
	check "$user: pamtester open_session close_session exits 0" \
		eval 'is_rc 0 "$rc" "$out" && has_text "successfully opened a session" "$out" &&
			has_text "session has successfully been closed" "$out"'
	check "$user: syslog: user namespace created for $user (uid $uid): PIN, $nuid uids, $ngid gids, setgroups $sg, from $section" \
		lt_log_wait "$mark" "pam_userns(lt-probe:session): user namespace created for $user (uid $uid): /run/pam_userns/$uid/"
	created=$(lt_log_line "$mark" "user namespace created for $user")
	pin=$(grep -oE "$pin_re" <<< "$created" | head -n1)
	check "$user: the created line names the pin, the counts, setgroups and the section" \
		has_text "created for $user (uid $uid): $pin, $nuid uids, $ngid gids, setgroups $sg, from $section" "$created"
	check "$user: syslog: user namespace PIN removed" \
		lt_log_wait "$mark" "pam_userns(lt-probe:session): user namespace $pin removed"
	check "$user: 'created' comes before 'removed'" \
		created_first "$mark" "created for $user" "$pin removed"
	# What the probe saw while the session was open.
	check "$user: during the session PAM_USERNS_PIN names that pin" \
		is_eq "$pin" "$(probe_value "$user" pin)"
	check "$user: during the session the pin is an nsfs file, with its record and reference" \
		eval 'is_eq nsfs "$(probe_value "$user" fstype)" && state_files "$pin" "$(probe_value "$user" files)"'
	check "$user: during the session $user joins it with userns-shell and is 0:0" \
		eval 'is_eq 0 "$(probe_value "$user" join)" && is_eq 0:0 "$(probe_value "$user" inside)" ||
			lt_diag "$(cat "$LT/probe.$user")"'
	check "$user: uid_map is $umap" is_eq "$umap" "$(probe_value "$user" uid_map)"
	check "$user: gid_map is $gmap" is_eq "$gmap" "$(probe_value "$user" gid_map)"
	check "$user: setgroups is $sg" is_eq "$sg" "$(probe_value "$user" setgroups)"
	check "$user: afterwards nothing is left in /run/pam_userns, no process in a namespace" \
		eval 'lt_state_clean && lt_no_ns_procs'
	lt_clear_state
}

# --- covered users -------------------------------------------------------------

lt_conf <<EOF
[default]
enable = no

[group:sandboxed]
enable = yes

[user:alice]
enable = yes

[user:carol]
enable = yes
subids = none
EOF
probe_service

covered alice 2001 '[user:alice]' 65537 65537 allow \
	'0 2001 1;1 200000 65536;' '0 2001 1;1 200000 65536;'
covered dave 2004 '[group:sandboxed]' 65537 65537 allow \
	'0 2004 1;1 400000 65536;' '0 2004 1;1 400000 65536;'
# subids = none: only the user; no subgid mapped, so setgroups auto = deny.
covered carol 2003 '[user:carol]' 1 1 deny '0 2003 1;' '0 2003 1;'

# --- uncovered users: PAM_IGNORE -----------------------------------------------

probe_service debug
for user in bob root; do
	rm -f "$LT/probe.$user"
	uid=$(id -u "$user")
	mark=$(lt_log_mark)
	out=$(pamtester lt-probe "$user" open_session close_session 2>&1)
	rc=$?
	if [[ $user == root ]]; then why='root needs [user:root]'; else why='[default]'; fi
	check "$user (not covered): pamtester exits 0 with pam_permit after pam_userns" \
		eval 'is_rc 0 "$rc" "$out" && has_text "successfully opened a session" "$out"'
	check "$user (not covered): debug line: no namespace for $user (enable = no, from $why)" \
		lt_log_wait "$mark" "pam_userns(lt-probe:session): no namespace for $user (enable = no, from $why)"
	check "$user (not covered): no 'created' line, no PAM_USERNS_PIN, no state for uid $uid" \
		eval 'lt_log_lacks "$mark" "user namespace created" &&
			is_eq "" "$(probe_value "$user" pin)" &&
			[[ ! -e /run/pam_userns/$uid ]] && lt_state_clean'
done

# pam_userns alone in the session stack: PAM_IGNORE from every module is a
# failure for libpam ("Permission denied"), so the stacks always need another
# session module (Debian's common-session has pam_permit and pam_unix).
testbed_pam_service lt-alone <<EOF
session  required  $LT_MODULE conf=$LT_CONF
EOF
mark=$(lt_log_mark)
out=$(pamtester lt-alone bob open_session close_session 2>&1)
rc=$?
check "bob (not covered), pam_userns alone in the stack: libpam refuses (pamtester: Permission denied)" \
	eval 'is_fail_rc "$rc" "$out" && has_text "pamtester: Permission denied" "$out"'
check "bob (not covered), pam_userns alone: still no namespace and no state" \
	eval 'lt_log_lacks "$mark" "user namespace created" && [[ ! -e /run/pam_userns/2002 ]]'
out=$(pamtester lt-alone alice open_session close_session 2>&1)
rc=$?
check "alice (covered), pam_userns alone in the stack: exits 0" is_rc 0 "$rc" "$out"

# --- the standard service, open_session only, an unknown argument ----------------

lt_services "conf=$LT_CONF bogus-arg"
mark=$(lt_log_mark)
out=$(pamtester lt alice open_session 2>&1)
rc=$?
check "open_session without close_session: pamtester exits 0, a namespace was created" \
	eval 'is_rc 0 "$rc" "$out" && lt_log_wait "$mark" "user namespace created for alice"'
check "open_session without close_session: pam_end removed the pin, nothing is left" \
	eval 'lt_state_clean && lt_no_ns_procs'
check "an unknown module argument is logged and ignored: unknown option: bogus-arg" \
	lt_log_wait "$mark" "pam_userns(lt:session): unknown option: bogus-arg"
lt_clear_state

# --- the failure matrix ----------------------------------------------------------

for name in "${LT_CASES[@]}"; do
	lt_case_via pamtester "$name"
done
lt_restore_fixtures

lt_finish
