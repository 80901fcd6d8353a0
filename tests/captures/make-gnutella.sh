#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes pcap/gnutella-servent.pcap: Debian 12 has no headless Gnutella servent
# (gtk-gnutella is a GTK program), so both ends are our own gnutella_servent.py:
# a servent on 198.19.0.1:6346 sharing two fixed-seed files and kp2padm-eicar.com, which
# holds the EICAR test string REVERSED (68 bytes): the capture itself must not trip virus
# scanners; the scan test (content-p2p.sh) turns it round in a copy of the pcap at test
# time. A client on 198.18.0.1 that
# does the 0.6 handshake, a ping, a query ("kp2padm"), and then downloads the three
# hits over HTTP (GET /get/<index>/<name>) and the first 4096 bytes of the first hit
# again by GET /uri-res/N2R?urn:sha1:... with a Range (206).
# Not trimmed (the file bodies are kept whole: the tests count their bytes).
# Run as root. Needs: python3, tcpdump, ethtool, iproute2.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
OUT=$HERE/pcap
PY=/usr/bin/python3
mkdir -p "$OUT"
for t in tcpdump ethtool; do
	command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 1; }
done

kp_ns_up kqe-gn
kp_tmpdir
T=$KP_TMP
# fixed-seed files: 65536 bytes and 300 bytes
$PY -c 'import random,sys; sys.stdout.buffer.write(random.Random(0x676e75).randbytes(65536))' \
	>"$T/kp2padm gnutella sample.bin"
$PY -c 'import random,sys; r=random.Random(0x747874); sys.stdout.write("".join(r.choice("kp2padm notes ") for _ in range(300)))' \
	>"$T/kp2padm-notes.txt"
$PY -c 'import importlib.util as u, sys
s = u.spec_from_file_location("t", sys.argv[1]); m = u.module_from_spec(s); s.loader.exec_module(m)
sys.stdout.write(m._EICAR_REVERSED)' "$HERE/../../tools/scan-testdata.py" >"$T/kp2padm-eicar.com"

kp_bg "$KP_NS_S" timeout 60 $PY "$HERE/gnutella_servent.py" serve "$KP_SERVER_IP" 6346 \
	"$T/kp2padm gnutella sample.bin" "$T/kp2padm-notes.txt" "$T/kp2padm-eicar.com"
kp_wait_port "$KP_NS_S" 6346
kp_cap_start "$T/gnutella.raw.pcap"
timeout 30 ip netns exec "$KP_NS_C" $PY "$HERE/gnutella_servent.py" client "$KP_SERVER_IP" 6346 \
	kp2padm
kp_cap_stop
cp "$T/gnutella.raw.pcap" "$OUT/gnutella-servent.pcap"
echo "wrote $OUT/gnutella-servent.pcap ($(stat -c %s "$OUT/gnutella-servent.pcap") bytes)"
