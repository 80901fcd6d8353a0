#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal eDonkey server and client for the search capture (make-edonkey-search.sh).

There is no eD2k server in Debian, and aMule will not connect to a server whose
address is in 198.18.0.0/15 (its IsGoodIP() table lists the range as reserved), so
both ends of the client-server connection are ours, built after the eMule/aMule
sources (opcodes.h, SearchExpr, CServerSocket):

  server IP PORT           accepts one client: OP_LOGINREQUEST -> OP_SERVERMESSAGE,
                           OP_IDCHANGE, OP_SERVERSTATUS; OP_OFFERFILES is read;
                           OP_SEARCHREQUEST -> OP_SEARCHRESULT, packed with zlib
                           (protocol 0xD4) for the first search, plain for the second.
  client SRV PORT MY_IP FILE
                           logs in, offers FILE (its ed2k hash, name, size), searches
                           "kp2padm sample" (AND of two keywords and a type) and then
                           "notes" (one keyword), and checks the results.
"""
import os
import socket
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ed2k_client as E  # noqa: E402  (packet, tags, MD4 hash, reader)

OP_LOGINREQUEST = 0x01
OP_OFFERFILES = 0x15
OP_SEARCHREQUEST = 0x16
OP_SEARCHRESULT = 0x33
OP_SERVERSTATUS = 0x34
OP_SERVERMESSAGE = 0x38
OP_IDCHANGE = 0x40
OP_PACKED = 0xD4

# What the server "knows": (hash, client id, port, name, size)
CATALOG = [
	(bytes.fromhex("5841ed0390599bb10f5957334c8fed9f"), 0x010013c6, 4662,
	 "kp2padm-sample.bin", 204800),
	(bytes.fromhex("00112233445566778899aabbccddeeff"), 0x020013c6, 4662,
	 "kp2padm sample (copy).bin", 5000000000),
	(bytes.fromhex("ffeeddccbbaa99887766554433221100"), 0x030013c6, 4662,
	 "kp2padm-notes.txt", 300),
]


def tag_u64(tid, v):
	return struct.pack("<BB", 0x8B, tid) + struct.pack("<Q", v)  # new-style uint64 tag


def tag_short_str(tid, s):
	b = s.encode()
	if 1 <= len(b) <= 16:  # new-style short string: type 0x11 + len - 1
		return struct.pack("<BB", 0x80 | (0x10 + len(b)), tid) + b
	return struct.pack("<BB", 0x82, tid) + struct.pack("<H", len(b)) + b


def file_entry(h, cid, port, name, size, short_tags):
	if short_tags:
		tags = [tag_short_str(0x01, name),
			tag_u64(0x02, size) if size >> 32 else struct.pack("<BBI", 0x83, 0x02, size)]
	else:
		tags = [E.tag_str(0x01, name), E.tag_u32(0x02, size & 0xffffffff)]
		if size >> 32:
			tags.append(E.tag_u32(0x3A, size >> 32))  # FT_FILESIZE_HI
	tags.append(E.tag_u32(0x15, 3))  # FT_SOURCES
	return h + struct.pack("<IH", cid, port) + struct.pack("<I", len(tags)) + b"".join(tags)


def search_words(expr):
	"""Keywords of a search tree (to answer it)."""
	words, i = [], 0

	def node():
		nonlocal i
		t = expr[i]
		i += 1
		if t == 0:
			i += 1
			node()
			node()
		elif t == 1:
			n = struct.unpack_from("<H", expr, i)[0]
			words.append(expr[i + 2:i + 2 + n].decode())
			i += 2 + n
		elif t == 2:
			n = struct.unpack_from("<H", expr, i)[0]
			i += 2 + n
			n = struct.unpack_from("<H", expr, i)[0]
			i += 2 + n
		elif t == 3:
			i += 5
			n = struct.unpack_from("<H", expr, i)[0]
			i += 2 + n
	node()
	return words


def server(ip, port):
	ls = socket.socket()
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind((ip, port))
	ls.listen(1)
	c, (peer, _) = ls.accept()
	rd = E.Reader(c)
	searches = 0
	while True:
		p = rd.next(time.monotonic() + 20)
		if p is None:
			break
		proto, op, pl = p
		E.log("server <- 0x%02x 0x%02x (%d bytes)" % (proto, op, len(pl)))
		if op == OP_LOGINREQUEST:
			msg = b"kp2padm test server"
			c.sendall(E.packet(0xE3, OP_SERVERMESSAGE, struct.pack("<H", len(msg)) + msg))
			c.sendall(E.packet(0xE3, OP_IDCHANGE, socket.inet_aton(peer)[::1] +
					   struct.pack("<I", 0x0001)))
			c.sendall(E.packet(0xE3, OP_SERVERSTATUS, struct.pack("<II", 2, len(CATALOG))))
		elif op == OP_SEARCHREQUEST:
			words = [w.lower() for w in search_words(pl)]
			hits = [e for e in CATALOG
				if all(w in e[3].lower().replace("-", " ").replace(".", " ").split() or
				       w in e[3].lower() for w in words)]
			body = struct.pack("<I", len(hits))
			body += b"".join(file_entry(*e, short_tags=searches == 0) for e in hits)
			body += b"\x00"  # no more results
			if searches == 0:
				c.sendall(struct.pack("<BIB", OP_PACKED, len(zlib.compress(body)) + 1,
						      OP_SEARCHRESULT) + zlib.compress(body))
			else:
				c.sendall(E.packet(0xE3, OP_SEARCHRESULT, body))
			searches += 1
	c.close()


def kw(s):
	b = s.encode()
	return b"\x01" + struct.pack("<H", len(b)) + b


def client(srv, port, my_ip, path):
	data = open(path, "rb").read()
	fh = E.ed2k_hash(data)
	user_hash = bytearray(range(0x30, 0x40))
	user_hash[5], user_hash[14] = 14, 111
	s = socket.create_connection((srv, port), timeout=5)
	rd = E.Reader(s)
	tags = [E.tag_str(0x01, "kp2padm-test"), E.tag_u32(0x11, 0x3C), E.tag_u32(0x0F, 4662),
		E.tag_u32(0x20, 0x319)]  # name, version, port, flags (zlib, newtags, unicode, large files)
	s.sendall(E.packet(0xE3, OP_LOGINREQUEST, bytes(user_hash) + socket.inet_aton(my_ip) +
			   struct.pack("<H", 4662) + struct.pack("<I", len(tags)) + b"".join(tags)))
	end = time.monotonic() + 5
	got_id = False
	while not got_id:
		p = rd.next(end)
		if p is None:
			sys.exit("no OP_IDCHANGE")
		got_id = p[1] == OP_IDCHANGE
	# offer our one file (client id and port 0xFBFBFBFB/0xFBFB: "complete file", as eMule does)
	s.sendall(E.packet(0xE3, OP_OFFERFILES, struct.pack("<I", 1) +
			   file_entry(fh, 0xFBFBFBFB, 0xFBFB, os.path.basename(path), len(data), False)))
	# "kp2padm sample" of type Program: AND(AND("kp2padm", "sample"), type = "Pro")
	expr = b"\x00\x00" + b"\x00\x00" + kw("kp2padm") + kw("sample") + \
		b"\x02" + struct.pack("<H", 3) + b"Pro" + struct.pack("<H", 1) + b"\x03"
	for q in (expr, kw("notes")):
		s.sendall(E.packet(0xE3, OP_SEARCHREQUEST, q))
		p = None
		end = time.monotonic() + 5
		while p is None or p[1] != OP_SEARCHRESULT:
			p = rd.next(end)
			if p is None:
				sys.exit("no OP_SEARCHRESULT")
		body = zlib.decompress(p[2]) if p[0] == OP_PACKED else p[2]
		E.log("client <- %d results (%s)" % (struct.unpack_from("<I", body)[0],
						     "packed" if p[0] == OP_PACKED else "plain"))
	time.sleep(0.3)
	s.close()


if __name__ == "__main__":
	if sys.argv[1] == "server":
		server(sys.argv[2], int(sys.argv[3]))
	else:
		client(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
