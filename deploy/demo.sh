#!/usr/bin/env bash
# carenode demo: installs what is missing, builds, and runs the main job on
# its embedded default — a village node for 洼张村 (北宋镇, code 370522101201)
# filled with synthetic children, assessed, visited, verified and exported.
#
#   ./deploy/demo.sh [FOLDER]     FOLDER defaults to a new temporary folder
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
village=370522101201
count=${CARENODE_DEMO_CHILDREN:-40}

"$root/deploy/install-deps.sh"
echo "== 构建 / building carenode =="
"$root/deploy/build.sh" "$root/build"
cn="$root/build/carenode"

base=${1:-$(mktemp -d /tmp/carenode-demo.XXXXXX)}
mkdir -p "$base"
node="$base/village-$village"
export CARENODE_USER=demo-联络员
run() { echo "\$ carenode $*"; "$cn" --dir "$node" "$@"; }

echo
echo "== 1. 创建村级节点 / create a village node =="
run init --level village --code "$village"

echo
echo "== 2. 生成并导入 $count 名合成儿童的台账 / import a synthetic ledger of $count children =="
"$cn" synth --village "$village" --count "$count" --seed 2017 --out "$base/ledger.csv"
echo "（合成数据，非真实儿童 / synthetic data, no real child）$base/ledger.csv"
run import "$base/ledger.csv"

echo
echo "== 3. 评估、走访、亲情联系、监护变更、移出台账 / assess, visit, contact, change a guardian, remove =="
mapfile -t ids < <("$cn" --dir "$node" child list --json | python3 -c \
	'import json,sys; [print(c["id"]) for c in json.load(sys.stdin)]')
today=$(TZ=Asia/Shanghai date +%F)
run assess "${ids[0]}" --date "$today" --assessor 王专干 --safety "居住安全" \
	--guardianship "祖母照料，能力一般" --health "身体健康，性格内向" --result 一般
run assess "${ids[1]}" --date "$today" --assessor 王专干 --safety "独自在家时间较长" \
	--guardianship "监护人年迈" --health "情绪低落" --result 差
run visit "${ids[1]}" --type party_cadre --date "$today" --visitor 张书记 --findings "上门家访，已联系父母"
run contact "${ids[1]}" --date "$today" --parent mother --method video --note "每周视频一次"
run guardian set "${ids[2]}" --phone 13905460000 --ability-eval-date "$today" --ability-eval-result 具备监护能力 \
	--ability-evaluator 村委会
run child remove "${ids[3]}" --reason 父母返乡 --caring-parent 母亲 --note "母亲返乡就业"

echo
echo "== 4. 查看 / look =="
run child list --status all | sed -n 1,12p
echo "..."
run child show "${ids[1]}"

echo
echo "== 5. 校验与导出 / verify and export =="
run verify
run digest
run export --format csv --out "$base/export.csv"
run export --format json --out "$base/export.json"
run info

cat <<MSG

完成 / done.
  节点目录 / node folder:  $node
    数据库 / database:     $node/carenode.db  (SQLite, WAL)
    节点私钥 / secret key: $node/node.key (0600)
  导出 / exports:          $base/export.csv (Excel 可直接打开 / opens in Excel), $base/export.json
  操作日志 / the op log:   $cn --dir $node log
  帮助 / help:             $cn --help
MSG
