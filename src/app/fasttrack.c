/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FastTrack (KaZaA, Grokster, iMesh). Almost all of FastTrack is encrypted:
 * the supernode session starts with a 4-byte random seed and a 4-byte mangled
 * encryption type, which a probe cannot tell from random bytes, so it is not
 * matched here. The one plain-text message public descriptions (giFT-FastTrack,
 * l7-filter) agree on is the push answer: a firewalled uploader connects back
 * and opens with "GIVE <push id>" followed by a line end. File transfers are
 * HTTP with X-Kazaa-* headers: the http module's job. Written from public
 * descriptions only; the corpus has no FastTrack capture.
 */
#include "app/app.h"

#include <netinet/in.h>
#include <string.h>

#include "output/json.h"

struct fasttrack_state {
	uint32_t push_id;
	bool have_push;
};

/* "GIVE " 1-10 digits then '\r', '\n' or ':'. Returns the push id through *id. */
static enum kp_probe_result ft_give(const uint8_t *b, size_t len, uint32_t *id)
{
	static const char give[] = "GIVE ";
	size_t i, d = 0;
	uint64_t v = 0;

	if (len < 5)
		return memcmp(b, give, len) == 0 ? KP_PROBE_NEED_MORE : KP_PROBE_EXCLUDE;
	if (memcmp(b, give, 5) != 0)
		return KP_PROBE_EXCLUDE;
	for (i = 5; i < len && b[i] >= '0' && b[i] <= '9'; i++) {
		if (++d > 10)
			return KP_PROBE_EXCLUDE;
		v = v * 10 + (b[i] - '0');
	}
	if (i >= len)
		return KP_PROBE_NEED_MORE;
	if (d == 0 || v > UINT32_MAX || (b[i] != '\r' && b[i] != '\n' && b[i] != ':'))
		return KP_PROBE_EXCLUDE;
	*id = (uint32_t)v;
	return KP_PROBE_MATCH;
}

static enum kp_probe_result fasttrack_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	uint32_t id;
	enum kp_probe_result r;

	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	if (ctx->buf_len[KP_DIR_TOSERVER] == 0)
		return ctx->buf_len[KP_DIR_TOCLIENT] ? KP_PROBE_EXCLUDE : KP_PROBE_NEED_MORE;
	r = ft_give(ctx->buf[KP_DIR_TOSERVER], ctx->buf_len[KP_DIR_TOSERVER], &id);
	if (r == KP_PROBE_MATCH) {
		m->app = KP_APP_FASTTRACK;
		m->confidence = KP_CONF_MEDIUM;
	}
	return r;
}

static enum kp_parse_result fasttrack_parse(struct kp_app_ctx *ctx, void *state)
{
	struct fasttrack_state *st = state;

	if (ctx->dir == KP_DIR_TOSERVER && !st->have_push &&
	    ft_give(ctx->data, ctx->len, &st->push_id) == KP_PROBE_MATCH)
		st->have_push = true;
	return KP_PARSE_DONE;
}

static void fasttrack_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct fasttrack_state *st = state;

	(void)f;
	kp_json_obj(j, "fasttrack");
	if (st->have_push)
		kp_json_u64(j, "push_id", st->push_id);
	kp_json_end(j);
}

const struct kp_app_module kp_mod_fasttrack = {
    .name = "fasttrack",
    .l4 = KP_L4_TCP,
    .port_hints = {1214, 0},
    .probe = fasttrack_probe,
    .state_size = sizeof(struct fasttrack_state),
    .parse = fasttrack_parse,
    .free_state = NULL,
    .json = fasttrack_json,
};
