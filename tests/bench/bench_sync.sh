#!/usr/bin/env bash
# Initial sync of a township from the county (issue #3's benchmark): the
# county holds CHILDREN children in the township's villages and OPS ops in
# all; the township, empty, syncs once over NNG on 127.0.0.1 (real
# processes). Prints ops/s, wall seconds, bytes on the wire per op against
# the ops' own size, an idle sync's round trips and bytes, and the county's
# peak RSS while serving. Then each kind of node as it runs in the field:
# the township `serve`s (listening, and syncing with the county) while a
# village of the ten `serve`s (syncing with the township, no listener) and
# pulls its own village's ops; their peak RSS is printed too. Figures, not
# assertions; each also as a line "FIGURE name value unit stat" for
# tests/bench/run.sh.
# Usage: tests/bench/bench_sync.sh BUILD_DIR [children] [ops]
set -euo pipefail
build=${1:?usage: bench_sync.sh BUILD_DIR [children] [ops]}
children=${2:-10000}
ops=${3:-100000}
cn="$build/carenode"
w=$(mktemp -d /tmp/carenode-bench-sync.XXXXXX)
spid="" tpid="" vpid=""
trap 'kill $spid $tpid $vpid 2>/dev/null; wait 2>/dev/null; rm -rf "$w"' EXIT
c() { local d=$1; shift; "$cn" --dir "$w/$d" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
V=370522101201

c ca ca init >/dev/null
c k init --level county --code 370522000000 >/dev/null
c ca ca enroll --subject "$(cat "$w/k/node.pub")" --role county --code 370522000000 --out "$w/k.chain" >/dev/null
c k join --chain "$w/k.chain" --root "$w/ca/root.pub" --network-key "$w/ca/network.key" >/dev/null
c t init --level township --code 370522101000 >/dev/null
c ca ca enroll --subject "$(cat "$w/t/node.pub")" --role township --code 370522101000 --out "$w/t.chain" >/dev/null
c t join --chain "$w/t.chain" --root "$w/ca/root.pub" --network-key "$w/ca/network.key" >/dev/null
c v init --level village --code $V >/dev/null
c t enroll --subject "$(cat "$w/v/node.pub")" --code $V --out "$w/v.chain" >/dev/null
c v join --chain "$w/v.chain" --root "$w/ca/root.pub" --network-key "$w/ca/network.key" >/dev/null
# the county files the children of ten of the township's villages
per=$((children / 10))
for v in 201 202 203 204 205 206 207 208 209 210; do
	"$cn" synth --village 370522101$v --count $per --seed $v --out "$w/$v.csv"
	# synthetic IDs can collide across villages: skip the rare duplicate
	c k import "$w/$v.csv" --skip-bad >/dev/null 2>&1
done
"$build/tests/bench_fill" "$w/k" "$ops"
held=$(sqlite3 "$w/k/carenode.db" "SELECT count(*) FROM ops WHERE skip_from IS NULL")

"$cn" --dir "$w/k" serve --listen "tcp://127.0.0.1:$port" >/dev/null 2>"$w/k.log" &
spid=$!
sleep 0.3
t0=$(date +%s.%N)
c t --json sync --once --parent "tcp://127.0.0.1:$port" --timeout 600 >"$w/first.json"
t1=$(date +%s.%N)
c t --json sync --once --parent "tcp://127.0.0.1:$port" >"$w/idle.json"
rss=$(hwm $spid)

# the field's shape: the township serves (and syncs with the county), a
# village serves (syncs with the township) and pulls its own village
tport=$(free_port)
"$cn" --dir "$w/t" serve --listen "tcp://127.0.0.1:$tport" --parent "tcp://127.0.0.1:$port" \
	--interval 5 >/dev/null 2>"$w/t.log" &
tpid=$!
sleep 0.3
v0=$(date +%s.%N)
"$cn" --dir "$w/v" serve --parent "tcp://127.0.0.1:$tport" --interval 5 >/dev/null 2>"$w/v.log" &
vpid=$!
vs=none
for _ in $(seq 1 1200); do
	# the village's own enrolment goes up too: compare both, each time
	if [ "$(c v digest --scope $V 2>/dev/null)" = "$(c t digest --scope $V 2>/dev/null)" ]; then
		vs=$(awk -v a="$v0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
		break
	fi
	sleep 0.5
done
vops=$(sqlite3 "$w/v/carenode.db" "SELECT count(*) FROM ops WHERE skip_from IS NULL")
trss=$(hwm $tpid) vrss=$(hwm $vpid)
kill $tpid $vpid
wait $tpid $vpid 2>/dev/null || true
tpid="" vpid=""
python3 - "$w" "$t0" "$t1" "$held" "$rss" "$trss" "$vrss" "$vs" "$vops" <<'PY'
import json, sqlite3, sys
w, t0, t1, held, rss = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
trss, vrss, vs, vops = int(sys.argv[6]), int(sys.argv[7]), sys.argv[8], int(sys.argv[9])
def figure(name, value, unit, stat="1 run"):
    print("FIGURE %s %s %s %s" % (name, value, unit, stat))
first = json.load(open(w + "/first.json"))
idle = json.load(open(w + "/idle.json"))
db = sqlite3.connect(w + "/t/carenode.db")
n, size = db.execute("SELECT count(*), sum(length(bytes)) FROM ops WHERE skip_from IS NULL").fetchone()
secs = t1 - t0
print("carenode sync benchmark (real processes on 127.0.0.1; figures, not assertions)")
print("  county holds %d ops; the township received %d ops (%.1f MB of signed ops)" % (held, first["pulled"], size / 1e6))
print("  initial sync: %.2f s wall, %.0f ops/s, %d round trips" % (secs, first["pulled"] / secs, first["round_trips"]))
print("  bytes on the wire: %d received = %.1f bytes per op against %.1f bytes per op encoded = %.3fx"
      % (first["bytes_received"], first["bytes_received"] / first["pulled"], size / n,
         (first["bytes_received"] / first["pulled"]) / (size / n)))
print("  packed and sealed (zstd inside the channel): %d bytes received = %.1f bytes per op = %.3fx the ops' own size"
      % (first["wire_received"], first["wire_received"] / first["pulled"],
         (first["wire_received"] / first["pulled"]) / (size / n)))
print("  idle sync: %d round trips after the handshake's 2, %d bytes sent, %d received (sync messages, sealed)"
      % (idle["round_trips"] - 2, idle["bytes_sent"], idle["bytes_received"]))
print("  county peak RSS while serving: %.1f MB" % (rss / 1024))
print("  the township serving (and syncing with the county) while a village serving pulled its %d ops%s:"
      % (vops, " in %s s" % vs if vs != "none" else " (NOT finished in 600 s)"))
print("  township peak RSS while serving: %.1f MB; village peak RSS while serving: %.1f MB" % (trss / 1024, vrss / 1024))
figure("sync_ops_s", "%.0f" % (first["pulled"] / secs), "ops/s")
figure("sync_initial_s", "%.2f" % secs, "s")
figure("sync_round_trips", first["round_trips"], "round-trips")
figure("sync_msg_bytes_per_op", "%.1f" % (first["bytes_received"] / first["pulled"]), "B/op")
figure("sync_wire_bytes_per_op", "%.1f" % (first["wire_received"] / first["pulled"]), "B/op")
figure("op_bytes_encoded", "%.1f" % (size / n), "B/op")
rt = max(idle["round_trips"] - 2, 1)
figure("idle_round_trips", idle["round_trips"] - 2, "round-trips", "1 run, after the handshake's 2")
figure("idle_bytes_up_per_rt", "%.0f" % (idle["bytes_sent"] / rt), "B", "1 run, sync messages sealed")
figure("idle_bytes_down_per_rt", "%.0f" % (idle["bytes_received"] / rt), "B", "1 run, sync messages sealed")
figure("idle_wire_up", idle["wire_sent"], "B", "1 run, whole idle sync with handshake")
figure("idle_wire_down", idle["wire_received"], "B", "1 run, whole idle sync with handshake")
figure("rss_county_serve_mb", "%.1f" % (rss / 1024), "MB", "1 run, serving the initial sync")
figure("rss_township_serve_mb", "%.1f" % (trss / 1024), "MB", "1 run, serving a village's pull")
figure("rss_village_serve_mb", "%.1f" % (vrss / 1024), "MB", "1 run, pulling its village")
if vs != "none":
    figure("village_serve_pull_s", vs, "s")
PY
