#!/usr/bin/env bash
# Integration suite (issue #6, first part; R10, R11.1): the JSON API over
# HTTP, against a real `carenode serve --http` on 127.0.0.1 (curl as the
# browser). Every call needs a session; a login goes through the account's
# Argon2id hash, lock and log; a POST needs the session's CSRF token; the
# person's role and unit limit what is written, and a refusal writes
# nothing; logging out ends the session.
# Usage: test_web.sh PATH/TO/carenode
set -uo pipefail
cn=${1:?usage: test_web.sh carenode}
. "$(dirname "$0")/lib.sh"
V=370522101201
P=$(free_port)
U="http://127.0.0.1:$P"
ops() { sqlite3 "$work/v/carenode.db" "SELECT count(*) FROM ops"; }

printf 'officer-pass\n' >"$work/pw-o"
printf 'school-pass1\n' >"$work/pw-s"
c v init --level village --code $V >/dev/null || bad "init"
c v user add --login wang --name 王强 --role officer --new-password-file "$work/pw-o" >/dev/null ||
	bad "the officer's account"
c v --user wang --password-file "$work/pw-o" user add --login teacher --name 王老师 --role school \
	--new-password-file "$work/pw-s" >/dev/null || bad "a school reporter's account"
ID=370522201203150018
c v --user wang --password-file "$work/pw-o" child add --name 张小明 --id $ID \
	--household-address 洼张村一街 >/dev/null || bad "a child"
"$cn" --dir "$work/v" serve --http "$U" >/dev/null 2>>"$work/serve.log" &
pids+=($!)
for i in $(seq 1 40); do
	curl -s "$U/api/tasks" >/dev/null 2>&1 && break
	sleep 0.1
done

# ---- no session, no data (reads too) ----
call anon "$U/api/tasks"
eq "$code" 401 "a read without a session is refused"
eq "$(printf '%s' "$body" | py 'd["error"]["code"]')" login "the answer says to log in"
call anon "$U/api/ledger"
eq "$code" 401 "the ledger without a session is refused"
grep -q 张小明 <<<"$body" && bad "no child's name leaks without a session" || ok

# ---- logging in ----
call o -d login=wang -d password=wrong "$U/api/login"
eq "$code" 401 "a wrong password"
grep -q "wrong login or password" <<<"$body" && ok || bad "the answer says wrong login or password: $body"
call o -d login=nobody -d password=wrong "$U/api/login"
eq "$(printf '%s' "$body" | py 'd["error"]["message"]')" "登录名或密码错误 / wrong login or password" \
	"an unknown login gets the same answer: logins cannot be guessed"
logins=$(sqlite3 "$work/v/carenode.db" "SELECT count(*) FROM login_log WHERE login = 'wang' AND ok = 1")
call o -d login=wang -d password=officer-pass "$U/api/login"
eq "$code" 200 "the officer logs in"
CSRF=$(printf '%s' "$body" | py 'd["csrf"]')
eq "${#CSRF}" 64 "a CSRF token comes with the session"
eq "$(printf '%s' "$body" | py 'd["role"] + " " + d["unit"]')" "officer $V" "the session's role and unit"
grep -q "HttpOnly" "$work/o.jar" && ok || bad "the session cookie is HttpOnly"
eq "$(sqlite3 "$work/v/carenode.db" "SELECT count(*) FROM login_log WHERE login = 'wang' AND ok = 1")" \
	$((logins + 1)) "the login is logged"

# ---- reads ----
call o "$U/api/tasks?owner=village"
eq "$code" 200 "GET /api/tasks"
eq "$(printf '%s' "$body" | py '[t["requirement"] for t in d]')" "['R2.1']" \
	"the child's task: a guardian (R2.1)"
call o "$U/api/ledger"
eq "$(printf '%s' "$body" | py '[c["name"] for c in d["children"]]')" "['张小明']" "GET /api/ledger"

# ---- writes need the CSRF token ----
n0=$(ops)
call o --data-urlencode "village_code=$V" --data-urlencode caller=匿名 \
	--data-urlencode content=孩子一个人在家 --data-urlencode taken_by=接线员 "$U/api/hotline"
eq "$code" 403 "a POST without the CSRF token is refused"
eq "$(ops)" "$n0" "and writes nothing"
call o -H "X-CSRF-Token: $CSRF" --data-urlencode "village_code=$V" --data-urlencode caller=匿名 \
	--data-urlencode content=孩子一个人在家 --data-urlencode taken_by=接线员 \
	--data-urlencode situation=living_alone "$U/api/hotline"
eq "$code" 201 "a hotline call (R11.2)"
eq "$(ops)" $((n0 + 1)) "one op"
eq "$(sqlite3 "$work/v/carenode.db" "SELECT urgent FROM ops ORDER BY pos DESC LIMIT 1")" 1 \
	"an R5.2 call is urgent"
eq "$(sqlite3 "$work/v/carenode.db" "SELECT created_by FROM hotline")" wang "the op records the login"
call o -H "X-CSRF-Token: $CSRF" --data-urlencode guardian_type=grandparent \
	--data-urlencode name=张奶奶 --data-urlencode relation=祖母 --data-urlencode id_number=bad \
	"$U/api/children/$ID/guardian"
eq "$code" 400 "a bad ID number is a 400"
grep -q "监护人公民身份号码" <<<"$body" && ok || bad "the answer names the field: $body"
eq "$(ops)" $((n0 + 1)) "the bad input wrote nothing"

call o -H "X-CSRF-Token: $CSRF" --data "village_code=$V&caller=%E5%8C%BF%00x&content=x&taken_by=x" \
	"$U/api/hotline"
eq "$code" 400 "a NUL byte in a field is refused, not cut short"
eq "$(ops)" $((n0 + 1)) "and writes nothing"

# ---- the role limits (R10): a school reporter reports, and nothing else ----
call s -d login=teacher -d password=school-pass1 "$U/api/login"
eq "$code" 200 "the school reporter logs in"
SCSRF=$(printf '%s' "$body" | py 'd["csrf"]')
call s -H "X-CSRF-Token: $SCSRF" --data-urlencode "village_code=$V" --data-urlencode caller=某 \
	--data-urlencode content=求助 --data-urlencode taken_by=某 "$U/api/hotline"
eq "$code" 403 "a school reporter may not take hotline calls"
call s -H "X-CSRF-Token: $CSRF" --data-urlencode reporter_type=school \
	--data-urlencode reporter=王老师 --data-urlencode situation=domestic_violence \
	--data-urlencode found_date=2026-06-15 --data-urlencode date=2026-06-15 \
	--data-urlencode details=淤青 "$U/api/children/$ID/report"
eq "$code" 403 "another session's CSRF token does not do"
call s -H "X-CSRF-Token: $SCSRF" --data-urlencode reporter_type=school \
	--data-urlencode reporter=王老师 --data-urlencode situation=domestic_violence \
	--data-urlencode found_date=2026-06-15 --data-urlencode date=2026-06-15 \
	--data-urlencode details=淤青 "$U/api/children/$ID/report"
eq "$code" 201 "the school reporter files a mandatory report (R5)"
eq "$(sqlite3 "$work/v/carenode.db" "SELECT created_by FROM report")" teacher "by the teacher's login"

# ---- logging out ----
call o -H "X-CSRF-Token: $CSRF" -X POST "$U/api/logout"
eq "$code" 200 "logout"
call o "$U/api/tasks"
eq "$code" 401 "the session is over"

# ---- a session ends when its login is disabled or given a new password ----
call o -d login=wang -d password=officer-pass "$U/api/login"
CSRF=$(printf '%s' "$body" | py 'd["csrf"]')
call s -d login=teacher -d password=school-pass1 "$U/api/login"
call s "$U/api/tasks"
eq "$code" 200 "the teacher's session works"
c v --user wang --password-file "$work/pw-o" user disable teacher >/dev/null || bad "disable the teacher"
call s "$U/api/tasks"
eq "$code" 401 "disabling the login ends its session at once"
printf 'officer-pass\nofficer-pass2\nofficer-pass2\n' >"$work/pw-change"
call o "$U/api/tasks"
eq "$code" 200 "the officer's session works"
printf 'officer-pass2\n' >"$work/pw-o2"
c v --user wang --password-file "$work/pw-o" user passwd wang --new-password-file "$work/pw-o2" \
	>/dev/null || bad "the officer changes the password"
call o "$U/api/tasks"
eq "$code" 401 "a new password ends the old sessions"
cp "$work/pw-o2" "$work/pw-o"
call o -d login=wang -d password=officer-pass2 "$U/api/login"
eq "$code" 200 "and the new one logs in"

# ---- one person cannot push everyone else out ----
call keep -d login=wang -d password=officer-pass2 "$U/api/login"
for i in $(seq 1 12); do call many$i -d login=wang -d password=officer-pass2 "$U/api/login"; done
call many12 "$U/api/tasks"
eq "$code" 200 "the newest of many sessions works"
call keep "$U/api/tasks"
eq "$code" 401 "past eight sessions a login loses its own oldest"

# ---- the session cookie is the node's own: two nodes on one machine ----
grep -q "cn_session_$P" "$work/o.jar" && ok || bad "the cookie is named for this node's port"
c v serve --http "http://0.0.0.0:$(free_port)" >/dev/null 2>"$work/plain.err"
eq "$?" 2 "plain http beyond this machine is refused"
grep -q "allow-plain-http" "$work/plain.err" && ok || bad "and the refusal says how: $(cat "$work/plain.err")"

# ---- an import's body is read only after the login ----
head -c 20000000 /dev/zero >"$work/big.csv"
hdrs=$(curl -s -D - -o /dev/null -H "Content-Type: text/csv" --data-binary "@$work/big.csv" "$U/api/import")
grep -q "^HTTP/1.1 401" <<<"$hdrs" && ok || bad "an anonymous import is refused before its body: $hdrs"
grep -qi "^connection: close" <<<"$hdrs" && ok || bad "and its connection closed"
call imp -d login=wang -d password=officer-pass2 "$U/api/login"
call imp -H "X-CSRF-Token: $(printf '%s' "$body" | py 'd["csrf"]')" \
	-H "Content-Type: text/csv" --data-binary "@$work/big.csv" "$U/api/import"
eq "$code" 400 "a logged-in import of a bad file is read and refused: $(printf '%s' "$body" | head -c 200)"

# ---- five wrong passwords lock the login (R10), over HTTP too ----
c v --user wang --password-file "$work/pw-o" user enable teacher >/dev/null || bad "enable the teacher"
for i in 1 2 3 4 5; do call x -d login=teacher -d password=nope "$U/api/login"; done
call x -d login=teacher -d password=school-pass1 "$U/api/login"
eq "$code" 401 "locked after five wrong passwords"
grep -q "locked" <<<"$body" && ok || bad "the answer says locked: $body"

# ---- over TLS: https with the county's certificate, and a Secure cookie ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null ||
	bad "openssl makes a test certificate"
cat "$work/cert.pem" "$work/key.pem" >"$work/server.pem"
PS=$(free_port)
"$cn" --dir "$work/v" serve --http "https://127.0.0.1:$PS" --tls-cert "$work/server.pem" \
	>/dev/null 2>>"$work/serve-tls.log" &
pids+=($!)
for i in $(seq 1 40); do
	curl -sk -o /dev/null "https://127.0.0.1:$PS/" && break
	sleep 0.1
done
hdr=$(curl -s --cacert "$work/cert.pem" -D - -o /dev/null -d login=wang -d password=officer-pass2 \
	"https://127.0.0.1:$PS/api/login")
grep -qi "^set-cookie: cn_session_$PS=.*; Secure" <<<"$hdr" && ok || bad "over https the cookie is Secure: $hdr"
eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PS/" 2>/dev/null)" 000 \
	"the https port speaks no plain HTTP"
c v serve --http "https://127.0.0.1:$(free_port)" >/dev/null 2>&1
eq "$?" 2 "https without --tls-cert is refused"

echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
