/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of kp-netem's kernel-free parts (tools/netem_core.c): the seeded loss
 * decision (reproducible, the asked-for rate within a binomial 99.9% interval, the
 * 0% and 100% ends exact), the delay line (releases in push order, only when due,
 * bounded with overflow counted, wraps around), the delay histogram's quantiles and
 * the parsers of --loss / --delay.
 */
#include <math.h>

#include "tap.h"
#include "tools/netem_core.h"

/* Drops among n draws at loss_ppm with a fresh generator seeded by seed. */
static uint64_t count_drops(uint64_t seed, uint32_t loss_ppm, uint64_t n)
{
	struct kp_rng r;
	uint64_t d = 0;

	kp_rng_seed(&r, seed);
	for (uint64_t i = 0; i < n; i++)
		d += kp_netem_lose(&r, loss_ppm);
	return d;
}

/* |drops - n p| within 3.29 standard deviations (two-sided 99.9%) */
static int within_binomial(uint64_t drops, uint64_t n, double p)
{
	double mean = (double)n * p, sd = sqrt((double)n * p * (1 - p));

	return fabs((double)drops - mean) <= 3.29 * sd;
}

KP_TEST(loss_rate_within_binomial_interval)
{
	static const uint32_t ppm[] = { 5000, 10000, 20000, 50000, 100000, 500000 };

	for (unsigned i = 0; i < sizeof(ppm) / sizeof(ppm[0]); i++)
		for (uint64_t seed = 1; seed <= 5; seed++) {
			uint64_t d = count_drops(seed, ppm[i], 200000);

			if (!within_binomial(d, 200000, ppm[i] / 1e6))
				fprintf(stderr, "  ppm %u seed %" PRIu64 ": %" PRIu64 " drops\n",
					ppm[i], seed, d);
			CHECK(within_binomial(d, 200000, ppm[i] / 1e6));
		}
}

KP_TEST(loss_ends_exact)
{
	CHECK_EQ(count_drops(7, 0, 100000), 0);
	CHECK_EQ(count_drops(7, KP_NETEM_PPM, 100000), 100000);
	/* 0.0001% (1 ppm) is not rounded up to something larger */
	CHECK(count_drops(7, 1, 100000) <= 3);
}

KP_TEST(loss_seed_reproducible)
{
	struct kp_rng a, b, c;
	int same = 1, differs = 0;

	kp_rng_seed(&a, 42);
	kp_rng_seed(&b, 42);
	kp_rng_seed(&c, 43);
	for (int i = 0; i < 10000; i++) {
		bool x = kp_netem_lose(&a, 50000), y = kp_netem_lose(&b, 50000),
		     z = kp_netem_lose(&c, 50000);

		same &= x == y;
		differs |= x != z;
	}
	CHECK(same);
	CHECK(differs);
	/* seed 0 is a valid seed (splitmix64 fills the state), not an all-zero generator */
	CHECK(count_drops(0, 500000, 1000) > 400);
}

KP_TEST(loss_no_long_runs)
{
	/* at 5% a run of 30 drops in a row is astronomically unlikely for a sound generator */
	struct kp_rng r;
	int run = 0, longest = 0;

	kp_rng_seed(&r, 1);
	for (int i = 0; i < 1000000; i++) {
		run = kp_netem_lose(&r, 50000) ? run + 1 : 0;
		if (run > longest)
			longest = run;
	}
	CHECK(longest < 30);
	CHECK(longest >= 2);
}

static struct kp_netem_held held(uint32_t id, uint64_t arrival, uint64_t delay)
{
	struct kp_netem_held h = { .arrival_ns = arrival, .due_ns = arrival + delay, .id = id,
				   .queue = 3 };

	return h;
}

KP_TEST(delay_line_releases_in_order_when_due)
{
	struct kp_delay_line d;
	struct kp_netem_held h, out;
	const uint64_t delay = 50000000; /* 50 ms */

	CHECK_EQ(kp_delay_line_init(&d, 8), 0);
	for (uint32_t i = 0; i < 5; i++) {
		h = held(100 + i, 1000 * i, delay);
		CHECK(kp_delay_line_push(&d, &h));
	}
	/* nothing is due before the first due time */
	CHECK(!kp_delay_line_pop(&d, delay - 1, false, &out));
	CHECK_EQ(d.len, 5);
	/* at the second packet's due time, exactly the first two come out, in order */
	CHECK(kp_delay_line_pop(&d, delay + 1000, false, &out));
	CHECK_EQ(out.id, 100);
	CHECK_EQ(out.queue, 3);
	CHECK(kp_delay_line_pop(&d, delay + 1000, false, &out));
	CHECK_EQ(out.id, 101);
	CHECK(!kp_delay_line_pop(&d, delay + 1000, false, &out));
	/* force (exit) releases the rest at once, still in order */
	for (uint32_t i = 2; i < 5; i++) {
		CHECK(kp_delay_line_pop(&d, 0, true, &out));
		CHECK_EQ(out.id, 100 + i);
	}
	CHECK(!kp_delay_line_pop(&d, UINT64_MAX, true, &out));
	CHECK(kp_delay_line_head(&d) == NULL);
	CHECK_EQ(d.max_len, 5);
	kp_delay_line_free(&d);
}

KP_TEST(delay_line_bounded_and_wraps)
{
	struct kp_delay_line d;
	struct kp_netem_held h, out;
	uint32_t next_in = 0, next_out = 0;

	CHECK_EQ(kp_delay_line_init(&d, 4), 0);
	for (uint32_t i = 0; i < 4; i++) {
		h = held(next_in++, i, 10);
		CHECK(kp_delay_line_push(&d, &h));
	}
	h = held(999, 5, 10);
	CHECK(!kp_delay_line_push(&d, &h)); /* full: refused and counted */
	CHECK(!kp_delay_line_push(&d, &h));
	CHECK_EQ(d.overflow, 2);
	CHECK_EQ(d.len, 4);
	/* many rounds of pop 1 / push 1 across the ring's end: ids stay in sequence */
	for (int round = 0; round < 50; round++) {
		CHECK(kp_delay_line_pop(&d, UINT64_MAX, false, &out));
		CHECK_EQ(out.id, next_out);
		next_out++;
		h = held(next_in++, 100 + (uint64_t)round, 10);
		CHECK(kp_delay_line_push(&d, &h));
	}
	while (kp_delay_line_pop(&d, UINT64_MAX, false, &out))
		CHECK_EQ(out.id, next_out++);
	CHECK_EQ(next_out, next_in);
	CHECK_EQ(d.max_len, 4);
	kp_delay_line_free(&d);
}

KP_TEST(hist_quantiles)
{
	static struct kp_hist h; /* 86 KB: not on the stack */

	kp_hist_init(&h);
	CHECK_EQ(kp_hist_quantile(&h, 0.5), 0);
	/* 1..1000 us exact */
	for (uint64_t v = 1; v <= 1000; v++)
		kp_hist_add(&h, v);
	CHECK_EQ(kp_hist_quantile(&h, 0.5), 500);
	CHECK_EQ(kp_hist_quantile(&h, 0.99), 990);
	CHECK_EQ(kp_hist_quantile(&h, 1.0), 1000);
	CHECK_EQ(kp_hist_quantile(&h, 0.0), 1);
	CHECK(fabs(kp_hist_mean(&h) - 500.5) < 1e-9);

	/* around 50 ms: within 0.2% below the true value */
	kp_hist_init(&h);
	for (int i = 0; i < 98; i++)
		kp_hist_add(&h, 50000 + (uint64_t)i);
	kp_hist_add(&h, 70000);
	kp_hist_add(&h, 9000000);
	CHECK(kp_hist_quantile(&h, 0.5) <= 50049 && kp_hist_quantile(&h, 0.5) >= 50049 - 100);
	CHECK(kp_hist_quantile(&h, 0.99) <= 70000 && kp_hist_quantile(&h, 0.99) >= 70000 - 140);
	CHECK(kp_hist_quantile(&h, 1.0) <= 9000000 &&
	      kp_hist_quantile(&h, 1.0) >= 9000000 - 18000);
	CHECK_EQ(h.max_us, 9000000);
	CHECK_EQ(h.min_us, 50000);
	/* a huge value lands in the last bucket, not past the array */
	kp_hist_add(&h, UINT64_MAX / 2);
	CHECK_EQ(h.n, 101);
}

KP_TEST(parse_pct_and_ms)
{
	uint32_t ppm = 7;
	uint64_t ns = 7, v = 0;

	CHECK_EQ(kp_netem_parse_pct("5", &ppm), 0);
	CHECK_EQ(ppm, 50000);
	CHECK_EQ(kp_netem_parse_pct("0.5", &ppm), 0);
	CHECK_EQ(ppm, 5000);
	CHECK_EQ(kp_netem_parse_pct("2.25%", &ppm), 0);
	CHECK_EQ(ppm, 22500);
	CHECK_EQ(kp_netem_parse_pct("100", &ppm), 0);
	CHECK_EQ(ppm, 1000000);
	CHECK_EQ(kp_netem_parse_pct("0", &ppm), 0);
	CHECK_EQ(ppm, 0);
	CHECK_EQ(kp_netem_parse_pct(".5", &ppm), 0);
	CHECK_EQ(ppm, 5000);
	CHECK_EQ(kp_netem_parse_pct("100.5", &ppm), -1);
	CHECK_EQ(kp_netem_parse_pct("-1", &ppm), -1);
	CHECK_EQ(kp_netem_parse_pct("5x", &ppm), -1);
	CHECK_EQ(kp_netem_parse_pct("", &ppm), -1);
	CHECK_EQ(kp_netem_parse_pct("%", &ppm), -1);
	CHECK_EQ(kp_netem_parse_pct(".", &ppm), -1);
	CHECK_EQ(kp_netem_parse_pct("0.00001", &ppm), -1);
	CHECK_EQ(kp_netem_parse_pct("99999999999999999999", &ppm), -1);

	CHECK_EQ(kp_netem_parse_ms("50", 10000, &ns), 0);
	CHECK_EQ(ns, 50000000);
	CHECK_EQ(kp_netem_parse_ms("12.5", 10000, &ns), 0);
	CHECK_EQ(ns, 12500000);
	CHECK_EQ(kp_netem_parse_ms("10000", 10000, &ns), 0);
	CHECK_EQ(kp_netem_parse_ms("10000.001", 10000, &ns), -1);
	CHECK_EQ(kp_netem_parse_ms("1e3", 10000, &ns), -1);
	CHECK_EQ(kp_netem_parse_ms("0.0001", 10000, &ns), -1);

	CHECK_EQ(kp_netem_parse_u64("65535", 65535, &v), 0);
	CHECK_EQ(v, 65535);
	CHECK_EQ(kp_netem_parse_u64("65536", 65535, &v), -1);
	CHECK_EQ(kp_netem_parse_u64("-1", 65535, &v), -1);
	CHECK_EQ(kp_netem_parse_u64(" 1", 65535, &v), -1);
	CHECK_EQ(kp_netem_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(kp_netem_parse_u64("18446744073709551616", UINT64_MAX, &v), -1);
}

KP_TEST_MAIN()
