#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A small XMPP client (RFC 6120/6121) over a raw socket, for make-xmpp.sh.

Written for the captures because the test needs exact control of the XML on
the wire (CDATA sections, character references, no from= on the client's
stanzas), which a library client does not give. It speaks real XMPP to a real
server (prosody): stream header, SASL PLAIN, resource bind, session, presence,
<message> stanzas. Roles:
  alice HOST ADDR          sends the hostile messages to bob, waits for bob's replies
  bob HOST ADDR N          answers each of N messages with a reply of its own
  alice-tls HOST ADDR CA   STARTTLS, then logs in and sends one message inside TLS
Everything has a timeout; exit status 0 only when the exchange completed.
"""
import base64
import socket
import ssl
import sys
import time

PASSWORD = 'kp2padm-pw'

# What alice sends (raw XML bodies as they go on the wire) and what the test expects decoded.
ALICE_BODIES = [
    'hello bob',
    'He said &quot;hi&quot; &amp; left &lt;now&gt; &apos;ok&apos;',
    '<![CDATA[raw <b>bold</b> & "quotes" ]]]]><![CDATA[> end]]>',
    'char refs: &#65;&#x42;&#x1F600; &#233;t&#xE9;',
    'Gr\u00fc\u00dfe \u65e5\u672c\u8a9e \U0001f389\nsecond line\r\n\tthird',
]
BOB_REPLIES = [
    'hi alice',
    'quotes " and \' and <tag> & amp',
    'unicode \u00e9\u00e8 \u4e2d\u6587 \U0001f680',
    'multi\nline\nreply',
    '<![CDATA[ not cdata ]]> & done',
]


def xml_escape(s):
    return s.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


class Conn:
    def __init__(self, addr, host):
        self.sock = socket.create_connection((addr, 5222), timeout=10)
        self.host = host
        self.buf = b''

    def send(self, s):
        self.sock.sendall(s.encode('utf-8'))

    def wait_for(self, marker, timeout=10.0):
        """Reads until marker (bytes) is in the buffer; returns and drops what came before it."""
        end = time.time() + timeout
        while marker not in self.buf:
            if time.time() > end:
                raise TimeoutError('waiting for %r, have %r' % (marker, self.buf[-300:]))
            self.sock.settimeout(max(0.1, end - time.time()))
            d = self.sock.recv(65536)
            if not d:
                raise EOFError('closed while waiting for %r' % marker)
            self.buf += d
        i = self.buf.index(marker) + len(marker)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got

    def stream(self):
        self.send("<?xml version='1.0'?><stream:stream to='%s' xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" % self.host)
        return self.wait_for(b'</stream:features>')

    def login(self, user):
        tok = base64.b64encode(b'\0' + user.encode() + b'\0' + PASSWORD.encode()).decode()
        self.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" % tok)
        if b'<success' not in self.wait_for(b'success', 10) + self.wait_for(b'>'):
            raise RuntimeError('auth failed')
        self.stream()
        self.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                  "<resource>kqm</resource></bind></iq>")
        r = self.wait_for(b'</iq>')
        if b'<jid>' not in r:
            raise RuntimeError('bind failed: %r' % r)
        self.send("<iq type='set' id='sess1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>")
        self.wait_for(b"id='sess1'")
        self.wait_for(b'>')
        self.send('<presence/>')

    def close(self):
        try:
            self.send('</stream:stream>')
            self.wait_for(b'</stream:stream>', 3)
        except Exception:
            pass
        self.sock.close()


def main():
    role, host, addr = sys.argv[1], sys.argv[2], sys.argv[3]
    if role == 'bob':
        n = int(sys.argv[4])
        c = Conn(addr, host)
        c.stream()
        c.login('bob')
        print('bob ready', flush=True)
        for i in range(n):
            c.wait_for(b'</body>', 60)
            c.wait_for(b'</message>', 10)
            c.send("<message to='alice@%s/kqm' type='chat' id='b%d'><body>%s</body></message>"
                   % (host, i, xml_escape(BOB_REPLIES[i])))
        time.sleep(1.0)
        c.close()
    elif role == 'alice':
        c = Conn(addr, host)
        c.stream()
        c.login('alice')
        time.sleep(0.5)
        for i, body in enumerate(ALICE_BODIES):
            c.send("<message to='bob@%s' type='chat' id='a%d'><body>%s</body></message>"
                   % (host, i, body))
            c.wait_for(b"id='b%d'" % i, 20)
            c.wait_for(b'</message>', 10)
        c.close()
    elif role == 'alice-tls':
        c = Conn(addr, host)
        c.stream()
        c.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        c.wait_for(b'<proceed')
        c.wait_for(b'>')
        ctx = ssl.create_default_context(cafile=sys.argv[4])
        ctx.check_hostname = False
        c.sock = ctx.wrap_socket(c.sock, server_hostname=host)
        c.buf = b''
        c.stream()
        c.login('alice')
        c.send("<message to='bob@%s' type='chat' id='t0'><body>secret inside TLS</body></message>"
               % host)
        time.sleep(0.5)
        c.close()
    else:
        sys.exit('unknown role ' + role)


if __name__ == '__main__':
    main()
