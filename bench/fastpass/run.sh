#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/fastpass (issue 5 §3, the thesis' Fig. 11): the time one HTTP download (nginx in
# the server namespace, curl in a client) takes through the gateway of tests/live/testbed.sh
# under random loss and a fixed delay between the server and the gateway, for three
# configurations of the gateway:
#   plain     plain forwarding + NAT, no daemon
#   hold      kp2padm -q 0:1, mode = p2padm (every packet queued), stream.ooo = hold
#   fastpass  kp2padm -q 0:1, mode = p2padm, stream.ooo = fastpass
# Loss and delay: tools/kp-netem on the gateway's server-side interface (kgs). By default
# on its ingress only (NETEM_DIR=in: the server's data segments, before the daemon's queue in
# filter FORWARD, so that the daemon sees the holes), with the whole DELAY on that one way,
# as `tc netem loss L delay D` on the server's egress would do: the RTT grows by DELAY and
# LOSS% of the data segments are lost. NETEM_DIR=both queues both directions with DELAY/2
# each way and LOSS% on each (ACKs lost too). TSO/GSO are off on the server's interface (ks)
# and on kgs so that the loss is per segment; tcp_wmem/tcp_rmem maxima are raised to 32 MB
# in the server and client namespaces (the 100 ms cells). The congestion control of the
# server and client namespaces is CC (default reno: a namespace inherits the host's, and
# this test bed's host runs bbr, which ignores random loss, see README.md; a namespace may
# only choose what the host's net.ipv4.tcp_allowed_congestion_control lists, here
# "reno bbr": CC=cubic needs cubic added there first).
#
# Each transfer restarts kp-netem with --seed RUN, so the three configurations of one run
# see the same loss draws; within a cell the configurations are interleaved run by run, and
# the daemon is started afresh for each transfer (conntrack flushed). Medians of RUNS runs;
# a transfer that fails or exceeds TIMEOUT counts as missing (the cell is marked).
#
# Inline timing (issue 5 §4): at the first cell with loss > 0 (or TIMING_CELL="LOSS DELAY"),
# after each daemon transfer, bench/timing/run.sh --stats EVENTS --pid PID prints the
# daemon's per-stage breakdown (saved under results/).
#
# usage (root): bench/fastpass/run.sh
# env: SIZE (MiB, 100) LOSSES ("0 1 2 3 4 5") DELAYS ("10 50 100") RUNS (3)
#      CC (reno) CONFIGS ("plain hold fastpass") TIMEOUT (s per transfer, 3600) NETEM_DIR (in|both)
#      NETEM_QUEUE (40) TIMING_CELL ("LOSS DELAY") EXTRA_CONF (lines added to the daemon's
#      configuration, e.g. "timing.sample = 1") KPT_PREFIX (kpf-) KP2PADM (build/kp2padm)
#      KP_NETEM (build/tools/kp-netem) OUT (bench/fastpass/results) TAG (file name tag)
#      RUN_IDS (the runs' numbers, i.e. kp-netem seeds; default 1..RUNS)
#      RATE (a link rate, e.g. 200mbit: tbf on the server's egress, a 100 ms queue; default
#      none: the link is as fast as the CPUs forward)
#      NO_REPORT=1 (only the .tsv; bench/fastpass/grid.sh runs cells side by side this way
#      and reports them together) KPT_HTTP_SRC (a file to serve instead of SIZE MiB random)
# output: OUT/fastpass-TAG.tsv (every transfer), OUT/fastpass-TAG.summary (medians, one
#         block per delay), OUT/fastpass-TAG.txt (the table), OUT/fastpass-TAG.png (plot.gp)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export KPT_PREFIX=${KPT_PREFIX:-kpf-}
SIZE=${SIZE:-100}
LOSSES=${LOSSES:-"0 1 2 3 4 5"}
DELAYS=${DELAYS:-"10 50 100"}
RUNS=${RUNS:-3}
CC=${CC:-reno}
RATE=${RATE:-}
CONFIGS=${CONFIGS:-"plain hold fastpass"}
TIMEOUT=${TIMEOUT:-3600}
NETEM_DIR=${NETEM_DIR:-in}
NETEM_QUEUE=${NETEM_QUEUE:-40}
KP_NETEM=${KP_NETEM:-$ROOT/build/tools/kp-netem}
export KP2PADM=${KP2PADM:-$ROOT/build/kp2padm}
OUT=${OUT:-$HERE/results}
TAG=${TAG:-$(date -u +%Y%m%d-%H%M)-${SIZE}M}
export KPT_HTTP_MB=$SIZE KPT_HTTP_TIMEOUT=$TIMEOUT

if [ "$(id -u)" != 0 ]; then
	echo "bench/fastpass: needs root (network namespaces)" >&2
	exit 77
fi
for t in nginx curl ethtool iptables conntrack python3; do
	command -v "$t" >/dev/null || { echo "bench/fastpass: $t missing" >&2; exit 77; }
done
[ -x "$KP_NETEM" ] || { echo "bench/fastpass: $KP_NETEM missing (ninja -C build tools/kp-netem)" >&2; exit 77; }
case $NETEM_DIR in in | both) ;; *) echo "bench/fastpass: NETEM_DIR in|both" >&2; exit 2 ;; esac
RUN_IDS=${RUN_IDS:-$(seq 1 "$RUNS")}
if [ -z "${NO_REPORT:-}" ] && [[ " $CONFIGS " != *" plain "* ]]; then
	echo "bench/fastpass: CONFIGS must include plain (the ratios), or NO_REPORT=1" >&2
	exit 2
fi

. "$ROOT/tests/live/testbed.sh"
if [[ "$CONFIGS" == *hold* || "$CONFIGS" == *fastpass* ]]; then
	kpt_daemon_available || { echo "bench/fastpass: $KP2PADM has no inline mode" >&2; exit 77; }
fi

NETEM_PID=
NETEM_SUMMARY=
netem_stop() {
	# kp-netem's summary line (on its stdout at exit) into NETEM_SUMMARY
	local p=$NETEM_PID q
	NETEM_SUMMARY=
	[ -n "$p" ] || return 0
	kill -TERM "$p" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	NETEM_PID=
	# forget the PID (kpt_cleanup would signal it again, maybe reused by then)
	local keep=()
	for q in "${KPT_PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
	KPT_PIDS=("${keep[@]}")
	NETEM_SUMMARY=$(grep -h 'summary' "$NETEM_LOG" | tail -n 1 || true)
}
netem_start() { # LOSS DELAY SEED
	local d=$2
	[ "$NETEM_DIR" = both ] && d=$(awk -v x="$2" 'BEGIN{print x / 2}')
	NETEM_LOG=$KPT_TMP/log/netem.$3.log
	kpt_bg $KPT_NS_GW "$KP_NETEM" -q "$NETEM_QUEUE" --loss "$1" --delay "$d" --seed "$3"
	NETEM_PID=$KPT_LAST_PID
	NETEM_LOG=$KPT_LAST_LOG
	sleep 0.3 # bound to its queue (the rules bypass until then)
}
# our own cleanup first (kp-netem's rules die with the namespace), then the test bed's
fp_cleanup() {
	set +e
	netem_stop
	kpt_cleanup
}

# report TSV...: the table (medians over the runs) into $TXT, the plot data into $SUM, the
# plot into $PNG
report() {
	# the table (medians) and the plot's data (one block per delay)
	python3 - "$SUM" "$CONFIGS" "$@" >>"$TXT" <<'PY'
import csv, math, statistics, sys
summ, configs, tsvs = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
cells = {}
order_d, order_l = [], []
for r in (r for t in tsvs for r in csv.DictReader(open(t), delimiter="\t")):
    d, l = int(r["delay_ms"]), float(r["loss_pct"])
    if d not in order_d: order_d.append(d)
    if l not in order_l: order_l.append(l)
    c = cells.setdefault((d, l), {}).setdefault(r["config"], [])
    c.append(float(r["seconds"]) if r["status"] == "ok" else math.nan)
order_d.sort()
order_l.sort()
def med(xs):
    ok = [x for x in xs if not math.isnan(x)]
    return (statistics.median(ok) if ok else math.nan), len(xs) - len(ok)
hdr = f"{'delay':>5} {'loss':>5} | " + " ".join(f"{c + ' s':>11}" for c in configs)
rest = [c for c in configs if c != "plain"]
hdr += " | " + " ".join(f"{c + '/plain':>14}" for c in rest)
print(hdr)
print("-" * len(hdr))
with open(summ, "w") as s:
    s.write("# delay_ms loss_pct " + " ".join(configs) + "  (median seconds; blocks by delay)\n")
    for d in order_d:
        for l in order_l:
            m = {c: med(cells.get((d, l), {}).get(c, [])) for c in configs}
            line = f"{d:>5} {l:>5g} | "
            line += " ".join(f"{m[c][0]:>10.2f}{'*' if m[c][1] else ' '}" for c in configs)
            p = m["plain"][0]
            line += " | " + " ".join(f"{m[c][0] / p:>14.3f}" for c in rest)
            print(line)
            s.write(f"{d} {l:g} " + " ".join(f"{m[c][0]:.3f}" for c in configs) + "\n")
        s.write("\n\n")
print(f"(median of runs, seconds; * = some runs failed or timed out and are left out)")
PY
	cat "$TXT"
	if command -v gnuplot >/dev/null; then
		gnuplot -e "infile='$SUM'; outfile='$PNG'; delays='$DELAYS'; configs='$CONFIGS';" \
			-e "subtitle='${SUBTITLE:-SIZE=${SIZE} MiB, $CC, median of $RUNS, kp-netem $NETEM_DIR}'" "$HERE/plot.gp" &&
			echo "plot: $PNG"
	else
		echo "bench/fastpass: gnuplot missing, no plot (apt-get install gnuplot-nox)" >&2
	fi
	echo "raw: $*"
}

# REPORT="A.tsv B.tsv": no measurement, the table and the plot of these runs together
if [ -n "${REPORT:-}" ]; then
	mkdir -p "$OUT"
	SUM=$OUT/fastpass-$TAG.summary TXT=$OUT/fastpass-$TAG.txt PNG=$OUT/fastpass-$TAG.png
	: >"$TXT"
	for t in $REPORT; do grep -h '^# ' "${t%.tsv}.txt" >>"$TXT" 2>/dev/null || true; done
	# shellcheck disable=SC2086 # a list of files
	report $REPORT
	exit 0
fi

kpt_up
trap fp_cleanup EXIT
kpt_http_start
for ns in $KPT_NS_S $KPT_NS_C1; do
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_wmem="4096 16384 33554432"
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_rmem="4096 131072 33554432"
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control="$CC"
done
ip netns exec $KPT_NS_S ethtool -K $KPT_S_IF tso off gso off >/dev/null
if [ -n "$RATE" ]; then
	# the bottleneck link: its queue holds 100 ms (the largest delay's BDP), then tail drop
	ip netns exec $KPT_NS_S tc qdisc replace dev $KPT_S_IF root tbf rate "$RATE" burst 32kb \
		latency 100ms
fi
"$ROOT/tools/kp-netem-setup.sh" add --netns $KPT_NS_GW --dev $KPT_GW_S_IF --queue "$NETEM_QUEUE" \
	--dir "$NETEM_DIR" --ip 4 --offload-off >/dev/null

conf() {
	local f=$KPT_TMP/kp-$1.conf
	{
		echo "interfaces = ${KPT_GW_IFACES// /,}"
		echo "stats.interval = 1"
		echo "mode = p2padm"
		echo "stream.ooo = $1"
		[ -z "${EXTRA_CONF:-}" ] || printf '%s\n' "$EXTRA_CONF"
	} >"$f"
	echo "$f"
}

mkdir -p "$OUT"
TSV=$OUT/fastpass-$TAG.tsv
SUM=$OUT/fastpass-$TAG.summary
TXT=$OUT/fastpass-$TAG.txt
PNG=$OUT/fastpass-$TAG.png
set -- $LOSSES
first_loss=$1
for l in $LOSSES; do [ "$l" != 0 ] && { first_loss=$l; break; }; done
set -- $DELAYS
TIMING_CELL=${TIMING_CELL:-"$first_loss $1"}

{
	echo "# bench/fastpass: $(date -u '+%F %T') UTC, kernel $(uname -r), $(nproc) CPUs," \
		"SIZE=${SIZE}MiB RUNS=$RUNS TIMEOUT=${TIMEOUT}s NETEM_DIR=$NETEM_DIR CC=$CC" \
		"RATE=${RATE:-none}"
	echo "# loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg); other namespaces:" \
		"$(ip netns list | awk '{print $1}' | grep -v "^$KPT_PREFIX" | tr '\n' ' ')"
	echo "# daemon: $KP2PADM${EXTRA_CONF:+ + $EXTRA_CONF}"
} | tee "$TXT" >&2
printf 'delay_ms\tloss_pct\tconfig\trun\tseconds\tbytes\tstatus\tnetem_seen\tnetem_dropped\tnetem_delay_p50_ms\tnetem_delay_p99_ms\tfastpassed\theld\treleased_timeout\tloadavg1\tconnect_s\tfirst_byte_s\tnetem_overflow\tnetem_enobufs\tnetem_kernel_dropped\trate\tsrv_retrans\tsrv_qdisc_dropped\n' >"$TSV"

# the server's TCP and link counters (absolute): retransmitted segments, and packets its own
# egress dropped (qdisc; TCP re-sends those itself, so kp-netem never sees them)
srv_counters() {
	local r d
	r=$(ip netns exec $KPT_NS_S nstat -asz TcpRetransSegs 2>/dev/null | awk '$1 == "TcpRetransSegs" {print $2}')
	d=$(ip netns exec $KPT_NS_S tc -s qdisc show dev $KPT_S_IF 2>/dev/null |
		sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | awk '{s += $1} END {print s + 0}')
	echo "${r:-0} ${d:-0}"
}

field() { # KEY SUMMARY_LINE
	sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<"$2"
}

for delay in $DELAYS; do
	for loss in $LOSSES; do
		for run in $RUN_IDS; do
			for cfg in $CONFIGS; do
				ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
				if [ "$cfg" != plain ]; then
					kpt_daemon_start -q 0:1 -c "$(conf "$cfg")"
				fi
				netem_start "$loss" "$delay" "$run"
				status=ok secs=NaN bytes=0 tconn=NaN tfirst=NaN
				read -r rx0 qd0 < <(srv_counters)
				# curl's connect and first-byte times too: where a slow transfer lost its time
				if r=$(KPT_HTTP_W='%{size_download} %{time_total} %{time_connect} %{time_starttransfer}' \
					kpt_http_get $KPT_NS_C1 "http://$KPT_S_IP/big.bin"); then
					read -r bytes secs tconn tfirst <<<"$r"
				else
					status=fail
				fi
				read -r rx1 qd1 < <(srv_counters)
				netem_stop
				ns=$NETEM_SUMMARY
				fp=- held=- tmo=-
				if [ "$cfg" != plain ]; then
					if [ "$loss $delay" = "$TIMING_CELL" ]; then
						"$ROOT/bench/timing/run.sh" --stats "$KPT_EVENTS" --pid "$KPT_DAEMON_PID" \
							>"$OUT/fastpass-$TAG.timing-$cfg-run$run.txt" 2>&1 || true
					fi
					kpt_daemon_stop || true
					read -r fp held tmo < <(kpt_daemon_stat ooo.fastpassed ooo.held \
						ooo.released_timeout)
				fi
				# losses the emulator did not choose: its delay line full, its socket
				# or the kernel's queue overflowing (the emulator falling behind)
				kq=$(field kernel_queue_dropped "$ns") ku=$(field kernel_user_dropped "$ns")
				kd=$((${kq:-0} + ${ku:-0}))
				printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
					"$delay" "$loss" "$cfg" "$run" "$secs" "$bytes" "$status" \
					"$(field seen "$ns")" "$(field dropped "$ns")" \
					"$(field delay_p50_ms "$ns")" "$(field delay_p99_ms "$ns")" \
					"$fp" "$held" "$tmo" "$(cut -d' ' -f1 /proc/loadavg)" "$tconn" "$tfirst" \
					"$(field overflow "$ns")" "$(field enobufs "$ns")" "$kd" "${RATE:-none}" \
					$((rx1 - rx0)) $((qd1 - qd0)) >>"$TSV"
				echo "# delay ${delay}ms loss ${loss}% run $run $cfg: $secs s ($status)" \
					"netem seen=$(field seen "$ns") dropped=$(field dropped "$ns")" \
					"fastpassed=$fp held=$held" >&2
			done
		done
	done
done
echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$TXT"

[ -n "${NO_REPORT:-}" ] || report "$TSV"
