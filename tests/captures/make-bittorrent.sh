#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes the project's BitTorrent test captures in tests/captures/pcap/ with real
# programs from Debian's packages (opentracker, python3-libtorrent, aria2,
# transmission-cli), between two network namespaces from netns.sh (198.18.0.1 =
# client/leecher, 198.19.0.1 = tracker + seeder), captured with tcpdump on the
# client veth. See README-p2p.md for what each capture holds.
#
# Safety: addresses in 198.18.0.0/15 only, no default route; DHT only in the DHT
# capture and bootstrapped only from the other namespace; UPnP/NAT-PMP off; LSD
# only in the DHT capture (multicast route on the veth only); every run bounded.
#
# Usage: sudo tests/captures/make-bittorrent.sh      (needs: apt-get install -y
#   aria2 transmission-cli python3-libtorrent opentracker tcpdump ethtool)

set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"

OUT=$HERE/pcap
PY=/usr/bin/python3
LT="$PY $HERE/bt_lt.py"
WORK=$(mktemp -d /tmp/kp-bt.XXXXXX)
# Large frames after the first KEEP_FULL of their flow are cut to SNAP bytes (piece data).
KEEP_FULL=${KEEP_FULL:-24}
SNAP=${SNAP:-128}

bt_cleanup() {
	kp_cleanup
	rm -rf "$WORK"
}
trap bt_cleanup EXIT INT TERM

for t in tcpdump opentracker aria2c transmission-cli; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
$PY -c 'import libtorrent' || { echo "missing python3-libtorrent" >&2; exit 1; }
mkdir -p "$OUT"

# content DIR [TRACKER...]: the fixed-seed 1 MiB content and its torrent; prints the infohash
content() {
	$LT mktorrent "$@"
}

# tracker INFOHASH: opentracker (HTTP + UDP on 198.19.0.1:6969) in the server namespace
tracker() {
	local d=$WORK/tracker
	mkdir -p "$d"
	echo "$1" >"$d/whitelist.txt"
	# opentracker refuses to run as root and reads the whitelist after chroot("$d")
	printf 'access.whitelist /whitelist.txt\n' >"$d/opentracker.conf"
	chmod 755 "$WORK" "$d"
	chmod 644 "$d/whitelist.txt" "$d/opentracker.conf"
	kp_bg "$KP_NS_S" opentracker -i "$KP_SERVER_IP" -p 6969 -P 6969 -f "$d/opentracker.conf" \
		-d "$d" -u nobody
	kp_wait_port "$KP_NS_S" 6969
}

# leech NAME ARGS...: runs the libtorrent leecher in the client namespace, bounded
leech() {
	if ! timeout 90 ip netns exec "$KP_NS_C" $LT leech "$@"; then
		echo "leecher failed" >&2
		return 1
	fi
}

# check_content DIR: the leecher got the right bytes
check_content() {
	cmp -s "$WORK/seed/content.bin" "$1/content.bin" || { echo "content differs in $1" >&2; return 1; }
}

TRACKERS="http://$KP_SERVER_IP:6969/announce udp://$KP_SERVER_IP:6969/announce"
mkdir -p "$WORK/seed" "$WORK/dht-seed"
IH=$(content "$WORK/seed" content.bin 1048576 $TRACKERS)
IH_DHT=$(content "$WORK/dht-seed" content.bin 1048576)
TOR=$WORK/seed/content.bin.torrent
TOR_DHT=$WORK/dht-seed/content.bin.torrent
echo "infohash $IH (the trackerless torrent has the same info dict: $IH_DHT)"

# plain / encrypted / uTP: tracker + libtorrent seeder on 198.19.0.1, leecher on 198.18.0.1
lt_capture() {
	local name=$1
	shift
	local dl=$WORK/dl-$name
	mkdir -p "$dl"
	kp_ns_up kp2pbt
	tracker "$IH"
	kp_bg "$KP_NS_S" timeout 120 $LT seed "$TOR" "$WORK/seed" "$KP_SERVER_IP" --time 100 "$@"
	if [[ " $* " != *" --utp "* ]]; then kp_wait_port "$KP_NS_S" 6881; else sleep 2; fi
	kp_cap_start "$WORK/$name.raw.pcap"
	leech "$TOR" "$dl" "$KP_CLIENT_IP" --time 60 "$@"
	kp_cap_stop
	kp_cleanup
	check_content "$dl"
	kp_trim "$WORK/$name.raw.pcap" "$OUT/$name.pcap"
	echo "wrote $OUT/$name.pcap ($(stat -c %s "$OUT/$name.pcap") bytes)"
}

lt_capture bt-plain
lt_capture bt-encrypted --enc
lt_capture bt-utp --utp

# DHT + LSD: no tracker, trackerless torrent; the seeder's DHT node has no bootstrap
# node, the leecher's is bootstrapped from the seeder's node. Both send LSD (BEP 14)
# announces to 239.192.152.143:6771 on the veth; peers find each other by DHT/LSD.
dl=$WORK/dl-dht
mkdir -p "$dl"
kp_ns_up kp2pbt
ip -n "$KP_NS_C" route add 239.192.152.143/32 dev kpc0
ip -n "$KP_NS_S" route add 239.192.152.143/32 dev kps0
kp_bg "$KP_NS_S" timeout 120 $LT seed "$TOR_DHT" "$WORK/dht-seed" "$KP_SERVER_IP" --dht - --lsd \
	--time 100
kp_wait_port "$KP_NS_S" 6881
kp_cap_start "$WORK/bt-dht.raw.pcap"
leech "$TOR_DHT" "$dl" "$KP_CLIENT_IP" --dht "$KP_SERVER_IP:6881" --lsd --time 60 --linger 8
kp_cap_stop
kp_cleanup
check_content "$dl"
kp_trim "$WORK/bt-dht.raw.pcap" "$OUT/bt-dht.pcap"
echo "wrote $OUT/bt-dht.pcap ($(stat -c %s "$OUT/bt-dht.pcap") bytes)"

# Second and third implementations: transmission-cli seeds (198.19.0.1:51413), aria2c
# leeches (198.18.0.1:6881), both through opentracker over HTTP; DHT/LPD/PEX/port mapping off.
dl=$WORK/dl-aria2
tcfg=$WORK/transmission
mkdir -p "$dl" "$tcfg"
cat >"$tcfg/settings.json" <<EOF
{
    "dht-enabled": false,
    "lpd-enabled": false,
    "pex-enabled": false,
    "utp-enabled": false,
    "port-forwarding-enabled": false,
    "encryption": 0,
    "bind-address-ipv4": "$KP_SERVER_IP",
    "bind-address-ipv6": "::1",
    "peer-port": 51413,
    "peer-port-random-on-start": false,
    "rpc-enabled": false,
    "blocklist-enabled": false,
    "speed-limit-up-enabled": false,
    "message-level": 1
}
EOF
kp_ns_up kp2pbt
tracker "$IH"
kp_bg "$KP_NS_S" sh -c 'exec timeout 120 transmission-cli "$@" >/dev/null 2>&1' sh \
	-g "$tcfg" -w "$WORK/seed" -p 51413 -M -et "$TOR"
kp_wait_port "$KP_NS_S" 51413
sleep 3
kp_cap_start "$WORK/bt-aria2.raw.pcap"
timeout 90 ip netns exec "$KP_NS_C" aria2c --dir="$dl" --enable-dht=false --enable-dht6=false \
	--bt-enable-lpd=false --enable-peer-exchange=false --listen-port=6881 \
	--bt-tracker-connect-timeout=10 --bt-stop-timeout=60 --seed-time=0 --check-certificate=false \
	--bt-require-crypto=false --bt-force-encryption=false --console-log-level=warn \
	--summary-interval=0 --no-conf=true --file-allocation=none \
	--disable-ipv6=true --interface="$KP_CLIENT_IP" "$TOR" >"$WORK/aria2.log" 2>&1 || {
	cat "$WORK/aria2.log" >&2
	echo "aria2c failed" >&2
	exit 1
}
kp_cap_stop
kp_cleanup
check_content "$dl"
kp_trim "$WORK/bt-aria2.raw.pcap" "$OUT/bt-aria2.pcap"
echo "wrote $OUT/bt-aria2.pcap ($(stat -c %s "$OUT/bt-aria2.pcap") bytes)"

ls -l "$OUT"/bt-*.pcap
