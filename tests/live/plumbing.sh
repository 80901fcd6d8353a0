#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# kp2padm's netfilter plumbing in a fresh network namespace (kqp-gw): install puts exactly
# the documented rules in place (IPv4 and IPv6) with the jumps first in the built-in chains,
# a second install leaves no duplicates, install over the leftovers of a killed daemon
# (a half-built chain) works, remove takes away everything of ours and nothing else (a
# foreign rule survives), a second remove is not an error, and nf_conntrack_acct comes
# back to its old value. P2PADM mode installs only the queue rule.
# Usage: plumbing.sh NF_PLUMB_TEST_BINARY       (exit 77: skipped)
set -u
bin=$(readlink -f "${1:?usage: plumbing.sh NF_PLUMB_TEST_BINARY}")
[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
for t in iptables ip6tables iptables-save ip6tables-save ip; do
	command -v $t >/dev/null || { echo "skip: $t missing"; exit 77; }
done
ns=kqp-gw
tmp=$(mktemp -d)
cleanup() { ip netns del $ns 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns del $ns 2>/dev/null
ip netns add $ns || { echo "FAIL: ip netns add $ns"; exit 1; }
in_ns() { ip netns exec $ns "$@"; }
acct=/proc/sys/net/netfilter/nf_conntrack_acct
pass=0 fail=0
check() { # NAME CONDITION-EXIT-CODE
	if [ "$2" = 0 ]; then echo "ok   $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi
}
# Rules and user chains of a table dump, in order (counters and comments of the dump dropped).
rules() { in_ns "$1" | grep -E '^(\*|-A|:KP2PADM)'; }

# Foreign rules that must survive, and conntrack accounting off.
in_ns iptables -w -A FORWARD -s 198.18.9.9/32 -j DROP
in_ns iptables -w -t mangle -A PREROUTING -s 198.18.9.9/32 -j MARK --set-xmark 0x1/0xff
in_ns ip6tables -w -A FORWARD -s 2001:2::9/128 -j DROP
in_ns sh -c "echo 0 > $acct"
rules iptables-save >"$tmp/v4.before"
rules ip6tables-save >"$tmp/v6.before"

cat >"$tmp/v4.expect" <<'X'
*mangle
:KP2PADM-POST - [0:0]
:KP2PADM-PRE - [0:0]
-A PREROUTING -j KP2PADM-PRE
-A PREROUTING -s 198.18.9.9/32 -j MARK --set-xmark 0x1/0xff
-A POSTROUTING -j KP2PADM-POST
-A KP2PADM-POST -m mark ! --mark 0x0/0xff0000 -j CONNMARK --save-mark --nfmask 0xff0000 --ctmask 0xff0000
-A KP2PADM-PRE -j CONNMARK --restore-mark --nfmask 0xff0000 --ctmask 0xff0000
*filter
:KP2PADM-FWD - [0:0]
-A FORWARD -m comment --comment "kp2padm:acct=0" -j KP2PADM-FWD
-A FORWARD -s 198.18.9.9/32 -j DROP
-A KP2PADM-FWD -m mark --mark 0xff0000/0xff0000 -j CONNMARK --save-mark --nfmask 0xff0000 --ctmask 0xff0000
-A KP2PADM-FWD -m mark --mark 0xff0000/0xff0000 -j DROP
-A KP2PADM-FWD -m mark ! --mark 0x0/0xff0000 -j RETURN
-A KP2PADM-FWD -i kqp-a -j NFQUEUE --queue-balance 0:1 --queue-bypass
-A KP2PADM-FWD -i kqp-b -j NFQUEUE --queue-balance 0:1 --queue-bypass
X
sed -e 's|-A PREROUTING -s 198.18.9.9/32 -j MARK --set-xmark 0x1/0xff||' \
    -e 's|198.18.9.9/32|2001:2::9/128|' "$tmp/v4.expect" | grep -v '^$' >"$tmp/v6.expect"

in_ns "$bin" check 2>"$tmp/err"
check "check: prerequisites present" $?
in_ns "$bin" install -6 -q 0:1 -m 0x00ff0000 -i kqp-a -i kqp-b 2>"$tmp/err"
check "install" $?
rules iptables-save >"$tmp/v4"
rules ip6tables-save >"$tmp/v6"
check "install: exactly the expected IPv4 rules" $(diff -u "$tmp/v4.expect" "$tmp/v4" >&2; echo $?)
check "install: exactly the expected IPv6 rules" $(diff -u "$tmp/v6.expect" "$tmp/v6" >&2; echo $?)
check "install: nf_conntrack_acct=1" $([ "$(in_ns cat $acct)" = 1 ]; echo $?)

in_ns "$bin" install -6 -q 0:1 -m 0x00ff0000 -i kqp-a -i kqp-b 2>"$tmp/err"
check "install again" $?
rules iptables-save >"$tmp/v4"
rules ip6tables-save >"$tmp/v6"
check "install again: no duplicates (IPv4)" $(diff -u "$tmp/v4.expect" "$tmp/v4" >&2; echo $?)
check "install again: no duplicates (IPv6)" $(diff -u "$tmp/v6.expect" "$tmp/v6" >&2; echo $?)
check "install again: old acct value still remembered" \
	$(grep -q 'kp2padm:acct=0' "$tmp/v4"; echo $?)

in_ns "$bin" remove 2>"$tmp/err"
check "remove" $?
rules iptables-save >"$tmp/v4"
rules ip6tables-save >"$tmp/v6"
check "remove: nothing of ours left" $(! grep -q KP2PADM "$tmp/v4" "$tmp/v6"; echo $?)
# (iptables-nft may leave an empty mangle table behind: compare rules, not tables)
check "remove: foreign IPv4 rules untouched" \
	$(diff -u <(grep -v '^\*' "$tmp/v4.before") <(grep -v '^\*' "$tmp/v4") >&2; echo $?)
check "remove: foreign IPv6 rules untouched" \
	$(diff -u <(grep -v '^\*' "$tmp/v6.before") <(grep -v '^\*' "$tmp/v6") >&2; echo $?)
check "remove: nf_conntrack_acct restored to 0" $([ "$(in_ns cat $acct)" = 0 ]; echo $?)
in_ns "$bin" remove 2>"$tmp/err"
check "remove again: no error" $?

# Leftovers of a daemon killed in the middle of an install: a chain with a stray rule, no jump.
in_ns iptables -w -N KP2PADM-FWD
in_ns iptables -w -A KP2PADM-FWD -j ACCEPT
in_ns iptables -w -t mangle -N KP2PADM-PRE
in_ns "$bin" install -6 -q 0:1 -m 0x00ff0000 -i kqp-a -i kqp-b 2>"$tmp/err"
check "install over a half-built leftover" $?
rules iptables-save >"$tmp/v4"
check "install over leftovers: exactly the expected rules" \
	$(diff -u "$tmp/v4.expect" "$tmp/v4" >&2; echo $?)
in_ns "$bin" remove 2>"$tmp/err"
check "remove after leftovers" $([ $? = 0 ] && ! in_ns iptables-save | grep -q KP2PADM; echo $?)

# P2PADM mode: one queue rule, no bypass, no connmark, acct untouched.
in_ns "$bin" install -p -q 2 2>"$tmp/err"
check "install P2PADM mode" $?
in_ns iptables-save | grep -E '^-A .*KP2PADM' >"$tmp/v4"
printf '%s\n' '-A FORWARD -m comment --comment kp2padm -j KP2PADM-FWD' \
	'-A KP2PADM-FWD -j NFQUEUE --queue-num 2 --queue-bypass' >"$tmp/p.expect"
check "P2PADM mode: only the queue rule" $(diff -u "$tmp/p.expect" "$tmp/v4" >&2; echo $?)
check "P2PADM mode: acct untouched" $([ "$(in_ns cat $acct)" = 0 ]; echo $?)
in_ns "$bin" remove 2>"$tmp/err"
check "P2PADM mode: remove" $([ $? = 0 ] && ! in_ns iptables-save | grep -q KP2PADM; echo $?)

# An administrator's acct=1 stays 1.
in_ns sh -c "echo 1 > $acct"
in_ns "$bin" install -q 0 2>"$tmp/err" && in_ns "$bin" remove 2>>"$tmp/err"
check "acct already 1: stays 1" $([ "$(in_ns cat $acct)" = 1 ]; echo $?)

# Without CAP_NET_ADMIN the check refuses with one line naming the capability.
if command -v setpriv >/dev/null; then
	in_ns setpriv --bounding-set=-net_admin --inh-caps=-net_admin "$bin" check 2>"$tmp/err"
	check "check without CAP_NET_ADMIN: refused, one line" \
		$([ $? != 0 ] && grep -q CAP_NET_ADMIN "$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ]; echo $?)
fi

# Without CAP_NET_ADMIN, remove fails with the reason (it must not pass for "nothing there").
if command -v setpriv >/dev/null; then
	in_ns setpriv --bounding-set=-net_admin --inh-caps=-net_admin "$bin" remove 2>"$tmp/err"
	check "remove without CAP_NET_ADMIN: an error, not a silent success" \
		$([ $? != 0 ] && grep -qi "permission" "$tmp/err"; echo $?)
fi

# Errors are one clear line.
in_ns "$bin" install -q 0 -i 'bad name' 2>"$tmp/err"
check "bad interface name refused with a message" \
	$([ $? != 0 ] && grep -q "bad interface name" "$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ]; echo $?)

# --print-rules text runs as shell commands and gives the same ruleset (modulo the comment).
in_ns "$bin" print -q 0:1 -i kqp-a -i kqp-b >"$tmp/print.sh"
in_ns sh -e "$tmp/print.sh" >/dev/null 2>"$tmp/err"
check "printed rules run as shell commands" $?
rules iptables-save | sed 's|"kp2padm:acct=0"|kp2padm|' >"$tmp/v4"
sed 's|"kp2padm:acct=0"|kp2padm|' "$tmp/v4.expect" >"$tmp/v4.pexpect"
check "printed rules = installed rules" $(diff -u "$tmp/v4.pexpect" "$tmp/v4" >&2; echo $?)
in_ns "$bin" remove 2>"$tmp/err"
check "remove of administrator-installed rules" $([ $? = 0 ] && ! in_ns iptables-save | grep -q KP2PADM; echo $?)

echo "plumbing: $pass passed, $fail failed"
[ $fail = 0 ]
