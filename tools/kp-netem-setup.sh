#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs and removes the iptables rules that send an interface's IP traffic to
# kp-netem's NFQUEUE (tools/README.md).
#
#   kp-netem-setup.sh add|del|show --dev IF --queue N [--netns NS] [--dir out|in|both]
#                     [--ip 4|6|46] [--no-bypass] [--offload-off]
#
#   out   -t mangle -A POSTROUTING -o IF -j NFQUEUE --queue-num N --queue-bypass
#   in    -t mangle -A PREROUTING  -i IF -j NFQUEUE --queue-num N --queue-bypass
#
# Why these hooks: POSTROUTING is the last hook before the device, so what the emulator
# accepts goes straight to the driver; nothing after it merges packets again (GSO only
# splits, GRO only merges on receive). The queue is opened without the GSO flag, so the
# kernel segments a GSO super-packet before queueing it and every segment gets its own
# loss draw and delay. PREROUTING sees packets after the receiving side's GRO (veth does
# no GRO unless asked; a GRO'd packet is segmented by the queue like a GSO one). mangle
# runs after conntrack (-200) and before nat (PREROUTING -100, POSTROUTING 100), so NAT
# and conntrack work unchanged. An NFQUEUE accept continues at the next hook, not at the
# next rule: rules are appended (-A) so that the rules already in the chain (e.g. the
# kp2padm daemon's jumps, which it inserts at position 1) still run; a rule appended after
# ours in the same chain is skipped for queued packets.
#
# --queue-bypass (default): while no kp-netem listens, packets pass unemulated (a crashed
# emulator shows in its missing summary; the live test checks the counts). --no-bypass:
# packets are dropped while nobody listens.
# --offload-off: ethtool -K IF tso off gso off (IF must be the sending side for per-segment
# loss on the wire; see ../shared/TESTBED.md). Not undone by del.
# --ip: iptables (4), ip6tables (6) or both (46, default; 6 is skipped with a warning when
# ip6tables is missing).
set -u

usage() {
	sed -n '3,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "${1:-2}"
}

ACTION=${1:-}
case "$ACTION" in
add | del | show) shift ;;
-h | --help) usage 0 ;;
*) echo "kp-netem-setup: first argument: add, del or show" >&2; usage 2 ;;
esac

DEV='' QUEUE='' NETNS='' DIR=out IPV=46 BYPASS=--queue-bypass OFFLOAD=0
while [ $# -gt 0 ]; do
	case "$1" in
	--dev) DEV=${2:-}; shift 2 ;;
	--queue) QUEUE=${2:-}; shift 2 ;;
	--netns) NETNS=${2:-}; shift 2 ;;
	--dir) DIR=${2:-}; shift 2 ;;
	--ip) IPV=${2:-}; shift 2 ;;
	--no-bypass) BYPASS=; shift ;;
	--offload-off) OFFLOAD=1; shift ;;
	-h | --help) usage 0 ;;
	*) echo "kp-netem-setup: unknown argument '$1'" >&2; usage 2 ;;
	esac
done
[ -n "$DEV" ] || { echo "kp-netem-setup: --dev IF is required" >&2; exit 2; }
if ! [[ "$QUEUE" =~ ^[0-9]{1,5}$ ]] || [ "$QUEUE" -gt 65535 ]; then
	echo "kp-netem-setup: --queue N (0..65535) is required" >&2; exit 2
fi
case "$DIR" in out | in | both) ;; *) echo "kp-netem-setup: --dir out|in|both" >&2; exit 2 ;; esac
case "$IPV" in 4 | 6 | 46) ;; *) echo "kp-netem-setup: --ip 4|6|46" >&2; exit 2 ;; esac

in_ns() {
	if [ -n "$NETNS" ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi
}

TOOLS=()
[[ "$IPV" == *4* ]] && TOOLS+=(iptables)
if [[ "$IPV" == *6* ]]; then
	if command -v ip6tables >/dev/null; then
		TOOLS+=(ip6tables)
	elif [ "$IPV" = 6 ]; then
		echo "kp-netem-setup: ip6tables not found" >&2; exit 1
	else
		echo "kp-netem-setup: warning: ip6tables not found, IPv4 only" >&2
	fi
fi
in_ns ip link show dev "$DEV" >/dev/null 2>&1 ||
	{ echo "kp-netem-setup: no interface $DEV${NETNS:+ in namespace $NETNS}" >&2; exit 1; }

# rule specs (chain first) for the chosen directions
SPECS=()
[ "$DIR" != in ] && SPECS+=("POSTROUTING -o $DEV -j NFQUEUE --queue-num $QUEUE $BYPASS")
[ "$DIR" != out ] && SPECS+=("PREROUTING -i $DEV -j NFQUEUE --queue-num $QUEUE $BYPASS")

rc=0
for t in "${TOOLS[@]}"; do
	for spec in "${SPECS[@]}"; do
		# shellcheck disable=SC2086 # spec is a word list built above
		case "$ACTION" in
		add)
			if in_ns "$t" -w -t mangle -C $spec 2>/dev/null; then
				echo "kp-netem-setup: $t: already present: $spec"
			elif ! in_ns "$t" -w -t mangle -A $spec; then
				echo "kp-netem-setup: $t: cannot add: $spec" >&2; rc=1
			fi ;;
		del)
			if in_ns "$t" -w -t mangle -C $spec 2>/dev/null; then
				in_ns "$t" -w -t mangle -D $spec || rc=1
			else
				echo "kp-netem-setup: $t: not present: $spec" >&2
			fi ;;
		show)
			in_ns "$t" -w -t mangle -S "${spec%% *}" | grep -- "--queue-num $QUEUE\b" ;;
		esac
	done
done
if [ "$ACTION" = add ] && [ "$OFFLOAD" = 1 ]; then
	in_ns ethtool -K "$DEV" tso off gso off || { echo "kp-netem-setup: ethtool failed" >&2; rc=1; }
fi
exit $rc
