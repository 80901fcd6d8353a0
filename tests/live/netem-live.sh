#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Live test of kp-netem (tools/kp-netem.c), the loss-and-delay emulator on an NFQUEUE:
# two namespaces kqd-a (198.18.50.1) and kqd-b (198.18.50.2) on a veth pair; the
# emulator runs in kqd-b on kqd-b's egress (tools/kp-netem-setup.sh --dir out), so it
# acts on the echoes that kqd-b's UDP echo server (tests/live/udp_echo.py) sends back.
#   0. GSO: with TSO/GSO still on at the sender, a TCP bulk transfer reaches the emulator
#      as MTU-sized segments (the queue has no GSO flag), none lost or held
#   1. --delay 50: median RTT of 20 probes rises by 50 ms +- 5 ms over the baseline
#   2. --loss 0: 4000 datagrams, none lost; --loss 5: measured loss within the binomial
#      99.9% interval around 5% (3.87%..6.13% for n=4000)
#   3. --loss 5 --delay 20 together: loss in the interval, median RTT rise 20 +- 5 ms
#   4. in every phase the exit summary matches what was sent: seen = echoes sent by the
#      server, dropped = datagrams lost, delayed/passed = datagrams received; and
#      SIGTERM with packets held accepts them at once (flushed), none lost; --limit 10:
#      the packets beyond the delay line's bound are dropped and counted as overflow
#   5. both directions (--dir both, 25 ms each way): the RTT rises by 50 ms +- 5 ms and
#      the emulator sees probes and echoes; the setup script's show and del
# Usage: netem-live.sh PATH/TO/kp-netem. Exit 77 = skipped (not root, no netns, no
# iptables NFQUEUE). Bounded: every wait has a limit; the whole run takes ~30 s.
# shellcheck disable=SC2015 # "check && ok ... || fail ...": ok always succeeds
set -u

NETEM=${1:?usage: netem-live.sh kp-netem}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SETUP=$SRC/tools/kp-netem-setup.sh
ECHO=$SRC/tests/live/udp_echo.py
NS_A=kqd-a
NS_B=kqd-b
IF_A=kqd-va
IF_B=kqd-vb
IP_A=198.18.50.1
IP_B=198.18.50.2
QNUM=5
UPORT=7007
TPORT=7008
N=4000
PY=$(command -v python3 || true)

# shellcheck source=pair.sh
. "$SRC/tests/live/pair.sh"
[ -n "$PY" ] || skip "python3 absent"
[ -x "$NETEM" ] || { echo "FAIL: $NETEM not executable"; exit 1; }
kp_pair_up

"$SETUP" add --netns $NS_B --dev $IF_B --queue $QNUM --dir out --ip 4 2>"$TMP/setup.err" ||
	skip "iptables NFQUEUE unavailable: $(cat "$TMP/setup.err")"


ip netns exec $NS_B "$PY" "$ECHO" server $IP_B $UPORT >/dev/null 2>&1 &
PIDS+=($!)

# probe COUNT INTERVAL WAIT: one client run from kqd-a, JSON on stdout (bounded by the client)
probe() { A timeout 60 "$PY" "$ECHO" client $IP_B $UPORT --count "$1" --interval "$2" --wait "$3"; }
# jget JSON KEY.PATH
jget() { "$PY" -c 'import json,sys; v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$1" "$2"; }
# field SUMMARY KEY: a key=value of the emulator's summary line
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | tr -d '%ms'; }
# fcmp "EXPR": awk float comparison, true/false as exit status
fcmp() { awk "BEGIN { exit !($1) }"; }

# Echo server up (no emulator yet: --queue-bypass lets the traffic through).
for _ in $(seq 50); do
	r=$(probe 1 0.01 0.2 2>/dev/null) && [ "$(jget "$r" received)" = 1 ] && break
	sleep 0.1
done
[ "$(jget "$r" received)" = 1 ] || { fail "echo server unreachable"; exit 1; }

NETEM_PID=
# netem_start ARGS...: the emulator in kqd-b, waits (5 s) for its ready line
netem_start() {
	: >"$TMP/netem.out"; : >"$TMP/netem.err"
	ip netns exec $NS_B "$NETEM" -q $QNUM "$@" >"$TMP/netem.out" 2>"$TMP/netem.err" &
	NETEM_PID=$!
	PIDS+=("$NETEM_PID")
	for _ in $(seq 50); do
		grep -q '^kp-netem: ready' "$TMP/netem.err" && return 0
		kill -0 "$NETEM_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "kp-netem $* did not start: $(cat "$TMP/netem.err")"
	return 1
}
# netem_stop: SIGTERM, wait (5 s), then the summary line in $SUMMARY; exit status 0 checked
netem_stop() {
	local rc
	kill -TERM "$NETEM_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$NETEM_PID" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$NETEM_PID" 2>/dev/null; then
		fail "kp-netem ignored SIGTERM"; kill -9 "$NETEM_PID"
	fi
	wait "$NETEM_PID"; rc=$?
	[ $rc = 0 ] || fail "kp-netem exit status $rc: $(cat "$TMP/netem.err")"
	SUMMARY=$(grep '^kp-netem: summary' "$TMP/netem.out" | tail -1)
	echo "  $SUMMARY"
	[ -n "$SUMMARY" ] || fail "no summary line"
}
# check_counts SUMMARY JSON DELAYED_KEY: seen = sent, dropped = lost, DELAYED_KEY = received
check_counts() {
	local s=$1 j=$2 key=$3 sent recv
	sent=$(jget "$j" sent); recv=$(jget "$j" received)
	if [ "$(field "$s" seen)" = "$sent" ] && [ "$(field "$s" dropped)" = $((sent - recv)) ] &&
		[ "$(field "$s" "$key")" = "$recv" ] && [ "$(field "$s" overflow)" = 0 ] &&
		[ "$(field "$s" flushed)" = 0 ]; then
		ok "summary counts match: seen=$sent dropped=$((sent - recv)) $key=$recv"
	else
		fail "summary counts: sent=$sent received=$recv, summary: $s"
	fi
}
# loss_interval P N: the binomial 99.9% interval in percent, "lo hi"
loss_interval() { awk -v p="$1" -v n="$2" 'BEGIN { p /= 100; d = 3.29 * sqrt(p * (1 - p) / n);
	printf "%.2f %.2f\n", 100 * (p - d), 100 * (p + d) }'; }

# --- 0. GSO: offloads as the kernel sets them; the queue still sees segments -------------
TSO=$(B ethtool -k $IF_B 2>/dev/null | sed -n 's/^tcp-segmentation-offload: //p')
echo "  $IF_B tcp-segmentation-offload: ${TSO:-unknown}"
netem_start --delay 0 --loss 0 && {
	A timeout 40 "$PY" "$ECHO" tcp-sink $IP_A $TPORT >"$TMP/sink.out" 2>&1 &
	SINK=$!; PIDS+=("$SINK")
	for _ in $(seq 50); do A ss -Hltn "sport = :$TPORT" | grep -q . && break; sleep 0.1; done
	B timeout 40 "$PY" "$ECHO" tcp-send $IP_A $TPORT 8388608 || fail "tcp-send failed"
	wait "$SINK"
	netem_stop
	ML=$(field "$SUMMARY" max_len); SEEN=$(field "$SUMMARY" seen)
	if [ "$(cat "$TMP/sink.out")" = 8388608 ] && [ "${ML:-99999}" -le 1500 ] &&
		[ "${SEEN:-0}" -ge $((8388608 / 1500)) ]; then
		ok "GSO off on the queue: 8 MiB in $SEEN packets, largest $ML bytes (TSO $TSO)"
	else
		fail "GSO: sink got $(cat "$TMP/sink.out"), seen=$SEEN max_len=$ML"
	fi
}
# From here on, as the emulator's documentation asks: TSO/GSO off at the sender.
B ethtool -K $IF_B tso off gso off 2>/dev/null || echo "  (ethtool -K failed; continuing)"

# --- baseline RTT ------------------------------------------------------------------------
R=$(probe 20 0.02 1)
BASE=$(jget "$R" rtt_ms.median)
echo "  baseline median RTT ${BASE} ms"

# --- 1. delay 50 ms -----------------------------------------------------------------------
netem_start --delay 50 && {
	R=$(probe 20 0.02 2)
	netem_stop
	MED=$(jget "$R" rtt_ms.median)
	RISE=$(awk -v a="$MED" -v b="$BASE" 'BEGIN { printf "%.3f", a - b }')
	if fcmp "$RISE >= 45 && $RISE <= 55" && [ "$(jget "$R" received)" = 20 ]; then
		ok "--delay 50: median RTT $MED ms, rise $RISE ms (50 +- 5)"
	else
		fail "--delay 50: median RTT $MED ms, rise $RISE ms, $(jget "$R" received)/20 back"
	fi
	check_counts "$SUMMARY" "$R" delayed
	P50=$(field "$SUMMARY" delay_p50_ms)
	fcmp "$P50 >= 50 && $P50 <= 51" && ok "measured added delay p50 $P50 ms" ||
		fail "measured added delay p50 $P50 ms, not 50..51"
}

# --- 2. loss 0 and loss 5 ------------------------------------------------------------------
netem_start --loss 0 && {
	R=$(probe $N 0.0003 1)
	netem_stop
	if [ "$(jget "$R" lost)" = 0 ] && [ "$(jget "$R" sent)" = $N ]; then
		ok "--loss 0: $N/$N back"
	else
		fail "--loss 0: $(jget "$R" received)/$(jget "$R" sent) back"
	fi
	check_counts "$SUMMARY" "$R" passed
}
read -r LO HI < <(loss_interval 5 $N)
netem_start --loss 5 --seed 1 && {
	R=$(probe $N 0.0003 1)
	netem_stop
	L=$(jget "$R" loss_pct)
	fcmp "$L >= $LO && $L <= $HI" && ok "--loss 5: measured $L% (interval $LO..$HI)" ||
		fail "--loss 5: measured $L%, not in $LO..$HI"
	check_counts "$SUMMARY" "$R" passed
}

# --- 3. loss and delay together --------------------------------------------------------------
netem_start --loss 5 --delay 20 --seed 2 && {
	R=$(probe $N 0.0003 2)
	netem_stop
	L=$(jget "$R" loss_pct); MED=$(jget "$R" rtt_ms.median)
	RISE=$(awk -v a="$MED" -v b="$BASE" 'BEGIN { printf "%.3f", a - b }')
	fcmp "$L >= $LO && $L <= $HI" && ok "--loss 5 --delay 20: measured loss $L%" ||
		fail "--loss 5 --delay 20: measured loss $L%, not in $LO..$HI"
	fcmp "$RISE >= 15 && $RISE <= 25" && ok "--loss 5 --delay 20: median RTT rise $RISE ms" ||
		fail "--loss 5 --delay 20: median RTT rise $RISE ms, not 20 +- 5"
	check_counts "$SUMMARY" "$R" delayed
	MH=$(field "$SUMMARY" max_held)
	[ "${MH:-0}" -gt 1 ] && ok "delay line held up to $MH packets" || fail "max_held $MH"
}

# --- 4. SIGTERM with packets held: accepted at once ------------------------------------------
netem_start --delay 5000 && {
	A timeout 30 "$PY" "$ECHO" client $IP_B $UPORT --count 50 --interval 0.01 --wait 8 \
		>"$TMP/held.json" &
	CL=$!; PIDS+=("$CL")
	sleep 1.5
	T0=$(date +%s%N)
	netem_stop
	wait "$CL"
	T1=$(date +%s%N)
	R=$(cat "$TMP/held.json")
	if [ "$(field "$SUMMARY" flushed)" = 50 ] && [ "$(field "$SUMMARY" seen)" = 50 ] &&
		[ "$(jget "$R" received)" = 50 ] && fcmp "$(jget "$R" rtt_ms.max) < 4000" &&
		[ $(((T1 - T0) / 1000000)) -lt 3000 ]; then
		ok "SIGTERM: 50 held packets flushed at once, all 50 back (max RTT $(jget "$R" rtt_ms.max) ms)"
	else
		fail "SIGTERM with held packets: $R / $SUMMARY"
	fi
}

# --- 4b. a full delay line: what does not fit is dropped and counted (overflow) ----------------
netem_start --delay 500 --limit 10 && {
	R=$(probe 50 0.002 2)
	netem_stop
	if [ "$(jget "$R" received)" = 10 ] && [ "$(field "$SUMMARY" overflow)" = 40 ] &&
		[ "$(field "$SUMMARY" delayed)" = 10 ] && [ "$(field "$SUMMARY" max_held)" = 10 ]; then
		ok "--limit 10: 10 of 50 delayed, 40 counted as overflow"
	else
		fail "--limit 10: $(jget "$R" received)/50 back, summary $SUMMARY"
	fi
}

# --- 5. both directions: kqd-b's ingress too, 25 ms each way --------------------------------
"$SETUP" add --netns $NS_B --dev $IF_B --queue $QNUM --dir in --ip 4 || fail "setup add --dir in"
NRULES=$("$SETUP" show --netns $NS_B --dev $IF_B --queue $QNUM --dir both --ip 4 | grep -c NFQUEUE)
[ "$NRULES" = 2 ] && ok "setup show: 2 rules (in and out)" || fail "setup show: $NRULES rules"
netem_start --delay 25 && {
	R=$(probe 20 0.02 2)
	netem_stop
	MED=$(jget "$R" rtt_ms.median)
	RISE=$(awk -v a="$MED" -v b="$BASE" 'BEGIN { printf "%.3f", a - b }')
	fcmp "$RISE >= 45 && $RISE <= 55" && ok "--delay 25 both ways: median RTT rise $RISE ms" ||
		fail "--delay 25 both ways: median RTT rise $RISE ms, not 50 +- 5"
	if [ "$(field "$SUMMARY" seen)" = 40 ] && [ "$(field "$SUMMARY" delayed)" = 40 ]; then
		ok "both ways: 20 probes + 20 echoes = 40 packets delayed"
	else
		fail "both ways: summary $SUMMARY"
	fi
}

"$SETUP" del --netns $NS_B --dev $IF_B --queue $QNUM --dir both --ip 4 || fail "setup del"
B iptables -w -t mangle -S | grep -q NFQUEUE && fail "rule left after del"

echo "$FAILS failure(s)"
[ $FAILS = 0 ]
