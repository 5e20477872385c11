#!/usr/bin/env bash
# Integration suite (issue #4, item 7): encryption at rest. A village laptop
# made with `init --encrypt` keeps every page of its database, its WAL,
# its backups and its key files encrypted (vault.h): a stolen disk yields
# no child's name or ID, and nothing opens without the passphrase. The
# encrypted node works like any other: import, sync with a township over
# the network (the township unattended, its passphrase from systemd's
# credentials folder), USB bundles, backup and restore, verify; the
# passphrase can be changed without touching the data.
# Usage: test_rest.sh PATH/TO/carenode
set -uo pipefail
cn=${1:?usage: test_rest.sh carenode}
. "$(dirname "$0")/lib.sh"
# absent TEXT FILE...: no file holds TEXT (as UTF-8 bytes)
absent() {
	local t=$1 f
	shift
	for f in "$@"; do
		[ -e "$f" ] || continue
		if grep -qaF -- "$t" "$f"; then bad "'$t' readable in $f"; return; fi
	done
	ok
}
sums() { sha256sum "$work/v/carenode.db"* "$work/v/"*.key | awk '{ print $1 }' | tr '\n' ' '; }

T=370522101000 V=370522101201
printf 'correct horse battery staple\n' >"$work/pass"
printf 'a new passphrase for 2027\n' >"$work/pass2"
printf 'wrong passphrase!\n' >"$work/wrong"
chmod 600 "$work"/pass*  "$work/wrong"
c ca ca init >/dev/null || bad "ca init"
# the township is encrypted too, and unattended: its passphrase comes from
# the credentials folder systemd's LoadCredential= provides
mkdir -m 700 "$work/cred" && cp "$work/pass" "$work/cred/carenode-passphrase"
export CREDENTIALS_DIRECTORY=$work/cred
c t init --level township --code $T --encrypt --kdf interactive >/dev/null || bad "encrypted township init"
c ca ca enroll --subject "$(cat "$work/t/node.pub")" --role township --code $T --out "$work/t.chain" >/dev/null &&
	c t join --chain "$work/t.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "enrol the township"
unset CREDENTIALS_DIRECTORY

# ---- an encrypted village ----
out=$(c v --passphrase-file "$work/pass" init --level village --code $V --encrypt --kdf interactive 2>&1)
eq "$?" 0 "init --encrypt: $out"
for f in vault.key node.key; do
	eq "$(stat -c %a "$work/v/$f")" 600 "$f is 0600"
done
head -c 8 "$work/v/node.key" | grep -q CNVAULTS && ok || bad "node.key is sealed"
export CARENODE_PASSPHRASE_FILE=$work/pass
c t enroll --subject "$(cat "$work/v/node.pub")" --code $V --out "$work/v.chain" >/dev/null &&
	c v join --chain "$work/v.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "enrol the village"
head -c 8 "$work/v/network.key" | grep -q CNVAULTS && ok || bad "network.key is sealed at join"
"$cn" synth --village $V --count 200 --seed 7 --out "$work/kids.csv" >/dev/null
c v import "$work/kids.csv" >/dev/null || bad "import at the encrypted village"
kid=$(c v --json child list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
c v visit "$kid" --type party_cadre --date 2026-11-29 --visitor 联络员张丽 --findings 标记文字甲乙丙丁走访 >/dev/null ||
	bad "a visit at the encrypted village"
name=$(sed -n 2p "$work/kids.csv" | cut -d, -f1)
idn=$(sed -n 2p "$work/kids.csv" | cut -d, -f2)
eq "$(c v --json child list | grep -c "$name")" 1 "the village reads its child ($name)"
# nothing readable on its disk, WAL included (no checkpoint yet)
files=("$work/v/carenode.db" "$work/v/carenode.db-wal" "$work/v/carenode.db-shm" "$work/v/node.key" "$work/v/network.key" "$work/v/vault.key")
absent "$name" "${files[@]}"
absent "$idn" "${files[@]}"
absent 标记文字甲乙丙丁 "${files[@]}"
absent "SQLite format 3" "$work/v/carenode.db"
c v verify >/dev/null || bad "verify at the encrypted village"

# ---- no passphrase, a wrong one: refused, nothing changed ----
before=$(sums)
unset CARENODE_PASSPHRASE_FILE
out=$(c v child list 2>&1 </dev/null)
eq "$?" 6 "without a passphrase: refused"
printf '%s' "$out" | grep -q "passphrase" && ok || bad "the refusal asks for the passphrase: $out"
out=$(c v --passphrase-file "$work/wrong" child list 2>&1)
eq "$?" 6 "a wrong passphrase: refused"
printf '%s' "$out" | grep -q "wrong passphrase" && ok || bad "the refusal names the wrong passphrase: $out"
out=$(c v --passphrase-file "$work/wrong" --urgent visit "$kid" --type party_cadre --date 2026-11-29 --visitor x --findings y 2>&1)
eq "$?" 6 "a write with a wrong passphrase: refused"
eq "$(sums)" "$before" "nothing on disk changed after the refusals"
# SQLite itself sees no database there
if command -v sqlite3 >/dev/null; then
	sqlite3 "$work/v/carenode.db" "SELECT count(*) FROM ops" >/dev/null 2>&1 && bad "sqlite3 reads the encrypted file" || ok
fi
export CARENODE_PASSPHRASE_FILE=$work/pass

# ---- it syncs like any node; the township serves unattended ----
P=$(free_port)
CREDENTIALS_DIRECTORY=$work/cred CARENODE_PASSPHRASE_FILE= "$cn" --dir "$work/t" serve --listen "tcp://127.0.0.1:$P" >/dev/null 2>"$work/t.log" &
pids+=($!)
sleep 0.5
c v sync --once --parent "tcp://127.0.0.1:$P" >/dev/null 2>"$work/v.log"
eq "$?" 0 "the encrypted village syncs with the encrypted township"
eq "$(CARENODE_PASSPHRASE_FILE= CREDENTIALS_DIRECTORY=$work/cred c t digest --scope $V)" "$(c v digest --scope $V)" "both hold the same"
absent "$name" "$work/t/carenode.db" "$work/t/carenode.db-wal"

# ---- backups are encrypted; restore needs the passphrase ----
c v backup "$work/v.bak" >/dev/null || bad "backup"
absent "$name" "$work/v.bak"
absent "SQLite format 3" "$work/v.bak"
c v visit "$kid" --type party_cadre --date 2026-11-30 --visitor 联络员张丽 --findings 备份之后 >/dev/null
c v sync --once --parent "tcp://127.0.0.1:$P" >/dev/null 2>>"$work/v.log" || bad "the visit goes up"
out=$(CARENODE_PASSPHRASE_FILE= c v restore "$work/v.bak" 2>&1 </dev/null)
eq "$?" 6 "restore without the passphrase: refused"
c v restore "$work/v.bak" >/dev/null 2>"$work/restore.log"
eq "$?" 0 "restore with the passphrase"
c v verify >/dev/null || bad "verify after restore"
c v sync --once --parent "tcp://127.0.0.1:$P" >/dev/null 2>>"$work/v.log"
eq "$?" 0 "the restored village fetches its own head"
c v child show "$kid" | grep -q 备份之后 && ok || bad "the visit made after the backup came back"
ls "$work/v"/carenode.db.replaced-* >/dev/null 2>&1 &&
	absent "$name" "$work/v"/carenode.db.replaced-* || bad "the replaced database was kept"

# ---- USB bundles from an encrypted node ----
c v bundle export --to $T --out "$work/up.cnb" >/dev/null || bad "bundle export"
CARENODE_PASSPHRASE_FILE= CREDENTIALS_DIRECTORY=$work/cred c t bundle import "$work/up.cnb" --receipt "$work/r.cnb" >/dev/null ||
	bad "the township imports"
c v bundle import "$work/r.cnb" >/dev/null || bad "the village imports the receipt"

# ---- the passphrase changes; the data is not touched ----
dbsum=$(sha256sum "$work/v/carenode.db" | cut -d' ' -f1)
c v passphrase --new-passphrase-file "$work/pass2" --kdf interactive >/dev/null
eq "$?" 0 "passphrase change"
eq "$(sha256sum "$work/v/carenode.db" | cut -d' ' -f1)" "$dbsum" "the database was not rewritten"
out=$(c v child list 2>&1)
eq "$?" 6 "the old passphrase no longer opens it"
eq "$(c v --passphrase-file "$work/pass2" --json child list | grep -c "$name")" 1 "the new one does"
c v --passphrase-file "$work/pass2" verify >/dev/null || bad "verify with the new passphrase"
out=$(c v --passphrase-file "$work/wrong" passphrase --new-passphrase-file "$work/pass" 2>&1)
eq "$?" 6 "a change needs the current passphrase"
# ---- a plain node made encrypted: a new folder, the same node key ----
unset CARENODE_PASSPHRASE_FILE
P2=$(free_port)
c t2 init --level township --code 370522102000 >/dev/null &&
	c ca ca enroll --subject "$(cat "$work/t2/node.pub")" --role township --code 370522102000 --out "$work/t2.chain" >/dev/null &&
	c t2 join --chain "$work/t2.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "enrol a plain township"
c p init --level village --code 370522102201 >/dev/null &&
	c t2 enroll --subject "$(cat "$work/p/node.pub")" --code 370522102201 --out "$work/p.chain" >/dev/null &&
	c p join --chain "$work/p.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "enrol a plain village"
"$cn" synth --village 370522102201 --count 30 --seed 8 --out "$work/p.csv" >/dev/null
c p import "$work/p.csv" >/dev/null || bad "the plain village files children"
pname=$(sed -n 2p "$work/p.csv" | cut -d, -f1)
grep -qaF "$pname" "$work/p/carenode.db" "$work/p/carenode.db-wal" 2>/dev/null && ok || bad "a plain node's file shows names (the test's premise)"
out=$(c p --passphrase-file "$work/pass" encrypt --to "$work/penc" --kdf interactive 2>&1)
eq "$?" 0 "encrypt --to: $out"
absent "$pname" "$work/penc/carenode.db" "$work/penc/carenode.db-wal" "$work/penc/node.key" "$work/penc/network.key"
eq "$(cat "$work/penc/node.pub")" "$(cat "$work/p/node.pub")" "the same node key"
eq "$(c penc --passphrase-file "$work/pass" digest)" "$(c p digest)" "the encrypted copy holds the same"
out=$(c p --passphrase-file "$work/pass" encrypt --to "$work/penc" 2>&1)
eq "$?" 7 "encrypt never writes into an existing folder"
"$cn" --dir "$work/t2" serve --listen "tcp://127.0.0.1:$P2" >/dev/null 2>"$work/t2.log" &
pids+=($!)
sleep 0.5
c penc --passphrase-file "$work/pass" sync --once --parent "tcp://127.0.0.1:$P2" >/dev/null 2>>"$work/v.log"
eq "$?" 0 "the encrypted copy syncs as the same node"
eq "$(c t2 digest --scope 370522102201)" "$(c penc --passphrase-file "$work/pass" digest --scope 370522102201)" "its township holds the village's children"
echo "rest: $pass passed, $fail failed"
[ "$fail" = 0 ]
