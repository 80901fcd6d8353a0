#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Live test of out-of-order handling (issue 5, section 1): an HTTP download through the
# gateway with random loss between the server and the gateway (an nftables netdev
# ingress rule on the gateway's server-side interface, `numgen random`; TSO/GSO off on
# the server so that the loss is per segment), with every packet queued (mode = p2padm)
# so that the segments after each hole reach the engine out of order:
#   stream.ooo = fastpass: intact, out-of-order segments counted as fast-passed, none held;
#   stream.ooo = hold:     intact, segments held and released (by the filled hole or the
#                          timeout), none fast-passed beyond stream.hold_max.
# Namespaces kqf-* (KPT_PREFIX), addresses 198.18.0.0/15 (tests/live/testbed.sh).
#
# Usage (root): tests/live/ooo-live.sh      env: KP2PADM (meson passes build/kp2padm)
# Exit: 0 passed, 1 failed, 77 skipped (not root, programs missing).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export KPT_PREFIX=${KPT_PREFIX:-kqf-}
export KPT_HTTP_MB=${KPT_HTTP_MB:-4}
export KPT_HTTP_TIMEOUT=${KPT_HTTP_TIMEOUT:-120}
LOSS=${KQF_LOSS:-1} # percent of the server's packets dropped at the gateway's ingress

if [ "$(id -u)" != 0 ]; then
	echo "skip: the live tests need root (network namespaces)"
	exit 77
fi
for t in nginx curl ethtool nft conntrack; do
	command -v "$t" >/dev/null || { echo "skip: $t missing"; exit 77; }
done

. "$HERE/testbed.sh"

kpt_daemon_available || { echo "skip: $KP2PADM has no inline mode"; exit 77; }

kpt_up
kpt_http_start
# per-segment loss: the server sends MTU-sized segments, the gateway drops LOSS% of them
ip netns exec $KPT_NS_S ethtool -K $KPT_S_IF tso off gso off >/dev/null 2>&1 || true
ip netns exec $KPT_NS_GW nft -f - <<NFT
table netdev kqf_loss {
	chain in {
		type filter hook ingress device $KPT_GW_S_IF priority 0;
		ip saddr $KPT_S_IP tcp sport 80 numgen random mod 100 < $LOSS counter drop
	}
}
NFT

conf() {
	local f=$KPT_TMP/kp.conf
	{
		echo "interfaces = ${KPT_GW_IFACES// /,}"
		echo "stats.interval = 1"
		echo "mode = p2padm"
		printf '%s\n' "$@"
	} >"$f"
	echo "$f"
}

stat() { kpt_daemon_stat "$@"; }

fail=0
n=0
echo "1..2"
for mode in fastpass hold; do
	n=$((n + 1))
	ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
	ip netns exec $KPT_NS_GW nft reset counters table netdev kqf_loss >/dev/null 2>&1 || true
	kpt_daemon_start -q 0:1 -c "$(conf "stream.ooo = $mode")"
	ok=1
	if r=$(kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/big.bin"); then
		echo "# $mode: download intact: $r (bytes s)"
	else
		echo "# $mode: download failed or corrupt"
		ok=0
	fi
	sleep 2.2 # the workers' next snapshot
	fp=$(stat ooo.fastpassed)
	held=$(stat ooo.held)
	fill=$(stat ooo.released_fill)
	tmo=$(stat ooo.released_timeout)
	ovf=$(stat ooo.overflow)
	echo "# $mode: fast-passed $fp, held $held (released by fill $fill, by timeout $tmo)," \
		"overflow $ovf, held at most $(stat ooo.held_us_max) us," \
		"dropped at ingress $(ip netns exec $KPT_NS_GW nft list chain netdev kqf_loss in |
			sed -n 's/.*counter packets \([0-9]*\).*/\1/p')"
	kpt_daemon_stop || ok=0
	case $mode in
	fastpass) [ "$fp" -gt 0 ] && [ "$held" = 0 ] || ok=0 ;;
	hold) [ "$held" -gt 0 ] && [ $((fill + tmo)) -gt 0 ] && [ "$fp" = "$ovf" ] || ok=0 ;;
	esac
	if [ $ok = 1 ]; then
		echo "ok $n $mode"
	else
		echo "not ok $n $mode"
		fail=1
	fi
done
exit $fail
