#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs a capture-level check (isolation, MSE false positives) over the
# project's captures and, where present, the nDPI corpus captures.
# Usage: run-on-captures.sh CHECK_BINARY CORPUS_DIR
set -u
bin=$1 corpus=$2
here=$(cd "$(dirname "$0")/.." && pwd)
files=("$here"/captures/pcap/*.pcap)
if [ -d "$corpus/ndpi/pcap" ]; then
	files+=("$corpus"/ndpi/pcap/*)
else
	echo "note: $corpus/ndpi absent: isolation checked on the project's captures only"
fi
exec "$bin" "${files[@]}"
