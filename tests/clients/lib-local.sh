# SPDX-License-Identifier: LGPL-2.1-or-later
#
# lib-local.sh - shared helpers for the login, su and pamtester tests
# (tests/clients/local-*.sh). Source it first thing from a bash test:
#
#     . "$(dirname -- "$0")/lib-local.sh"
#
# Outside the test bed it re-executes the test inside it
# (tests/testbed/testbed.sh); `make check` exports TESTBED,
# PAM_USERNS_MODULE and USERNS_SHELL, and by hand they are found next to the
# sources (build/ or an in-tree build). Inside the bed it loads the bed's
# lib.sh and sets:
#
#   LT         scratch directory ($TESTBED_DIR/local: root-owned, 0755)
#   LT_MODULE  a private copy of the module (a concurrent `make` relinking
#              build/.libs/pam_userns.so cannot change it under a test)
#   LT_SHELL   a root-owned copy of userns-shell, the users' login shell
#   LT_CONF    the userns.conf the standard services name with conf=
#   LT_TIMEOUT seconds any wait may take before it counts as a failure
#              (generous: the machine may be loaded; nothing sleeps for a
#              fixed time, every wait ends on the event it waits for)
#
# Output: one "PASS: ..." / "FAIL: ..." line per check (as the sshd tests),
# "# ..." lines of diagnosis, and lt_finish prints "N passed, M failed" and
# exits 0 or 1.

if [[ -z ${TESTBED_DIR:-} ]]; then
	_lt_src=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
	_lt_top=$(readlink -f -- "$_lt_src/../..")
	_lt_test=$(readlink -f -- "$0")
	if [[ $EUID -ne 0 ]]; then
		echo "${0##*/}: SKIP: must run as root (the test bed mounts file systems and makes namespaces)"
		echo "0 passed, 0 failed"
		exit 77
	fi
	for _lt_d in "$PWD" "$_lt_top/build" "$_lt_top"; do
		if [[ -z ${PAM_USERNS_MODULE:-} && -e $_lt_d/.libs/pam_userns.so ]]; then
			PAM_USERNS_MODULE=$_lt_d/.libs/pam_userns.so
		fi
		if [[ -z ${USERNS_SHELL:-} && -x $_lt_d/userns-shell ]]; then
			USERNS_SHELL=$_lt_d/userns-shell
		fi
	done
	export PAM_USERNS_MODULE=${PAM_USERNS_MODULE:-} USERNS_SHELL=${USERNS_SHELL:-}
	TESTBED=${TESTBED:-$_lt_top/tests/testbed/testbed.sh}
	exec "$BASH" "$TESTBED" -- "$BASH" "$_lt_test" "$@"
	echo "${0##*/}: cannot run the test bed $TESTBED" >&2
	exit 1
fi

# --- inside the bed ---------------------------------------------------------

set -u
export LC_ALL=C
# A write to a client that has gone must fail, not kill the test.
trap '' PIPE

# shellcheck source=../testbed/lib.sh
. "$TESTBED_LIB" || exit 1

LT_TIMEOUT=${LT_TIMEOUT:-60}
LT=$TESTBED_DIR/local
LT_CONF=$LT/userns.conf
lt_pass=0
lt_fail=0

ok() {
	lt_pass=$((lt_pass + 1))
	echo "PASS: $*"
}

not_ok() {
	lt_fail=$((lt_fail + 1))
	echo "FAIL: $*"
}

# lt_diag TEXT...: diagnosis lines (each prefixed "# ").
lt_diag() {
	local line
	for line; do
		printf '%s\n' "$line" | sed 's/^/#   /'
	done
}

# check NAME CMD...: ok when CMD succeeds. CMD prints its own diagnosis.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

lt_finish() {
	echo "$lt_pass passed, $lt_fail failed"
	((lt_fail == 0)) && exit 0
	exit 1
}

lt_skip() {
	echo "${0##*/}: SKIP: $*"
	echo "0 passed, 0 failed"
	exit 77
}

# lt_require TOOL...: skip (with the reason) when a client is not installed.
lt_require() {
	local t
	for t; do
		command -v "$t" >/dev/null 2>&1 || lt_skip "$t is not installed (CI installs it)"
	done
}

# --- small assertions (return status; print diagnosis on failure) ----------

# is_eq EXPECTED ACTUAL
is_eq() {
	[[ $1 == "$2" ]] && return 0
	lt_diag "expected: $1" "     got: $2"
	return 1
}

# has_text FIXED TEXT: TEXT contains the fixed string.
has_text() {
	[[ $2 == *"$1"* ]] && return 0
	lt_diag "expected to contain: $1" "got:" "$2"
	return 1
}

# lacks_text FIXED TEXT
lacks_text() {
	[[ $2 != *"$1"* ]] && return 0
	lt_diag "expected not to contain: $1" "got:" "$2"
	return 1
}

# is_rc EXPECTED ACTUAL [OUTPUT]
is_rc() {
	[[ $1 == "$2" ]] && return 0
	lt_diag "expected exit status $1, got $2" "${3:-}"
	return 1
}

# is_fail_rc ACTUAL [OUTPUT]: non-zero.
is_fail_rc() {
	[[ $1 != 0 ]] && return 0
	lt_diag "expected a non-zero exit status, got 0" "${2:-}"
	return 1
}

# --- waiting without timed sleeps -------------------------------------------

# lt_until TIMEOUT CMD...: poll CMD until it succeeds (20 Hz).
lt_until() {
	local timeout=$1 deadline
	shift
	deadline=$(($(date +%s) + timeout))
	while :; do
		"$@" && return 0
		(($(date +%s) >= deadline)) && return 1
		sleep 0.05
	done
}

_lt_alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	read -r stat < "/proc/$1/stat" 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

_lt_gone() { ! _lt_alive "$1"; }

# lt_reap PID [TIMEOUT]: wait for our child PID (killing it after TIMEOUT);
# sets LT_RC (124 when it had to be killed).
lt_reap() {
	local pid=$1 timeout=${2:-$LT_TIMEOUT}
	if ! lt_until "$timeout" _lt_gone "$pid"; then
		lt_diag "pid $pid still running after ${timeout}s: killing it"
		kill -TERM "$pid" 2>/dev/null
		lt_until 5 _lt_gone "$pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		LT_RC=124
		return 1
	fi
	wait "$pid"
	LT_RC=$?
	return 0
}

# --- syslog: marks, waits, barriers ----------------------------------------

# m=$(lt_log_mark): where the log is now; later helpers look only past it.
lt_log_mark() {
	stat -c %s -- "$TESTBED_SYSLOG"
}

lt_log_since() {
	tail -c +$(($1 + 1)) -- "$TESTBED_SYSLOG"
}

_lt_log_has() {
	lt_log_since "$1" | grep -qF -e "$2"
}

# lt_log_wait MARK FIXED [TIMEOUT]: wait for a line containing FIXED.
lt_log_wait() {
	local mark=$1 text=$2 timeout=${3:-$LT_TIMEOUT}
	lt_until "$timeout" _lt_log_has "$mark" "$text" && return 0
	lt_diag "no syslog line containing: $text" "the log since the mark:"
	lt_diag "$(lt_log_since "$mark" | tail -n 20)"
	return 1
}

# lt_log_sync MARK: after this, every message sent before it is in the file
# (one datagram socket, read in order by one catcher).
lt_log_sync() {
	local token="lt-barrier-$$-$RANDOM-$RANDOM"
	logger -t lt-barrier -- "$token" || return 1
	lt_log_wait "$1" "$token"
}

# lt_log_lacks MARK FIXED: no line containing FIXED (syncs first).
lt_log_lacks() {
	lt_log_sync "$1" || return 1
	_lt_log_has "$1" "$2" || return 0
	lt_diag "unexpected syslog line:" "$(lt_log_since "$1" | grep -F -e "$2")"
	return 1
}

# lt_log_line MARK FIXED: print the first line containing FIXED.
lt_log_line() {
	lt_log_since "$1" | grep -F -m1 -e "$2"
}

# --- the state directory ----------------------------------------------------

# What a session leaves: pins, records, references, temporaries, mounts.
lt_state_leftovers() {
	find /run/pam_userns \( -name '*.ns' -o -name '*.info' -o -name '*.ref' -o -name '*.tmp' \) \
		-printf '%p\n' 2>/dev/null
	awk '$5 ~ "^/run/pam_userns(/|$)" { print "mount: " $5 }' /proc/self/mountinfo
}

# lt_state_clean: nothing is left in /run/pam_userns.
lt_state_clean() {
	local left
	left=$(lt_state_leftovers)
	[[ -z $left ]] && return 0
	lt_diag "left in /run/pam_userns:" "$left"
	return 1
}

# lt_clear_state: remove what a failed check may have left (so one failure
# does not cascade into the next checks).
lt_clear_state() {
	local m
	for m in $(awk '$5 ~ "^/run/pam_userns/" { print $5 }' /proc/self/mountinfo); do
		umount -l "$m" 2>/dev/null
	done
	find /run/pam_userns \( -name '*.ns' -o -name '*.info' -o -name '*.ref' -o -name '*.tmp' \) \
		-delete 2>/dev/null
	return 0
}

# Processes of the bed whose user namespace is not ours, apart from the pids
# given (the module must leave no stray namespace child behind).
lt_ns_procs() {
	local self p pid skip x
	self=$(readlink /proc/self/ns/user)
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		skip=0
		for x; do [[ $pid == "$x" ]] && skip=1; done
		((skip)) && continue
		_lt_alive "$pid" || continue
		[[ $(readlink "$p/ns/user" 2>/dev/null) == "$self" ]] && continue
		[[ -e $p ]] || continue
		echo "$pid $(tr '\0' ' ' < "$p/cmdline" 2>/dev/null)"
	done
}

lt_no_ns_procs() {
	local left
	left=$(lt_ns_procs "$@")
	[[ -z $left ]] && return 0
	lt_diag "processes left in other user namespaces:" "$left"
	return 1
}

# --- fixtures -----------------------------------------------------------------

# lt_conf [FILE] <<EOF: write a root-owned 0644 userns.conf (default LT_CONF).
lt_conf() {
	local file=${1:-$LT_CONF}
	cat > "$file" && chown 0:0 "$file" && chmod 0644 "$file"
}

# (Not passwd: tests set login shells once, at their start.)
lt_save_fixtures() {
	local f
	for f in subuid subgid group gshadow; do
		cp -- "$TESTBED_DIR/etc/$f" "$LT/orig.$f" || return 1
	done
	cp -- "$TESTBED_DIR/etc/security/userns.conf" "$LT/orig.userns.conf"
}

# lt_restore_fixtures: put the fixtures back as they were (same inodes).
lt_restore_fixtures() {
	local f
	for f in subuid subgid group gshadow; do
		testbed_write "/etc/$f" < "$LT/orig.$f" || return 1
	done
	testbed_write /etc/security/userns.conf < "$LT/orig.userns.conf"
	chown 0:0 /etc/security/userns.conf "$TESTBED_DIR"/etc/sub[ug]id
	chmod 0644 /etc/security/userns.conf "$TESTBED_DIR"/etc/sub[ug]id
}

# lt_services [MODULE-ARGS]: the services under test, each with pam_userns
# (required) in its session stack, followed by pam_permit so that a login
# the policy does not cover (PAM_IGNORE) still opens:
#   lt      for pamtester
#   su su-l util-linux su, su - (root's su needs no password: pam_rootok)
#   login   shadow's login -f (no authentication: the auth stack only
#           runs for setcred)
# MODULE-ARGS default to "conf=$LT_CONF"; "" means the default lookup
# (/etc/security/userns.conf).
lt_services() {
	local args=${1-conf=$LT_CONF} s
	testbed_pam_service lt <<-EOF || return 1
	auth     required  pam_permit.so
	account  required  pam_permit.so
	session  required  $LT_MODULE $args
	session  required  pam_permit.so
	EOF
	for s in su su-l; do
		testbed_pam_service "$s" <<-EOF || return 1
		auth     sufficient  pam_rootok.so
		auth     required    pam_deny.so
		account  required    pam_permit.so
		session  required    $LT_MODULE $args
		session  required    pam_permit.so
		EOF
	done
	testbed_pam_service login <<-EOF
	auth     required  pam_permit.so
	account  required  pam_permit.so
	session  required  $LT_MODULE $args
	session  required  pam_permit.so
	EOF
}

# The pam_userns refusal every client reports (pam_strerror(PAM_SESSION_ERR)).
LT_SESSION_ERR='Cannot make/remove an entry for the specified session'

# --- running things as a user -----------------------------------------------

# lt_as USER CMD...: run CMD as USER (ids, groups, a clean environment with
# HOME, USER, SHELL, PATH) without PAM: how a forged environment reaches
# userns-shell. Extra variables: lt_as USER env VAR=... CMD...
lt_as() {
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --reset-env -- "$@"
}

# --- ptys: drive an interactive login with events, not sleeps ---------------

declare -A PTY_FD=() PTY_PID=()
# PTY_WRAP: a command prefix for script itself (see lt_case's CASE_WRAP).
PTY_WRAP=()

# pty_start NAME COMMAND: run COMMAND (a shell command line) under a pty
# (util-linux script); its input is a FIFO we hold, its output (the
# terminal's, with echo) goes to $LT/pty.NAME.out.
pty_start() {
	local name=$1 cmd=$2 fd
	rm -f "$LT/pty.$name.in"
	mkfifo -m 0600 "$LT/pty.$name.in" || return 1
	: > "$LT/pty.$name.out"
	# Read-write: opening never blocks, even if script never starts.
	exec {fd}<> "$LT/pty.$name.in"
	PTY_FD[$name]=$fd
	# ... and script must not hold a write end itself, or no EOF comes.
	SHELL=/bin/sh "${PTY_WRAP[@]}" script -qefc "$cmd" /dev/null \
		< "$LT/pty.$name.in" > "$LT/pty.$name.out" 2>&1 {fd}>&- &
	PTY_PID[$name]=$!
}

# pty_send NAME LINE: type LINE and Enter.
pty_send() {
	printf '%s\n' "$2" >&"${PTY_FD[$1]}"
}

# pty_wait NAME REGEX [TIMEOUT]: wait until the terminal shows REGEX (grep -E).
_lt_pty_has() { pty_output "$1" | grep -qE -e "$2"; }
pty_wait() {
	local timeout=${3:-$LT_TIMEOUT}
	lt_until "$timeout" _lt_pty_has "$1" "$2" && return 0
	lt_diag "the terminal of '$1' never showed /$2/; it shows:"
	lt_diag "$(pty_output "$1" | tail -n 25)"
	return 1
}

# pty_output NAME: what the terminal showed so far (no CRs, no bracketed
# paste switches).
pty_output() {
	tr -d '\r' < "$LT/pty.$1.out" | sed 's/\x1b\[?2004[hl]//g'
}

# pty_exit NAME: wait for script to end (its input stays open); sets LT_RC
# (script -e: the command's status).
pty_exit() {
	local pid=${PTY_PID[$1]:-}
	LT_RC=
	[[ -n $pid ]] || return 0
	PTY_PID[$1]=
	lt_reap "$pid"
}

# pty_finish NAME: close its input (EOF) and wait for script to end; sets
# LT_RC.
pty_finish() {
	local fd=${PTY_FD[$1]:-}
	if [[ -n $fd ]]; then
		exec {fd}>&-
		PTY_FD[$1]=
	fi
	pty_exit "$1"
}

# --- namespaced environments for the cases that need one --------------------

# lt_without_etc FILE CMD...: run CMD in a private mount namespace whose
# /etc is the bed's /etc (fixtures included) without FILE. The bed's
# fixtures are bind mounts over files, and unlinking a mount point would
# detach the bed's own mount, so this stacks a private overlay on /etc,
# binds the bed's mounts back and whites FILE out in the overlay's own
# tmpfs. /run is shared: the module's state is visible to the bed.
lt_without_etc() {
	local file=$1
	shift
	unshare --mount --propagation private -- "$BASH" -c '
		set -e
		f=$1 d=$2
		shift 2
		mkdir -p "$d"
		mount -t tmpfs -o mode=0700 lt-noetc "$d"
		mkdir "$d/u" "$d/w" "$d/m"
		mount -t overlay -o "lowerdir=/etc,upperdir=$d/u,workdir=$d/w" lt-noetc "$d/m"
		awk '\''$5 ~ "^/etc/" { print $5 }'\'' /proc/self/mountinfo | sort -u |
		while read -r p; do
			[ "$p" = "/etc/$f" ] || mount --bind "$p" "$d/m${p#/etc}"
		done
		rm -f -- "$d/m/$f"
		mount --move "$d/m" /etc
		exec "$@"' lt-without-etc "$file" "$LT/noetc.$BASHPID.$RANDOM" "$@"
}

# lt_full_userns CMD...: run CMD as root in a new user namespace that maps
# every id to itself (0..4294967294), with a mount namespace it owns. Root
# there has every capability over the namespace but none over the host,
# and the namespace has its own user.* sysctls: the limits the module's
# creations count against can be lowered without touching the host.
lt_full_userns() {
	local go pid rc
	go=$LT/fullns.$BASHPID.$RANDOM
	mkdir -p "$go" && mkfifo "$go/go" || return 1
	# Capabilities are computed at exec: exec CMD only once mapped.
	unshare --user --mount --propagation private -- "$BASH" -c \
		'read -r _ < "$1"; shift; exec "$@"' lt-full-userns "$go/go" "$@" &
	pid=$!
	_lt_ns_moved() { [[ $(readlink "/proc/$1/ns/user" 2>/dev/null) != "$(readlink /proc/self/ns/user)" ]] || ! _lt_alive "$1"; }
	if ! lt_until "$LT_TIMEOUT" _lt_ns_moved "$pid" || ! _lt_alive "$pid"; then
		lt_diag "unshare --user did not start"
		kill "$pid" 2>/dev/null
		wait "$pid"
		return 1
	fi
	if ! { echo '0 0 4294967295' > "/proc/$pid/uid_map" &&
		echo '0 0 4294967295' > "/proc/$pid/gid_map"; }; then
		lt_diag "cannot write the identity map of $pid"
		kill "$pid" 2>/dev/null
		wait "$pid"
		return 1
	fi
	echo go > "$go/go"
	wait "$pid"
	rc=$?
	rm -rf -- "$go"
	return $rc
}

# --- the failure matrix -------------------------------------------------------
#
# Every way a login that should get a namespace cannot get one. lt_case NAME
# restores the fixtures, sets the case up and describes it:
#   CASE_DESC     what is wrong
#   CASE_USER     who logs in
#   CASE_LOG      the syslog text the administrator sees (a fixed string;
#                 each is logged as "pam_userns(SERVICE:session): TEXT")
#   CASE_ARGS     the module's arguments (default conf=$LT_CONF)
#   CASE_WRAP     a command prefix the client runs under (an array)
#   CASE_CLIENTS  which clients can show it (pamtester su login)
# Every client must refuse the login (fail closed), show PAM's session
# error, log CASE_LOG, and leave nothing in /run/pam_userns.

LT_CASES=(
	conf-missing-bracket conf-missing-delimiter conf-key-outside-section
	conf-unknown-section conf-unknown-key conf-unknown-key-user
	conf-max-ids-not-number conf-max-ids-zero conf-max-ids-too-big
	conf-enable-not-bool conf-setgroups-bad conf-scope-bad
	conf-group-writable conf-world-writable conf-not-root-owned
	conf-file-missing conf-default-writable conf-default-unknown-key
	conf-shell-missing conf-shell-relative conf-shell-not-executable
	conf-shell-directory conf-groups-disagree
	subuid-no-entry subgid-no-entry subuid-file-missing subgid-file-missing
	subuid-malformed subuid-malformed-count subuid-own-uid subgid-own-gid
	subuid-contains-root subuid-overlap subuid-huge subuid-empty
	subuid-341-lines subuid-map-too-long
	unknown-user max-user-namespaces
)
# The default lookup reads SYSCONFDIR/security/userns.conf; the bed's
# fixture is /etc's. A build with another sysconfdir (make distcheck)
# cannot show those two cases: say so rather than fail or pass them.
if [[ ${PAM_USERNS_SYSCONFDIR:-/etc} != /etc ]]; then
	echo "# note: conf-default-* cases left out: the module reads $PAM_USERNS_SYSCONFDIR/security/userns.conf, not the bed's /etc (configure --sysconfdir=/etc to run them)"
	lt_kept=()
	for lt_c in "${LT_CASES[@]}"; do
		[[ $lt_c == conf-default-* ]] || lt_kept+=("$lt_c")
	done
	LT_CASES=("${lt_kept[@]}")
	unset lt_kept lt_c
fi

# lt_subuid_lines N START STEP: N one-id ranges of alice.
lt_subuid_lines() {
	local i
	for ((i = 0; i < $1; i++)); do
		echo "alice:$(($2 + i * $3)):1"
	done
}

lt_case() {
	local name=$1
	lt_restore_fixtures || return 1
	printf '%s\n' '[default]' 'enable = yes' | lt_conf
	CASE_USER=alice
	CASE_ARGS="conf=$LT_CONF"
	CASE_WRAP=()
	CASE_CLIENTS="pamtester su login"
	CASE_LOG=
	case $name in
	conf-missing-bracket)
		CASE_DESC='a section header without its closing bracket'
		printf '%s\n' '[default' 'enable = yes' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:1: Missing bracket" ;;
	conf-missing-delimiter)
		CASE_DESC='a key line without "="'
		printf '%s\n' '[default]' 'enable yes' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:2: Missing delimiter" ;;
	conf-key-outside-section)
		CASE_DESC='a key before any section'
		printf '%s\n' 'enable = yes' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:1: key \"enable\" is outside any section (put it under [default])" ;;
	conf-unknown-section)
		CASE_DESC='an unknown section'
		printf '%s\n' '[default]' 'enable = yes' '[users:alice]' 'enable = yes' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: unknown section [users:alice] (expected [default], [group:NAME] or [user:NAME])" ;;
	conf-unknown-key)
		CASE_DESC='an unknown key in [default]'
		printf '%s\n' '[default]' 'enable = yes' 'x = 1' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: unknown key \"x\" in [default]" ;;
	conf-unknown-key-user)
		CASE_DESC='a misspelt key in [user:alice]'
		printf '%s\n' '[default]' 'enable = yes' '' '[user:alice]' 'max_id = 10' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:5: unknown key \"max_id\" in [user:alice]" ;;
	conf-max-ids-not-number)
		CASE_DESC='max_ids is not a number'
		printf '%s\n' '[default]' 'enable = yes' 'max_ids = 7x' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: max_ids: \"7x\" is not a number" ;;
	conf-max-ids-zero)
		CASE_DESC='max_ids = 0'
		printf '%s\n' '[default]' 'enable = yes' 'max_ids = 0' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: max_ids: \"0\" is out of range (1..4294967294)" ;;
	conf-max-ids-too-big)
		CASE_DESC='max_ids past the 32-bit id space'
		printf '%s\n' '[default]' 'enable = yes' 'max_ids = 4294967295' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: max_ids: \"4294967295\" is out of range (1..4294967294)" ;;
	conf-enable-not-bool)
		CASE_DESC='enable is not a boolean'
		printf '%s\n' '[default]' 'enable = maybe' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:2: enable: \"maybe\" is not a boolean (yes or no)" ;;
	conf-setgroups-bad)
		CASE_DESC='setgroups is not allow/deny/auto'
		printf '%s\n' '[default]' 'enable = yes' '[user:alice]' 'setgroups = sometimes' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:4: setgroups: \"sometimes\" is not allow, deny or auto" ;;
	conf-scope-bad)
		CASE_DESC='scope is not session/user'
		printf '%s\n' '[default]' 'enable = yes' 'scope = host' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: scope: \"host\" is not session or user" ;;
	conf-group-writable)
		CASE_DESC='the configuration is group-writable'
		chmod 0664 "$LT_CONF"
		CASE_LOG="configuration error: $LT_CONF: refusing to read: writable by group or others (mode 0664)" ;;
	conf-world-writable)
		CASE_DESC='the configuration is world-writable'
		chmod 0646 "$LT_CONF"
		CASE_LOG="configuration error: $LT_CONF: refusing to read: writable by group or others (mode 0646)" ;;
	conf-not-root-owned)
		CASE_DESC='the configuration is owned by a user'
		chown 2001 "$LT_CONF"
		CASE_LOG="configuration error: $LT_CONF: refusing to read: owned by uid 2001, not root" ;;
	conf-file-missing)
		CASE_DESC='conf= names a file that does not exist'
		CASE_ARGS="conf=$LT/no-such.conf"
		CASE_LOG="configuration error: $LT/no-such.conf: No such file or directory" ;;
	conf-default-writable)
		CASE_DESC='/etc/security/userns.conf (no conf=) is group-writable'
		CASE_ARGS=
		printf '%s\n' '[default]' 'enable = yes' | testbed_userns_conf
		chmod 0664 /etc/security/userns.conf
		CASE_LOG="configuration error: /etc/security/userns.conf: refusing to read: writable by group or others (mode 0664)" ;;
	conf-default-unknown-key)
		CASE_DESC='/etc/security/userns.conf (no conf=) has an unknown key'
		CASE_ARGS=
		printf '%s\n' '# the test bed' '[default]' 'enable = yes' 'kill_on_logut = yes' | testbed_userns_conf
		CASE_LOG="configuration error: /etc/security/userns.conf:4: unknown key \"kill_on_logut\" in [default]" ;;
	conf-shell-missing)
		CASE_DESC='shell names a program that does not exist'
		printf '%s\n' '[default]' 'enable = yes' 'shell = /nonexistent/zsh' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: shell: \"/nonexistent/zsh\" cannot be used: No such file or directory" ;;
	conf-shell-relative)
		CASE_DESC='shell is not an absolute path'
		printf '%s\n' '[default]' 'enable = yes' 'shell = bin/bash' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: shell: \"bin/bash\" is not an absolute path" ;;
	conf-shell-not-executable)
		CASE_DESC='shell names a file that is not executable'
		echo '#!/bin/sh' > "$LT/not-exec"
		chmod 0644 "$LT/not-exec"
		printf '%s\n' '[default]' 'enable = yes' "shell = $LT/not-exec" | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: shell: \"$LT/not-exec\" is not executable by everyone (mode 0644)" ;;
	conf-shell-directory)
		CASE_DESC='shell names a directory'
		printf '%s\n' '[default]' 'enable = yes' "shell = $LT" | lt_conf
		CASE_LOG="configuration error: $LT_CONF:3: shell: \"$LT\" is not a regular file" ;;
	conf-groups-disagree)
		CASE_DESC='two group sections of the user disagree'
		CASE_USER=dave
		testbed_add_group lab 3001 dave || return 1
		printf '%s\n' '[default]' 'enable = no' '[group:sandboxed]' 'enable = yes' \
			'[group:lab]' 'enable = no' | lt_conf
		CASE_LOG="configuration error: $LT_CONF:4 and $LT_CONF:6: [group:sandboxed] and [group:lab] disagree on \"enable\" for user dave" ;;
	subuid-no-entry)
		CASE_DESC='the user has no subuid range (subids = auto)'
		CASE_USER=carol
		CASE_LOG="carol has no subuid range (add one with usermod --add-subuids, or set subids = none)" ;;
	subgid-no-entry)
		CASE_DESC='the user has a subuid but no subgid range'
		grep -v '^alice:' "$LT/orig.subgid" | testbed_write /etc/subgid
		CASE_LOG="alice has no subgid range (add one with usermod --add-subgids, or set subids = none)" ;;
	subuid-file-missing)
		CASE_DESC='/etc/subuid does not exist'
		CASE_WRAP=(lt_without_etc subuid)
		CASE_LOG="alice: cannot read /etc/subuid: No such file or directory" ;;
	subgid-file-missing)
		CASE_DESC='/etc/subgid does not exist'
		CASE_WRAP=(lt_without_etc subgid)
		CASE_LOG="alice: cannot read /etc/subgid: No such file or directory" ;;
	subuid-malformed)
		CASE_DESC="the user's subuid line lacks its count"
		printf '%s\n' 'bob:300000:65536' 'alice:200000' | testbed_write /etc/subuid
		CASE_LOG="alice: /etc/subuid:2: malformed entry for alice (expected NAME:START:COUNT)" ;;
	subuid-malformed-count)
		CASE_DESC="the user's subuid count is not a number"
		printf '%s\n' 'alice:200000:65536x' 'bob:300000:65536' | testbed_write /etc/subuid
		CASE_LOG="alice: /etc/subuid:1: malformed entry for alice (expected NAME:START:COUNT)" ;;
	subuid-own-uid)
		CASE_DESC="the subuid range contains the user's own uid"
		printf '%s\n' 'alice:1000:65536' | testbed_write /etc/subuid
		CASE_LOG="alice: subuid range 1000:65536 contains the user's own id 2001" ;;
	subgid-own-gid)
		CASE_DESC="the subgid range contains the user's own gid"
		printf '%s\n' 'alice:2000:10' | testbed_write /etc/subgid
		CASE_LOG="alice: subgid range 2000:10 contains the user's own id 2001" ;;
	subuid-contains-root)
		CASE_DESC='the subuid range contains uid 0'
		printf '%s\n' 'alice:0:1000' | testbed_write /etc/subuid
		CASE_LOG="alice: subuid range 0:1000 contains id 0 (root)" ;;
	subuid-overlap)
		CASE_DESC="two of the user's subuid ranges overlap"
		printf '%s\n' 'alice:200000:65536' 'alice:230000:65536' | testbed_write /etc/subuid
		CASE_LOG="alice: subuid ranges 200000:65536 and 230000:65536 overlap" ;;
	subuid-huge)
		CASE_DESC='a subuid range of 4294967295 ids'
		printf '%s\n' 'alice:100000:4294967295' | testbed_write /etc/subuid
		CASE_LOG="alice: subuid range 100000:4294967295 runs past the 32-bit id space" ;;
	subuid-empty)
		CASE_DESC='a subuid range of 0 ids'
		printf '%s\n' 'alice:200000:0' | testbed_write /etc/subuid
		CASE_LOG="alice: subuid range 200000:0 is empty" ;;
	subuid-341-lines)
		CASE_DESC='340 subuid ranges: with the user line, 341 map lines (short ones: under 4095 bytes)'
		lt_subuid_lines 340 3000 2 | testbed_write /etc/subuid
		CASE_LOG="alice: subuid map would need more than 340 lines (the kernel's limit)" ;;
	subuid-map-too-long)
		CASE_DESC='300 subuid ranges with 10-digit ids: over 4095 bytes'
		lt_subuid_lines 300 4000000000 2 | testbed_write /etc/subuid
		CASE_LOG="alice: subuid map is longer than 4095 bytes (the kernel's limit)" ;;
	unknown-user)
		CASE_DESC='a user the user database does not know'
		CASE_USER=nosuchuser
		# su and login refuse an unknown user before any session.
		CASE_CLIENTS=pamtester
		CASE_LOG="unknown user nosuchuser: not in the user database" ;;
	max-user-namespaces)
		CASE_DESC='user.max_user_namespaces reached (1, and alice already owns one)'
		CASE_WRAP=(lt_full_userns "$BASH" "$LT/maxns.sh" 1 alice)
		CASE_LOG="cannot prepare a namespace for alice: cannot create a user namespace as uid 2001: No space left on device (user.max_user_namespaces reached?)" ;;
	*)
		echo "lt_case: unknown case $name" >&2
		return 1 ;;
	esac
}

# $LT/maxns.sh MAX USER CMD... (run under lt_full_userns): set this
# namespace's user.max_user_namespaces to MAX, have USER own one namespace
# in it (a holder process), run CMD and exit with its status.
lt_write_maxns() {
	cat > "$LT/maxns.sh" <<-'EOS'
	max=$1 user=$2
	shift 2
	echo "$max" > /proc/sys/user/max_user_namespaces || exit 90
	self=$(readlink /proc/self/ns/user)
	setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
		unshare --user -- sleep infinity &
	holder=$!
	# Wait (bounded, on the event) until the holder runs in its namespace.
	for ((i = 0; i < 1200; i++)); do
		ns=$(readlink "/proc/$holder/ns/user" 2>/dev/null) || break
		[[ $ns != "$self" && $(readlink "/proc/$holder/exe") == */sleep ]] && break
		sleep 0.05
	done
	if [[ $(readlink "/proc/$holder/exe" 2>/dev/null) != */sleep ]]; then
		echo "maxns.sh: the namespace $user holds did not start" >&2
		exit 91
	fi
	"$@"
	rc=$?
	kill "$holder"
	wait "$holder" 2>/dev/null
	exit $rc
	EOS
}

# lt_refused CLIENT SERVICE NAME RC OUTPUT MARK: the checks every refused
# login gets: the client refused it with PAM's session error, the
# administrator's syslog line, nothing made and nothing left.
lt_refused() {
	local client=$1 service=$2 name=$3 rc=$4 out=$5 mark=$6 shown
	case $client in
	pamtester) shown="pamtester: $LT_SESSION_ERR" ;;
	su) shown="su: cannot open session: $LT_SESSION_ERR" ;;
	login) shown=$LT_SESSION_ERR ;;
	esac
	check "$name via $client: refused, the user sees \"$shown\"" \
		eval 'is_fail_rc "$rc" "$out" && has_text "$shown" "$out" && lacks_text LT-SHELL-RAN "$out"'
	check "$name via $client: syslog: pam_userns($service:session): $CASE_LOG" \
		lt_log_wait "$mark" "pam_userns($service:session): $CASE_LOG"
	check "$name via $client: no namespace made, nothing left in /run/pam_userns" \
		eval 'lt_log_lacks "$mark" "user namespace created" && lt_state_clean && lt_no_ns_procs'
	lt_state_clean >/dev/null || lt_clear_state
}

# lt_case_via CLIENT NAME: run failure case NAME through CLIENT.
lt_case_via() {
	local client=$1 name=$2 out rc mark
	lt_case "$name" || { not_ok "$name: set up"; return 1; }
	if [[ " $CASE_CLIENTS " != *" $client "* ]]; then
		echo "# $name: not through $client (only: $CASE_CLIENTS)"
		return 0
	fi
	lt_services "$CASE_ARGS" || { not_ok "$name: services"; return 1; }
	echo "# $name ($client, user $CASE_USER): $CASE_DESC"
	mark=$(lt_log_mark)
	case $client in
	pamtester)
		out=$("${CASE_WRAP[@]}" pamtester lt "$CASE_USER" open_session close_session 2>&1)
		rc=$?
		lt_refused pamtester lt "$name" "$rc" "$out" "$mark" ;;
	su)
		out=$("${CASE_WRAP[@]}" su - "$CASE_USER" -c 'echo LT-SHELL-RAN' 2>&1 </dev/null)
		rc=$?
		lt_refused su su-l "$name" "$rc" "$out" "$mark" ;;
	login)
		PTY_WRAP=("${CASE_WRAP[@]}")
		pty_start "case" "login -f $CASE_USER"
		PTY_WRAP=()
		# A refused login ends at once; a shell would wait for input.
		pty_exit case
		rc=$LT_RC
		pty_finish case
		out=$(pty_output case)
		lt_refused login login "$name" "$rc" "$out" "$mark" ;;
	esac
}

# --- set up -------------------------------------------------------------------

install -d -m 0755 -o 0 -g 0 "$LT" || exit 1
if [[ -z ${PAM_USERNS_MODULE:-} || ! -r $PAM_USERNS_MODULE ]]; then
	not_ok "the module is built (PAM_USERNS_MODULE=${PAM_USERNS_MODULE:-}; run make first)"
	lt_finish
fi
if [[ -z ${USERNS_SHELL:-} || ! -x $USERNS_SHELL ]]; then
	not_ok "userns-shell is built (USERNS_SHELL=${USERNS_SHELL:-}; run make first)"
	lt_finish
fi
LT_MODULE=$LT/pam_userns.so
LT_SHELL=$LT/userns-shell
install -m 0644 -o 0 -g 0 "$PAM_USERNS_MODULE" "$LT_MODULE" &&
	install -m 0755 -o 0 -g 0 "$USERNS_SHELL" "$LT_SHELL" || exit 1
lt_conf <<-EOF
[default]
enable = yes
EOF
lt_save_fixtures || exit 1
lt_write_maxns || exit 1
