# Shared by the integration suites (source it after setting cn): a work
# folder removed at exit (with the logs shown when a check failed), check
# counters, a node runner and a free loopback port.
#   ok / bad MESSAGE / eq GOT WANT MESSAGE  - count checks
#   c NODE ARGS...                          - carenode --dir $work/NODE ARGS
#   free_port                               - an unused port on 127.0.0.1
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
call() {
	local jar=$1
	shift
	body=$(curl -s -b "$work/$jar.jar" -c "$work/$jar.jar" -w '\n%{http_code}' "$@")
	code=${body##*$'\n'}
	body=${body%$'\n'*}
}
