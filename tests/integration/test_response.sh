#!/usr/bin/env bash
# Integration suite (issue #5 item 3: R5, R6, R10): a mandatory report and
# the police's response across real carenode processes on 127.0.0.1.
#   1. One county root CA; a county node (serve), a township (serve, its
#      parent the county), a village (sync --once to the township), and the
#      county's police and civil affairs (county-level department nodes,
#      sync --once to the county).
#   2. The village holds a backlog of 3,000 routine children filed offline;
#      a school files a mandatory report (R5, always urgent).
#   3. One round up: the village pushes it all to the township, whose serve
#      relays the urgent report to the county at once, over a 16 kB/s link
#      (tests/faultproxy) that holds the backlog back: the police and civil
#      affairs hold the report while the county still lacks most of the
#      backlog (R5.3). Then the township links to the county directly.
#   3b. A village the county never met (enrolled by the township, never
#      synced) files a report behind 1,500 children: the certificate that
#      vouches for it travels ahead of the report, and the report reaches
#      the county in seconds, before the backlog, nothing quarantined.
#   4. The police accept, go out, stop the violence and notify the township
#      (R6.1-R6.3); a second accept is refused. The township sees the steps
#      and a township_received task (R6.3), records it, the task goes; a
#      village and a non-police step at the township are refused (R6 rights).
#   5. A second report nobody accepts: two hours on, the county's task list
#      has it overdue and raised to the county (R10); not overdue now.
#   6. The joint meeting's report counts the township's reports (R10).
#   7. The county sets a deadline (R6, R10): it reaches the police and the
#      village, and changes what is overdue; a village or the police cannot
#      set one.
# Usage: test_response.sh PATH/TO/carenode PATH/TO/faultproxy
set -uo pipefail
cn=${1:?usage: test_response.sh carenode faultproxy}
fp=${2:?usage: test_response.sh carenode faultproxy}
. "$(dirname "$0")/lib.sh"
t_start=$(date +%s)

K=370522000000 T=370522101000 V=370522101201
PK=$(free_port) PT=$(free_port)
BACKLOG=3000
TODAY=$(TZ=Asia/Shanghai date +%F)
nops() { c "$1" --json info | py 'd["ops"]'; }
nkids() { c "$1" --json info | py 'd["children_active"]'; }
# has_report NODE REPORT: the node lists the report
has_report() { c "$1" --json reports | py "any(r['report'] == '$2' for r in d)"; }
# report_field NODE REPORT EXPR: EXPR of the report's JSON (r) at NODE
report_field() { c "$1" --json reports | py "[$3 for r in d if r['report'] == '$2']"; }
# serve NAME ARGS...: `carenode serve` in the background, logging to NAME.log; sets spid
serve() {
	local name=$1
	shift
	"$cn" --dir "$work/$name" serve "$@" >/dev/null 2>>"$work/$name.log" &
	spid=$!
	pids+=($spid)
}
# stop PID: SIGTERM, then SIGKILL after 8 s (a serve mid-upload on the slow
# link ends its round trip first; every batch is atomic either way)
stop() {
	local i
	kill -TERM "$1" 2>/dev/null
	for i in $(seq 1 80); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
up() { # NODE PORT: one sync --once to the parent at PORT
	c "$1" sync --once --parent "tcp://127.0.0.1:$2" --timeout 20 >/dev/null 2>>"$work/$1.sync.log"
}
# wait_for SECONDS 'SHELL TEST': evaluates the test every 0.25 s until it holds
wait_for() {
	local i
	for i in $(seq 1 $(($1 * 4))); do
		eval "$2" && return 0
		sleep 0.25
	done
	return 1
}

# ---- 1. the hierarchy: key ceremony and enrolment ----
c ca ca init >/dev/null || bad "ca init"
enrol_root() { # name role level code
	c "$1" init --level "$3" --code "$4" >/dev/null &&
		c ca ca enroll --subject "$(cat "$work/$1/node.pub")" --role "$2" --code "$4" --out "$work/$1.chain" >/dev/null &&
		c "$1" join --chain "$work/$1.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
		bad "enrol $1"
}
enrol_root k county county $K
enrol_root police police county $K         # the county's public security bureau
enrol_root civil civil_affairs county $K   # the county's civil affairs bureau
enrol_root t township township $T
c v init --level village --code $V >/dev/null &&
	c t enroll --subject "$(cat "$work/v/node.pub")" --code $V --out "$work/v.chain" >/dev/null &&
	c v join --chain "$work/v.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "enrol v"
eq "$(sqlite3 "$work/police/carenode.db" "SELECT value FROM meta WHERE key = 'role'")" police "the police node's role"
eq "$(sqlite3 "$work/civil/carenode.db" "SELECT value FROM meta WHERE key = 'role'")" civil_affairs "the civil affairs node's role"

# yesterday's 20 children are everywhere; today's 3,000 are filed offline
"$cn" synth --village $V --count $((BACKLOG + 20)) --seed 51 --out "$work/all.csv" >/dev/null || bad "synth"
{ head -1 "$work/all.csv" && sed -n 2,21p "$work/all.csv"; } >"$work/old.csv"
{ head -1 "$work/all.csv" && tail -n +22 "$work/all.csv"; } >"$work/new.csv"
kid1=$(sed -n 2p "$work/all.csv" | cut -d, -f2)
kid2=$(sed -n 3p "$work/all.csv" | cut -d, -f2)
c v import "$work/old.csv" >/dev/null || bad "the village files 20 children"
serve k --listen "tcp://127.0.0.1:$PK"
kpid=$spid
serve t --listen "tcp://127.0.0.1:$PT"
tpid=$spid
sleep 0.3
up v $PT || bad "yesterday: village -> township"
stop $tpid
up t $PK || bad "yesterday: township -> county"
up police $PK || bad "yesterday: police <- county"
up civil $PK || bad "yesterday: civil affairs <- county"
eq "$(c k digest --scope $V)" "$(c v digest --scope $V)" "yesterday's children reached the county"
eq "$(nkids police)" 20 "the police hold yesterday's children"

# the township serves again, up to the county over a slow link (16 kB/s,
# 100 ms each way), its routine uplink every 10 minutes: only an urgent op
# makes it sync before then
"$fp" --listen 127.0.0.1:0 --target "127.0.0.1:$PK" --latency-ms 100 --rate 16000 \
	--log "$work/link.plog" 2>>"$work/proxy.log" &
ppid=$!
pids+=($ppid)
# the port the proxy picked, from its log's first line
proxy_port() { awk '$2 == "listen" { sub(/.*:/, "", $3); print $3; exit }' "$work/link.plog" 2>/dev/null; }
wait_for 5 '[ -n "$(proxy_port)" ]' || bad "the slow link's proxy did not start"
PL=$(proxy_port)
serve t --listen "tcp://127.0.0.1:$PT" --parent "tcp://127.0.0.1:$PL" --interval 600
tpid=$spid
wait_for 20 'grep -q "synced with" "$work/t.log"' || bad "the township's first uplink sync"

# ---- 2. a backlog, then a school's mandatory report (R5) ----
c v import "$work/new.csv" >/dev/null || bad "the village files $BACKLOG children offline"
kops0=$(nops k)
out=$(c v --user 王老师 --json report "$kid1" --reporter-type school --reporter "洼张小学 王老师" \
	--situation domestic_violence --found-date "$TODAY" --date "$TODAY" \
	--details "儿童身上多处淤青，称被继父殴打")
eq "$?" 0 "R5: a school files a mandatory report at the village"
R1=$(printf '%s' "$out" | py 'd["record"]')
eq "${#R1}" 32 "R5: the report has a record id"
eq "$(sqlite3 "$work/v/carenode.db" "SELECT urgent FROM ops ORDER BY rowid DESC LIMIT 1")" 1 \
	"R5: the report's op is urgent"

# ---- 3. one round up: the report ahead of the backlog (R5.3) ----
t0=$(date +%s.%N)
up v $PT || bad "R5: village -> township with the backlog and the report"
wait_for 20 '[ "$(has_report k "$R1")" = True ]' || bad "R5.3: the township relayed the report to the county"
up police $PK || bad "R5.3: police <- county"
up civil $PK || bad "R5.3: civil affairs <- county"
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
eq "$(has_report police "$R1")" True "R5.3: the police hold the report"
eq "$(has_report civil "$R1")" True "R5.3: civil affairs hold the report"
eq "$(report_field police "$R1" 'r["situation"]')" "['domestic_violence']" "R5.3: the police read the situation"
grep -q "relaying it to the parent now" "$work/t.log" && ok || bad "R5.3: the township relayed the urgent op itself"
kkids=$(nkids k)
kops=$(nops k)
[ "$kkids" -lt $((20 + BACKLOG)) ] && ok ||
	bad "R5.3: the county holds the whole backlog already ($kkids children): the report did not come first"
[ "$(nkids police)" -lt $((20 + BACKLOG)) ] && ok || bad "R5.3: the police hold the whole backlog already"
echo "3. report at the police and civil affairs after ${secs} s; the county then held $((kkids - 20)) of" \
	"the $BACKLOG backlog children ($((kops - kops0)) new ops), the township $(($(nkids t) - 20))"

# ---- 3b. a village the county never met (R5.3): its certificate goes up
# ahead of its report, and the report ahead of its backlog ----
V2=370522101202
c v2 init --level village --code $V2 >/dev/null &&
	c t enroll --subject "$(cat "$work/v2/node.pub")" --code $V2 --out "$work/v2.chain" >/dev/null &&
	c v2 join --chain "$work/v2.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "enrol v2"
"$cn" synth --village $V2 --count 1500 --seed 52 --out "$work/v2.csv" >/dev/null || bad "synth v2"
c v2 import "$work/v2.csv" >/dev/null || bad "the new village files 1500 children offline"
kid3=$(sed -n 2p "$work/v2.csv" | cut -d, -f2)
out=$(c v2 --user 王老师 --json report "$kid3" --reporter-type school --reporter "杨董小学 王老师" \
	--situation missing --found-date "$TODAY" --date "$TODAY" --details "孩子两天没到校，家中无人")
R3=$(printf '%s' "$out" | py 'd["record"]')
t0=$(date +%s.%N)
up v2 $PT || bad "R5: the new village -> township"
wait_for 20 '[ "$(has_report k "$R3")" = True ]' ||
	bad "R5.3: the new village's report reached the county (its certificate went first)"
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
v2kids=$(c k --json child list --village $V2 | py 'len(d)')
[ "$v2kids" -lt 1500 ] && ok ||
	bad "R5.3: the county holds the new village's whole backlog ($v2kids): the report did not come first"
eq "$(c k --json status | py 'd["quarantined"]')" 0 \
	"R5.3: nothing quarantined at the county"
echo "3b. a new village's report at the county after ${secs} s, with $v2kids of its 1500 children"

# from now on the township links to the county directly, its routine
# uplink every second: the backlog goes up
stop $tpid
stop $ppid
serve t --listen "tcp://127.0.0.1:$PT" --parent "tcp://127.0.0.1:$PK" --interval 1
tpid=$spid

# ---- 4. the police respond (R6) ----
for s in accept dispatch stop_violence notify_township; do
	c police --user 李警官 respond "$R1" --step $s --by 李警官 >/dev/null || bad "R6: the police record $s"
done
out=$(c police --user 李警官 respond "$R1" --step accept --by 李警官 2>&1)
eq "$?" 7 "R6.1: a second accept is refused"
printf '%s' "$out" | grep -q "already accepted" && ok || bad "R6.1: the refusal says why: $out"
eq "$(report_field police "$R1" 'r["steps"]')" "[['accept', 'dispatch', 'stop_violence', 'notify_township']]" \
	"R6: the police's steps at the police"
eq "$(report_field police "$R1" 'r["missing"]')" "[[]]" "R6.2: nothing the situation requires is missing"
up police $PK || bad "R6: police -> county"
steps_at() { report_field "$1" "$R1" '" ".join(r["steps"])'; }
STEPS4="['accept dispatch stop_violence notify_township']"
wait_for 30 '[ "$(steps_at t)" = "$STEPS4" ]' ||
	bad "R6.3: the township pulled the police's steps from the county"
eq "$(steps_at k)" "$STEPS4" "R6: the steps at the county"
eq "$(steps_at t)" "$STEPS4" "R6.3: the steps at the township"
eq "$(report_field t "$R1" 'len(r["accepted_at"]) == 16')" "[True]" "R6.1: the township sees when it was accepted"
eq "$(report_field t "$R1" 'r["accepted_at"]')" "$(report_field police "$R1" 'r["accepted_at"]')" \
	"R6.1: the same acceptance time at the township and the police"
# the township's task: acknowledge the police's notice (R6.3)
ack_tasks() { # NODE: the township_received tasks of R1 at NODE
	c "$1" --json tasks | py "[t['responsible'] for t in d if t['record'] == '$R1' and t['requirement'] == 'R6.3']"
}
eq "$(ack_tasks t)" "['township']" "R6.3: the township has the task township_received"
c t --user 乡镇专干 respond "$R1" --step township_received --by 乡镇专干 >/dev/null ||
	bad "R6.3: the township records township_received"
eq "$(ack_tasks t)" "[]" "R6.3: the task goes once the township acknowledged"
eq "$(steps_at t)" "['accept dispatch stop_violence notify_township township_received']" \
	"R6.3: the acknowledgement is a step of the report"
# rights (R6): a village may not acknowledge, a township may not act for the police
up v $PT || bad "R6: village <- township"
eq "$(steps_at v)" "$(steps_at t)" "R6: the village holds the response too"
d0=$(c v digest)
out=$(c v --user 联络员 respond "$R1" --step township_received --by 联络员 2>&1)
eq "$?" 6 "R6: a village may not record township_received"
printf '%s' "$out" | grep -q "may not record the step township_received" && ok ||
	bad "R6: the village's refusal says why: $out"
eq "$(c v digest)" "$d0" "R6: the village's refusal writes nothing"
d0=$(c t digest)
out=$(c t --user 乡镇专干 respond "$R1" --step protect --by 乡镇专干 2>&1)
eq "$?" 6 "R6: a township may not record a police step"
printf '%s' "$out" | grep -q "the police record the response" && ok ||
	bad "R6: the township's refusal says why: $out"
eq "$(c t digest)" "$d0" "R6: the township's refusal writes nothing"

# ---- 5. a report nobody accepts: overdue, raised to the county (R10) ----
out=$(c v --user 王老师 --json report "$kid2" --reporter-type school --reporter "洼张小学 王老师" \
	--situation living_alone --found-date "$TODAY" --date "$TODAY" --details "儿童独自在家，父母均外出")
eq "$?" 0 "R5: a second report"
R2=$(printf '%s' "$out" | py 'd["record"]')
up v $PT || bad "R5: village -> township with the second report"
wait_for 20 '[ "$(has_report k "$R2")" = True ]' || bad "R5.3: the second report reached the county"
LATER=$(TZ=Asia/Shanghai date -d '+2 hours' '+%Y-%m-%d %H:%M')
# accept_task NODE ARGS...: R2's accept task at NODE (tasks --json ARGS)
accept_task() {
	local node=$1
	shift
	c "$node" --json tasks "$@" |
		py "[(t['responsible'], t['overdue'], t['escalated_to']) for t in d if t['record'] == '$R2' and t['task_en'] == 'accept the report']"
}
eq "$(accept_task k)" "[('police', False, '')]" "R10: now the accept task is the police's, not overdue"
eq "$(accept_task k --as-of "$LATER")" "[('police', True, 'county')]" \
	"R6.1, R10: two hours on ($LATER) it is overdue and raised to the county"
eq "$(accept_task k --owner county --as-of "$LATER")" "[('police', True, 'county')]" \
	"R10: the county's own list holds it two hours on"
eq "$(accept_task k --owner county)" "[]" "R10: the county's list does not hold it now"
eq "$(accept_task k --owner police)" "[('police', False, '')]" "R10: the police's list holds it now"
c k tasks --owner county --as-of "$LATER" | grep -q "已提级至县" && ok ||
	bad "R10: the text list says it was raised to the county"

# ---- 6. the joint meeting's report (R10) ----
eq "$(c k --json meeting | py "[(r['reports'], r['accepted'], r['not_accepted']) for r in d['townships'] if r['township_code'] == '$T']")" \
	"[(3, 1, 2)]" "R10: the meeting counts the township's reports (3), accepted (1), not accepted (2)"

# ---- 7. the county's deadlines (R6, R10) ----
hours() { c "$1" --json deadline list | py "[x['hours'] for x in d if x['item'] == 'accept']"; }
eq "$(hours police)" "[1]" "R6: the accept deadline's default at the police"
c k --user 民政局 deadline set accept 3 --basis "县联席会议纪要" >/dev/null || bad "R10: the county sets the accept deadline"
eq "$(hours k)" "[3]" "R10: the deadline at the county"
up police $PK || bad "R10: police <- county"
eq "$(hours police)" "[3]" "R10: the deadline reached the police"
# three hours to accept: two hours on, the report is not overdue any more
eq "$(accept_task k --as-of "$LATER")" "[('police', False, '')]" "R10: with 3 hours, not overdue two hours on"
wait_for 20 '[ "$(hours t)" = "[3]" ]' || bad "R10: the deadline reached the township"
up v $PT || bad "R10: village <- township"
eq "$(hours v)" "[3]" "R10: the deadline reached the village"
d0=$(c v digest)
out=$(c v deadline set accept 5 2>&1)
eq "$?" 6 "R10: a village may not set a deadline"
printf '%s' "$out" | grep -q "deadlines are set by the county" && ok || bad "R10: the village's refusal says why: $out"
eq "$(c v digest)" "$d0" "R10: the village's refusal writes nothing"
d0=$(c police digest)
out=$(c police deadline set accept 5 2>&1)
eq "$?" 6 "R10: the police may not set a deadline"
printf '%s' "$out" | grep -q "may not write deadline" && ok || bad "R10: the police's refusal says why: $out"
eq "$(c police digest)" "$d0" "R10: the police's refusal writes nothing"
eq "$(hours police)" "[3]" "R10: the police's refusal changes nothing"

# ---- everything converges, nothing refused ----
converged() {
	[ "$(c k digest --scope $V)" = "$(c v digest --scope $V)" ] &&
		[ "$(c t digest --scope $V)" = "$(c v digest --scope $V)" ] &&
		[ "$(c k digest --scope $V2)" = "$(c v2 digest --scope $V2)" ]
}
wait_for 60 converged || bad "the backlog reached the county"
eq "$(nkids k)" $((20 + BACKLOG + 1500)) "the county holds every child once"
for n in k t v v2 police civil; do
	c "$n" verify >/dev/null || bad "$n verify"
	eq "$(c "$n" --json status | py 'd["quarantined"]')" 0 "$n quarantined nothing"
done

echo "total $(($(date +%s) - t_start)) s"
echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
