/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS hello parsing shared by tls.c and quic.c: ClientHello (server_name, ALPN,
 * supported_versions), ServerHello (selected version, ALPN) and the
 * SSLv2-compatible ClientHello record. The input is one handshake message as
 * reassembled by the caller, possibly cut short: every read goes through a
 * bounded cursor, and "cut short" (SHORT) is told apart from "malformed" (BAD).
 */
#include "app/tls_hello.h"

#include <stdio.h>
#include <string.h>

#include "util/cursor.h"

#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_SUPPORTED_VERSIONS 43

const char *kp_tls_version_name(uint16_t v)
{
	switch (v) {
	case 0x0002:
		return "SSLv2";
	case 0x0300:
		return "SSLv3";
	case 0x0301:
		return "TLSv1";
	case 0x0302:
		return "TLS 1.1";
	case 0x0303:
		return "TLS 1.2";
	case 0x0304:
		return "TLS 1.3";
	}
	if ((v & 0xff00) == 0x7f00) /* TLS 1.3 drafts */
		return "TLS 1.3";
	return NULL;
}

/* A version a hello may carry in its legacy version field. */
static bool legacy_version_ok(uint16_t v) { return v >= 0x0300 && v <= 0x0304; }

/* A version worth reporting from supported_versions (no GREASE, no junk). */
static bool real_version(uint16_t v)
{
	return (v >= 0x0300 && v <= 0x0304) || (v & 0xff00) == 0x7f00;
}

/* Version order for picking the best: drafts of 1.3 rank just under 1.3. */
static unsigned version_rank(uint16_t v)
{
	if ((v & 0xff00) == 0x7f00)
		return 0x0303u * 256 + (v & 0xff);
	return v * 256u + 255;
}

static void ext_server_name(struct kp_cur *c, struct kp_tls_hello *h)
{
	uint16_t list_len = kp_cur_be16(c);
	struct kp_cur l;
	const uint8_t *lp = kp_cur_take(c, list_len);

	if (!lp)
		return;
	l = kp_cur_make(lp, list_len);
	while (kp_cur_left(&l) >= 3 && !h->has_sni) {
		uint8_t type = kp_cur_u8(&l);
		uint16_t n = kp_cur_be16(&l);
		const uint8_t *name = kp_cur_take(&l, n);

		if (!name)
			return;
		if (type != 0 || n == 0)
			continue;
		if (n > KP_TLS_SNI_MAX)
			n = KP_TLS_SNI_MAX;
		/* Keep bytes up to an embedded NUL: the JSON writer escapes the rest. */
		size_t k = 0;
		while (k < n && name[k])
			k++;
		memcpy(h->sni, name, k);
		h->sni[k] = '\0';
		h->has_sni = k > 0;
	}
}

static void ext_alpn(struct kp_cur *c, struct kp_tls_hello *h)
{
	uint16_t list_len = kp_cur_be16(c);
	const uint8_t *lp = kp_cur_take(c, list_len);
	struct kp_cur l;
	size_t used = 0;

	if (!lp)
		return;
	l = kp_cur_make(lp, list_len);
	while (kp_cur_left(&l) >= 1) {
		uint8_t n = kp_cur_u8(&l);
		const uint8_t *name = kp_cur_take(&l, n);

		if (!name || n == 0)
			return;
		if (used + (used ? 1 : 0) + n > KP_TLS_ALPN_MAX)
			break;
		if (used)
			h->alpn[used++] = ',';
		for (size_t i = 0; i < n; i++)
			h->alpn[used++] = name[i] ? (char)name[i] : '?';
		h->alpn[used] = '\0';
		h->has_alpn = true;
	}
}

static void ext_supported_versions(struct kp_cur *c, struct kp_tls_hello *h)
{
	if (h->hs_type == KP_TLS_HS_SERVER_HELLO) {
		uint16_t v = kp_cur_be16(c);

		if (!c->err && real_version(v))
			h->version = v;
		return;
	}
	uint8_t n = kp_cur_u8(c);
	const uint8_t *lp = kp_cur_take(c, n);
	uint16_t best = 0;

	if (!lp)
		return;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint16_t v = kp_be16(lp + i);

		if (kp_tls_is_grease(v) || !real_version(v))
			continue;
		if (!best || version_rank(v) > version_rank(best))
			best = v;
	}
	if (best)
		h->version = best;
}

/* Walks the extension block; false when it is malformed. Stops quietly at a cut. */
static bool parse_extensions(struct kp_cur *c, struct kp_tls_hello *h, bool cut)
{
	uint16_t total;
	size_t avail;
	struct kp_cur e;

	if (kp_cur_left(c) == 0)
		return true; /* no extensions (SSLv3-style hello) */
	total = kp_cur_be16(c);
	if (c->err)
		return true; /* cut inside the length: the caller knows if that is a cut */
	avail = kp_cur_left(c);
	e = kp_cur_make(kp_cur_ptr(c), avail < total ? avail : total);
	c->off += e.len;
	if (avail > total || (avail < total && !cut))
		return false; /* the block and the message disagree on where it ends */
	for (unsigned count = 0; kp_cur_left(&e) > 0 && count < 512; count++) {
		uint16_t type = kp_cur_be16(&e);
		uint16_t n = kp_cur_be16(&e);
		const uint8_t *d = kp_cur_take(&e, n);
		struct kp_cur x;

		if (!d)
			return e.len == total ? false : true; /* malformed if complete, else cut */
		x = kp_cur_make(d, n);
		switch (type) {
		case EXT_SERVER_NAME:
			if (h->hs_type == KP_TLS_HS_CLIENT_HELLO)
				ext_server_name(&x, h);
			break;
		case EXT_ALPN:
			ext_alpn(&x, h);
			break;
		case EXT_SUPPORTED_VERSIONS:
			ext_supported_versions(&x, h);
			break;
		}
	}
	return true;
}

enum kp_tls_hello_res kp_tls_hello_parse(const uint8_t *p, size_t len, uint8_t want,
					 struct kp_tls_hello *h)
{
	struct kp_cur c;
	uint32_t msg_len;
	size_t have;
	bool cut;

	memset(h, 0, sizeof(*h));
	h->hs_type = want;
	if (len < 4)
		return len && p[0] != want ? KP_TLS_HELLO_BAD : KP_TLS_HELLO_SHORT;
	if (p[0] != want)
		return KP_TLS_HELLO_BAD;
	msg_len = (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	/* version + random + session id length + suite + compression, at the least */
	if (msg_len < 38 || msg_len > KP_TLS_HELLO_MAX)
		return KP_TLS_HELLO_BAD;
	have = len - 4;
	cut = have < msg_len;
	c = kp_cur_make(p + 4, cut ? have : msg_len);

	h->legacy_version = kp_cur_be16(&c);
	if (!c.err && !legacy_version_ok(h->legacy_version))
		return KP_TLS_HELLO_BAD;
	h->version = h->legacy_version;
	kp_cur_skip(&c, 32); /* random */
	uint8_t sid_len = kp_cur_u8(&c);
	if (!c.err && sid_len > 32)
		return KP_TLS_HELLO_BAD;
	kp_cur_skip(&c, sid_len);
	if (want == KP_TLS_HS_CLIENT_HELLO) {
		uint16_t cs_len = kp_cur_be16(&c);

		if (!c.err && (cs_len < 2 || (cs_len & 1)))
			return KP_TLS_HELLO_BAD;
		kp_cur_skip(&c, cs_len);
		uint8_t comp_len = kp_cur_u8(&c);
		if (!c.err && comp_len < 1)
			return KP_TLS_HELLO_BAD;
		kp_cur_skip(&c, comp_len);
	} else {
		kp_cur_skip(&c, 2); /* cipher suite */
		kp_cur_skip(&c, 1); /* compression */
	}
	if (c.err)
		return cut ? KP_TLS_HELLO_SHORT : KP_TLS_HELLO_BAD;
	h->fixed_ok = true;
	if (!parse_extensions(&c, h, cut))
		return KP_TLS_HELLO_BAD;
	if (cut)
		return KP_TLS_HELLO_SHORT;
	if (c.err || kp_cur_left(&c) != 0)
		return KP_TLS_HELLO_BAD;
	return KP_TLS_HELLO_OK;
}

enum kp_tls_hello_res kp_tls_sslv2_hello_parse(const uint8_t *p, size_t len, struct kp_tls_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->hs_type = KP_TLS_HS_CLIENT_HELLO;
	/* 2-byte record header with the high bit set, msg type 1, version, three lengths. */
	if (len >= 1 && !(p[0] & 0x80))
		return KP_TLS_HELLO_BAD;
	if (len < 11)
		return KP_TLS_HELLO_SHORT;

	size_t rec_len = (size_t)(p[0] & 0x7f) << 8 | p[1];
	uint16_t ver = kp_be16(p + 3);
	uint16_t cs_len = kp_be16(p + 5), sid_len = kp_be16(p + 7), ch_len = kp_be16(p + 9);

	if (p[2] != 1 || !(ver == 0x0002 || legacy_version_ok(ver)))
		return KP_TLS_HELLO_BAD;
	if (cs_len == 0 || cs_len % 3 || (sid_len != 0 && sid_len != 16) || ch_len < 16 ||
	    ch_len > 32)
		return KP_TLS_HELLO_BAD;
	if (rec_len != 9u + cs_len + sid_len + ch_len)
		return KP_TLS_HELLO_BAD;
	h->legacy_version = h->version = ver;
	h->fixed_ok = true;
	return len >= rec_len + 2 ? KP_TLS_HELLO_OK : KP_TLS_HELLO_SHORT;
}
