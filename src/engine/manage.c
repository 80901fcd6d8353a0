/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Policy, connection cache, resets and bypass marks for the pipeline (see manage.h). */
#include "engine/manage.h"
#include "output/eve.h"
#include "policy/conncache.h"
#include "policy/policy.h"
#include "policy/reset.h"

#include <netinet/in.h>
#include <string.h>

/* The client's and the server's address and port of a flow. */
static void flow_ends(const struct kp_flow *f, const uint8_t **ca, const uint8_t **sa,
		      uint16_t *cp, uint16_t *sp)
{
	int c = f->client_side, s = !c;

	*ca = f->key.addr[c];
	*sa = f->key.addr[s];
	*cp = f->key.port[c];
	*sp = f->key.port[s];
}

static void cache_key(const struct kp_flow *f, struct kp_cc_key *k)
{
	const uint8_t *ca, *sa;
	uint16_t cp, sp;

	flow_ends(f, &ca, &sa, &cp, &sp);
	kp_cc_key_from_flow(k, f->key.family, ca, sa, sp, f->key.l4);
}

bool kp_manage_new_flow(struct kp_engine *e, struct kp_flow *f)
{
	struct kp_cc_key k;

	if (!e->cache)
		return false;
	cache_key(f, &k);
	if (!kp_conncache_check(e->cache, &k, e->now_us))
		return false;
	f->pol = KP_POL_CACHED;
	f->inspect_done = true; /* nothing of it is looked at */
	e->st.cached_flows++;
	return true;
}

/*
 * Blocks f: event, cache entry (policy blocks only), resets. The reset's
 * sequence numbers come from a packet of the flow that is dropped: its
 * receiver expects its seq and its sender expects its ack (dir = its direction).
 */
static void block_flow(struct kp_engine *e, struct kp_flow *f, const struct kp_policy_rule_info *ri,
		       bool cache, bool have_pkt, int dir, uint32_t seq, uint32_t ack)
{
	bool reset = ri && ri->reset && f->key.l4 == IPPROTO_TCP;

	f->pol = KP_POL_BLOCKED;
	f->inspect_done = true;
	e->st.blocked_flows++;
	if (cache && e->cache) {
		struct kp_cc_key k;

		cache_key(f, &k);
		kp_conncache_add(e->cache, &k, e->now_us);
	}
	if (reset && e->reset && have_pkt) {
		const uint8_t *ca, *sa;
		uint16_t cp, sp;
		uint32_t cseq = dir == 0 ? seq : ack;
		uint32_t sseq = dir == 0 ? ack : seq;

		flow_ends(f, &ca, &sa, &cp, &sp);
		if (kp_reset_send(e->reset, f->key.family, ca, cp, sa, sp, cseq, true, sseq,
				  true) > 0)
			e->st.resets++;
	}
	if (e->out) {
		kp_eve_block(e, f, ri ? ri->name : NULL, ri ? ri->file : NULL, ri ? ri->line : 0,
			     ri ? ri->text : NULL, reset, cache && e->cache != NULL);
		e->st.events++;
	}
}

/* The policy said block. A bare SYN in hand is simply dropped (no reset). */
static void block(struct kp_engine *e, struct kp_flow *f, const struct kp_policy_rule_info *ri)
{
	block_flow(e, f, ri, true, (e->pkt_tcp_flags & 0x10 /* ACK */) != 0, e->pkt_dir,
		   e->pkt_seq, e->pkt_ack);
}

void kp_manage_block_content(struct kp_engine *e, struct kp_flow *f,
			     const struct kp_policy_rule_info *ri, const struct kp_held_pkt *hp)
{
	if (f->pol == KP_POL_BLOCKED || f->pol == KP_POL_CACHED || f->ended)
		return;
	if (hp)
		block_flow(e, f, ri, false, true, hp->dir, hp->seq, hp->ack);
	else
		block_flow(e, f, ri, false,
			   e->pkt_flow == f && (e->pkt_tcp_flags & 0x10 /* ACK */) != 0,
			   e->pkt_dir, e->pkt_seq, e->pkt_ack);
}

static void decide(struct kp_engine *e, struct kp_flow *f)
{
	const struct kp_policy_rule_info *ri = NULL;
	struct kp_policy_flow pf;
	enum kp_policy_result r;
	uint16_t cp, sp;

	flow_ends(f, &pf.caddr, &pf.saddr, &cp, &sp);
	pf.family = f->key.family;
	pf.cport = cp;
	pf.sport = sp;
	pf.proto = f->key.l4;
	pf.app = f->app;
	pf.classified = f->cls_state != KP_CLS_PENDING;
	r = kp_policy_decide(e->policy, &pf, &ri);
	if (r == KP_POLICY_PASS) {
		f->pol = KP_POL_PASSED;
		/* a pass rule with a `bandwidth = rule:NAME` class gives its flows that class */
		for (unsigned i = 0; ri && i < e->cfg->n_bw; i++)
			if (e->cfg->bw[i].rule[0] && !strcmp(e->cfg->bw[i].rule, ri->name))
				f->shape_value = (uint8_t)(e->cfg->bw[i].app + 1u);
	}
	else if (r == KP_POLICY_BLOCK)
		block(e, f, ri);
}

/* Whether decided flows may be handed to the kernel (marks saved in conntrack). */
static bool kernel_decides(const struct kp_engine *e)
{
	return e->cfg->bypass && e->cfg->mode == KP_MODE_DEFAULT && e->cfg->mark_mask;
}

void kp_manage_drop_verdict(struct kp_engine *e, struct kp_flow *f, struct kp_verdict *v)
{
	v->action = KP_VERDICT_DROP;
	if (!kernel_decides(e))
		return;
	/* all mark bits set = "blocked": the ruleset saves it and drops the rest in the kernel */
	v->mark = e->cfg->mark_mask;
	if (e->inline_mode && e->cfg->bypass == KP_BYPASS_MARK)
		f->bypassed = true;
}

/* The mark value of f's bandwidth class, or 0 when it has none. */
static unsigned class_value(const struct kp_engine *e, const struct kp_flow *f)
{
	if (f->shape_value)
		return f->shape_value;
	for (unsigned i = 0; i < e->cfg->n_bw; i++)
		if (!e->cfg->bw[i].rule[0] && e->cfg->bw[i].app == f->app)
			return f->app + 1u;
	return 0;
}

void kp_manage_verdict(struct kp_engine *e, struct kp_flow *f, struct kp_verdict *v)
{
	uint32_t mask = e->cfg->mark_mask;

	if (f->pol == KP_POL_UNDECIDED) {
		if (e->policy)
			decide(e, f);
		else if (f->cls_state != KP_CLS_PENDING)
			f->pol = KP_POL_PASSED;
	}
	switch (f->pol) {
	case KP_POL_BLOCKED:
	case KP_POL_CACHED:
		kp_manage_drop_verdict(e, f, v);
		return;
	case KP_POL_UNDECIDED:
		if (e->policy && kp_policy_classifying_blocks(e->policy))
			v->action = KP_VERDICT_DROP;
		return;
	default:
		break;
	}
	v->bypass = f->inspect_done;
	if (!v->bypass && e->cfg->n_bw && e->cfg->mark_class_mask && kernel_decides(e)) {
		/* still inspected: this packet alone carries its bandwidth class */
		unsigned cv = class_value(e, f);

		if (cv)
			v->class_mark = ((uint32_t)cv << __builtin_ctz(e->cfg->mark_class_mask)) &
					e->cfg->mark_class_mask;
	}
	if (v->bypass && kernel_decides(e)) {
		unsigned shift = (unsigned)__builtin_ctz(mask);

		v->mark = ((uint32_t)(f->shape_value ? f->shape_value : f->app + 1u) << shift) &
			  mask;
		if (!v->mark || v->mark == mask) /* app id does not fit: lowest bit = decided, passed */
			v->mark = mask & (~mask + 1u);
		if (e->inline_mode && e->cfg->bypass == KP_BYPASS_MARK && !f->bypassed) {
			f->bypassed = true; /* no more packets: the flow waits for conntrack's end */
			e->st.bypassed_flows++;
		}
	}
}

bool kp_manage_ct_end(struct kp_engine *e, const struct kp_ct_end_info *ce)
{
	struct kp_pkt_info pi;
	struct kp_flow_key k;
	struct kp_flow *f;
	size_t alen = ce->family == AF_INET ? 4 : 16;
	int side;

	memset(&pi, 0, sizeof(pi));
	pi.family = ce->family;
	memcpy(pi.src, ce->src, alen);
	memcpy(pi.dst, ce->dst, alen);
	pi.sport = ce->sport;
	pi.dport = ce->dport;
	pi.l4 = ce->proto;
	side = kp_flow_key_make(&pi, &k);
	f = kp_flow_table_find(&e->ft, &k);
	if (!f || !f->bypassed || f->ended)
		return false;
	/* conntrack's original direction is the client's when it saw the first packet */
	{
		int d0 = side == f->client_side ? 0 : 1;

		for (int d = 0; d < 2; d++) {
			int fd = d ^ d0;

			if (ce->pkts[d] > f->pkts[fd])
				f->pkts[fd] = ce->pkts[d];
			if (ce->bytes[d] > f->bytes[fd])
				f->bytes[fd] = ce->bytes[d];
		}
	}
	f->ct_counted = ce->pkts[0] || ce->pkts[1];
	if (e->now_us > f->last_us)
		f->last_us = e->now_us;
	e->st.ct_ends++;
	kp_flow_table_end(&e->ft, f, KP_END_CONNTRACK);
	return true;
}
