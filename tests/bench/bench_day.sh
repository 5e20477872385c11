#!/usr/bin/env bash
# A typical day of one village (issue #4's target: about 30 ops sync in
# under 30 KB): three children filed, twelve home visits, eight parents'
# contacts, five updates, two assessments, then one `sync --once` to its
# township over NNG on 127.0.0.1 (real processes). Prints the ops' own
# size and what crossed the link, both ways, handshake included.
# With DAYS > 1 (a week: 7), that many days of work are done offline and
# synced at once through tests/faultproxy shaped as the issue's bad link
# (64 kbit/s each way, 600 ms round trip), and the seconds are printed.
# Each figure also as a line "FIGURE name value unit stat" for
# tests/bench/run.sh (names prefixed day_, or days7_ for DAYS=7).
# Usage: tests/bench/bench_day.sh BUILD_DIR [DAYS]
set -euo pipefail
build=${1:?usage: bench_day.sh BUILD_DIR [DAYS]}
days=${2:-1}
cn="$build/carenode"
w=$(mktemp -d /tmp/carenode-bench-day.XXXX)
spid=""
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$w"' EXIT
c() { local d=$1; shift; "$cn" --dir "$w/$d" "$@"; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
T=370522101000 V=370522101201

c ca ca init >/dev/null
c t init --level township --code $T >/dev/null
c ca ca enroll --subject "$(cat "$w/t/node.pub")" --role township --code $T --out "$w/t.chain" >/dev/null
c t join --chain "$w/t.chain" --root "$w/ca/root.pub" --network-key "$w/ca/network.key" >/dev/null
c v init --level village --code $V >/dev/null
c t enroll --subject "$(cat "$w/v/node.pub")" --code $V --out "$w/v.chain" >/dev/null
c v join --chain "$w/v.chain" --root "$w/ca/root.pub" --network-key "$w/ca/network.key" >/dev/null
# yesterday's ledger, already at the township
"$cn" synth --village $V --count 40 --seed 5 --out "$w/old.csv"
c v import "$w/old.csv" >/dev/null
"$cn" --dir "$w/t" serve --listen "tcp://127.0.0.1:$port" >/dev/null 2>"$w/t.log" &
spid=$!
sleep 0.3
c v sync --once --parent "tcp://127.0.0.1:$port" >/dev/null
mark=$(sqlite3 "$w/v/carenode.db" "SELECT max(pos) FROM ops")

# today (or, with DAYS > 1, that many days of the same work, offline)
"$cn" synth --village $V --count $((3 * days)) --seed 77 --out "$w/new.csv"
for d in $(seq 1 "$days"); do
	day=$(printf '2026-11-%02d' $((30 - days + d)))
	{ head -1 "$w/new.csv" && tail -n +$((3 * d - 1)) "$w/new.csv" | head -3; } >"$w/slice.csv"
	c v import "$w/slice.csv" --skip-bad >/dev/null 2>&1 || true
	mapfile -t kids < <(c v --json child list | python3 -c 'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]')
	for i in $(seq 0 11); do
		c v visit "${kids[$i]}" --type party_cadre --date "$day" --visitor 联络员张丽 \
			--findings "入户走访，儿童在家，祖母照看，学习生活正常，提醒注意防溺水与冬季用火安全。" >/dev/null
	done
	for i in $(seq 12 19); do
		c v contact "${kids[$i]}" --date "$day" --parent father --method phone \
			--note "父亲在外务工，每周电话联系，本月寄回生活费。" >/dev/null
	done
	for i in $(seq 20 24); do
		c v child update "${kids[$i]}" --grade 四年级 --school-name "北宋镇中心小学$d" >/dev/null
	done
	for i in 25 26; do
		c v assess "${kids[$i]}" --date "$day" --assessor 专干王强 --safety 安全 --guardianship 良好 \
			--health 健康 --result good >/dev/null
	done
done
read -r n size < <(sqlite3 -separator ' ' "$w/v/carenode.db" \
	"SELECT count(*), sum(length(bytes)) FROM ops WHERE pos > $mark")
target=$port
if [ "$days" -gt 1 ]; then
	"$build/tests/faultproxy" --listen 127.0.0.1:0 --target "127.0.0.1:$port" --rate 8000 \
		--latency-ms 300 --log "$w/proxy.log" 2>/dev/null &
	ppid_=$!
	for i in $(seq 1 100); do
		target=$(awk '$2 == "listen" { sub(/.*:/, "", $3); print $3; exit }' "$w/proxy.log" 2>/dev/null)
		[ -n "$target" ] && break
		sleep 0.05
	done
fi
t0=$(date +%s.%N)
out=$(c v --json sync --once --parent "tcp://127.0.0.1:$target")
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
[ "$days" -gt 1 ] && kill "$ppid_" 2>/dev/null
python3 - "$n" "$size" "$out" "$days" "$secs" <<'PY'
import json, sys
n, size, st = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
days, secs = int(sys.argv[4]), sys.argv[5]
wire = st["wire_sent"] + st["wire_received"]
pre = "day" if days == 1 else "days%d" % days
def figure(name, value, unit, stat="1 run"):
    print("FIGURE %s_%s %s %s %s" % (pre, name, value, unit, stat))
if days == 1:
    print("carenode: a village's day (real processes on 127.0.0.1; figures, not assertions)")
else:
    print("carenode: %d days of a village's work, one sync over 64 kbit/s and a 600 ms round trip: %s s"
          % (days, secs))
print("  %d ops, %d bytes of signed ops (%.0f per op)" % (n, size, size / n))
print("  one sync --once: %d round trips, %d bytes sent + %d received (handshake included; packed and sealed) = %d bytes"
      % (st["round_trips"], st["wire_sent"], st["wire_received"], wire))
print("  (sync messages before packing: %d + %d bytes)"
      % (st["bytes_sent"], st["bytes_received"]))
figure("ops", n, "ops")
figure("op_bytes", size, "B", "1 run, signed ops")
figure("sync_bytes", wire, "B", "1 run, both ways, handshake included")
figure("sync_bytes_per_op", "%.1f" % (wire / n), "B/op", "1 run, both ways, handshake included")
figure("round_trips", st["round_trips"], "round-trips")
if days > 1:
    figure("slowlink_sync_s", secs, "s", "1 run, 64 kbit/s, 600 ms round trip")
PY
