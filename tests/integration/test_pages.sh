#!/usr/bin/env bash
# Integration suite (issue #6; R1, R3.1, R10, R11.1, R11.3): the routes the
# web pages read and write, over HTTP with sessions, on a real county, a
# township and one of its villages (real processes on 127.0.0.1):
#   - the pages themselves are served by the node, with a strict CSP;
#   - the overview: county totals, every township as a row (none left out),
#     drill-down to the township's villages, inside the person's unit only;
#   - children and a child's file (with its tasks), a village's person kept
#     to the village on the township's node;
#   - a conflict shown with both values, settled on the page, and the
#     settlement reaching the village and the county;
#   - the sync's health: the township sees the village's last contact and
#     what it delivered; nothing waits to go up;
#   - exports: CSV with a BOM and Chinese headers, an Excel XML workbook
#     that parses, the joint meeting's table; the import of a township's
#     ledger file, and a bad file refused whole, naming the row.
# Usage: test_pages.sh PATH/TO/carenode
set -uo pipefail
cn=${1:?usage: test_pages.sh carenode}
. "$(dirname "$0")/lib.sh"
K=370522000000 T1=370522101000 V11=370522101201 V12=370522101202
PK=$(free_port) PT1=$(free_port) HK=$(free_port) HT=$(free_port)
UK="http://127.0.0.1:$HK" UT="http://127.0.0.1:$HT"
# login JAR URL LOGIN PASSWORD: a session, its CSRF token in csrf_JAR
login() {
	call "$1" -d "login=$3" -d "password=$4" "$2/api/login"
	[ "$code" = 200 ] || bad "$3 logs in at $2: $code $body"
	eval "csrf_$1=$(printf '%s' "$body" | py 'd["csrf"]')"
}

# ---- a county, a township, a village ----
c ca ca init >/dev/null || bad "ca init"
enrol_root k county $K
enrol_root t1 township $T1
enrol_village v11 t1 $V11
"$cn" synth --village $V11 --count 6 --seed 3 --out "$work/v11.csv"
c v11 import "$work/v11.csv" >/dev/null || bad "v11 files its children"

"$cn" --dir "$work/k" serve --listen "tcp://127.0.0.1:$PK" --http "$UK" >/dev/null 2>"$work/k.log" &
pids+=($!)
"$cn" --dir "$work/t1" serve --listen "tcp://127.0.0.1:$PT1" --parent "tcp://127.0.0.1:$PK" \
	--interval 0.5 --http "$UT" >/dev/null 2>"$work/t1.log" &
pids+=($!)
for i in $(seq 1 50); do
	curl -s -o /dev/null "$UK/" && curl -s -o /dev/null "$UT/" && break
	sleep 0.1
done
vsync() { c v11 sync --once --parent "tcp://127.0.0.1:$PT1" --timeout 10 >/dev/null 2>>"$work/v11.log"; }
converged() { [ "$(c v11 digest --scope $V11)" = "$(c k digest --scope $V11)" ]; }
settle() {
	for try in $(seq 1 40); do
		vsync
		converged && [ "$(c v11 digest --scope $V11)" = "$(c t1 digest --scope $V11)" ] && return 0
		sleep 0.5
	done
	return 1
}
settle && ok || bad "the village's children reach the county"

# ---- people: the county's, the township's, a village's on the township ----
printf 'county-pass1\n' >"$work/pw-k"
printf 'town-pass12\n' >"$work/pw-t"
printf 'liaison-pass\n' >"$work/pw-l"
c k user add --login kadmin --name 县民政 --role civil_affairs --new-password-file "$work/pw-k" \
	>/dev/null || bad "the county's account"
c t1 user add --login zhuan --name 乡镇专干 --role officer --new-password-file "$work/pw-t" \
	>/dev/null || bad "the township's account"
c t1 --user zhuan --password-file "$work/pw-t" user add --login lian --name 村联络员 \
	--role liaison --unit $V12 --new-password-file "$work/pw-l" >/dev/null ||
	bad "a liaison of another village on the township's node"
login k "$UK" kadmin county-pass1
login t "$UT" zhuan town-pass12
login l "$UT" lian liaison-pass

# ---- the pages ----
hdr=$(curl -s -D - -o "$work/index.html" "$UK/")
grep -q "农村留守儿童" "$work/index.html" && ok || bad "GET / serves the Chinese page"
grep -qi "^content-security-policy: default-src 'self'" <<<"$hdr" && ok ||
	bad "the page has a strict CSP: $hdr"
eq "$(curl -s -o /dev/null -w '%{content_type}' "$UK/app.js")" "text/javascript; charset=utf-8" \
	"the script is served by the node"
eq "$(curl -s -o /dev/null -w '%{http_code}' "$UK/secret.db")" 404 "nothing but the pages is served"
eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$UK/")" 405 "the pages are GET only"

# ---- the data dictionary ----
call k "$UK/api/model"
eq "$(printf '%s' "$body" | py '[f["type"] for k in d["kinds"] if k["name"] == "child" for f in k["fields"] if f["name"] == "id_number"][0]')" \
	idnum "the model names the ID number's type"

# ---- the overview: county, drill-down, the person's unit ----
call k "$UK/api/overview"
eq "$code" 200 "the county's overview"
eq "$(printf '%s' "$body" | py 'd["totals"]["children"]')" 6 "the county counts the village's children"
eq "$(printf '%s' "$body" | py 'len(d["units"])')" 9 "every township is a row, none left out"
eq "$(printf '%s' "$body" | py '[u["children"] for u in d["units"] if u["code"] == "'$T1'"][0]')" 6 \
	"北宋镇's row"
eq "$(printf '%s' "$body" | py 'd["totals"]["without_guardian"] + d["totals"]["assessments_due"] >= 0 and len(d["months"])')" \
	12 "twelve months of trend"
call k "$UK/api/overview?unit=$T1"
eq "$(printf '%s' "$body" | py 'd["unit"]["name"] + " " + str(len(d["units"])) + " " + d["parents"][0]["code"]')" \
	"北宋镇 $(awk -F, -v t=${T1:0:9} '$3 == "village" && substr($1, 1, 9) == t' \
		"$(dirname "$0")/../../node/data/lijin-divisions.csv" | wc -l) $K" \
	"drill down: the township, all its villages, the way back up"
eq "$(printf '%s' "$body" | py '[u["children"] for u in d["units"] if u["code"] == "'$V11'"][0]')" 6 \
	"the village's row"
call l "$UT/api/overview?unit=$T1"
eq "$code" 403 "a village's liaison does not read the whole township"
call l "$UT/api/overview"
eq "$(printf '%s' "$body" | py 'd["unit"]["code"] + " " + str(d["totals"]["children"])')" "$V12 0" \
	"the liaison's overview is the liaison's village"

# ---- children and a child's file ----
call t "$UT/api/children?village=$V11"
eq "$(printf '%s' "$body" | py 'len(d["children"])')" 6 "the township lists the village's children"
child=$(printf '%s' "$body" | py 'd["children"][0]["id"]')
cname=$(printf '%s' "$body" | py 'd["children"][0]["name"]')
call t "$UT/api/children/$child"
eq "$code" 200 "a child's file"
eq "$(printf '%s' "$body" | py 'd["child"]["name"] + " " + str(type(d["tasks"]).__name__)')" \
	"$cname list" "the file has the child and its tasks"
call l "$UT/api/children/$child"
eq "$code" 403 "another village's liaison cannot read the child"
call l "$UT/api/children?village=$V11"
eq "$code" 403 "nor list that village"

# ---- the session's person, and lists of records kept to the unit ----
call t "$UT/api/session"
eq "$(printf '%s' "$body" | py 'd["person"] + " " + d["role"] + " " + d["level"]')" "乡镇专干 officer township" \
	"the session names the person"
eval "tok=\$csrf_t"
call t -H "X-CSRF-Token: $tok" --data-urlencode "village_code=$V11" --data-urlencode caller=邻居 \
	--data-urlencode content=孩子晚上一个人在家 --data-urlencode taken_by=镇民政办 "$UT/api/hotline"
eq "$code" 201 "the township takes a hotline call (R11.2)"
call t "$UT/api/records/hotline"
eq "$(printf '%s' "$body" | py '[r["caller"] + " " + r["call_status"] + " " + str(bool(r["created_at"])) for r in d["records"]]')" \
	"['邻居 open True']" "the township lists its calls"
eq "$(printf '%s' "$body" | py '[r["village"] for r in d["records"]][0]')" \
	"$(awk -F, -v v=$V11 '$1 == v { print $2 }' "$(dirname "$0")/../../node/data/lijin-divisions.csv")" \
	"each call names its village"
call t "$UT/api/records/hotline?open=1"
eq "$(printf '%s' "$body" | py 'len(d["records"])')" 1 "the call is open"
hid=$(printf '%s' "$body" | py 'd["records"][0]["id"]')
call t -H "X-CSRF-Token: $tok" -d call_status=handled --data-urlencode handled_by=镇民政办 \
	--data-urlencode handling=已联系村委会上门查看 "$UT/api/hotline/$hid"
eq "$code" 200 "the township marks it handled"
call t "$UT/api/records/hotline?open=1"
eq "$(printf '%s' "$body" | py 'len(d["records"])')" 0 "no open call left"
call t "$UT/api/divisions"
eq "$(printf '%s' "$body" | py 'd[0]["name"] + " " + str(len(d)) + " " + str(all(x["code"].startswith("370522101") for x in d))')" \
	"北宋镇 $(( $(awk -F, '$3 == "village" && substr($1, 1, 9) == "370522101"' \
		"$(dirname "$0")/../../node/data/lijin-divisions.csv" | wc -l) + 1 )) True" \
	"the township's divisions, by name"
call t "$UT/api/divisions?under=370522102000"
eq "$code" 403 "not another township's"
call l "$UT/api/records/hotline"
eq "$(printf '%s' "$body" | py 'len(d["records"])')" 0 "another village's liaison sees none of them"
call t "$UT/api/records/cert"
eq "$code" 404 "only the workflows' lists, not certificates"

# ---- a conflict, settled on the page ----
c v11 --user 联络员 guardian set "$child" --name 李奶奶 >/dev/null || bad "the village edits the guardian"
c t1 --user zhuan --password-file "$work/pw-t" guardian set "$child" --name 王爷爷 >/dev/null ||
	bad "the township edits the guardian"
for try in $(seq 1 40); do
	vsync
	call t "$UT/api/conflicts"
	[ "$(printf '%s' "$body" | py 'len(d["conflicts"])')" = 2 ] && converged && break
	sleep 0.5
done
eq "$(printf '%s' "$body" | py 'sorted(c["value"] for c in d["conflicts"])')" "['李奶奶', '王爷爷']" \
	"the township's page shows both values"
eq "$(printf '%s' "$body" | py '{c["field_zh"] + " " + c["name"] for c in d["conflicts"]}.pop()')" \
	"监护人姓名 $cname" "with the field and the child named"
# a person of another village sees none of it, nor the township's whole data
call l "$UT/api/conflicts"
eq "$(printf '%s' "$body" | py 'len(d["conflicts"])')" 0 "another village's liaison sees no conflict of V11"
for route in ledger meeting sync quarantine "tasks?village=$V11"; do
	call l "$UT/api/$route"
	eq "$code" 403 "another village's liaison: /api/$route refused"
done
call l "$UT/api/tasks"
eq "$(printf '%s' "$body" | py 'sorted({t["village_code"] for t in d})')" "[]" \
	"the liaison's tasks are the liaison's village's (none)"
call t "$UT/api/tasks"
eq "$(printf '%s' "$body" | py 'sorted({t["village_code"] for t in d})')" "['$V11']" \
	"the township's tasks are its villages'"
call t "$UT/api/conflicts"
op=$(printf '%s' "$body" | py '[c["op"] for c in d["conflicts"] if c["value"] == "李奶奶"][0]')
rec=$(printf '%s' "$body" | py 'd["conflicts"][0]["record"]')
call t -X POST "$UT/api/conflicts/resolve" -d "record=$rec" -d field=name -d "op=$op"
eq "$code" 403 "settling needs the CSRF token"
call t -H "X-CSRF-Token: $tok" -d "record=$rec" -d field=name -d "op=$op" "$UT/api/conflicts/resolve"
eq "$code" 200 "the officer chooses 李奶奶: $body"
call t -H "X-CSRF-Token: $tok" -d "record=$rec" -d field=name -d "op=$op" "$UT/api/conflicts/resolve"
eq "$code" 404 "a settled conflict is gone"
settle || bad "the settlement travels"
for n in v11 t1 k; do
	eq "$(c $n --json conflicts | py 'len(d["conflicts"])')" 0 "$n: no conflict left"
	eq "$(c $n --json child show "$child" | py 'd["guardian"]["name"]')" 李奶奶 "$n: the value chosen"
done

# ---- the sync's health ----
call t "$UT/api/sync"
eq "$(printf '%s' "$body" | py '[ch["code"] + " " + ch["name"] for ch in d["children"]][0]')" \
	"$V11 $(c t1 --json status | py '[ch["name"] for ch in d["children"]][0]')" \
	"the township lists the village below it"
eq "$(printf '%s' "$body" | py 'd["children"][0]["ops"] > 6 and d["children"][0]["minutes_since"] is not None and d["children"][0]["last_contact"] != "—"')" \
	True "with its last contact and what it delivered"
eq "$(printf '%s' "$body" | py 'd["parents"][0]["state"] + " " + str(d["pending_up"])')" "synced 0" \
	"and the township's own link up"
call k "$UK/api/quarantine"
eq "$(printf '%s' "$body" | py 'len(d)')" 0 "the county quarantined nothing"

# ---- exports ----
curl -s -b "$work/k.jar" -o "$work/ledger.csv" -D "$work/ledger.h" "$UK/api/export/ledger.csv"
eq "$(head -c 3 "$work/ledger.csv" | od -An -tx1 | tr -d ' ')" efbbbf "the CSV starts with a BOM for Excel"
grep -qi 'content-disposition: attachment; filename="ledger.csv"' "$work/ledger.h" && ok ||
	bad "the CSV is a download"
eq "$(sed -n 1p "$work/ledger.csv" | cut -d, -f1-2 | sed 's/^\xef\xbb\xbf//')" "档案编号,姓名" \
	"Chinese headers"
eq "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1], encoding="utf-8-sig")))) - 1)' "$work/ledger.csv")" \
	6 "one row per child"
curl -s -b "$work/k.jar" -o "$work/ledger.xls" "$UK/api/export/ledger.xls"
eq "$(python3 - "$work/ledger.xls" "$cname" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"ss": "urn:schemas-microsoft-com:office:spreadsheet"}
rows = ET.parse(sys.argv[1]).getroot().findall(".//ss:Row", ns)
cells = [[d.text or "" for d in r.findall(".//ss:Data", ns)] for r in rows]
print(len(rows) - 1, cells[0][0], any(sys.argv[2] in c for c in cells[1:]))
PY
)" "6 档案编号 True" "the Excel workbook parses, with the children"
curl -s -b "$work/k.jar" -o "$work/meeting.csv" "$UK/api/export/meeting.csv"
eq "$(python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], encoding="utf-8-sig"))); print(len(r), r[1][1], r[2][1])' "$work/meeting.csv")" \
	"3 乡镇 北宋镇" "the joint meeting's table: a line for the period, headers, the township"
call l "$UT/api/export/ledger.csv"
eq "$code" 403 "a village's liaison cannot export the township's ledger"

# ---- importing a township's ledger file ----
"$cn" synth --village $V12 --count 5 --seed 9 --out "$work/v12.csv"
ops() { sqlite3 "$work/t1/carenode.db" "SELECT count(*) FROM ops"; }
python3 - "$work/v12.csv" "$work/bad.csv" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8-sig").read().split("\n")
# the third child's ID number with a wrong check digit
cells = lines[3].split(",")
for i, c in enumerate(cells):
    if len(c) == 18 and c[:17].isdigit():
        cells[i] = c[:17] + ("0" if c[17] != "0" else "1")
lines[3] = ",".join(cells)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines))
PY
n0=$(ops)
call t -H "X-CSRF-Token: $tok" -H "Content-Type: text/csv" --data-binary "@$work/bad.csv" "$UT/api/import"
eq "$code" 400 "a file with a bad ID number is refused"
grep -q "第 *3 *行\|row 3\|line 4\|第 *4 *行" <<<"$body" && ok || bad "the refusal names the row: $body"
eq "$(ops)" "$n0" "and nothing of the file is written"
call t -H "X-CSRF-Token: $tok" -H "Content-Type: text/csv" --data-binary "@$work/v12.csv" "$UT/api/import"
eq "$code" 201 "the township imports the village's ledger file: $body"
eq "$(printf '%s' "$body" | py 'd["imported"]')" 5 "five children filed"
call t -H "X-CSRF-Token: $tok" --data-binary "@$work/v12.csv" -H "Content-Type: text/csv" "$UT/api/hotline"
eq "$code" 400 "a file sent to another route is refused, not dropped"

echo "pages: $pass passed, $fail failed"
[ "$fail" = 0 ]
