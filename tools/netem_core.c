/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kp-netem's kernel-free parts (see netem_core.h): PRNG and loss decision, the
 * delay line, the delay histogram and the number parsers.
 */
#include "netem_core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG: xoshiro256** (Blackman, Vigna), state filled by splitmix64 ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void kp_rng_seed(struct kp_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t kp_rng_next(struct kp_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

bool kp_netem_lose(struct kp_rng *r, uint32_t loss_ppm)
{
	uint64_t x;

	if (!loss_ppm)
		return false;
	if (loss_ppm >= KP_NETEM_PPM)
		return true;
	x = kp_rng_next(r);
	return (uint32_t)(((unsigned __int128)x * KP_NETEM_PPM) >> 64) < loss_ppm;
}

/* ---- delay line: a ring buffer ---- */

int kp_delay_line_init(struct kp_delay_line *d, uint32_t cap)
{
	memset(d, 0, sizeof(*d));
	if (!cap)
		cap = 1;
	d->ring = calloc(cap, sizeof(*d->ring));
	if (!d->ring)
		return -1;
	d->cap = cap;
	return 0;
}

void kp_delay_line_free(struct kp_delay_line *d)
{
	free(d->ring);
	memset(d, 0, sizeof(*d));
}

bool kp_delay_line_push(struct kp_delay_line *d, const struct kp_netem_held *h)
{
	uint32_t tail;

	if (d->len == d->cap) {
		d->overflow++;
		return false;
	}
	tail = d->head + d->len;
	if (tail >= d->cap)
		tail -= d->cap;
	d->ring[tail] = *h;
	d->len++;
	if (d->len > d->max_len)
		d->max_len = d->len;
	return true;
}

const struct kp_netem_held *kp_delay_line_head(const struct kp_delay_line *d)
{
	return d->len ? &d->ring[d->head] : NULL;
}

bool kp_delay_line_pop(struct kp_delay_line *d, uint64_t now_ns, bool force,
		       struct kp_netem_held *out)
{
	const struct kp_netem_held *h = kp_delay_line_head(d);

	if (!h || (!force && h->due_ns > now_ns))
		return false;
	*out = *h;
	d->head = d->head + 1 == d->cap ? 0 : d->head + 1;
	d->len--;
	return true;
}

/* ---- histogram ---- */

void kp_hist_init(struct kp_hist *h)
{
	memset(h, 0, sizeof(*h));
}

static uint32_t hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * KP_HIST_SUB)
		return (uint32_t)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - 9; /* v >> shift in [512, 1023] */
	if (shift > 40) /* beyond ~2^49 us: the last bucket */
		return KP_HIST_BUCKETS - 1;
	return 2 * KP_HIST_SUB + (shift - 1) * KP_HIST_SUB + (uint32_t)(v >> shift) - KP_HIST_SUB;
}

static uint64_t hist_lower(uint32_t i)
{
	uint32_t shift, sub;

	if (i < 2 * KP_HIST_SUB)
		return i;
	shift = (i - 2 * KP_HIST_SUB) / KP_HIST_SUB + 1;
	sub = (i - 2 * KP_HIST_SUB) % KP_HIST_SUB + KP_HIST_SUB;
	return (uint64_t)sub << shift;
}

void kp_hist_add(struct kp_hist *h, uint64_t us)
{
	uint32_t i = hist_index(us);

	if (i >= KP_HIST_BUCKETS)
		i = KP_HIST_BUCKETS - 1;
	h->count[i]++;
	if (!h->n || us < h->min_us)
		h->min_us = us;
	if (us > h->max_us)
		h->max_us = us;
	h->n++;
	h->sum_us += us;
}

uint64_t kp_hist_quantile(const struct kp_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->n)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	/* the smallest value with at least ceil(q * n) values at or below it (rank >= 1) */
	rank = (uint64_t)(q * (double)h->n + 0.999999);
	if (rank < 1)
		rank = 1;
	for (uint32_t i = 0; i < KP_HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank)
			return hist_lower(i);
	}
	return h->max_us;
}

double kp_hist_mean(const struct kp_hist *h)
{
	return h->n ? (double)h->sum_us / (double)h->n : 0.0;
}

/* ---- parsers ---- */

/* Decimal "I[.F]" with at most maxfrac fraction digits, scaled by 10^maxfrac. */
static int parse_fixed(const char *s, unsigned maxfrac, uint64_t limit_int, uint64_t *out)
{
	uint64_t ip = 0, fp = 0;
	unsigned nfrac = 0;
	bool digits = false;

	if (!s)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		ip = ip * 10 + (uint64_t)(*s - '0');
		digits = true;
		if (ip > limit_int)
			return -1;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			if (++nfrac > maxfrac)
				return -1;
			fp = fp * 10 + (uint64_t)(*s - '0');
			digits = true;
		}
	}
	if (!digits || *s)
		return -1;
	for (; nfrac < maxfrac; nfrac++)
		fp *= 10;
	for (unsigned i = 0; i < maxfrac; i++)
		ip *= 10;
	*out = ip + fp;
	return 0;
}

int kp_netem_parse_pct(const char *s, uint32_t *ppm)
{
	char buf[32];
	size_t n;
	uint64_t v;

	if (!s)
		return -1;
	n = strlen(s);
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n + 1);
	if (buf[n - 1] == '%')
		buf[n - 1] = '\0';
	if (parse_fixed(buf, 4, 100, &v) < 0 || v > KP_NETEM_PPM)
		return -1;
	*ppm = (uint32_t)v;
	return 0;
}

int kp_netem_parse_ms(const char *s, uint32_t max_ms, uint64_t *ns)
{
	uint64_t us;

	if (parse_fixed(s, 3, max_ms, &us) < 0 || us > (uint64_t)max_ms * 1000)
		return -1;
	*ns = us * 1000;
	return 0;
}

int kp_netem_parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end || x > max)
		return -1;
	*v = x;
	return 0;
}
