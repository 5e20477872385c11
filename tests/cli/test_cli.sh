#!/usr/bin/env bash
# CLI suite: runs the real carenode binary on real SQLite files in a
# temporary folder and checks outputs, exit codes (see `carenode --help`)
# and that refused input writes nothing. Usage: test_cli.sh PATH/TO/carenode
set -uo pipefail
cn=${1:?usage: test_cli.sh carenode}
work=$(mktemp -d /tmp/carenode-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
V=370522101201 # 洼张村, 北宋镇
V2=370522101202
T=370522101000 # 北宋镇

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect CODE DESCRIPTION -- command...: runs it, checks the exit code, keeps
# stdout in $out and stderr in $err
expect() {
	local want=$1 what=$2
	shift 3
	out=$("$@" 2>"$work/stderr")
	local got=$?
	err=$(cat "$work/stderr")
	if [ "$got" = "$want" ]; then ok; else bad "$what: exit $got, want $want; stderr: $err"; fi
}
contains() { # contains HAYSTACK NEEDLE DESCRIPTION
	if printf '%s' "$1" | grep -qF -- "$2"; then ok; else bad "$3: no '$2' in: $1"; fi
}
ops() { sqlite3 "$1/carenode.db" "SELECT count(*) FROM ops"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# a valid GB 11643 ID for a birth date and 3-digit order code
idnum() {
	python3 - "$1" "$2" <<'PY'
import sys
b = "370522" + sys.argv[1] + sys.argv[2]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(b + "10X98765432"[sum(int(c) * x for c, x in zip(b, w)) % 11])
PY
}

n="$work/v"
c() { "$cn" --dir "$n" --user 测试联络员 "$@"; }

# ---- help and usage ----
expect 0 "help" -- "$cn" --help
contains "$out" "退出码 / exit codes" "help lists exit codes"
contains "$out" "child add|update|remove|move|show|list" "help lists child move"
expect 2 "no command" -- "$cn"
expect 2 "unknown command" -- "$cn" frobnicate
contains "$err" "未知命令" "unknown command message"
expect 0 "command help" -- "$cn" child --help
contains "$out" "child remove" "child help"
contains "$out" "child move 儿童 --to" "child help lists move"

# ---- init ----
expect 3 "init with unknown code" -- "$cn" --dir "$work/x" init --level village --code 370522999999
contains "$err" "不在利津县区划表中" "unknown code named"
expect 3 "init with level mismatch" -- "$cn" --dir "$work/x" init --level village --code $T
contains "$err" "乡镇" "level mismatch explained"
[ ! -e "$work/x/carenode.db" ] && ok || bad "failed init left a database"
expect 0 "init village" -- c init --level village --code $V
contains "$out" "洼张村" "init names the village"
[ "$(stat -c %a "$n/node.key")" = 600 ] && ok || bad "node.key mode is not 0600"
[ "$(sqlite3 "$n/carenode.db" 'PRAGMA journal_mode')" = wal ] && ok || bad "database not in WAL mode"
grep -qF "$(sed -n 2p "$n/node.key")" <(c info; c log) && bad "secret key printed" || ok
expect 7 "init refuses an existing node" -- c init --level village --code $V
contains "$err" "拒绝覆盖" "overwrite refusal explained"

# ---- child add: bad input writes nothing ----
ID1=$(idnum 20150314 122) # order code even: a girl
before=$(ops "$n")
expect 3 "ID wrong length" -- c child add --name 张三 --id 37052220150314123 --household-address 一街1号
contains "$err" "18位" "length named"
expect 3 "ID wrong check digit" -- c child add --name 张三 --id "${ID1:0:17}$(( (${ID1:17:1}+1) % 10 ))" --household-address 一街1号
contains "$err" "校验位" "check digit named"
expect 3 "ID impossible date" -- c child add --name 张三 --id "$(idnum 20150230 123)" --household-address 一街1号
contains "$err" "不是有效日期" "bad date named"
expect 3 "ID date in the future" -- c child add --name 张三 --id "$(idnum 20991231 123)" --household-address 一街1号
contains "$err" "晚于今天" "future date named"
expect 3 "empty required field" -- c child add --name "" --id "$ID1" --household-address 一街1号
contains "$err" "姓名" "empty name named"
expect 3 "over-long name" -- c child add --name "$(printf '张%.0s' {1..33})" --id "$ID1" --household-address 一街1号
contains "$err" "过长" "too long named"
expect 3 "unknown division" -- c child add --name 张三 --id "$ID1" --household-address 一街1号 --village-code 370522101999
expect 6 "another village" -- c child add --name 张三 --id "$ID1" --household-address 一街1号 --village-code $V2
contains "$err" "辖区" "jurisdiction named"
expect 3 "sex disagrees with ID" -- c child add --name 张三 --id "$ID1" --household-address 一街1号 --sex 男
expect 3 "bad enum" -- c child add --name 张三 --id "$ID1" --household-address 一街1号 --health 很好
contains "$err" "可选" "allowed values listed"
expect 3 "aged 16" -- c child add --name 张三 --id "$(idnum 20000101 123)" --household-address 一街1号
expect 2 "unknown option" -- c child add --name 张三 --id "$ID1" --household-address 一街1号 --colour red
[ "$(ops "$n")" = "$before" ] && ok || bad "refused input wrote ops"

# ---- child add / update / show / list ----
expect 0 "add child" -- c --json child add --name 张小红 --id "$ID1" --household-address 洼张村一街1号 \
	--father-status 外出务工 --mother-status migrant --school-stage 小学
C1=$(printf '%s' "$out" | json 'd["record"]')
[ ${#C1} = 32 ] && ok || bad "add --json gives a record id"
expect 0 "show by resident ID" -- c child show "$ID1"
contains "$out" "女" "sex derived from the ID"
contains "$out" "2015-03-14" "birth date derived from the ID"
expect 7 "one file per child" -- c child add --name 张小红 --id "$ID1" --household-address 一街1号
contains "$err" "一人一档" "duplicate named"
expect 0 "update" -- c child update "${C1:0:8}" --school-name 北宋镇中心小学 --behaviour "活泼"
expect 0 "show json" -- c --json child show "$C1"
[ "$(printf '%s' "$out" | json 'd["child"]["school_name"]')" = 北宋镇中心小学 ] && ok || bad "update visible"
expect 3 "update cannot change status" -- c child update "$C1" --status removed
expect 4 "unknown child" -- c child show 0123456789ab
expect 2 "short ref" -- c child show 01

# ---- guardian and events ----
expect 3 "guardian needs required fields" -- c guardian set "$C1" --phone 13800000000
expect 0 "guardian set" -- c guardian set "$C1" --guardian-type 祖父母外祖父母 --name 张奶奶 --relation 祖母
expect 0 "guardian change" -- c guardian set "$C1" --phone 13800000000
expect 0 "assess" -- c assess "$C1" --date 2026-01-05 --assessor 王专干 --safety 安全 --guardianship 良好 \
	--health 健康 --result 较好
expect 0 "visit" -- c visit "$C1" --type social_worker --date 2026-01-06 --visitor 李社工 --findings 正常
expect 0 "contact" -- c contact "$C1" --date 2026-01-07 --parent father --method phone
expect 3 "assess before birth" -- c assess "$C1" --date 2010-01-05 --assessor 王 --safety a --guardianship b \
	--health c --result 差
expect 3 "assess in the future" -- c assess "$C1" --date 2099-01-05 --assessor 王 --safety a --guardianship b \
	--health c --result 差
expect 0 "show everything" -- c --json child show "$C1"
printf '%s' "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["guardian"]["name"] == "张奶奶" and d["guardian"]["phone"] == "13800000000", d["guardian"]
assert d["assessment"][0]["mode"] == "caring", d["assessment"]
assert len(d["visit"]) == 1 and len(d["contact"]) == 1
' && ok || bad "show json holds guardian and events"

# ---- child move: only a node holding both villages moves a child ----
before=$(ops "$n")
expect 2 "move needs --to" -- c child move "$C1"
contains "$err" "--to" "missing --to named"
expect 3 "move to an unknown code" -- c child move "$C1" --to 370522101999
contains "$err" "370522101999" "unknown code named"
expect 3 "move to a township's code" -- c child move "$C1" --to $T
expect 3 "move to the same village" -- c child move "$C1" --to $V
expect 6 "a village cannot move a child to another village" -- c child move "$C1" --to $V2
contains "$err" "jurisdiction" "jurisdiction named"
expect 6 "a village cannot move a child to another township" -- c child move "$C1" --to 370522102201
expect 4 "move an unknown child" -- c child move 0123456789ab --to $V2
[ "$(ops "$n")" = "$before" ] && ok || bad "refused moves wrote ops"
[ "$(c --json child show "$C1" | json 'd["child"]["village_code"]')" = $V ] && ok || bad "refused moves left the child"

# ---- removal ----
expect 3 "removal needs a reason" -- c child remove "$C1"
expect 3 "parents returned needs the parent" -- c child remove "$C1" --reason parents_returned
expect 7 "aged_16 refused for a child of 11" -- c child remove "$C1" --reason aged_16
expect 0 "remove" -- c child remove "$C1" --reason 父母返乡 --caring-parent 父亲
expect 7 "no assessment of a removed child" -- c assess "$C1" --date 2026-02-01 --assessor 王 --safety a \
	--guardianship b --health c --result 差
expect 0 "list removed" -- c --json child list --status removed
[ "$(printf '%s' "$out" | json 'len(d)')" = 1 ] && ok || bad "removed child listed"
expect 0 "removed child kept" -- c --json child show "$C1"
[ "$(printf '%s' "$out" | json 'd["child"]["removal_reason"]')" = parents_returned ] && ok || bad "removal kept"

# ---- import: UTF-8, GB18030, all-or-nothing, skip-bad ----
"$cn" synth --village $V --count 30 --seed 7 --out "$work/s.csv"
before=$(ops "$n")
{ cat "$work/s.csv"; printf '坏行,%s,一街,%s\r\n' 37052220150314999X $V; } >"$work/bad.csv"
expect 3 "import with a bad row" -- c import "$work/bad.csv"
contains "$err" "第 32 行" "bad row named by line"
[ "$(ops "$n")" = "$before" ] && ok || bad "failed import wrote ops"
expect 0 "import skipping bad rows" -- c --json import "$work/bad.csv" --skip-bad
[ "$(printf "%s" "$out" | json "d['imported'], d['skipped']")" = "30 1" ] && ok || bad "skip-bad counts: $out"
contains "$err" "跳过第 32 行" "skipped row reported"
"$cn" synth --village $V --count 5 --seed 99 --out "$work/g.csv"
iconv -f UTF-8 -t GB18030 <(tail -c +4 "$work/g.csv") >"$work/g-gb.csv"
expect 0 "import GB18030" -- c import "$work/g-gb.csv"
contains "$out" "已导入 5 名" "GB18030 rows imported"
expect 3 "utf8 forced on GB18030" -- c import "$work/g-gb.csv" --encoding utf8
printf '姓名,颜色\n张三,红\n' >"$work/h.csv"
expect 3 "unknown column" -- c import "$work/h.csv"
contains "$err" "未知的列名" "unknown column named"

# ---- export ----
expect 0 "export csv" -- c export --out "$work/out.csv"
head -c 3 "$work/out.csv" | od -An -tx1 | grep -q 'ef bb bf' && ok || bad "CSV has a BOM for Excel"
head -1 "$work/out.csv" | grep -q '公民身份号码' && ok || bad "CSV has Chinese headers"
[ "$(($(wc -l <"$work/out.csv") - 1))" = 36 ] && ok || bad "CSV row count"
expect 0 "export json" -- c export --format json --out "$work/out.json"
[ "$(json 'len(d["children"])' <"$work/out.json")" = 36 ] && ok || bad "JSON child count"
# round trip: the export imports into another village node's peer
m="$work/v2"
"$cn" --dir "$m" init --level village --code $V >/dev/null
expect 0 "re-import an export" -- "$cn" --dir "$m" export --status active --out "$work/empty.csv"
"$cn" --dir "$n" export --status active --out "$work/active.csv"
expect 0 "import the active export" -- "$cn" --dir "$m" import "$work/active.csv"
"$cn" --dir "$m" export --status active --out "$work/back.csv"
diff <(cut -d, -f2- "$work/active.csv" | sort) <(cut -d, -f2- "$work/back.csv" | sort) >/dev/null && ok ||
	bad "export -> import -> export changes the ledger"

# ---- log, verify, rebuild, digest, tampering ----
expect 0 "log" -- c log --limit 3
contains "$out" "序号/seq 1" "log shows sequence numbers"
expect 0 "log json" -- c --json log
[ "$(printf '%s' "$out" | json 'len(d)')" = "$(ops "$n")" ] && ok || bad "log lists every op"
expect 0 "verify" -- c verify
d1=$(c digest)
expect 0 "rebuild" -- c rebuild
[ "$(c digest)" = "$d1" ] && ok || bad "rebuild changed the digest"
expect 0 "scoped digest" -- c digest --scope $V
[ "$out" = "$d1" ] && ok || bad "a village's whole scope equals its digest"
expect 0 "other scope" -- c digest --scope $V2
[ "$out" != "$d1" ] && ok || bad "an empty scope has its own digest"

cp -a "$n" "$work/t1"
sqlite3 "$work/t1/carenode.db" "UPDATE child SET name = '李四' WHERE rowid = 1"
expect 5 "verify catches an edited table" -- "$cn" --dir "$work/t1" verify
contains "$err" "child" "edited table named"
cp -a "$n" "$work/t2"
sqlite3 "$work/t2/carenode.db" "UPDATE ops SET bytes = CAST(substr(bytes, 1, 40) || X'FF' || substr(bytes, 42) AS BLOB) WHERE seq = 3"
expect 5 "verify catches a changed op" -- "$cn" --dir "$work/t2" verify
contains "$err" "seq 3" "bad op named by sequence"
cp -a "$n" "$work/t3"
sqlite3 "$work/t3/carenode.db" "DELETE FROM ops WHERE seq = 2"
expect 5 "verify catches a deleted op" -- "$cn" --dir "$work/t3" verify
contains "$err" "seq 3" "gap named"
cp -a "$n" "$work/t4"
chmod 644 "$work/t4/node.key"
expect 6 "a world-readable key is refused" -- "$cn" --dir "$work/t4" child update "$ID1" --notes x

# ---- tasks computed from the records (issue #5, R10; rules in test_tasks.c) ----
expect 0 "tasks" -- c tasks
contains "$out" "tasks" "tasks print their count"
expect 0 "tasks --json" -- c --json tasks
all=$(printf '%s' "$out" | python3 -c 'import json,sys; t=json.load(sys.stdin); assert all(x["requirement"].startswith("R") for x in t); print(len(t))') &&
	ok || bad "tasks --json is a list naming requirements: $out"
expect 0 "tasks --overdue --json" -- c --json tasks --overdue
od=$(printf '%s' "$out" | python3 -c 'import json,sys; t=json.load(sys.stdin); assert all(x["overdue_days"] > 0 for x in t); print(len(t))') &&
	ok || bad "tasks --overdue lists only overdue ones: $out"
[ "${od:-0}" -le "${all:-0}" ] && ok || bad "overdue tasks are among all tasks ($od > $all)"
expect 0 "tasks --summary --json" -- c --json tasks --summary
printf '%s' "$out" | python3 -c 'import json,sys; t=json.load(sys.stdin); assert sum(x["open"] for x in t) == int(sys.argv[1])' "$all" &&
	ok || bad "the summary counts every task once: $out"
expect 2 "tasks takes no argument" -- c tasks extra

# ---- people: once a node has users, writing needs a login (issue #5) ----
u="$work/users"
"$cn" --dir "$u" init --level village --code $V >/dev/null
printf 'liaison-password\n' >"$work/pw1"
printf 'school-password\n' >"$work/pw2"
printf 'not-the-password\n' >"$work/pwx"
expect 0 "the first user: the township's officer" -- "$cn" --dir "$u" user add --login wangqiang \
	--name 王强 --role officer --new-password-file "$work/pw1"
expect 0 "the officer registers the village's liaison" -- "$cn" --dir "$u" --user wangqiang \
	--password-file "$work/pw1" user add --login zhangli --name 张丽 --role liaison \
	--new-password-file "$work/pw1"
expect 6 "a record without the password" -- "$cn" --dir "$u" --user zhangli child add --name 张小花 \
	--id "$ID1" --household-address 一街 </dev/null
contains "$err" "password" "the refusal asks for the password"
expect 6 "a wrong password" -- "$cn" --dir "$u" --user zhangli --password-file "$work/pwx" child add \
	--name 张小花 --id "$ID1" --household-address 一街
contains "$err" "wrong password" "the refusal names a wrong password"
expect 6 "someone who is no user" -- "$cn" --dir "$u" --user stranger --password-file "$work/pw1" \
	child add --name 张小花 --id "$ID1" --household-address 一街
expect 0 "a user files a child" -- "$cn" --dir "$u" --user zhangli --password-file "$work/pw1" \
	child add --name 张小花 --id "$ID1" --household-address 一街
expect 0 "the op records the login" -- "$cn" --dir "$u" log
contains "$out" "操作人/actor zhangli" "the actor is the login"
expect 0 "a user adds a school reporter" -- "$cn" --dir "$u" --user zhangli --password-file "$work/pw1" \
	user add --login school1 --name 王老师 --role school --new-password-file "$work/pw2"
expect 6 "a school reporter files no child" -- "$cn" --dir "$u" --user school1 --password-file "$work/pw2" \
	visit "$ID1" --type party_cadre --date 2026-06-15 --visitor 王老师 --findings 家访
contains "$err" "may not write" "the refusal names the role's limit"
expect 0 "a school reporter files a mandatory report (R5)" -- "$cn" --dir "$u" --user school1 \
	--password-file "$work/pw2" report "$ID1" --reporter-type school --reporter "洼张小学 王老师" \
	--situation domestic_violence --found-date 2026-06-15 --date 2026-06-15 --details 身上多处淤青
expect 0 "the report shows on the child" -- "$cn" --dir "$u" child show "$ID1"
contains "$out" "疑似遭受家庭暴力" "the situation in the users' words"
expect 0 "the report's op" -- "$cn" --dir "$u" --json log
printf '%s' "$out" | python3 -c 'import json,sys; ops=json.load(sys.stdin); ops=ops.get("ops", ops) if isinstance(ops, dict) else ops; assert any(o.get("urgent") for o in ops), ops' &&
	ok || bad "a report is written urgent: $out"
expect 0 "users --json" -- "$cn" --dir "$u" --json user list
[ "$(printf '%s' "$out" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3 ] && ok ||
	bad "three users listed: $out"
expect 6 "adding a user needs a login too" -- "$cn" --dir "$u" user add --login x1 --name 某 \
	--role liaison --new-password-file "$work/pw1" </dev/null
expect 0 "reading needs no login" -- "$cn" --dir "$u" child list

# ---- the workflows of issue #5 from the command line (R5.3, R6, R7.3, R8, R9.2, R10, R11.2) ----
L=(--dir "$u" --user zhangli --password-file "$work/pw1")
S=(--dir "$u" --user school1 --password-file "$work/pw2")
expect 0 "reports lists the report (R5)" -- "$cn" --dir "$u" --json reports
REP=$(printf '%s' "$out" | json 'd[0]["report"]')
[ "$(printf '%s' "$out" | json 'd[0]["situation"]')" = domestic_violence ] && ok || bad "report listed: $out"
expect 6 "a liaison may not record the police's response (R6)" -- "$cn" "${L[@]}" respond "$REP" \
	--step accept --by 联络员
contains "$err" "may not write" "the refusal names the role"
expect 0 "the unaccepted report is a police task (R6.1)" -- "$cn" --dir "$u" --json tasks --owner police
[ "$(printf '%s' "$out" | json 'sum(1 for t in d if t["requirement"] == "R6.1")')" = 2 ] && ok ||
	bad "accept and dispatch tasks: $out"
later=$(TZ=Asia/Shanghai date -d '+3 hours' '+%Y-%m-%d %H:%M')
expect 0 "three hours on, the acceptance is overdue and raised to the county (R10)" -- \
	"$cn" --dir "$u" --json tasks --owner county --as-of "$later"
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); t=[t for t in d if t["requirement"]=="R6.1" and t["responsible"]=="police"]; assert t and all(x["overdue"] and x["escalated_to"]=="county" for x in t) and t[0]["task_en"]=="accept the report" and t[0]["overdue_hours"]>=1, d' &&
	ok || bad "escalated acceptance: $out"
expect 2 "--as-of must be a time" -- "$cn" --dir "$u" tasks --as-of tomorrow
expect 0 "a school records a dropout (R9.2)" -- "$cn" "${S[@]}" schooling "$ID1" --event dropout \
	--date 2026-06-15 --school 洼张小学
expect 0 "tasks after the dropout" -- "$cn" --dir "$u" --json tasks
[ "$(printf '%s' "$out" | json 'sorted(t["responsible"] for t in d if t["requirement"] == "R9.2")')" = "['school', 'township']" ] &&
	ok || bad "return-to-school and notify tasks: $out"
expect 0 "the child is back at school" -- "$cn" "${S[@]}" schooling "$ID1" --event returned \
	--date 2026-06-15 --school 洼张小学
expect 0 "tasks after the return" -- "$cn" --dir "$u" --json tasks
[ "$(printf '%s' "$out" | json 'sum(1 for t in d if t["requirement"] == "R9.2")')" = 0 ] && ok ||
	bad "R9.2 tasks gone: $out"
expect 0 "an urgent hotline call is routed to its village's township (R11.2)" -- "$cn" "${L[@]}" \
	hotline add --village-code "$V" --caller 匿名 --content 孩子一个人在家 --taken-by 接线员 \
	--situation living_alone
CALL=$(printf '%s' "$out" | sed -n 's/.*: \([0-9a-f]\{32\}\)$/\1/p')
expect 0 "the call is a township task" -- "$cn" --dir "$u" --json tasks
[ "$(printf '%s' "$out" | json '[t["responsible"] for t in d if t["requirement"] == "R11.2"]')" = "['township']" ] &&
	ok || bad "hotline task: $out"
expect 3 "handled without saying what was done" -- "$cn" "${L[@]}" hotline handle "${CALL:0:8}" \
	--handled-by 乡镇专干
expect 0 "handled" -- "$cn" "${L[@]}" hotline handle "${CALL:0:8}" --handled-by 乡镇专干 \
	--handling 已联系父亲返乡
expect 0 "tasks after handling" -- "$cn" --dir "$u" --json tasks
[ "$(printf '%s' "$out" | json 'sum(1 for t in d if t["requirement"] == "R11.2")')" = 0 ] && ok ||
	bad "hotline task gone: $out"
expect 3 "a planned service needs a follow-up date (R7.3)" -- "$cn" "${L[@]}" service add "$ID1" \
	--service counselling --provider-type social_org --provider 县社工站
expect 0 "a service with its follow-up" -- "$cn" "${L[@]}" service add "$ID1" --service counselling \
	--provider-type social_org --provider 县社工站 --follow-up "$(date -d '+3 days' +%F)"
expect 6 "a liaison may not register an officer (R10)" -- "$cn" "${L[@]}" user add --login li2 \
	--name 李 --role officer --new-password-file "$work/pw1"
expect 6 "nor reset the officer's password" -- "$cn" "${L[@]}" user passwd wangqiang \
	--new-password-file "$work/pw2"
expect 0 "but may change her own" -- "$cn" "${L[@]}" user passwd zhangli --new-password-file "$work/pw1"
O=(--dir "$u" --user wangqiang --password-file "$work/pw1")
expect 6 "a liaison does not open intervention cases" -- "$cn" "${L[@]}" intervention open "$ID1" \
	--incident violence --incident-date 2026-06-15
expect 0 "an intervention case (R8)" -- "$cn" "${O[@]}" intervention open "$ID1" --incident violence \
	--incident-date 2026-06-15 --serious-harm 是
CASE=$(printf '%s' "$out" | sed -n 's/.*: \([0-9a-f]\{32\}\)$/\1/p')
expect 0 "serious harm: apply to the court" -- "$cn" --dir "$u" --json tasks
[ "$(printf '%s' "$out" | json 'sum(1 for t in d if t["requirement"] == "R8")')" = 1 ] && ok ||
	bad "court application task: $out"
expect 0 "the application" -- "$cn" "${O[@]}" intervention update "${CASE:0:8}" --applicant township \
	--court-applied 2026-06-15 --court 利津县人民法院
expect 7 "no closing before the court decides" -- "$cn" "${O[@]}" intervention update "${CASE:0:8}" \
	--case-status closed
expect 0 "an obliged unit that knew and did not report (R5.3)" -- "$cn" "${L[@]}" unreported "$ID1" \
	--unit-type school --unit 某幼儿园 --known-date 2026-06-01 --date 2026-06-15 --details 知情未报
expect 6 "a village does not set the county's deadlines" -- "$cn" "${L[@]}" deadline set accept 3
expect 0 "deadlines in force" -- "$cn" --dir "$u" --json deadline list
[ "$(printf '%s' "$out" | json '[x["hours"] for x in d if x["item"] == "accept"][0]')" = 1 ] && ok ||
	bad "the default acceptance deadline: $out"
expect 0 "the joint meeting's report (R10, R11.3)" -- "$cn" --dir "$u" --json meeting
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin)["townships"]; assert len(d)==1 and d[0]["reports"]==1 and d[0]["not_accepted"]==1 and d[0]["hotline_calls"]==1 and d[0]["hotline_handled"]==1 and d[0]["unreported"]==1 and d[0]["school_dropouts"]==1, d' &&
	ok || bad "meeting counts: $out"
expect 0 "the whole file shows the workflows" -- "$cn" --dir "$u" child show "$ID1"
contains "$out" "监护干预" "the case on the child's file"
contains "$out" "帮扶服务" "the service on the child's file"

# ---- one list per person (R10) ----
expect 0 "the liaison's own list" -- "$cn" "${L[@]}" --json tasks --mine
[ "$(printf '%s' "$out" | json 'sorted(set(t["responsible"] for t in d))')" = "['village']" ] && ok ||
	bad "a liaison's list holds the village's tasks: $out"
expect 0 "the officer's own list" -- "$cn" "${O[@]}" --json tasks --mine
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d and all("township" in (t["responsible"], t["escalated_to"]) for t in d), d' &&
	ok || bad "an officer's list holds the township's tasks: $out"
expect 0 "--mine takes no value: --overdue after it still filters" -- "$cn" "${O[@]}" --json tasks \
	--mine --overdue
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert all(t["overdue"] for t in d), d' &&
	ok || bad "tasks --mine --overdue: $out"
expect 0 "open reports" -- "$cn" --dir "$u" --json reports --open
[ "$(printf '%s' "$out" | json 'all(not r["closed"] for r in d) and len(d) >= 1')" = True ] && ok ||
	bad "reports --open: $out"

# ---- the JSON API (node/API.md) the web interface will use ----
expect 0 "GET /api/reports" -- "$cn" --dir "$u" api GET /api/reports
[ "$(printf '%s' "$out" | json 'd[0]["report"]')" = "$REP" ] && ok || bad "the API lists the report: $out"
expect 0 "GET /api/tasks as of three hours on, the county's" -- "$cn" --dir "$u" api GET /api/tasks \
	--owner county --as-of "$later"
printf '%s' "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(t["requirement"]=="R6.1" and t["escalated_to"]=="county" for t in d), d' &&
	ok || bad "the API's escalated tasks: $out"
expect 3 "GET /api/tasks with a bad owner is a 400" -- "$cn" --dir "$u" api GET /api/tasks --owner mayor
[ "$(printf '%s' "$out" | json 'd["error"]["status"]')" = 400 ] && ok || bad "400 body: $out"
expect 4 "an unknown route is a 404" -- "$cn" --dir "$u" api GET /api/nothing
expect 2 "a write by GET is refused (405)" -- "$cn" --dir "$u" api GET /api/hotline
expect 6 "an API write needs a login" -- "$cn" --dir "$u" api POST /api/hotline --village-code "$V" \
	--caller 某 --content 求助 --taken-by 接线员 </dev/null
n0=$(ops "$u")
expect 0 "POST /api/hotline as a liaison (R11.2)" -- "$cn" "${L[@]}" api POST /api/hotline \
	--village-code "$V" --caller 匿名 --content 孩子没人管 --taken-by 接线员
[ "$(printf '%s' "$out" | json 'd["ok"]')" = True ] && ok || bad "created: $out"
[ "$(ops "$u")" = $((n0 + 1)) ] && ok || bad "one op for the call"
expect 3 "a report dated in the future through the API is a 400 naming the field" -- \
	"$cn" "${L[@]}" api POST "/api/children/$ID1/report" --reporter-type school \
	--reporter 王 --situation missing --found-date 2999-06-15 --date 2026-06-15 --details x
contains "$out" "发现日期" "the message names the field"
contains "$out" "future" "and what was wrong"
expect 4 "a report on no known child is a 404" -- "$cn" "${L[@]}" api POST \
	/api/children/370522201203150017/report --reporter-type school --reporter 王 \
	--situation missing --found-date 2026-06-15 --date 2026-06-15 --details x
expect 6 "a liaison's police step through the API is a 403" -- "$cn" "${L[@]}" api POST \
	"/api/reports/${REP:0:8}/steps" --step accept --by 某
[ "$(printf '%s' "$out" | json 'd["error"]["code"]')" = denied ] && ok || bad "403 body: $out"
[ "$(ops "$u")" = $((n0 + 1)) ] && ok || bad "refusals wrote nothing"
expect 0 "a school's report through the API (R5)" -- "$cn" "${S[@]}" api POST "/api/children/$ID1/report" \
	--reporter-type school --reporter "洼张小学 王老师" --situation missing --found-date 2026-06-15 \
	--date 2026-06-15 --details 两天未到校
[ "$(sqlite3 "$u/carenode.db" "SELECT urgent FROM ops ORDER BY pos DESC LIMIT 1")" = 1 ] && ok ||
	bad "a report through the API is urgent too"
ID2=$(idnum 20160520 144)
expect 3 "POST /api/children with a bad ID number is a 400 naming it" -- "$cn" "${L[@]}" api POST \
	/api/children --name 李小红 --id-number 370522201203150017 --household-address 二街
contains "$out" "公民身份号码" "the ID number named"
expect 0 "POST /api/children files a child (R1.2)" -- "$cn" "${L[@]}" api POST /api/children \
	--name 李小红 --id-number "$ID2" --household-address 二街
expect 0 "POST /api/children/{child}/guardian (R2)" -- "$cn" "${L[@]}" api POST \
	"/api/children/$ID2/guardian" --guardian-type grandparent --name 李奶奶 --relation 祖母
expect 3 "a removal without its reason is a 400 (R1.2)" -- "$cn" "${L[@]}" api POST \
	"/api/children/$ID2/remove"
expect 3 "parents returned needs the caring parent" -- "$cn" "${L[@]}" api POST \
	"/api/children/$ID2/remove" --reason parents_returned
expect 0 "removed with the reason and the parent" -- "$cn" "${L[@]}" api POST \
	"/api/children/$ID2/remove" --reason parents_returned --caring-parent mother
expect 0 "GET /api/ledger --status all" -- "$cn" --dir "$u" api GET /api/ledger --status all
[ "$(printf '%s' "$out" | json '[c["status"] for c in d["children"] if c["id_number"] == "'"$ID2"'"]')" = "['removed']" ] &&
	ok || bad "the removed child in the ledger: $out"
expect 0 "GET /api/meeting" -- "$cn" --dir "$u" api GET /api/meeting --from 2026-01-01
[ "$(printf '%s' "$out" | json '(d["townships"][0]["hotline_calls"], d["townships"][0]["reports"])')" = "(2, 2)" ] &&
	ok || bad "meeting via API: $out"
expect 0 "GET /api/deadlines" -- "$cn" --dir "$u" api GET /api/deadlines
[ "$(printf '%s' "$out" | json '[x["hours"] for x in d if x["item"]=="accept"]')" = "[1]" ] && ok ||
	bad "deadlines via API: $out"

# ---- the data dictionary in the repo is the program's ----
here=$(cd "$(dirname "$0")/../.." && pwd)
expect 0 "dictionary" -- "$cn" dictionary
diff <(printf '%s\n' "$out") "$here/node/DATA_DICTIONARY.md" >/dev/null && ok ||
	bad "node/DATA_DICTIONARY.md differs from 'carenode dictionary' (regenerate it)"

echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
