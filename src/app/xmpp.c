/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XMPP (Jabber), RFC 6120. A stream opens with an optional XML declaration
 * ("<?xml version='1.0'?>") and a <stream:stream ...> tag whose attributes
 * name the jabber:client / jabber:server / jabber:component namespace (or the
 * http://etherx.jabber.org/streams stream namespace); the server answers with
 * its own stream header. The probe matches such a header in either direction
 * (high confidence), and also a capture that starts mid-stream when a stanza
 * (<iq, <presence, <message) carries a jabber namespace or the stream's closing
 * tag </stream:stream> comes first (medium), or both sides exchange stanzas
 * (low). Legacy XMPP over TLS (port 5223) is the tls module's.
 * The parser reads the "to" domain of the client's stream header.
 */
#include "app/app.h"
#include "app/linebuf.h"
#include "output/json.h"

#include <netinet/in.h>
#include <string.h>

#define XMPP_HEAD_MAX 1024 /* a stream header longer than this is not waited for */

struct xmpp_state {
	uint16_t len;
	bool done;
	char to[128];
	uint8_t buf[XMPP_HEAD_MAX];
};

enum { XS_MORE = 0, XS_STREAM, XS_STANZA_NS, XS_STANZA, XS_NO };

static size_t xmpp_skip_ws(const uint8_t *b, size_t n, size_t i)
{
	while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	return i;
}

/* Offset just past a tag's closing '>' starting at i, or 0 when not in b. */
static size_t xmpp_tag_end(const uint8_t *b, size_t n, size_t i)
{
	const uint8_t *e = memchr(b + i, '>', n - i);

	return e ? (size_t)(e - b) + 1 : 0;
}

/* True when b[i..] starts with lit, or is a proper prefix of it (*partial set). */
static bool xmpp_lit(const uint8_t *b, size_t n, size_t i, const char *lit, bool *partial)
{
	size_t l = strlen(lit), have = n - i;

	*partial = false;
	if (have >= l)
		return memcmp(b + i, lit, l) == 0;
	if (memcmp(b + i, lit, have) == 0)
		*partial = true;
	return false;
}

static bool xmpp_ns(const uint8_t *t, size_t n)
{
	return kp_find(t, n, "jabber:client", 13) || kp_find(t, n, "jabber:server", 13) ||
	       kp_find(t, n, "jabber:component", 16) ||
	       kp_find(t, n, "http://etherx.jabber.org/streams", 32);
}

/* Classifies one direction's stream prefix. */
static int xmpp_side(const uint8_t *b, size_t n)
{
	static const char *const stanzas[] = {"<iq ", "<presence", "<message ", NULL};
	size_t i = xmpp_skip_ws(b, n, 0), e;
	bool part;

	if (i >= n)
		return n > 64 ? XS_NO : XS_MORE;
	if (xmpp_lit(b, n, i, "<?xml", &part)) {
		e = xmpp_tag_end(b, n, i);
		if (!e)
			return n > XMPP_HEAD_MAX ? XS_NO : XS_MORE;
		i = xmpp_skip_ws(b, n, e);
		if (i >= n)
			return XS_MORE;
	} else if (part) {
		return XS_MORE;
	}
	if (xmpp_lit(b, n, i, "<stream:stream", &part)) {
		e = xmpp_tag_end(b, n, i);
		if (!e)
			return n > XMPP_HEAD_MAX ? XS_NO : XS_MORE;
		return xmpp_ns(b + i, e - i) ? XS_STREAM : XS_NO;
	}
	if (part)
		return XS_MORE;
	/* A capture that starts as the stream closes: the tag is XMPP's own. */
	if (xmpp_lit(b, n, i, "</stream:stream>", &part))
		return XS_STANZA_NS;
	if (part)
		return XS_MORE;
	for (unsigned k = 0; stanzas[k]; k++) {
		if (xmpp_lit(b, n, i, stanzas[k], &part)) {
			e = xmpp_tag_end(b, n, i);
			if (!e)
				return n > XMPP_HEAD_MAX ? XS_NO : XS_MORE;
			/* The whole first stanza may name a jabber namespace. */
			return kp_find(b + i, n - i, "jabber", 6) ? XS_STANZA_NS : XS_STANZA;
		}
		if (part)
			return XS_MORE;
	}
	return XS_NO;
}

static enum kp_probe_result xmpp_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	int c, s;

	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	c = xmpp_side(ctx->buf[0], ctx->buf_len[0]);
	s = xmpp_side(ctx->buf[1], ctx->buf_len[1]);
	m->app = KP_APP_XMPP;
	if (c == XS_STREAM || s == XS_STREAM) {
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	if ((ctx->buf_len[0] && c == XS_NO) || (ctx->buf_len[1] && s == XS_NO))
		return KP_PROBE_EXCLUDE;
	if (c == XS_STANZA_NS || s == XS_STANZA_NS) {
		m->confidence = KP_CONF_MEDIUM;
		return KP_PROBE_MATCH;
	}
	if (c == XS_STANZA && s == XS_STANZA) {
		m->confidence = KP_CONF_LOW;
		return KP_PROBE_MATCH;
	}
	return KP_PROBE_NEED_MORE;
}

/* Reads to='...' (or to="...") from the client's stream header, once complete. */
static void xmpp_to(struct xmpp_state *st)
{
	const uint8_t *b = st->buf, *s = kp_find(b, st->len, "<stream:stream", 14);
	size_t i, e;

	if (!s) {
		if (st->len == sizeof(st->buf))
			st->done = true;
		return;
	}
	i = (size_t)(s - b);
	e = xmpp_tag_end(b, st->len, i);
	if (!e) {
		if (st->len == sizeof(st->buf))
			st->done = true;
		return;
	}
	st->done = true;
	for (; i + 4 < e; i++) {
		uint8_t q;
		const uint8_t *end;

		if ((b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r') ||
		    memcmp(b + i + 1, "to=", 3) != 0)
			continue;
		q = b[i + 4];
		if (q != '\'' && q != '"')
			return;
		end = memchr(b + i + 5, q, e - (i + 5));
		if (end)
			kp_copy_field(st->to, sizeof(st->to), b + i + 5,
				      (size_t)(end - (b + i + 5)));
		return;
	}
}

static enum kp_parse_result xmpp_parse(struct kp_app_ctx *ctx, void *state)
{
	struct xmpp_state *st = state;
	size_t room, take;

	if (st->done)
		return KP_PARSE_DONE;
	if (ctx->dir != KP_DIR_TOSERVER)
		return KP_PARSE_MORE;
	if (ctx->gap) {
		st->done = true;
		return KP_PARSE_DONE;
	}
	room = sizeof(st->buf) - st->len;
	take = ctx->len < room ? ctx->len : room;
	memcpy(st->buf + st->len, ctx->data, take);
	st->len = (uint16_t)(st->len + take);
	xmpp_to(st);
	return st->done ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void xmpp_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct xmpp_state *st = state;

	(void)f;
	kp_json_obj(j, "xmpp");
	if (st->to[0])
		kp_json_str(j, "to", st->to);
	kp_json_end(j);
}

const struct kp_app_module kp_mod_xmpp = {
	.name = "xmpp",
	.l4 = KP_L4_TCP,
	.port_hints = {5222, 5269, 0},
	.probe = xmpp_probe,
	.state_size = sizeof(struct xmpp_state),
	.parse = xmpp_parse,
	.free_state = NULL,
	.json = xmpp_json,
};
