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
#include "policy/policy.h"

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

/* A packet of a flow that was held and is now dropped (its seq/ack make the resets). */
struct kp_held_pkt {
	int dir;
	uint32_t seq, ack;
};

/*
 * Blocks f because of its content (a file or chat rule, a listed hash, a virus):
 * drop from now on, a block event naming ri (its text says why), resets if
 * ri->reset (from hp, or from the packet in hand when it is f's). Unlike a policy
 * block, the tuple does not go into the connection cache: the same client and
 * server may exchange other, harmless content.
 */
void kp_manage_block_content(struct kp_engine *e, struct kp_flow *f,
			     const struct kp_policy_rule_info *ri, const struct kp_held_pkt *hp);

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
