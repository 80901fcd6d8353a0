/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gnutella and Gnutella2 (G2). TCP: the text handshake ("GNUTELLA CONNECT/0.6",
 * "GNUTELLA/0.6 200 OK", the 0.4 "GNUTELLA OK") and the push answer "GIV
 * <index>:<guid>/<name>". UDP: the Gnutella 0.6 message header (16-byte GUID,
 * payload descriptor, TTL, hops, little-endian payload length that must equal
 * the datagram length minus 23) and the G2 "GND" fragment header, whose first
 * fragment must start with a well-formed G2 packet or a zlib stream. Gnutella
 * downloads over HTTP (GET /uri-res/...) belong to the http module.
 * The parser reads the handshake headers (User-Agent, X-Ultrapeer, G2 Accept).
 */
#include "app/app.h"

#include <netinet/in.h>
#include <string.h>

#include "output/json.h"

#define GNU_HDR_LEN 23
#define GNU_LINE_MAX 512

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

static enum kp_parse_result gnutella_parse(struct kp_app_ctx *ctx, void *state)
{
	struct gnutella_state *st = state;
	unsigned d = ctx->dir & 1;

	if (ctx->l4 == IPPROTO_UDP) {
		st->udp = true;
		st->udp_msgs++;
		if (udp_gnutella(ctx->data, ctx->len)) {
			st->udp_kind = 1;
			st->last_desc = ctx->data[16];
		} else if (udp_gnd(ctx->data, ctx->len)) {
			st->udp_kind = 2;
			st->g2 = true;
		}
		return st->udp_msgs >= 16 ? KP_PARSE_DONE : KP_PARSE_MORE;
	}
	if (ctx->gap)
		st->hdr_done[d] = true;
	for (size_t i = 0; i < ctx->len && !st->hdr_done[d]; i++) {
		uint8_t c = ctx->data[i];

		if (c == '\n') {
			size_t n = st->line_len[d];

			if (n && st->line[d][n - 1] == '\r')
				n--;
			if (!st->line_over[d])
				handle_line(st, d, st->line[d], n);
			st->line_len[d] = 0;
			st->line_over[d] = false;
		} else if (st->line_len[d] < GNU_LINE_MAX) {
			st->line[d][st->line_len[d]++] = (char)c;
		} else {
			st->line_over[d] = true;
		}
	}
	return st->hdr_done[0] && st->hdr_done[1] ? KP_PARSE_DONE : KP_PARSE_MORE;
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
	kp_json_end(j);
}

const struct kp_app_module kp_mod_gnutella = {
    .name = "gnutella",
    .l4 = KP_L4_TCP | KP_L4_UDP,
    .port_hints = {6346, 6347, 0},
    .probe = gnutella_probe,
    .state_size = sizeof(struct gnutella_state),
    .parse = gnutella_parse,
    .free_state = NULL,
    .json = gnutella_json,
};
