#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every make-*.sh capture script in this folder (one after the other, each in
# its own namespaces), then lists the captures. Exits non-zero if any script failed.
# Run as root. Usage: make-all.sh [NAME...]   e.g. make-all.sh http ftp
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
failed=()
scripts=()
if [ $# -gt 0 ]; then
	for n in "$@"; do scripts+=("$HERE/make-$n.sh"); done
else
	for s in "$HERE"/make-*.sh; do
		[ "$(basename "$s")" = make-all.sh ] && continue
		scripts+=("$s")
	done
fi

for s in "${scripts[@]}"; do
	echo "== $(basename "$s")"
	# Each script is bounded on its own; this is the outer guard.
	if ! timeout 600 bash "$s"; then
		echo "FAILED: $(basename "$s")" >&2
		failed+=("$(basename "$s")")
	fi
done

echo "== captures in $HERE/pcap"
ls -l "$HERE/pcap"/*.pcap 2>/dev/null || true
du -ch "$HERE/pcap"/*.pcap 2>/dev/null | tail -1 || true
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}" >&2
	exit 1
fi
