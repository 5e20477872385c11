#!/usr/bin/env bash
# Runs carenode's benchmarks and prints their figures (outside CI: minutes).
# Usage: tests/bench/run.sh [children] [ops]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/deploy/install-deps.sh"
"$root/deploy/build.sh" "$root/build-bench" -DCMAKE_BUILD_TYPE=Release
"$root/build-bench/tests/bench_store" "$root/build-bench/carenode" "${1:-10000}" "${2:-100000}"
"$root/tests/bench/bench_sync.sh" "$root/build-bench" "${1:-10000}" "${2:-100000}"
"$root/tests/bench/bench_day.sh" "$root/build-bench"
"$root/tests/bench/bench_day.sh" "$root/build-bench" 7
"$root/tests/bench/bench_bundle.sh" "$root/build-bench"
"$root/tests/bench/bench_urgent.sh" "$root/build-bench"
"$root/tests/bench/bench_tasks.sh" "$root/build-bench"
