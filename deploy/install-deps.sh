#!/usr/bin/env bash
# Installs what carenode needs to build and test, from Debian's packages
# only, when it is missing. Used by ./deploy/demo.sh and ./tests/run.sh; runs
# as root on a fresh Debian 12 machine (or with sudo).
#   --browser: also what the browser tests need (tests/browser): Debian's
#   Chromium, Node.js and npm when `node` or `npm` is missing, and a Chinese
#   font for the screenshots (playwright-core itself comes from npm, pinned
#   by tests/browser/package-lock.json, installed by test_ui.sh)
set -euo pipefail

packages=(build-essential cmake pkg-config libsqlite3-dev libnng-dev libsodium-dev
	libmsgpack-dev libcmocka-dev libzstd-dev sqlite3 python3 curl openssl systemd)
if [ "${1:-}" = --browser ]; then
	packages+=(chromium)
	# a machine with node and npm from elsewhere (NodeSource) keeps them
	command -v node >/dev/null || packages+=(nodejs)
	command -v npm >/dev/null || packages+=(npm)
	fc-list :lang=zh 2>/dev/null | grep -q . || packages+=(fonts-wqy-microhei)
fi
[ "${CARENODE_DEPS_EXTRA:-}" ] && read -r -a extra <<<"$CARENODE_DEPS_EXTRA" && packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "正在安装缺少的软件包 / installing missing packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
