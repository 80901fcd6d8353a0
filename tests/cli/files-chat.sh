#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end: kp2padm -r CAPTURE -s chat.audit=yes -s file.audit=yes -l - on the
# chat captures writes the file events of their offers, exactly:
#   irc-ngircd.pcap: alice's "DCC SEND kp2padm-dcc.bin ... 16384" as a listed file
#     (offer) on the IRC session, and the linked DCC connection as that file,
#     complete, with the sha256 of the file make-irc.sh made (16384 bytes of
#     AES-128-CTR, key 5a..5a, iv 0: 81a8f92f...4d6f); both seen from alice, the
#     IRC client, who sends it ("toserver");
#   msn-switchboard.pcap: the File Transfer invitation (text/x-msmsgsinvite) from
#     alice and the MSNP2P offer from bob, listed;
#   xmpp-prosody.pcap: no file event (no file transfer in it).
# The chat events are there too (their exact texts: tests/cli/run-tests.sh).
# Exit 77 (skipped) when the program does not know file.audit yet.
# Usage: files-chat.sh KP2PADM_BINARY
. "$(dirname "$0")/lib.sh" "$@"
kp_need_file_audit irc-ngircd.pcap

# check NAME CAPTURE NCHATS EXPECTED: EXPECTED lines are
# "app direction name size state listed_as sha256 parent" (parent: linked to another flow)
check() {
	local name=$1 pcap=$2 nchat=$3 want=$4
	if ! kp_events "$tmp/ev" -r "$pcaps/$pcap" -s chat.audit=yes -s file.audit=yes; then
		kp_check "$name" 1
		return
	fi
	python3 - "$tmp/ev" >"$tmp/got" <<'PY'
import json, sys
chats = 0
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev.get("event_type") == "chat":
        chats += 1
    if ev.get("event_type") != "file":
        continue
    f = ev["file"]
    print(f.get("app"), f.get("direction"), json.dumps(f.get("name"), ensure_ascii=False),
          f.get("size"), f.get("state"), f.get("listed_as", "-"), f.get("sha256", "-"),
          "parent" if "parent_flow_id" in ev else "-")
print("chats", chats)
PY
	kp_same_lines "$tmp/got" "$want
chats $nchat"
	kp_check "$name" $?
}

check "irc-ngircd: the DCC SEND offer and the DCC connection's file" irc-ngircd.pcap 7 '
irc toserver "kp2padm-dcc.bin" 16384 listed offer - -
irc toserver "kp2padm-dcc.bin" 16384 complete - 81a8f92f9bf4c9e5e5dca9fa3cd54e2835b88a4ca24b84e1ee8b9a69749f4d6f parent
'
check "msn-switchboard: the invitation and the MSNP2P offer" msn-switchboard.pcap 8 '
msn toserver "kp2padm report.pdf" 123456 listed offer - -
msn toclient "vacation photo ü.jpg" 2345678 listed offer - -
'
check "xmpp-prosody: chats, no file" xmpp-prosody.pcap 10 ''

# A name rule blocks the DCC offer's IRC session: no file reaches the DCC connection.
printf 'file = block name=nobin glob=*.bin\n' >"$tmp/block.conf"
"$bin" --quiet -c "$tmp/block.conf" -r "$pcaps/irc-ngircd.pcap" -s file.audit=yes \
	-l "$tmp/blk" 2>"$tmp/e"
kp_py "$tmp/blk" '
files = [e["file"] for e in ev if e["event_type"] == "file"]
ok = (len(files) == 1 and files[0]["state"] == "listed" and files[0]["verdict"] == "block"
      and files[0].get("rule") == "nobin")
if not ok:
    print("\n".join(json.dumps(f) for f in files[:5]))
sys.exit(0 if ok else 1)
'
kp_check "irc-ngircd: a *.bin block rule blocks at the offer" $?
kp_done
