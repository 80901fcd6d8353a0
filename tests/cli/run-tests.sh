#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Command-line behaviour a user relies on: help and version, exit status and a
# one-line reason on every error, truncated and corrupt captures (what was read
# is kept, the error names the file and the byte offset), capture format judged
# by content, config errors with FILE:LINE, events on stdout with -l -, several
# captures in one run, and the same output for the same input.
# Usage: run-tests.sh KP2PADM_BINARY
. "$(dirname "$0")/lib.sh" "$@"
here=$(cd "$(dirname "$0")/.." && pwd)
pcap=$pcaps/http-nginx.pcap

"$bin" --help >"$tmp/o" 2>&1
kp_check "help exits 0 and shows -r" $([ $? = 0 ] && grep -q -- "-r, --read" "$tmp/o"; echo $?)
"$bin" --version >"$tmp/o" 2>&1
kp_check "version" $(grep -qE '^kp2padm [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/o"; echo $?)
"$bin" --help-config >"$tmp/o" 2>&1
kp_check "help-config lists keys" $(grep -q "classify.packets" "$tmp/o"; echo $?)

"$bin" >"$tmp/o" 2>"$tmp/e"
rc=$?
kp_check "no capture: exit 1, one line" $([ $rc = 1 ] && [ "$(wc -l <"$tmp/e")" = 1 ]; echo $?)
"$bin" -r /nonexistent.pcap -l "$tmp/ev" >"$tmp/o" 2>"$tmp/e"
rc=$?
kp_check "missing capture named in the error" $([ $rc = 1 ] && grep -q "/nonexistent.pcap" "$tmp/e"; echo $?)
"$bin" --bogus 2>"$tmp/e"
kp_check "bad option: exit 1" $([ $? = 1 ]; echo $?)

# truncated in the middle of a packet: flows read before stay, error names file and offset
size=$(stat -c %s "$pcap")
head -c $((size * 2 / 3)) "$pcap" >"$tmp/trunc.pcap"
"$bin" --quiet -r "$tmp/trunc.pcap" -l "$tmp/ev" 2>"$tmp/e"
rc=$?
kp_check "truncated capture: exit 1" $([ $rc = 1 ]; echo $?)
kp_check "truncated capture: error names file and byte offset" \
	$(grep -q "trunc.pcap: .*byte offset [0-9]" "$tmp/e" && [ "$(wc -l <"$tmp/e")" = 1 ]; echo $?)
kp_check "truncated capture: flows before the damage are reported" $([ -s "$tmp/ev" ]; echo $?)

# garbage that is not a capture at all
head -c 4096 /dev/urandom >"$tmp/garbage.pcap"
"$bin" --quiet -r "$tmp/garbage.pcap" -l "$tmp/ev" 2>"$tmp/e"
kp_check "garbage file: exit 1 with reason" $([ $? = 1 ] && grep -q garbage.pcap "$tmp/e"; echo $?)

# an unknown link type is counted and said, never fatal
if command -v editcap >/dev/null; then
	editcap -T ieee-802-11 "$pcap" "$tmp/wlan.pcap" 2>/dev/null
	"$bin" -r "$tmp/wlan.pcap" -l "$tmp/ev" 2>"$tmp/e"
	kp_check "unknown link type: exit 0, counted and said" \
		$([ $? = 0 ] && grep -q "link type 105 is not one kp2padm decodes" "$tmp/e" &&
			grep -q "unknown link type [1-9]" "$tmp/e"; echo $?)
fi

# format by content: the same capture under a misleading name
cp "$pcap" "$tmp/capture.txt"
"$bin" --quiet -r "$tmp/capture.txt" -l "$tmp/a.json" && "$bin" --quiet -r "$pcap" -l "$tmp/b.json"
kp_check "format judged by content, not name" $(cmp -s "$tmp/a.json" "$tmp/b.json" && [ -s "$tmp/a.json" ]; echo $?)

# pcapng gives the same flows as pcap
if command -v editcap >/dev/null; then
	editcap -F pcapng "$pcap" "$tmp/c.pcapng" && "$bin" --quiet -r "$tmp/c.pcapng" -l "$tmp/c.json"
	kp_check "pcapng equals pcap" $(cmp -s "$tmp/b.json" "$tmp/c.json"; echo $?)
fi

# same input, same output
"$bin" --quiet -r "$pcap" -l "$tmp/b2.json"
kp_check "deterministic output" $(cmp -s "$tmp/b.json" "$tmp/b2.json"; echo $?)

# config errors name FILE:LINE and stop the run
printf 'classify.packets = 8\nstream.depth = lots\n' >"$tmp/bad.conf"
"$bin" --quiet -c "$tmp/bad.conf" -r "$pcap" -l "$tmp/ev" 2>"$tmp/e"
kp_check "bad config: exit 1 with FILE:LINE" $([ $? = 1 ] && grep -q "bad.conf:2:" "$tmp/e"; echo $?)

# the shipped example config loads and changes nothing
"$bin" --quiet -c "$here/../config/kp2padm.conf" -r "$pcap" -l "$tmp/conf.json"
kp_check "shipped config loads, defaults unchanged" $(cmp -s "$tmp/conf.json" "$tmp/b.json"; echo $?)

# events on stdout: JSON lines only (the summary goes to stderr)
"$bin" -r "$pcap" -l - >"$tmp/o" 2>"$tmp/e"
kp_check "-l - gives JSON lines on stdout" \
	$(python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/o" && [ -s "$tmp/o" ]; echo $?)
kp_check "summary on stderr names the events' destination" $(grep -q "standard output" "$tmp/e" && grep -q "^http " "$tmp/e"; echo $?)

# several captures in one run: events of both
"$bin" --quiet -r "$pcap" -r "$here/captures/pcap/ftp-vsftpd.pcap" -l "$tmp/two.json"
kp_check "two captures in one run" $(grep -q '"app_proto":"http"' "$tmp/two.json" && grep -q '"app_proto":"ftp"' "$tmp/two.json"; echo $?)

# an unwritable events file is an error before any work
"$bin" --quiet -r "$pcap" -l /nonexistent-dir/ev.json 2>"$tmp/e"
kp_check "unwritable events file: exit 1" $([ $? = 1 ] && grep -q "/nonexistent-dir/ev.json" "$tmp/e"; echo $?)

# default events file in the current directory
(cd "$tmp" && "$bin" --quiet -r "$pcap")
kp_check "default events file kp2padm-events.json" $([ -s "$tmp/kp2padm-events.json" ]; echo $?)

# the policy applies offline: a block rule drops the flow (block event naming the rule),
# and the client's reconnection to the same service meets the connection cache
ftp=$here/captures/pcap/ftp-vsftpd.pcap
printf '# policy test\nrule = block name=no-ftp app=ftp\n' >"$tmp/pol.conf"
"$bin" -c "$tmp/pol.conf" -r "$ftp" -l "$tmp/pol.json" 2>"$tmp/e"
kp_check "offline block: one block event naming the rule and FILE:LINE" $(python3 - "$tmp/pol.json" "$tmp/pol.conf" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
b = [e for e in ev if e["event_type"] == "block"]
ok = len(b) == 1 and b[0]["block"]["rule"] == "no-ftp" and b[0]["block"]["file"] == sys.argv[2] \
	and b[0]["block"]["line"] == 2 and b[0]["app_proto"] == "ftp" and b[0]["dest_port"] == 21
sys.exit(0 if ok else 1)
PY
echo $?)
kp_check "offline block: the reconnection to port 21 is dropped by the cache" $(python3 - "$tmp/pol.json" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"flow"' in l]
ctl = [e["flow"].get("policy") for e in ev if e["event_type"] == "flow" and e["dest_port"] == 21]
sys.exit(0 if sorted(ctl) == ["block", "cached"] else 1)
PY
echo $?)
kp_check "offline block: summary counts blocked and cached flows" \
	$(grep -q "policy: 1 flows blocked, 1 reconnections dropped by the connection cache" "$tmp/e"; echo $?)
printf 'rule = block app=ftp\nrule = allow app=http\n' >"$tmp/pol.conf"
"$bin" --quiet -c "$tmp/pol.conf" -r "$ftp" -l "$tmp/pol.json" 2>"$tmp/e"
kp_check "bad rule: exit 1 naming FILE:LINE and the word" \
	$([ $? = 1 ] && grep -q "pol.conf:2: .*allow" "$tmp/e" && [ "$(wc -l <"$tmp/e")" = 1 ]; echo $?)

# chat audit: every IRC PRIVMSG/NOTICE of the ngircd/irssi capture as a chat event, exactly
# (sender, receiver, text, direction); CTCP (VERSION, the DCC offer) is not chat; off by default
irc=$here/captures/pcap/irc-ngircd.pcap
"$bin" --quiet -r "$irc" -s chat.audit=yes -l "$tmp/chat.json"
kp_check "chat audit: the IRC messages, exactly" $(python3 - "$tmp/chat.json" <<'PY'
import json, sys
got = [(c["command"], c["from"], c["to"], c["text"], c["direction"])
       for c in (json.loads(l)["chat"] for l in open(sys.argv[1]) if '"event_type":"chat"' in l)]
want = [
    ("PRIVMSG", "alice", "#kp2padm", "Hello bob, this is alice on the kp2padm test channel.", "toserver"),
    ("PRIVMSG", "bob", "#kp2padm", "Hi alice! I can read you fine.", "toclient"),
    ("PRIVMSG", "alice", "bob", "a private word: can I send you a file?", "toserver"),
    ("PRIVMSG", "bob", "alice", "sure, send it over DCC", "toclient"),
    ("NOTICE", "bob", "alice", "ready when you are", "toclient"),
    ("PRIVMSG", "alice", "#kp2padm", "Got it? Bye for now.", "toserver"),
    ("NOTICE", "irc.kp2padm.test", "alice",
     "Connection statistics: client 0.5 kb, server 2.5 kb.", "toclient"),
]
sys.exit(0 if got == want else 1)
PY
echo $?)
"$bin" --quiet -r "$irc" -l "$tmp/chat.json"
kp_check "chat audit is off by default" $(! grep -q '"event_type":"chat"' "$tmp/chat.json"; echo $?)

# chat audit of MSN (our MSNP8 switchboard, msn_fake.py) and XMPP (prosody): every message
# exactly; MSN: base64 part decoded, receivers = the session's other members (JOI/BYE);
# XMPP: entities, CDATA and character references decoded, the bound JID for alice's
# stanzas (they carry no from=), nothing from the STARTTLS stream
chat_events() {
	python3 - "$1" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    if '"event_type":"chat"' in l:
        c = json.loads(l)["chat"]
        print(json.dumps([c["app"], c["command"], c["from"], c["to"], c["text"], c["direction"]],
                         ensure_ascii=False))
PY
}
"$bin" --quiet -r "$here/captures/pcap/msn-switchboard.pcap" -s chat.audit=yes -l "$tmp/msn.json"
chat_events "$tmp/msn.json" >"$tmp/msn.got"
cat >"$tmp/msn.want" <<'WANT'
["msn", "MSG", "alice@kp2padm.test", "bob@kp2padm.test", "hello bob", "toserver"]
["msn", "MSG", "bob@kp2padm.test", "alice@kp2padm.test", "hi alice", "toclient"]
["msn", "MSG", "alice@kp2padm.test", "bob@kp2padm.test", "Grüße <b>&amp;</b> \"quoted\"\r\nline two 😀", "toserver"]
["msn", "MSG", "bob@kp2padm.test", "alice@kp2padm.test", "ok 👍 <tag> & \"q\"\nnext", "toclient"]
["msn", "MSG", "carol@kp2padm.test", "alice@kp2padm.test,bob@kp2padm.test", "hello both", "toclient"]
["msn", "MSG", "alice@kp2padm.test", "bob@kp2padm.test,carol@kp2padm.test", "hi carol & bob", "toserver"]
["msn", "MSG", "alice@kp2padm.test", "bob@kp2padm.test", "carol left", "toserver"]
["msn", "MSG", "bob@kp2padm.test", "alice@kp2padm.test", "bye alice", "toclient"]
WANT
kp_check "chat audit: the MSN messages, exactly" $(diff "$tmp/msn.want" "$tmp/msn.got" >&2; echo $?)
"$bin" --quiet -r "$here/captures/pcap/xmpp-prosody.pcap" -s chat.audit=yes -l "$tmp/xmpp.json"
chat_events "$tmp/xmpp.json" >"$tmp/xmpp.got"
cat >"$tmp/xmpp.want" <<'WANT'
["xmpp", "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test", "hello bob", "toserver"]
["xmpp", "message", "bob@kp2padm.test/kqm", "alice@kp2padm.test/kqm", "hi alice", "toclient"]
["xmpp", "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test", "He said \"hi\" & left <now> 'ok'", "toserver"]
["xmpp", "message", "bob@kp2padm.test/kqm", "alice@kp2padm.test/kqm", "quotes \" and ' and <tag> & amp", "toclient"]
["xmpp", "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test", "raw <b>bold</b> & \"quotes\" ]]> end", "toserver"]
["xmpp", "message", "bob@kp2padm.test/kqm", "alice@kp2padm.test/kqm", "unicode éè 中文 🚀", "toclient"]
["xmpp", "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test", "char refs: AB😀 été", "toserver"]
["xmpp", "message", "bob@kp2padm.test/kqm", "alice@kp2padm.test/kqm", "multi\nline\nreply", "toclient"]
["xmpp", "message", "alice@kp2padm.test/kqm", "bob@kp2padm.test", "Grüße 日本語 🎉\nsecond line\r\n\tthird", "toserver"]
["xmpp", "message", "bob@kp2padm.test/kqm", "alice@kp2padm.test/kqm", "<![CDATA[ not cdata ]]> & done", "toclient"]
WANT
kp_check "chat audit: the XMPP messages, exactly (none from the STARTTLS stream)" \
	$(diff "$tmp/xmpp.want" "$tmp/xmpp.got" >&2; echo $?)

# where the time goes: the summary's per-stage table (timing.sample), absent when off
"$bin" -s timing.sample=1 -r "$pcap" -l /dev/null 2>"$tmp/e"
kp_py /dev/null "
import re
t = open('$tmp/e').read()
m = re.search(r'^timing: every 1st packet timed \((\d+) of (\d+), clock \w+, [0-9.]+ ns a read, taken off\), (\d+) ns per packet$', t, re.M)
assert m and m.group(1) == m.group(2) and int(m.group(1)) > 0, 'no timing line: ' + t
rows = {l.split()[0]: l.split() for l in t.splitlines()
        if re.match(r'^  (receive|decode|flow|reassembly|classify|app|policy|verdict|other) ', l)}
assert len(rows) == 9, rows
share = sum(float(r[2].rstrip('%')) for r in rows.values())
assert 99.0 < share < 101.0, share
assert all(int(r[5]) <= int(m.group(1)) for r in rows.values()), rows
assert int(rows['decode'][5]) == int(m.group(1)), rows['decode']
assert int(rows['app'][5]) > 0 and int(rows['classify'][5]) > 0, rows
"
kp_check "summary: timing table, every stage, shares add up to 100%, sample=1 times every packet" $?
"$bin" -r "$pcap" -l /dev/null 2>"$tmp/e"
kp_check "summary: timing on by default (every 64th packet)" \
	$(grep -q "^timing: every 64th packet timed" "$tmp/e"; echo $?)
"$bin" -s timing.sample=0 -r "$pcap" -l /dev/null 2>"$tmp/e"
kp_check "summary: timing.sample=0, no timing table" $(! grep -q "^timing:\|^  decode " "$tmp/e"; echo $?)

# inline mode without the privileges it needs refuses with one clear line
unpriv=()
[ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	unpriv=(setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all)
if [ "$(id -u)" != 0 ] || [ ${#unpriv[@]} != 0 ]; then
	chmod 777 "$tmp"
	"${unpriv[@]}" "$bin" -q 0 -l "$tmp/in.json" 2>"$tmp/e"
	kp_check "inline without CAP_NET_ADMIN: exit 1, one line naming the capability" \
		$([ $? = 1 ] && [ "$(wc -l <"$tmp/e")" = 1 ] && grep -q CAP_NET_ADMIN "$tmp/e"; echo $?)
fi
"$bin" -q 70000 2>"$tmp/e"
kp_check "bad queue number: exit 1" $([ $? = 1 ] && grep -q "queue\|-q" "$tmp/e"; echo $?)
"$bin" -q 0 -r "$ftp" 2>"$tmp/e"
kp_check "-q and -r together: exit 1" $([ $? = 1 ] && grep -q "exclude" "$tmp/e"; echo $?)
"$bin" --print-rules -s queues=2:3 -s interfaces=eth0 >"$tmp/rules" 2>"$tmp/e"
kp_check "--print-rules: the queue balance and the interface" \
	$(grep -q -- "-i eth0 -j NFQUEUE --queue-balance 2:3 --queue-bypass" "$tmp/rules"; echo $?)
"$bin" --print-rules -s mode=p2padm >"$tmp/rules" 2>"$tmp/e"
kp_check "--print-rules in P2PADM mode: no bypass, no CONNMARK" \
	$(! grep -q "CONNMARK\|RETURN" "$tmp/rules" && grep -q "NFQUEUE --queue-num 0" "$tmp/rules"; echo $?)

kp_done
