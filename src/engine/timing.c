/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Sampled per-stage time counters (see timing.h): the cold parts and the reports. */
#include "engine/timing.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static const char *const stage_names[KP_TS__COUNT] = {
	[KP_TS_RECEIVE] = "receive",   [KP_TS_DECODE] = "decode",
	[KP_TS_FLOW] = "flow",         [KP_TS_REASM] = "reassembly",
	[KP_TS_CLASSIFY] = "classify", [KP_TS_APP] = "app",
	[KP_TS_POLICY] = "policy",     [KP_TS_VERDICT] = "verdict",
	[KP_TS_OTHER] = "other",       [KP_TS_SCAN_WAIT] = "scan_wait",
};

const char *kp_timing_stage_name(unsigned s)
{
	return s < KP_TS__COUNT ? stage_names[s] : "?";
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* An invariant TSC ticks at one rate in every power state and on every core. */
static bool tsc_invariant(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return false;
	__cpuid(0x80000007u, a, b, c, d);
	return (d >> 8) & 1;
#else
	return false;
#endif
}

/* The cost of one clock read: the least of a few runs of back-to-back reads (about a us). */
static uint32_t clock_cost(const struct kp_timing *t)
{
	uint64_t best = UINT64_MAX;

	for (int run = 0; run < 4; run++) {
		uint64_t a = kp_timing_now(t), b;

		for (int i = 0; i < 15; i++)
			(void)kp_timing_now(t);
		b = kp_timing_now(t);
		if ((b - a) / 16 < best)
			best = (b - a) / 16;
	}
	return best < 1000 ? (uint32_t)best : 0;
}

void kp_timing_init(struct kp_timing *t, uint32_t sample)
{
	memset(t, 0, sizeof(*t));
	t->st.sample = sample;
	t->countdown = sample;
	t->st.tsc = sample && tsc_invariant();
	if (sample)
		t->st.clock_ticks = clock_cost(t);
	t->mono0 = mono_ns();
	t->tsc0 = kp_timing_now(t);
}

void kp_timing_cancel(struct kp_timing *t)
{
	t->driven = false;
	if (!t->st.sample)
		return;
	t->st.packets--;
	if (t->on) {
		t->on = false;
		t->countdown = 1; /* the next packet is the sampled one */
	} else {
		t->countdown++;
	}
}

static unsigned bucket(uint64_t ticks)
{
	unsigned o, b;

	if (ticks < 2)
		return 0;
	o = 63u - (unsigned)__builtin_clzll(ticks);
	b = 2 * o + (unsigned)((ticks >> (o - 1)) & 1);
	return b < KP_TIMING_HBUCKETS ? b : KP_TIMING_HBUCKETS - 1;
}

/* The geometric middle of bucket b, in ticks. */
static double bucket_mid(unsigned b)
{
	double lo = (double)(1ull << (b / 2));

	if (b < 2)
		return 1.0;
	/* [2^o, 1.5 * 2^o) and [1.5 * 2^o, 2^(o+1)): sqrt(1.5) and 1.5 * sqrt(4/3) times 2^o */
	return b & 1 ? lo * 1.7320508 : lo * 1.2247449;
}

static void acc_add(struct kp_timing_acc *a, uint64_t ticks)
{
	a->n++;
	a->ticks += ticks;
	a->hist[bucket(ticks)]++;
}

void kp_timing_end_slow(struct kp_timing *t)
{
	uint64_t now = kp_timing_now(t), d = now - t->last;

	t->pkt[t->cur] += d > t->st.clock_ticks ? d - t->st.clock_ticks : 0;
	t->st.reads++;
	t->on = false;
	t->st.sampled++;
	for (unsigned s = 0; s < KP_TS__PIPELINE; s++) {
		if (!(t->entered & (1u << s))) {
			t->pkt[s] = 0;
			continue;
		}
		if (s == KP_TS_VERDICT && t->defer_verdict) {
			/* counted with its share of the batch's send (kp_timing_verdicts_sent) */
			if (t->nvpend < KP_TIMING_VPEND)
				t->vpend[t->nvpend] = t->pkt[s];
			else
				acc_add(&t->st.acc[s], t->pkt[s]), t->nvover++;
			t->nvpend++;
		} else {
			acc_add(&t->st.acc[s], t->pkt[s]);
		}
		t->pkt[s] = 0;
	}
	t->entered = 0;
}

void kp_timing_defer_verdicts(struct kp_timing *t)
{
	t->defer_verdict = true;
}

void kp_timing_verdicts_sent(struct kp_timing *t, uint64_t send_ticks, unsigned nv)
{
	uint64_t share = nv ? send_ticks / nv : 0;
	uint32_t kept = t->nvpend - t->nvover;

	for (uint32_t i = 0; i < kept; i++)
		acc_add(&t->st.acc[KP_TS_VERDICT], t->vpend[i] + share);
	t->st.acc[KP_TS_VERDICT].ticks += share * t->nvover;
	t->nvpend = 0;
	t->nvover = 0;
}

void kp_timing_wait(struct kp_timing *t, uint8_t s, uint64_t since)
{
	uint64_t now;

	if (!t->st.sample || s >= KP_TS__COUNT)
		return;
	now = kp_timing_now(t);
	acc_add(&t->st.acc[s], now > since ? now - since : 0);
}

void kp_timing_snapshot(const struct kp_timing *t, struct kp_timing_stats *out)
{
	*out = t->st;
	out->ns_per_tick = 1.0;
	if (t->st.tsc) {
		uint64_t dm, dt;

		/* the ratio needs a millisecond between its two readings (a very short run waits) */
		while ((dm = mono_ns() - t->mono0) < 1000000)
			;
		dt = kp_timing_now(t) - t->tsc0;
		if (dt)
			out->ns_per_tick = (double)dm / (double)dt;
	}
}

void kp_timing_stats_add(struct kp_timing_stats *a, const struct kp_timing_stats *b)
{
	uint64_t na = a->sampled + a->acc[KP_TS_SCAN_WAIT].n;
	uint64_t nb = b->sampled + b->acc[KP_TS_SCAN_WAIT].n;

	if (!a->sample)
		a->sample = b->sample;
	if (!a->clock_ticks)
		a->clock_ticks = b->clock_ticks;
	a->tsc |= b->tsc;
	if (na + nb)
		a->ns_per_tick = (a->ns_per_tick * (double)na + b->ns_per_tick * (double)nb) /
				 (double)(na + nb);
	else
		a->ns_per_tick = b->ns_per_tick ? b->ns_per_tick : a->ns_per_tick;
	a->packets += b->packets;
	a->sampled += b->sampled;
	a->reads += b->reads;
	for (unsigned s = 0; s < KP_TS__COUNT; s++) {
		a->acc[s].n += b->acc[s].n;
		a->acc[s].ticks += b->acc[s].ticks;
		for (unsigned k = 0; k < KP_TIMING_HBUCKETS; k++)
			a->acc[s].hist[k] += b->acc[s].hist[k];
	}
}

/* The q-quantile of a histogram, in ticks: the geometric middle of its bucket. */
static double quantile(const struct kp_timing_acc *a, double q)
{
	uint64_t want, seen = 0;

	if (!a->n)
		return 0;
	want = (uint64_t)(q * (double)a->n);
	if (want >= a->n)
		want = a->n - 1;
	for (unsigned b = 0; b < KP_TIMING_HBUCKETS; b++) {
		seen += a->hist[b];
		if (seen > want)
			return bucket_mid(b);
	}
	return bucket_mid(KP_TIMING_HBUCKETS - 1);
}

void kp_timing_report(const struct kp_timing_stats *s, struct kp_timing_report *r)
{
	double k = s->ns_per_tick > 0 ? s->ns_per_tick : 1.0, total = 0;
	double scale = s->sampled ? (double)s->packets / (double)s->sampled : 0;

	memset(r, 0, sizeof(*r));
	r->packets = s->packets;
	r->sampled = s->sampled;
	r->clock_ns = s->clock_ticks * k;
	for (unsigned i = 0; i < KP_TS__PIPELINE; i++)
		total += (double)s->acc[i].ticks;
	if (s->sampled)
		r->ns_per_packet = total * k / (double)s->sampled;
	for (unsigned i = 0; i < KP_TS__COUNT; i++) {
		const struct kp_timing_acc *a = &s->acc[i];
		struct kp_timing_stage_report *o = &r->stage[i];

		o->n = a->n;
		o->p50_ns = quantile(a, 0.50) * k;
		o->p99_ns = quantile(a, 0.99) * k;
		if (i == KP_TS_SCAN_WAIT) {
			o->ns_per_packet = a->n ? (double)a->ticks * k / (double)a->n : 0;
			o->est_total_ns = (double)a->ticks * k;
			continue;
		}
		if (s->sampled)
			o->ns_per_packet = (double)a->ticks * k / (double)s->sampled;
		o->share = total > 0 ? 100.0 * (double)a->ticks / total : 0;
		o->est_total_ns = (double)a->ticks * k * scale;
	}
}
