/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QUIC over UDP: IETF QUIC (v1 RFC 9000, v2 RFC 9369, drafts 22-34, mvfst),
 * Google QUIC with the IETF long header (Q046, Q050, T050, T051) and the older
 * Google public header (Q024-Q043).
 *
 * The probe checks the long header (fixed bit, known version, connection ID
 * lengths <= 20, Initial length fields inside the datagram, client Initials of
 * at least 1200 bytes) and, for versions whose Initial keys are public
 * (RFC 9001 5.2), decrypts the client Initial: a valid AEAD tag is proof.
 * The parser decrypts client Initials (HKDF-SHA256 from the version's salt,
 * AES-128-ECB header protection, AES-128-GCM), reassembles CRYPTO frames by
 * offset over the first few packets (bounded) and reads the ClientHello with
 * the parser shared with tls.c. Google QUIC up to Q046 carries its CHLO in
 * clear; Q050 carries it encrypted; both name the server in the "SNI" tag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "app/app.h"
#include "app/tls_hello.h"
#include "output/json.h"

#define QUIC_MAX_CID 20
#define QUIC_MIN_INITIAL 1200
#define QUIC_CRYPTO_MAX 8192   /* CRYPTO stream bytes kept for the ClientHello */
#define QUIC_MAX_FRAGS 64      /* CRYPTO frames looked at per packet */
#define QUIC_MAX_CLIENT_PKTS 6 /* client datagrams the parser looks into */
#define QUIC_MAX_COALESCED 4   /* packets per datagram */

#define V_1 0x00000001u
#define V_2 0x6b3343cfu
#define V_Q046 0x51303436u
#define V_Q050 0x51303530u
#define V_T050 0x54303530u
#define V_T051 0x54303531u

enum qfam {
	QF_NONE,
	QF_IETF,    /* v1, v2, drafts, mvfst: TLS in CRYPTO frames */
	QF_GQ_IETF, /* Q050, T050, T051: IETF long header, encrypted Initial */
	QF_GQ46,    /* Q046: long header form, clear CHLO */
	QF_GQ_OLD,  /* Q024..Q043: Google public header, clear CHLO */
	QF_GREASE,  /* 0x?a?a?a?a: forces version negotiation */
};

/* Packet types, normalised to v1 numbering. */
enum { PT_INITIAL = 0, PT_0RTT = 1, PT_HANDSHAKE = 2, PT_RETRY = 3 };

static bool gq_digits(uint32_t v)
{
	uint8_t a = (uint8_t)(v >> 8), b = (uint8_t)v;

	return a >= '0' && a <= '9' && b >= '0' && b <= '9';
}

static enum qfam version_family(uint32_t v)
{
	if (v == V_1 || v == V_2)
		return QF_IETF;
	if (v >= 0xff000016u && v <= 0xff000022u) /* drafts 22..34 */
		return QF_IETF;
	if (v == 0xfaceb001u || v == 0xfaceb002u || v == 0xfaceb00eu)
		return QF_IETF;
	if (v == V_Q050 || v == V_T050 || v == V_T051)
		return QF_GQ_IETF;
	if (v == V_Q046)
		return QF_GQ46;
	if ((v >> 16) == 0x5130 && gq_digits(v) && v < V_Q046) /* "Q0" digit digit */
		return QF_GQ_OLD;
	if ((v & 0x0f0f0f0fu) == 0x0a0a0a0au)
		return QF_GREASE;
	return QF_NONE;
}

/* Initial salt of a version with public Initial keys, or NULL. */
static const uint8_t *initial_salt(uint32_t v)
{
	static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
					    0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
					    0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
	static const uint8_t salt_v2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6,
					    0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
					    0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
	static const uint8_t salt_d22[20] = {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb,
					     0xe9, 0x19, 0x3a, 0x96, 0xcd, 0x21, 0x51,
					     0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a};
	static const uint8_t salt_d23[20] = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb,
					     0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4,
					     0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
	static const uint8_t salt_d29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2,
					     0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61,
					     0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
	static const uint8_t salt_q050[20] = {0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe,
					      0x2f, 0x9d, 0x94, 0x5c, 0xfc, 0xdb, 0xd3,
					      0xa7, 0xf0, 0xd3, 0xb5, 0x6b, 0x45};
	static const uint8_t salt_t050[20] = {0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72,
					      0x91, 0x55, 0x80, 0x30, 0x4c, 0x43, 0xa2,
					      0x36, 0x7c, 0x60, 0x48, 0x83, 0x10};
	static const uint8_t salt_t051[20] = {0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee,
					      0x5f, 0xa4, 0x50, 0x6c, 0x19, 0x12, 0x4f,
					      0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d};

	switch (v) {
	case V_1:
		return salt_v1;
	case V_2:
		return salt_v2;
	case V_Q050:
		return salt_q050;
	case V_T050:
		return salt_t050;
	case V_T051:
		return salt_t051;
	case 0xfaceb001u:
		return salt_d22;
	case 0xfaceb002u:
	case 0xfaceb00eu:
		return salt_d23;
	}
	if ((v >> 8) == 0xff0000u) {
		unsigned d = v & 0xff;

		if (d == 22)
			return salt_d22;
		if (d >= 23 && d <= 28)
			return salt_d23;
		if (d >= 29 && d <= 32)
			return salt_d29;
		if (d >= 33 && d <= 34)
			return salt_v1;
	}
	return NULL;
}

/* RFC 9000 16: variable-length integer. */
static uint64_t cur_varint(struct kp_cur *c)
{
	int b0 = kp_cur_peek(c, 0);
	const uint8_t *p;
	uint64_t v;
	size_t n;

	if (b0 < 0) {
		c->err = true;
		return 0;
	}
	n = (size_t)1 << (b0 >> 6);
	p = kp_cur_take(c, n);
	if (!p)
		return 0;
	v = p[0] & 0x3f;
	for (size_t i = 1; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* One long-header packet inside a datagram. */
struct qpkt {
	uint32_t version;
	uint8_t type; /* PT_*, v1 numbering */
	const uint8_t *dcid, *scid;
	uint8_t dcil, scil;
	size_t pn_off; /* offset of the protected packet number */
	size_t end;    /* offset just past the packet */
};

/* Parses an IETF-style long header at b (len bytes). Returns false when malformed. */
static bool long_hdr(const uint8_t *b, size_t len, struct qpkt *q)
{
	struct kp_cur c = kp_cur_make(b, len);
	uint8_t b0 = kp_cur_u8(&c);

	memset(q, 0, sizeof(*q));
	q->version = kp_cur_be32(&c);
	q->dcil = kp_cur_u8(&c);
	if (c.err || !(b0 & 0x80) || q->dcil > QUIC_MAX_CID)
		return false;
	q->dcid = kp_cur_take(&c, q->dcil);
	q->scil = kp_cur_u8(&c);
	if (c.err || q->scil > QUIC_MAX_CID)
		return false;
	q->scid = kp_cur_take(&c, q->scil);
	if (c.err)
		return false;
	q->type = (b0 >> 4) & 3;
	if (q->version == V_2)
		q->type = (q->type + 3) & 3;
	if (q->type == PT_RETRY) {
		/* token + 16-byte integrity tag fill the datagram */
		q->end = len;
		return kp_cur_left(&c) >= 16 + 1;
	}
	if (q->type == PT_INITIAL) {
		uint64_t tok = cur_varint(&c);

		if (c.err || tok > kp_cur_left(&c))
			return false;
		kp_cur_skip(&c, (size_t)tok);
	}
	uint64_t plen = cur_varint(&c);
	if (c.err || plen > kp_cur_left(&c) || plen < 1 + 16)
		return false;
	q->pn_off = c.off;
	q->end = c.off + (size_t)plen;
	return true;
}

/* HKDF-Expand-Label (RFC 8446 7.1) with an empty context; out_len <= 32. */
static bool expand_label(const uint8_t secret[32], const char *label, uint8_t *out, size_t out_len)
{
	uint8_t info[2 + 1 + 6 + 32 + 1 + 1], md[32];
	size_t ll = strlen(label), n = 0;
	unsigned int mdlen = 0;

	if (ll > 32 || out_len > 32)
		return false;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + ll);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, ll);
	n += ll;
	info[n++] = 0; /* context */
	info[n++] = 1; /* HKDF-Expand counter T(1) */
	if (!HMAC(EVP_sha256(), secret, 32, info, n, md, &mdlen) || mdlen != 32)
		return false;
	memcpy(out, md, out_len);
	return true;
}

struct qkeys {
	uint8_t key[16], iv[12], hp[16];
};

/* Client Initial keys of `version` for the client's first destination connection ID. */
static bool client_initial_keys(uint32_t version, const uint8_t *dcid, size_t dcil, struct qkeys *k)
{
	const uint8_t *salt = initial_salt(version);
	uint8_t initial[32], client[32];
	unsigned int mdlen = 0;
	bool v2 = version == V_2;

	if (!salt)
		return false;
	if (!HMAC(EVP_sha256(), salt, 20, dcid, dcil, initial, &mdlen) || mdlen != 32)
		return false;
	return expand_label(initial, "client in", client, 32) &&
	       expand_label(client, v2 ? "quicv2 key" : "quic key", k->key, 16) &&
	       expand_label(client, v2 ? "quicv2 iv" : "quic iv", k->iv, 12) &&
	       expand_label(client, v2 ? "quicv2 hp" : "quic hp", k->hp, 16);
}

static bool aes_ecb_block(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	int n = 0;
	bool ok;

	if (!cx)
		return false;
	ok = EVP_EncryptInit_ex(cx, EVP_aes_128_ecb(), NULL, key, NULL) == 1 &&
	     EVP_CIPHER_CTX_set_padding(cx, 0) == 1 &&
	     EVP_EncryptUpdate(cx, out, &n, in, 16) == 1 && n == 16;
	EVP_CIPHER_CTX_free(cx);
	return ok;
}

static bool aes_gcm_open(const struct qkeys *k, const uint8_t nonce[12], const uint8_t *aad,
			 size_t aad_len, const uint8_t *ct, size_t ct_len, const uint8_t tag[16],
			 uint8_t *out)
{
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;
	bool ok;

	if (!cx || aad_len > 0x7fffffff || ct_len > 0x7fffffff) {
		EVP_CIPHER_CTX_free(cx);
		return false;
	}
	ok = EVP_DecryptInit_ex(cx, EVP_aes_128_gcm(), NULL, NULL, NULL) == 1 &&
	     EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
	     EVP_DecryptInit_ex(cx, NULL, NULL, k->key, nonce) == 1 &&
	     EVP_DecryptUpdate(cx, NULL, &n, aad, (int)aad_len) == 1 &&
	     EVP_DecryptUpdate(cx, out, &n, ct, (int)ct_len) == 1 &&
	     EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1 &&
	     EVP_DecryptFinal_ex(cx, out + n, &fin) == 1;
	EVP_CIPHER_CTX_free(cx);
	return ok;
}

/*
 * Removes header protection and decrypts the Initial packet q of datagram b with the keys
 * of (version, dcid). On success returns a malloc'd plaintext of *out_len bytes.
 */
static uint8_t *initial_open(const uint8_t *b, const struct qpkt *q, const uint8_t *dcid,
			     size_t dcil, size_t *out_len)
{
	struct qkeys k;
	uint8_t mask[16], nonce[12], *hdr = NULL, *pt = NULL;
	size_t pn_len, hdr_len, ct_len;
	uint64_t pn = 0;

	if (q->end < q->pn_off + 4 + 16 || !client_initial_keys(q->version, dcid, dcil, &k))
		return NULL;
	if (!aes_ecb_block(k.hp, b + q->pn_off + 4, mask))
		return NULL;
	pn_len = (size_t)((b[0] ^ (mask[0] & 0x0f)) & 3) + 1;
	hdr_len = q->pn_off + pn_len;
	if (q->end < hdr_len + 16 + 1)
		return NULL;
	ct_len = q->end - hdr_len - 16;
	hdr = malloc(hdr_len);
	pt = malloc(ct_len);
	if (!hdr || !pt)
		goto fail;
	memcpy(hdr, b, hdr_len);
	hdr[0] ^= mask[0] & 0x0f;
	for (size_t i = 0; i < pn_len; i++) {
		hdr[q->pn_off + i] ^= mask[1 + i];
		pn = pn << 8 | hdr[q->pn_off + i];
	}
	memcpy(nonce, k.iv, 12);
	for (size_t i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(pn >> (56 - 8 * i));
	if (!aes_gcm_open(&k, nonce, hdr, hdr_len, b + hdr_len, ct_len, b + q->end - 16, pt))
		goto fail;
	free(hdr);
	*out_len = ct_len;
	return pt;
fail:
	free(hdr);
	free(pt);
	return NULL;
}

/*
 * Google QUIC handshake message: finds a CHLO in b and checks its tag table (tag count,
 * non-decreasing end offsets inside the message). Returns true for a well-formed CHLO and
 * copies its "SNI" value, if any, into out (cap bytes, NUL-terminated; "" when absent).
 */
static bool chlo_parse(const uint8_t *b, size_t len, char *out, size_t cap)
{
	const uint8_t *ch = kp_find(b, len < 512 ? len : 512, "CHLO", 4);
	struct kp_cur c;
	uint16_t ntags;
	uint32_t prev = 0;
	size_t base;

	out[0] = '\0';
	if (!ch)
		return false;
	c = kp_cur_make(ch, len - (size_t)(ch - b));
	kp_cur_skip(&c, 4);
	ntags = kp_cur_le16(&c);
	kp_cur_skip(&c, 2);
	if (c.err || ntags == 0 || ntags > 128)
		return false;
	base = c.off + 8u * ntags;
	for (unsigned i = 0; i < ntags; i++) {
		const uint8_t *tag = kp_cur_take(&c, 4);
		uint32_t end = kp_cur_le32(&c);

		if (c.err || end < prev || base + end > c.len)
			return false;
		if (memcmp(tag, "SNI\0", 4) == 0 && !out[0]) {
			size_t n = end - prev;

			if (n >= cap)
				n = cap - 1;
			memcpy(out, c.p + base + prev, n);
			out[n] = '\0';
			for (size_t k = 0; k < n; k++)
				if (!out[k])
					out[k] = '?';
		}
		prev = end;
	}
	return true;
}

/* Offset of a gQUIC public header's version field, checking the flags (Q024..Q043). */
static bool gq_old_header(const uint8_t *b, size_t len, uint32_t *version)
{
	/* public flags: 0x01 version, 0x08 8-byte CID; 0x80 and 0x40 are unused, 0x02 reset */
	if (len < 13 + 16 || (b[0] & 0xc2) || (b[0] & 0x09) != 0x09)
		return false;
	*version = kp_be32(b + 9);
	return version_family(*version) == QF_GQ_OLD;
}

/* Is b an Initial we can decrypt, and does it decrypt? */
static bool initial_decrypts(const uint8_t *b, const struct qpkt *q)
{
	size_t n = 0;
	uint8_t *pt = initial_open(b, q, q->dcid, q->dcil, &n);

	free(pt);
	return pt != NULL;
}

static enum kp_probe_result quic_probe(const struct kp_app_ctx *ctx, struct kp_match *m)
{
	const uint8_t *b = ctx->data;
	size_t len = ctx->len;
	struct qpkt q;
	uint32_t v;

	if (len < 7)
		return KP_PROBE_EXCLUDE;
	m->app = KP_APP_QUIC;
	if (!(b[0] & 0x80)) {
		char sni[KP_TLS_SNI_MAX + 1];

		if (!gq_old_header(b, len, &v))
			return KP_PROBE_EXCLUDE;
		m->confidence =
		    chlo_parse(b, len, sni, sizeof(sni)) ? KP_CONF_HIGH : KP_CONF_MEDIUM;
		return KP_PROBE_MATCH;
	}
	v = kp_be32(b + 1);
	if (v == 0) {
		/* Version Negotiation (server): CIDs then a list of versions we know. */
		struct kp_cur c = kp_cur_make(b + 5, len - 5);
		size_t n;
		bool known = false;

		kp_cur_skip(&c, kp_cur_u8(&c));
		kp_cur_skip(&c, kp_cur_u8(&c));
		n = kp_cur_left(&c);
		if (c.err || n < 4 || n % 4)
			return KP_PROBE_EXCLUDE;
		for (size_t i = 0; i < n; i += 4) {
			enum qfam f = version_family(kp_be32(kp_cur_ptr(&c) + i));

			known |= f != QF_NONE && f != QF_GREASE;
		}
		if (!known)
			return KP_PROBE_EXCLUDE;
		m->confidence = KP_CONF_MEDIUM;
		return KP_PROBE_MATCH;
	}
	switch (version_family(v)) {
	case QF_GREASE:
		return KP_PROBE_NEED_MORE; /* the real Initial follows version negotiation */
	case QF_NONE:
	case QF_GQ_OLD:
		return KP_PROBE_EXCLUDE;
	case QF_GQ46: {
		char sni[KP_TLS_SNI_MAX + 1];

		/* long header form, DCIL/SCIL nibbles: 8-byte DCID only */
		if (!(b[0] & 0x40) || len < 30 || (b[5] != 0x50 && b[5] != 0x05))
			return KP_PROBE_EXCLUDE;
		m->confidence =
		    chlo_parse(b, len, sni, sizeof(sni)) ? KP_CONF_HIGH : KP_CONF_MEDIUM;
		return KP_PROBE_MATCH;
	}
	case QF_IETF:
	case QF_GQ_IETF:
		break;
	}
	if (!(b[0] & 0x40) || !long_hdr(b, len, &q))
		return KP_PROBE_EXCLUDE;
	m->confidence = KP_CONF_MEDIUM;
	if (q.type == PT_INITIAL && ctx->dir == KP_DIR_TOSERVER) {
		if (len < QUIC_MIN_INITIAL)
			return KP_PROBE_EXCLUDE;
		if (initial_decrypts(b, &q))
			m->confidence = KP_CONF_HIGH;
	}
	return KP_PROBE_MATCH;
}

/* ---- parser ---- */

struct quic_state {
	uint32_t version;
	uint8_t odcid[QUIC_MAX_CID]; /* client's first DCID: the Initial keys hang on it */
	uint8_t odcil;
	bool have_odcid;
	uint8_t client_pkts;
	bool done;
	uint8_t *crypto; /* owned: QUIC_CRYPTO_MAX bytes of CRYPTO stream, then a bitmap */
	struct kp_tls_hello ch;
	bool have_ch;
	char sni[KP_TLS_SNI_MAX + 1]; /* from a Google CHLO */
	bool have_gsni;
};

#define CRYPTO_MAP(st) ((st)->crypto + QUIC_CRYPTO_MAX)

static bool crypto_add(struct quic_state *st, uint64_t off, const uint8_t *d, size_t n)
{
	if (!st->crypto) {
		st->crypto = calloc(1, QUIC_CRYPTO_MAX + QUIC_CRYPTO_MAX / 8);
		if (!st->crypto)
			return false;
	}
	if (off >= QUIC_CRYPTO_MAX)
		return true;
	if (n > QUIC_CRYPTO_MAX - off)
		n = QUIC_CRYPTO_MAX - (size_t)off;
	memcpy(st->crypto + off, d, n);
	for (size_t i = (size_t)off; i < off + n; i++)
		CRYPTO_MAP(st)[i / 8] |= (uint8_t)(1u << (i % 8));
	return true;
}

/* Bytes of CRYPTO stream present from offset 0. */
static size_t crypto_prefix(const struct quic_state *st)
{
	size_t i = 0;

	if (!st->crypto)
		return 0;
	while (i < QUIC_CRYPTO_MAX && (CRYPTO_MAP(st)[i / 8] >> (i % 8) & 1))
		i++;
	return i;
}

/* Walks the frames of a decrypted Initial, collecting CRYPTO data. */
static void frames_walk(struct quic_state *st, const uint8_t *p, size_t n, bool gq)
{
	struct kp_cur c = kp_cur_make(p, n);
	unsigned frags = 0;

	while (kp_cur_left(&c) > 0 && frags < QUIC_MAX_FRAGS) {
		uint64_t t = cur_varint(&c);

		if (c.err)
			return;
		if (t == 0x00 || t == 0x01) /* PADDING, PING */
			continue;
		if (!gq && (t == 0x02 || t == 0x03)) { /* ACK */
			cur_varint(&c);
			cur_varint(&c);
			uint64_t ranges = cur_varint(&c);
			cur_varint(&c);
			for (uint64_t i = 0; i < ranges && !c.err; i++) {
				cur_varint(&c);
				cur_varint(&c);
			}
			if (t == 0x03) {
				cur_varint(&c);
				cur_varint(&c);
				cur_varint(&c);
			}
			continue;
		}
		if ((!gq && t == 0x06) || (gq && t == 0x08)) { /* CRYPTO */
			uint64_t off = cur_varint(&c), len = cur_varint(&c);
			const uint8_t *d;

			if (c.err || len > kp_cur_left(&c))
				return;
			d = kp_cur_take(&c, (size_t)len);
			if (!crypto_add(st, off, d, (size_t)len))
				return;
			frags++;
			continue;
		}
		return; /* CONNECTION_CLOSE or anything unexpected in an Initial */
	}
}

/* Parses the ClientHello once the CRYPTO stream holds it. */
static void crypto_try(struct quic_state *st)
{
	size_t have = crypto_prefix(st);
	enum kp_tls_hello_res r;

	if (have < 4)
		return;
	if (st->version == V_Q050) {
		/* Q050: a Google CHLO inside CRYPTO frames */
		uint32_t need = 0;

		if (have >= 8 && memcmp(st->crypto, "CHLO", 4) == 0) {
			uint16_t ntags = kp_le16(st->crypto + 4);
			size_t base = 8 + 8u * ntags;

			if (ntags && base <= have)
				need = (uint32_t)base + kp_le32(st->crypto + base - 4);
		}
		if (need && (need <= have || have == QUIC_CRYPTO_MAX)) {
			st->have_gsni =
			    chlo_parse(st->crypto, have, st->sni, sizeof(st->sni)) && st->sni[0];
			st->done = true;
		}
		return;
	}
	r = kp_tls_hello_parse(st->crypto, have, KP_TLS_HS_CLIENT_HELLO, &st->ch);
	if (r == KP_TLS_HELLO_BAD) {
		st->done = true;
		return;
	}
	if (r == KP_TLS_HELLO_OK || have == QUIC_CRYPTO_MAX) {
		st->have_ch = st->ch.fixed_ok;
		st->done = true;
	}
}

static void client_datagram(struct quic_state *st, const uint8_t *b, size_t len)
{
	size_t off = 0;

	if (!(b[0] & 0x80)) {
		uint32_t v;

		if (gq_old_header(b, len, &v)) {
			st->version = st->version ? st->version : v;
			if (chlo_parse(b, len, st->sni, sizeof(st->sni))) {
				st->have_gsni = st->sni[0] != '\0';
				st->done = true;
			}
		}
		return;
	}
	for (unsigned i = 0; i < QUIC_MAX_COALESCED && off + 7 <= len && !st->done; i++) {
		const uint8_t *p = b + off;
		size_t plen = len - off;
		uint32_t v = kp_be32(p + 1);
		enum qfam f = version_family(v);
		struct qpkt q;

		if (!(p[0] & 0x80))
			return; /* a short header packet ends the datagram */
		if (f == QF_GQ46) {
			st->version = st->version ? st->version : v;
			st->have_gsni = chlo_parse(p, plen, st->sni, sizeof(st->sni)) && st->sni[0];
			st->done = true;
			return;
		}
		if ((f != QF_IETF && f != QF_GQ_IETF) || !long_hdr(p, plen, &q))
			return;
		if (!st->version)
			st->version = v;
		if (q.type == PT_INITIAL && v == st->version) {
			size_t n = 0;
			uint8_t *pt = NULL;

			if (!st->have_odcid) {
				memcpy(st->odcid, q.dcid, q.dcil);
				st->odcil = q.dcil;
				st->have_odcid = true;
			}
			pt = initial_open(p, &q, st->odcid, st->odcil, &n);
			if (!pt) /* keys of a DCID chosen after a Retry */
				pt = initial_open(p, &q, q.dcid, q.dcil, &n);
			if (pt) {
				frames_walk(st, pt, n, f == QF_GQ_IETF);
				free(pt);
				crypto_try(st);
			}
		}
		if (q.type == PT_RETRY)
			return;
		off += q.end;
	}
}

static enum kp_parse_result quic_parse(struct kp_app_ctx *ctx, void *state)
{
	struct quic_state *st = state;

	if (st->done || ctx->len == 0)
		return st->done ? KP_PARSE_DONE : KP_PARSE_MORE;
	if (ctx->dir == KP_DIR_TOSERVER) {
		client_datagram(st, ctx->data, ctx->len);
		if (++st->client_pkts >= QUIC_MAX_CLIENT_PKTS)
			st->done = true;
	} else if (!st->version && ctx->len >= 5 && (ctx->data[0] & 0x80)) {
		uint32_t v = kp_be32(ctx->data + 1);
		enum qfam f = version_family(v);

		if (f != QF_NONE && f != QF_GREASE)
			st->version = v;
	}
	if (st->done) {
		free(st->crypto);
		st->crypto = NULL;
		return KP_PARSE_DONE;
	}
	return KP_PARSE_MORE;
}

static void quic_free(void *state)
{
	struct quic_state *st = state;

	free(st->crypto);
	st->crypto = NULL;
}

/* "v1", "v2", "draft-29", "Q046", "T051", "mvfst-27", or hex. */
static void version_text(uint32_t v, char *out, size_t cap)
{
	uint8_t a = (uint8_t)(v >> 24);

	if (v == V_1)
		snprintf(out, cap, "v1");
	else if (v == V_2)
		snprintf(out, cap, "v2");
	else if ((v >> 8) == 0xff0000u)
		snprintf(out, cap, "draft-%u", v & 0xff);
	else if (v == 0xfaceb001u)
		snprintf(out, cap, "mvfst-22");
	else if (v == 0xfaceb002u || v == 0xfaceb00eu)
		snprintf(out, cap, "mvfst-27");
	else if ((a == 'Q' || a == 'T') && (uint8_t)(v >> 16) == '0' && gq_digits(v))
		snprintf(out, cap, "%c0%c%c", a, (char)(v >> 8), (char)v);
	else
		snprintf(out, cap, "0x%08x", v);
}

static void quic_json(const void *state, const struct kp_flow *f, struct kp_json *j)
{
	const struct quic_state *st = state;
	char ver[16];

	(void)f;
	kp_json_obj(j, "quic");
	if (st->version) {
		version_text(st->version, ver, sizeof(ver));
		kp_json_str(j, "version", ver);
	}
	if (st->have_ch && st->ch.has_sni)
		kp_json_str(j, "sni", st->ch.sni);
	else if (st->have_gsni)
		kp_json_str(j, "sni", st->sni);
	if (st->have_ch && st->ch.has_alpn)
		kp_json_str(j, "alpn", st->ch.alpn);
	kp_json_end(j);
}

const struct kp_app_module kp_mod_quic = {
	.name = "quic",
	.l4 = KP_L4_UDP,
	.port_hints = {443, 80, 4433, 8443, 0},
	.probe = quic_probe,
	.state_size = sizeof(struct quic_state),
	.parse = quic_parse,
	.free_state = quic_free,
	.json = quic_json,
};
