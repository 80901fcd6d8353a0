#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# The reconnection storm of bench/gateway/run.sh (the thesis' Fig. 8): a client that
# keeps reconnecting to one server port as fast as it can. Up to CONC non-blocking
# connects are in flight; each one that connects sends a small HTTP request and reads
# the answer; a connect that has not finished within TIMEOUT s is abandoned (a blocked
# client's SYNs are dropped, so it would wait forever). Bounded by DURATION s.
#
#   storm.py HOST PORT DURATION [CONC [TIMEOUT]]
# Prints "attempts N completed M" on standard output.

import selectors
import socket
import struct
import sys
import time


def main():
	host, port, dur = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
	conc = int(sys.argv[4]) if len(sys.argv) > 4 else 256
	tmo = float(sys.argv[5]) if len(sys.argv) > 5 else 0.2
	fam = socket.AF_INET6 if ":" in host else socket.AF_INET
	req = b"GET /small.bin HTTP/1.0\r\nHost: storm\r\n\r\n"
	sel = selectors.DefaultSelector()
	live = {}
	attempts = completed = 0
	end = time.monotonic() + dur

	def close(s):
		sel.unregister(s)
		del live[s]
		try:  # RST instead of FIN: no TIME_WAIT pile-up on the client
			s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
		except OSError:
			pass
		s.close()

	while True:
		now = time.monotonic()
		if now >= end:
			break
		while len(live) < conc:
			s = socket.socket(fam, socket.SOCK_STREAM)
			s.setblocking(False)
			s.connect_ex((host, port))
			attempts += 1
			live[s] = now + tmo
			sel.register(s, selectors.EVENT_WRITE, "w")
		for key, _ in sel.select(0.02):
			s = key.fileobj
			if key.data == "w":
				if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
					close(s)
					continue
				try:
					s.send(req)
				except OSError:
					close(s)
					continue
				sel.modify(s, selectors.EVENT_READ, "r")
			else:
				try:
					d = s.recv(65536)
				except OSError:
					d = b""
				if not d:
					completed += 1
					close(s)
		now = time.monotonic()
		for s, dl in list(live.items()):
			if dl < now:
				close(s)
	for s in list(live):
		close(s)
	print("attempts %d completed %d" % (attempts, completed))
	return 0


if __name__ == "__main__":
	sys.exit(main())
