#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Gateway benchmarks of issue 3, section 6, on the test bed of tests/live/testbed.sh
# (clients kpt-c1/kpt-c2, NAT gateway kpt-gw, server kpt-s). Prints tables, asserts
# nothing. Three parts:
#   A. throughput: iperf3 (server in kpt-s, client in kpt-c1, one stream) per
#      configuration (1)..(6): median Gbit/s over RUNS runs, ratio to (1), CPU use;
#   B. connection-cache storm (thesis Fig. 8): kpt-c2 reconnects to the server's port
#      8080 as fast as it can (storm.py) while kpt-c1 runs iperf3; c1's median
#      throughput calm / storm, and how many storm packets reached netfilter (past the
#      tc ingress cache) and user space (the daemon's stats);
#   C. short flows: wrk in kpt-c1, one new connection per request (Connection: close)
#      for a 1 KiB file, connections/s.
# Lines that need the daemon say "n/a (no daemon)" until $KP2PADM knows --queue.
#
# CPU columns (percent of ONE core, averaged over each run, medians over runs):
#   gw-proc  utime+stime of every process inside kpt-gw (the daemon and its threads),
#            from /proc/PID/stat deltas;
#   softirq  the host's softirq time (/proc/stat, all CPUs): packet forwarding on veth
#            runs in softirq, but this includes the client's and server's stacks too,
#            so compare it between lines, not as the gateway's own cost;
#   busy     all non-idle host CPU time (/proc/stat), for scale (2 cores = 200%).
#
# Usage (root): bench/gateway/run.sh            env: RUNS (5), DURATION (5 s, iperf3 -t),
#   PARTS ("A B C"), KP2PADM (default build/kp2padm), STORM_CONC (256), STORM_TIMEOUT (0.2),
#   WRK_CONNS (32)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
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
# @CONF_STORM@ the same + a block rule for kpt-c2's HTTP to port 8080.
# kpt_daemon_start adds "-l EVENTS_FILE" and runs the binary in kpt-gw.
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
	"-q $QUEUES -c @CONF@ -s bypass=off"
	"-q $QUEUES -c @CONF_BLOCK@ -s bypass=off"
	"-q $QUEUES -c @CONF@ -s mode=p2padm"
	"-q $QUEUES -c @CONF@"
)
B_NAME=(
	"calm, no daemon"
	"storm, no daemon (storm not blocked)"
	"calm, kp2padm default"
	"storm, blocked, cache off"
	"storm, blocked, cache on"
)
B_STORM=(0 1 0 1 1)
B_ARGS=(
	"-"
	"-"
	"-q $QUEUES -c @CONF_STORM@"
	"-q $QUEUES -c @CONF_STORM@ -s cache=off"
	"-q $QUEUES -c @CONF_STORM@"
)
# daemon stats keys (kpt_daemon_stat) for part B: packets user space received, cache hits
STAT_QUEUED=packets
STAT_CACHE_HITS=cache.hits
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

# The config files: PLACEHOLDER syntax, the lead writes the real one.
write_confs() {
	CONF=$KPT_TMP/bench.conf
	cat >"$CONF" <<EOF
# kp2padm bench config (bench/gateway/run.sh) - placeholder syntax
interfaces = $KPT_GW_IFACES
EOF
	CONF_BLOCK=$KPT_TMP/bench-block.conf
	{
		cat "$CONF"
		echo "rule block app=bittorrent"
	} >"$CONF_BLOCK"
	CONF_STORM=$KPT_TMP/bench-storm.conf
	{
		cat "$CONF"
		echo "rule block app=http src=$KPT_C2_NET dport=8080"
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

# one iperf3 run from kpt-c1: prints "gbit gw% softirq% busy%"
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

# RUNS iperf3 runs -> sets MED_G MED_GW MED_SI MED_BUSY
iperf_runs() {
	local r out=()
	for r in $(seq 1 "$RUNS"); do
		out+=("$(iperf_run)")
		sleep 0.5
	done
	MED_G=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" {print $1}' | median)
	MED_GW=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" {print $2}' | median)
	MED_SI=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" {print $3}' | median)
	MED_BUSY=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" {print $4}' | median)
	RUNS_OK=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail"' | wc -l)
	ALL_G=$(printf '%s\n' "${out[@]}" | awk '{printf "%s ", $1}')
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
if [[ " $PARTS " == *" A "* ]]; then
	echo
	echo "## A. iperf3 kpt-c1 -> gateway (NAT) -> kpt-s, 1 stream, -t $DURATION"
	printf '%-36s | %4s | %13s | %8s | %7s | %8s | %5s | %s\n' config runs "median Gbit/s" "ratio(1)" \
		"gw-proc%" "softirq%" "busy%" "all runs"
	BASE=
	for i in "${!A_NAME[@]}"; do
		NA=
		if ! line_daemon "${A_ARGS[$i]}"; then
			printf '%-36s | %s\n' "${A_NAME[$i]}" "$NA"
			continue
		fi
		iperf_runs
		line_daemon_stop
		[ $i = 0 ] && BASE=$MED_G
		printf '%-36s | %4s | %13s | %8s | %7s | %8s | %5s | %s\n' "${A_NAME[$i]}" "$RUNS_OK" "$MED_G" \
			"$(ratio "$BASE" "$MED_G")" "$MED_GW" "$MED_SI" "$MED_BUSY" "$ALL_G"
	done
fi

# --- B. connection-cache storm --------------------------------------------------------
# counts packets from kpt-c2 to port 8080 that reach netfilter in the gateway (a rule
# without target at the top of mangle PREROUTING: past tc ingress, before any queue)
storm_count_rule() {
	ip netns exec $KPT_NS_GW iptables -t mangle "$1" PREROUTING -s $KPT_C2_IP -p tcp --dport 8080 \
		-m comment --comment kpt-storm-count
}
storm_count() {
	ip netns exec $KPT_NS_GW iptables -t mangle -L PREROUTING -v -x -n |
		awk '/kpt-storm-count/ { print $1; exit }'
}

if [[ " $PARTS " == *" B "* ]]; then
	echo
	echo "## B. connection-cache storm: kpt-c1 iperf3 (-t $DURATION) while kpt-c2 reconnects to $KPT_S_IP:8080"
	echo "##    (storm.py: $STORM_CONC connects in flight, each abandoned after ${STORM_TIMEOUT}s)"
	printf '%-40s | %4s | %13s | %9s | %10s | %10s | %10s | %10s\n' line runs "median Gbit/s" "ratio calm" \
		"storm att/s" "to netfilter" "user space" "cache hits"
	CALM=
	for i in "${!B_NAME[@]}"; do
		NA=
		if ! line_daemon "${B_ARGS[$i]}"; then
			printf '%-40s | %s\n' "${B_NAME[$i]}" "$NA"
			continue
		fi
		out=() att=() nf=()
		for r in $(seq 1 "$RUNS"); do
			storm_count_rule -I
			spid=
			if [ "${B_STORM[$i]}" = 1 ]; then
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
			fi
			nf+=("$(storm_count)")
			storm_count_rule -D
			ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
			sleep 0.5
		done
		us=n/a hits=n/a
		if [ -n "$KPT_DAEMON_PID" ]; then
			# after the stop: the daemon's last stats event (it may write one at exit)
			line_daemon_stop
			us=$(kpt_daemon_stat "$STAT_QUEUED")
			hits=$(kpt_daemon_stat "$STAT_CACHE_HITS")
		fi
		MED_G=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" {print $1}' | median)
		RUNS_OK=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail"' | wc -l)
		[ "${B_STORM[$i]}" = 0 ] && CALM=$MED_G
		cps=-
		[ "${#att[@]}" -gt 0 ] && cps=$(printf '%s\n' "${att[@]}" | median)
		printf '%-40s | %4s | %13s | %9s | %10s | %10s | %10s | %10s\n' "${B_NAME[$i]}" "$RUNS_OK" "$MED_G" \
			"$(ratio "$CALM" "$MED_G")" "$cps" "$(printf '%s\n' "${nf[@]}" | median)" "$us" "$hits"
	done
	echo "##    ratio calm = to the calm line above it (no daemon / with the daemon)"
	echo "##    to netfilter = median per run of storm packets (c2 -> :8080) counted in the gateway's"
	echo "##    mangle PREROUTING, i.e. that got past tc ingress; user space / cache hits = the"
	echo "##    daemon's last stats event ($STAT_QUEUED / $STAT_CACHE_HITS): all RUNS runs, all flows"
fi

# --- C. short flows -------------------------------------------------------------------
if [[ " $PARTS " == *" C "* ]]; then
	echo
	echo "## C. short flows: wrk -t2 -c$WRK_CONNS -d${DURATION}s, Connection: close, 1 KiB file, kpt-c1 -> kpt-s"
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
		MED_G=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" {print $1}' | median)
		MED_GW=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" {print $2}' | median)
		MED_SI=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" {print $3}' | median)
		MED_BUSY=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" {print $4}' | median)
		RUNS_OK=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail"' | wc -l)
		[ $i = 0 ] && CBASE=$MED_G
		printf '%-36s | %4s | %14s | %8s | %7s | %8s | %5s | %s\n' "${C_NAME[$i]}" "$RUNS_OK" "$MED_G" \
			"$(ratio "$CBASE" "$MED_G")" "$MED_GW" "$MED_SI" "$MED_BUSY" \
			"$(printf '%s\n' "${out[@]}" | awk '{printf "%s ", $1}')"
	done
fi
