/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The parts of kp-netem (the loss-and-delay emulator, tools/kp-netem.c) that do not
 * touch the kernel, split out so that tests/unit/test_netem.c can check them:
 * a seeded PRNG (xoshiro256** seeded by splitmix64) and the loss decision, the
 * delay line (a bounded FIFO of held packets with their due times; the delay is
 * constant, so arrival order is release order and no heap is needed), a histogram of
 * measured delays for the mean/p50/p99 of the exit summary, and the parsers of the
 * command line's numbers.
 */
#ifndef KP_TOOLS_NETEM_CORE_H
#define KP_TOOLS_NETEM_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- PRNG and loss ---- */

struct kp_rng {
	uint64_t s[4];
};

void kp_rng_seed(struct kp_rng *r, uint64_t seed);
uint64_t kp_rng_next(struct kp_rng *r);

/* Loss probabilities are kept in parts per million (1% = 10000 ppm). */
#define KP_NETEM_PPM 1000000u

/* True when this packet is to be dropped: one PRNG draw, mapped to [0, 1e6) without modulo
 * bias worth naming (multiply-shift), compared with loss_ppm. loss_ppm 0 never drops (and
 * draws nothing, so --loss 0 and --loss 0 --seed N behave the same), 1e6 always drops. */
bool kp_netem_lose(struct kp_rng *r, uint32_t loss_ppm);

/* ---- delay line ---- */

struct kp_netem_held {
	uint64_t arrival_ns, due_ns; /* CLOCK_MONOTONIC */
	uint32_t id;                 /* NFQUEUE packet id */
	uint16_t queue;
};

struct kp_delay_line {
	struct kp_netem_held *ring;
	uint32_t cap, head, len;
	uint32_t max_len;           /* the largest len reached */
	uint64_t overflow;          /* pushes refused because the line was full */
};

/* 0, or -1 when out of memory. cap >= 1. */
int kp_delay_line_init(struct kp_delay_line *d, uint32_t cap);
void kp_delay_line_free(struct kp_delay_line *d);
/* Appends one packet; false (and overflow counted) when the line holds cap packets already.
 * due_ns must not be earlier than the due time of the packet pushed before (a constant delay
 * guarantees it): the line releases in push order. */
bool kp_delay_line_push(struct kp_delay_line *d, const struct kp_netem_held *h);
/* The oldest packet, or NULL when empty. */
const struct kp_netem_held *kp_delay_line_head(const struct kp_delay_line *d);
/* Removes the oldest packet into *out if it is due at now_ns (due_ns <= now_ns), or any time
 * when force; false otherwise. */
bool kp_delay_line_pop(struct kp_delay_line *d, uint64_t now_ns, bool force,
		       struct kp_netem_held *out);

/* ---- histogram of measured delays (microseconds) ---- */

/* Log-linear: values below 1024 us exact, above in 512 steps per power of two, so a
 * reported quantile is within 0.2% of the true value (0.1 ms at 50 ms). */
#define KP_HIST_SUB 512u
#define KP_HIST_BUCKETS (2 * KP_HIST_SUB + 40 * KP_HIST_SUB)

struct kp_hist {
	uint64_t n, sum_us, min_us, max_us;
	uint32_t count[KP_HIST_BUCKETS];
};

void kp_hist_init(struct kp_hist *h);
void kp_hist_add(struct kp_hist *h, uint64_t us);
/* The q-quantile (0 <= q <= 1) as the lower bound of its bucket, in us; 0 when empty. */
uint64_t kp_hist_quantile(const struct kp_hist *h, double q);
double kp_hist_mean(const struct kp_hist *h);

/* ---- argument parsing ---- */

/* "5", "0.5", "2.25", "5%": a percentage 0..100 with at most 4 decimals, into ppm.
 * 0 or -1 (not a number, out of range, too many decimals). */
int kp_netem_parse_pct(const char *s, uint32_t *ppm);
/* "50", "12.5": milliseconds 0..max_ms with at most 3 decimals, into nanoseconds. 0 or -1. */
int kp_netem_parse_ms(const char *s, uint32_t max_ms, uint64_t *ns);
/* A decimal unsigned integer 0..max (no sign, no trailing text). 0 or -1. */
int kp_netem_parse_u64(const char *s, uint64_t max, uint64_t *v);

#endif
