#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# local-work.sh - real work inside a session (su - alice -c, alice's login
# shell userns-shell, her ranges 200000:65536) that needs the subordinate
# ranges: what rootless containers and package builds do.
#
# - a tar archive made by root with owners 0, 1, 33, 1000 and 65534 (files,
#   a set-gid directory, a file in it, a symbolic link), unpacked inside
#   with `tar --same-owner -xpf`: inside the owners are as archived; from
#   the host they are 2001 (for 0) and 200000+ID-1 (for ID >= 1), modes
#   kept; chown to the last mapped id works, one past it does not; outside
#   the namespace alice cannot chown at all;
# - `unshare --mount` + `mount -t tmpfs` inside: mounted there, invisible
#   to the host;
# - a nested `unshare --user --map-root-user`: 0 in it, owned by alice's
#   namespace.

. "$(dirname -- "$0")/lib-local.sh"

lt_require su tar unshare setpriv

testbed_set_shell alice "$LT_SHELL"
lt_conf <<EOF
[default]
enable = no

[user:alice]
enable = yes
EOF
lt_services

# --- the archive (made by root on the host side) ---------------------------------

tree=$LT/tree
mkdir -p "$tree/d"
for id in 0 1 33 1000 65534; do
	echo "owned by $id" > "$tree/f$id"
	chown "$id:$id" "$tree/f$id"
	chmod 0640 "$tree/f$id"
done
chown 33:1000 "$tree/d"
chmod 2750 "$tree/d"
echo inner > "$tree/d/inner"
chown 1000:33 "$tree/d/inner"
chmod 0604 "$tree/d/inner"
ln -s f33 "$tree/link"
chown -h 65534:65534 "$tree/link"
tar --numeric-owner -C "$tree" -cpf "$LT/archive.tar" f0 f1 f33 f1000 f65534 d link
chmod 0644 "$LT/archive.tar"
check "the archive holds owners 0 1 33 1000 65534 (tar -tv)" \
	is_eq '0/0 1/1 33/33 1000/1000 65534/65534 33/1000 1000/33 65534/65534' \
	"$(tar -tvf "$LT/archive.tar" | awk '{ print $2 }' | tr '\n' ' ' | sed 's/ $//')"

# --- the work, as root in alice's namespace --------------------------------------------

cat > "$LT/work.sh" <<'EOF'
# run by su - alice -c: in alice's namespace, as its root, in /home/alice
archive=$1
echo "whoami=$(id -u):$(id -g)"
mkdir unpacked && cd unpacked || exit 1
tar --same-owner -xpf "$archive"
echo "tar=$?"
echo "inside=$(stat -c '%n:%u:%g:%a' f0 f1 f33 f1000 f65534 d d/inner | tr '\n' ' ')"
echo "inside-link=$(stat -c '%u:%g' link)"
touch last beyond
chown 65536:65536 last; echo "chown-last=$?"
chown 65537 beyond 2> chown.err; echo "chown-beyond=$? $(cat chown.err)"
rm -f chown.err
mkdir -p ../mnt
unshare --mount sh -c '
	mount -t tmpfs -o size=1m none ../mnt && echo "mount=$?" &&
	echo "mounted=$(findmnt -n -o FSTYPE,SOURCE --target ../mnt | tr -s " ")" &&
	touch ../mnt/on-tmpfs && echo "on-tmpfs=$(ls ../mnt)"'
echo "nested=$(unshare --user --map-root-user id -u)"
echo "nested-map=$(unshare --user --map-root-user cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
echo "nested-owner=$(unshare --user --map-root-user sh -c 'cat /proc/self/uid_map >/dev/null; stat -L -c %i /proc/self/ns/user')"
echo "self-ns=$(stat -L -c %i /proc/self/ns/user)"
EOF
chmod 0644 "$LT/work.sh"

mark=$(lt_log_mark)
t0=$(date +%s%N)
out=$(su - alice -c "bash $LT/work.sh $LT/archive.tar" 2>&1 </dev/null)
rc=$?
t1=$(date +%s%N)
echo "# su - alice -c work.sh: $(((t1 - t0) / 1000000)) ms"
value() { sed -n "s/^$1=//p" <<< "$out" | head -n1; }

check "the work ran as 0:0 in alice's namespace" \
	eval 'is_rc 0 "$rc" "$out" && is_eq 0:0 "$(value whoami)"'
check "tar --same-owner -xpf exits 0 inside" is_eq 0 "$(value tar)"
check "inside: the owners and modes are as archived" \
	is_eq 'f0:0:0:640 f1:1:1:640 f33:33:33:640 f1000:1000:1000:640 f65534:65534:65534:640 d:33:1000:2750 d/inner:1000:33:604 ' \
	"$(value inside)"
u=/home/alice/unpacked
for pair in 0:2001 1:200000 33:200032 1000:200999 65534:265533; do
	id=${pair%:*} host=${pair#*:}
	check "from the host: f$id is owned by $host:$host (mode 640)" \
		is_eq "$host:$host:640" "$(stat -c '%u:%g:%a' "$u/f$id" 2>&1)"
done
check "from the host: d (33:1000, set-gid 2750) is 200032:200999 2750" \
	is_eq 200032:200999:2750 "$(stat -c '%u:%g:%a' "$u/d" 2>&1)"
check "from the host: d/inner (1000:33) is 200999:200032" \
	is_eq 200999:200032:604 "$(stat -c '%u:%g:%a' "$u/d/inner" 2>&1)"
check "from the host: the symbolic link (65534, lchown) is 265533:265533" \
	is_eq 265533:265533 "$(stat -c '%u:%g' "$u/link" 2>&1)"
check "chown to 65536 (the last mapped id) works: host 265535" \
	eval 'is_eq 0 "$(value chown-last)" && is_eq 265535:265535 "$(stat -c %u:%g "$u/last")"'
check "chown to 65537 (not mapped) fails with EINVAL" \
	eval '[[ $(value chown-beyond) == [1-9]*"Invalid argument"* ]] || { lt_diag "$(value chown-beyond)"; false; }'
out2=$(lt_as alice chown 200000 "$u/f0" 2>&1)
rc2=$?
check "outside the namespace alice cannot chown her files to her subordinate ids" \
	eval 'is_fail_rc "$rc2" "$out2" && has_text "Operation not permitted" "$out2" &&
		is_eq 2001 "$(stat -c %u "$u/f0")"'

check "unshare --mount + mount -t tmpfs inside: mounted (tmpfs) and usable" \
	eval 'is_eq 0 "$(value mount)" && is_eq "tmpfs none" "$(value mounted)" && is_eq on-tmpfs "$(value on-tmpfs)"'
check "the tmpfs was never visible to the host (not a mount point, the file is not there)" \
	eval '! mountpoint -q /home/alice/mnt && [[ ! -e /home/alice/mnt/on-tmpfs ]]'
check "nested unshare --user --map-root-user id -u prints 0" is_eq 0 "$(value nested)"
check "the nested namespace maps its 0 to alice's 0 (uid_map 0 0 1)" is_eq '0 0 1' "$(value nested-map)"
check "the nested namespace is a new one" \
	eval '[[ -n $(value nested-owner) && $(value nested-owner) != "$(value self-ns)" ]]'
check "the session ended cleanly: created and removed logged, nothing left" \
	eval 'lt_log_wait "$mark" "user namespace created for alice" && lt_log_wait "$mark" "removed" &&
		lt_state_clean && lt_no_ns_procs'
rm -rf /home/alice/unpacked /home/alice/mnt

lt_finish
