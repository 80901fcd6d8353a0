/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SHA-256 (FIPS 180-4), incremental: the digest of every file that crosses
 * the gateway whole, and the key of the scanner's cache of scanned content.
 */
#ifndef KP_CONTENT_SHA256_H
#define KP_CONTENT_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct kp_sha256 {
	uint32_t h[8];
	uint64_t len;      /* bytes hashed so far */
	uint8_t buf[64];
	uint32_t nbuf;
};

void kp_sha256_init(struct kp_sha256 *s);
void kp_sha256_update(struct kp_sha256 *s, const void *data, size_t len);
void kp_sha256_final(struct kp_sha256 *s, uint8_t out[32]);
/* One-shot helper. */
void kp_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
