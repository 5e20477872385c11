#!/usr/bin/env bash
# USB bundles at size (issue #4): a village with N children (default
# 500,000: a bundle of about 100 MB) exports everything for its township;
# the township imports it. Prints the bundle's size and bytes per op, the
# seconds and ops/s of export and import, and the importer's peak memory
# (VmHWM from /proc, polled) for a small bundle and for the large one:
# memory must stay flat whatever the size (frames are read one at a time).
# Each figure also as a line "FIGURE name value unit stat" for
# tests/bench/run.sh (bundle_small_*, bundle_large_*).
# Usage: tests/bench/bench_bundle.sh BUILD_DIR [children]
set -euo pipefail
build=${1:?usage: bench_bundle.sh BUILD_DIR [children]}
big=${2:-500000}
cn="$build/carenode"
w=$(mktemp -d /tmp/carenode-bench-bundle.XXXX)
trap 'rm -rf "$w"' EXIT
c() { local d=$1; shift; "$cn" --dir "$w/$d" "$@"; }
now() { date +%s.%N; }
T=370522101000

# runs "$@" in the background and prints "seconds peak_kib" when it ends
peak_run() {
	local t0 pid hwm=0 h
	t0=$(now)
	"$@" >/dev/null &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		h=$(awk '/^VmHWM/ { print $2 }' /proc/$pid/status 2>/dev/null || true)
		[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
		sleep 0.05
	done
	wait $pid
	echo "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') $hwm"
}

c ca ca init >/dev/null
c t init --level township --code $T >/dev/null
c ca ca enroll --subject "$(cat "$w/t/node.pub")" --role township --code $T --out "$w/t.chain" >/dev/null
c t join --chain "$w/t.chain" --root "$w/ca/root.pub" --network-key "$w/ca/network.key" >/dev/null
village() { # name code children
	c "$1" init --level village --code "$2" >/dev/null
	c t enroll --subject "$(cat "$w/$1/node.pub")" --code "$2" --out "$w/$1.chain" >/dev/null
	c "$1" join --chain "$w/$1.chain" --root "$w/ca/root.pub" --network-key "$w/ca/network.key" >/dev/null
	"$cn" synth --village "$2" --count "$3" --seed 9 --out "$w/$1.csv"
	# a CSV import takes at most 64 MiB: 100,000 rows at a time
	tail -n +2 "$w/$1.csv" | split -l 100000 - "$w/$1.part."
	for f in "$w/$1.part."*; do
		{ head -1 "$w/$1.csv" && cat "$f"; } >"$f.csv"
		c "$1" import "$f.csv" >/dev/null
		rm -f "$f" "$f.csv"
	done
	rm -f "$w/$1.csv"
}
printf '%-22s %10s %12s %9s %10s %10s %12s\n' bundle ops bytes B/op export_s import_s import_peak
for spec in "small 370522101201 5000" "large 370522101202 $big"; do
	set -- $spec
	village "$1" "$2" "$3"
	read -r es _ < <(peak_run "$cn" --dir "$w/$1" bundle export --to $T --out "$w/$1.cnb")
	bytes=$(stat -c %s "$w/$1.cnb")
	ops=$("$cn" --dir "$w/$1" --json bundle list | python3 -c 'import json,sys; print(json.load(sys.stdin)["bundles"][-1]["ops"])')
	read -r is peak < <(peak_run "$cn" --dir "$w/t" bundle import "$w/$1.cnb" --no-receipt)
	printf '%-22s %10s %12s %9.1f %10s %10s %9.1f MB\n' "$1 ($3 children)" "$ops" "$bytes" \
		"$(awk -v b="$bytes" -v o="$ops" 'BEGIN { print b / o }')" "$es" "$is" \
		"$(awk -v k="$peak" 'BEGIN { print k / 1024 }')"
	awk -v o="$ops" -v s="$is" 'BEGIN { printf "  import %.0f ops/s\n", o / s }'
	awk -v n="bundle_$1" -v o="$ops" -v b="$bytes" -v e="$es" -v s="$is" -v k="$peak" 'BEGIN {
		printf "FIGURE %s_ops %d ops 1 run\n", n, o
		printf "FIGURE %s_bytes_per_op %.1f B/op 1 run, in the file\n", n, b / o
		printf "FIGURE %s_export_s %s s 1 run\n", n, e
		printf "FIGURE %s_import_s %s s 1 run\n", n, s
		printf "FIGURE %s_import_ops_s %.0f ops/s 1 run\n", n, o / s
		printf "FIGURE %s_import_rss_mb %.1f MB 1 run, VmHWM polled every 0.05 s\n", n, k / 1024 }'
	rm -f "$w/$1.cnb"
done
c t verify >/dev/null && echo "township verify: ok"
