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
	headers_only
	p2padm_mode
	bt_classified_plain
	bt_classified_forced
	bt_classified_utp
	bt_block
	cache_drops_reconnects
	sigkill_fail_open
	sighup_reload
	ipv6_classified
	bandwidth_limit
)

no_daemon() {
	echo "skip: $KP2PADM has no inline mode"
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

# --- daemon cases ------------------------------------------------------------------------
# Each case runs in its own subshell (set -e): variables do not carry over between cases.
# The daemon runs in kpt-gw with the bed's three interfaces (the eBPF cache at their
# ingress), stats every second, and whatever rules the case writes into $KPT_TMP/kp.conf.

# Event queries (tests/live/events.py): ev_count KEY=VALUE..., ev_max KEY KEY=VALUE...,
# ev_show KEY=VALUE... (one line per matching event, for the log of a failing case).
ev_count() { $KPT_PY "$HERE/events.py" count "$KPT_EVENTS" "$@"; }
ev_max() { $KPT_PY "$HERE/events.py" max "$KPT_EVENTS" "$@"; }
ev_show() { $KPT_PY "$HERE/events.py" show "$KPT_EVENTS" "$@"; }

# conf LINES...: writes the daemon's config (rules) and echoes its path.
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
	kpt_daemon_available || no_daemon
	# connections of earlier cases keep the marks (decisions) of earlier daemons:
	# each case starts from an empty conntrack table
	ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
	kpt_daemon_start -q 0:1 "$@"
}

# The last stats event's KEY, after the workers' next snapshot has been written.
stat_now() {
	sleep 2.2
	kpt_daemon_stat "$1"
}

# stop_daemon: SIGTERM; the rules, chains and tc filters must all be gone.
stop_daemon() {
	kpt_daemon_stop
	local f
	for f in $KPT_GW_IFACES; do
		if ip netns exec $KPT_NS_GW tc filter show dev "$f" ingress 2>/dev/null | grep -q bpf; then
			echo "# a BPF filter is left on $f"
			return 1
		fi
	done
}

# An HTTP download through the gateway is classified http, arrives intact, is bypassed
# after its first packets, and its flow event (ended by conntrack) has the whole
# transfer's counters.
test_http_classified() {
	local r q
	# a closed connection's conntrack entry goes after 1 s instead of 2 min
	ip netns exec $KPT_NS_GW sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1
	start -c "$(conf)"
	r=$(kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/big.bin")
	echo "# download: $r (bytes s)"
	# TIME_WAIT (1 s); conntrack's garbage collector wakes up to 60 s later, but a dump
	# reaps expired entries at once (and their DESTROY events go out)
	for _ in $(seq 1 30); do
		[ "$(kpt_daemon_stat conntrack_ends)" = 1 ] && break
		sleep 0.5
		ip netns exec $KPT_NS_GW conntrack -L >/dev/null 2>&1 || true
	done
	q=$(kpt_daemon_stat queue.received)
	echo "# packets queued: $q; conntrack ends: $(kpt_daemon_stat conntrack_ends);" \
		"bypassed flows: $(kpt_daemon_stat bypassed_flows)"
	[ "$(kpt_daemon_stat bypassed_flows)" = 1 ]
	stop_daemon
	[ "$(ev_count event_type=flow app_proto=http dest_port=80 src_ip=$KPT_C1_IP \
		http.url=/big.bin flow.bypassed=True)" = 1 ]
	# bypass: the 20 MB crossed the kernel, not the queue
	[ "$q" -lt 200 ]
	# conntrack ended it, with the connection's counters (all 20 MiB to the client)
	[ "$(ev_count event_type=flow app_proto=http dest_port=80 flow.reason=conntrack \
		flow.counters=conntrack)" = 1 ]
	[ "$(ev_max bytes_toclient event_type=flow app_proto=http dest_port=80)" -gt \
		$((KPT_HTTP_MB * 1048576)) ]
}

# bypass = headers: a decided flow stays in user space (exact counters, its own FIN)
# but only its headers are copied: the download is intact and classified, nearly every
# queued packet after the decision is truncated, and the flow's byte count is whole.
test_headers_only() {
	local r t b c
	start -c "$(conf "bypass = headers")"
	r=$(kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/big.bin")
	echo "# download: $r (bytes s)"
	t=$(stat_now queue.truncated)
	b=$(kpt_daemon_stat queue.bytes)
	c=$(kpt_daemon_stat queue.copied)
	echo "# queued $b bytes, copied $c; $t packets cut to their headers"
	stop_daemon
	[ "$t" -gt 0 ]
	[ "$b" -gt $((KPT_HTTP_MB * 1048576)) ] # the whole transfer crossed the queues...
	[ "$c" -lt $((KPT_HTTP_MB * 1048576 / 20)) ] # ...but less than 5% of it was copied
	[ "$(ev_count event_type=flow app_proto=http dest_port=80 http.url=/big.bin flow.state=closed)" = 1 ]
	[ "$(ev_max bytes_toclient event_type=flow app_proto=http dest_port=80)" -gt \
		$((KPT_HTTP_MB * 1048576)) ]
}

# mode = p2padm, the 2006 baseline: no CONNMARK rules, no eBPF cache, every packet of the
# transfer queued and copied whole, one verdict each (no GSO super-packets).
test_p2padm_mode() {
	local r q c g
	start -c "$(conf)" -s mode=p2padm
	! ip netns exec $KPT_NS_GW iptables-save | grep -q CONNMARK
	for f in $KPT_GW_IFACES; do
		! ip netns exec $KPT_NS_GW tc filter show dev "$f" ingress | grep -q bpf
	done
	r=$(kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/big.bin")
	echo "# download: $r (bytes s)"
	q=$(stat_now queue.received)
	c=$(kpt_daemon_stat queue.copied)
	g=$(kpt_daemon_stat queue.gso)
	echo "# queued $q packets, copied $c bytes, $g GSO super-packets; cache: $(kpt_daemon_stat cache)"
	stop_daemon
	[ "$q" -gt $((KPT_HTTP_MB * 1048576 / 1500)) ] # at least one per MTU-sized segment
	[ "$c" -gt $((KPT_HTTP_MB * 1048576)) ]
	[ "$g" = 0 ]
	[ "$(ev_count event_type=flow app_proto=http dest_port=80 flow.bypassed=True)" = 0 ]
	[ "$(ev_count event_type=flow app_proto=http dest_port=80 http.url=/big.bin)" = 1 ]
}

# bt_classified MODE: a real swarm (tracker included) through the gateway completes and
# its peer connection is labelled bittorrent (TCP, or UDP for uTP).
bt_classified() {
	local proto=TCP
	[ "$1" = utp ] && proto=UDP
	start -c "$(conf)"
	kpt_bt_swarm "$1"
	echo "# bt $1: complete in $KPT_BT_SECONDS s"
	stop_daemon
	echo "# peer flows: $(ev_count event_type=flow dest_port=6881 proto=$proto app_proto=bittorrent)" \
		"tracker flows: $(ev_count event_type=flow dest_port=6969 app_proto=bittorrent)"
	[ "$(ev_count event_type=flow dest_port=6881 proto=$proto app_proto=bittorrent)" -ge 1 ]
	[ "$(ev_count event_type=flow dest_port=6881 proto=$proto app_proto=unknown)" = 0 ]
	if [ "$1" = forced ]; then
		# MSE/PE: recognised by behaviour, never by a clear handshake
		[ "$(ev_count event_type=flow dest_port=6881 app_proto=bittorrent \
			bittorrent.encryption=mse)" -ge 1 ]
	fi
}
test_bt_classified_plain() { bt_classified plain; }
test_bt_classified_forced() { bt_classified forced; }
test_bt_classified_utp() { bt_classified utp; }

# With a block rule for bittorrent (the tracker let through, so that the peers meet),
# no mode completes, each peer connection gets a block event, and c2's web traffic
# flows meanwhile.
test_bt_block() {
	local m r proto ns ip
	for m in plain forced utp; do
		# the plain leecher's orphaned socket retransmits its blocked handshake after
		# the leecher exits, and the next daemon blocks (and caches) that as well:
		# the forced (TCP) run leeches from the other client
		ns=$KPT_NS_C1 ip=$KPT_C1_IP
		[ $m = forced ] && ns=$KPT_NS_C2 ip=$KPT_C2_IP
		# one daemon per mode: its cache would otherwise drop the next mode's
		# connections to the same seeder before user space sees them
		start -c "$(conf "rule = pass name=tracker dst=$KPT_S_IP dport=6969" \
			"rule = block name=no-bittorrent app=bittorrent")"
		if KPT_BT_TIMEOUT=12 KPT_BT_LEECH_NS=$ns KPT_BT_LEECH_IP=$ip kpt_bt_swarm $m 2>/dev/null; then
			echo "# bt $m completed despite the block"
			return 1
		fi
		r=$(kpt_http_get $KPT_NS_C2 "http://$KPT_S_IP:8080/big.bin")
		echo "# bt $m: no transfer; c2's web download meanwhile: $r (bytes s)"
		stop_daemon
		ev_show dest_port=6881
		proto=TCP
		[ $m = utp ] && proto=UDP
		[ "$(ev_count event_type=block block.rule=no-bittorrent proto=$proto dest_port=6881 \
			app_proto=bittorrent)" -ge 1 ]
		if [ $m = forced ]; then
			[ "$(ev_count event_type=block block.rule=no-bittorrent \
				bittorrent.encryption=mse)" -ge 1 ]
			[ "$(ev_count event_type=flow flow.policy=block dest_port=6881 \
				bittorrent.encryption=mse)" -ge 1 ]
		fi
		[ "$(ev_count event_type=block app_proto=http)" = 0 ]
	done
}

# A blocked client's reconnections die in the kernel: the eBPF map's hit counter rises
# and user space receives not one more packet; another client's traffic to the same
# port passes.
test_cache_drops_reconnects() {
	local h i
	start -c "$(conf "rule = block name=c2-8080 src=$KPT_C2_NET dport=8080")"
	if ip netns exec $KPT_NS_C2 curl -sS --max-time 2 -o /dev/null "http://$KPT_S_IP:8080/small.bin"; then
		echo "# c2 reached port 8080 despite the rule"
		return 1
	fi
	for i in $(seq 1 20); do
		ip netns exec $KPT_NS_C2 curl -s --max-time 0.5 -o /dev/null \
			"http://$KPT_S_IP:8080/small.bin" && { echo "# reconnection $i got through"; return 1; }
	done
	h=$(stat_now cache.hits_kernel)
	echo "# kernel hits after 20 reconnections: $h; backend $(kpt_daemon_stat cache.backend);" \
		"entry: $(kpt_daemon_stat cache.list)"
	[ "$(kpt_daemon_stat cache.backend)" = ebpf ]
	[ "$h" -ge 20 ]
	kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP:8080/small.bin" "$KPT_HTTP_SMALL_SHA" >/dev/null
	stop_daemon
	# user space met c2's port-8080 traffic once: the first connection's first packet(s);
	# each reconnection that reached it would be a flow (and an event) of its own
	ev_show src_ip=$KPT_C2_IP dest_port=8080
	[ "$(ev_count event_type=block block.rule=c2-8080 src_ip=$KPT_C2_IP block.cached=True)" = 1 ]
	[ "$(ev_count event_type=flow src_ip=$KPT_C2_IP dest_port=8080)" = 1 ]
	[ "$(ev_max pkts_toserver event_type=flow src_ip=$KPT_C2_IP dest_port=8080)" = 1 ]
}

# SIGKILL: traffic keeps flowing (queue-bypass, fail-open), also a transfer in the
# middle of being queued; a restart replaces the old rules and filters; a clean stop
# leaves nothing.
test_sigkill_fail_open() {
	local c n0 n1 pid out=$KPT_TMP/slow.bin
	c=$(conf)
	start -c "$c" -s bypass=no
	n0=$(kpt_gw_chains)
	ip netns exec $KPT_NS_C1 curl -sS --max-time 30 --limit-rate 8M -o "$out" \
		"http://$KPT_S_IP/big.bin" &
	pid=$!
	sleep 1
	kpt_daemon_kill9
	wait $pid
	[ "$(sha256sum "$out" | cut -d' ' -f1)" = "$KPT_HTTP_SHA" ]
	echo "# a transfer queued when the daemon died completed intact"
	kpt_http_get $KPT_NS_C2 "http://$KPT_S_IP/big.bin" >/dev/null
	[ "$(kpt_gw_chains)" = "$n0" ] # the killed daemon's rules are still there
	start -c "$c" -s bypass=no
	n1=$(kpt_gw_chains)
	echo "# rule lines: first daemon $n0, after restart $n1"
	[ "$n1" = "$n0" ] # replaced, not duplicated
	for f in $KPT_GW_IFACES; do
		[ "$(ip netns exec $KPT_NS_GW tc filter show dev "$f" ingress | grep -c 'handle 0x6b70')" = 1 ]
	done
	kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/big.bin" >/dev/null
	stop_daemon
	[ "$(kpt_gw_chains)" = 0 ]
}

# SIGHUP: a broken file keeps the old policy (and says why); a good one applies to new
# flows, while a flow that started before the reload finishes. (The surviving flow is
# c2's: the block of c1's new flow puts (c1, server, 8080, tcp) into the connection
# cache, which drops every packet of c1 to that port, old flows included.)
test_sighup_reload() {
	local c pid out=$KPT_TMP/slow.bin
	c=$(conf "rule = pass name=all")
	start -c "$c"
	kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP:8080/small.bin" "$KPT_HTTP_SMALL_SHA" >/dev/null
	echo "rule = block name=broken app=no-such-app" >>"$c"
	kill -HUP "$KPT_DAEMON_PID"
	sleep 0.5
	grep -q "reload failed, the old policy stays in force: $c:4: .*no-such-app" "$KPT_DAEMON_LOG"
	kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP:8080/small.bin" "$KPT_HTTP_SMALL_SHA" >/dev/null
	echo "# a broken file left the old policy in force"
	ip netns exec $KPT_NS_C2 curl -sS --max-time 30 --limit-rate 8M -o "$out" \
		"http://$KPT_S_IP:8080/big.bin" &
	pid=$!
	sleep 0.5
	conf "rule = block name=web-8080 dport=8080" >/dev/null
	kill -HUP "$KPT_DAEMON_PID"
	sleep 0.5
	grep -q "policy reloaded from $c" "$KPT_DAEMON_LOG"
	if ip netns exec $KPT_NS_C1 curl -sS --max-time 2 -o /dev/null "http://$KPT_S_IP:8080/small.bin"; then
		echo "# a new flow passed after the reload"
		return 1
	fi
	kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/small.bin" "$KPT_HTTP_SMALL_SHA" >/dev/null
	wait $pid
	[ "$(sha256sum "$out" | cut -d' ' -f1)" = "$KPT_HTTP_SHA" ]
	echo "# the new policy blocks new flows; the flow from before the reload completed"
	stop_daemon
	[ "$(ev_count event_type=block block.rule=web-8080 src_ip=$KPT_C1_IP dest_port=8080)" = 1 ]
	[ "$(ev_count event_type=block src_ip=$KPT_C2_IP)" = 0 ]
}

# IPv6 through the gateway: classified like IPv4, blocked like IPv4 (kernel cache too).
test_ipv6_classified() {
	local r
	start -c "$(conf "rule = block name=v6-8080 dst=$KPT_S_NET6 dport=8080")"
	r=$(kpt_http_get $KPT_NS_C1 "http://[$KPT_S_IP6]/big.bin")
	echo "# v6 download: $r (bytes s)"
	if ip netns exec $KPT_NS_C1 curl -sS -g --max-time 2 -o /dev/null "http://[$KPT_S_IP6]:8080/small.bin"; then
		echo "# v6 port 8080 passed despite the rule"
		return 1
	fi
	ip netns exec $KPT_NS_C1 curl -s -g --max-time 1 -o /dev/null "http://[$KPT_S_IP6]:8080/small.bin" || true
	[ "$(stat_now cache.hits_kernel)" -ge 1 ]
	stop_daemon
	[ "$(ev_count event_type=flow app_proto=http src_ip=$KPT_C1_IP6 dest_ip=$KPT_S_IP6 dest_port=80 \
		http.url=/big.bin)" = 1 ]
	[ "$(ev_count event_type=block block.rule=v6-8080 src_ip=$KPT_C1_IP6)" = 1 ]
}

# `bandwidth = http 20mbit`: a real client's HTTP download through the gateway comes in at
# 20 Mbit/s (±10%: the first packets, before the flow is decided and marked, pass
# unlimited) while another application (iperf3, unknown) runs unlimited beside it; the
# stats event shows the class's counters; a clean stop removes the HTB tree.
test_bandwidth_limit() {
	local r bytes secs mbit ip pid j
	start -c "$(conf "bandwidth = http 20mbit" "shaper.link = 40gbit")"
	grep -q "bandwidth: http at 20 Mbit/s" "$KPT_DAEMON_LOG"
	kpt_bg $KPT_NS_S iperf3 -s -B $KPT_S_IP -p 5201
	kpt_wait_port $KPT_NS_S 5201
	ip netns exec $KPT_NS_C2 iperf3 -c $KPT_S_IP -p 5201 -t 6 -J >"$KPT_TMP/iperf.json" &
	pid=$!
	r=$(ip netns exec $KPT_NS_C1 curl -q --noproxy '*' -s --max-time 6 -o /dev/null \
		-w '%{size_download} %{time_total}' "http://$KPT_S_IP/big.bin" || true)
	wait $pid
	bytes=${r% *} secs=${r#* }
	mbit=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", b * 8 / s / 1e6 }')
	ip=$($KPT_PY -c 'import json,sys; print("%.0f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6))' "$KPT_TMP/iperf.json")
	echo "# http under the 20 Mbit/s limit: $mbit Mbit/s ($bytes bytes in $secs s); iperf3 beside it: $ip Mbit/s"
	j=$(stat_now shaper)
	echo "# shaper stats: ${j:0:300}"
	stop_daemon
	awk -v m="$mbit" 'BEGIN { exit !(m >= 18 && m <= 22) }'
	[ "$ip" -gt 200 ]
	case $j in *"'app': 'http'"*) ;; *) return 1 ;; esac
	for f in $KPT_GW_IFACES; do
		! ip netns exec $KPT_NS_GW tc qdisc show dev "$f" | grep -q htb
	done
}

# --- runner -----------------------------------------------------------------------------
main() {
	local sel=("$@") name
	[ ${#sel[@]} -gt 0 ] || sel=("${TESTS[@]}")
	for name in "${sel[@]}"; do
		declare -F "test_$name" >/dev/null || { echo "unknown test $name" >&2; exit 2; }
	done
	kpt_up
	kpt_http_start
	kpt_run_cases "${sel[@]}"
}

main "$@"
