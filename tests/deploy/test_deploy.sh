#!/usr/bin/env bash
# The deployment files (issue #7): install-node.sh into a scratch root (files,
# modes, an encrypted node's credential drop-ins, configs never overwritten),
# the systemd units verified by systemd-analyze with their hardening scored,
# the nightly backup script keeping the newest copies that open, and serve's
# log lines carrying syslog priorities for the journal.
# Usage: test_deploy.sh PATH/TO/carenode
set -uo pipefail
cn=${1:?usage: test_deploy.sh carenode}
cn=$(cd "$(dirname "$cn")" && pwd)/$(basename "$cn")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/integration/lib.sh"
D=$work/root
mode() { stat -c %a "$1"; }

# ---- install-node.sh into a scratch root ----
printf 'village passphrase 2026\n' >"$work/pass"
DESTDIR=$D CARENODE_BUILT=$cn "$root/deploy/install-node.sh" county county >"$work/i1.log" 2>&1 ||
	bad "install the county: $(cat "$work/i1.log")"
DESTDIR=$D CARENODE_BUILT=$cn "$root/deploy/install-node.sh" wazhang village \
	--encrypted "$work/pass" >"$work/i2.log" 2>&1 || bad "install a village: $(cat "$work/i2.log")"
for f in usr/local/bin/carenode usr/local/lib/carenode/backup.sh etc/systemd/system/carenode@.service \
	etc/systemd/system/carenode-backup@.service etc/systemd/system/carenode-backup@.timer \
	usr/local/share/doc/carenode/OPERATOR.md etc/carenode/county.conf etc/carenode/wazhang.conf; do
	[ -e "$D/$f" ] && ok || bad "installed: $f"
done
eq "$(mode "$D/etc/carenode/county.conf")" 640 "a config is readable by the carenode group only"
eq "$(mode "$D/etc/carenode/wazhang.passphrase")" 600 "the passphrase is root's alone"
eq "$(mode "$D/var/lib/carenode")" 700 "the nodes' folder is the service's alone"
[ -e "$D/etc/carenode/county.passphrase" ] && bad "a plain node has no passphrase file" || ok
grep -q '^LoadCredential=passphrase:/etc/carenode/wazhang.passphrase$' \
	"$D/etc/systemd/system/carenode@wazhang.service.d/passphrase.conf" && ok ||
	bad "the encrypted node's unit gets its passphrase as a credential"
grep -q '^Environment=CARENODE_PASSPHRASE_FILE=%d/passphrase$' \
	"$D/etc/systemd/system/carenode-backup@wazhang.service.d/passphrase.conf" && ok ||
	bad "so does its backup"
echo "# edited by the operator" >>"$D/etc/carenode/county.conf"
DESTDIR=$D CARENODE_BUILT=$cn "$root/deploy/install-node.sh" county county >/dev/null 2>&1
grep -q "edited by the operator" "$D/etc/carenode/county.conf" && ok ||
	bad "reinstalling (an upgrade) keeps the operator's config"
DESTDIR=$D CARENODE_BUILT=$cn "$root/deploy/install-node.sh" 'bad name' county >/dev/null 2>&1
eq "$?" 2 "a node name with spaces is refused"

# ---- the units, as systemd reads them, and their hardening ----
for u in carenode@.service carenode-backup@.service carenode-backup@.timer; do
	inst=${u/@/@wazhang}
	sed -e "s|/usr/local/bin/carenode|$cn|" \
		-e "s|/usr/local/lib/carenode/backup.sh|$root/deploy/backup.sh|" \
		"$root/deploy/systemd/$u" >"$work/$inst"
done
cp "$D/etc/systemd/system/carenode@wazhang.service.d/passphrase.conf" "$work/drop.conf"
if systemd-analyze verify "$work/carenode@wazhang.service" "$work/carenode-backup@wazhang.service" \
	"$work/carenode-backup@wazhang.timer" >"$work/verify.log" 2>&1; then
	ok
else
	bad "systemd-analyze verify: $(cat "$work/verify.log")"
fi
score=$(systemd-analyze security --offline=yes "$work/carenode@wazhang.service" 2>/dev/null |
	sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
python3 -c "import sys; sys.exit(0 if float('$score' or 99) <= 4.0 else 1)" && ok ||
	bad "the node's unit is hardened (systemd's exposure score $score, at most 4.0)"
for opt in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	User=carenode Restart=on-failure; do
	grep -q "^$opt$" "$root/deploy/systemd/carenode@.service" && ok || bad "the unit sets $opt"
done

# ---- every config's serve options are options serve knows ----
for conf in "$root"/deploy/config/*.conf; do
	( . "$conf"; for a in $CARENODE_SERVE_ARGS; do case "$a" in --*) echo "${a#--}" ;; esac; done ) |
		while read -r o; do
			"$cn" serve --help 2>&1 | grep -q -- "--$o" || echo "$o"
		done >"$work/unknown"
	eq "$(cat "$work/unknown")" "" "$(basename "$conf"): every option is one of serve's"
done

# ---- the nightly backup keeps the newest copies, each one opens ----
c n init --level village --code 370522101201 >/dev/null || bad "a node to back up"
"$cn" synth --village 370522101201 --count 3 --out "$work/a.csv"
c n import "$work/a.csv" >/dev/null || bad "children to back up"
for i in 1 2 3; do
	CARENODE_BIN=$cn CARENODE_BACKUP_KEEP=2 "$root/deploy/backup.sh" "$work/n" "$work/bk" \
		>>"$work/bk.log" 2>&1 || bad "backup $i: $(tail -2 "$work/bk.log")"
	sleep 1.1
done
eq "$(ls "$work/bk" | wc -l)" 2 "the newest two copies stay"
for f in "$work"/bk/*.db; do
	eq "$(sqlite3 "$f" 'PRAGMA integrity_check; SELECT count(*) FROM child')" "ok
3" "a backup is a whole database: $(basename "$f")"
done

# ---- serve's log for the journal: syslog priorities, no second clock ----
P=$(free_port)
JOURNAL_STREAM=8:1234 "$cn" --dir "$work/n" serve --http "http://127.0.0.1:$P" 2>"$work/j.log" &
jp=$!
for i in $(seq 1 40); do curl -s -o /dev/null "http://127.0.0.1:$P/" && break; sleep 0.1; done
kill "$jp"; wait "$jp" 2>/dev/null
head -1 "$work/j.log" | grep -q '^<6>' && ok || bad "under systemd a line starts with its priority: $(head -1 "$work/j.log")"
grep -q '^20[0-9][0-9]-' "$work/j.log" && bad "and carries no time of its own" || ok

echo "deploy: $pass passed, $fail failed"
[ "$fail" = 0 ]
