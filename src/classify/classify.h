/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Classification: offers a flow's payload to the application modules until
 * one matches, every module has excluded it, or the packet budget
 * (classify.packets) is spent; then, for flows still unknown, the user
 * signatures; then hands later bytes to the matching module's parser.
 *
 * Order of offers: modules whose port hints name one of the flow's ports,
 * then the rest in registry order (module_list.def). The port only orders;
 * the label always comes from content.
 */
#ifndef KP_CLASSIFY_CLASSIFY_H
#define KP_CLASSIFY_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "app/app.h"
#include "classify/expect.h"
#include "classify/peer_cache.h"

struct kp_flow;
struct kp_engine;
struct kp_sigset;
struct kp_sig_scratch;

/* Probe-phase buffers of one flow (freed when classification ends). */
struct kp_probe_bufs {
	uint32_t len[2], cap;
	uint32_t l7_cap;
	uint32_t flight[2];      /* first flight per direction (see app.h) */
	uint8_t flight_done[2];  /* the other side has answered: flight frozen */
	uint32_t npkts[2];
	uint32_t l7_len;
	uint8_t *buf[2];         /* point into `mem` */
	uint8_t *l7;             /* arrival order, NULs removed, for signatures */
	uint8_t mem[];
};

struct kp_classify_stats {
	uint64_t probes;         /* probe calls */
	uint64_t matched[KP_APP__COUNT];
	uint64_t by_expectation;
	uint64_t by_signature;
	uint64_t gave_up;
	uint64_t parse_calls;
};

struct kp_classifier {
	const struct kp_sigset *sigs;    /* shared, read-only; NULL = none */
	struct kp_sig_scratch *scratch;  /* owned, per pipeline */
	struct kp_expect_table expect;
	struct kp_peer_cache peers;
	struct kp_classify_stats st;
	uint32_t max_pkts, buf_cap, l7_cap;
};

/* Probe buffers of cap bytes per direction and an l7 buffer of l7_cap bytes (free()). */
struct kp_probe_bufs *kp_probe_bufs_new(uint32_t cap, uint32_t l7_cap);

/*
 * Appends bytes of one direction the way classification keeps them: TCP, the
 * stream prefix; UDP, the first datagram; the first flights (bytes a side sent
 * before the other answered); the l7 buffer in arrival order without NULs.
 * Packet counts (npkts) are the caller's.
 */
void kp_probe_bufs_append(struct kp_probe_bufs *pb, uint8_t l4, int dir, const uint8_t *data,
			  uint32_t len);

/*
 * Fills what a module sees of flow f: transport, direction, the new bytes,
 * addresses and ports by role, and, when pb is given, the probe-phase view.
 */
void kp_app_ctx_init(struct kp_app_ctx *ctx, struct kp_engine *eng, const struct kp_flow *f,
		     int dir, const uint8_t *data, size_t len, bool gap, uint64_t ts_us,
		     const struct kp_probe_bufs *pb);

/* A new flow: checks expectations (ftp-data, DCC). */
void kp_classify_flow_new(struct kp_engine *eng, struct kp_flow *f, uint64_t ts_us);

/*
 * Offers new payload of direction dir. For TCP, `data` is newly in-order
 * bytes (gap: bytes were lost before them); for UDP one datagram. new_pkt is
 * true for the first chunk a packet brings (drives the packet budget).
 */
void kp_classify_data(struct kp_engine *eng, struct kp_flow *f, int dir, const uint8_t *data,
		      uint32_t len, bool gap, bool new_pkt, uint64_t ts_us);

/* The flow is ending: gives pending classification its last chance, frees probe state. */
void kp_classify_flow_end(struct kp_engine *eng, struct kp_flow *f);

/* Frees what classification gave the flow (module state, event text, probe buffers). */
void kp_classify_flow_free(struct kp_engine *eng, struct kp_flow *f);

#endif
