#!/usr/bin/env bash
# Installs a carenode node as a systemd service on this machine (issue #7):
# the binary, the units, the node's config and, for an encrypted node, its
# passphrase as a systemd credential. Run as root, after ./deploy/build.sh.
#
#   ./deploy/install-node.sh NAME LEVEL [--encrypted PASSPHRASE-FILE]
#       NAME   the node's name on this machine (county, township, beisong ...):
#              its folder /var/lib/carenode/NAME, its config
#              /etc/carenode/NAME.conf, its unit carenode@NAME
#       LEVEL  county, township, village or department: which annotated
#              config (deploy/config/LEVEL.conf) it starts from
#
# An existing config or passphrase is never overwritten. It does not create
# or enrol the node itself: it prints the commands for that (OPERATOR.md).
# DESTDIR=DIR installs under DIR instead of / (for packaging and the tests).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
name=${1:?usage: install-node.sh NAME LEVEL [--encrypted PASSPHRASE-FILE]}
level=${2:?usage: install-node.sh NAME LEVEL [--encrypted PASSPHRASE-FILE]}
pass=""
if [ "${3:-}" = --encrypted ]; then
	pass=${4:?--encrypted needs the passphrase file}
fi
case "$name" in
*[!a-z0-9_-]* | "") echo "NAME: lower-case letters, digits, - and _ only" >&2; exit 2 ;;
esac
[ -f "$here/config/$level.conf" ] || {
	echo "LEVEL: county, township, village or department" >&2
	exit 2
}
bin=${CARENODE_BUILT:-$root/build/carenode}
[ -x "$bin" ] || { echo "build it first: ./deploy/build.sh (no $bin)" >&2; exit 2; }
d=${DESTDIR:-}
if [ -z "$d" ] && [ "$(id -u)" != 0 ]; then
	echo "run as root (or set DESTDIR)" >&2
	exit 2
fi

# the service's user: no shell, no login; its folder holds the nodes
if [ -z "$d" ] && ! id carenode >/dev/null 2>&1; then
	useradd --system --home-dir /var/lib/carenode --shell /usr/sbin/nologin carenode
fi
install -d -m 0700 "$d/var/lib/carenode"
[ -z "$d" ] && chown carenode:carenode "$d/var/lib/carenode"
grp=carenode
[ -n "$d" ] && grp=$(id -gn)

install -d -m 0755 "$d/usr/local/bin" "$d/usr/local/lib/carenode" "$d/etc/systemd/system" \
	"$d/usr/local/share/doc/carenode"
install -d -m 0750 -g "$grp" "$d/etc/carenode"
install -m 0755 "$bin" "$d/usr/local/bin/carenode"
install -m 0755 "$here/backup.sh" "$d/usr/local/lib/carenode/backup.sh"
install -m 0644 "$here/systemd/carenode@.service" "$here/systemd/carenode-backup@.service" \
	"$here/systemd/carenode-backup@.timer" "$d/etc/systemd/system/"
install -m 0644 "$here/OPERATOR.md" "$d/usr/local/share/doc/carenode/OPERATOR.md"
install -d -m 0700 "$d/var/backups/carenode"
[ -z "$d" ] && chown carenode:carenode "$d/var/backups/carenode"
conf="$d/etc/carenode/$name.conf"
if [ -e "$conf" ]; then
	echo "保留已有配置 / keeping the existing config: $conf"
else
	install -m 0640 -g "$grp" "$here/config/$level.conf" "$conf"
	echo "已安装配置，请修改地址 / config installed, edit its addresses: $conf"
fi
if [ -n "$pass" ]; then
	secret="$d/etc/carenode/$name.passphrase"
	if [ -e "$secret" ]; then
		echo "保留已有口令文件 / keeping the existing passphrase file: $secret"
	else
		install -m 0600 "$pass" "$secret"
	fi
	# both units get it as a credential, in their own private directory
	for unit in carenode carenode-backup; do
		install -d -m 0755 "$d/etc/systemd/system/$unit@$name.service.d"
		cat >"$d/etc/systemd/system/$unit@$name.service.d/passphrase.conf" <<UNIT
# written by install-node.sh: node $name is encrypted at rest
[Service]
LoadCredential=passphrase:/etc/carenode/$name.passphrase
Environment=CARENODE_PASSPHRASE_FILE=%d/passphrase
UNIT
	done
fi
[ -z "$d" ] && command -v systemctl >/dev/null && systemctl daemon-reload 2>/dev/null || true

cat <<MSG
已安装 / installed carenode@$name. 接下来 / next, as OPERATOR.md sections 2-4 say:
  runuser -u carenode -- /usr/local/bin/carenode --dir /var/lib/carenode/$name init ...
  (enrol it, join it, edit /etc/carenode/$name.conf; then)
  systemctl enable --now carenode@$name carenode-backup@$name.timer
  journalctl -u carenode@$name -f
MSG
