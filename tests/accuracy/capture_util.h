/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers for the capture-level checks (isolation, MSE false positives): load a
 * capture into memory with each packet's flow key, and run a pipeline over all
 * or some packets while recording the label each flow ends with.
 */
#ifndef KP_TESTS_CAPTURE_UTIL_H
#define KP_TESTS_CAPTURE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "decode/decode.h"
#include "engine/engine.h"
#include "flow/flow_key.h"

struct cap_pkt {
	uint8_t *data;
	uint32_t caplen, len;
	uint64_t ts;
	int dlt;
	int keyed;                /* decoded to TCP/UDP: key and info below are valid */
	struct kp_flow_key key;
	int dir_hint;             /* key side that sent it (0/1) */
	uint32_t seq;             /* TCP */
	uint8_t tcp_flags, l4;
	uint32_t off, plen;       /* payload offset and length inside data (via decode) */
};

struct capture {
	struct cap_pkt *p;
	size_t n;
};

struct label {
	struct kp_flow_key key;
	uint16_t app;
	uint8_t conf;
	uint64_t parent;
};

struct labels {
	struct label *l;
	size_t n, cap;
};

/* Loads path; returns 0 or -1 (message printed). */
int capture_load(const char *path, struct capture *c);
void capture_free(struct capture *c);

/* Runs a fresh pipeline over the packets of c (only those of key `only` when not NULL). */
void capture_classify(const struct kp_config *cfg, const struct capture *c,
		      const struct kp_flow_key *only, struct labels *out);

const struct label *labels_find(const struct labels *ls, const struct kp_flow_key *k);

#endif
