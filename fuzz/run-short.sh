#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Short fuzzing run for CI: builds build-fuzz if needed (clang, ASan+UBSan,
# libFuzzer), makes seed corpora from the project's captures
# (tests/captures/pcap) and, when present, the nDPI corpus captures and the
# l7-filter patterns (fuzz/mkcorpus.py -> fuzz/corpus-run/, not committed),
# then runs every fuzz target for FUZZ_SECONDS (default 20) each, FUZZ_JOBS
# targets at a time (default: number of CPUs, at most 4). Prints one summary
# line per target; exits 1 if any target crashed, leaked, timed out or failed
# to start (the reproducer is saved as fuzz/corpus-run/artifacts/<target>-*).
#
# With the defaults (23 targets x 20 s on 2 CPUs) a run takes about 4 minutes
# plus the first build.
#
# usage: fuzz/run-short.sh [TARGET...]     (env FUZZ_SECONDS, FUZZ_JOBS, FUZZ_BUILD)

set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SECS=${FUZZ_SECONDS:-20}
BUILD=${FUZZ_BUILD:-$ROOT/build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$JOBS" -gt 4 ] && JOBS=4
[ "$JOBS" -lt 1 ] && JOBS=1
RUN=$HERE/corpus-run
ART=$RUN/artifacts
LOGS=$RUN/logs

# --- build -------------------------------------------------------------------
if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" "$ROOT" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null || { echo "run-short: meson setup failed" >&2; exit 1; }
fi
ninja -C "$BUILD" >/dev/null || { echo "run-short: build failed" >&2; exit 1; }

targets=()
if [ $# -gt 0 ]; then
	targets=("$@")
else
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] && targets+=("$(basename "$f")")
	done
fi
[ ${#targets[@]} -gt 0 ] || { echo "run-short: no fuzz targets in $BUILD/fuzz" >&2; exit 1; }

# --- seed corpora (once; delete fuzz/corpus-run/seeds to rebuild) ------------
mkdir -p "$ART" "$LOGS"
if [ ! -d "$RUN/seeds" ]; then
	caps=("$ROOT"/tests/captures/pcap/*.pcap)
	pats=()
	corpus=""
	for d in "$ROOT/../shared/corpus" /work/shared/corpus; do
		[ -d "$d" ] && { corpus=$d; break; }
	done
	if [ -n "$corpus" ] && [ -d "$corpus/ndpi/pcap" ]; then
		caps+=("$corpus"/ndpi/pcap/*.pcap*)
	else
		echo "run-short: ../shared/corpus/ndpi/pcap absent: seeds from tests/captures only"
	fi
	[ -n "$corpus" ] && [ -d "$corpus/l7-protocols" ] && pats=(--pats "$corpus/l7-protocols")
	"$BUILD/kp2padm" --help-config >"$RUN/help-config.txt" 2>/dev/null || true
	python3 "$HERE/mkcorpus.py" "$RUN/seeds" --help-config "$RUN/help-config.txt" \
		"${pats[@]}" "${caps[@]}" >/dev/null || { echo "run-short: mkcorpus failed" >&2; exit 1; }
fi

seed_dir() { # target -> its seed directory
	case "$1" in
	fuzz_module_*) echo "$RUN/seeds/fuzz_module" ;;
	*) echo "$RUN/seeds/$1" ;;
	esac
}

max_len() {
	case "$1" in
	fuzz_pipeline|fuzz_module_*) echo 16384 ;;
	*) echo 4096 ;;
	esac
}

# Runs one target; writes its summary line to $LOGS/<t>.sum.
run_one() {
	local t=$1 seeds work rc log line status
	seeds=$(seed_dir "$t")
	work=$RUN/$t
	log=$LOGS/$t.log
	mkdir -p "$work"
	[ -d "$seeds" ] || seeds=""
	# inputs that once crashed (committed): run first, as seeds, on every run
	local regress=$HERE/regress/$t
	[ -d "$regress" ] || regress=""
	rm -f "$ART/$t"-*
	"$BUILD/fuzz/$t" -max_total_time="$SECS" -max_len="$(max_len "$t")" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$ART/$t-" \
		"$work" ${seeds:+"$seeds"} ${regress:+"$regress"} >"$log" 2>&1
	rc=$?
	line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		status=ok
	else
		status="FAIL (rc=$rc: $(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]*( [^ ]*)?|deadly signal|timeout|out-of-memory' "$log" || echo see log))"
	fi
	printf '%-28s %-4s runs=%s cov=%s ft=%s corpus=%s %s%s\n' "$t" "${status%% *}" \
		"$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")" \
		"$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")" \
		"$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")" \
		"$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$line")" \
		"${status#ok}" \
		"$( [ $rc -ne 0 ] && ls "$ART/$t"-* 2>/dev/null | head -1 | sed 's/^/ reproducer=/')" \
		>"$LOGS/$t.sum"
	[ $rc -eq 0 ]
}

echo "run-short: ${#targets[@]} targets x ${SECS}s, $JOBS at a time (logs: $LOGS)"
pids=()
names=()
fail=0
for t in "${targets[@]}"; do
	if [ ! -x "$BUILD/fuzz/$t" ]; then
		echo "run-short: no target $t" >&2
		fail=1
		continue
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
	run_one "$t" &
	pids+=($!)
	names+=("$t")
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || fail=1
done
for t in "${names[@]}"; do cat "$LOGS/$t.sum" 2>/dev/null || { echo "$t: no result"; fail=1; }; done
if [ $fail -ne 0 ]; then
	echo "run-short: FAILED (reproducers in $ART, logs in $LOGS)"
	exit 1
fi
echo "run-short: all ${#names[@]} targets ok"
exit 0
