/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-stage time counters (engine/timing.c) a user reads in the offline
 * summary and the inline stats event: the stages of a packet add up to its
 * whole time (nested stages charged once), a stage that does nothing reports
 * about nothing, timing.sample=0 records nothing, timing.sample=1 every
 * packet and timing.sample=N every Nth, ticks become ns by the clock's rate,
 * and a held packet's scan wait is counted apart from the pipeline's time.
 */
#include "engine/timing.h"
#include "inline/stats.h"
#include "inline/worker.h"
#include "pkt_build.h"
#include "tap.h"

#include <time.h>

static const char http_get[] = "GET /index.html HTTP/1.1\r\nHost: www.kp2padm.test\r\n"
			       "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
static const char http_ok[] = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
			      "Content-Length: 5\r\n\r\nhello";

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = mono_ns() + ns;

	while (mono_ns() < end)
		;
}

static double pct_diff(double a, double b)
{
	return b ? 100.0 * (a - b) / b : 100.0;
}

/* Five packets with known work in known stages (decode 200 us, reassembly 2 x 50 us around a
 * nested classification of 50 us, an idle policy stage). */
static void known_work(struct kp_timing_report *r)
{
	struct kp_timing t;
	struct kp_timing_stats s;

	kp_timing_init(&t, 1);
	for (int i = 0; i < 5; i++) {
		kp_timing_begin(&t, 0);
		kp_timing_enter(&t, KP_TS_DECODE);
		spin_ns(200000);
		KP_TIMING_STAGE(&t, KP_TS_REASM);
		spin_ns(50000);
		{
			/* nested: classification inside reassembly, then back */
			KP_TIMING_ENTER(&t, KP_TS_CLASSIFY, prev);

			spin_ns(50000);
			KP_TIMING_LEAVE(&t, prev);
		}
		spin_ns(50000);  /* reassembly again */
		KP_TIMING_STAGE(&t, KP_TS_POLICY); /* does nothing */
		kp_timing_exit(&t);
		kp_timing_end(&t);
	}
	kp_timing_snapshot(&t, &s);
	kp_timing_report(&s, r);
}

/* Within the bounds below (a busy shared machine may preempt a run: up to 5 runs). */
static bool known_work_ok(const struct kp_timing_report *r)
{
	return r->ns_per_packet < 350000 * 1.3 &&
	       pct_diff(r->stage[KP_TS_DECODE].ns_per_packet, 200000) < 20 &&
	       pct_diff(r->stage[KP_TS_REASM].ns_per_packet, 100000) < 20 &&
	       pct_diff(r->stage[KP_TS_CLASSIFY].ns_per_packet, 50000) < 30;
}

/* Known work in known stages: shares, ns per packet and percentiles come out right. */
KP_TEST(stages_add_up_to_the_packet)
{
	struct kp_timing_report r;
	double sum = 0;

	for (int i = 0; i < 5; i++) {
		known_work(&r);
		if (known_work_ok(&r))
			break;
	}
	CHECK(known_work_ok(&r));
	CHECK_EQ(r.sampled, 5);
	CHECK_EQ(r.packets, 5);
	for (unsigned i = 0; i < KP_TS__PIPELINE; i++)
		sum += r.stage[i].share;
	CHECK(sum > 99.99 && sum < 100.01);
	/* 350 us of work per packet, measured against CLOCK_MONOTONIC */
	CHECK(r.ns_per_packet > 350000);
	CHECK(r.stage[KP_TS_DECODE].share > 50 && r.stage[KP_TS_DECODE].share < 62);
	/* reassembly: both of its pieces, not the nested classification */
	CHECK(r.stage[KP_TS_REASM].ns_per_packet > 100000);
	CHECK(r.stage[KP_TS_CLASSIFY].ns_per_packet > 50000);
	CHECK_EQ(r.stage[KP_TS_CLASSIFY].n, 5);
	/* a stage entered but idle reports about nothing; one never entered, nothing */
	CHECK_EQ(r.stage[KP_TS_POLICY].n, 5);
	CHECK(r.stage[KP_TS_POLICY].share < 1.0);
	CHECK_EQ(r.stage[KP_TS_APP].n, 0);
	CHECK(r.stage[KP_TS_APP].ns_per_packet == 0);
	/* half-octave histogram: p50 within a factor of 1.5 of the truth */
	CHECK(r.stage[KP_TS_DECODE].p50_ns > 200000 / 1.5 && r.stage[KP_TS_DECODE].p50_ns < 200000 * 1.5);
	CHECK(r.stage[KP_TS_DECODE].p99_ns >= r.stage[KP_TS_DECODE].p50_ns);
	CHECK(r.stage[KP_TS_DECODE].est_total_ns > 5 * 200000.0 * 0.9);
}

/* timing.sample=N times every Nth packet, and the estimate scales by the rate. */
KP_TEST(every_nth_packet_and_scaling)
{
	struct kp_timing t;
	struct kp_timing_stats s;
	struct kp_timing_report r;

	kp_timing_init(&t, 4);
	for (int i = 0; i < 100; i++) {
		kp_timing_enter(&t, KP_TS_DECODE); /* no source: the pipeline begins the packet */
		CHECK_EQ(t.on, (i + 1) % 4 == 0);
		kp_timing_exit(&t);
		CHECK(!t.on);
	}
	/* a read that brings nothing does not count, nor move the sampling */
	kp_timing_begin(&t, 0);
	kp_timing_cancel(&t);
	kp_timing_snapshot(&t, &s);
	kp_timing_report(&s, &r);
	CHECK_EQ(r.packets, 100);
	CHECK_EQ(r.sampled, 25);
	CHECK_EQ(s.acc[KP_TS_DECODE].n, 25);
	CHECK(r.stage[KP_TS_DECODE].est_total_ns > 3.9 * 25 * r.stage[KP_TS_DECODE].ns_per_packet);
}

/* The whole pipeline at timing.sample=1: every packet timed, every stage it ran counted. */
KP_TEST(pipeline_sample_1_times_every_packet)
{
	struct tpipe t;
	struct tconn c;
	struct kp_timing_stats s;
	struct kp_timing_report r;
	uint64_t outside = 0, inside = 0;
	char *ev;

	tpipe_open(&t, "timing.sample=1");
	tconn_open(&c, &t, 2, 40000, 1, 80);
	kp_timing_snapshot(&t.eng.tm, &s);
	/* three bare handshake packets: no payload, so no probe and no parser ran */
	CHECK_EQ(s.sampled, 3);
	CHECK_EQ(s.acc[KP_TS_DECODE].n, 3);
	CHECK_EQ(s.acc[KP_TS_FLOW].n, 3);
	CHECK_EQ(s.acc[KP_TS_CLASSIFY].n, 1); /* only the first: an awaited data connection? */
	CHECK_EQ(s.acc[KP_TS_APP].n, 0);
	CHECK_EQ(s.acc[KP_TS_APP].ticks, 0);
	/* a source around it: what the stages add up to is what the source saw */
	for (int i = 0; i < 2; i++) {
		uint64_t a = kp_timing_now(&t.eng.tm), b;

		kp_timing_begin(&t.eng.tm, a);
		if (i == 0)
			tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
		else
			tconn_send(&c, 0, http_ok, sizeof(http_ok) - 1);
		kp_timing_end(&t.eng.tm);
		b = kp_timing_now(&t.eng.tm);
		outside += b - a;
	}
	kp_timing_snapshot(&t.eng.tm, &s);
	for (unsigned i = 0; i < KP_TS__PIPELINE; i++)
		inside += s.acc[i].ticks;
	CHECK_EQ(s.sampled, 5);
	CHECK_EQ(s.packets, 5);
	CHECK(s.acc[KP_TS_CLASSIFY].n >= 2); /* the request was probed */
	CHECK(s.acc[KP_TS_APP].n >= 1);      /* and the HTTP parser ran */
	CHECK(s.acc[KP_TS_APP].ticks > 0);
	CHECK_EQ(s.acc[KP_TS_RECEIVE].n, 2); /* the packets a source began */
	kp_timing_report(&s, &r);
	{
		double sum = 0;

		for (unsigned i = 0; i < KP_TS__PIPELINE; i++)
			sum += r.stage[i].share;
		CHECK(sum > 99.99 && sum < 100.01);
	}
	CHECK(inside > 0 && outside > 0);
	ev = tpipe_close(&t);
	free(ev);
}

/* The stages of packets a source drives add up to the source's own measurement. */
KP_TEST(driven_packets_add_up)
{
	struct tpipe t;
	struct tconn c;
	struct kp_timing_stats s0, s1;
	uint64_t outside = 0, inside = 0, inside_reads;
	char *ev;

	tpipe_open(&t, "timing.sample=1");
	tconn_open(&c, &t, 2, 40001, 1, 80);
	kp_timing_snapshot(&t.eng.tm, &s0);
	for (int i = 0; i < 200; i++) {
		uint64_t a = kp_timing_now(&t.eng.tm);

		kp_timing_begin(&t.eng.tm, a);
		tconn_send(&c, i & 1, http_get, sizeof(http_get) - 1);
		kp_timing_end(&t.eng.tm);
		outside += kp_timing_now(&t.eng.tm) - a;
	}
	kp_timing_snapshot(&t.eng.tm, &s1);
	for (unsigned i = 0; i < KP_TS__PIPELINE; i++)
		inside += s1.acc[i].ticks - s0.acc[i].ticks;
	CHECK_EQ(s1.sampled - s0.sampled, 200);
	/* all of the packets' time is in some stage, or in the clock reads taken off */
	inside_reads = inside + (s1.reads - s0.reads) * s1.clock_ticks;
	CHECK(inside <= outside);
	CHECK(inside_reads <= outside + outside / 50);
	CHECK(inside_reads >= outside * 85 / 100);
	ev = tpipe_close(&t);
	free(ev);
}

/* timing.sample=0: nothing is recorded, and the report is empty. */
KP_TEST(sample_0_records_nothing)
{
	struct tpipe t;
	struct tconn c;
	struct kp_timing_stats s;
	struct kp_timing_report r;
	char *ev;

	tpipe_open(&t, "timing.sample=0");
	tconn_open(&c, &t, 2, 40002, 1, 80);
	kp_timing_begin(&t.eng.tm, 0);
	tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	kp_timing_end(&t.eng.tm);
	tconn_send(&c, 0, http_ok, sizeof(http_ok) - 1);
	kp_timing_wait(&t.eng.tm, KP_TS_SCAN_WAIT, 1);
	kp_timing_snapshot(&t.eng.tm, &s);
	CHECK_EQ(s.sample, 0);
	CHECK_EQ(s.packets, 0);
	CHECK_EQ(s.sampled, 0);
	for (unsigned i = 0; i < KP_TS__COUNT; i++) {
		CHECK_EQ(s.acc[i].n, 0);
		CHECK_EQ(s.acc[i].ticks, 0);
	}
	kp_timing_report(&s, &r);
	CHECK(r.ns_per_packet == 0);
	CHECK_EQ(t.eng.st.packets, 5); /* the pipeline itself ran */
	ev = tpipe_close(&t);
	free(ev);
}

/* A held packet's scan wait is counted (every hold), apart from the pipeline's shares. */
KP_TEST(scan_wait_apart)
{
	struct kp_timing t;
	struct kp_timing_stats s;
	struct kp_timing_report r;
	uint64_t since;

	kp_timing_init(&t, 64);
	since = kp_timing_now(&t);
	spin_ns(2000000);
	kp_timing_wait(&t, KP_TS_SCAN_WAIT, since);
	kp_timing_snapshot(&t, &s);
	kp_timing_report(&s, &r);
	CHECK_EQ(r.stage[KP_TS_SCAN_WAIT].n, 1);
	CHECK(r.stage[KP_TS_SCAN_WAIT].ns_per_packet >= 2000000 * 0.95);
	CHECK(r.stage[KP_TS_SCAN_WAIT].ns_per_packet < 2000000 + 100e6); /* preemption aside */
	CHECK(r.stage[KP_TS_SCAN_WAIT].share == 0);
	CHECK(r.ns_per_packet == 0); /* no packet was timed */
}

/* One timed packet that spends about own_ns in the verdict stage (its source drives it). */
static void verdict_packet(struct kp_timing *t, uint64_t own_ns)
{
	kp_timing_begin(t, 0);
	kp_timing_switch(t, KP_TS_VERDICT);
	spin_ns(own_ns);
	kp_timing_end(t);
}

/* A source that sends its verdicts in batches (NFQUEUE): a sampled packet's verdict stage
 * is its own part plus its share of the batch's send, in the mean and in the histogram
 * alike (the p50 of a stage dominated by the send must show the send). */
KP_TEST(batched_verdict_send_in_histogram)
{
	struct kp_timing t;
	struct kp_timing_stats s;
	struct kp_timing_report r;
	uint64_t send = 0, own;

	kp_timing_init(&t, 1);
	kp_timing_defer_verdicts(&t);
	verdict_packet(&t, 1000);
	verdict_packet(&t, 1000);
	kp_timing_snapshot(&t, &s);
	CHECK_EQ(s.sampled, 2);
	CHECK_EQ(s.acc[KP_TS_VERDICT].n, 0); /* not sent yet */
	own = t.vpend[0] + t.vpend[1];
	/* a batch of 4 verdicts (2 of them sampled) whose send took 4,000,000 ticks */
	send = 4000000; /* ticks: 4 ms of TSC at 1 GHz or more, 4 ms of CLOCK_MONOTONIC_RAW */
	kp_timing_verdicts_sent(&t, send, 4);
	kp_timing_snapshot(&t, &s);
	CHECK_EQ(s.acc[KP_TS_VERDICT].n, 2);
	CHECK_EQ(s.acc[KP_TS_VERDICT].ticks, own + 2 * (send / 4));
	kp_timing_report(&s, &r);
	/* each packet's verdict is its ~1 us plus a quarter of the send, p50 included */
	CHECK(r.stage[KP_TS_VERDICT].p50_ns >= (double)(send / 4) * s.ns_per_tick / 1.5);
	CHECK(r.stage[KP_TS_VERDICT].p50_ns <= (double)(send / 4 + own) * s.ns_per_tick * 1.5);
	CHECK(r.stage[KP_TS_VERDICT].share > 90);
	/* nothing left pending: the next send adds nothing */
	kp_timing_verdicts_sent(&t, send, 4);
	kp_timing_snapshot(&t, &s);
	CHECK_EQ(s.acc[KP_TS_VERDICT].n, 2);

	/* more sampled packets in one batch than are kept apart: all counted, the share too */
	kp_timing_init(&t, 1);
	kp_timing_defer_verdicts(&t);
	for (int i = 0; i < KP_TIMING_VPEND + 6; i++)
		verdict_packet(&t, 0);
	kp_timing_snapshot(&t, &s);
	CHECK_EQ(s.acc[KP_TS_VERDICT].n, 6); /* the overflow goes in at once */
	own = s.acc[KP_TS_VERDICT].ticks;
	for (int i = 0; i < KP_TIMING_VPEND; i++)
		own += t.vpend[i];
	kp_timing_verdicts_sent(&t, 100 * (KP_TIMING_VPEND + 6), KP_TIMING_VPEND + 6);
	kp_timing_snapshot(&t, &s);
	CHECK_EQ(s.acc[KP_TS_VERDICT].n, KP_TIMING_VPEND + 6);
	CHECK_EQ(s.acc[KP_TS_VERDICT].ticks, own + 100 * (KP_TIMING_VPEND + 6));
}

/* Workers' counters sum. */
KP_TEST(stats_add)
{
	struct kp_timing a, b;
	struct kp_timing_stats sa, sb, tot;

	kp_timing_init(&a, 1);
	kp_timing_init(&b, 1);
	for (int i = 0; i < 3; i++) {
		kp_timing_enter(&a, KP_TS_DECODE);
		kp_timing_exit(&a);
	}
	kp_timing_enter(&b, KP_TS_FLOW);
	kp_timing_exit(&b);
	kp_timing_snapshot(&a, &sa);
	kp_timing_snapshot(&b, &sb);
	memset(&tot, 0, sizeof(tot));
	kp_timing_stats_add(&tot, &sa);
	kp_timing_stats_add(&tot, &sb);
	CHECK_EQ(tot.sampled, 4);
	CHECK_EQ(tot.acc[KP_TS_DECODE].n, 3);
	CHECK_EQ(tot.acc[KP_TS_FLOW].n, 1);
	CHECK_EQ(tot.acc[KP_TS_VERDICT].n, 4);
	CHECK(tot.ns_per_tick > 0);
	CHECK_EQ(tot.sample, 1);
}

/* The inline stats event: a timing object per worker and one summed over them. */
KP_TEST(stats_event_timing_object)
{
	static struct kp_worker w[2];
	struct kp_timing t[2];
	struct kp_stats_ctx sc;
	struct kp_output out;
	char path[64], err[256], line[65536];
	FILE *f;
	bool got = false;

	snprintf(path, sizeof(path), "/tmp/kp-test-timing-%d.json", (int)getpid());
	CHECK_EQ(kp_output_open(&out, path, 1, err, sizeof(err)), 0);
	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		pthread_mutex_init(&w[i].lock, NULL);
		w[i].c.queue = (uint16_t)(7 + i);
		kp_timing_init(&t[i], 1);
		for (int k = 0; k <= i; k++) { /* worker 0: one packet, worker 1: two */
			kp_timing_enter(&t[i], KP_TS_DECODE);
			spin_ns(20000);
			kp_timing_exit(&t[i]);
		}
		kp_timing_snapshot(&t[i], &w[i].snap.timing);
	}
	kp_stats_init(&sc, w, 2, NULL, &out);
	kp_stats_write(&sc, 0);
	kp_output_close(&out);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (f && fgets(line, sizeof(line), f)) {
		const char *tot;

		if (!strstr(line, "\"event_type\":\"stats\""))
			continue;
		got = true;
		/* per worker, then summed (after the workers array) */
		CHECK(strstr(line, "\"queue_num\":7") != NULL);
		tot = strstr(line, "\"timing\":{\"sample\":1,");
		CHECK(tot != NULL);
		CHECK(strstr(line, "\"sampled\":1,") != NULL);
		CHECK(strstr(line, "\"sampled\":2,") != NULL);
		CHECK(strstr(line, "\"sampled\":3,") != NULL);
		CHECK(strstr(line, "\"stages\":{\"receive\":{\"ns_per_packet\":") != NULL);
		CHECK(strstr(line, "\"decode\":{\"ns_per_packet\":") != NULL);
		CHECK(strstr(line, "\"scan_wait\":{\"holds\":0,") != NULL);
	}
	CHECK(got);
	if (f)
		fclose(f);
	unlink(path);
	for (int i = 0; i < 2; i++)
		pthread_mutex_destroy(&w[i].lock);
}

KP_TEST_MAIN()
