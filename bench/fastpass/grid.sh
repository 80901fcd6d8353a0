#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/fastpass/grid.sh: the issue's full grid of bench/fastpass/run.sh (SIZE MiB, every
# loss x delay x configuration x run) in hours instead of a day, by running the transfers
# with loss side by side, each in a test bed of its own.
#
# Why that is a fair measurement: a transfer under random loss is bound by TCP's loss
# recovery (one RTT per window, timeouts), not by the CPU or the link: reno at 5% loss and
# 100 ms moves well under 1 Mbit/s. The test beds share nothing but the CPUs (own
# namespaces, own kp-netem, own daemon, own nginx; the emulated link has no rate limit, so
# flows do not compete for it), and the three configurations of a cell run at the same
# time under the same load, so their ratio is not skewed by it. The load average is in
# every row of the .tsv; the run's header gives the CPU time all of it used.
#
#   phase 1: the loss 0 cells, alone (these are bound by the CPU: nothing else runs), with
#            run.sh as usual (RUNS runs, configurations interleaved);
#   phase 2: every (delay, loss > 0, configuration, run) as a job of its own (run.sh with
#            RUN_IDS=run, CONFIGS=configuration, NO_REPORT=1), longest first, PARALLEL at
#            a time, each worker in its own test bed (KPT_PREFIX kgNN-);
#   then:    one .tsv of every transfer, the table, the plot (run.sh REPORT=).
#
# usage (root): bench/fastpass/grid.sh
# env: as run.sh (SIZE 100, LOSSES, DELAYS, RUNS 3, CC reno, CONFIGS, TIMEOUT 3600,
#      NETEM_DIR, OUT, TAG) and PARALLEL (48), PHASES ("1 2"), FIRST_RUN (1: phase 2's runs
#      are FIRST_RUN..FIRST_RUN+RUNS-1, i.e. their kp-netem seeds; more runs of a grid already
#      measured: FIRST_RUN=4 PHASES=2, then run.sh REPORT="A.tsv B.tsv")
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SIZE=${SIZE:-100}
LOSSES=${LOSSES:-"0 1 2 3 4 5"}
DELAYS=${DELAYS:-"10 50 100"}
RUNS=${RUNS:-3}
CONFIGS=${CONFIGS:-"plain hold fastpass"}
PARALLEL=${PARALLEL:-48}
PHASES=${PHASES:-"1 2"}
FIRST_RUN=${FIRST_RUN:-1}
OUT=${OUT:-$HERE/results}
TAG=${TAG:-grid-$(date -u +%Y%m%d-%H%M)-${SIZE}M}
export SIZE RUNS CONFIGS CC=${CC:-reno} TIMEOUT=${TIMEOUT:-3600} NETEM_DIR=${NETEM_DIR:-in}

if [ "$(id -u)" != 0 ]; then
	echo "bench/fastpass/grid: needs root (network namespaces)" >&2
	exit 77
fi
case $PARALLEL in '' | *[!0-9]* | 0) echo "bench/fastpass/grid: PARALLEL must be 1..99" >&2; exit 2 ;; esac
[ "$PARALLEL" -le 99 ] || { echo "bench/fastpass/grid: PARALLEL must be 1..99" >&2; exit 2; }

JOBS=$OUT/$TAG.jobs # per-job .tsv, .txt, logs, timing files
mkdir -p "$JOBS"
W=$(mktemp -d /tmp/kpgrid.XXXXXX)
PIDS=()
grid_cleanup() {
	local p
	set +e
	# each worker's run.sh cleans its own test bed on TERM (its EXIT trap)
	for p in $(cat "$W"/run.*.pid 2>/dev/null) "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf -- "$W"
}
trap grid_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# one file served by every test bed (hard-linked into each): SIZE MiB random
SRC=$W/big.bin
head -c $((SIZE * 1048576)) /dev/urandom >"$SRC"
chmod a+r "$SRC"
export KPT_HTTP_SRC=$SRC
cpu0=$(awk '/^cpu /{print $2 + $3 + $4 + $6 + $7 + $8}' /proc/stat)
t0=$(date +%s)
{
	echo "# bench/fastpass/grid: $(date -u '+%F %T') UTC, kernel $(uname -r), $(nproc) CPUs," \
		"SIZE=${SIZE}MiB RUNS=$RUNS TIMEOUT=${TIMEOUT}s NETEM_DIR=$NETEM_DIR CC=$CC" \
		"PARALLEL=$PARALLEL (loss > 0 side by side)"
	echo "# loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$JOBS/header.txt"

# phase 1: loss 0, alone
if [[ " $PHASES " == *" 1 "* ]] && [[ " $LOSSES " == *" 0 "* ]]; then
	echo "# grid phase 1: loss 0, $DELAYS ms, $RUNS runs, alone" >&2
	LOSSES=0 DELAYS=$DELAYS KPT_PREFIX=kg00- OUT=$JOBS TAG=loss0 NO_REPORT=1 TIMING_CELL=- \
		"$HERE/run.sh" 2>"$JOBS/loss0.log" &
	PIDS+=($!)
	wait "${PIDS[-1]}" || echo "# grid phase 1: run.sh failed, see $JOBS/loss0.log" >&2
fi

# phase 2: the jobs, longest first (reno's time grows with RTT * sqrt(loss); hold costs
# relatively more at short delays: its 200 ms timeout is many RTTs there)
if [[ " $PHASES " == *" 2 "* ]]; then
	python3 - "$DELAYS" "$LOSSES" "$CONFIGS" "$RUNS" "$FIRST_RUN" >"$W/jobs" <<'PY'
import math, sys
delays, losses, configs = (sys.argv[i].split() for i in (1, 2, 3))
runs, first = int(sys.argv[4]), int(sys.argv[5])
jobs = []
for d in delays:
    for l in losses:
        if float(l) == 0:
            continue
        for c in configs:
            est = (int(d) + 5) * math.sqrt(float(l)) * ((1 + 40 / int(d)) if c == "hold" else 1)
            for r in range(first, first + runs):
                jobs.append((est, d, l, c, r))
# longest first; a cell's configurations next to each other (they then run side by side)
for est, d, l, c, r in sorted(jobs, key=lambda j: (-j[0], j[4])):
    print(d, l, c, r)
PY
	n=$(wc -l <"$W/jobs")
	echo 0 >"$W/next"
	echo "# grid phase 2: $n transfers, $PARALLEL at a time" >&2
	claim() { # the next job's index, under the lock
		(
			flock 9
			local i
			i=$(cat "$W/next")
			echo $((i + 1)) >"$W/next"
			echo "$i"
		) 9>"$W/lock"
	}
	worker() { # SLOT
		local slot=$1 i line d l c r rc
		while :; do
			i=$(claim)
			[ "$i" -lt "$n" ] || return 0
			line=$(sed -n "$((i + 1))p" "$W/jobs")
			read -r d l c r <<<"$line"
			rc=0
			LOSSES=$l DELAYS=$d CONFIGS=$c RUN_IDS=$r NO_REPORT=1 TIMING_CELL="1 10" \
				KPT_PREFIX=$(printf 'kg%02d-' "$slot") OUT=$JOBS TAG="d$d-l$l-$c-r$r" \
				"$HERE/run.sh" 2>"$JOBS/d$d-l$l-$c-r$r.log" &
			echo $! >"$W/run.$slot.pid"
			wait $! || rc=$?
			rm -f "$W/run.$slot.pid"
			echo "# grid: d=$d l=$l $c run $r done (rc $rc), $(date -u +%T)" >&2
		done
	}
	for s in $(seq 1 "$PARALLEL"); do
		worker "$s" &
		PIDS+=($!)
		sleep 0.5 # stagger the test beds' setup
	done
	for p in "${PIDS[@]}"; do wait "$p" || true; done
fi
cpu1=$(awk '/^cpu /{print $2 + $3 + $4 + $6 + $7 + $8}' /proc/stat)
{
	echo "# loadavg at end: $(cut -d' ' -f1-3 /proc/loadavg); wall $(($(date +%s) - t0)) s," \
		"CPU busy $(((cpu1 - cpu0) / $(getconf CLK_TCK))) s of $(($(nproc) * ($(date +%s) - t0))) s"
} >>"$JOBS/header.txt"

# one .tsv of every transfer, then the table and the plot over it
ALL=$OUT/fastpass-$TAG.tsv
first=1
for t in "$JOBS"/*.tsv; do
	[ -e "$t" ] || continue
	if [ $first = 1 ]; then head -n 1 "$t" >"$ALL"; first=0; fi
	tail -n +2 "$t" >>"$ALL"
done
[ $first = 0 ] || { echo "bench/fastpass/grid: no transfer recorded" >&2; exit 1; }
cp "$JOBS/header.txt" "${ALL%.tsv}.txt" # the header REPORT copies into the table
SUBTITLE="SIZE=$SIZE MiB, $CC, median of $RUNS, loss > 0 run $PARALLEL side by side" \
	REPORT="$ALL" TAG=$TAG-table OUT=$OUT "$HERE/run.sh"
