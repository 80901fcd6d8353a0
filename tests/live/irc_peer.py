#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A small raw-socket IRC client for the live content tests (content-live.sh).

Debian's irssi needs a terminal (tmux) to be driven; for the gateway tests a
client that sends exactly the lines we choose is enough, and it lets the test
know the exact texts the chat events must carry.

  irc_peer.py alice SERVER PORT CHANNEL FILE MY_IP DCC_PORT TEXTFILE
      registers as alice, joins CHANNEL, waits for bob to join, sends each line of
      TEXTFILE (UTF-8) as a PRIVMSG (line "@bob TEXT" goes to bob, others to the
      channel), waits for bob's reply, then offers FILE with a DCC SEND naming
      MY_IP:DCC_PORT and serves it on that port (one connection), waits for bob's
      "got it" and quits.
  irc_peer.py bob SERVER PORT CHANNEL SAVEDIR REPLY
      registers as bob, joins CHANNEL, answers alice's first private message with
      REPLY, accepts her DCC SEND (connects to the address the offer names, which a
      NAT gateway's IRC helper has rewritten), saves it in SAVEDIR, says "got it"
      and quits. Prints each PRIVMSG it receives as "PRIVMSG from to :text".

Both end by themselves: every wait is bounded (TIMEOUT s in all). Exit 0 on success.
"""
import ipaddress
import os
import socket
import struct
import sys
import time

TIMEOUT = 30.0


class Irc:
    def __init__(self, server, port, nick):
        self.nick = nick
        self.end = time.monotonic() + TIMEOUT
        self.s = socket.create_connection((server, port), timeout=5)
        self.buf = b""
        self.send("NICK %s" % nick)
        self.send("USER %s 0 * :kp2padm live test %s" % (nick, nick))

    def send(self, line):
        self.s.sendall(line.encode("utf-8") + b"\r\n")

    def lines(self):
        """Yields received lines (bytes, without CR LF) until the deadline."""
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.rstrip(b"\r")
                if line.startswith(b"PING"):
                    self.s.sendall(b"PONG" + line[4:] + b"\r\n")
                    continue
                yield line
            left = self.end - time.monotonic()
            if left <= 0:
                raise TimeoutError("%s: time is up" % self.nick)
            self.s.settimeout(min(left, 1.0))
            try:
                d = self.s.recv(4096)
            except socket.timeout:
                continue
            if not d:
                raise ConnectionError("%s: server closed" % self.nick)
            self.buf += d

    def wait(self, pred):
        for line in self.lines():
            if pred(line):
                return line
        return None

    def register_and_join(self, chan):
        self.wait(lambda l: l.split(b" ")[1:2] == [b"001"])
        self.send("JOIN %s" % chan)
        self.wait(lambda l: b" JOIN " in l and l.startswith(b":" + self.nick.encode() + b"!"))


def parse_privmsg(line):
    """':nick!u@h PRIVMSG to :text' -> (nick, to, text) or None."""
    if not line.startswith(b":"):
        return None
    parts = line.split(b" ", 3)
    if len(parts) < 4 or parts[1] != b"PRIVMSG":
        return None
    text = parts[3][1:] if parts[3].startswith(b":") else parts[3]
    return parts[0][1:].split(b"!")[0].decode(), parts[2].decode(), text


def alice(server, port, chan, path, my_ip, dcc_port, textfile):
    irc = Irc(server, int(port), "alice")
    irc.register_and_join(chan)
    # bob is there when NAMES lists him or his JOIN arrives
    irc.send("NAMES %s" % chan)
    irc.wait(lambda l: (b" 353 " in l and b"bob" in l.split(b":")[-1].split())
             or l.startswith(b":bob!") and b" JOIN " in l)
    with open(textfile, encoding="utf-8") as f:
        texts = [t.rstrip("\n") for t in f if t.strip()]
    for t in texts:
        if t.startswith("@bob "):
            irc.send("PRIVMSG bob :%s" % t[5:])
        else:
            irc.send("PRIVMSG %s :%s" % (chan, t))
    irc.wait(lambda l: (parse_privmsg(l) or ("",))[0] == "bob")
    data = open(path, "rb").read()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((my_ip, int(dcc_port)))
    ls.listen(1)
    ip_int = int(ipaddress.IPv4Address(my_ip))
    name = os.path.basename(path)
    irc.send("PRIVMSG bob :\x01DCC SEND %s %d %s %d\x01" % (name, ip_int, int(dcc_port), len(data)))
    ls.settimeout(max(1.0, irc.end - time.monotonic()))
    c, _ = ls.accept()
    c.settimeout(10)
    c.sendall(data)
    # DCC: the receiver acknowledges the byte count (32-bit, network order)
    got = 0
    ack = b""
    while got < len(data):
        d = c.recv(64)
        if not d:
            break
        ack += d
        while len(ack) >= 4:
            got = struct.unpack("!I", ack[:4])[0]
            ack = ack[4:]
    c.close()
    ls.close()
    irc.wait(lambda l: (parse_privmsg(l) or ("", "", b""))[2].startswith(b"got it"))
    irc.send("QUIT :done")
    print("alice: sent %d texts and %s (%d bytes, acked %d)" % (len(texts), name, len(data), got))
    return 0 if got == len(data) else 1


def bob(server, port, chan, savedir, reply):
    irc = Irc(server, int(port), "bob")
    irc.register_and_join(chan)
    replied = False
    for line in irc.lines():
        m = parse_privmsg(line)
        if not m:
            continue
        frm, to, text = m
        print("PRIVMSG %s %s :%s" % (frm, to, text.decode("utf-8", "replace")), flush=True)
        if frm == "alice" and to == "bob" and not text.startswith(b"\x01") and not replied:
            irc.send("PRIVMSG alice :%s" % reply)
            replied = True
        if frm == "alice" and text.startswith(b"\x01DCC SEND "):
            f = text.strip(b"\x01").split(b" ")
            name, ip, dport, size = f[2].decode(), int(f[3]), int(f[4]), int(f[5])
            addr = str(ipaddress.IPv4Address(ip))
            print("bob: DCC SEND %s from %s:%d, %d bytes" % (name, addr, dport, size), flush=True)
            c = socket.create_connection((addr, dport), timeout=10)
            got = b""
            while len(got) < size:
                d = c.recv(65536)
                if not d:
                    break
                got += d
                c.sendall(struct.pack("!I", len(got) & 0xFFFFFFFF))
            c.close()
            with open(os.path.join(savedir, os.path.basename(name)), "wb") as out:
                out.write(got)
            irc.send("PRIVMSG alice :got it, %d bytes" % len(got))
            # alice quits after our "got it": wait for that (or the deadline)
            try:
                irc.wait(lambda l: l.startswith(b":alice!") and b" QUIT " in l)
            except (TimeoutError, ConnectionError):
                pass
            irc.send("QUIT :done")
            return 0 if len(got) == size else 1
    return 1


def main(argv):
    if len(argv) == 9 and argv[1] == "alice":
        return alice(*argv[2:])
    if len(argv) == 7 and argv[1] == "bob":
        return bob(*argv[2:])
    sys.exit(__doc__)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (TimeoutError, ConnectionError, OSError) as e:
        print("irc_peer: %s" % e, file=sys.stderr)
        sys.exit(1)
