#!/usr/bin/env bash
# Runs every carenode benchmark (outside CI: minutes), shows each one's own
# output as it comes, then prints ONE table of the figures that matter from
# release to release, with their units, how they were taken (a median where
# the bench repeats) and the bench each came from.
#
# Usage: tests/bench/run.sh [--quick] [--with-simulation] [--simulation-args "ARGS"]
#                           [--compare OLD.tsv] [--repeat N] [--only LIST]
#                           [--out FILE.tsv] [--keep-data] [children] [ops]
#
#   --quick            smaller inputs, a few minutes in all: 2,000 children
#                      and 20,000 ops (store, sync), a 20,000-child bundle,
#                      a 2,000-op urgent backlog, 20 villages of 500 children
#                      (tasks); without it the benches' own sizes
#   --with-simulation  also the whole-county simulation, deploy/simulate.sh
#                      (--small with --quick, else its default: all of
#                      利津县), for the county's convergence time; without
#                      it that row says "not measured"
#   --simulation-args  what simulate.sh is given instead (e.g. "--townships 2")
#   --compare OLD.tsv  afterwards, each figure's ratio new/old against an
#                      earlier run's TSV (tests/bench/figures.py compare OLD
#                      NEW does the same for any two files)
#   --repeat N         each bench N times; the table then shows medians
#   --only LIST        only these benches, comma-separated: store, sync, day,
#                      week, bundle, urgent, tasks, simulation
#   --out FILE.tsv     where the TSV goes (default BUILD/bench-results.tsv,
#                      or bench-results-quick.tsv with --quick); the log
#                      goes beside it, FILE.log
#   --keep-data        keep bench_store's folder in /tmp (removed by default)
#   children, ops      bench_store's and bench_sync's sizes, as before
#
# Builds into build-bench (Release) with deploy/build.sh. Writes, in that
# folder: bench-results.log (every bench's whole output, with the
# machine-readable "FIGURE name value unit stat" lines each prints beside its
# sentences; they are not shown on the terminal), bench-results.tsv (the
# table, with the git commit, date, cores and sizes; the previous one is kept
# as bench-results.prev.tsv); with --quick, bench-results-quick.* instead, so
# that quick runs compare with quick runs. Exit status: 0, or 1 when a bench
# failed (its rows then say so; the others are still measured).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-bench
here=$root/tests/bench
usage() { sed -n '7,9p' "$0" | sed 's/^# //' >&2; exit 2; }

quick=0 sim=0 sim_args="" compare="" repeat=1 only="" out="" keep=0 pos=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--with-simulation) sim=1 ;;
	--simulation-args) sim=1 sim_args=${2:?} && shift ;;
	--compare) compare=${2:?} && shift ;;
	--repeat) repeat=${2:?} && shift ;;
	--only) only=",${2:?}," && shift ;;
	--out) out=${2:?} && shift ;;
	--keep-data) keep=1 ;;
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
	-*) usage ;;
	*) pos+=("$1") ;;
	esac
	shift
done
[ ${#pos[@]} -le 2 ] || usage
[[ $repeat =~ ^[1-9][0-9]*$ ]] || usage
for x in ${only//,/ }; do
	case $x in
	store | sync | day | week | bundle | urgent | tasks | simulation) ;;
	*) echo "run.sh: --only: no bench called $x" >&2 && exit 2 ;;
	esac
done
# the sizes: the benches' own defaults, or --quick's
if [ $quick = 1 ]; then
	size=quick children=2000 ops=20000 bundle=20000 urgent_ops=2000 urgent_runs=3 tvil=20 tper=500
	sim_args=${sim_args:---small}
else
	size=default children=10000 ops=100000 bundle=500000 urgent_ops=10000 urgent_runs=3 tvil=50 tper=1000
fi
children=${pos[0]:-$children}
ops=${pos[1]:-$ops}
[ ${#pos[@]} -eq 0 ] || size="$size (children $children, ops $ops)"
stem=$build/bench-results$([ $quick = 1 ] && echo -quick || true)
out=${out:-$stem.tsv}
log=${out%.tsv}.log
old=""
w=$(mktemp -d /tmp/carenode-bench-run.XXXXXX)
trap 'rm -rf "$w"' EXIT
if [ -n "$compare" ]; then
	[ -r "$compare" ] || { echo "run.sh: cannot read $compare" >&2; exit 2; }
	old=$w/old.tsv
	cp "$compare" "$old" # before this run writes over it, if it is the same file
fi
wanted() { [ -z "$only" ] || [[ $only == *",$1,"* ]]; }

"$root/deploy/install-deps.sh"
"$root/deploy/build.sh" "$build" -DCMAKE_BUILD_TYPE=Release
: >"$log"
load0=$(cut -d' ' -f1 /proc/loadavg)
t_start=$(date +%s)

# run_bench ID LABEL COMMAND...: shown live without its FIGURE lines, all of
# it kept in the log and in $w/ID.K.out; "ID K EXIT SECONDS LABEL" in $w/status
run_bench() {
	local id=$1 label=$2 k rc t0
	shift 2
	for k in $(seq 1 "$repeat"); do
		t0=$(date +%s)
		echo "== $label$([ "$repeat" -gt 1 ] && echo " (run $k of $repeat)") ==" | tee -a "$log"
		set +e
		"$@" 2>&1 | tee "$w/$id.$k.out" | grep --line-buffered -v '^FIGURE '
		rc=${PIPESTATUS[0]}
		set -e
		cat "$w/$id.$k.out" >>"$log"
		printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$k" "$rc" "$(($(date +%s) - t0))" "$label" >>"$w/status"
		[ "$rc" = 0 ] || echo "== $label: FAILED (exit $rc) ==" | tee -a "$log"
		# bench_store leaves its node in /tmp: 100 MB and more at size
		if [ "$id" = store ] && [ $keep = 0 ]; then
			d=$(sed -n 's|^  (data left in \(/tmp/carenode-bench\.[A-Za-z0-9]*\))$|\1|p' "$w/$id.$k.out")
			if [ -n "$d" ]; then
				rm -rf "$d"
				echo "   (removed $d; --keep-data keeps it)"
			fi
		fi
	done
	return 0
}
skip() { printf '%s\t0\tskip\t0\t%s\n' "$1" "$2" >>"$w/status"; }

b=$build
wanted store && run_bench store "bench_store $children $ops" "$b/tests/bench_store" "$b/carenode" "$children" "$ops"
wanted sync && run_bench sync "bench_sync.sh $children $ops" "$here/bench_sync.sh" "$b" "$children" "$ops"
wanted day && run_bench day "bench_day.sh" "$here/bench_day.sh" "$b"
wanted week && run_bench week "bench_day.sh 7" "$here/bench_day.sh" "$b" 7
wanted bundle && run_bench bundle "bench_bundle.sh $bundle" "$here/bench_bundle.sh" "$b" "$bundle"
wanted urgent && run_bench urgent "bench_urgent.sh --ops $urgent_ops --runs $urgent_runs" \
	"$here/bench_urgent.sh" "$b" --ops "$urgent_ops" --runs "$urgent_runs"
wanted tasks && run_bench tasks "bench_tasks.sh $tvil $tper" "$here/bench_tasks.sh" "$b" "$tvil" "$tper"
if wanted simulation; then
	if [ $sim = 0 ]; then
		skip simulation "not run: add --with-simulation"
	elif [ ! -x "$root/deploy/simulate.sh" ]; then
		skip simulation "not run: deploy/simulate.sh is missing"
	else
		read -r -a sa <<<"$sim_args"
		run_bench simulation "deploy/simulate.sh ${sim_args}" "$root/deploy/simulate.sh" "${sa[@]}" \
			--carenode "$b/carenode" --faultproxy "$b/tests/faultproxy"
	fi
fi

commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit+uncommitted"
[ -f "$out" ] && [ "$out" = "$stem.tsv" ] && cp "$out" "$stem.prev.tsv"
status=0
python3 "$here/figures.py" table "$w" "$out" \
	"commit=$commit" \
	"date=$(date '+%F %T %z')" \
	"cores=$(nproc)" \
	"cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
	"size=$size" \
	"sizes=store/sync children $children ops $ops; bundle $bundle; urgent ops $urgent_ops runs $urgent_runs; tasks $tvil villages x $tper; $([ $sim = 1 ] && echo "simulation ${sim_args:-default}" || echo "no simulation")" \
	"repeat=$repeat" \
	"load=$load0 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end (1-minute load average)" \
	"wall=$(($(date +%s) - t_start)) s" |
	tee -a "$log" || status=1
echo "(every bench's whole output: $log; the table as TSV: $out)"
if [ -n "$old" ]; then
	python3 "$here/figures.py" compare "$old" "$out" --old-name "$compare" | tee -a "$log"
fi
exit $status
