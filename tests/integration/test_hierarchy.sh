#!/usr/bin/env bash
# Integration suite (issue #3): real carenode processes on 127.0.0.1. A
# county root enrols a county node and two townships; each township enrols
# two villages. The county and the townships run `carenode serve`, the
# villages `carenode sync --once`. Every node edits offline first; then the
# hierarchy syncs and every jurisdiction's state digest must agree at the
# village, its township and the county; a village holds only its own
# children; concurrent guardian edits give one value and one open conflict
# everywhere; an unenrolled node and a wrong network key are refused.
# Usage: test_hierarchy.sh PATH/TO/carenode
set -uo pipefail
cn=${1:?usage: test_hierarchy.sh carenode}
work=$(mktemp -d /tmp/carenode-it.XXXXXX)
pids=()
pass=0
fail=0
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$fail" != 0 ]; then
		for l in "$work"/*.log; do echo "== $l"; tail -5 "$l"; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
eq() { if [ "$1" = "$2" ]; then ok; else bad "$3: '$1' != '$2'"; fi; }

K=370522000000
T1=370522101000 T2=370522102000
V11=370522101201 V12=370522101202 V21=370522102201 V22=370522102202
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PK=$(free_port) PT1=$(free_port) PT2=$(free_port)
c() { local d=$1; shift; "$cn" --dir "$work/$d" "$@"; }
idnum() {
	python3 - "$1" <<'PY'
import sys
b = "370522" + sys.argv[1]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(b + "10X98765432"[sum(int(x) * y for x, y in zip(b, w)) % 11])
PY
}

# ---- the key ceremony and enrolment ----
c ca ca init >/dev/null || bad "ca init"
enrol_root() { # name role code
	c "$1" init --level "$( [ "$2" = county ] && echo county || echo township)" --code "$3" >/dev/null &&
		c ca ca enroll --subject "$(cat "$work/$1/node.pub")" --role "$2" --code "$3" --out "$work/$1.chain" >/dev/null &&
		c "$1" join --chain "$work/$1.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
		bad "enrol $1"
}
enrol_village() { # name township code
	c "$1" init --level village --code "$3" >/dev/null &&
		c "$2" enroll --subject "$(cat "$work/$1/node.pub")" --code "$3" --out "$work/$1.chain" >/dev/null &&
		c "$1" join --chain "$work/$1.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
		bad "enrol $1"
}
enrol_root k county $K
enrol_root t1 township $T1
enrol_root t2 township $T2
enrol_village v11 t1 $V11
enrol_village v12 t1 $V12
enrol_village v21 t2 $V21
enrol_village v22 t2 $V22

# ---- offline work on every node ----
i=0
for v in v11:$V11 v12:$V12 v21:$V21 v22:$V22; do
	i=$((i + 1))
	"$cn" synth --village "${v#*:}" --count 6 --seed $i --out "$work/${v%%:*}.csv"
	c "${v%%:*}" import "$work/${v%%:*}.csv" >/dev/null || bad "import ${v%%:*}"
done
c t1 child add --name 乡镇录入 --id "$(idnum 20140505121)" --household-address 一街 --village-code $V12 >/dev/null ||
	bad "township files a child"
c k child add --name 县里录入 --id "$(idnum 20130606131)" --household-address 二街 --village-code $V21 >/dev/null ||
	bad "county files a child"

# ---- the hierarchy runs ----
# the real processes (not a shell function around them), so they can be stopped
"$cn" --dir "$work/k" serve --listen "tcp://127.0.0.1:$PK" >/dev/null 2>"$work/k.log" &
pids+=($!)
"$cn" --dir "$work/t1" serve --listen "tcp://127.0.0.1:$PT1" --parent "tcp://127.0.0.1:$PK" \
	--interval 0.5 >/dev/null 2>"$work/t1.log" &
pids+=($!)
"$cn" --dir "$work/t2" serve --listen "tcp://127.0.0.1:$PT2" --parent "tcp://127.0.0.1:$PK" \
	--interval 0.5 >/dev/null 2>"$work/t2.log" &
pids+=($!)
sleep 0.5
vsync() { # village port
	c "$1" sync --once --parent "tcp://127.0.0.1:$2" --timeout 10 >/dev/null 2>>"$work/$1.log"
}
round() {
	vsync v11 $PT1 && vsync v12 $PT1 && vsync v21 $PT2 && vsync v22 $PT2
}
round || bad "first sync round"
# converge: villages keep syncing until the county holds every village's state
converged() {
	for v in v11:$V11 v12:$V12 v21:$V21 v22:$V22; do
		local s=${v#*:} n=${v%%:*}
		[ "$(c "$n" digest --scope "$s")" = "$(c k digest --scope "$s")" ] || return 1
	done
}
for try in $(seq 1 40); do
	sleep 0.5
	round >/dev/null 2>&1
	converged && break
done
converged && ok || bad "the hierarchy did not converge in 20 s"

for v in v11:$V11:t1 v12:$V12:t1 v21:$V21:t2 v22:$V22:t2; do
	IFS=: read -r n s t <<<"$v"
	eq "$(c "$n" digest --scope "$s")" "$(c "$t" digest --scope "$s")" "$n digest at its township"
	eq "$(c "$n" digest --scope "$s")" "$(c k digest --scope "$s")" "$n digest at the county"
	# a village holds only its own children
	eq "$(c "$n" --json child list --status all | python3 -c 'import json,sys; print(sorted({c["village_code"] for c in json.load(sys.stdin)}))')" \
		"['$s']" "$n holds only its own children"
done
eq "$(c t1 digest --scope 370522101)" "$(c k digest --scope 370522101)" "township 1 at the county"
eq "$(c k --json child list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 26 "county sees every child"
eq "$(c t1 --json child list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 13 "township sees its villages"
eq "$(c v12 --json child list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 7 "village sees the child its township filed"

# ---- concurrent guardian edits: one value everywhere, one open conflict ----
child=$(c v11 --json child list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
c v11 --user 联络员 guardian set "$child" --name 李奶奶 >/dev/null || bad "village edits guardian"
c t1 --user 专干 guardian set "$child" --name 王爷爷 >/dev/null || bad "township edits guardian"
for try in $(seq 1 40); do
	sleep 0.5
	round >/dev/null 2>&1
	[ "$(c k --json conflicts | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["conflicts"]))')" = 2 ] &&
		converged && break
done
for n in v11 t1 k; do
	eq "$(c $n --json conflicts | python3 -c 'import json,sys; print(sorted(c["value"] for c in json.load(sys.stdin)["conflicts"]))')" \
		"['李奶奶', '王爷爷']" "$n keeps both guardian values as one conflict"
done
g() { c "$1" --json child show "$child" | python3 -c 'import json,sys; print(json.load(sys.stdin)["guardian"]["name"])'; }
eq "$(g v11)" "$(g k)" "the same visible guardian at village and county"
eq "$(g t1)" "$(g k)" "the same visible guardian at township and county"

# ---- status is honest ----
st=$(c v11 --json status)
eq "$(printf '%s' "$st" | python3 -c 'import json,sys; p=json.load(sys.stdin)["parents"][0]; print(p["state"], p["pending_up"])')" \
	"synced 0" "village status after sync"
c v11 child add --name 待上传 --id "$(idnum 20150707141)" --household-address 三街 >/dev/null
eq "$(c v11 --json status | python3 -c 'import json,sys; p=json.load(sys.stdin)["parents"][0]; print(p["state"], p["pending_up"])')" \
	"pending 1" "an unsent op shows as pending"

# ---- refusals ----
c stray init --level village --code $V11 >/dev/null
out=$(c stray sync --once --parent "tcp://127.0.0.1:$PT1" --timeout 5 2>&1)
eq "$?" 4 "an unjoined node cannot sync (no chain)"
# a node with a chain from another county root and network key
c ca2 ca init >/dev/null
c rogue init --level township --code $T1 >/dev/null
c ca2 ca enroll --subject "$(cat "$work/rogue/node.pub")" --role township --code $T1 --out "$work/rogue.chain" >/dev/null
c rogue join --chain "$work/rogue.chain" --root "$work/ca2/root.pub" --network-key "$work/ca2/network.key" >/dev/null
out=$(c rogue sync --once --parent "tcp://127.0.0.1:$PK" --timeout 3 2>&1)
rc=$?
[ "$rc" != 0 ] && ok || bad "a node with another deployment's network key synced"
# a village pointed at the wrong township is refused by the handshake
out=$(c v21 sync --once --parent "tcp://127.0.0.1:$PT1" --timeout 5 2>&1)
eq "$?" 6 "a village of another township is refused"
printf '%s' "$out" | grep -q "不是本节点的下级\|not a child" && ok || bad "refusal names the reason: $out"
# nobody listening: a network failure, reported as such
dead=$(free_port)
out=$(c v11 sync --once --parent "tcp://127.0.0.1:$dead" --timeout 2 2>&1)
eq "$?" 9 "an unreachable parent is a network failure"
for n in k t1 t2 v11 v12 v21 v22; do
	c "$n" verify >/dev/null || bad "$n verify after sync"
	eq "$(c "$n" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["quarantined"])')" 0 "$n quarantine empty"
done

echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
