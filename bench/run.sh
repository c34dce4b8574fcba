#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/run.sh - the pam_userns benchmark (issue 5), in the test bed.
#
# usage: bench/run.sh [ITEM...]      (make bench runs it with the build's paths)
#
#   items: core breakdown entry caller ssh scale users users-nscd
#          (default: all, in that order; users-nscd only when nscd is there)
#   BENCH_QUICK=1       about 30 s instead of a few minutes
#   BENCH_NSCD          an nscd binary for users-nscd (default: nscd on PATH)
#   BENCH_MODULE_B      a second pam_userns.so: item core measures it too
#   PAM_USERNS_MODULE   the built module (default: build/.libs/pam_userns.so)
#   USERNS_SHELL        the built entry shell (default: build/userns-shell)
#   BENCH_BIN           the built benchmark (default: build/bench/pam_userns_bench)
#
# Never touches the host's /etc: it re-runs itself inside
# tests/testbed/testbed.sh, whose fixtures it may rewrite.

set -u

self=$(readlink -f -- "${BASH_SOURCE[0]}")
benchdir=${self%/*}
srcdir=${benchdir%/*}
: "${PAM_USERNS_MODULE:=$srcdir/build/.libs/pam_userns.so}"
: "${USERNS_SHELL:=$srcdir/build/userns-shell}"
: "${BENCH_BIN:=$srcdir/build/bench/pam_userns_bench}"
export PAM_USERNS_MODULE USERNS_SHELL BENCH_BIN

all_items=(core breakdown entry caller ssh scale users users-nscd)
: "${BENCH_NSCD:=$(command -v nscd 2>/dev/null || { [[ -x /usr/sbin/nscd ]] && echo /usr/sbin/nscd; })}"

if [[ -z ${TESTBED_DIR:-} ]]; then
	for f in "$PAM_USERNS_MODULE" "$USERNS_SHELL" "$BENCH_BIN"; do
		[[ -e $f ]] || { echo "bench: $f not found: build first (make), or set its variable" >&2; exit 1; }
	done
	for tool in unshare newuidmap newgidmap ssh sshd; do
		command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] ||
			{ echo "bench: $tool not found (see bench/README.md for the packages)" >&2; exit 1; }
	done
	[[ $EUID -eq 0 ]] || { echo "bench: must run as root (it runs in a private test bed)" >&2; exit 1; }
	exec "$srcdir/tests/testbed/testbed.sh" -- "$BASH" "$self" "$@"
fi

# shellcheck source=../tests/testbed/lib.sh
. "$TESTBED_LIB" || exit 1

(($#)) || set -- "${all_items[@]}"

# nscd in the bed (its socket lives in the bed's /run): passwd and group
# lookups from its cache, nothing persistent, nothing on the host.
nscd_start() {
	local conf=$TESTBED_DIR/nscd.conf db i
	[[ -n $BENCH_NSCD && -x $BENCH_NSCD ]] || return 1
	{
		echo "	server-user	root"
		for db in passwd group; do
			printf '\t%s\t%s\t%s\n' enable-cache "$db" yes positive-time-to-live "$db" 600 \
				negative-time-to-live "$db" 20 check-files "$db" yes persistent "$db" no \
				shared "$db" yes
		done
		for db in hosts services netgroup; do
			printf '\tenable-cache\t%s\tno\n' "$db"
		done
	} > "$conf"
	install -d -m 0755 /run/nscd
	"$BENCH_NSCD" -f "$conf" || return 1
	for ((i = 0; i < 100; i++)); do
		[[ -S /run/nscd/socket ]] && return 0
		sleep 0.05
	done
	return 1
}

nscd_stop() {
	local pid=''
	[[ -r /run/nscd/nscd.pid ]] && read -r pid < /run/nscd/nscd.pid
	[[ -n $pid ]] && kill "$pid" 2>/dev/null
	rm -f /run/nscd/socket
}

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "pam_userns benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo "machine: $(nproc) CPUs, ${model:-unknown CPU}, kernel $(uname -r), $(awk '/^MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
echo "userland: $(. /etc/os-release && echo "$PRETTY_NAME"), libpam $(dpkg-query -W -f '${Version}' libpam0g 2>/dev/null || echo '?'), $(ssh -V 2>&1)"
echo "bench: commit $(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo '?') of $srcdir; module $PAM_USERNS_MODULE${BENCH_MODULE_B:+; module B $BENCH_MODULE_B}"
if [[ ${BENCH_QUICK:-0} != 0 ]]; then mode="quick (BENCH_QUICK=$BENCH_QUICK)"; else mode=full; fi
echo "mode: $mode; timings are in-process CLOCK_MONOTONIC; ratio = ratio of medians"

start=$(date +%s)
rc=0
for item in "$@"; do
	run=$item
	case $item in
	ssh)
		if ! testbed_sshd_start >/dev/null; then
			echo "bench: cannot start the bed's sshd; skipping item 5" >&2
			rc=1
			continue
		fi
		;;
	users-nscd)
		if ! nscd_start; then
			echo
			echo "== 7 (nscd): skipped: no nscd (install it, or set BENCH_NSCD) =="
			continue
		fi
		run=users
		;;
	esac
	echo
	echo "[$item: load average $(cut -d' ' -f1-3 /proc/loadavg) before]"
	"$BENCH_BIN" "$run" || { echo "bench: item $item failed" >&2; rc=1; }
	case $item in
	ssh) testbed_sshd_stop ;;
	users-nscd) nscd_stop ;;
	esac
done
echo
echo "total time: $(($(date +%s) - start)) s"
exit $rc
