#!/usr/bin/env bash
# The county simulation, small (issue #7 item 4: "CI runs a small version of
# the simulation (a township with 20 villages) within its time"):
# deploy/simulate.sh --small against the given binary must exit 0 and print
# its summary with the figures filled in, agree on every digest, quarantine
# nothing, get every mandatory report to the police, and leave no process or
# folder behind. Also: a usage error exits 2.
# Usage: test_simulate.sh PATH/TO/carenode [PATH/TO/faultproxy]
set -uo pipefail
cn=${1:?usage: test_simulate.sh carenode [faultproxy]}
cn=$(cd "$(dirname "$cn")" && pwd)/$(basename "$cn")
fp=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$root/tests/integration/lib.sh"
sim=$root/deploy/simulate.sh

# ---- usage errors: exit 2, nothing started
CARENODE_BIN=$cn "$sim" --no-such-option >/dev/null 2>&1
eq "$?" 2 "an unknown option is a usage error"
CARENODE_BIN=$work/none "$sim" --small >/dev/null 2>&1
eq "$?" 2 "a missing binary is a usage error"

# ---- the small county
t0=$(date +%s)
CARENODE_BIN=$cn CARENODE_FAULTPROXY=$fp "$sim" --small --seed 7 >"$work/sim.log" 2>&1
rc=$?
secs=$(($(date +%s) - t0))
eq "$rc" 0 "simulate.sh --small exits 0"
[ "$rc" = 0 ] || tail -60 "$work/sim.log"
out=$(cat "$work/sim.log")
has() { grep -qE -- "$1" <<<"$out" && ok || bad "the summary shows $2 (/$1/)"; }
has '^\| 节点 / nodes +\| 县 county 1, 部门 departments 2 .* 乡镇 townships 1, 村 villages 20 ' "the nodes per kind"
has '^\| 儿童 / children +\| [0-9]{3,} \(mean [0-9.]+ per village' "the children"
has '^\| 县级操作数 / ops at the county +\| [0-9]+ \(after the load [0-9]+; the day ([0-9]+), planned \1\)' "the ops, the day's all at the county"
has '^\| 收敛时间 / time to converge +\| [0-9.]+ s after the last link returned' "the time to converge"
has '^\| 冲突 / conflicts +\| ([0-9]+) open at the county \(planned concurrent edits \1\)' "the conflicts, as planned"
has '^\| 冲突 / conflicts +\| [1-9]' "at least one real conflict"
has '^\| 隔离 / quarantines +\| 0 \(over 24 nodes\)' "no quarantine on any of the 24 nodes"
has '^\| 强制报告 / mandatory reports +\| ([0-9]+) filed, \1 at the police' "every report at the police"
has '^\| 报告时延 在线 / report latency, online +\| [1-9][0-9]*: median [0-9.]+ s' "the latency of reports filed online"
has '^\| 报告时延 乡镇断网 / behind a cut township +\| [1-9][0-9]*: median' "a report behind a cut township link"
has '^\| 报告时延 离线村 / from an offline village +\| [1-9][0-9]*: median' "a report from an offline village"
has '^\| 摘要一致 / digests equal +\| 20 of 20 villages \(village = township = county\), 1 of 1 townships' "every digest equal"
has '^\| 村-乡镇 village-township +\| sync --json wire_\* .*\| [0-9.]+ [KM]B / [0-9.]+ [KM]B +\|' "village-township bytes"
has '^\| 乡镇-县 township-county +\| serve logs .*\| [0-9.]+ [KM]B / [0-9.]+ [KM]B' "township-county bytes from the serve logs"
has '^\| 乡镇-县 township-county +\| faultproxy TCP, whole run +\| [0-9.]+ [KM]B / [0-9.]+ [KM]B' "township-county TCP bytes"
has '^\| 县-部门 county-departments +\| serve logs' "county-department bytes"
for k in '县 county \(serve\)' '公安 police \(serve\)' '教育 education \(serve\)' '乡镇 township \(serve\)' \
	'村 village \(sync --once\)' '村 village \(import\)'; do
	has "^\| $k +\| [0-9.]+ MB" "the peak memory of $k"
done
has '^\| 4 一天的工作 / the day \(8 hours\) +\| [0-9.]+ s' "the day's wall time"
has '^结果 / result: 通过 / PASS' "PASS"
# nothing left behind: its folder is gone and no process runs from it
folder=$(sed -n 's|^  文件夹 / folder: \([^ ]*\) .*|\1|p' "$work/sim.log")
[ -n "$folder" ] && [ ! -e "$folder" ] && ok || bad "the simulation's folder was removed ($folder)"
[ -n "$folder" ] && ! pgrep -f -- "$folder/" >/dev/null && ok || bad "no process left running in $folder"
echo "simulate.sh --small: ${secs} s"
[ "$secs" -lt 240 ] && ok || bad "--small took ${secs} s"

echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
