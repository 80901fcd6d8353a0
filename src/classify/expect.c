/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Expected connections (see expect.h). */
#include "classify/expect.h"

#include <netinet/in.h>
#include <string.h>

void kp_expect_table_init(struct kp_expect_table *t, uint32_t ttl_s)
{
	memset(t, 0, sizeof(*t));
	t->ttl_s = ttl_s;
}

void kp_expect_table_add(struct kp_expect_table *t, int family, const uint8_t *addr,
			 uint16_t port, uint8_t l4, unsigned app, uint64_t parent_id,
			 uint64_t now_us)
{
	struct kp_expect *e = &t->e[t->next];
	size_t alen = family == AF_INET ? 4 : 16;

	/* Refresh an identical pending entry instead of adding a twin. */
	for (unsigned i = 0; i < KP_EXPECT_MAX; i++) {
		struct kp_expect *c = &t->e[i];

		if (c->used && c->port == port && c->family == family && c->l4 == l4 &&
		    !memcmp(c->addr, addr, alen)) {
			c->app = (uint16_t)app;
			c->parent_id = parent_id;
			c->expires_us = now_us + (uint64_t)t->ttl_s * 1000000;
			return;
		}
	}
	if (e->used && e->expires_us > now_us)
		t->overwritten++;
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, addr, alen);
	e->port = port;
	e->family = (uint8_t)family;
	e->l4 = l4;
	e->app = (uint16_t)app;
	e->parent_id = parent_id;
	e->expires_us = now_us + (uint64_t)t->ttl_s * 1000000;
	e->used = true;
	t->next = (t->next + 1) % KP_EXPECT_MAX;
	t->added++;
}

const struct kp_expect *kp_expect_table_take(struct kp_expect_table *t, int family,
					     const uint8_t *addr, uint16_t port, uint8_t l4,
					     uint64_t now_us)
{
	size_t alen = family == AF_INET ? 4 : 16;

	if (t->added == t->matched)
		return NULL; /* nothing pending: the common case costs one compare */
	for (unsigned i = 0; i < KP_EXPECT_MAX; i++) {
		struct kp_expect *c = &t->e[i];

		if (!c->used || c->port != port || c->family != family || c->l4 != l4 ||
		    memcmp(c->addr, addr, alen))
			continue;
		c->used = false;
		if (c->expires_us < now_us)
			continue;
		t->matched++;
		return c;
	}
	return NULL;
}
