#!/usr/bin/env bash
# A dated online backup of a carenode node, keeping the newest N copies.
# Usage: backup.sh NODE-DIR BACKUP-DIR   (CARENODE_BACKUP_KEEP, default 14)
# Run by carenode-backup@NAME.service; usable by hand as the carenode user.
set -euo pipefail
node=${1:?usage: backup.sh NODE-DIR BACKUP-DIR}
dest=${2:?usage: backup.sh NODE-DIR BACKUP-DIR}
keep=${CARENODE_BACKUP_KEEP:-14}
cn=${CARENODE_BIN:-/usr/local/bin/carenode}
mkdir -p -m 0700 "$dest"
file="$dest/carenode-$(date +%Y%m%d-%H%M%S).db"
"$cn" --dir "$node" backup "$file"
"$cn" --dir "$node" info >/dev/null # the node still opens after the copy
echo "备份完成 / backed up: $file ($(du -h "$file" | cut -f1))"
# the newest $keep copies stay
ls -1t "$dest"/carenode-*.db 2>/dev/null | tail -n +$((keep + 1)) | while read -r old; do
	rm -f -- "$old"
	echo "删除旧备份 / removed an old backup: $old"
done
