/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kp2padm's own netfilter rules: the NFQUEUE rule that brings flows to the daemon and the
 * CONNMARK pattern that keeps a decided flow out of the queue (issue 3, "Plumbing" and
 * "Bypass"). The rules live in three chains of our own (KP2PADM-PRE in mangle PREROUTING,
 * KP2PADM-POST in mangle POSTROUTING, KP2PADM-FWD in filter FORWARD), each reached by one
 * jump at position 1 of its built-in chain. They are installed and removed by running the
 * iptables / ip6tables binaries (nf_tables backend) with explicit argv, no shell.
 *
 * The old value of net.netfilter.nf_conntrack_acct is kept in the kernel itself, as a
 * comment on the FORWARD jump ("kp2padm:acct=N"), so that a cleanup after a SIGKILLed
 * daemon restores it too, per network namespace.
 */
#ifndef KP_KERN_NETFILTER_H
#define KP_KERN_NETFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KP_NF_CHAIN_PRE "KP2PADM-PRE"
#define KP_NF_CHAIN_POST "KP2PADM-POST"
#define KP_NF_CHAIN_FWD "KP2PADM-FWD"

struct kp_nf_config {
	uint16_t queue_first, queue_count; /* count 1: --queue-num, else --queue-balance A:B */
	uint32_t mark_mask;                /* bypass mark mask (config mark.mask) */
	bool bypass;                       /* false in P2PADM mode: no RETURN, no CONNMARK rules */
	bool header_queues;                /* decided flows go to queues first+count.. (headers
					    * only) instead of RETURN (config bypass = headers) */
	bool ipv6;                         /* also ip6tables */
	const char *const *ifaces;         /* if set, queue only packets with -i IF */
	unsigned n_ifaces;
};

/* Idempotent: removes leftovers of a previous run first, then installs. 0 or -errno,
 * with a one-line message in err. On failure what was installed is removed again. */
int kp_nf_install(const struct kp_nf_config *c, char *err, size_t errlen);

/* Removes every rule and chain of ours (IPv4 and IPv6), tolerates their absence, and
 * restores nf_conntrack_acct when install changed it. 0 or -errno. */
int kp_nf_remove(char *err, size_t errlen);

/* The rules of kp_nf_install as shell commands (for --no-setup and --print-rules). */
void kp_nf_print_rules(const struct kp_nf_config *c, FILE *out);

/* Prerequisites: CAP_NET_ADMIN, the iptables binary, nfnetlink_queue and a usable NFQUEUE
 * target. 0 or -errno with a clear one-line message. */
int kp_nf_check(char *err, size_t errlen);

#endif
