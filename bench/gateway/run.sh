#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Gateway benchmarks of issue 3, section 6, on the test bed of tests/live/testbed.sh
# (clients kpb-c1/kpb-c2, NAT gateway kpb-gw, server kpb-s: KPT_PREFIX, default kpb-, so
# that the live tests' kpt- bed can run at the same time). Prints tables, asserts nothing.
# Three parts:
#   A. throughput: iperf3 (server in kpb-s, client in kpb-c1, one stream) per
#      configuration (1)..(6): median Gbit/s over RUNS runs, ratio to (1), CPU use;
#   B. connection-cache storm (thesis Fig. 8): kpb-c2 reconnects to the server's port
#      8080 as fast as it can (storm.py) while kpb-c1 runs iperf3; c1's median
#      throughput calm / storm, and how many storm packets reached netfilter (past the
#      tc ingress cache) and user space (the daemon's stats);
#   C. short flows: wrk in kpb-c1, one new connection per request (Connection: close)
#      for a 1 KiB file, connections/s.
# Lines that need the daemon say "n/a (no daemon)" until $KP2PADM knows --queue.
#
# CPU columns (percent of ONE core, averaged over each run, medians over runs):
#   gw-proc  utime+stime of every process inside kpb-gw (the daemon and its threads),
#            from /proc/PID/stat deltas;
#   softirq  the host's softirq time (/proc/stat, all CPUs): packet forwarding on veth
#            runs in softirq, but this includes the client's and server's stacks too,
#            so compare it between lines, not as the gateway's own cost;
#   busy     all non-idle host CPU time (/proc/stat), for scale (2 cores = 200%).
#
# Usage (root): bench/gateway/run.sh            env: RUNS (5), DURATION (5 s, iperf3 -t),
#   PARTS ("A B C"), KP2PADM (default build/kp2padm), STORM_CONC (256), STORM_TIMEOUT (0.2),
#   WRK_CONNS (32), KPT_PREFIX (kpb-)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# our own bed (kpb-c1, kpb-c2, kpb-gw, kpb-s): the live tests use kpt- on the same machine
export KPT_PREFIX=${KPT_PREFIX:-kpb-}
. "$HERE/../../tests/live/testbed.sh"

RUNS=${RUNS:-5}
DURATION=${DURATION:-5}
PARTS=${PARTS:-A B C}
STORM_CONC=${STORM_CONC:-256}
STORM_TIMEOUT=${STORM_TIMEOUT:-0.2}
WRK_CONNS=${WRK_CONNS:-32}

# ============ DAEMON ARGUMENTS PER LINE: THE LEAD FIXES THESE =========================
# "-" = no daemon. Placeholders: @CONF@ the bench config (write_confs below),
# @CONF_BLOCK@ the same + a block rule for an application the iperf3 flow is not,
# @CONF_STORM@ the same + a block rule for c2's connections to port 8080.
# kpt_daemon_start adds "-l EVENTS_FILE" and runs the binary in the gateway namespace.
QUEUES=0:1
A_NAME=(
	"(1) plain forwarding + NAT"
	"(2) NAT + NFQUEUE accept-all"
	"(3) + classification (no bypass)"
	"(4) + block rule (other app)"
	"(5) P2PADM mode"
	"(6) kp2padm default"
)
A_ARGS=(
	"-"
	"-q $QUEUES -c @CONF@ -s mode=accept"
	"-q $QUEUES -c @CONF@ -s bypass=no"
	"-q $QUEUES -c @CONF_BLOCK@ -s bypass=no"
	"-q $QUEUES -c @CONF@ -s mode=p2padm"
	"-q $QUEUES -c @CONF@"
)
B_NAME=(
	"calm, no daemon"
	"storm, no daemon (storm not blocked)"
	"storm, iptables DROP, no daemon"
	"calm, kp2padm default"
	"storm, blocked, cache off"
	"storm, blocked, cache on"
)
# 0 calm, 1 storm, 2 storm dropped by a plain iptables rule in the gateway's filter FORWARD
# (no daemon: what a blocked storm of that rate costs c1 without any user space)
B_STORM=(0 1 2 0 1 1)
B_ARGS=(
	"-"
	"-"
	"-"
	"-q $QUEUES -c @CONF_STORM@"
	"-q $QUEUES -c @CONF_STORM@ -s cache.ttl=0"
	"-q $QUEUES -c @CONF_STORM@"
)
# daemon stats keys (under "stats" of the stats events) read per run in part B
STAT_KEYS="queue.received blocked_flows cached_flows cache.hits_kernel cache.hits_user"
C_NAME=(
	"plain forwarding + NAT"
	"kp2padm default"
	"P2PADM mode"
)
C_ARGS=(
	"-"
	"-q $QUEUES -c @CONF@"
	"-q $QUEUES -c @CONF@ -s mode=p2padm"
)

# The config files (kp2padm --help-config). Every forwarded packet enters the gateway on
# one of its three interfaces: the kernel connection cache sits at their tc ingress.
write_confs() {
	CONF=$KPT_TMP/bench.conf
	cat >"$CONF" <<EOF
# kp2padm bench config (bench/gateway/run.sh)
interfaces = ${KPT_GW_IFACES// /,}
stats.interval = 1
EOF
	CONF_BLOCK=$KPT_TMP/bench-block.conf
	{
		cat "$CONF"
		echo "rule = block name=no-edonkey app=edonkey"
	} >"$CONF_BLOCK"
	CONF_STORM=$KPT_TMP/bench-storm.conf
	{
		cat "$CONF"
		echo "rule = block name=storm src=$KPT_C2_NET dport=8080"
	} >"$CONF_STORM"
}
# =======================================================================================

[ "$(id -u)" = 0 ] || { echo "bench/gateway: needs root" >&2; exit 1; }
for t in iperf3 wrk nginx curl; do
	command -v $t >/dev/null || { echo "bench/gateway: missing $t" >&2; exit 1; }
done

CLK_TCK=$(getconf CLK_TCK)

# args template -> words with the config paths filled in
fill_args() {
	local a=$1
	a=${a//@CONF_BLOCK@/$CONF_BLOCK}
	a=${a//@CONF_STORM@/$CONF_STORM}
	a=${a//@CONF@/$CONF}
	echo "$a"
}

# start the daemon for a line ("-" = none); 0 = go on, 1 = line not measurable (prints why)
line_daemon() {
	local args
	[ "$1" = - ] && return 0
	if ! kpt_daemon_available; then
		NA="n/a (no daemon)"
		return 1
	fi
	args=$(fill_args "$1")
	# shellcheck disable=SC2086 # the table's words
	if ! kpt_daemon_start $args; then
		NA="n/a (daemon did not start)"
		return 1
	fi
	return 0
}

line_daemon_stop() {
	[ -n "$KPT_DAEMON_PID" ] || return 0
	kpt_daemon_stop || echo "  warning: the daemon did not stop cleanly" >&2
}

# cpu snapshot: "gw_ticks softirq_ticks busy_ticks"
cpu_snap() {
	local p l g=0 f
	for p in $(ip netns pids $KPT_NS_GW 2>/dev/null); do
		l=$(cat /proc/$p/stat 2>/dev/null) || continue
		l=${l##*) }
		# shellcheck disable=SC2206
		f=($l)
		g=$((g + f[11] + f[12]))
	done
	read -r _ u n s _ io irq si st _ </proc/stat
	echo "$g $si $((u + n + s + irq + si + st))"
}

# pct BEFORE AFTER SECONDS -> "gw softirq busy" percentages of one core
cpu_pct() {
	awk -v a="$1" -v b="$2" -v t="$3" -v hz="$CLK_TCK" 'BEGIN {
		split(a, x, " "); split(b, y, " ");
		for (i = 1; i <= 3; i++) printf "%.0f ", (y[i] - x[i]) * 100 / (hz * t);
	}'
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# one iperf3 run from c1: prints "gbit gw% softirq% busy%"
iperf_run() {
	local j b a t0 t1 g
	b=$(cpu_snap)
	t0=$(date +%s.%N)
	j=$(timeout $((DURATION + 20)) ip netns exec $KPT_NS_C1 iperf3 -c $KPT_S_IP -p 5201 -t "$DURATION" -J) ||
		{ echo "fail"; return 0; }
	t1=$(date +%s.%N)
	a=$(cpu_snap)
	g=$(printf '%s' "$j" | $KPT_PY -c 'import json,sys
print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))')
	echo "$g $(cpu_pct "$b" "$a" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')")"
}

# medians OUT...: runs ("value gw% softirq% busy%" or "fail") -> MED_G MED_GW MED_SI MED_BUSY,
# RUNS_OK, ALL_G
medians() {
	MED_G=$(printf '%s\n' "$@" | awk '$1 != "fail" {print $1}' | median)
	MED_GW=$(printf '%s\n' "$@" | awk '$1 != "fail" {print $2}' | median)
	MED_SI=$(printf '%s\n' "$@" | awk '$1 != "fail" {print $3}' | median)
	MED_BUSY=$(printf '%s\n' "$@" | awk '$1 != "fail" {print $4}' | median)
	RUNS_OK=$(printf '%s\n' "$@" | awk '$1 != "fail"' | wc -l)
	ALL_G=$(printf '%s\n' "$@" | awk '{printf "%s ", $1}')
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", b / a; else print "-" }'
}

kpt_up
write_confs
kpt_http_start
kpt_bg $KPT_NS_S iperf3 -s -B $KPT_S_IP -p 5201
kpt_wait_port $KPT_NS_S 5201
echo "# bench/gateway: $(date -u '+%F %T') UTC, kernel $(uname -r), $(nproc) CPUs, RUNS=$RUNS DURATION=${DURATION}s"
echo "# daemon: $(kpt_daemon_available && echo "$KP2PADM" || echo "not available ($KP2PADM has no --queue)")"

# --- A. throughput --------------------------------------------------------------------
# Interleaved: each round runs every configuration once, in order, so that the machine's
# slow spells (it is shared) fall on all lines alike; "ratio" is the median over rounds of
# a line's Gbit/s over (1)'s in the same round.
if [[ " $PARTS " == *" A "* ]]; then
	echo
	echo "## A. iperf3 $KPT_NS_C1 -> $KPT_NS_GW (NAT) -> $KPT_NS_S, 1 stream, -t $DURATION," \
		"$RUNS interleaved rounds"
	printf '%-36s | %4s | %13s | %8s | %7s | %8s | %5s | %10s | %s\n' config runs "median Gbit/s" "ratio(1)" \
		"gw-proc%" "softirq%" "busy%" "queued" "all runs"
	declare -A RES QD
	for r in $(seq 1 "$RUNS"); do
		for i in "${!A_NAME[@]}"; do
			NA=
			if ! line_daemon "${A_ARGS[$i]}"; then
				RES[$i]="${RES[$i]:-}NA:$NA;"
				continue
			fi
			RES[$i]="${RES[$i]:-}$(iperf_run);"
			if [ -n "$KPT_DAEMON_PID" ]; then
				line_daemon_stop
				QD[$i]=$(( ${QD[$i]:-0} + $(kpt_daemon_stat queue.received) ))
			fi
			sleep 0.5
		done
	done
	for i in "${!A_NAME[@]}"; do
		if [[ "${RES[$i]}" == NA:* ]]; then
			printf '%-36s | %s\n' "${A_NAME[$i]}" "$(printf '%s' "${RES[$i]}" | sed 's/^NA:\([^;]*\);.*/\1/')"
			continue
		fi
		mapfile -t out < <(printf '%s' "${RES[$i]}" | tr ';' '\n' | grep .)
		mapfile -t base < <(printf '%s' "${RES[0]}" | tr ';' '\n' | grep .)
		medians "${out[@]}"
		RAT=$(for k in "${!out[@]}"; do
			ratio "$(echo "${base[$k]}" | cut -d' ' -f1)" "$(echo "${out[$k]}" | cut -d' ' -f1)"
			echo
		done | grep -v '^-$' | median)
		printf '%-36s | %4s | %13s | %8s | %7s | %8s | %5s | %10s | %s\n' "${A_NAME[$i]}" "$RUNS_OK" "$MED_G" \
			"$RAT" "$MED_GW" "$MED_SI" "$MED_BUSY" "${QD[$i]:--}" "$ALL_G"
	done
	echo "##    target: (6) >= 0.90 of (1); ratio(1) = median over rounds of the line / (1) in the same"
	echo "##    round; queued = the daemon's queue.received summed over its runs"
fi

# --- B. connection-cache storm --------------------------------------------------------
# counts packets from c2 to port 8080 that reach netfilter in the gateway (a rule
# without target at the top of mangle PREROUTING: past tc ingress, before any queue)
storm_count_rule() {
	ip netns exec $KPT_NS_GW iptables -t mangle "$1" PREROUTING -s $KPT_C2_IP -p tcp --dport 8080 \
		-m comment --comment kpt-storm-count
}
storm_drop_rule() {
	ip netns exec $KPT_NS_GW iptables -t filter "$1" FORWARD -s $KPT_C2_IP -p tcp --dport 8080 -j DROP \
		-m comment --comment kpt-storm-drop
}
storm_count() {
	ip netns exec $KPT_NS_GW iptables -t mangle -L PREROUTING -v -x -n |
		awk '/kpt-storm-count/ { print $1; exit }'
}

# stats_snap: asks the daemon for a stats event (SIGUSR1), waits for it (3 s at most),
# prints the values of $STAT_KEYS in it ("n/a" each when there is none; cache.* are 0
# when the daemon runs without a cache)
stats_snap() {
	local n0 n
	# a worker publishes its counters every 0.5 s (and an idle one within 0.2 s more): a
	# stats event asked for at once can miss the last half second of the storm
	sleep 1
	n0=$(grep -c '"event_type":"stats"' "$KPT_EVENTS" 2>/dev/null || true)
	kill -USR1 "$KPT_DAEMON_PID" 2>/dev/null || true
	for _ in $(seq 1 30); do
		n=$(grep -c '"event_type":"stats"' "$KPT_EVENTS" 2>/dev/null || true)
		[ "${n:-0}" -gt "${n0:-0}" ] && break
		sleep 0.1
	done
	# shellcheck disable=SC2086 # the keys
	kpt_daemon_stat $STAT_KEYS
}

# stats_delta BEFORE AFTER -> "queued storm_flows_in_user_space kernel_drops user_hits"
# (storm flows in user space = blocked_flows + cached_flows: each is one connection of
# the storm that user space decided, i.e. at least its SYN was queued)
stats_delta() {
	awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
		for (i = 1; i <= n; i++) if (x[i] == "n/a" || y[i] == "n/a") { print "n/a n/a n/a n/a"; exit }
		printf "%d %d %d %d\n", y[1] - x[1], (y[2] + y[3]) - (x[2] + x[3]), y[4] - x[4], y[5] - x[5] }'
}

if [[ " $PARTS " == *" B "* ]]; then
	echo
	echo "## B. connection-cache storm: $KPT_NS_C1 iperf3 (-t $DURATION) while $KPT_NS_C2 reconnects to $KPT_S_IP:8080"
	echo "##    (storm.py: $STORM_CONC connects in flight, each abandoned after ${STORM_TIMEOUT}s)"
	printf '%-36s | %4s | %8s | %5s | %7s | %9s | %8s | %8s | %-14s | %9s | %s\n' line runs "med Gb/s" \
		"ratio" "att/s" "to nf/run" "queued" "q - calm" "storm US flows" "kern drop" "all runs Gb/s"
	CALM='' CALM_Q=''
	for i in "${!B_NAME[@]}"; do
		NA=
		if ! line_daemon "${B_ARGS[$i]}"; then
			printf '%-36s | %s\n' "${B_NAME[$i]}" "$NA"
			continue
		fi
		out=() att=() nf=() st=()
		for r in $(seq 1 "$RUNS"); do
			storm_count_rule -I
			sb=
			[ -n "$KPT_DAEMON_PID" ] && sb=$(stats_snap)
			spid=
			[ "${B_STORM[$i]}" = 2 ] && storm_drop_rule -I
			if [ "${B_STORM[$i]}" != 0 ]; then
				kpt_bg $KPT_NS_C2 timeout $((DURATION + 15)) $KPT_PY "$HERE/storm.py" $KPT_S_IP 8080 \
					$((DURATION + 2)) "$STORM_CONC" "$STORM_TIMEOUT"
				spid=$KPT_LAST_PID
				sleep 1
			fi
			out+=("$(iperf_run)")
			if [ -n "$spid" ]; then
				wait "$spid" 2>/dev/null || true
				a=$(grep -ho 'attempts [0-9]*' "$KPT_TMP"/log/*-timeout.log 2>/dev/null | tail -n 1 |
					awk '{print $2}')
				att+=("$(awk -v a="${a:-0}" -v d="$DURATION" 'BEGIN{printf "%.0f", a / (d + 2)}')")
				rm -f "$KPT_TMP"/log/*-timeout.log
			else
				sleep 1 # same span as a storm run (DURATION + 2 s) for the calm queue count
			fi
			nf+=("$(storm_count)")
			[ -n "$KPT_DAEMON_PID" ] && st+=("$(stats_delta "$sb" "$(stats_snap)")")
			storm_count_rule -D
			[ "${B_STORM[$i]}" = 2 ] && storm_drop_rule -D
			ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
			sleep 0.5
		done
		q=- qc=- usf=- kd=-
		if [ -n "$KPT_DAEMON_PID" ]; then
			line_daemon_stop
			q=$(printf '%s\n' "${st[@]}" | awk '$1 != "n/a" {print $1}' | median)
			[ "${B_STORM[$i]}" = 0 ] && CALM_Q=$q
			[ -n "$CALM_Q" ] && qc=$(awk -v a="$q" -v b="$CALM_Q" \
				'BEGIN { if (a == "n/a" || b == "n/a") print "n/a"; else printf "%d", a - b }')
			usf=$(printf '%s\n' "${st[@]}" | awk '{printf "%s%s", (NR > 1 ? "," : ""), $2}')
			kd=$(printf '%s\n' "${st[@]}" | awk '$3 != "n/a" {print $3}' | median)
			# the whole line from the exit stats (a check on the per-run snapshots)
			echo "  [${B_NAME[$i]}: exit stats ($STAT_KEYS cache.backend):" \
				"$(kpt_daemon_stat $STAT_KEYS cache.backend)]" >&2
		fi
		medians "${out[@]}"
		[ "${B_STORM[$i]}" = 0 ] && CALM=$MED_G
		cps=-
		[ "${#att[@]}" -gt 0 ] && cps=$(printf '%s\n' "${att[@]}" | median)
		printf '%-36s | %4s | %8s | %5s | %7s | %9s | %8s | %8s | %-14s | %9s | %s\n' "${B_NAME[$i]}" "$RUNS_OK" \
			"$MED_G" "$(ratio "$CALM" "$MED_G")" "$cps" "$(printf '%s\n' "${nf[@]}" | median)" "$q" "$qc" \
			"$usf" "$kd" "$(printf '%s\n' "${out[@]}" | awk '{printf "%s ", $1}')"
	done
	echo "##    ratio = to the calm line above it (no daemon / with the daemon); att/s = storm connects/s;"
	echo "##    to nf/run = median per run of storm packets (c2 -> :8080) counted in the gateway's mangle"
	echo "##    PREROUTING, i.e. that got past tc ingress; queued = median per run of queue.received"
	echo "##    (all packets user space got, c1's iperf3 too; a run = DURATION + 2 s); q - calm = that minus"
	echo "##    the calm daemon line's; storm US flows = per run, blocked_flows + cached_flows (storm"
	echo "##    flows user space decided: a SYN from a reused source port joins the blocked flow of its"
	echo "##    5-tuple, so it undercounts packets once ports repeat); kern drop = median per run of"
	echo "##    cache.hits_kernel (reconnection packets dropped by the tc ingress cache)"
fi

# --- C. short flows -------------------------------------------------------------------
if [[ " $PARTS " == *" C "* ]]; then
	echo
	echo "## C. short flows: wrk -t2 -c$WRK_CONNS -d${DURATION}s, Connection: close, 1 KiB file, $KPT_NS_C1 -> $KPT_NS_S"
	printf '%-36s | %4s | %14s | %8s | %7s | %8s | %5s | %s\n' config runs "median conn/s" "ratio" \
		"gw-proc%" "softirq%" "busy%" "all runs"
	CBASE=
	for i in "${!C_NAME[@]}"; do
		NA=
		if ! line_daemon "${C_ARGS[$i]}"; then
			printf '%-36s | %s\n' "${C_NAME[$i]}" "$NA"
			continue
		fi
		out=()
		for r in $(seq 1 "$RUNS"); do
			ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
			b=$(cpu_snap)
			t0=$(date +%s.%N)
			w=$(timeout $((DURATION + 20)) ip netns exec $KPT_NS_C1 wrk -t2 -c"$WRK_CONNS" -d"${DURATION}s" \
				-H 'Connection: close' "http://$KPT_S_IP/small.bin" 2>&1) || w=
			t1=$(date +%s.%N)
			a=$(cpu_snap)
			rps=$(printf '%s\n' "$w" | awk '/^Requests\/sec:/ { printf "%.0f", $2 }')
			if printf '%s\n' "$w" | grep -q 'Non-2xx'; then rps=; fi
			[ -n "$rps" ] || { echo "  wrk run failed: $(printf '%s' "$w" | tail -n 3 | tr '\n' ' ')" >&2; rps=fail; }
			out+=("$rps $(cpu_pct "$b" "$a" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')")")
			sleep 0.5
		done
		line_daemon_stop
		medians "${out[@]}"
		[ $i = 0 ] && CBASE=$MED_G
		printf '%-36s | %4s | %14s | %8s | %7s | %8s | %5s | %s\n' "${C_NAME[$i]}" "$RUNS_OK" "$MED_G" \
			"$(ratio "$CBASE" "$MED_G")" "$MED_GW" "$MED_SI" "$MED_BUSY" \
			"$(printf '%s\n' "${out[@]}" | awk '{printf "%s ", $1}')"
	done
fi
