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
 *
 * When the policy wants chats, the parser follows both directions
 * of the stream with a small incremental XML scanner (tags, quoted attribute
 * values, comments, CDATA, processing instructions; depth counted, no
 * recursion) and keeps each top-level stanza whole (up to KP_XMPP_STANZA_MAX
 * bytes; a longer one is skipped while its depth is still followed). A
 * <message> stanza with a <body> child is a chat message "message" (from, to,
 * body with entities and CDATA decoded; type='error' echoes are not). A
 * client's stanzas carry no from: the JID the server bound to the stream
 * (<bind><jid>...</jid></bind> in an iq result) is used, else "". When the
 * server answers STARTTLS with <proceed/> (or compression with <compressed/>)
 * the rest is encrypted or compressed and the parser stops: such streams
 * give no chat events.
 */
#include "app/xmpp.h"

#include "app/app.h"
#include "app/linebuf.h"
#include "content/content.h"
#include "output/json.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XMPP_HEAD_MAX 1024 /* a stream header longer than this is not waited for */
#define XMPP_DEPTH_MAX 1000

enum { XM_TEXT = 0, XM_TAG, XM_COMMENT, XM_CDATA, XM_PI };

/* One direction's scanner: buf holds the bytes from the stanza (or tag) being read. */
struct xmpp_dir {
	uint8_t *buf;
	uint32_t cap, len;
	uint32_t pos;          /* next byte to scan */
	uint32_t tag_start;    /* '<' of the tag being read (XM_TAG) */
	uint32_t stanza_start; /* '<' of the stanza being read (depth >= 2) */
	uint16_t depth;        /* 1 inside <stream:stream>, 2 inside a stanza */
	uint8_t mode, quote;
	bool skipping;         /* the stanza outgrew the buffer: followed, not kept */
	bool dead;
};

struct xmpp_state {
	uint16_t len;
	bool done;     /* the client's stream header was read (or given up) */
	bool stopped;  /* STARTTLS/compression: nothing more to read */
	char to[128];
	char jid[256]; /* the JID the server bound to the stream */
	struct xmpp_dir d[2];
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

/* Encodes code point c as UTF-8 into o; returns its length (0: not a valid XML character). */
static size_t xmpp_utf8(uint32_t c, uint8_t *o)
{
	if (c == 0 || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
		return 0;
	if (c < 0x80) {
		o[0] = (uint8_t)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (uint8_t)(0xc0 | c >> 6);
		o[1] = (uint8_t)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (uint8_t)(0xe0 | c >> 12);
		o[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (uint8_t)(0xf0 | c >> 18);
	o[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (uint8_t)(0x80 | (c & 0x3f));
	return 4;
}

/* Decodes the reference at s[i] == '&' into u; returns its length in s (0: not one). */
static size_t xmpp_ref(const uint8_t *s, size_t n, size_t i, uint8_t *u, size_t *ul)
{
	static const struct { const char *name; uint8_t c; } ents[] = {
		{"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''},
	};
	const uint8_t *semi;
	size_t k, rl;
	uint32_t c = 0;

	for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
		if (kp_starts(s + i, n - i, ents[k].name)) {
			u[0] = ents[k].c;
			*ul = 1;
			return strlen(ents[k].name);
		}
	}
	if (n - i < 4 || s[i + 1] != '#')
		return 0;
	semi = memchr(s + i, ';', n - i < 12 ? n - i : 12);
	if (!semi)
		return 0;
	rl = (size_t)(semi - (s + i)) + 1;
	k = i + 2;
	if (s[k] == 'x') {
		if (++k == i + rl - 1)
			return 0;
		for (; k < i + rl - 1; k++) {
			uint8_t h = s[k];
			int v = h >= '0' && h <= '9'   ? h - '0'
				: h >= 'a' && h <= 'f' ? h - 'a' + 10
				: h >= 'A' && h <= 'F' ? h - 'A' + 10
						       : -1;

			if (v < 0 || c > 0x10ffff)
				return 0;
			c = c * 16 + (uint32_t)v;
		}
	} else {
		if (k == i + rl - 1)
			return 0;
		for (; k < i + rl - 1; k++) {
			if (s[k] < '0' || s[k] > '9' || c > 0x10ffff)
				return 0;
			c = c * 10 + (uint32_t)(s[k] - '0');
		}
	}
	*ul = xmpp_utf8(c, u);
	return *ul ? rl : 0;
}

/* Index just past the first occurrence of lit in s[i..n), or n. */
static size_t xmpp_past(const uint8_t *s, size_t n, size_t i, const char *lit)
{
	const uint8_t *f = kp_find(s + i, n - i, lit, strlen(lit));

	return f ? (size_t)(f - s) + strlen(lit) : n;
}

size_t kp_xmpp_text(uint8_t *s, size_t n)
{
	size_t i = 0, o = 0;

	while (i < n) {
		if (s[i] == '&') {
			uint8_t u[4];
			size_t ul, rl = xmpp_ref(s, n, i, u, &ul);

			if (rl) {
				memcpy(s + o, u, ul); /* ul <= rl: the writer stays behind */
				o += ul;
				i += rl;
				continue;
			}
		} else if (s[i] == '<') {
			if (kp_starts(s + i, n - i, "<![CDATA[")) {
				size_t st = i + 9, e = xmpp_past(s, n, st, "]]>");
				size_t cl = e == n && !kp_find(s + st, n - st, "]]>", 3)
						? n - st
						: e - 3 - st;

				memmove(s + o, s + st, cl);
				o += cl;
				i = e;
				continue;
			}
			if (kp_starts(s + i, n - i, "<!--"))
				i = xmpp_past(s, n, i + 4, "-->");
			else if (kp_starts(s + i, n - i, "<?"))
				i = xmpp_past(s, n, i + 2, "?>");
			else
				i = xmpp_past(s, n, i + 1, ">");
			continue;
		}
		s[o++] = s[i++];
	}
	return o;
}

/* Length of the element name at t[1..] ("<message ..." -> "message"). */
static size_t xmpp_name(const uint8_t *t, size_t n, size_t at)
{
	size_t i = at;

	while (i < n && t[i] != ' ' && t[i] != '\t' && t[i] != '\r' && t[i] != '\n' &&
	       t[i] != '/' && t[i] != '>')
		i++;
	return i - at;
}

/* Whether the name (with an optional prefix "p:") is local. */
static bool xmpp_name_is(const uint8_t *nm, size_t nl, const char *local)
{
	size_t ll = strlen(local);

	if (nl < ll || memcmp(nm + nl - ll, local, ll) != 0)
		return false;
	return nl == ll || nm[nl - ll - 1] == ':';
}

/*
 * Copies and decodes the value of attribute `name` of the start tag t[0..n)
 * into out (cap bytes, NUL-terminated). False when absent.
 */
static bool xmpp_attr(const uint8_t *t, size_t n, const char *name, char *out, size_t cap)
{
	size_t i = 1 + xmpp_name(t, n, 1), nl = strlen(name);

	out[0] = '\0';
	for (;;) {
		size_t an, as, vs;
		const uint8_t *q;
		uint8_t tmp[512];
		size_t vl;

		i = xmpp_skip_ws(t, n, i);
		if (i >= n || t[i] == '/' || t[i] == '>')
			return false;
		as = i;
		while (i < n && t[i] != '=' && t[i] != ' ' && t[i] != '\t' && t[i] != '\r' &&
		       t[i] != '\n' && t[i] != '>')
			i++;
		an = i - as;
		i = xmpp_skip_ws(t, n, i);
		if (i >= n || t[i] != '=')
			return false;
		i = xmpp_skip_ws(t, n, i + 1);
		if (i >= n || (t[i] != '\'' && t[i] != '"'))
			return false;
		q = memchr(t + i + 1, t[i], n - i - 1);
		if (!q)
			return false;
		vs = i + 1;
		i = (size_t)(q - t) + 1;
		if (an != nl || memcmp(t + as, name, nl) != 0)
			continue;
		vl = (size_t)(q - (t + vs));
		if (vl > sizeof(tmp))
			vl = sizeof(tmp);
		memcpy(tmp, t + vs, vl);
		vl = kp_xmpp_text(tmp, vl);
		kp_copy_field(out, cap, tmp, vl);
		return true;
	}
}

/* End of the markup starting at s[i] == '<' (tag, comment, CDATA, PI): index past it, or n. */
static size_t xmpp_markup_end(const uint8_t *s, size_t n, size_t i)
{
	if (kp_starts(s + i, n - i, "<!--"))
		return xmpp_past(s, n, i + 4, "-->");
	if (kp_starts(s + i, n - i, "<![CDATA["))
		return xmpp_past(s, n, i + 9, "]]>");
	if (kp_starts(s + i, n - i, "<?"))
		return xmpp_past(s, n, i + 2, "?>");
	for (uint8_t q = 0; i < n; i++) {
		if (q) {
			if (s[i] == q)
				q = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			q = s[i];
		} else if (s[i] == '>') {
			return i + 1;
		}
	}
	return n;
}

/*
 * Finds the direct child element `local` of the stanza s[0..n) (whose start
 * tag ends at `head`): its content [*cs, *ce). False when absent or unclosed.
 */
static bool xmpp_child(const uint8_t *s, size_t n, size_t head, const char *local, size_t *cs,
		       size_t *ce)
{
	size_t i = head, open = 0;
	unsigned depth = 0;

	while (i < n) {
		const uint8_t *lt = memchr(s + i, '<', n - i);
		size_t e, nl;

		if (!lt)
			return false;
		i = (size_t)(lt - s);
		e = xmpp_markup_end(s, n, i);
		if (i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?')) {
			i = e;
			continue;
		}
		if (i + 1 < n && s[i + 1] == '/') {
			if (depth == 0)
				return false; /* the stanza's own end */
			if (--depth == 0 && open) {
				*cs = open;
				*ce = i;
				return true;
			}
		} else if (!(e >= 2 && s[e - 2] == '/')) {
			nl = xmpp_name(s, n, i + 1);
			if (depth == 0 && xmpp_name_is(s + i + 1, nl, local))
				open = e;
			if (++depth > XMPP_DEPTH_MAX)
				return false;
		}
		i = e;
	}
	return false;
}

struct xmpp_pctx {
	struct kp_app_ctx *ctx;
	struct xmpp_state *st;
};

/* One whole top-level stanza s[0..n) of direction dir. */
static void xmpp_stanza(struct xmpp_pctx *p, unsigned dir, uint8_t *s, size_t n)
{
	struct xmpp_state *st = p->st;
	size_t nl = xmpp_name(s, n, 1), head = xmpp_markup_end(s, n, 0), cs, ce;
	const uint8_t *nm = s + 1;
	char from[256], to[256], type[32];

	if (dir == KP_DIR_TOCLIENT &&
	    (xmpp_name_is(nm, nl, "proceed") || xmpp_name_is(nm, nl, "compressed"))) {
		st->stopped = true; /* TLS or compression follows: nothing readable */
		return;
	}
	if (dir == KP_DIR_TOCLIENT && xmpp_name_is(nm, nl, "iq")) {
		size_t bs, be;

		if (xmpp_child(s, n, head, "bind", &bs, &be) &&
		    xmpp_child(s + bs - 1, be - bs + 1, 1, "jid", &cs, &ce)) {
			uint8_t tmp[256];
			size_t l = ce - cs < sizeof(tmp) ? ce - cs : sizeof(tmp);

			memcpy(tmp, s + bs - 1 + cs, l);
			l = kp_xmpp_text(tmp, l);
			kp_copy_field(st->jid, sizeof(st->jid), tmp, l);
		}
		return;
	}
	if (!xmpp_name_is(nm, nl, "message") || !kp_app_chat_wanted(p->ctx))
		return;
	if (xmpp_attr(s, head, "type", type, sizeof(type)) && strcmp(type, "error") == 0)
		return;
	if (!xmpp_child(s, n, head, "body", &cs, &ce))
		return;
	if (!xmpp_attr(s, head, "from", from, sizeof(from)) && dir == KP_DIR_TOSERVER)
		snprintf(from, sizeof(from), "%s", st->jid);
	if (!xmpp_attr(s, head, "to", to, sizeof(to)) && dir == KP_DIR_TOCLIENT)
		snprintf(to, sizeof(to), "%s", st->jid);
	kp_app_chat(p->ctx, "message", from, to, s + cs, kp_xmpp_text(s + cs, ce - cs));
}

/* A complete tag d->buf[s..e): follows the depth, hands over whole stanzas. */
static void xmpp_tag(struct xmpp_pctx *p, unsigned dir, struct xmpp_dir *d, size_t s, size_t e)
{
	const uint8_t *t = d->buf + s;
	size_t n = e - s, nl;

	if (n >= 2 && t[1] == '/') {
		nl = xmpp_name(t, n, 2);
		if (nl > 6 && xmpp_name_is(t + 2, nl, "stream")) { /* </stream:stream> */
			d->depth = 0;
			return;
		}
		if (d->depth > 0)
			d->depth--;
		if (d->depth == 1) {
			if (!d->skipping)
				xmpp_stanza(p, dir, d->buf + d->stanza_start, e - d->stanza_start);
			d->skipping = false;
		}
		return;
	}
	nl = xmpp_name(t, n, 1);
	if (nl > 6 && xmpp_name_is(t + 1, nl, "stream")) { /* <stream:stream ...> */
		d->depth = 1; /* a (re)started stream */
		return;
	}
	if (d->depth == 0)
		d->depth = 1; /* a capture that starts inside the stream */
	if (n >= 3 && t[n - 2] == '/') {
		if (d->depth == 1)
			xmpp_stanza(p, dir, d->buf + s, n);
		return;
	}
	if (d->depth >= XMPP_DEPTH_MAX) {
		d->dead = true;
		return;
	}
	if (++d->depth == 2) {
		d->stanza_start = (uint32_t)s;
		d->skipping = false;
	}
}

/* Scans d->buf from d->pos; stops at the end or where more bytes are needed. */
static void xmpp_scan(struct xmpp_pctx *p, unsigned dir, struct xmpp_dir *d)
{
	uint8_t *b = d->buf;
	size_t n = d->len, i = d->pos;

	while (i < n && !d->dead && !p->st->stopped) {
		const uint8_t *f;

		switch (d->mode) {
		case XM_TEXT:
			f = memchr(b + i, '<', n - i);
			if (!f) {
				i = n;
				break;
			}
			i = (size_t)(f - b);
			if (kp_starts(b + i, n - i, "<!--")) {
				d->mode = XM_COMMENT;
				i += 4;
			} else if (kp_starts(b + i, n - i, "<![CDATA[")) {
				d->mode = XM_CDATA;
				i += 9;
			} else if (kp_starts(b + i, n - i, "<?")) {
				d->mode = XM_PI;
				i += 2;
			} else if (n - i < 9 && b[i + 1 < n ? i + 1 : i] == '!') {
				goto out; /* "<!" cut short: wait for the rest */
			} else if (n - i < 2) {
				goto out;
			} else {
				d->mode = XM_TAG;
				d->tag_start = (uint32_t)i;
				d->quote = 0;
				i++;
			}
			break;
		case XM_TAG:
			for (; i < n; i++) {
				uint8_t c = b[i];

				if (d->quote) {
					if (c == d->quote)
						d->quote = 0;
				} else if (c == '"' || c == '\'') {
					d->quote = c;
				} else if (c == '>') {
					i++;
					d->mode = XM_TEXT;
					xmpp_tag(p, dir, d, d->tag_start, i);
					break;
				}
			}
			break;
		default: {
			const char *lit = d->mode == XM_COMMENT ? "-->"
					  : d->mode == XM_CDATA ? "]]>"
								: "?>";
			size_t ll = strlen(lit);

			f = kp_find(b + i, n - i, lit, ll);
			if (!f) {
				i = n - i >= ll ? n - (ll - 1) : i;
				goto out;
			}
			i = (size_t)(f - b) + ll;
			d->mode = XM_TEXT;
			break;
		}
		}
	}
out:
	d->pos = (uint32_t)i;
}

/* Drops the bytes no longer needed: all but the open stanza (or tag) being read. */
static void xmpp_compact(struct xmpp_dir *d)
{
	size_t keep = d->pos;

	if (d->depth >= 2 && !d->skipping)
		keep = d->stanza_start;
	else if (d->mode == XM_TAG)
		keep = d->tag_start;
	if (keep == 0)
		return;
	memmove(d->buf, d->buf + keep, d->len - keep);
	d->len -= (uint32_t)keep;
	d->pos -= (uint32_t)keep;
	if (d->mode == XM_TAG)
		d->tag_start -= (uint32_t)keep;
	if (d->depth >= 2 && !d->skipping)
		d->stanza_start -= (uint32_t)keep;
}

static void xmpp_feed(struct xmpp_pctx *p, unsigned dir, const uint8_t *data, size_t len)
{
	struct xmpp_dir *d = &p->st->d[dir];

	while (len && !d->dead && !p->st->stopped) {
		size_t room, take;

		xmpp_compact(d);
		if (d->len == KP_XMPP_STANZA_MAX) {
			if (d->depth >= 2 && !d->skipping) {
				d->skipping = true; /* too long: follow it, do not keep it */
				xmpp_compact(d);
			}
			if (d->len == KP_XMPP_STANZA_MAX) {
				d->dead = true; /* one tag of 64 KB: not XMPP worth reading */
				return;
			}
		}
		room = KP_XMPP_STANZA_MAX - d->len;
		take = len < room ? len : room;
		if (d->len + take > d->cap) {
			size_t nc = d->cap ? d->cap : 4096;
			uint8_t *nb;

			while (nc < d->len + take)
				nc *= 2;
			if (nc > KP_XMPP_STANZA_MAX)
				nc = KP_XMPP_STANZA_MAX;
			nb = realloc(d->buf, nc);
			if (!nb) {
				d->dead = true;
				return;
			}
			d->buf = nb;
			d->cap = (uint32_t)nc;
		}
		memcpy(d->buf + d->len, data, take);
		d->len += (uint32_t)take;
		data += take;
		len -= take;
		xmpp_scan(p, dir, d);
	}
}

static enum kp_parse_result xmpp_parse(struct kp_app_ctx *ctx, void *state)
{
	struct xmpp_state *st = state;
	struct xmpp_pctx p = {ctx, st};
	unsigned dir = ctx->dir ? 1 : 0;
	/* XMPP reports no files (no file transfer is read): only chats keep it parsing. */
	bool want = kp_app_chat_wanted(ctx);

	if (!st->done && ctx->dir == KP_DIR_TOSERVER) {
		if (ctx->gap) {
			st->done = true;
		} else {
			size_t room = sizeof(st->buf) - st->len;
			size_t take = ctx->len < room ? ctx->len : room;

			memcpy(st->buf + st->len, ctx->data, take);
			st->len = (uint16_t)(st->len + take);
			xmpp_to(st);
		}
	}
	if (!want)
		return st->done ? KP_PARSE_DONE : KP_PARSE_MORE;
	if (st->stopped)
		return KP_PARSE_DONE;
	if (ctx->gap) {
		/* Lost bytes: start again at the next tag, inside the stream. */
		struct xmpp_dir *d = &st->d[dir];

		d->len = d->pos = 0;
		d->mode = XM_TEXT;
		d->depth = 1;
		d->skipping = false;
	}
	xmpp_feed(&p, dir, ctx->data, ctx->len);
	return st->stopped || (st->d[0].dead && st->d[1].dead) ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void xmpp_free(void *state)
{
	struct xmpp_state *st = state;

	free(st->d[0].buf);
	free(st->d[1].buf);
	st->d[0].buf = st->d[1].buf = NULL;
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
	.free_state = xmpp_free,
	.json = xmpp_json,
};
