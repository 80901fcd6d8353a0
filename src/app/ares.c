/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ares Galaxy. Messages to a supernode are framed as a little-endian uint16
 * body length, a type byte and the body. The only plain-text structure public
 * descriptions agree on (l7-filter's ares notes, tested with Ares 1.8.8) is the
 * client's login to a supernode: body length 3, type 0x5A (0x5D from a
 * supernode), three bytes of which the last is 0x05. File transfers and later
 * messages are obfuscated (the corpus' aresdownload samples are), so they are
 * not matched. The probe checks the login frame and, when the client sent more
 * in the same flight, that the next frame header is plausible too.
 */
#include "app/app.h"

#include <netinet/in.h>
#include <string.h>

#include "output/json.h"

#define ARES_LOGIN_LEN 6

struct ares_state {
	uint8_t login_type; /* 0x5A leaf, 0x5D supernode */
	uint8_t login[3];
};

static enum kp_probe_result ares_login(const uint8_t *b, size_t len)
{
	if (len >= 1 && b[0] != 0x03)
		return KP_PROBE_EXCLUDE;
	if (len >= 2 && b[1] != 0x00)
		return KP_PROBE_EXCLUDE;
	if (len >= 3 && b[2] != 0x5a && b[2] != 0x5d)
		return KP_PROBE_EXCLUDE;
	if (len < ARES_LOGIN_LEN)
		return KP_PROBE_NEED_MORE;
	if (b[5] != 0x05)
		return KP_PROBE_EXCLUDE;
	if (len > ARES_LOGIN_LEN) {
		/* Something else followed in the same flight: it must be a frame too. */
		if (len < ARES_LOGIN_LEN + 3)
			return KP_PROBE_NEED_MORE;
		if (kp_le16(b + ARES_LOGIN_LEN) > 4096)
			return KP_PROBE_EXCLUDE;
	}
	return KP_PROBE_MATCH;
}

static enum kp_probe_result ares_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	enum kp_probe_result r;

	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	if (ctx->buf_len[KP_DIR_TOSERVER] == 0)
		return ctx->buf_len[KP_DIR_TOCLIENT] ? KP_PROBE_EXCLUDE : KP_PROBE_NEED_MORE;
	r = ares_login(ctx->buf[KP_DIR_TOSERVER], ctx->buf_len[KP_DIR_TOSERVER]);
	if (r == KP_PROBE_MATCH) {
		m->app = KP_APP_ARES;
		/* Six bytes with four fixed ones: structure, but short and from one source. */
		m->confidence = KP_CONF_MEDIUM;
	}
	return r;
}

static enum kp_parse_result ares_parse(struct kp_app_ctx *ctx, void *state)
{
	struct ares_state *st = state;

	if (ctx->dir == KP_DIR_TOSERVER && ctx->len >= ARES_LOGIN_LEN && !st->login_type) {
		st->login_type = ctx->data[2];
		memcpy(st->login, ctx->data + 3, 3);
	}
	return st->login_type ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void ares_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct ares_state *st = state;

	(void)f;
	kp_json_obj(j, "ares");
	if (st->login_type) {
		kp_json_str(j, "login", st->login_type == 0x5d ? "supernode" : "leaf");
		kp_json_hex(j, "login_bytes", st->login, 3);
	}
	kp_json_end(j);
}

const struct kp_app_module kp_mod_ares = {
    .name = "ares",
    .l4 = KP_L4_TCP,
    .port_hints = {0},
    .probe = ares_probe,
    .state_size = sizeof(struct ares_state),
    .parse = ares_parse,
    .free_state = NULL,
    .json = ares_json,
};
