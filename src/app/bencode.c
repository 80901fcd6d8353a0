/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bencode reader (see bencode.h): an explicit-stack walker that validates
 * one value, and accessors that step through dicts and lists of a validated
 * value by walking each element again (cost O(size * depth), no allocation).
 */
#include <string.h>

#include "app/bencode.h"

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/*
 * Reads a decimal number at p[*off] ending with `term`; no leading zero (except "0"),
 * at most 18 digits. Returns OK and advances *off past `term`.
 */
static enum kp_benc_result benc_number(const uint8_t *p, size_t len, size_t *off, uint8_t term,
				       bool allow_neg, uint64_t *val, bool *negp)
{
	size_t o = *off, ndig = 0;
	uint64_t v = 0;
	bool neg = false;

	if (allow_neg && o < len && p[o] == '-') {
		neg = true;
		o++;
	}
	while (o < len && is_digit(p[o])) {
		if (++ndig > 18)
			return KP_BENC_INVALID;
		v = v * 10 + (uint64_t)(p[o] - '0');
		o++;
	}
	if (o >= len)
		return KP_BENC_TRUNCATED;
	if (ndig == 0 || p[o] != term)
		return KP_BENC_INVALID;
	if (ndig > 1 && p[o - ndig] == '0')
		return KP_BENC_INVALID; /* leading zero */
	if (neg && v == 0)
		return KP_BENC_INVALID; /* "-0" */
	*off = o + 1;
	*val = v;
	if (negp)
		*negp = neg;
	return KP_BENC_OK;
}

enum kp_benc_result kp_benc_walk(const uint8_t *p, size_t len, size_t *end)
{
	uint8_t kind[KP_BENC_MAX_DEPTH];  /* 'l' or 'd' per open container */
	bool want_key[KP_BENC_MAX_DEPTH]; /* dict: the next item is a key (or 'e') */
	unsigned depth = 0;
	size_t off = 0;
	enum kp_benc_result r;
	uint64_t v;

	/* Every iteration consumes at least one byte, so the loop ends within len steps. */
	do {
		uint8_t c;

		if (off >= len)
			return KP_BENC_TRUNCATED;
		c = p[off];
		if (c == 'e') {
			if (depth == 0)
				return KP_BENC_INVALID;
			if (kind[depth - 1] == 'd' && !want_key[depth - 1])
				return KP_BENC_INVALID; /* a key without its value */
			depth--;
			off++;
		} else if (depth > 0 && kind[depth - 1] == 'd' && want_key[depth - 1] &&
			   !is_digit(c)) {
			return KP_BENC_INVALID; /* dict keys are strings */
		} else if (c == 'd' || c == 'l') {
			if (depth >= KP_BENC_MAX_DEPTH)
				return KP_BENC_INVALID;
			kind[depth] = c;
			want_key[depth] = true;
			depth++;
			off++;
			continue; /* the container is not a complete value yet */
		} else if (c == 'i') {
			off++;
			r = benc_number(p, len, &off, 'e', true, &v, NULL);
			if (r != KP_BENC_OK)
				return r;
		} else if (is_digit(c)) {
			r = benc_number(p, len, &off, ':', false, &v, NULL);
			if (r != KP_BENC_OK)
				return r;
			if (v > len - off)
				return KP_BENC_TRUNCATED;
			off += (size_t)v;
		} else {
			return KP_BENC_INVALID;
		}
		/* A value was completed: in a dict, keys and values alternate. */
		if (depth > 0 && kind[depth - 1] == 'd')
			want_key[depth - 1] = !want_key[depth - 1];
	} while (depth > 0);
	*end = off;
	return KP_BENC_OK;
}

bool kp_benc_parse(const uint8_t *p, size_t len, struct kp_benc *v)
{
	size_t end;

	if (!p || kp_benc_walk(p, len, &end) != KP_BENC_OK || end != len)
		return false;
	v->p = p;
	v->len = len;
	return true;
}

bool kp_benc_str(const struct kp_benc *v, const uint8_t **s, size_t *n)
{
	size_t off = 0;
	uint64_t l;

	if (v->len == 0 || !is_digit(v->p[0]))
		return false;
	if (benc_number(v->p, v->len, &off, ':', false, &l, NULL) != KP_BENC_OK ||
	    l != v->len - off)
		return false;
	*s = v->p + off;
	*n = (size_t)l;
	return true;
}

bool kp_benc_str_is(const struct kp_benc *v, const char *lit)
{
	const uint8_t *s;
	size_t n;

	return kp_benc_str(v, &s, &n) && n == strlen(lit) && memcmp(s, lit, n) == 0;
}

bool kp_benc_int(const struct kp_benc *v, int64_t *out)
{
	size_t off = 1;
	uint64_t u;
	bool neg;

	if (v->len < 3 || v->p[0] != 'i')
		return false;
	if (benc_number(v->p, v->len, &off, 'e', true, &u, &neg) != KP_BENC_OK || off != v->len)
		return false;
	*out = neg ? -(int64_t)u : (int64_t)u; /* 18 digits fit */
	return true;
}

bool kp_benc_is_dict(const struct kp_benc *v)
{
	return v->len >= 2 && v->p[0] == 'd';
}

bool kp_benc_is_list(const struct kp_benc *v)
{
	return v->len >= 2 && v->p[0] == 'l';
}

/* The value at *off inside the container c: in *v, *off then past it; false if malformed. */
static bool benc_take(const struct kp_benc *c, size_t *off, struct kp_benc *v)
{
	size_t end;

	if (*off >= c->len || kp_benc_walk(c->p + *off, c->len - *off, &end) != KP_BENC_OK)
		return false;
	v->p = c->p + *off;
	v->len = end;
	*off += end;
	return true;
}

bool kp_benc_dict_next(const struct kp_benc *d, size_t *pos, struct kp_benc *key,
		       struct kp_benc *val)
{
	size_t off = *pos ? *pos : 1;

	if (!kp_benc_is_dict(d) || off >= d->len || d->p[off] == 'e')
		return false;
	if (!benc_take(d, &off, key) || !benc_take(d, &off, val))
		return false;
	*pos = off;
	return true;
}

bool kp_benc_list_next(const struct kp_benc *l, size_t *pos, struct kp_benc *val)
{
	size_t off = *pos ? *pos : 1;

	if (!kp_benc_is_list(l) || off >= l->len || l->p[off] == 'e' || !benc_take(l, &off, val))
		return false;
	*pos = off;
	return true;
}

bool kp_benc_dict_get(const struct kp_benc *d, const char *k, struct kp_benc *val)
{
	struct kp_benc key;
	size_t pos = 0;
	unsigned n = 0;

	while (n++ < 4096 && kp_benc_dict_next(d, &pos, &key, val))
		if (kp_benc_str_is(&key, k))
			return true;
	return false;
}

bool kp_benc_dict_int(const struct kp_benc *d, const char *k, int64_t *out)
{
	struct kp_benc v;

	return kp_benc_dict_get(d, k, &v) && kp_benc_int(&v, out);
}
