/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The JSON builder: one escaping routine for every string kp2padm writes. */
#include "output/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void kp_json_init(struct kp_json *j)
{
	memset(j, 0, sizeof(*j));
}

void kp_json_free(struct kp_json *j)
{
	free(j->buf);
	memset(j, 0, sizeof(*j));
}

void kp_json_reset(struct kp_json *j)
{
	j->len = 0;
	j->depth = 0;
	j->oom = false;
	if (j->buf)
		j->buf[0] = '\0';
}

static bool grow(struct kp_json *j, size_t need)
{
	size_t cap;
	char *nb;

	if (j->oom)
		return false;
	if (j->len + need + 1 <= j->cap)
		return true;
	cap = j->cap ? j->cap : 512;
	while (cap < j->len + need + 1)
		cap *= 2;
	nb = realloc(j->buf, cap);
	if (!nb) {
		j->oom = true;
		return false;
	}
	j->buf = nb;
	j->cap = cap;
	return true;
}

static void put(struct kp_json *j, const char *s, size_t n)
{
	if (!grow(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void putc_(struct kp_json *j, char c)
{
	put(j, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void kp_json_escape(struct kp_json *j, const void *sv, size_t n)
{
	const unsigned char *s = sv;
	char tmp[8];

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t l, run;

		/* the common case: a run of printable ASCII copied at once */
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' &&
			      s[run] != '\\';
		     run++)
			;
		if (run > i) {
			put(j, (const char *)s + i, run - i);
			i = run;
			continue;
		}

		switch (c) {
		case '"':
			put(j, "\\\"", 2);
			i++;
			continue;
		case '\\':
			put(j, "\\\\", 2);
			i++;
			continue;
		case '\n':
			put(j, "\\n", 2);
			i++;
			continue;
		case '\r':
			put(j, "\\r", 2);
			i++;
			continue;
		case '\t':
			put(j, "\\t", 2);
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", c);
			put(j, tmp, 6);
			i++;
			continue;
		}
		l = utf8_seq(s + i, n - i);
		if (l == 0) {
			/* not UTF-8: the byte as a lone low surrogate U+DC80..U+DCFF (json.h) */
			snprintf(tmp, sizeof(tmp), "\\udc%02x", c);
			put(j, tmp, 6);
			i++;
			continue;
		}
		put(j, (const char *)s + i, l);
		i += l;
	}
}

static void key(struct kp_json *j, const char *k)
{
	if (j->depth > 0) {
		if (!j->first[j->depth - 1])
			putc_(j, ',');
		j->first[j->depth - 1] = false;
	}
	if (k) {
		putc_(j, '"');
		kp_json_escape(j, k, strlen(k));
		put(j, "\":", 2);
	}
}

static void open_(struct kp_json *j, char c)
{
	putc_(j, c);
	if (j->depth < KP_JSON_MAX_DEPTH)
		j->first[j->depth] = true;
	j->depth++;
}

void kp_json_begin(struct kp_json *j)
{
	kp_json_reset(j);
	open_(j, '{');
}

void kp_json_obj(struct kp_json *j, const char *k)
{
	key(j, k);
	open_(j, '{');
}

void kp_json_arr(struct kp_json *j, const char *k)
{
	key(j, k);
	open_(j, '[');
}

void kp_json_end(struct kp_json *j)
{
	if (j->depth > 0)
		j->depth--;
	putc_(j, '}');
}

void kp_json_end_arr(struct kp_json *j)
{
	if (j->depth > 0)
		j->depth--;
	putc_(j, ']');
}

void kp_json_strn(struct kp_json *j, const char *k, const void *s, size_t n)
{
	key(j, k);
	putc_(j, '"');
	kp_json_escape(j, s, n);
	putc_(j, '"');
}

void kp_json_str(struct kp_json *j, const char *k, const char *s)
{
	kp_json_strn(j, k, s ? s : "", s ? strlen(s) : 0);
}

void kp_json_hex(struct kp_json *j, const char *k, const void *bv, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *b = bv;

	key(j, k);
	putc_(j, '"');
	for (size_t i = 0; i < n; i++) {
		char t[2] = {hx[b[i] >> 4], hx[b[i] & 15]};
		put(j, t, 2);
	}
	putc_(j, '"');
}

/* Decimal digits of v into the end of t (24 bytes); returns the first digit. */
static char *u64_digits(char *t, uint64_t v)
{
	char *p = t + 24;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

void kp_json_u64(struct kp_json *j, const char *k, uint64_t v)
{
	char t[24], *p = u64_digits(t, v);

	key(j, k);
	put(j, p, (size_t)(t + 24 - p));
}

void kp_json_i64(struct kp_json *j, const char *k, int64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%" PRId64, v);

	key(j, k);
	put(j, t, (size_t)n);
}

void kp_json_dbl(struct kp_json *j, const char *k, double v)
{
	char t[40];
	int n = snprintf(t, sizeof(t), "%.3f", v);

	key(j, k);
	put(j, t, (size_t)n);
}

void kp_json_bool(struct kp_json *j, const char *k, bool v)
{
	key(j, k);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

void kp_json_ts(struct kp_json *j, const char *k, uint64_t ts_us)
{
	time_t sec = (time_t)(ts_us / 1000000);
	unsigned us = (unsigned)(ts_us % 1000000);
	char t[32];

	/* the date and time part changes once a second: format it only then */
	if (!j->ts_valid || sec != j->ts_sec) {
		struct tm tm;

		gmtime_r(&sec, &tm);
		j->ts_len = strftime(j->ts_text, sizeof(j->ts_text), "%Y-%m-%dT%H:%M:%S", &tm);
		j->ts_sec = sec;
		j->ts_valid = true;
	}
	t[0] = '.';
	for (int i = 6; i >= 1; i--, us /= 10)
		t[i] = (char)('0' + us % 10);
	memcpy(t + 7, "+0000", 5);
	key(j, k);
	putc_(j, '"');
	put(j, j->ts_text, j->ts_len);
	put(j, t, 12);
	putc_(j, '"');
}

void kp_json_members(struct kp_json *j, const char *members, size_t n)
{
	if (!n)
		return;
	key(j, NULL);
	put(j, members, n);
}
