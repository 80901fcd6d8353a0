/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pipeline: one packet in, one verdict out.
 *
 *   decode -> flow -> reassembly -> classify -> app module -> (policy) -> verdict
 *
 * A struct kp_engine is one pipeline, owned by one thread: its decoder, flow
 * table, reassembly and classifier state are its own. What pipelines share
 * is read-only (the config, the signature set) or thread-safe (the event
 * writer). Offline (capture files) and inline (NFQUEUE) run this same code;
 * only the packet source differs (io/source.h).
 */
#ifndef KP_ENGINE_ENGINE_H
#define KP_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "content/file.h"
#include "classify/classify.h"
#include "decode/decode.h"
#include "engine/config.h"
#include "engine/ooo.h"
#include "engine/timing.h"
#include "flow/flow_table.h"
#include "output/json.h"
#include "stream/reasm.h"

struct kp_output;
struct kp_sigset;
struct kp_policy;
struct kp_conncache;
struct kp_reset;

/* What happens to a packet. Offline, verdicts are counted; inline, they reach the kernel. */
enum kp_verdict_action {
	KP_VERDICT_ACCEPT = 0,
	KP_VERDICT_DROP,
	KP_VERDICT_HOLD,  /* no verdict yet: the packet waits for a scan or for the hole before it
			   * (stream.ooo = hold) under hold_id; inline only */
};

struct kp_verdict {
	uint8_t action;   /* enum kp_verdict_action */
	bool bypass;      /* the flow needs no more inspection: the kernel may skip the queue */
	uint16_t app;     /* the flow's label at this packet (for marks) */
	uint64_t flow_id; /* 0 when the packet belongs to no flow */
	uint32_t mark;    /* bits under the config's mark.mask to set (0: leave the mark alone) */
	uint32_t class_mark; /* bits under mark.class_mask: the bandwidth class of an inspected packet */
	uint64_t hold_id; /* KP_VERDICT_HOLD: released through content.release(hold_id, accept) */
};

/* One packet handed to the pipeline by a source. */
struct kp_packet {
	const uint8_t *data;
	uint32_t caplen;  /* bytes in data */
	uint32_t len;     /* length on the wire */
	uint64_t ts_us;   /* capture or arrival time */
	int dlt;          /* link type of data (DLT_RAW-ish for NFQUEUE: KP_DLT_RAW) */
	uint32_t mark;    /* the packet's mark (NFQUEUE), 0 offline */
	uint8_t flags;    /* KP_PKT_* */
};

/* The kernel says the checksum is partial (offloaded) or verified: do not check it. */
#define KP_PKT_CSUM_OK 0x01

struct kp_app_totals {
	uint64_t flows, pkts, bytes;
};

struct kp_engine_stats {
	uint64_t packets, bytes;          /* everything handed in */
	uint64_t verdict[3];              /* by action */
	uint64_t bypass;                  /* packets whose verdict said bypass */
	uint64_t csum_skipped;            /* packets not inspected for a bad checksum */
	uint64_t flow_alloc_fail;
	uint64_t bypassed_flows;          /* flows left to the kernel (bypass mark) */
	uint64_t blocked_flows;           /* flows the policy blocked */
	uint64_t cached_flows;            /* new flows dropped by the connection cache */
	uint64_t resets;                  /* flows reset (RST to both sides) */
	uint64_t ct_ends;                 /* bypassed flows ended by a conntrack event */
	struct kp_ooo_stats ooo;          /* out-of-order segments: fast pass / hold (ooo.h) */
	struct kp_app_totals app[KP_APP__COUNT];
	uint64_t events;
};

struct kp_engine {
	const struct kp_config *cfg;   /* shared, read-only */
	int worker;                    /* pipeline number */
	struct kp_decoder dec;
	struct kp_flow_table ft;
	struct kp_stream stream;
	struct kp_classifier cls;
	struct kp_output *out;         /* shared writer; NULL = no events */
	/* Management (engine/manage.c); all may be NULL: then every flow passes. */
	const struct kp_policy *policy; /* current policy: the caller holds a reference */
	struct kp_conncache *cache;    /* shared, thread-safe */
	struct kp_reset *reset;        /* inline only: sends TCP resets */
	bool inline_mode;              /* verdicts reach a kernel (bypassed flows stop coming) */
	struct kp_content_pipe content; /* files, scans, held packets (content/file.h) */
	struct kp_ooo ooo;             /* out-of-order segments held or fast-passed (ooo.h) */
	struct kp_json json;           /* this pipeline's event builder */
	struct kp_engine_stats st;
	uint64_t now_us, next_sweep_us;
	bool csum_lenient;             /* bad checksums counted, not enforced (rewritten capture) */
	/* the packet in hand, for policy actions (resets) */
	struct kp_flow *pkt_flow;
	int pkt_dir;
	uint32_t pkt_seq, pkt_ack;
	uint8_t pkt_tcp_flags;
	/* per-packet scratch for the reassembly callback */
	struct kp_flow *cur_flow;
	int cur_dir;
	bool cur_new_pkt;
	struct kp_timing tm;           /* sampled per-stage times (engine/timing.h); last: large */
};

/*
 * Sets up a pipeline. sigs may be NULL. out may be NULL (no events).
 * Returns 0 or a negative errno.
 */
int kp_engine_init(struct kp_engine *e, const struct kp_config *cfg, int worker,
		   const struct kp_sigset *sigs, struct kp_output *out);

/* Runs one packet through the pipeline and fills *v. */
void kp_engine_process(struct kp_engine *e, const struct kp_packet *p, struct kp_verdict *v);

/* Moves the pipeline's clock to now_us (if later) and expires idle flows: inline, when no packet came. */
void kp_engine_tick(struct kp_engine *e, uint64_t now_us);

/*
 * Gives the releases of held out-of-order segments that the last packets
 * decided (content.release callback). kp_engine_process and kp_engine_tick do
 * it too, first thing: releases always follow the verdict of the packet that
 * caused them.
 */
void kp_engine_release_pending(struct kp_engine *e);

/* Ends every flow (events written), e.g. at the end of a capture. */
void kp_engine_flush(struct kp_engine *e);

void kp_engine_fini(struct kp_engine *e);

#endif
