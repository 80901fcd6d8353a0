/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A bounded, non-recursive bencode reader (BitTorrent's encoding: DHT messages,
 * tracker answers, extension handshakes, torrent metadata). kp_benc_walk()
 * validates one value; the accessors read values inside a validated buffer.
 * Every input is hostile: nesting is limited to KP_BENC_MAX_DEPTH, lengths are
 * checked against the buffer, integers have at most 18 digits.
 */
#ifndef KP_APP_BENCODE_H
#define KP_APP_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest list/dict nesting the walker accepts (a DHT message needs 3, metadata 4). */
#define KP_BENC_MAX_DEPTH 32

enum kp_benc_result {
	KP_BENC_OK = 0,    /* one complete value starts at p[0]; *end is the offset after it */
	KP_BENC_TRUNCATED, /* well-formed so far, but len ran out inside the value */
	KP_BENC_INVALID,   /* not bencode (bad byte, leading zero, key not a string, too deep) */
};

/*
 * Validates one bencoded value at p[0..len) without recursion: strings "<len>:bytes"
 * (decimal length, no leading zero), integers "i-?[0-9]+e" (no leading zero, no "-0"),
 * lists "l...e", dicts "d(string value)*e" (keys must be strings; their order is not
 * checked). Bytes after the value are not looked at. *end is written on KP_BENC_OK only.
 */
enum kp_benc_result kp_benc_walk(const uint8_t *p, size_t len, size_t *end);

/* One value inside a buffer that kp_benc_walk() accepted. */
struct kp_benc {
	const uint8_t *p; /* first byte ('d', 'l', 'i' or a digit) */
	size_t len;       /* the whole encoding */
};

/* v = the value at p[0..len) if it is exactly one valid value (nothing after it). */
bool kp_benc_parse(const uint8_t *p, size_t len, struct kp_benc *v);
/* String contents of v, or false if v is not a string. */
bool kp_benc_str(const struct kp_benc *v, const uint8_t **s, size_t *n);
/* v is the string lit. */
bool kp_benc_str_is(const struct kp_benc *v, const char *lit);
/* Integer value of v, or false if v is not an integer. */
bool kp_benc_int(const struct kp_benc *v, int64_t *out);
bool kp_benc_is_dict(const struct kp_benc *v);
bool kp_benc_is_list(const struct kp_benc *v);
/* Iterates the entries of dict d: *pos starts at 0. False at the end or on bad input. */
bool kp_benc_dict_next(const struct kp_benc *d, size_t *pos, struct kp_benc *key,
		       struct kp_benc *val);
/* Iterates the elements of list l: *pos starts at 0. */
bool kp_benc_list_next(const struct kp_benc *l, size_t *pos, struct kp_benc *val);
/* The value of key k in dict d (first occurrence; looks at most 4096 entries). */
bool kp_benc_dict_get(const struct kp_benc *d, const char *k, struct kp_benc *val);
/* The integer under key k of dict d. */
bool kp_benc_dict_int(const struct kp_benc *d, const char *k, int64_t *out);

#endif
