#!/usr/bin/env bash
# Urgent first over a rural link (issue #4's benchmark). A county (`serve`),
# a township (`serve`, syncing up to the county through tests/faultproxy:
# 64 kbit/s = 8,000 bytes/s each way, 300 ms each way = 600 ms round trip)
# and a village, real processes on 127.0.0.1. Yesterday's 20 children are
# already at the county. The village files OPS routine ops offline (one
# synthetic child each), then one urgent visit, and comes online: `sync
# --once` to its township, retried with backoff until it succeeds.
# Prints, per run and as the median: seconds from the village coming
# online until the county shows the urgent visit, and how much of the
# backlog the county held then; and bytes per op on the wire, packed (zstd)
# and as sync messages before packing (compression cannot be switched off:
# the latter is what the messages would weigh without it, sealing aside).
# With --full (minutes: the backlog itself crosses the slow link) one run
# also times the whole backlog until the county's digest of the village
# equals the village's, and a second urgent visit filed while the township
# uploads the backlog. Figures, not assertions; each also as a line
# "FIGURE name value unit stat" for tests/bench/run.sh.
# Usage: tests/bench/bench_urgent.sh BUILD_DIR [--ops N] [--runs N] [--full]
set -euo pipefail
build=${1:?usage: bench_urgent.sh BUILD_DIR [--ops N] [--runs N] [--full]}
shift
ops=10000 runs=3 full=0
while [ $# -gt 0 ]; do
	case $1 in
	--ops) ops=$2 && shift ;;
	--runs) runs=$2 && shift ;;
	--full) full=1 ;;
	*) echo "usage: bench_urgent.sh BUILD_DIR [--ops N] [--runs N] [--full]" >&2 && exit 2 ;;
	esac
	shift
done
cn="$build/carenode"
fp="$build/tests/faultproxy"
w=$(mktemp -d /tmp/carenode-bench-urgent.XXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	sleep 0.5
	# a serve in the middle of an exchange stops only when it ends
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$w"
}
trap cleanup EXIT
RATE=8000 LATENCY=300
K=370522000000 T=370522101000 V=370522101201
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
jget() { grep -o "\"$1\":\(\"[^\"]*\"\|[^,}\"]*\)" | head -1 | sed -e "s/^\"$1\"://" -e 's/^"//' -e 's/"$//'; }

# one run in folder $d: sets urgent_s, held, and with --full in run 1
# more figures
run() {
	local i=$1 d=$w/run$1 x kid1 kid2 PK PT PP kpid tpid ppid rpid t0
	c() { local n=$1; shift; "$cn" --dir "$d/$n" "$@"; }
	children() { c "$1" --json child list --status all | grep -o '"id":' | wc -l; }
	bg() { "$@" & pids+=($!); }
	# the village's sync --once until it succeeds, backing off 1 ... 16 s
	retry() {
		local delay=1 sp=
		trap '[ -n "$sp" ] && kill "$sp" 2>/dev/null; exit 1' TERM
		while :; do
			"$cn" --dir "$d/v" --json sync --once --parent "tcp://127.0.0.1:$PT" \
				>"$d/v.json" 2>>"$d/v.log" &
			sp=$!
			if wait "$sp"; then return 0; fi
			sleep "$delay" &
			sp=$!
			wait "$sp" || true
			delay=$((delay < 16 ? delay * 2 : 16))
		done
	}
	mkdir -p "$d"
	c ca ca init >/dev/null
	for x in "k county $K" "t township $T"; do
		set -- $x
		c "$1" init --level "$2" --code "$3" >/dev/null
		c ca ca enroll --subject "$(cat "$d/$1/node.pub")" --role "$2" --code "$3" --out "$d/$1.chain" >/dev/null
		c "$1" join --chain "$d/$1.chain" --root "$d/ca/root.pub" --network-key "$d/ca/network.key" >/dev/null
	done
	c v init --level village --code $V >/dev/null
	c t enroll --subject "$(cat "$d/v/node.pub")" --code $V --out "$d/v.chain" >/dev/null
	c v join --chain "$d/v.chain" --root "$d/ca/root.pub" --network-key "$d/ca/network.key" >/dev/null
	"$cn" synth --village $V --count $((ops + 20)) --seed "$i" --out "$d/all.csv" >/dev/null
	{ head -1 "$d/all.csv" && sed -n 2,21p "$d/all.csv"; } >"$d/old.csv"
	{ head -1 "$d/all.csv" && tail -n +22 "$d/all.csv"; } >"$d/new.csv"
	kid1=$(sed -n 2p "$d/all.csv" | cut -d, -f2)
	kid2=$(sed -n 3p "$d/all.csv" | cut -d, -f2)
	PK=$(free_port) PT=$(free_port)
	# yesterday: 20 children, through the township, at the county
	c v import "$d/old.csv" >/dev/null
	bg "$cn" --dir "$d/t" serve --listen "tcp://127.0.0.1:$PT" 2>>"$d/t.log"
	tpid=$!
	sleep 0.3
	c v sync --once --parent "tcp://127.0.0.1:$PT" >/dev/null
	kill "$tpid" && wait "$tpid" || true
	bg "$cn" --dir "$d/k" serve --listen "tcp://127.0.0.1:$PK" 2>>"$d/k.log"
	kpid=$!
	bg "$fp" --listen 127.0.0.1:0 --target "127.0.0.1:$PK" --log "$d/up.plog" --latency-ms $LATENCY --rate $RATE
	ppid=$!
	for x in $(seq 1 100); do
		PP=$(awk '$2 == "listen" { sub(/.*:/, "", $3); print $3; exit }' "$d/up.plog" 2>/dev/null || true)
		[ -n "$PP" ] && break
		sleep 0.05
	done
	bg "$cn" --dir "$d/t" serve --listen "tcp://127.0.0.1:$PT" --parent "tcp://127.0.0.1:$PP" --interval 60 2>>"$d/t.log"
	tpid=$!
	for x in $(seq 1 240); do
		[ "$(c k digest --scope $V)" = "$(c v digest --scope $V)" ] && break
		sleep 0.5
	done
	# today, offline: the backlog, then the urgent visit
	c v import "$d/new.csv" >/dev/null
	opbytes=$(($(sqlite3 -readonly "$d/v/carenode.db" "SELECT sum(length(bytes)) FROM ops") -
		$(sqlite3 -readonly "$d/v/carenode.db" "SELECT sum(length(bytes)) FROM ops WHERE pos <= 21")))
	c v --urgent visit "$kid1" --type party_cadre --date 2026-11-30 --visitor 张书记 \
		--findings "紧急：儿童独自在家，手臂受伤，已报告派出所 / URGENT-ONE" >/dev/null
	t0=$(now)
	bg retry
	rpid=$!
	urgent_s=none
	for x in $(seq 1 2400); do
		if c k --json child show "$kid1" 2>/dev/null | grep -q URGENT-ONE; then
			urgent_s=$(since "$t0")
			break
		fi
		sleep 0.25
	done
	held=$(($(children k) - 20))
	echo "  run $i: urgent visit at the county after $urgent_s s; the county then held $held of $ops backlog ops"
	if [ "$full" = 1 ] && [ "$i" = 1 ]; then
		# the backlog reaches the township, which starts uploading it
		# when the urgent visit arrives in chain order, at its end
		until [ "$(c v --json status | jget pending_up)" = 0 ]; do sleep 0.5; done
		at_township_s=$(since "$t0")
		until [ "$(children k)" -gt 20 ]; do sleep 0.5; done
		c v --urgent visit "$kid2" --type party_cadre --date 2026-11-30 --visitor 张书记 \
			--findings "紧急：儿童失联，已报告派出所 / URGENT-TWO" >/dev/null
		busy=$(($(children k) - 20))
		t2=$(now)
		kill "$rpid" 2>/dev/null || true
		wait "$rpid" 2>/dev/null || true
		bg retry
		rpid=$!
		until c k --json child show "$kid2" 2>/dev/null | grep -q URGENT-TWO; do sleep 0.5; done
		urgent2_s=$(since "$t2")
		held2=$(($(children k) - 20))
		until [ "$(c k digest --scope $V)" = "$(c v digest --scope $V)" ]; do sleep 1; done
		full_s=$(since "$t0")
		kill "$rpid" 2>/dev/null || true
		kill "$tpid" "$kpid" 2>/dev/null || true
		wait "$tpid" "$kpid" 2>/dev/null || true
		kill "$ppid" && wait "$ppid" || true
		# what crossed the slow link up (NNG framing, handshakes and the
		# urgent visits included), and the township's upload exchange
		up=$(awk '$2 == "conn" && $4 == "close" { sub("up=", "", $5); s += $5 } END { print s + 0 }' "$d/up.plog")
		read -r pushed rts msgbytes < <(sed -n 's/.*pushed \([0-9]*\) (applied.*, \([0-9]*\) round trips, \([0-9]*\)\/[0-9]* bytes$/\1 \2 \3/p' "$d/t.log" |
			awk '$1 > m { m = $1; l = $0 } END { print l }')
		echo "  the whole backlog at the township after $at_township_s s, at the county after $full_s s"
		echo "  a second urgent visit, filed while the township uploaded ($busy of $ops at the county):" \
			"at the county after $urgent2_s s, when it held $held2 of $ops"
		echo "  slow link: the township's upload of $pushed ops took $rts round trips;" \
			"$(awk -v u="$up" -v n="$ops" 'BEGIN { printf "%.1f", u / n }') bytes per op crossed the link" \
			"(packed and sealed, all traffic);" \
			"$(awk -v b="$msgbytes" -v n="$pushed" 'BEGIN { printf "%.1f", b / n }') bytes per op" \
			"as sync messages before packing; the ops themselves $(awk -v b="$opbytes" -v n="$ops" 'BEGIN { printf "%.1f", b / n }')"
		echo "FIGURE urgent_full_backlog_s $full_s s 1 run, the whole backlog at the county"
		echo "FIGURE urgent_during_upload_s $urgent2_s s 1 run, filed while the township uploads"
		awk -v u="$up" -v n="$ops" 'BEGIN { printf "FIGURE urgent_slowlink_bytes_per_op %.1f B/op 1 run, all traffic up\n", u / n }'
	else
		# once: the village's push measured on its own, on 127.0.0.1
		# (the township restarts without its parent; one sync --once)
		kill "$rpid" 2>/dev/null || true
		kill -KILL "$tpid" 2>/dev/null || true
		wait "$rpid" "$tpid" 2>/dev/null || true
		if [ "$i" = $((full + 1)) ]; then
			bg "$cn" --dir "$d/t" serve --listen "tcp://127.0.0.1:$PT" 2>>"$d/t.log"
			tpid=$!
			sleep 0.3
			c v --json sync --once --parent "tcp://127.0.0.1:$PT" >"$d/local.json"
			s=$(cat "$d/local.json")
			pushed=$(printf '%s' "$s" | jget pushed)
			if [ "${pushed:-0}" -gt 0 ]; then
				echo "  the village's push of $pushed ops on 127.0.0.1 (batches sized for a fast link):" \
					"$(awk -v b="$(printf '%s' "$s" | jget wire_sent)" -v n="$pushed" 'BEGIN { printf "%.1f", b / n }') bytes per op packed and sealed," \
					"$(awk -v b="$(printf '%s' "$s" | jget bytes_sent)" -v n="$pushed" 'BEGIN { printf "%.1f", b / n }') as sync messages before packing;" \
					"the ops themselves $(awk -v b="$opbytes" -v n="$ops" 'BEGIN { printf "%.1f", b / n }')"
				awk -v p="$pushed" -v w="$(printf '%s' "$s" | jget wire_sent)" \
					-v m="$(printf '%s' "$s" | jget bytes_sent)" 'BEGIN {
					printf "FIGURE urgent_push_wire_bytes_per_op %.1f B/op 1 run, %d ops on 127.0.0.1, packed and sealed\n", w / p, p
					printf "FIGURE urgent_push_msg_bytes_per_op %.1f B/op 1 run, %d ops on 127.0.0.1, before packing\n", m / p, p }'
			else
				# a small backlog is already at the township by then
				echo "  the village's push on 127.0.0.1: nothing left to push (the backlog had reached the township already)"
				echo "FIGURE urgent_push_wire_bytes_per_op - B/op nothing left to push: the backlog had reached the township"
			fi
			kill "$tpid" 2>/dev/null || true
		fi
		kill "$tpid" "$kpid" "$ppid" 2>/dev/null || true
		wait "$tpid" "$kpid" "$ppid" 2>/dev/null || true
	fi
	echo "$urgent_s $held" >>"$w/urgent"
}

echo "carenode: urgent first over 64 kbit/s, 600 ms round trip (real processes on 127.0.0.1; figures, not assertions)"
echo "  backlog: $ops routine ops (one synthetic child each), then one urgent visit; $runs run(s)$([ "$full" = 1 ] && echo ", run 1 timed to the end")"
for i in $(seq 1 "$runs"); do
	run "$i"
done
python3 - "$w/urgent" "$runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
v = [r[0] for r in rows]
ok = sorted(float(x) for x in v if x != "none")
print("  urgent visit at the county after the village came online: median %s s over %s run(s) (%s)"
      % ("%.2f" % statistics.median(ok) if ok else "none", sys.argv[2], ", ".join(v)))
stat = "of %d run(s)" % len(v)
if len(ok) < len(v):
    stat += ", %d never arrived" % (len(v) - len(ok))
if ok:
    print("FIGURE urgent_latency_median_s %.2f s median %s" % (statistics.median(ok), stat))
    print("FIGURE urgent_latency_max_s %.2f s max %s" % (max(ok), stat))
print("FIGURE urgent_backlog_held_max %d ops max %s, backlog ops at the county when the urgent visit was"
      % (max(int(r[1]) for r in rows), stat))
PY
