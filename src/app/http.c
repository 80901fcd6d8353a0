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
 * When the policy wants files (content.h), a second parser follows every
 * message of the connection and reports each body as a file (see "The file
 * parser" below); otherwise the module stops after the first exchange.
 */
#include "app/app.h"
#include "app/linebuf.h"
#include "app/zstream.h"
#include "content/content.h"
#include "output/json.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HTTP_PROBE_LINE_MAX 4096 /* a request line longer than this is not worth waiting for */
#define HTTP_BODY_SNIFF 32

enum { HP_START = 0, HP_HEADERS, HP_BODY, HP_DONE };
enum { SIDE_MORE = 0, SIDE_REQ, SIDE_RESP, SIDE_NO };

struct http_files;

struct http_state {
	struct kp_linebuf lb[2];
	struct http_files *fx; /* the file parser, when the policy wants the files */
	uint8_t mode;          /* HTTP_MODE_*: decided at the first parse() call */
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
			hi = kp_hex_val(t[i + 1]);
			lo = kp_hex_val(t[i + 2]);
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

/* The Host header's value without the port: "example.org:8080", "[2001:db8::1]:80". */
static void http_copy_host(char *dst, size_t cap, const uint8_t *l, size_t n)
{
	char *cut;

	http_copy_value(dst, cap, l, n, 5);
	if (dst[0] == '[') {
		cut = strchr(dst, ']');
		if (cut)
			cut++;
	} else {
		cut = strchr(dst, ':');
		if (cut && cut != strrchr(dst, ':'))
			cut = NULL; /* a bare IPv6 address */
	}
	if (cut)
		*cut = '\0';
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
			/* a tracker announce names its torrent: hash rules and the block list apply */
			kp_app_hash_seen(p->ctx, KP_HASH_BT_INFOHASH, st->info_hash, 20);
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
		http_copy_host(st->host, sizeof(st->host), l, n);
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

/*
 * The file parser (when kp_app_files_wanted()): every request and response of
 * the connection (keep-alive, pipelining) is framed - Content-Length, chunked
 * (sizes, extensions, trailers), no body (HEAD, 1xx, 204, 304), close-delimited,
 * 206 ranges - and each body is reported as a file through content.h: a
 * response's body toclient, a request's body (POST, PUT) toserver. gzip and
 * deflate bodies are inflated (bounded output per call, at most
 * HTTP_DECODE_MAX decoded bytes, then the file is truncated). The first
 * request and response still fill the "http" object and refine the label, as
 * the plain parser does. Every buffer is bounded: lines by KP_LINE_MAX, a
 * header block (and a chunk-size or trailer run) by HTTP_HDR_MAX, the pending
 * requests a response is paired with by HTTP_PENDING. A reassembly gap or a
 * malformed message ends the parsing of that direction (an open file is closed
 * truncated); the other direction goes on.
 */
enum { HTTP_MODE_UNSET = 0, HTTP_MODE_PLAIN, HTTP_MODE_FILES };

#define HTTP_HDR_MAX 16384
#define HTTP_NAME_MAX 256
#define HTTP_PENDING 8
#define HTTP_DECODE_MAX ((uint64_t)64 << 20)
#define HTTP_ZOUT 16384
#define HTTP_CHUNK_DIGITS 15 /* significant hex digits of a chunk size: < 2^60 */

enum {
	HF_START = 0, /* line phases: before the start line, headers, chunk sizes, trailers */
	HF_HEADERS,
	HF_CHUNK_SIZE,
	HF_CHUNK_END, /* the CRLF after a chunk's data */
	HF_TRAILERS,
	HF_BODY,       /* raw phases: Content-Length body, chunk data, up to the FIN */
	HF_CHUNK_DATA,
	HF_CLOSE_BODY,
	HF_DONE,
};
enum { HTTP_ENC_NONE = 0, HTTP_ENC_GZIP, HTTP_ENC_DEFLATE, HTTP_ENC_OTHER };

/* What a response needs of the request it answers. */
struct http_req_info {
	bool head, connect;
	char method[16];
	char url[256];
	char host[128];
};

/* One direction's message being parsed. */
struct http_msg {
	struct kp_linebuf lb;
	uint8_t phase;
	uint8_t enc;
	bool chunked, have_len, have_range, zdone;
	uint16_t status;
	uint8_t zpre_len;
	uint8_t zpre[2];
	uint32_t line_bytes; /* bytes of the current run of lines (header block, chunk lines) */
	uint64_t clen, remain, range_start, range_total, decoded;
	struct http_req_info req; /* requests: this one; responses: the one answered */
	struct kp_file *fi;
	z_stream *z;
	char cd_name[HTTP_NAME_MAX];
	char ctype[96];
	char cenc[16];
};

struct http_files {
	struct http_msg m[2];
	struct http_req_info pend[HTTP_PENDING]; /* requests not answered yet (ring) */
	uint8_t pend_first, pend_n;
	uint32_t pend_lost; /* requests beyond the ring (answered with no request info) */
};

struct http_fctx {
	struct http_pctx p;
	struct http_files *fx;
	unsigned dir;
};

/* %XX-decodes s[0..n) into dst (at most cap-1 bytes, NUL-terminated); returns the length. */
static size_t http_pct_decode(char *dst, size_t cap, const uint8_t *s, size_t n)
{
	size_t o = 0;

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		uint8_t c = s[i];

		if (c == '%' && i + 2 < n && kp_hex_val(s[i + 1]) >= 0 &&
		    kp_hex_val(s[i + 2]) >= 0) {
			c = (uint8_t)(kp_hex_val(s[i + 1]) << 4 | kp_hex_val(s[i + 2]));
			i += 2;
		}
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return o;
}

/* The file name a request target gives: its path's last segment, %-decoded, without query. */
static size_t http_url_name(char *dst, size_t cap, const char *url)
{
	const uint8_t *u = (const uint8_t *)url;
	size_t n = strlen(url), end = 0, start;
	const char *sch = strstr(url, "://");

	if (sch && (size_t)(sch - url) < n) {
		/* absolute-form (proxy request): skip scheme and authority */
		const char *path = strchr(sch + 3, '/');

		if (!path) {
			dst[0] = '\0';
			return 0;
		}
		u = (const uint8_t *)path;
		n = strlen(path);
	}
	while (end < n && u[end] != '?' && u[end] != '#')
		end++;
	start = end;
	while (start > 0 && u[start - 1] != '/')
		start--;
	return http_pct_decode(dst, cap, u + start, end - start);
}

/*
 * The file name of a Content-Disposition value: filename*=charset'lang'%XX..
 * (RFC 5987, preferred) else filename="quoted" or filename=token. Empty if none.
 */
static void http_cd_name(char *dst, size_t cap, const uint8_t *v, size_t n)
{
	bool have_plain = false;
	size_t i = 0;

	dst[0] = '\0';
	while (i < n) {
		size_t ps, pe, vs, ve;
		bool star;

		while (i < n && (v[i] == ';' || v[i] == ' ' || v[i] == '\t'))
			i++;
		ps = i;
		while (i < n && v[i] != '=' && v[i] != ';')
			i++;
		pe = i;
		while (pe > ps && (v[pe - 1] == ' ' || v[pe - 1] == '\t'))
			pe--;
		if (i >= n || v[i] != '=') {
			continue; /* a bare token ("attachment") */
		}
		i = kp_skip_sp(v, n, i + 1);
		if (i < n && v[i] == '"') {
			char tmp[HTTP_NAME_MAX];
			size_t o = 0;

			for (i++; i < n && v[i] != '"'; i++) {
				if (v[i] == '\\' && i + 1 < n)
					i++;
				if (o + 1 < sizeof(tmp))
					tmp[o++] = (char)v[i];
			}
			tmp[o] = '\0';
			if (i < n)
				i++;
			if (pe - ps == 8 && kp_starts_ci(v + ps, pe - ps, "filename") && !have_plain &&
			    !dst[0]) {
				snprintf(dst, cap, "%s", tmp);
				have_plain = true;
			}
			continue;
		}
		vs = i;
		while (i < n && v[i] != ';')
			i++;
		ve = i;
		while (ve > vs && (v[ve - 1] == ' ' || v[ve - 1] == '\t'))
			ve--;
		star = pe - ps == 9 && kp_starts_ci(v + ps, pe - ps, "filename*");
		if (star) {
			/* charset'language'value */
			const uint8_t *q1 = memchr(v + vs, '\'', ve - vs), *q2;

			if (!q1)
				continue;
			q2 = memchr(q1 + 1, '\'', (size_t)(v + ve - (q1 + 1)));
			if (!q2)
				continue;
			http_pct_decode(dst, cap, q2 + 1, (size_t)(v + ve - (q2 + 1)));
			return; /* filename* wins */
		}
		if (pe - ps == 8 && kp_starts_ci(v + ps, pe - ps, "filename") && !have_plain) {
			kp_copy_field(dst, cap, v + vs, ve - vs);
			have_plain = true;
		}
	}
}

/* A decimal length of at most 18 digits (nothing else but trailing spaces); false if not. */
static bool http_dec(const uint8_t *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0, d = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (++d > 18)
			return false;
		v = v * 10 + (uint64_t)(s[i++] - '0');
	}
	if (d == 0 || kp_skip_sp(s, n, i) != n)
		return false;
	*out = v;
	return true;
}

/* "bytes S-E/T"; T may be "*" (unknown total) */
static bool http_content_range(const uint8_t *s, size_t n, uint64_t *start, uint64_t *total)
{
	size_t i = 0, a;
	uint64_t v;

	if (!kp_starts_ci(s, n, "bytes"))
		return false;
	i = kp_skip_sp(s, n, 5);
	a = i;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == a || i >= n || s[i] != '-' || !http_dec(s + a, i - a, start))
		return false;
	i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i >= n || s[i] != '/')
		return false;
	i++;
	if (i < n && s[i] == '*') {
		*total = KP_FILE_SIZE_UNKNOWN;
		return true;
	}
	if (!http_dec(s + i, n - i, &v))
		return false;
	*total = v;
	return true;
}

static void http_msg_close(struct http_fctx *f, struct http_msg *m, enum kp_file_end how)
{
	if (m->fi)
		kp_app_file_close(f->p.ctx, m->fi, how);
	m->fi = NULL;
	kp_zstream_free(&m->z);
}

/* Gives up on this direction: an open file ends truncated. */
static void http_msg_fail(struct http_fctx *f, struct http_msg *m)
{
	http_msg_close(f, m, KP_FILE_END_TRUNCATED);
	m->phase = HF_DONE;
}

/* Back to the start of the next message (keep-alive). */
static void http_msg_next(struct http_msg *m)
{
	struct kp_linebuf lb = m->lb;

	memset(m, 0, sizeof(*m));
	m->lb = lb;
	m->phase = HF_START;
}

static void http_attr_str(struct kp_file *fi, const char *key, const char *val)
{
	if (val[0])
		kp_app_file_attr(fi, key, val, strlen(val));
}

static void http_open_file(struct http_fctx *f, struct http_msg *m)
{
	char name[HTTP_NAME_MAX], num[8];
	uint64_t size = KP_FILE_SIZE_UNKNOWN, offset = 0;
	size_t nl;

	if (m->cd_name[0])
		nl = kp_copy_field(name, sizeof(name), (const uint8_t *)m->cd_name,
				   strlen(m->cd_name));
	else
		nl = http_url_name(name, sizeof(name), m->req.url);
	if (m->have_range && m->status == 206) {
		offset = m->range_start;
		size = m->range_total;
	} else if (m->have_len && !m->chunked && m->enc == HTTP_ENC_NONE) {
		size = m->clen;
	} else if (m->chunked || m->have_len) {
		size = KP_FILE_SIZE_FRAMED; /* the body's end is marked: a FIN before it truncates */
	}
	m->fi = kp_app_file_open(f->p.ctx, (int)f->dir, name, nl, size, offset);
	if (!m->fi)
		return;
	http_attr_str(m->fi, "content_type", m->ctype);
	http_attr_str(m->fi, "url", m->req.url);
	http_attr_str(m->fi, "host", m->req.host);
	http_attr_str(m->fi, "method", m->req.method);
	if (f->dir) {
		snprintf(num, sizeof(num), "%u", m->status);
		http_attr_str(m->fi, "status", num);
	}
	if (m->enc != HTTP_ENC_NONE)
		http_attr_str(m->fi, "encoding", m->cenc);
}

/* Starts inflate once the first two body bytes tell zlib from raw deflate. */
static bool http_z_init(struct http_msg *m)
{
	int wbits = 16 + MAX_WBITS;

	if (m->enc == HTTP_ENC_DEFLATE) {
		unsigned h = (unsigned)m->zpre[0] << 8 | m->zpre[1];

		wbits = (m->zpre[0] & 0x0f) == 8 && h % 31 == 0 ? MAX_WBITS : -MAX_WBITS;
	}
	m->z = kp_zstream_new(wbits);
	return m->z != NULL;
}

/* Inflates n body bytes into the file; false when the file had to stop (error, cap). */
static bool http_z_feed(struct http_fctx *f, struct http_msg *m, const uint8_t *d, size_t n)
{
	uint8_t out[HTTP_ZOUT];

	while (n > 0 && !m->zdone) {
		uInt take = n > (1u << 30) ? (1u << 30) : (uInt)n;

		m->z->next_in = (Bytef *)(uintptr_t)d;
		m->z->avail_in = take;
		do {
			size_t got;
			int r;

			m->z->next_out = out;
			m->z->avail_out = sizeof(out);
			r = inflate(m->z, Z_NO_FLUSH);
			got = sizeof(out) - m->z->avail_out;
			if (got > HTTP_DECODE_MAX - m->decoded) {
				kp_app_file_data(f->p.ctx, m->fi, out,
						 (size_t)(HTTP_DECODE_MAX - m->decoded));
				return false;
			}
			if (got) {
				kp_app_file_data(f->p.ctx, m->fi, out, got);
				m->decoded += got;
				if (!m->fi)
					return false;
			}
			if (r == Z_STREAM_END) {
				m->zdone = true; /* bytes after the end of the stream are ignored */
				break;
			}
			if (r != Z_OK && !(r == Z_BUF_ERROR && got == 0))
				return false;
			if (r == Z_BUF_ERROR)
				break;
		} while (m->z->avail_in > 0 || m->z->avail_out == 0);
		d += take;
		n -= take;
	}
	return true;
}

/* Body bytes of the current message (de-chunked, still encoded). */
static void http_body_data(struct http_fctx *f, struct http_msg *m, const uint8_t *d, size_t n)
{
	if (!m->fi || n == 0)
		return;
	if (m->enc != HTTP_ENC_GZIP && m->enc != HTTP_ENC_DEFLATE) {
		kp_app_file_data(f->p.ctx, m->fi, d, n);
		return;
	}
	if (!m->z) {
		while (m->zpre_len < 2 && n > 0) {
			m->zpre[m->zpre_len++] = *d++;
			n--;
		}
		if (m->zpre_len < 2)
			return;
		if (!http_z_init(m) || !http_z_feed(f, m, m->zpre, 2)) {
			http_msg_close(f, m, KP_FILE_END_TRUNCATED);
			return;
		}
	}
	if (!http_z_feed(f, m, d, n))
		http_msg_close(f, m, KP_FILE_END_TRUNCATED);
}

/* The message's body crossed whole (a compressed one must also have decoded whole). */
static void http_msg_end(struct http_fctx *f, struct http_msg *m)
{
	bool zpart = (m->enc == HTTP_ENC_GZIP || m->enc == HTTP_ENC_DEFLATE) && !m->zdone;

	http_msg_close(f, m, zpart ? KP_FILE_END_TRUNCATED : KP_FILE_END_COMPLETE);
	http_msg_next(m);
}

static void http_pend_push(struct http_files *fx, const struct http_req_info *r)
{
	if (fx->pend_n == HTTP_PENDING || fx->pend_lost) {
		if (fx->pend_lost < UINT32_MAX)
			fx->pend_lost++;
		return;
	}
	fx->pend[(fx->pend_first + fx->pend_n) % HTTP_PENDING] = *r;
	fx->pend_n++;
}

static void http_pend_pop(struct http_files *fx, struct http_req_info *r)
{
	if (fx->pend_n) {
		*r = fx->pend[fx->pend_first];
		fx->pend_first = (uint8_t)((fx->pend_first + 1) % HTTP_PENDING);
		fx->pend_n--;
	} else {
		memset(r, 0, sizeof(*r));
		if (fx->pend_lost)
			fx->pend_lost--;
	}
}

/* The header block ended: how the body is framed. */
static void http_headers_end(struct http_fctx *f, struct http_msg *m)
{
	struct http_files *fx = f->fx;
	bool body;

	if (f->dir == 0) {
		http_pend_push(fx, &m->req);
		body = m->chunked || (m->have_len && m->clen > 0);
	} else {
		if (m->status >= 100 && m->status < 200) {
			if (m->status == 101) { /* the connection switches protocols */
				fx->m[0].phase = HF_DONE;
				http_msg_fail(f, &fx->m[0]);
				m->phase = HF_DONE;
				return;
			}
			http_msg_next(m); /* 100 Continue: the real answer follows */
			return;
		}
		http_pend_pop(fx, &m->req);
		if (m->req.connect && m->status >= 200 && m->status < 300) {
			http_msg_fail(f, &fx->m[0]); /* a tunnel */
			m->phase = HF_DONE;
			return;
		}
		body = !(m->req.head || m->status == 204 || m->status == 304) &&
		       (m->chunked || !m->have_len || m->clen > 0);
	}
	if (!body) {
		http_msg_next(m);
		return;
	}
	http_open_file(f, m);
	m->line_bytes = 0;
	if (m->chunked) {
		m->phase = HF_CHUNK_SIZE;
	} else if (m->have_len) {
		m->remain = m->clen;
		m->phase = HF_BODY;
	} else {
		m->phase = HF_CLOSE_BODY; /* ends at the FIN: the core closes the file */
	}
}

static void http_header(struct http_fctx *f, struct http_msg *m, const uint8_t *l, size_t n)
{
	size_t v;
	uint64_t x;

	if (kp_starts_ci(l, n, "Content-Length:")) {
		v = kp_skip_sp(l, n, 15);
		if (!http_dec(l + v, n - v, &x) || (m->have_len && x != m->clen)) {
			http_msg_fail(f, m);
			return;
		}
		m->clen = x;
		m->have_len = true;
	} else if (kp_starts_ci(l, n, "Transfer-Encoding:")) {
		if (kp_find_ci(l, n, "chunked"))
			m->chunked = true;
	} else if (kp_starts_ci(l, n, "Content-Encoding:")) {
		v = kp_skip_sp(l, n, 17);
		kp_copy_field(m->cenc, sizeof(m->cenc), l + v, n - v);
		if (kp_starts_ci(l + v, n - v, "gzip") || kp_starts_ci(l + v, n - v, "x-gzip"))
			m->enc = HTTP_ENC_GZIP;
		else if (kp_starts_ci(l + v, n - v, "deflate"))
			m->enc = HTTP_ENC_DEFLATE;
		else if (!kp_starts_ci(l + v, n - v, "identity") && v < n)
			m->enc = HTTP_ENC_OTHER; /* br, zstd: reported as sent */
	} else if (kp_starts_ci(l, n, "Content-Type:")) {
		http_copy_value(m->ctype, sizeof(m->ctype), l, n, 13);
	} else if (kp_starts_ci(l, n, "Content-Disposition:")) {
		v = kp_skip_sp(l, n, 20);
		http_cd_name(m->cd_name, sizeof(m->cd_name), l + v, n - v);
	} else if (kp_starts_ci(l, n, "Content-Range:")) {
		v = kp_skip_sp(l, n, 14);
		m->have_range = http_content_range(l + v, n - v, &m->range_start, &m->range_total);
	} else if (f->dir == 0 && kp_starts_ci(l, n, "Host:")) {
		http_copy_host(m->req.host, sizeof(m->req.host), l, n);
	}
}

/* A chunk-size line: hex size, then optional extensions. */
static void http_chunk_size(struct http_fctx *f, struct http_msg *m, const uint8_t *l, size_t n)
{
	uint64_t v = 0;
	size_t i = 0, d = 0;

	while (i < n && l[i] == '0')
		i++;
	if (i == 0 && (n == 0 || kp_hex_val(l[0]) < 0)) {
		http_msg_fail(f, m);
		return;
	}
	while (i < n && kp_hex_val(l[i]) >= 0) {
		if (++d > HTTP_CHUNK_DIGITS) {
			http_msg_fail(f, m);
			return;
		}
		v = v << 4 | (uint64_t)kp_hex_val(l[i++]);
	}
	if (i < n && l[i] != ';' && l[i] != ' ' && l[i] != '\t') {
		http_msg_fail(f, m);
		return;
	}
	if (v == 0) {
		m->phase = HF_TRAILERS;
		return;
	}
	m->remain = v;
	m->phase = HF_CHUNK_DATA;
}

static uint32_t http_file_line(void *arg, const uint8_t *l, size_t n)
{
	struct http_fctx *f = arg;
	struct http_state *st = f->p.st;
	struct http_msg *m = &f->fx->m[f->dir];
	size_t ml, to, tl;

	if (m->phase != HF_DONE) {
		m->line_bytes += (uint32_t)n + 1;
		if (m->line_bytes > HTTP_HDR_MAX) {
			http_msg_fail(f, m); /* a header block (or chunk line run) too long */
			return KP_LINE_STOP;
		}
	}
	switch (m->phase) {
	case HF_START:
		if (n == 0)
			return 0; /* stray CRLF between messages */
		if (f->dir == 0) {
			if (!http_req_line(l, n, &ml, &to, &tl)) {
				http_msg_fail(f, m);
				break;
			}
			kp_copy_field(m->req.method, sizeof(m->req.method), l, ml);
			kp_copy_field(m->req.url, sizeof(m->req.url), l + to, tl);
			m->req.head = ml == 4 && memcmp(l, "HEAD", 4) == 0;
			m->req.connect = ml == 7 && memcmp(l, "CONNECT", 7) == 0;
		} else if (!http_resp_line(l, n, &m->status)) {
			http_msg_fail(f, m);
			break;
		}
		m->phase = HF_HEADERS;
		break;
	case HF_HEADERS:
		if (n == 0)
			http_headers_end(f, m);
		else
			http_header(f, m, l, n);
		break;
	case HF_CHUNK_SIZE:
		http_chunk_size(f, m, l, n);
		break;
	case HF_CHUNK_END:
		if (n != 0)
			http_msg_fail(f, m);
		else
			m->phase = HF_CHUNK_SIZE;
		break;
	case HF_TRAILERS:
		if (n == 0)
			http_msg_end(f, m);
		break;
	default:
		break;
	}
	/* The first request and response also fill the "http" object, as the plain parser. */
	if (f->dir == 0 && st->phase[0] != HP_DONE)
		http_req_cb(&f->p, l, n);
	else if (f->dir == 1 && (st->phase[1] == HP_START || st->phase[1] == HP_HEADERS))
		http_resp_cb(&f->p, l, n);
	return m->phase < HF_BODY ? 0 : KP_LINE_STOP;
}

static enum kp_parse_result http_parse_files(struct kp_app_ctx *ctx, struct http_state *st)
{
	struct http_fctx f = {{ctx, st}, st->fx, ctx->dir ? 1 : 0};
	struct http_msg *m = &st->fx->m[f.dir];
	const uint8_t *d = ctx->data;
	size_t off = 0, n = ctx->len;

	if (ctx->gap && m->phase != HF_DONE) {
		if (m->fi)
			kp_app_file_gap(ctx, m->fi, 0);
		http_msg_fail(&f, m); /* no resync: the rest of this direction is not parsed */
	}
	while (off < n && m->phase != HF_DONE) {
		size_t take = n - off;

		if (m->phase == HF_BODY || m->phase == HF_CHUNK_DATA) {
			if (take > m->remain)
				take = (size_t)m->remain;
		}
		if (m->phase >= HF_BODY) {
			/* The first response's body is sniffed for tracker answers, as before. */
			if (f.dir == 1 && st->phase[1] == HP_BODY) {
				st->chunked = false; /* the bytes here are de-chunked */
				http_body(&f.p, d + off, take);
			}
			http_body_data(&f, m, d + off, take);
			off += take;
			if (m->phase == HF_CLOSE_BODY)
				continue;
			m->remain -= take;
			if (m->remain == 0) {
				if (m->phase == HF_BODY) {
					http_msg_end(&f, m);
				} else {
					m->phase = HF_CHUNK_END;
					m->line_bytes = 0;
				}
			}
			continue;
		}
		take = kp_linebuf_feed(&m->lb, d + off, n - off, http_file_line, &f);
		off += take;
		if (m->lb.overflow && m->phase < HF_BODY) {
			/* a line beyond KP_LINE_MAX is being skipped: it counts too */
			if (take > HTTP_HDR_MAX - m->line_bytes) {
				http_msg_fail(&f, m);
				break;
			}
			m->line_bytes += (uint32_t)take;
		}
	}
	if (st->phase[1] == HP_BODY && st->fx->m[1].phase == HF_DONE)
		st->phase[1] = HP_DONE;
	return st->fx->m[0].phase == HF_DONE && st->fx->m[1].phase == HF_DONE ? KP_PARSE_DONE
									      : KP_PARSE_MORE;
}

static void http_free(void *state)
{
	struct http_state *st = state;

	if (!st->fx)
		return;
	for (int i = 0; i < 2; i++)
		kp_zstream_free(&st->fx->m[i].z);
	free(st->fx);
	st->fx = NULL;
}

static enum kp_parse_result http_parse(struct kp_app_ctx *ctx, void *state)
{
	struct http_state *st = state;
	struct http_pctx p = {ctx, st};
	unsigned dir = ctx->dir ? 1 : 0;
	size_t off = 0;

	if (!st->app && ctx->label && ctx->label->app != KP_APP_HTTP)
		st->app = (uint8_t)ctx->label->app; /* the probe already refined it */
	if (st->mode == HTTP_MODE_UNSET) {
		st->mode = HTTP_MODE_PLAIN;
		if (kp_app_files_wanted(ctx)) {
			st->fx = calloc(1, sizeof(*st->fx));
			if (st->fx)
				st->mode = HTTP_MODE_FILES;
		}
	}
	if (st->mode == HTTP_MODE_FILES)
		return http_parse_files(ctx, st);
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
	.free_state = http_free,
	.json = http_json,
};
