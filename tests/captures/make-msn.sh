#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes pcap/msn-switchboard.pcap: an MSN Messenger switchboard session in MSNP8
# syntax. Debian has no MSN server or client (the service closed in 2013): the
# switchboard and the three clients are our own msn_fake.py (see there).
#   switchboard: server namespace, 198.19.0.1:1863
#   alice:       client namespace (198.18.0.1): her session crosses the veth
#   bob, carol:  server namespace, over its loopback (not in the capture)
# alice USR/CAL, bob ANS (IRO alice, JOI bob to alice), typing notifications,
# text/plain messages both ways (one base64-encoded), a File Transfer invitation
# (text/x-msmsgsinvite) from alice, bob's CANCEL and an MSNP2P file offer from
# bob, carol ANS (JOI carol), a three-way message, carol's OUT (BYE carol), OUT.
# Run as root. Needs: python3, tcpdump, ethtool, tshark.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
OUT=$HERE/pcap
mkdir -p "$OUT"

for t in python3 tcpdump ethtool tshark; do
	command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done

kp_ns_up kqm-msn
kp_tmpdir
T=$KP_TMP
F=$HERE/msn_fake.py

kp_bg "$KP_NS_S" python3 "$F" server "$KP_SERVER_IP" >"$T/sb.out" 2>&1
kp_wait_port "$KP_NS_S" 1863
RAW=$T/raw.pcap
kp_cap_start "$RAW"
ip netns exec "$KP_NS_C" timeout 90 python3 "$F" alice "$KP_SERVER_IP" >"$T/alice.out" 2>&1 &
ALICE=$!
kp_track_pid $ALICE
for _ in $(seq 1 100); do grep -q 'alice ready' "$T/alice.out" && break; sleep 0.1; done
ip netns exec "$KP_NS_S" timeout 90 python3 "$F" bob "$KP_SERVER_IP" >"$T/bob.out" 2>&1 &
BOB=$!
kp_track_pid $BOB
for _ in $(seq 1 200); do grep -q 'bob offered' "$T/bob.out" && break; sleep 0.1; done
sleep 0.5
ip netns exec "$KP_NS_S" timeout 60 python3 "$F" carol "$KP_SERVER_IP" >"$T/carol.out" 2>&1 \
	|| { cat "$T"/*.out >&2; exit 1; }
wait $ALICE || { cat "$T"/*.out >&2; exit 1; }
wait $BOB || { cat "$T"/*.out >&2; exit 1; }
kp_cap_stop

convs=$(tshark -r "$RAW" -q -z conv,tcp | grep -c ':1863 ' || true)
[ "$convs" = 1 ] || { echo "expected 1 session to :1863, got $convs" >&2; exit 1; }
n=$(tshark -r "$RAW" -Y 'msnms' 2>/dev/null | wc -l)
[ "$n" -ge 10 ] || { echo "expected >= 10 MSNMS frames, got $n" >&2; exit 1; }
cp "$RAW" "$OUT/msn-switchboard.pcap"
echo "wrote $OUT/msn-switchboard.pcap ($(stat -c %s "$OUT/msn-switchboard.pcap") bytes)"
