/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-packet pipeline (see engine.h). */
#include "engine/engine.h"
#include "classify/sig.h"
#include "engine/manage.h"
#include "output/eve.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#define SWEEP_INTERVAL_US 1000000ull

static void on_flow_end(void *arg, struct kp_flow *f, enum kp_flow_end_reason r);

int kp_engine_init(struct kp_engine *e, const struct kp_config *cfg, int worker,
		   const struct kp_sigset *sigs, struct kp_output *out)
{
	uint32_t seed;
	int rc;

	memset(e, 0, sizeof(*e));
	e->cfg = cfg;
	e->worker = worker;
	e->out = out;
	kp_json_init(&e->json);
	kp_timing_init(&e->tm, cfg->timing_sample);
	rc = kp_decoder_init(&e->dec, (enum kp_csum_mode)cfg->checksum, cfg->defrag_memcap);
	if (rc)
		goto fail;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = 0x5eed0000u + (uint32_t)worker; /* ids and output do not depend on it */
	rc = kp_flow_table_init(&e->ft, cfg->flow_hash_size, cfg->flow_memcap, &cfg->timeouts,
				seed, on_flow_end, e);
	if (rc)
		goto fail_dec;
	e->stream.cfg.depth = cfg->stream_depth;
	e->stream.cfg.memcap = cfg->stream_memcap;
	e->stream.cfg.max_ooo = cfg->stream_max_ooo;
	e->ooo.mode = (uint8_t)cfg->stream_ooo;
	e->ooo.timeout_us = (uint64_t)cfg->stream_hold_timeout * 1000u;
	e->ooo.max = cfg->stream_hold_max;
	e->cls.max_pkts = cfg->classify_packets;
	e->cls.buf_cap = cfg->classify_buffer;
	e->cls.l7_cap = sigs ? cfg->sig_buffer : 0; /* no signatures: no l7 buffer */
	kp_expect_table_init(&e->cls.expect, cfg->expect_ttl);
	rc = kp_content_pipe_init(e);
	if (rc)
		goto fail_ft;
	rc = kp_peer_cache_init(&e->cls.peers, cfg->peer_cache_size, cfg->peer_cache_ttl);
	if (rc)
		goto fail_ft;
	if (sigs) {
		e->cls.sigs = sigs;
		e->cls.scratch = kp_sig_scratch_new(sigs);
		if (!e->cls.scratch) {
			rc = -ENOMEM;
			goto fail_peers;
		}
	}
	return 0;

fail_peers:
	kp_peer_cache_fini(&e->cls.peers);
fail_ft:
	free(e->ft.buckets);
fail_dec:
	kp_decoder_fini(&e->dec);
fail:
	kp_json_free(&e->json);
	return rc;
}

/* Reassembly callback: contiguous bytes of the current flow and direction. */
static void on_stream_data(void *arg, const uint8_t *data, uint32_t len, bool gap)
{
	struct kp_engine *e = arg;
	struct kp_flow *f = e->cur_flow;

	KP_TIMING_ENTER(&e->tm, KP_TS_CLASSIFY, ts);

	if (gap)
		f->had_gap = true;
	kp_classify_data(e, f, e->cur_dir, data, len, gap, e->cur_new_pkt, e->now_us);
	e->cur_new_pkt = false;
	KP_TIMING_LEAVE(&e->tm, ts);
}

/* Stops reassembly work for a flow nobody needs the bytes of any more. */
static void stream_release_if_done(struct kp_engine *e, struct kp_flow *f)
{
	if (!f->inspect_done || f->key.l4 != IPPROTO_TCP)
		return;
	for (int d = 0; d < 2; d++)
		if (!f->sd[d].off)
			kp_stream_dir_release(&e->stream, &f->sd[d]);
}

static void on_flow_end(void *arg, struct kp_flow *f, enum kp_flow_end_reason r)
{
	struct kp_engine *e = arg;
	struct kp_app_totals *t;
	/*
	 * A flow can end in the middle of another flow's packet (an allocation for
	 * that flow evicted this one): its flush reuses the reassembly callback's
	 * context, which must be the interrupted flow's again afterwards.
	 */
	struct kp_flow *saved_flow = e->cur_flow;
	int saved_dir = e->cur_dir;
	bool saved_new = e->cur_new_pkt;
	KP_TIMING_ENTER(&e->tm, KP_TS_OTHER, ts); /* whichever stage ended it: its end is "other" */

	f->ended = true;
	if (f->key.l4 == IPPROTO_TCP) {
		for (int d = 0; d < 2; d++) {
			e->cur_flow = f;
			e->cur_dir = d;
			e->cur_new_pkt = false;
			if (!f->inspect_done)
				kp_stream_flush(&e->stream, &f->sd[d], on_stream_data, e);
			else
				kp_stream_dir_release(&e->stream, &f->sd[d]);
		}
	}
	kp_ooo_flow_end(e, f);
	kp_classify_flow_end(e, f);
	kp_content_flow_end(e, f);
	t = &e->st.app[f->app < KP_APP__COUNT ? f->app : 0];
	t->flows++;
	t->pkts += f->pkts[0] + f->pkts[1];
	t->bytes += f->bytes[0] + f->bytes[1];
	if (e->out) {
		kp_eve_flow(e, f, r);
		e->st.events++;
	}
	kp_classify_flow_free(e, f);
	kp_content_flow_free(e, f);
	if (e->pkt_flow == f)
		e->pkt_flow = NULL;
	e->cur_flow = saved_flow == f ? NULL : saved_flow;
	e->cur_dir = saved_dir;
	e->cur_new_pkt = saved_new;
	KP_TIMING_LEAVE(&e->tm, ts);
}

static void tcp_track(struct kp_flow *f, int dir,
		      const struct kp_pkt_info *pi)
{
	uint8_t fl = pi->tcp_flags;

	if (fl & TCP_RST) {
		f->rst_seen = true;
		f->tcp_state = KP_TCP_CLOSED;
		return;
	}
	if (fl & TCP_SYN) {
		f->syn_seen = true;
		kp_stream_syn(&f->sd[dir], pi->seq);
		kp_ooo_syn(f, dir, pi->seq);
		if (!(fl & TCP_ACK) && f->tcp_state == KP_TCP_NONE && dir == 0)
			f->tcp_state = KP_TCP_SYN_SENT;
		else if ((fl & TCP_ACK) && dir == 1 && f->tcp_state <= KP_TCP_SYN_SENT)
			f->tcp_state = KP_TCP_SYN_RECV;
	} else if ((fl & TCP_ACK) && f->tcp_state == KP_TCP_SYN_RECV && dir == 0) {
		f->tcp_state = KP_TCP_ESTABLISHED;
	} else if (f->tcp_state == KP_TCP_NONE && f->pkts[0] && f->pkts[1]) {
		f->tcp_state = KP_TCP_ESTABLISHED; /* picked up mid-stream */
	}
	if (fl & TCP_FIN) {
		f->fin_seen |= (uint8_t)(1u << dir);
		f->tcp_state = f->fin_seen == 3 ? KP_TCP_CLOSED : KP_TCP_CLOSING;
	}
}

void kp_engine_process(struct kp_engine *e, const struct kp_packet *p, struct kp_verdict *v)
{
	struct kp_pkt_info pi;
	enum kp_decode_result dr;
	struct kp_flow *f;
	bool created;
	int dir;

	kp_timing_enter(&e->tm, KP_TS_OTHER); /* scan results, expiry sweeps */
	memset(v, 0, sizeof(*v));
	e->pkt_flow = NULL;
	if (e->ooo.n_pend)
		kp_ooo_release_pending(e); /* the last packet's verdict is out: what it released */
	if (e->content.outstanding)
		kp_content_poll(e);
	e->st.packets++;
	e->st.bytes += p->len;
	kp_engine_tick(e, p->ts_us);
	KP_TIMING_STAGE(&e->tm, KP_TS_DECODE);
	/* The kernel vouches for this packet's checksum (partial/offloaded): do not verify it. */
	e->dec.csum_mode = (p->flags & KP_PKT_CSUM_OK) ? KP_CSUM_MODE_OFF
						       : (enum kp_csum_mode)e->cfg->checksum;
	dr = kp_decode(&e->dec, p->dlt, p->data, p->caplen, p->ts_us, &pi);
	if (dr != KP_DEC_OK)
		goto out;
	if (pi.l4 != IPPROTO_TCP && pi.l4 != IPPROTO_UDP)
		goto out;
	KP_TIMING_STAGE(&e->tm, KP_TS_FLOW);
	f = kp_flow_table_get(&e->ft, &pi, p->ts_us, &dir, &created);
	if (!f) {
		e->st.flow_alloc_fail++;
		goto out;
	}
	if (created) {
		KP_TIMING_STAGE(&e->tm, KP_TS_CLASSIFY); /* an awaited data connection? */
		kp_classify_flow_new(e, f, p->ts_us);
		KP_TIMING_STAGE(&e->tm, KP_TS_POLICY);   /* the connection cache */
		kp_manage_new_flow(e, f);
		KP_TIMING_STAGE(&e->tm, KP_TS_FLOW);
	}
	v->flow_id = f->id;
	e->pkt_flow = f;
	e->pkt_dir = dir;
	e->pkt_seq = pi.seq;
	e->pkt_ack = pi.ack;
	e->pkt_tcp_flags = pi.l4 == IPPROTO_TCP ? pi.tcp_flags : 0;
	if (pi.l4 == IPPROTO_TCP) {
		/*
		 * A retransmission that starts before what already went through: the
		 * receiver expects the edge (its rcv_nxt), and a reset from this
		 * packet must carry that, not the stale seq (RFC 5961 challenge ACK).
		 */
		uint32_t edge;

		if (kp_ooo_edge(f, dir, &edge) && KP_SEQ_LT(pi.seq, edge))
			e->pkt_seq = edge;
	}
	f->pkts[dir]++;
	f->bytes[dir] += pi.ip_len;
	if (f->pol == KP_POL_BLOCKED || f->pol == KP_POL_CACHED) {
		/* decided: dropped without a look (its tuple state still ends the flow) */
		if (pi.l4 == IPPROTO_TCP)
			tcp_track(f, dir, &pi);
		v->app = f->app;
		KP_TIMING_STAGE(&e->tm, KP_TS_POLICY);
		kp_manage_drop_verdict(e, f, v);
		kp_flow_table_touch(&e->ft, f, p->ts_us);
		goto out;
	}
	if (pi.csum == KP_CSUM_BAD) {
		f->csum_bad++;
		if (e->csum_lenient)
			pi.csum = KP_CSUM_OK;
		else
			e->st.csum_skipped++;
	}
	if (pi.l4 == IPPROTO_TCP) {
		KP_TIMING_STAGE(&e->tm, KP_TS_REASM);
		tcp_track(f, dir, &pi);
		if (pi.csum != KP_CSUM_BAD && !f->inspect_done) {
			e->cur_flow = f;
			e->cur_dir = dir;
			e->cur_new_pkt = true;
			if ((pi.tcp_flags & TCP_ACK) && f->sd[!dir].init) {
				e->cur_dir = !dir;
				e->cur_new_pkt = false;
				kp_stream_ack(&e->stream, &f->sd[!dir], pi.ack, on_stream_data, e);
				e->cur_dir = dir;
				e->cur_new_pkt = true;
			}
			if (pi.payload_len && !f->inspect_done)
				kp_stream_data(&e->stream, &f->sd[dir],
					       pi.seq + ((pi.tcp_flags & TCP_SYN) ? 1 : 0),
					       pi.payload, pi.payload_len, on_stream_data, e);
			stream_release_if_done(e, f);
		}
	} else if (pi.payload_len && pi.csum != KP_CSUM_BAD && !f->inspect_done) {
		KP_TIMING_STAGE(&e->tm, KP_TS_CLASSIFY);
		kp_classify_data(e, f, dir, pi.payload, pi.payload_len, false, true, p->ts_us);
	}
	KP_TIMING_STAGE(&e->tm, KP_TS_POLICY);
	v->app = f->app;
	kp_manage_verdict(e, f, v);
	if (e->content.hold_now) {
		/* this packet completed a file under scan: it waits for the verdict */
		if (v->action == KP_VERDICT_ACCEPT) {
			v->action = KP_VERDICT_HOLD;
			v->hold_id = e->content.hold_now;
			v->bypass = false;
			v->mark = 0;
		}
		e->content.hold_now = 0;
	} else if (f->content && (f->content->held & (1u << dir)) && v->action == KP_VERDICT_ACCEPT &&
		   (pi.payload_len || (pi.l4 == IPPROTO_TCP && (pi.tcp_flags & TCP_FIN)))) {
		/* the sender's retransmission of a held tail (or what follows it) waits too */
		v->action = KP_VERDICT_DROP;
		v->bypass = false;
		v->mark = 0;
		e->content.st.held_retrans++;
	}
	if (pi.l4 == IPPROTO_TCP && pi.payload_len + pi.cut && pi.csum != KP_CSUM_BAD &&
	    v->action != KP_VERDICT_DROP)
		/* forwarded data (or held for a scan): out of order, fast-passed or held; the
		 * length on the wire (a capture's snap length may have cut the payload) */
		kp_ooo_segment(e, f, dir, pi.seq + ((pi.tcp_flags & TCP_SYN) ? 1 : 0),
			       pi.payload_len + pi.cut, v);
	kp_flow_table_touch(&e->ft, f, p->ts_us);
out:
	kp_timing_exit(&e->tm); /* the verdict stage: counted here, sent by the source */
	if (v->bypass)
		e->st.bypass++;
	e->st.verdict[v->action]++;
}

void kp_engine_release_pending(struct kp_engine *e)
{
	kp_ooo_release_pending(e);
}

void kp_engine_tick(struct kp_engine *e, uint64_t now_us)
{
	if (now_us > e->now_us)
		e->now_us = now_us;
	if (e->ooo.thead)
		kp_ooo_tick(e);
	if (e->ooo.n_pend)
		kp_ooo_release_pending(e);
	if (e->now_us >= e->next_sweep_us) {
		kp_flow_table_expire(&e->ft, e->now_us);
		kp_content_tick(e);
		e->next_sweep_us = e->now_us + SWEEP_INTERVAL_US;
	}
}

void kp_engine_flush(struct kp_engine *e)
{
	kp_flow_table_flush(&e->ft);
	kp_ooo_release_pending(e);
	kp_content_drain(e, 120000); /* the scans of the last files: their events belong to this run */
	e->now_us = 0;
	e->next_sweep_us = 0;
}

void kp_engine_fini(struct kp_engine *e)
{
	kp_flow_table_fini(&e->ft);
	kp_ooo_fini(e);
	kp_content_pipe_fini(e);
	kp_decoder_fini(&e->dec);
	kp_peer_cache_fini(&e->cls.peers);
	if (e->cls.scratch)
		kp_sig_scratch_free(e->cls.scratch);
	kp_json_free(&e->json);
}
