/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One inline worker thread: NFQUEUE batch in, pipeline, verdicts out (see worker.h). */
#include "inline/worker.h"
#include "engine/manage.h"
#include "content/setup.h"
#include "io/nfq.h"
#include "kern/ct_events.h"
#include "policy/policy.h"

#include <netinet/in.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INBOX_MAX 65536
#define SNAPSHOT_NS 500000000ull

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Held packets (scan tails, out-of-order segments): hold id -> NFQUEUE packet, in an
 * open-addressing table (linear probing, backward-shift deletion), so that releasing
 * thousands of held segments stays linear. Hold id 0 never occurs (ids start at 1).
 */
static size_t hold_slot(uint64_t id, size_t cap)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return (size_t)id & (cap - 1);
}

static bool holds_grow(struct kp_worker *w)
{
	size_t cap = w->cap_holds ? w->cap_holds * 2 : 64;
	struct kp_worker_hold *n = calloc(cap, sizeof(*n));

	if (!n)
		return false;
	for (size_t i = 0; i < w->cap_holds; i++) {
		size_t k;

		if (!w->holds[i].hold_id)
			continue;
		for (k = hold_slot(w->holds[i].hold_id, cap); n[k].hold_id; k = (k + 1) & (cap - 1))
			;
		n[k] = w->holds[i];
	}
	free(w->holds);
	w->holds = n;
	w->cap_holds = cap;
	return true;
}

/* The engine's verdict on a held packet: find it and tell the kernel. */
static void release_hold(void *arg, uint64_t hold_id, bool accept)
{
	struct kp_worker *w = arg;
	size_t cap = w->cap_holds, k, j;

	if (!cap || !hold_id)
		return;
	for (k = hold_slot(hold_id, cap); w->holds[k].hold_id; k = (k + 1) & (cap - 1))
		if (w->holds[k].hold_id == hold_id)
			break;
	if (!w->holds[k].hold_id)
		return;
	if (w->q)
		kp_nfq_release(w->q, w->holds[k].queue, w->holds[k].pkt_id,
			       accept ? NF_ACCEPT : NF_DROP);
	w->n_holds--;
	/* backward-shift deletion: later members of the probe run move into the hole */
	w->holds[k].hold_id = 0;
	for (j = (k + 1) & (cap - 1); w->holds[j].hold_id; j = (j + 1) & (cap - 1)) {
		size_t home = hold_slot(w->holds[j].hold_id, cap);

		if (((j - home) & (cap - 1)) >= ((j - k) & (cap - 1))) {
			w->holds[k] = w->holds[j];
			w->holds[j].hold_id = 0;
			k = j;
		}
	}
}

static bool remember_hold(struct kp_worker *w, uint64_t hold_id, const struct kp_nfq_pkt *np)
{
	size_t k;

	if (!hold_id)
		return false;
	if ((w->n_holds + 1) * 2 > w->cap_holds && !holds_grow(w))
		return false;
	for (k = hold_slot(hold_id, w->cap_holds); w->holds[k].hold_id;
	     k = (k + 1) & (w->cap_holds - 1))
		;
	w->holds[k] = (struct kp_worker_hold){hold_id, np->id, np->queue};
	w->n_holds++;
	return true;
}

int kp_worker_init(struct kp_worker *w, const struct kp_worker_config *c, char *err, size_t errlen)
{
	const struct kp_config *cfg = c->cfg;
	struct kp_nfq_config qc = {
		.queue_first = c->queue,
		.queue_count = 1,
		.copy_range = 0xffff,
		.rcvbuf = cfg->queue_rcvbuf,
		.maxlen = cfg->queue_maxlen,
		.gso = cfg->queue_gso,
		.fail_open = cfg->queue_fail_open,
		.batch = cfg->queue_batch,
	};
	int rc;

	if (c->header_queue) {
		qc.extra_queues = &c->header_queue_num;
		qc.extra_count = 1;
		qc.extra_copy_range = KP_HEADER_COPY;
	}
	if (cfg->mode == KP_MODE_P2PADM) {
		/* the thesis' baseline: ip_queue had no GSO and one verdict per packet */
		qc.gso = false;
		qc.batch = 1;
	}
	memset(w, 0, sizeof(*w));
	w->c = *c;
	pthread_mutex_init(&w->lock, NULL);
	rc = kp_engine_init(&w->eng, cfg, (int)c->index, c->sigs, c->out);
	if (rc) {
		snprintf(err, errlen, "cannot set up the pipeline: %s", strerror(-rc));
		return -1;
	}
	w->engine_ready = true;
	if (c->content)
		kp_content_attach(&w->eng, c->content);
	w->eng.content.release = release_hold;
	w->eng.content.release_arg = w;
	w->eng.inline_mode = true;
	w->eng.cache = c->cache;
	w->eng.reset = c->reset;
	/* the kernel computes or verified checksums of what it queues; partial ones are flagged */
	if (kp_nfq_open(&w->q, &qc, err, errlen))
		return -1;
	kp_nfq_set_timing(w->q, &w->eng.tm); /* receive and verdict stages are the queue's */
	return 0;
}

/* Decides one queued packet. */
static int on_packet(void *arg, const struct kp_nfq_pkt *np, uint32_t *mark, bool *set_mark)
{
	struct kp_worker *w = arg;
	uint32_t mask = w->c.cfg->mark_mask;
	struct kp_verdict v;

	*set_mark = false;
	if (w->c.cfg->mode == KP_MODE_ACCEPT) {
		w->eng.st.packets++;
		w->eng.st.bytes += np->pkt.len;
		w->eng.st.verdict[KP_VERDICT_ACCEPT]++;
		return NF_ACCEPT;
	}
	kp_engine_process(&w->eng, &np->pkt, &v);
	if (v.action == KP_VERDICT_HOLD) {
		if (remember_hold(w, v.hold_id, np))
			return KP_NFQ_HOLD;
		return NF_ACCEPT; /* no memory to remember it: the tail passes (fail open) */
	}
	if (v.class_mark && v.action == KP_VERDICT_ACCEPT && !v.mark) {
		/* an inspected packet's bandwidth class: not saved in conntrack (no bypass) */
		uint32_t cmask = w->c.cfg->mark_class_mask;

		*mark = (np->pkt.mark & ~cmask) | v.class_mark;
		*set_mark = *mark != np->pkt.mark;
		return NF_ACCEPT;
	}
	if (!v.mark)
		return v.action == KP_VERDICT_DROP ? NF_DROP : NF_ACCEPT;
	*mark = (np->pkt.mark & ~mask) | v.mark;
	*set_mark = *mark != np->pkt.mark;
	if (v.action == KP_VERDICT_DROP) {
		/*
		 * A dropped packet never reaches POSTROUTING, where marks are saved:
		 * repeat the hook with the "blocked" mark instead, and the ruleset
		 * saves it and drops the packet (and the flow's later ones) itself.
		 */
		return *set_mark ? NF_REPEAT : NF_DROP;
	}
	return NF_ACCEPT;
}

static void drain_inbox(struct kp_worker *w)
{
	struct kp_ct_end *box;
	size_t n;

	pthread_mutex_lock(&w->lock);
	box = w->inbox;
	n = w->n_inbox;
	w->inbox = NULL;
	w->n_inbox = w->cap_inbox = 0;
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < n; i++) {
		const struct kp_ct_end *ce = &box[i];
		struct kp_ct_end_info ci = {
			.family = ce->family,
			.src = ce->src,
			.dst = ce->dst,
			.sport = ce->sport,
			.dport = ce->dport,
			.proto = ce->proto,
			.pkts = {ce->pkts[0], ce->pkts[1]},
			.bytes = {ce->bytes[0], ce->bytes[1]},
		};

		kp_manage_ct_end(&w->eng, &ci);
	}
	free(box);
}

static void take_snapshot(struct kp_worker *w)
{
	const struct kp_nfq_stats *qs = kp_nfq_stats(w->q);
	struct kp_timing_stats ts;

	kp_timing_snapshot(&w->eng.tm, &ts); /* outside the lock: may wait out its first ms */
	pthread_mutex_lock(&w->lock);
	w->snap.eng = w->eng.st;
	w->snap.flows = w->eng.ft.st;
	w->snap.dec = w->eng.dec.st;
	w->snap.nfq_received = qs->received;
	w->snap.nfq_bytes = qs->bytes;
	w->snap.nfq_copied = qs->copied;
	w->snap.nfq_enobufs = qs->enobufs;
	w->snap.nfq_verdicts = qs->verdicts_sent;
	w->snap.nfq_batches = qs->batch_msgs;
	w->snap.nfq_gso = qs->gso;
	w->snap.nfq_csum_partial = qs->csum_partial;
	w->snap.nfq_truncated = qs->truncated;
	w->snap.nfq_held = qs->held;
	w->snap.nfq_released = qs->released;
	w->snap.content = w->eng.content.st;
	w->snap.ooo_held_now = w->eng.ooo.n_held;
	w->snap.timing = ts;
	pthread_mutex_unlock(&w->lock);
}

static void *run(void *arg)
{
	struct kp_worker *w = arg;
	uint64_t next_snap = 0;

	while (!atomic_load(&w->stop)) {
		struct kp_policy *pol = kp_policy_holder_get(w->c.policy);
		uint64_t mono;
		int n;

		struct pollfd pf[2] = {
			{.fd = kp_nfq_fd(w->q), .events = POLLIN},
			{.fd = w->eng.content.doneq_ok ? w->eng.content.doneq.efd : -1, .events = POLLIN},
		};

		w->eng.policy = pol;
		/* scan verdicts release held packets: they must not wait behind the queue's timeout;
		 * held out-of-order segments wait stream.hold_timeout (ms): look more often then */
		n = 0;
		if (poll(pf, 2, kp_ooo_busy(&w->eng) ? 5 : 100) > 0) {
			if (pf[1].revents & POLLIN)
				kp_content_poll(&w->eng);
			if (pf[0].revents)
				n = kp_nfq_run_once(w->q, 0, on_packet, w);
		}
		w->eng.policy = NULL;
		kp_policy_put(pol);
		if (n < 0) {
			snprintf(w->err, sizeof(w->err), "%s", kp_nfq_error(w->q));
			atomic_store(&w->failed, 1);
			break;
		}
		if (kp_ooo_busy(&w->eng))
			/* the batch's verdicts are out: what it released goes now, then timeouts */
			kp_engine_tick(&w->eng, now_ns(CLOCK_REALTIME) / 1000);
		drain_inbox(w);
		mono = now_ns(CLOCK_MONOTONIC);
		if (mono >= next_snap || atomic_load(&w->snap_req)) {
			/* idle flows still expire when no packet brings the clock forward */
			kp_engine_tick(&w->eng, now_ns(CLOCK_REALTIME) / 1000);
			take_snapshot(w);
			atomic_store(&w->snap_req, 0);
			next_snap = mono + SNAPSHOT_NS;
		}
	}
	return NULL;
}

int kp_worker_start(struct kp_worker *w, char *err, size_t errlen)
{
	int rc = pthread_create(&w->th, NULL, run, w);

	if (rc) {
		snprintf(err, errlen, "cannot start worker %u: %s", w->c.index, strerror(rc));
		return -1;
	}
	w->thread_started = true;
	return 0;
}

bool kp_worker_failed(struct kp_worker *w, char *err, size_t errlen)
{
	if (!atomic_load(&w->failed))
		return false;
	snprintf(err, errlen, "%s", w->err);
	atomic_store(&w->failed, 0); /* reported once */
	return true;
}

void kp_worker_post_ct_end(struct kp_worker *w, const struct kp_ct_end *ce)
{
	pthread_mutex_lock(&w->lock);
	if (w->n_inbox == w->cap_inbox) {
		size_t cap = w->cap_inbox ? w->cap_inbox * 2 : 64;
		struct kp_ct_end *n = cap <= INBOX_MAX ? realloc(w->inbox, cap * sizeof(*n)) : NULL;

		if (!n) {
			w->snap.ct_inbox_dropped++;
			pthread_mutex_unlock(&w->lock);
			return;
		}
		w->inbox = n;
		w->cap_inbox = cap;
	}
	w->inbox[w->n_inbox++] = *ce;
	pthread_mutex_unlock(&w->lock);
}

void kp_workers_refresh(struct kp_worker *w, unsigned n, int timeout_ms)
{
	struct timespec ts = {0, 5000000};

	for (unsigned i = 0; i < n; i++)
		if (w[i].thread_started)
			atomic_store(&w[i].snap_req, 1);
	for (int waited = 0; waited < timeout_ms; waited += 5) {
		unsigned pending = 0;

		for (unsigned i = 0; i < n; i++)
			pending += w[i].thread_started && atomic_load(&w[i].snap_req);
		if (!pending)
			return;
		nanosleep(&ts, NULL);
	}
}

void kp_worker_snapshot(struct kp_worker *w, struct kp_worker_snapshot *s)
{
	pthread_mutex_lock(&w->lock);
	*s = w->snap;
	pthread_mutex_unlock(&w->lock);
}

void kp_worker_stop(struct kp_worker *w)
{
	atomic_store(&w->stop, 1);
	if (w->thread_started) {
		pthread_join(w->th, NULL);
		w->thread_started = false;
	}
	if (w->engine_ready && w->q) {
		drain_inbox(w);
		kp_engine_flush(&w->eng); /* every flow ends now: its event is written */
		take_snapshot(w);
	}
	if (w->q) {
		kp_nfq_close(w->q);
		w->q = NULL;
	}
}

void kp_worker_fini(struct kp_worker *w)
{
	kp_worker_stop(w);
	if (w->engine_ready) {
		kp_engine_fini(&w->eng);
		w->engine_ready = false;
	}
	free(w->inbox);
	w->inbox = NULL;
	free(w->holds);
	w->holds = NULL;
	pthread_mutex_destroy(&w->lock);
}
