#!/usr/bin/env bash
# deploy/simulate.sh - the whole of 利津县 on one machine (issue #7, item 4).
#
#   deploy/simulate.sh [--small] [--townships N] [--villages-per-township M]
#                      [--seed S] [--jobs J] [--hours H] [--hour-seconds S]
#                      [--keep DIR] [--carenode PATH] [--faultproxy PATH]
#
# Defaults: the whole county (9 township-level units, 514 villages and
# communities of node/data/lijin-divisions.csv). --small: one township (the
# one with the most villages, 盐窝镇) with its first 20 villages, as CI runs
# it. --townships N takes the N townships with the most villages; M the first
# M villages of each in the table's order.
#
# What runs: the real carenode binary ($CARENODE_BIN or --carenode; it is
# never built here: deploy/build.sh builds it) as separate processes on
# 127.0.0.1, enrolled as the README and deploy/demo.sh do it: `ca init` (the
# root), `ca enroll` (the county node; two department nodes at the county's
# code, 公安 police and 教育 education; the townships), `enroll` (each
# township certifies its villages), `join`. Inits, enrolments and imports run
# in parallel, at most --jobs at once (default twice the cores). The villages
# are NOT encrypted at rest (in the field every village laptop is, `init
# --encrypt`): unlocking costs about a second and 265 MB per command, which
# 514 villages times thousands of commands cannot afford on one machine; the
# encryption does not change what travels or what is stored in the log.
#
# Children: the table has no population, so each village gets a size: a
# weight of 1.6 for an urban residents' committee (居委会, 类似居委会), 1.3 for
# a village committee in a town centre (urban-rural code 121), 1.15 at a
# town's edge (122), 1.0 for a village (210, 220); times a spread drawn from
# a log-normal (sigma 0.45) seeded by --seed and the village code; scaled so
# that the 514 units average 35 children (at least 5 each). A village's
# count does not depend on how many others run. `carenode synth --village
# CODE --count N --seed S` writes its ledger and `import` files it; synth is
# unique within one village only, so resident IDs that repeat across villages
# are renumbered (same birth date and sex, a free order code, the check
# digit recomputed) before importing: a child is filed once in the county.
#
# Running: the county and the two departments run `serve` (departments with
# --parent to the county, --interval 1); each township runs `serve --listen
# ... --parent` to the county through its own tests/faultproxy (a plain
# forwarder; stopping it cuts that link, starting it on the same port brings
# it back), --interval 1. Villages are clients: `sync --once` against their
# township, at most --jobs at once. The first sync runs until every digest
# agrees; then, once the townships hold every certificate (every node's
# certificate travels to every node), each village syncs once more, so that
# the day's figures are the day's.
#
# A day of work (--hours rounds, 8 by default, each at least --hour-seconds
# of wall time, 10 or 2 with --small; an "hour" is a round, not an hour of
# the clock): every village records, spread over the day and seeded, home
# visits (15-35% of its children), parents' contacts (10-25%), assessments
# with every required field (3-8%), sometimes a guardian's new phone; a few
# villages file a mandatory report (R5, always urgent); in every township one
# to four children's guardian phone is edited by the township and by the
# village in the same hour, before they sync (concurrent edits: real open
# conflicts). Links go down: about 8% of villages are offline all day (they
# sync only when the day ends), an online village misses an hour's sync with
# probability 0.15, and about a third of the townships lose the link to the
# county for two or more hours (at least one until the day's end). Reports
# are placed online, behind a cut township link and in an offline village.
#
# When the day ends every link returns and every village syncs, again while
# it differs from its township, until each village's `digest --scope CODE`
# equals its township's, each township's equals the county's, and the police
# node holds every report. Time to converge counts from the moment the last
# link returned. Then every village's digest is compared at the village, the
# township and the county, and the quarantine of every node is read.
#
# Figures and where they come from:
#   bytes village<->township  the villages' `sync --json`: wire_* (sealed,
#                             zstd, handshake included) and bytes_* (sync
#                             messages before packing); failed syncs print none
#   bytes township<->county   TCP bytes through the township's faultproxy
#                             (its log: NNG framing and handshakes included),
#                             and the sync-message bytes the townships' serve
#                             logs print per non-idle exchange, by phase
#   bytes county<->department the departments' serve logs, the same way
#   peak memory               VmHWM of each serve process (/proc/PID/status) at
#                             the end; a village's `sync` and `import` under
#                             /usr/bin/time -f %M
#   conflicts                 the county's `conflicts --json` (distinct fields)
#   quarantines               `status --json` quarantined, summed over nodes
#   report latency            the police node's `reports --json`, polled every
#                             0.5 s, against when each report was filed; and
#                             against when its path was up (the village's next
#                             successful sync, or the township's link back)
#   ops                       the county's `info --json`: after the day it must
#                             hold exactly one new op per command that succeeded
#
# Exit status: 0 when everything agrees; 1 naming what did not (digests,
# quarantines, reports not at the police, open conflicts other than those
# planned, failed commands, no convergence); 2 on a usage error. Processes
# are stopped at exit; the folder is removed unless --keep DIR.
set -uo pipefail

# ---------------------------------------------------------------- helpers
# (also used by the parallel workers: this script runs itself as
# `simulate.sh __job NAME ARGS...` under xargs)

fail_line() { printf '%s\n' "$*" >>"$base/stats/fail.txt"; }

# vsync PHASE VILLAGE: one `sync --once` with its township, recorded in
# stats/sync.tsv (phase, village, exit, start, end, peak KB, its JSON)
vsync() {
	local phase=$1 V=$2 T p t0 out rc mem=-
	T=${V:0:9}000
	p=TPORT_$T
	t0=$EPOCHREALTIME
	if [ -n "$timebin" ]; then
		out=$("$timebin" -f %M -o "$base/tmp/mem.$V" "$cn" --dir "$base/v/$V" --json sync --once \
			--parent "tcp://127.0.0.1:${!p}" --timeout 30 </dev/null 2>>"$base/logs/v/$V.log")
		rc=$?
		mem=$(tail -1 "$base/tmp/mem.$V" 2>/dev/null)
	else
		out=$("$cn" --dir "$base/v/$V" --json sync --once --parent "tcp://127.0.0.1:${!p}" \
			--timeout 30 </dev/null 2>>"$base/logs/v/$V.log")
		rc=$?
	fi
	[ -n "$out" ] || out='{}'
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$V" "$rc" "$t0" "$EPOCHREALTIME" "${mem:--}" "$out" \
		>>"$base/stats/sync.tsv"
	return $rc
}

job_vinit() {
	local V
	for V; do
		"$cn" --dir "$base/v/$V" init --level village --code "$V" >/dev/null 2>>"$base/logs/setup.log" ||
			fail_line "setup: init village $V"
	done
}

# job_tenroll TOWNSHIP...: a township certifies its villages, one at a time
job_tenroll() {
	local T V
	for T; do
		while read -r V; do
			"$cn" --dir "$base/t/$T" enroll --subject "$(cat "$base/v/$V/node.pub")" --code "$V" \
				--out "$base/chains/$V.chain" >/dev/null 2>>"$base/logs/setup.log" ||
				fail_line "setup: township $T enrols $V"
		done < <(awk -v t="$T" '$2 == t { print $1 }' "$base/plan/villages.tsv")
	done
}

job_vjoin() {
	local V
	for V; do
		"$cn" --dir "$base/v/$V" join --chain "$base/chains/$V.chain" --root "$base/ca/root.pub" \
			--network-key "$base/ca/network.key" >/dev/null 2>>"$base/logs/setup.log" ||
			fail_line "setup: join village $V"
	done
}

# job_synth SEED VILLAGE:COUNT...
job_synth() {
	local seed=$1 a
	shift
	for a; do
		"$cn" synth --village "${a%%:*}" --count "${a#*:}" --seed "$seed" \
			--out "$base/csv/${a%%:*}.csv" >/dev/null 2>>"$base/logs/setup.log" ||
			fail_line "setup: synth ${a%%:*}"
	done
}

job_import() {
	local V mem=-
	for V; do
		if [ -n "$timebin" ]; then
			"$timebin" -f %M -o "$base/tmp/imem.$V" "$cn" --dir "$base/v/$V" import "$base/csv/$V.csv" \
				>/dev/null 2>>"$base/logs/v/$V.log" || fail_line "setup: import $V"
			mem=$(tail -1 "$base/tmp/imem.$V")
		else
			"$cn" --dir "$base/v/$V" import "$base/csv/$V.csv" >/dev/null 2>>"$base/logs/v/$V.log" ||
				fail_line "setup: import $V"
		fi
		printf '%s\t%s\n' "$V" "$mem" >>"$base/stats/import.tsv"
		"$cn" --dir "$base/v/$V" --json child list >"$base/ids/$V.json" 2>>"$base/logs/v/$V.log" ||
			fail_line "setup: child list $V"
	done
}

job_vsync() {
	local phase=$1 V
	shift
	for V; do vsync "$phase" "$V"; done
}

# job_round HOUR VILLAGE...: the hour's plan of each village (plan/rH/CODE):
# T = the township writes, V = the village writes, R = the village files a
# mandatory report, S = the village syncs
job_round() {
	local R=$1 V T who args out id t
	local -a vs=("${@:2}")
	for V in "${vs[@]}"; do
		T=${V:0:9}000
		while IFS=$'\t' read -r who args; do
			eval "set -- $args"
			case $who in
			T) "$cn" --dir "$base/t/$T" --user 镇民政专干 "$@" </dev/null >/dev/null 2>>"$base/logs/v/$V.log" ||
				fail_line "day: hour $R township $T: $args" ;;
			V) "$cn" --dir "$base/v/$V" --user 村关爱联络员 "$@" </dev/null >/dev/null 2>>"$base/logs/v/$V.log" ||
				fail_line "day: hour $R village $V: $args" ;;
			R)
				out=$("$cn" --dir "$base/v/$V" --user 村关爱联络员 --json "$@" </dev/null 2>>"$base/logs/v/$V.log")
				t=$EPOCHREALTIME
				id=$(grep -o '"record":"[0-9a-f]*"' <<<"$out" | cut -d'"' -f4)
				if [ -n "$id" ]; then
					printf '%s\t%s\t%s\t%s\n' "$id" "$V" "$t" "$R" >>"$base/stats/reports.tsv"
				else
					fail_line "day: hour $R village $V report: $args"
				fi
				;;
			S) vsync day "$V" ;;
			esac
		done <"$base/plan/r$R/$V"
	done
}

# job_vcheck VILLAGE...: "CODE ok" when the village and its township have
# the same digest of the village's scope, else "CODE diff"
job_vcheck() {
	local V T a b
	for V; do
		T=${V:0:9}000
		a=$("$cn" --dir "$base/v/$V" digest --scope "$V" 2>/dev/null)
		b=$("$cn" --dir "$base/t/$T" digest --scope "$V" 2>/dev/null)
		if [ -n "$a" ] && [ "$a" = "$b" ]; then echo "$V ok"; else echo "$V diff"; fi
	done
}

# job_vfinal VILLAGE...: the village's scope digest at the village, its
# township and the county
job_vfinal() {
	local V T
	for V; do
		T=${V:0:9}000
		printf '%s %s %s %s\n' "$V" "$("$cn" --dir "$base/v/$V" digest --scope "$V" 2>/dev/null || echo -)" \
			"$("$cn" --dir "$base/t/$T" digest --scope "$V" 2>/dev/null || echo -)" \
			"$("$cn" --dir "$base/county" digest --scope "$V" 2>/dev/null || echo -)"
	done
}

# job_quarantine NODE-FOLDER...: "FOLDER N" (status --json quarantined)
job_quarantine() {
	local d q
	for d; do
		q=$("$cn" --dir "$base/$d" --json status 2>/dev/null | grep -o '"quarantined":[0-9]*' | head -1 | cut -d: -f2)
		echo "$d ${q:-?}"
	done
}

if [ "${1:-}" = __job ]; then
	job=$2
	shift 2
	"job_$job" "$@"
	exit 0
fi

self=$(readlink -f "$0")
root=$(cd "$(dirname "$self")/.." && pwd)
usage() {
	sed -n '3,6p' "$self" | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------- options
townships=0 vpt=0 seed=1 keep= jobs=$((2 * $(nproc))) hours=8 hour_s= small=0
cn=${CARENODE_BIN:-} fp=${CARENODE_FAULTPROXY:-}
num() { [[ "$2" =~ ^[0-9]+$ ]] || { echo "simulate.sh: $1 needs a number" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--small) small=1 townships=1 vpt=20; shift ;;
	--townships) num "$1" "${2:-}"; townships=$2; shift 2 ;;
	--villages-per-township) num "$1" "${2:-}"; vpt=$2; shift 2 ;;
	--seed) num "$1" "${2:-}"; seed=$2; shift 2 ;;
	--jobs) num "$1" "${2:-}"; jobs=$2; shift 2 ;;
	--hours) num "$1" "${2:-}"; hours=$2; shift 2 ;;
	--hour-seconds) num "$1" "${2:-}"; hour_s=$2; shift 2 ;;
	--keep) keep=${2:?--keep needs a folder}; shift 2 ;;
	--carenode) cn=${2:?--carenode needs a path}; shift 2 ;;
	--faultproxy) fp=${2:?--faultproxy needs a path}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "simulate.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
done
[ "$jobs" -ge 1 ] && [ "$hours" -ge 4 ] || { echo "simulate.sh: --jobs >= 1, --hours >= 4" >&2; exit 2; }
[ -n "$hour_s" ] || hour_s=$([ $small = 1 ] && echo 2 || echo 10)
if [ -z "$cn" ]; then
	cn=$root/build/carenode
	[ -x "$cn" ] || { echo "simulate.sh: no carenode: build it (deploy/build.sh) or give --carenode / CARENODE_BIN" >&2; exit 2; }
fi
cn=$(readlink -f "$cn")
[ -x "$cn" ] || { echo "simulate.sh: $cn is not executable" >&2; exit 2; }
timebin=
[ -x /usr/bin/time ] && timebin=/usr/bin/time

# ---------------------------------------------------------------- processes
declare -A proxy_pid=()
# running PID: alive and not yet a zombie (kill -0 succeeds on both)
running() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
serve_pids=()
xpid= poller=
cleanup() {
	local p i alive
	[ -n "$xpid" ] && kill -TERM -- "-$xpid" 2>/dev/null
	[ -n "$poller" ] && kill "$poller" 2>/dev/null
	for p in "${serve_pids[@]}" "${proxy_pid[@]}"; do kill -TERM "$p" 2>/dev/null; done
	# a serve whose uplink is in the middle of a round trip takes up to 5 s
	for i in $(seq 1 100); do
		alive=0
		for p in "${serve_pids[@]}" "${proxy_pid[@]}"; do running "$p" && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "${serve_pids[@]}" "${proxy_pid[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "$keep" ] && [ -n "$base" ]; then
		echo "节点与日志保留在 / nodes and logs kept in: $base"
	elif [ -z "$keep" ] && [ -n "$base" ]; then
		rm -rf "$base"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

base=
if [ -n "$keep" ]; then
	mkdir -p "$keep" && [ -z "$(ls -A "$keep")" ] || { echo "simulate.sh: --keep $keep must be a new or empty folder" >&2; exit 2; }
	base=$(readlink -f "$keep")
else
	base=$(mktemp -d /tmp/carenode-sim.XXXXXX)
fi
mkdir -p "$base"/{v,t,chains,csv,ids,logs/v,plan,stats,tmp}
: >"$base/stats/fail.txt"
unset CARENODE_DIR CARENODE_PASSPHRASE_FILE JOURNAL_STREAM
export CARENODE_USER=县级模拟
export base cn timebin

# faultproxy: given, beside the binary in its build folder, or compiled here
# (one plain POSIX file)
if [ -z "$fp" ] && [ -x "$(dirname "$cn")/tests/faultproxy" ]; then fp=$(dirname "$cn")/tests/faultproxy; fi
if [ -z "$fp" ]; then
	fp=$base/faultproxy
	cc -O2 -std=c11 -D_GNU_SOURCE -o "$fp" "$root/tests/faultproxy/faultproxy.c" 2>"$base/logs/faultproxy-build.log" ||
		{ echo "simulate.sh: cannot build tests/faultproxy; give --faultproxy" >&2; exit 2; }
fi
fp=$(readlink -f "$fp")
[ -x "$fp" ] || { echo "simulate.sh: no faultproxy at $fp" >&2; exit 2; }


# par LIST JOB ARGS...: JOB ARGS... CODES for every code of LIST, in chunks,
# at most $jobs at once (in the background, so a signal is handled at once)
par() {
	local list=$1 n chunk rc
	shift
	n=$(wc -l <"$list")
	[ "$n" -gt 0 ] || return 0
	chunk=$(((n + jobs * 2 - 1) / (jobs * 2)))
	[ $chunk -gt 12 ] && chunk=12
	# its own process group, so that an interrupted run stops its workers
	setsid xargs -a "$list" -P "$jobs" -n "$chunk" "$self" __job "$@" &
	xpid=$!
	wait "$xpid"
	rc=$?
	xpid=
	return $rc
}

now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
phase_t0=
phase() { # NAME TITLE: a phase begins
	phase_name=$1
	phase_t0=$(now)
	echo
	echo "== $2 =="
}
phase_end() {
	local t1
	t1=$(now)
	printf '%s\t%s\t%s\n' "$phase_name" "$phase_t0" "$t1" >>"$base/stats/phases.tsv"
	echo "   （用时 / took $(secs "$phase_t0" "$t1") s）"
}
die() {
	echo "simulate.sh: $*" >&2
	[ -s "$base/stats/fail.txt" ] && head -20 "$base/stats/fail.txt" >&2
	exit 1
}
c() { local d=$1; shift; "$cn" --dir "$base/$d" "$@"; }

K=370522000000
echo "利津县模拟 / Lijin county simulation: $cn"
echo "  文件夹 / folder: $base   并行 / jobs: $jobs   种子 / seed: $seed"
echo "  村节点未加密以节省时间（实际部署中每台村电脑都加密）/ villages are not encrypted at rest here, to save time"

# ---------------------------------------------------------------- 1. enrol
phase enrol "1. 根身份与登记 / root identity and enrolment"
python3 - "$root/node/data/lijin-divisions.csv" "$townships" "$vpt" "$seed" >"$base/plan/villages.tsv" <<'PY' ||
import csv, math, random, sys
path, ntowns, vpt, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = list(csv.DictReader(open(path, encoding="utf-8-sig")))
towns = [r for r in rows if r["level"] == "town"]
vill = [r for r in rows if r["level"] == "village"]
def kind(r):
    return "urban" if "居委会" in r["unit_type"] else "village"
def weight(r):
    w = 1.6 if kind(r) == "urban" else {"121": 1.3, "122": 1.15}.get(r["ur_code_2016"], 1.0)
    return w * math.exp(random.Random("size:%s:%s" % (seed, r["code"])).gauss(0, 0.45))
ws = {r["code"]: weight(r) for r in vill}
scale = 35.0 * len(vill) / sum(ws.values())
by = {}
for r in vill:
    by.setdefault(r["parent_code"], []).append(r)
order = sorted(towns, key=lambda t: (-len(by.get(t["code"], [])), t["code"]))
if ntowns:
    order = order[:ntowns]
for t in sorted(order, key=lambda t: t["code"]):
    vs = by.get(t["code"], [])
    for v in vs[:vpt] if vpt else vs:
        print("\t".join([v["code"], t["code"], str(max(5, round(ws[v["code"]] * scale))), kind(v), v["name"]]))
PY
	die "cannot read the division table"
cut -f1 "$base/plan/villages.tsv" >"$base/plan/village.list"
cut -f2 "$base/plan/villages.tsv" | sort -u >"$base/plan/township.list"
nv=$(wc -l <"$base/plan/village.list")
nt=$(wc -l <"$base/plan/township.list")
c ca ca init >/dev/null 2>>"$base/logs/setup.log" || die "ca init failed"
# enrol_root FOLDER LEVEL ROLE CODE: a node the root certifies
enrol_root() {
	c "$1" init --level "$2" --code "$4" >/dev/null 2>>"$base/logs/setup.log" &&
		c ca ca enroll --subject "$(cat "$base/$1/node.pub")" --role "$3" --code "$4" --out "$base/chains/$(basename "$1").chain" \
			>/dev/null 2>>"$base/logs/setup.log" &&
		c "$1" join --chain "$base/chains/$(basename "$1").chain" --root "$base/ca/root.pub" \
			--network-key "$base/ca/network.key" >/dev/null 2>>"$base/logs/setup.log" || die "enrolling $1 failed"
}
enrol_root county county county $K
enrol_root police county police $K
enrol_root education county education $K
while read -r T; do enrol_root "t/$T" township township "$T"; done <"$base/plan/township.list"
par "$base/plan/village.list" vinit
par "$base/plan/township.list" tenroll
par "$base/plan/village.list" vjoin
[ -s "$base/stats/fail.txt" ] && die "enrolment failed"
echo "   县 county 1，部门 departments 2（公安 police、教育 education），乡镇 townships $nt，村 villages $nv"
phase_end

# ---------------------------------------------------------------- 2. children
phase load "2. 合成儿童台账并导入 / synthetic children, filed in each village"
awk '{ print $1 ":" $3 }' "$base/plan/villages.tsv" >"$base/tmp/synth.list"
par "$base/tmp/synth.list" synth "$seed"
renumbered=$(python3 - "$base" <<'PY'
import csv, sys
base = sys.argv[1]
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def check(b):
    return "10X98765432"[sum(int(x) * w for x, w in zip(b, W)) % 11]
seen, changed = set(), 0
for line in open(base + "/plan/villages.tsv", encoding="utf-8"):
    path = "%s/csv/%s.csv" % (base, line.split("\t")[0])
    rows = list(csv.reader(open(path, encoding="utf-8-sig", newline="")))
    col = rows[0].index("公民身份号码")
    dirty = False
    for r in rows[1:]:
        if r[col] in seen:
            order = int(r[col][14:17])
            for k in range(1, 500):
                cand = r[col][:14] + "%03d" % ((order + 2 * k) % 1000)
                cand += check(cand)
                if cand not in seen:
                    break
            r[col], dirty, changed = cand, True, changed + 1
        seen.add(r[col])
    if dirty:
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(rows)
print(changed)
PY
) || die "renumbering resident IDs failed"
echo "$renumbered" >"$base/stats/renumbered"
par "$base/plan/village.list" import
[ -s "$base/stats/fail.txt" ] && die "filing the children failed"
children=$(awk '{ n += $3 } END { print n }' "$base/plan/villages.tsv")
echo "   儿童 / children: $children（${nv} 个村，平均 / mean $(awk -v a="$children" -v b="$nv" 'BEGIN { printf "%.1f", a / b }')；跨村重复的身份证号已改号 / resident IDs renumbered across villages: $renumbered）"
phase_end

# ---------------------------------------------------------------- 3. serve
phase serve "3. 运行县、部门、乡镇节点；各村首次同步 / county, departments and townships serve; first sync of every village"
read -r -a ports < <(python3 - $((1 + 2 * nt)) <<'PY'
import socket, sys
ss = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    ss.append(s)
print(" ".join(str(s.getsockname()[1]) for s in ss))
PY
)
PK=${ports[0]}
i=1
while read -r T; do
	export "TPORT_$T=${ports[$i]}" "PPORT_$T=${ports[$((i + 1))]}"
	i=$((i + 2))
done <"$base/plan/township.list"
# listening PORT: something accepts on 127.0.0.1:PORT
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
	local i
	for i in $(seq 1 100); do listening "$1" && return 0; sleep 0.1; done
	return 1
}
# link_up / link_down TOWNSHIP: start or stop the township's proxy to the county
link_up() {
	local p=PPORT_$1 i
	for i in 1 2 3 4 5; do
		"$fp" --listen "127.0.0.1:${!p}" --target "127.0.0.1:$PK" --log "$base/logs/proxy-$1.plog" \
			2>>"$base/logs/proxy.err" &
		proxy_pid[$1]=$!
		wait_port "${!p}" && break
		kill "${proxy_pid[$1]}" 2>/dev/null
		sleep 1
	done
	printf '%s\tup\t%s\n' "$1" "$(now)" >>"$base/stats/links.tsv"
}
link_down() {
	kill -TERM "${proxy_pid[$1]}" 2>/dev/null
	wait "${proxy_pid[$1]}" 2>/dev/null
	unset "proxy_pid[$1]"
	printf '%s\tdown\t%s\n' "$1" "$(now)" >>"$base/stats/links.tsv"
}
"$cn" --dir "$base/county" serve --listen "tcp://127.0.0.1:$PK" >/dev/null 2>"$base/logs/county.log" &
serve_pids+=($!)
county_pid=$!
wait_port "$PK" || die "the county does not listen"
for d in police education; do
	"$cn" --dir "$base/$d" serve --parent "tcp://127.0.0.1:$PK" --interval 1 >/dev/null 2>"$base/logs/$d.log" &
	serve_pids+=($!)
	printf '%s\t%s\t%s\n' department "$d" $! >>"$base/stats/pids.tsv"
done
printf '%s\t%s\t%s\n' county county "$county_pid" >>"$base/stats/pids.tsv"
while read -r T; do
	link_up "$T"
	p=TPORT_$T q=PPORT_$T
	"$cn" --dir "$base/t/$T" serve --listen "tcp://127.0.0.1:${!p}" --parent "tcp://127.0.0.1:${!q}" \
		--interval 1 >/dev/null 2>"$base/logs/t-$T.log" &
	serve_pids+=($!)
	printf '%s\t%s\t%s\n' township "$T" $! >>"$base/stats/pids.tsv"
done <"$base/plan/township.list"
while read -r T; do
	p=TPORT_$T
	wait_port "${!p}" || die "township $T does not listen"
done <"$base/plan/township.list"

# converge PHASE LIMIT [REPORTS]: villages sync (again while they differ from
# their township) until every village equals its township, every township
# the county, and (REPORTS) the police hold every report filed; sets
# conv_secs, conv_rounds, conv_ok, and when the villages (conv_v) and the
# townships (conv_t) first agreed
towns_equal() {
	local T s
	while read -r T; do
		s=${T:0:9}
		[ "$(c "t/$T" digest --scope "$s" 2>/dev/null)" = "$(c county digest --scope "$s" 2>/dev/null)" ] || return 1
	done <"$base/plan/township.list"
}
reports_at_police() {
	[ -s "$base/stats/reports.tsv" ] || return 0
	local missing
	missing=$(cut -f1 "$base/stats/reports.tsv" | sort -u | comm -23 - <(cut -d' ' -f2 "$base/stats/police-seen.txt" 2>/dev/null | sort -u) | wc -l)
	[ "$missing" = 0 ]
}
converge() {
	local phase=$1 limit=$2 reports=${3:-} t0 pending=$base/tmp/pending
	t0=$(now)
	cp "$base/plan/village.list" "$pending"
	conv_rounds=0 conv_ok=0 conv_v=- conv_t=-
	while :; do
		if [ -s "$pending" ]; then
			conv_rounds=$((conv_rounds + 1))
			par "$pending" vsync "$phase"
			par "$pending" vcheck >"$base/tmp/check"
			awk '$2 != "ok" { print $1 }' "$base/tmp/check" >"$pending"
			[ -s "$pending" ] || conv_v=$(secs "$t0" "$(now)")
		fi
		if [ ! -s "$pending" ] && { [ "$conv_t" != - ] || towns_equal; }; then
			[ "$conv_t" != - ] || conv_t=$(secs "$t0" "$(now)")
			if [ -z "$reports" ] || reports_at_police; then
				conv_ok=1
				break
			fi
		fi
		if [ "$(awk -v a="$t0" -v b="$(now)" -v l="$limit" 'BEGIN { print (b - a > l) }')" = 1 ]; then
			break
		fi
		sleep 1
	done
	conv_secs=$(secs "$t0" "$(now)")
	conv_t0=$t0
}
converge load 600
[ $conv_ok = 1 ] || die "the first sync did not converge in 600 s"
printf 'load\t%s\t%s\t%s\t%s\t%s\n' "$conv_secs" "$conv_rounds" "$conv_ok" "$conv_v" "$conv_t" >>"$base/stats/converge.tsv"
echo "   首次同步收敛 / first sync converged: ${conv_secs} s, $conv_rounds 轮 rounds of village syncs"
# Certificates travel to every node (the village's own at join and its
# township's at the first handshake, proto/CERT.md): those of villages that
# synced later reach the earlier ones only now. Once the townships hold them
# all (their op counts stop growing), every village pulls them, so that the
# day's figures are the day's.
prev=
for i in $(seq 1 60); do
	cur=$(while read -r T; do c "t/$T" --json info 2>/dev/null | grep -o '"ops":[0-9]*'; done <"$base/plan/township.list")
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 2
done
t1=$(now)
par "$base/plan/village.list" vsync load
echo "   各村再同步一次以取得其他节点的证书 / every village syncs once more for the other nodes' certificates: $(secs "$t1" "$(now)") s"
c county --json info >"$base/stats/county-info-load.json"
phase_end

# ---------------------------------------------------------------- 4. the day
phase day "4. 一天的工作，链路随机中断 / a day of work with random link outages"
today=$(TZ=Asia/Shanghai date +%F)
python3 - "$base" "$seed" "$hours" "$today" <<'PY' || die "planning the day failed"
import json, os, random, shlex, sys
base, seed, hours, today = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rng = random.Random("day:%s" % seed)
vill = [l.rstrip("\n").split("\t") for l in open(base + "/plan/villages.tsv", encoding="utf-8")]
towns = sorted({v[1] for v in vill})
by_town = {t: [v[0] for v in vill if v[1] == t] for t in towns}
kids = {}
for v in vill:
    kids[v[0]] = [c["id"] for c in json.load(open("%s/ids/%s.json" % (base, v[0]))) if c.get("guardian")]

# links: townships cut from the start of hour a until the start of hour b
# (b == hours: until the day's end); at least one, the first, until the end
cuts = {}
for i, t in enumerate(rng.sample(towns, max(1, round(len(towns) * 0.35)))):
    a = rng.randint(1, hours - 3)
    cuts[t] = (a, hours if i == 0 else rng.randint(a + 2, hours))
codes = [v[0] for v in vill]
offline = {v for v in codes if rng.random() < 0.08}
if not offline and len(codes) > 1:
    offline = {rng.choice(codes)}
down = {(v, h) for v in codes for h in range(hours) if v not in offline and rng.random() < 0.15}
def cut_at(v, h):
    t = v[:9] + "000"
    return t in cuts and cuts[t][0] <= h < cuts[t][1]

plan = {(v, h): [] for v in codes for h in range(hours)}
visitors = ["村支书", "驻村干部", "社工小李", "村关爱联络员"]
findings = ["儿童在家，祖父母照看，一切正常", "学习情况良好，已叮嘱按时完成作业", "儿童情绪低落，已联系父母视频通话",
            "家中卫生较差，已提醒监护人", "冬季取暖已落实", "监护人年迈，需加强走访"]
notes = ["询问学习情况", "每周视频一次", "叮嘱注意安全", "约定春节回家"]
def phone():
    return rng.choice(["133", "135", "138", "150", "158", "186", "188"]) + "%08d" % rng.randrange(10 ** 8)
def add(v, h, who, args):
    plan[(v, h)].append((who, args))

# concurrent guardian edits: the township and the village, the same hour,
# before the village syncs
pairs, used = [], set()
for t in towns:
    vs = by_town[t]
    k = min(len(vs), max(2 if len(vs) > 1 else 1, round(len(vs) * 0.03)))
    for v in rng.sample(vs, k):
        if not kids[v]:
            continue
        c, h = rng.choice(kids[v]), rng.randrange(hours)
        used.add(c)
        add(v, h, "T", ["guardian", "set", c, "--phone", phone()])
        add(v, h, "V", ["guardian", "set", c, "--phone", phone()])
        pairs.append({"village": v, "child": c, "hour": h})
ops = 2 * len(pairs)
for v in vill:
    code, n = v[0], int(v[2])
    ks = kids[code]
    if not ks:
        continue
    for _ in range(round(n * rng.uniform(0.15, 0.35))):
        add(code, rng.randrange(hours), "V", ["visit", rng.choice(ks), "--type",
            rng.choice(["party_cadre", "stationed_cadre", "social_worker"]), "--date", today,
            "--visitor", rng.choice(visitors), "--findings", rng.choice(findings)])
        ops += 1
    for _ in range(round(n * rng.uniform(0.10, 0.25))):
        add(code, rng.randrange(hours), "V", ["contact", rng.choice(ks), "--date", today, "--parent",
            rng.choice(["father", "mother"]), "--method", rng.choice(["phone", "video", "in_person", "other"]),
            "--note", rng.choice(notes)])
        ops += 1
    for _ in range(round(n * rng.uniform(0.03, 0.08))):
        add(code, rng.randrange(hours), "V", ["assess", rng.choice(ks), "--date", today, "--assessor", "镇民政专干",
            "--safety", rng.choice(["居住安全", "独自在家时间较长"]), "--guardianship",
            rng.choice(["监护到位", "监护人年迈"]), "--health", rng.choice(["健康", "情绪低落"]),
            "--result", rng.choice(["较好", "较好", "一般", "差"])])
        ops += 1
    free = [c for c in ks if c not in used]
    if free and rng.random() < 0.3:
        c = rng.choice(free)
        used.add(c)
        add(code, rng.randrange(hours), "V", ["guardian", "set", c, "--phone", phone()])
        ops += 1
for k in plan:
    rng.shuffle(plan[k])

# mandatory reports: one behind each cut township link (an online village,
# during the cut), one in an offline village, the rest online
nrep = max(3, round(len(codes) * 0.04))
reports, taken = [], set()
def report(v, h, kind):
    situation = rng.choice(["living_alone", "guardian_neglect", "domestic_violence", "accidental_injury"])
    add(v, h, "R", ["report", rng.choice(kids[v]), "--reporter-type", rng.choice(["school", "medical", "village_committee"]),
        "--reporter", rng.choice(["镇中心小学 王老师", "镇卫生院 李医生", "村委会 张主任"]), "--situation", situation,
        "--found-date", today, "--date", today, "--details", "模拟：发现儿童处境危险，依法报告"])
    reports.append({"village": v, "hour": h, "kind": kind})
    taken.add((v, h))
for t, (a, b) in sorted(cuts.items()):
    cand = [(v, h) for v in by_town[t] if v not in offline and kids[v] for h in range(a, min(b, hours))
            if (v, h) not in down]
    if cand and len(reports) < nrep:
        report(*rng.choice(cand), "cut")
cand = [(v, rng.randrange(hours)) for v in sorted(offline) if kids[v]]
if cand and len(reports) < nrep:
    report(*rng.choice(cand), "offline")
cand = [(v, h) for v in codes if v not in offline and kids[v] for h in range(hours)
        if (v, h) not in down and not cut_at(v, h)]
while len(reports) < nrep and cand:
    v, h = rng.choice(cand)
    cand.remove((v, h))
    if (v, h) not in taken:
        report(v, h, "online")

for h in range(hours):
    os.makedirs("%s/plan/r%d" % (base, h), exist_ok=True)
    with open("%s/plan/r%d.list" % (base, h), "w") as lst:
        for v in codes:
            lines = [x for x in plan[(v, h)] if x[0] != "R"] + [x for x in plan[(v, h)] if x[0] == "R"]
            if v not in offline and (v, h) not in down:
                lines.append(("S", []))
            if not lines:
                continue
            with open("%s/plan/r%d/%s" % (base, h, v), "w", encoding="utf-8") as f:
                for who, args in lines:
                    f.write(who + "\t" + " ".join(shlex.quote(a) for a in args) + "\n")
            lst.write(v + "\n")
with open(base + "/plan/cuts.tsv", "w") as f:
    for t, (a, b) in sorted(cuts.items()):
        f.write("%s\t%d\t%d\n" % (t, a, b))
with open(base + "/plan/offline.list", "w") as f:
    f.write("".join(v + "\n" for v in sorted(offline)))
json.dump({"pairs": pairs, "reports": reports, "ops": ops + len(reports), "offline": len(offline),
           "village_hours_down": len(down), "cuts": {t: list(ab) for t, ab in cuts.items()}, "hours": hours},
          open(base + "/plan/expect.json", "w"), ensure_ascii=False, indent=1)
PY
python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
print("   计划 / plan: %d 条记录 ops, %d 份强制报告 mandatory reports, %d 对并发监护人修改 concurrent guardian edits," % (
    e["ops"], len(e["reports"]), len(e["pairs"])))
print("   %d 个村全天离线 villages offline all day, %d 个村时无网 village-hours without a link, 乡镇至县断网 township links cut: %s" % (
    e["offline"], e["village_hours_down"],
    ", ".join("%s 第%d-%d时 hours %d-%d" % (t, a + 1, b, a + 1, b) for t, (a, b) in sorted(e["cuts"].items()))))
' "$base/plan/expect.json"
# the police node's reports, polled: "EPOCH REPORT" the first time each is seen
poll_police() {
	local -A seen=()
	local out t id
	while :; do
		out=$("$cn" --dir "$base/police" --json reports 2>/dev/null)
		t=$(now)
		for id in $(grep -o '"report":"[0-9a-f]*"' <<<"$out" | cut -d'"' -f4); do
			[ -n "${seen[$id]:-}" ] && continue
			seen[$id]=1
			echo "$t $id" >>"$base/stats/police-seen.txt"
		done
		sleep 0.5
	done
}
: >"$base/stats/police-seen.txt"
poll_police &
poller=$!
for ((h = 0; h < hours; h++)); do
	ht0=$(now)
	while IFS=$'\t' read -r T a b; do
		[ "$a" = "$h" ] && link_down "$T"
		[ "$b" = "$h" ] && link_up "$T"
	done <"$base/plan/cuts.tsv"
	down_now=$(awk -F'\t' -v h="$h" '$2 <= h && h < $3 { printf "%s ", $1 }' "$base/plan/cuts.tsv")
	par "$base/plan/r$h.list" round "$h"
	took=$(secs "$ht0" "$(now)")
	printf '   第%d时 / hour %d: %d 个村 villages, %s s%s\n' $((h + 1)) $((h + 1)) "$(wc -l <"$base/plan/r$h.list")" \
		"$took" "${down_now:+，断网 / cut: $down_now}"
	rest=$(awk -v a="$ht0" -v b="$(now)" -v l="$hour_s" 'BEGIN { r = l - (b - a); print (r > 0 ? r : 0) }')
	sleep "$rest"
done
phase_end

# ---------------------------------------------------------------- 5. links return
phase return "5. 链路恢复，全部同步至收敛 / links return; everyone syncs until convergence"
while IFS=$'\t' read -r T a b; do
	[ "$b" = "$hours" ] && link_up "$T"
done <"$base/plan/cuts.tsv"
echo "   全天离线的村上线 / the villages offline all day come online: $(wc -l <"$base/plan/offline.list")"
limit=$([ $small = 1 ] && echo 180 || echo 1200)
converge return "$limit" reports
printf 'return\t%s\t%s\t%s\t%s\t%s\t%s\n' "$conv_secs" "$conv_rounds" "$conv_ok" "$conv_v" "$conv_t" "$conv_t0" \
	>>"$base/stats/converge.tsv"
if [ $conv_ok = 1 ]; then
	echo "   收敛 / converged ${conv_secs} s after the last link returned ($conv_rounds 轮 rounds of village syncs)"
else
	echo "   未在 ${limit} s 内收敛 / NOT converged within ${limit} s"
fi
sleep 1.5 # the police poller's last look
kill "$poller" 2>/dev/null
wait "$poller" 2>/dev/null
poller=
phase_end

# ---------------------------------------------------------------- 6. checks
phase check "6. 核对摘要、隔离与冲突 / digests, quarantine and conflicts"
par "$base/plan/village.list" vfinal >"$base/stats/final.txt"
while read -r T; do
	echo "$T $(c "t/$T" digest --scope "${T:0:9}" 2>/dev/null || echo -) $(c county digest --scope "${T:0:9}" 2>/dev/null || echo -)"
done <"$base/plan/township.list" >"$base/stats/towns.txt"
{
	echo county
	echo police
	echo education
	sed 's|^|t/|' "$base/plan/township.list"
	sed 's|^|v/|' "$base/plan/village.list"
} >"$base/tmp/nodes.list"
par "$base/tmp/nodes.list" quarantine >"$base/stats/quarantine.txt"
c county --json conflicts >"$base/stats/conflicts.json" 2>/dev/null
c county --json info >"$base/stats/county-info-end.json" 2>/dev/null
c county verify >"$base/stats/county-verify.txt" 2>&1
echo $? >"$base/stats/county-verify.rc"
# peak memory of every serve process, before they stop
while IFS=$'\t' read -r kind name pid; do
	printf '%s\t%s\t%s\n' "$kind" "$name" "$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo -)"
done <"$base/stats/pids.tsv" >"$base/stats/mem.tsv"
st0=$(now)
for p in "${serve_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
for i in $(seq 1 100); do
	alive=0
	for p in "${serve_pids[@]}"; do running "$p" && alive=1; done
	[ $alive = 0 ] && break
	sleep 0.1
done
for p in "${serve_pids[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
serve_pids=()
for T in "${!proxy_pid[@]}"; do link_down "$T"; done
echo "   节点已停止 / nodes stopped in $(secs "$st0" "$(now)") s"
phase_end

# ---------------------------------------------------------------- 7. summary
python3 - "$base" "$nt" "$nv" "$cn" <<'PY' | tee "$base/summary.txt"
import glob, json, os, re, statistics, subprocess, sys, time, unicodedata
base, nt, nv, cn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def rows(p, sep="\t"):
    return [l.rstrip("\n").split(sep) for l in open(p, encoding="utf-8")] if os.path.exists(p) else []
phases = {r[0]: (float(r[1]), float(r[2])) for r in rows(base + "/stats/phases.tsv")}
expect = json.load(open(base + "/plan/expect.json"))
villages = rows(base + "/plan/villages.tsv")
fails = []

def w(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)
def table(title, head, body):
    cols = [max(w(str(r[i])) for r in [head] + body) for i in range(len(head))]
    line = "+" + "+".join("-" * (c + 2) for c in cols) + "+"
    print("\n" + title)
    print(line)
    for j, r in enumerate([head] + body):
        print("| " + " | ".join(str(x) + " " * (c - w(str(x))) for x, c in zip(r, cols)) + " |")
        if j == 0:
            print(line)
    print(line)
def kb(n):
    return "%.1f MB" % (n / 1e6) if n >= 1e6 else "%.1f KB" % (n / 1e3)
def med(xs):
    return statistics.median(xs) if xs else 0

# ---- syncs of the villages
sync = []
for r in rows(base + "/stats/sync.tsv"):
    try:
        j = json.loads(r[6])
    except ValueError:
        j = {}
    sync.append({"phase": r[0], "v": r[1], "rc": int(r[2]), "t0": float(r[3]), "t1": float(r[4]),
                 "mem": int(r[5]) if r[5].isdigit() else None, "j": j})
# ---- township and department serve logs: sync-message bytes per phase
line_re = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) carenode: .*synced with .*?(\d+) round trips, (\d+)/(\d+) bytes")
idle_re = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) carenode: .*nothing new")
fail_re = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) carenode: .*sync failed")
def phase_of(t):
    for name, key in (("load", "serve"), ("day", "day"), ("return", "return")):
        if key in phases and phases[key][0] - 1 <= t <= phases[key][1] + 1:
            return name
    return None
def logbytes(paths):
    out = {p: [0, 0, 0, 0] for p in ("load", "day", "return")}  # sent, received, idle, failed
    for path in paths:
        for l in open(path, encoding="utf-8", errors="replace"):
            for rx, kind in ((line_re, "b"), (idle_re, "i"), (fail_re, "f")):
                m = rx.match(l)
                if not m:
                    continue
                ph = phase_of(time.mktime(time.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")))
                if ph:
                    if kind == "b":
                        out[ph][0] += int(m.group(3))
                        out[ph][1] += int(m.group(4))
                    else:
                        out[ph][2 if kind == "i" else 3] += 1
                break
    return out
tlog = logbytes(glob.glob(base + "/logs/t-*.log"))
dlog = logbytes([base + "/logs/police.log", base + "/logs/education.log"])
tcp = [0, 0]
for p in glob.glob(base + "/logs/proxy-*.plog"):
    for l in open(p):
        m = re.search(r" close up=(\d+) down=(\d+)", l)
        if m:
            tcp[0] += int(m.group(1))
            tcp[1] += int(m.group(2))
def vbytes(ph, k):
    return sum(s["j"].get(k, 0) for s in sync if s["phase"] == ph and s["rc"] == 0)

# ---- reports
links = rows(base + "/stats/links.tsv")
def link_up_at(t, when):
    """when the township's link was next up at or after `when`"""
    state, up_since = "up", None
    ev = sorted((float(e), s) for tt, s, e in links if tt == t)
    st = "down"
    for e, s in ev:
        if e <= when:
            st = s
    if st == "up":
        return when
    for e, s in ev:
        if e > when and s == "up":
            return e
    return None
seen = {}
for l in open(base + "/stats/police-seen.txt"):
    t, i = l.split()
    seen.setdefault(i, float(t))
kinds = {(r["village"], r["hour"]): r["kind"] for r in expect["reports"]}
lat = {"online": [], "cut": [], "offline": []}
after, detail = [], []
filed = rows(base + "/stats/reports.tsv")
missing = 0
for rid, v, tf, h in filed:
    tf = float(tf)
    kind = kinds.get((v, int(h)), "online")
    if rid not in seen:
        missing += 1
        continue
    lat[kind].append(seen[rid] - tf)
    ts = [s["t0"] for s in sync if s["v"] == v and s["rc"] == 0 and s["t0"] >= tf]
    path = link_up_at(v[:9] + "000", min(ts)) if ts else None
    if path is not None:
        after.append(max(0.0, seen[rid] - path))
    if kind != "online":
        hm = lambda t: time.strftime("%H:%M:%S", time.localtime(t))
        detail.append([v, kind, "h%d %s" % (int(h) + 1, hm(tf)), hm(path) if path else "-", hm(seen[rid]),
                       "%.1f s" % (seen[rid] - tf), "%.1f s" % (seen[rid] - path) if path else "-"])
if missing:
    fails.append("%d 份强制报告未到公安 / mandatory reports not at the police" % missing)
if len(filed) != len(expect["reports"]):
    fails.append("filed %d of %d planned reports" % (len(filed), len(expect["reports"])))

# ---- digests, quarantine, conflicts, failures
bad_v = [l.split()[0] for l in open(base + "/stats/final.txt")
         if len(l.split()) != 4 or l.split()[1] == "-" or len(set(l.split()[1:])) != 1]
bad_t = [l.split()[0] for l in open(base + "/stats/towns.txt")
         if len(l.split()) != 3 or l.split()[1] == "-" or l.split()[1] != l.split()[2]]
nfinal = sum(1 for _ in open(base + "/stats/final.txt"))
if nfinal != nv:
    fails.append("digests read for %d of %d villages" % (nfinal, nv))
if bad_v:
    fails.append("村级摘要不一致 / village digests disagree (village, township, county): " + " ".join(bad_v[:20]))
if bad_t:
    fails.append("乡镇摘要与县不一致 / township digests disagree with the county: " + " ".join(bad_t))
quar = [l.split() for l in open(base + "/stats/quarantine.txt")]
qbad = [(n, q) for n, q in quar if q != "0"]
qsum = sum(int(q) for n, q in quar if q.isdigit())
if qbad:
    fails.append("隔离 / quarantined: " + " ".join("%s=%s" % x for x in qbad[:20]))
try:
    conf = json.load(open(base + "/stats/conflicts.json"))["conflicts"]
except (ValueError, KeyError, OSError):
    conf = None
    fails.append("cannot read the county's conflicts")
nconf = len({(c["record"], c["field"]) for c in conf}) if conf is not None else -1
if conf is not None and nconf != len(expect["pairs"]):
    fails.append("open conflicts at the county: %d, planned concurrent edits: %d" % (nconf, len(expect["pairs"])))
cmdfail = [l.strip() for l in open(base + "/stats/fail.txt") if l.strip()]
if cmdfail:
    fails.append("%d 条命令失败 / commands failed, first: %s" % (len(cmdfail), cmdfail[0]))
conv = {r[0]: r for r in rows(base + "/stats/converge.tsv")}
if "return" not in conv or conv["return"][3] != "1":
    fails.append("未收敛 / did not converge")
if open(base + "/stats/county-verify.rc").read().strip() != "0":
    fails.append("county verify failed")
info0 = json.load(open(base + "/stats/county-info-load.json"))
info1 = json.load(open(base + "/stats/county-info-end.json"))
dops = info1["ops"] - info0["ops"]
ok_cmds = expect["ops"] - len(cmdfail)
if dops != ok_cmds:
    fails.append("the county holds %d new ops after the day, %d commands succeeded" % (dops, ok_cmds))

# ---- what a village holds: its own records and every node's certificate
sample = villages[0][0]
try:
    vlog = json.loads(subprocess.run([cn, "--dir", "%s/v/%s" % (base, sample), "--json", "log", "--limit", "100000000"],
                                     capture_output=True, check=True).stdout)
    ncert = sum(1 for o in vlog if all(ch.get("kind") == "cert" for ch in o["changes"]))
    certs = "village %s holds %d ops, %d of them certificates (of all %d nodes: each its own at join and its parent's at the first handshake)" % (
        sample, len(vlog), ncert, nv + nt + 3)
except (subprocess.CalledProcessError, ValueError, OSError):
    certs = "-"
dsync = [s for s in sync if s["phase"] == "day" and s["rc"] == 0]
per_village = "%s up / %s down per village (wire), %s / %s per sync" % (
    kb(vbytes("day", "wire_sent") / max(1, nv)), kb(vbytes("day", "wire_received") / max(1, nv)),
    kb(med([s["j"].get("wire_sent", 0) for s in dsync])), kb(med([s["j"].get("wire_received", 0) for s in dsync]))) if dsync else "-"

# ---- memory
mem = rows(base + "/stats/mem.tsv")
def memk(kind, name=None):
    return [int(r[2]) for r in mem if r[0] == kind and (name is None or r[1] == name) and r[2].isdigit()]
vsm = [s["mem"] for s in sync if s["mem"]]
vim = [int(r[1]) for r in rows(base + "/stats/import.tsv") if r[1].isdigit()]

# ---- tables
dur = lambda k: "%.1f s" % (phases[k][1] - phases[k][0]) if k in phases else "-"
table("各阶段用时 / wall time per phase", ["阶段 / phase", "用时 / time"], [
    ["1 登记 / enrolment", dur("enrol")],
    ["2 合成并导入儿童 / synthetic children filed", dur("load")],
    ["3 运行节点与首次同步 / serve + first sync", dur("serve")],
    ["4 一天的工作 / the day (%d hours)" % expect["hours"], dur("day")],
    ["5 链路恢复至收敛 / links return to convergence", dur("return")],
    ["6 核对 / checks", dur("check")],
    ["合计 / total", "%.1f s" % (max(b for a, b in phases.values()) - min(a for a, b in phases.values()))],
])
urban = sum(1 for v in villages if v[3] == "urban")
day_syncs = [s for s in sync if s["phase"] == "day"]
t_cut = ", ".join("%s h%d-%d" % (t, a + 1, b) for t, (a, b) in sorted(expect["cuts"].items()))
rl = lambda xs: "%d: median %.1f s, max %.1f s" % (len(xs), med(xs), max(xs)) if xs else "0"
table("利津县模拟汇总 / Lijin county simulation summary", ["指标 / figure", "值 / value"], [
    ["节点 / nodes", "县 county 1, 部门 departments 2 (公安 police, 教育 education), 乡镇 townships %d, 村 villages %d (居委会 urban %d)" % (nt, nv, urban)],
    ["儿童 / children", "%d (mean %.1f per village, %d IDs renumbered)" % (sum(int(v[2]) for v in villages), sum(int(v[2]) for v in villages) / max(1, nv), int(open(base + "/stats/renumbered").read()))],
    ["县级操作数 / ops at the county", "%d (after the load %d; the day %d, planned %d)" % (info1["ops"], info0["ops"], dops, expect["ops"])],
    ["链路中断 / outages", "%d villages offline all day; %d village-hours without a link; township->county cut: %s" % (expect["offline"], expect["village_hours_down"], t_cut)],
    ["村同步 / village syncs", "load %d, day %d (%d failed), after %d" % (sum(1 for s in sync if s["phase"] == "load"), len(day_syncs), sum(1 for s in day_syncs if s["rc"]), sum(1 for s in sync if s["phase"] == "return"))],
    ["首次同步收敛 / first sync converged", "%s s (%s rounds of village syncs)" % (conv["load"][1], conv["load"][2]) if "load" in conv else "-"],
    ["收敛时间 / time to converge", ("%s s after the last link returned (%s rounds of village syncs)" % (conv["return"][1], conv["return"][2])) if "return" in conv and conv["return"][3] == "1" else "NOT CONVERGED"],
    ["  其中 / of which", ("every village = its township at %s s (all %d villages synced and checked), townships = county at %s s, the last report at the police at %s s" % (
        conv["return"][4], nv, conv["return"][5], "%.1f" % (max(seen.values()) - float(conv["return"][6])) if seen else "-")) if "return" in conv else "-"],
    ["冲突 / conflicts", "%d open at the county (planned concurrent edits %d)" % (nconf, len(expect["pairs"]))],
    ["隔离 / quarantines", "%d (over %d nodes)" % (qsum, len(quar))],
    ["强制报告 / mandatory reports", "%d filed, %d at the police" % (len(filed), len(filed) - missing)],
    ["报告时延 在线 / report latency, online", rl(lat["online"])],
    ["报告时延 乡镇断网 / behind a cut township", rl(lat["cut"])],
    ["报告时延 离线村 / from an offline village", rl(lat["offline"])],
    ["链路恢复后时延 / latency once the path was up", rl(after)],
    ["村的一天流量 / a village's day", per_village + " (medians)"],
    ["证书 / certificates", certs],
    ["摘要一致 / digests equal", "%d of %d villages (village = township = county), %d of %d townships" % (nv - len(bad_v), nv, nt - len(bad_t), nt)],
])
if detail:
    table("非在线报告 / reports not filed online", ["村 / village", "情形 / kind", "填报 / filed", "链路恢复 / path up", "到公安 / at police", "总时延 / total", "恢复后 / after path up"], detail)
def bb(a, b):
    return "%s / %s" % (kb(a), kb(b))
def ph(d, p):
    return bb(d[p][0], d[p][1]) + ("" if not d[p][2] else " (+%d idle)" % d[p][2])
table("各级流量（上行 / 下行）/ bytes per level (up / down)", ["层级 / level", "来源 / source", "首次加载 / load", "一天 / day", "恢复后 / after"], [
    ["村-乡镇 village-township", "sync --json wire_* (sealed, zstd)"] + [bb(vbytes(p, "wire_sent"), vbytes(p, "wire_received")) for p in ("load", "day", "return")],
    ["村-乡镇 village-township", "sync --json bytes_* (messages)"] + [bb(vbytes(p, "bytes_sent"), vbytes(p, "bytes_received")) for p in ("load", "day", "return")],
    ["乡镇-县 township-county", "serve logs (messages, non-idle)"] + [ph(tlog, p) for p in ("load", "day", "return")],
    ["乡镇-县 township-county", "faultproxy TCP, whole run", bb(tcp[0], tcp[1]), "", ""],
    ["县-部门 county-departments", "serve logs (messages, non-idle)"] + [ph(dlog, p) for p in ("load", "day", "return")],
])
def mm(xs):
    return ("%.1f MB" % (max(xs) / 1024) + ("" if len(xs) < 2 else " (median %.1f MB, %d)" % (med(xs) / 1024, len(xs)))) if xs else "-"
table("峰值内存 / peak memory per node kind", ["节点 / node", "峰值 / peak", "来源 / source"], [
    ["县 county (serve)", mm(memk("county")), "VmHWM"],
    ["公安 police (serve)", mm(memk("department", "police")), "VmHWM"],
    ["教育 education (serve)", mm(memk("department", "education")), "VmHWM"],
    ["乡镇 township (serve)", mm(memk("township")), "VmHWM, max over townships"],
    ["村 village (sync --once)", mm(vsm), "/usr/bin/time %M, max over syncs"],
    ["村 village (import)", mm(vim), "/usr/bin/time %M, max over villages"],
])
print()
if fails:
    print("结果 / result: 失败 / FAIL")
    for f in fails:
        print("  - " + f)
    sys.exit(1)
print("结果 / result: 通过 / PASS — 所有摘要一致，无隔离 / every digest agrees, nothing quarantined")
PY
rc=${PIPESTATUS[0]}
exit "$rc"
