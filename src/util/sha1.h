/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SHA-1 (FIPS 180-4), for checking object ids of P2P protocols (a BitTorrent
 * info_hash is the SHA-1 of the info dict). Not for anything secret.
 */
#ifndef KP_UTIL_SHA1_H
#define KP_UTIL_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define KP_SHA1_LEN 20

struct kp_sha1 {
	uint32_t h[5];
	uint64_t total; /* bytes hashed */
	uint8_t blk[64];
	uint32_t blk_len;
};

void kp_sha1_init(struct kp_sha1 *s);
void kp_sha1_update(struct kp_sha1 *s, const uint8_t *p, size_t len);
void kp_sha1_final(struct kp_sha1 *s, uint8_t out[KP_SHA1_LEN]);
/* One-shot: out = SHA-1(p[0..len)). */
void kp_sha1(const uint8_t *p, size_t len, uint8_t out[KP_SHA1_LEN]);

#endif
