/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helpers for application modules: build the probe context that the
 * classifier would build for a flow whose directions carried the given bytes,
 * and run a module's probe on it. Payloads come from real captures (see each
 * module's test file for where each one comes from).
 */
#ifndef KP_TESTS_APP_PROBE_UTIL_H
#define KP_TESTS_APP_PROBE_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "app/app.h"

struct probe_case {
	uint8_t l4;                    /* IPPROTO_TCP / IPPROTO_UDP */
	const uint8_t *c2s; size_t c2s_len; /* client's bytes (TCP prefix or first datagram) */
	const uint8_t *s2c; size_t s2c_len; /* server's bytes */
	uint8_t dir;                   /* which side's bytes are "new" (data/len) */
	uint16_t cport, sport;
};

/* Fills ctx as the classifier would for the flow pc describes (the first packet per side). */
static inline void probe_ctx_fill(struct kp_app_ctx *ctx, const struct probe_case *pc)
{
	static const uint8_t ca[4] = {198, 18, 0, 1}, sa[4] = {198, 19, 0, 1};

	memset(ctx, 0, sizeof(*ctx));
	ctx->l4 = pc->l4;
	ctx->dir = pc->dir;
	ctx->buf[0] = pc->c2s;
	ctx->buf_len[0] = pc->c2s_len;
	ctx->buf[1] = pc->s2c;
	ctx->buf_len[1] = pc->s2c_len;
	ctx->data = pc->dir ? pc->s2c : pc->c2s;
	ctx->len = pc->dir ? pc->s2c_len : pc->c2s_len;
	ctx->flight[0] = (uint32_t)pc->c2s_len;
	ctx->flight[1] = (uint32_t)pc->s2c_len;
	ctx->npkts[0] = pc->c2s_len ? 1 : 0;
	ctx->npkts[1] = pc->s2c_len ? 1 : 0;
	ctx->cport = pc->cport;
	ctx->sport = pc->sport;
	ctx->family = AF_INET;
	ctx->caddr = ca;
	ctx->saddr = sa;
}

/* Runs mod->probe as the classifier would and returns the result; fills *m. */
static inline enum kp_probe_result probe_run(const struct kp_app_module *mod,
					     const struct probe_case *pc, struct kp_match *m)
{
	struct kp_app_ctx ctx;

	probe_ctx_fill(&ctx, pc);
	memset(m, 0, sizeof(*m));
	return mod->probe(&ctx, m);
}

#endif
