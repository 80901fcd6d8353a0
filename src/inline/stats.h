/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inline `stats` event: totals over the workers (packets, verdicts,
 * bypass, blocks, queue counters, per-application flows) and the connection
 * cache with each entry's hits and time left. Written periodically, on
 * SIGUSR1 and when the daemon stops.
 */
#ifndef KP_INLINE_STATS_H
#define KP_INLINE_STATS_H

#include <stdint.h>

#include "output/json.h"

struct kp_worker;
struct kp_conncache;
struct kp_output;

#define KP_STATS_CACHE_LIST 256 /* entries listed at most (the counters cover all) */

struct kp_shaper;

struct kp_stats_ctx {
	struct kp_worker *w;
	unsigned nw;
	struct kp_conncache *cache;
	struct kp_output *out;
	struct kp_shaper *shaper;      /* NULL: no bandwidth limits */
	const char *const *ifaces;
	unsigned n_ifaces;
};

void kp_stats_init(struct kp_stats_ctx *s, struct kp_worker *w, unsigned nw,
		   struct kp_conncache *cache, struct kp_output *out);
void kp_stats_write(struct kp_stats_ctx *s, uint64_t ct_events_lost);

#endif
