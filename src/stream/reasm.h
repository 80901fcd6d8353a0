/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP reassembly, one direction at a time.
 *
 * Sequence numbers are compared modulo 2^32 (wraparound safe). In-order
 * bytes are handed to a callback as they become contiguous; out-of-order
 * segments are copied and kept sorted until the hole before them fills.
 *
 * Overlap policy: first data wins. Bytes already delivered or already
 * buffered are never replaced by a later segment covering the same sequence
 * numbers (the same policy as the BSD/"first" targets of Suricata); when the
 * later copy differs, overlap_diff counts it, because differing retransmits
 * are how evasions hide data.
 *
 * Gaps: a hole is declared when the peer acknowledges data we never saw
 * (capture loss), when a direction buffers more than max_ooo bytes out of
 * order, when the global memcap refuses a segment that is then needed, or
 * when the flow ends with holes. Delivery resumes after the hole with
 * gap = true, and the module decides whether its protocol can go on.
 *
 * Depth: once `depth` bytes of a direction were delivered, nothing more is
 * buffered or delivered for it (depth_reached). A depth of 0 means unlimited.
 */
#ifndef KP_STREAM_REASM_H
#define KP_STREAM_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KP_SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define KP_SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define KP_SEQ_GT(a, b) KP_SEQ_LT(b, a)
#define KP_SEQ_GEQ(a, b) KP_SEQ_LEQ(b, a)

struct kp_seg {
	struct kp_seg *next;
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

/* Per-direction state, embedded in the flow. */
struct kp_stream_dir {
	uint32_t next_seq;   /* next sequence number to deliver */
	uint32_t ooo_bytes;  /* bytes held in `ooo` */
	uint64_t delivered;  /* bytes delivered in order (including skipped gaps? no: data only) */
	struct kp_seg *ooo;  /* owned: out-of-order segments sorted by seq, not overlapping */
	bool init;           /* next_seq is valid */
	bool gap_pending;    /* the next delivery follows a hole */
	bool depth_reached;
	bool off;            /* inspection no longer needs this direction */
	bool no_depth;       /* content management needs the whole direction: depth does not apply */
};

struct kp_stream_stats {
	uint64_t segments;       /* data segments fed */
	uint64_t in_order;       /* delivered straight without copying */
	uint64_t ooo_buffered;   /* segments (or parts) copied out of order */
	uint64_t retrans;        /* segments entirely before next_seq */
	uint64_t overlaps;       /* segments that overlapped held or delivered data */
	uint64_t overlap_diff;   /* overlapping bytes that differed from the first copy */
	uint64_t gaps;           /* holes declared */
	uint64_t gap_bytes;      /* bytes skipped over holes (when known) */
	uint64_t memcap_drops;   /* segments refused by the memcap */
	uint64_t depth_reached;  /* directions that hit the depth limit */
	uint64_t mem_used;       /* bytes currently held (segments + headers) */
	uint64_t mem_peak;
};

struct kp_stream_cfg {
	uint64_t depth;     /* bytes per direction to deliver; 0 = unlimited */
	uint64_t memcap;    /* bytes held out of order, all flows of this pipeline */
	uint32_t max_ooo;   /* bytes held out of order per direction before forcing a gap */
};

struct kp_stream {
	struct kp_stream_cfg cfg;
	struct kp_stream_stats st;
};

/* Receives contiguous bytes of one direction; gap: bytes were lost before these. */
typedef void (*kp_stream_deliver_fn)(void *arg, const uint8_t *data, uint32_t len, bool gap);

/* A SYN (or SYN/ACK) was seen in this direction with sequence number isn. */
void kp_stream_syn(struct kp_stream_dir *d, uint32_t isn);

/* Feeds one data segment of this direction. */
void kp_stream_data(struct kp_stream *s, struct kp_stream_dir *d, uint32_t seq,
		    const uint8_t *data, uint32_t len, kp_stream_deliver_fn cb, void *arg);

/* The peer acknowledged `ack` for this direction: declares a gap if data was never seen. */
void kp_stream_ack(struct kp_stream *s, struct kp_stream_dir *d, uint32_t ack,
		   kp_stream_deliver_fn cb, void *arg);

/* Delivers what is still held (across holes) and frees it: the flow is ending. */
void kp_stream_flush(struct kp_stream *s, struct kp_stream_dir *d, kp_stream_deliver_fn cb,
		     void *arg);

/* Frees held segments without delivering them; the direction stops (inspection done). */
void kp_stream_dir_release(struct kp_stream *s, struct kp_stream_dir *d);

#endif
