#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Makes pcap/irc-ngircd.pcap with real programs: ngircd on 198.19.0.1:6667 in the
# server namespace; two irssi clients, each in its own tmux, typed at with send-keys.
#   alice: client namespace (198.18.0.1) - her IRC session crosses the veth
#   bob:   server namespace - his IRC session runs over that namespace's loopback,
#          so it is not in the capture, but everything he says reaches alice
# They join #kp2padm, talk (PRIVMSG to the channel and to each other, a NOTICE, a
# CTCP VERSION), alice offers a file with /dcc send and bob's irssi accepts it
# (dcc_autoget), so the DCC SEND data connection bob -> 198.18.0.1 is captured too.
# Run as root. Needs: ngircd, irssi, tmux, tcpdump, ethtool, iproute2, openssl, tshark.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/netns.sh"
OUT=$HERE/pcap
mkdir -p "$OUT"

for t in ngircd irssi tmux tcpdump ethtool openssl tshark; do
	command -v "$t" >/dev/null || { echo "missing: $t (apt-get install -y ngircd irssi tmux tcpdump ethtool openssl tshark)" >&2; exit 1; }
done

CHAN='#kp2padm'
DCC_FILE=kp2padm-dcc.bin

kp_ns_up kpirc
kp_tmpdir
T=$KP_TMP

cat >"$T/ngircd.conf" <<CONF
# ngircd config for make-irc.sh only.
[Global]
	Name = irc.kp2padm.test
	Info = kp2padm test IRC server
	AdminInfo1 = kp2padm capture scripts
	AdminInfo2 = test network namespace
	AdminEMail = nobody@kp2padm.test
	Listen = $KP_SERVER_IP
	Ports = 6667
	MotdPhrase = kp2padm capture test server
	PidFile = $T/run/ngircd.pid
	HelpFile = /usr/share/doc/ngircd/Commands.txt
[Limits]
	PingTimeout = 120
	PongTimeout = 20
	ConnectRetry = 60
	# No flood-penalty delays: the script's clients send a burst of commands.
	MaxPenaltyTime = 0
[Options]
	DNS = no
	Ident = no
	PAM = no
	AllowedChannelTypes = #&+
[Channel]
	Name = $CHAN
	Topic = kp2padm capture test channel
CONF

# irssi home for one user: $1 = nick, $2 = real name.
irssi_home() {
	local nick=$1 dir=$T/$1
	mkdir -p "$dir/dl" "$dir/logs"
	cat >"$dir/config" <<CONF
servers = ( );
chatnets = { };
channels = ( );
settings = {
  core = {
    real_name = "$2";
    user_name = "$nick";
    nick = "$nick";
    resolve_prefer_ipv6 = "no";
    resolve_reverse_lookup = "no";
    awaylog_level = "none";
  };
  "irc/core" = {
    ctcp_version_reply = "irssi (kp2padm capture test)";
    cmd_queue_speed = "100msec";
    cmds_max_at_once = "20";
  };
  "irc/dcc" = {
    dcc_port = "45000 45009";
    dcc_download_path = "$dir/dl";
    dcc_autoget = "$3";
    dcc_autoget_masks = "alice";
    dcc_autoget_max_size = "1M";
    dcc_timeout = "30";
    dcc_mirc_ctcp = "no";
  };
  "fe-common/core" = {
    autolog = "yes";
    autolog_path = "$dir/logs/\$tag/\$0.log";
    beep_msg_level = "";
    use_status_window = "yes";
  };
};
CONF
}

# Starts irssi for $2 in namespace $1 inside its own tmux server (socket $T/$2.sock).
irssi_start() {
	local ns=$1 nick=$2 pid
	ip netns exec "$ns" env TERM=xterm HOME="$T/$nick" tmux -S "$T/$nick.sock" -f /dev/null \
		new-session -d -s "$nick" -x 160 -y 48 \
		irssi --home="$T/$nick" -n "$nick" -c "$KP_SERVER_IP" -p 6667
	pid=$(tmux -S "$T/$nick.sock" display-message -p '#{pid}')
	kp_track_pid "$pid"
}

# Types one line into $1's irssi.
say() {
	tmux -S "$T/$1.sock" send-keys -t "$1" -l -- "$2"
	tmux -S "$T/$1.sock" send-keys -t "$1" Enter
}

screen_of() {
	tmux -S "$T/$1.sock" capture-pane -p -J -S -500 -t "$1" 2>/dev/null || true
}

# Waits (bounded) until $1's screen (window in front, with scrollback) matches regex $2.
wait_screen() {
	local i
	for i in $(seq 1 "${3:-100}"); do
		if screen_of "$1" | grep -qE -- "$2"; then return 0; fi
		sleep 0.1
	done
	echo "timeout waiting for '$2' on $1's screen; screen was:" >&2
	screen_of "$1" | tail -20 >&2
	return 1
}

# Waits (bounded) until a line matching regex $2 shows in $1's raw IRC log (/rawlog).
wait_log() {
	local i
	for i in $(seq 1 "${3:-100}"); do
		if grep -qE -- "$2" "$T/$1/raw.log" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "timeout waiting for '$2' in $1's raw IRC log" >&2
	return 1
}

irssi_home alice "Alice Example" no
irssi_home bob "Bob Example" yes
head -c 16384 /dev/zero | openssl enc -aes-128-ctr -nosalt -K 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a \
	-iv 00000000000000000000000000000000 >"$T/alice/$DCC_FILE"

# ngircd drops root for "nobody" before it writes its PID file.
mkdir -p "$T/run"
chown nobody "$T/run"
kp_bg "$KP_NS_S" ngircd -n -f "$T/ngircd.conf" >"$T/ngircd.log" 2>&1
kp_wait_port "$KP_NS_S" 6667

kp_cap_start "$T/cap.pcap"

irssi_start "$KP_NS_C" alice
irssi_start "$KP_NS_S" bob
wait_screen alice 'End of MOTD|MOTD' 150
wait_screen bob 'End of MOTD|MOTD' 150
say alice "/rawlog open $T/alice/raw.log"
say bob "/rawlog open $T/bob/raw.log"

say alice "/join $CHAN"
wait_log alice "JOIN :?$CHAN"
say bob "/join $CHAN"
wait_log alice "bob.* JOIN :?$CHAN"

say alice "Hello bob, this is alice on the kp2padm test channel."
wait_log bob 'this is alice on the kp2padm'
say bob "Hi alice! I can read you fine."
wait_log alice 'I can read you fine'
say alice "/msg bob a private word: can I send you a file?"
wait_log bob 'can I send you a file'
say bob "/msg alice sure, send it over DCC"
wait_log alice 'send it over DCC'
say bob "/notice alice ready when you are"
wait_log alice 'NOTICE alice :ready when you are'
say bob "/ctcp alice VERSION"
wait_log bob 'NOTICE bob :.VERSION irssi'

# DCC SEND: alice listens on 198.18.0.1:4500x, bob's irssi accepts (dcc_autoget) and connects.
say alice "/dcc send bob $T/alice/$DCC_FILE"
for _ in $(seq 1 150); do
	if cmp -s "$T/alice/$DCC_FILE" "$T/bob/dl/$DCC_FILE"; then break; fi
	sleep 0.1
done
cmp "$T/alice/$DCC_FILE" "$T/bob/dl/$DCC_FILE"
sleep 0.5

say alice "Got it? Bye for now."
wait_log bob 'Bye for now'
say alice "/part $CHAN see you"
say alice "/quit kp2padm test done"
say bob "/quit kp2padm test done"
# irssi exits on /quit, then its tmux server (bounded wait).
kp_tmux_wait_gone irssi "$T/alice.sock" "$T/bob.sock"
kp_cap_stop

# Expect the IRC session and the DCC connection in the capture.
conv=$(tshark -r "$T/cap.pcap" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' \
	-T fields -e ip.src -e tcp.dstport 2>/dev/null | sort | tr '\t\n' ': ')
case "$conv" in
*"$KP_CLIENT_IP:6667 "*"$KP_SERVER_IP:4500"[0-9]" "*) ;;
*) echo "unexpected connections in the IRC capture: $conv" >&2; exit 1 ;;
esac
tshark -r "$T/cap.pcap" -Y 'irc.request.command == "PRIVMSG"' 2>/dev/null | grep -q . ||
	{ echo "no PRIVMSG seen in the IRC capture" >&2; exit 1; }

mv "$T/cap.pcap" "$OUT/irc-ngircd.pcap"
chown --reference="$OUT" "$OUT/irc-ngircd.pcap"
echo "wrote $OUT/irc-ngircd.pcap ($(stat -c %s "$OUT/irc-ngircd.pcap") bytes)"
