#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# sshd-forcecommand.sh: the second deployment mode. dave keeps his ordinary
# shell (/bin/bash); sshd forces userns-shell on the group sandboxed
# (Match Group sandboxed + ForceCommand), and [group:sandboxed] enables
# pam_userns. dave: commands, the maps, an interactive pty session, exit
# status, stdin, sftp through both sftp-server and internal-sftp, scp
# both protocols. alice (not in the group) gets no ForceCommand.
#
# Runs itself inside tests/testbed/testbed.sh; needs root.
# shellcheck disable=SC2016 # remote commands are single-quoted on purpose
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source-path=SCRIPTDIR source=lib-sshd.sh
. "$(dirname "$0")/lib-sshd.sh" || exit 1
sshd_lib_init "$@"

W=$SSHD_WORK
sshd_check_shell_reachable || { fail "userns-shell reachable by the fixture users"; sshd_finish; }
sshd_pam_stack conf=/etc/security/userns.conf
testbed_userns_conf <<-EOF
	[default]
	enable = no

	[group:sandboxed]
	enable = yes
EOF
testbed_set_shell dave /bin/bash
testbed_set_shell alice /bin/bash
# "sftp" is the bed's (/usr/lib/openssh/sftp-server); "isftp" is sshd's
# internal-sftp (sshd refuses a second Subsystem line for one name).
testbed_sshd_start 'Subsystem isftp internal-sftp' \
	'Match Group sandboxed' "	ForceCommand $USERNS_SHELL" ||
	{ fail "sshd starts"; sshd_finish; }

# --- ssh dave CMD --------------------------------------------------------------
off=$(log_size)
out=$(u_ssh dave 'id -u; id -g; echo "pin=$PAM_USERNS_PIN"; readlink /proc/self/ns/user
	echo uid_map; cat /proc/self/uid_map; echo gid_map; cat /proc/self/gid_map' </dev/null 2>&1)
check_eq "ssh dave cmd: exit status 0" 0 "$?" "$out"
check_eq "ssh dave id -u: 0" 0 "$(sed -n 1p <<< "$out")" "$out"
check_eq "ssh dave id -g: 0" 0 "$(sed -n 2p <<< "$out")"
pin=$(sed -n 's/^pin=//p' <<< "$out")
check_match "PAM_USERNS_PIN names dave's pin" '^/run/pam_userns/2004/[0-9a-f]{16}\.ns$' "$pin"
ns=$(sed -n 4p <<< "$out")
if [[ $ns == user:* && $ns != "$HOST_USERNS" ]]; then
	pass "dave is in a user namespace of his own ($ns)"
else
	fail "dave is in a user namespace of his own" "got $ns, host $HOST_USERNS"
fi
umap=$(sed -n '/^uid_map$/,/^gid_map$/p' <<< "$out" | sed '1d;$d' | norm)
gmap=$(sed -n '/^gid_map$/,$p' <<< "$out" | sed 1d | norm)
check_eq "uid_map is 0 2004 1 / 1 400000 65536" $'0 2004 1\n1 400000 65536' "$umap"
check_eq "gid_map is 0 2004 1 / 1 400000 65536" $'0 2004 1\n1 400000 65536' "$gmap"
if log_wait_since "$off" "pam_userns\(sshd:session\): user namespace created for dave \(uid 2004\): ${pin//./\\.}, 65537 uids, 65537 gids, setgroups allow, from \[group:sandboxed\]" 10; then
	pass "syslog: created line for dave, from [group:sandboxed]"
else
	fail "syslog: created line for dave, from [group:sandboxed]" "$(log_since "$off")"
fi
if wait_until 10 test ! -e "$pin" &&
	log_wait_since "$off" "pam_userns\(sshd:session\): user namespace ${pin//./\\.} removed" 10; then
	pass "after logout the pin is gone (and logged as removed)"
else
	fail "after logout the pin is gone (and logged as removed)" "$(ls -la /run/pam_userns/2004)" "$(log_since "$off")"
fi

out=$(u_ssh dave 'cd && rm -f owned && touch owned && chown 1000:1000 owned && stat -c %u:%g owned' </dev/null 2>&1)
check_eq "inside: chown 1000:1000" 1000:1000 "$out"
check_eq "outside: the chowned file is 400999:400999 (SUBSTART+999)" 400999:400999 \
	"$(stat -c %u:%g /home/dave/owned 2>&1)"

# --- exit status, stdin ---------------------------------------------------------
u_ssh dave 'exit 7' </dev/null
check_eq "ssh dave 'exit 7' returns 7" 7 "$?"
check_eq "stdin piped through (echo hi | ssh dave cat)" hi "$(echo hi | u_ssh dave cat 2>&1)"
head -c 1048576 /dev/urandom > "$W/blob"
check_eq "1 MiB of stdin piped through, intact" "$(sha256sum < "$W/blob")" \
	"$(u_ssh dave sha256sum < "$W/blob" 2>&1)"
# The command reaches the shell inside as one string, quoting intact.
check_eq "the original command is run by the shell inside, quoting intact" \
	'a  b|$HOME|0' "$(u_ssh dave "printf '%s|' 'a  b' '\$HOME'; id -u" </dev/null 2>&1)"

# --- interactive: no command, so userns-shell runs a login shell ---------------------
u_ssh -tt dave > "$W/tty.out" 2>&1 <<-'EOF'
	echo "tty=$(tty) uid=$(id -u) shell=$0 orig=${SSH_ORIGINAL_COMMAND-unset}"
	exit 3
EOF
rc=$?
tty_out=$(strip_tty < "$W/tty.out")
check_eq "pty session: exit 3 returns 3" 3 "$rc" "$tty_out"
check_match "pty session: the prompt shows root" $'(^|\n)[^\n]*root@[^\n]*# ' "$tty_out"
check_match "pty session: a login shell on a pty, root inside" \
	$'(^|\n)tty=/dev/pts/[0-9]+ uid=0 shell=-bash orig=unset(\n|$)' "$tty_out"
u_ssh -tt dave 'id -u; exit 4' > "$W/tty.out" 2>&1 </dev/null
rc=$?
check_eq "ssh -tt dave CMD: exit status 4" 4 "$rc" "$(cat "$W/tty.out")"
check_eq "ssh -tt dave CMD: root inside" 0 "$(strip_tty < "$W/tty.out" | head -n 1)"

# --- sftp (sftp-server and internal-sftp), scp --------------------------------------
for sub in sftp isftp; do
	case $sub in
	sftp) what="Subsystem sftp-server" ;;
	isftp) what="Subsystem internal-sftp (run as sftp-server by userns-shell)" ;;
	esac
	printf 'payload %s %s\n' "$sub" "$RANDOM$RANDOM" > "$W/$sub-up"
	rm -f "/home/dave/$sub-up" "$W/$sub-down"
	printf '%s\n' "put $W/$sub-up $sub-up" "ls -ln $sub-up" "get $sub-up $W/$sub-down" > "$W/batch"
	out=$(u_sftp dave "$W/batch" -s "$sub" </dev/null 2>&1)
	check_eq "$what: sftp -b put/ls/get exit status 0" 0 "$?" "$out"
	check_match "$what: the server is inside the namespace (file is 0:0 there)" \
		$'(^|\n)-rw[^\n]* (0 +0|root +root) [^\n]*'"$sub-up" "$out"
	check_eq "$what: put lands in dave's home as 2004:2004" 2004:2004 \
		"$(stat -c %u:%g "/home/dave/$sub-up" 2>&1)"
	check "$what: get returns the same content" cmp "$W/$sub-up" "$W/$sub-down"
done

printf 'scp payload %s\n' "$RANDOM$RANDOM" > "$W/scp-up"
for proto in sftp legacy; do
	o=()
	[[ $proto == legacy ]] && o=(-O)
	rm -f "/home/dave/scp-$proto" "$W/scp-$proto-down"
	out=$(u_scp "${o[@]}" "$W/scp-up" "dave@R:scp-$proto" </dev/null 2>&1)
	check_eq "scp ${o[*]} upload ($proto protocol): exit status 0" 0 "$?" "$out"
	check_eq "scp ${o[*]} upload: lands in dave's home as 2004:2004" 2004:2004 \
		"$(stat -c %u:%g "/home/dave/scp-$proto" 2>&1)"
	out=$(u_scp "${o[@]}" "dave@R:scp-$proto" "$W/scp-$proto-down" </dev/null 2>&1)
	check_eq "scp ${o[*]} download ($proto protocol): exit status 0" 0 "$?" "$out"
	check "scp ${o[*]} download: same content" cmp "$W/scp-up" "$W/scp-$proto-down"
done
# Known limitation, asserted so that a change is noticed: sshd runs a
# ForceCommand with the user's own shell ("bash -c userns-shell"), and
# Debian's bash reads ~/.bashrc when sshd starts it, so the user's own rc
# file runs first, as himself outside the namespace (and could exec
# anything else instead). No privilege is gained (he is only himself), but
# ForceCommand mode cannot guarantee that a session enters the namespace;
# userns-shell as the login shell can.
echo 'echo "bashrc: uid $(id -u)" >&2' > /home/dave/.bashrc
u_ssh dave 'id -u' </dev/null >"$W/out" 2>"$W/err"
rm -f /home/dave/.bashrc
check_eq "ForceCommand (known limitation): dave's ~/.bashrc runs outside the namespace first" \
	$'0|bashrc: uid 2004\nbashrc: uid 0' "$(cat "$W/out")|$(cat "$W/err")"
check_clean "dave's sessions"

# --- alice: not in the group, so no ForceCommand ----------------------------------------
# With only [group:sandboxed] enabled she is untouched: her own shell, as
# herself, in the host's user namespace, and pam_userns makes nothing.
off=$(log_size)
out=$(u_ssh alice 'id -u; readlink /proc/self/ns/user; echo "pin=${PAM_USERNS_PIN-unset}"' </dev/null 2>&1)
check_eq "alice (not in sandboxed, not enabled): untouched, 2001 in the host's namespace" \
	$'2001\n'"$HOST_USERNS"$'\npin=unset' "$out"
if log_since "$off" | grep -q 'pam_userns.*created'; then
	fail "alice: no namespace created" "$(log_since "$off")"
else
	pass "alice: no namespace created"
fi

# A misconfiguration, documented: enabled in userns.conf but outside the
# Match block (and with an ordinary login shell), nothing enters the
# namespace. The module prepares it (PAM_USERNS_PIN is set, the pin exists
# while she is logged in) and removes it at logout; her session runs
# unsandboxed, as 2001. Only userns-shell puts a session inside.
testbed_userns_conf <<-EOF
	[group:sandboxed]
	enable = yes

	[user:alice]
	enable = yes
EOF
out=$(u_ssh alice 'id -u; readlink /proc/self/ns/user; test -e "$PAM_USERNS_PIN" && echo "pin exists"' </dev/null 2>&1)
check_eq "misconfig (alice enabled, no ForceCommand, /bin/bash): prepared but unused, she runs as 2001 outside" \
	$'2001\n'"$HOST_USERNS"$'\npin exists' "$out"
check_clean "at the end"
sshd_finish
