#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd unit as meson generates it passes `systemd-analyze verify`, with its
# ExecStart/ExecStopPost pointed at the built binary (the installed path may not exist).
# Usage: unit_file.sh GENERATED_UNIT KP2PADM_BINARY      (exit 77: no systemd-analyze)
set -u
unit=${1:?usage: unit_file.sh UNIT BINARY}
bin=$(readlink -f "${2:?usage: unit_file.sh UNIT BINARY}")
command -v systemd-analyze >/dev/null || { echo "skip: systemd-analyze missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -e "s|^\(Exec[A-Za-z]*=\)[^ ]*/kp2padm|\1$bin|" -e '/^Documentation=/d' "$unit" \
	>"$tmp/kp2padm.service"
grep -q "^ExecStart=$bin -q 0:1 -c " "$tmp/kp2padm.service" || { echo "FAIL ExecStart"; exit 1; }
systemd-analyze verify "$tmp/kp2padm.service" || { echo "FAIL systemd-analyze verify"; exit 1; }
echo "ok   systemd-analyze verify"
