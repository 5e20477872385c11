#!/usr/bin/env bash
# Integration suite (issue #4 item 6): crash safety. Real carenode processes
# are killed with SIGKILL at many moments; after every kill the killed node's
# database must pass `carenode verify`, and once the nodes are restarted and
# have synced, the village's scope must have the same digest at the village
# and the township, with nothing lost (every child an import reported as
# committed is present at both) and nothing doubled (each op of the
# village's origin held once at the township, each child once).
#   1. a village killed in the middle of a bulk import (all-or-nothing per file)
#   2. a village killed in the middle of `sync --once` over a slow link
#      (tests/faultproxy with a bandwidth cap), pushing and then pulling
#   3. the township (`carenode serve`) killed while one village pushes and
#      another pulls; restarted on the same port
#   4. a full disk (a small tmpfs; needs root for mount, else skipped) and a
#      read-only database (a 0444 file, a read-only filesystem): writes exit 8
#      with a clear message, reads and verify still work
#   5. USB bundles (proto/BUNDLE.md) between a second township and its
#      village C: the village killed in the middle of `bundle export`, the
#      township in the middle of `bundle import` of the village's bundle
#      (which writes the receipt), the village in the middle of importing
#      that receipt; every import all-or-nothing, each bundle taken once
# Kill moments are random; CRASH_SEED=N repeats a run's choices (the seed is
# printed); the SIGKILLs sent are counted and the total printed. Counts are
# read with sqlite3 -readonly, never written; perl and gzip estimate what a
# compressed sync carries, to size the slow link; strace, when present,
# kills one import at its receipt's rename (5).
# Usage: test_crash.sh PATH/TO/carenode PATH/TO/faultproxy
set -uo pipefail
cn=${1:?usage: test_crash.sh carenode faultproxy}
fp=${2:?usage: test_crash.sh carenode faultproxy}
cn=$(cd "$(dirname "$cn")" && pwd)/$(basename "$cn")
work=$(mktemp -d)
chmod 755 "$work" # scenario 4 runs one command as an unprivileged user
pids=()
tpid=
proxy_pid=
tiny=
pass=0
fail=0
bugs=0
kills=0 # SIGKILLs sent, all sections
ksec=() # "SECTION: COUNT" of them, by kmark
klast=0
cleanup() {
	[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$tiny" ] && umount "$tiny" 2>/dev/null
	if [ "$fail" != 0 ]; then
		for l in "$work"/*.log; do [ -f "$l" ] && { echo "== $l"; tail -8 "$l"; }; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
eq() { if [ "$1" = "$2" ]; then ok; else bad "$3: '$1' != '$2'"; fi; }
# a check that fails because of a product bug found by this suite (see the
# comment at each use for the reproduction): counted as a failure, marked
bug() { if [ "$1" = "$2" ]; then ok; else
	fail=$((fail + 1)) bugs=$((bugs + 1))
	echo "FAIL (PRODUCT BUG): $3: '$1' != '$2'"
fi; }

seed=${CRASH_SEED:-$(($(date +%s) % 32768))}
RANDOM=$seed
echo "kill moments: CRASH_SEED=$seed"
rand() { echo $(($1 + RANDOM % ($2 - $1 + 1))); } # LO HI (inclusive)
secs_of() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); } # ms -> s
now_ms() { date +%s%3N; }
sigkill() { kill -KILL "$1" 2>/dev/null; kills=$((kills + 1)); }
kmark() { ksec+=("$1: $((kills - klast))"); klast=$kills; } # SECTION: its kills so far

T=370522101000 VA=370522101201 VB=370522101202
T2=370522102000 VC=370522102201 # 5: a township and a village that meet by bundles only
c() { local d=$1; shift; "$cn" --dir "$work/$d" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# sq NODE SQL: read the node's database, read-only
sq() { sqlite3 -readonly "$work/$1/carenode.db" "$2"; }
jget() { grep -o "\"$1\":\(\"[^\"]*\"\|[^,}\"]*\)" | head -1 | sed -e "s/^\"$1\"://" -e 's/^"//' -e 's/"$//'; }
# ops NODE KEY: "count|distinct seqs|max seq" of the ops of origin KEY at NODE
ops() { sq "$1" "SELECT count(*), count(DISTINCT seq), coalesce(max(seq), 0) FROM ops WHERE origin = X'$2'"; }
# once "COUNT|DISTINCT|MAX": 1 when no seq is held twice
once() { echo "$1" | awk -F'|' '{ print ($1 == $2) }'; }
# ids NODE VILLAGE: sorted resident IDs of the village's children at NODE
ids() { sq "$1" "SELECT id_number FROM child WHERE village_code = '$2' AND id_number IS NOT NULL" | sort; }
# doubled NODE VILLAGE: children of the village filed more than once
doubled() { sq "$1" "SELECT count(*) - count(DISTINCT id_number) FROM child WHERE village_code = '$2'"; }
# missing LIST NODE VILLAGE: how many IDs of the sorted file LIST NODE lacks
missing() { ids "$2" "$3" | comm -23 "$1" - | wc -l; }
digest() { c "$1" digest --scope "$2"; }
verify() { # NODE WHEN
	local out
	out=$(c "$1" verify 2>&1) || bad "$1 verify $2: $out"
}

# ---- enrolment: the county root, a township, two villages ----
t_all=$(now_ms)
c ca ca init >/dev/null || bad "ca init"
c t init --level township --code $T >/dev/null &&
	c ca ca enroll --subject "$(cat "$work/t/node.pub")" --role township --code $T --out "$work/t.chain" >/dev/null &&
	c t join --chain "$work/t.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "enrol the township"
for v in a:$VA b:$VB; do
	c "${v%%:*}" init --level village --code "${v#*:}" >/dev/null &&
		c t enroll --subject "$(cat "$work/${v%%:*}/node.pub")" --code "${v#*:}" --out "$work/${v%%:*}.chain" >/dev/null &&
		c "${v%%:*}" join --chain "$work/${v%%:*}.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
		bad "enrol village ${v%%:*}"
done
akey=$(cat "$work/a/node.pub")
tkey=$(cat "$work/t/node.pub")

# Every child comes from one synthetic ledger (resident IDs unique within a
# file, not across seeds); a slice for village B gets B's code.
"$cn" synth --village $VA --count 25000 --seed 4 --out "$work/all.csv" >/dev/null || bad "synth"
next=0
# slice COUNT VILLAGE OUT: the next COUNT children of the ledger, filed at
# VILLAGE; their sorted resident IDs in OUT.ids
slice() {
	[ $((next + $1)) -le 25000 ] || bad "the synthetic ledger ran out (test bug)"
	{
		head -1 "$work/all.csv"
		tail -n +$((next + 2)) "$work/all.csv" | head -"$1" | sed "s/,$VA,/,$2,/"
	} >"$3"
	tail -n +2 "$3" | cut -d, -f2 | sort >"$3.ids"
	next=$((next + $1))
}
: >"$work/a.committed" # children village A's imports reported committed
: >"$work/b.filed"     # children the township filed for village B
commit_ids() { sort -m -o "$1" "$1" "$2"; } # LIST += sorted FILE
# imp NODE CSV LIST: an import that must succeed; its IDs join LIST
imp() {
	local out
	out=$(c "$1" import "$2" 2>&1)
	eq "$?" 0 "import $2 at $1 ($out)"
	commit_ids "$3" "$2.ids"
}

# ---- 1. a village killed in the middle of an import ----
t1=$(now_ms)
a0=$(ops a "$akey")
K=2000
slice $K $VA "$work/s.csv"
# how long the whole import takes here, on a scratch node
c z init --level village --code $VA >/dev/null
s0=$(now_ms)
c z import "$work/s.csv" >/dev/null || bad "1: import on a scratch node"
full=$(($(now_ms) - s0))
rm -rf "$work/z"
none=0 all=0 part=0 late=0 vfail=0
delays=()
# kill_import MS: village A imports the current file, SIGKILLed after MS
kill_import() {
	local d=$1 pid rc out before after
	delays+=("$d")
	before=$(ids a $VA | wc -l)
	"$cn" --dir "$work/a" import "$work/s.csv" >"$work/imp.out" 2>&1 &
	pid=$!
	sleep "$(secs_of "$d")"
	sigkill $pid
	wait $pid 2>/dev/null
	rc=$?
	out=$(c a verify 2>&1) || {
		vfail=$((vfail + 1))
		bad "1: verify after an import killed at ${d} ms: $out"
	}
	held=$(ids a $VA | comm -12 "$work/s.csv.ids" - | wc -l)
	after=$(ids a $VA | wc -l)
	eq "$after" $((before + held)) "1: an import killed at $d ms changed only its own file's children"
	if [ "$rc" = 0 ]; then # it finished before the kill: reported committed
		late=$((late + 1))
		eq "$held" $K "1: an import that reported success holds every child"
	fi
	case $held in
	0) none=$((none + 1)) ;;
	"$K")
		all=$((all + 1))
		commit_ids "$work/a.committed" "$work/s.csv.ids" # held by the village: must reach the township
		;;
	*)
		part=$((part + 1))
		bad "1: an import killed at $d ms left $held of its $K children (all-or-nothing)"
		;;
	esac
}
for _ in $(seq 1 10); do
	kill_import "$(rand 50 500)"
	[ "$held" = $K ] && slice $K $VA "$work/s.csv"
done
# and around the moment the import commits, until one kill comes after it
# (so the village keeps one file's children, whatever the machine's speed)
for p in 85 95 105 115; do
	kill_import $((full * p / 100))
	[ "$held" = $K ] && break
done
# the last file, if no kill came late enough, is imported whole
held=$(ids a $VA | comm -12 "$work/s.csv.ids" - | wc -l)
[ "$held" = 0 ] && imp a "$work/s.csv" "$work/a.committed"
eq "$(doubled a $VA)" 0 "1: no child filed twice"
eq "$(missing "$work/a.committed" a $VA)" 0 "1: every committed child is at the village"
a_ops=$(ops a "$akey")
eq "$((${a_ops%%|*} - ${a0%%|*}))" "$(wc -l <"$work/a.committed")" "1: one op per committed child"
echo "1. import of $K killed ${#delays[@]} times (${delays[*]} ms; uninterrupted: $full ms):" \
	"$none none, $all all ($late finished first), $part partial; verify failed $vfail;" \
	"$(secs_of $(($(now_ms) - t1))) s"
kmark 1

# ---- 2. a village killed in the middle of sync --once over a slow link ----
# 2a while it pushes its log, 2b while it pulls what the township filed for it
t2=$(now_ms)
PT=$(free_port)
start_township() {
	"$cn" --dir "$work/t" serve --listen "tcp://127.0.0.1:$PT" >/dev/null 2>>"$work/t.log" &
	tpid=$!
	sleep 0.3
}
start_township
# packed NODE WHERE: the bytes of NODE's ops matching WHERE, gzipped: about
# what the link carries of them (sync messages are compressed)
packed() { sq "$1" "SELECT hex(bytes) FROM ops WHERE $2" | perl -ne 'chomp; print pack("H*", $_)' | gzip -c | wc -c; }
# proxy NAME BYTES/S: a faultproxy in front of the township, on port PP
proxy() {
	"$fp" --listen 127.0.0.1:0 --target "127.0.0.1:$PT" --rate "$2" --log "$work/$1.plog" 2>>"$work/proxy.log" &
	proxy_pid=$!
	PP=
	for _ in $(seq 1 100); do
		PP=$(awk '$2 == "listen" { sub(/.*:/, "", $3); print $3; exit }' "$work/$1.plog" 2>/dev/null)
		[ -n "$PP" ] && return
		sleep 0.05
	done
	bad "2: the proxy $1 did not start"
}
proxy_stop() {
	kill -TERM "$proxy_pid"
	wait "$proxy_pid"
	proxy_pid=
}
a_conv() { [ "$(digest a $VA)" = "$(digest t $VA)" ]; }
b_conv() { [ "$(digest b $VB)" = "$(digest t $VB)" ]; }
# clean_sync WHEN: village A syncs directly (no proxy) until it converges
clean_sync() {
	n=0
	until a_conv; do
		n=$((n + 1))
		[ $n -gt 10 ] && break
		c a sync --once --parent "tcp://127.0.0.1:$PT" --timeout 10 >/dev/null 2>>"$work/a.log"
	done
	a_conv && ok || bad "2: village A and the township did not converge in 10 clean syncs $1"
}
# in_sync WHEN: no village op lost or doubled, every committed child at both
in_sync() {
	local up va
	va=$(ops a "$akey")
	up=$(ops t "$akey")
	eq "$up" "$va" "township holds each op of village A once $1 (count|distinct|max seq)"
	eq "${va%%|*}" "${va##*|}" "village A's chain is gap-free $1"
	eq "$(sq t "SELECT count(*) FROM history WHERE origin = X'$akey'")" 0 "no op of A held outside its chain at t $1"
	eq "$(once "$(ops a "$tkey")")" 1 "village A holds each township op once $1"
	for nd in a t; do
		eq "$(missing "$work/a.committed" $nd $VA)" 0 "every committed child of A at $nd $1"
		eq "$(doubled $nd $VA)" 0 "no child of A doubled at $nd $1"
	done
}
# kill_syncs PHASE COUNT: COUNT syncs through the proxy, each killed after a
# random delay; the village verifies after each; progress in prog (ops of
# the village at the township / ops of the township at the village)
kill_syncs() {
	local d pid up down
	prog=()
	for _ in $(seq 1 "$2"); do
		d=$(rand 200 1800)
		delays+=("$d")
		"$cn" --dir "$work/a" sync --once --parent "tcp://127.0.0.1:$PP" --timeout 20 >/dev/null 2>>"$work/a.log" &
		pid=$!
		sleep "$(secs_of "$d")"
		sigkill $pid
		wait $pid 2>/dev/null
		[ "$?" = 0 ] && finished=$((finished + 1))
		out=$(c a verify 2>&1) || {
			vfail=$((vfail + 1))
			bad "$1: village verify after a sync killed at $d ms: $out"
		}
		up=$(ops t "$akey")
		down=$(ops a "$tkey")
		prog+=("${up%%|*}/${down%%|*}")
		eq "$(once "$up")" 1 "$1: the township holds each village op once after a kill at $d ms ($up)"
	done
}
delays=()
vfail=0 finished=0
total=$(ops a "$akey")
rate_up=$(($(packed a "origin = X'$akey'") / 5 + 1)) # the village's log in about five seconds
proxy up "$rate_up"
kill_syncs 2a 5
push="${prog[*]} of ${total%%|*}"
proxy_stop
clean_sync "after 2a"
in_sync "after 2a"
# the township files 1000 children of village A, which the village pulls
slice 1000 $VA "$work/ta.csv"
imp t "$work/ta.csv" "$work/a.committed"
total=$(ops t "$tkey")
rate_down=$(($(packed t "origin = X'$tkey'") / 4 + 1)) # those in about four seconds
proxy down "$rate_down"
kill_syncs 2b 5
pull="${prog[*]} of ${total%%|*}"
proxy_stop
clean_sync "after 2b"
in_sync "after 2b"
verify a "after the clean sync"
verify t "after the killed syncs"
echo "2. sync killed 10 times at $rate_up then $rate_down B/s (${delays[*]} ms), $finished finished first;" \
	"verify failed $vfail; village/township ops held after each kill: pushing $push, pulling $pull;" \
	"$(secs_of $(($(now_ms) - t2))) s"
kmark 2

# ---- 3. the township killed while village A pushes and village B pulls ----
t3=$(now_ms)
rcs=()
mid=()
delays=()
vfail=0
for round in 1 2 3; do
	slice 1000 $VA "$work/r.csv"
	slice 1000 $VB "$work/rb.csv"
	c a import "$work/r.csv" >"$work/ia.out" 2>&1 &
	pa=$!
	imp t "$work/rb.csv" "$work/b.filed" # the township files B's children while it serves
	wait $pa
	eq "$?" 0 "3: village A imports 1000 children ($(cat "$work/ia.out"))"
	commit_ids "$work/a.committed" "$work/r.csv.ids"
	# the two syncs take about as long as the import of 2000 did in 1
	d=$((full * $(rand 10 90) / 100))
	delays+=("$d")
	"$cn" --dir "$work/a" sync --once --parent "tcp://127.0.0.1:$PT" --timeout 3 >/dev/null 2>>"$work/a.log" &
	pa=$!
	"$cn" --dir "$work/b" sync --once --parent "tcp://127.0.0.1:$PT" --timeout 3 >/dev/null 2>>"$work/b.log" &
	pb=$!
	pids+=("$pa" "$pb")
	sleep "$(secs_of "$d")"
	sigkill "$tpid"
	wait "$tpid" 2>/dev/null
	tpid=
	out=$(c t verify 2>&1) || {
		vfail=$((vfail + 1))
		bad "3: township verify after a kill at $d ms: $out"
	}
	wait $pa 2>/dev/null
	ra=$?
	wait $pb 2>/dev/null
	rcs+=("$ra/$?")
	pids=()
	# children of A at the township, of B at B, against all, at the kill
	mid+=("$(ids t $VA | wc -l)/$(ids a $VA | wc -l),$(ids b $VB | wc -l)/$(ids t $VB | wc -l)")
	start_township # the same port
	n=0
	until a_conv && b_conv; do
		n=$((n + 1))
		[ $n -gt 10 ] && break
		c a sync --once --parent "tcp://127.0.0.1:$PT" --timeout 10 >/dev/null 2>>"$work/a.log"
		c b sync --once --parent "tcp://127.0.0.1:$PT" --timeout 10 >/dev/null 2>>"$work/b.log"
	done
	a_conv && ok || bad "3: village A did not converge with the restarted township (round $round)"
	b_conv && ok || bad "3: village B did not converge with the restarted township (round $round)"
	in_sync "after township kill $round"
	for nd in b t; do
		eq "$(missing "$work/b.filed" $nd $VB)" 0 "3: every child filed for B at $nd (round $round)"
		eq "$(doubled $nd $VB)" 0 "3: no child of B doubled at $nd (round $round)"
	done
	eq "$(once "$(ops b "$tkey")")" 1 "3: village B holds each township op once (round $round)"
done
for nd in a b; do verify $nd "after the township kills"; done
for nd in t a b; do
	eq "$(c $nd --json status | jget quarantined)" 0 "$nd quarantined nothing"
done
echo "3. township killed 3 times (${delays[*]} ms; sync exits A/B: ${rcs[*]};" \
	"children of A pushed, of B pulled by then: ${mid[*]}): verify failed $vfail; $(secs_of $(($(now_ms) - t3))) s"
kmark 3
kill "$tpid"
wait "$tpid" 2>/dev/null
tpid=

# ---- 4. a full disk, a read-only database ----
t4=$(now_ms)
s4=()
rows() { grep -c '^[0-9a-f]\{8\} '; } # children in `child list` output
mkdir -p "$work/tiny"
if [ "$(id -u)" != 0 ]; then
	echo "4a/4b/4d skipped: mounting a small tmpfs needs root (uid $(id -u))"
elif ! mount -t tmpfs -o size=3m carenode-crash "$work/tiny" 2>"$work/mount.log"; then
	echo "4a/4b/4d skipped: mount -t tmpfs is not permitted here: $(cat "$work/mount.log")"
else
	tiny=$work/tiny
	c tiny/v init --level village --code $VA >/dev/null || bad "4: init on the small filesystem"
	slice 200 $VA "$work/f.csv"
	c tiny/v import "$work/f.csv" >/dev/null || bad "4: import 200 children on the small filesystem"
	d0=$(c tiny/v digest)
	# 4a. the disk fills during an import (3 MB holds about 1,000 children)
	slice 1500 $VA "$work/g.csv"
	out=$(c tiny/v import "$work/g.csv" 2>&1)
	eq "$?" 8 "4a: an import that fills the disk is a storage failure (exit 8)"
	printf '%s' "$out" | grep -q "磁盘.*已满.*disk.*full" && ok || bad "4a: the message names the full disk: $out"
	eq "$(c tiny/v digest)" "$d0" "4a: nothing of the failed import was written"
	out=$(c tiny/v verify 2>&1)
	eq "$?" 0 "4a: verify after the disk filled ($out)"
	eq "$(c tiny/v child list | rows)" 200 "4a: child list after the disk filled"
	s4+=("disk filled by an import: exit 8, reads ok")
	# 4b. the disk is already full (another file took the space) when the
	# liaison opens carenode; the node's last command was a write, so SQLite's
	# -shm file was removed and must be created again.
	# Reads still work (the database file is opened as immutable when no
	# write-ahead log holds anything); verify needs to write its scratch
	# projection, so it names the full disk; a write names it too.
	slice 5 $VA "$work/h.csv"
	c tiny/v import "$work/h.csv" >/dev/null || bad "4b: a small import before the disk fills"
	shm4b=$([ -e "$work/tiny/v/carenode.db-shm" ] && echo 1 || echo 0) # 0 today: the case below
	sum=$(sha256sum <"$work/tiny/v/carenode.db")
	dd if=/dev/zero of="$work/tiny/filler" bs=64k 2>/dev/null
	out=$(c tiny/v child list 2>&1)
	full_rc=$?
	eq "$full_rc" 0 "4b: child list on a full disk ($out)"
	eq "$(printf '%s' "$out" | rows)" 205 "4b: child list on a full disk lists the children"
	out=$(c tiny/v verify 2>&1)
	eq "$?" 8 "4b: verify on a full disk is a storage failure ($out)"
	printf '%s' "$out" | grep -q "磁盘已满.*disk is full" && ok || bad "4b: verify names the full disk: $out"
	slice 10 $VA "$work/i.csv"
	out=$(c tiny/v import "$work/i.csv" 2>&1)
	eq "$?" 8 "4b: an import on a full disk is a storage failure (exit 8)"
	printf '%s' "$out" | grep -q "磁盘已满.*disk" && ok ||
		bad "4b: the import's message names the full disk: $out"
	eq "$(sha256sum <"$work/tiny/v/carenode.db")" "$sum" "4b: the full disk changed nothing in the database"
	rm -f "$work/tiny/filler"
	out=$(c tiny/v verify 2>&1)
	eq "$?" 0 "4b: verify once space is free again ($out)"
	c tiny/v import "$work/i.csv" >/dev/null || bad "4b: an import once space is free again"
	s4+=("disk already full (a -shm file: $shm4b): reads exit $full_rc, writes exit 8")
	# 4d. a read-only filesystem, the node's last command a write (as above)
	# Reads work, as on a full disk; verify and writes name the read-only
	# filesystem.
	shm4d=$([ -e "$work/tiny/v/carenode.db-shm" ] && echo 1 || echo 0)
	sum=$(sha256sum <"$work/tiny/v/carenode.db")
	if mount -o remount,ro "$work/tiny" 2>>"$work/mount.log"; then
		out=$(c tiny/v child list 2>&1)
		ro_rc=$?
		eq "$ro_rc" 0 "4d: child list on a read-only filesystem ($out)"
		eq "$(printf '%s' "$out" | rows)" 215 "4d: child list on a read-only filesystem lists the children"
		out=$(c tiny/v verify 2>&1)
		eq "$?" 8 "4d: verify on a read-only filesystem is a storage failure ($out)"
		printf '%s' "$out" | grep -q "read-only" && ok || bad "4d: verify names the read-only filesystem: $out"
		slice 5 $VA "$work/j.csv"
		out=$(c tiny/v import "$work/j.csv" 2>&1)
		eq "$?" 8 "4d: an import on a read-only filesystem is a storage failure (exit 8)"
		printf '%s' "$out" | grep -q "只读.*read-only" && ok ||
			bad "4d: the import's message says read-only: $out"
		mount -o remount,rw "$work/tiny"
		eq "$(sha256sum <"$work/tiny/v/carenode.db")" "$sum" "4d: the read-only filesystem changed nothing"
		out=$(c tiny/v verify 2>&1)
		eq "$?" 0 "4d: verify once writable again ($out)"
		s4+=("read-only filesystem (a -shm file: $shm4d): reads exit $ro_rc, writes exit 8")
	else
		echo "4d skipped: remount read-only not permitted: $(tail -1 "$work/mount.log")"
	fi
fi
# 4c. a read-only database file (0444). root ignores file modes, so as root
# the commands run as nobody on a copy the nobody user owns.
mkdir -p "$work/ro"
cp -r "$work/b" "$work/ro/v"
# without -wal and -shm (SQLite must create them) when the WAL holds nothing
[ -s "$work/ro/v/carenode.db-wal" ] || rm -f "$work/ro/v"/carenode.db-*
as=("$cn")
if [ "$(id -u)" = 0 ]; then
	# a copy of the binary, so the build folder's modes do not matter
	cp "$cn" "$work/ro/carenode" && chmod 755 "$work/ro/carenode"
	if command -v setpriv >/dev/null && chown -R 65534:65534 "$work/ro/v" &&
		setpriv --reuid=65534 --regid=65534 --clear-groups "$work/ro/carenode" --help >/dev/null 2>&1; then
		as=(setpriv --reuid=65534 --regid=65534 --clear-groups "$work/ro/carenode")
	else
		as=(skip)
	fi
fi
if [ "${as[*]}" = skip ]; then
	echo "4c skipped: as root a 0444 file stays writable, and setpriv cannot run carenode as nobody"
else
	chmod 0444 "$work/ro/v/carenode.db"
	r() { HOME=/ "${as[@]}" --dir "$work/ro/v" "$@"; }
	d2=$(r digest)
	out=$(r child list 2>&1)
	eq "$?" 0 "4c: child list on a read-only database file"
	eq "$(printf '%s' "$out" | rows)" "$(wc -l <"$work/b.filed")" "4c: child list on a read-only database file lists the children"
	out=$(r verify 2>&1)
	eq "$?" 0 "4c: verify on a read-only database file ($out)"
	slice 5 $VB "$work/k.csv"
	out=$(r import "$work/k.csv" 2>&1)
	eq "$?" 8 "4c: an import into a read-only database file is a storage failure (exit 8)"
	printf '%s' "$out" | grep -q "只读.*read-only" && ok || bad "4c: the message says read-only: $out"
	out=$(r child add --name 只读测试 --id "$(sed -n 2p "$work/k.csv" | cut -d, -f2)" --household-address 一街 2>&1)
	eq "$?" 8 "4c: child add into a read-only database file is a storage failure (exit 8)"
	printf '%s' "$out" | grep -q "只读.*read-only" && ok || bad "4c: child add's message says read-only: $out"
	eq "$(r digest)" "$d2" "4c: the read-only database file is unchanged"
	s4+=("read-only file: exit 8, reads ok")
fi
printf '4. storage faults: '
printf '%s; ' "${s4[@]}"
echo "$(secs_of $(($(now_ms) - t4))) s"

# ---- 5. bundles: the exporter and the importers killed ----
# A second township and its village C meet by USB bundles only (no serve):
# village C files KC children, the township KT more of village C's (they
# come down in the receipt).
#   5a village C killed in the middle of `bundle export`: it leaves no file
#      or a complete one (the product writes FILE.part and renames it); a
#      half .part left behind is refused as a bundle (a whole one, the kill
#      during its fsync, is one: taken whole) and the next export to the
#      same name succeeds, leaving no .part
#   5b the township killed while it imports C's bundle (and writes its
#      receipt), 5c village C killed while it imports the receipt
# After every kill the killed node verifies, and its state (bstate) is the
# one from before the import or the one an uninterrupted import leaves
# (taken from a copy of the node, which also times the import): all of the
# bundle or none of it. The last kills of a series come around the commit;
# an import that committed is refused when run again (exit 7, "already
# imported"). A random kill that comes after the commit (a machine faster
# than the copy's run) puts the node back from a copy taken before the
# series, and the kills after it aim within that shorter time, so that
# they still find the import half-way.
t5=$(now_ms)
vfail=0
b=$work/usb # the USB stick
mkdir -p "$b"
c t2 init --level township --code $T2 >/dev/null &&
	c ca ca enroll --subject "$(cat "$work/t2/node.pub")" --role township --code $T2 --out "$work/t2.chain" >/dev/null &&
	c t2 join --chain "$work/t2.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "5: enrol the second township"
c c init --level village --code $VC >/dev/null &&
	c t2 enroll --subject "$(cat "$work/c/node.pub")" --code $VC --out "$work/c.chain" >/dev/null &&
	c c join --chain "$work/c.chain" --root "$work/ca/root.pub" --network-key "$work/ca/network.key" >/dev/null ||
	bad "5: enrol village C"
ckey=$(cat "$work/c/node.pub")
t2key=$(cat "$work/t2/node.pub")
KC=2000 KT=1000
: >"$work/c.filed" # children of village C, filed at C or at the township
slice $KT $VC "$work/t2c.csv"
imp t2 "$work/t2c.csv" "$work/c.filed"
slice $KC $VC "$work/c.csv"
imp c "$work/c.csv" "$work/c.filed"
# bstate NODE: what an import may change at NODE: ops, children, bundles
# read (not written: a receipt written again after a kill adds a bundle
# written, on purpose), quarantined ops, the sync cursors of each peer
bstate() {
	sq "$1" "SELECT (SELECT count(*) FROM ops) || '|' || (SELECT count(*) FROM child) || '|' ||
		(SELECT count(*) FROM bundles WHERE direction = 'in') || '|' ||
		(SELECT count(*) FROM quarantine) || '|' ||
		(SELECT coalesce(group_concat(name || ':' || pull_cursor || ':' || push_cursor || ':' || epoch || ':' ||
			their_cursor || ':' || their_epoch || ':' || their_flags || ':' || their_log_epoch || ':' ||
			their_upto, ' '), '') FROM peers)"
}
# bkill NODE MS ARGS...: `carenode --dir NODE bundle ARGS...` SIGKILLed
# after MS ms; its exit status in brc; NODE verifies
bkill() {
	local nd=$1 d=$2 pid out
	shift 2
	delays+=("$d")
	"$cn" --dir "$work/$nd" bundle "$@" >/dev/null 2>>"$work/bundle.log" &
	pid=$!
	sleep "$(secs_of "$d")"
	sigkill $pid
	wait $pid 2>/dev/null
	brc=$?
	out=$(c "$nd" verify 2>&1) || {
		vfail=$((vfail + 1))
		bad "5: $nd verify after bundle $1 killed at $d ms: $out"
	}
}
# kill_bimp NODE MS BUNDLE [--receipt FILE]: NODE's import of BUNDLE killed
# after MS ms must leave the state $pre or $post; held: none, all or part
kill_bimp() {
	local nd=$1 d=$2 st out
	shift 2
	bkill "$nd" "$d" import "$@"
	st=$(bstate "$nd")
	case $st in
	"$pre") held=none none=$((none + 1)) ;;
	"$post")
		held=all all=$((all + 1))
		[ "$brc" = 0 ] && late=$((late + 1))
		out=$(c "$nd" bundle import "$@" 2>&1)
		eq "$?" 7 "5: an import that committed before the kill at $d ms, run again ($out)"
		;;
	*)
		held=part part=$((part + 1))
		bad "5: an import of $1 at $nd killed at $d ms left neither the state before nor after it:" \
			"'$st' (before '$pre', after '$post')"
		;;
	esac
}
# again NODE BUNDLE [--receipt FILE]: after the kills the import is run
# until it has succeeded once (none if a kill came after the commit), then
# once more: refused as already imported; NODE holds the bundle once
again() {
	local nd=$1 out
	shift
	if [ "$held" != all ]; then
		out=$(c "$nd" bundle import "$@" 2>&1)
		eq "$?" 0 "5: the import of $1 at $nd after the kills ($out)"
	fi
	eq "$(bstate "$nd")" "$post" "5: $nd holds $1 as an uninterrupted import leaves it"
	out=$(c "$nd" bundle import "$@" 2>&1)
	eq "$?" 7 "5: a second import of $1 at $nd is refused"
	printf '%s' "$out" | grep -q "already imported" && ok || bad "5: the refusal says already imported: $out"
}

# 5a. the export killed
F=$b/c1.cnb
delays=()
s0=$(now_ms)
c c bundle export --to $T2 --out "$b/probe.cnb" >/dev/null || bad "5a: village C exports a bundle"
efull=$(($(now_ms) - s0))
eprobe=$efull
ebytes=$(stat -c %s "$b/probe.cnb")
rm -f "$b/probe.cnb" # a lost bundle costs nothing: the next one carries the same
pre=$(bstate t2)
nout=$(sq c "SELECT count(*) FROM bundles WHERE direction = 'out'")
parts=()
refused=()
for _ in 1 2 3 4; do
	d=$((efull * $(rand 20 90) / 100))
	bkill c $d export --to $T2 --out "$F"
	if [ -e "$F" ]; then # renamed before the kill: whole, and lost
		parts+=(bundle)
		efull=$d # the next kill comes sooner
		eq "$(stat -c %s "$F")" "$ebytes" "5a: a bundle left by a killed export is whole"
		[ -e "$F.part" ] && bad "5a: a .part is left beside a renamed bundle" || ok
		rm -f "$F"
		nout=$(sq c "SELECT count(*) FROM bundles WHERE direction = 'out'")
		continue
	fi
	eq "$(sq c "SELECT count(*) FROM bundles WHERE direction = 'out'")" "$nout" "5a: a killed export is not listed"
	if [ -e "$F.part" ]; then
		# what the township makes of it (on a copy). A .part as large as
		# the bundle is one, whole (the kill came during its fsync): taken
		# whole or refused whole
		parts+=(".part:$(stat -c %s "$F.part")")
		cp -a "$work/t2" "$work/z"
		out=$(c z bundle import "$F.part" --no-receipt 2>&1)
		rc=$?
		if [ "$(stat -c %s "$F.part")" = "$ebytes" ]; then
			refused+=("$rc(whole)")
			if [ "$rc" = 0 ]; then
				eq "$(ops z "$ckey")" "$(ops c "$ckey")" "5a: a whole .part imported holds every op of village C"
			else
				eq "$(bstate z)" "$pre" "5a: nothing of a whole .part refused is applied ($out)"
			fi
		else
			refused+=("$rc")
			eq "$rc" 3 "5a: a half .part left by a killed export is refused as a bundle ($out)"
			eq "$(bstate z)" "$pre" "5a: nothing of a half .part is applied"
		fi
		rm -rf "$work/z"
	else
		parts+=(nothing)
	fi
done
ekills=${#delays[@]}
edelays=${delays[*]}
out=$(c c bundle export --to $T2 --out "$F" 2>&1)
eq "$?" 0 "5a: the export after the killed ones ($out)"
eq "$(stat -c %s "$F")" "$ebytes" "5a: the bundle is whole"
[ -e "$F.part" ] && bad "5a: a .part is left beside the finished bundle" || ok
eq "$(c c --json bundle show "$F" | jget bytes)" "$(stat -c %s "$F")" "5a: bundle show gives the file's size"

# 5b. the township killed while it imports village C's bundle
R=$b/c1-r.cnb # the receipt
pre=$(bstate t2)
cp -a "$work/t2" "$work/t2.pre"
cp -a "$work/t2" "$work/z"
s0=$(now_ms)
out=$(c z --json bundle import "$F" --receipt "$work/z-r.cnb" 2>&1)
full=$(($(now_ms) - s0))
tfull=$full # as measured (full shrinks after a kill that came too late)
eq "$(jget applied <<<"$out")/$(jget quarantined <<<"$out")" "$(ops c "$ckey" | cut -d'|' -f1)/0" \
	"5b: an uninterrupted import (on a copy) applies every op of village C ($out)"
post=$(bstate z)
rm -rf "$work/z" "$work/z-r.cnb"
none=0 all=0 part=0 late=0 rwrite=0
delays=()
for _ in $(seq 1 20); do
	d=$((full * $(rand 5 85) / 100))
	rp=$(stat -c '%s %y' "$R.part" 2>/dev/null)
	kill_bimp t2 $d "$F" --receipt "$R"
	if [ "$held" = all ]; then # after the commit: back to the copy
		full=$((d < full ? d : full))
		rm -rf "$work/t2" "$R" "$R.part"
		cp -a "$work/t2.pre" "$work/t2"
		continue
	fi
	[ -e "$R" ] && bad "5b: an import killed before its commit left a receipt" || ok
	# killed while it wrote the receipt (the .part a kill before left is
	# written anew by the next import)
	[ "$(stat -c '%s %y' "$R.part" 2>/dev/null)" != "$rp" ] && rwrite=$((rwrite + 1))
	eq "$(once "$(ops t2 "$ckey")")" 1 "5b: the township holds each op of village C once"
done
# and around the commit, until one kill comes after it
for p in 95 105 115 125; do
	kill_bimp t2 $((full * p / 100)) "$F" --receipt "$R"
	[ "$held" = all ] && break
	[ -e "$R" ] && bad "5b: an import killed before its commit left a receipt" || ok
done
again t2 "$F" --receipt "$R"
# Was a bug (fixed): a kill between the commit and the receipt's rename
# (not rare: the WAL checkpoint inside the commit lies in between) lost
# the receipt for good; running the import again now refuses it and writes
# the receipt again.
if [ ! -s "$R" ]; then
	eq "missing (.part: $([ -e "$R.part" ] && echo yes || echo no))" written "5b: the receipt of the imported bundle"
	rm -f "$R.part"
	c c bundle export --to $T2 --out "$b/c2.cnb" >/dev/null && c t2 bundle import "$b/c2.cnb" --receipt "$R" >/dev/null ||
		bad "5b: a second bundle for the lost receipt"
fi
[ -e "$R.part" ] && bad "5b: a .part of the receipt is left beside it" || ok
eq "$(ops t2 "$ckey")" "$(ops c "$ckey")" "5b: the township holds every op of village C once (count|distinct|max seq)"
tkills=${#delays[@]} tdelays="${delays[*]}" tres="$none none, $all all ($late finished first), $part partial"
# the moment between the commit and the receipt's rename(2), on purpose:
# strace (fault injection) sends SIGKILL as the rename starts, on a copy
if command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null; then
	cp -a "$work/t2.pre" "$work/z"
	strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 -e inject=rename,renameat,renameat2:signal=KILL \
		"$cn" --dir "$work/z" bundle import "$F" --receipt "$work/z-r.cnb" >/dev/null 2>>"$work/bundle.log" &
	pid=$!
	wait $pid 2>/dev/null
	eq "$?" 137 "5b: strace killed the import at the receipt's rename"
	kills=$((kills + 1))
	verify z "after a kill at the receipt's rename"
	eq "$(bstate z)" "$post" "5b: an import killed at its receipt's rename has committed"
	out=$(c z bundle import "$F" --receipt "$work/z-r.cnb" 2>&1)
	eq "$?" 7 "5b: ... and is refused when run again ($out)"
	# was a bug (fixed): the import commits, then renames the receipt's
	# .part; killed in between, running the import again said "already
	# imported" and never wrote the receipt. Now it writes it again.
	zr=$([ -s "$work/z-r.cnb" ] && echo written || echo "missing (.part: $([ -e "$work/z-r.cnb.part" ] && echo yes || echo no))")
	eq "$zr" written "5b: the receipt of an import killed between its commit and the receipt's rename"
	rm -rf "$work/z" "$work/z-r.cnb" "$work/z-r.cnb.part"
	strace5="; killed by strace at the receipt's rename: committed, the receipt $zr"
else
	strace5="; no strace: the kill at the receipt's rename skipped"
fi
rm -rf "$work/t2.pre"

# 5c. village C killed while it imports the receipt
pre=$(bstate c)
cp -a "$work/c" "$work/c.pre"
cp -a "$work/c" "$work/z"
s0=$(now_ms)
out=$(c z --json bundle import "$R" 2>&1)
full=$(($(now_ms) - s0))
cfull=$full
eq "$(jget acked <<<"$out")/$(jget quarantined <<<"$out")" "$(ops c "$ckey" | cut -d'|' -f1)/0" \
	"5c: an uninterrupted import of the receipt (on a copy) acknowledges every op of village C ($out)"
post=$(bstate z)
rm -rf "$work/z"
none=0 all=0 part=0 late=0
delays=()
for _ in $(seq 1 10); do
	d=$((full * $(rand 5 85) / 100))
	kill_bimp c $d "$R"
	if [ "$held" = all ]; then
		full=$((d < full ? d : full))
		rm -rf "$work/c"
		cp -a "$work/c.pre" "$work/c"
	fi
	eq "$(once "$(ops c "$t2key")")" 1 "5c: village C holds each township op once"
done
for p in 95 105 115 125; do
	kill_bimp c $((full * p / 100)) "$R"
	[ "$held" = all ] && break
done
again c "$R"
rm -rf "$work/c.pre"
eq "$(digest c $VC)" "$(digest t2 $VC)" "5: village C's scope has one digest at the village and the township"
for nd in c t2; do
	eq "$(missing "$work/c.filed" $nd $VC)" 0 "5: every child of village C at $nd"
	eq "$(doubled $nd $VC)" 0 "5: no child of village C doubled at $nd"
	eq "$(c $nd --json status | jget quarantined)" 0 "5: $nd quarantined nothing"
	verify $nd "after the bundles"
done
eq "$(ops t2 "$ckey")" "$(ops c "$ckey")" "5: the township holds each op of village C once (count|distinct|max seq)"
eq "$(once "$(ops c "$t2key")")" 1 "5: village C holds each township op once"
eq "$(c c --json status | jget pending_up)" 0 "5: nothing of village C is pending up"
kmark 5
echo "5. bundles of $KC children up, $KT down: export killed $ekills times ($edelays ms; uninterrupted: $eprobe ms;" \
	"left: ${parts[*]} (of $ebytes bytes), import of a .part exits ${refused[*]:--});" \
	"township import killed $tkills times" \
	"($tdelays ms; uninterrupted: $tfull ms): $tres, $rwrite while writing the receipt$strace5;" \
	"receipt import at the village killed ${#delays[@]} times (${delays[*]} ms; uninterrupted: $cfull ms):" \
	"$none none, $all all ($late finished first), $part partial; verify failed $vfail; $(secs_of $(($(now_ms) - t5))) s"

[ "$kills" -ge 50 ] && ok || bad "$kills SIGKILLs in all: fewer than 50"
echo "SIGKILLs by section: ${ksec[*]}; $kills in all"
echo
echo "$pass passed, $fail failed$([ "$bugs" = 0 ] || echo " ($bugs of them product bugs, marked PRODUCT BUG)");" \
	"$(secs_of $(($(now_ms) - t_all))) s"
[ "$fail" = 0 ]
