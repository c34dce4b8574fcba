#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# sshd-scale.sh: sessions at scale through the real sshd (issue 4).
#  1. 100 concurrent logins of alice, dave (ForceCommand) and erin, with
#     scope = session, all held open at once: each is root in a namespace
#     of its own (100 distinct ns inodes, 100 pins, --list shows 100);
#     after they end, all pins are gone and no process is left.
#  2. scope = user for alice: 30 concurrent alice logins (and 10 of dave
#     alongside, scope = session) held open at once share one namespace;
#     one "created", the rest "joined"; the last logout removes it.
#  3. kill -9 of alice's sshd monitor ("sshd: alice [priv]") during a
#     session: the pin stays (stale); her next login works and removes it
#     ("removed 1 stale namespace pin(s) of alice").
#  4. kill_on_logout: a process left running inside survives the logout
#     with "no" (and still is uid 0), is killed by it with "yes".
#  5. SSHD_LOGINS (default 20) sequential logins: no growth in mounts,
#     processes or files in /run/pam_userns (sshd-soak.sh runs 1,000).
#
# The sessions are held open by a fifo barrier (each remote command
# blocks reading stdin until the test closes the fifo), never by sleeps.
# Runs itself inside tests/testbed/testbed.sh; needs root.
# shellcheck disable=SC2016 # remote commands are single-quoted on purpose
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source-path=SCRIPTDIR source=lib-sshd.sh
. "$(dirname "$0")/lib-sshd.sh" || exit 1
sshd_lib_init "$@"

W=$SSHD_WORK
N=${SSHD_CONCURRENT:-100}
NUSER=${SSHD_SHARED:-30}
sshd_check_shell_reachable || { fail "userns-shell reachable by the fixture users"; sshd_finish; }
testbed_add_user -S 500000:65536 erin 2005 || { fail "add the fixture user erin"; sshd_finish; }
sshd_pam_stack conf=/etc/security/userns.conf
conf() {
	testbed_userns_conf <<-EOF
		[default]
		enable = no

		[group:sandboxed]
		enable = yes

		[user:alice]
		enable = yes
		scope = $1
		kill_on_logout = ${2:-no}

		[user:erin]
		enable = yes
	EOF
}
conf session
testbed_set_shell alice "$USERNS_SHELL"
testbed_set_shell erin "$USERNS_SHELL"
testbed_set_shell dave /bin/bash
testbed_sshd_start 'LoginGraceTime 300' 'Match Group sandboxed' "	ForceCommand $USERNS_SHELL" ||
	{ fail "sshd starts"; sshd_finish; }

# hold_start TAG USER...: start one held login per USER, in the background.
# Each prints "id -u" and its ns, then blocks until release. Sets HELD_PIDS.
hold_start() {
	local tag=$1 i=0 u
	shift
	rm -f "$W/$tag".* "$W/$tag.fifo"
	mkfifo "$W/$tag.fifo"
	exec 8<>"$W/$tag.fifo"
	HELD_PIDS=()
	ALL_IN_DONE=0
	for u; do
		# Held for as long as it takes all of them to log in.
		SSHD_CLIENT_TIMEOUT=300 u_ssh "$u" 'id -u; readlink /proc/self/ns/user; read -r _; exit 0' \
			<"$W/$tag.fifo" >"$W/$tag.$i" 2>&1 8>&- &
		HELD_PIDS+=($!)
		i=$((i + 1))
	done
}

# All started logins printed their two lines, or one of them is already
# gone. Remembers how far it got (ALL_IN_DONE), and forks nothing: it is
# polled while 100 logins compete for two cores.
_all_in() {
	local tag=$1 n=$2 lines
	while ((ALL_IN_DONE < n)); do
		mapfile -t lines 2>/dev/null < "$W/$tag.$ALL_IN_DONE"
		if ((${#lines[@]} < 2)); then
			kill -0 "${HELD_PIDS[$ALL_IN_DONE]}" 2>/dev/null || return 0
			return 1
		fi
		ALL_IN_DONE=$((ALL_IN_DONE + 1))
	done
}

# hold_release: close the barrier, wait for every client; sets HELD_RC (a
# list of exit statuses).
hold_release() {
	local p
	exec 8>&-
	HELD_RC=()
	for p in "${HELD_PIDS[@]}"; do
		wait "$p"
		HELD_RC+=($?)
	done
}

count() {
	grep -c -e "$1" || true
}

# --- 1. 100 concurrent logins, scope = session ------------------------------------
users=()
for ((i = 0; i < N; i++)); do
	case $((i % 3)) in
	0) users+=(alice) ;;
	1) users+=(dave) ;;
	2) users+=(erin) ;;
	esac
done
off=$(log_size)
t0=$SECONDS
hold_start s "${users[@]}"
wait_until 120 _all_in s "$N"
t_in=$((SECONDS - t0))
pins_held=$(find /run/pam_userns -mindepth 2 -name '*.ns' | wc -l)
listed=$("$USERNS_SHELL" --list --json 2>&1 | grep -c '"scope":"session"')
hold_release
t_all=$((SECONDS - t0))

bad=() inos=()
for ((i = 0; i < N; i++)); do
	out=$(cat "$W/s.$i")
	if [[ ${HELD_RC[$i]} != 0 || $(sed -n 1p <<< "$out") != 0 || $(sed -n 2p <<< "$out") != user:* ]]; then
		bad+=("login $i (${users[$i]}): rc ${HELD_RC[$i]}: $(tr '\n' ' ' <<< "$out")")
	else
		inos+=("$(sed -n 2p <<< "$out")")
	fi
done
if ((${#bad[@]} == 0)); then
	pass "$N concurrent logins (alice, dave by ForceCommand, erin): all exit 0 and print uid 0 (all in after ${t_in}s, done after ${t_all}s)"
else
	fail "$N concurrent logins: all exit 0 and print uid 0" "${#bad[@]} bad:" "$(printf '%s\n' "${bad[@]}")"
fi
distinct=$(printf '%s\n' "${inos[@]}" | sort -u | grep -vxF "$HOST_USERNS" | wc -l)
check_eq "$N concurrent logins held at once: $N distinct user namespaces, none the host's" "$N" "$distinct"
check_eq "while held: $N pins in /run/pam_userns" "$N" "$pins_held"
check_eq "while held: userns-shell --list --json shows $N sessions" "$N" "$listed"
created=$(log_since "$off" | count 'pam_userns(sshd:session): user namespace created for')
check_eq "syslog: $N 'created' lines" "$N" "$created"
wait_until 30 _log_count_ge "$off" 'pam_userns(sshd:session): user namespace /run/pam_userns/.* removed' "$N"
check_clean "after the $N logins"
removed=$(log_since "$off" | count 'pam_userns(sshd:session): user namespace /run/pam_userns/.* removed')
check_eq "syslog: $N 'removed' lines" "$N" "$removed"

# --- 2. scope = user: alice's concurrent logins share one namespace -----------------------
conf user
users=()
for ((i = 0; i < NUSER; i++)); do users+=(alice); done
for ((i = 0; i < 10; i++)); do users+=(dave); done
off=$(log_size)
hold_start u "${users[@]}"
wait_until 120 _all_in u "${#users[@]}"
alice_pins=$(pins_of 2001)
hold_release

alice_ns=() dave_ns=() bad=()
for ((i = 0; i < ${#users[@]}; i++)); do
	out=$(cat "$W/u.$i")
	if [[ ${HELD_RC[$i]} != 0 || $(sed -n 1p <<< "$out") != 0 ]]; then
		bad+=("login $i (${users[$i]}): rc ${HELD_RC[$i]}: $(tr '\n' ' ' <<< "$out")")
	elif [[ ${users[$i]} == alice ]]; then
		alice_ns+=("$(sed -n 2p <<< "$out")")
	else
		dave_ns+=("$(sed -n 2p <<< "$out")")
	fi
done
if ((${#bad[@]} == 0)); then
	pass "scope = user: $NUSER alice + 10 dave concurrent logins all exit 0 as uid 0"
else
	fail "scope = user: all logins exit 0 as uid 0" "$(printf '%s\n' "${bad[@]}")"
fi
shared=$(printf '%s\n' "${alice_ns[@]}" | sort -u)
if [[ $(wc -l <<< "$shared") == 1 && $shared == user:* && $shared != "$HOST_USERNS" ]]; then
	pass "scope = user: the $NUSER overlapping alice logins share one namespace ($shared)"
else
	fail "scope = user: the $NUSER overlapping alice logins share one namespace" "$shared"
fi
check_eq "scope = user: one pin for alice while held, user.ns" /run/pam_userns/2001/user.ns "$alice_pins"
dave_distinct=$(printf '%s\n' "${dave_ns[@]}" | sort -u | grep -vxF "$shared" | wc -l)
check_eq "scope = session for dave alongside: 10 namespaces of his own" 10 "$dave_distinct"
check_eq "syslog: alice's shared namespace created once" 1 \
	"$(log_since "$off" | count 'user namespace created for alice (uid 2001): /run/pam_userns/2001/user.ns')"
check_eq "syslog: and joined $((NUSER - 1)) times" $((NUSER - 1)) \
	"$(log_since "$off" | count 'user namespace joined for alice (uid 2001): /run/pam_userns/2001/user.ns')"
check_clean "after the scope = user logins"
check_eq "syslog: the last logout removed it, once" 1 \
	"$(log_since "$off" | count 'user namespace /run/pam_userns/2001/user.ns removed')"
check_eq "syslog: the others kept it" $((NUSER - 1)) \
	"$(log_since "$off" | count 'user namespace /run/pam_userns/2001/user.ns kept: other sessions still use it')"

# --- 3. kill -9 of the sshd monitor during a session -------------------------------------------
conf session
monitors() {
	pgrep -x -f 'sshd: alice \[priv\]'
}
hold_start k alice
wait_until 30 _all_in k 1
stale_pin=$(pins_of 2001)
mon=$(monitors)
check_match "a held alice session: one pin, one monitor (pid $mon)" '^[0-9]+$' "$mon" "pin: $stale_pin" "$(session_procs)"
if [[ $mon =~ ^[0-9]+$ ]]; then
	kill -KILL "$mon"
	wait_until 10 eval '! kill -0 '"$mon"' 2>/dev/null'
fi
hold_release
check_match "the client ends once the monitor is killed (exit status ${HELD_RC[0]})" '^[0-9]+$' "${HELD_RC[0]}"
# Its processes go away by themselves (the user's sshd child loses its
# monitor, the shell its input); the pin stays: nobody closed the session.
if wait_until 20 no_user_procs; then
	pass "after kill -9 of the monitor: the session's processes are gone"
else
	fail "after kill -9 of the monitor: the session's processes are gone" "$(user_procs)"
fi
if [[ -n $stale_pin && -e $stale_pin ]]; then
	pass "after kill -9 of the monitor: its pin is left behind (stale)"
else
	fail "after kill -9 of the monitor: its pin is left behind (stale)" "pin '$stale_pin'" "$(ls -la /run/pam_userns/2001)"
fi
off=$(log_size)
out=$(u_ssh alice 'id -u; echo "$PAM_USERNS_PIN"' </dev/null 2>&1)
check_eq "the next alice login works (uid 0)" 0 "$(sed -n 1p <<< "$out")" "$out"
new_pin=$(sed -n 2p <<< "$out")
if [[ -n $stale_pin && ! -e $stale_pin && $new_pin != "$stale_pin" ]]; then
	pass "the next login removed the stale pin"
else
	fail "the next login removed the stale pin" "stale $stale_pin, new $new_pin" "$(ls -la /run/pam_userns/2001)"
fi
if log_wait_since "$off" 'pam_userns\(sshd:session\): removed 1 stale namespace pin\(s\) of alice' 10; then
	pass "syslog: removed 1 stale namespace pin(s) of alice"
else
	fail "syslog: removed 1 stale namespace pin(s) of alice" "$(log_since "$off")"
fi
check_clean "after the crash"

# --- 4. kill_on_logout, with a process left running inside --------------------------------
# alice starts a detached process that blocks opening a fifo, then logs
# out. With "no" it survives the logout and, once the fifo is opened,
# still finds itself uid 0; with "yes" the logout kills it.
mkfifo -m 0666 "$W/kol.fifo"
for kol in no yes; do
	conf session "$kol"
	rm -f /home/alice/kol.out
	# The session waits, on a fifo, for the process to report its pid:
	# with "yes" a logout before that would kill it unseen.
	remote='rm -f ~/kol.ready && mkfifo ~/kol.ready &&
		setsid -f sh -c '"'"'echo $$ > ~/kol.ready; read x < FIFO; id -u > ~/kol.out'"'"' \
			</dev/null >/dev/null 2>&1
		cat ~/kol.ready; rm -f ~/kol.ready; echo "$PAM_USERNS_PIN"'
	out=$(u_ssh alice "${remote//FIFO/$W/kol.fifo}" </dev/null 2>&1)
	kpid=$(sed -n 1p <<< "$out")
	kpin=$(sed -n 2p <<< "$out")
	if ! [[ $kpid =~ ^[0-9]+$ && $kpin == /run/pam_userns/2001/*.ns ]]; then
		fail "kill_on_logout = $kol: a process started inside" "$out" "pid '$kpid'"
		continue
	fi
	# The logout: sshd's monitor closes the session (with "yes", kills
	# first, then unpins).
	wait_until 10 test ! -e "$kpin"
	if [[ $kol == no ]]; then
		if [[ -e $kpin ]]; then
			fail "kill_on_logout = no: the logout removes the pin" "$(ls -la /run/pam_userns/2001)"
		elif kill -0 "$kpid" 2>/dev/null; then
			timeout 10 sh -c 'echo go > "$1"' sh "$W/kol.fifo"
			wait_until 10 test -s /home/alice/kol.out
			check_eq "kill_on_logout = no: the process survives the logout (pin gone) and still is uid 0" \
				0 "$(cat /home/alice/kol.out 2>&1)"
		else
			fail "kill_on_logout = no: the process survives the logout" "pid $kpid is gone"
		fi
	else
		if wait_until 10 eval '! kill -0 '"$kpid"' 2>/dev/null' && [[ ! -e $kpin ]]; then
			pass "kill_on_logout = yes: the logout killed the process left inside and removed the pin"
		else
			fail "kill_on_logout = yes: the logout killed the process left inside" \
				"$(ps -o pid,user,args -p "$kpid" 2>&1)" "$(ls -la /run/pam_userns/2001)"
			kill -KILL "$kpid" 2>/dev/null
		fi
	fi
done
conf session
check_clean "after kill_on_logout"

# --- 5. sequential logins: no growth ------------------------------------------------------
sshd_no_growth "${SSHD_LOGINS:-20}" alice dave erin
sshd_finish
