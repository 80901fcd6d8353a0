#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes tests/captures/pcap/edonkey-amule.pcap and edonkey-obfuscated.pcap: a real amuled (aMule 2.3, Debian's
# amule-daemon) shares one fixed-seed file on 198.19.0.1 (TCP 4662, UDP 4672 for
# eD2k and Kad), and ed2k_client.py on 198.18.0.1 talks the eDonkey/eMule protocol
# to it over TCP and UDP (see README-p2p.md for the exact messages). Captured with
# tcpdump on the client veth of the namespaces from netns.sh.
#
# Safety: amuled gets no server.met, no nodes.dat, no update URLs, no UPnP, no eD2k
# server connection; its namespace has no default route; every run is bounded.
#
# Usage: sudo tests/captures/make-edonkey.sh   (needs amule-daemon amule-utils tcpdump ethtool)
#        sudo tests/captures/make-edonkey.sh transfer
#   "transfer" makes only the plain capture and writes it untrimmed (every part byte
#   kept) as pcap/edonkey-transfer.pcap; edonkey-amule.pcap and edonkey-obfuscated.pcap
#   are left alone. KP_NS_NAME overrides the namespace prefix (default kp2ped).

set -euo pipefail
MODE=${1:-all}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"

OUT=$HERE/pcap
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/kp-ed2k.XXXXXX)

ed_cleanup() {
	kp_cleanup
	[ -n "${KP_KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap ed_cleanup EXIT INT TERM

for t in amuled amulecmd tcpdump; do
	command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 1; }
done
mkdir -p "$OUT"

CFG=$WORK/amule
mkdir -p "$CFG/Incoming" "$CFG/Temp"
# fixed-seed 200 kB shared file
$PY -c 'import random,sys; sys.stdout.buffer.write(random.Random(0x6564326b).randbytes(204800))' \
	>"$CFG/Incoming/kp2padm-sample.bin"
: >"$CFG/shareddir.dat"
ECPASS=$(printf 'kp2padm' | md5sum | cut -d' ' -f1)
cat >"$CFG/amule.conf" <<EOF
[eMule]
AppVersion=2.3.3
Nick=kp2padm-amuled
QueueSizePref=50
MaxUpload=0
MaxDownload=0
Port=4662
UDPPort=4672
UDPEnable=1
Address=$KP_SERVER_IP
Autoconnect=1
Reconnect=0
Serverlist=0
AddServerListFromServer=0
AddServerListFromClient=0
SafeServerConnect=0
UPnPEnabled=0
SmartIdCheck=0
ConnectToKad=1
ConnectToED2K=0
TempDir=$CFG/Temp
IncomingDir=$CFG/Incoming
OSDirectory=$CFG/
GeoIPEnabled=0
FilterLanIPs=0
ParanoidFiltering=0
IPFilterAutoLoad=0
IPFilterURL=
NewVersionCheck=0
KadNodesUrl=
Ed2kServersUrl=
GeoLiteCountryUpdateUrl=
StatsServerName=
StatsServerURL=
ConfirmExit=0
[ExternalConnect]
AcceptExternalConnections=1
ECAddress=127.0.0.1
ECPort=4712
ECPassword=$ECPASS
UPnPECEnabled=0
UseSecIdent=1
IpFilterClients=0
IpFilterServers=0
[WebServer]
Enabled=0
[Obfuscation]
IsClientCryptLayerSupported=1
IsCryptLayerRequested=1
IsClientCryptLayerRequired=0
[HTTPDownload]
URL_1=
EOF

kp_ns_up "${KP_NS_NAME:-kp2ped}"
kp_bg "$KP_NS_S" env HOME="$WORK" timeout 120 amuled -c "$CFG" -o >"$WORK/amuled.log" 2>&1
kp_wait_port "$KP_NS_S" 4662
# wait (bounded) until amuled has hashed and shares the file: ask it over EC
# (amulecmd on the server namespace's loopback, not on the captured veth)
shared=
for _ in $(seq 1 60); do
	if ip netns exec "$KP_NS_S" env HOME="$WORK" timeout 5 amulecmd -h 127.0.0.1 -p 4712 \
		-P kp2padm -c "show shared" 2>/dev/null | grep -q kp2padm-sample.bin; then
		shared=1
		break
	fi
	sleep 0.5
done
[ -n "$shared" ] || { echo "amuled never shared the file" >&2; tail -30 "$WORK/amuled.log" >&2; exit 1; }
kp_cap_start "$WORK/edonkey.raw.pcap"
rc=0
timeout 60 ip netns exec "$KP_NS_C" $PY "$HERE/ed2k_client.py" "$KP_SERVER_IP" 4662 4672 \
	"$KP_CLIENT_IP" "$CFG/Incoming/kp2padm-sample.bin" || rc=$?
kp_cap_stop
if [ "$rc" -ne 0 ]; then
	echo "ed2k_client.py failed ($rc); amuled log:" >&2
	tail -30 "$WORK/amuled.log" >&2
	exit 1
fi
if [ "$MODE" = transfer ]; then
	cp "$WORK/edonkey.raw.pcap" "$OUT/edonkey-transfer.pcap"
	echo "wrote $OUT/edonkey-transfer.pcap ($(stat -c %s "$OUT/edonkey-transfer.pcap") bytes)"
	exit 0
fi
kp_trim "$WORK/edonkey.raw.pcap" "$OUT/edonkey-amule.pcap"
echo "wrote $OUT/edonkey-amule.pcap ($(stat -c %s "$OUT/edonkey-amule.pcap") bytes)"

# Second capture: one TCP connection with eMule protocol obfuscation. The key is made
# from amuled's user hash, which a real client knows from a server or Kad; here it is
# read from amuled's preferences.dat (1 version byte, then the 16-byte user hash).
AHASH=$(od -An -tx1 -j1 -N16 "$CFG/preferences.dat" | tr -d ' \n')
[ ${#AHASH} -eq 32 ] || { echo "no user hash in preferences.dat" >&2; exit 1; }
sleep 2
kp_cap_start "$WORK/edonkey-obf.raw.pcap"
rc=0
timeout 60 ip netns exec "$KP_NS_C" $PY "$HERE/ed2k_client.py" "$KP_SERVER_IP" 4662 4672 \
	"$KP_CLIENT_IP" "$CFG/Incoming/kp2padm-sample.bin" obfuscated "$AHASH" || rc=$?
kp_cap_stop
if [ "$rc" -ne 0 ]; then
	echo "ed2k_client.py (obfuscated) failed ($rc); amuled log:" >&2
	tail -30 "$WORK/amuled.log" >&2
	exit 1
fi
kp_trim "$WORK/edonkey-obf.raw.pcap" "$OUT/edonkey-obfuscated.pcap"
echo "wrote $OUT/edonkey-obfuscated.pcap ($(stat -c %s "$OUT/edonkey-obfuscated.pcap") bytes)"
