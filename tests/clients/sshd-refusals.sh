#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# sshd-refusals.sh: what goes wrong, through the real sshd. For each case:
# what the user sees (the login refused, or userns-shell's one-line
# message and exit 1, never a shell outside the namespace), the syslog
# line the administrator sees (file:line for configuration errors, the
# user and range for subid errors), and that nothing is left behind in
# /run/pam_userns.
#
# Runs itself inside tests/testbed/testbed.sh; needs root.
# shellcheck disable=SC2016 # remote commands are single-quoted on purpose
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source-path=SCRIPTDIR source=lib-sshd.sh
. "$(dirname "$0")/lib-sshd.sh" || exit 1
sshd_lib_init "$@"

W=$SSHD_WORK
CONF=/etc/security/userns.conf
sshd_check_shell_reachable || { fail "userns-shell reachable by the fixture users"; sshd_finish; }
sshd_pam_stack "conf=$CONF"
for u in alice bob carol; do
	testbed_set_shell "$u" "$USERNS_SHELL"
done
cp /etc/subuid "$W/subuid.orig"
cp /etc/subgid "$W/subgid.orig"
# AcceptEnv lets a client set PAM_USERNS_PIN itself: a careless
# configuration, used below to forge the variable through real ssh.
testbed_sshd_start 'AcceptEnv PAM_USERNS_PIN' || { fail "sshd starts"; sshd_finish; }

good_conf() {
	testbed_userns_conf <<-EOF
		[default]
		enable = no

		[user:alice]
		enable = yes
	EOF
	chmod 0644 "$TESTBED_DIR/etc/security/userns.conf"
	chown 0:0 "$TESTBED_DIR/etc/security/userns.conf"
}

# refused NAME USER LOG-ERE: a login of USER is refused by sshd (the
# session cannot be opened: no command output, a non-zero exit status),
# the syslog has a line matching LOG-ERE, and nothing is left behind.
refused() {
	local name=$1 user=$2 re=$3 off out rc
	off=$(log_size)
	out=$(u_ssh "$user" 'echo INSIDE; id -u' </dev/null 2>&1)
	rc=$?
	if ((rc != 0)) && [[ $out != *INSIDE* ]]; then
		pass "$name: $user's login is refused (ssh exit status $rc)"
	else
		fail "$name: $user's login is refused" "exit status $rc, output:" "$out"
	fi
	if log_wait_since "$off" "$re" 10; then
		pass "$name: syslog says: $(log_since "$off" | grep -E -m1 -o -e "$re")"
	else
		fail "$name: syslog line /$re/" "$(log_since "$off")"
	fi
	# sshd gives up on the connection at once; the state must already be
	# clean, but let a slow monitor exit first.
	if wait_until 10 state_clean; then
		pass "$name: nothing left in /run/pam_userns"
	else
		fail "$name: nothing left in /run/pam_userns" "$(state_entries)"
	fi
}

# --- carol: enabled, but no subordinate range ---------------------------------------
testbed_userns_conf <<-EOF
	[user:carol]
	enable = yes
EOF
refused "no subuid entry" carol \
	'pam_userns\(sshd:session\): carol has no subuid range \(add one with usermod --add-subuids, or set subids = none\)'

# --- configuration errors, for alice (who is fine with a good file) -------------------------
good_conf
out=$(u_ssh alice 'id -u' </dev/null 2>&1)
check_eq "with a good userns.conf alice gets in, as 0" 0 "$out"
check "(and her session is closed)" wait_until 10 state_clean

testbed_userns_conf <<-EOF
	[default]
	enable = no

	[user:alice
	enable = yes
EOF
refused "syntax error (missing bracket)" alice \
	"configuration error: ${CONF}:4: Missing bracket"

testbed_userns_conf <<-EOF
	[default]
	enable = no
	[user:alice]
	enable yes
EOF
refused "syntax error (no delimiter)" alice "configuration error: ${CONF}:4: Missing delimiter"

testbed_userns_conf <<-EOF
	[default]
	enable = no

	[user:alice]
	enable = yes
	frobnicate = 1
EOF
refused "unknown key" alice "configuration error: ${CONF}:6: unknown key \"frobnicate\" in \[user:alice\]"

testbed_userns_conf <<-EOF
	[usr:alice]
	enable = yes
EOF
refused "unknown section" alice "configuration error: ${CONF}:1: unknown section \[usr:alice\]"

testbed_userns_conf <<-EOF
	[user:alice]
	enable = maybe
EOF
refused "bad value (enable = maybe)" alice "configuration error: ${CONF}:2: enable: \"maybe\""

testbed_userns_conf <<-EOF
	[user:alice]
	enable = yes
	max_ids = 7x
EOF
refused "bad value (max_ids = 7x)" alice "configuration error: ${CONF}:3: max_ids: \"7x\" is not a number"

testbed_userns_conf <<-EOF
	[user:alice]
	enable = yes
	shell = /nonexistent/shell
EOF
refused "shell missing" alice "configuration error: ${CONF}:3: shell: \"/nonexistent/shell\""

good_conf
chmod 0664 "$TESTBED_DIR/etc/security/userns.conf"
refused "group-writable userns.conf" alice \
	"configuration error: ${CONF}: refusing to read: writable by group or others \(mode 0664\)"
chmod 0646 "$TESTBED_DIR/etc/security/userns.conf"
refused "world-writable userns.conf" alice \
	"configuration error: ${CONF}: refusing to read: writable by group or others \(mode 0646\)"
chmod 0644 "$TESTBED_DIR/etc/security/userns.conf"
chown 2001 "$TESTBED_DIR/etc/security/userns.conf"
refused "userns.conf owned by the user" alice \
	"configuration error: ${CONF}: refusing to read: owned by uid 2001, not root"
good_conf

# --- bad subordinate ranges for alice ------------------------------------------------------
bad_subuid() {
	testbed_write /etc/subuid
	testbed_write /etc/subgid < "$W/subgid.orig"
}
grep -v '^alice:' "$W/subuid.orig" > "$W/subuid.others"

{ cat "$W/subuid.others"; echo 'alice:200000'; } | bad_subuid
refused "malformed /etc/subuid entry" alice \
	"alice: /etc/subuid:[0-9]+: malformed entry for alice \(expected NAME:START:COUNT\)"
{ cat "$W/subuid.others"; echo 'alice:1990:100'; } | bad_subuid
refused "subuid range containing her own uid" alice \
	"alice: subuid range 1990:100 contains the user's own id 2001"
{ cat "$W/subuid.others"; echo 'alice:200000:65536'; echo 'alice:230000:1000'; } | bad_subuid
refused "overlapping subuid ranges" alice \
	"alice: subuid ranges 200000:65536 and 230000:1000 overlap"
testbed_write /etc/subuid < "$W/subuid.orig"
out=$(u_ssh alice 'id -u' </dev/null 2>&1)
check_eq "with the ranges restored alice gets in again" 0 "$out"
check "(and her session is closed)" wait_until 10 state_clean

# --- userns-shell without a prepared namespace: bob (not enabled) -----------------------
# bob's login shell is userns-shell, but userns.conf does not enable him:
# pam_userns ignores the login, and userns-shell must refuse, with one
# line and exit 1, whatever way he comes in.
want_msg='userns-shell: no user namespace was prepared for this login (PAM_USERNS_PIN is not set)'
u_ssh bob 'echo INSIDE; id -u' </dev/null >"$W/out" 2>"$W/err"
rc=$?
check_eq "bob (not enabled), ssh bob CMD: exit status 1" 1 "$rc" "$(cat "$W/out" "$W/err")"
check_eq "bob, ssh bob CMD: nothing runs (empty stdout)" "" "$(cat "$W/out")"
check_eq "bob, ssh bob CMD: one line on stderr" 1 "$(wc -l < "$W/err")" "$(cat "$W/err")"
check_match "bob, ssh bob CMD: the message" "^${want_msg//[()]/.}: " "$(cat "$W/err")"

# On a pty, with no input: typed input would be echoed by the pty into the
# middle of the message. A shell, had one started, would wait for input
# until the client's timeout: a failure, too.
u_ssh -tt bob </dev/null >"$W/out" 2>&1
rc=$?
check_eq "bob, interactive pty (no command): exit status 1" 1 "$rc" "$(strip_tty < "$W/out")"
check_match "bob, interactive pty: the message" "(^|"$'\n'")${want_msg//[()]/.}: " "$(strip_tty < "$W/out")"
u_ssh -tt bob 'echo INSIDE' </dev/null >"$W/out" 2>&1
rc=$?
check_eq "bob, ssh -tt bob CMD: exit status 1, nothing runs" "1|" \
	"$rc|$(strip_tty < "$W/out" | grep -x INSIDE)" "$(strip_tty < "$W/out")"
check_match "bob, ssh -tt bob CMD: the message" "(^|"$'\n'")${want_msg//[()]/.}: " "$(strip_tty < "$W/out")"

printf '%s\n' 'pwd' > "$W/batch"
out=$(u_sftp bob "$W/batch" </dev/null 2>&1)
rc=$?
if ((rc != 0)); then pass "bob, sftp: refused (exit status $rc)"; else fail "bob, sftp: refused" "$out"; fi
echo data > "$W/scp-up"
out=$(u_scp -O "$W/scp-up" bob@R:scp-up </dev/null 2>&1)
rc=$?
if ((rc != 0)) && [[ ! -e /home/bob/scp-up ]]; then
	pass "bob, scp -O: refused, nothing written (exit status $rc)"
else
	fail "bob, scp -O: refused, nothing written" "$out"
fi
check_eq "bob: nothing in /run/pam_userns/2002" "" "$(ls -A /run/pam_userns/2002 2>/dev/null)"

# --- a forged PAM_USERNS_PIN through ssh (sshd's AcceptEnv) -------------------------------
# alice holds a session open; bob sends her pin's path as his own.
mkfifo "$W/hold"
exec 8<>"$W/hold"
u_ssh alice 'echo "$PAM_USERNS_PIN"; read -r _; exit 0' <"$W/hold" >"$W/alice.out" 2>&1 8>&- &
alice_ssh=$!
wait_until 20 grep -qs '^/run/pam_userns/2001/.*\.ns$' "$W/alice.out"
alice_pin=$(head -n 1 "$W/alice.out")
check_match "alice's session is open (her pin: $alice_pin)" '^/run/pam_userns/2001/[0-9a-f]{16}\.ns$' "$alice_pin"

u_ssh -o "SetEnv=PAM_USERNS_PIN=$alice_pin" bob 'echo INSIDE; id -u' </dev/null >"$W/out" 2>"$W/err"
rc=$?
check_eq "bob with PAM_USERNS_PIN=alice's pin: exit status 1, nothing runs" "1|" "$rc|$(cat "$W/out")" "$(cat "$W/err")"
check_eq "bob with alice's pin: userns-shell's message" \
	"userns-shell: refusing PAM_USERNS_PIN=$alice_pin: not a namespace of uid 2002" "$(cat "$W/err")"

# bob copies the name into his own directory: there is no such pin.
fake=/run/pam_userns/2002/${alice_pin##*/}
u_ssh -o "SetEnv=PAM_USERNS_PIN=$fake" bob 'echo INSIDE' </dev/null >"$W/out" 2>"$W/err"
rc=$?
check_eq "bob with PAM_USERNS_PIN=$fake: exit status 1, nothing runs" "1|" "$rc|$(cat "$W/out")" "$(cat "$W/err")"
check_match "bob with a pin path of his own that does not exist: a refusal" \
	'^userns-shell: (refusing|cannot|.* is gone)' "$(cat "$W/err")"

u_ssh -o "SetEnv=PAM_USERNS_PIN=/etc/passwd" bob 'echo INSIDE' </dev/null >"$W/out" 2>"$W/err"
rc=$?
check_eq "bob with PAM_USERNS_PIN=/etc/passwd: exit status 1, nothing runs" "1|" "$rc|$(cat "$W/out")" "$(cat "$W/err")"
check_eq "bob with /etc/passwd: userns-shell's message" \
	"userns-shell: refusing PAM_USERNS_PIN=/etc/passwd: not a pin in /run/pam_userns/2002/" "$(cat "$W/err")"

# The module's value wins over the client's for an enabled user? Whichever
# wins, alice ends up in a namespace that is hers, or is refused.
u_ssh -o "SetEnv=PAM_USERNS_PIN=/etc/passwd" alice 'id -u; echo "$PAM_USERNS_PIN"' </dev/null >"$W/out" 2>"$W/err"
rc=$?
if [[ $rc == 0 && $(head -n 1 "$W/out") == 0 ]] ||
	[[ $rc == 1 && ! -s $W/out && $(cat "$W/err") == userns-shell:* ]]; then
	pass "alice with a forged PAM_USERNS_PIN: root in her own namespace, or refused (rc $rc: $(tr '\n' ' ' < "$W/out")$(cat "$W/err"))"
else
	fail "alice with a forged PAM_USERNS_PIN: root in her own namespace, or refused" "rc $rc" "$(cat "$W/out" "$W/err")"
fi

exec 8>&-
wait "$alice_ssh"
check_eq "alice's held session ends normally" 0 "$?" "$(cat "$W/alice.out")"
if wait_until 10 test ! -e "$alice_pin"; then
	pass "alice's pin is gone after her logout"
else
	fail "alice's pin is gone after her logout" "$(ls -la /run/pam_userns/2001)"
fi

testbed_write /etc/subuid < "$W/subuid.orig"
testbed_write /etc/subgid < "$W/subgid.orig"
check_clean "at the end"
sshd_finish
