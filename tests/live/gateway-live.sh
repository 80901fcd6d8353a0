#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Live tests of the inline gateway (issue 3, section 5) on the test bed of testbed.sh:
# real programs (nginx/curl, opentracker + libtorrent) through the NAT gateway kpt-gw.
# Each test case is a function test_NAME; the runner prints TAP-like lines
#   ok N name | not ok N name | ok N name # skip REASON
# A case skips by printing "skip: REASON" and returning 77. The cases that need the
# daemon skip until it exists ("daemon not built yet"); the plain_* cases are sanity
# checks of the bed itself (no daemon: plain forwarding + NAT).
#
# Usage (root): tests/live/gateway-live.sh [NAME...]     (default: every case)
#   env: KP2PADM (the daemon binary; meson passes build/kp2padm)
# Exit: 0 all passed (or skipped), 1 a case failed, 77 not root / every case skipped.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "skip: the live tests need root (network namespaces)"
	exit 77
fi
for t in nginx curl iperf3 opentracker ethtool; do
	command -v "$t" >/dev/null || { echo "skip: $t missing"; exit 77; }
done
/usr/bin/python3 -c 'import libtorrent' 2>/dev/null || { echo "skip: python3-libtorrent missing"; exit 77; }

. "$HERE/testbed.sh"

TESTS=(
	plain_http_ipv4
	plain_http_ipv6
	plain_nat_needed
	plain_bt_plain
	plain_bt_forced
	plain_bt_utp
	http_classified
	bt_classified_plain
	bt_classified_forced
	bt_classified_utp
	bt_block
	cache_drops_reconnects
	sigkill_fail_open
	sighup_reload
	ipv6_classified
)

no_daemon() {
	echo "skip: daemon not built yet"
	return 77
}

# --- sanity: the bed without the daemon -------------------------------------------------
test_plain_http_ipv4() {
	local r
	r=$(kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/big.bin")
	echo "# c1 v4: $r (bytes s)"
	r=$(kpt_http_get $KPT_NS_C2 "http://$KPT_S_IP:8080/big.bin")
	echo "# c2 v4 :8080: $r (bytes s)"
	# the server saw the gateway's address (NAT), as conntrack says
	ip netns exec $KPT_NS_GW conntrack -L -p tcp --dport 8080 2>/dev/null | grep -q "dst=$KPT_GW_S_IP"
}

test_plain_http_ipv6() {
	local r
	r=$(kpt_http_get $KPT_NS_C1 "http://[$KPT_S_IP6]/big.bin")
	echo "# c1 v6: $r (bytes s)"
	r=$(kpt_http_get $KPT_NS_C2 "http://[$KPT_S_IP6]:8080/big.bin")
	echo "# c2 v6 :8080: $r (bytes s)"
}

# Without MASQUERADE the server cannot answer (it has no route to the client nets):
# proves the bed really depends on the gateway's NAT.
test_plain_nat_needed() {
	local rc=0
	ip netns exec $KPT_NS_GW iptables -t nat -D POSTROUTING -o $KPT_GW_S_IF -j MASQUERADE
	ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
	if ip netns exec $KPT_NS_C1 curl -q --noproxy '*' -s --max-time 2 -o /dev/null "http://$KPT_S_IP/small.bin"; then
		echo "# a download worked without NAT"
		rc=1
	fi
	ip netns exec $KPT_NS_GW iptables -t nat -A POSTROUTING -o $KPT_GW_S_IF -j MASQUERADE
	ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
	kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/small.bin" "$KPT_HTTP_SMALL_SHA" >/dev/null || rc=1
	return $rc
}

# bt_plain MODE: a swarm through the gateway; when tcpdump is there, the capture on kg1
# shows what the mode promises: the BitTorrent handshake in clear (plain, utp) or
# nowhere (forced: MSE/PE), over TCP (plain, forced) or UDP (utp).
bt_plain() {
	local cap=$KPT_TMP/bt-$1.pcap hs=- tcp=- udp=- cpid=
	if command -v tcpdump >/dev/null; then
		kpt_bg $KPT_NS_GW tcpdump -i $KPT_GW_C1_IF -B 65536 -s 256 -U -w "$cap" port 6881
		cpid=$KPT_LAST_PID
		sleep 1
	fi
	kpt_bt_swarm "$1"
	echo "# bt $1: complete in $KPT_BT_SECONDS s"
	[ -n "$cpid" ] || return 0
	sleep 0.5
	kill -INT "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	hs=$(tcpdump -r "$cap" -A 2>/dev/null | grep -c 'BitTorrent protocol' || true)
	tcp=$(tcpdump -r "$cap" -n tcp 2>/dev/null | wc -l)
	udp=$(tcpdump -r "$cap" -n udp 2>/dev/null | wc -l)
	echo "# capture on $KPT_GW_C1_IF: $tcp tcp, $udp udp packets; handshakes in clear: $hs"
	case $1 in
	plain) [ "$hs" -gt 0 ] && [ "$tcp" -gt 0 ] ;;
	forced) [ "$hs" = 0 ] && [ "$tcp" -gt 0 ] ;;
	utp) [ "$hs" -gt 0 ] && [ "$udp" -gt 0 ] && [ "$tcp" = 0 ] ;;
	esac
}
test_plain_bt_plain() { bt_plain plain; }
test_plain_bt_forced() { bt_plain forced; }
test_plain_bt_utp() { bt_plain utp; }

# --- daemon cases: the lead fills these in ----------------------------------------------
# Each case runs in its own subshell (set -e): variables do not carry over between cases.
# Hooks: kpt_daemon_start ARGS (in kpt-gw, events in $KPT_EVENTS), kpt_daemon_stop,
# kpt_daemon_kill9, kpt_daemon_stat KEY, kpt_http_get, kpt_bt_swarm, kpt_gw_chains.
test_http_classified() { no_daemon; }        # download intact (sha256) + event app=http
test_bt_classified_plain() { no_daemon; }    # kpt_bt_swarm plain + event app=bittorrent
test_bt_classified_forced() { no_daemon; }   # kpt_bt_swarm forced (MSE/PE) + bittorrent
test_bt_classified_utp() { no_daemon; }      # kpt_bt_swarm utp + bittorrent over UDP
test_bt_block() { no_daemon; }               # block rule: swarm fails, HTTP from c2 still ok
test_cache_drops_reconnects() { no_daemon; } # storm from c2: map hits rise, user space sees 0
test_sigkill_fail_open() { no_daemon; }      # kill -9: HTTP still flows; restart cleans up
test_sighup_reload() { no_daemon; }          # bad file keeps old policy; good one applies
test_ipv6_classified() { no_daemon; }        # [2001:2:ff::2] download classified http

# --- runner -----------------------------------------------------------------------------
main() {
	local sel=("$@") n=0 fail=0 pass=0 skip=0 name out rc
	[ ${#sel[@]} -gt 0 ] || sel=("${TESTS[@]}")
	for name in "${sel[@]}"; do
		declare -F "test_$name" >/dev/null || { echo "unknown test $name" >&2; exit 2; }
	done
	kpt_up
	kpt_http_start
	echo "1..${#sel[@]}"
	for name in "${sel[@]}"; do
		n=$((n + 1))
		# a subshell with errexit: the first failing command fails the case; the
		# bed (and the EXIT trap) stay with this shell
		# (in the background + wait: INT/TERM interrupt the wait at once and clean up)
		set +e
		(set -e; "test_$name") >"$KPT_TMP/case.out" 2>&1 &
		KPT_PIDS+=($!)
		wait $!
		rc=$?
		set -e
		out=$(cat "$KPT_TMP/case.out")
		if [ $rc = 77 ]; then
			echo "ok $n $name # skip $(printf '%s\n' "$out" | sed -n 's/^skip: //p' | head -n 1)"
			skip=$((skip + 1))
			continue
		fi
		[ -z "$out" ] || printf "%s\n" "$out" | grep -v "^skip: " | sed "s/^\([^#]\)/# \1/" || true
		if [ $rc = 0 ]; then
			echo "ok $n $name"
			pass=$((pass + 1))
		else
			echo "not ok $n $name"
			fail=$((fail + 1))
		fi
		# a case runs in a subshell: a daemon it left running (its PID died with the
		# subshell) is stopped here, so the next case starts clean
		kpt_gw_reap || echo "# $name left processes in $KPT_NS_GW"
	done
	echo "# passed $pass, failed $fail, skipped $skip"
	[ $fail = 0 ] || return 1
	[ $pass -gt 0 ] || return 77
	return 0
}

main "$@"
