# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Helpers for tests that run inside the pam_userns test bed (testbed.sh).
# Source it from a bash test:   . "$TESTBED_LIB"
#
# Everything here expects to run as root inside the bed, with TESTBED_DIR set.
# State (sshd port and pid) lives in files under $TESTBED_DIR, so helpers work
# the same from subshells and from separately sourced scripts.
#
# Functions return non-zero and print "testbed: ..." on stderr on failure;
# none of them calls exit.

if [[ -z ${TESTBED_DIR:-} || ! -d $TESTBED_DIR ]]; then
	echo "testbed: lib.sh: TESTBED_DIR is not set; run under tests/testbed/testbed.sh" >&2
	# shellcheck disable=SC2317 # exit is for when this is run, not sourced
	return 1 2>/dev/null || exit 1
fi

# Fixture files bind-mounted from $TESTBED_DIR/etc over /etc. pam.d is a
# directory bind; the others are file binds (see README.md: write in place).
TESTBED_FIXTURE_FILES=(passwd shadow group gshadow subuid subgid nsswitch.conf security/userns.conf)

_testbed_err() { echo "testbed: $*" >&2; }

# A process is alive when it exists and is not a zombie.
_testbed_alive() {
	local pid=$1 stat
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	read -r stat < "/proc/$pid/stat" 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# testbed_track PID...: have the bed kill these at exit (it also kills every
# other process left in its mount namespace; this just makes it explicit).
testbed_track() {
	local pid
	for pid; do
		echo "$pid" >> "$TESTBED_DIR/pids"
	done
}

# testbed_write FILE: replace FILE's content with stdin, keeping its inode
# (safe for the bind-mounted fixtures). FILE may be /etc/... or $TESTBED_DIR/...
testbed_write() {
	local file=$1 tmp
	[[ -n $file ]] || { _testbed_err "usage: testbed_write FILE <CONTENT"; return 2; }
	tmp=$(mktemp "$TESTBED_DIR/.write.XXXXXX") || return 1
	cat > "$tmp" || { rm -f "$tmp"; return 1; }
	cat "$tmp" > "$file"
	local rc=$?
	rm -f "$tmp"
	return $rc
}

# testbed_edit FILE SED-ARGS...: like "sed -i SED-ARGS FILE" but in place
# (same inode), so it works on the bind-mounted fixtures.
testbed_edit() {
	local file=$1 tmp rc
	shift
	[[ -n $file && $# -gt 0 ]] || { _testbed_err "usage: testbed_edit FILE SED-ARGS..."; return 2; }
	tmp=$(mktemp "$TESTBED_DIR/.edit.XXXXXX") || return 1
	if sed "$@" "$file" > "$tmp"; then
		cat "$tmp" > "$file"
		rc=$?
	else
		rc=1
	fi
	rm -f "$tmp"
	return $rc
}

# testbed_check_fixtures: fail if a fixture file no longer is what /etc shows
# (someone replaced the inode with sed -i, mv, useradd, ...).
testbed_check_fixtures() {
	local f rc=0
	for f in "${TESTBED_FIXTURE_FILES[@]}" pam.d; do
		if [[ ! /etc/$f -ef $TESTBED_DIR/etc/$f ]]; then
			_testbed_err "fixture /etc/$f is detached from \$TESTBED_DIR/etc/$f (replaced by sed -i/mv?); write fixtures in place"
			rc=1
		fi
	done
	return $rc
}

# testbed_add_group NAME GID [MEMBER,...]
testbed_add_group() {
	local name=$1 gid=$2 members=${3:-}
	[[ -n $name && $gid =~ ^[0-9]+$ ]] || { _testbed_err "usage: testbed_add_group NAME GID [MEMBERS]"; return 2; }
	if getent group "$name" >/dev/null || getent group "$gid" >/dev/null; then
		_testbed_err "group $name or gid $gid already exists"
		return 1
	fi
	echo "$name:x:$gid:$members" >> "$TESTBED_DIR/etc/group"
	echo "$name:!::$members" >> "$TESTBED_DIR/etc/gshadow"
}

# testbed_add_user [-g GID] [-G GROUP,...] [-s SHELL] [-S START:COUNT]... NAME UID
#
# Adds NAME to the fixture passwd/shadow (password '*': no password login,
# key login fine), creates group NAME (gid GID, default UID) unless a group
# with that gid exists, adds NAME to each supplementary GROUP (which must
# exist), gives it a subuid and subgid entry per -S, and creates
# /home/NAME (0755) with .ssh/authorized_keys for the bed's client key.
testbed_add_user() {
	local gid='' groups='' shell=/bin/bash ranges=() opt OPTIND=1
	while getopts 'g:G:s:S:' opt; do
		case $opt in
		g) gid=$OPTARG ;;
		G) groups=$OPTARG ;;
		s) shell=$OPTARG ;;
		S) ranges+=("$OPTARG") ;;
		*) _testbed_err "usage: testbed_add_user [-g GID] [-G GROUPS] [-s SHELL] [-S START:COUNT] NAME UID"; return 2 ;;
		esac
	done
	shift $((OPTIND - 1))
	local name=$1 uid=$2 home g r
	if [[ ! $name =~ ^[a-z_][a-z0-9_-]*$ || ! $uid =~ ^[0-9]+$ ]]; then
		_testbed_err "usage: testbed_add_user [-g GID] [-G GROUPS] [-s SHELL] [-S START:COUNT] NAME UID"
		return 2
	fi
	gid=${gid:-$uid}
	home=/home/$name
	if getent passwd "$name" >/dev/null || getent passwd "$uid" >/dev/null; then
		_testbed_err "user $name or uid $uid already exists"
		return 1
	fi
	if ! getent group "$gid" >/dev/null; then
		testbed_add_group "$name" "$gid" || return 1
	fi
	echo "$name:x:$uid:$gid:$name (test bed):$home:$shell" >> "$TESTBED_DIR/etc/passwd"
	echo "$name:*:::::::" >> "$TESTBED_DIR/etc/shadow"

	local glist=()
	IFS=, read -r -a glist <<< "$groups"
	for g in "${glist[@]}"; do
		getent group "$g" >/dev/null || { _testbed_err "no group $g for $name"; return 1; }
		testbed_edit "$TESTBED_DIR/etc/group" -E "s/^($g:[^:]*:[^:]*:)(.+)\$/\\1\\2,$name/; t; s/^($g:[^:]*:[^:]*:)\$/\\1$name/" || return 1
		testbed_edit "$TESTBED_DIR/etc/gshadow" -E "s/^($g:[^:]*:[^:]*:)(.+)\$/\\1\\2,$name/; t; s/^($g:[^:]*:[^:]*:)\$/\\1$name/" || return 1
	done

	for r in "${ranges[@]}"; do
		[[ $r =~ ^[0-9]+:[0-9]+$ ]] || { _testbed_err "bad subid range '$r' (want START:COUNT)"; return 2; }
		echo "$name:$r" >> "$TESTBED_DIR/etc/subuid"
		echo "$name:$r" >> "$TESTBED_DIR/etc/subgid"
	done

	install -d -m 0755 -o "$uid" -g "$gid" "$home" &&
	install -d -m 0700 -o "$uid" -g "$gid" "$home/.ssh" &&
	install -m 0600 -o "$uid" -g "$gid" "$TESTBED_DIR/ssh/client_ed25519.pub" "$home/.ssh/authorized_keys"
}

# testbed_set_shell USER PATH: change USER's login shell in the fixture passwd.
testbed_set_shell() {
	local user=$1 shell=$2
	[[ -n $user && -n $shell ]] || { _testbed_err "usage: testbed_set_shell USER PATH"; return 2; }
	if ! grep -q "^$user:" "$TESTBED_DIR/etc/passwd"; then
		_testbed_err "no fixture user $user"
		return 1
	fi
	local tmp rc
	tmp=$(mktemp "$TESTBED_DIR/.passwd.XXXXXX") || return 1
	awk -F: -v OFS=: -v u="$user" -v s="$shell" '$1 == u { $7 = s } { print }' \
		"$TESTBED_DIR/etc/passwd" > "$tmp" &&
		cat "$tmp" > "$TESTBED_DIR/etc/passwd"
	rc=$?
	rm -f "$tmp"
	return $rc
}

# testbed_pam_service NAME <<EOF ... EOF: write the PAM service /etc/pam.d/NAME.
testbed_pam_service() {
	local name=$1
	if [[ -z $name || $name == */* || $name == .* ]]; then
		_testbed_err "usage: testbed_pam_service NAME <SERVICE-FILE"
		return 2
	fi
	cat > "$TESTBED_DIR/etc/pam.d/$name" && chmod 0644 "$TESTBED_DIR/etc/pam.d/$name"
}

# testbed_userns_conf <<EOF ... EOF: write /etc/security/userns.conf.
testbed_userns_conf() {
	testbed_write "$TESTBED_DIR/etc/security/userns.conf"
}

# testbed_file_wait [-F] FILE PATTERN [TIMEOUT]: wait until a line of FILE
# matches PATTERN (grep -E, or a fixed string with -F). TIMEOUT in seconds,
# default 5, fractions allowed. On timeout prints the file's tail and fails.
testbed_file_wait() {
	local mode=-E
	if [[ ${1:-} == -F ]]; then
		mode=-F
		shift
	fi
	local file=$1 pattern=$2 timeout=${3:-5} i n
	[[ -n $file && -n $pattern ]] || { _testbed_err "usage: testbed_file_wait [-F] FILE PATTERN [TIMEOUT]"; return 2; }
	n=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 20 + 1 }')
	for ((i = 0; i < n; i++)); do
		grep -q $mode -e "$pattern" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	_testbed_err "timed out after ${timeout}s waiting for '$pattern' in $file; its last lines:"
	tail -n 20 "$file" 2>/dev/null | sed 's/^/testbed:   /' >&2
	return 1
}

# testbed_log_wait [-F] PATTERN [TIMEOUT]: wait for a syslog line (from
# anything that logged to /dev/log in the bed: pam_syslog, logger, ...).
testbed_log_wait() {
	local f=()
	if [[ ${1:-} == -F ]]; then
		f=(-F)
		shift
	fi
	testbed_file_wait "${f[@]}" "$TESTBED_SYSLOG" "$@"
}

# testbed_log_clear: forget what was logged so far.
testbed_log_clear() {
	: > "$TESTBED_SYSLOG"
}

# --- sshd -----------------------------------------------------------------

_testbed_port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

_testbed_sshd_pid() {
	local pid=''
	[[ -r $TESTBED_DIR/ssh/listener.pid ]] && read -r pid < "$TESTBED_DIR/ssh/listener.pid"
	echo "$pid"
}

# testbed_sshd_config PORT [LINES...]: print the bed's sshd_config. sshd takes
# the first value it sees for a keyword, so extra lines come before the
# defaults; from the first "Match" line on they go at the end (a Match block
# lasts to the end of the file).
_testbed_sshd_config() {
	local port=$1 line in_match=0 pre=() post=()
	shift
	for line; do
		[[ $line =~ ^[[:space:]]*[Mm][Aa][Tt][Cc][Hh][[:space:]] ]] && in_match=1
		if ((in_match)); then post+=("$line"); else pre+=("$line"); fi
	done
	((${#pre[@]})) && printf '%s\n' "# from testbed_sshd_start" "${pre[@]}"
	cat <<-EOF
	# test bed defaults
	Port $port
	ListenAddress 127.0.0.1
	AddressFamily inet
	HostKey $TESTBED_DIR/ssh/host_ed25519
	PidFile $TESTBED_DIR/ssh/sshd.pid
	UsePAM yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PubkeyAuthentication yes
	AuthorizedKeysFile .ssh/authorized_keys
	StrictModes yes
	UseDNS no
	PrintMotd no
	PrintLastLog no
	X11Forwarding no
	MaxStartups 200
	MaxSessions 50
	LoginGraceTime 30
	Subsystem sftp /usr/lib/openssh/sftp-server
	LogLevel VERBOSE
	EOF
	((${#post[@]})) && printf '%s\n' "# from testbed_sshd_start" "${post[@]}"
	return 0
}

# testbed_sshd_start [SSHD_CONFIG-LINES...]: (re)start the bed's sshd on a
# free loopback port; waits until it listens. Sets and exports TESTBED_SSH_PORT.
testbed_sshd_start() {
	local cfg=$TESTBED_DIR/ssh/sshd_config log=$TESTBED_DIR/sshd.log
	local try port pid off i started
	testbed_sshd_stop || return 1
	testbed_check_fixtures || return 1
	[[ -d /run/sshd ]] || install -d -m 0755 /run/sshd
	if [[ ! -e $TESTBED_DIR/ssh/host_ed25519 ]]; then
		ssh-keygen -q -t ed25519 -N '' -C testbed-host -f "$TESTBED_DIR/ssh/host_ed25519" </dev/null ||
			{ _testbed_err "ssh-keygen for the host key failed"; return 1; }
	fi
	for ((try = 0; try < 20; try++)); do
		port=$((20000 + RANDOM % 20000))
		_testbed_port_in_use "$port" && continue
		_testbed_sshd_config "$port" "$@" > "$cfg" || return 1
		if ! /usr/sbin/sshd -t -f "$cfg" 2>"$TESTBED_DIR/sshd-t.log"; then
			_testbed_err "sshd rejects its config ($cfg):"
			sed 's/^/testbed:   /' "$TESTBED_DIR/sshd-t.log" >&2
			return 1
		fi
		touch "$log"
		off=$(stat -c %s "$log")
		# Default signal dispositions: a bash script starts background
		# jobs with SIGINT ignored, and sessions would inherit that.
		env --default-signal /usr/sbin/sshd -D -e -f "$cfg" </dev/null >>"$log" 2>&1 &
		pid=$!
		echo "$pid" > "$TESTBED_DIR/ssh/listener.pid"
		testbed_track "$pid"
		started=0
		for ((i = 0; i < 200; i++)); do
			if tail -c +$((off + 1)) "$log" | grep -qF "Server listening on 127.0.0.1 port $port."; then
				started=1
				break
			fi
			_testbed_alive "$pid" || break
			sleep 0.025
		done
		if ((started)); then
			echo "$port" > "$TESTBED_DIR/ssh/port"
			export TESTBED_SSH_PORT=$port
			return 0
		fi
		testbed_sshd_stop
		if tail -c +$((off + 1)) "$log" | grep -qE 'Address already in use|Cannot bind any address'; then
			continue
		fi
		_testbed_err "sshd did not start; $log says:"
		tail -c +$((off + 1)) "$log" | tail -n 20 | sed 's/^/testbed:   /' >&2
		return 1
	done
	_testbed_err "sshd: no free port found after $try tries"
	return 1
}

# testbed_sshd_stop: stop the listener (sessions already open carry on; the
# bed kills whatever is left when it exits).
testbed_sshd_stop() {
	local pid i
	pid=$(_testbed_sshd_pid)
	rm -f "$TESTBED_DIR/ssh/listener.pid" "$TESTBED_DIR/ssh/port"
	unset TESTBED_SSH_PORT
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		_testbed_alive "$pid" || return 0
		sleep 0.02
	done
	kill -KILL "$pid" 2>/dev/null
	return 0
}

# testbed_ssh [SSH-OPTIONS...] USER [COMMAND...]: log in to the bed's sshd
# as USER with the bed's client key. Options before USER go to ssh (-t, -tt,
# -o X=Y, -s, ...). COMMAND is joined by ssh and parsed by the remote shell.
testbed_ssh() {
	local opts=() port
	while [[ ${1:-} == -* ]]; do
		case $1 in
		-[BbcDEeFIiJLlmOopQRSWw])
			opts+=("$1" "$2")
			shift 2
			;;
		--)
			shift
			break
			;;
		*)
			opts+=("$1")
			shift
			;;
		esac
	done
	local user=${1:-}
	[[ -n $user ]] || { _testbed_err "usage: testbed_ssh [SSH-OPTIONS...] USER [COMMAND...]"; return 2; }
	shift
	[[ -r $TESTBED_DIR/ssh/port ]] || { _testbed_err "sshd is not running (testbed_sshd_start)"; return 1; }
	read -r port < "$TESTBED_DIR/ssh/port"
	ssh -F /dev/null \
		-i "$TESTBED_SSH_KEY" -o IdentitiesOnly=yes -o IdentityAgent=none \
		-o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
		-o UpdateHostKeys=no -o ControlPath=none -o ConnectTimeout=10 \
		-o LogLevel=ERROR -p "$port" -l "$user" "${opts[@]}" 127.0.0.1 "$@"
}
