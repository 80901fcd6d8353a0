#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Why the ruleset balances queues by hash, not --queue-cpu-fanout: runs 80 short HTTP
# connections through a 2-queue daemon (bypass off) each way and counts the flow records.
# With cpu fanout a flow's two directions often land on different workers (a flow
# record per worker, half of them one-way); with the address hash never. Root; KPT_PREFIX
# kpq- so it can run beside the tests. Usage: bench/gateway/queue-fanout.sh
set -euo pipefail
export KPT_PREFIX=${KPT_PREFIX:-kpq-}
cd "$(dirname "$0")/../.."
. tests/live/testbed.sh

kpt_trap
kpt_up >/dev/null
kpt_http_start
printf 'interfaces = kg1,kg2,kgs\nbypass = no\n' > $KPT_TMP/kp.conf
for mode in fanout hash; do
  extra=(); [ $mode = fanout ] && extra=(--queue-cpu-fanout)
  ip netns exec $KPT_NS_GW conntrack -F >/dev/null 2>&1 || true
  ip netns exec $KPT_NS_GW iptables -I FORWARD -j NFQUEUE --queue-balance 0:1 "${extra[@]}" --queue-bypass
  kpt_daemon_start -q 0:1 -c $KPT_TMP/kp.conf --no-setup
  for i in $(seq 1 40); do ip netns exec $KPT_NS_C1 curl -s -o /dev/null http://$KPT_S_IP/small.bin; ip netns exec $KPT_NS_C2 curl -s -o /dev/null http://$KPT_S_IP:8080/small.bin; done
  kpt_daemon_stop || true
  ip netns exec $KPT_NS_GW iptables -D FORWARD -j NFQUEUE --queue-balance 0:1 "${extra[@]}" --queue-bypass
  $KPT_PY - $KPT_EVENTS $mode <<'PY'
import json, sys
fl = [json.loads(l) for l in open(sys.argv[1]) if '"event_type":"flow"' in l]
http = [e for e in fl if e["app_proto"] == "http"]
one_way = [e for e in fl if e["pkts_toserver"] == 0 or e["pkts_toclient"] == 0]
st = [json.loads(l) for l in open(sys.argv[1]) if '"event_type":"stats"' in l][-1]["stats"]["workers"]
print("%s: 80 connections -> %d flow records, %d labelled http, %d one-way; per-queue packets %s" % (
    sys.argv[2], len(fl), len(http), len(one_way), [w["packets"] for w in st]))
PY
done
