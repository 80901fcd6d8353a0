/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flow table of one pipeline: a hash table of bidirectional flows plus
 * one idle list per timeout class (each list ordered by last activity, so
 * expiry and "evict the oldest idle flow" are O(1) per flow). Bounded by a
 * memcap; flows are never shared between pipelines.
 */
#ifndef KP_FLOW_FLOW_TABLE_H
#define KP_FLOW_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "flow/flow.h"

struct kp_flow_timeouts {
	uint32_t s[KP_TC__COUNT]; /* seconds of idleness per class */
};

struct kp_flow_stats {
	uint64_t created, ended_timeout, ended_closed, ended_evicted, ended_shutdown;
	uint64_t tcp_reuse;    /* a new SYN ended an old flow on the same tuple */
	uint64_t memcap_hits;  /* allocations that had to evict */
	uint64_t alloc_fail;
	uint64_t active, active_peak;
	uint64_t mem_used;     /* bytes of flow records and what they own (probe buffers, module state) */
};

enum kp_flow_end_reason {
	KP_END_TIMEOUT = 0,
	KP_END_CLOSED,
	KP_END_EVICTED,
	KP_END_SHUTDOWN,
	KP_END_REUSED,
	KP_END_CONNTRACK, /* a bypassed flow's conntrack entry was destroyed */
};

const char *kp_flow_end_reason_name(enum kp_flow_end_reason r);

/* Called for every flow that leaves the table; it must not free the flow. */
typedef void (*kp_flow_end_fn)(void *arg, struct kp_flow *f, enum kp_flow_end_reason r);

struct kp_flow_table {
	struct kp_flow **buckets;
	uint32_t nbuckets;        /* power of two */
	uint32_t seed;
	uint64_t memcap;          /* bytes for flow structs */
	struct kp_flow_timeouts to;
	struct kp_flow *head[KP_TC__COUNT], *tail[KP_TC__COUNT];
	struct kp_flow_stats st;
	kp_flow_end_fn on_end;    /* the pipeline's end handler (writes the event, frees owned state) */
	void *on_end_arg;
};

int kp_flow_table_init(struct kp_flow_table *t, uint32_t nbuckets, uint64_t memcap,
		       const struct kp_flow_timeouts *to, uint32_t seed, kp_flow_end_fn on_end,
		       void *arg);
/* Ends every flow (reason shutdown) in order of start time, then frees the table. */
void kp_flow_table_fini(struct kp_flow_table *t);
/* Ends every flow in order of start time (reason shutdown); the table stays usable. */
void kp_flow_table_flush(struct kp_flow_table *t);

/*
 * Finds or creates the flow of a decoded packet. *dir is set to the packet's
 * direction (KP_DIR_TOSERVER / KP_DIR_TOCLIENT), *created when the flow is new.
 * A SYN on a closed flow (or a SYN with a new sequence on a flow that already
 * had one) ends the old flow and starts a new one. Returns NULL only when
 * memory is exhausted even after eviction.
 */
struct kp_flow *kp_flow_table_get(struct kp_flow_table *t, const struct kp_pkt_info *pi,
				  uint64_t ts_us, int *dir, bool *created);

/*
 * Makes room for `bytes` more under the memcap by ending the least recently
 * active flows (never `keep`, the flow being worked on). Returns false when the
 * room cannot be made; the caller then does without the memory.
 */
bool kp_flow_table_reserve(struct kp_flow_table *t, uint64_t bytes, const struct kp_flow *keep);

/* Accounts memory a flow came to own (+) or gave back (-) against the memcap. */
/* The flow with this (normalised) key, or NULL; creates nothing. */
struct kp_flow *kp_flow_table_find(struct kp_flow_table *t, const struct kp_flow_key *k);

void kp_flow_table_mem(struct kp_flow_table *t, int64_t delta);

/* Moves f to the list of its current timeout class (after a state change) and marks activity. */
void kp_flow_table_touch(struct kp_flow_table *t, struct kp_flow *f, uint64_t ts_us);

/* Ends flows idle past their timeout at time now_us. */
void kp_flow_table_expire(struct kp_flow_table *t, uint64_t now_us);

/* Removes and ends one flow now (used by the pipeline on RST-close, etc). */
void kp_flow_table_end(struct kp_flow_table *t, struct kp_flow *f, enum kp_flow_end_reason r);

/* Timeout class that fits the flow's protocol and state. */
enum kp_flow_tclass kp_flow_tclass_of(const struct kp_flow *f);

/* Builds the normalised key of a packet; returns 1 if the packet's source is key side 1. */
int kp_flow_key_make(const struct kp_pkt_info *pi, struct kp_flow_key *k);

/* The stable 52-bit flow id of a key, client side and start time. */
uint64_t kp_flow_id_make(const struct kp_flow_key *k, int client_side, uint64_t start_us);

#endif
