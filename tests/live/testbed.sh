#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The inline gateway's test bed (issue 3, section 5): two client namespaces, one
# gateway namespace doing NAT, one server namespace, joined by veth pairs, with
# addresses from 198.18.0.0/15 and 2001:2::/48 (RFC 5180) only and no default
# route anywhere. Real programs (nginx, curl, iperf3, opentracker, libtorrent) run
# inside; the daemon (kp2padm -q ...) is started in the gateway by kpt_daemon_start.
#
#   kpt-c1  kc1 198.18.1.2/24 2001:2:1::2/64 --- kg1 198.18.1.1 2001:2:1::1  \
#   kpt-c2  kc2 198.18.2.2/24 2001:2:2::2/64 --- kg2 198.18.2.1 2001:2:2::1   kpt-gw
#   kpt-s   ks  198.19.1.2/24 2001:2:ff::2/64 -- kgs 198.19.1.1 2001:2:ff::1 /  (MASQUERADE -o kgs)
#
# IPv4: clients route 198.19.0.0/16 via the gateway; the server has no route back to
# 198.18.0.0/15, so only NAT (MASQUERADE on kgs) makes replies arrive. IPv6 is routed,
# not translated: the server routes 2001:2:1::/64 and 2001:2:2::/64 via the gateway,
# so the daemon sees the clients' own addresses on both sides. Offloads (GSO/TSO/GRO)
# stay as the kernel sets them, as on a real gateway. Addresses are added with nodad.
#
# Use as a library (set -euo pipefail safe):  . tests/live/testbed.sh ; kpt_up ; ...
#   kpt_up                      builds the bed (first removes leftovers: kpt_down), installs
#                               the kpt_cleanup trap on EXIT/INT/TERM (unless KPT_KEEP=1)
#   kpt_down                    kills every process inside kpt-* namespaces, deletes them
#   kpt_bg NS CMD...            starts CMD in NS in the background (output to a log under
#                               $KPT_TMP/log: KPT_LAST_LOG), remembers its PID (KPT_LAST_PID)
#   kpt_kill PID...             stops PIDs started by kpt_bg (TERM, then KILL after 2 s)
#   kpt_wait_port NS PORT [tcp|udp]   waits (10 s at most) until PORT listens in NS
#   kpt_daemon_start ARGS...    $KP2PADM -l $KPT_EVENTS ARGS... in kpt-gw; waits (10 s) for
#                               "kp2padm: ready" on its stderr ($KPT_DAEMON_LOG)
#   kpt_daemon_stop             SIGTERM, wait (10 s), then checks no KP2PADM chains are left
#   kpt_gw_reap                 stops whatever still runs in kpt-gw (a subshell's daemon)
#   kpt_daemon_stat KEY         KEY (a.b.c path) of the last stats event in $KPT_EVENTS
#   kpt_http_start              nginx in kpt-s on 198.19.1.2:80, [2001:2:ff::2]:80 and :8080,
#                               serving big.bin (KPT_HTTP_MB MiB random, sha256 KPT_HTTP_SHA)
#                               and small.bin (1 KiB)
#   kpt_http_get NS URL [SHA]   curl download in NS (bounded), checks the sha256
#   kpt_bt_swarm plain|forced|utp   one BitTorrent transfer: opentracker + seeder in kpt-s,
#                               leecher in kpt-c1 (python3-libtorrent), sha256 checked;
#                               0 when complete within KPT_BT_TIMEOUT s, non-zero otherwise
#
# CLI: testbed.sh up [--http] | down | status      (root; `up` leaves the bed running)

set -euo pipefail

KPT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KPT_SRC=${KPT_SRC:-$(cd "$KPT_LIB_DIR/../.." && pwd)}

# --- names and addresses (exported for the scripts that source this file) ---------------
# KPT_PREFIX lets two beds run side by side (e.g. a benchmark with KPT_PREFIX=kpb-)
export KPT_PREFIX=${KPT_PREFIX:-kpt-}
export KPT_NS_C1=${KPT_PREFIX}c1 KPT_NS_C2=${KPT_PREFIX}c2 KPT_NS_GW=${KPT_PREFIX}gw \
	KPT_NS_S=${KPT_PREFIX}s
export KPT_C1_IF=kc1 KPT_C2_IF=kc2 KPT_S_IF=ks
export KPT_GW_C1_IF=kg1 KPT_GW_C2_IF=kg2 KPT_GW_S_IF=kgs
export KPT_GW_IFACES="kg1 kg2 kgs"
export KPT_C1_IP=198.18.1.2 KPT_C2_IP=198.18.2.2 KPT_S_IP=198.19.1.2
export KPT_GW_C1_IP=198.18.1.1 KPT_GW_C2_IP=198.18.2.1 KPT_GW_S_IP=198.19.1.1
export KPT_C1_NET=198.18.1.0/24 KPT_C2_NET=198.18.2.0/24 KPT_S_NET=198.19.1.0/24
export KPT_C1_IP6=2001:2:1::2 KPT_C2_IP6=2001:2:2::2 KPT_S_IP6=2001:2:ff::2
export KPT_GW_C1_IP6=2001:2:1::1 KPT_GW_C2_IP6=2001:2:2::1 KPT_GW_S_IP6=2001:2:ff::1
export KPT_C1_NET6=2001:2:1::/64 KPT_C2_NET6=2001:2:2::/64 KPT_S_NET6=2001:2:ff::/64

# the daemon: the binary, and what it writes
KP2PADM=${KP2PADM:-$KPT_SRC/build/kp2padm}
KPT_PY=/usr/bin/python3 # Debian's python (python3-libtorrent lives there, not in a pyenv)
KPT_HTTP_MB=${KPT_HTTP_MB:-20}
KPT_BT_SIZE=${KPT_BT_SIZE:-8388608}
KPT_BT_TIMEOUT=${KPT_BT_TIMEOUT:-60}

KPT_PIDS=()
KPT_LAST_PID=
KPT_LAST_LOG=
KPT_TMP=${KPT_TMP:-}
KPT_OWN_TMP=0
KPT_DAEMON_PID=
KPT_EVENTS=
KPT_DAEMON_LOG=
KPT_HTTP_SHA=
KPT_HTTP_SMALL_SHA=
KPT_HTTP_PID=
KPT_BT_SECONDS=

kpt_log() {
	echo "testbed: $*" >&2
}

kpt_is_root() {
	[ "$(id -u)" = 0 ]
}

kpt_tmpdir() {
	if [ -z "$KPT_TMP" ] || [ ! -d "$KPT_TMP" ]; then
		KPT_TMP=$(mktemp -d "/tmp/${KPT_PREFIX%-}.XXXXXX")
		KPT_OWN_TMP=1
	fi
	# nginx workers and opentracker drop root: they must read what we give them
	chmod 755 "$KPT_TMP"
	mkdir -p "$KPT_TMP/log"
	chmod 755 "$KPT_TMP/log"
	KPT_EVENTS=$KPT_TMP/events.json
	KPT_DAEMON_LOG=$KPT_TMP/daemon.log
}

# Namespaces with our prefix (also leftovers of a killed run).
kpt_ns_list() {
	ip netns list 2>/dev/null | awk '{print $1}' | grep "^$KPT_PREFIX" || true
}

# Removes everything of ours: every process running inside a kpt-* namespace (they
# are ours by the prefix convention), then the namespaces (and with them the veths,
# their tc state and the namespaces' netfilter rules). Idempotent.
kpt_down() {
	local ns p left d
	for ns in $(kpt_ns_list); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
	done
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		left=0
		for ns in $(kpt_ns_list); do
			[ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && left=1
		done
		[ $left = 0 ] && break
		sleep 0.2
	done
	for ns in $(kpt_ns_list); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	done
	for ns in $(kpt_ns_list); do
		ip netns del "$ns" 2>/dev/null || true
	done
	# temp dirs of killed runs (a run at a time: the namespace names are fixed)
	for d in "/tmp/${KPT_PREFIX%-}".??????; do
		[ -d "$d" ] && [ "$d" != "${KPT_TMP:-}" ] && rm -rf -- "$d"
	done
	return 0
}

# EXIT/INT/TERM trap: the daemon first (so that it removes its own rules), then the
# processes we started (by PID), then the namespaces, then our temp dir.
kpt_cleanup() {
	local p had_e=0
	case $- in *e*) had_e=1 ;; esac
	set +e
	if [ -n "$KPT_DAEMON_PID" ]; then
		kill -TERM "$KPT_DAEMON_PID" 2>/dev/null
		for _ in $(seq 1 50); do
			kill -0 "$KPT_DAEMON_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$KPT_DAEMON_PID" 2>/dev/null
		KPT_DAEMON_PID=
	fi
	for p in "${KPT_PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	sleep 0.2
	for p in "${KPT_PIDS[@]:-}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	KPT_PIDS=()
	kpt_down
	if [ "$KPT_OWN_TMP" = 1 ] && [ -n "$KPT_TMP" ] && [ -d "$KPT_TMP" ]; then
		if [ -n "${KPT_KEEP_TMP:-}" ]; then
			kpt_log "kept $KPT_TMP"
		else
			rm -rf -- "$KPT_TMP"
		fi
	fi
	KPT_TMP=
	KPT_OWN_TMP=0
	[ $had_e = 0 ] || set -e
}

kpt_trap() {
	trap kpt_cleanup EXIT
	# INT/TERM must stop the script; the exit then runs the EXIT trap once
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# kpt_link NS_A IF_A NS_B IF_B: one veth pair between two namespaces
kpt_link() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# kpt_addr NS IF IPV4/LEN IPV6/LEN
kpt_addr() {
	ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.accept_dad=0"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$1" addr add "$4" dev "$2" nodad
}

kpt_up() {
	local ns
	kpt_is_root || { kpt_log "needs root"; return 1; }
	[ "${KPT_KEEP:-0}" = 1 ] || kpt_trap
	kpt_down
	kpt_tmpdir
	for ns in $KPT_NS_C1 $KPT_NS_C2 $KPT_NS_GW $KPT_NS_S; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0
	done
	kpt_link $KPT_NS_C1 $KPT_C1_IF $KPT_NS_GW $KPT_GW_C1_IF
	kpt_link $KPT_NS_C2 $KPT_C2_IF $KPT_NS_GW $KPT_GW_C2_IF
	kpt_link $KPT_NS_S $KPT_S_IF $KPT_NS_GW $KPT_GW_S_IF
	kpt_addr $KPT_NS_C1 $KPT_C1_IF $KPT_C1_IP/24 $KPT_C1_IP6/64
	kpt_addr $KPT_NS_C2 $KPT_C2_IF $KPT_C2_IP/24 $KPT_C2_IP6/64
	kpt_addr $KPT_NS_S $KPT_S_IF $KPT_S_IP/24 $KPT_S_IP6/64
	kpt_addr $KPT_NS_GW $KPT_GW_C1_IF $KPT_GW_C1_IP/24 $KPT_GW_C1_IP6/64
	kpt_addr $KPT_NS_GW $KPT_GW_C2_IF $KPT_GW_C2_IP/24 $KPT_GW_C2_IP6/64
	kpt_addr $KPT_NS_GW $KPT_GW_S_IF $KPT_GW_S_IP/24 $KPT_GW_S_IP6/64
	# routes: only what is needed, never a default route
	ip -n $KPT_NS_C1 route add 198.19.0.0/16 via $KPT_GW_C1_IP
	ip -n $KPT_NS_C2 route add 198.19.0.0/16 via $KPT_GW_C2_IP
	ip -n $KPT_NS_C1 -6 route add $KPT_S_NET6 via $KPT_GW_C1_IP6
	ip -n $KPT_NS_C2 -6 route add $KPT_S_NET6 via $KPT_GW_C2_IP6
	ip -n $KPT_NS_S -6 route add $KPT_C1_NET6 via $KPT_GW_S_IP6
	ip -n $KPT_NS_S -6 route add $KPT_C2_NET6 via $KPT_GW_S_IP6
	# the clients are load generators (wrk, storm.py close first and keep TIME_WAIT): a
	# wide port range and TIME_WAIT reuse, or short-flow runs starve on ports after ~14k
	# connections (measured: 14.8k conn/s, then 4.2k, then 0.9k)
	for ns in $KPT_NS_C1 $KPT_NS_C2; do
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
	done
	# the gateway: forwarding, IPv4 NAT on the server side; IPv6 routed
	ip netns exec $KPT_NS_GW sysctl -qw net.ipv4.ip_forward=1
	ip netns exec $KPT_NS_GW sysctl -qw net.ipv6.conf.all.forwarding=1
	ip netns exec $KPT_NS_GW iptables -t nat -A POSTROUTING -o $KPT_GW_S_IF -j MASQUERADE
}

# kpt_reach NS ADDR LABEL: ping when there is one, else a TCP connect (a refusal also
# proves the path: the server's RST came back through the gateway)
kpt_reach() {
	local r
	if command -v ping >/dev/null; then
		ip netns exec "$1" ping -c1 -W1 -q "$2" >/dev/null 2>&1 && r=ok || r=FAILED
	else
		r=$(ip netns exec "$1" $KPT_PY -c 'import socket,sys
s=socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.settimeout(1)
try:
	s.connect((sys.argv[1], 80)); print("ok")
except ConnectionRefusedError:
	print("ok (refused)")
except OSError as e:
	print("FAILED", e)' "$2")
	fi
	echo "$3: $r"
}

kpt_status() {
	local ns
	if [ -z "$(kpt_ns_list)" ]; then
		echo "no $KPT_PREFIX namespaces"
		return 1
	fi
	for ns in $(kpt_ns_list); do
		echo "== $ns (processes: $(ip netns pids "$ns" | wc -l))"
		ip -n "$ns" -br addr show | grep -v '^lo '
		ip -n "$ns" route show
		ip -n "$ns" -6 route show | grep -v '^fe80' || true
	done
	echo "== $KPT_NS_GW nat"
	ip netns exec $KPT_NS_GW iptables -t nat -S POSTROUTING
	echo "== KP2PADM chains in $KPT_NS_GW: $(kpt_gw_chains)"
	echo "== reachability (TCP connect to the server's port 80/8080, or ping)"
	kpt_reach $KPT_NS_C1 $KPT_S_IP "c1 -> s v4"
	kpt_reach $KPT_NS_C2 $KPT_S_IP "c2 -> s v4"
	kpt_reach $KPT_NS_C1 $KPT_S_IP6 "c1 -> s v6"
	kpt_reach $KPT_NS_C2 $KPT_S_IP6 "c2 -> s v6"
}

# --- processes --------------------------------------------------------------------------
kpt_bg() {
	local ns=$1 log
	shift
	[ -n "$KPT_TMP" ] || kpt_tmpdir
	log=$KPT_TMP/log/$(date +%s%N)-$(basename "$1").log
	ip netns exec "$ns" "$@" >"$log" 2>&1 &
	KPT_LAST_PID=$!
	KPT_LAST_LOG=$log
	KPT_PIDS+=("$KPT_LAST_PID")
}

# kpt_kill PID...: stops processes we started (TERM, up to 2 s, then KILL)
kpt_kill() {
	local p
	for p in "$@"; do kill "$p" 2>/dev/null || true; done
	for p in "$@"; do
		for _ in $(seq 1 20); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

kpt_wait_port() {
	local ns=$1 port=$2 proto=${3:-tcp} opt=-ltnH
	[ "$proto" = udp ] && opt=-lunH
	for _ in $(seq 1 100); do
		if ip netns exec "$ns" ss $opt "sport = :$port" | grep -q .; then return 0; fi
		sleep 0.1
	done
	kpt_log "$proto port $port never opened in $ns"
	return 1
}

# --- the daemon -------------------------------------------------------------------------
# The daemon is "there" once its --help knows the inline mode.
kpt_daemon_available() {
	[ -x "$KP2PADM" ] && "$KP2PADM" --help 2>&1 | grep -qi -- '--queue'
}

kpt_gw_chains() {
	local n4 n6
	n4=$(ip netns exec $KPT_NS_GW iptables-save 2>/dev/null | grep -c KP2PADM || true)
	n6=$(ip netns exec $KPT_NS_GW ip6tables-save 2>/dev/null | grep -c KP2PADM || true)
	echo $((n4 + n6))
}

# kpt_daemon_start ARGS...: e.g. kpt_daemon_start -q 0:1 -c CONF -s mode=accept
# Entered with nsenter (not ip netns exec, which remounts /sys and hides bpffs pins).
kpt_daemon_start() {
	[ -n "$KPT_TMP" ] || kpt_tmpdir
	if [ -n "$KPT_DAEMON_PID" ]; then
		kpt_log "daemon already running ($KPT_DAEMON_PID)"
		return 1
	fi
	: >"$KPT_EVENTS"
	: >"$KPT_DAEMON_LOG"
	nsenter --net=/run/netns/$KPT_NS_GW "$KP2PADM" -l "$KPT_EVENTS" "$@" \
		</dev/null >>"$KPT_DAEMON_LOG" 2>&1 &
	KPT_DAEMON_PID=$!
	for _ in $(seq 1 100); do
		if grep -q '^kp2padm: ready' "$KPT_DAEMON_LOG"; then return 0; fi
		if ! kill -0 "$KPT_DAEMON_PID" 2>/dev/null; then
			kpt_log "daemon exited before it was ready:"
			sed 's/^/  /' "$KPT_DAEMON_LOG" >&2
			wait "$KPT_DAEMON_PID" 2>/dev/null || true
			KPT_DAEMON_PID=
			return 1
		fi
		sleep 0.1
	done
	kpt_log "daemon not ready after 10 s:"
	sed 's/^/  /' "$KPT_DAEMON_LOG" >&2
	kpt_daemon_stop || true
	return 1
}

# SIGTERM, up to 10 s, then SIGKILL (and failure); then no KP2PADM chain may remain.
kpt_daemon_stop() {
	local rc=0 n
	if [ -n "$KPT_DAEMON_PID" ]; then
		kill -TERM "$KPT_DAEMON_PID" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$KPT_DAEMON_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$KPT_DAEMON_PID" 2>/dev/null; then
			kpt_log "daemon ignored SIGTERM for 10 s: killed"
			kill -9 "$KPT_DAEMON_PID" 2>/dev/null || true
			rc=1
		fi
		wait "$KPT_DAEMON_PID" 2>/dev/null || true
		KPT_DAEMON_PID=
	fi
	n=$(kpt_gw_chains)
	if [ "$n" != 0 ]; then
		kpt_log "$n KP2PADM rule lines left in $KPT_NS_GW after the daemon stopped"
		rc=1
	fi
	return $rc
}

# Stops (TERM, 10 s, then KILL) whatever still runs in kpt-gw: a daemon started in a
# subshell (a test case) that the caller has no PID of. 0 if nothing was left.
kpt_gw_reap() {
	local p left=0
	for p in $(ip netns pids $KPT_NS_GW 2>/dev/null); do
		left=1
		kill -TERM "$p" 2>/dev/null || true
	done
	[ $left = 1 ] || return 0
	for _ in $(seq 1 100); do
		[ -n "$(ip netns pids $KPT_NS_GW 2>/dev/null)" ] || break
		sleep 0.1
	done
	for p in $(ip netns pids $KPT_NS_GW 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
	kpt_log "processes were left in $KPT_NS_GW (stopped)"
	return 1
}

# Runs the test cases named (functions test_NAME) as TAP lines, one after the other. Each
# case runs in a subshell with errexit, so its first failing command fails it while the
# bed stays with this shell; the subshell runs in the background + wait, so INT/TERM
# interrupt the wait at once and the EXIT trap cleans up. A script may define
# kpt_case_enter, run first inside each case's subshell (e.g. to set the case's own EXIT
# trap). Exit 77 of a case is a skip ("skip: why" in its output). After each case, a
# daemon it left in the gateway (its PID died with the subshell) is stopped, so the next
# case starts clean. Returns 1 if a case failed, 77 if all were skipped.
kpt_run_cases() {
	local n=0 fail=0 pass=0 skip=0 name out rc
	echo "1..$#"
	for name in "$@"; do
		n=$((n + 1))
		set +e
		(
			set -e
			if declare -F kpt_case_enter >/dev/null; then kpt_case_enter; fi
			"test_$name"
		) >"$KPT_TMP/case.out" 2>&1 &
		KPT_PIDS+=($!)
		wait $!
		rc=$?
		set -e
		out=$(cat "$KPT_TMP/case.out")
		if [ $rc = 77 ]; then
			echo "ok $n $name # skip $(printf '%s\n' "$out" | sed -n 's/^skip: //p' | head -n 1)"
			skip=$((skip + 1))
			continue
		fi
		[ -z "$out" ] || printf "%s\n" "$out" | grep -v "^skip: " | sed "s/^\([^#]\)/# \1/" || true
		if [ $rc = 0 ]; then
			echo "ok $n $name"
			pass=$((pass + 1))
		else
			echo "not ok $n $name"
			fail=$((fail + 1))
		fi
		kpt_gw_reap || echo "# $name left processes in $KPT_NS_GW"
	done
	echo "# passed $pass, failed $fail, skipped $skip"
	[ $fail = 0 ] || return 1
	[ $pass -gt 0 ] || return 77
	return 0
}

# SIGKILL (for the fail-open test): the rules stay behind on purpose.
kpt_daemon_kill9() {
	[ -n "$KPT_DAEMON_PID" ] || return 0
	kill -9 "$KPT_DAEMON_PID" 2>/dev/null || true
	wait "$KPT_DAEMON_PID" 2>/dev/null || true
	KPT_DAEMON_PID=
}

# kpt_daemon_stat KEY...: the KEYs ("a.b.c" for nested objects, under "stats") of the last
# stats event in $KPT_EVENTS, on one line; n/a for what is missing.
kpt_daemon_stat() {
	[ -n "$KPT_EVENTS" ] && [ -s "$KPT_EVENTS" ] || { echo n/a; return 0; }
	$KPT_PY "$KPT_LIB_DIR/events.py" stats "$KPT_EVENTS" "$@"
}

# --- HTTP: nginx in kpt-s, curl in the clients -----------------------------------------
kpt_http_start() {
	local d
	[ -n "$KPT_TMP" ] || kpt_tmpdir
	d=$KPT_TMP/nginx
	mkdir -p "$d/www" "$d/tmp"
	# KPT_HTTP_SRC: an existing file to serve as big.bin (hard-linked when it can be: beds run
	# side by side by a benchmark share one copy), else KPT_HTTP_MB MiB of random bytes
	if [ -n "${KPT_HTTP_SRC:-}" ]; then
		ln "$KPT_HTTP_SRC" "$d/www/big.bin" 2>/dev/null || cp "$KPT_HTTP_SRC" "$d/www/big.bin"
	else
		head -c $((KPT_HTTP_MB * 1048576)) /dev/urandom >"$d/www/big.bin"
	fi
	head -c 1024 /dev/urandom >"$d/www/small.bin"
	KPT_HTTP_SHA=$(sha256sum "$d/www/big.bin" | cut -d' ' -f1)
	KPT_HTTP_SMALL_SHA=$(sha256sum "$d/www/small.bin" | cut -d' ' -f1)
	chmod -R a+rX "$d"
	cat >"$d/nginx.conf" <<CONF
# nginx for the kp2padm test bed only; everything lives in $d.
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
	default_type application/octet-stream;
	access_log off;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	sendfile on;
	keepalive_timeout 15;
	server {
		listen $KPT_S_IP:80 backlog=4096;
		listen [$KPT_S_IP6]:80 backlog=4096;
		listen $KPT_S_IP:8080 backlog=4096;
		listen [$KPT_S_IP6]:8080 backlog=4096;
		server_name www.kp2padm.test;
		root $d/www;
	}
}
CONF
	kpt_bg $KPT_NS_S nginx -e "$d/error.log" -c "$d/nginx.conf" -p "$d"
	KPT_HTTP_PID=$KPT_LAST_PID
	kpt_wait_port $KPT_NS_S 80
	kpt_wait_port $KPT_NS_S 8080
}

# kpt_http_get NS URL [SHA256]: downloads URL in NS (60 s at most), checks the hash
# (default: the big file's); prints "bytes seconds" of the transfer on stdout (or curl's
# -w format KPT_HTTP_W, whose first two fields must stay size_download and time_total).
kpt_http_get() {
	local ns=$1 url=$2 want=${3:-$KPT_HTTP_SHA} out stat got fmt='%{size_download} %{time_total}'
	[ -z "${KPT_HTTP_W:-}" ] || fmt=$KPT_HTTP_W
	out=$KPT_TMP/get.$$.$RANDOM
	if ! stat=$(ip netns exec "$ns" curl -q --noproxy '*' -sS -g --max-time "${KPT_HTTP_TIMEOUT:-60}" \
		-o "$out" -w "$fmt" "$url"); then
		rm -f "$out"
		kpt_log "curl $url in $ns failed"
		return 1
	fi
	got=$(sha256sum "$out" | cut -d' ' -f1)
	rm -f "$out"
	if [ "$got" != "$want" ]; then
		kpt_log "curl $url in $ns: sha256 $got, expected $want"
		return 1
	fi
	echo "$stat"
}

# --- BitTorrent: opentracker + seeder in kpt-s, leecher in a client --------------------
# kpt_bt_swarm plain|forced|utp: one transfer of a KPT_BT_SIZE-byte file; sets
# KPT_BT_SECONDS (leecher wall time, including its ~1.5 s linger after completion).
# KPT_BT_LEECH_NS / KPT_BT_LEECH_IP choose the leecher (default kpt-c1).
kpt_bt_swarm() {
	local enc=$1 opt=() d tr ih tor t0 t1 rc=0 pids=() lns=${KPT_BT_LEECH_NS:-$KPT_NS_C1}
	local lip=${KPT_BT_LEECH_IP:-$KPT_C1_IP}
	case $enc in
	plain) ;;
	forced) opt=(--enc) ;;
	utp) opt=(--utp) ;;
	*) kpt_log "kpt_bt_swarm: plain|forced|utp, not '$enc'"; return 2 ;;
	esac
	[ -n "$KPT_TMP" ] || kpt_tmpdir
	d=$KPT_TMP/bt-$enc
	rm -rf "$d"
	mkdir -p "$d/seed" "$d/leech" "$d/tracker"
	tr="http://$KPT_S_IP:6969/announce"
	ih=$($KPT_PY "$KPT_SRC/tests/captures/bt_lt.py" mktorrent "$d/seed" content.bin "$KPT_BT_SIZE" "$tr")
	tor=$d/seed/content.bin.torrent
	# opentracker refuses root and reads its whitelist after chroot("$d/tracker")
	echo "$ih" >"$d/tracker/whitelist.txt"
	printf 'access.whitelist /whitelist.txt\n' >"$d/tracker/opentracker.conf"
	chmod 755 "$d" "$d/tracker"
	chmod 644 "$d/tracker/whitelist.txt" "$d/tracker/opentracker.conf"
	kpt_bg $KPT_NS_S opentracker -i "$KPT_S_IP" -p 6969 -P 6969 -f "$d/tracker/opentracker.conf" \
		-d "$d/tracker" -u nobody
	pids+=("$KPT_LAST_PID")
	kpt_wait_port $KPT_NS_S 6969 || rc=1
	if [ $rc = 0 ]; then
		kpt_bg $KPT_NS_S timeout $((KPT_BT_TIMEOUT + 30)) $KPT_PY "$KPT_SRC/tests/captures/bt_lt.py" \
			seed "$tor" "$d/seed" "$KPT_S_IP" --time $((KPT_BT_TIMEOUT + 20)) "${opt[@]}"
		pids+=("$KPT_LAST_PID")
		if [ "$enc" = utp ]; then kpt_wait_port $KPT_NS_S 6881 udp || rc=1; else
			kpt_wait_port $KPT_NS_S 6881 || rc=1; fi
	fi
	if [ $rc = 0 ]; then
		sleep 1 # the seeder's first announce
		t0=$(date +%s.%N)
		if ! timeout $((KPT_BT_TIMEOUT + 10)) ip netns exec "$lns" $KPT_PY \
			"$KPT_SRC/tests/captures/bt_lt.py" leech "$tor" "$d/leech" "$lip" \
			--time "$KPT_BT_TIMEOUT" --linger 0.5 "${opt[@]}" >"$d/leech.log" 2>&1; then
			rc=1
		fi
		t1=$(date +%s.%N)
		KPT_BT_SECONDS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')
	fi
	kpt_kill "${pids[@]}"
	if [ $rc = 0 ] && ! cmp -s "$d/seed/content.bin" "$d/leech/content.bin"; then
		kpt_log "bt $enc: the leecher's content differs"
		rc=1
	fi
	if [ $rc != 0 ]; then
		kpt_log "bt $enc: no complete transfer (leecher log: $(tail -n 3 "$d/leech.log" 2>/dev/null | tr '\n' ' '))"
	fi
	rm -rf "$d/seed/content.bin" "$d/leech"
	return $rc
}

# --- CLI --------------------------------------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	up)
		KPT_KEEP=1
		KPT_TMP=/run/${KPT_PREFIX}testbed
		rm -rf "$KPT_TMP"
		mkdir -p "$KPT_TMP"
		trap 'kpt_cleanup' EXIT
		kpt_up
		if [ "${2:-}" = --http ]; then
			kpt_http_start
			echo "nginx: http://$KPT_S_IP/big.bin sha256 $KPT_HTTP_SHA"
		fi
		trap - EXIT
		kpt_status
		;;
	down)
		kpt_down
		rm -rf "/run/${KPT_PREFIX}testbed"
		;;
	status) kpt_status ;;
	*)
		echo "usage: $0 up [--http] | down | status" >&2
		exit 2
		;;
	esac
fi
