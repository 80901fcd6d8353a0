/* SPDX-License-Identifier: GPL-2.0-or-later */
/* TCP reassembly for one direction (policy and bounds in reasm.h). */
#include "stream/reasm.h"

#include <stdlib.h>
#include <string.h>

#define SEG_OVERHEAD ((uint64_t)sizeof(struct kp_seg) + 16)

void kp_stream_syn(struct kp_stream_dir *d, uint32_t isn)
{
	if (d->init && (d->delivered || d->ooo))
		return; /* a SYN after data (retransmitted or forged): first wins, keep our position */
	d->next_seq = isn + 1;
	d->init = true;
}

static void seg_free(struct kp_stream *s, struct kp_stream_dir *d, struct kp_seg *g)
{
	s->st.mem_used -= g->len + SEG_OVERHEAD;
	d->ooo_bytes -= g->len;
	free(g);
}

void kp_stream_dir_release(struct kp_stream *s, struct kp_stream_dir *d)
{
	struct kp_seg *g = d->ooo, *n;

	for (; g; g = n) {
		n = g->next;
		seg_free(s, d, g);
	}
	d->ooo = NULL;
	d->off = true;
}

/* Hands len bytes to the callback, honouring the depth limit. */
static void deliver(struct kp_stream *s, struct kp_stream_dir *d, const uint8_t *data,
		    uint32_t len, kp_stream_deliver_fn cb, void *arg)
{
	bool gap = d->gap_pending;

	d->next_seq += len;
	if (d->off || d->depth_reached)
		return;
	if (s->cfg.depth && !d->no_depth && d->delivered + len > s->cfg.depth)
		len = (uint32_t)(s->cfg.depth - d->delivered);
	d->gap_pending = false;
	d->delivered += len;
	if (len)
		cb(arg, data, len, gap);
	if (s->cfg.depth && !d->no_depth && d->delivered >= s->cfg.depth) {
		d->depth_reached = true;
		s->st.depth_reached++;
		kp_stream_dir_release(s, d);
		d->off = false; /* depth, not release, is the reason */
	}
}

/* Delivers buffered segments that have become contiguous. */
static void drain(struct kp_stream *s, struct kp_stream_dir *d, kp_stream_deliver_fn cb, void *arg)
{
	struct kp_seg *g;

	while ((g = d->ooo) && KP_SEQ_LEQ(g->seq, d->next_seq)) {
		uint32_t skip = d->next_seq - g->seq;

		d->ooo = g->next;
		if (skip < g->len)
			deliver(s, d, g->data + skip, g->len - skip, cb, arg);
		seg_free(s, d, g);
	}
}

static struct kp_seg *seg_new(struct kp_stream *s, struct kp_stream_dir *d, uint32_t seq,
			      const uint8_t *data, uint32_t len)
{
	struct kp_seg *g;

	if (s->st.mem_used + len + SEG_OVERHEAD > s->cfg.memcap) {
		s->st.memcap_drops++;
		return NULL;
	}
	g = malloc(sizeof(*g) + len);
	if (!g) {
		s->st.memcap_drops++;
		return NULL;
	}
	g->next = NULL;
	g->seq = seq;
	g->len = len;
	memcpy(g->data, data, len);
	s->st.mem_used += len + SEG_OVERHEAD;
	if (s->st.mem_used > s->st.mem_peak)
		s->st.mem_peak = s->st.mem_used;
	d->ooo_bytes += len;
	s->st.ooo_buffered++;
	return g;
}

/* Counts bytes of [seq, seq+len) that differ from the held segment g where they overlap. */
static void compare_overlap(struct kp_stream *s, const struct kp_seg *g, uint32_t seq,
			    const uint8_t *data, uint32_t len)
{
	uint32_t a = KP_SEQ_GT(g->seq, seq) ? g->seq : seq;
	uint32_t ge = g->seq + g->len, e = seq + len;
	uint32_t b = KP_SEQ_LT(ge, e) ? ge : e;

	if (!KP_SEQ_LT(a, b))
		return;
	s->st.overlaps++;
	if (memcmp(g->data + (a - g->seq), data + (a - seq), b - a) != 0)
		s->st.overlap_diff++;
}

/* Inserts the parts of [seq, seq+len) not covered by held segments (first data wins). */
static void insert(struct kp_stream *s, struct kp_stream_dir *d, uint32_t seq, const uint8_t *data,
		   uint32_t len)
{
	struct kp_seg **pp = &d->ooo;
	uint32_t end = seq + len;

	while (KP_SEQ_LT(seq, end)) {
		struct kp_seg *g = *pp, *n;
		uint32_t piece_end;

		/* skip held segments that end before seq */
		while (g && KP_SEQ_LEQ(g->seq + g->len, seq)) {
			pp = &g->next;
			g = *pp;
		}
		if (g && KP_SEQ_LEQ(g->seq, seq)) {
			/* seq lies inside g: those bytes are already held */
			compare_overlap(s, g, seq, data, end - seq);
			uint32_t ge = g->seq + g->len;
			if (KP_SEQ_GEQ(ge, end))
				return;
			data += ge - seq;
			seq = ge;
			pp = &g->next;
			continue;
		}
		/* a hole starts at seq; it ends at the next held segment or at end */
		piece_end = (g && KP_SEQ_LT(g->seq, end)) ? g->seq : end;
		n = seg_new(s, d, seq, data, piece_end - seq);
		if (!n)
			return;
		n->next = g;
		*pp = n;
		pp = &n->next;
		data += piece_end - seq;
		seq = piece_end;
	}
}

/* Skips the hole at next_seq up to the first held segment (or to `to`). */
static void force_gap(struct kp_stream *s, struct kp_stream_dir *d, uint32_t to)
{
	uint32_t target = d->ooo ? d->ooo->seq : to;

	if (d->ooo && KP_SEQ_LT(to, target) && KP_SEQ_GT(to, d->next_seq))
		target = to;
	if (!KP_SEQ_GT(target, d->next_seq))
		return;
	s->st.gaps++;
	s->st.gap_bytes += target - d->next_seq;
	d->next_seq = target;
	d->gap_pending = true;
}

void kp_stream_data(struct kp_stream *s, struct kp_stream_dir *d, uint32_t seq,
		    const uint8_t *data, uint32_t len, kp_stream_deliver_fn cb, void *arg)
{
	if (!len)
		return;
	s->st.segments++;
	if (!d->init) {
		/* picked up mid-stream: start at the first data we see */
		d->next_seq = seq;
		d->init = true;
	}
	if (d->off || d->depth_reached) {
		if (KP_SEQ_GT(seq + len, d->next_seq))
			d->next_seq = seq + len;
		return;
	}
	/* trim what was delivered already */
	if (KP_SEQ_LT(seq, d->next_seq)) {
		uint32_t skip = d->next_seq - seq;

		if (skip >= len) {
			s->st.retrans++;
			return;
		}
		s->st.overlaps++;
		data += skip;
		len -= skip;
		seq = d->next_seq;
	}
	if (seq == d->next_seq) {
		/* in order: hand over without copying, up to the first held segment */
		uint32_t n = len;

		if (d->ooo && KP_SEQ_LT(d->ooo->seq, seq + len))
			n = KP_SEQ_GT(d->ooo->seq, seq) ? d->ooo->seq - seq : 0;
		s->st.in_order++;
		deliver(s, d, data, n, cb, arg);
		data += n;
		len -= n;
		seq += n;
		if (!len) {
			drain(s, d, cb, arg);
			return;
		}
	}
	insert(s, d, seq, data, len);
	drain(s, d, cb, arg);
	if (d->ooo_bytes > s->cfg.max_ooo) {
		force_gap(s, d, d->ooo->seq);
		drain(s, d, cb, arg);
	}
}

void kp_stream_ack(struct kp_stream *s, struct kp_stream_dir *d, uint32_t ack,
		   kp_stream_deliver_fn cb, void *arg)
{
	if (!d->init || d->off || d->depth_reached || !KP_SEQ_GT(ack, d->next_seq))
		return;
	/*
	 * The receiver has bytes up to ack that we do not: they were lost by the
	 * capture (or refused by the memcap). Skip to what we hold, or to ack.
	 * An ACK that covers only the FIN (next_seq + 1) is not a hole.
	 */
	if (ack == d->next_seq + 1 && !d->ooo)
		return;
	force_gap(s, d, ack);
	drain(s, d, cb, arg);
}

void kp_stream_flush(struct kp_stream *s, struct kp_stream_dir *d, kp_stream_deliver_fn cb,
		     void *arg)
{
	while (d->ooo && !d->off && !d->depth_reached) {
		force_gap(s, d, d->ooo->seq);
		drain(s, d, cb, arg);
	}
	kp_stream_dir_release(s, d);
}
