# Shared by the integration suites (source it after setting cn): a work
# folder removed at exit (with the logs shown when a check failed), check
# counters, a node runner and a free loopback port.
#   ok / bad MESSAGE / eq GOT WANT MESSAGE  - count checks
#   c NODE ARGS...                          - carenode --dir $work/NODE ARGS
#   free_port                               - an unused port on 127.0.0.1
#   enrol_root NAME ROLE CODE               - a node certified by the root in
#                                             $work/ca (ca init first); ROLE
#                                             county, township or a department
#   enrol_village NAME PARENT CODE          - a village certified by PARENT
#   idnum BIRTH+SEQUENCE (11 digits)        - a Lijin resident ID, check digit
#   py EXPR                                 - EXPR of the JSON on stdin (as d)
#   call JAR CURL-ARGS...                   - an HTTP call with a cookie jar:
#                                             sets code (the status) and body
#   pids+=(PID)                             - killed at exit
work=$(mktemp -d)
pids=()
pass=0
fail=0
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$fail" != 0 ]; then
		for l in "$work"/*.log; do
			[ -e "$l" ] || continue
			echo "== $l"
			tail -8 "$l"
		done
	fi
	[ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
eq() { if [ "$1" = "$2" ]; then ok; else bad "$3: '$1' != '$2'"; fi; }
c() { local d=$1; shift; "$cn" --dir "$work/$d" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
enrol_root() {
	local level=$2
	case "$2" in county | township) ;; *) level=county ;; esac
	c "$1" init --level "$level" --code "$3" >/dev/null &&
		c ca ca enroll --subject "$(cat "$work/$1/node.pub")" --role "$2" --code "$3" \
			--out "$work/$1.chain" >/dev/null &&
		c "$1" join --chain "$work/$1.chain" --root "$work/ca/root.pub" \
			--network-key "$work/ca/network.key" >/dev/null || bad "enrol $1"
}
enrol_village() {
	c "$1" init --level village --code "$3" >/dev/null &&
		c "$2" enroll --subject "$(cat "$work/$1/node.pub")" --code "$3" \
			--out "$work/$1.chain" >/dev/null &&
		c "$1" join --chain "$work/$1.chain" --root "$work/ca/root.pub" \
			--network-key "$work/ca/network.key" >/dev/null || bad "enrol $1"
}
idnum() {
	python3 - "$1" <<'PY'
import sys
b = "370522" + sys.argv[1]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(b + "10X98765432"[sum(int(x) * y for x, y in zip(b, w)) % 11])
PY
}
call() {
	local jar=$1
	shift
	body=$(curl -s -b "$work/$jar.jar" -c "$work/$jar.jar" -w '\n%{http_code}' "$@")
	code=${body##*$'\n'}
	body=${body%$'\n'*}
}
