/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SHA-1 (FIPS 180-4), a plain block-at-a-time implementation: used to verify
 * BitTorrent metadata against its info_hash.
 */
#include <string.h>

#include "util/sha1.h"

static uint32_t rol(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static void sha1_block(uint32_t h[5], const uint8_t *b)
{
	uint32_t w[80], a, bb, c, d, e, t;

	for (unsigned i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
		       (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (unsigned i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0];
	bb = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	for (unsigned i = 0; i < 80; i++) {
		uint32_t f, k;

		if (i < 20) {
			f = (bb & c) | (~bb & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = bb ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (bb & c) | (bb & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = bb ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol(bb, 30);
		bb = a;
		a = t;
	}
	h[0] += a;
	h[1] += bb;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void kp_sha1_init(struct kp_sha1 *s)
{
	static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
				       0xc3d2e1f0};

	memcpy(s->h, iv, sizeof(iv));
	s->total = 0;
	s->blk_len = 0;
}

void kp_sha1_update(struct kp_sha1 *s, const uint8_t *p, size_t len)
{
	s->total += len;
	if (s->blk_len) {
		size_t n = 64 - s->blk_len;

		if (n > len)
			n = len;
		memcpy(s->blk + s->blk_len, p, n);
		s->blk_len += (uint32_t)n;
		p += n;
		len -= n;
		if (s->blk_len < 64)
			return;
		sha1_block(s->h, s->blk);
		s->blk_len = 0;
	}
	while (len >= 64) {
		sha1_block(s->h, p);
		p += 64;
		len -= 64;
	}
	memcpy(s->blk, p, len);
	s->blk_len = (uint32_t)len;
}

void kp_sha1_final(struct kp_sha1 *s, uint8_t out[KP_SHA1_LEN])
{
	uint64_t bits = s->total * 8;
	uint8_t pad[72] = {0x80};
	size_t padn = (s->blk_len < 56 ? 56 : 120) - s->blk_len;

	for (unsigned i = 0; i < 8; i++)
		pad[padn + i] = (uint8_t)(bits >> (56 - 8 * i));
	kp_sha1_update(s, pad, padn + 8);
	for (unsigned i = 0; i < 5; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void kp_sha1(const uint8_t *p, size_t len, uint8_t out[KP_SHA1_LEN])
{
	struct kp_sha1 s;

	kp_sha1_init(&s);
	kp_sha1_update(&s, p, len);
	kp_sha1_final(&s, out);
}
