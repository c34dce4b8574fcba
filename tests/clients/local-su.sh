#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# local-su.sh - pam_userns through util-linux su (services su and su-l, with
# pam_userns required in the session stack; alice's login shell is
# userns-shell).
#
# - `su - alice -c CMD` and `su alice -c CMD`: CMD runs as 0 in alice's
#   namespace (the map, a login shell or not, PAM_USERNS_PIN), the exit
#   status and stdin pass through, the session's pin is removed when su
#   returns;
# - a user the policy does not cover, with an ordinary shell: su works as
#   without the module, no namespace;
# - su from inside alice's namespace (what happens, see README/report):
#   su's set-uid bit does nothing there (its owner, host root, is not mapped
#   in alice's namespace), so su runs as the namespace's root, which has no
#   privilege over the host. With pam_userns in su's stack every su is
#   refused (the module cannot even trust its configuration: root-owned
#   files look owned by nobody inside), fail closed. Without pam_userns in
#   the stack, `su bob` only switches to the uid that is called 2002 inside
#   alice's namespace, which is host uid 202001, one of alice's own
#   subordinate ids: never the real bob; and if bob's shell is
#   userns-shell, that refuses alice's pin.

. "$(dirname -- "$0")/lib-local.sh"

lt_require su setpriv logger

testbed_set_shell alice "$LT_SHELL"
testbed_set_shell bob "$LT_SHELL"
lt_conf <<EOF
[default]
enable = no

[user:alice]
enable = yes

[user:bob]
enable = yes
EOF
lt_services

pin_re='/run/pam_userns/2001/[0-9a-f]{16}\.ns'

# session_checks NAME SERVICE MARK: created and removed lines for one pin of
# alice's, in that order, and nothing left.
session_checks() {
	local name=$1 service=$2 mark=$3 pin
	check "$name: syslog: pam_userns($service:session): user namespace created for alice (uid 2001)" \
		lt_log_wait "$mark" "pam_userns($service:session): user namespace created for alice (uid 2001): /run/pam_userns/2001/"
	pin=$(lt_log_line "$mark" "user namespace created for alice" | grep -oE "$pin_re")
	check "$name: syslog: pam_userns($service:session): user namespace PIN removed (su's parent closed it)" \
		lt_log_wait "$mark" "pam_userns($service:session): user namespace $pin removed"
	check "$name: nothing is left in /run/pam_userns, no process in a namespace" \
		eval 'lt_state_clean && lt_no_ns_procs'
	lt_clear_state
}

# --- su - alice -c, su alice -c ---------------------------------------------

inside='echo "uid=$(id -u) gid=$(id -g)"
echo "zero=$0"
echo "pin=$PAM_USERNS_PIN"
echo "home=$HOME pwd=$(pwd)"
echo "uid_map=$(awk "{ printf \"%s %s %s;\", \$1, \$2, \$3 }" /proc/self/uid_map)"
echo "gid_map=$(awk "{ printf \"%s %s %s;\", \$1, \$2, \$3 }" /proc/self/gid_map)"'

value() { sed -n "s/^$1=//p" <<< "$2" | head -n1; }

for form in 'su -' su; do
	# shellcheck disable=SC2086
	out=$(cd / && $form alice -c 'id -u' 2>&1 </dev/null)
	check "$form alice -c 'id -u' prints 0" is_eq 0 "$out"
	lt_clear_state
	if [[ $form == su ]]; then service=su zero=bash; else service=su-l zero=-bash; fi
	mark=$(lt_log_mark)
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	out=$(cd / && $form alice -c "$inside" 2>&1 </dev/null)
	rc=$?
	t1=$(date +%s%N)
	echo "# $form alice -c ...: $(((t1 - t0) / 1000000)) ms"
	check "$form alice -c ...: exits 0, uid 0 and gid 0 in the namespace" \
		eval 'is_rc 0 "$rc" "$out" && is_eq "uid=0 gid=0" "uid=$(value uid "$out")"'
	check "$form alice: uid_map is 0 2001 1 / 1 200000 65536" \
		is_eq '0 2001 1;1 200000 65536;' "$(value uid_map "$out")"
	check "$form alice: gid_map is 0 2001 1 / 1 200000 65536" \
		is_eq '0 2001 1;1 200000 65536;' "$(value gid_map "$out")"
	check "$form alice: the real shell runs as \$0 = $zero" is_eq "$zero" "$(value zero "$out")"
	check "$form alice: PAM_USERNS_PIN reached the shell's environment" \
		eval '[[ $(value pin "$out") =~ ^$pin_re$ ]] || { lt_diag "$out"; false; }'
	if [[ $form == 'su -' ]]; then
		check "su - alice: a login environment (HOME and the working directory are /home/alice)" \
			is_eq 'home=/home/alice pwd=/home/alice' "home=$(value home "$out")"
	fi
	session_checks "$form alice" "$service" "$mark"
done

out=$(su - alice -c 'exit 7' 2>&1 </dev/null)
rc=$?
check "su - alice -c 'exit 7': the exit status (7) comes back" is_rc 7 "$rc" "$out"
out=$(printf 'line one\nline two\n' | su - alice -c 'echo "uid=$(id -u)"; cat')
check "su - alice -c 'cat' < input: stdin passes through into the namespace" \
	is_eq $'uid=0\nline one\nline two' "$out"
lt_clear_state

# --- a user the policy does not cover (PAM_IGNORE) ------------------------------

testbed_set_shell carol /bin/bash
mark=$(lt_log_mark)
out=$(su - carol -c 'echo "uid=$(id -u) pin=${PAM_USERNS_PIN-unset}"; cat /proc/self/uid_map' 2>&1 </dev/null)
rc=$?
check "su - carol (not covered, shell /bin/bash): works as without the module (uid 2003, no pin, host map)" \
	eval 'is_rc 0 "$rc" "$out" && has_text "uid=2003 pin=unset" "$out" && has_text "4294967295" "$out"'
check "su - carol (not covered): no namespace, no state for uid 2003" \
	eval 'lt_log_lacks "$mark" "user namespace created" && [[ ! -e /run/pam_userns/2003 ]]'

# --- su from inside alice's namespace ----------------------------------------------

# With pam_userns in the stacks of both su and su-l.
mark=$(lt_log_mark)
out=$(su - alice -c '
	echo "outer=$(id -u)"
	su bob -c "echo REACHED-BOB uid=\$(id -u)"; echo "su-bob=$?"
	su - bob -c "echo REACHED-BOB uid=\$(id -u)"; echo "su-l-bob=$?"
	su root -c "echo REACHED-ROOT uid=\$(id -u)"; echo "su-root=$?"
	SHELL=/bin/sh script -qec "login -f bob" /dev/null </dev/null; echo "login-bob=$?"
	echo "after=$(id -u) $(awk "NR == 1 { print \$2 }" /proc/self/uid_map)"' 2>&1 </dev/null)
rc=$?
check "inside alice's namespace: su bob is refused (su: cannot open session)" \
	eval 'is_eq 1 "$(value su-bob "$out")" && has_text "su: cannot open session: $LT_SESSION_ERR" "$out" &&
		lacks_text REACHED-BOB "$out"'
check "inside alice's namespace: su - bob is refused" \
	eval 'is_eq 1 "$(value su-l-bob "$out")" && lacks_text REACHED-BOB "$out"'
check "inside alice's namespace: su root is refused too (the module is required in su's stack)" \
	eval 'is_eq 1 "$(value su-root "$out")" && lacks_text REACHED-ROOT "$out"'
check "inside alice's namespace: login -f bob (under script) is refused, and logged" \
	eval 'is_eq 1 "$(value login-bob "$out")" && has_text "$LT_SESSION_ERR" "$out" &&
		lt_log_wait "$mark" "pam_userns(login:session): "'
# What the administrator should read (the module's own line for this,
# 788d2bc). Today the configuration check comes first and blames the file
# ("configuration error: FILE: refusing to read: owned by uid 65534, not
# root"): reported, this check fails until the module checks for the
# namespace before it reads its configuration.
inns="cannot prepare a namespace for bob: this process is root only inside a user namespace (su or login from a namespaced session?)"
check "inside alice's namespace: pam_userns logs why for bob (su and su-l): $inns" \
	eval 'lt_log_wait "$mark" "pam_userns(su:session): $inns" 5 &&
		lt_log_wait "$mark" "pam_userns(su-l:session): $inns" 5'
check "inside alice's namespace: no namespace for bob, no state for uid 2002" \
	eval 'lt_log_lacks "$mark" "user namespace created for bob" && [[ ! -e /run/pam_userns/2002 ]]'
check "inside alice's namespace: after the refusals alice's shell is still 0, in her namespace (0 -> 2001)" \
	eval 'is_rc 0 "$rc" "$out" && is_eq "0 2001" "$(value after "$out")"'
session_checks "su - alice (with su inside)" su-l "$mark"

# Without pam_userns in the su service (su-l keeps it, for the outer su -).
testbed_pam_service su <<EOF
auth     sufficient  pam_rootok.so
auth     required    pam_deny.so
account  required    pam_permit.so
session  required    pam_permit.so
EOF
mark=$(lt_log_mark)
out=$(su - alice -c '
	mkdir -m 1777 ~/shared
	su -s /bin/bash bob -c "echo bob-uid=\$(id -u); touch ~alice/shared/by-bob"; echo "su-s-bob=$?"
	su bob -c "echo REACHED-BOB"; echo "su-bob=$?"
	su -s /bin/bash root -c "echo root-map=\$(awk \"NR == 1 { print \\\$2 }\" /proc/self/uid_map)"' 2>&1 </dev/null)
check "inside alice's namespace, su without pam_userns: su -s /bin/bash bob gets uid 2002 of alice's namespace" \
	eval 'is_eq 2002 "$(value bob-uid "$out")" && is_eq 0 "$(value su-s-bob "$out")"'
check "... which is host uid 202001 (alice's subordinate id 200000+2002-1), not the real bob (2002)" \
	is_eq 202001 "$(stat -c %u /home/alice/shared/by-bob 2>&1)"
check "... su bob (shell userns-shell): userns-shell refuses alice's pin" \
	eval 'is_eq 1 "$(value su-bob "$out")" && lacks_text REACHED-BOB "$out" &&
		has_text "userns-shell: refusing PAM_USERNS_PIN=/run/pam_userns/2001/" "$out"'
check "... su root stays in alice's namespace (its uid 0 is host 2001)" \
	is_eq 2001 "$(value root-map "$out")"
session_checks "su - alice (su without the module inside)" su-l "$mark"
rm -rf /home/alice/shared

lt_finish
