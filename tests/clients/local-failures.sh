#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# local-failures.sh - the failure matrix through the real clients.
#
# 1. Every case of lib-local.sh's matrix (configuration syntax, unknown
#    keys, bad values, unsafe or missing files, subuid/subgid entries that
#    are missing, malformed, contain the user's own id or root, overlap, are
#    huge or empty, maps over the kernel's 340 lines or 4095 bytes,
#    user.max_user_namespaces reached) through `su - USER` and `login -f
#    USER`: the login is refused with PAM's session error, the shell never
#    runs, the syslog line names the file:line or the user and range, and
#    nothing is left. (local-pamtester.sh runs the same matrix through
#    pamtester.)
# 2. Limits that are not errors: max_ids caps the map (it does not
#    refuse); 339 ranges (340 map lines) work; the top of the id space
#    works; user.max_user_namespaces is per user.
# 3. userns-shell started without a prepared namespace, or with a forged
#    PAM_USERNS_PIN (another user's pin, a regular file, a symbolic link,
#    another kind of namespace, a closed session, a namespace that does not
#    map the user to 0), through su with a tampered environment and
#    through setpriv: one line on stderr, exit 1, the command never runs.
# 4. A key given twice in one section.

. "$(dirname -- "$0")/lib-local.sh"

lt_require su login script setpriv unshare logger

for u in alice bob carol dave; do
	testbed_set_shell "$u" "$LT_SHELL"
done

# --- 1. the matrix through su and login --------------------------------------------

for name in "${LT_CASES[@]}"; do
	lt_case_via su "$name"
	lt_case_via login "$name"
done
lt_restore_fixtures

# --- 2. limits that are not errors ----------------------------------------------------

# map_of USER: "uid_map|gid_map" as su - USER sees it, one "a b c;" per line.
map_of() {
	su - "$1" -c 'for f in uid_map gid_map; do awk "{ printf \"%s %s %s;\", \$1, \$2, \$3 }" /proc/self/$f; echo; done' \
		2>&1 </dev/null | tr '\n' '|'
}

lt_restore_fixtures
printf '%s\n' '[default]' 'enable = yes' '[user:alice]' 'max_ids = 1000' | lt_conf
lt_services
mark=$(lt_log_mark)
check "max_ids = 1000 caps the map (no refusal): uid_map 0 2001 1 / 1 200000 1000" \
	is_eq '0 2001 1;1 200000 1000;|0 2001 1;1 200000 1000;|' "$(map_of alice)"
check "max_ids = 1000: syslog: 1001 uids, 1001 gids" \
	lt_log_wait "$mark" "user namespace created for alice (uid 2001): "
check "max_ids = 1000: the created line counts 1001 uids, 1001 gids" \
	has_text ", 1001 uids, 1001 gids, setgroups allow, from [default]" \
	"$(lt_log_line "$mark" "user namespace created for alice")"

printf '%s\n' 'alice:200000:500' 'alice:210000:65536' | testbed_write /etc/subuid
check "max_ids = 1000 over two ranges (500 + 65536): 1 200000 500 / 501 210000 500" \
	is_eq '0 2001 1;1 200000 500;501 210000 500;|' "$(map_of alice | cut -d'|' -f1)|"

lt_restore_fixtures
printf '%s\n' '[default]' 'enable = yes' | lt_conf
# 4-digit ids keep 340 lines under 4095 bytes (6-digit ones would not).
lt_subuid_lines 339 3000 2 | testbed_write /etc/subuid
out=$(su - alice -c 'echo "lines=$(wc -l < /proc/self/uid_map) last=$(tail -n1 /proc/self/uid_map | tr -s " " | sed "s/^ //")"' 2>&1 </dev/null)
check "339 one-id ranges: 340 map lines, the kernel's limit, work (last: 339 3676 1)" \
	is_eq 'lines=340 last=339 3676 1' "$out"

printf '%s\n' 'alice:4294901760:65535' | testbed_write /etc/subuid
check "a range ending at the last valid id (4294901760:65535, up to 4294967294) works" \
	is_eq '0 2001 1;1 4294901760 65535;' "$(map_of alice | cut -d'|' -f1)"

printf '%s\n' 'alice:100000:1000000000' | testbed_write /etc/subuid
check "a range of 10^9 ids is capped to max_ids (default 65536)" \
	is_eq '0 2001 1;1 100000 65536;' "$(map_of alice | cut -d'|' -f1)"
lt_restore_fixtures
lt_state_clean >/dev/null || lt_clear_state

# user.max_user_namespaces counts per user: with 1 and alice holding one,
# bob still logs in; with 0 nobody does.
cat > "$LT/maxns-per-user.sh" <<EOF
out=\$(pamtester lt bob open_session close_session 2>&1)
echo "bob-at-1=\$?"
echo 0 > /proc/sys/user/max_user_namespaces
out=\$(pamtester lt bob open_session close_session 2>&1)
echo "bob-at-0=\$?"
EOF
mark=$(lt_log_mark)
out=$(lt_full_userns "$BASH" "$LT/maxns.sh" 1 alice "$BASH" "$LT/maxns-per-user.sh" 2>&1)
check "user.max_user_namespaces = 1 is per user: alice holds one, bob still gets his" \
	eval 'has_text bob-at-1=0 "$out" && lt_log_wait "$mark" "user namespace created for bob"'
check "user.max_user_namespaces = 0: bob is refused with the ENOSPC line" \
	eval 'has_text bob-at-0=1 "$out" &&
		lt_log_wait "$mark" "cannot prepare a namespace for bob: cannot create a user namespace as uid 2002: No space left on device (user.max_user_namespaces reached?)"'
check "user.max_user_namespaces: the host's limit was not touched" \
	eval '(($(cat /proc/sys/user/max_user_namespaces) > 1000))'
check "user.max_user_namespaces: nothing is left" eval 'lt_state_clean && lt_no_ns_procs'
lt_clear_state

# --- 3. userns-shell refusals ------------------------------------------------------------

# refused NAME OUTPUT RC TEXT: exit 1, exactly one line, that text, no command.
refused() {
	local name=$1 out=$2 rc=$3 text=$4
	check "$name: exit 1, one line: $text" \
		eval 'is_rc 1 "$rc" "$out" && is_eq 1 "$(grep -c . <<< "$out")" &&
			has_text "$text" "$out" && lacks_text LT-RAN "$out"'
}

# as_alice VAR=VALUE...: userns-shell -c as alice (no PAM), with that env.
as_alice() {
	lt_as alice env "$@" "$LT_SHELL" -c 'echo LT-RAN $(id -u)' 2>&1 </dev/null
}

printf '%s\n' '[default]' 'enable = yes' '[user:carol]' 'enable = no' | lt_conf
lt_services
dir=/run/pam_userns/2001
fake=$dir/0123456789abcdef.ns

# No namespace prepared: a service without pam_userns, a user not covered.
nons='userns-shell: no user namespace was prepared for this login (PAM_USERNS_PIN is not set): is pam_userns.so in this service'"'"'s PAM session stack, and is this user enabled in userns.conf?'
testbed_pam_service su-l <<EOF
auth     sufficient  pam_rootok.so
account  required    pam_permit.so
session  required    pam_permit.so
EOF
out=$(su - alice -c 'echo LT-RAN' 2>&1 </dev/null)
refused "su - alice, su-l without pam_userns" "$out" $? "$nons"
testbed_pam_service login <<EOF
auth     required  pam_permit.so
account  required  pam_permit.so
session  required  pam_permit.so
EOF
pty_start nons 'login -f alice'
pty_send nons 'echo LT-RAN'
pty_exit nons
rc=$LT_RC
pty_finish nons
check "login -f alice, login without pam_userns: the terminal shows the refusal and login ends" \
	eval 'pty_output nons | grep -qxF "$nons" && ! pty_output nons | grep -qx LT-RAN ||
		{ lt_diag "$(pty_output nons)"; false; }'
lt_services
out=$(su - carol -c 'echo LT-RAN' 2>&1 </dev/null)
refused "su - carol, not covered (enable = no) but her shell is userns-shell" "$out" $? "$nons"
out=$(as_alice)
refused "userns-shell as alice without PAM_USERNS_PIN" "$out" $? "$nons"
out=$(as_alice PAM_USERNS_PIN=)
refused "userns-shell as alice with PAM_USERNS_PIN empty" "$out" $? "$nons"

# A live session of bob's, held open on a pty.
pty_start bob 'login -f bob'
pty_send bob 'echo "@uid""=$(id -u)@"'
if pty_wait bob '@uid=0@'; then
	bobpin=$(ls /run/pam_userns/2002/*.ns 2>/dev/null | head -n1)
else
	bobpin=
fi
check "bob is logged in (login -f bob), his pin exists" eval '[[ -n $bobpin ]]'

out=$(lt_as alice env PAM_USERNS_PIN="$bobpin" "$LT_SHELL" -c 'echo LT-RAN' 2>&1)
refused "PAM_USERNS_PIN=bob's pin, userns-shell via setpriv as alice" "$out" $? \
	"userns-shell: refusing PAM_USERNS_PIN=$bobpin: not a namespace of uid 2001"
testbed_pam_service su <<EOF
auth     sufficient  pam_rootok.so
account  required    pam_permit.so
session  required    pam_permit.so
EOF
out=$(PAM_USERNS_PIN=$bobpin su alice -c 'echo LT-RAN' 2>&1 </dev/null)
refused "PAM_USERNS_PIN=bob's pin in su's environment (su without pam_userns)" "$out" $? \
	"userns-shell: refusing PAM_USERNS_PIN=$bobpin: not a namespace of uid 2001"
lt_services
out=$(PAM_USERNS_PIN=$bobpin su alice -c 'echo "pin=$PAM_USERNS_PIN uid=$(id -u)"' 2>&1 </dev/null)
check "PAM_USERNS_PIN=bob's pin in su's environment (su with pam_userns): replaced by alice's own" \
	eval '[[ $out =~ ^pin=/run/pam_userns/2001/[0-9a-f]{16}\.ns\ uid=0$ ]] || { lt_diag "$out"; false; }'
out=$(as_alice PAM_USERNS_PIN="/run/pam_userns/2001/../2002/${bobpin##*/}")
refused "PAM_USERNS_PIN=.../2001/../2002/PIN (a path around the check)" "$out" $? \
	"not a pin name pam_userns makes"

# Root-made entries in alice's state directory (a tampered state dir).
install -d -m 0755 "$dir"
printf 'version=1\nuser=alice\nuid=2001\ngid=2001\nscope=session\nkill_on_logout=0\nshell=\ncreated=0\nuid_map=\ngid_map=\n' \
	> "${fake%.ns}.info"
: > "$fake"
mount --bind "$bobpin" "$fake"
out=$(as_alice PAM_USERNS_PIN="$fake")
refused "bob's namespace bound into alice's state directory" "$out" $? \
	"userns-shell: refusing $fake: the namespace belongs to another user"
umount "$fake"
out=$(as_alice PAM_USERNS_PIN="$fake")
refused "a regular file in alice's state directory" "$out" $? \
	"userns-shell: refusing $fake: not a user namespace pin"
mount --bind /proc/self/ns/uts "$fake"
out=$(as_alice PAM_USERNS_PIN="$fake")
refused "a UTS namespace bound into alice's state directory" "$out" $? \
	"userns-shell: refusing $fake: not a user namespace pin"
umount "$fake"

# A namespace alice owns that does not map her to 0.
setpriv --reuid=alice --regid=alice --init-groups --reset-env -- unshare --user -- sleep infinity &
holder=$!
_holder_ready() { [[ $(readlink "/proc/$holder/exe" 2>/dev/null) == */sleep ]]; }
if lt_until "$LT_TIMEOUT" _holder_ready; then
	mount --bind "/proc/$holder/ns/user" "$fake"
	out=$(as_alice PAM_USERNS_PIN="$fake")
	refused "a namespace of alice's that does not map her to 0" "$out" $? \
		"userns-shell: refusing $fake: it does not map uid 2001 to 0"
	umount "$fake"
else
	not_ok "a namespace of alice's that does not map her to 0: the holder did not start"
fi
kill "$holder"
wait "$holder" 2>/dev/null
rm -f "$fake"

# alice's own live pin, and symbolic links to it. Her session runs the
# configured shell, a copy of bash that is removed during the session.
install -m 0755 /bin/bash "$LT/lt-bash"
printf '%s\n' '[default]' 'enable = yes' "shell = $LT/lt-bash" | lt_conf
pty_start alice 'login -f alice'
pty_send alice 'echo "@pin""=$PAM_USERNS_PIN@"'
pty_wait alice '@pin=[^@]+@'
alicepin=$(pty_output alice | sed -n 's/^@pin=\(.*\)@$/\1/p' | head -n1)
pty_send alice 'echo "@exe""=$(readlink /proc/$$/exe)@"'
pty_wait alice '@exe=[^@]+@'
check "shell = $LT/lt-bash: userns-shell ran the configured shell" \
	eval 'pty_output alice | grep -qxF "@exe=$LT/lt-bash@" || { lt_diag "$(pty_output alice | tail -n 3)"; false; }'
ln -s "$alicepin" "$fake"
out=$(as_alice PAM_USERNS_PIN="$fake")
refused "a symbolic link (to alice's own live pin) in her state directory" "$out" $? \
	"userns-shell: refusing $fake: it is a symbolic link"
rm -f "$fake"
ln -s "$alicepin" /home/alice/link.ns
out=$(as_alice PAM_USERNS_PIN=/home/alice/link.ns)
refused "a symbolic link alice made in her home" "$out" $? \
	"userns-shell: refusing PAM_USERNS_PIN=/home/alice/link.ns: not a pin in /run/pam_userns/2001/"
rm -f /home/alice/link.ns
lt_as alice sh -c 'echo x > /home/alice/file.ns'
out=$(as_alice PAM_USERNS_PIN=/home/alice/file.ns)
refused "a regular file alice made in her home" "$out" $? \
	"userns-shell: refusing PAM_USERNS_PIN=/home/alice/file.ns: not a pin in /run/pam_userns/2001/"
rm -f /home/alice/file.ns
out=$(as_alice PAM_USERNS_PIN="$alicepin")
check "alice's own live pin, via setpriv: joined (0), the refusals are not blanket" \
	is_eq "LT-RAN 0" "$out"
rm -f "$LT/lt-bash"
out=$(as_alice PAM_USERNS_PIN="$alicepin")
refused "the configured shell was removed during the session" "$out" $? \
	"userns-shell: cannot run $LT/lt-bash: No such file or directory"
printf '%s\n' '[default]' 'enable = yes' '[user:carol]' 'enable = no' | lt_conf
pty_send alice exit
pty_finish alice
out=$(as_alice PAM_USERNS_PIN="$alicepin")
refused "the pin of alice's closed session" "$out" $? \
	"userns-shell: $alicepin is gone: the session was closed, or pam_userns removed it as stale"
rm -f "${fake%.ns}.info"

check "bob's session was not disturbed by any of it (still 0 in his namespace)" \
	eval 'pty_send bob "echo \"@again\"\"=\$(id -u)@\"" && pty_wait bob "@again=0@"'
pty_send bob exit
pty_finish bob
check "after the logouts nothing is left, no process in a namespace" \
	eval 'lt_state_clean && lt_no_ns_procs'
lt_clear_state

# --- 4. a key given twice ----------------------------------------------------------------

# The later line must not be silently ignored: refuse with its location, or
# let it win (as in most INI readers and as drop-ins do). Today the first
# value wins without a word (reported; this check fails until fixed).
printf '%s\n' '[default]' 'enable = yes' 'enable = no' | lt_conf
lt_services
mark=$(lt_log_mark)
out=$(pamtester lt alice open_session close_session 2>&1)
rc=$?
check "enable = yes then enable = no in [default]: refused with $LT_CONF:3, or 'no' wins" \
	eval 'lt_log_sync "$mark" &&
		{ { ((rc != 0)) && _lt_log_has "$mark" "configuration error: $LT_CONF:3"; } ||
		  { ((rc == 0)) && ! _lt_log_has "$mark" "user namespace created"; }; } ||
		{ lt_diag "pamtester: $out" "$(lt_log_since "$mark" | grep pam_userns)"; false; }'
lt_clear_state

lt_finish
