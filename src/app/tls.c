/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS over TCP. The probe recognises a stream that opens with a handshake
 * record carrying a ClientHello or ServerHello (or an SSLv2-compatible
 * ClientHello), and, with low confidence, a capture that starts mid-connection
 * on whole TLS records. The parser follows the record layer of each direction,
 * reassembles the first handshake message across records and TCP segments
 * (bounded by KP_TLS_HELLO_MAX) and keeps the server name, the ALPN list and the
 * versions for the "tls" event object.
 */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/tls_hello.h"
#include "output/json.h"

#define REC_HDR 5
#define REC_MAX (16384 + 2048) /* TLSCiphertext may exceed 2^14 by 2048 */
#define CT_CCS 20
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPDATA 23

/* Reassembly of one direction's first handshake message. */
struct tls_dir {
	uint8_t hdr[REC_HDR]; /* record header being collected */
	uint8_t hdr_have;
	uint32_t rec_left; /* payload bytes left in the current record */
	uint8_t stash[4];  /* handshake header until the message length is known */
	uint8_t *msg;	   /* owned: 4 + msg_len bytes once the length is known */
	uint32_t msg_have, msg_need;
	bool started;
	bool done;
};

struct tls_state {
	struct tls_dir d[2];
	struct kp_tls_hello ch, sh; /* parsed ClientHello / ServerHello */
	bool have_ch, have_sh;
};

static bool rec_hdr_ok(const uint8_t *h)
{
	uint16_t len = kp_be16(h + 3);

	return h[0] >= CT_CCS && h[0] <= CT_APPDATA && h[1] == 3 && h[2] <= 4 && len > 0 &&
	       len <= REC_MAX;
}

enum side_res { SIDE_MORE, SIDE_NO, SIDE_RECORDS, SIDE_HELLO };

/* Mid-connection: whole records of plausible types from the first byte. */
static enum side_res side_records(const uint8_t *b, size_t len)
{
	size_t off = 0;
	unsigned complete = 0;

	while (off < len && complete < 64) {
		if (len - off < REC_HDR) {
			/* A header cut short must still look right as far as it goes. */
			if (b[off] < CT_CCS || b[off] > CT_APPDATA ||
			    (len - off >= 2 && b[off + 1] != 3) ||
			    (len - off >= 3 && b[off + 2] > 4))
				return SIDE_NO;
			break;
		}
		if (!rec_hdr_ok(b + off))
			return SIDE_NO;
		size_t rl = kp_be16(b + off + 3);
		if (len - off - REC_HDR < rl)
			break;
		off += REC_HDR + rl;
		complete++;
	}
	if (off == len && complete >= 1)
		return SIDE_RECORDS;
	return complete >= 2 ? SIDE_RECORDS : SIDE_MORE;
}

static enum side_res side_probe(const uint8_t *b, size_t len)
{
	struct kp_tls_hello h;
	enum kp_tls_hello_res r;

	if (len == 0)
		return SIDE_MORE;
	if (b[0] & 0x80) {
		r = kp_tls_sslv2_hello_parse(b, len, &h);
		return r == KP_TLS_HELLO_OK	 ? SIDE_HELLO
		       : r == KP_TLS_HELLO_SHORT ? SIDE_MORE
						 : SIDE_NO;
	}
	if (b[0] != CT_HANDSHAKE)
		return side_records(b, len);
	if (len < REC_HDR + 1) {
		if ((len >= 2 && b[1] != 3) || (len >= 3 && b[2] > 4))
			return SIDE_NO;
		return SIDE_MORE;
	}
	if (!rec_hdr_ok(b))
		return SIDE_NO;
	if (b[REC_HDR] != KP_TLS_HS_CLIENT_HELLO && b[REC_HDR] != KP_TLS_HS_SERVER_HELLO)
		return side_records(b, len); /* e.g. a capture that starts at Finished */

	size_t rl = kp_be16(b + 3), avail = len - REC_HDR;
	r = kp_tls_hello_parse(b + REC_HDR, avail < rl ? avail : rl, b[REC_HDR], &h);
	if (r == KP_TLS_HELLO_OK || (r == KP_TLS_HELLO_SHORT && h.fixed_ok))
		return SIDE_HELLO;
	if (r == KP_TLS_HELLO_SHORT)
		return SIDE_MORE;
	return SIDE_NO;
}

static enum kp_probe_result tls_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	enum side_res c = side_probe(ctx->buf[0], ctx->buf_len[0]);
	enum side_res s = side_probe(ctx->buf[1], ctx->buf_len[1]);

	if (c == SIDE_NO || s == SIDE_NO)
		return KP_PROBE_EXCLUDE;
	if (c == SIDE_HELLO || s == SIDE_HELLO) {
		m->app = KP_APP_TLS;
		m->confidence = KP_CONF_HIGH;
		return KP_PROBE_MATCH;
	}
	/* Whole records on a side that spoke, nothing against it on the other. */
	if ((c == SIDE_RECORDS && (s == SIDE_RECORDS || ctx->buf_len[1] == 0)) ||
	    (s == SIDE_RECORDS && ctx->buf_len[0] == 0)) {
		m->app = KP_APP_TLS;
		m->confidence = KP_CONF_LOW;
		return KP_PROBE_MATCH;
	}
	return KP_PROBE_NEED_MORE;
}

static void dir_finish(struct tls_dir *d)
{
	free(d->msg);
	d->msg = NULL;
	d->done = true;
}

/* The message is complete (or as complete as it gets): parse it and close the direction. */
static void dir_parse(struct tls_state *st, struct tls_dir *d)
{
	struct kp_tls_hello h;
	const uint8_t *p = d->msg ? d->msg : d->stash;
	enum kp_tls_hello_res r;

	if (d->msg_have >= 1 &&
	    (p[0] == KP_TLS_HS_CLIENT_HELLO || p[0] == KP_TLS_HS_SERVER_HELLO)) {
		r = kp_tls_hello_parse(p, d->msg_have, p[0], &h);
		if (r != KP_TLS_HELLO_BAD && h.fixed_ok) {
			if (p[0] == KP_TLS_HS_CLIENT_HELLO && !st->have_ch) {
				st->ch = h;
				st->have_ch = true;
			} else if (p[0] == KP_TLS_HS_SERVER_HELLO && !st->have_sh) {
				st->sh = h;
				st->have_sh = true;
			}
		}
	}
	dir_finish(d);
}

/* Appends handshake payload bytes; returns true once the first message is complete. */
static bool dir_append(struct tls_dir *d, const uint8_t *b, size_t n)
{
	while (n > 0 && !d->msg) {
		d->stash[d->msg_have++] = *b++;
		n--;
		if (d->msg_have == 1 && d->stash[0] != KP_TLS_HS_CLIENT_HELLO &&
		    d->stash[0] != KP_TLS_HS_SERVER_HELLO)
			return true;
		if (d->msg_have == 4) {
			uint32_t ml =
			    (uint32_t)d->stash[1] << 16 | (uint32_t)d->stash[2] << 8 | d->stash[3];
			if (ml > KP_TLS_HELLO_MAX)
				return true; /* the parser will call it bad */
			d->msg_need = 4 + ml;
			d->msg = malloc(d->msg_need);
			if (!d->msg)
				return true;
			memcpy(d->msg, d->stash, 4);
		}
	}
	if (!d->msg)
		return false;
	size_t k = d->msg_need - d->msg_have;
	if (k > n)
		k = n;
	memcpy(d->msg + d->msg_have, b, k);
	d->msg_have += (uint32_t)k;
	return d->msg_have == d->msg_need;
}

static void dir_feed(struct tls_state *st, struct tls_dir *d, const uint8_t *b, size_t len)
{
	size_t off = 0;

	if (!d->started) {
		d->started = true;
		if (len > 0 && (b[0] & 0x80)) {
			/* SSLv2-compatible ClientHello: nothing to extract but the version. */
			struct kp_tls_hello h;

			if (kp_tls_sslv2_hello_parse(b, len, &h) != KP_TLS_HELLO_BAD &&
			    !st->have_ch) {
				st->ch = h;
				st->have_ch = true;
			}
			dir_finish(d);
			return;
		}
	}
	while (off < len && !d->done) {
		if (d->hdr_have < REC_HDR) {
			d->hdr[d->hdr_have++] = b[off++];
			if (d->hdr_have < REC_HDR)
				continue;
			if (!rec_hdr_ok(d->hdr) || d->hdr[0] != CT_HANDSHAKE) {
				/* The hello comes first; anything else ends our interest. */
				dir_parse(st, d);
				return;
			}
			d->rec_left = kp_be16(d->hdr + 3);
			continue;
		}
		size_t n = len - off;
		if (n > d->rec_left)
			n = d->rec_left;
		bool complete = dir_append(d, b + off, n);
		off += n;
		d->rec_left -= (uint32_t)n;
		if (d->rec_left == 0)
			d->hdr_have = 0;
		if (complete)
			dir_parse(st, d);
	}
}

static enum kp_parse_result tls_parse(struct kp_app_ctx *ctx, void *state)
{
	struct tls_state *st = state;
	struct tls_dir *d = &st->d[ctx->dir & 1];

	if (!d->done) {
		if (ctx->gap)
			dir_parse(st, d); /* keep what the bytes so far say */
		else
			dir_feed(st, d, ctx->data, ctx->len);
	}
	return st->d[0].done && st->d[1].done ? KP_PARSE_DONE : KP_PARSE_MORE;
}

static void tls_free(void *state)
{
	struct tls_state *st = state;

	free(st->d[0].msg);
	free(st->d[1].msg);
	st->d[0].msg = st->d[1].msg = NULL;
}

static void tls_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct tls_state *st = state;
	const char *ver = NULL;

	(void)f;
	if (!st->have_ch && !st->have_sh)
		return;
	kp_json_obj(j, "tls");
	if (st->have_ch && st->ch.has_sni)
		kp_json_str(j, "sni", st->ch.sni);
	if (st->have_sh)
		ver = kp_tls_version_name(st->sh.version);
	else if (st->have_ch)
		ver = kp_tls_version_name(st->ch.version);
	if (ver)
		kp_json_str(j, "version", ver);
	if (st->have_ch && st->ch.has_alpn)
		kp_json_str(j, "alpn", st->ch.alpn);
	kp_json_end(j);
}

const struct kp_app_module kp_mod_tls = {
	.name = "tls",
	.l4 = KP_L4_TCP,
	.port_hints = {443, 8443, 993, 995, 465, 0},
	.probe = tls_probe,
	.state_size = sizeof(struct tls_state),
	.parse = tls_parse,
	.free_state = tls_free,
	.json = tls_json,
};
