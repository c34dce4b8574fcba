#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/run.sh - the pam_userns benchmark (issue 5), in the test bed.
#
# usage: bench/run.sh [ITEM...]      (make bench runs it with the build's paths)
#
#   items: core breakdown entry caller ssh scale users (default: all, in order)
#   BENCH_QUICK=1       about 30 s instead of a few minutes
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

all_items=(core breakdown entry caller ssh scale users)

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

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "pam_userns benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo "machine: $(nproc) CPUs, ${model:-unknown CPU}, kernel $(uname -r), $(awk '/^MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
echo "userland: $(. /etc/os-release && echo "$PRETTY_NAME"), libpam $(dpkg-query -W -f '${Version}' libpam0g 2>/dev/null || echo '?'), $(ssh -V 2>&1)"
echo "commit: $(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$srcdir" diff --quiet HEAD -- pam_userns 2>/dev/null || echo ' (pam_userns/ modified in the work tree)')"
if [[ ${BENCH_QUICK:-0} != 0 ]]; then mode="quick (BENCH_QUICK=$BENCH_QUICK)"; else mode=full; fi
echo "mode: $mode; timings are in-process CLOCK_MONOTONIC; ratio = ratio of medians"

start=$(date +%s)
rc=0
for item in "$@"; do
	if [[ $item == ssh ]]; then
		if ! testbed_sshd_start >/dev/null; then
			echo "bench: cannot start the bed's sshd; skipping item 5" >&2
			rc=1
			continue
		fi
	fi
	"$BENCH_BIN" "$item" || { echo "bench: item $item failed" >&2; rc=1; }
	[[ $item == ssh ]] && testbed_sshd_stop
done
echo
echo "total time: $(($(date +%s) - start)) s"
exit $rc
