# SPDX-License-Identifier: GPL-2.0-or-later
# Two network namespaces on one veth pair, for live tests that need no gateway
# (nfq-selftest.sh, netem-live.sh). Source it after setting NS_A NS_B IF_A IF_B
# IP_A IP_B (addresses in 198.18.0.0/15, /24, no default route), then call
# kp_pair_up. It defines skip (exit 77), ok/fail with FAILS, A and B (run in
# NS_A / NS_B), TMP (a temp dir named after NS_A), PIDS (append the PIDs you
# start: the exit trap kills them) and the trap that deletes both namespaces
# and TMP, also on failure or interruption.
# shellcheck shell=bash

skip() { echo "skip: $*"; exit 77; }
FAILS=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

PIDS=()
TMP=
kp_pair_cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	[ -n "$TMP" ] && rm -rf "$TMP"
}

# (background jobs use ip netns exec directly, so that $! is the program's own PID)
A() { ip netns exec "$NS_A" "$@"; }
B() { ip netns exec "$NS_B" "$@"; }

kp_pair_up() {
	[ "$(id -u)" = 0 ] || skip "not root"
	command -v iptables >/dev/null || skip "iptables absent"
	TMP=$(mktemp -d "/tmp/$NS_A.XXXXXX")
	trap kp_pair_cleanup EXIT
	trap 'exit 1' INT TERM
	ip netns del "$NS_A" 2>/dev/null; ip netns del "$NS_B" 2>/dev/null
	ip netns add "$NS_A" 2>/dev/null || skip "cannot create network namespaces"
	ip netns add "$NS_B"
	ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B" || skip "no veth"
	A ip addr add "$IP_A/24" dev "$IF_A"
	B ip addr add "$IP_B/24" dev "$IF_B"
	A ip link set lo up; A ip link set "$IF_A" up
	B ip link set lo up; B ip link set "$IF_B" up
}
