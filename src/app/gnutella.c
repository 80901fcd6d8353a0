/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gnutella and Gnutella2 (G2). TCP: the text handshake ("GNUTELLA CONNECT/0.6",
 * "GNUTELLA/0.6 200 OK", the 0.4 "GNUTELLA OK") and the push answer "GIV
 * <index>:<guid>/<name>". UDP: the Gnutella 0.6 message header (16-byte GUID,
 * payload descriptor, TTL, hops, little-endian payload length that must equal
 * the datagram length minus 23) and the G2 "GND" fragment header, whose first
 * fragment must start with a well-formed G2 packet or a zlib stream. Gnutella
 * downloads over HTTP ("GET /get/<index>/<name>", "GET /uri-res/N2R?urn:...")
 * are claimed here too (the http module would only refine them to gnutella),
 * so that their files can be reported.
 * The parser reads the handshake headers (User-Agent, X-Ultrapeer, G2 Accept).
 * When files are wanted it goes on: queries (0x80) and query hits (0x81) of the
 * message stream (inflated when a side announced Content-Encoding: deflate; hit
 * hashes from urn:sha1, urn:bitprint or GGEP "H"), UDP queries and hits, and the
 * request and body of a download (Content-Length bytes, Content-Range offset).
 */
#include "app/app.h"
#include "app/base32.h"
#include "app/zstream.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "content/content.h"
#include "output/json.h"

#define GNU_HDR_LEN 23
#define GNU_LINE_MAX 512
#define GNU_MSG_MAX 65536 /* query / query hit payloads read whole up to this */
#define GNU_NAME_MAX 512
#define GNU_INFLATE_MAX (256ull << 20) /* a deflated message stream inflates to at most this */

enum gnu_mode {
	GM_HDR = 0, /* handshake or HTTP header lines */
	GM_MSG,	    /* Gnutella 0.6 messages */
	GM_BODY,    /* HTTP body of a download */
	GM_DEAD,
};

struct gnutella_state {
	char user_agent[96];
	char version[8]; /* "0.6" from CONNECT/x.y */
	uint16_t status; /* answer status code (200, 503 ...) */
	bool ultrapeer_known, ultrapeer;
	bool g2;
	bool udp;
	bool giv;
	uint8_t udp_kind;  /* 1 Gnutella header, 2 GND */
	uint8_t last_desc; /* last Gnutella payload descriptor seen over UDP */
	uint32_t udp_msgs;
	bool hdr_done[2];
	/* Per-direction line accumulator for the handshake headers. */
	char line[2][GNU_LINE_MAX];
	uint16_t line_len[2];
	bool line_over[2];
	/* Content (files wanted). */
	bool http; /* a download connection (GET ...) */
	uint8_t mode[2];
	bool deflate[2]; /* Content-Encoding: deflate: the messages are one zlib stream */
	z_stream *z[2];
	bool inflating[2];
	uint64_t z_total[2];
	uint8_t mhdr[2][GNU_HDR_LEN];
	uint8_t mhlen[2];
	uint8_t *msg[2];
	uint32_t mlen[2], mwant[2], mskip[2];
	char req_name[GNU_NAME_MAX];
	uint16_t req_name_len;
	uint16_t http_status;
	uint64_t clen, crange_start;
	bool have_clen;
	uint8_t sha1[20]; /* urn:sha1 of the download (request or X-Gnutella-Content-URN) */
	bool have_sha1;
	struct kp_file *body;
	uint64_t body_left;
	uint32_t queries, hits;
};

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static bool is_hex(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Is buf (len bytes) a prefix of the literal s? */
static bool prefix_of(const uint8_t *buf, size_t len, const char *s)
{
	size_t n = strlen(s);
	return len < n && memcmp(buf, s, len) == 0;
}

/* "GNUTELLA CONNECT/d.d\r\n" or "\n" */
static enum kp_probe_result tcp_client(const uint8_t *b, size_t len)
{
	static const char conn[] = "GNUTELLA CONNECT/";
	size_t n = sizeof(conn) - 1, i;

	if (prefix_of(b, len, conn))
		return KP_PROBE_NEED_MORE;
	if (kp_starts(b, len, conn)) {
		/* digit '.' digit, checked as far as the bytes go */
		for (i = n; i < n + 3; i++) {
			if (i >= len)
				return KP_PROBE_NEED_MORE;
			if (i == n + 1 ? b[i] != '.' : !is_digit(b[i]))
				return KP_PROBE_EXCLUDE;
		}
		if (i < len && is_digit(b[i]))
			i++;
		if (i >= len)
			return KP_PROBE_NEED_MORE;
		if (b[i] == '\n')
			return KP_PROBE_MATCH;
		if (b[i] != '\r')
			return KP_PROBE_EXCLUDE;
		if (i + 1 >= len)
			return KP_PROBE_NEED_MORE;
		return b[i + 1] == '\n' ? KP_PROBE_MATCH : KP_PROBE_EXCLUDE;
	}
	/* Download request: "GET /get/<digits>/..." or "GET /uri-res/N2R?urn:..." */
	if (prefix_of(b, len, "GET /get/") || prefix_of(b, len, "GET /uri-res/N2R?urn:"))
		return KP_PROBE_NEED_MORE;
	if (kp_starts(b, len, "GET /uri-res/N2R?urn:"))
		return KP_PROBE_MATCH;
	if (kp_starts(b, len, "GET /get/")) {
		size_t d = 0;

		for (i = 9; i < len && is_digit(b[i]) && d < 10; i++)
			d++;
		if (i >= len)
			return KP_PROBE_NEED_MORE;
		return d > 0 && b[i] == '/' ? KP_PROBE_MATCH : KP_PROBE_EXCLUDE;
	}
	/* Push answer: "GIV 12:0123456789abcdef0123456789abcdef/name\n\n" */
	if (prefix_of(b, len, "GIV "))
		return KP_PROBE_NEED_MORE;
	if (kp_starts(b, len, "GIV ")) {
		size_t d = 0, h = 0;

		for (i = 4; i < len && is_digit(b[i]) && d < 10; i++)
			d++;
		if (i >= len)
			return KP_PROBE_NEED_MORE;
		if (d == 0 || b[i] != ':')
			return KP_PROBE_EXCLUDE;
		for (i++; i < len && is_hex(b[i]) && h < 32; i++)
			h++;
		if (i >= len)
			return KP_PROBE_NEED_MORE;
		return h == 32 && b[i] == '/' ? KP_PROBE_MATCH : KP_PROBE_EXCLUDE;
	}
	return KP_PROBE_EXCLUDE;
}

/* "GNUTELLA/0.6 200 OK" or "GNUTELLA OK" */
static enum kp_probe_result tcp_server(const uint8_t *b, size_t len)
{
	if (prefix_of(b, len, "GNUTELLA OK\n") ||
	    (len < 16 && (prefix_of(b, len, "GNUTELLA/") || kp_starts(b, len, "GNUTELLA/"))))
		return KP_PROBE_NEED_MORE;
	if (kp_starts(b, len, "GNUTELLA OK\n") || kp_starts(b, len, "GNUTELLA OK\r\n"))
		return KP_PROBE_MATCH;
	if (kp_starts(b, len, "GNUTELLA/") && len >= 16 && is_digit(b[9]) && b[10] == '.' &&
	    is_digit(b[11]) && b[12] == ' ' && is_digit(b[13]) && is_digit(b[14]) &&
	    is_digit(b[15]))
		return KP_PROBE_MATCH;
	return KP_PROBE_EXCLUDE;
}

/* A G2 packet header at b: control byte, length, name. */
static bool g2_packet_ok(const uint8_t *b, size_t len)
{
	uint8_t cb;
	size_t len_len, name_len, plen = 0, i;

	if (len < 2)
		return false;
	cb = b[0];
	if (cb & 0x01) /* reserved bit */
		return false;
	len_len = cb >> 6;
	name_len = ((cb >> 3) & 7) + 1;
	if (1 + len_len + name_len > len)
		return false;
	for (i = 0; i < len_len; i++) {
		if (cb & 0x02) /* big endian */
			plen = plen << 8 | b[1 + i];
		else
			plen |= (size_t)b[1 + i] << (8 * i);
	}
	for (i = 0; i < name_len; i++) {
		uint8_t c = b[1 + len_len + i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      (c >= 'a' && c <= 'z')))
			return false;
	}
	return plen <= len - 1 - len_len - name_len;
}

static bool zlib_hdr_ok(const uint8_t *b, size_t len)
{
	return len >= 2 && (b[0] & 0x0f) == 8 && (b[0] >> 4) <= 7 &&
	       ((unsigned)b[0] << 8 | b[1]) % 31 == 0;
}

/* Returns a confidence (0: not G2 UDP). */
static unsigned udp_gnd(const uint8_t *b, size_t len)
{
	uint8_t flags, part, count;

	if (len < 8 || memcmp(b, "GND", 3) != 0)
		return 0;
	flags = b[3];
	part = b[6];
	count = b[7];
	if (part == 0)
		return 0;
	if (count == 0) /* acknowledgement: header only */
		return len == 8 ? KP_CONF_MEDIUM : 0;
	if (part > count || len == 8)
		return 0;
	if (part > 1)
		return KP_CONF_MEDIUM; /* a later fragment: payload not checkable */
	if (flags & 0x01)
		return zlib_hdr_ok(b + 8, len - 8) ? KP_CONF_HIGH : 0;
	if (count == 1)
		return g2_packet_ok(b + 8, len - 8) ? KP_CONF_HIGH : 0;
	return g2_packet_ok(b + 8, len - 8) || (b[8] & 1) == 0 ? KP_CONF_MEDIUM : 0;
}

/* Gnutella 0.6 message header over UDP; returns a confidence (0: not Gnutella). */
static unsigned udp_gnutella(const uint8_t *b, size_t len)
{
	uint8_t desc, ttl, hops;
	size_t plen;

	if (len < GNU_HDR_LEN)
		return 0;
	desc = b[16];
	ttl = b[17];
	hops = b[18];
	plen = kp_le32(b + 19);
	if (plen != len - GNU_HDR_LEN)
		return 0;
	if (ttl > 16 || hops > 16 || ttl + hops > 16)
		return 0;
	switch (desc) {
	case 0x00: /* ping: empty or GGEP (magic 0xC3) */
		return plen == 0 || b[23] == 0xc3 ? KP_CONF_HIGH : 0;
	case 0x01: /* pong: port, ip, files, kbytes, optional GGEP */
		return plen == 14 || (plen > 14 && b[23 + 14] == 0xc3) ? KP_CONF_HIGH : 0;
	case 0x02: /* bye: code + NUL-terminated text */
		return plen >= 3 && b[len - 1] == 0 ? KP_CONF_HIGH : 0;
	case 0x31: /* vendor message: vendor (4 printable), selector, version */
	case 0x32:
		if (plen < 8)
			return 0;
		for (int i = 0; i < 4; i++)
			if (b[23 + i] < 0x20 || b[23 + i] > 0x7e)
				if (!(desc == 0x32 && b[23 + i] == 0))
					return 0;
		return KP_CONF_HIGH;
	case 0x40: /* push: servent id, index, ip, port (+GGEP) */
		return plen == 26 || (plen > 26 && b[23 + 26] == 0xc3) ? KP_CONF_HIGH : 0;
	case 0x44: /* gtk-gnutella DHT (Kademlia) message */
		return plen >= 25 ? KP_CONF_MEDIUM : 0;
	case 0x80: /* query: min speed, NUL-terminated criteria, extensions */
		return plen >= 3 && memchr(b + 25, 0, plen - 2) ? KP_CONF_HIGH : 0;
	case 0x81: /* query hit: count, port, ip, speed, results, servent id */
		return plen >= 11 + 16 && b[23] > 0 ? KP_CONF_HIGH : 0;
	default:
		return 0;
	}
}

static enum kp_probe_result gnutella_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	if (ctx->l4 == IPPROTO_UDP) {
		const uint8_t *b = ctx->data ? ctx->data : ctx->buf[ctx->dir];
		size_t len = ctx->data ? ctx->len : ctx->buf_len[ctx->dir];
		unsigned c = udp_gnutella(b, len);

		if (!c)
			c = udp_gnd(b, len);
		if (!c)
			return KP_PROBE_EXCLUDE;
		m->app = KP_APP_GNUTELLA;
		m->confidence = (uint8_t)c;
		return KP_PROBE_MATCH;
	}
	if (ctx->l4 != IPPROTO_TCP)
		return KP_PROBE_EXCLUDE;

	enum kp_probe_result rc = KP_PROBE_NEED_MORE, rs = KP_PROBE_NEED_MORE;

	if (ctx->buf_len[KP_DIR_TOSERVER])
		rc = tcp_client(ctx->buf[KP_DIR_TOSERVER], ctx->buf_len[KP_DIR_TOSERVER]);
	if (ctx->buf_len[KP_DIR_TOCLIENT])
		rs = tcp_server(ctx->buf[KP_DIR_TOCLIENT], ctx->buf_len[KP_DIR_TOCLIENT]);
	if (rc == KP_PROBE_EXCLUDE)
		return KP_PROBE_EXCLUDE;
	if (rc == KP_PROBE_MATCH) {
		m->app = KP_APP_GNUTELLA;
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	/* The client has said nothing decisive yet; a server answer alone is not enough. */
	if (rs == KP_PROBE_EXCLUDE && ctx->buf_len[KP_DIR_TOSERVER] == 0)
		return KP_PROBE_EXCLUDE;
	return KP_PROBE_NEED_MORE;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = 0;
}

static bool hdr_is(const char *line, size_t n, const char *name, const char **val, size_t *vn)
{
	size_t k = strlen(name);

	if (n <= k || line[k] != ':' || !kp_starts_ci((const uint8_t *)line, n, name))
		return false;
	*val = line + k + 1;
	*vn = n - k - 1;
	return true;
}

static void handle_line(struct gnutella_state *st, unsigned dir, const char *l, size_t n)
{
	const char *v;
	size_t vn;

	if (n == 0) {
		st->hdr_done[dir] = true;
		return;
	}
	if (kp_starts((const uint8_t *)l, n, "GNUTELLA CONNECT/")) {
		copy_value(st->version, sizeof(st->version), l + 17, n - 17);
	} else if (kp_starts((const uint8_t *)l, n, "GNUTELLA/") && n >= 16) {
		st->status = (uint16_t)((l[13] - '0') * 100 + (l[14] - '0') * 10 + (l[15] - '0'));
		if (l[13] < '0' || l[13] > '9' || l[14] < '0' || l[14] > '9' || l[15] < '0' ||
		    l[15] > '9')
			st->status = 0;
	} else if (kp_starts((const uint8_t *)l, n, "GNUTELLA OK")) {
		st->status = 200;
	} else if (kp_starts((const uint8_t *)l, n, "GET ")) {
		st->http = true;
	} else if (kp_starts((const uint8_t *)l, n, "GIV ")) {
		st->giv = true;
		st->hdr_done[dir] = true;
	} else if (hdr_is(l, n, "User-Agent", &v, &vn)) {
		if (!st->user_agent[0] || dir == KP_DIR_TOSERVER)
			copy_value(st->user_agent, sizeof(st->user_agent), v, vn);
	} else if (hdr_is(l, n, "X-Ultrapeer", &v, &vn)) {
		if (dir == KP_DIR_TOSERVER) {
			st->ultrapeer_known = true;
			st->ultrapeer = kp_find_ci((const uint8_t *)v, vn, "true") != NULL;
		}
	} else if (hdr_is(l, n, "Accept", &v, &vn) || hdr_is(l, n, "Content-Type", &v, &vn)) {
		if (kp_find_ci((const uint8_t *)v, vn, "application/x-gnutella2"))
			st->g2 = true;
	}
}

/* ---- content (files wanted) ------------------------------------------------ */

/*
 * "urn:sha1:" + 32 base32 characters somewhere in b[0..n) -> 20 bytes; else the
 * SHA-1 half of "urn:bitprint:<sha1 base32>.<tiger base32>".
 */
static bool find_sha1(const uint8_t *b, size_t n, uint8_t out[20])
{
	const uint8_t *u = kp_find_ci(b, n, "urn:sha1:");

	if (u && (size_t)(b + n - u) >= 9 + 32 &&
	    kp_base32_decode((const char *)u + 9, 32, out, 20))
		return true;
	u = kp_find_ci(b, n, "urn:bitprint:");
	return u && (size_t)(b + n - u) >= 13 + 32 &&
	       kp_base32_decode((const char *)u + 13, 32, out, 20);
}

/* %XX decoding of a URL path segment into out; returns the length. */
static size_t url_decode(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o < cap; i++) {
		if (s[i] == '%' && i + 2 < n && kp_hex_val((uint8_t)s[i + 1]) >= 0 &&
		    kp_hex_val((uint8_t)s[i + 2]) >= 0) {
			out[o++] = (char)(kp_hex_val((uint8_t)s[i + 1]) << 4 |
					  kp_hex_val((uint8_t)s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

static uint64_t dec_u64(const char *s, size_t n, bool *ok)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	*ok = i < n;
	for (; i < n && s[i] >= '0' && s[i] <= '9' && i < 20; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v;
}

/* COBS decoding (GGEP's NUL-free encoding) of b[0..n) into out; returns the length or 0. */
static size_t cobs_decode(const uint8_t *b, size_t n, uint8_t *out, size_t cap)
{
	size_t i = 0, o = 0;

	while (i < n) {
		uint8_t code = b[i++];

		if (code == 0)
			return 0;
		for (uint8_t k = 1; k < code; k++) {
			if (i >= n || o >= cap)
				return 0;
			out[o++] = b[i++];
		}
		if (code < 0xff && i < n) {
			if (o >= cap)
				return 0;
			out[o++] = 0;
		}
	}
	return o;
}

/*
 * The SHA-1 of a GGEP "H" extension (hash type 1 = SHA-1, 2 = bitprint: SHA-1 then
 * Tiger) in a result's extension block: blocks separated by 0x1C, a GGEP block
 * starting with 0xC3, then extensions of flags, id, 1-3 length bytes and data.
 */
static bool ggep_sha1(const uint8_t *b, size_t n, uint8_t out[20])
{
	for (size_t s = 0; s < n; s++) {
		size_t i;

		if (b[s] != 0xc3 || (s > 0 && b[s - 1] != 0x1c))
			continue;
		i = s + 1;
		for (unsigned ext = 0; ext < 32 && i < n; ext++) {
			uint8_t flags = b[i++], idl = flags & 0x0f;
			const uint8_t *id = b + i;
			size_t dl = 0;
			unsigned k;

			if (idl == 0 || i + idl > n)
				return false;
			i += idl;
			for (k = 0; k < 3 && i < n; k++) {
				uint8_t c = b[i++];

				dl = dl << 6 | (c & 0x3f);
				if (c & 0x40)
					break;
			}
			if (k == 3 || dl > n - i)
				return false;
			if (idl == 1 && id[0] == 'H' && !(flags & 0x20)) {
				uint8_t dec[64];
				const uint8_t *v = b + i;
				size_t vl = dl;

				if (flags & 0x40) {
					vl = cobs_decode(b + i, dl, dec, sizeof(dec));
					v = dec;
				}
				if (vl >= 21 && (v[0] == 1 || v[0] == 2)) {
					memcpy(out, v + 1, 20);
					return true;
				}
			}
			i += dl;
			if (flags & 0x80)
				break;
		}
	}
	return false;
}

/* The NUL-terminated string at the cursor (length in *n; the cursor then past its NUL), or NULL
 * when no NUL follows. */
static const uint8_t *cur_cstr(struct kp_cur *c, size_t *n)
{
	const uint8_t *p = kp_cur_ptr(c);
	const uint8_t *z = memchr(p, 0, kp_cur_left(c));

	if (!z)
		return NULL;
	*n = (size_t)(z - p);
	kp_cur_skip(c, *n + 1);
	return p;
}

/* A query (0x80) or query hit (0x81) payload. */
static void gnu_message(struct kp_app_ctx *ctx, struct gnutella_state *st, uint8_t desc,
			const uint8_t *p, size_t n)
{
	uint8_t sha1[20];

	if (desc == 0x80) {
		const uint8_t *z;
		size_t cl;

		if (n < 3)
			return;
		z = memchr(p + 2, 0, n - 2);
		cl = z ? (size_t)(z - (p + 2)) : n - 2;
		if (cl && !(cl == 1 && p[2] == '\\')) {
			kp_app_search(ctx, (const char *)p + 2, cl);
			st->queries++;
		} else if (z && find_sha1(z, (size_t)(p + n - z), sha1)) {
			const uint8_t *u = kp_find_ci(z, (size_t)(p + n - z), "urn:sha1:");

			kp_app_search(ctx, (const char *)u, 9 + 32);
			kp_app_hash_seen(ctx, KP_HASH_SHA1, sha1, 20);
			st->queries++;
		}
		return;
	}
	if (desc == 0x81) {
		struct kp_cur c = kp_cur_make(p, n);
		unsigned count = kp_cur_u8(&c);

		kp_cur_skip(&c, 10); /* port, ip, speed */
		for (unsigned i = 0; i < count && !c.err; i++) {
			uint32_t size;
			const uint8_t *name, *ext;
			size_t nl, el;
			bool h;

			kp_cur_le32(&c); /* index */
			size = kp_cur_le32(&c);
			if (c.err)
				return;
			name = cur_cstr(&c, &nl);
			ext = cur_cstr(&c, &el);
			if (!name || !ext)
				return;
			h = find_sha1(ext, el, sha1) || ggep_sha1(ext, el, sha1);
			kp_app_file_listed(ctx, "search_result", (const char *)name, nl, size,
					   h ? KP_HASH_SHA1 : KP_HASH_NONE, h ? sha1 : NULL,
					   h ? 20 : 0);
			st->hits++;
		}
	}
}

/* "GET /get/<index>/<name> HTTP/1.x" or "GET /uri-res/N2R?urn:sha1:<base32> HTTP/1.x" */
static void gnu_request(struct kp_app_ctx *ctx, struct gnutella_state *st, const char *l, size_t n)
{
	const char *t = l + 4, *e;
	size_t tn;
	uint8_t sha1[20];
	bool h;

	e = memchr(t, ' ', n - 4);
	tn = e ? (size_t)(e - t) : n - 4;
	st->http = true;
	h = find_sha1((const uint8_t *)t, tn, sha1);
	if (kp_starts((const uint8_t *)t, tn, "/get/")) {
		const char *sl = memchr(t + 5, '/', tn - 5);

		if (!sl)
			return;
		st->req_name_len = (uint16_t)url_decode(st->req_name, sizeof(st->req_name), sl + 1,
							(size_t)(t + tn - sl - 1));
	} else {
		const char *u = memchr(t, '?', tn);
		size_t k = u ? (size_t)(t + tn - u - 1) : 0;

		if (k > sizeof(st->req_name))
			k = sizeof(st->req_name);
		if (u)
			memcpy(st->req_name, u + 1, k);
		st->req_name_len = (uint16_t)k;
	}
	st->have_sha1 = h;
	if (h) {
		memcpy(st->sha1, sha1, 20);
		kp_app_hash_seen(ctx, KP_HASH_SHA1, sha1, 20);
	}
	kp_app_file_listed(ctx, "request", st->req_name, st->req_name_len, KP_FILE_SIZE_UNKNOWN,
			   h ? KP_HASH_SHA1 : KP_HASH_NONE, h ? sha1 : NULL, h ? 20 : 0);
}

/* One header line (handshake or HTTP) for the content parser; n == 0 ends a block. */
static void gnu_content_line(struct kp_app_ctx *ctx, struct gnutella_state *st, unsigned d,
			     const char *l, size_t n)
{
	const char *v;
	size_t vn;
	bool ok;

	if (n == 0) {
		if (!st->http) {
			st->mode[d] = GM_MSG;
			if (st->deflate[d] && !st->z[d]) {
				st->z[d] = kp_zstream_new(MAX_WBITS);
				if (!st->z[d])
					st->mode[d] = GM_DEAD;
			}
			return;
		}
		if (d == KP_DIR_TOCLIENT && (st->http_status == 200 || st->http_status == 206) &&
		    st->have_clen && st->clen > 0) {
			st->body = kp_app_file_open(ctx, (int)d, st->req_name, st->req_name_len,
						    st->clen, st->crange_start);
			st->body_left = st->clen;
			st->mode[d] = GM_BODY;
			if (st->body && st->have_sha1)
				kp_app_file_hash(ctx, st->body, KP_HASH_SHA1, st->sha1, 20);
		}
		st->have_clen = false;
		st->crange_start = 0;
		st->http_status = 0;
		return;
	}
	if (d == KP_DIR_TOSERVER && kp_starts((const uint8_t *)l, n, "GET ")) {
		gnu_request(ctx, st, l, n);
	} else if (d == KP_DIR_TOCLIENT && kp_starts((const uint8_t *)l, n, "HTTP/1.") && n >= 12) {
		st->http_status = (uint16_t)dec_u64(l + 8, 4, &ok);
	} else if (hdr_is(l, n, "Content-Length", &v, &vn)) {
		uint64_t x = dec_u64(v, vn, &ok);

		if (ok) {
			st->clen = x;
			st->have_clen = true;
		}
	} else if (hdr_is(l, n, "Content-Range", &v, &vn)) {
		const char *b = kp_find_ci((const uint8_t *)v, vn, "bytes")
				    ? (const char *)kp_find_ci((const uint8_t *)v, vn, "bytes")
				    : NULL;

		if (b && (size_t)(v + vn - b) > 6)
			st->crange_start = dec_u64(b + 6, (size_t)(v + vn - b - 6), &ok);
	} else if (d == KP_DIR_TOCLIENT && st->http &&
		   (hdr_is(l, n, "X-Gnutella-Content-URN", &v, &vn) ||
		    hdr_is(l, n, "X-Content-URN", &v, &vn))) {
		if (find_sha1((const uint8_t *)v, vn, st->sha1))
			st->have_sha1 = true;
	} else if (hdr_is(l, n, "Content-Encoding", &v, &vn)) {
		if (!st->http && kp_find_ci((const uint8_t *)v, vn, "deflate"))
			st->deflate[d] = true;
	}
}

static void gnu_feed(struct kp_app_ctx *ctx, struct gnutella_state *st, unsigned d,
		     const uint8_t *p, size_t len);
static void gnu_inflate(struct kp_app_ctx *ctx, struct gnutella_state *st, unsigned d,
			const uint8_t *p, size_t len);

/* One byte of a handshake or HTTP header; a whole line is read (and, with content, also for
 * the files and searches it names). */
static void gnu_hdr_byte(struct kp_app_ctx *ctx, struct gnutella_state *st, unsigned d, uint8_t c,
			 bool content)
{
	if (c == '\n') {
		size_t n = st->line_len[d];

		if (n && st->line[d][n - 1] == '\r')
			n--;
		if (!st->line_over[d]) {
			handle_line(st, d, st->line[d], n);
			if (content)
				gnu_content_line(ctx, st, d, st->line[d], n);
		}
		st->line_len[d] = 0;
		st->line_over[d] = false;
	} else if (st->line_len[d] < GNU_LINE_MAX) {
		st->line[d][st->line_len[d]++] = (char)c;
	} else {
		st->line_over[d] = true;
	}
}

/* A deflated message stream: inflated, then read as messages. */
static void gnu_inflate(struct kp_app_ctx *ctx, struct gnutella_state *st, unsigned d,
			const uint8_t *p, size_t len)
{
	uint8_t out[16384];
	z_stream *z = st->z[d];
	int r;

	z->next_in = (Bytef *)(uintptr_t)p;
	z->avail_in = (uInt)len;
	do {
		size_t got;

		z->next_out = out;
		z->avail_out = sizeof(out);
		r = inflate(z, Z_SYNC_FLUSH);
		got = sizeof(out) - z->avail_out;
		st->z_total[d] += got;
		if (got) {
			st->inflating[d] = true;
			gnu_feed(ctx, st, d, out, got);
			st->inflating[d] = false;
		}
		if ((r != Z_OK && r != Z_BUF_ERROR) || st->z_total[d] > GNU_INFLATE_MAX ||
		    st->mode[d] != GM_MSG) {
			kp_zstream_free(&st->z[d]);
			st->mode[d] = GM_DEAD;
			return;
		}
		if (got == 0)
			break;
	} while (z->avail_in > 0 || z->avail_out == 0);
}

static void gnu_feed(struct kp_app_ctx *ctx, struct gnutella_state *st, unsigned d,
		     const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t n;

		switch (st->mode[d]) {
		case GM_HDR:
			gnu_hdr_byte(ctx, st, d, p[i++], true);
			if (st->giv)
				st->mode[d] = GM_DEAD;
			break;
		case GM_BODY:
			n = len - i;
			if (n > st->body_left)
				n = (size_t)st->body_left;
			if (st->body)
				kp_app_file_data(ctx, st->body, p + i, n);
			st->body_left -= n;
			i += n;
			if (!st->body_left) {
				if (st->body)
					kp_app_file_close(ctx, st->body, KP_FILE_END_COMPLETE);
				st->body = NULL;
				st->mode[d] = GM_HDR;
			}
			break;
		case GM_MSG:
			if (st->z[d] && !st->inflating[d]) {
				gnu_inflate(ctx, st, d, p + i, len - i);
				i = len;
				break;
			}
			if (st->mskip[d]) {
				n = len - i < st->mskip[d] ? len - i : st->mskip[d];
				st->mskip[d] -= (uint32_t)n;
				i += n;
				break;
			}
			if (st->mwant[d]) {
				n = st->mwant[d] - st->mlen[d];
				if (n > len - i)
					n = len - i;
				memcpy(st->msg[d] + st->mlen[d], p + i, n);
				st->mlen[d] += (uint32_t)n;
				i += n;
				if (st->mlen[d] == st->mwant[d]) {
					gnu_message(ctx, st, st->mhdr[d][16], st->msg[d],
						    st->mlen[d]);
					free(st->msg[d]);
					st->msg[d] = NULL;
					st->mlen[d] = st->mwant[d] = 0;
				}
				break;
			}
			n = GNU_HDR_LEN - st->mhlen[d];
			if (n > len - i)
				n = len - i;
			memcpy(st->mhdr[d] + st->mhlen[d], p + i, n);
			st->mhlen[d] += (uint8_t)n;
			i += n;
			if (st->mhlen[d] < GNU_HDR_LEN)
				break;
			st->mhlen[d] = 0;
			if (memcmp(st->mhdr[d], "GNUTELLA/", 9) == 0) {
				/* the client's final handshake answer: header lines again */
				uint8_t again[GNU_HDR_LEN];

				memcpy(again, st->mhdr[d], GNU_HDR_LEN);
				st->mode[d] = GM_HDR;
				gnu_feed(ctx, st, d, again, GNU_HDR_LEN);
				break;
			}
			{
				uint8_t desc = st->mhdr[d][16];
				uint32_t plen = kp_le32(st->mhdr[d] + 19);

				if ((desc == 0x80 || desc == 0x81) && plen > 0 &&
				    plen <= GNU_MSG_MAX) {
					st->msg[d] = malloc(plen);
					if (st->msg[d]) {
						st->mwant[d] = plen;
						break;
					}
				}
				st->mskip[d] = plen;
			}
			break;
		default:
			return;
		}
	}
}

static enum kp_parse_result gnutella_parse(struct kp_app_ctx *ctx, void *state)
{
	struct gnutella_state *st = state;
	unsigned d = ctx->dir & 1;
	bool content = kp_app_files_wanted(ctx);

	if (ctx->l4 == IPPROTO_UDP) {
		st->udp = true;
		st->udp_msgs++;
		if (udp_gnutella(ctx->data, ctx->len)) {
			st->udp_kind = 1;
			st->last_desc = ctx->data[16];
			if (content)
				gnu_message(ctx, st, ctx->data[16], ctx->data + GNU_HDR_LEN,
					    ctx->len - GNU_HDR_LEN);
		} else if (udp_gnd(ctx->data, ctx->len)) {
			st->udp_kind = 2;
			st->g2 = true;
		}
		if (content)
			return KP_PARSE_MORE;
		return st->udp_msgs >= 16 ? KP_PARSE_DONE : KP_PARSE_MORE;
	}
	if (content) {
		if (ctx->gap) {
			if (st->body && d == KP_DIR_TOCLIENT) {
				kp_app_file_gap(ctx, st->body, 0);
				kp_app_file_close(ctx, st->body, KP_FILE_END_TRUNCATED);
				st->body = NULL;
			}
			st->mode[d] = GM_DEAD;
			kp_zstream_free(&st->z[d]);
		}
		gnu_feed(ctx, st, d, ctx->data, ctx->len);
		return st->mode[0] == GM_DEAD && st->mode[1] == GM_DEAD ? KP_PARSE_DONE
									: KP_PARSE_MORE;
	}
	if (ctx->gap)
		st->hdr_done[d] = true;
	for (size_t i = 0; i < ctx->len && !st->hdr_done[d]; i++)
		gnu_hdr_byte(ctx, st, d, ctx->data[i], false);
	return st->hdr_done[0] && st->hdr_done[1] ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void gnutella_free(void *state)
{
	struct gnutella_state *st = state;

	for (unsigned d = 0; d < 2; d++) {
		free(st->msg[d]);
		st->msg[d] = NULL;
		kp_zstream_free(&st->z[d]);
	}
}

static void gnutella_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct gnutella_state *st = state;

	(void)f;
	kp_json_obj(j, "gnutella");
	if (st->udp) {
		kp_json_str(j, "transport", st->udp_kind == 2 ? "g2-udp" : "udp");
		if (st->udp_kind == 1)
			kp_json_u64(j, "descriptor", st->last_desc);
	}
	if (st->version[0])
		kp_json_str(j, "version", st->version);
	if (st->status)
		kp_json_u64(j, "status", st->status);
	if (st->user_agent[0])
		kp_json_str(j, "user_agent", st->user_agent);
	if (st->ultrapeer_known)
		kp_json_bool(j, "ultrapeer", st->ultrapeer);
	if (st->giv)
		kp_json_bool(j, "push", true);
	kp_json_bool(j, "g2", st->g2);
	if (st->http)
		kp_json_bool(j, "download", true);
	if (st->queries)
		kp_json_u64(j, "queries", st->queries);
	if (st->hits)
		kp_json_u64(j, "query_hits", st->hits);
	kp_json_end(j);
}

const struct kp_app_module kp_mod_gnutella = {
    .name = "gnutella",
    .l4 = KP_L4_TCP | KP_L4_UDP,
    .port_hints = {6346, 6347, 0},
    .probe = gnutella_probe,
    .state_size = sizeof(struct gnutella_state),
    .parse = gnutella_parse,
    .free_state = gnutella_free,
    .json = gnutella_json,
};
