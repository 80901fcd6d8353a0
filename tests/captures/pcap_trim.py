#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Shrinks a capture made by the capture scripts: every frame stays, but a large
# frame (bulk data, e.g. BitTorrent piece messages) that is not among the first
# KEEP frames of its flow is cut to SNAP bytes (its original length stays in the
# record header, as a short snaplen would leave it). Signalling, tracker, DHT and
# the opening of each flow stay whole.
#
#   pcap_trim.py IN OUT [KEEP=24] [SNAP=128] [BIG=600]
# Reads classic pcap (Ethernet, IPv4) as tcpdump writes it; other frames are copied.

import struct
import sys


def flow_key(frame):
	if len(frame) < 34 or frame[12:14] != b"\x08\x00":
		return None
	ihl = (frame[14] & 0x0F) * 4
	proto = frame[23]
	src, dst = frame[26:30], frame[30:34]
	off = 14 + ihl
	if proto not in (6, 17) or len(frame) < off + 4:
		return None
	sp, dp = struct.unpack(">HH", frame[off:off + 4])
	a, b = (src, sp), (dst, dp)
	return (proto,) + (a + b if a <= b else b + a)


def main():
	src, dst = sys.argv[1], sys.argv[2]
	keep = int(sys.argv[3]) if len(sys.argv) > 3 else 24
	snap = int(sys.argv[4]) if len(sys.argv) > 4 else 128
	big = int(sys.argv[5]) if len(sys.argv) > 5 else 600
	with open(src, "rb") as f:
		data = f.read()
	if len(data) < 24:
		sys.exit("short pcap")
	magic = data[:4]
	if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
		e = "<"
	elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
		e = ">"
	else:
		sys.exit("not a classic pcap")
	out = [data[:24]]
	seen = {}
	pos, n, cut = 24, 0, 0
	while pos + 16 <= len(data):
		ts, tu, incl, orig = struct.unpack(e + "IIII", data[pos:pos + 16])
		frame = data[pos + 16:pos + 16 + incl]
		pos += 16 + incl
		n += 1
		k = flow_key(frame)
		idx = seen.get(k, 0)
		seen[k] = idx + 1
		if k is not None and idx >= keep and len(frame) >= big and len(frame) > snap:
			frame = frame[:snap]
			cut += 1
		out.append(struct.pack(e + "IIII", ts, tu, len(frame), orig) + frame)
	with open(dst, "wb") as f:
		f.write(b"".join(out))
	print("%s: %d frames, %d cut to %d bytes" % (dst, n, cut, snap), file=sys.stderr)


if __name__ == "__main__":
	main()
