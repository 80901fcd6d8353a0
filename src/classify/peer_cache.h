/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The peer cache: endpoints (address, port) recently seen speaking a P2P
 * protocol, learnt from classified flows and from tracker answers. It is the
 * one documented way in which a flow's label may depend on another flow: the
 * behavioural MSE/PE rule gains confidence when an endpoint is in the cache.
 * Fixed-size open-addressing table; an insert overwrites the oldest entry of
 * its probe window; entries expire after ttl seconds. Port 0 = any port.
 */
#ifndef KP_CLASSIFY_PEER_CACHE_H
#define KP_CLASSIFY_PEER_CACHE_H

#include <stdbool.h>
#include <stdint.h>

struct kp_peer_entry {
	uint8_t addr[16];
	uint16_t port;
	uint8_t family;
	uint8_t app;
	uint64_t seen_us;
};

struct kp_peer_cache {
	struct kp_peer_entry *e; /* owned */
	uint32_t size;           /* power of two */
	uint32_t ttl_s;
	uint64_t inserts, hits, lookups;
};

int kp_peer_cache_init(struct kp_peer_cache *c, uint32_t size, uint32_t ttl_s);
void kp_peer_cache_fini(struct kp_peer_cache *c);
void kp_peer_cache_note(struct kp_peer_cache *c, int family, const uint8_t *addr, uint16_t port,
			unsigned app, uint64_t now_us);
bool kp_peer_cache_seen(struct kp_peer_cache *c, int family, const uint8_t *addr, uint16_t port,
			unsigned app, uint64_t now_us);

#endif
