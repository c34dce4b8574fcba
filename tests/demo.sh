#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tests/demo.sh: the README's first command. On a Debian 12 machine, as root:
#
#     bash tests/demo.sh          (or: sudo ./tests/demo.sh)
#
# 1. installs the Debian packages the build and the demo need, if missing
#    (apt-get, quiet; services the packages ship are not started);
# 2. builds pam_userns in build-demo/ (autogen.sh first if there is no
#    ./configure; the in-tree build instead if the tree is configured in-tree);
# 3. brings up the hermetic test bed (tests/testbed/testbed.sh: a private
#    mount namespace with fixture users, PAM services and a syslog catcher;
#    the host's /etc is not touched), with sshd on a loopback port,
#    pam_userns in its session stack and userns-shell as alice's login shell;
# 4. logs alice in over real ssh and shows what she sees inside her user
#    namespace, what the host sees, and pam_userns's syslog lines;
# 5. tears everything down: the bed (sshd, mounts, fixtures, scratch files)
#    and build-demo/ (DEMO_KEEP_BUILD=1 keeps it).
#
# Exit status 0 when alice was root in her namespace, else non-zero.

set -u
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
srcdir=$(cd "$(dirname "$0")/.." && pwd)

if [[ -t 1 ]]; then
	say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	say() { printf '\n== %s\n' "$*"; }
fi
die() { echo "demo: $*" >&2; exit 1; }

# --- inside the bed ------------------------------------------------------------

inside() {
	local module=$1 shell=$2 d=/run/userns-demo
	# The bed's /run is its own tmpfs: copies there are reachable and
	# executable by alice whatever the checkout's directories and /tmp are.
	install -d -m 0755 "$d" &&
		install -m 0755 "$shell" "$d/userns-shell" &&
		install -m 0644 "$module" "$d/pam_userns.so" || die "cannot copy the build into the bed"
	export PAM_USERNS_MODULE=$d/pam_userns.so USERNS_SHELL=$d/userns-shell
	# shellcheck source=clients/lib-sshd.sh
	. "$srcdir/tests/clients/lib-sshd.sh" || exit 1
	sshd_lib_init

	testbed_userns_conf <<-EOF
		[default]
		enable = no

		[user:alice]
		enable = yes
	EOF
	sshd_pam_stack conf=/etc/security/userns.conf
	testbed_set_shell alice "$USERNS_SHELL"
	testbed_sshd_start >/dev/null || die "sshd did not start"

	say "The test bed"
	cat <<-EOF
	user alice:   $(getent passwd alice)
	/etc/subuid:  $(grep '^alice:' /etc/subuid)
	/etc/subgid:  $(grep '^alice:' /etc/subgid)
	userns.conf:  [user:alice] enable = yes
	PAM:          $(grep pam_userns /etc/pam.d/sshd)
	sshd:         127.0.0.1 port $(cat "$TESTBED_DIR/ssh/port"), key login
	EOF

	say "alice logs in: ssh alice@127.0.0.1, and in her session runs:"
	# Each command is shown as she would type it, then its output.
	local remote out rc
	remote='for c in id "cat /proc/self/uid_map" "cat /proc/self/gid_map" \
		"cd && rm -f f && touch f && chown 1000:1000 f && ls -ln f"; do
		printf "root@inside:~# %s\n" "$c"; eval "$c"; done'
	out=$(u_ssh alice "$remote" </dev/null 2>&1)
	rc=$?
	printf '%s\n' "$out"

	say "Outside her namespace (root on the host side of the bed)"
	echo "# id alice"
	id alice
	echo "# stat -c '%u:%g %n' /home/alice/f"
	stat -c '%u:%g %n' /home/alice/f
	echo "(inside 1000 = host 200000 + 1000 - 1: her subordinate range, not a host user)"

	# sshd closes the PAM session after the connection ends.
	log_wait_since 0 'pam_userns\(sshd:session\): user namespace .* removed' 10 >/dev/null
	say "pam_userns's syslog lines (authpriv)"
	grep -F 'pam_userns(' "$TESTBED_SYSLOG" | sed -E 's/^<[0-9]+>//'

	if ((rc == 0)) && [[ $out == *'uid=0(root) gid=0(root)'* ]] &&
		[[ $(stat -c %u:%g /home/alice/f) == 200999:200999 ]]; then
		return 0
	fi
	echo "demo: something went wrong (ssh exit status $rc); sshd's log:" >&2
	tail -n 20 "$TESTBED_DIR/sshd.log" >&2
	return 1
}

if [[ ${1:-} == --inside ]]; then
	shift
	inside "$@"
	exit $?
fi

# --- outside: packages, build, the bed ----------------------------------------------

[[ $EUID -eq 0 ]] || die "run as root: sudo bash tests/demo.sh"
[[ -r /etc/debian_version ]] || echo "demo: warning: not Debian; the package step is skipped" >&2

log=$(mktemp /tmp/pam_userns-demo.XXXXXX.log) || die "cannot create a log file"
keep_log=0
policy_rc=''
cleanup() {
	[[ -n $policy_rc ]] && rm -f "$policy_rc"
	((keep_log)) || rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# Step output goes to the log; on failure show its tail and keep it.
run() {
	if ! "$@" >>"$log" 2>&1; then
		keep_log=1
		echo "demo: failed: $*" >&2
		tail -n 30 "$log" >&2
		echo "demo: the full log is $log" >&2
		exit 1
	fi
}

packages=(build-essential autoconf automake libtool pkg-config
	libpam0g-dev libeconf-dev libsubid-dev
	openssh-server openssh-client util-linux coreutils findutils)
if command -v dpkg-query >/dev/null; then
	missing=()
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if ((${#missing[@]})); then
		say "Installing ${missing[*]}"
		# Do not start the daemons these packages ship (a system sshd
		# on port 22): the demo runs its own, in the bed.
		if [[ ! -e /usr/sbin/policy-rc.d ]]; then
			policy_rc=/usr/sbin/policy-rc.d
			printf '#!/bin/sh\nexit 101\n' > "$policy_rc" && chmod 0755 "$policy_rc"
		fi
		export DEBIAN_FRONTEND=noninteractive
		run apt-get -q update
		run apt-get -q install -y --no-install-recommends "${missing[@]}"
		[[ -n $policy_rc ]] && rm -f "$policy_rc"
		policy_rc=''
	fi
fi

say "Building"
cd "$srcdir" || die "cannot cd to $srcdir"
if [[ -e $srcdir/config.status ]]; then
	# Configured in-tree: a second, VPATH build of the same tree is refused
	# by configure; use that build.
	build=$srcdir
	own_build=0
else
	build=$srcdir/build-demo
	own_build=1
	if [[ ! -x $srcdir/configure ]]; then
		run ./autogen.sh
	fi
	mkdir -p "$build" || die "cannot create $build"
fi
cd "$build" || exit 1
if [[ ! -e Makefile ]]; then
	run "$srcdir/configure" --prefix=/usr --sysconfdir=/etc
fi
run make -j"$(nproc 2>/dev/null || echo 2)" pam_userns.la userns-shell
echo "built in $build: .libs/pam_userns.so, userns-shell"
module=$build/.libs/pam_userns.so
ushell=$build/userns-shell
[[ -e $module && -x $ushell ]] || die "the build did not produce $module and $ushell"

# Anything in /etc changed from here on would be the demo's doing.
marker=$(mktemp /tmp/pam_userns-demo.XXXXXX.stamp) || die "cannot create a stamp file"
"$srcdir/tests/testbed/testbed.sh" -- "$BASH" "$self" --inside "$module" "$ushell"
rc=$?

say "Torn down"
echo "test bed: gone (its sshd, mounts, fixture users and scratch directory)"
changed=$(find /etc -xdev -newer "$marker" 2>/dev/null | head -n 5)
rm -f "$marker"
if [[ -z $changed ]]; then
	echo "host /etc: unchanged"
else
	echo "host /etc: changed during the demo (by the demo or something else):"
	printf '  %s\n' "$changed"
fi
if ((own_build)); then
	if [[ -n ${DEMO_KEEP_BUILD:-} ]]; then
		echo "build: kept in $build (DEMO_KEEP_BUILD is set)"
	else
		rm -rf --one-file-system -- "$build"
		echo "build: $build removed (DEMO_KEEP_BUILD=1 keeps it)"
	fi
fi
if ((rc != 0)); then
	echo "demo: failed (status $rc)" >&2
	exit "$rc"
fi
