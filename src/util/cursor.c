/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Out-of-line helpers for the bounds-checked cursor: searches and line splitting. */
#define _GNU_SOURCE
#include "util/cursor.h"

#include <ctype.h>
#include <string.h>

static inline int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool kp_starts_ci(const uint8_t *buf, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (i >= len || lower(buf[i]) != lower((unsigned char)s[i]))
			return false;
	return true;
}

const uint8_t *kp_find(const uint8_t *hay, size_t hlen, const void *needle, size_t nlen)
{
	if (nlen == 0 || hlen < nlen)
		return NULL;
	return memmem(hay, hlen, needle, nlen);
}

const uint8_t *kp_find_ci(const uint8_t *hay, size_t hlen, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0 || hlen < n)
		return NULL;
	for (size_t i = 0; i + n <= hlen; i++)
		if (kp_starts_ci(hay + i, hlen - i, needle))
			return hay + i;
	return NULL;
}

long kp_line_len(const uint8_t *buf, size_t len)
{
	const uint8_t *nl = memchr(buf, '\n', len);

	if (!nl)
		return -1;
	if (nl > buf && nl[-1] == '\r')
		return (long)(nl - buf - 1);
	return (long)(nl - buf);
}
