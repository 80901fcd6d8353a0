/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP/1.x: the request line (method SP request-target SP HTTP/1.x) and the
 * response status line, in either direction. The parser records the first
 * request and response (Suricata EVE names: hostname, url, http_method,
 * http_user_agent, status, http_content_type) and refines the label when the
 * HTTP exchange is a P2P transfer:
 *   - BitTorrent: a GET whose query carries info_hash= (tracker announce or
 *     scrape, web seed), a BitTorrent client's User-Agent, or a bencoded tracker
 *     answer ("d8:interval", "d8:complete", "d5:files", "d14:failure reason");
 *   - Gnutella: /uri-res/N2R?urn:..., /get/<n>/..., /gnutella/ (THEX),
 *     X-Gnutella-*, X-Queue, X-Alt headers, Gnutella servent user agents;
 *   - FastTrack: X-Kazaa-* headers, GET /.hash=...
 * The refined event keeps the "http" object (and adds "bittorrent":
 * {"info_hash"} when the tracker request names a 20-byte info hash).
 */
#include "app/app.h"
#include "app/linebuf.h"
#include "output/json.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#define HTTP_PROBE_LINE_MAX 4096 /* a request line longer than this is not worth waiting for */
#define HTTP_BODY_SNIFF 32

enum { HP_START = 0, HP_HEADERS, HP_BODY, HP_DONE };
enum { SIDE_MORE = 0, SIDE_REQ, SIDE_RESP, SIDE_NO };

struct http_state {
	struct kp_linebuf lb[2];
	uint8_t phase[2];
	uint8_t app; /* label this parser refined to (0: none yet) */
	bool have_ih;
	bool chunked;
	uint16_t status;
	uint16_t body_len;
	uint8_t body[HTTP_BODY_SNIFF + 16];
	uint8_t info_hash[20];
	char method[16];
	char url[256];
	char host[128];
	char ua[192];
	char ctype[96];
};

static const char *const http_methods[] = {
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "REPORT",
	NULL,
};

/* Length of the known method s starts with (followed by SP); 0: none; -1: a prefix of one. */
static int http_method_len(const uint8_t *s, size_t n)
{
	for (unsigned i = 0; http_methods[i]; i++) {
		size_t ml = strlen(http_methods[i]);

		if (n > ml) {
			if (memcmp(s, http_methods[i], ml) == 0 && s[ml] == ' ')
				return (int)ml;
		} else if (memcmp(s, http_methods[i], n) == 0) {
			return -1;
		}
	}
	return 0;
}

static bool http_target_byte(uint8_t c)
{
	return c > 0x20 && c != 0x7f;
}

/* "HTTP/1.x" at s (8 bytes checked). */
static bool http_version(const uint8_t *s, size_t n)
{
	return n >= 8 && memcmp(s, "HTTP/1.", 7) == 0 && s[7] >= '0' && s[7] <= '9';
}

/* A complete request line; sets the method length and the target's offset and length. */
static bool http_req_line(const uint8_t *s, size_t n, size_t *mlen, size_t *toff, size_t *tlen)
{
	int ml = http_method_len(s, n);
	size_t i, t;

	if (ml <= 0)
		return false;
	t = (size_t)ml + 1;
	for (i = t; i < n && http_target_byte(s[i]); i++)
		;
	if (i == t || i >= n || s[i] != ' ')
		return false;
	if (n - i - 1 != 8 || !http_version(s + i + 1, n - i - 1))
		return false;
	if (mlen)
		*mlen = (size_t)ml;
	if (toff)
		*toff = t;
	if (tlen)
		*tlen = i - t;
	return true;
}

/* A complete status line "HTTP/1.x NNN[ reason]"; sets the status code. */
static bool http_resp_line(const uint8_t *s, size_t n, uint16_t *status)
{
	if (n < 12 || !http_version(s, n) || s[8] != ' ')
		return false;
	for (int i = 9; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	if (n > 12 && s[12] != ' ')
		return false;
	if (status)
		*status = (uint16_t)((s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0'));
	return true;
}

/* What one direction's stream prefix says. */
static int http_side(const uint8_t *b, size_t n)
{
	long ll;
	int ml;

	if (n == 0)
		return SIDE_MORE;
	ll = kp_line_len(b, n);
	if (ll < 0) {
		if (n > HTTP_PROBE_LINE_MAX)
			return SIDE_NO;
		if (memcmp(b, "HTTP/1.", n < 7 ? n : 7) == 0)
			return n < 8 || (b[7] >= '0' && b[7] <= '9') ? SIDE_MORE : SIDE_NO;
		ml = http_method_len(b, n);
		if (ml < 0)
			return SIDE_MORE;
		if (ml == 0)
			return SIDE_NO;
		for (size_t i = (size_t)ml + 1; i < n; i++)
			if (!http_target_byte(b[i]) && b[i] != ' ' && b[i] != '\r')
				return SIDE_NO;
		return SIDE_MORE;
	}
	if (http_req_line(b, kp_line_trim(b, (size_t)ll), NULL, NULL, NULL))
		return SIDE_REQ;
	if (http_resp_line(b, kp_line_trim(b, (size_t)ll), NULL))
		return SIDE_RESP;
	return SIDE_NO;
}

/* Offset of the value of query parameter `name=` in a target, or -1. */
static long http_query_param(const uint8_t *t, size_t n, const char *name)
{
	size_t nl = strlen(name);
	const uint8_t *q = memchr(t, '?', n);

	if (!q)
		return -1;
	for (size_t i = (size_t)(q - t); i + nl + 1 < n; i++) {
		if ((t[i] == '?' || t[i] == '&') && memcmp(t + i + 1, name, nl) == 0 &&
		    t[i + 1 + nl] == '=')
			return (long)(i + 2 + nl);
	}
	return -1;
}

static int http_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* URL-decodes the info_hash parameter; true when it is exactly 20 bytes. */
static bool http_info_hash(const uint8_t *t, size_t n, uint8_t out[20])
{
	long v = http_query_param(t, n, "info_hash");
	size_t i, o = 0;

	if (v < 0)
		return false;
	for (i = (size_t)v; i < n && t[i] != '&' && t[i] != '#'; i++) {
		uint8_t c = t[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return false;
			hi = http_hexval(t[i + 1]);
			lo = http_hexval(t[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o == 20)
			return false;
		out[o++] = c;
	}
	return o == 20;
}

/* The P2P application a request line's method and target reveal, or KP_APP_HTTP. */
static unsigned http_target_signal(const uint8_t *m, size_t mlen, const uint8_t *t, size_t n)
{
	bool get = mlen == 3 && memcmp(m, "GET", 3) == 0;
	size_t i;

	if (get && http_query_param(t, n, "info_hash") >= 0)
		return KP_APP_BITTORRENT; /* tracker announce/scrape or web seed */
	if (kp_starts_ci(t, n, "/uri-res/N2R?urn:") || kp_starts(t, n, "/gnutella/"))
		return KP_APP_GNUTELLA; /* by URN; THEX tree: /gnutella/thex/v1?urn: */
	if (kp_starts(t, n, "/get/")) {
		for (i = 5; i < n && t[i] >= '0' && t[i] <= '9'; i++)
			;
		if (i > 5 && i < n && t[i] == '/')
			return KP_APP_GNUTELLA;
	}
	if (kp_starts(t, n, "/.hash="))
		return KP_APP_FASTTRACK;
	return KP_APP_HTTP;
}

static const char *const bt_agents[] = {
	"libtorrent", "Transmission/", "uTorrent", "\xC2\xB5Torrent", "BitTorrent", "Azureus",
	"qBittorrent", "Deluge", "BitComet", "rtorrent", NULL,
};
static const char *const gnutella_agents[] = {
	"LimeWire", "gtk-gnutella", "Shareaza", "BearShare", "Phex", "Foxy", NULL,
};

static bool http_agent_in(const uint8_t *v, size_t n, const char *const *list)
{
	for (unsigned i = 0; list[i]; i++)
		if (kp_find_ci(v, n, list[i]))
			return true;
	return false;
}

/* The P2P application one header line reveals, or KP_APP_HTTP. */
static unsigned http_header_signal(const uint8_t *l, size_t n)
{
	size_t v;

	if (kp_starts_ci(l, n, "X-Kazaa-"))
		return KP_APP_FASTTRACK;
	if (kp_starts_ci(l, n, "X-Gnutella-") || kp_starts_ci(l, n, "X-Queue:") ||
	    kp_starts_ci(l, n, "X-Alt:"))
		return KP_APP_GNUTELLA;
	if (kp_starts_ci(l, n, "User-Agent:")) {
		v = kp_skip_sp(l, n, 11);
		if (http_agent_in(l + v, n - v, bt_agents))
			return KP_APP_BITTORRENT;
		if (http_agent_in(l + v, n - v, gnutella_agents))
			return KP_APP_GNUTELLA;
	} else if (kp_starts_ci(l, n, "Server:")) {
		v = kp_skip_sp(l, n, 7);
		if (http_agent_in(l + v, n - v, gnutella_agents))
			return KP_APP_GNUTELLA;
	}
	return KP_APP_HTTP;
}

/* The P2P application a tracker answer's body reveals, or KP_APP_HTTP. */
static unsigned http_body_signal(const uint8_t *b, size_t n)
{
	static const char *const bodies[] = {
		"d8:interval", "d8:complete", "d5:files", "d14:failure reason", "d10:incomplete",
		NULL,
	};

	for (unsigned i = 0; bodies[i]; i++)
		if (kp_starts(b, n, bodies[i]))
			return KP_APP_BITTORRENT;
	return KP_APP_HTTP;
}

/* Signals of a request prefix seen by the probe: request line, then headers. */
static unsigned http_request_signal(const uint8_t *b, size_t n)
{
	size_t off = 0, ml = 0, to = 0, tl = 0;
	unsigned app = KP_APP_HTTP;
	bool first = true;

	while (off < n && app == KP_APP_HTTP) {
		long ll = kp_line_len(b + off, n - off);
		size_t len, next = kp_line_next(b + off, n - off);

		if (ll < 0 || next == 0)
			break;
		len = (size_t)ll;
		if (first) {
			if (!http_req_line(b + off, len, &ml, &to, &tl))
				break;
			app = http_target_signal(b + off, ml, b + off + to, tl);
			first = false;
		} else {
			if (len == 0)
				break;
			app = http_header_signal(b + off, len);
		}
		off += next;
	}
	return app;
}

static enum kp_probe_result http_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	int c = http_side(ctx->buf[0], ctx->buf_len[0]);
	int s = http_side(ctx->buf[1], ctx->buf_len[1]);

	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;
	if (c == SIDE_NO)
		return KP_PROBE_EXCLUDE;
	if (c == SIDE_REQ) {
		m->app = (uint16_t)http_request_signal(ctx->buf[0], ctx->buf_len[0]);
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	if (c == SIDE_RESP || (ctx->buf_len[0] == 0 && s == SIDE_RESP)) {
		m->app = KP_APP_HTTP;
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	if (s == SIDE_NO && ctx->buf_len[0] == 0)
		return KP_PROBE_EXCLUDE;
	return KP_PROBE_NEED_MORE;
}

struct http_pctx {
	struct kp_app_ctx *ctx;
	struct http_state *st;
};

static void http_refine(struct http_pctx *p, unsigned app)
{
	if (app == KP_APP_HTTP || p->st->app)
		return;
	p->st->app = (uint8_t)app;
	kp_app_refine(p->ctx, app, KP_CONF_HIGH);
}

static void http_copy_value(char *dst, size_t cap, const uint8_t *l, size_t n, size_t name_len)
{
	size_t v = kp_skip_sp(l, n, name_len);

	kp_copy_field(dst, cap, l + v, n - v);
}

/*
 * A tracker announce names the client's listening port: the client host goes
 * into the peer cache as a BitTorrent user, which is what later lets the
 * MSE/PE rule give its encrypted connections medium confidence.
 */
static void http_note_announcer(struct kp_app_ctx *ctx, const uint8_t *t, size_t n)
{
	long v = http_query_param(t, n, "port");
	unsigned port = 0;

	for (size_t i = v < 0 ? n : (size_t)v; i < n && t[i] >= '0' && t[i] <= '9'; i++) {
		port = port * 10 + (unsigned)(t[i] - '0');
		if (port > 65535)
			return;
	}
	if (ctx->caddr)
		kp_peer_note(ctx, ctx->family, ctx->caddr, (uint16_t)port, KP_APP_BITTORRENT);
}

static uint32_t http_req_cb(void *arg, const uint8_t *l, size_t n)
{
	struct http_pctx *p = arg;
	struct http_state *st = p->st;
	size_t ml, to, tl;

	if (st->phase[0] == HP_START) {
		if (n == 0)
			return 0; /* stray CRLF before a request */
		if (!http_req_line(l, n, &ml, &to, &tl)) {
			st->phase[0] = HP_DONE;
			return KP_LINE_STOP;
		}
		kp_copy_field(st->method, sizeof(st->method), l, ml);
		kp_copy_field(st->url, sizeof(st->url), l + to, tl);
		if (http_info_hash(l + to, tl, st->info_hash)) {
			st->have_ih = true;
			http_note_announcer(p->ctx, l + to, tl);
		}
		http_refine(p, http_target_signal(l, ml, l + to, tl));
		st->phase[0] = HP_HEADERS;
		return 0;
	}
	if (n == 0) {
		st->phase[0] = HP_DONE; /* the first request is all we record */
		return KP_LINE_STOP;
	}
	if (kp_starts_ci(l, n, "Host:")) {
		char *cut;

		/* hostname without the port: "example.org:8080", "[2001:db8::1]:80" */
		http_copy_value(st->host, sizeof(st->host), l, n, 5);
		if (st->host[0] == '[') {
			cut = strchr(st->host, ']');
			if (cut)
				cut++;
		} else {
			cut = strchr(st->host, ':');
			if (cut && cut != strrchr(st->host, ':'))
				cut = NULL; /* a bare IPv6 address */
		}
		if (cut)
			*cut = '\0';
	} else if (kp_starts_ci(l, n, "User-Agent:")) {
		http_copy_value(st->ua, sizeof(st->ua), l, n, 11);
	}
	http_refine(p, http_header_signal(l, n));
	return 0;
}

static uint32_t http_resp_cb(void *arg, const uint8_t *l, size_t n)
{
	struct http_pctx *p = arg;
	struct http_state *st = p->st;

	if (st->phase[1] == HP_START) {
		if (n == 0)
			return 0;
		if (!http_resp_line(l, n, &st->status)) {
			st->phase[1] = HP_DONE;
			return KP_LINE_STOP;
		}
		st->phase[1] = HP_HEADERS;
		return 0;
	}
	if (n == 0) {
		/* Sniff the body of a successful answer (tracker answers are bencoded). */
		st->phase[1] = st->status == 200 ? HP_BODY : HP_DONE;
		return KP_LINE_STOP;
	}
	if (kp_starts_ci(l, n, "Content-Type:"))
		http_copy_value(st->ctype, sizeof(st->ctype), l, n, 13);
	else if (kp_starts_ci(l, n, "Transfer-Encoding:") && kp_find_ci(l, n, "chunked"))
		st->chunked = true;
	http_refine(p, http_header_signal(l, n));
	return 0;
}

static void http_body(struct http_pctx *p, const uint8_t *d, size_t n)
{
	struct http_state *st = p->st;
	size_t room = sizeof(st->body) - st->body_len, take = n < room ? n : room;
	const uint8_t *b = st->body;
	size_t bl;

	memcpy(st->body + st->body_len, d, take);
	st->body_len = (uint16_t)(st->body_len + take);
	bl = st->body_len;
	if (st->chunked) {
		/* Skip the first chunk-size line. */
		size_t next = kp_line_next(b, bl);

		if (next == 0) {
			if (bl == sizeof(st->body))
				st->phase[1] = HP_DONE;
			return;
		}
		b += next;
		bl -= next;
	}
	if (http_body_signal(b, bl) != KP_APP_HTTP) {
		http_refine(p, KP_APP_BITTORRENT);
		st->phase[1] = HP_DONE;
	} else if (bl >= HTTP_BODY_SNIFF || st->body_len == sizeof(st->body)) {
		st->phase[1] = HP_DONE;
	}
}

static enum kp_parse_result http_parse(struct kp_app_ctx *ctx, void *state)
{
	struct http_state *st = state;
	struct http_pctx p = {ctx, st};
	unsigned dir = ctx->dir ? 1 : 0;
	size_t off = 0;

	if (!st->app && ctx->label && ctx->label->app != KP_APP_HTTP)
		st->app = (uint8_t)ctx->label->app; /* the probe already refined it */
	if (ctx->gap)
		kp_linebuf_reset(&st->lb[dir]);
	while (off < ctx->len && st->phase[dir] != HP_DONE) {
		if (st->phase[dir] == HP_BODY) {
			http_body(&p, ctx->data + off, ctx->len - off);
			break;
		}
		off += kp_linebuf_feed(&st->lb[dir], ctx->data + off, ctx->len - off,
				       dir ? http_resp_cb : http_req_cb, &p);
	}
	return st->phase[0] == HP_DONE && st->phase[1] == HP_DONE ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void http_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct http_state *st = state;

	(void)f;
	if (!st->method[0] && !st->status)
		return;
	kp_json_obj(j, "http");
	if (st->host[0])
		kp_json_str(j, "hostname", st->host);
	if (st->url[0])
		kp_json_str(j, "url", st->url);
	if (st->method[0])
		kp_json_str(j, "http_method", st->method);
	if (st->ua[0])
		kp_json_str(j, "http_user_agent", st->ua);
	if (st->status)
		kp_json_u64(j, "status", st->status);
	if (st->ctype[0])
		kp_json_str(j, "http_content_type", st->ctype);
	kp_json_end(j);
	if (st->have_ih) {
		kp_json_obj(j, "bittorrent");
		kp_json_hex(j, "info_hash", st->info_hash, sizeof(st->info_hash));
		kp_json_end(j);
	}
}

const struct kp_app_module kp_mod_http = {
	.name = "http",
	.l4 = KP_L4_TCP,
	.port_hints = {80, 8080, 3128, 0},
	.probe = http_probe,
	.state_size = sizeof(struct http_state),
	.parse = http_parse,
	.free_state = NULL,
	.json = http_json,
};
