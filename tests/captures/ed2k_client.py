#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# A small eDonkey2000/eMule client for make-edonkey.sh: talks the real protocol
# to a real amuled (aMule) in the other network namespace so that the capture
# holds amuled's genuine answers. TCP: OP_HELLO, OP_SETREQFILEID, OP_REQUESTFILENAME,
# OP_STARTUPLOADREQ, OP_REQUESTPARTS, and whatever amuled sends back. UDP: eMule
# OP_REASKFILEPING (known and unknown file) and Kademlia2 BOOTSTRAP_REQ, HELLO_REQ
# and PING to amuled's UDP port. With "obfuscated" it instead opens one TCP
# connection with eMule protocol obfuscation (RC4 keyed from amuled's user hash,
# as eMule/aMule's EncryptedStreamSocket does) and sends HELLO and the two file
# requests inside it. Every wait is bounded; the script ends by itself.
#
#   ed2k_client.py SERVER_IP TCP_PORT UDP_PORT MY_IP SHARED_FILE [obfuscated HASH_HEX]
# Prints one line per packet sent and received (stderr) and exits 0 when amuled
# answered the HELLO and the file requests.

import hashlib
import os
import random
import socket
import struct
import sys
import time

OP_EDONKEYPROT = 0xE3
OP_EMULEPROT = 0xC5
OP_KADEMLIAHEADER = 0xE4

OP_HELLO = 0x01
OP_SENDINGPART = 0x46
OP_REQUESTPARTS = 0x47
OP_FILEREQANSNOFIL = 0x48
OP_END_OF_DOWNLOAD = 0x49
OP_HELLOANSWER = 0x4C
OP_SETREQFILEID = 0x4F
OP_FILESTATUS = 0x50
OP_STARTUPLOADREQ = 0x54
OP_ACCEPTUPLOADREQ = 0x55
OP_CANCELTRANSFER = 0x56
OP_REQUESTFILENAME = 0x58
OP_REQFILENAMEANSWER = 0x59
OP_QUEUERANK = 0x5C
OP_REASKFILEPING = 0x90
OP_REASKACK = 0x91
OP_FILENOTFOUND = 0x92
OP_QUEUEFULL = 0x93
OP_QUEUERANKING = 0x60

KADEMLIA2_BOOTSTRAP_REQ = 0x01
KADEMLIA2_HELLO_REQ = 0x11
KADEMLIA2_PING = 0x60

NAMES = {
	(OP_EDONKEYPROT, OP_HELLO): "OP_HELLO",
	(OP_EDONKEYPROT, OP_HELLOANSWER): "OP_HELLOANSWER",
	(OP_EDONKEYPROT, OP_SETREQFILEID): "OP_SETREQFILEID",
	(OP_EDONKEYPROT, OP_FILESTATUS): "OP_FILESTATUS",
	(OP_EDONKEYPROT, OP_FILEREQANSNOFIL): "OP_FILEREQANSNOFIL",
	(OP_EDONKEYPROT, OP_REQUESTFILENAME): "OP_REQUESTFILENAME",
	(OP_EDONKEYPROT, OP_REQFILENAMEANSWER): "OP_REQFILENAMEANSWER",
	(OP_EDONKEYPROT, OP_STARTUPLOADREQ): "OP_STARTUPLOADREQ",
	(OP_EDONKEYPROT, OP_ACCEPTUPLOADREQ): "OP_ACCEPTUPLOADREQ",
	(OP_EDONKEYPROT, OP_REQUESTPARTS): "OP_REQUESTPARTS",
	(OP_EDONKEYPROT, OP_SENDINGPART): "OP_SENDINGPART",
	(OP_EDONKEYPROT, OP_END_OF_DOWNLOAD): "OP_END_OF_DOWNLOAD",
	(OP_EDONKEYPROT, OP_CANCELTRANSFER): "OP_CANCELTRANSFER",
	(OP_EDONKEYPROT, OP_QUEUERANK): "OP_QUEUERANK",
	(OP_EMULEPROT, 0x01): "OP_EMULEINFO",
	(OP_EMULEPROT, 0x02): "OP_EMULEINFOANSWER",
	(OP_EMULEPROT, OP_QUEUERANKING): "OP_QUEUERANKING",
	(OP_EMULEPROT, OP_REASKFILEPING): "OP_REASKFILEPING",
	(OP_EMULEPROT, OP_REASKACK): "OP_REASKACK",
	(OP_EMULEPROT, OP_FILENOTFOUND): "OP_FILENOTFOUND",
	(OP_EMULEPROT, OP_QUEUEFULL): "OP_QUEUEFULL",
	(OP_EMULEPROT, 0x87): "OP_SECIDENTSTATE",
	(OP_KADEMLIAHEADER, 0x01): "KADEMLIA2_BOOTSTRAP_REQ",
	(OP_KADEMLIAHEADER, 0x09): "KADEMLIA2_BOOTSTRAP_RES",
	(OP_KADEMLIAHEADER, 0x11): "KADEMLIA2_HELLO_REQ",
	(OP_KADEMLIAHEADER, 0x19): "KADEMLIA2_HELLO_RES",
	(OP_KADEMLIAHEADER, 0x22): "KADEMLIA2_HELLO_RES_ACK",
	(OP_KADEMLIAHEADER, 0x50): "KADEMLIA_FIREWALLED_REQ",
	(OP_KADEMLIAHEADER, 0x53): "KADEMLIA_FIREWALLED2_REQ",
	(OP_KADEMLIAHEADER, 0x60): "KADEMLIA2_PING",
	(OP_KADEMLIAHEADER, 0x61): "KADEMLIA2_PONG",
}


def name(proto, op):
	return NAMES.get((proto, op), "proto 0x%02x op 0x%02x" % (proto, op))


def log(msg):
	print("ed2k: " + msg, file=sys.stderr, flush=True)


# --- MD4 (RFC 1320); hashlib's md4 is gone with OpenSSL 3 ---------------------------

def _rol(x, n):
	x &= 0xFFFFFFFF
	return ((x << n) | (x >> (32 - n))) & 0xFFFFFFFF


def md4(data):
	msg = bytearray(data)
	bitlen = (8 * len(data)) & 0xFFFFFFFFFFFFFFFF
	msg.append(0x80)
	while len(msg) % 64 != 56:
		msg.append(0)
	msg += struct.pack("<Q", bitlen)
	a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
	f = lambda x, y, z: (x & y) | (~x & z)
	g = lambda x, y, z: (x & y) | (x & z) | (y & z)
	h = lambda x, y, z: x ^ y ^ z
	for off in range(0, len(msg), 64):
		x = struct.unpack("<16I", msg[off:off + 64])
		aa, bb, cc, dd = a, b, c, d
		for i in range(16):
			k = i
			s = (3, 7, 11, 19)[i % 4]
			if i % 4 == 0:
				a = _rol(a + f(b, c, d) + x[k], s)
			elif i % 4 == 1:
				d = _rol(d + f(a, b, c) + x[k], s)
			elif i % 4 == 2:
				c = _rol(c + f(d, a, b) + x[k], s)
			else:
				b = _rol(b + f(c, d, a) + x[k], s)
		for i in range(16):
			k = (i % 4) * 4 + i // 4
			s = (3, 5, 9, 13)[i % 4]
			if i % 4 == 0:
				a = _rol(a + g(b, c, d) + x[k] + 0x5A827999, s)
			elif i % 4 == 1:
				d = _rol(d + g(a, b, c) + x[k] + 0x5A827999, s)
			elif i % 4 == 2:
				c = _rol(c + g(d, a, b) + x[k] + 0x5A827999, s)
			else:
				b = _rol(b + g(c, d, a) + x[k] + 0x5A827999, s)
		order = (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15)
		for i in range(16):
			k = order[i]
			s = (3, 9, 11, 15)[i % 4]
			if i % 4 == 0:
				a = _rol(a + h(b, c, d) + x[k] + 0x6ED9EBA1, s)
			elif i % 4 == 1:
				d = _rol(d + h(a, b, c) + x[k] + 0x6ED9EBA1, s)
			elif i % 4 == 2:
				c = _rol(c + h(d, a, b) + x[k] + 0x6ED9EBA1, s)
			else:
				b = _rol(b + h(c, d, a) + x[k] + 0x6ED9EBA1, s)
		a = (a + aa) & 0xFFFFFFFF
		b = (b + bb) & 0xFFFFFFFF
		c = (c + cc) & 0xFFFFFFFF
		d = (d + dd) & 0xFFFFFFFF
	return struct.pack("<4I", a, b, c, d)


# --- eMule protocol obfuscation (TCP, client to client) --------------------------------

MAGICVALUE_REQUESTER = 34
MAGICVALUE_SERVER = 203
MAGICVALUE_SYNC = 0x835E6FC4


class RC4:
	def __init__(self, key):
		S = list(range(256))
		j = 0
		for i in range(256):
			j = (j + S[i] + key[i % len(key)]) & 0xFF
			S[i], S[j] = S[j], S[i]
		self.S, self.i, self.j = S, 0, 0
		self.crypt(bytes(1024))  # eMule discards the first 1024 bytes of key stream

	def crypt(self, data):
		S, i, j = self.S, self.i, self.j
		out = bytearray(len(data))
		for n, c in enumerate(data):
			i = (i + 1) & 0xFF
			j = (j + S[i]) & 0xFF
			S[i], S[j] = S[j], S[i]
			out[n] = c ^ S[(S[i] + S[j]) & 0xFF]
		self.i, self.j = i, j
		return bytes(out)


class ObfSocket:
	"""A connected TCP socket after the obfuscation handshake: encrypts what is sent and
	decrypts what is received (RC4 streams keyed as in EncryptedStreamSocket.cpp)."""

	def __init__(self, sock, target_hash, rnd):
		self.sock = sock
		key_part = rnd.randbytes(4)
		kd = bytearray(target_hash + bytes([MAGICVALUE_REQUESTER]) + key_part)
		self.tx = RC4(hashlib.md5(bytes(kd)).digest())
		kd[16] = MAGICVALUE_SERVER
		self.rx = RC4(hashlib.md5(bytes(kd)).digest())
		# "semi random not protocol marker": any byte but the eD2k/eMule/Kad protocol bytes
		marker = 0xE3
		while marker in (0xE3, 0xD4, 0xC5, 0xE4, 0xE5, 0xA3, 0xB2):
			marker = rnd.randrange(256)
		pad = rnd.randbytes(rnd.randrange(0, 129))  # eMule pads 0..CryptTCPPaddingLength (128)
		# marker and key part in clear; magic, methods (0 = obfuscation), padding encrypted
		body = struct.pack("<IBBB", MAGICVALUE_SYNC, 0, 0, len(pad)) + pad
		# sent at once: aMule does not decrypt payload that arrives in the same read as
		# the negotiation, so the first packet must wait for the answer
		sock.sendall(bytes([marker]) + key_part + self.tx.crypt(body))

	def settimeout(self, t):
		self.sock.settimeout(t)

	def sendall(self, data):
		self.sock.sendall(self.tx.crypt(data))

	def recv(self, n):
		d = self.sock.recv(n)
		return self.rx.crypt(d) if d else d

	def read_answer(self, deadline):
		"""Reads the server's <magic 4><method 1><padlen 1><pad>; True if the magic is right."""
		buf = b""
		need = 6
		while len(buf) < need:
			left = deadline - time.monotonic()
			if left <= 0:
				return False
			self.sock.settimeout(left)
			try:
				d = self.recv(need - len(buf))
			except socket.timeout:
				return False
			if not d:
				return False
			buf += d
			if len(buf) == 6:
				need = 6 + buf[5]
		magic, method = struct.unpack("<IB", buf[:5])
		log("<- obfuscation answer: magic %s, method %d, %d bytes padding" %
		    ("ok" if magic == MAGICVALUE_SYNC else "BAD", method, buf[5]))
		return magic == MAGICVALUE_SYNC


PARTSIZE = 9728000


def ed2k_hash(data):
	"""MD4 of the file if it is shorter than one part, else MD4 of the parts' MD4s."""
	if len(data) < PARTSIZE:
		return md4(data)
	parts = [md4(data[i:i + PARTSIZE]) for i in range(0, len(data) + 1, PARTSIZE)]
	return md4(b"".join(parts))


# --- packets ---------------------------------------------------------------------------

def packet(proto, op, payload=b""):
	return struct.pack("<BIB", proto, len(payload) + 1, op) + payload


def tag_str(tid, s):
	b = s.encode()
	return struct.pack("<BHB", 0x02, 1, tid) + struct.pack("<H", len(b)) + b


def tag_u32(tid, v):
	return struct.pack("<BHBI", 0x03, 1, tid, v)


def hello_body(user_hash, my_ip, tcp_port, udp_port):
	tags = [
		tag_str(0x01, "kp2padm-test"),  # CT_NAME
		tag_u32(0x11, 0x3C),  # CT_VERSION (EDONKEYVERSION)
		tag_u32(0xF9, (udp_port << 16) | udp_port),  # CT_EMULE_UDPPORTS: Kad, ed2k UDP
		# CT_EMULE_MISCOPTIONS1: UDP version 4, no compression/secident/src exchange,
		# no view of shared files
		tag_u32(0xFA, (4 << 28) | (1 << 2)),
		tag_u32(0xFB, (50 << 10)),  # CT_EMULE_VERSION: eMule 0.50
	]
	body = bytes([16]) + user_hash + socket.inet_aton(my_ip) + struct.pack("<H", tcp_port)
	body += struct.pack("<I", len(tags)) + b"".join(tags)
	body += struct.pack("<IH", 0, 0)  # no server
	return body


class Reader:
	def __init__(self, sock):
		self.sock = sock
		self.buf = b""

	def next(self, deadline):
		"""One packet (proto, op, payload) or None at the deadline / on close."""
		while True:
			if len(self.buf) >= 6:
				proto, ln = struct.unpack("<BI", self.buf[:5])
				if proto not in (OP_EDONKEYPROT, OP_EMULEPROT, 0xD4) or ln == 0 or ln > 4 << 20:
					raise RuntimeError("bad packet header %r" % self.buf[:6])
				if len(self.buf) >= 5 + ln:
					op = self.buf[5]
					pl = self.buf[6:5 + ln]
					self.buf = self.buf[5 + ln:]
					return proto, op, pl
			left = deadline - time.monotonic()
			if left <= 0:
				return None
			self.sock.settimeout(left)
			try:
				d = self.sock.recv(65536)
			except socket.timeout:
				return None
			if not d:
				return None
			self.buf += d


def send(sock, proto, op, payload=b""):
	sock.sendall(packet(proto, op, payload))
	log("-> %s (%d bytes)" % (name(proto, op), len(payload)))


def expect(rd, want, secs):
	"""Reads packets until one with an opcode in want; returns it (or None)."""
	end = time.monotonic() + secs
	while True:
		p = rd.next(end)
		if p is None:
			return None
		log("<- %s (%d bytes)" % (name(p[0], p[1]), len(p[2])))
		if p[1] in want:
			return p


def udp_ask(us, dst, proto, op, payload, secs=2.0):
	us.sendto(bytes([proto, op]) + payload, dst)
	log("udp -> %s (%d bytes)" % (name(proto, op), len(payload)))
	end = time.monotonic() + secs
	got = []
	while time.monotonic() < end:
		us.settimeout(max(0.01, end - time.monotonic()))
		try:
			d, src = us.recvfrom(65536)
		except socket.timeout:
			break
		if len(d) >= 2:
			log("udp <- %s (%d bytes) from %s:%d" % (name(d[0], d[1]), len(d) - 2, src[0], src[1]))
			got.append(d)
			break
	return got


def main():
	srv, tport, uport, my_ip, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], \
		sys.argv[5]
	my_udp = 4672
	with open(path, "rb") as f:
		data = f.read()
	fhash = ed2k_hash(data)
	log("file %s: %d bytes, ed2k hash %s" % (os.path.basename(path), len(data), fhash.hex()))
	rnd = random.Random(0x65643273)
	user_hash = bytearray(rnd.randbytes(16))
	user_hash[5], user_hash[14] = 14, 111  # the eMule client mark
	user_hash = bytes(user_hash)
	ok = True
	if len(sys.argv) > 7 and sys.argv[6] == "obfuscated":
		return obfuscated(srv, tport, my_ip, user_hash, bytes.fromhex(sys.argv[7]), fhash, rnd)

	us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	us.bind((my_ip, my_udp))
	ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # our "client port", as a peer has
	ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	ls.bind((my_ip, 4662))
	ls.listen(4)

	s = socket.create_connection((srv, tport), timeout=5)
	rd = Reader(s)
	send(s, OP_EDONKEYPROT, OP_HELLO, hello_body(user_hash, my_ip, 4662, my_udp))
	if expect(rd, {OP_HELLOANSWER}, 8) is None:
		log("no OP_HELLOANSWER")
		return 1
	send(s, OP_EDONKEYPROT, OP_REQUESTFILENAME, fhash)
	p = expect(rd, {OP_REQFILENAMEANSWER, OP_FILEREQANSNOFIL}, 5)
	if p is None or p[1] != OP_REQFILENAMEANSWER:
		ok = False
	else:
		n = struct.unpack("<H", p[2][16:18])[0]
		log("   file name %r" % p[2][18:18 + n])
	send(s, OP_EDONKEYPROT, OP_SETREQFILEID, fhash)
	p = expect(rd, {OP_FILESTATUS, OP_FILEREQANSNOFIL}, 5)
	if p is None or p[1] != OP_FILESTATUS:
		ok = False
	send(s, OP_EDONKEYPROT, OP_STARTUPLOADREQ, fhash)
	# While queued: UDP reask for the file (answered with OP_REASKACK by a client that
	# has us in its queue), then one for a file it does not have (OP_FILENOTFOUND).
	udp_ask(us, (srv, uport), OP_EMULEPROT, OP_REASKFILEPING, fhash)
	p = expect(rd, {OP_ACCEPTUPLOADREQ}, 15)
	if p is not None:
		off = 0
		for rnd_i in range(2):
			ranges = [(off + i * 10240, off + (i + 1) * 10240) for i in range(3)]
			off += 3 * 10240
			body = fhash + struct.pack("<3I", *(r[0] for r in ranges)) + \
				struct.pack("<3I", *(r[1] for r in ranges))
			send(s, OP_EDONKEYPROT, OP_REQUESTPARTS, body)
			got = 0
			end = time.monotonic() + 10
			while got < 3 * 10240:
				q = rd.next(end)
				if q is None:
					break
				if q[1] == OP_SENDINGPART and len(q[2]) >= 24:
					st, en = struct.unpack("<II", q[2][16:24])
					got += en - st
					log("<- OP_SENDINGPART %d-%d" % (st, en))
					if q[2][24:] != data[st:en]:
						log("   data differs")
						ok = False
				else:
					log("<- %s (%d bytes)" % (name(q[0], q[1]), len(q[2])))
			if got < 3 * 10240:
				log("short read of parts: %d" % got)
				ok = False
				break
		send(s, OP_EDONKEYPROT, OP_CANCELTRANSFER)
	else:
		log("no OP_ACCEPTUPLOADREQ")
		ok = False
	time.sleep(0.5)
	s.close()

	other = bytes(rnd.randbytes(16))
	if not udp_ask(us, (srv, uport), OP_EMULEPROT, OP_REASKFILEPING, other):
		ok = False
	# Kademlia 2 (Kad shares amuled's UDP port)
	udp_ask(us, (srv, uport), OP_KADEMLIAHEADER, KADEMLIA2_BOOTSTRAP_REQ, b"")
	kad_id = bytes(rnd.randbytes(16))
	# id, TCP port, Kad version 5, no tags. Version >= 6 would announce obfuscation
	# support and amuled would answer with an obfuscated (unreadable) HELLO_RES.
	hello = kad_id + struct.pack("<HB", 4662, 5) + bytes([0])
	udp_ask(us, (srv, uport), OP_KADEMLIAHEADER, KADEMLIA2_HELLO_REQ, hello)
	udp_ask(us, (srv, uport), OP_KADEMLIAHEADER, KADEMLIA2_PING, b"")
	# answer whatever amuled sends us on UDP/TCP for a moment (not needed; just drain)
	end = time.monotonic() + 2
	while time.monotonic() < end:
		us.settimeout(0.2)
		try:
			d, src = us.recvfrom(65536)
			log("udp <- %s (%d bytes) from %s:%d" % (name(d[0], d[1]), len(d) - 2, src[0], src[1]))
		except socket.timeout:
			pass
	us.close()
	ls.close()
	return 0 if ok else 1


def obfuscated(srv, tport, my_ip, user_hash, target_hash, fhash, rnd):
	# aMule stores its hash without the eMule marks and puts them in when it announces
	# the hash (and keys its obfuscation with the announced one)
	target_hash = bytearray(target_hash)
	target_hash[5], target_hash[14] = 14, 111
	target_hash = bytes(target_hash)
	raw = socket.create_connection((srv, tport), timeout=5)
	s = ObfSocket(raw, target_hash, rnd)
	log("-> obfuscation request (target hash %s)" % target_hash.hex())
	rd = Reader(s)
	if not s.read_answer(time.monotonic() + 8):
		log("no obfuscation answer")
		return 1
	send(s, OP_EDONKEYPROT, OP_HELLO, hello_body(user_hash, my_ip, 4662, 4672))
	if expect(rd, {OP_HELLOANSWER}, 8) is None:
		log("no OP_HELLOANSWER")
		return 1
	ok = True
	send(s, OP_EDONKEYPROT, OP_REQUESTFILENAME, fhash)
	p = expect(rd, {OP_REQFILENAMEANSWER, OP_FILEREQANSNOFIL}, 5)
	ok = ok and p is not None and p[1] == OP_REQFILENAMEANSWER
	send(s, OP_EDONKEYPROT, OP_SETREQFILEID, fhash)
	p = expect(rd, {OP_FILESTATUS, OP_FILEREQANSNOFIL}, 5)
	ok = ok and p is not None and p[1] == OP_FILESTATUS
	time.sleep(0.5)
	raw.close()
	return 0 if ok else 1


if __name__ == "__main__":
	sys.exit(main())
