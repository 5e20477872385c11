#!/usr/bin/env bash
# Enrolment suite: runs the real carenode binary through the key ceremony
# (ca init, ca enroll, ca revoke), a township's and a village's join, and a
# township enrolling its village, then checks every refusal's exit code (see
# `carenode --help`) and that a refused step installs or writes nothing.
# Usage: test_enrol.sh PATH/TO/carenode
set -uo pipefail
cn=${1:?usage: test_enrol.sh carenode}
work=$(mktemp -d /tmp/carenode-enrol.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
K=370522000000  # 利津县
T=370522101000  # 北宋镇
V=370522101201  # 洼张村, 北宋镇
V2=370522101202 # 杨董村, 北宋镇
VY=370522102201 # 盐西村, 盐窝镇 (not 北宋镇)

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect CODE DESCRIPTION -- command...: runs it, checks the exit code, keeps
# stdout in $out and stderr in $err
expect() {
	local want=$1 what=$2
	shift 3
	out=$("$@" 2>"$work/stderr")
	local got=$?
	err=$(cat "$work/stderr")
	if [ "$got" = "$want" ]; then ok; else bad "$what: exit $got, want $want; stderr: $err"; fi
}
contains() { # contains HAYSTACK NEEDLE DESCRIPTION
	if printf '%s' "$1" | grep -qF -- "$2"; then ok; else bad "$3: no '$2' in: $1"; fi
}
mode_is() { # mode_is FILE MODE DESCRIPTION
	local m
	m=$(stat -c %a "$1" 2>/dev/null)
	if [ "$m" = "$2" ]; then ok; else bad "$3: mode ${m:-missing}, want $2"; fi
}
absent() { # absent FILE DESCRIPTION
	if [ ! -e "$1" ]; then ok; else bad "$2: $1 exists"; fi
}
# chain FILE: one line per certificate, leaf first: role serial issuer
# subject division scope can_enroll (parsed here, not by carenode)
chain() {
	python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
p = 0
def take(n):
    global p
    if p + n > len(b):
        sys.exit("truncated")
    p += n
    return b[p - n:p]
def bin_():
    t = take(1)[0]
    if t == 0xc4:
        return take(take(1)[0])
    if t == 0xc5:
        return take(int.from_bytes(take(2), "big"))
    sys.exit("not a bin")
def str_():
    t = take(1)[0]
    if not 0xa0 <= t <= 0xbf:
        sys.exit("not a fixstr")
    return take(t & 31).decode()
def uint():
    t = take(1)[0]
    if t < 0x80:
        return t
    if t == 0xce:
        return int.from_bytes(take(4), "big")
    if t == 0xcf:
        return int.from_bytes(take(8), "big")
    sys.exit("unexpected uint form")
head = take(1)[0]
if not 0x91 <= head <= 0x94:
    sys.exit("not an array of 1-4")
for _ in range(head & 15):
    c = bin_()
    b, p, outer = c, 0, (b, p)
    assert take(1)[0] == 0x9b and str_() == "cn-cert" and take(1)[0] == 1
    serial, issuer, subject = bin_(), bin_(), bin_()
    role, division, scope = str_(), str_(), str_()
    uint(); uint()
    enrol = {0xc2: "false", 0xc3: "true"}[take(1)[0]]
    assert len(b) - p == 64, "a 64-byte signature ends the certificate"
    print(role, serial.hex(), issuer.hex(), subject.hex(), division, scope, enrol)
    b, p = outer
if p != len(b):
    sys.exit("trailing bytes")
PY
}
field() { cut -d' ' -f"$1"; } # 1 role 2 serial 3 issuer 4 subject 5 division 6 scope 7 can_enroll
sum() { sha256sum "$1" | cut -d' ' -f1; }

ca="$work/ca"
node() { # node DIR LEVEL CODE: a fresh node folder
	"$cn" --dir "$1" init --level "$2" --code "$3" >/dev/null || bad "init $1 failed"
}
join() { # join DIR CHAIN [ROOT [NETWORK_KEY]]
	"$cn" --dir "$1" join --chain "$2" --root "${3:-$ca/root.pub}" --network-key "${4:-$ca/network.key}"
}

# ---- ca init ----
expect 0 "ca init" -- "$cn" --dir "$ca" ca init
contains "$out" "root.key" "ca init names the root key"
mode_is "$ca/root.key" 600 "root.key"
mode_is "$ca/network.key" 600 "network.key"
mode_is "$ca/root.pub" 644 "root.pub"
[ "$(sed -n 1p "$ca/root.key")" = carenode-county-root-key-v1 ] && ok || bad "root.key tag"
[ "$(sed -n 1p "$ca/network.key")" = carenode-network-key-v1 ] && ok || bad "network.key tag"
grep -qxE '[0-9a-f]{64}' "$ca/root.pub" && ok || bad "root.pub is one 64-hex-digit line"
ROOT=$(cat "$ca/root.pub")
grep -qF "$(sed -n 2p "$ca/root.key")" <<<"$out" && bad "ca init printed the root secret" || ok
[ "$(sed -n 2p "$ca/root.key")" != "$(sed -n 2p "$ca/network.key")" ] && ok ||
	bad "root key and network key are the same secret"
before=$(sum "$ca/root.key")
netbefore=$(sum "$ca/network.key")
expect 7 "ca init refuses to overwrite" -- "$cn" --dir "$ca" ca init
contains "$err" "拒绝覆盖" "overwrite refusal explained"
[ "$(sum "$ca/root.key")" = "$before" ] && ok || bad "ca init overwrote root.key"
[ "$(sum "$ca/network.key")" = "$netbefore" ] && ok || bad "ca init overwrote network.key"
expect 3 "ca init with a township code" -- "$cn" --dir "$work/ca-t" ca init --county $T
absent "$work/ca-t/root.key" "refused ca init"

# ---- ca enroll: a township, the county, a department ----
node "$work/t" township $T
node "$work/k" county $K
node "$work/p" county $K
TPUB=$(cat "$work/t/node.pub")
expect 0 "ca enroll township" -- "$cn" --dir "$ca" ca enroll --subject "$TPUB" --role township \
	--code $T --out "$work/t.chain"
contains "$out" "t.chain" "ca enroll names its file"
info=$(chain "$work/t.chain")
[ "$(wc -l <<<"$info")" = 1 ] && ok || bad "a root-issued chain holds one certificate: $info"
[ "$(field 1 <<<"$info") $(field 3 <<<"$info") $(field 4 <<<"$info")" = "township $ROOT $TPUB" ] &&
	ok || bad "township certificate: role, issuer, subject: $info"
[ "$(field 5 <<<"$info") $(field 6 <<<"$info") $(field 7 <<<"$info")" = "$T 370522101 true" ] &&
	ok || bad "township certificate: division, scope, can_enroll: $info"
expect 0 "ca enroll county" -- "$cn" --dir "$ca" ca enroll --subject "$(cat "$work/k/node.pub")" \
	--role county --code $K --out "$work/k.chain"
[ "$(chain "$work/k.chain" | cut -d' ' -f1,5-7)" = "county $K 370522 true" ] && ok ||
	bad "county certificate: $(chain "$work/k.chain")"
expect 0 "ca enroll police" -- "$cn" --dir "$ca" ca enroll --subject "$(cat "$work/p/node.pub")" \
	--role police --code $K --out "$work/p.chain"
[ "$(chain "$work/p.chain" | cut -d' ' -f1,5-7)" = "police $K 370522 false" ] && ok ||
	bad "police certificate: $(chain "$work/p.chain")"
expect 0 "ca enroll by Chinese role name" -- "$cn" --dir "$ca" ca enroll \
	--subject "$(cat "$work/p/node.pub")" --role 民政 --code $K --out "$work/c.chain"
[ "$(chain "$work/c.chain" | field 1)" = civil_affairs ] && ok || bad "民政 is civil_affairs"
expect 3 "ca enroll --role village" -- "$cn" --dir "$ca" ca enroll --subject "$TPUB" \
	--role village --code $V --out "$work/rv.chain"
contains "$err" "villages are enrolled by their township" "village refusal explained"
absent "$work/rv.chain" "refused ca enroll --role village"
expect 3 "ca enroll a township role at a village code" -- "$cn" --dir "$ca" ca enroll \
	--subject "$TPUB" --role township --code $V --out "$work/tv.chain"
absent "$work/tv.chain" "refused role/level mismatch"
expect 2 "ca enroll without --role" -- "$cn" --dir "$ca" ca enroll --subject "$TPUB" --code $T \
	--out "$work/nr.chain"
absent "$work/nr.chain" "refused ca enroll without --role"
expect 3 "ca enroll with a bad --days" -- "$cn" --dir "$ca" ca enroll --subject "$TPUB" \
	--role township --code $T --days 0 --out "$work/d0.chain"

# ---- joins ----
expect 0 "township joins" -- join "$work/t" "$work/t.chain"
contains "$out" "joined" "join reports success"
mode_is "$work/t/network.key" 600 "installed network.key"
cmp -s "$work/t/network.key" "$ca/network.key" && ok || bad "the installed network key is the CA's"
cmp -s "$work/t/node.chain" "$work/t.chain" && ok || bad "node.chain is the chain file"
expect 7 "a second join" -- join "$work/t" "$work/t.chain"
expect 0 "county joins" -- join "$work/k" "$work/k.chain" "$ROOT"
expect 0 "police joins" -- join "$work/p" "$work/p.chain"
[ "$(sqlite3 "$work/p/carenode.db" "SELECT value FROM meta WHERE key = 'role'" 2>/dev/null)" = police ] &&
	ok || bad "the joined node records its role"

# ---- a township enrols its village; the village joins ----
node "$work/v" village $V
VPUB=$(cat "$work/v/node.pub")
expect 0 "township enrolls its village" -- "$cn" --dir "$work/t" enroll --subject "$VPUB" --code $V \
	--out "$work/v.chain"
info=$(chain "$work/v.chain")
[ "$(wc -l <<<"$info")" = 2 ] && ok || bad "village chain: village then township: $info"
[ "$(sed -n 1p <<<"$info" | cut -d' ' -f1,3-7)" = "village $TPUB $VPUB $V $V false" ] && ok ||
	bad "village certificate: $info"
[ "$(sed -n 2p <<<"$info")" = "$(chain "$work/t.chain")" ] && ok ||
	bad "the township's own certificate follows the village's"
expect 0 "village joins" -- join "$work/v" "$work/v.chain"
cmp -s "$work/v/node.chain" "$work/v.chain" && ok || bad "village node.chain"
expect 0 "the county enrolls a village" -- "$cn" --dir "$work/k" enroll \
	--subject "$(cat "$work/t/node.pub")" --code $VY --out "$work/ky.chain"
[ "$(chain "$work/ky.chain" | cut -d' ' -f1 | tr '\n' ' ')" = "village county " ] && ok ||
	bad "county-issued village chain: $(chain "$work/ky.chain")"

# ---- refusals ----
node "$work/v2" village $V2
expect 5 "join with a chain for another key" -- join "$work/v2" "$work/v.chain"
contains "$err" "another key" "other key explained"
absent "$work/v2/node.chain" "refused join (other key)"
absent "$work/v2/network.key" "refused join (other key) network key"

"$cn" --dir "$work/ca2" ca init >/dev/null
node "$work/t2" township $T
"$cn" --dir "$ca" ca enroll --subject "$(cat "$work/t2/node.pub")" --role township --code $T \
	--out "$work/t2.chain" >/dev/null
expect 6 "join with the wrong root" -- join "$work/t2" "$work/t2.chain" "$work/ca2/root.pub"
contains "$err" "not the county root" "wrong root explained"
absent "$work/t2/node.chain" "refused join (wrong root)"

cp "$work/t2.chain" "$work/t2-sig.chain"
python3 - "$work/t2-sig.chain" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 0x01; open(sys.argv[1], "wb").write(b)
PY
expect 5 "join with a tampered signature" -- join "$work/t2" "$work/t2-sig.chain"
contains "$err" "signature" "tampered signature explained"
cp "$work/t2.chain" "$work/t2-body.chain"
python3 - "$work/t2-body.chain" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.index(b"370522101000")
b[i + 8] = ord("2")  # 370522101000 -> 370522102000, the same length
open(sys.argv[1], "wb").write(b)
PY
expect 5 "join with a tampered certificate body" -- join "$work/t2" "$work/t2-body.chain"
head -c 60 "$work/t2.chain" >"$work/t2-cut.chain"
expect 3 "join with a truncated chain" -- join "$work/t2" "$work/t2-cut.chain"
absent "$work/t2/node.chain" "refused join (tampered)"

cp "$ca/network.key" "$work/open.key"
chmod 644 "$work/open.key"
expect 6 "network.key with mode 0644" -- join "$work/t2" "$work/t2.chain" "" "$work/open.key"
contains "$err" "0600" "key mode explained"
absent "$work/t2/node.chain" "refused join (0644 key)"
expect 0 "the same join with the 0600 key" -- join "$work/t2" "$work/t2.chain"

expect 6 "township enrolls another township's village" -- "$cn" --dir "$work/t" enroll \
	--subject "$(cat "$work/v2/node.pub")" --code $VY --out "$work/vy.chain"
contains "$err" "widen" "widening explained"
absent "$work/vy.chain" "refused enroll (other township)"
expect 6 "township enrolls a township" -- "$cn" --dir "$work/t" enroll \
	--subject "$(cat "$work/v2/node.pub")" --role township --code $T --out "$work/tt.chain"
absent "$work/tt.chain" "refused enroll (township)"
expect 6 "a village node enrolls" -- "$cn" --dir "$work/v" enroll \
	--subject "$(cat "$work/v2/node.pub")" --code $V2 --out "$work/vv.chain"
contains "$err" "may not enrol" "village refusal explained"
absent "$work/vv.chain" "refused enroll (village)"
expect 6 "a department node enrolls" -- "$cn" --dir "$work/p" enroll \
	--subject "$(cat "$work/v2/node.pub")" --code $V2 --out "$work/pv.chain"
absent "$work/pv.chain" "refused enroll (police)"
expect 4 "a node that has not joined enrolls" -- "$cn" --dir "$work/v2" enroll \
	--subject "$VPUB" --code $V2 --out "$work/nj.chain"
absent "$work/nj.chain" "refused enroll (not joined)"

# ---- a joined node writes only what its role may ----
idnum() { # a valid GB 11643 ID for a birth date and 3-digit order code
	python3 - "$1" "$2" <<'PY'
import sys
b = "370522" + sys.argv[1] + sys.argv[2]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(b + "10X98765432"[sum(int(c) * x for c, x in zip(b, w)) % 11])
PY
}
expect 6 "police cannot file a child" -- "$cn" --dir "$work/p" --user 警员 child add --name 张小红 \
	--id "$(idnum 20150314 122)" --household-address 一街1号 --village-code $V
contains "$err" "may not write child" "role refusal explained"
expect 0 "the village files its child" -- "$cn" --dir "$work/v" --user 联络员 child add --name 张小红 \
	--id "$(idnum 20150314 122)" --household-address 一街1号

# ---- ca revoke ----
SERIAL=$(chain "$work/t.chain" | field 2)
expect 0 "ca revoke" -- "$cn" --dir "$ca" ca revoke --subject "$TPUB" --serial "$SERIAL" \
	--reason "设备丢失" --out "$work/t.revoke"
[ -s "$work/t.revoke" ] && ok || bad "ca revoke wrote no file"
python3 - "$work/t.revoke" "$SERIAL" "$TPUB" "$ROOT" <<'PY' && ok || bad "revocation layout"
import sys
b = open(sys.argv[1], "rb").read()
serial, subject, issuer = (bytes.fromhex(x) for x in sys.argv[2:5])
head = b"\x97\xa9cn-revoke\x01" + b"\xc4\x10" + serial + b"\xc4\x20" + subject + b"\xc4\x20" + issuer
assert b.startswith(head), b[:len(head)].hex()
reason = "设备丢失".encode()
assert b[-64 - len(reason) - 1:-64] == bytes([0xa0 | len(reason)]) + reason, b.hex()
PY
expect 2 "ca revoke without a reason" -- "$cn" --dir "$ca" ca revoke --subject "$TPUB" \
	--serial "$SERIAL" --out "$work/r2.revoke"
absent "$work/r2.revoke" "refused ca revoke"
expect 2 "ca revoke with a short serial" -- "$cn" --dir "$ca" ca revoke --subject "$TPUB" \
	--serial "${SERIAL:0:30}" --reason x --out "$work/r3.revoke"
expect 3 "ca revoke with a reason over 256 bytes" -- "$cn" --dir "$ca" ca revoke --subject "$TPUB" \
	--serial "$SERIAL" --reason "$(printf '丢%.0s' {1..86})" --out "$work/r4.revoke"
contains "$err" "longer than 256 bytes" "long reason explained"
absent "$work/r4.revoke" "refused ca revoke (long reason)"
expect 3 "ca enroll --role root" -- "$cn" --dir "$ca" ca enroll --subject "$TPUB" --role root \
	--code $K --out "$work/root.chain"
contains "$err" "root role" "root refusal explained"
expect 7 "ca revoke onto an existing file" -- "$cn" --dir "$ca" ca revoke --subject "$TPUB" \
	--serial "$SERIAL" --reason x --out "$work/t.revoke"

echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
