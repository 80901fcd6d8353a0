#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Live check of the kernel connection cache: two namespaces kqc-c (client) and kqc-s
# (server, the cache attached at its veth's tc ingress) joined by a veth pair,
# 198.18.203.0/24. A blocked (client, server, 8080, tcp) key makes connections to 8080
# fail while 8081 works, the hit counter rises, and when the attaching program exits
# the filter (and the clsact qdisc it created) is gone and 8080 works again. Then: a
# SIGKILLed attacher leaves its filter, the next one replaces it, and a foreign filter
# on the same clsact survives our exit. Needs root; exits 77 (skip) otherwise.
#   conncache-live.sh PATH/TO/cc_attach
set -u
TOOL=${1:?usage: conncache-live.sh CC_ATTACH}
if [ "$(id -u)" != 0 ]; then
	echo "skip: needs root (network namespaces, CAP_BPF/CAP_NET_ADMIN)"
	exit 77
fi
for t in ip tc curl; do
	command -v $t >/dev/null || { echo "skip: $t missing"; exit 77; }
done
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) || { echo "skip: python3 missing"; exit 77; }

C=kqc-c S=kqc-s CIP=198.18.203.1 SIP=198.18.203.2
TMP=$(mktemp -d /tmp/kqc-live.XXXXXX)
PIDS=()
FAILS=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ip netns del $C 2>/dev/null
	ip netns del $S 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
ins() { ip netns exec $S "$@"; }
inc() { ip netns exec $C "$@"; }
# connect PORT: 0 when an HTTP GET through a fresh connection succeeds within 2 s
connect() { inc curl -s -o /dev/null --connect-timeout 2 --max-time 4 "http://$SIP:$1/"; }
our_filters() { ins tc filter show dev kqc-s0 ingress | grep -c 'handle 0x6b70'; }

# start_tool NAME: runs cc_attach in $S, waits for its first line; sets TOOL_PID
start_tool() {
	local out=$TMP/$1.out i
	: >"$out"
	ip netns exec $S "$TOOL" kqc-s0 $CIP $SIP 8080 tcp 300 >"$out" 2>"$TMP/$1.err" &
	TOOL_PID=$!
	PIDS+=("$TOOL_PID")
	for i in $(seq 50); do
		grep -q attached "$out" && break
		kill -0 "$TOOL_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q 'bpf=1 attached' "$out"; then
		echo "cc_attach did not attach: $(cat "$out" "$TMP/$1.err")"
		if grep -q 'bpf=0' "$out"; then
			echo "skip: no eBPF here"
			exit 77
		fi
		exit 1
	fi
}

# stats NAME: asks the tool for its counters and prints the last line
stats() {
	local out=$TMP/$1.out n i
	n=$(grep -c entries= "$out")
	kill -USR1 "$TOOL_PID"
	for i in $(seq 50); do
		[ "$(grep -c entries= "$out")" -gt "$n" ] && break
		sleep 0.1
	done
	grep entries= "$out" | tail -1
}

stop_tool() {
	kill -TERM "$TOOL_PID"
	wait "$TOOL_PID"
}

ip netns add $C || exit 1
ip netns add $S || exit 1
ip link add kqc-c0 netns $C type veth peer name kqc-s0 netns $S || exit 1
ip -n $C addr add $CIP/24 dev kqc-c0
ip -n $S addr add $SIP/24 dev kqc-s0
ip -n $C link set lo up
ip -n $S link set lo up
ip -n $C link set kqc-c0 up
ip -n $S link set kqc-s0 up

mkdir -p "$TMP/www"
echo hello >"$TMP/www/index.html"
for port in 8080 8081; do
	(cd "$TMP/www" && exec ip netns exec $S $PY -m http.server $port --bind $SIP) \
		>/dev/null 2>&1 &
	PIDS+=("$!")
done
for i in $(seq 50); do
	connect 8080 && connect 8081 && break
	sleep 0.2
done
connect 8080 && connect 8081 || { echo "FAIL servers did not come up"; exit 1; }
ok "8080 and 8081 reachable before the cache"

# 1. block (client, server, 8080, tcp)
start_tool a
[ "$(our_filters)" = 1 ] && ok "filter handle 0x6b70 at kqc-s0 ingress" ||
	fail "our filter missing: $(ins tc filter show dev kqc-s0 ingress)"
connect 8080 && fail "8080 connected through the cache" || ok "8080 blocked"
connect 8080 && fail "8080 connected through the cache (2nd)" || ok "8080 reconnection blocked"
connect 8081 && ok "8081 still works" || fail "8081 blocked"
line=$(stats a)
echo "     $line"
hits=$(sed -n 's/.*hits_kernel=\([0-9]*\).*/\1/p' <<<"$line")
ehits=$(sed -n 's/.*entry_hits=\([0-9]*\).*/\1/p' <<<"$line")
[ "${hits:-0}" -ge 2 ] && ok "kernel drop counter rose ($hits)" || fail "hits_kernel=$hits"
[ "${ehits:-0}" -ge 2 ] && ok "entry hit counter rose ($ehits)" || fail "entry_hits=$ehits"
stop_tool
[ -z "$(ins tc filter show dev kqc-s0 ingress)" ] && ok "no filter left after exit" ||
	fail "filter left: $(ins tc filter show dev kqc-s0 ingress)"
ins tc qdisc show dev kqc-s0 | grep -q clsact && fail "clsact we created left behind" ||
	ok "clsact we created removed"
connect 8080 && ok "8080 works again" || fail "8080 still blocked after exit"

# 2. SIGKILL leaves the filter; the next start replaces it; a foreign filter survives
start_tool b
kill -KILL "$TOOL_PID"
wait "$TOOL_PID" 2>/dev/null
[ "$(our_filters)" = 1 ] && ok "SIGKILL leaves the filter (state of a killed daemon)" ||
	fail "filter after SIGKILL: $(our_filters)"
start_tool c
[ "$(our_filters)" = 1 ] && ok "restart replaced the stale filter (one of ours)" ||
	fail "filters of ours after restart: $(our_filters)"
connect 8080 && fail "8080 connected after restart" || ok "8080 blocked after restart"
if ins tc filter add dev kqc-s0 ingress prio 7 protocol ip u32 \
	match ip dst 198.18.203.99/32 flowid 1:1 2>"$TMP/u32.err"; then
	stop_tool
	[ "$(our_filters)" = 0 ] && ok "our filter removed on exit" || fail "our filter left"
	ins tc filter show dev kqc-s0 ingress | grep -q u32 && ok "foreign filter kept" ||
		fail "foreign filter removed"
	ins tc qdisc show dev kqc-s0 | grep -q clsact && ok "clsact kept for the foreign filter" ||
		fail "clsact removed under a foreign filter"
else
	echo "     (u32 filter unavailable: $(cat "$TMP/u32.err"); foreign-filter check skipped)"
	stop_tool
	[ "$(our_filters)" = 0 ] && ok "our filter removed on exit" || fail "our filter left"
fi
connect 8080 && ok "8080 works at the end" || fail "8080 blocked at the end"

echo "$FAILS failed"
[ $FAILS = 0 ]
