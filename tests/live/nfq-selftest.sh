#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Live test of the NFQUEUE source (src/io/nfq.c) through tests/live/nfq_selftest:
# two namespaces kqn-a (client, 198.18.10.1) and kqn-b (server, 198.18.10.2) on a veth
# pair; everything kqn-b sends is queued (filter OUTPUT -j NFQUEUE --queue-bypass).
#   1. accept all: HTTP downloads complete intact, packets were received
#   2. drop one port: a connection to it fails, the other port still works
#   3. mark on accept: a mangle POSTROUTING counter matching the mark rises
#   4. GSO: a bulk download shows GSO super-packets (gso>0 or max_len > MTU)
#   5. the reader is SIGKILLed: with --queue-bypass traffic keeps flowing
#   6. a copy range of 128 bytes: truncation counted; a tiny receive buffer: ENOBUFS counted and survived, the download intact
#   7. one socket bound to two queues, mixed plain and marked verdicts
# Usage: nfq-selftest.sh PATH/TO/nfq_selftest. Exit 77 = skipped (not root, no netns,
# no iptables NFQUEUE). Everything is bounded in time and torn down by trap.
set -u

SELFTEST=${1:?usage: nfq-selftest.sh nfq_selftest}
NS_A=kqn-a
NS_B=kqn-b
IP_A=198.18.10.1
IP_B=198.18.10.2
QNUM=7
PORT_OK=8000
PORT_DROP=8001
MARK=0x00420000
PY=$(command -v python3 || true)

IF_A=kqn-va
IF_B=kqn-vb
# shellcheck source=pair.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pair.sh"
command -v curl >/dev/null || skip "curl absent"
[ -n "$PY" ] || skip "python3 absent"
[ -x "$SELFTEST" ] || { echo "FAIL: $SELFTEST not executable"; exit 1; }
kp_pair_up

B iptables -w -A OUTPUT -o kqn-vb -j NFQUEUE --queue-num $QNUM --queue-bypass 2>"$TMP/ipt.err" ||
	skip "iptables NFQUEUE unavailable: $(cat "$TMP/ipt.err")"
B iptables -w -t mangle -A POSTROUTING -o kqn-vb -m mark --mark $MARK/0x00ff0000 -j ACCEPT ||
	skip "iptables mark match unavailable"


mkdir -p "$TMP/www"
head -c 8388608 /dev/urandom >"$TMP/www/blob"
SUM=$(sha256sum <"$TMP/www/blob" | cut -d' ' -f1)

for port in $PORT_OK $PORT_DROP; do
	ip netns exec $NS_B "$PY" -m http.server $port --bind $IP_B --directory "$TMP/www" >/dev/null 2>&1 &
	PIDS+=($!)
done

# Servers up (no reader yet: --queue-bypass lets the traffic through).
for _ in $(seq 50); do
	A curl -s -o /dev/null --max-time 1 http://$IP_B:$PORT_OK/ &&
		A curl -s -o /dev/null --max-time 1 http://$IP_B:$PORT_DROP/ && break
	sleep 0.2
done

DPID=
start_reader() { # args for nfq_selftest; output in $TMP/out
	rm -f "$TMP/ready" "$TMP/out"
	ip netns exec $NS_B "$SELFTEST" -q $QNUM -R "$TMP/ready" "$@" >"$TMP/out" 2>"$TMP/err" &
	DPID=$!
	PIDS+=($DPID)
	for _ in $(seq 50); do
		[ -e "$TMP/ready" ] && return 0
		kill -0 $DPID 2>/dev/null || break
		sleep 0.1
	done
	echo "reader did not start: $(cat "$TMP/err")"
	return 1
}
stop_reader() {
	kill -TERM $DPID 2>/dev/null
	for _ in $(seq 50); do kill -0 $DPID 2>/dev/null || break; sleep 0.1; done
	kill -9 $DPID 2>/dev/null
	wait $DPID 2>/dev/null
	[ -s "$TMP/err" ] && sed 's/^/  reader: /' "$TMP/err"
}
stat() { sed -n "s/^$1=//p" "$TMP/out"; }
download() { # port -> sha256 of the body, "" on failure
	A curl -s --max-time 20 http://$IP_B:$1/blob | sha256sum | cut -d' ' -f1 | grep -v '^e3b0c442'
}
can_connect() { # port: 0 when a TCP connection opens within 3 s
	A timeout 3 bash -c "exec 3<>/dev/tcp/$IP_B/$1" 2>/dev/null
}
mark_count() {
	B iptables -w -t mangle -L POSTROUTING -v -n -x | awk '/mark match/ {print $1; exit}'
}

# 1. accept all
if start_reader; then
	[ "$(download $PORT_OK)" = "$SUM" ] && ok "accept: download intact" ||
		fail "accept: download failed or corrupt"
	can_connect $PORT_DROP && ok "accept: port $PORT_DROP reachable" ||
		fail "accept: port $PORT_DROP unreachable"
	stop_reader
	R=$(stat received)
	[ "${R:-0}" -gt 0 ] && ok "accept: received=$R verdicts_sent=$(stat verdicts_sent) batch_msgs=$(stat batch_msgs)" ||
		fail "accept: no packet received"
	[ "$(stat enobufs)" = 0 ] || echo "note: enobufs=$(stat enobufs)"
	[ "$(mark_count)" = 0 ] && ok "accept: no mark set" || fail "accept: marks without -m"
else
	fail "accept: reader"
fi

# 2. drop one port
if start_reader -d $PORT_DROP; then
	can_connect $PORT_DROP && fail "drop: port $PORT_DROP still reachable" ||
		ok "drop: port $PORT_DROP blocked"
	[ "$(download $PORT_OK)" = "$SUM" ] && ok "drop: port $PORT_OK still works" ||
		fail "drop: port $PORT_OK broken"
	stop_reader
	[ "$(stat dropped)" -gt 0 ] && ok "drop: dropped=$(stat dropped)" || fail "drop: nothing dropped"
else
	fail "drop: reader"
fi

# 3. mark on accept
before=$(mark_count)
if start_reader -m $MARK; then
	[ "$(download $PORT_OK)" = "$SUM" ] && ok "mark: download intact" || fail "mark: download failed"
	stop_reader
	after=$(mark_count)
	[ "$after" -gt "$before" ] && ok "mark: POSTROUTING mark counter $before -> $after (marked=$(stat marked))" ||
		fail "mark: counter did not rise ($before -> $after)"
else
	fail "mark: reader"
fi

# 4. GSO on, then off (the off run is reported, not asserted)
if start_reader; then
	[ "$(download $PORT_OK)" = "$SUM" ] && ok "gso: download intact" || fail "gso: download failed"
	stop_reader
	echo "gso on:  received=$(stat received) gso=$(stat gso) max_len=$(stat max_len)" \
		"csum_partial=$(stat csum_partial) csum_ok_flag=$(stat csum_ok_flag)" \
		"flags_granted=$(stat flags_granted) flags_refused=$(stat flags_refused) rcvbuf=$(stat rcvbuf)"
	if [ "$(stat gso)" -gt 0 ] || [ "$(stat max_len)" -gt 1500 ]; then
		ok "gso: super-packets seen"
	else
		fail "gso: no GSO packet and max_len <= 1500"
	fi
	[ "$(stat csum_ok_flag)" = "$(stat csum_partial)" ] && ok "gso: KP_PKT_CSUM_OK on every partial checksum" ||
		fail "gso: csum flag mismatch"
else
	fail "gso: reader"
fi
if start_reader -G; then
	[ "$(download $PORT_OK)" = "$SUM" ] && ok "no-gso: download intact" || fail "no-gso: download failed"
	stop_reader
	echo "gso off: received=$(stat received) gso=$(stat gso) max_len=$(stat max_len)" \
		"csum_partial=$(stat csum_partial)"
else
	fail "no-gso: reader"
fi

# 5. SIGKILL of the reader: --queue-bypass keeps traffic flowing
if start_reader; then
	can_connect $PORT_OK || fail "kill: not reachable before the kill"
	kill -9 $DPID; wait $DPID 2>/dev/null
	[ "$(download $PORT_OK)" = "$SUM" ] && ok "kill: traffic flows after SIGKILL" ||
		fail "kill: traffic stopped after SIGKILL"
else
	fail "kill: reader"
fi

# 6a. a copy range of 128 bytes: packets arrive truncated, pkt.len keeps the real length
if start_reader -c 128; then
	[ "$(download $PORT_OK)" = "$SUM" ] && ok "copy 128: download intact" ||
		fail "copy 128: download failed"
	stop_reader
	[ "$(stat truncated)" -gt 0 ] && [ "$(stat max_len)" -gt 128 ] &&
		ok "copy 128: truncated=$(stat truncated) max_len=$(stat max_len)" ||
		fail "copy 128: truncated=$(stat truncated) max_len=$(stat max_len)"
else
	fail "copy 128: reader"
fi

# 6. a small receive buffer without GSO: ENOBUFS is counted and survived (lost packet
#    messages are covered by the next batch verdict of the queue)
if start_reader -G -r 16384 -b 64; then
	[ "$(download $PORT_OK)" = "$SUM" ] && ok "small rcvbuf: download intact" ||
		fail "small rcvbuf: download failed"
	stop_reader
	echo "small rcvbuf: received=$(stat received) enobufs=$(stat enobufs) rcvbuf=$(stat rcvbuf)"
else
	fail "small rcvbuf: reader"
fi

# 7. one socket, two queues (port 8000 to queue 7, the rest to queue 8), both ports at once;
#    only port 8001's packets are marked, so batches mix plain accepts and marked verdicts:
#    the mark counter must rise by exactly the number of marked packets
B iptables -w -I OUTPUT 1 -o kqn-vb -p tcp --sport $PORT_OK -j NFQUEUE --queue-num $QNUM --queue-bypass
B iptables -w -R OUTPUT 2 -o kqn-vb -j NFQUEUE --queue-num $((QNUM + 1)) --queue-bypass
before=$(mark_count)
if start_reader -q $QNUM:$((QNUM + 1)) -m $MARK -M $PORT_DROP; then
	download $PORT_OK >"$TMP/s1" & d1=$!
	download $PORT_DROP >"$TMP/s2" & d2=$!
	wait $d1 $d2
	[ "$(cat "$TMP/s1")" = "$SUM" ] && [ "$(cat "$TMP/s2")" = "$SUM" ] &&
		ok "two queues: both downloads intact" || fail "two queues: a download failed"
	stop_reader
	after=$(mark_count)
	echo "two queues: received=$(stat received) queue $QNUM=$(stat queue_first)" \
		"queue $((QNUM + 1))=$(stat queue_others) marked=$(stat marked)" \
		"verdicts_sent=$(stat verdicts_sent) batch_msgs=$(stat batch_msgs)"
	[ "$(stat queue_first)" -gt 0 ] && [ "$(stat queue_others)" -gt 0 ] &&
		ok "two queues: both queues served" || fail "two queues: a queue saw nothing"
	[ "$(stat received)" -gt 0 ] && [ "$(stat marked)" -gt 0 ] &&
		[ $((after - before)) = "$(stat marked)" ] &&
		ok "two queues: mark counter +$((after - before)) = marked packets" ||
		fail "two queues: mark counter +$((after - before)), marked $(stat marked)"
else
	fail "two queues: reader"
fi

[ $FAILS = 0 ] && { echo "nfq-selftest: all passed"; exit 0; }
echo "nfq-selftest: $FAILS failure(s)"
exit 1
