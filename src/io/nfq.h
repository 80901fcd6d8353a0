/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NFQUEUE packet source: one netlink socket (libmnl + libnetfilter_queue's
 * mnl API) bound to one or more queue numbers. It reads packets in batches,
 * hands each to a callback that decides it, and sends the verdicts back in
 * as few netlink messages as order allows (NFQNL_MSG_VERDICT_BATCH for runs of
 * plain accepts, single verdicts for drops and marks), all in one sendto.
 *
 * One struct kp_nfq belongs to one thread. GSO super-packets and fail-open are
 * asked for and the kernel's answer is checked; a refused flag is a warning
 * (stats.flags_refused, kp_nfq_error()), not a failure. ENOBUFS on the socket
 * is counted and survived: a lost packet message is still covered by the next
 * batch verdict of its queue (a batch verdict decides every id up to its own).
 */
#ifndef KP_IO_NFQ_H
#define KP_IO_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* Verdicts, the values of <linux/netfilter.h> (not included: its linux/in.h clashes with
 * <netinet/in.h>). */
#ifndef NF_DROP
#define NF_DROP 0
#endif
#ifndef NF_ACCEPT
#define NF_ACCEPT 1
#endif
#ifndef NF_REPEAT
#define NF_REPEAT 4 /* re-run the hook (with the verdict's mark) */
#endif

struct kp_nfq;

struct kp_nfq_config {
	uint16_t queue_first, queue_count; /* this socket binds queues [first, first+count) */
	uint32_t copy_range;   /* bytes of payload copied (0xffff = all) */
	uint32_t rcvbuf;       /* socket receive buffer, bytes (default 8 MB, SO_RCVBUFFORCE) */
	uint32_t maxlen;       /* queue length in the kernel (default 8192) */
	bool gso;              /* NFQA_CFG_F_GSO */
	bool fail_open;        /* NFQA_CFG_F_FAIL_OPEN */
	uint32_t batch;        /* packets read per run before verdicts are flushed (default 64) */
	/* Extra queue numbers bound besides the range (e.g. i and N+i); 0 count = none. */
	const uint16_t *extra_queues;
	uint16_t extra_count;
	uint32_t extra_copy_range; /* copy range of the extra queues; 0 = copy_range */
};

/* Fills cfg with the defaults (queue 0, one queue, copy all, 8 MB, 8192, GSO, fail-open, 64). */
void kp_nfq_config_default(struct kp_nfq_config *cfg);

/*
 * received/bytes: packets (pkt.len summed); enobufs: socket overflows (each loses one or more
 * packet messages; those packets are still decided by the next batch verdict of their queue);
 * verdicts_sent: verdict messages sent (single + batch), batch_msgs: of which
 * NFQNL_MSG_VERDICT_BATCH; gso: packets with NFQA_SKB_GSO; csum_partial: with
 * NFQA_SKB_CSUMNOTREADY (pkt.flags has KP_PKT_CSUM_OK); recv_errors: failed recv calls and
 * malformed packet messages; truncated: packets longer than the copy range.
 */
struct kp_nfq_stats {
	uint64_t copied;       /* bytes the kernel copied to us (bytes: their length on the wire) */
	uint64_t received, bytes, enobufs, verdicts_sent, batch_msgs, gso, csum_partial,
		recv_errors, truncated;
	uint64_t held, released;       /* packets held for a later verdict, and released */
	uint64_t drops, marks;         /* verdicts by kind (accepts = received - drops) */
	uint64_t nl_errors;            /* NLMSG_ERROR answers to verdicts (e.g. unknown id) */
	uint64_t send_errors;          /* verdict sendto failures */
	uint32_t max_len;              /* largest packet seen (pkt.len) */
	uint32_t flags_granted;        /* NFQA_CFG_F_* the kernel accepted */
	uint32_t flags_refused;        /* NFQA_CFG_F_* asked for and refused (a warning) */
	uint32_t rcvbuf;               /* receive buffer the kernel reports (SO_RCVBUF) */
	bool rcvbuf_forced;            /* SO_RCVBUFFORCE worked (else SO_RCVBUF, capped) */
};

struct kp_nfq_pkt {
	struct kp_packet pkt;
	uint32_t id;
	uint16_t queue;
	uint32_t skb_info;  /* NFQA_SKB_* bits, 0 when absent */
	uint32_t indev, outdev; /* ifindex, 0 when absent */
};

/* The callback decides one packet: returns the verdict (NF_ACCEPT/NF_DROP) and, if *set_mark,
 * the mark to set. *set_mark is false and *mark is the packet's current mark on entry.
 * KP_NFQ_HOLD: no verdict now; the caller gives it later with kp_nfq_release() (the packet
 * stays in the kernel's queue meanwhile, and accepts are no longer batched on that queue). */
#define KP_NFQ_HOLD 0x7fff
typedef int (*kp_nfq_cb)(void *arg, const struct kp_nfq_pkt *p, uint32_t *mark, bool *set_mark);

/* Opens the socket and binds the queues. 0, or -1 with err set. A refused GSO/fail-open flag
 * is not an error: it is recorded in the stats and in kp_nfq_error()'s text (and in err).
 * Packets that arrive while open waits for the kernel's answers are accepted without the
 * callback (they are counted in received). */
int kp_nfq_open(struct kp_nfq **q, const struct kp_nfq_config *cfg, char *err, size_t errlen);
int kp_nfq_fd(const struct kp_nfq *q);
/* Waits up to timeout_ms for packets, reads up to cfg->batch of them (non-blocking after the
 * first), calls cb for each in order, then sends the verdicts. Returns packets handled (>=0), or
 * -1 on a fatal error (err via kp_nfq_error). EINTR returns 0. ENOBUFS is counted and survived. */
int kp_nfq_run_once(struct kp_nfq *q, int timeout_ms, kp_nfq_cb cb, void *arg);
/* The verdict of a held packet (queue number, packet id): sent at once. 0 or -1. */
int kp_nfq_release(struct kp_nfq *q, uint16_t queue, uint32_t id, int verdict);
/* Accepts, in one NFQNL_MSG_VERDICT_BATCH, every packet of queue up to id (in the kernel's
 * wrap-around id order) still without a verdict: held ones, and any whose message was lost
 * to ENOBUFS. For a caller that releases held packets in arrival order (a FIFO delay line):
 * only correct if every held packet with a smaller id is due too. held_count: how many held
 * packets this releases (for the held/released counters). Verdicts recorded so far go first.
 * 0 or -1. */
int kp_nfq_release_upto(struct kp_nfq *q, uint16_t queue, uint32_t id, uint32_t held_count);
/* Changes the copy range of every bound queue (e.g. headers only while no flow needs payload).
 * 0 or -1 (err via kp_nfq_error). */
int kp_nfq_set_copy_range(struct kp_nfq *q, uint32_t copy_range);
const struct kp_nfq_stats *kp_nfq_stats(const struct kp_nfq *q);
/* Times the receive (recv + parse) and verdict (record + batched send) stages of the sampled
 * packets into tm (the pipeline's counters, engine/timing.h); NULL = no timing. */
void kp_nfq_set_timing(struct kp_nfq *q, struct kp_timing *tm);
/* The last error, or the last warning (refused flag, rcvbuf capped); "" when none. */
const char *kp_nfq_error(const struct kp_nfq *q);
void kp_nfq_close(struct kp_nfq *q); /* unbinds the queues; packets still queued are accepted first */

#endif
