#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A minimal Gnutella 0.6 servent pair for the capture make-gnutella.sh makes.

Debian 12 has no headless Gnutella servent (gtk-gnutella is a GTK program), so
both ends are this script, written after the Gnutella 0.6 specification (RFC-Gnutella
0.6 draft, the LimeWire/gtk-gnutella wire format):

  serve IP PORT FILE...   shares FILEs: answers the 0.6 handshake, pings (pong),
                          queries whose words all occur in a file name (query hit
                          with urn:sha1 in the HUGE extension), and HTTP downloads
                          GET /get/<index>/<name> and GET /uri-res/N2R?urn:sha1:<b32>
                          (with Range: bytes=a-b -> 206).
  client SRV PORT WORDS   connects (GNUTELLA CONNECT/0.6, 200 OK both ways), pings,
                          queries WORDS, then downloads every hit by /get/ and the
                          first hit's first 4096 bytes again by /uri-res/ with a Range.

Every wait is bounded; the client exits non-zero when an answer is missing.
"""
import base64
import hashlib
import os
import socket
import struct
import sys
import threading
import urllib.parse

HDR = struct.Struct("<16sBBBI")  # guid, descriptor, ttl, hops, payload length
SERVENT_ID = bytes(range(0x40, 0x50))


def guid(n):
	# fixed GUIDs (reproducible captures); byte 8 = 0xff, byte 15 = 0 as modern servents mark them
	g = bytearray(hashlib.md5(b"kqe-gnutella-%d" % n).digest())
	g[8], g[15] = 0xFF, 0
	return bytes(g)


def msg(g, desc, payload, ttl=7, hops=0):
	return HDR.pack(g, desc, ttl, hops, len(payload)) + payload


def recv_exact(s, n):
	b = b""
	while len(b) < n:
		c = s.recv(n - len(b))
		if not c:
			raise EOFError("connection closed")
		b += c
	return b


def recv_headers(s):
	b = b""
	while b"\r\n\r\n" not in b:
		c = s.recv(1)
		if not c:
			raise EOFError("closed in headers")
		b += c
		if len(b) > 8192:
			raise ValueError("headers too long")
	return b.decode("latin-1")


def recv_msg(s):
	g, desc, ttl, hops, n = HDR.unpack(recv_exact(s, HDR.size))
	if n > 65536:
		raise ValueError("payload too long")
	return g, desc, recv_exact(s, n)


class Shared:
	def __init__(self, paths):
		self.files = []
		for i, p in enumerate(paths, 1):
			data = open(p, "rb").read()
			sha1 = base64.b32encode(hashlib.sha1(data).digest()).decode()
			self.files.append((i, os.path.basename(p), data, sha1))


def serve_servent(c, sh, my_ip, port):
	recv_headers(c)  # GNUTELLA CONNECT/0.6 ...
	c.sendall(b"GNUTELLA/0.6 200 OK\r\nUser-Agent: kqe-servent/0.1\r\nX-Ultrapeer: True\r\n"
		  b"Accept-Encoding: identity\r\n\r\n")
	recv_headers(c)  # GNUTELLA/0.6 200 OK
	while True:
		try:
			g, desc, p = recv_msg(c)
		except EOFError:
			return
		if desc == 0x00:  # ping -> pong
			pong = struct.pack("<H", port) + socket.inet_aton(my_ip) + \
				struct.pack("<II", len(sh.files), 1)
			c.sendall(msg(g, 0x01, pong, ttl=1, hops=0))
		elif desc == 0x80:  # query -> hit
			crit = p[2:p.index(b"\0", 2)].decode("latin-1").lower().split()
			hits = [f for f in sh.files if all(w in f[1].lower() for w in crit)]
			if not hits:
				continue
			body = bytes([len(hits)]) + struct.pack("<H", port) + socket.inet_aton(my_ip) + \
				struct.pack("<I", 1000)
			for idx, name, data, sha1 in hits:
				body += struct.pack("<II", idx, len(data)) + name.encode() + b"\0" + \
					b"urn:sha1:" + sha1.encode() + b"\0"
			body += b"KQES" + bytes([2, 0x1c, 0x11]) + SERVENT_ID  # vendor, open data, id
			c.sendall(msg(g, 0x81, body, ttl=7, hops=0))


def serve_http(c, sh):
	req = recv_headers(c)
	line = req.split("\r\n", 1)[0]
	target = line.split(" ")[1]
	f = None
	if target.startswith("/get/"):
		idx = int(target.split("/")[2])
		f = next((x for x in sh.files if x[0] == idx), None)
	elif target.startswith("/uri-res/N2R?urn:sha1:"):
		want = target.split(":")[-1]
		f = next((x for x in sh.files if x[3] == want), None)
	if not f:
		c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		return
	data, status, extra = f[2], "200 OK", ""
	for h in req.split("\r\n"):
		if h.lower().startswith("range: bytes="):
			a, b = h.split("=", 1)[1].split("-")
			a, b = int(a), int(b) if b else len(f[2]) - 1
			data, status = f[2][a:b + 1], "206 Partial Content"
			extra = "Content-Range: bytes %d-%d/%d\r\n" % (a, b, len(f[2]))
	c.sendall(("HTTP/1.1 %s\r\nServer: kqe-servent/0.1\r\nContent-Type: application/binary\r\n"
		   "X-Gnutella-Content-URN: urn:sha1:%s\r\n%sContent-Length: %d\r\n\r\n"
		   % (status, f[3], extra, len(data))).encode() + data)


def serve(ip, port, paths):
	sh = Shared(paths)
	ls = socket.socket()
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind((ip, port))
	ls.listen(8)

	def one(c):
		try:
			c.settimeout(20)
			first = c.recv(4, socket.MSG_PEEK)
			if first.startswith(b"GNUT"):
				serve_servent(c, sh, ip, port)
			elif first.startswith(b"GET "):
				serve_http(c, sh)
		except (OSError, EOFError, ValueError):
			pass
		finally:
			c.close()

	while True:
		c, _ = ls.accept()
		threading.Thread(target=one, args=(c,), daemon=True).start()


def http_get(srv, port, target, rng=None):
	s = socket.create_connection((srv, port), timeout=10)
	h = "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: kqe-servent/0.1\r\n" % (target, srv, port)
	if rng:
		h += "Range: bytes=%d-%d\r\n" % rng
	s.sendall((h + "Connection: close\r\n\r\n").encode())
	hdr = recv_headers(s)
	n = int([l for l in hdr.split("\r\n") if l.lower().startswith("content-length:")][0]
		.split(":")[1])
	body = recv_exact(s, n)
	s.close()
	return hdr.split("\r\n")[0], body


def client(srv, port, words):
	s = socket.create_connection((srv, port), timeout=10)
	s.sendall(b"GNUTELLA CONNECT/0.6\r\nUser-Agent: kqe-servent/0.1\r\nX-Ultrapeer: False\r\n"
		  b"Accept-Encoding: identity\r\n\r\n")
	ans = recv_headers(s)
	if not ans.startswith("GNUTELLA/0.6 200"):
		sys.exit("handshake refused: %r" % ans[:40])
	s.sendall(b"GNUTELLA/0.6 200 OK\r\n\r\n")
	s.sendall(msg(guid(1), 0x00, b"", ttl=1))
	g, desc, p = recv_msg(s)
	if desc != 0x01:
		sys.exit("no pong")
	s.sendall(msg(guid(2), 0x80, struct.pack("<H", 0) + words.encode() + b"\0"))
	g, desc, p = recv_msg(s)
	if desc != 0x81:
		sys.exit("no query hit")
	n, off, hits = p[0], 11, []
	for _ in range(n):
		idx, size = struct.unpack_from("<II", p, off)
		off += 8
		e = p.index(b"\0", off)
		name = p[off:e].decode()
		off = e + 1
		e = p.index(b"\0", off)
		urn = p[off:e].decode()
		off = e + 1
		hits.append((idx, size, name, urn))
		print("hit", idx, size, name, urn)
	s.close()
	for idx, size, name, urn in hits:
		st, body = http_get(srv, port, "/get/%d/%s" % (idx, urllib.parse.quote(name)))
		if len(body) != size or base64.b32encode(hashlib.sha1(body).digest()).decode() != urn[9:]:
			sys.exit("bad download of %s" % name)
		print("got", name, st, len(body))
	st, body = http_get(srv, port, "/uri-res/N2R?" + hits[0][3], rng=(0, 4095))
	if len(body) != 4096:
		sys.exit("bad range download")
	print("got range", st, len(body))


if __name__ == "__main__":
	if sys.argv[1] == "serve":
		serve(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
	else:
		client(sys.argv[2], int(sys.argv[3]), sys.argv[4])
