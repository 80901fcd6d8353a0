/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The peer cache (see peer_cache.h). */
#include "classify/peer_cache.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW 8

int kp_peer_cache_init(struct kp_peer_cache *c, uint32_t size, uint32_t ttl_s)
{
	uint32_t n = 16;

	memset(c, 0, sizeof(*c));
	while (n < size && n < (1u << 24))
		n <<= 1;
	c->e = calloc(n, sizeof(*c->e));
	if (!c->e)
		return -12;
	c->size = n;
	c->ttl_s = ttl_s;
	return 0;
}

void kp_peer_cache_fini(struct kp_peer_cache *c)
{
	free(c->e);
	c->e = NULL;
}

static uint32_t slot(const struct kp_peer_cache *c, int family, const uint8_t *addr, uint16_t port)
{
	uint32_t h = 2166136261u;
	size_t alen = family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < alen; i++)
		h = (h ^ addr[i]) * 16777619u;
	h = (h ^ port) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h & (c->size - 1);
}

static bool same(const struct kp_peer_entry *e, int family, const uint8_t *addr, uint16_t port)
{
	return e->family == family && e->port == port &&
	       !memcmp(e->addr, addr, family == AF_INET ? 4 : 16);
}

void kp_peer_cache_note(struct kp_peer_cache *c, int family, const uint8_t *addr, uint16_t port,
			unsigned app, uint64_t now_us)
{
	uint32_t s;
	struct kp_peer_entry *victim = NULL;

	if (!c->e)
		return;
	s = slot(c, family, addr, port);
	for (int i = 0; i < WINDOW; i++) {
		struct kp_peer_entry *e = &c->e[(s + (uint32_t)i) & (c->size - 1)];

		if (e->family && same(e, family, addr, port)) {
			e->seen_us = now_us;
			e->app = (uint8_t)app;
			return;
		}
		if (!victim || e->seen_us < victim->seen_us)
			victim = e;
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, addr, family == AF_INET ? 4 : 16);
	victim->family = (uint8_t)family;
	victim->port = port;
	victim->app = (uint8_t)app;
	victim->seen_us = now_us;
	c->inserts++;
}

bool kp_peer_cache_seen(struct kp_peer_cache *c, int family, const uint8_t *addr, uint16_t port,
			unsigned app, uint64_t now_us)
{
	uint32_t s;

	if (!c->e)
		return false;
	c->lookups++;
	s = slot(c, family, addr, port);
	for (int i = 0; i < WINDOW; i++) {
		const struct kp_peer_entry *e = &c->e[(s + (uint32_t)i) & (c->size - 1)];

		if (e->family && same(e, family, addr, port) && e->app == app &&
		    e->seen_us + (uint64_t)c->ttl_s * 1000000 >= now_us) {
			c->hits++;
			return true;
		}
	}
	return false;
}
