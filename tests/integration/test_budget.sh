#!/usr/bin/env bash
# Integration suite (issue #4, item 8): a replica budget and a parent that
# rate-limits a flooding child, so one oversized or misbehaving village
# cannot stall its township. Real processes on 127.0.0.1:
#  1. a village over its budget refuses new work (exit 8, the limit named,
#     nothing half-written), still takes an urgent report, verifies;
#  2. a township over its budget refuses a village's push: the village is
#     told why, loses nothing, and finishes once the budget is raised;
#  3. a township serving with --child-rate: a village pushing a large
#     backlog is told "busy, retry" while a second village's small sync
#     still succeeds at once; the first finishes by retrying, nothing lost.
# Usage: test_budget.sh PATH/TO/carenode
set -uo pipefail
cn=${1:?usage: test_budget.sh carenode}
. "$(dirname "$0")/lib.sh"
nkids() { c "$1" --json child list --status all | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
nops() { c "$1" --json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["ops"])'; }

T=370522101000 V1=370522101201 V2=370522101202
c ca ca init >/dev/null || bad "ca init"
c t init --level township --code $T >/dev/null &&
	c ca ca enroll --subject "$(cat "$work/t/node.pub")" --role township --code $T --out "$work/t.chain" >/dev/null &&
	c t join --chain "$work/t.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "enrol the township"
for v in v1:$V1 v2:$V2; do
	d=${v%%:*} code=${v#*:}
	c "$d" init --level village --code "$code" >/dev/null &&
		c t enroll --subject "$(cat "$work/$d/node.pub")" --code "$code" --out "$work/$d.chain" >/dev/null &&
		c "$d" join --chain "$work/$d.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
		bad "enrol $d"
done
"$cn" synth --village $V1 --count 3000 --seed 4 --out "$work/v1.csv" >/dev/null || bad "synth v1"
"$cn" synth --village $V2 --count 5 --seed 5 --out "$work/v2.csv" >/dev/null || bad "synth v2"

# ---- 1. a village over its own budget ----
c v1 budget --max-mb 1 >/dev/null || bad "set a 1 MB budget"
before=$(nops v1)
out=$(c v1 import "$work/v1.csv" 2>&1)
eq "$?" 8 "1: an import past the budget exits 8"
printf '%s' "$out" | grep -q "上限.*limit of 1.0 MB" && ok || bad "1: the message names the limit: $out"
eq "$(nops v1)" "$before" "1: nothing of the refused import was written"
eq "$(nkids v1)" 0 "1: no child filed"
# fill to just below: a small file goes in, with the 90% warning when near
{ head -1 "$work/v1.csv" && tail -n +2 "$work/v1.csv" | head -100; } >"$work/small.csv"
c v1 import "$work/small.csv" >/dev/null 2>"$work/v1.log" || bad "1: a small import under the budget"
kid=$(c v1 --json child list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
c v1 budget --max-mb 1 >/dev/null
# an urgent report is taken whatever the budget; a routine one when room is left
long=$(head -c 900 /dev/zero | tr '\0' x)
for i in $(seq 1 3000); do
	c v1 visit "$kid" --type party_cadre --date 2026-11-29 --visitor 张丽 --findings "例行走访，儿童在家。$long" >/dev/null 2>>"$work/v1.log" || break
done
out=$(c v1 visit "$kid" --type party_cadre --date 2026-11-29 --visitor 张丽 --findings 例行 2>&1)
eq "$?" 8 "1: a routine visit past the budget exits 8"
grep -q "warning: the replica uses" "$work/v1.log" && ok || bad "1: a warning was printed near the limit"
c v1 --urgent visit "$kid" --type party_cadre --date 2026-11-29 --visitor 张丽 --findings 发现儿童独自在家受伤 >/dev/null
eq "$?" 0 "1: an urgent report is taken over the budget"
c v1 verify >/dev/null || bad "1: verify after refusals"
used=$(c v1 --json budget | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["budget_bytes"])')
eq "$used" $((1 << 20)) "1: budget --json reports the limit"
c v1 budget --off >/dev/null || bad "1: budget --off"

# ---- 2. a township over its budget refuses a push, the village keeps it ----
P=$(free_port)
c t budget --max-mb 1 >/dev/null || bad "2: township budget"
"$cn" --dir "$work/t" serve --listen "tcp://127.0.0.1:$P" >/dev/null 2>"$work/t.log" &
tpid=$!
pids+=($tpid)
sleep 0.3
{ head -1 "$work/v1.csv" && tail -n +102 "$work/v1.csv" | head -1500; } >"$work/mid.csv"
c v1 import "$work/mid.csv" >/dev/null || bad "2: the village files 1500 more children"
vkids=$(nkids v1)
out=$(c v1 sync --once --parent "tcp://127.0.0.1:$P" 2>&1)
eq "$?" 8 "2: the push to a full township exits 8"
printf '%s' "$out" | grep -q "parent refused.*limit" && ok || bad "2: the village is told the township is at its limit: $out"
eq "$(nkids v1)" "$vkids" "2: the village lost nothing"
pending=$(c v1 --json status | python3 -c 'import json,sys; print(sum(p["pending_up"] for p in json.load(sys.stdin)["parents"]))')
[ "$pending" -gt 0 ] && ok || bad "2: the rest waits to go up ($pending)"
c t budget --max-mb 200 >/dev/null || bad "2: raise the township's budget"
kill $tpid; wait $tpid 2>/dev/null
"$cn" --dir "$work/t" serve --listen "tcp://127.0.0.1:$P" >/dev/null 2>>"$work/t.log" &
tpid=$!
pids+=($tpid)
sleep 0.3
c v1 sync --once --parent "tcp://127.0.0.1:$P" >/dev/null 2>>"$work/v1.log"
eq "$?" 0 "2: with room, the sync completes"
eq "$(c t digest --scope $V1)" "$(c v1 digest --scope $V1)" "2: township and village agree"
kill $tpid; wait $tpid 2>/dev/null

# ---- 3. a flooding village is rate-limited; its neighbour is not stalled ----
{ head -1 "$work/v1.csv" && tail -n +1602 "$work/v1.csv"; } >"$work/rest.csv"
c v1 import "$work/rest.csv" >/dev/null || bad "3: the village files the rest"
c v2 import "$work/v2.csv" >/dev/null || bad "3: village 2 files 5 children"
"$cn" --dir "$work/t" serve --listen "tcp://127.0.0.1:$P" --child-rate 48 >/dev/null 2>"$work/t3.log" &
tpid=$!
pids+=($tpid)
sleep 0.3
# the flood: village 1 syncs again and again until done
(
	for i in $(seq 1 200); do
		c v1 sync --once --parent "tcp://127.0.0.1:$P" --batch 65536 >/dev/null 2>>"$work/v1sync.log" && exit 0
		sleep 0.2
	done
	exit 1
) &
flood=$!
sleep 2
t0=$(date +%s.%N)
c v2 sync --once --parent "tcp://127.0.0.1:$P" >/dev/null 2>"$work/v2.log"
eq "$?" 0 "3: village 2 syncs while village 1 floods"
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
awk -v s="$secs" 'BEGIN { exit !(s < 10) }' && ok || bad "3: village 2 was not stalled ($secs s)"
echo "village 2 synced in $secs s during village 1's flood"
wait $flood
eq "$?" 0 "3: village 1 finishes by retrying"
grep -q "rate-limited $V1" "$work/t3.log" && ok || bad "3: the township rate-limited village 1"
grep -q "the parent is busy" "$work/v1sync.log" && ok || bad "3: village 1 was told to retry"
eq "$(c t digest --scope $V1)" "$(c v1 digest --scope $V1)" "3: nothing of village 1 lost"
eq "$(c t digest --scope $V2)" "$(c v2 digest --scope $V2)" "3: village 2 arrived"
eq "$(nkids t)" 3005 "3: the township holds every child once"
c t verify >/dev/null || bad "3: township verify"

kill $tpid; wait $tpid 2>/dev/null

# ---- 4. a bundle to a township over its budget: the urgent report in it
# is taken, the rest waits (several frames of routine ops) ----
# a child the township already holds (synced in 3), then a large backlog
kid2=$(c v2 --json child list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
"$cn" synth --village $V2 --count 2600 --seed 11 --out "$work/v2b.csv" >/dev/null
c v2 import "$work/v2b.csv" --skip-bad >/dev/null 2>&1
c v2 --urgent visit "$kid2" --type party_cadre --date 2026-11-30 --visitor 李联络员 --findings 紧急标记儿童失联 >/dev/null ||
	bad "4: an urgent visit at village 2"
c t budget --max-mb 1 >/dev/null
out=$(c v2 --json bundle export --to $T --out "$work/b1.cnb")
frames=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["frames"])')
[ "$frames" -ge 4 ] && ok || bad "4: the bundle has several frames of ops ($frames)"
out=$(c t --json bundle import "$work/b1.cnb" --receipt "$work/b1r.cnb" 2>&1)
eq "$?" 0 "4: a township over its budget imports what it may: $out"
printf '%s' "$out" | grep -q '"deferred":[1-9]' && ok || bad "4: the routine ops are deferred: $out"
printf '%s' "$out" | grep -q 'limit' && ok || bad "4: the note names the budget: $out"
c t child show "$kid2" | grep -q 紧急标记儿童失联 && ok || bad "4: the urgent visit reached the full township"
c v2 bundle import "$work/b1r.cnb" >/dev/null || bad "4: village 2 imports the receipt"
c t budget --off >/dev/null
c v2 bundle export --to $T --out "$work/b2.cnb" >/dev/null && c t bundle import "$work/b2.cnb" --receipt "$work/b2r.cnb" >/dev/null &&
	c v2 bundle import "$work/b2r.cnb" >/dev/null || bad "4: with room, the next bundle completes"
eq "$(c t digest --scope $V2)" "$(c v2 digest --scope $V2)" "4: nothing of village 2 lost"
c t verify >/dev/null || bad "4: township verify"
echo "budget: $pass passed, $fail failed"
[ "$fail" = 0 ]
