/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the time goes: sampled per-stage time counters of one pipeline.
 *
 * Every Nth packet (timing.sample, default 64; 0 = off) is timed at its
 * stage boundaries: receive (the source's read), decode, flow lookup,
 * reassembly, classification (probes, signatures), application module
 * (parsers, file content), policy, verdict, and "other" (what runs inside a
 * packet for other flows or none: flows ending, with their events, wherever
 * they end - expiry sweep, eviction - and scan results). One stage is charged
 * at a time: entering a stage charges the time since the last boundary to
 * the stage being left, so nested work (reassembly calling the classifier,
 * the classifier calling a parser) is charged to the innermost stage and the
 * stages of a packet add up to its whole time. Scan wait is not pipeline
 * work: every held packet's wait, from hold to release, is counted (not
 * sampled) and reported apart.
 *
 * The clock is the TSC (__rdtsc) on x86 with an invariant TSC, else
 * CLOCK_MONOTONIC_RAW. Counters are kept in clock ticks; ticks become ns
 * when a report is made, by the ratio of the TSC to CLOCK_MONOTONIC over the
 * pipeline's lifetime (no calibration loop at start-up).
 *
 * Reading the clock takes time too (~25 cycles for the TSC): its cost,
 * measured at init, is taken off every timed segment, so that a stage that
 * does nothing reports about nothing rather than the clock's own cost.
 *
 * A packet not sampled costs a countdown and one predictable branch per
 * hook. struct kp_timing belongs to its pipeline's thread.
 */
#ifndef KP_ENGINE_TIMING_H
#define KP_ENGINE_TIMING_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

enum kp_timing_stage {
	KP_TS_RECEIVE = 0,
	KP_TS_DECODE,
	KP_TS_FLOW,
	KP_TS_REASM,
	KP_TS_CLASSIFY,
	KP_TS_APP,
	KP_TS_POLICY,
	KP_TS_VERDICT,
	KP_TS_OTHER,
	KP_TS_SCAN_WAIT,    /* not a pipeline stage: held packets' wait for a scan verdict */
	KP_TS__COUNT
};
#define KP_TS__PIPELINE KP_TS_SCAN_WAIT /* stages [0, this) add up to a packet's time */

/* Half-octave buckets of ticks: 2^o and 1.5 * 2^o start one each; 0 and 1 tick share 0-1;
 * the last holds everything from 2^39 ticks (minutes) on. */
#define KP_TIMING_HBUCKETS 80

/* One stage's counters (ticks). */
struct kp_timing_acc {
	uint64_t n;         /* sampled packets that entered the stage (scan wait: holds) */
	uint64_t ticks;     /* time charged to it */
	uint32_t hist[KP_TIMING_HBUCKETS]; /* per-packet time in the stage, half-octave buckets */
};

/* What a report is made from; plain data, copied into snapshots and summed over workers. */
struct kp_timing_stats {
	uint32_t sample;    /* the sampling interval in force (0 = off) */
	bool tsc;           /* ticks are TSC cycles (else ns of CLOCK_MONOTONIC_RAW) */
	uint64_t packets;   /* packets seen, sampled or not (0 while sampling is off) */
	uint64_t sampled;   /* packets timed */
	uint32_t clock_ticks; /* cost of one clock read, taken off every timed stage segment */
	uint64_t reads;     /* clock reads of the timed packets (each cost clock_ticks, taken off) */
	double ns_per_tick; /* filled by kp_timing_snapshot() */
	struct kp_timing_acc acc[KP_TS__COUNT];
};

/* Sampled packets whose verdict waits for a batched send (kp_timing_defer_verdicts). */
#define KP_TIMING_VPEND 64

struct kp_timing {
	uint32_t countdown; /* packets until the next sampled one */
	bool on;            /* the packet in hand is timed */
	bool driven;        /* its source began it (kp_timing_begin): the source ends it */
	uint8_t cur;        /* the stage being charged */
	uint64_t last;      /* ticks at the last boundary */
	uint64_t pkt[KP_TS__PIPELINE]; /* this packet's ticks per stage */
	uint32_t entered;   /* bit per stage entered by this packet */
	bool defer_verdict; /* the source sends verdicts in batches: kp_timing_verdicts_sent() */
	uint32_t nvpend;    /* sampled packets ended whose verdict send is not yet counted */
	uint32_t nvover;    /* of those, the ones past vpend (already in the histogram) */
	uint64_t vpend[KP_TIMING_VPEND]; /* their own verdict-stage ticks */
	uint64_t tsc0, mono0; /* TSC and CLOCK_MONOTONIC (ns) at init, for the tick ratio */
	struct kp_timing_stats st;
};

/* Sets up the counters for sampling every sample-th packet (0 = off). */
void kp_timing_init(struct kp_timing *t, uint32_t sample);

/* The clock, in ticks. */
static inline uint64_t kp_timing_now(const struct kp_timing *t)
{
#if defined(__x86_64__) || defined(__i386__)
	if (t->st.tsc)
		return __rdtsc();
#endif
	struct timespec ts;

	(void)t;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Charges the time since the last boundary to the current stage and makes s current;
 * returns the stage that was current. Only while t->on. */
static inline uint8_t kp_timing_switch(struct kp_timing *t, uint8_t s)
{
	uint64_t now = kp_timing_now(t), d = now - t->last;
	uint8_t prev = t->cur;

	t->pkt[prev] += d > t->st.clock_ticks ? d - t->st.clock_ticks : 0;
	t->st.reads++;
	t->last = now;
	t->cur = s;
	t->entered |= 1u << s;
	return prev;
}

/* Counts a packet and decides whether it is timed; if so, starts stage s at `at` ticks. */
static inline void kp_timing_start_at(struct kp_timing *t, uint8_t s, uint64_t at)
{
	if (!t->st.sample)
		return;
	t->st.packets++;
	if (--t->countdown)
		return;
	t->countdown = t->st.sample;
	t->on = true;
	t->cur = s;
	t->entered = 1u << s;
	t->last = at ? at : kp_timing_now(t);
}

/* True when the next packet counted will be timed (a source may read the clock before its read). */
static inline bool kp_timing_next_sampled(const struct kp_timing *t)
{
	return t->st.sample && t->countdown == 1;
}

/* A source is about to read a packet: the packet starts in the receive stage (at `at` ticks,
 * 0 = now). The source calls kp_timing_end() after the verdict, or kp_timing_cancel(). */
static inline void kp_timing_begin(struct kp_timing *t, uint64_t at)
{
	t->driven = true;
	kp_timing_start_at(t, KP_TS_RECEIVE, at);
}

/* The read brought no packet: forgets what kp_timing_begin() counted. */
void kp_timing_cancel(struct kp_timing *t);

/* Ends the packet in hand: its stage times go into the counters. */
void kp_timing_end_slow(struct kp_timing *t);
static inline void kp_timing_end(struct kp_timing *t)
{
	t->driven = false;
	if (t->on)
		kp_timing_end_slow(t);
}

/* The pipeline's entry: counts the packet itself unless its source began it. */
static inline void kp_timing_enter(struct kp_timing *t, uint8_t s)
{
	if (!t->driven)
		kp_timing_start_at(t, s, 0);
	else if (t->on)
		kp_timing_switch(t, s);
}

/* The pipeline's exit: the verdict stage starts; a packet the pipeline began ends here. */
static inline void kp_timing_exit(struct kp_timing *t)
{
	if (!t->on)
		return;
	kp_timing_switch(t, KP_TS_VERDICT);
	if (!t->driven)
		kp_timing_end_slow(t);
}

/* The source sends its verdicts in batches, after the packets ended: from now on a sampled
 * packet's verdict stage is counted when its batch is sent, as its own part (deciding and
 * queueing the verdict) plus its share of the send (the sendmsg, in which the kernel also
 * reinjects and forwards the packets). */
void kp_timing_defer_verdicts(struct kp_timing *t);

/* A batch of nv verdicts was sent in send_ticks: every sampled packet waiting for it gets
 * send_ticks / nv added to its verdict stage, which then goes into the counters (mean and
 * histogram alike). */
void kp_timing_verdicts_sent(struct kp_timing *t, uint64_t send_ticks, unsigned nv);

/* Counts one held packet's wait (since = kp_timing_now() at the hold). */
void kp_timing_wait(struct kp_timing *t, uint8_t s, uint64_t since);

/* Copies the counters, with ns_per_tick measured now. */
void kp_timing_snapshot(const struct kp_timing *t, struct kp_timing_stats *out);

/* Adds b's counters to a (workers summed; ns_per_tick averaged by sampled packets). */
void kp_timing_stats_add(struct kp_timing_stats *a, const struct kp_timing_stats *b);

/* One stage, in ns, from a snapshot. */
struct kp_timing_stage_report {
	uint64_t n;           /* sampled packets that entered the stage (scan wait: holds) */
	double ns_per_packet; /* mean over all sampled packets (scan wait: over the holds) */
	double share;         /* % of the sampled packets' total time (scan wait: 0) */
	double p50_ns, p99_ns; /* over the packets that entered the stage (half-octave buckets) */
	double est_total_ns;  /* estimated time over all packets (scaled by the sampling) */
};

struct kp_timing_report {
	uint64_t packets, sampled;
	double ns_per_packet; /* mean pipeline time of a sampled packet */
	double clock_ns;      /* the cost of a clock read, taken off each timed segment */
	struct kp_timing_stage_report stage[KP_TS__COUNT];
};

void kp_timing_report(const struct kp_timing_stats *s, struct kp_timing_report *r);

/* "receive", "decode", ..., "scan_wait". */
const char *kp_timing_stage_name(unsigned s);

/* The hooks: nothing but a branch when the packet in hand is not timed. */
#ifndef KP_TIMING_DISABLED
#define KP_TIMING_STAGE(t, s)                                                                    \
	do {                                                                                     \
		if ((t)->on)                                                                     \
			kp_timing_switch((t), (s));                                              \
	} while (0)
/* Enters stage s until KP_TIMING_LEAVE(t, var) returns to the stage it interrupted. */
#define KP_TIMING_ENTER(t, s, var) uint8_t var = (t)->on ? kp_timing_switch((t), (s)) : 0
#define KP_TIMING_LEAVE(t, var)                                                                  \
	do {                                                                                     \
		if ((t)->on)                                                                     \
			kp_timing_switch((t), (var));                                            \
	} while (0)
#else
#define KP_TIMING_STAGE(t, s) do { } while (0)
#define KP_TIMING_ENTER(t, s, var) uint8_t var __attribute__((unused)) = 0
#define KP_TIMING_LEAVE(t, var) do { } while (0)
#endif

#endif
