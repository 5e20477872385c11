#!/usr/bin/env bash
# Builds carenode twice (normal, and AddressSanitizer + UBSan) and runs every
# test in both builds; ends with ctest's summary. Installs missing Debian
# packages first, Chromium for the browser tests among them (tests/browser,
# in the normal build only). Usage: ./tests/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

"$root/deploy/install-deps.sh" --browser

status=0
echo "== 检查代码格式 / checking the committed .clang-format layout =="
if command -v clang-format >/dev/null; then
	if ! clang-format --dry-run --Werror proto/*.c node/*.c include/carenode/*.h tests/*.c tests/*.h tests/bench/*.c tests/faultproxy/*.c 2>/tmp/cn-format.log; then
		echo "clang-format: files differ from .clang-format (first lines):"
		head -20 /tmp/cn-format.log
		status=1
	fi
else
	echo "clang-format not installed; skipping the layout check"
fi

for kind in normal asan; do
	dir="$root/build-test-$kind"
	args=()
	[ "$kind" = asan ] && args=(-DCARENODE_SANITIZE=ON)
	echo "== 构建 / building ($kind) =="
	"$root/deploy/build.sh" "$dir" "${args[@]}"
	echo "== 测试 / testing ($kind) =="
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	if ! ctest --test-dir "$dir" --output-on-failure -j2; then
		status=1
	fi
done
exit $status
