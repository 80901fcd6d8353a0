/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Out-of-order TCP segments: fast pass or hold (config stream.ooo).
 *
 * Per flow direction the pipeline tracks the edge of what it forwarded in
 * order (the receiver's rcv_nxt as far as the gateway knows). A data segment
 * that starts beyond that edge arrived out of order:
 *
 * - fastpass: it is accepted at once (its copy waits in reassembly, stream/,
 *   and is inspected once the hole fills) and counted;
 * - hold (the P2PADM behaviour): inline, its verdict is KP_VERDICT_HOLD with a
 *   hold id; it is released (accepted, in sequence order) when the hole before
 *   it fills, or when stream.hold_timeout passes, whichever comes first. At
 *   most stream.hold_max packets are held per pipeline: beyond, fast pass
 *   (counted as overflow). Offline nothing is held, but the counters say what
 *   would have been held and for how long (capture timestamps).
 *
 * Releases go through the pipeline's release callback (content.release, the
 * one the scanner's held tails use; the inline worker maps hold ids to queued
 * packets). They are queued and given after the verdict of the packet in hand
 * (kp_ooo_release_pending), so that a hole's filler goes out before what it
 * releases.
 */
#ifndef KP_ENGINE_OOO_H
#define KP_ENGINE_OOO_H

#include <stdbool.h>
#include <stdint.h>

struct kp_engine;
struct kp_flow;
struct kp_verdict;

enum kp_ooo_mode {
	KP_OOO_FASTPASS = 0,
	KP_OOO_HOLD,
};

/* A range forwarded (or held) beyond the in-order edge of one flow direction. */
struct kp_ooo_ent {
	struct kp_ooo_ent *next;          /* the direction's list, sorted by seq */
	struct kp_ooo_ent *tprev, *tnext; /* the pipeline's held list, by arrival (held only) */
	struct kp_flow *flow;
	uint32_t seq, end;
	uint64_t hold_id;                 /* 0: not held (passed, kept to see the hole fill) */
	uint64_t since_us;
	uint8_t dir;
};

struct kp_ooo_stats {
	uint64_t fastpassed;       /* segments accepted at once although out of order */
	uint64_t held;             /* segments held (offline: that would have been held) */
	uint64_t released_fill;    /* held segments released because the hole filled */
	uint64_t released_timeout; /* held segments released by stream.hold_timeout */
	uint64_t released_end;     /* held segments released because their flow ended */
	uint64_t dropped;          /* held segments dropped: their flow was blocked meanwhile */
	uint64_t overflow;         /* out-of-order segments fast-passed: stream.hold_max reached */
	uint64_t held_us_total;    /* time held, summed over released segments */
	uint64_t held_us_max;
	uint64_t untracked;        /* ranges not recorded (per-direction bound): counts may drift */
};

struct kp_ooo_release {
	uint64_t hold_id;
	bool accept;
};

/* Per pipeline (embedded in struct kp_engine). */
struct kp_ooo {
	uint8_t mode;              /* enum kp_ooo_mode */
	uint64_t timeout_us;
	uint32_t max;              /* packets held at once */
	uint32_t n_held;
	struct kp_ooo_ent *thead, *ttail;
	uint64_t next_id;
	struct kp_ooo_release *pend; /* releases due, given by kp_ooo_release_pending */
	uint32_t n_pend, cap_pend;
};

/*
 * The verdict of a forwarded (accepted, or held for a scan) data segment of TCP
 * flow f (direction dir, first sequence number seq, len bytes on the wire) is in
 * v: tracks the in-order edge, holds the segment if it is out of order and the
 * mode says hold (v becomes
 * KP_VERDICT_HOLD inline), and releases what an in-order segment un-holds.
 */
void kp_ooo_segment(struct kp_engine *e, struct kp_flow *f, int dir, uint32_t seq, uint32_t len,
		    struct kp_verdict *v);

/* The in-order edge of f's direction dir as forwarded so far; false if unknown. */
bool kp_ooo_edge(const struct kp_flow *f, int dir, uint32_t *edge);

/* A SYN of direction dir with sequence number isn: the edge starts after it. */
void kp_ooo_syn(struct kp_flow *f, int dir, uint32_t isn);

/* Releases held segments that waited stream.hold_timeout (pipeline clock e->now_us). */
void kp_ooo_tick(struct kp_engine *e);

/* Gives the queued releases to the release callback, in order. */
void kp_ooo_release_pending(struct kp_engine *e);

/* The flow ends: its held segments are released (dropped if it was blocked), ranges freed. */
void kp_ooo_flow_end(struct kp_engine *e, struct kp_flow *f);

/* Whether anything is held or due for release (the worker then ticks more often). */
bool kp_ooo_busy(const struct kp_engine *e);

void kp_ooo_fini(struct kp_engine *e);

#endif
