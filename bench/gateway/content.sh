#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Gateway benchmark part D (issue 4, section 7): content management on the test bed of
# tests/live/testbed.sh (clients kpb-c1/kpb-c2, NAT gateway kpb-gw, server kpb-s; prefix
# KPT_PREFIX, default kpb-). Prints a table, asserts nothing.
#
# Workload: nginx in the server namespace serves a set of distinct random files of mixed
# sizes (MIX, all under the scanner's 20 MB per-file limit, so that every one is scanned
# when scanning is on); CONC curl processes in kpb-c1 download the whole set once per run
# (each its share of the files, one keep-alive connection each), through the NAT gateway.
# Gbit/s = bytes of the set * 8 / wall time of the run. Each run starts a fresh daemon, so
# its scanner has an empty content cache: every file is a first download and is scanned.
# The lines are interleaved round by round (as in part A); ratio = median over rounds of
# the line's Gbit/s over plain forwarding's in the same round.
#
#   (1) plain forwarding + NAT            no daemon
#   (2) kp2padm default                   classification, bypass
#   (3) filter by file name               file = block glob=*.exe (no .exe is downloaded)
#   (4) + audit                           (3) + file.audit = yes (a file event, sha256, per file)
#   (5) scan every HTTP download          scan = yes, scan.db = the test database
#   (6) all together                      (4) + (5)
#   (7) scan, files already scanned       (5), the set downloaded twice per daemon; only the
#                                         second pass is timed: the scanner's sha256 cache
#                                         answers, no file costs a scan
#   (8) scan, files over scan.max_size    (5) with scan.max_size = 64 KiB: every file of the
#                                         set is larger, so none is scanned
# Then libclamav's own rate on the same files with as many threads as CPUs
# (kp2padm-scanrate, measured in the same run, after the rounds), and line (5)'s rate as a
# ratio of it: the ceiling a gateway that scans everything can reach.
#
# CPU columns as in run.sh (percent of ONE core): gw-proc = the daemon (processes in
# kpb-gw), busy = the whole host's non-idle time.
#
# The columns files / scanned / cached / queued are the daemon's stats of the line's last
# run (content.files; content.scans_done - content.scans_cached, the files libclamav read;
# content.scans_cached, the files the sha256 cache answered; queue.received); line (7)'s
# include its untimed first pass.
#
# Usage (root): bench/gateway/content.sh      env: RUNS (3), CONC (4), MIX ("16:12 4:24 1:32
#   0.125:32": MiB per file : files), KP2PADM (build/kp2padm), SCANRATE (the scanrate tool,
#   default beside KP2PADM: bench/kp2padm-scanrate), NDB (build/kp2padm-test.ndb),
#   SCANRATE_SECONDS (5), LINES (the line numbers to run, e.g. "1 5 7"; default all; (1) always
#   runs: it is every ratio's base), KPT_PREFIX (kpb-)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export KPT_PREFIX=${KPT_PREFIX:-kpb-}
export KPT_HTTP_MB=${KPT_HTTP_MB:-1}
. "$HERE/../../tests/live/testbed.sh"

RUNS=${RUNS:-3}
LINES=${LINES:-}
CONC=${CONC:-4}
MIX=${MIX:-16:12 4:24 1:32 0.125:32}
BUILD=$(dirname "$KP2PADM")
NDB=${NDB:-$BUILD/kp2padm-test.ndb}
SCANRATE=${SCANRATE:-}
SCANRATE_SECONDS=${SCANRATE_SECONDS:-5}
if [ -z "$SCANRATE" ]; then
	for f in "$BUILD/bench/kp2padm-scanrate" "$BUILD/kp2padm-scanrate"; do
		[ -x "$f" ] && SCANRATE=$f && break
	done
fi

# ============ DAEMON ARGUMENTS PER LINE: THE LEAD FIXES THESE =========================
# "-" = no daemon; @CONF@ = the bench config (interfaces, stats) + the line's CONF_LINES.
# A line whose daemon does not start (e.g. a key it does not know yet) prints n/a.
QUEUES=0:1
D_NAME=(
	"(1) plain forwarding + NAT"
	"(2) kp2padm default"
	"(3) filter by file name"
	"(4) + audit"
	"(5) scan every HTTP download"
	"(6) all together"
	"(7) scan, files already scanned"
	"(8) scan, files over scan.max_size"
)
D_ARGS=(
	"-"
	"-q $QUEUES -c @CONF@"
	"-q $QUEUES -c @CONF@"
	"-q $QUEUES -c @CONF@"
	"-q $QUEUES -c @CONF@"
	"-q $QUEUES -c @CONF@"
	"-q $QUEUES -c @CONF@"
	"-q $QUEUES -c @CONF@"
)
# the lines' extra config lines, separated by ';'
D_CONF=(
	""
	""
	"file = block name=no-exe glob=*.exe"
	"file = block name=no-exe glob=*.exe;file.audit = yes"
	"scan = yes;scan.db = @NDB@"
	"file = block name=no-exe glob=*.exe;file.audit = yes;scan = yes;scan.db = @NDB@"
	"scan = yes;scan.db = @NDB@"
	"scan = yes;scan.db = @NDB@;scan.max_size = 65536"
)
# passes over the set per daemon before the timed one (line 7: warm the scan cache)
D_WARM=(0 0 0 0 0 0 1 0)
# =======================================================================================

[ "$(id -u)" = 0 ] || { echo "bench/gateway/content.sh: needs root" >&2; exit 1; }
for t in nginx curl; do
	command -v $t >/dev/null || { echo "bench/gateway/content.sh: missing $t" >&2; exit 1; }
done
CLK_TCK=$(getconf CLK_TCK)

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else printf "%.10g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", b / a; else print "-" }'
}

# cpu snapshot: "gw_ticks busy_ticks"
cpu_snap() {
	local p l g=0 f
	for p in $(ip netns pids "$KPT_NS_GW" 2>/dev/null); do
		l=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		l=${l##*) }
		# shellcheck disable=SC2206
		f=($l)
		g=$((g + f[11] + f[12]))
	done
	read -r _ u n s _ _ irq si st _ </proc/stat
	echo "$g $((u + n + s + irq + si + st))"
}

cpu_pct() {
	awk -v a="$1" -v b="$2" -v t="$3" -v hz="$CLK_TCK" 'BEGIN {
		split(a, x, " "); split(b, y, " ");
		for (i = 1; i <= 2; i++) printf "%.0f ", (y[i] - x[i]) * 100 / (hz * t);
	}'
}

# --- the file set ------------------------------------------------------------------------
# make_set DIR: distinct random files (MIX), their names in $SET_LIST, total bytes SET_BYTES
make_set() {
	local d=$1 spec mib n i name bytes
	mkdir -p "$d"
	SET_LIST=$KPT_TMP/set.list
	: >"$SET_LIST"
	SET_BYTES=0
	for spec in $MIX; do
		mib=${spec%%:*} n=${spec#*:}
		bytes=$(awk -v m="$mib" 'BEGIN { printf "%d", m * 1048576 }')
		for i in $(seq 1 "$n"); do
			name=f${bytes}-$i.bin
			head -c "$bytes" /dev/urandom >"$d/$name"
			echo "$name" >>"$SET_LIST"
			SET_BYTES=$((SET_BYTES + bytes))
		done
	done
	chmod a+r "$d"/*.bin
	# interleave sizes: each client gets a similar mix
	shuf --random-source=<(yes) "$SET_LIST" -o "$SET_LIST"
	SET_FILES=$(wc -l <"$SET_LIST")
}

# one pass: CONC curl processes in c1, each over its share of the set (one keep-alive
# connection per process); prints "seconds bytes" (bytes as curl counted them)
pass() {
	local k pids=() t0 t1 bytes=0 f
	t0=$(date +%s.%N)
	for k in $(seq 0 $((CONC - 1))); do
		awk -v k="$k" -v c="$CONC" -v u="http://$KPT_S_IP/" \
			'(NR - 1) % c == k { printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", u, $1 }' \
			"$SET_LIST" >"$KPT_TMP/curl.$k"
		ip netns exec "$KPT_NS_C1" timeout 300 curl -q --noproxy '*' -s -K "$KPT_TMP/curl.$k" \
			-w '%{size_download}\n' >"$KPT_TMP/out.$k" 2>&1 &
		pids+=($!)
	done
	for k in "${pids[@]}"; do wait "$k" || true; done
	t1=$(date +%s.%N)
	for k in $(seq 0 $((CONC - 1))); do
		f=$(awk '{ s += $1 } END { printf "%d", s }' "$KPT_TMP/out.$k")
		bytes=$((bytes + f))
	done
	echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $bytes"
}

# --- the daemon per line ---------------------------------------------------------------
line_conf() {
	local f=$KPT_TMP/bench-content.conf extra=${D_CONF[$1]}
	{
		echo "# kp2padm bench config (bench/gateway/content.sh, line $1)"
		echo "interfaces = ${KPT_GW_IFACES// /,}"
		echo "stats.interval = 1"
		[ -z "$extra" ] || printf '%s\n' "${extra//@NDB@/$NDB}" | tr ';' '\n'
	} >"$f"
	echo "$f"
}

# starts line $1's daemon; 1 (with NA set) when it cannot
line_daemon() {
	local a=${D_ARGS[$1]}
	[ "$a" = - ] && return 0
	if ! kpt_daemon_available; then
		NA="n/a (no daemon)"
		return 1
	fi
	a=${a//@CONF@/$(line_conf "$1")}
	ip netns exec "$KPT_NS_GW" conntrack -F >/dev/null 2>&1 || true
	# shellcheck disable=SC2086 # the table's words
	if ! kpt_daemon_start $a 2>/dev/null; then
		NA="n/a (daemon did not start: $(grep -m1 -v '^kp2padm: ready' "$KPT_DAEMON_LOG" | head -c 120))"
		return 1
	fi
}

# one run of line $1: "gbit gw% busy% seconds bytes" or "fail"
line_run() {
	local i=$1 b a r secs bytes
	for _ in $(seq 1 "${D_WARM[$i]}"); do pass >/dev/null; done
	b=$(cpu_snap)
	r=$(pass)
	a=$(cpu_snap)
	secs=${r% *} bytes=${r#* }
	if [ "$bytes" != "$SET_BYTES" ]; then
		echo "  line $i: $bytes of $SET_BYTES bytes arrived" >&2
		echo fail
		return 0
	fi
	echo "$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.2f", b * 8 / s / 1e9 }')" \
		"$(cpu_pct "$b" "$a" "$secs")$secs $bytes"
}

# one scanrate run over the set's files, as many threads as CPUs: prints its Gbit/s
# ("fail" when it cannot say); the total line goes to $KPT_TMP/scanrate.log
scanrate_run() {
	local files sr
	mapfile -t files < <(sed "s|^|$KPT_TMP/nginx/www/|" "$SET_LIST")
	sr=$("$SCANRATE" -d "$NDB" -t "$(nproc)" -T "$SCANRATE_SECONDS" "${files[@]}" 2>&1 |
		tee "$KPT_TMP/scanrate.out" | sed -n 's/^total: .*(\([0-9.]*\) Mbit\/s).*/\1/p')
	grep '^total:' "$KPT_TMP/scanrate.out" >>"$KPT_TMP/scanrate.log" ||
		echo "scanrate: $(tail -n 2 "$KPT_TMP/scanrate.out" | tr '\n' ' ')" >>"$KPT_TMP/scanrate.log"
	if [ -n "$sr" ]; then awk -v m="$sr" 'BEGIN { printf "%.3f\n", m / 1000 }'; else echo fail; fi
}
SR_OK=0
[ -n "$SCANRATE" ] && [ -s "$NDB" ] && SR_OK=1

# --- run --------------------------------------------------------------------------------
kpt_up
kpt_http_start
make_set "$KPT_TMP/nginx/www"
pass >/dev/null # untimed: nginx's files into the page cache, the bed warm
echo "# bench/gateway/content.sh: $(date -u '+%F %T') UTC, kernel $(uname -r), $(nproc) CPUs," \
	"RUNS=$RUNS CONC=$CONC"
echo "# daemon: $(kpt_daemon_available && echo "$KP2PADM" || echo "not available")," \
	"signatures $NDB, scanrate ${SCANRATE:-not built}"
echo "# set: $SET_FILES files, $(awk -v b="$SET_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB (MIX=\"$MIX\" MiB:files)"
echo
echo "## D. HTTP downloads $KPT_NS_C1 -> $KPT_NS_GW (NAT) -> $KPT_NS_S: the set once per run," \
	"$CONC curl clients, $RUNS interleaved rounds"
printf '%-34s | %4s | %13s | %8s | %7s | %5s | %5s | %7s | %6s | %8s | %s\n' config runs \
	"median Gbit/s" "ratio(1)" "gw-proc%" "busy%" files scanned cached queued "all runs"
declare -A RES SCANST LINE_RUNS
SR=()
for r in $(seq 1 "$RUNS"); do
	for i in "${!D_NAME[@]}"; do
		NA=
		[ $i = 0 ] || [ -z "$LINES" ] || [[ " $LINES " == *" $((i + 1)) "* ]] || continue
		if ! line_daemon "$i"; then
			RES[$i]="NA:$NA;"
			continue
		fi
		RES[$i]="${RES[$i]:-}$(line_run "$i");"
		if [ -n "$KPT_DAEMON_PID" ]; then
			kpt_daemon_stop || echo "  warning: the daemon did not stop cleanly" >&2
			SCANST[$i]=$(kpt_daemon_stat content.files content.scans_done content.scans_cached \
				queue.received)
		fi
		sleep 0.5
	done
	# the ceiling, in the same round (the machine is shared: its load changes by the minute)
	[ $SR_OK = 0 ] || SR+=("$(scanrate_run)")
done
mapfile -t base < <(printf '%s' "${RES[0]}" | tr ';' '\n' | grep .)
for i in "${!D_NAME[@]}"; do
	[ -n "${RES[$i]:-}" ] || continue
	if [[ "${RES[$i]}" == NA:* ]]; then
		printf '%-34s | %s\n' "${D_NAME[$i]}" "$(printf '%s' "${RES[$i]}" | sed 's/^NA:\([^;]*\);.*/\1/')"
		continue
	fi
	mapfile -t out < <(printf '%s' "${RES[$i]}" | tr ';' '\n' | grep .)
	MED_G=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" { print $1 }' | median)
	MED_GW=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" { print $2 }' | median)
	MED_BUSY=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail" { print $3 }' | median)
	OK=$(printf '%s\n' "${out[@]}" | awk '$1 != "fail"' | wc -l)
	RAT=$(for k in "${!out[@]}"; do
		ratio "$(echo "${base[$k]:-}" | cut -d' ' -f1)" "$(echo "${out[$k]}" | cut -d' ' -f1)"
		echo
	done | grep -v '^-$' | median | awk '{ printf($1 == "n/a" ? "%s" : "%.2f", $1) }')
	read -r sf ss sc sq <<<"${SCANST[$i]:-- - - -}"
	# scans_done counts the cache's answers too: scanned = the files libclamav read
	[[ "$ss" =~ ^[0-9]+$ ]] && [[ "$sc" =~ ^[0-9]+$ ]] && ss=$((ss - sc))
	printf '%-34s | %4s | %13s | %8s | %7s | %5s | %5s | %7s | %6s | %8s | %s\n' "${D_NAME[$i]}" "$OK" \
		"$MED_G" "$RAT" "$MED_GW" "$MED_BUSY" "$sf" "$ss" "$sc" "$sq" \
		"$(printf '%s\n' "${out[@]}" | awk '{ printf "%s ", $1 }')"
	LINE_RUNS[$i]=$(printf '%s\n' "${out[@]}" | awk '{ printf "%s ", $1 }')
done
echo "##    target: (4) >= 0.85 of (1); ratio(1) = median over rounds of the line / (1) in the same round;"
echo "##    files/scanned/cached/queued: the daemon's stats of the line's last run"

# --- the ceiling: libclamav on the same files, same cores, once per round ---------------
echo
echo "## libclamav's own rate on the same $SET_FILES files, $(nproc) threads (kp2padm-scanrate" \
	"-T $SCANRATE_SECONDS, once per round after the round's lines)"
if [ -z "$SCANRATE" ]; then
	echo "n/a (kp2padm-scanrate not built: bench/scan/scanrate.c)"
elif [ ! -s "$NDB" ]; then
	echo "n/a ($NDB not built)"
else
	sed 's/^/  /' "$KPT_TMP/scanrate.log"
	SG=$(printf '%s\n' "${SR[@]}" | awk '$1 != "fail"' | median)
	echo "ceiling: median $SG Gbit/s (rounds: ${SR[*]})"
	for i in 4 5; do
		[ -n "${LINE_RUNS[$i]:-}" ] || continue
		read -r -a lr <<<"${LINE_RUNS[$i]}"
		RAT=$(for k in "${!lr[@]}"; do
			ratio "${SR[$k]:-}" "${lr[$k]}"
			echo
		done | grep -v '^-$' | median | awk '{ printf($1 == "n/a" ? "%s" : "%.2f", $1) }')
		echo "${D_NAME[$i]}: ${LINE_RUNS[$i]}Gbit/s; median of per-round ratios to the ceiling: $RAT (target >= 0.80)"
	done
fi
