#!/usr/bin/env bash
# Integration suite (issue #4): a rural link, 64 kbit/s (8,000 bytes/s each
# way) with a 600 ms round trip (300 ms each way), through tests/faultproxy,
# with real carenode processes on 127.0.0.1.
#   1. A village's 2,000-op backlog goes up to its township (`serve`) over
#      that link while the link drops every 20 s (faultproxy --cut-every-ms).
#      The village retries `sync --once` like an operator would, with
#      backoff, until it succeeds. The proxy's log proves the cuts; then the
#      digests agree, verify passes at both ends and no op is held twice.
#   2. Urgent first through a township: county (`serve`) <- township
#      (`serve`, syncing up to the county over the slow link) <- village.
#      2a. The village comes online with a backlog of 3,000 routine ops
#          (minutes on that link) and one urgent visit filed after it: the
#          visit must reach the county while the county still lacks most of
#          the backlog.
#      2b. The same while the township is busy uploading that backlog: a
#          second urgent visit should still go first (a KNOWN BUG today:
#          `serve` serves no child while it syncs with its parent).
# Scenario 1 runs in the background while scenario 2 runs: both wait on
# the link, not the CPU. Timings are compared by orders of magnitude only.
# Usage: test_slowlink.sh PATH/TO/carenode PATH/TO/faultproxy
set -uo pipefail
cn=${1:?usage: test_slowlink.sh carenode faultproxy}
fp=${2:?usage: test_slowlink.sh carenode faultproxy}
work=$(mktemp -d)
pids=()
pass=0
fail=0
known=0
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	# a serve in the middle of an exchange stops only when the exchange
	# ends (minutes on this link, see 2b): nothing here needs more time
	sleep 0.5
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$fail" != 0 ]; then
		for l in "$work"/*.log "$work"/*.plog; do echo "== $l"; tail -8 "$l"; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
eq() { if [ "$1" = "$2" ]; then ok; else bad "$3: '$1' != '$2'"; fi; }
# a check that fails today because of a product bug already reported:
# printed loudly, not counted as a failure
known_bug() { if [ "$1" = "$2" ]; then ok; else known=$((known + 1)); echo "KNOWN BUG: $3: '$1' != '$2'"; fi; }
# between LOW HIGH VALUE MESSAGE: LOW <= VALUE < HIGH (decimals allowed)
between() {
	if awk -v lo="$1" -v hi="$2" -v v="$3" 'BEGIN { exit !(v >= lo && v < hi) }'; then
		ok
	else
		bad "$4: $3 not in [$1, $2)"
	fi
}

K=370522000000
T1=370522101000 V1=370522101201 # scenario 1
T2=370522102000 V2=370522102201 # scenario 2
RATE=8000 LATENCY=300           # 64 kbit/s each way, 600 ms round trip
c() { local d=$1; shift; "$cn" --dir "$work/$d" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# jget KEY: the first value of "KEY" in the one-line JSON on stdin
jget() { grep -o "\"$1\":\(\"[^\"]*\"\|[^,}\"]*\)" | head -1 | sed -e "s/^\"$1\"://" -e 's/^"//' -e 's/"$//'; }
# origin_ops NODE VILLAGE: ops of VILLAGE's node (its origin) in NODE's log
origin_ops() { c "$1" --json log | grep -o "\"origin\":\"$(cat "$work/$2/node.pub")\"" | wc -l; }
# opbytes NODE: the size of the signed ops in NODE's log (read only)
opbytes() { sqlite3 -readonly "$work/$1/carenode.db" "SELECT sum(length(bytes)) FROM ops"; }
# children NODE: how many children NODE holds
children() { c "$1" --json child list --status all | grep -o '"id":' | wc -l; }

# ---- enrolment: one county root; scenario 1 a township and its village,
# scenario 2 the county, another township and its village ----
c ca ca init >/dev/null || bad "ca init"
enrol_root() { # name role code
	c "$1" init --level "$([ "$2" = county ] && echo county || echo township)" --code "$3" >/dev/null &&
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
enrol_village v1 t1 $V1
enrol_village v2 t2 $V2

# serve NAME ARGS...: `carenode serve` for node NAME in the background,
# logging to NAME.log; sets spid
serve() {
	local name=$1
	shift
	"$cn" --dir "$work/$name" serve "$@" >/dev/null 2>>"$work/$name.log" &
	spid=$!
	pids+=($spid)
}
# proxy NAME TARGET-PORT FAULT-OPTIONS...: a faultproxy on a port it picks
# (sets pport, ppid), logging to NAME.plog
proxy() {
	local name=$1 target=$2 i
	shift 2
	"$fp" --listen 127.0.0.1:0 --target "127.0.0.1:$target" --log "$work/$name.plog" "$@" \
		2>>"$work/proxy.log" &
	ppid=$!
	pids+=($ppid)
	for i in $(seq 1 100); do
		pport=$(awk '$2 == "listen" { sub(/.*:/, "", $3); print $3; exit }' "$work/$name.plog" 2>/dev/null)
		[ -n "$pport" ] && return
		sleep 0.05
	done
	bad "proxy $name did not start"
}
# proxy_stop PID PLOG: SIGTERM; the proxy exits 0 and logs its exit
proxy_stop() {
	kill -TERM "$1"
	wait "$1"
	eq "$?" 0 "proxy exits 0 on SIGTERM ($2)"
	grep -q ' exit conns=' "$work/$2" && ok || bad "proxy logs its exit ($2)"
}
# retry NAME NODE PORT LIMIT: what an operator (or serve) does on a bad
# link: `sync --once` until it succeeds, backing off 1, 2, 4 ... 16 s, and
# no new attempt after LIMIT seconds. One line per attempt in NAME.tries
# (exit code, seconds since the start); the last attempt's JSON in
# NAME.json. Meant for the background: SIGTERM ends it and its sync.
retry() {
	local name=$1 node=$2 port=$3 limit=$4 t0 delay=1 rc sp=
	trap '[ -n "$sp" ] && kill "$sp" 2>/dev/null; exit 1' TERM
	t0=$(now)
	while :; do
		"$cn" --dir "$work/$node" --json sync --once --parent "tcp://127.0.0.1:$port" \
			>"$work/$name.json" 2>>"$work/$node.log" &
		sp=$!
		wait "$sp"
		rc=$?
		sp=
		echo "$rc $(since "$t0")" >>"$work/$name.tries"
		[ "$rc" = 0 ] && return 0
		awk -v s="$(since "$t0")" -v l="$limit" 'BEGIN { exit !(s > l) }' && return "$rc"
		sleep "$delay" &
		sp=$!
		wait "$sp"
		sp=
		delay=$((delay < 16 ? delay * 2 : 16))
	done
}
# stop PID: SIGTERM and wait
stop() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# Synthetic children (no real data); each scenario's village files its own
"$cn" synth --village $V1 --count 2000 --seed 11 --out "$work/v1.csv" >/dev/null || bad "synth v1"
"$cn" synth --village $V2 --count 3020 --seed 12 --out "$work/v2.csv" >/dev/null || bad "synth v2"

# ---- 1. a 2,000-op backlog over a link that drops every 20 s ----
c v1 import "$work/v1.csv" >/dev/null || bad "1: the village files 2,000 children offline"
backlog1=$(origin_ops v1 v1) # the 2,000 children and the village's certificate
opbytes1=$(opbytes v1)
PT1=$(free_port)
serve t1 --listen "tcp://127.0.0.1:$PT1"
proxy s1 "$PT1" --latency-ms $LATENCY --rate $RATE --cut-every-ms 20000
s1_proxy=$ppid P1=$pport
t1_start=$(now)
retry s1 v1 "$P1" 480 &
s1_retry=$!
pids+=($s1_retry)

# ---- 2. urgent first through a township ----
PK=$(free_port) PT2=$(free_port)
serve k --listen "tcp://127.0.0.1:$PK"
kpid=$spid
proxy up2 "$PK" --latency-ms $LATENCY --rate $RATE
up2_proxy=$ppid P2=$pport
# yesterday's 20 children are already at the county: filed, synced to the
# township, which then started with its link to the county
{ head -1 "$work/v2.csv" && sed -n 2,21p "$work/v2.csv"; } >"$work/v2-old.csv"
{ head -1 "$work/v2.csv" && tail -n +22 "$work/v2.csv"; } >"$work/v2-new.csv"
kid1=$(sed -n 2p "$work/v2.csv" | cut -d, -f2)
kid2=$(sed -n 3p "$work/v2.csv" | cut -d, -f2)
c v2 import "$work/v2-old.csv" >/dev/null || bad "2: the village files 20 children"
serve t2 --listen "tcp://127.0.0.1:$PT2"
sleep 0.3
c v2 sync --once --parent "tcp://127.0.0.1:$PT2" >/dev/null || bad "2: the village's first sync"
stop "$spid"
# routine ops wait for the interval (60 s); an urgent one goes at once
serve t2 --listen "tcp://127.0.0.1:$PT2" --parent "tcp://127.0.0.1:$P2" --interval 60
t2pid=$spid
for i in $(seq 1 120); do
	[ "$(c k digest --scope $V2)" = "$(c v2 digest --scope $V2)" ] && break
	sleep 0.5
done
eq "$(c k digest --scope $V2)" "$(c v2 digest --scope $V2)" "2: yesterday's children reached the county"
# today's backlog, filed offline: 3,000 children, then one urgent visit
old2=$(opbytes v2)
c v2 import "$work/v2-new.csv" >/dev/null || bad "2: the village files 3,000 children offline"
backlog2=3000
opbytes2=$(($(opbytes v2) - old2))
# the least the backlog can take on this link: zstd gives it about a third
floor2=$(awk -v b="$opbytes2" -v r=$RATE 'BEGIN { printf "%.0f", b / 3 / r }')

# urgent_at_county MARK CHILD LIMIT: polls the county's file of CHILD until
# it shows MARK; sets secs (since t0) and held (backlog children the county
# holds then), or secs=none
urgent_at_county() {
	local i
	secs=none
	for i in $(seq 1 $(($3 * 4))); do
		if c k --json child show "$2" 2>/dev/null | grep -q "$1"; then
			secs=$(since "$t0")
			held=$(($(children k) - 20))
			return
		fi
		sleep 0.25
	done
	held=$(($(children k) - 20))
}

# 2a. the village comes online with the backlog and the urgent visit
c v2 --urgent visit "$kid1" --type party_cadre --date 2026-11-30 --visitor 张书记 \
	--findings "紧急一：儿童独自在家，手臂受伤，已报告派出所 / URGENT-ONE" >/dev/null ||
	bad "2a: the village files an urgent visit"
t0=$(now)
retry v2a v2 "$PT2" 120 &
v2_retry=$!
pids+=($v2_retry)
urgent_at_county URGENT-ONE "$kid1" 120
[ "$secs" != none ] && ok || bad "2a: the urgent visit reached the county"
between 0 "$(awk -v f="$floor2" 'BEGIN { print f / 5 }')" "${secs/none/999}" \
	"2a: seconds for the urgent visit against the backlog's ${floor2} s at best"
between 0 $((backlog2 / 2)) "$held" "2a: backlog children at the county when the urgent visit arrived"
grep -q "relaying it to the parent now" "$work/t2.log" && ok ||
	bad "2a: the township relays the urgent op at once"
echo "2a. urgent visit at the county after ${secs} s; the county then held $held of the $backlog2-op backlog" \
	"($opbytes2 bytes of ops: at least ${floor2} s on this link)"

# 2b. the township holds the whole backlog and is uploading it (it starts
# as soon as the urgent visit arrives in chain order, at the end of the
# backlog); the village files a second urgent visit and comes online
for i in $(seq 1 240); do
	[ "$(c v2 --json status | jget pending_up)" = 0 ] && break
	sleep 0.5
done
eq "$(c v2 --json status | jget pending_up)" 0 "2b: the whole backlog is at the township"
for i in $(seq 1 120); do
	[ "$(children k)" -gt 20 ] && break
	sleep 0.5
done
stop "$v2_retry"
busy=$(($(children k) - 20))
between 1 $((backlog2 / 2)) "$busy" "2b: the township is uploading the backlog (children at the county)"
c v2 --urgent visit "$kid2" --type party_cadre --date 2026-11-30 --visitor 张书记 \
	--findings "紧急二：儿童失联，已报告派出所 / URGENT-TWO" >/dev/null ||
	bad "2b: the village files a second urgent visit"
t0=$(now)
retry v2b v2 "$PT2" 30 &
v2_retry=$!
pids+=($v2_retry)
urgent_at_county URGENT-TWO "$kid2" 30
eq "$([ "$secs" != none ] && [ "$held" -lt $((backlog2 / 2)) ] && echo first)" first \
	"2b: an urgent visit filed while the township uploads the backlog reaches the county first (within 30 s; it held $held of $backlog2)"
echo "2b. township uploading ($busy of $backlog2 at the county): the second urgent visit" \
	"$([ "$secs" = none ] && echo "had not reached the county after 30 s" || echo "reached it after ${secs} s");" \
	"$([ -s "$work/v2b.tries" ] && echo "village attempts (exit code, seconds): $(paste -sd, "$work/v2b.tries")" ||
		echo "the village's sync --once had no answer from the township yet")"
stop "$v2_retry"
# serve stops on SIGTERM (Ctrl-C) within seconds, even mid-upload (the
# uplink is left to end with the process: every batch is atomic)
kill -TERM "$t2pid"
for i in $(seq 1 80); do
	kill -0 "$t2pid" 2>/dev/null || break
	sleep 0.1
done
eq "$(kill -0 "$t2pid" 2>/dev/null && echo running || echo stopped)" stopped \
	"2b: the township's serve stops within 8 s of SIGTERM while it uploads"
kill -KILL "$t2pid" 2>/dev/null
wait "$t2pid" 2>/dev/null
stop "$kpid"
proxy_stop "$up2_proxy" up2.plog
for n in k t2 v2; do
	c "$n" verify >/dev/null || bad "2: $n verify"
	eq "$(c "$n" --json status | jget quarantined)" 0 "2: $n quarantined nothing"
done

# ---- 1, the end ----
wait "$s1_retry"
eq "$?" 0 "1: the village's sync --once succeeded within its retries"
s1_secs=$(since "$t1_start")
proxy_stop "$s1_proxy" s1.plog
cuts=$(grep -c ' fault cut dir=both up=[0-9]* down=[0-9]* how=every$' "$work/s1.plog")
between 2 1000 "$cuts" "1: the proxy cut the link every 20 s while the backlog went up"
# at least one cut fell in the middle of the upload, not between exchanges
mid=$(awk '$5 == "cut" && $9 == "how=every" { sub("up=", "", $7); if ($7 + 0 > 20000) n++ } END { print n + 0 }' "$work/s1.plog")
between 1 1000 "$mid" "1: cuts in the middle of the upload"
up=$(awk '$2 == "conn" && $4 == "close" { sub("up=", "", $5); s += $5 } END { print s + 0 }' "$work/s1.plog")
tries=$(wc -l <"$work/s1.tries")
out=$(cat "$work/s1.json")
# the proxy really held it to 8,000 bytes/s
between "$(awk -v u="$up" -v r=$RATE 'BEGIN { print (u - 1000) / r }')" 600 "$s1_secs" \
	"1: seconds for $up bytes at $RATE bytes/s"
eq "$(c v1 digest --scope $V1)" "$(c t1 digest --scope $V1)" "1: village and township digests agree"
eq "$(origin_ops t1 v1)" "$backlog1" "1: the township holds each of the village's $backlog1 ops once"
eq "$(origin_ops v1 v1)" "$backlog1" "1: the village's own log is unchanged"
eq "$(children t1)" 2000 "1: the township holds each child once"
for n in t1 v1; do
	c "$n" verify >/dev/null || bad "1: $n verify"
	eq "$(c "$n" --json status | jget quarantined)" 0 "1: $n quarantined nothing"
done
eq "$(c v1 --json status | jget state)" synced "1: village status"
echo "1. $backlog1 ops ($opbytes1 bytes of ops) at $RATE bytes/s, 600 ms round trip, a cut every 20 s:" \
	"$cuts cuts ($mid mid-upload), $tries sync --once attempt(s), ${s1_secs} s;" \
	"the proxy carried $up bytes up, the successful sync sent $(printf '%s' "$out" | jget wire_sent)" \
	"in $(printf '%s' "$out" | jget round_trips) round trips"

echo
echo "$pass passed, $fail failed$([ "$known" = 0 ] || echo ", $known known bugs (see the KNOWN BUG lines)")"
[ "$fail" = 0 ]
