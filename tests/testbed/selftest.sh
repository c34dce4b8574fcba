#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# selftest.sh - prove that the test bed works and leaves the host alone.
#
# Runs the bed four times: a full run (fixtures, /dev/log, sshd, su, login),
# a run without a pid namespace and with stdin piped in, a run with stdin
# closed stopped by SIGTERM, and one stopped by SIGINT to its process group.
# Checks the host's /etc, /dev/log, /var/log and process table
# before and after. Last line: "N passed, M failed". Exit 77 (skip) if not root.

set -u

here=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
bed=$here/testbed.sh
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

if [[ $EUID -ne 0 ]]; then
	echo "selftest: skipped: must run as root"
	echo "0 passed, 0 failed"
	exit 77
fi

work=$(mktemp -d /tmp/testbed-selftest.XXXXXX) || exit 1
trap 'rm -rf -- "$work"' EXIT
token=$$-$RANDOM

# What the bed must not change on the host.
host_snapshot() {
	local f
	for f in /etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/subuid \
		/etc/subgid /etc/nsswitch.conf /etc/security/userns.conf; do
		if [[ -e $f ]]; then sha256sum "$f"; else echo "absent $f"; fi
	done
	find /etc/pam.d /etc/security -xdev -type f -exec sha256sum {} + | sort
	ls -la --time-style=+ /etc /etc/pam.d
	stat -c '%n %s %Y' /var/log/wtmp /var/log/btmp /var/log/lastlog /run/utmp 2>&1
	ls -la --time-style=+ /dev/log /run/sshd 2>&1
	ls -a /home
}

# Bed processes still running on the host (by path or marker in argv).
leftovers() {
	pgrep -af -- "$1" | grep -v -e pgrep -e "^$$ " || true
}

# Wait (bounded) for a pid that is not our child to go away.
wait_gone() {
	local pid=$1 i
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

host_before=$(host_snapshot)

# ---------------------------------------------------------------------------
# Run 1: everything, with stdin from /dev/null (as in CI).

cat > "$work/run1.sh" <<'EOF'
. "$TESTBED_LIB" || exit 1
echo "TESTBED_DIR=$TESTBED_DIR"
ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
eq() {
	[[ $1 == "$2" ]] && return 0
	echo "#   expected '$2', got '$1'"
	return 1
}

check "getent passwd alice gives uid 2001" eq "$(getent passwd alice | cut -d: -f3)" 2001
check "only the fixture users have uids 1000-65533" \
	eq "$(getent passwd | awk -F: '$3 >= 1000 && $3 < 65534 { print $1 }' | sort | xargs)" "alice bob carol dave"
check "group sandboxed is 3000 with member dave" eq "$(getent group sandboxed)" "sandboxed:x:3000:dave"
check "id dave includes sandboxed" eq "$(id -Gn dave)" "dave sandboxed"
check "/etc/subuid shows the fixture" \
	eq "$(cat /etc/subuid)" $'alice:200000:65536\nbob:300000:65536\ndave:400000:65536'
check "/etc/subgid shows the fixture" eq "$(cat /etc/subgid)" "$(cat /etc/subuid)"
check "nsswitch.conf has no subid line" eval '! grep -q "^subid:" /etc/nsswitch.conf'
check "/etc/security/userns.conf is an empty fixture" eval '[[ -f /etc/security/userns.conf && ! -s /etc/security/userns.conf ]]'

echo "carol:500000:65536" >> "$TESTBED_DIR/etc/subuid"
check "appending to \$TESTBED_DIR/etc/subuid shows in /etc/subuid" grep -qx "carol:500000:65536" /etc/subuid
printf '[default]\nenable = no\n' | testbed_userns_conf
check "testbed_userns_conf writes /etc/security/userns.conf" grep -qx "enable = no" /etc/security/userns.conf
testbed_edit /etc/subuid '/^carol:/d'
check "testbed_edit edits a fixture in place" eval '! grep -q "^carol:" /etc/subuid'
check "fixtures are still attached" testbed_check_fixtures

touch /etc/testbed-selftest-probe
check "the rest of /etc is writable (overlay)" test -e /etc/testbed-selftest-probe

check "/dev/log is the catcher's socket" eval '[[ -S /dev/log && /dev/log -ef $TESTBED_DIR/devlog ]]'
marker=logger-marker-$RANDOM
logger -u /dev/log --socket-errors=on -t selftest "$marker"
check "logger -u /dev/log reaches \$TESTBED_SYSLOG" testbed_log_wait -F "selftest: $marker" 3
testbed_log_clear
check "testbed_log_clear empties the log" eval '[[ ! -s $TESTBED_SYSLOG ]]'

check "testbed_sshd_start" testbed_sshd_start
check "ssh alice id -u prints 2001" eq "$(testbed_ssh alice id -u)" 2001
check "ssh dave sees group sandboxed" eq "$(testbed_ssh dave id -Gn)" "dave sandboxed"
check "ssh -tt gets a pty" eval '[[ $(testbed_ssh -tt alice tty | tr -d "\r") == /dev/pts/* ]]'

testbed_pam_service sshd <<-PAM
	@include common-auth
	account required pam_permit.so
	session required pam_unix.so
PAM
check "ssh bob with pam_unix session" eq "$(testbed_ssh bob echo in-session)" in-session
check "pam_syslog from sshd reaches the catcher" \
	testbed_log_wait 'pam_unix\(sshd:session\): session opened for user bob' 3
testbed_pam_service sshd <<-PAM
	@include common-auth
	account required pam_permit.so
	session required pam_deny.so
PAM
check "a changed PAM service takes effect (session pam_deny refuses)" \
	eval '! testbed_ssh bob true 2>/dev/null'
testbed_pam_service sshd <<-PAM
	@include common-auth
	account required pam_permit.so
	session required pam_permit.so
PAM

testbed_set_shell carol /bin/false
check "testbed_set_shell changes the passwd entry" eq "$(getent passwd carol | cut -d: -f7)" /bin/false
out=$(testbed_ssh carol echo should-not-run 2>&1)
rc=$?
check "ssh as a /bin/false user runs nothing" eval '[[ $rc -ne 0 && $out != *should-not-run* ]]'

testbed_sshd_stop
check "testbed_sshd_stop" eval '! testbed_ssh alice true 2>/dev/null'
check "testbed_sshd_start again (new port)" testbed_sshd_start "MaxAuthTries 3"
check "ssh works after restart" eq "$(testbed_ssh alice id -un)" alice

check "su alice -c 'id -u' prints 2001" eq "$(su alice -c 'id -u' </dev/null)" 2001
# login needs a terminal; a shell that exits by itself keeps script(1) fast.
testbed_set_shell bob /usr/bin/id
out=$(script -qec "login -f bob" /dev/null </dev/null | tr -d "\r")
testbed_set_shell bob /bin/bash
check "login -f bob (under script) runs the login shell as 2002" grep -q "^uid=2002(bob) " <<< "$out"
check "logins are recorded in the bed's /var/log/wtmp" test -s /var/log/wtmp

# A stray process the bed did not start: it must not outlive the bed.
bash -c "exec -a testbed-selftest-stray-$SELFTEST_TOKEN sleep 300" </dev/null >/dev/null 2>&1 &
check "the stray process is running" eval 'sleep 0.1; pgrep -f "testbed-selftest-stray-$SELFTEST_TOKEN" >/dev/null'
EOF

SELFTEST_TOKEN=$token "$bed" -- bash "$work/run1.sh" </dev/null > "$work/run1.out" 2> "$work/run1.err"
rc=$?
grep -E '^(ok|not ok) - |^#' "$work/run1.out"
pass=$((pass + $(grep -c '^ok - ' "$work/run1.out")))
fail=$((fail + $(grep -c '^not ok - ' "$work/run1.out")))
check "run 1: bed exits 0" test "$rc" -eq 0
tbdir=$(sed -n 's/^TESTBED_DIR=//p' "$work/run1.out")
check "run 1: the bed reported its TESTBED_DIR" test -n "$tbdir"
check "run 1: TESTBED_DIR is removed" test ! -e "${tbdir:-/nonexistent}"
check "run 1: no sshd/logcatcher from the bed remains" test -z "$(leftovers "${tbdir:-/nonexistent}/")"
check "run 1: the stray process was killed" test -z "$(leftovers "testbed-selftest-stray-$token")"
check "run 1: /etc writes stayed in the bed" test ! -e /etc/testbed-selftest-probe
if [[ $rc -ne 0 || $(grep -c '^not ok' "$work/run1.out") -ne 0 ]]; then
	sed 's/^/# stderr: /' "$work/run1.err"
fi

# ---------------------------------------------------------------------------
# Run 2: no pid namespace, stdin piped in, prebuilt catcher, exit status.

cc -O2 -Wall -Wextra -o "$work/logcatcher" "$here/logcatcher.c"
check "logcatcher builds without warnings" test -x "$work/logcatcher"

cat > "$work/run2.sh" <<'EOF'
. "$TESTBED_LIB" || exit 1
echo "TESTBED_DIR=$TESTBED_DIR"
read -r line
echo "stdin-read=$line"
logger -u /dev/log --socket-errors=on -t selftest2 "marker-2" &&
	testbed_log_wait -F "selftest2: marker-2" 3 && echo "log-ok"
bash -c "exec -a testbed-selftest-stray2-$SELFTEST_TOKEN sleep 300" </dev/null >/dev/null 2>&1 &
# Replacing a fixture's inode detaches it; the bed must notice.
cp "$TESTBED_DIR/etc/subgid" "$TESTBED_DIR/subgid.new" &&
	mv "$TESTBED_DIR/subgid.new" "$TESTBED_DIR/etc/subgid"
testbed_check_fixtures 2>/dev/null || echo "detach-detected"
exit 7
EOF

SELFTEST_TOKEN=$token TESTBED_LOGCATCHER=$work/logcatcher \
	"$bed" --no-pidns -- bash "$work/run2.sh" <<< "piped-in" > "$work/run2.out" 2> "$work/run2.err"
rc=$?
tbdir2=$(sed -n 's/^TESTBED_DIR=//p' "$work/run2.out")
check "run 2: COMMAND's exit status (7) is the bed's" test "$rc" -eq 7
check "run 2: COMMAND reads the bed's stdin" grep -qx "stdin-read=piped-in" "$work/run2.out"
check "run 2: prebuilt TESTBED_LOGCATCHER catches /dev/log" grep -qx "log-ok" "$work/run2.out"
check "run 2: a detached fixture is detected" grep -qx "detach-detected" "$work/run2.out"
check "run 2: ...and warned about at exit" grep -q "warning: fixture /etc/subgid is detached" "$work/run2.err"
check "run 2: TESTBED_DIR is removed" test -n "$tbdir2" -a ! -e "${tbdir2:-/nonexistent}"
check "run 2: no pidns, still no process left" \
	test -z "$(leftovers "testbed-selftest-stray2-$token")$(leftovers "${tbdir2:-/nonexistent}/")"

"$bed" 2>/dev/null
check "no command: exit status 125" test $? -eq 125

# ---------------------------------------------------------------------------
# Run 3: stdin closed, no fixture users, SIGTERM to testbed.sh while COMMAND runs.

cat > "$work/run3.sh" <<'EOS'
echo "TESTBED_DIR=$TESTBED_DIR"
read -r line
echo "stdin-read-rc=$?"
getent passwd alice >/dev/null || echo "no-alice"
exec -a "testbed-selftest-sig-$1" sleep 300
EOS
"$bed" --no-users -- bash "$work/run3.sh" "$token" <&- > "$work/run3.out" 2>&1 &
bedpid=$!
for ((i = 0; i < 100; i++)); do
	[[ -n $(leftovers "testbed-selftest-sig-$token") ]] && break
	sleep 0.05
done
check "run 3: the command is running" test -n "$(leftovers "testbed-selftest-sig-$token")"
tbdir3=$(sed -n 's/^TESTBED_DIR=//p' "$work/run3.out")
check "run 3: closed stdin reads as EOF" grep -qx "stdin-read-rc=1" "$work/run3.out"
check "run 3: --no-users creates no fixture users" grep -qx "no-alice" "$work/run3.out"
kill -TERM "$bedpid"
if wait_gone "$bedpid"; then
	wait "$bedpid"
	rc=$?
else
	rc=timeout
	kill -KILL "$bedpid" 2>/dev/null
fi
check "run 3: SIGTERM stops the bed with status 143" test "$rc" = 143
check "run 3: TESTBED_DIR is removed" test -n "$tbdir3" -a ! -e "${tbdir3:-/nonexistent}"
check "run 3: the command was killed" test -z "$(leftovers "testbed-selftest-sig-$token")"

# ---------------------------------------------------------------------------
# Run 4: Ctrl-C, i.e. SIGINT to the whole process group, with sshd running.

cat > "$work/run4.sh" <<'EOS'
. "$TESTBED_LIB" || exit 1
echo "TESTBED_DIR=$TESTBED_DIR"
testbed_sshd_start && echo "sshd-up"
exec -a "testbed-selftest-int-$1" sleep 300
EOS
set -m # own process group, as a terminal's foreground job
"$bed" -- bash "$work/run4.sh" "$token" </dev/null > "$work/run4.out" 2>&1 &
bedpid=$!
set +m
for ((i = 0; i < 100; i++)); do
	[[ -n $(leftovers "testbed-selftest-int-$token") ]] && break
	sleep 0.05
done
check "run 4: sshd and the command are running" grep -qx "sshd-up" "$work/run4.out"
tbdir4=$(sed -n 's/^TESTBED_DIR=//p' "$work/run4.out")
kill -INT -- "-$bedpid"
if wait_gone "$bedpid"; then
	wait "$bedpid"
	rc=$?
else
	rc=timeout
	kill -KILL "$bedpid" 2>/dev/null
fi
check "run 4: SIGINT to the group stops the bed with status 130" test "$rc" = 130
check "run 4: TESTBED_DIR is removed" test -n "$tbdir4" -a ! -e "${tbdir4:-/nonexistent}"
check "run 4: no sshd/logcatcher/command left" \
	test -z "$(leftovers "testbed-selftest-int-$token")$(leftovers "${tbdir4:-/nonexistent}/")"

# ---------------------------------------------------------------------------
# The host after all runs.

host_after=$(host_snapshot)
if [[ $host_after == "$host_before" ]]; then
	ok "host /etc, /dev/log, /var/log, /run, /home unchanged"
else
	not_ok "host /etc, /dev/log, /var/log, /run, /home unchanged"
	diff <(echo "$host_before") <(echo "$host_after") | sed 's/^/#   /'
fi

echo "$pass passed, $fail failed"
((fail == 0))
