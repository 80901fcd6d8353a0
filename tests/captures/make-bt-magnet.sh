#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes bt-magnet-multi.pcap and bt-magnet-single.pcap: a python3-libtorrent
# leecher that starts from a magnet link (info_hash and tracker only) fetches the
# metadata from the seeder by ut_metadata (BEP 9/10), then the content (150000
# bytes in three files, one of them setup.exe; or one 120000-byte setup.exe),
# 16 KiB pieces, plain TCP. Tracker: opentracker (HTTP) in the server namespace.
# Namespaces kqb-c (198.18.0.1, leecher) / kqb-s (198.19.0.1, tracker + seeder),
# no default route; DHT, LSD, UPnP, NAT-PMP, uTP and encryption off. Frames are
# not trimmed (the tests check every piece block).
#
# Usage: sudo tests/captures/make-bt-magnet.sh   (apt-get install -y python3-libtorrent
#   opentracker tcpdump ethtool)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"

OUT=$HERE/pcap
PY="/usr/bin/python3 $HERE/bt_magnet.py"
WORK=$(mktemp -d /tmp/kqb-bt.XXXXXX)
trap 'kp_cleanup; rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

for t in tcpdump opentracker; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done

TRACKER="http://$KP_SERVER_IP:6969/announce"

magnet_capture() {
	local layout=$1 name=bt-magnet-$1 ih magnet
	rm -rf "$WORK/seed" "$WORK/dl" "$WORK/tracker"
	mkdir -p "$WORK/seed" "$WORK/dl" "$WORK/tracker"
	read -r ih magnet < <($PY mktorrent "$WORK/seed" "$layout" "$TRACKER")
	echo "$name: infohash $ih"
	kp_ns_up kqb
	# opentracker refuses to run as root and reads the whitelist after chroot
	echo "$ih" >"$WORK/tracker/whitelist.txt"
	printf 'access.whitelist /whitelist.txt\n' >"$WORK/tracker/opentracker.conf"
	chmod -R a+rX "$WORK"
	kp_bg "$KP_NS_S" opentracker -i "$KP_SERVER_IP" -p 6969 -P 6969 \
		-f "$WORK/tracker/opentracker.conf" -d "$WORK/tracker" -u nobody
	kp_wait_port "$KP_NS_S" 6969
	kp_bg "$KP_NS_S" timeout 100 $PY seed "$WORK/seed/kqb.torrent" "$WORK/seed" \
		"$KP_SERVER_IP" --time 90
	kp_wait_port "$KP_NS_S" 6881
	sleep 2 # the seeder announces itself
	kp_cap_start "$WORK/$name.pcap"
	timeout 90 ip netns exec "$KP_NS_C" $PY leech "$magnet" "$WORK/dl" "$KP_CLIENT_IP" --time 60
	kp_cap_stop
	kp_cleanup
	diff -r "$WORK/seed" "$WORK/dl" -x kqb.torrent >/dev/null ||
		{ echo "$name: content differs" >&2; return 1; }
	cp "$WORK/$name.pcap" "$OUT/$name.pcap"
	echo "wrote $OUT/$name.pcap ($(stat -c %s "$OUT/$name.pcap") bytes)"
}

magnet_capture multi
magnet_capture single
