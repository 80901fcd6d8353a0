#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Capture tests: every capture under pcap/ (made by the make-*.sh scripts with
# real programs) goes through kp2padm; the flow events must equal
# expected/NAME.json byte for byte (same input, same output), and the count of
# flows per label must equal expected/NAME.apps, which is written by hand from
# what the capture script did (README.md) and never regenerated.
#   KP_REGEN=1 tests/captures/run-tests.sh   rewrites expected/*.json
# Usage: run-tests.sh KP2PADM_BINARY
set -u
bin=$(readlink -f "${1:?usage: run-tests.sh KP2PADM_BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for pcap in "$here"/pcap/*.pcap "$here"/pcap/*.pcapng; do
	[ -e "$pcap" ] || continue
	name=$(basename "$pcap")
	name=${name%.*}
	out=$tmp/$name.json
	if ! "$bin" --quiet -r "$pcap" -l "$out" 2>"$tmp/err"; then
		echo "FAIL $name: kp2padm exited non-zero: $(cat "$tmp/err")"
		fail=$((fail + 1))
		continue
	fi
	if [ "${KP_REGEN:-0}" = 1 ]; then
		cp "$out" "$here/expected/$name.json"
	fi
	ok=1
	if [ ! -f "$here/expected/$name.json" ]; then
		echo "FAIL $name: no expected/$name.json (run with KP_REGEN=1 and review the diff)"
		ok=0
	elif ! diff -u "$here/expected/$name.json" "$out" >"$tmp/diff"; then
		echo "FAIL $name: events differ from expected/$name.json:"
		head -40 "$tmp/diff"
		ok=0
	fi
	if [ -f "$here/expected/$name.apps" ]; then
		python3 - "$out" "$here/expected/$name.apps" >"$tmp/apps" 2>&1 <<'PY' || { echo "FAIL $name: labels:"; cat "$tmp/apps"; ok=0; }
import collections, json, sys
got = collections.Counter(json.loads(l)["app_proto"] for l in open(sys.argv[1]))
want = collections.Counter()
for line in open(sys.argv[2]):
    line = line.split("#")[0].split()
    if line:
        want[line[0]] = int(line[1])
if got != want:
    print("  want", dict(sorted(want.items())))
    print("  got ", dict(sorted(got.items())))
    sys.exit(1)
PY
	else
		echo "FAIL $name: no expected/$name.apps (write the labels the capture must show)"
		ok=0
	fi
	if [ $ok = 1 ]; then
		echo "ok   $name"
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
