# SPDX-License-Identifier: GPL-2.0-or-later
# The shared shell parts of the end-to-end scripts that run kp2padm on the project's own
# captures and check its events (tests/cli/files-*.sh, tests/captures/bt-content.sh,
# tests/captures/content-p2p.sh). Sourced with the script's arguments:
#   . "$(dirname "$0")/lib.sh" "$@"        (from tests/captures: ../cli/lib.sh)
# it sets -u and the variables bin (the kp2padm binary named by $1, absolute), pcaps
# (tests/captures/pcap), tmp (a directory removed at exit) and pass=0 fail=0 for the
# helpers below.
set -u
bin=$(readlink -f "${1:?usage: $(basename "$0") KP2PADM_BINARY}")
pcaps=$(cd "$(dirname "${BASH_SOURCE[0]}")/../captures/pcap" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
: >"$tmp/why"

# kp_check NAME STATUS: counts one check (STATUS 0: passed) and prints "ok   NAME" or
# "FAIL NAME" followed by what $tmp/why holds, indented; $tmp/why is emptied.
kp_check() {
	if [ "$2" = 0 ]; then
		echo "ok   $1"
		pass=$((pass + 1))
	else
		echo "FAIL $1"
		[ -s "$tmp/why" ] && sed 's/^/     /' "$tmp/why"
		fail=$((fail + 1))
	fi
	: >"$tmp/why"
}

# kp_py EVENTS SCRIPT: runs the python SCRIPT over the events of the file EVENTS (a list
# `ev`; json and sys imported); its output goes to $tmp/why; returns its status (0: pass).
kp_py() {
	python3 - "$1" >"$tmp/why" 2>&1 <<PY
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
$2
PY
}

# kp_need_file_audit CAPTURE: exits 77 (skipped) when this build does not know file.audit
# (before the content core).
kp_need_file_audit() {
	if ! "$bin" --quiet -r "$pcaps/$1" -s file.audit=yes -l "$tmp/probe" 2>"$tmp/e"; then
		echo "skip: file.audit not supported by this build: $(head -1 "$tmp/e")"
		exit 77
	fi
}

# kp_events OUT ARGS...: runs kp2padm ARGS... with its events written to the file OUT;
# false (with its stderr in $tmp/why) when it fails.
kp_events() {
	local out=$1
	shift
	if ! "$bin" --quiet "$@" -l - >"$out" 2>"$tmp/e"; then
		{ echo "kp2padm exited non-zero:"; cat "$tmp/e"; } >"$tmp/why"
		return 1
	fi
}

# kp_same_lines GOT WANT: whether the lines of the file GOT are those of the text WANT
# (blank lines dropped), in any order; if not, the difference goes to $tmp/why.
kp_same_lines() {
	sort "$1" >"$tmp/got.s"
	printf '%s\n' "$2" | sed '/^$/d' | sort >"$tmp/want.s"
	if ! diff -u "$tmp/want.s" "$tmp/got.s" >"$tmp/diff"; then
		{ echo "events differ (- want, + got):"; cat "$tmp/diff"; } >"$tmp/why"
		return 1
	fi
}

# kp_done: prints the tally; its status is the script's (0 when nothing failed).
kp_done() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}
