#!/usr/bin/env bash
# Browser suite (issue #6): the web pages in Debian's headless Chromium,
# driven by playwright-core (ui.test.mjs), against real carenode processes on
# 127.0.0.1. A county, a township (北宋镇) and one of its villages (洼张村),
# enrolled as in the integration suites, each serving its pages with
# `serve --http`; a village care liaison (村关爱联络员) logs in (a wrong password first), files
# a child with a bad resident ID (the server's error names it), then the
# right one, and sees the child's file; it files a mandatory report on the
# child (R5); the village syncs up through the township; the county's civil
# affairs logs in, sees the county's count of children and of open reports
# grow by one each, the report in its list, and drills down from the county
# to the township, the village and the child. A screenshot of every step, at 1366x768 and one at
# phone size (390x844).
# Usage: test_ui.sh PATH/TO/carenode [SCREENSHOT-DIR]
#   SCREENSHOT-DIR: else $CARENODE_SHOTS, else browser-shots/ beside the binary
# Exits 77 (ctest's SKIP_RETURN_CODE) only when Chromium or Node.js is
# missing and cannot be installed.
set -uo pipefail
cn=${1:?usage: test_ui.sh carenode [screenshot-dir]}
cn=$(cd "$(dirname "$cn")" && pwd)/$(basename "$cn")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shots=${2:-${CARENODE_SHOTS:-$(dirname "$cn")/browser-shots}}
t_start=$(date +%s)

# ---- Chromium, Node.js and playwright-core ----
chromium=${CARENODE_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "Chromium or Node.js is missing: installing (deploy/install-deps.sh --browser)"
	"$root/deploy/install-deps.sh" --browser || true
fi
if [ ! -x "$chromium" ]; then
	echo "SKIP: $chromium is missing and could not be installed (apt-get install chromium)"
	exit 77
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "SKIP: node or npm is missing and could not be installed (apt-get install nodejs npm)"
	exit 77
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 # never a browser of Playwright's own
# npm ci only when node_modules is missing or older than the lock file (so a
# machine that has it runs offline); one build at a time
(
	flock 9
	stamp="$here/node_modules/.package-lock.json"
	if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ] ||
		[ ! -f "$here/node_modules/playwright-core/package.json" ]; then
		echo "npm ci (tests/browser)"
		(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || exit 1
		touch "$stamp"
	fi
) 9>"$here/.npm-ci.lock" || {
	echo "FAIL: npm ci in tests/browser did not install playwright-core"
	exit 1
}

cd "$root"
. "$root/tests/integration/lib.sh"

K=370522000000 T=370522101000 V=370522101201
PK=$(free_port) PT=$(free_port)
HK=$(free_port) HT=$(free_port) HV=$(free_port)
# ---- the hierarchy: key ceremony, enrolment, people ----
c ca ca init >/dev/null || bad "ca init"
enrol_root k county $K
enrol_root t township $T
enrol_village v t $V
printf 'officer-pass\n' >"$work/pw-v"
printf 'county-pass1\n' >"$work/pw-k"
c v user add --login wang --name 王强 --role liaison --new-password-file "$work/pw-v" >/dev/null ||
	bad "the village care liaison's account"
c k user add --login li --name 李民政 --role civil_affairs --new-password-file "$work/pw-k" >/dev/null ||
	bad "the county civil affairs account"
# the village's earlier children (so the county's count is not zero before)
"$cn" synth --village $V --count 4 --seed 61 --out "$work/old.csv" >/dev/null || bad "synth"
c v --user wang --password-file "$work/pw-v" import "$work/old.csv" >/dev/null || bad "import"

# ---- the nodes serve: the county and the township for sync and pages,
# the township's uplink every 0.5 s; the village its pages, and syncs up
# only when told (sync.sh), so the county's view changes when the test says
"$cn" --dir "$work/k" serve --listen "tcp://127.0.0.1:$PK" --http "http://127.0.0.1:$HK" \
	>/dev/null 2>"$work/k.log" &
pids+=($!)
"$cn" --dir "$work/t" serve --listen "tcp://127.0.0.1:$PT" --parent "tcp://127.0.0.1:$PK" \
	--interval 0.5 --http "http://127.0.0.1:$HT" >/dev/null 2>"$work/t.log" &
pids+=($!)
"$cn" --dir "$work/v" serve --http "http://127.0.0.1:$HV" >/dev/null 2>"$work/v.log" &
pids+=($!)
for h in $HK $HT $HV; do
	for i in $(seq 1 50); do
		curl -s -o /dev/null "http://127.0.0.1:$h/api/session" && break
		sleep 0.1
	done
	curl -s -o /dev/null "http://127.0.0.1:$h/api/session" || bad "the HTTP server on port $h"
done

# sync.sh: the village syncs up (sync --once to the township, whose serve
# relays to the county) until the county holds the village's state; 20 s
cat >"$work/sync.sh" <<EOF
#!/usr/bin/env bash
for i in \$(seq 1 40); do
	"$cn" --dir "$work/v" sync --once --parent tcp://127.0.0.1:$PT --timeout 10 >/dev/null 2>>"$work/v-sync.log"
	[ "\$("$cn" --dir "$work/v" digest --scope $V)" = "\$("$cn" --dir "$work/k" digest --scope $V)" ] && exit 0
	sleep 0.5
done
echo "the county did not receive the village's state in 20 s" >&2
exit 1
EOF
chmod +x "$work/sync.sh"
"$work/sync.sh" && ok || bad "the earlier children reach the county"
kids() { c k --json child list | py 'len(d)'; }
eq "$(kids)" 4 "the county holds the village's 4 earlier children"

# ---- the browser ----
mkdir -p "$shots" && rm -f "$shots"/*.png
GOOD=$(idnum 20150304123) # sequence 12 then 3: odd, a boy born 2015-03-04
BADID=${GOOD:0:17}$(python3 -c "print('10X98765432'[('10X98765432'.index('${GOOD:17}') + 1) % 11])")
export UI_VILLAGE_URL="http://127.0.0.1:$HV" UI_COUNTY_URL="http://127.0.0.1:$HK"
export UI_TOWNSHIP=$T UI_VILLAGE=$V
export UI_VILLAGE_LOGIN=wang UI_VILLAGE_PASSWORD=officer-pass
export UI_COUNTY_LOGIN=li UI_COUNTY_PASSWORD=county-pass1
export UI_CHILD_NAME=赵小禾 UI_CHILD_ID=$GOOD UI_CHILD_BAD_ID=$BADID
export UI_CHILD_SEX=male UI_CHILD_BIRTH=2015-03-04 UI_CHILD_ADDRESS="洼张村三街 8 号"
export UI_SYNC="$work/sync.sh" UI_SHOTS="$shots" UI_CHROMIUM="$chromium"
node "$here/ui.test.mjs" 2>&1 | tee "$work/browser.out"
node_rc=${PIPESTATUS[0]}
np=$(sed -n 's/^browser: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$work/browser.out")
nf=$(sed -n 's/^browser: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$work/browser.out")
pass=$((pass + ${np:-0}))
fail=$((fail + ${nf:-0}))
[ "$node_rc" = 0 ] || [ "${nf:-0}" != 0 ] || bad "the browser script ended with status $node_rc"

# ---- what the pages did is what the nodes hold ----
c v child show "$GOOD" >/dev/null 2>&1 && ok || bad "the village holds the child filed in the browser"
eq "$(c v --json child list | py "sum(1 for x in d if x['name'] == '$UI_CHILD_NAME')")" 1 \
	"once, and nothing under the bad ID"
eq "$(kids)" 5 "the county holds the child filed in the browser"

echo
echo "screenshots ($shots):"
ls -1 "$shots"/*.png 2>/dev/null | sed 's/^/  /'
echo "$(($(date +%s) - t_start)) s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
