/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Base32 decoding of P2P object ids (see base32.h).
 */
#include "app/base32.h"

static int b32_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

bool kp_base32_decode(const char *s, size_t n, uint8_t *out, size_t out_len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	if (n != (out_len * 8 + 4) / 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		int v = b32_val((uint8_t)s[i]);

		if (v < 0)
			return false;
		acc = acc << 5 | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o < out_len)
				out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return o == out_len;
}
