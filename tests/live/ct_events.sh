#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Conntrack DESTROY events of bypassed flows, through a gateway namespace running
# kp2padm's rules (no daemon: --queue-bypass lets the packets through). Client kqp-c,
# gateway kqp-g (forwarding), server kqp-s, 198.18.x and 2001:2::/48 addresses, no default
# routes. The same is done over IPv4 and IPv6.
# A stand-in for the daemon's verdict marks the first packet of a TCP connection to port
# 8080 (0x00050000 under the mask 0x00ff0000); the ruleset saves it as the connmark, later
# packets are restored and skip the queue (RETURN counter rises). A second connection to
# 8081 stays unmarked. After both close and their entries are deleted (conntrack -D), the
# reader must report the marked one with its original tuple and nonzero counters in both
# directions, and not the unmarked one.
# Usage: ct_events.sh NF_PLUMB_TEST_BINARY        (exit 77: skipped)
set -u
bin=$(readlink -f "${1:?usage: ct_events.sh NF_PLUMB_TEST_BINARY}")
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
for t in iptables ip6tables iptables-save ip6tables-save conntrack ip python3; do
	command -v $t >/dev/null || { echo "skip: $t missing"; exit 77; }
done
py=$(command -v python3)
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for n in kqp-c kqp-g kqp-s; do ip netns del $n 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pass=0 fail=0
check() { # NAME CONDITION-EXIT-CODE
	if [ "$2" = 0 ]; then echo "ok   $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi
}
die() { echo "FAIL setup: $*"; exit 1; }

for n in kqp-c kqp-g kqp-s; do
	ip netns del $n 2>/dev/null
	ip netns add $n || die "netns $n"
done
ip link add kqp-c0 netns kqp-c type veth peer name kqp-g0 netns kqp-g || die veth
ip link add kqp-s0 netns kqp-s type veth peer name kqp-g1 netns kqp-g || die veth
ip -n kqp-c addr add 198.18.1.2/24 dev kqp-c0
ip -n kqp-g addr add 198.18.1.1/24 dev kqp-g0
ip -n kqp-g addr add 198.18.2.1/24 dev kqp-g1
ip -n kqp-s addr add 198.18.2.2/24 dev kqp-s0
ip -n kqp-c addr add 2001:2:0:1::2/64 dev kqp-c0 nodad
ip -n kqp-g addr add 2001:2:0:1::1/64 dev kqp-g0 nodad
ip -n kqp-g addr add 2001:2:0:2::1/64 dev kqp-g1 nodad
ip -n kqp-s addr add 2001:2:0:2::2/64 dev kqp-s0 nodad
for l in kqp-c:kqp-c0 kqp-g:kqp-g0 kqp-g:kqp-g1 kqp-s:kqp-s0; do
	ip -n ${l%%:*} link set ${l#*:} up
	ip -n ${l%%:*} link set lo up
done
ip -n kqp-c route add 198.18.2.0/24 via 198.18.1.1
ip -n kqp-s route add 198.18.1.0/24 via 198.18.2.1
ip -n kqp-c route add 2001:2:0:2::/64 via 2001:2:0:1::1
ip -n kqp-s route add 2001:2:0:1::/64 via 2001:2:0:2::1
ip netns exec kqp-g sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward;
	echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'
g() { ip netns exec kqp-g "$@"; }

g "$bin" install -6 -q 0 -m 0x00ff0000 -i kqp-g0 -i kqp-g1 2>"$tmp/err" || die "install: $(cat "$tmp/err")"
# The daemon's verdict stand-in: mark the SYN of connections to 8080.
for t in iptables ip6tables; do
	g $t -w -t mangle -A FORWARD -p tcp --syn --dport 8080 -j MARK --set-xmark 0x50000/0xff0000
done

cat >"$tmp/srv.py" <<'X'
import socket, sys
host = sys.argv[3]
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").write("up")
s.settimeout(30)
c, _ = s.accept()
c.recv(100)
c.sendall(b"x" * 50000)
c.close()
X
cat >"$tmp/cli.py" <<'X'
import socket, sys
c = socket.create_connection((sys.argv[2], int(sys.argv[1])), timeout=10)
c.sendall(b"hello")
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
c.close()
print(n)
X
for p in 8080 8081; do
	for a in 198.18.2.2 2001:2:0:2::2; do
		ip netns exec kqp-s "$py" "$tmp/srv.py" $p "$tmp/up.$p.$a" $a &
		pids+=($!)
	done
done
g "$bin" ct-wait 0x00ff0000 15 198.18.1.2 198.18.2.2 8080 2001:2:0:1::2 2001:2:0:2::2 8080 \
	>"$tmp/events" 2>"$tmp/ct.err" &
ctpid=$!
pids+=($ctpid)
for _ in $(seq 50); do
	[ "$(ls "$tmp" | grep -c '^up\.')" = 4 ] && grep -q ready "$tmp/events" && break
	sleep 0.1
done
grep -q ready "$tmp/events" || die "event reader not ready: $(cat "$tmp/ct.err")"

for a in 198.18.2.2 2001:2:0:2::2; do
	n1=$(ip netns exec kqp-c "$py" "$tmp/cli.py" 8081 $a)
	n2=$(ip netns exec kqp-c "$py" "$tmp/cli.py" 8080 $a)
	check "$a: traffic flows through the queue rules with no daemon (--queue-bypass)" \
		$([ "$n1" = 50000 ] && [ "$n2" = 50000 ]; echo $?)
done
for f in ipv4:iptables ipv6:ip6tables; do
	check "${f%%:*}: marked connection: connmark saved" \
		$(g conntrack -L -f ${f%%:*} -p tcp --dport 8080 2>/dev/null | grep -q 'mark=327680'; echo $?)
	ret=$(g ${f#*:} -w -L KP2PADM-FWD -v -x -n | awk '$3 == "RETURN" { print $1 }')
	check "${f%%:*}: marked connection bypasses the queue (RETURN counter ${ret:-0} > 0)" \
		$([ "${ret:-0}" -gt 0 ]; echo $?)
	g conntrack -D -f ${f%%:*} -p tcp --dport 8081 >/dev/null 2>&1
	g conntrack -D -f ${f%%:*} -p tcp --dport 8080 >/dev/null 2>&1
done
wait $ctpid
rc=$?
cat "$tmp/events"
check "DESTROY events of the marked flows (IPv4, IPv6): original tuple, nonzero counters" \
	$([ $rc != 1 ]; echo $?)
check "unmarked flows not delivered" $([ $rc != 2 ] && ! grep -q ':8081 ' "$tmp/events"; echo $?)
check "reader lost nothing" $(grep -q '^lost=0$' "$tmp/events"; echo $?)

# A burst of DESTROY events into the smallest receive buffer: the overflow (ENOBUFS) is
# counted and the reader still gets the events that follow it.
g "$bin" ct-burst 0x00ff0000 "$tmp/go" 9999 15 >"$tmp/burst" 2>"$tmp/burst.err" &
bpid=$!
pids+=($bpid)
for _ in $(seq 50); do grep -q ready "$tmp/burst" && break; sleep 0.1; done
ct_udp() { # SPORT: a marked UDP entry made by hand
	g conntrack -I -p udp -s 198.18.5.1 -d 198.18.6.1 --sport $1 --dport 53 --timeout 100 \
		--mark 0x50000 >/dev/null 2>&1
}
for i in $(seq 1000 1300); do ct_udp $i; done
g conntrack -D -p udp --dport 53 >/dev/null 2>&1
touch "$tmp/go"
sleep 0.5
ct_udp 9999
g conntrack -D -p udp --dport 53 >/dev/null 2>&1
wait $bpid
rc=$?
tail -1 "$tmp/burst"
check "ENOBUFS counted and survived: later events still arrive" $([ $rc = 0 ]; echo $?)

g "$bin" remove 2>"$tmp/err"
check "remove" $([ $? = 0 ] && ! g iptables-save | grep -q KP2PADM && ! g ip6tables-save | grep -q KP2PADM; echo $?)
echo "ct-events: $pass passed, $fail failed"
[ $fail = 0 ]
