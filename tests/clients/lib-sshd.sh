# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Shared helpers for the sshd real-client tests (tests/clients/sshd-*.sh) and
# tests/demo.sh. Source it from a bash script, then call sshd_lib_init "$@"
# first thing: outside the test bed it re-executes the script inside it
# (tests/testbed/testbed.sh); inside, it loads the bed's lib.sh.
#
# What it finds (make check exports all three; by hand they are looked up
# next to the build tree):
#   TESTBED             tests/testbed/testbed.sh
#   PAM_USERNS_MODULE   the built pam_userns.so (absolute path)
#   USERNS_SHELL        the built userns-shell (absolute path)
#
# Results: check_* print one "PASS: ..." or "FAIL: ..." line per check
# (failures are followed by "#   " detail lines); sshd_finish prints
# "N passed, N failed" and exits 0 or 1.

SSHD_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SSHD_SRCDIR=$(cd "$SSHD_LIB_DIR/../.." && pwd)

# Every ssh/scp/sftp client call is bounded: a hung server fails the
# check instead of hanging make check.
SSHD_CLIENT_TIMEOUT=${SSHD_CLIENT_TIMEOUT:-60}

# The first existing file among the arguments, or nothing.
_sshd_first() {
	local f
	for f; do
		[[ -e $f ]] && { echo "$f"; return 0; }
	done
	return 1
}

_sshd_abs() {
	local d
	d=$(cd "$(dirname "$1")" && pwd) || return 1
	echo "$d/$(basename "$1")"
}

# sshd_lib_init "$@": resolve the paths, enter the bed (re-exec), load lib.sh.
sshd_lib_init() {
	local script
	script=$(_sshd_abs "$0") || { echo "cannot find $0" >&2; exit 1; }

	if [[ -z ${TESTBED:-} ]]; then
		TESTBED=$SSHD_SRCDIR/tests/testbed/testbed.sh
	fi
	if [[ -z ${PAM_USERNS_MODULE:-} ]]; then
		PAM_USERNS_MODULE=$(_sshd_first "$PWD/.libs/pam_userns.so" \
			"$SSHD_SRCDIR/build/.libs/pam_userns.so" "$SSHD_SRCDIR/.libs/pam_userns.so") ||
			{ echo "cannot find pam_userns.so: run from the build directory or set PAM_USERNS_MODULE" >&2; exit 1; }
	fi
	if [[ -z ${USERNS_SHELL:-} ]]; then
		USERNS_SHELL=$(_sshd_first "$PWD/userns-shell" \
			"$SSHD_SRCDIR/build/userns-shell" "$SSHD_SRCDIR/userns-shell") ||
			{ echo "cannot find userns-shell: run from the build directory or set USERNS_SHELL" >&2; exit 1; }
	fi
	PAM_USERNS_MODULE=$(_sshd_abs "$PAM_USERNS_MODULE")
	USERNS_SHELL=$(_sshd_abs "$USERNS_SHELL")
	export TESTBED PAM_USERNS_MODULE USERNS_SHELL

	if [[ -z ${TESTBED_DIR:-} ]]; then
		if [[ $EUID -ne 0 ]]; then
			echo "SKIP: ${script##*/} needs root (it runs sshd in the test bed)"
			exit 77
		fi
		exec "$TESTBED" -- "$BASH" "$script" "$@"
	fi
	# shellcheck source-path=SCRIPTDIR source=../testbed/lib.sh
	. "$TESTBED_LIB" || exit 1

	SSHD_NAME=${script##*/}
	SSHD_PASSED=0
	SSHD_FAILED=0
	SSHD_T0=$SECONDS
	SSHD_WORK=$TESTBED_DIR/work
	install -d -m 0755 "$SSHD_WORK"
	# The host's user namespace, to tell "in a namespace" from "not".
	# shellcheck disable=SC2034 # used by the scripts
	HOST_USERNS=$(readlink /proc/self/ns/user)
}

# --- results ---------------------------------------------------------------

pass() {
	echo "PASS: $1"
	SSHD_PASSED=$((SSHD_PASSED + 1))
}

# fail NAME [DETAIL...]: each DETAIL (may be multi-line) goes on "#   " lines.
fail() {
	local name=$1 d
	shift
	echo "FAIL: $name"
	for d; do
		[[ -n $d ]] && printf '%s\n' "$d" | head -n 40 | sed 's/^/#   /'
	done
	SSHD_FAILED=$((SSHD_FAILED + 1))
}

# check_eq NAME WANT GOT [DETAIL...]
check_eq() {
	local name=$1 want=$2 got=$3
	shift 3
	if [[ $got == "$want" ]]; then
		pass "$name"
	else
		fail "$name" "want: $want" "got:  $got" "$@"
	fi
}

# check_match NAME ERE TEXT [DETAIL...]: TEXT matches the extended regex.
check_match() {
	local name=$1 re=$2 text=$3
	shift 3
	if [[ $text =~ $re ]]; then
		pass "$name"
	else
		fail "$name" "want (regex): $re" "got:  $text" "$@"
	fi
}

# check NAME COMMAND...: the command succeeds (its output is shown on failure).
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "command failed: $*" "$out"
	fi
}

sshd_finish() {
	echo "# ${SSHD_NAME}: $((SECONDS - SSHD_T0)) s"
	echo "$SSHD_PASSED passed, $SSHD_FAILED failed"
	((SSHD_FAILED == 0 && SSHD_PASSED > 0))
	exit $?
}

# wait_until TIMEOUT COMMAND...: poll COMMAND every 50 ms until it succeeds.
wait_until() {
	local timeout=$1 n i
	shift
	n=$((timeout * 20))
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# --- the bed's sshd, with pam_userns in its session stack -------------------

# sshd_pam_stack [MODULE-ARGS...]: write /etc/pam.d/sshd like Debian's (the
# bed's copies of the host's common-* files, else pam_permit), with
# pam_userns last in the session stack. Default args: the bed's
# userns.conf.
sshd_pam_stack() {
	local args=("$@") p=$TESTBED_DIR/etc/pam.d
	((${#args[@]})) || args=(conf=/etc/security/userns.conf)
	{
		if [[ -e $p/common-auth ]]; then echo '@include common-auth'; else echo 'auth required pam_permit.so'; fi
		echo 'account required pam_nologin.so'
		if [[ -e $p/common-account ]]; then echo '@include common-account'; else echo 'account required pam_permit.so'; fi
		if [[ -e $p/common-session ]]; then echo '@include common-session'; else echo 'session required pam_permit.so'; fi
		echo 'session required pam_limits.so'
		echo 'session required pam_env.so'
		echo "session required $PAM_USERNS_MODULE ${args[*]}"
	} | testbed_pam_service sshd
}

# sshd_check_shell_reachable: the fixture users must be able to run the
# built userns-shell (every directory above it traversable).
sshd_check_shell_reachable() {
	if ! setpriv --reuid 2001 --regid 2001 --clear-groups test -x "$USERNS_SHELL"; then
		echo "# $USERNS_SHELL is not executable by uid 2001 (is a directory above it 0700?)"
		return 1
	fi
}

_sshd_port() {
	local port
	read -r port < "$TESTBED_DIR/ssh/port" || return 1
	echo "$port"
}

# The client options of testbed_ssh, for scp and sftp too.
_sshd_client_opts() {
	SSHD_OPTS=(-F /dev/null
		-i "$TESTBED_SSH_KEY" -o IdentitiesOnly=yes -o IdentityAgent=none
		-o BatchMode=yes -o StrictHostKeyChecking=no
		-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null
		-o UpdateHostKeys=no -o ControlPath=none -o ConnectTimeout=10
		-o ServerAliveInterval=10 -o LogLevel=ERROR)
}

# u_ssh [SSH-OPTIONS...] USER [COMMAND...]: like testbed_ssh, bounded in time.
u_ssh() {
	local opts=() port
	while [[ ${1:-} == -* ]]; do
		case $1 in
		-[BbcDEeFIiJLlmOopQRSWw]) opts+=("$1" "$2"); shift 2 ;;
		--) shift; break ;;
		*) opts+=("$1"); shift ;;
		esac
	done
	local user=$1
	shift
	port=$(_sshd_port) || { echo "sshd is not running" >&2; return 1; }
	_sshd_client_opts
	timeout -k 5 "$SSHD_CLIENT_TIMEOUT" \
		ssh "${SSHD_OPTS[@]}" -p "$port" -l "$user" "${opts[@]}" 127.0.0.1 "$@"
}

# u_sftp USER BATCHFILE [SFTP-OPTIONS...]: run sftp -b BATCHFILE as USER.
u_sftp() {
	local user=$1 batch=$2 port
	shift 2
	port=$(_sshd_port) || return 1
	_sshd_client_opts
	timeout -k 5 "$SSHD_CLIENT_TIMEOUT" \
		sftp "${SSHD_OPTS[@]}" -P "$port" -b "$batch" "$@" "$user@127.0.0.1"
}

# u_scp [SCP-OPTIONS...] SRC DST: "R:path" in SRC/DST means 127.0.0.1:path.
u_scp() {
	local args=() a port
	port=$(_sshd_port) || return 1
	for a; do
		case $a in
		*@R:*) args+=("${a%%@R:*}@127.0.0.1:${a#*@R:}") ;;
		*) args+=("$a") ;;
		esac
	done
	_sshd_client_opts
	timeout -k 5 "$SSHD_CLIENT_TIMEOUT" scp "${SSHD_OPTS[@]}" -P "$port" "${args[@]}"
}

# --- state and leftovers ----------------------------------------------------

# pins_of UID: the pins (*.ns) in /run/pam_userns/UID, one a line.
pins_of() {
	local f
	for f in /run/pam_userns/"$1"/*.ns; do
		[[ -e $f ]] && echo "$f"
	done
	return 0
}

no_pins_of() {
	[[ -z $(pins_of "$1") ]]
}

# state_entries: every session file in the state directory (pins, records,
# refs, temporaries; the per-uid directories and their .lock stay by design).
state_entries() {
	find /run/pam_userns -mindepth 2 ! -name .lock 2>/dev/null
	grep -F ' /run/pam_userns' /proc/self/mountinfo
	return 0
}

state_clean() {
	[[ -z $(state_entries) ]]
}

# user_procs: processes of a fixture user (or of a subordinate id), as
# "PID UID COMMAND" lines. Other than root, the bed runs only sshd's
# privilege-separation user (uid 199 here) and nobody.
user_procs() {
	local p uid cmd
	for p in /proc/[0-9]*; do
		[[ -r $p/status ]] || continue
		uid=$(awk '/^Uid:/ { print $2; exit }' "$p/status" 2>/dev/null) || continue
		[[ -n $uid ]] || continue
		((uid >= 1000 && uid != 65534)) || continue
		cmd=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)
		echo "${p#/proc/} $uid $cmd"
	done
	return 0
}

no_user_procs() {
	[[ -z $(user_procs) ]]
}

# session_procs: sshd's per-connection processes ("sshd: USER [priv]",
# "sshd: USER@notty", ...); the listener itself is not one.
session_procs() {
	local p cmd
	for p in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' < "$p/cmdline" 2>/dev/null) || continue
		[[ $cmd == "sshd: "* && $cmd != *"[listener]"* ]] && echo "${p#/proc/} $cmd"
	done
	return 0
}

no_session_procs() {
	[[ -z $(session_procs) ]]
}

# check_clean NAME: after the sessions ended, nothing of theirs is left
# (waits for sshd's monitors to close their sessions).
check_clean() {
	local name=$1
	if wait_until 20 state_clean; then
		pass "$name: no pin, record or mount left in /run/pam_userns"
	else
		fail "$name: no pin, record or mount left in /run/pam_userns" "$(state_entries)"
	fi
	if wait_until 20 no_user_procs; then
		pass "$name: no process of a fixture user left"
	else
		fail "$name: no process of a fixture user left" "$(user_procs)"
	fi
	if wait_until 20 no_session_procs; then
		pass "$name: no sshd session process left"
	else
		fail "$name: no sshd session process left" "$(session_procs)"
	fi
}

# strip_tty: drop carriage returns and terminal escape sequences.
strip_tty() {
	sed -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()][A-Z0-9]//g'
}

# norm: squeeze the whitespace of each line (uid_map columns are padded).
norm() {
	awk '{ $1 = $1; print }'
}

# log_since OFFSET: the syslog from byte OFFSET on; log_size: its size now.
log_size() {
	stat -c %s "$TESTBED_SYSLOG"
}

log_since() {
	tail -c +$(($1 + 1)) "$TESTBED_SYSLOG"
}

# log_wait_since OFFSET ERE [TIMEOUT]: wait until a syslog line after OFFSET
# matches.
_log_has_since() {
	log_since "$1" | grep -qE -e "$2"
}

log_wait_since() {
	wait_until "${3:-10}" _log_has_since "$1" "$2"
}

# _log_count_ge OFFSET BRE N: at least N syslog lines after OFFSET match
# (a basic regex: parentheses are literal).
_log_count_ge() {
	local n
	n=$(log_since "$1" | grep -c -e "$2")
	((n >= $3))
}

# --- no growth over many logins --------------------------------------------------

_sshd_listener_pid() {
	local pid=''
	[[ -r $TESTBED_DIR/ssh/listener.pid ]] && read -r pid < "$TESTBED_DIR/ssh/listener.pid"
	echo "$pid"
}

# _sshd_snapshot: "mounts procs statefiles listener-fds listener-rss-kB".
_sshd_snapshot() {
	local l mounts procs files fds rss
	l=$(_sshd_listener_pid)
	mounts=$(wc -l < /proc/self/mountinfo)
	# A glob, not "find | wc": whether wc already exists when find reads
	# /proc would be a race.
	local all=(/proc/[0-9]*)
	procs=${#all[@]}
	files=$(find /run/pam_userns 2>/dev/null | wc -l)
	fds=$(find "/proc/$l/fd" -mindepth 1 2>/dev/null | wc -l)
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$l/status" 2>/dev/null)
	echo "$mounts $procs $files $fds ${rss:-0}"
}

# _sshd_login_loop FIRST STEP COUNT USERS...: logins FIRST, FIRST+STEP, ...
# (round-robin over USERS), each must print uid 0; failures to stdout.
_sshd_login_loop() {
	local first=$1 step=$2 count=$3 i u out
	shift 3
	local users=("$@")
	for ((i = first; i < count; i += step)); do
		u=${users[i % ${#users[@]}]}
		out=$(u_ssh "$u" 'id -u' </dev/null 2>&1)
		[[ $? == 0 && $out == 0 ]] || echo "login $i ($u): $out"
	done
}

# Wait until the sessions are over: no state, no session or user process.
_sshd_settle() {
	wait_until 30 state_clean
	wait_until 30 no_session_procs
	wait_until 30 no_user_procs
}

# _sshd_not_above SNAPSHOT: no figure of a snapshot now is above SNAPSHOT's.
_sshd_not_above() {
	local b a k
	read -r -a b <<< "$1"
	read -r -a a <<< "$(_sshd_snapshot)"
	for k in 0 1 2 3; do
		((a[k] <= b[k])) || return 1
	done
}

# sshd_no_growth N USER...: N logins (SSHD_PARALLEL at a time, default 2),
# round-robin over USERS, then no growth in the bed's mounts, processes,
# state files, or the sshd listener's fds. Prints the figures.
sshd_no_growth() {
	local n=$1 par=${SSHD_PARALLEL:-2} u j t0 before after pids=() f=$SSHD_WORK/loop.fail
	shift
	for u; do
		u_ssh "$u" true </dev/null >/dev/null 2>&1
	done
	_sshd_settle
	before=$(_sshd_snapshot)
	t0=$SECONDS
	: > "$f"
	for ((j = 0; j < par; j++)); do
		_sshd_login_loop "$j" "$par" "$n" "$@" >> "$f" &
		pids+=($!)
	done
	wait "${pids[@]}"
	local secs=$((SECONDS - t0))
	_sshd_settle
	# A process that is just exiting may still be counted: growth is
	# what does not go away.
	wait_until 30 _sshd_not_above "$before"
	after=$(_sshd_snapshot)
	if [[ ! -s $f ]]; then
		pass "$n sequential logins ($par at a time, ${secs}s): all root in their namespace"
	else
		fail "$n sequential logins: all root in their namespace" "$(wc -l < "$f") failed:" "$(cat "$f")"
	fi
	local b a names=(mounts processes "files in /run/pam_userns" "sshd listener fds") k
	read -r -a b <<< "$before"
	read -r -a a <<< "$after"
	for k in 0 1 2 3; do
		if ((a[k] <= b[k])); then
			pass "after $n logins: no growth in ${names[k]} (${b[k]} -> ${a[k]})"
		else
			fail "after $n logins: no growth in ${names[k]} (${b[k]} -> ${a[k]})" \
				"$(ps -eo pid,user,stat,args 2>&1)" "$(state_entries)"
		fi
	done
	echo "# after $n logins: sshd listener VmRSS ${b[4]} kB -> ${a[4]} kB"
}
