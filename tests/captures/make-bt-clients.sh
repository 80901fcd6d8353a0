#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes BitTorrent captures with more real implementations than make-bittorrent.sh
# (libtorrent-rasterbar; transmission seeding to aria2), in tests/captures/pcap/:
#   bt-rtorrent-mse.pcap      rtorrent (libtorrent-rakshasa) leeches from a transmission-daemon
#                             and an rtorrent seeder, MSE/PE with RC4 required by all three
#   bt-transmission-mse.pcap  transmission-daemon to transmission-daemon, encryption required
#   bt-transmission-utp.pcap  the same over uTP (MSE/PE inside uTP)
#   bt-ctorrent.pcap          ctorrent (its own plain peer wire) leeches from transmission-daemon
# Each with opentracker over HTTP, between two network namespaces from netns.sh
# (198.18.0.1 = client/leecher; 198.19.0.1 = tracker + seeder, 198.19.0.2 = the rtorrent
# seeder), captured with tcpdump on the client veth, trimmed with pcap_trim.py (frames of
# 600 B or more after the first 24 of a flow cut to 128 B). See README-p2p.md.
#
# Safety: addresses in 198.18.0.0/15 only, no default route; DHT, LPD, PEX, UDP
# trackers and port mapping off in every client; every run bounded.
#
# Usage: sudo tests/captures/make-bt-clients.sh [rtorrent] [transmission] [utp] [ctorrent]
#   (default: all four captures; needs: apt-get install -y rtorrent
#   transmission-daemon ctorrent python3-libtorrent opentracker tcpdump ethtool tshark)

set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"

OUT=$HERE/pcap
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/kp-btc.XXXXXX)
chmod 755 "$WORK"
KEEP_FULL=${KEEP_FULL:-24}
SNAP=${SNAP:-128}
NS=kp2pbc
SEED_PORT=51413
RT_SEED_PORT=6891
RT_SEED_IP=198.19.0.2

btc_cleanup() {
	kp_cleanup
	rm -rf "$WORK"
}
trap btc_cleanup EXIT

for t in tcpdump tshark opentracker rtorrent transmission-daemon ctorrent; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
$PY -c 'import libtorrent' || { echo "missing python3-libtorrent" >&2; exit 1; }
mkdir -p "$OUT"

# alive PID: the process runs (an exited child of ours stays a zombie until waited for)
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	[[ $st != Z* ]]
}

# stop_pid PID: SIGTERM (a client then sends its "stopped" announce), bounded wait (10 s),
# then KILL; reaps it when it is our child
stop_pid() {
	local i
	kill "$1" 2>/dev/null || return 0
	for i in $(seq 1 50); do
		alive "$1" || break
		sleep 0.2
	done
	if alive "$1"; then kill -9 "$1" 2>/dev/null || true; fi
	wait "$1" 2>/dev/null || true
}

btc_down() {
	local i
	# stop the clients and the tracker gently first (newest first), then kp_cleanup
	for ((i = ${#KP_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${KP_PIDS[i]}"; done
	kp_cleanup
}

# tracker INFOHASH: opentracker (HTTP + UDP on 198.19.0.1:6969) in the server namespace
tracker() {
	local d=$WORK/tracker
	mkdir -p "$d"
	echo "$1" >"$d/whitelist.txt"
	printf 'access.whitelist /whitelist.txt\n' >"$d/opentracker.conf"
	chmod 755 "$d"
	chmod 644 "$d/whitelist.txt" "$d/opentracker.conf"
	kp_bg "$KP_NS_S" opentracker -i "$KP_SERVER_IP" -p 6969 -P 6969 -f "$d/opentracker.conf" \
		-d "$d" -u nobody
	kp_wait_port "$KP_NS_S" 6969
}

# tr_daemon NS NAME IP PORT ENCRYPTION(0 tolerated|1 preferred|2 required) UTP(true|false) DLDIR
# transmission-daemon in the foreground, its torrent added through a watch dir.
tr_daemon() {
	local ns=$1 name=$2 ip=$3 port=$4 enc=$5 utp=$6 dl=$7
	local cfg=$WORK/tr-$name
	mkdir -p "$cfg/watch" "$dl"
	cat >"$cfg/settings.json" <<EOF
{
    "dht-enabled": false,
    "lpd-enabled": false,
    "pex-enabled": false,
    "utp-enabled": $utp,
    "port-forwarding-enabled": false,
    "encryption": $enc,
    "bind-address-ipv4": "$ip",
    "bind-address-ipv6": "::1",
    "peer-port": $port,
    "peer-port-random-on-start": false,
    "rpc-enabled": false,
    "blocklist-enabled": false,
    "speed-limit-up-enabled": false,
    "rename-partial-files": false,
    "incomplete-dir-enabled": false,
    "start-added-torrents": true,
    "trash-original-torrent-files": false,
    "watch-dir-enabled": true,
    "watch-dir": "$cfg/watch",
    "download-dir": "$dl",
    "message-level": 1
}
EOF
	cp "$TOR" "$cfg/watch/"
	kp_bg "$ns" timeout 150 transmission-daemon -f -g "$cfg" -c "$cfg/watch" -w "$dl" \
		-e "$cfg/log.txt"
}

# rt_client NS NAME IP PORT DIR [RC-LINE...]: rtorrent without its curses UI
# (system.daemon), MSE/PE with RC4 required for outgoing and incoming connections,
# DHT/PEX/UDP trackers off; it starts the torrent at once (a seeder hash-checks
# DIR/content.bin first). Extra lines go into its rtorrent.rc.
rt_client() {
	local ns=$1 name=$2 ip=$3 port=$4 dir=$5
	local rt=$WORK/rt-$name
	shift 5
	mkdir -p "$rt/home" "$rt/session" "$dir"
	cat >"$rt/rtorrent.rc" <<EOF
directory.default.set = $dir
session.path.set = $rt/session
network.bind_address.set = $ip
network.port_range.set = $port-$port
network.port_random.set = no
dht.mode.set = disable
protocol.pex.set = no
trackers.use_udp.set = no
protocol.encryption.set = require,require_RC4,allow_incoming
system.daemon.set = true
EOF
	if [ $# -gt 0 ]; then printf '%s\n' "$@" >>"$rt/rtorrent.rc"; fi
	kp_bg "$ns" env HOME="$rt/home" TERM=dumb sh -c \
		'exec timeout 150 rtorrent -n -o "import=$1" "$2" </dev/null >"$3" 2>&1' sh \
		"$rt/rtorrent.rc" "$TOR" "$rt/log.txt"
}

# seeder ENC UTP: transmission-daemon seeds on 198.19.0.1:51413 (after it checked the data)
seeder() {
	tr_daemon "$KP_NS_S" seed "$KP_SERVER_IP" $SEED_PORT "$1" "$2" "$WORK/seed"
	if [ "$2" = true ]; then sleep 1; else kp_wait_port "$KP_NS_S" $SEED_PORT; fi
	# let it verify the local data and announce as a seeder before a leecher asks
	sleep 4
}

# wait_content DIR SECONDS: bounded wait until DIR/content.bin is the whole content
wait_content() {
	local i
	for i in $(seq 1 $(($2 * 5))); do
		if cmp -s "$WORK/seed/content.bin" "$1/content.bin"; then return 0; fi
		sleep 0.2
	done
	echo "no complete download in $1 after $2 s" >&2
	return 1
}

# finish NAME RAW ENCRYPTED(0|1) PORT...: checks that each seeder PORT (on the server side)
# got a peer connection, over TCP with payload both ways or over UDP (uTP), and, when
# ENCRYPTED, that no frame holds a plaintext handshake; trims, writes pcap/NAME.pcap and
# lists its flows
finish() {
	local name=$1 raw=$2 enc=$3 p n
	shift 3
	for p in "$@"; do
		n=$(tshark -r "$raw" -Y "(tcp.srcport==$p && tcp.len>0) || udp.srcport==$p" 2>/dev/null |
			wc -l)
		if [ "$n" -lt 2 ]; then
			echo "$name: no peer connection with the seeder on port $p" >&2
			return 1
		fi
	done
	if [ "$enc" = 1 ] &&
		[ -n "$(tshark -r "$raw" -Y 'frame contains "BitTorrent protocol"' 2>/dev/null)" ]; then
		echo "$name: a peer connection shows the plaintext handshake" >&2
		return 1
	fi
	kp_trim "$raw" "$OUT/$name.pcap"
	echo "wrote $OUT/$name.pcap ($(stat -c %s "$OUT/$name.pcap") bytes); flows:"
	if [ "$(stat -c %s "$OUT/$name.pcap")" -gt 200000 ]; then echo "note: over 200 KB" >&2; fi
	tshark -r "$OUT/$name.pcap" -q -z conv,tcp -z conv,udp 2>/dev/null | grep '<->' || true
}

WANT=${*:-rtorrent transmission utp ctorrent}
want() {
	[[ " $WANT " == *" $1 "* ]]
}

mkdir -p "$WORK/seed"
# 512 KiB from bt_lt.py's fixed-seed generator (half of make-bittorrent.sh's content, so
# that the captures stay under 200 KB however chatty a client is); HTTP tracker only (no
# UDP tier), so every announce is one TCP connection to :6969
IH=$($PY "$HERE/bt_lt.py" mktorrent "$WORK/seed" content.bin 524288 \
	"http://$KP_SERVER_IP:6969/announce")
TOR=$WORK/seed/content.bin.torrent
echo "infohash $IH"

# 1. rtorrent 0.9.8 (libtorrent-rakshasa 0.13.8) leeches from two seeders at once, a
#    transmission-daemon (:51413) and another rtorrent (:6891), all requiring MSE/PE with RC4.
if want rtorrent; then
kp_ns_up $NS
tracker "$IH"
seeder 2 false
# rtorrent keeps one connection per peer IP, so its seeder has an address of its own
ip -n "$KP_NS_S" addr add "$RT_SEED_IP/15" dev kps0
# and is slowed down (64 KiB/s up), so that the leecher gets pieces from both seeders
rt_client "$KP_NS_S" rseed "$RT_SEED_IP" $RT_SEED_PORT "$WORK/seed" \
	'throttle.global_up.max_rate.set_kb = 64'
kp_wait_port "$KP_NS_S" $RT_SEED_PORT
sleep 4
kp_cap_start "$WORK/rt.raw.pcap"
rt_client "$KP_NS_C" rleech "$KP_CLIENT_IP" 6890 "$WORK/rt-dl"
rt_pid=${KP_PIDS[-1]}
wait_content "$WORK/rt-dl" 60 || { cat "$WORK/rt-rleech/log.txt" >&2; exit 1; }
sleep 2
stop_pid "$rt_pid"
kp_cap_stop
btc_down
finish bt-rtorrent-mse "$WORK/rt.raw.pcap" 1 $SEED_PORT $RT_SEED_PORT
fi

# 2. transmission-daemon 3.00 leeches from transmission-daemon, both "encryption
#    required", TCP only.
if want transmission; then
kp_ns_up $NS
tracker "$IH"
seeder 2 false
kp_cap_start "$WORK/tr.raw.pcap"
tr_daemon "$KP_NS_C" leech "$KP_CLIENT_IP" 51414 2 false "$WORK/tr-dl"
tr_pid=${KP_PIDS[-1]}
wait_content "$WORK/tr-dl" 60 || { cat "$WORK/tr-leech/log.txt" >&2; exit 1; }
sleep 2
stop_pid "$tr_pid"
kp_cap_stop
btc_down
finish bt-transmission-mse "$WORK/tr.raw.pcap" 1 $SEED_PORT
fi

# 2b. the same over uTP: both transmission-daemons with uTP on (transmission tries uTP
#     first for an outgoing connection), encryption required.
if want utp; then
kp_ns_up $NS
tracker "$IH"
seeder 2 true
kp_cap_start "$WORK/utp.raw.pcap"
tr_daemon "$KP_NS_C" leechu "$KP_CLIENT_IP" 51414 2 true "$WORK/tr-dlu"
tr_pid=${KP_PIDS[-1]}
wait_content "$WORK/tr-dlu" 60 || { cat "$WORK/tr-leechu/log.txt" >&2; exit 1; }
sleep 2
stop_pid "$tr_pid"
kp_cap_stop
btc_down
if [ -n "$(tshark -r "$WORK/utp.raw.pcap" -Y "tcp.port==$SEED_PORT" 2>/dev/null)" ]; then
	echo "bt-transmission-utp: the peers fell back to TCP" >&2
	exit 1
fi
finish bt-transmission-utp "$WORK/utp.raw.pcap" 1 $SEED_PORT
fi

# 3. ctorrent (Enhanced CTorrent dnh3.3.2, plain peer wire, no MSE) leeches from
#    transmission-daemon (encryption tolerated); exits once complete (-e 0).
if want ctorrent; then
ct=$WORK/ctorrent
mkdir -p "$ct"
kp_ns_up $NS
tracker "$IH"
seeder 0 false
kp_cap_start "$WORK/ct.raw.pcap"
(cd "$ct" && timeout 90 ip netns exec "$KP_NS_C" ctorrent -e 0 -i "$KP_CLIENT_IP" -p 2706 \
	-s "$ct/content.bin" -b "$ct/content.bf" -M 20 "$TOR" </dev/null >"$ct/log.txt" 2>&1) || true
wait_content "$ct" 5 || { cat "$ct/log.txt" >&2; exit 1; }
kp_cap_stop
btc_down
finish bt-ctorrent "$WORK/ct.raw.pcap" 0 $SEED_PORT
fi

ls -l "$OUT"/bt-rtorrent-mse.pcap "$OUT"/bt-transmission-mse.pcap "$OUT"/bt-transmission-utp.pcap \
	"$OUT"/bt-ctorrent.pcap 2>/dev/null || true
