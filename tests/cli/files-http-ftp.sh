#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end: kp2padm -r CAPTURE -s file.audit=yes -l - writes one "file" event
# per HTTP body and FTP data transfer of the project's own captures, with the
# exact names, sizes, directions, states and sha256 of the files the capture
# scripts served (recomputed from the pcaps with tshark --export-objects
# http / ftp-data and tshark -z follow). Exit 77 (skipped) when the program
# does not know file.audit yet (before the content core).
# Usage: files-http-ftp.sh KP2PADM_BINARY
. "$(dirname "$0")/lib.sh" "$@"
kp_need_file_audit http-nginx.pcap

# check NAME CAPTURE EXPECTED: EXPECTED lines are "app direction name size state sha256"
check() {
	local name=$1 pcap=$2 want=$3
	if ! kp_events "$tmp/ev" -r "$pcaps/$pcap" -s file.audit=yes; then
		kp_check "$name" 1
		return
	fi
	python3 - "$tmp/ev" >"$tmp/got" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev.get("event_type") != "file":
        continue
    f = ev["file"]
    print(f.get("app"), f.get("direction"), f.get("name"), f.get("size"), f.get("state"),
          f.get("sha256", "-"))
PY
	kp_same_lines "$tmp/got" "$want"
	kp_check "$name" $?
}

# http-nginx.pcap: keep-alive with Content-Length and HEAD (:80); gzip + chunked, 404 (:8081)
check "http-nginx: names, sizes, sha256" http-nginx.pcap "
http toclient index.html 410 complete 12d88c33e3cbfc19384072dcca5f7d1e5484a9547953f0b640fd6c904613b33d
http toclient blob.bin 204800 complete e68ee6dd4604c6e1bfc72cd84c353de4c1881f0b77acc4a42f70392c0fec374c
http toclient notes.txt 8640 complete 1b5599b3c0a47e4871dbc68c80f0b1ef86d3c2cba9f46c5bca7c67b663d014f1
http toclient no-such-page.html 153 complete 533a1ca5d6595793725bca7641d9461a0f00dd1732dded3e4281196f5dd21736
"
# kqh-http-files.pcap: PUT upload, 206 range (bytes 100-1123 of blob.bin: a part, so no
# sha256 of the whole file), RFC 5987 name
check "kqh-http-files: upload, range, RFC 5987 name" kqh-http-files.pcap "
http toserver upload-20k.bin 20480 complete c47c5378c8747adc0e33714f3bcc1bbeee3832d77d908e7facbd33e813e8a918
http toclient blob.bin 1024 complete -
http toclient €.exe 4096 complete d097b3828422d328e551fc0de8d983c21c27501c5ec152461e36c664d6c7bb36
"
# ftp-vsftpd.pcap: names as the RETR/STOR arguments, bodies on the linked data connections
# (app ftp-data). Direction is seen from the control connection's client: every download is
# "toclient", also in active mode (PORT for data-30k.bin, EPRT for data-8k.bin) where the
# server opened the data connection; the upload is "toserver".
check "ftp-vsftpd: names, sizes, sha256" ftp-vsftpd.pcap "
ftp-data toclient pub/README.txt 3600 complete e25767874fc0e754b7896734c0aff6abfd833de90eea53e941c761ed17275484
ftp-data toclient pub/data-100k.bin 102400 complete 74296f9997f55b8f7a2b5613b3fcc5d8a2fe2ea0792ba4f4965c96584b2e442b
ftp-data toclient pub/data-30k.bin 30720 complete a851b6eac1f54888c80a3c506cfbf10c069be0bed514e2683b4de853e3550089
ftp-data toserver incoming/upload-20k.bin 20480 complete d29f01a861bf7615374f9331f9efb6eb874859c433b50bf1b4cba5e294649776
ftp-data toclient data-8k.bin 8192 complete 8dee191cd4c3fa0ae27bff1227342a65c47608bb7f3049036cd7fde41f19d3a2
"
# a name rule on the decoded RFC 5987 name blocks the flow at that file
"$bin" --quiet -r "$pcaps/kqh-http-files.pcap" -s 'file=block name=noexe glob=*.exe' \
	-l - >"$tmp/ev" 2>/dev/null
kp_py "$tmp/ev" '
files = [e["file"] for e in ev if e["event_type"] == "file"]
blocks = [e["block"] for e in ev if e["event_type"] == "block"]
ok = (len(files) == 1 and files[0]["name"] == "\u20ac.exe" and files[0]["verdict"] == "block"
      and files[0]["rule"] == "noexe" and len(blocks) == 1 and blocks[0]["rule"] == "noexe")
if not ok:
    print(open(sys.argv[1]).read())
sys.exit(0 if ok else 1)
'
kp_check "http: file = block glob=*.exe blocks the RFC 5987 name" $?
# an audit rule by glob on the FTP names: the four .bin transfers, not README.txt
"$bin" --quiet -r "$pcaps/ftp-vsftpd.pcap" -s 'file=audit name=bins glob=*.bin' \
	-l - >"$tmp/ev" 2>/dev/null
n=$(grep -c '"event_type":"file"' "$tmp/ev")
[ "$n" = 4 ] && ! grep '"event_type":"file"' "$tmp/ev" | grep -q README
st=$?
echo "$n file events" >"$tmp/why"
kp_check "ftp: file = audit glob=*.bin audits the four .bin transfers" $st
# without file.audit: no file events at all
"$bin" --quiet -r "$pcaps/http-nginx.pcap" -l - >"$tmp/ev" 2>/dev/null
! grep -q '"event_type":"file"' "$tmp/ev"
kp_check "no file events without file.audit" $?
kp_done
