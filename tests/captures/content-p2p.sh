#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end content checks of the P2P modules (issue 4) on our captures:
# kp2padm -r CAPTURE -s file.audit=yes -l - must write exactly these file and
# search events (app, direction, name, listed_as or state, size, sha256, P2P hash;
# search text), and hash/name rules must block the flows that carry them.
# Usage: content-p2p.sh KP2PADM_BINARY
. "$(dirname "$0")/../cli/lib.sh" "$@"
python3 - "$bin" "$pcaps" <<'PY'
import collections, json, subprocess, sys

binary, pcaps = sys.argv[1], sys.argv[2]
ED = "5841ed0390599bb10f5957334c8fed9f"
TTH = "13aafa35e02052faedc3c03b4ed91ea49fd8642a48cfc6af"
SHA_A = "83f88ac3433808c9e26ecbd09da10cd294f1e2e2"
SHA_B = "d1e08a280ba9c0702a3253e5fa0821b4f7800084"
SHA_E = "5cf7c18d7eb1ecdef256f6c21f731082e0d37582"  # kp2padm-eicar.com holds EICAR reversed (make-gnutella.sh)
EICAR_REV256 = "a3f206eac92d0acdc0d59ffb883c99d92b9619ece714896cf03552f696f301f0"
EICAR256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"


def L(app, d, name, what, size, kind, h):  # listed file
    return ("file", app, d, name, "listed", what, size, None, kind, h)


def F(app, d, name, size, sha256, kind=None, h=None):  # a complete body
    return ("file", app, d, name, "complete", None, size, sha256, kind, h)


def S(app, text):
    return ("search", app, "toserver", text)


WANT = {
    "dc-uhub": [
        S("directconnect", "kp2padm"),
        L("directconnect", "toserver", "/files/kp2padm-dc-sample.bin", "search_result", 24576,
          "directconnect.tth", TTH),
        F("directconnect", "toserver", "TTH/COVPUNPAEBJPV3ODYA5U5WI6USP5QZBKJDH4NLY", 24576,
          "b922217aeaa2c49a64f87e62f74ba23b694edd8af1e7f3450982ce17bbf80360",
          "directconnect.tth", TTH),
        F("directconnect", "toserver", "files.xml.bz2", 232,
          "30e982d23ea6b88f6499af925866810c241de79ea02b0a3cd1736f3fad39ea35"),
    ],
    "gnutella-servent": [
        S("gnutella", "kp2padm"),
        L("gnutella", "toclient", "kp2padm gnutella sample.bin", "search_result", 65536, "sha1", SHA_A),
        L("gnutella", "toclient", "kp2padm-notes.txt", "search_result", 300, "sha1", SHA_B),
        L("gnutella", "toclient", "kp2padm-eicar.com", "search_result", 68, "sha1", SHA_E),
        L("gnutella", "toserver", "kp2padm-eicar.com", "request", None, None, None),
        F("gnutella", "toclient", "kp2padm-eicar.com", 68, EICAR_REV256, "sha1", SHA_E),
        L("gnutella", "toserver", "kp2padm gnutella sample.bin", "request", None, None, None),
        F("gnutella", "toclient", "kp2padm gnutella sample.bin", 65536,
          "7d98068dbde5c774d51aa6a6977b8e775e3d8d57fd28271af26b1e5be95b79fd", "sha1", SHA_A),
        L("gnutella", "toserver", "kp2padm-notes.txt", "request", None, None, None),
        F("gnutella", "toclient", "kp2padm-notes.txt", 300,
          "02f348b5720d99bf26a3e8c526e131b494179c6a919869644c2edb90bbd15dca", "sha1", SHA_B),
        L("gnutella", "toserver", "urn:sha1:QP4IVQ2DHAEMTYTOZPIJ3IIM2KKPDYXC", "request", None,
          "sha1", SHA_A),
        F("gnutella", "toclient", "urn:sha1:QP4IVQ2DHAEMTYTOZPIJ3IIM2KKPDYXC", 4096,
          "83f0221b41a324e78aa704ee68e6629ebd1b517add16df69f4846e3fd5625cfd", "sha1", SHA_A),
    ],
    "edonkey-search": [
        L("edonkey", "toserver", "kp2padm-sample.bin", "offer", 204800, "edonkey.hash", ED),
        S("edonkey", "kp2padm sample"),
        L("edonkey", "toclient", "kp2padm-sample.bin", "search_result", 204800, "edonkey.hash", ED),
        L("edonkey", "toclient", "kp2padm sample (copy).bin", "search_result", 5000000000,
          "edonkey.hash", "00112233445566778899aabbccddeeff"),
        S("edonkey", "notes"),
        L("edonkey", "toclient", "kp2padm-notes.txt", "search_result", 300, "edonkey.hash",
          "ffeeddccbbaa99887766554433221100"),
    ],
    "edonkey-transfer": [
        L("edonkey", "toserver", "", "request", None, "edonkey.hash", ED),
        L("edonkey", "toclient", "kp2padm-sample.bin", "answer", None, "edonkey.hash", ED),
    ],
}


def run(name, *sets):
    args = [binary, "--quiet", "-r", "%s/%s.pcap" % (pcaps, name), "-l", "-"]
    for s in sets:
        args += ["-s", s]
    out = subprocess.run(args, capture_output=True, check=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines()]


def key(e):
    if e["event_type"] == "search":
        s = e["search"]
        return ("search", s["app"], s.get("direction"), s["text"])
    f = e["file"]
    h = f.get("hash") or {}
    return ("file", f["app"], f["direction"], f["name"], f["state"], f.get("listed_as"),
            f.get("size"), f.get("sha256"), h.get("kind"), h.get("value"))


fails = 0


def check(what, ok, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails += 1
        if detail:
            print(detail)


for name, want in WANT.items():
    got = [key(e) for e in run(name, "file.audit=yes") if e["event_type"] in ("file", "search")]
    ok = collections.Counter(got) == collections.Counter(want)
    check("%s: file and search events" % name, ok,
          "  want %s\n  got  %s" % (sorted(map(str, want)), sorted(map(str, got))))
    none = [e for e in run(name) if e["event_type"] in ("file", "search")]
    check("%s: nothing without file.audit or rules" % name, not none)

# the eDonkey parts: 6 OP_SENDINGPART, 61440 bytes, the last OP_REQUESTPARTS ranges
fl = [e for e in run("edonkey-transfer", "file.audit=yes")
      if e["event_type"] == "flow" and e["proto"] == "TCP"]
ed = fl[0].get("edonkey", {}) if fl else {}
check("edonkey-transfer: 6 parts, 61440 part bytes, requested ranges",
      ed.get("parts") == 6 and ed.get("part_bytes") == 61440 and
      ed.get("parts_requested") == [{"start": 30720, "end": 40960},
                                    {"start": 40960, "end": 51200},
                                    {"start": 51200, "end": 61440}], "  got %s" % ed)

# hash and name rules block the flows that carry the object
ev = run("edonkey-transfer", "file=block name=ed2k hash=" + ED)
blocked = {(e["proto"], e["dest_port"]) for e in ev if e["event_type"] == "block"}
check("edonkey-transfer: hash rule blocks the TCP transfer and the UDP reask",
      blocked == {("TCP", 4662), ("UDP", 4672)}, "  got %s" % blocked)
ev = run("dc-uhub", "file=block name=tth hash=" + TTH)
check("dc-uhub: TTH rule blocks the search result and the download flow",
      {(e["proto"], e["dest_port"]) for e in ev if e["event_type"] == "block"} ==
      {("UDP", 41000), ("TCP", 41000)})
ev = run("gnutella-servent", "file=block name=txt glob=*.txt")
check("gnutella-servent: glob rule blocks the servent (hit) and the .txt download",
      sorted(e["src_port"] for e in ev if e["event_type"] == "block") ==
      sorted({e["src_port"] for e in ev if e["event_type"] == "file" and
              e["file"]["name"] == "kp2padm-notes.txt"}) and
      sum(e["event_type"] == "block" for e in ev) == 2)
# scanning (the project's EICAR-only test database next to the binary, when built with
# libclamav): a copy of the capture whose placeholder (EICAR reversed) is turned round is
# read with checksum = off (the patched segment's TCP checksum no longer fits); the EICAR
# download is a virus and the event names the signature (offline the verdict may come back
# after the flow ended: then there is nothing left to block)
import os
import tempfile
db = os.path.join(os.path.dirname(binary), "kp2padm-test.ndb")
if os.path.exists(db):
    spec = __import__("importlib.util").util.spec_from_file_location(
        "t", os.path.join(pcaps, "..", "..", "..", "tools", "scan-testdata.py"))
    tmod = __import__("importlib.util").util.module_from_spec(spec)
    spec.loader.exec_module(tmod)
    rev = tmod._EICAR_REVERSED.encode("ascii")
    raw = open("%s/gnutella-servent.pcap" % pcaps, "rb").read()
    with tempfile.TemporaryDirectory() as td:
        with open(os.path.join(td, "gnutella-eicar.pcap"), "wb") as fo:
            fo.write(raw.replace(rev, rev[::-1]))
        out = subprocess.run([binary, "--quiet", "-r", os.path.join(td, "gnutella-eicar.pcap"),
                              "-l", "-", "-s", "checksum=off", "-s", "scan=yes",
                              "-s", "scan.db=" + db],
                             capture_output=True, check=True, text=True).stdout
    ev = [json.loads(l) for l in out.splitlines()]
    vir = [e for e in ev if e["event_type"] == "virus"]
    check("gnutella-servent: scan finds EICAR in the /get/3 download",
          raw.count(rev) == 1 and
          len(vir) == 1 and vir[0]["virus"]["file"]["name"] == "kp2padm-eicar.com" and
          vir[0]["virus"]["file"]["sha256"] == EICAR256 and
          vir[0]["virus"]["signature"].startswith("Kp2padm.Test.EICAR"), "  got %s" % vir)
else:
    print("skip scan: no %s" % db)
print("%d failed" % fails)
sys.exit(1 if fails else 0)
PY
