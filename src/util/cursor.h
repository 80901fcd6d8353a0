/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bounds-checked reading of hostile bytes. Every parser in kp2padm reads packet
 * and stream data through a struct kp_cur: a read past the end sets `err` and
 * returns zeroes instead of touching memory, so a parser may read a whole
 * header and check `err` once (curl's strparse, xdp-tools' hdr_cursor).
 */
#ifndef KP_UTIL_CURSOR_H
#define KP_UTIL_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct kp_cur {
	const uint8_t *p; /* start of the bytes (not owned) */
	size_t len;       /* number of readable bytes */
	size_t off;       /* next byte to read */
	bool err;         /* set once any read went out of bounds */
};

static inline struct kp_cur kp_cur_make(const void *p, size_t len)
{
	struct kp_cur c = {(const uint8_t *)p, len, 0, false};
	return c;
}

static inline size_t kp_cur_left(const struct kp_cur *c)
{
	return c->err ? 0 : c->len - c->off;
}

static inline const uint8_t *kp_cur_ptr(const struct kp_cur *c)
{
	return c->p + c->off;
}

/* Returns a pointer to n bytes and advances, or NULL (and sets err). */
static inline const uint8_t *kp_cur_take(struct kp_cur *c, size_t n)
{
	const uint8_t *r;

	if (c->err || n > c->len - c->off) {
		c->err = true;
		return NULL;
	}
	r = c->p + c->off;
	c->off += n;
	return r;
}

static inline bool kp_cur_skip(struct kp_cur *c, size_t n)
{
	return kp_cur_take(c, n) != NULL;
}

static inline uint8_t kp_cur_u8(struct kp_cur *c)
{
	const uint8_t *b = kp_cur_take(c, 1);
	return b ? b[0] : 0;
}

static inline uint16_t kp_cur_be16(struct kp_cur *c)
{
	const uint8_t *b = kp_cur_take(c, 2);
	return b ? (uint16_t)(b[0] << 8 | b[1]) : 0;
}

static inline uint16_t kp_cur_le16(struct kp_cur *c)
{
	const uint8_t *b = kp_cur_take(c, 2);
	return b ? (uint16_t)(b[1] << 8 | b[0]) : 0;
}

static inline uint32_t kp_cur_be32(struct kp_cur *c)
{
	const uint8_t *b = kp_cur_take(c, 4);
	return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

static inline uint32_t kp_cur_le32(struct kp_cur *c)
{
	const uint8_t *b = kp_cur_take(c, 4);
	return b ? (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0] : 0;
}

/* Peek without consuming; 0 and err untouched when out of range. */
static inline int kp_cur_peek(const struct kp_cur *c, size_t at)
{
	if (c->err || at >= c->len - c->off)
		return -1;
	return c->p[c->off + at];
}

/* Plain helpers over (pointer, length) for probes. */
static inline uint16_t kp_be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}
static inline uint32_t kp_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static inline uint16_t kp_le16(const uint8_t *b)
{
	return (uint16_t)(b[1] << 8 | b[0]);
}
static inline uint32_t kp_le32(const uint8_t *b)
{
	return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* True if buf (len bytes) starts with the NUL-terminated literal s. */
static inline bool kp_starts(const uint8_t *buf, size_t len, const char *s)
{
	size_t n = strlen(s);
	return len >= n && memcmp(buf, s, n) == 0;
}

/* The value of the hex digit c (either case), or -1. */
static inline int kp_hex_val(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Case-insensitive variant of kp_starts (ASCII). */
bool kp_starts_ci(const uint8_t *buf, size_t len, const char *s);

/* memmem over hostile data: first occurrence of needle or NULL. */
const uint8_t *kp_find(const uint8_t *hay, size_t hlen, const void *needle, size_t nlen);

/* Case-insensitive (ASCII) search for a NUL-terminated needle. */
const uint8_t *kp_find_ci(const uint8_t *hay, size_t hlen, const char *needle);

/*
 * Returns the length of the line at buf (up to but excluding "\r\n" or "\n"),
 * or -1 when no line end appears within len bytes.
 */
long kp_line_len(const uint8_t *buf, size_t len);

#endif
