#!/usr/bin/env bash
# carenode demo: installs what is missing, builds, and runs the main job on
# its embedded default — a small county on this machine: the county root
# identity, the county node, two townships (北宋镇, 盐窝镇) and four of their
# villages, all on 127.0.0.1. The villages file synthetic children offline
# (one is assessed, visited, contacted, has its guardian changed, one child
# leaves the ledger), then the hierarchy syncs and the county shows the
# consolidated counts. A school's mandatory report reaches the county's
# police, who respond step by step; the township acknowledges their notice;
# the county sees the tasks and the joint meeting's report. Then it serves
# the web pages of the county and of a village on 127.0.0.1, prints their
# addresses and demo logins, and waits for Ctrl-C (issue #6).
#
#   ./deploy/demo.sh [--no-serve] [FOLDER]
#       FOLDER defaults to a new temporary folder; --no-serve runs the same
#       scenario and exits instead of serving the pages.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
serve=1
if [ "${1:-}" = --no-serve ]; then
	serve=0
	shift
fi
count=${CARENODE_DEMO_CHILDREN:-12}

"$root/deploy/install-deps.sh"
echo "== 构建 / building carenode =="
"$root/deploy/build.sh" "$root/build"
cn="$root/build/carenode"

base=${1:-$(mktemp -d /tmp/carenode-demo.XXXXXX)}
mkdir -p "$base"
export CARENODE_USER=demo
# the village laptops are encrypted at rest (init --encrypt); in the demo
# their passphrase sits in a file, in practice it is typed or comes from
# systemd's credentials (README)
printf '演示口令 demo passphrase 2026\n' >"$base/demo-passphrase"
chmod 600 "$base/demo-passphrase"
export CARENODE_PASSPHRASE_FILE=$base/demo-passphrase
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT
run() { local d=$1; shift; echo "\$ carenode --dir $d $*"; "$cn" --dir "$base/$d" "$@"; }
quiet() { local d=$1; shift; "$cn" --dir "$base/$d" "$@" >/dev/null; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

county=370522000000
towns=(370522101000 370522102000)
villages=(370522101201 370522101202 370522102201 370522102202)

echo
echo "== 1. 县级根身份（应在离线电脑上）/ the county root identity (on an offline machine in practice) =="
run ca ca init
echo
echo "== 2. 创建并登记县、乡镇、村节点 / create and enrol the county, township and village nodes =="
quiet county init --level county --code $county
quiet ca ca enroll --subject "$(cat "$base/county/node.pub")" --role county --code $county --out "$base/county.chain"
quiet county join --chain "$base/county.chain" --root "$base/ca/root.pub" --network-key "$base/ca/network.key"
for t in "${towns[@]}"; do
	quiet "town-$t" init --level township --code "$t"
	quiet ca ca enroll --subject "$(cat "$base/town-$t/node.pub")" --role township --code "$t" --out "$base/town-$t.chain"
	quiet "town-$t" join --chain "$base/town-$t.chain" --root "$base/ca/root.pub" --network-key "$base/ca/network.key"
done
for v in "${villages[@]}"; do
	t=${v:0:9}000
	quiet "village-$v" init --level village --code "$v" --encrypt
	quiet "town-$t" enroll --subject "$(cat "$base/village-$v/node.pub")" --code "$v" --out "$base/village-$v.chain"
	quiet "village-$v" join --chain "$base/village-$v.chain" --root "$base/ca/root.pub" --network-key "$base/ca/network.key"
	echo "  已登记 / enrolled: $("$cn" --dir "$base/village-$v" info | sed -n 1p)"
done

echo
echo "== 3. 各村离线建档（合成数据，非真实儿童）/ villages file children offline (synthetic data) =="
i=0
for v in "${villages[@]}"; do
	i=$((i + 1))
	"$cn" synth --village "$v" --count "$count" --seed "$i" --out "$base/ledger-$v.csv"
	run "village-$v" import "$base/ledger-$v.csv"
done
v=${villages[0]}
mapfile -t ids < <("$cn" --dir "$base/village-$v" child list --json | python3 -c \
	'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]')
today=$(TZ=Asia/Shanghai date +%F)
run "village-$v" assess "${ids[0]}" --date "$today" --assessor 王专干 --safety "独自在家时间较长" \
	--guardianship "监护人年迈" --health "情绪低落" --result 差
run "village-$v" visit "${ids[0]}" --type party_cadre --date "$today" --visitor 张书记 --findings "上门家访，已联系父母"
run "village-$v" contact "${ids[0]}" --date "$today" --parent mother --method video --note "每周视频一次"
run "village-$v" guardian set "${ids[1]}" --phone 13905460000
run "village-$v" child remove "${ids[2]}" --reason 父母返乡 --caring-parent 母亲

echo
echo "== 4. 运行县、乡镇节点并同步 / run the county and townships, then sync =="
pk=$(port)
county_web=http://127.0.0.1:$(port)
# the county also serves its web pages (issue #6; loopback only)
"$cn" --dir "$base/county" serve --listen "tcp://127.0.0.1:$pk" --http "$county_web" \
	>/dev/null 2>"$base/county.log" &
pids+=($!)
declare -A tport
for t in "${towns[@]}"; do
	tport[$t]=$(port)
	"$cn" --dir "$base/town-$t" serve --listen "tcp://127.0.0.1:${tport[$t]}" \
		--parent "tcp://127.0.0.1:$pk" --interval 1 >/dev/null 2>"$base/town-$t.log" &
	pids+=($!)
done
sleep 0.5
sync_all() {
	for v in "${villages[@]}"; do
		run "village-$v" sync --once --parent "tcp://127.0.0.1:${tport[${v:0:9}000]}"
	done
	# the townships pass it on to the county within a second or two
	for try in $(seq 1 30); do
		sleep 0.5
		done_all=1
		for v in "${villages[@]}"; do
			[ "$("$cn" --dir "$base/county" digest --scope "$v")" = \
				"$("$cn" --dir "$base/village-$v" digest --scope "$v")" ] || done_all=0
		done
		[ $done_all = 1 ] && break
		# villages pull what the townships received meanwhile
		for v in "${villages[@]}"; do
			"$cn" --dir "$base/village-$v" sync --once \
				--parent "tcp://127.0.0.1:${tport[${v:0:9}000]}" >/dev/null 2>&1 || true
		done
	done
}
sync_all

echo
echo "== 4b. 一名儿童随家迁往邻村；一条紧急走访优先上报 / a child moves to the next village; an urgent visit goes first =="
old=${villages[0]}
run "town-${old:0:9}000" child move "${ids[3]}" --to "${villages[1]}"
run "village-$old" --urgent visit "${ids[0]}" --type party_cadre --date "$today" --visitor 张书记 \
	--findings "儿童独自在家，手臂有伤，已报告派出所和镇民政办（紧急）"
sync_all
run "village-${villages[1]}" child show "${ids[3]:0:8}" | head -4
echo "\$ carenode --dir village-$old child show ${ids[3]:0:8}   # 原村只保留迁移记录 / the old village keeps only the move"
"$cn" --dir "$base/village-$old" child show "${ids[3]:0:8}" 2>&1 | head -2 || true

echo
echo "== 4c. 没有网络的村用U盘数据包 / a village with no link uses a USB bundle =="
v=${villages[3]}
t=${v:0:9}000
mapfile -t vids < <("$cn" --dir "$base/village-$v" child list --json | python3 -c \
	'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]')
run "village-$v" visit "${vids[0]}" --type party_cadre --date "$today" --visitor 李联络员 \
	--findings "断网期间入户走访，儿童在家，祖母照看"
mkdir -p "$base/usb"
run "village-$v" bundle export --to "$t" --out "$base/usb/$v.cnb"
run "town-$t" bundle import "$base/usb/$v.cnb" --receipt "$base/usb/$v-receipt.cnb"
run "village-$v" bundle import "$base/usb/$v-receipt.cnb"
echo "\$ grep -c 祖母照看 village-$v/carenode.db   # 村里的数据库已加密 / the village database is encrypted"
grep -c 祖母照看 "$base/village-$v/carenode.db" || true
sync_all

echo
echo "== 4d. 学校强制报告，公安受理处置，乡镇接报 / a school's mandatory report, the police respond, the township acknowledges =="
# the county's public security bureau: a county-level department node
quiet police init --level county --code $county
quiet ca ca enroll --subject "$(cat "$base/police/node.pub")" --role police --code $county --out "$base/police.chain"
quiet police join --chain "$base/police.chain" --root "$base/ca/root.pub" --network-key "$base/ca/network.key"
v=${villages[0]}
t=${v:0:9}000
run "village-$v" report "${ids[0]}" --reporter-type school --reporter "镇中心小学 王老师" \
	--situation domestic_violence --found-date "$today" --date "$today" --details "学生身上多处淤青，称被家人打"
sync_all
run police sync --once --parent "tcp://127.0.0.1:$pk"
run police reports
rep=$("$cn" --dir "$base/police" reports --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["report"])')
run police respond "${rep:0:8}" --step accept --by "城区派出所 李警官"
run police respond "${rep:0:8}" --step accept --by "城区派出所 李警官" || echo "  （不能重复受理 / a report is accepted once）"
run police respond "${rep:0:8}" --step dispatch --by "城区派出所 李警官"
run police respond "${rep:0:8}" --step stop_violence --by "城区派出所 李警官" --note "已制止，训诫监护人"
run police respond "${rep:0:8}" --step notify_township --by "城区派出所 李警官"
run police sync --once --parent "tcp://127.0.0.1:$pk"
# the township pulls from the county each second (serve --interval 1)
for try in $(seq 1 40); do
	"$cn" --dir "$base/town-$t" tasks --json --owner township 2>/dev/null | grep -q '"R6.3"' && break
	sleep 0.5
done
run "town-$t" tasks --owner township
echo "  （县里看到：若乡镇三天后仍未接报，此事已逾期并提级至县 / what the county would see in three days if the township did nothing）"
run county tasks --owner county --as-of "$(TZ=Asia/Shanghai date -d '+3 days' '+%Y-%m-%d %H:%M')" | grep -E "依据|R6"
run "town-$t" respond "${rep:0:8}" --step township_received --by 镇民政办
for try in $(seq 1 40); do
	"$cn" --dir "$base/county" reports --json 2>/dev/null | grep -q township_received && break
	sleep 0.5
done
run county reports
sync_all >/dev/null

echo
echo "== 5. 县级汇总 / the county's consolidated view =="
"$cn" --dir "$base/county" child list --status all --json | python3 -c '
import json, sys, collections
rows = json.load(sys.stdin)
by = collections.OrderedDict()
for c in sorted(rows, key=lambda c: c["village_code"]):
    k = (c["village_code"], c["village"])
    by.setdefault(k, [0, 0])
    by[k][0 if c["status"] == "active" else 1] += 1
print("%-14s %-18s %6s %6s" % ("村代码", "村（居）", "在册", "已移出"))
for (code, name), (a, r) in by.items():
    print("%-14s %-18s %6d %6d" % (code, name, a, r))
print("全县 / county: %d 名在册 / active, %d 名已移出 / removed" % (
    sum(v[0] for v in by.values()), sum(v[1] for v in by.values())))'
echo
for v in "${villages[@]}"; do
	a=$("$cn" --dir "$base/village-$v" digest --scope "$v")
	b=$("$cn" --dir "$base/county" digest --scope "$v")
	echo "  $v 状态摘要 / digest: 村 village ${a:0:16}… 县 county ${b:0:16}… $([ "$a" = "$b" ] && echo 一致 / equal || echo 不一致 / DIFFERENT)"
done
run county meeting
run county status
run county verify

echo
echo "== 6. 网页界面 / the web pages =="
# demo logins: a county civil-affairs officer and the first village's care liaison (村关爱联络员)
printf 'county-demo-2026\n' >"$base/county-password"
printf 'village-demo-2026\n' >"$base/village-password"
chmod 600 "$base/county-password" "$base/village-password"
v=${villages[0]}
run county user add --login county_admin --name 县民政局演示 --role civil_affairs \
	--new-password-file "$base/county-password"
run "village-$v" user add --login village_liaison --name 村关爱联络员演示 --role liaison \
	--new-password-file "$base/village-password"
village_web=http://127.0.0.1:$(port)
# the village laptop serves its own pages and syncs with its township
"$cn" --dir "$base/village-$v" serve --http "$village_web" \
	--parent "tcp://127.0.0.1:${tport[${v:0:9}000]}" --interval 5 >/dev/null 2>"$base/village-web.log" &
pids+=($!)
for i in $(seq 1 50); do
	curl -s -o /dev/null "$village_web/" && curl -s -o /dev/null "$county_web/" && break
	sleep 0.1
done

cat <<MSG

完成 / done. 所有节点都在 / every node is in: $base
  县 / county:      $base/county        乡镇 / townships: $base/town-*
  村 / villages:    $base/village-*     根身份 / root:    $base/ca (root.key 应离线保存 / keep offline)
  日志 / logs:      $base/*.log
  试试 / try:       $cn --dir $base/county child list
                    $cn --dir $base/village-${villages[0]} log

网页 / web pages (仅本机 / this machine only):
  县级汇总 / county view:   $county_web/    登录 login: county_admin    密码 password: county-demo-2026
  村级录入 / village entry: $village_web/    登录 login: village_liaison 密码 password: village-demo-2026
MSG
if [ $serve = 1 ]; then
	echo
	echo "网页服务中，按 Ctrl-C 结束 / serving the pages: press Ctrl-C to stop"
	trap 'echo; echo "已停止 / stopped"; exit 0' INT TERM
	while :; do sleep 1; done
fi
