/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One inline worker: a thread that owns one NFQUEUE socket and one pipeline
 * (its own flow table), reads packets in batches, runs them through the
 * engine and sends the verdicts back. Other threads talk to it only through
 * its inbox (conntrack end events) and its stats snapshot, both locked.
 */
#ifndef KP_INLINE_WORKER_H
#define KP_INLINE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define KP_MAX_WORKERS 64

struct kp_nfq;
struct kp_policy_holder;
struct kp_ct_end;
struct kp_content_shared;

/* A packet left in the kernel's queue until a scan verdict (KP_VERDICT_HOLD). */
struct kp_worker_hold {
	uint64_t hold_id;
	uint32_t pkt_id;
	uint16_t queue;
};

struct kp_worker_config {
	const struct kp_config *cfg;
	unsigned index;
	uint16_t queue;
	bool header_queue;            /* also bind header_queue_num (decided flows, headers only) */
	uint16_t header_queue_num;
	const struct kp_sigset *sigs;
	struct kp_output *out;
	struct kp_policy_holder *policy;
	struct kp_conncache *cache;
	struct kp_reset *reset;
	struct kp_content_shared *content; /* scanner and block list (may be NULL) */
};

/* What the main thread may read of a worker (a copy taken under the lock). */
struct kp_worker_snapshot {
	struct kp_engine_stats eng;
	struct kp_flow_stats flows;
	struct kp_decode_stats dec;
	uint64_t nfq_copied;
	uint64_t nfq_received, nfq_bytes, nfq_enobufs, nfq_verdicts, nfq_batches, nfq_gso,
		nfq_csum_partial, nfq_truncated;
	uint64_t ct_inbox_dropped;
	uint64_t ooo_held_now;        /* out-of-order segments held at the snapshot */
	struct kp_content_stats content;
	uint64_t nfq_held, nfq_released;
	struct kp_timing_stats timing;  /* sampled stage times (engine/timing.h) */
};

struct kp_worker {
	struct kp_worker_config c;
	struct kp_engine eng;
	struct kp_nfq *q;
	pthread_t th;
	bool thread_started, engine_ready;
	atomic_int stop, failed;
	atomic_int snap_req;       /* the main thread wants a fresh snapshot (cleared when taken) */
	char err[256];
	pthread_mutex_t lock;      /* inbox and snapshot */
	struct kp_ct_end *inbox;
	size_t n_inbox, cap_inbox;
	struct kp_worker_snapshot snap;
	struct kp_worker_hold *holds;  /* worker thread only */
	size_t n_holds, cap_holds;
};

/* Sets up the pipeline and binds the queue (no thread yet). */
int kp_worker_init(struct kp_worker *w, const struct kp_worker_config *c, char *err, size_t errlen);
int kp_worker_start(struct kp_worker *w, char *err, size_t errlen);
/* True (and the reason in err) once the worker's thread gave up. */
bool kp_worker_failed(struct kp_worker *w, char *err, size_t errlen);
/* Hands a conntrack end event to the worker (copied; bounded inbox). */
void kp_worker_post_ct_end(struct kp_worker *w, const struct kp_ct_end *ce);
void kp_worker_snapshot(struct kp_worker *w, struct kp_worker_snapshot *s);
/* Asks every worker for a fresh snapshot and waits (at most timeout_ms) until they took it. */
void kp_workers_refresh(struct kp_worker *w, unsigned n, int timeout_ms);
/* Stops the thread, ends every flow (events written), takes a last snapshot, unbinds the queue. */
void kp_worker_stop(struct kp_worker *w);
/* Frees the pipeline. */
void kp_worker_fini(struct kp_worker *w);

#endif
