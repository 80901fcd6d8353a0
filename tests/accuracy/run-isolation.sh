#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the isolation check (each flow alone vs the whole capture) over the
# project's captures and, where present, the nDPI corpus captures.
# Usage: run-isolation.sh ISOLATION_BINARY CORPUS_DIR
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
