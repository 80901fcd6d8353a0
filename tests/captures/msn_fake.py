#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An MSN Messenger switchboard (MSNP8 syntax) and three scripted clients, for make-msn.sh.

Debian has no MSN server or client (the service closed in 2013), so this is our own
small implementation of the switchboard part of MSNP8 as documented
(hypothetic.org "MSN Messenger Protocol", MSNP8; MSNP2P/MSNSLP for P2P offers):
  client -> SB: USR trid account cookie | ANS trid account sessid cookie | CAL trid account
                | MSG trid U|N|A|D len + MIME payload | OUT
  SB -> client: USR trid OK account name | CAL trid RINGING sessid | IRO trid i n account name
                | ANS trid OK | JOI account name | MSG account name len + payload | ACK trid | BYE account
Roles: server ADDR | alice ADDR | bob ADDR | carol ADDR. The conversation is fixed (see
CONVERSATION in the test); every wait has a timeout, exit 0 only when it completed.
"""
import base64
import socket
import struct
import sys
import threading
import time

PORT = 1863
SESSION = '17342299'
COOKIE = '17262740.1050826919.32308'
NAMES = {'alice@kp2padm.test': 'Alice%20K', 'bob@kp2padm.test': 'Bob',
         'carol@kp2padm.test': 'Carol%20%3Cc%3E'}
TEXT_HDR = ('MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n'
            'X-MMS-IM-Format: FN=Segoe%20UI; EF=; CO=0; CS=1; PF=0\r\n')


def text_msg(body, b64=False):
    if b64:
        return (TEXT_HDR + 'Content-Transfer-Encoding: base64\r\n\r\n').encode() + \
            base64.encodebytes(body.encode('utf-8')).replace(b'\n', b'\r\n')
    return (TEXT_HDR + '\r\n').encode() + body.encode('utf-8')


def typing(acct):
    return ('MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: %s\r\n\r\n\r\n'
            % acct).encode()


def invite(name, size):
    return ('MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n'
            'Application-Name: File Transfer\r\n'
            'Application-GUID: {5D3E02AB-6190-11d3-BBBB-00C04F795683}\r\n'
            'Invitation-Command: INVITE\r\nInvitation-Cookie: 28082\r\n'
            'Application-File: %s\r\nApplication-FileSize: %d\r\nConnectivity: N\r\n\r\n'
            % (name, size)).encode('utf-8')


def invite_cancel():
    return ('MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n'
            'Invitation-Command: CANCEL\r\nInvitation-Cookie: 28082\r\nCancel-Code: REJECT\r\n\r\n'
            ).encode()


def p2p_offer(frm, to, name, size):
    """An MSNP2P file transfer INVITE (MSNSLP over the binary P2P header)."""
    ctx = struct.pack('<IIQI', 574, 2, size, 0) + name.encode('utf-16-le').ljust(520, b'\0') + \
        b'\xff' * 4 + b'\0' * 46
    body = ('EUF-GUID: {5D3E02AB-6190-11D3-BBBB-00C04F795683}\r\nSessionID: 94359394\r\n'
            'AppID: 2\r\nContext: %s\r\n\r\n' % base64.b64encode(ctx).decode()).encode() + b'\0'
    slp = ('INVITE MSNMSGR:%s MSNSLP/1.0\r\nTo: <msnmsgr:%s>\r\nFrom: <msnmsgr:%s>\r\n'
           'Via: MSNSLP/1.0/TLP ;branch={33517CE4-02FC-4428-B6F4-39927229B722}\r\nCSeq: 0 \r\n'
           'Call-ID: {9D79AE57-1BD5-444B-B14E-3FC9BB2B5D58}\r\nMax-Forwards: 0\r\n'
           'Content-Type: application/x-msnmsgr-sessionreqbody\r\nContent-Length: %d\r\n\r\n'
           % (to, to, frm, len(body))).encode() + body
    hdr = struct.pack('<IIQQIIIIQ', 0, 1000, 0, len(slp), len(slp), 0, 12345, 0, 0)
    return ('MIME-Version: 1.0\r\nContent-Type: application/x-msnmsgrp2p\r\nP2P-Dest: %s\r\n\r\n'
            % to).encode() + hdr + slp + struct.pack('>I', 0)


class Peer:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b''

    def send(self, b):
        self.sock.sendall(b)

    def line(self, timeout=20.0):
        end = time.time() + timeout
        while b'\r\n' not in self.buf:
            if time.time() > end:
                raise TimeoutError('no line; have %r' % self.buf[-200:])
            self.sock.settimeout(max(0.1, end - time.time()))
            d = self.sock.recv(65536)
            if not d:
                raise EOFError('closed')
            self.buf += d
        i = self.buf.index(b'\r\n')
        ln, self.buf = self.buf[:i].decode('utf-8'), self.buf[i + 2:]
        return ln

    def exact(self, n, timeout=20.0):
        end = time.time() + timeout
        while len(self.buf) < n:
            if time.time() > end:
                raise TimeoutError('payload short')
            self.sock.settimeout(max(0.1, end - time.time()))
            d = self.sock.recv(65536)
            if not d:
                raise EOFError('closed')
            self.buf += d
        b, self.buf = self.buf[:n], self.buf[n:]
        return b


# ---------------------------------------------------------------- the switchboard
def server(addr):
    members = {}  # account -> Peer
    lock = threading.Lock()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, PORT))
    ls.listen(8)
    print('sb ready', flush=True)

    def others(me):
        return [(a, p) for a, p in members.items() if a != me]

    def serve(p):
        me = None
        try:
            while True:
                ln = p.line(120)
                t = ln.split(' ')
                if t[0] == 'USR':
                    me = t[2]
                    with lock:
                        members[me] = p
                    p.send(('USR %s OK %s %s\r\n' % (t[1], me, NAMES[me])).encode())
                elif t[0] == 'CAL':
                    p.send(('CAL %s RINGING %s\r\n' % (t[1], SESSION)).encode())
                elif t[0] == 'ANS':
                    me = t[2]
                    with lock:
                        cur = list(members.items())
                        for i, (a, _) in enumerate(cur):
                            p.send(('IRO %s %d %d %s %s\r\n' % (t[1], i + 1, len(cur), a, NAMES[a])).encode())
                        p.send(('ANS %s OK\r\n' % t[1]).encode())
                        for a, q in cur:
                            q.send(('JOI %s %s\r\n' % (me, NAMES[me])).encode())
                        members[me] = p
                elif t[0] == 'MSG':
                    payload = p.exact(int(t[3]))
                    with lock:
                        for a, q in others(me):
                            q.send(('MSG %s %s %d\r\n' % (me, NAMES[me], len(payload))).encode() + payload)
                    if t[2] in ('A', 'D'):
                        p.send(('ACK %s\r\n' % t[1]).encode())
                elif t[0] == 'OUT':
                    with lock:
                        members.pop(me, None)
                        for a, q in others(me):
                            q.send(('BYE %s\r\n' % me).encode())
                    p.sock.close()
                    return
        except (EOFError, TimeoutError, OSError):
            with lock:
                if me and members.get(me) is p:
                    members.pop(me)

    threads = []
    for _ in range(3):
        s, _ = ls.accept()
        th = threading.Thread(target=serve, args=(Peer(s),), daemon=True)
        th.start()
        threads.append(th)
    for th in threads:
        th.join(180)


# ---------------------------------------------------------------- the clients
class Client(Peer):
    def __init__(self, addr, acct):
        super().__init__(socket.create_connection((addr, PORT), timeout=10))
        self.acct = acct
        self.trid = 0

    def cmd(self, s):
        self.trid += 1
        self.send(('%s %d %s\r\n' % (s.split(' ', 1)[0], self.trid, s.split(' ', 1)[1])).encode())
        return self.trid

    def msg(self, payload, ack='N'):
        self.trid += 1
        self.send(('MSG %d %s %d\r\n' % (self.trid, ack, len(payload))).encode() + payload)
        if ack == 'A':
            ln = self.line()
            assert ln == 'ACK %d' % self.trid, ln

    def wait(self, what, text=None):
        """Reads until a line starting with what (for MSG: whose payload holds text)."""
        while True:
            ln = self.line(30)
            if ln.startswith('MSG '):
                payload = self.exact(int(ln.split(' ')[3]))
                if what == 'MSG' and (text is None or text.encode('utf-8') in payload):
                    return ln, payload
            elif ln.startswith(what):
                return ln, None


def alice(addr):
    c = Client(addr, 'alice@kp2padm.test')
    c.cmd('USR alice@kp2padm.test ' + COOKIE)
    assert c.line().startswith('USR 1 OK')
    c.cmd('CAL bob@kp2padm.test')
    assert c.line().startswith('CAL 2 RINGING')
    print('alice ready', flush=True)
    c.wait('JOI bob@kp2padm.test')
    c.msg(typing(c.acct), 'U')
    c.msg(text_msg('hello bob'))
    c.wait('MSG', 'hi alice')
    c.msg(text_msg('Gr\u00fc\u00dfe <b>&amp;</b> "quoted"\r\nline two \U0001f600', b64=True), 'A')
    c.wait('MSG', 'ok ')
    c.msg(invite('kp2padm report.pdf', 123456))
    c.wait('MSG', 'Invitation-Command: CANCEL')
    c.wait('MSG', 'INVITE MSNMSGR:')
    c.wait('JOI carol@kp2padm.test')
    c.wait('MSG', 'hello both')
    c.msg(text_msg('hi carol & bob'))
    c.wait('BYE carol@kp2padm.test')
    c.msg(text_msg('carol left'))
    c.wait('MSG', 'bye alice')
    c.send(b'OUT\r\n')
    time.sleep(0.3)


def bob(addr):
    c = Client(addr, 'bob@kp2padm.test')
    c.cmd('ANS bob@kp2padm.test %s %s' % (SESSION, COOKIE))
    while not c.line().startswith('ANS 1 OK'):
        pass
    c.wait('MSG', 'hello bob')
    c.msg(typing(c.acct), 'U')
    c.msg(text_msg('hi alice'))
    c.wait('MSG', 'Content-Transfer-Encoding: base64')
    c.msg(text_msg('ok \U0001f44d <tag> & "q"\nnext'))
    c.wait('MSG', 'Application-File')
    c.msg(invite_cancel())
    c.msg(p2p_offer('bob@kp2padm.test', 'alice@kp2padm.test', 'vacation photo \u00fc.jpg', 2345678),
          'D')
    print('bob offered', flush=True)
    c.wait('MSG', 'carol left')
    c.msg(text_msg('bye alice'))
    c.wait('BYE alice@kp2padm.test')
    c.send(b'OUT\r\n')
    time.sleep(0.3)


def carol(addr):
    c = Client(addr, 'carol@kp2padm.test')
    c.cmd('ANS carol@kp2padm.test %s %s' % (SESSION, COOKIE))
    while not c.line().startswith('ANS 1 OK'):
        pass
    c.msg(text_msg('hello both'))
    c.wait('MSG', 'hi carol')
    c.send(b'OUT\r\n')
    time.sleep(0.3)


if __name__ == '__main__':
    {'server': server, 'alice': alice, 'bob': bob, 'carol': carol}[sys.argv[1]](sys.argv[2])
