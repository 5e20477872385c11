#!/usr/bin/env bash
# Initial sync of a township from the county (issue #3's benchmark): the
# county holds CHILDREN children in the township's villages and OPS ops in
# all; the township, empty, syncs once over NNG on 127.0.0.1 (real
# processes). Prints ops/s, wall seconds, bytes on the wire per op against
# the ops' own size, an idle sync's round trips and bytes, and the county's
# peak RSS while serving. Figures, not assertions.
# Usage: tests/bench/bench_sync.sh BUILD_DIR [children] [ops]
set -euo pipefail
build=${1:?usage: bench_sync.sh BUILD_DIR [children] [ops]}
children=${2:-10000}
ops=${3:-100000}
cn="$build/carenode"
w=$(mktemp -d /tmp/carenode-bench-sync.XXXXXX)
spid=""
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$w"' EXIT
c() { local d=$1; shift; "$cn" --dir "$w/$d" "$@"; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

c ca ca init >/dev/null
c k init --level county --code 370522000000 >/dev/null
c ca ca enroll --subject "$(cat "$w/k/node.pub")" --role county --code 370522000000 --out "$w/k.chain" >/dev/null
c k join --chain "$w/k.chain" --root "$w/ca/root.pub" --network-key "$w/ca/network.key" >/dev/null
c t init --level township --code 370522101000 >/dev/null
c ca ca enroll --subject "$(cat "$w/t/node.pub")" --role township --code 370522101000 --out "$w/t.chain" >/dev/null
c t join --chain "$w/t.chain" --root "$w/ca/root.pub" --network-key "$w/ca/network.key" >/dev/null
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
rss=$(grep VmHWM /proc/$spid/status | awk '{print $2}')
python3 - "$w" "$t0" "$t1" "$held" "$rss" <<'PY'
import json, sqlite3, sys
w, t0, t1, held, rss = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
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
PY
