/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Out-of-order TCP segments: fast pass or hold (see ooo.h). */
#include "engine/ooo.h"
#include "engine/engine.h"

#include <stdlib.h>

/* Ranges kept per flow direction; beyond, new passed ranges are not recorded. */
#define OOO_MAX_RANGES 1024u

/* Hold ids of out-of-order segments: apart from file ids ((worker << 48) | n). */
#define OOO_ID_BIT (1ull << 63)

bool kp_ooo_edge(const struct kp_flow *f, int dir, uint32_t *edge)
{
	if (!(f->ooo_init & (1u << dir)))
		return false;
	*edge = f->ooo_next[dir];
	return true;
}

void kp_ooo_syn(struct kp_flow *f, int dir, uint32_t isn)
{
	if ((f->ooo_init & (1u << dir)) && f->ooo_seen_data & (1u << dir))
		return; /* a SYN after data: keep the position (as reassembly does) */
	f->ooo_next[dir] = isn + 1;
	f->ooo_init |= (uint8_t)(1u << dir);
}

static void queue_release(struct kp_engine *e, uint64_t id, bool accept)
{
	struct kp_ooo *o = &e->ooo;

	if (!e->inline_mode || !e->content.release)
		return; /* offline: nothing was held for real */
	if (o->n_pend == o->cap_pend) {
		uint32_t cap = o->cap_pend ? o->cap_pend * 2 : 64;
		struct kp_ooo_release *n = realloc(o->pend, cap * sizeof(*n));

		if (!n) {
			/* no room to queue it: give it now rather than leave the packet stuck */
			e->content.release(e->content.release_arg, id, accept);
			return;
		}
		o->pend = n;
		o->cap_pend = cap;
	}
	o->pend[o->n_pend++] = (struct kp_ooo_release){id, accept};
}

void kp_ooo_release_pending(struct kp_engine *e)
{
	struct kp_ooo *o = &e->ooo;

	/* the callback may not re-enter the engine, but be safe against it anyway */
	for (uint32_t i = 0; i < o->n_pend; i++)
		if (e->content.release)
			e->content.release(e->content.release_arg, o->pend[i].hold_id,
					   o->pend[i].accept);
	o->n_pend = 0;
}

static void held_unlink(struct kp_ooo *o, struct kp_ooo_ent *g)
{
	if (g->tprev)
		g->tprev->tnext = g->tnext;
	else
		o->thead = g->tnext;
	if (g->tnext)
		g->tnext->tprev = g->tprev;
	else
		o->ttail = g->tprev;
	g->tprev = g->tnext = NULL;
	o->n_held--;
}

/* Lets a held segment go (accept unless its flow was blocked); the range stays if keep. */
static void release(struct kp_engine *e, struct kp_ooo_ent *g, uint64_t *counter)
{
	struct kp_ooo_stats *st = &e->st.ooo;
	bool accept = g->flow->pol != KP_POL_BLOCKED && g->flow->pol != KP_POL_CACHED;
	uint64_t t = e->now_us > g->since_us ? e->now_us - g->since_us : 0;

	held_unlink(&e->ooo, g);
	if (accept)
		(*counter)++;
	else
		st->dropped++;
	st->held_us_total += t;
	if (t > st->held_us_max)
		st->held_us_max = t;
	queue_release(e, g->hold_id, accept);
	g->hold_id = 0;
}

/* Inserts [seq, end) into the direction's sorted list; returns the entry or NULL. */
static struct kp_ooo_ent *range_add(struct kp_engine *e, struct kp_flow *f, int dir,
				    uint32_t seq, uint32_t end, bool held)
{
	struct kp_ooo_ent **pp = &f->ooo[dir], *g;

	while (*pp && KP_SEQ_LEQ((*pp)->seq, seq)) {
		/* a passed range already covering this one: nothing new to remember */
		if (!held && !(*pp)->hold_id && KP_SEQ_GEQ((*pp)->end, end))
			return *pp;
		pp = &(*pp)->next;
	}
	if (f->ooo_n[dir] >= OOO_MAX_RANGES && !held) {
		e->st.ooo.untracked++;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		e->st.ooo.untracked++;
		return NULL;
	}
	g->flow = f;
	g->seq = seq;
	g->end = end;
	g->dir = (uint8_t)dir;
	g->since_us = e->now_us;
	g->next = *pp;
	*pp = g;
	f->ooo_n[dir]++;
	return g;
}

/* The edge moved: ranges it reaches are merged into it, held ones released in order. */
static void advance(struct kp_engine *e, struct kp_flow *f, int dir)
{
	struct kp_ooo_ent *g;

	while ((g = f->ooo[dir]) && KP_SEQ_LEQ(g->seq, f->ooo_next[dir])) {
		if (KP_SEQ_GT(g->end, f->ooo_next[dir]))
			f->ooo_next[dir] = g->end;
		f->ooo[dir] = g->next;
		f->ooo_n[dir]--;
		if (g->hold_id)
			release(e, g, &e->st.ooo.released_fill);
		free(g);
	}
}

void kp_ooo_segment(struct kp_engine *e, struct kp_flow *f, int dir, uint32_t seq, uint32_t len,
		    struct kp_verdict *v)
{
	struct kp_ooo *o = &e->ooo;
	uint32_t end = seq + len;
	struct kp_ooo_ent *g;

	if (!len)
		return;
	f->ooo_seen_data |= (uint8_t)(1u << dir);
	if (!(f->ooo_init & (1u << dir))) {
		/* picked up mid-stream: the first data seen is the edge */
		f->ooo_next[dir] = seq;
		f->ooo_init |= (uint8_t)(1u << dir);
	}
	if (!KP_SEQ_GT(seq, f->ooo_next[dir])) {
		/* in order (or a retransmission reaching past the edge) */
		if (KP_SEQ_GT(end, f->ooo_next[dir])) {
			f->ooo_next[dir] = end;
			advance(e, f, dir);
		}
		return;
	}
	/* out of order: beyond a hole */
	if (v->action != KP_VERDICT_ACCEPT) {
		/* already held (for a scan): remembered, not held twice */
		range_add(e, f, dir, seq, end, false);
		return;
	}
	if (v->bypass && v->mark) {
		/* the flow is left to the kernel (bypass mark): inline its next packets never come
		 * here, offline they are bypass candidates; neither held nor counted */
		range_add(e, f, dir, seq, end, false);
		return;
	}
	if (o->mode != KP_OOO_HOLD) {
		e->st.ooo.fastpassed++;
		range_add(e, f, dir, seq, end, false);
		return;
	}
	if (o->n_held >= o->max) {
		e->st.ooo.overflow++;
		e->st.ooo.fastpassed++;
		range_add(e, f, dir, seq, end, false);
		return;
	}
	g = range_add(e, f, dir, seq, end, true);
	if (!g) {
		e->st.ooo.fastpassed++;
		return;
	}
	g->hold_id = OOO_ID_BIT | ((uint64_t)e->worker << 48) | (++o->next_id & 0xffffffffffffull);
	g->tprev = o->ttail;
	if (o->ttail)
		o->ttail->tnext = g;
	else
		o->thead = g;
	o->ttail = g;
	o->n_held++;
	e->st.ooo.held++;
	if (e->inline_mode && e->content.release) {
		v->action = KP_VERDICT_HOLD;
		v->hold_id = g->hold_id;
		v->bypass = false;
		v->mark = 0;
	}
}

void kp_ooo_tick(struct kp_engine *e)
{
	struct kp_ooo *o = &e->ooo;
	struct kp_ooo_ent *g;

	/* the held list is in arrival order: the oldest first */
	while ((g = o->thead) && e->now_us >= g->since_us + o->timeout_us)
		release(e, g, &e->st.ooo.released_timeout); /* the range stays: the hole is open */
}

void kp_ooo_flow_end(struct kp_engine *e, struct kp_flow *f)
{
	for (int d = 0; d < 2; d++) {
		struct kp_ooo_ent *g, *n;

		for (g = f->ooo[d]; g; g = n) {
			n = g->next;
			if (g->hold_id)
				release(e, g, &e->st.ooo.released_end);
			free(g);
		}
		f->ooo[d] = NULL;
		f->ooo_n[d] = 0;
	}
}

bool kp_ooo_busy(const struct kp_engine *e)
{
	return e->ooo.n_held || e->ooo.n_pend;
}

void kp_ooo_fini(struct kp_engine *e)
{
	kp_ooo_release_pending(e);
	free(e->ooo.pend);
	e->ooo.pend = NULL;
	e->ooo.n_pend = e->ooo.cap_pend = 0;
}
