/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the pipeline does with a flow once it knows (or is still learning)
 * what it is: the policy's pass/block, the connection cache of blocked
 * tuples, TCP resets, the bypass mark, and the end of bypassed flows that
 * conntrack reports. Offline and inline runs share this code; only inline
 * runs have a reset sender and a kernel-side cache behind it.
 */
#ifndef KP_ENGINE_MANAGE_H
#define KP_ENGINE_MANAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

/* A new flow's first packet: true if the connection cache drops it (flow marked cached). */
bool kp_manage_new_flow(struct kp_engine *e, struct kp_flow *f);

/* After inspection of a packet of f: fills the verdict's action, bypass and mark. */
void kp_manage_verdict(struct kp_engine *e, struct kp_flow *f, struct kp_verdict *v);

/*
 * The verdict of a packet of a blocked (or cached) flow: drop, and inline
 * with bypass, the "blocked" mark (every bit of mark.mask) that the ruleset
 * saves in conntrack so that the flow's later packets drop in the kernel.
 */
void kp_manage_drop_verdict(struct kp_engine *e, struct kp_flow *f, struct kp_verdict *v);

/* conntrack destroyed the entry of a connection (original-direction tuple, host-order ports). */
struct kp_ct_end_info {
	int family;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint64_t pkts[2], bytes[2]; /* original, reply */
};

/* Ends the matching bypassed flow with conntrack's totals; returns true if one matched. */
bool kp_manage_ct_end(struct kp_engine *e, const struct kp_ct_end_info *ce);

#endif
