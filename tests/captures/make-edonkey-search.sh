#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes pcap/edonkey-search.pcap: an eDonkey client-server session between our own
# ed2k_search.py server (198.19.0.1:4661) and client (198.18.0.1): login, server
# message, ID change, server status, OP_OFFERFILES (the fixed-seed 200 kB file of
# make-edonkey.sh, ed2k hash 5841ed0390599bb10f5957334c8fed9f), two OP_SEARCHREQUESTs
# and their OP_SEARCHRESULTs (the first packed with zlib, protocol 0xD4). Both ends
# are ours: Debian has no eD2k server, and aMule refuses servers in 198.18.0.0/15.
# Run as root. Needs: python3, tcpdump, ethtool, iproute2.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
OUT=$HERE/pcap
PY=/usr/bin/python3
mkdir -p "$OUT"

kp_ns_up kqe-es
kp_tmpdir
T=$KP_TMP
$PY -c 'import random,sys; sys.stdout.buffer.write(random.Random(0x6564326b).randbytes(204800))' \
	>"$T/kp2padm-sample.bin"
kp_bg "$KP_NS_S" timeout 30 $PY "$HERE/ed2k_search.py" server "$KP_SERVER_IP" 4661
kp_wait_port "$KP_NS_S" 4661
kp_cap_start "$T/search.raw.pcap"
timeout 20 ip netns exec "$KP_NS_C" $PY "$HERE/ed2k_search.py" client "$KP_SERVER_IP" 4661 \
	"$KP_CLIENT_IP" "$T/kp2padm-sample.bin"
kp_cap_stop
cp "$T/search.raw.pcap" "$OUT/edonkey-search.pcap"
echo "wrote $OUT/edonkey-search.pcap ($(stat -c %s "$OUT/edonkey-search.pcap") bytes)"
