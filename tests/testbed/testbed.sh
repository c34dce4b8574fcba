#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2317 # functions run from traps look unreachable
#
# testbed.sh - run a command in a hermetic test bed for pam_userns.
#
# usage: testbed.sh [--keep] [--no-pidns] [--no-users] -- COMMAND [ARGS...]
#
# Runs COMMAND (as root) in a private mount namespace (and, by default, a pid
# namespace) where /etc/passwd, shadow, group, gshadow, subuid, subgid,
# nsswitch.conf, /etc/pam.d and /etc/security/userns.conf are fixtures, the
# rest of /etc and /dev are copy-on-write overlays of the host's, /run, /home
# and /var/log are fresh tmpfs, and /dev/log is a socket whose messages land
# in $TESTBED_DIR/syslog. See README.md next to this file.
#
# Exit status: COMMAND's; 125 when the bed itself could not be set up;
# 128+N when the bed was stopped by signal N.

set -u

self=$(readlink -f -- "${BASH_SOURCE[0]}")
srcdir=${self%/*}

die() {
	echo "testbed: $*" >&2
	exit 125
}

usage() {
	cat <<-EOF
	usage: ${0##*/} [OPTIONS] -- COMMAND [ARGS...]

	Run COMMAND as root in a hermetic pam_userns test bed.

	  --keep       keep the scratch directory (\$TESTBED_DIR) for a post-mortem
	  --no-pidns   no pid namespace (bed processes are still killed at exit)
	  --no-users   do not create the default fixture users and groups
	  -h, --help   show this help

	Helpers for COMMAND: . "\$TESTBED_LIB"   (see tests/testbed/README.md)
	EOF
}

# A process is alive when it exists and is not a zombie.
alive() {
	local stat
	kill -0 "$1" 2>/dev/null || return 1
	read -r stat < "/proc/$1/stat" 2>/dev/null || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

signum() {
	case $1 in
	HUP) echo 1 ;;
	INT) echo 2 ;;
	*) echo 15 ;;
	esac
}

# Wait for our child $child_pid, forwarding INT/TERM/HUP to forward_pids()
# and, if it does not stop within $grace seconds of a signal, SIGKILL it.
# Sets child_rc.
got_signal=''
interrupted=0
on_signal() {
	interrupted=1
	[[ -n $got_signal ]] || got_signal=$1
	local pid
	for pid in $(forward_pids); do
		kill -"$1" "$pid" 2>/dev/null
	done
}

wait_child() {
	local grace=$1 i
	interrupted=0
	wait "$child_pid"
	child_rc=$?
	if ((interrupted)); then
		# A trapped signal cut wait short. Do not call wait again: after an
		# interrupted wait, bash may block on a child it already reaped.
		for ((i = 0; i < grace * 10; i++)); do
			alive "$child_pid" || break
			sleep 0.1
		done
		if alive "$child_pid"; then
			kill -KILL "$child_pid" 2>/dev/null
			for ((i = 0; i < 20; i++)); do
				alive "$child_pid" || break
				sleep 0.1
			done
		fi
	fi
	if [[ -n $got_signal ]]; then
		child_rc=$((128 + $(signum "$got_signal")))
	fi
}

# --- outside: make the scratch dir, enter the namespaces, clean up ---------

outer_forward_pids() {
	# The bed's pid 1 is unshare's child; unshare blocks INT and TERM.
	local kids=''
	read -r kids < "/proc/$child_pid/task/$child_pid/children" 2>/dev/null ||
		kids=$(pgrep -P "$child_pid")
	echo "$kids"
}

outer_main() {
	local keep=0 pidns=1 inner_opts=()
	while (($#)); do
		case $1 in
		--keep) keep=1 ;;
		--no-pidns) pidns=0 ;;
		--no-users) inner_opts+=(--no-users) ;;
		-h | --help) usage; exit 0 ;;
		--) shift; break ;;
		*) usage >&2; die "unknown option '$1' (did you forget '--' before the command?)" ;;
		esac
		shift
	done
	(($#)) || { usage >&2; die "no command given"; }
	[[ $EUID -eq 0 ]] || die "must run as root"

	# CI may start us with stdin (or even stdout/stderr) closed; a closed
	# fd 0 would be reused by the first file anything opens.
	{ : <&0; } 2>/dev/null || exec 0</dev/null
	{ : >&1; } 2>/dev/null || exec 1>/dev/null
	: >&2 2>/dev/null || exec 2>/dev/null

	local tool
	for tool in unshare mount env ssh-keygen; do
		command -v "$tool" >/dev/null || die "$tool not found"
	done

	local dir hostns
	dir=$(mktemp -d /tmp/testbed.XXXXXX) || die "cannot create a scratch directory in /tmp"
	chmod 0755 "$dir"
	hostns=$(stat -L -c %i /proc/self/ns/mnt)

	local u=(unshare --mount --propagation private --fork --kill-child)
	((pidns)) && u+=(--pid --mount-proc)

	forward_pids() { outer_forward_pids; }
	trap 'on_signal TERM' TERM
	trap 'on_signal INT' INT
	trap 'on_signal HUP' HUP

	# A non-interactive bash starts background jobs with SIGINT and
	# SIGQUIT ignored; undo that so COMMAND sees normal dispositions.
	env --default-signal=INT,QUIT "${u[@]}" -- \
		"$BASH" "$self" --inner "$dir" "$hostns" "${inner_opts[@]}" -- "$@" <&0 &
	child_pid=$!
	wait_child 10
	if [[ -z $got_signal && ! -e $dir/.running ]]; then
		# unshare itself failed (e.g. EPERM in a container) or died early.
		[[ $child_rc -eq 125 ]] || echo "testbed: the bed did not start (status $child_rc)" >&2
		child_rc=125
	fi

	if ((keep)); then
		echo "testbed: kept $dir" >&2
	else
		rm -rf --one-file-system -- "$dir"
	fi
	exit "$child_rc"
}

# --- inside: build the bed, run COMMAND, kill what is left -----------------

# Overlay DIR with a tmpfs upper layer, keeping the mounts below DIR.
overlay_dir() {
	local dir=$1 name=$2
	local base=$TESTBED_DIR/.private/$name
	local raw p kept=() k skip i=0
	mkdir -p "$base/upper" "$base/work" "$base/stage" || return 1

	while read -r raw; do
		printf -v p '%b' "$raw"
		skip=0
		for k in "${kept[@]}"; do
			[[ $p == "$k"/* ]] && skip=1
		done
		((skip)) || kept+=("$p")
	done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -u)

	for p in "${kept[@]}"; do
		if [[ -d $p ]]; then mkdir "$base/stage/$i"; else : > "$base/stage/$i"; fi
		mount --rbind "$p" "$base/stage/$i" || return 1
		((i++))
	done
	mount -t overlay -o "lowerdir=$dir,upperdir=$base/upper,workdir=$base/work" \
		"testbed-$name" "$dir" || return 1
	i=0
	for p in "${kept[@]}"; do
		mount --move "$base/stage/$i" "$p" || return 1
		((i++))
	done
}

# Make PATH (under an overlay) a plain file or directory we can mount on.
mount_target() {
	local path=$1 kind=$2
	[[ -L $path ]] && rm -f -- "$path"
	mkdir -p -- "${path%/*}" || return 1
	if [[ $kind == dir ]]; then
		[[ -d $path ]] || mkdir -p -- "$path"
	else
		[[ -e $path ]] || : > "$path"
	fi
}

host_line() {
	grep -m1 "^$1:" "$2" 2>/dev/null
}

write_fixtures() {
	local e=$TESTBED_DIR/etc u g line
	install -d -m 0755 "$e" "$e/security" "$e/pam.d" || return 1
	install -d -m 0700 "$TESTBED_DIR/ssh" || return 1

	: > "$e/passwd"
	for u in root daemon bin sys nobody sshd; do
		line=$(host_line "$u" /etc/passwd) || case $u in
			# Synthesise what sshd cannot do without.
			nobody) line='nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' ;;
			sshd) line='sshd:x:199:65534::/run/sshd:/usr/sbin/nologin' ;;
			root) line='root:x:0:0:root:/root:/bin/bash' ;;
			*) continue ;;
		esac
		echo "$line" >> "$e/passwd"
		echo "${line%%:*}:*:::::::" >> "$e/shadow"
	done

	: > "$e/group"
	: > "$e/gshadow"
	for g in root daemon bin sys adm tty disk kmem shadow utmp staff users nogroup; do
		line=$(host_line "$g" /etc/group) || case $g in
			root) line='root:x:0:' ;;
			nogroup) line='nogroup:x:65534:' ;;
			*) continue ;;
		esac
		# Host members do not exist here.
		line=$(cut -d: -f1-3 <<< "$line")
		echo "$line:" >> "$e/group"
		echo "${line%%:*}:*::" >> "$e/gshadow"
	done
	: > "$e/subuid"
	: > "$e/subgid"
	: > "$e/security/userns.conf"
	chmod 0644 "$e/passwd" "$e/group" "$e/subuid" "$e/subgid" "$e/security/userns.conf"
	chmod 0640 "$e/shadow" "$e/gshadow"
	chgrp shadow "$e/shadow" "$e/gshadow" 2>/dev/null

	cat > "$e/nsswitch.conf" <<-EOF
	# pam_userns test bed: local files only, no subid: line (libsubid
	# then reads /etc/subuid and /etc/subgid)
	passwd:         files
	group:          files
	shadow:         files
	gshadow:        files
	hosts:          files
	networks:       files
	protocols:      files
	services:       files
	ethers:         files
	rpc:            files
	netgroup:       files
	EOF

	cp -p /etc/pam.d/common-* /etc/pam.d/other "$e/pam.d/" 2>/dev/null ||
		echo "testbed: warning: the host lacks some of /etc/pam.d/common-*, other" >&2
	printf '%s\n' '@include common-auth' 'account required pam_permit.so' \
		'session required pam_permit.so' > "$e/pam.d/sshd"
	printf '%s\n' 'auth sufficient pam_rootok.so' '@include common-auth' \
		'account required pam_permit.so' 'session required pam_permit.so' > "$e/pam.d/su"
	cp "$e/pam.d/su" "$e/pam.d/su-l"
	cp "$e/pam.d/sshd" "$e/pam.d/login"
	chmod 0644 "$e/pam.d/"*
}

mount_fixtures() {
	local f
	for f in passwd shadow group gshadow subuid subgid nsswitch.conf security/userns.conf; do
		mount_target "/etc/$f" file &&
			mount --bind "$TESTBED_DIR/etc/$f" "/etc/$f" || return 1
	done
	mount_target /etc/pam.d dir &&
		mount --bind "$TESTBED_DIR/etc/pam.d" /etc/pam.d || return 1

	mount -t tmpfs -o mode=0755,nosuid,nodev testbed-run /run || return 1
	install -d -m 0755 /run/sshd && install -d -m 1777 /run/lock &&
		install -m 0664 -g utmp /dev/null /run/utmp || return 1
	mount -t tmpfs -o mode=0755,nosuid,nodev testbed-home /home || return 1
	# sshd, login and su write wtmp, btmp and lastlog: keep them off the host.
	mount -t tmpfs -o mode=0755,nosuid,nodev testbed-log /var/log || return 1
	install -m 0664 -g utmp /dev/null /var/log/wtmp &&
		install -m 0664 -g utmp /dev/null /var/log/lastlog &&
		install -m 0660 -g utmp /dev/null /var/log/btmp &&
		install -m 0644 /dev/null /var/log/faillog
}

start_logcatcher() {
	local lc=${TESTBED_LOGCATCHER:-} i pid
	if [[ -z $lc ]]; then
		# On our own tmpfs: /tmp may be noexec.
		lc=$TESTBED_DIR/.private/logcatcher
		cc -O2 -Wall -Wextra -o "$lc" "$srcdir/logcatcher.c" ||
			{ echo "testbed: cannot build $srcdir/logcatcher.c (set TESTBED_LOGCATCHER to a built one)" >&2; return 1; }
	elif [[ ! -x $lc ]]; then
		echo "testbed: TESTBED_LOGCATCHER=$lc is not executable" >&2
		return 1
	fi
	"$lc" "$TESTBED_DIR/devlog" "$TESTBED_SYSLOG" </dev/null >>"$TESTBED_DIR/logcatcher.log" 2>&1 &
	pid=$!
	echo "$pid" >> "$TESTBED_DIR/pids"
	for ((i = 0; i < 200; i++)); do
		[[ -S $TESTBED_DIR/devlog ]] && break
		alive "$pid" || break
		sleep 0.01
	done
	if [[ ! -S $TESTBED_DIR/devlog ]]; then
		echo "testbed: logcatcher did not start:" >&2
		cat "$TESTBED_DIR/logcatcher.log" >&2
		return 1
	fi
	# /dev is an overlay, so this does not touch the host's /dev (where
	# /dev/log may be missing, a socket, or a symlink into /run).
	mount_target /dev/log file &&
		mount --bind "$TESTBED_DIR/devlog" /dev/log
}

add_default_users() {
	testbed_add_user -S 200000:65536 alice 2001 &&
		testbed_add_user -S 300000:65536 bob 2002 &&
		testbed_add_user carol 2003 &&
		testbed_add_group sandboxed 3000 &&
		testbed_add_user -G sandboxed -S 400000:65536 dave 2004
}

# Kill everything else in our mount namespace: with a pid namespace that is
# everything in it; without, it still finds what escaped our bookkeeping.
kill_bed_processes() {
	local pid p i left
	if [[ -r $TESTBED_DIR/pids ]]; then
		while read -r pid; do
			kill -TERM "$pid" 2>/dev/null
		done < "$TESTBED_DIR/pids"
	fi
	for ((i = 0; i < 40; i++)); do
		left=0
		for p in /proc/[0-9]*; do
			pid=${p#/proc/}
			((pid == $$ || pid == PPID || pid == BASHPID)) && continue
			[[ $p/ns/mnt -ef /proc/$$/ns/mnt ]] || continue
			alive "$pid" || continue
			left=1
			if ((i < 20)); then
				kill -TERM "$pid" 2>/dev/null
			else
				kill -KILL "$pid" 2>/dev/null
			fi
		done
		((left)) || return 0
		sleep 0.05
	done
	echo "testbed: warning: could not kill every bed process" >&2
}

inner_cleanup() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM HUP
	kill_bed_processes
	if [[ -n ${TESTBED_LIB_LOADED:-} ]]; then
		testbed_check_fixtures 2>&1 | sed 's/^testbed: /testbed: warning: /' >&2
	fi
	exit "$rc"
}

inner_main() {
	if [[ -n ${TESTBED_XTRACE:-} ]]; then
		exec {xfd}>>"$TESTBED_XTRACE" || die "cannot open TESTBED_XTRACE=$TESTBED_XTRACE"
		BASH_XTRACEFD=$xfd
		set -x
	fi
	local dir=$1 hostns=$2 users=1
	shift 2
	while (($#)); do
		case $1 in
		--no-users) users=0 ;;
		--) shift; break ;;
		esac
		shift
	done

	# Never mount over the host's /etc: this must be a new mount namespace.
	[[ $(stat -L -c %i /proc/self/ns/mnt) != "$hostns" ]] ||
		die "refusing to run: not in a private mount namespace"
	mount --make-rprivate / || die "cannot make / private"

	export TESTBED_DIR=$dir
	export TESTBED_SYSLOG=$dir/syslog
	export TESTBED_SSH_KEY=$dir/ssh/client_ed25519
	export TESTBED_LIB=$srcdir/lib.sh
	export TESTBED_SRCDIR=$srcdir

	trap inner_cleanup EXIT
	local old_umask
	old_umask=$(umask)
	umask 022

	if ! install -d -m 0700 "$dir/.private" ||
		! mount -t tmpfs -o mode=0700 testbed-private "$dir/.private"; then
		die "cannot mount a tmpfs on $dir/.private"
	fi
	overlay_dir /etc etc || die "cannot overlay /etc (is overlayfs available?)"
	overlay_dir /dev dev || die "cannot overlay /dev (is overlayfs available?)"
	write_fixtures || die "cannot write the fixtures"
	mount_fixtures || die "cannot mount the fixtures"
	: > "$TESTBED_SYSLOG"
	start_logcatcher || die "cannot start the /dev/log catcher"
	ssh-keygen -q -t ed25519 -N '' -C testbed-client -f "$TESTBED_SSH_KEY" </dev/null >/dev/null ||
		die "ssh-keygen failed"

	# shellcheck source-path=SCRIPTDIR source=lib.sh
	. "$TESTBED_LIB" || die "cannot load $TESTBED_LIB"
	TESTBED_LIB_LOADED=1
	if ((users)); then
		add_default_users || die "cannot create the fixture users"
	fi
	umask "$old_umask"

	forward_pids() { echo "$child_pid"; }
	trap 'on_signal TERM' TERM
	trap 'on_signal INT' INT
	trap 'on_signal HUP' HUP
	: > "$TESTBED_DIR/.running"
	# The trace fd (TESTBED_XTRACE) must not leak into COMMAND.
	if [[ -n ${xfd:-} ]]; then
		env --default-signal=INT,QUIT -- "$@" <&0 {xfd}>&- &
	else
		env --default-signal=INT,QUIT -- "$@" <&0 &
	fi
	child_pid=$!
	wait_child 5
	exit "$child_rc"
}

if [[ ${1:-} == --inner ]]; then
	shift
	inner_main "$@"
else
	outer_main "$@"
fi
