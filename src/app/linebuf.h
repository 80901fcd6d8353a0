/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Line splitting across chunk boundaries for the clear-text modules (http, ftp,
 * irc, msn, mail). A parser sees one direction's bytes in arbitrary chunks; a
 * struct kp_linebuf keeps the unfinished tail of a line (bounded by
 * KP_LINE_MAX) and hands complete lines, without "\r\n", to a callback. A line
 * longer than KP_LINE_MAX is skipped whole (its end is still found, so the next
 * line is read correctly). The callback may ask to skip a number of bytes after
 * its line (a length-prefixed body) or to stop (the caller reads the rest itself).
 * Header-only: static inline, no global state.
 */
#ifndef KP_APP_LINEBUF_H
#define KP_APP_LINEBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KP_LINE_MAX 512
#define KP_LINE_STOP UINT32_MAX /* callback return: stop feeding after this line */

struct kp_linebuf {
	uint32_t skip;     /* bytes still to skip before the next line starts */
	uint16_t len;      /* bytes held in buf */
	uint8_t overflow;  /* the current line is too long: drop it up to its end */
	uint8_t buf[KP_LINE_MAX];
};

/* Called with one complete line (no line end); returns 0, bytes to skip, or KP_LINE_STOP. */
typedef uint32_t (*kp_line_fn)(void *arg, const uint8_t *line, size_t len);

/* Forgets a partial line and any pending skip (after a gap in the stream). */
static inline void kp_linebuf_reset(struct kp_linebuf *lb)
{
	lb->skip = 0;
	lb->len = 0;
	lb->overflow = 0;
}

static inline size_t kp_line_trim(const uint8_t *line, size_t n)
{
	if (n > 0 && line[n - 1] == '\r')
		n--;
	return n;
}

/*
 * Feeds len bytes; calls fn for each completed line. Returns the number of
 * bytes consumed: len, or less when fn returned KP_LINE_STOP.
 */
static inline size_t kp_linebuf_feed(struct kp_linebuf *lb, const uint8_t *data, size_t len,
				     kp_line_fn fn, void *arg)
{
	size_t off = 0;

	while (off < len) {
		const uint8_t *nl;
		size_t seg, take;
		uint32_t r;

		if (lb->skip) {
			take = len - off < lb->skip ? len - off : lb->skip;
			lb->skip -= (uint32_t)take;
			off += take;
			continue;
		}
		nl = memchr(data + off, '\n', len - off);
		seg = nl ? (size_t)(nl - (data + off)) : len - off;
		if (!nl) {
			/* Unfinished line: keep it if it fits. */
			if (!lb->overflow) {
				if (lb->len + seg <= KP_LINE_MAX) {
					memcpy(lb->buf + lb->len, data + off, seg);
					lb->len = (uint16_t)(lb->len + seg);
				} else {
					lb->overflow = 1;
					lb->len = 0;
				}
			}
			return len;
		}
		r = 0;
		if (lb->overflow) {
			lb->overflow = 0;
		} else if (lb->len == 0 && seg <= KP_LINE_MAX) {
			r = fn(arg, data + off, kp_line_trim(data + off, seg));
		} else if (lb->len + seg <= KP_LINE_MAX) {
			memcpy(lb->buf + lb->len, data + off, seg);
			r = fn(arg, lb->buf, kp_line_trim(lb->buf, lb->len + seg));
		}
		lb->len = 0;
		off += seg + 1;
		if (r == KP_LINE_STOP)
			return off;
		lb->skip = r;
	}
	return off;
}

/* Offset just past the first '\n' of b (the start of the next line), or 0 when none. */
static inline size_t kp_line_next(const uint8_t *b, size_t n)
{
	const uint8_t *nl = memchr(b, '\n', n);

	return nl ? (size_t)(nl - b) + 1 : 0;
}

/* Small helpers over one line. */

/* Copies at most cap-1 bytes of s into a NUL-terminated dst; returns the length copied. */
static inline size_t kp_copy_field(char *dst, size_t cap, const uint8_t *s, size_t n)
{
	if (cap == 0)
		return 0;
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return n;
}

/* Length of the leading token (up to SP, TAB or end). */
static inline size_t kp_tok_len(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] != ' ' && s[i] != '\t')
		i++;
	return i;
}

/* Skips spaces and tabs; returns the new offset. */
static inline size_t kp_skip_sp(const uint8_t *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

#endif
