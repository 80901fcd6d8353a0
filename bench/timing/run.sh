#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Where the time goes (issue 5 §4): the cost of the per-stage timers and the
# per-stage breakdown, offline; and the inline breakdown from a stats event.
# Prints figures; asserts nothing.
#
# Offline (default): for each capture set - the project's tests/captures/pcap and,
# when ../shared/corpus is there, the nDPI DEV captures (the bigger set) - and for
# each timing.sample in SAMPLES (default "0 64 1"), interleaved, RUNS times:
#   memory  build/bench/offline_bench -k PASSES -s timing.sample=S (engine only, captures
#           in memory, pinned to CPU 0): median pass CPU seconds
#   file    taskset -c 0 kp2padm -s timing.sample=S -l /dev/null -r CAP... (each capture
#           repeated to fill 256 -r): the process's CPU seconds, minus its start-up (the
#           median CPU of the same command on a 1-packet capture)
# then the medians over the runs, each as a ratio to timing.sample=0 (the overhead),
# and the summary's per-stage table of one run at timing.sample=1 and at 64.
#
# Inline: --stats FILE prints the per-stage breakdown of the last `stats` event in FILE
# (one stats event as JSON, or a daemon's events file of JSON lines), per worker and
# summed. With --pid PID (the running daemon), SIGUSR1 asks for a fresh stats event
# first and the script waits (at most 10 s) for it to appear in FILE.
#
# usage: bench/timing/run.sh [--runs N] [--passes N] [--samples "0 64 1"] [--build DIR]
#                            [--no-corpus] [CAPTURE...]
#        bench/timing/run.sh --stats FILE [--pid PID]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RUNS=${RUNS:-5}
PASSES=${PASSES:-20}
SAMPLES=${SAMPLES:-"0 64 1"}
BUILD=${BUILD:-$ROOT/build}
CPU=${CPU:-0}
STATS="" PID="" CORPUS=1
caps=()
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--passes) PASSES=$2; shift 2 ;;
	--samples) SAMPLES=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--no-corpus) CORPUS=0; shift ;;
	--stats) STATS=$2; shift 2 ;;
	--pid) PID=$2; shift 2 ;;
	-h|--help) sed -n '3,27p' "$0"; exit 0 ;;
	*) caps+=("$1"); shift ;;
	esac
done

# --- inline: a stats event -------------------------------------------------------------
if [ -n "$STATS" ]; then
	exec python3 - "$STATS" "$PID" <<'PY'
import json, os, signal, sys, time

path, pid = sys.argv[1], sys.argv[2]

def pairs(kv):
    # daemons before the queue_num key wrote "queue" twice in a worker object: its number, then
    # the queue counters
    d = {}
    for k, v in kv:
        if k == "queue" and isinstance(v, int):
            d["queue_num"] = v
        else:
            d[k] = v
    return d

def loads(text):
    return json.loads(text, object_pairs_hook=pairs)

def last_stats():
    last = None
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        sys.exit(f"bench/timing: {path}: {e.strerror}")
    try:  # one event, possibly pretty-printed
        ev = loads(text)
        return ev if isinstance(ev, dict) and ev.get("event_type") == "stats" else None
    except ValueError:
        pass
    n = 0
    for line in text.splitlines():
        if '"stats"' not in line:
            continue
        try:
            ev = loads(line)
        except ValueError:
            continue
        if ev.get("event_type") == "stats":
            last, n = ev, n + 1
    return last, n

def get():
    r = last_stats()
    return r if isinstance(r, tuple) else (r, 1 if r else 0)

ev, n0 = get()
if pid:
    os.kill(int(pid), signal.SIGUSR1)
    for _ in range(100):
        time.sleep(0.1)
        ev, n = get()
        if n > n0:
            break
    else:
        print("bench/timing: no new stats event after SIGUSR1 (10 s); using the last one",
              file=sys.stderr)
if not ev:
    sys.exit(f"bench/timing: no stats event in {path}")

stages = ["receive", "decode", "flow", "reassembly", "classify", "app", "policy", "verdict",
          "other"]

def table(name, t):
    if not t:
        print(f"{name}: no timing object (a kp2padm without timing?)")
        return
    if not t.get("sample"):
        print(f"{name}: timing.sample = 0 (off)")
        return
    nth = {1: "1st", 2: "2nd", 3: "3rd"}.get(t["sample"], f"{t['sample']}th")
    print(f"{name}: every {nth} packet, {t['sampled']} of {t['packets']} timed "
          f"(clock {t['clock']}, {t.get('clock_ns', 0):.1f} ns a read, taken off), "
          f"{t['ns_per_packet']:.0f} ns per packet")
    print(f"  {'stage':<12} {'ns/packet':>10} {'share':>7} {'p50 ns':>9} {'p99 ns':>9} {'timed':>9}")
    for s in stages:
        x = t["stages"].get(s, {})
        print(f"  {s:<12} {x.get('ns_per_packet', 0):>10.1f} {x.get('share', 0):>6.1f}% "
              f"{x.get('p50_ns', 0):>9.0f} {x.get('p99_ns', 0):>9.0f} {x.get('timed', 0):>9}")
    w = t.get("scan_wait", {})
    if w.get("holds"):
        print(f"  scan wait: {w['holds']} held packets, mean {w['mean_ns'] / 1e6:.3f} ms, "
              f"p50 {w['p50_ns'] / 1e6:.3f} ms, p99 {w['p99_ns'] / 1e6:.3f} ms")

st = ev.get("stats", {})
print(f"stats event of {ev.get('timestamp')}")
for w in st.get("workers", []):
    table(f"worker (queue {w.get('queue_num')})", w.get("timing"))
table("all workers", st.get("timing"))
PY
fi

# --- offline -----------------------------------------------------------------------------
[ "$RUNS" -ge 1 ] && [ "$PASSES" -ge 1 ] || { echo "bench/timing: bad --runs/--passes" >&2; exit 2; }
if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" "$ROOT" >/dev/null
fi
ninja -C "$BUILD" -j1 bench/offline_bench kp2padm >/dev/null

sets=()
work=$(mktemp -d /tmp/kp-bench-timing.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ ${#caps[@]} -gt 0 ]; then
	printf '%s\n' "${caps[@]}" >"$work/set.given"
	sets+=(given)
else
	ls "$ROOT"/tests/captures/pcap/*.pcap >"$work/set.project"
	sets+=(project)
	corpus=""
	for d in "$ROOT/../shared/corpus/ndpi/pcap" /work/shared/corpus/ndpi/pcap; do
		if [ -d "$d" ]; then corpus=$(cd "$d" && pwd); break; fi
	done
	if [ "$CORPUS" = 1 ] && [ -n "$corpus" ]; then
		ls "$corpus"/*.pcap* >"$work/set.ndpi-corpus"
		sets+=(ndpi-corpus)
	elif [ "$CORPUS" = 1 ]; then
		echo "skip: ../shared/corpus/ndpi/pcap absent: only the project's captures"
	fi
fi

exec python3 - "$BUILD" "$CPU" "$RUNS" "$PASSES" "$SAMPLES" "$work" "${sets[@]}" <<'PY'
import os, re, resource, shutil, statistics, subprocess, sys

build, cpu, runs, passes, samples, work = sys.argv[1:7]
sets = sys.argv[7:]
runs, passes = int(runs), int(passes)
samples = [int(s) for s in samples.split()]
bench = os.path.join(build, "bench", "offline_bench")
kp = os.path.join(build, "kp2padm")
taskset = ["taskset", "-c", cpu] if shutil.which("taskset") else []

def run(cmd):
    """Runs cmd; returns (stdout, stderr, child CPU seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        sys.exit(f"bench/timing: {' '.join(cmd[:6])}... failed:\n{p.stderr}")
    return p.stdout, p.stderr, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

def med(xs):
    return statistics.median(xs) if xs else float("nan")

for name in sets:
    caps = [l.strip() for l in open(os.path.join(work, "set." + name)) if l.strip()]
    rep = max(1, 256 // len(caps))
    kp_args = [a for _ in range(rep) for c in caps for a in ("-r", c)]
    subprocess.run(["cat"] + caps, stdout=subprocess.DEVNULL)  # warm the page cache
    mem = {s: [] for s in samples}
    fcpu = {s: [] for s in samples}
    start = []
    tables = {}
    npk = 0
    # untimed warm-up, then RUNS rounds, the settings interleaved (drift hits all alike)
    run(taskset + [kp, "-s", "timing.sample=0", "-l", "/dev/null"] + kp_args)
    one = os.path.join(work, "one.pcap")
    subprocess.run(["editcap", "-r", caps[0], one, "1"], check=True, capture_output=True)
    for r in range(runs):
        start.append(run(taskset + [kp, "-l", "/dev/null", "-r", one])[2])
        for s in samples:
            out, _, _ = run([bench, "-c", cpu, "-k", str(passes), "-s", f"timing.sample={s}"] + caps)
            m = re.search(r"median_cpu_s=([0-9.]+)", out)
            mem[s].append(float(m.group(1)))
            npk = int(re.search(r"^result: packets=(\d+)", out, re.M).group(1))
            _, err, c = run(taskset + [kp, "-s", f"timing.sample={s}", "-l", "/dev/null"] + kp_args)
            fcpu[s].append(c)
            t = re.search(r"^timing: .*\n(?:  .*\n)+", err, re.M)
            if t:
                tables[s] = t.group(0)
    print(f"\n== {name}: {len(caps)} captures, {npk} packets "
          f"(file line: each capture x{rep}); median of {runs} runs ==")
    su = med(start)
    print(f"{'timing.sample':>13} | {'memory: CPU s/pass':>18} {'ns/pkt':>7} {'ratio':>6} | "
          f"{'file: CPU s - start-up':>22} {'ratio':>6}")
    b = samples[0]
    for s in samples:
        f, fb = med(fcpu[s]) - su, med(fcpu[b]) - su
        print(f"{s:>13} | {med(mem[s]):>18.6f} {med(mem[s]) / npk * 1e9:>7.1f} "
              f"{med(mem[s]) / med(mem[b]):>6.3f} | {f:>22.4f} {f / fb if fb > 0 else float('nan'):>6.3f}")
    print(f"(ratio: to timing.sample={b}; file start-up {su:.4f} CPU s; file packets "
          f"{npk * rep})")
    for s in samples:
        if s in tables:
            print(f"\nper-stage breakdown, {name}, timing.sample={s} (last run, kp2padm summary):")
            print(tables[s], end="")
PY
