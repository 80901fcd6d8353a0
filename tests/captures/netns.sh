# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Shared helpers for the capture scripts: two network namespaces joined by one
# veth pair, addresses from 198.18.0.0/15 only, no default route, a capture on
# the client side, and a cleanup that removes everything this script made
# (namespaces, processes it started, by PID), also on failure.
#
# Usage (from a make-*.sh script, as root):
#   . "$(dirname "$0")/netns.sh"
#   kp_ns_up NAME            # creates ${NAME}-c (198.18.0.1) and ${NAME}-s (198.19.0.1), /30 nets routed
#   kp_bg ns CMD...          # starts CMD in namespace ns in the background, remembers its PID
#                            # (kp_ns_bg is the same function under the name used before)
#   kp_cap_start FILE        # tcpdump on the client veth into FILE
#   kp_cap_stop              # stops tcpdump (flushes the file)
#   kp_tmpdir                # makes a temp dir, sets KP_TMP, removed at exit
#   kp_track_pid PID         # also kill PID at exit (e.g. a daemon that forked itself)
#   kp_wait_port ns PORT     # waits (bounded) until TCP PORT listens in ns
#   (cleanup runs on EXIT, and on INT/TERM, which then exit non-zero; it also kills
#    whatever is still running inside the two namespaces, by PID, before deleting them)

set -euo pipefail

KP_NS_C='' KP_NS_S=''
KP_PIDS=()
KP_CAP_PID=
KP_TMP=
KP_CLIENT_IP=198.18.0.1
KP_SERVER_IP=198.19.0.1

# PIDs of every process still running inside namespace $1 (ours: nothing else runs there).
kp_ns_pids() {
	[ -n "$1" ] && ip netns pids "$1" 2>/dev/null || true
}

kp_cleanup() {
	local p ns
	if [ -n "$KP_CAP_PID" ]; then kill -INT "$KP_CAP_PID" 2>/dev/null || true; fi
	for p in "${KP_PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for ns in "$KP_NS_C" "$KP_NS_S"; do
		for p in $(kp_ns_pids "$ns"); do kill "$p" 2>/dev/null || true; done
	done
	sleep 0.3
	for p in "${KP_PIDS[@]:-}" $KP_CAP_PID; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
	done
	for ns in "$KP_NS_C" "$KP_NS_S"; do
		for p in $(kp_ns_pids "$ns"); do kill -9 "$p" 2>/dev/null || true; done
	done
	KP_PIDS=()
	KP_CAP_PID=
	[ -n "$KP_NS_C" ] && ip netns del "$KP_NS_C" 2>/dev/null || true
	[ -n "$KP_NS_S" ] && ip netns del "$KP_NS_S" 2>/dev/null || true
	KP_NS_C='' KP_NS_S=''
	if [ -n "$KP_TMP" ] && [ -d "$KP_TMP" ]; then rm -rf -- "$KP_TMP"; fi
	KP_TMP=
}
# INT/TERM must stop the script (a trap that only cleaned up would let it run on);
# the exit then runs the EXIT trap once.
trap kp_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

kp_ns_up() {
	local n=$1
	KP_NS_C=${n}-c
	KP_NS_S=${n}-s
	ip netns del "$KP_NS_C" 2>/dev/null || true
	ip netns del "$KP_NS_S" 2>/dev/null || true
	ip netns add "$KP_NS_C"
	ip netns add "$KP_NS_S"
	ip link add kpc0 netns "$KP_NS_C" type veth peer name kps0 netns "$KP_NS_S"
	ip -n "$KP_NS_C" addr add "$KP_CLIENT_IP/15" dev kpc0
	ip -n "$KP_NS_S" addr add "$KP_SERVER_IP/15" dev kps0
	ip -n "$KP_NS_C" link set lo up
	ip -n "$KP_NS_S" link set lo up
	ip -n "$KP_NS_C" link set kpc0 up
	ip -n "$KP_NS_S" link set kps0 up
	# Captures should carry real checksums and MTU-sized segments, as on a wire.
	ip netns exec "$KP_NS_C" ethtool -K kpc0 tx off tso off gso off gro off >/dev/null 2>&1 || true
	ip netns exec "$KP_NS_S" ethtool -K kps0 tx off tso off gso off gro off >/dev/null 2>&1 || true
}

kp_bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" &
	KP_PIDS+=($!)
}

kp_ns_bg() {
	kp_bg "$@"
}

kp_track_pid() {
	KP_PIDS+=("$1")
}

kp_tmpdir() {
	KP_TMP=$(mktemp -d /tmp/kp-capture.XXXXXX)
	chmod 755 "$KP_TMP"
}

kp_cap_start() {
	ip netns exec "$KP_NS_C" tcpdump -i kpc0 -B 65536 -s 0 -U -w "$1" not arp and not icmp6 >/dev/null 2>&1 &
	KP_CAP_PID=$!
	sleep 1
}

kp_cap_stop() {
	sleep 1
	if [ -n "$KP_CAP_PID" ]; then
		kill -INT "$KP_CAP_PID" 2>/dev/null || true
		wait "$KP_CAP_PID" 2>/dev/null || true
		KP_CAP_PID=
	fi
}

# Waits until TCP port $2 listens in namespace $1 (bounded: 10 s).
kp_wait_port() {
	local i
	for i in $(seq 1 100); do
		if ip netns exec "$1" ss -ltnH "sport = :$2" | grep -q .; then return 0; fi
		sleep 0.1
	done
	echo "port $2 never opened in $1" >&2
	return 1
}

# Waits (bounded: 15 s) until the tmux servers on the given sockets have exited,
# e.g. after /quit was typed into the clients they run; says so when one stays
# (the EXIT cleanup kills it). Usage: kp_tmux_wait_gone WHAT SOCKET...
kp_tmux_wait_gone() {
	local what=$1 s alive
	shift
	for _ in $(seq 1 150); do
		alive=0
		for s in "$@"; do
			if tmux -S "$s" has-session 2>/dev/null; then alive=1; fi
		done
		[ $alive = 0 ] && return 0
		sleep 0.1
	done
	echo "note: a $what did not quit by itself; it is killed at exit" >&2
}

# kp_trim IN OUT: writes IN to OUT with large frames after the first KEEP_FULL (24) of
# each flow cut to SNAP (128) bytes (caplen < len: headers and first payload bytes
# stay), so that committed captures stay small. See pcap_trim.py.
kp_trim() {
	/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/pcap_trim.py" "$1" "$2" \
		"${KEEP_FULL:-24}" "${SNAP:-128}"
}
