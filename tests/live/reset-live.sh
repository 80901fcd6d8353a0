#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Live check of the TCP reset sender (root): namespaces kqp-a (client) - kqp-r (router)
# - kqp-b (server), 198.18.x and 2001:2::/48, no default routes. An established python3
# TCP connection carries one byte; reset_live in kqp-r sees it and resets both sides with
# kp_reset_send; both python ends must see ECONNRESET. IPv4 then IPv6, each once with the
# byte forwarded and once with the router dropping it (as a blocking gateway does).
# usage: reset-live.sh RESET_LIVE_BINARY
set -u
BIN=${1:?reset_live binary}
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
A=kqp-a R=kqp-r B=kqp-b
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for n in $A $R $B; do ip netns del $n 2>/dev/null; done
}
trap cleanup EXIT INT TERM
cleanup
set -e
for n in $A $R $B; do ip netns add $n; ip -n $n link set lo up; done
ip link add kqp-ar type veth peer name kqp-ra
ip link set kqp-ar netns $A; ip link set kqp-ra netns $R
ip link add kqp-br type veth peer name kqp-rb
ip link set kqp-br netns $B; ip link set kqp-rb netns $R
ip -n $A addr add 198.18.1.2/24 dev kqp-ar; ip -n $A addr add 2001:2:0:1::2/64 dev kqp-ar nodad
ip -n $R addr add 198.18.1.1/24 dev kqp-ra; ip -n $R addr add 2001:2:0:1::1/64 dev kqp-ra nodad
ip -n $R addr add 198.18.2.1/24 dev kqp-rb; ip -n $R addr add 2001:2:0:2::1/64 dev kqp-rb nodad
ip -n $B addr add 198.18.2.2/24 dev kqp-br; ip -n $B addr add 2001:2:0:2::2/64 dev kqp-br nodad
ip -n $A link set kqp-ar up; ip -n $B link set kqp-br up
ip -n $R link set kqp-ra up; ip -n $R link set kqp-rb up
ip -n $A route add 198.18.2.0/24 via 198.18.1.1
ip -n $B route add 198.18.1.0/24 via 198.18.2.1
ip -n $A -6 route add 2001:2:0:2::/64 via 2001:2:0:1::1
ip -n $B -6 route add 2001:2:0:1::/64 via 2001:2:0:2::1
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
set +e

fail=0
run() { # FAMILY SERVER_ADDR PORT [drop]
	local fam=$1 saddr=$2 port=$3 mode=${4:-} out=/tmp/kqp-reset-$$
	if [ "$mode" = drop ]; then # segments with payload to PORT die in the router
		if [ -z "$fam" ]; then
			ip netns exec $R iptables -A FORWARD -p tcp ! --syn --dport $port -m length --length 53:65535 -j DROP
		else
			ip netns exec $R ip6tables -A FORWARD -p tcp ! --syn --dport $port -m length --length 73:65535 -j DROP
		fi
	fi
	timeout 25 ip netns exec $B python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET$fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$saddr', $port)); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(15)
try:
    while c.recv(100): pass
    print('server: clean close')
except ConnectionResetError: print('server: reset')
except socket.timeout: print('server: timeout')
" >$out.b 2>&1 &
	PIDS+=($!)
	timeout 25 ip netns exec $R "$BIN" $port $mode >$out.r 2>&1 &
	PIDS+=($!)
	sleep 0.5
	timeout 25 ip netns exec $A python3 -c "
import socket, time
c = socket.create_connection(('$saddr', $port), timeout=10)
time.sleep(0.3); c.sendall(b'x'); c.settimeout(10)
try:
    d = c.recv(100); print('client: clean close' if not d else 'client: data')
except ConnectionResetError: print('client: reset')
except socket.timeout: print('client: timeout')
" >$out.a 2>&1
	wait
	echo "IPv${fam:-4}${mode:+ ($mode)}: $(cat $out.r | tr '\n' ' ')| $(cat $out.a) | $(cat $out.b)"
	grep -q 'client: reset' $out.a && grep -q 'server: reset' $out.b || fail=1
	rm -f $out.a $out.b $out.r
}
run "" 198.18.2.2 7001
run 6 2001:2:0:2::2 7002
run "" 198.18.2.2 7003 drop
run 6 2001:2:0:2::2 7004 drop
[ $fail = 0 ] && echo "reset-live: ok" || echo "reset-live: FAILED"
exit $fail
