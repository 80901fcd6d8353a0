#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Per-application bandwidth limits on a three-namespace test bed (kps-c client,
# kps-g gateway, kps-s server; 198.18.x only, no default routes). kps-g marks the
# packets of port 8080 as the daemon marks a decided HTTP flow, and the shaper
# (tests/live/shaper_test.c -> src/kern/shaper.c) limits HTTP to 20 Mbit/s on both
# gateway interfaces. Two downloads at once: port 8080 must come in at 20 Mbit/s
# +-10%, port 8081 (unmarked) above 200 Mbit/s; the HTTP class counters rise; after
# kp_shaper_remove the root qdisc is the default again and 8080 is no longer
# limited. Also: a leftover qdisc (killed daemon) is removed by kp_shaper_cleanup.
# Usage: shaper-live.sh PATH/shaper_test. Exit 77 when not root or tools are missing.
set -u
DRV=${1:?usage: shaper-live.sh shaper_test}
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
for t in ip iptables curl python3 tc; do
	command -v $t >/dev/null || { echo "skip: $t missing"; exit 77; }
done

NS="kps-c kps-g kps-s"
TMP=$(mktemp -d /tmp/kps-shape.XXXXXX)
PIDS=()
FAIL=0
RATE=20000000

cleanup() {
	exec 3>&- 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in $NS; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAIL=1; }
g() { ip netns exec kps-g "$@"; }

for n in $NS; do
	if ip netns list | grep -qw "$n"; then ip netns del "$n"; fi
	ip netns add "$n" || { echo "skip: cannot create namespace $n"; exit 77; }
done
ip link add kps-c0 netns kps-c type veth peer name kps-gc netns kps-g || exit 1
ip link add kps-s0 netns kps-s type veth peer name kps-gs netns kps-g || exit 1
ip -n kps-c addr add 198.18.1.1/24 dev kps-c0
ip -n kps-g addr add 198.18.1.254/24 dev kps-gc
ip -n kps-g addr add 198.18.2.254/24 dev kps-gs
ip -n kps-s addr add 198.18.2.1/24 dev kps-s0
for n in $NS; do ip -n "$n" link set lo up; done
ip -n kps-c link set kps-c0 up; ip -n kps-s link set kps-s0 up
ip -n kps-g link set kps-gc up; ip -n kps-g link set kps-gs up
ip -n kps-c route add 198.18.2.0/24 via 198.18.1.254
ip -n kps-s route add 198.18.1.0/24 via 198.18.2.254
g sysctl -qw net.ipv4.ip_forward=1

MARK=$("$DRV" mark)
g iptables -t mangle -A PREROUTING -p tcp --dport 8080 -j MARK --set-xmark "$MARK/0x00ff0000" &&
g iptables -t mangle -A PREROUTING -p tcp --sport 8080 -j MARK --set-xmark "$MARK/0x00ff0000" ||
	{ echo "skip: iptables mangle MARK unavailable"; exit 77; }

truncate -s 4G "$TMP/big"; echo pong >"$TMP/ping"
for port in 8080 8081; do
	ip netns exec kps-s python3 -m http.server --bind 198.18.2.1 --directory "$TMP" "$port" \
		>"$TMP/http$port.log" 2>&1 &
	PIDS+=($!)
done
up=0
for _ in $(seq 50); do
	if ip netns exec kps-c curl -s -o /dev/null --max-time 1 http://198.18.2.1:8080/ping &&
	   ip netns exec kps-c curl -s -o /dev/null --max-time 1 http://198.18.2.1:8081/ping; then
		up=1; break
	fi
	sleep 0.2
done
[ $up = 1 ] || { echo "FAIL http servers did not come up"; exit 1; }

# rate in bit/s of a download bounded to $2 seconds from port $1
fetch() {
	ip netns exec kps-c curl -s -o /dev/null --max-time "$2" \
		-w '%{size_download} %{time_total}\n' "http://198.18.2.1:$1/big" |
		awk '{ if ($2 > 0) printf "%.0f\n", $1 * 8 / $2; else print 0 }'
}
mbit() { awk -v r="$1" 'BEGIN { printf "%.1f", r / 1e6 }'; }

# A leftover tree (daemon killed): installed, then found and removed by cleanup.
g "$DRV" once $RATE kps-gc kps-gs || { bad "install (once)"; exit 1; }
if g tc qdisc show dev kps-gc | grep -q "qdisc htb 6b70: root"; then ok "leftover htb 6b70: present"
else bad "no htb 6b70: after install"; fi
out=$(g "$DRV" cleanup kps-gc kps-gs)
[ "$out" = "removed 2" ] && ok "cleanup: $out" || bad "cleanup said '$out'"
out=$(g "$DRV" cleanup kps-gc kps-gs)
[ "$out" = "removed 0" ] && ok "cleanup again: $out" || bad "second cleanup said '$out'"
g tc qdisc show dev kps-gc | grep -q htb && bad "htb left after cleanup" || ok "no htb after cleanup"

# Another root qdisc of someone else is replaced; cleanup leaves a foreign one alone.
g tc qdisc replace dev kps-gs root handle 1: htb default 1 2>/dev/null
out=$(g "$DRV" cleanup kps-gs)
[ "$out" = "removed 0" ] && g tc qdisc show dev kps-gs | grep -q "htb 1: root" &&
	ok "foreign root qdisc kept by cleanup" || bad "cleanup touched a foreign qdisc ($out)"

# The serving shaper (installed twice in a row on one interface: idempotent).
g "$DRV" once $RATE kps-gs || bad "install over a foreign qdisc"
mkfifo "$TMP/cmd"
g "$DRV" serve $RATE kps-gc kps-gs <"$TMP/cmd" >"$TMP/drv.out" 2>"$TMP/drv.err" &
DPID=$!
PIDS+=($DPID)
exec 3>"$TMP/cmd"
for _ in $(seq 50); do grep -q ready "$TMP/drv.out" && break; sleep 0.1; done
grep -q ready "$TMP/drv.out" || { bad "shaper did not install: $(cat "$TMP/drv.err")"; exit 1; }
ok "shaper installed on kps-gc kps-gs"
n=$(g tc class show dev kps-gs | grep -c "class htb 6b70:")
[ "$n" = 3 ] && ok "kps-gs has 3 classes after a reinstall" || bad "kps-gs has $n classes"
g tc filter show dev kps-gc parent 6b70: | grep -q "kp_shape.*direct-action" &&
	ok "bpf filter attached" || bad "no bpf filter: $(g tc filter show dev kps-gc parent 6b70:)"

stats() { # stats IFACE -> lines until "end" into $TMP/stats
	: >"$TMP/stats.mark"
	echo "stats $1" >&3
	for _ in $(seq 50); do
		[ "$(grep -c '^end' "$TMP/drv.out")" -gt "$STATS_N" ] && break
		sleep 0.1
	done
	STATS_N=$((STATS_N + 1))
	awk -v n="$STATS_N" '/^end/ { k++; next } k == n - 1' "$TMP/drv.out" >"$TMP/stats"
}
field() { # field APP NAME from $TMP/stats
	awk -v a="app=$1" -v f="$2" '$1 == a { for (i = 2; i <= NF; i++) { split($i, kv, "=");
		if (kv[1] == f) print kv[2] } }' "$TMP/stats"
}
STATS_N=0
APP=$(( (MARK >> 16) - 1 ))
stats kps-gc
b0=$(field $APP bytes); b0=${b0:-0}

fetch 8080 10 >"$TMP/r8080" &
P1=$!
fetch 8081 10 >"$TMP/r8081" &
P2=$!
wait $P1 $P2
r1=$(cat "$TMP/r8080"); r2=$(cat "$TMP/r8081")
echo "#    marked HTTP (8080): $(mbit "$r1") Mbit/s, unmarked (8081): $(mbit "$r2") Mbit/s"
if awk -v r="${r1:-0}" 'BEGIN { exit !(r >= 18e6 && r <= 22e6) }'; then
	ok "marked download at 20 Mbit/s +-10%"
else bad "marked download at $(mbit "${r1:-0}") Mbit/s"; fi
awk -v r="${r2:-0}" 'BEGIN { exit !(r > 200e6) }' && ok "unmarked download > 200 Mbit/s" ||
	bad "unmarked download at $(mbit "${r2:-0}") Mbit/s"

stats kps-gc
cat "$TMP/stats" | sed 's/^/#    kps-gc /'
b1=$(field $APP bytes); b1=${b1:-0}
d1=$(field 65535 bytes); d1=${d1:-0}
[ $((b1 - b0)) -gt 10000000 ] && ok "HTTP class counted $((b1 - b0)) bytes" ||
	bad "HTTP class bytes $b0 -> $b1"
[ "$d1" -gt 100000000 ] && ok "default class counted $d1 bytes" || bad "default class bytes $d1"

echo remove >&3
for _ in $(seq 50); do grep -q removed "$TMP/drv.out" && break; sleep 0.1; done
grep -q removed "$TMP/drv.out" && ok "kp_shaper_remove returned" || bad "remove did not answer"
for i in kps-gc kps-gs; do
	q=$(g tc qdisc show dev $i | head -1)
	case "$q" in
	*htb*|*bpf*) bad "$i root qdisc after remove: $q" ;;
	*) ok "$i root qdisc back to default: $q" ;;
	esac
done
r3=$(fetch 8080 5)
echo "#    marked HTTP (8080) after remove: $(mbit "${r3:-0}") Mbit/s"
awk -v r="${r3:-0}" 'BEGIN { exit !(r > 100e6) }' && ok "8080 no longer limited" ||
	bad "8080 still slow after remove"

exec 3>&-
wait $DPID 2>/dev/null
[ $FAIL = 0 ] && echo "shaper-live: all passed" || echo "shaper-live: FAILED"
exit $FAIL
