/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Base32 (RFC 4648 alphabet, either case, no padding) decoding of the object
 * ids P2P protocols write as text: DirectConnect TTH roots, Gnutella
 * urn:sha1 / urn:bitprint.
 */
#ifndef KP_APP_BASE32_H
#define KP_APP_BASE32_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* s[0..n) is the base32 of exactly out_len bytes: decoded into out; false if not. */
bool kp_base32_decode(const char *s, size_t n, uint8_t *out, size_t out_len);

#endif
