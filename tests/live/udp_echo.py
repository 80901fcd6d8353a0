#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""UDP echo server and paced probe client for tests/live/netem-live.sh (kp-netem).

  udp_echo.py server IP PORT
      echoes every datagram back to its sender (until killed)
  udp_echo.py client IP PORT --count N [--interval S] [--wait S] [--size B]
      sends N datagrams (sequence number + send time), paced every S seconds, reads the
      echoes meanwhile, then waits up to --wait seconds for late ones (less when all are
      back); prints one JSON line: sent, received, lost, dup, loss_pct, rtt_ms
      (min/p10/median/p90/max) of the received ones
  udp_echo.py tcp-sink IP PORT          accepts one connection, reads it to EOF, prints bytes
  udp_echo.py tcp-send IP PORT BYTES    connects and sends BYTES bytes

Everything is bounded: the client by count * interval + wait, the TCP sender by a
30 s socket timeout.
"""
import json
import select
import socket
import struct
import sys
import time

HDR = struct.Struct("!IQ")  # sequence number, send time (ns, monotonic)


def server(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((ip, port))
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(data, peer)


def quantile(sorted_vals, q):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[i]


def client(ip, port, count, interval, wait, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((ip, port))
    s.setblocking(False)
    pad = b"\0" * max(0, size - HDR.size)
    rtts = {}
    dup = 0

    def drain(timeout):
        nonlocal dup
        r, _, _ = select.select([s], [], [], max(0.0, timeout))
        if not r:
            return
        while True:
            try:
                data = s.recv(65535)
            except (BlockingIOError, ConnectionRefusedError):
                return
            if len(data) < HDR.size:
                continue
            seq, t0 = HDR.unpack_from(data)
            if seq in rtts:
                dup += 1
            else:
                rtts[seq] = (time.monotonic_ns() - t0) / 1e6

    start = time.monotonic()
    sent = 0
    while sent < count:
        due = start + sent * interval
        now = time.monotonic()
        if now < due:
            drain(due - now)
            continue
        try:
            s.send(HDR.pack(sent, time.monotonic_ns()) + pad)
        except (BlockingIOError, ConnectionRefusedError):
            drain(0.001)
            continue
        sent += 1
        drain(0)
    end = time.monotonic() + wait
    while len(rtts) < sent and time.monotonic() < end:
        drain(min(0.05, end - time.monotonic()))
    vals = sorted(rtts.values())
    out = {
        "sent": sent, "received": len(rtts), "lost": sent - len(rtts), "dup": dup,
        "loss_pct": 100.0 * (sent - len(rtts)) / sent if sent else 0.0,
        "rtt_ms": {"min": quantile(vals, 0), "p10": quantile(vals, 0.1),
                   "median": quantile(vals, 0.5), "p90": quantile(vals, 0.9),
                   "max": quantile(vals, 1)},
    }
    print(json.dumps(out))


def tcp_sink(ip, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((ip, port))
    ls.listen(1)
    ls.settimeout(30)
    c, _ = ls.accept()
    c.settimeout(30)
    n = 0
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        n += len(b)
    print(n)


def tcp_send(ip, port, nbytes):
    c = socket.create_connection((ip, port), timeout=30)
    chunk = b"x" * (1 << 16)
    left = nbytes
    while left > 0:
        c.sendall(chunk[:min(left, len(chunk))])
        left -= min(left, len(chunk))
    c.shutdown(socket.SHUT_WR)
    c.recv(1)
    c.close()


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    mode, ip, port = argv[1], argv[2], int(argv[3])
    if mode == "server":
        server(ip, port)
    elif mode == "client":
        opts = {"--count": "1", "--interval": "0.01", "--wait": "2", "--size": "64"}
        rest = argv[4:]
        for i in range(0, len(rest) - 1, 2):
            if rest[i] not in opts:
                sys.exit("unknown option " + rest[i])
            opts[rest[i]] = rest[i + 1]
        client(ip, port, int(opts["--count"]), float(opts["--interval"]),
               float(opts["--wait"]), int(opts["--size"]))
    elif mode == "tcp-sink":
        tcp_sink(ip, port)
    elif mode == "tcp-send":
        tcp_send(ip, port, int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
