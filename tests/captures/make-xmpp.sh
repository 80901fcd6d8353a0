#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes pcap/xmpp-prosody.pcap with a real server: prosody 0.12 (Debian 12) on
# 198.19.0.1:5222 in the server namespace, c2s without required encryption and
# PLAIN allowed on unencrypted streams, host kp2padm.test, users alice and bob
# (prosodyctl register). The clients are xmpp_client.py (our own small raw-XML
# client: the test needs exact control of the XML on the wire):
#   alice: client namespace (198.18.0.1) - her stream crosses the veth, unencrypted:
#          five messages to bob (plain, entities, CDATA, character references,
#          unicode and newlines), no from= (the server stamps it), bob's five
#          replies come back stamped from=bob@kp2padm.test/kqm
#   bob:   server namespace, over its loopback (not in the capture)
#   alice, second stream: STARTTLS (<proceed/>), then login and one message inside TLS
# Run as root. Needs: prosody, python3, tcpdump, ethtool, openssl, tshark.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
OUT=$HERE/pcap
mkdir -p "$OUT"

for t in prosody prosodyctl python3 tcpdump ethtool openssl tshark; do
	command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y prosody python3 tcpdump ethtool openssl tshark)" >&2; exit 1; }
done

XHOST=kp2padm.test
kp_ns_up kqm-xmpp
kp_tmpdir
T=$KP_TMP
mkdir -p "$T/data" "$T/certs"

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$XHOST" \
	-addext "subjectAltName=DNS:$XHOST" -keyout "$T/certs/$XHOST.key" \
	-out "$T/certs/$XHOST.crt" 2>/dev/null

cat >"$T/prosody.cfg.lua" <<CONF
-- prosody config for make-xmpp.sh only.
run_as_root = true
daemonize = false
pidfile = "$T/prosody.pid"
data_path = "$T/data"
log = { info = "$T/prosody.log" }
interfaces = { "$KP_SERVER_IP" }
local_interfaces = { "$KP_SERVER_IP" }
c2s_ports = { 5222 }
c2s_direct_tls_ports = {}
s2s_ports = {}
http_ports = {}
https_ports = {}
modules_enabled = { "roster", "saslauth", "tls", "disco", "ping", "presence", "message" }
modules_disabled = { "s2s", "offline", "http", "bosh", "websocket" }
authentication = "internal_plain"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
ssl = { certificate = "$T/certs/$XHOST.crt", key = "$T/certs/$XHOST.key" }
VirtualHost "$XHOST"
CONF

PCTL=(prosodyctl --config "$T/prosody.cfg.lua")
"${PCTL[@]}" register alice "$XHOST" kp2padm-pw >/dev/null
"${PCTL[@]}" register bob "$XHOST" kp2padm-pw >/dev/null

kp_bg "$KP_NS_S" prosody --config "$T/prosody.cfg.lua" -F
kp_wait_port "$KP_NS_S" 5222

RAW=$T/raw.pcap
kp_cap_start "$RAW"
ip netns exec "$KP_NS_S" python3 "$HERE/xmpp_client.py" bob "$XHOST" "$KP_SERVER_IP" 5 >"$T/bob.out" 2>&1 &
BOB=$!
kp_track_pid $BOB
for _ in $(seq 1 100); do grep -q 'bob ready' "$T/bob.out" && break; sleep 0.1; done
grep -q 'bob ready' "$T/bob.out" || { cat "$T/bob.out" "$T/prosody.log" >&2; exit 1; }
ip netns exec "$KP_NS_C" timeout 60 python3 "$HERE/xmpp_client.py" alice "$XHOST" "$KP_SERVER_IP"
wait $BOB
ip netns exec "$KP_NS_C" timeout 30 python3 "$HERE/xmpp_client.py" alice-tls "$XHOST" "$KP_SERVER_IP" \
	"$T/certs/$XHOST.crt"
kp_cap_stop

# Checks: two c2s streams and nothing else; the plain one has the messages, the other TLS.
convs=$(tshark -r "$RAW" -q -z conv,tcp | grep -c ':5222 ' || true)
[ "$convs" = 2 ] || { echo "expected 2 streams to :5222, got $convs" >&2; exit 1; }
n=$(tshark -r "$RAW" -Y 'xmpp.message' 2>/dev/null | wc -l)
[ "$n" -ge 10 ] || { echo "expected >= 10 message frames, got $n" >&2; exit 1; }
tshark -r "$RAW" -Y 'tls.handshake.type == 1' 2>/dev/null | grep -q . || { echo "no TLS ClientHello" >&2; exit 1; }
cp "$RAW" "$OUT/xmpp-prosody.pcap"
echo "wrote $OUT/xmpp-prosody.pcap ($(stat -c %s "$OUT/xmpp-prosody.pcap") bytes)"
