#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Live tests of content management through the inline gateway (issue 4, section 6), on
# the test bed of testbed.sh: real servers in the server namespace (nginx, vsftpd,
# ngircd, opentracker + a libtorrent seeder), real clients (curl, libtorrent by magnet
# link, a raw-socket IRC client) in the client namespaces, the daemon in the NAT gateway
# with the kernel's FTP and IRC conntrack helpers (this kernel assigns no helper by
# port: raw PREROUTING -j CT --helper ftp / irc, see ../shared/TESTBED.md).
#
#   virus_http, virus_ftp_passive, virus_ftp_active   EICAR (written at test time from a
#       reversed string) is stopped: curl's copy is incomplete, a virus event names
#       Kp2padm.Test.EICAR (scan = yes, scan.db = the project's test database)
#   clean_http_same_size, clean_ftp_same_size   a clean 68-byte file passes intact
#   clean_http_5mb                    a 5 MiB clean file passes intact with scanning on
#   exe_ftp_block                     file = block glob=*.exe stops an FTP download of
#                                     x.exe; another FTP download passes
#   exe_torrent_block                 the same rule stops a torrent whose file list holds
#                                     an .exe (the leecher has only a magnet link, so the
#                                     file list crosses the gateway in ut_metadata)
#   irc_chat                          chat.audit = yes: each PRIVMSG is a chat event with
#                                     the exact text
#   irc_dcc_file                      file.audit = yes: a DCC SEND offer is a file event
#                                     (listed, offer), its transfer one with the sha256
# plain_* cases check the bed without the daemon (FTP passive/active and IRC DCC through
# the NAT with the helpers, BitTorrent by magnet link). The bandwidth case lives in
# gateway-live.sh (bandwidth_limit).
#
# A case skips (prints "skip: REASON", returns 77) when the daemon lacks a configuration
# key it needs (kp2padm --help-config) or the test signature database is not built.
#
# Usage (root): tests/live/content-live.sh [NAME...]     (default: every case)
#   env: KP2PADM (the daemon; meson passes build/kp2padm), KP2PADM_TEST_NDB (the test
#   signature database; default: kp2padm-test.ndb beside KP2PADM), KPT_PREFIX (the bed's
#   namespace prefix, default kpc-, so that gateway-live's kpt- bed may run alongside)
# Exit: 0 all passed (or skipped), 1 a case failed, 77 not root / every case skipped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "skip: the live tests need root (network namespaces)"
	exit 77
fi
for t in nginx curl vsftpd ngircd opentracker iptables conntrack; do
	command -v "$t" >/dev/null || { echo "skip: $t missing"; exit 77; }
done
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null || { echo "skip: python3-libtorrent missing"; exit 77; }
getent passwd ftp >/dev/null || { echo "skip: no 'ftp' user (the vsftpd package makes it)"; exit 77; }

export KPT_PREFIX=${KPT_PREFIX:-kpc-}
export KPT_HTTP_MB=${KPT_HTTP_MB:-5} # big.bin: the 5 MiB clean file
. "$HERE/testbed.sh"
NDB=${KP2PADM_TEST_NDB:-$(dirname "$KP2PADM")/kp2padm-test.ndb}

TESTS=(
	plain_ftp_nat
	plain_irc_dcc
	plain_bt_magnet
	virus_http
	clean_http_same_size
	virus_ftp_passive
	virus_ftp_active
	clean_ftp_same_size
	clean_http_5mb
	exe_ftp_block
	exe_torrent_block
	irc_chat
	irc_dcc_file
)

# EICAR's test file: made by the scan helper's tools/scan-testdata.py (the source of the
# test signature database) when the tree has it, else from this reversed string (kept
# reversed so that this file is no EICAR file itself).
EICAR_TOOL=$KPT_SRC/tools/scan-testdata.py
EICAR_REV='*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$}7)CC7)^P(45XZP\4[PA@%P!O5X'
EICAR_SHA=275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f
# libclamav appends .UNOFFICIAL to the names of signatures from unsigned databases
SIG='virus.signature~^Kp2padm\.Test\.EICAR(\.UNOFFICIAL)?$'
CHAN='#kp2padm'

# --- the servers (once per run; the EXIT trap of testbed.sh stops them) ----------------
# write_files DIR: eicar.com, clean.bin (68 B, not EICAR), x.exe, a.bin
write_files() {
	if [ -f "$EICAR_TOOL" ]; then
		$KPT_PY "$EICAR_TOOL" eicar "$1/eicar.com"
	else
		$KPT_PY -c 'import sys; sys.stdout.write(sys.argv[1][::-1])' "$EICAR_REV" >"$1/eicar.com"
	fi
	[ "$(sha256sum "$1/eicar.com" | cut -d' ' -f1)" = "$EICAR_SHA" ]
	printf 'kp2padm live test: a clean file, exactly as long as the EICAR file.\n' >"$1/clean.bin"
	[ "$(stat -c %s "$1/clean.bin")" = 68 ]
	head -c 150000 /dev/urandom >"$1/x.exe"
	head -c 120000 /dev/urandom >"$1/a.bin"
}

# nginx (kpt_http_start: big.bin, small.bin) plus the content files
http_start() {
	kpt_http_start
	write_files "$KPT_TMP/nginx/www"
	chmod a+r "$KPT_TMP/nginx/www"/*
}

# vsftpd: anonymous download of pub/ (the same files), passive ports 40000-40009,
# active from port 20
ftp_start() {
	local d=$KPT_TMP/ftp
	mkdir -p "$d/root/pub" "$d/empty"
	write_files "$d/root/pub"
	chmod 755 "$d" "$d/root" "$d/root/pub" "$d/empty"
	chmod 644 "$d/root/pub"/*
	cat >"$d/vsftpd.conf" <<CONF
# vsftpd for the kp2padm content live tests only; everything lives in $d.
listen=YES
listen_ipv6=NO
listen_address=$KPT_S_IP
listen_port=21
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$d/root
local_enable=NO
write_enable=NO
dirmessage_enable=NO
hide_ids=YES
pasv_enable=YES
pasv_address=$KPT_S_IP
pasv_min_port=40000
pasv_max_port=40009
port_enable=YES
connect_from_port_20=YES
ftp_data_port=20
secure_chroot_dir=$d/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
tcp_wrappers=NO
ssl_enable=NO
xferlog_enable=NO
idle_session_timeout=60
data_connection_timeout=30
CONF
	kpt_bg $KPT_NS_S vsftpd "$d/vsftpd.conf"
	kpt_wait_port $KPT_NS_S 21
}

# ngircd on the server's 6667 (it drops root for nobody before writing its PID file)
irc_start() {
	local d=$KPT_TMP/irc
	mkdir -p "$d/run"
	chown nobody "$d/run"
	chmod 755 "$d"
	cat >"$d/ngircd.conf" <<CONF
# ngircd for the kp2padm content live tests only.
[Global]
	Name = irc.kp2padm.test
	Info = kp2padm live test IRC server
	AdminInfo1 = kp2padm live tests
	AdminInfo2 = test network namespace
	AdminEMail = nobody@kp2padm.test
	Listen = $KPT_S_IP
	Ports = 6667
	MotdPhrase = kp2padm live test server
	PidFile = $d/run/ngircd.pid
[Limits]
	PingTimeout = 120
	PongTimeout = 20
	MaxPenaltyTime = 0
[Options]
	DNS = no
	Ident = no
	PAM = no
[Channel]
	Name = $CHAN
CONF
	kpt_bg $KPT_NS_S ngircd -n -f "$d/ngircd.conf"
	kpt_wait_port $KPT_NS_S 6667
}

# the gateway's conntrack helpers (FTP data connections and IRC DCC through the NAT)
helpers_on() {
	ip netns exec $KPT_NS_GW iptables -t raw -A PREROUTING -p tcp --dport 21 -j CT --helper ftp
	ip netns exec $KPT_NS_GW iptables -t raw -A PREROUTING -p tcp --dport 6667 -j CT --helper irc
}
helpers_off() {
	ip netns exec $KPT_NS_GW iptables -t raw -D PREROUTING -p tcp --dport 21 -j CT --helper ftp
	ip netns exec $KPT_NS_GW iptables -t raw -D PREROUTING -p tcp --dport 6667 -j CT --helper irc
}

# --- clients -----------------------------------------------------------------------------
# get NS URL OUT [CURL_ARGS...]: curl (15 s at most); prints "rc=N size=BYTES"; never fails
get() {
	local ns=$1 url=$2 out=$3 rc=0
	shift 3
	rm -f "$out"
	ip netns exec "$ns" curl -q --noproxy '*' -sS -g --max-time 15 -o "$out" "$@" "$url" \
		2>"$out.err" || rc=$?
	echo "rc=$rc size=$(stat -c %s "$out" 2>/dev/null || echo absent)"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# stopped OUT "rc=N size=S": curl failed and its copy is absent or shorter than 68 bytes
stopped() {
	local rc=${2#rc=} size=${2#*size=}
	rc=${rc%% *}
	[ "$rc" != 0 ] || { echo "# curl succeeded ($2)"; return 1; }
	[ "$size" = absent ] || [ "$size" -lt 68 ] || { echo "# the client holds $size bytes"; return 1; }
}

# FTP download URL modes: passive (curl's default: EPSV, then PASV) or active (EPRT/PORT
# from the client's ports 50000-50009)
ftp_args() {
	case $1 in
	passive) echo "--ftp-pasv" ;;
	active) echo "--ftp-port $2:50000-50009" ;;
	esac
}

# --- daemon --------------------------------------------------------------------------------
ev_count() { $KPT_PY "$HERE/events.py" count "$KPT_EVENTS" "$@"; }
ev_show() { $KPT_PY "$HERE/events.py" show "$KPT_EVENTS" "$@"; }

# needs KEY...: skips the case unless the daemon knows every configuration KEY
needs() {
	local k help
	kpt_daemon_available || { echo "skip: $KP2PADM has no inline mode"; return 77; }
	help=$("$KP2PADM" --help-config 2>&1)
	for k in "$@"; do
		if ! printf '%s\n' "$help" | grep -q "^  $k "; then
			echo "skip: the daemon has no '$k' key yet (content core not merged)"
			return 77
		fi
	done
}

needs_scan() {
	needs scan scan.db || return 77
	[ -s "$NDB" ] || { echo "skip: no test signature database $NDB (the scan helper builds it)"; return 77; }
}

conf() {
	local f=$KPT_TMP/kp.conf
	{
		echo "interfaces = ${KPT_GW_IFACES// /,}"
		echo "stats.interval = 1"
		printf '%s\n' "$@"
	} >"$f"
	echo "$f"
}

start() {
	ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
	kpt_daemon_start -q 0:1 "$@"
}

stop_daemon() {
	kpt_daemon_stop
}

scan_conf() {
	conf "scan = yes" "scan.db = $NDB" "$@"
}

# --- sanity: the bed without the daemon -------------------------------------------------
# FTP through the NAT: passive needs no helper (the server's own address), active needs
# the FTP helper (the PORT address is rewritten, the server's connection expected).
test_plain_ftp_nat() {
	local out=$KPT_TMP/dl.bin r
	r=$(get $KPT_NS_C1 "ftp://$KPT_S_IP/pub/a.bin" "$out" --ftp-pasv)
	echo "# passive: $r"
	[ "$(sha "$out")" = "$(sha "$KPT_TMP/ftp/root/pub/a.bin")" ]
	# shellcheck disable=SC2046
	r=$(get $KPT_NS_C1 "ftp://$KPT_S_IP/pub/a.bin" "$out" $(ftp_args active $KPT_C1_IP))
	echo "# active: $r"
	[ "$(sha "$out")" = "$(sha "$KPT_TMP/ftp/root/pub/a.bin")" ]
	helpers_off
	ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
	# shellcheck disable=SC2046
	r=$(get $KPT_NS_C1 "ftp://$KPT_S_IP/pub/a.bin" "$out" --max-time 4 $(ftp_args active $KPT_C1_IP))
	helpers_on
	echo "# active without the helper: $r"
	case $r in rc=0*) echo "# active FTP worked without the helper"; return 1 ;; esac
	# the data connection came from the server's port 20 through the helper's expectation
	# shellcheck disable=SC2046
	get $KPT_NS_C2 "ftp://$KPT_S_IP/pub/a.bin" "$out" $(ftp_args active $KPT_C2_IP) >/dev/null
	ip netns exec $KPT_NS_GW conntrack -L -p tcp --sport 20 2>/dev/null | grep -q "dst=$KPT_GW_S_IP"
}

# irc_session DIR: alice (c1) and bob (server namespace) talk through the gateway; alice
# offers DIR/dcc-file.bin by DCC SEND and bob fetches it (through the IRC helper's
# expectation on the gateway's outside address). 0 when both ends finished.
irc_session() {
	local d=$1 bpid blog rc=0
	mkdir -p "$d/dl"
	printf '%s\n' \
		'hello from alice: "quoted" \ back	slash <b>ünï€</b> {json:"x"}' \
		'second line, with a trailing space ' \
		'@bob a private word for bob only' >"$d/texts.txt"
	[ -s "$d/dcc-file.bin" ] || head -c 65536 /dev/urandom >"$d/dcc-file.bin"
	kpt_bg $KPT_NS_S timeout 40 $KPT_PY "$HERE/irc_peer.py" bob $KPT_S_IP 6667 "$CHAN" "$d/dl" \
		"fine, send it"
	bpid=$KPT_LAST_PID blog=$KPT_LAST_LOG
	timeout 40 ip netns exec $KPT_NS_C1 $KPT_PY "$HERE/irc_peer.py" alice $KPT_S_IP 6667 "$CHAN" \
		"$d/dcc-file.bin" $KPT_C1_IP 45000 "$d/texts.txt" >"$d/alice.log" 2>&1 || rc=1
	wait "$bpid" || rc=1
	cp "$blog" "$d/bob.log"
	sed 's/^/# /' "$d/alice.log" "$d/bob.log" 2>/dev/null || true
	[ $rc = 0 ] && cmp -s "$d/dcc-file.bin" "$d/dl/dcc-file.bin"
}

test_plain_irc_dcc() {
	irc_session "$KPT_TMP/irc-plain"
	# the offer named alice's own address; bob connected to the gateway's outside one
	grep -q "from $KPT_GW_S_IP:45000" "$KPT_TMP/irc-plain/bob.log"
}

# bt_magnet_swarm TIMEOUT: a two-file torrent (readme.txt, setup.exe) seeded in the
# server namespace, leeched from c1 by magnet link; 0 when the leecher got everything
bt_magnet_swarm() {
	local d=$KPT_TMP/btm out ih mag tr="http://$KPT_S_IP:6969/announce" pids=() rc=0
	rm -rf "$d"
	mkdir -p "$d/seed" "$d/leech" "$d/tracker"
	out=$($KPT_PY "$HERE/bt_magnet.py" mktorrent "$d/seed" pack "$tr" readme.txt=20000 setup.exe=300000)
	ih=${out%% *} mag=${out#* }
	echo "$ih" >"$d/tracker/whitelist.txt"
	printf 'access.whitelist /whitelist.txt\n' >"$d/tracker/opentracker.conf"
	chmod 755 "$d" "$d/tracker"
	chmod 644 "$d/tracker/whitelist.txt" "$d/tracker/opentracker.conf"
	kpt_bg $KPT_NS_S opentracker -i "$KPT_S_IP" -p 6969 -P 6969 -f "$d/tracker/opentracker.conf" \
		-d "$d/tracker" -u nobody
	pids+=("$KPT_LAST_PID")
	kpt_wait_port $KPT_NS_S 6969
	kpt_bg $KPT_NS_S timeout $(($1 + 30)) $KPT_PY "$KPT_SRC/tests/captures/bt_lt.py" seed \
		"$d/seed/pack.torrent" "$d/seed" "$KPT_S_IP" --time $(($1 + 20))
	pids+=("$KPT_LAST_PID")
	kpt_wait_port $KPT_NS_S 6881
	sleep 1 # the seeder's first announce
	timeout $(($1 + 10)) ip netns exec $KPT_NS_C1 $KPT_PY "$HERE/bt_magnet.py" leech "$mag" \
		"$d/leech" $KPT_C1_IP --time "$1" >"$d/leech.log" 2>&1 || rc=1
	kpt_kill "${pids[@]}"
	sed 's/^/# /' "$d/leech.log"
	[ $rc = 0 ] && cmp -s "$d/seed/pack/setup.exe" "$d/leech/pack/setup.exe"
}

test_plain_bt_magnet() {
	bt_magnet_swarm 40
}

# --- daemon cases ----------------------------------------------------------------------
# virus_http: EICAR over HTTP with scanning on is stopped; a virus event names it
test_virus_http() {
	local r out=$KPT_TMP/dl.bin
	needs_scan || return 77
	start -c "$(scan_conf)"
	r=$(get $KPT_NS_C1 "http://$KPT_S_IP/eicar.com" "$out")
	echo "# eicar.com over HTTP: $r ($(head -c 200 "$out.err"))"
	stop_daemon
	ev_show event_type=virus
	stopped "$out" "$r"
	[ "$(ev_count event_type=virus "$SIG" virus.file.name=eicar.com virus.file.app=http)" = 1 ]
}

# a clean file of EICAR's length passes intact with scanning on, and no virus event
clean_same_size() {
	local r out=$KPT_TMP/dl.bin
	needs_scan || return 77
	start -c "$(scan_conf "file.audit = yes")"
	# shellcheck disable=SC2086
	r=$(get $KPT_NS_C1 "$1" "$out" $2)
	echo "# clean.bin: $r"
	stop_daemon
	ev_show event_type=file
	case $r in rc=0*) ;; *) return 1 ;; esac
	[ "$(sha "$out")" = "$(sha "$KPT_TMP/nginx/www/clean.bin")" ]
	[ "$(ev_count event_type=virus)" = 0 ]
	# it was scanned (not let through unscanned), and found clean
	[ "$(ev_count event_type=file file.name=clean.bin file.size=68 file.scan=clean \
		file.verdict=pass file.sha256="$(sha "$out")")" = 1 ]
}
test_clean_http_same_size() { clean_same_size "http://$KPT_S_IP/clean.bin" ""; }
test_clean_ftp_same_size() { clean_same_size "ftp://$KPT_S_IP/pub/clean.bin" "--ftp-pasv"; }

# EICAR over FTP (passive: EPSV/PASV; active: EPRT/PORT through the NAT helper)
virus_ftp() {
	local r out=$KPT_TMP/dl.bin
	needs_scan || return 77
	start -c "$(scan_conf)"
	# shellcheck disable=SC2046
	r=$(get $KPT_NS_C1 "ftp://$KPT_S_IP/pub/eicar.com" "$out" $(ftp_args "$1" $KPT_C1_IP))
	echo "# eicar.com over FTP ($1): $r ($(head -c 200 "$out.err"))"
	stop_daemon
	ev_show event_type=virus
	ev_show event_type=file
	stopped "$out" "$r"
	# a download, whichever side opened the data connection (passive: the client; active:
	# the server, from its port 20)
	[ "$(ev_count event_type=virus "$SIG" virus.file.name=eicar.com virus.file.app=ftp-data \
		virus.file.direction=toclient)" = 1 ]
}
test_virus_ftp_passive() { virus_ftp passive; }
test_virus_ftp_active() { virus_ftp active; }

# a 5 MiB clean file passes intact with every HTTP download scanned
test_clean_http_5mb() {
	local r
	needs_scan || return 77
	start -c "$(scan_conf "file.audit = yes")"
	r=$(kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/big.bin")
	echo "# big.bin ($KPT_HTTP_MB MiB) with scanning: $r (bytes s)"
	stop_daemon
	ev_show event_type=file
	[ "$(ev_count event_type=virus)" = 0 ]
	[ "$(ev_count event_type=file file.name=big.bin file.sha256=$KPT_HTTP_SHA file.scan=clean \
		file.verdict=pass)" = 1 ]
}

# file = block glob=*.exe: an FTP download of x.exe stops (block event naming the rule,
# file event with verdict block); other FTP downloads pass, before and after it
test_exe_ftp_block() {
	local r out=$KPT_TMP/dl.bin a
	needs file || return 77
	a=$(sha "$KPT_TMP/ftp/root/pub/a.bin")
	start -c "$(conf "file = block name=no-exe glob=*.exe")"
	r=$(get $KPT_NS_C1 "ftp://$KPT_S_IP/pub/a.bin" "$out" --ftp-pasv)
	echo "# a.bin before: $r"
	[ "$(sha "$out")" = "$a" ]
	r=$(get $KPT_NS_C1 "ftp://$KPT_S_IP/pub/x.exe" "$out" --ftp-pasv)
	echo "# x.exe: $r ($(head -c 200 "$out.err"))"
	case $r in rc=0*) echo "# x.exe downloaded despite the rule"; stop_daemon; return 1 ;; esac
	[ ! -s "$out" ] || [ "$(stat -c %s "$out")" -lt 150000 ]
	r=$(get $KPT_NS_C2 "ftp://$KPT_S_IP/pub/a.bin" "$out" --ftp-pasv)
	echo "# a.bin after, from c2: $r"
	[ "$(sha "$out")" = "$a" ]
	r=$(get $KPT_NS_C1 "ftp://$KPT_S_IP/pub/a.bin" "$out" --ftp-pasv)
	echo "# a.bin after, from c1 (the client whose download was blocked): $r"
	stop_daemon
	ev_show event_type=block
	ev_show event_type=file
	[ "$(ev_count event_type=block block.rule=no-exe)" -ge 1 ]
	[ "$(ev_count event_type=file file.name=x.exe file.verdict=block file.rule=no-exe)" -ge 1 ] ||
		[ "$(ev_count event_type=file 'file.name~(^|/)x\.exe$' file.verdict=block)" -ge 1 ]
	[ "$(ev_count event_type=block 'block.rule~.' app_proto=http)" = 0 ]
}

# the same rule stops a torrent whose file list (metadata fetched by magnet link, across
# the gateway) holds setup.exe
test_exe_torrent_block() {
	needs file || return 77
	start -c "$(conf "file = block name=no-exe glob=*.exe")"
	if bt_magnet_swarm 15; then
		echo "# the torrent with setup.exe completed despite the rule"
		stop_daemon
		return 1
	fi
	stop_daemon
	ev_show event_type=block
	ev_show event_type=file
	[ "$(ev_count event_type=block block.rule=no-exe dest_port=6881)" -ge 1 ]
	[ "$(ev_count event_type=file file.listed_as=torrent 'file.name~setup\.exe$' \
		file.verdict=block)" -ge 1 ]
}

# chat_check TEXTS FROM TO: every line of TEXTS (UTF-8; "@bob " lines go to bob) is one
# chat event with exactly that text; prints what is missing
chat_check() {
	$KPT_PY - "$KPT_EVENTS" "$@" <<'PY'
import json, sys
events, texts, frm, chan = sys.argv[1:5]
chats = []
for line in open(events, encoding="utf-8", errors="replace"):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if ev.get("event_type") == "chat":
        chats.append(ev.get("chat") or {})
bad = 0
for t in open(texts, encoding="utf-8"):
    t = t.rstrip("\n")
    if not t.strip():
        continue
    to = chan
    if t.startswith("@bob "):
        to, t = "bob", t[5:]
    n = sum(1 for c in chats if c.get("app") == "irc" and c.get("command") == "PRIVMSG"
            and c.get("from") == frm and c.get("to") == to and c.get("text") == t)
    if n != 1:
        print("# chat %r from %s to %s: %d events" % (t, frm, to, n))
        bad = 1
n = sum(1 for c in chats if c.get("from") == "bob" and c.get("to") == "alice"
        and c.get("text") == "fine, send it")
if n != 1:
    print("# bob's reply: %d events" % n)
    bad = 1
if any("DCC SEND" in (c.get("text") or "") for c in chats):
    print("# a DCC SEND offer was written as chat")
    bad = 1
print("# %d chat events" % len(chats))
sys.exit(bad)
PY
}

test_irc_chat() {
	needs chat.audit || return 77
	start -c "$(conf "chat.audit = yes")"
	irc_session "$KPT_TMP/irc-chat"
	stop_daemon
	ev_show event_type=chat
	chat_check "$KPT_TMP/irc-chat/texts.txt" alice "$CHAN"
}

test_irc_dcc_file() {
	local d=$KPT_TMP/irc-dcc s n
	needs chat.audit file.audit || return 77
	start -c "$(conf "chat.audit = yes" "file.audit = yes")"
	irc_session "$d"
	stop_daemon
	ev_show event_type=file
	chat_check "$d/texts.txt" alice "$CHAN"
	s=$(sha "$d/dcc-file.bin")
	n=$(stat -c %s "$d/dcc-file.bin")
	[ "$(ev_count event_type=file file.app=irc file.state=listed file.listed_as=offer \
		file.name=dcc-file.bin file.size=$n)" = 1 ]
	# alice, the IRC client, sends it: an upload (direction relative to the IRC connection)
	[ "$(ev_count event_type=file file.name=dcc-file.bin file.state=complete file.sha256=$s \
		file.size=$n file.direction=toserver)" = 1 ]
}

# --- runner -----------------------------------------------------------------------------
# Each case runs in a subshell with errexit (kpt_run_cases, testbed.sh); its EXIT trap
# stops what the case started (the daemon, and the processes kpt_bg started in it, by
# PID), also when it fails.
case_cleanup() {
	local p
	set +e
	[ -z "$KPT_DAEMON_PID" ] || kpt_daemon_stop >/dev/null 2>&1
	for p in "${KPT_PIDS[@]:$CASE_PIDS0}"; do
		[ -n "$p" ] && kpt_kill "$p"
	done
}

kpt_case_enter() {
	CASE_PIDS0=${#KPT_PIDS[@]}
	trap case_cleanup EXIT
}

main() {
	local sel=("$@") name
	[ ${#sel[@]} -gt 0 ] || sel=("${TESTS[@]}")
	for name in "${sel[@]}"; do
		declare -F "test_$name" >/dev/null || { echo "unknown test $name" >&2; exit 2; }
	done
	kpt_up
	helpers_on
	http_start
	ftp_start
	irc_start
	echo "# bed $KPT_PREFIX*, daemon $KP2PADM, signatures $NDB"
	kpt_run_cases "${sel[@]}"
}

main "$@"
