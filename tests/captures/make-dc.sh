#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes pcap/dc-uhub.pcap with real programs: uhub (ADC hub, plain TCP, no TLS) on
# 198.19.0.1:1511 in the server namespace; two ncdc clients, each in its own tmux,
# typed at with send-keys, both in active mode with TLS off for client connections:
#   alice: client namespace (198.18.0.1) - her hub session crosses the veth
#   bob:   server namespace - his hub session runs over that namespace's loopback,
#          so it is not in the capture
# alice searches (the hub relays BSCH to bob, bob answers with a UDP URES straight to
# alice), downloads bob's file list (/browse: bob connects to alice after her CTM) and
# one file from the search results, over ADC client-client connections that cross
# the veth. Debian has no NMDC hub package, so there is no NMDC capture.
# Run as root. Needs: uhub, ncdc, tmux, tcpdump, ethtool, iproute2, openssl, tshark, sqlite3.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
OUT=$HERE/pcap
mkdir -p "$OUT"

for t in uhub ncdc tmux tcpdump ethtool openssl tshark sqlite3; do
	command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y uhub ncdc tmux tcpdump ethtool openssl tshark sqlite3)" >&2; exit 1; }
done

HUB=adc://$KP_SERVER_IP:1511/
SHARED_FILE=kp2padm-dc-sample.bin

kp_ns_up kpdc
kp_tmpdir
T=$KP_TMP

: >"$T/users.conf"
: >"$T/plugins.conf"
cat >"$T/uhub.conf" <<CONF
# uhub config for make-dc.sh only: plain ADC, no TLS, no plugins.
hub_enabled=1
server_port=1511
server_bind_addr=$KP_SERVER_IP
max_users=10
show_banner=1
show_banner_sys_info=0
registered_users_only=0
hub_name=kp2padm test hub
hub_description=ADC hub for the kp2padm capture tests
tls_enable=no
file_acl=$T/users.conf
file_plugins=$T/plugins.conf
CONF

# Starts ncdc for $2 in namespace $1 inside its own tmux server (socket $T/$2.sock).
ncdc_start() {
	local ns=$1 nick=$2 pid
	mkdir -p "$T/$nick/session" "$T/$nick/share" "$T/$nick/dl" "$T/$nick/inc"
	ip netns exec "$ns" env TERM=xterm HOME="$T/$nick" tmux -S "$T/$nick.sock" -f /dev/null \
		new-session -d -s "$nick" -x 160 -y 48 ncdc -n -c "$T/$nick/session"
	pid=$(tmux -S "$T/$nick.sock" display-message -p '#{pid}')
	kp_track_pid "$pid"
}

# Types one line (or, with -k, one key) into $1's ncdc.
say() {
	tmux -S "$T/$1.sock" send-keys -t "$1" -l -- "$2"
	tmux -S "$T/$1.sock" send-keys -t "$1" Enter
	sleep 0.2
}
key() {
	tmux -S "$T/$1.sock" send-keys -t "$1" "$2"
	sleep 0.2
}

screen_of() {
	tmux -S "$T/$1.sock" capture-pane -p -J -t "$1" 2>/dev/null || true
}

# Waits (bounded, $3 tenths of a second) until $1's screen matches regex $2.
wait_screen() {
	local i
	for i in $(seq 1 "${3:-100}"); do
		if screen_of "$1" | grep -qE -- "$2"; then return 0; fi
		sleep 0.1
	done
	echo "timeout waiting for '$2' on $1's screen; screen was:" >&2
	screen_of "$1" | tail -25 >&2
	return 1
}

# Settings for $1 (own address $2, port $3), then share its folder and join the hub.
ncdc_setup() {
	local nick=$1 ip=$2 port=$3
	say "$nick" "/set nick $nick"
	say "$nick" "/set description kp2padm capture test"
	say "$nick" "/set active true"
	say "$nick" "/set active_ip $ip"
	say "$nick" "/set active_port $port"
	say "$nick" "/set local_address $ip"
	say "$nick" "/set tls_policy disabled"
	say "$nick" "/set sudp_policy disabled"
	say "$nick" "/set autorefresh 0"
	say "$nick" "/set download_dir $T/$nick/dl"
	say "$nick" "/set incoming_dir $T/$nick/inc"
	say "$nick" "/share files $T/$nick/share"
}

fixed_bytes() {
	head -c "$1" /dev/zero | openssl enc -aes-128-ctr -nosalt -K "$(printf "$2%.0s" $(seq 16))" \
		-iv 00000000000000000000000000000000
}

kp_bg "$KP_NS_S" uhub -c "$T/uhub.conf" -l "$T/uhub.log"
kp_wait_port "$KP_NS_S" 1511

ncdc_start "$KP_NS_C" alice
ncdc_start "$KP_NS_S" bob
mkdir -p "$T/bob/share/music" "$T/alice/share/docs"
fixed_bytes 24576 77 >"$T/bob/share/$SHARED_FILE"
printf 'notes from bob for the kp2padm tests\n' >"$T/bob/share/music/readme.txt"
printf 'alice shares this small text file\n' >"$T/alice/share/docs/alice-notes.txt"
wait_screen alice 'ncdc' 100
wait_screen bob 'ncdc' 100
ncdc_setup alice "$KP_CLIENT_IP" 41000
ncdc_setup bob "$KP_SERVER_IP" 41001

# Waits (bounded) until $1's ncdc has hashed $2 files (its hashfiles table).
wait_hashed() {
	local i n
	for i in $(seq 1 100); do
		n=$(sqlite3 "file:$T/$1/session/db.sqlite3?mode=ro" 'select count(*) from hashfiles' \
			2>/dev/null || echo 0)
		if [ "${n:-0}" -ge "$2" ]; then return 0; fi
		sleep 0.1
	done
	echo "$1's ncdc did not hash its $2 shared files in time" >&2
	return 1
}
wait_hashed bob 2
wait_hashed alice 1

kp_cap_start "$T/cap.pcap"
# bob first (his hub session is on the server namespace's loopback), then alice.
say bob "/open hub $HUB"
wait_screen bob 'Connected to' 100
say alice "/open hub $HUB"
wait_screen alice 'alice @ adc://.*\[active: 198\.18\.0\.1\].* 2 users' 100
say alice "/say hello from alice, anyone sharing kp2padm files?"
wait_screen bob 'hello from alice' 50
say bob "/say hi alice, search for kp2padm"
wait_screen alice 'hi alice, search for kp2padm' 50

# Search: BSCH through the hub, bob answers alice directly with UDP URES.
say alice "/search kp2padm"
wait_screen alice "> bob .*$SHARED_FILE" 100
# 'd' queues the selected result; bob then connects to alice (CTM) and sends it.
key alice d
for _ in $(seq 1 150); do
	if cmp -s "$T/bob/share/$SHARED_FILE" "$T/alice/dl/$SHARED_FILE"; then break; fi
	sleep 0.1
done
cmp "$T/bob/share/$SHARED_FILE" "$T/alice/dl/$SHARED_FILE"

# File list: 'b' on the same result browses bob's list (files.xml.bz2), in a new tab.
key alice b
# (the tab, named /bob, only opens once the list is complete)
wait_screen alice ' [0-9]+.?/bob \]' 150

# Back to the main tab first (in a browse tab '/' starts a search, not a command).
key alice M-1
key bob M-1
say alice "/quit"
say bob "/quit"
kp_tmux_wait_gone ncdc "$T/alice.sock" "$T/bob.sock"
kp_cap_stop

# Expect alice's hub session, a UDP search result and client-client transfers.
cmds=$(tshark -r "$T/cap.pcap" -o data.show_as_text:TRUE -T fields -e data.text 2>/dev/null |
	grep -oE '^(HSUP|BINF|BSCH|DCTM|URES|CSUP|CINF|CGET|CSND)' | sort -u | tr '\n' ' ')
for c in HSUP BINF BSCH DCTM URES CSUP CINF CGET CSND; do
	case " $cmds" in
	*" $c "*) ;;
	*) echo "no $c in the DC capture (seen: $cmds)" >&2; exit 1 ;;
	esac
done
tshark -r "$T/cap.pcap" -o data.show_as_text:TRUE -T fields -e data.text 2>/dev/null |
	grep -q 'CGET file files.xml.bz2' || { echo "no file list download in the DC capture" >&2; exit 1; }

mv "$T/cap.pcap" "$OUT/dc-uhub.pcap"
chown --reference="$OUT" "$OUT/dc-uhub.pcap"
echo "wrote $OUT/dc-uhub.pcap ($(stat -c %s "$OUT/dc-uhub.pcap") bytes)"
