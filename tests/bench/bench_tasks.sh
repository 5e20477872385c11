#!/usr/bin/env bash
# The county's task list and the joint meeting's report at county scale
# (issue #5, R10): a county node holding VILLAGES villages of PER children
# (synthetic), with mandatory reports, police steps, hotline calls,
# services, intervention cases and schooling changes spread over them.
# Prints the median wall time of three runs of `tasks`, `tasks --summary`,
# `meeting`, `reports` and the web pages' overview (county, township) and
# children list, and the peak memory of `tasks`; each figure also as a line
# "FIGURE name value unit stat" for tests/bench/run.sh.
# Usage: tests/bench/bench_tasks.sh BUILD_DIR [VILLAGES] [PER]
set -euo pipefail
build=${1:?usage: bench_tasks.sh BUILD_DIR [VILLAGES] [PER]}
villages=${2:-50}
per=${3:-1000}
cn="$build/carenode"
root=$(cd "$(dirname "$0")/../.." && pwd)
w=$(mktemp -d /tmp/carenode-bench-tasks.XXXX)
trap 'rm -rf "$w"' EXIT
c() { "$cn" --dir "$w/k" "$@"; }
today=$(TZ=Asia/Shanghai date +%F)

c init --level county --code 370522000000 >/dev/null
mapfile -t vil < <(awk -F, '$3 == "village" { print $1 }' "$root/node/data/lijin-divisions.csv" |
	head -n "$villages")
t0=$(date +%s)
i=0
for v in "${vil[@]}"; do
	i=$((i + 1))
	"$cn" synth --village "$v" --count "$per" --seed "$i" --out "$w/l.csv" >/dev/null
	c import "$w/l.csv" --skip-bad >/dev/null 2>&1 # synthetic IDs may repeat across villages
done
mapfile -t kids < <(c --json child list | python3 -c \
	'import json,sys; [print(k["id"]) for k in json.load(sys.stdin)]')
echo "filed ${#kids[@]} children in ${#vil[@]} villages in $(($(date +%s) - t0)) s"

# the workflows, about one record per 100 children of each kind
t0=$(date +%s)
n=$((villages * per / 100))
sit=(living_alone missing guardian_incapable guardian_neglect domestic_violence accidental_injury unlawful_harm)
for k in $(seq 0 $((n - 1))); do
	kid=${kids[$((k * 97 % ${#kids[@]}))]}
	c report "$kid" --reporter-type school --reporter 王老师 --situation "${sit[$((k % 7))]}" \
		--found-date "$today" --date "$today" --details 情况 >/dev/null
	c hotline add --child "$kid" --caller 匿名 --content 求助 --taken-by 接线员 >/dev/null
	c service add "$kid" --service counselling --provider-type social_org --provider 社工站 \
		--follow-up "$today" >/dev/null
	c schooling "$kid" --event truancy --date "$today" --school 中心小学 >/dev/null
	if [ $((k % 2)) = 0 ]; then
		c intervention open "$kid" --incident violence --incident-date "$today" \
			--serious-harm 是 >/dev/null
	fi
done
mapfile -t reps < <(c --json reports | python3 -c \
	'import json,sys; [print(r["report"]) for r in json.load(sys.stdin)]')
for r in "${reps[@]:0:$((n / 2))}"; do
	c respond "$r" --step accept --by 民警 >/dev/null
	c respond "$r" --step dispatch --by 民警 >/dev/null
done
echo "recorded $n reports (half accepted and attended), $n hotline calls, $n services," \
	"$n schooling changes, $((n / 2)) intervention cases in $(($(date +%s) - t0)) s"
nops=$(c --json info | python3 -c 'import json,sys; print(json.load(sys.stdin)["ops"])')
echo "node: $nops ops, $(du -h "$w/k/carenode.db" | cut -f1) database"
echo "FIGURE county_children ${#kids[@]} children 1 run, in ${#vil[@]} villages"
echo "FIGURE county_ops $nops ops 1 run"

# median of three wall times, in seconds
median() {
	local t=() x
	for x in 1 2 3; do
		local s e
		s=$(date +%s.%N)
		"$@" >/dev/null
		e=$(date +%s.%N)
		t+=("$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')")
	done
	printf '%s\n' "${t[@]}" | sort -n | sed -n 2p
}
# prints "LABEL  S s median[ NOTE]" and the FIGURE line for NAME
timed() {
	local name=$1 label=$2 note=$3 m
	shift 3
	m=$(median "$@")
	echo "$label $m s median$note"
	echo "FIGURE $name $m s median of 3"
}
ntasks=$(c --json tasks | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "FIGURE county_tasks $ntasks tasks 1 run"
timed tasks_s "tasks:          " " ($ntasks tasks)" c tasks
timed tasks_summary_s "tasks --summary:" "" c tasks --summary
timed meeting_s "meeting:        " "" c meeting
timed reports_s "reports:        " "" c reports
# the web pages' heaviest reads (issue #6), through the same API the server
# answers: the county's overview, one township's, and a village's children
timed page_overview_county_s "overview county:" "" c api GET /api/overview
timed page_overview_township_s "overview town:  " "" c api GET /api/overview --unit 370522101000
timed page_children_list_s "children list:  " "" c api GET /api/children --village 370522101201
/usr/bin/time -f "tasks peak memory: %M KB" -o "$w/time" "$cn" --dir "$w/k" tasks >/dev/null
cat "$w/time"
awk '{ printf "FIGURE rss_tasks_mb %.1f MB 1 run, the CLI'"'"'s tasks at county scale\n", $4 / 1024 }' "$w/time"
