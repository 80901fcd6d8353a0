/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Soulseek. Every message is a little-endian uint32 length then the body.
 * Written from the public protocol description (museek/Nicotine+ docs), there
 * is no Soulseek capture in the corpus. A new TCP connection opens with one of:
 *   server Login:   len, uint32 code 1, string user, string password,
 *                   uint32 version, string md5hex(user+password), uint32 minor
 *   PeerInit:       len, uint8 1, string user, string type ("P" "F" "D"), uint32 token
 *   PierceFirewall: len 5, uint8 0, uint32 token
 * (a string is a uint32 length then bytes). The probe checks that every string
 * lies inside the declared message length and that the fields add up exactly.
 */
#include "app/app.h"

#include <netinet/in.h>
#include <string.h>

#include "output/json.h"

#define SLSK_NAME_MAX 64 /* longest user name accepted by the probe */

struct soulseek_state {
	uint8_t kind; /* 1 login, 2 peer init, 3 pierce firewall */
	char user[SLSK_NAME_MAX + 1];
	char conn_type[2];
	uint32_t version;
	uint32_t token;
	bool login_answered, login_ok;
};

/* Reads a string of at most max bytes of printable text; NULL on failure. */
static const uint8_t *slsk_str(struct kp_cur *c, uint32_t max, uint32_t *n)
{
	const uint8_t *s;

	*n = kp_cur_le32(c);
	if (c->err || *n == 0 || *n > max)
		return NULL;
	s = kp_cur_take(c, *n);
	if (!s)
		return NULL;
	for (uint32_t i = 0; i < *n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return NULL;
	return s;
}

/*
 * Checks the first message of a client buffer. Returns MATCH with *kind set,
 * NEED_MORE while the message is incomplete but plausible, EXCLUDE otherwise.
 */
static enum kp_probe_result slsk_first(const uint8_t *b, size_t len, uint8_t *kind,
				       struct soulseek_state *out)
{
	struct kp_cur c;
	uint32_t mlen, n, n2;
	const uint8_t *s, *t;

	if (len < 4)
		return KP_PROBE_NEED_MORE;
	mlen = kp_le32(b);
	if (mlen < 5 || mlen > 4 + 4 + SLSK_NAME_MAX + 4 + 256 + 4 + 4 + 32 + 4)
		return KP_PROBE_EXCLUDE;
	if (len < 5)
		return KP_PROBE_NEED_MORE;
	if (b[4] == 0) { /* PierceFirewall */
		if (mlen != 5)
			return KP_PROBE_EXCLUDE;
		if (len < 9)
			return KP_PROBE_NEED_MORE;
		*kind = 3;
		if (out)
			out->token = kp_le32(b + 5);
		return KP_PROBE_MATCH;
	}
	if (len < 4 + (size_t)mlen) {
		/* Incomplete: the leading code must still be possible. */
		if (b[4] != 1)
			return KP_PROBE_EXCLUDE;
		return KP_PROBE_NEED_MORE;
	}
	c = kp_cur_make(b + 4, mlen);
	if (b[4] == 1 && mlen >= 4 + 4 && kp_le32(b + 4) == 1 && len >= 12) {
		/* Server login: code 1 as uint32. */
		kp_cur_skip(&c, 4);
		s = slsk_str(&c, SLSK_NAME_MAX, &n);
		t = s ? slsk_str(&c, 256, &n2) : NULL;
		if (s && t) {
			uint32_t ver = kp_cur_le32(&c), hn;
			const uint8_t *h = slsk_str(&c, 32, &hn);

			kp_cur_le32(&c); /* minor version */
			if (h && hn == 32 && !c.err && kp_cur_left(&c) == 0 && ver > 0 &&
			    ver < 10000) {
				for (uint32_t i = 0; i < 32; i++) {
					uint8_t x = h[i];

					if (!((x >= '0' && x <= '9') || (x >= 'a' && x <= 'f') ||
					      (x >= 'A' && x <= 'F')))
						return KP_PROBE_EXCLUDE;
				}
				*kind = 1;
				if (out) {
					memcpy(out->user, s, n);
					out->user[n] = 0;
					out->version = ver;
				}
				return KP_PROBE_MATCH;
			}
		}
		c = kp_cur_make(b + 4, mlen);
	}
	if (b[4] == 1) { /* PeerInit: code 1 as uint8 */
		kp_cur_skip(&c, 1);
		s = slsk_str(&c, SLSK_NAME_MAX, &n);
		t = s ? slsk_str(&c, 1, &n2) : NULL;
		kp_cur_le32(&c); /* token */
		if (!s || !t || c.err || kp_cur_left(&c) != 0)
			return KP_PROBE_EXCLUDE;
		if (t[0] != 'P' && t[0] != 'F' && t[0] != 'D')
			return KP_PROBE_EXCLUDE;
		*kind = 2;
		if (out) {
			memcpy(out->user, s, n);
			out->user[n] = 0;
			out->conn_type[0] = (char)t[0];
			out->token = kp_le32(b + 4 + mlen - 4);
		}
		return KP_PROBE_MATCH;
	}
	return KP_PROBE_EXCLUDE;
}

static enum kp_probe_result soulseek_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	uint8_t kind = 0;
	enum kp_probe_result r;

	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	if (ctx->buf_len[KP_DIR_TOSERVER] == 0)
		return ctx->buf_len[KP_DIR_TOCLIENT] ? KP_PROBE_EXCLUDE : KP_PROBE_NEED_MORE;
	r = slsk_first(ctx->buf[KP_DIR_TOSERVER], ctx->buf_len[KP_DIR_TOSERVER], &kind, NULL);
	if (r != KP_PROBE_MATCH)
		return r;
	m->app = KP_APP_SOULSEEK;
	/* A 9-byte PierceFirewall has little structure to check. */
	m->confidence = kind == 3 ? KP_CONF_MEDIUM : KP_CONF_HIGH;
	return KP_PROBE_MATCH;
}

static enum kp_parse_result soulseek_parse(struct kp_app_ctx *ctx, void *state)
{
	struct soulseek_state *st = state;

	if (ctx->dir == KP_DIR_TOSERVER) {
		if (!st->kind) {
			uint8_t kind = 0;

			if (slsk_first(ctx->data, ctx->len, &kind, st) == KP_PROBE_MATCH)
				st->kind = kind;
		}
		return st->kind && st->kind != 1 ? KP_PARSE_DONE : KP_PARSE_MORE;
	}
	/* Server answer to Login: len, code 1, uint8 success. */
	if (st->kind == 1 && !st->login_answered && ctx->len >= 9 && kp_le32(ctx->data + 4) == 1) {
		st->login_answered = true;
		st->login_ok = ctx->data[8] == 1;
	}
	return st->kind ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void soulseek_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct soulseek_state *st = state;
	static const char *const kinds[] = {"unknown", "server-login", "peer-init",
					    "pierce-firewall"};

	(void)f;
	kp_json_obj(j, "soulseek");
	kp_json_str(j, "message", kinds[st->kind < 4 ? st->kind : 0]);
	if (st->user[0])
		kp_json_str(j, "user", st->user);
	if (st->conn_type[0])
		kp_json_str(j, "connection_type", st->conn_type);
	if (st->version)
		kp_json_u64(j, "version", st->version);
	if (st->kind >= 2)
		kp_json_u64(j, "token", st->token);
	if (st->login_answered)
		kp_json_bool(j, "login_ok", st->login_ok);
	kp_json_end(j);
}

const struct kp_app_module kp_mod_soulseek = {
    .name = "soulseek",
    .l4 = KP_L4_TCP,
    .port_hints = {2242, 2234, 2240, 0},
    .probe = soulseek_probe,
    .state_size = sizeof(struct soulseek_state),
    .parse = soulseek_parse,
    .free_state = NULL,
    .json = soulseek_json,
};
