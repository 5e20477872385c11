#!/usr/bin/env bash
# Integration suite (R5, issue #7's simulation found it): a township whose
# link to the county has been down long enough to back off its retries
# still sends an urgent op (a mandatory report) within seconds of the link
# coming back, not after the backoff it had reached. Real processes on
# 127.0.0.1; the link is cut and restored with tests/faultproxy.
# Usage: test_backoff.sh PATH/TO/carenode PATH/TO/faultproxy
set -uo pipefail
cn=${1:?usage: test_backoff.sh carenode faultproxy}
fp=${2:?usage: test_backoff.sh carenode faultproxy}
. "$(dirname "$0")/lib.sh"
export CARENODE_USER=test
K=370522000000 T=370522101000 V=370522101201
TODAY=$(TZ=Asia/Shanghai date +%F)

c ca ca init >/dev/null || bad "ca init"
enrol_root k county $K
enrol_root t township $T
enrol_village v t $V
"$cn" synth --village $V --count 3 --seed 1 --out "$work/v.csv"
c v import "$work/v.csv" >/dev/null || bad "v files its children"

PK=$(free_port) PP=$(free_port) PT=$(free_port)
"$cn" --dir "$work/k" serve --listen "tcp://127.0.0.1:$PK" >/dev/null 2>"$work/k.log" &
pids+=($!)
"$fp" --listen "127.0.0.1:$PP" --target "127.0.0.1:$PK" >"$work/p1.log" 2>&1 &
proxy=$!
pids+=($proxy)
# each try at a cut link takes 10 s to time out; with a 2 s interval the
# backoff reaches 16 s within 40 s of the cut, and the failed urgent try
# would double it to 32 s (16 to 48 with the jitter)
"$cn" --dir "$work/t" serve --listen "tcp://127.0.0.1:$PT" --parent "tcp://127.0.0.1:$PP" \
	--interval 2 >/dev/null 2>"$work/t.log" &
pids+=($!)
sleep 0.5
vsync() { c v sync --once --parent "tcp://127.0.0.1:$PT" --timeout 10 >/dev/null 2>>"$work/v.log"; }
vsync || bad "the village syncs"
for i in $(seq 1 40); do
	[ "$(c k digest --scope $V)" = "$(c v digest --scope $V)" ] && break
	sleep 0.5
done
eq "$(c k digest --scope $V)" "$(c v digest --scope $V)" "the county holds the village before the cut"

# ---- the link to the county goes down long enough to back off ----
kill "$proxy"
wait "$proxy" 2>/dev/null
sleep 40
grep -c "sync failed" "$work/t.log" | grep -qv '^0$' && ok || bad "the township's syncs fail while cut"
child=$(c v --json child list | py 'd[0]["id"]')
c v report "$child" --reporter-type school --reporter 王老师 --situation domestic_violence \
	--found-date "$TODAY" --date "$TODAY" --details 淤青 >/dev/null || bad "a mandatory report"
vsync || bad "the report reaches the township"
sleep 12 # the township tries at once, and fails (10 s): the link is still down

# ---- the link is back: the report goes up within seconds ----
"$fp" --listen "127.0.0.1:$PP" --target "127.0.0.1:$PK" >"$work/p2.log" 2>&1 &
pids+=($!)
up=$(date +%s)
got=""
for i in $(seq 1 60); do
	c k --json reports | grep -q '"report"' && got=$(($(date +%s) - up)) && break
	sleep 0.5
done
[ -n "$got" ] && [ "$got" -le 12 ] && ok ||
	bad "the report reached the county ${got:-never (30 s)} s after the link returned (a backed-off township must retry within seconds while an urgent op waits)"
echo "   the report at the county ${got:-?} s after the link came back"

echo "backoff: $pass passed, $fail failed"
[ "$fail" = 0 ]
