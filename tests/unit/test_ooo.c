/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Out-of-order TCP segments (engine/ooo.c, config stream.ooo): fast pass
 * accepts them at once and counts them; hold gives them KP_VERDICT_HOLD and
 * releases them, in order, through the release callback when the hole fills,
 * when stream.hold_timeout passes, or falls back to fast pass beyond
 * stream.hold_max; a block decided after fast-passed segments resets the flow
 * with the sequence number the receiver expects.
 */
#include "pkt_build.h"
#include "tap.h"

static const char http_get[] = "GET /index.html HTTP/1.1\r\nHost: www.kp2padm.test\r\n"
			       "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

/* What the release callback was told, in order. */
struct rel_log {
	uint64_t id[16];
	bool accept[16];
	unsigned n;
};

static void on_release(void *arg, uint64_t hold_id, bool accept)
{
	struct rel_log *l = arg;

	if (l->n < 16) {
		l->id[l->n] = hold_id;
		l->accept[l->n] = accept;
	}
	l->n++;
}

/* A pipeline as the inline worker sets it up: holds are real, releases reported. */
static void open_inline(struct tpipe *t, struct rel_log *l, const char *sets)
{
	tpipe_open(t, sets);
	memset(l, 0, sizeof(*l));
	t->eng.inline_mode = true;
	t->eng.content.release = on_release;
	t->eng.content.release_arg = l;
}

/* Server data at an offset from the server's next sequence number, without moving it. */
static struct kp_verdict server_at(struct tconn *c, uint32_t off, const void *d, size_t n)
{
	return tpipe_send(c->t, IPPROTO_TCP, c->ca, c->cp, c->sa, c->sp, c->sseq + off, c->cseq,
			  0x18, d, n, 0);
}

static uint8_t blob[3][100];

static void blobs_init(void)
{
	/* bytes no module claims (nor excludes for sure): the flow stays under inspection */
	for (int i = 0; i < 3; i++)
		memset(blob[i], 0x80 + i, sizeof(blob[i]));
}

KP_TEST(fastpass_accepts_at_once_and_counts)
{
	struct tpipe t;
	struct tconn c;
	struct rel_log l;
	struct kp_verdict v;

	blobs_init();
	open_inline(&t, &l, "classify.packets=100;bypass=no");
	tconn_open(&c, &t, 2, 40001, 1, 9000);
	CHECK_EQ(t.cfg.stream_ooo, KP_OOO_FASTPASS); /* the default */
	v = server_at(&c, 100, blob[1], 100);        /* the first 100 bytes are still missing */
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	v = server_at(&c, 200, blob[2], 100);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	CHECK_EQ(t.eng.st.ooo.fastpassed, 2);
	CHECK_EQ(t.eng.st.ooo.held, 0);
	v = server_at(&c, 0, blob[0], 100); /* the hole fills */
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	c.sseq += 300;
	v = tconn_send(&c, 0, blob[0], 100); /* in order after what was fast-passed: not counted */
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	CHECK_EQ(t.eng.st.ooo.fastpassed, 2);
	/* the copies were reassembled: inspection saw all 400 bytes in order */
	CHECK_EQ(t.eng.stream.st.ooo_buffered, 2);
	CHECK_EQ(t.eng.stream.st.gaps, 0);
	kp_engine_release_pending(&t.eng);
	CHECK_EQ(l.n, 0); /* nothing was held */
	free(tpipe_close(&t));
}

KP_TEST(hold_waits_for_the_hole_then_releases_in_order)
{
	struct tpipe t;
	struct tconn c;
	struct rel_log l;
	struct kp_verdict v1, v2, v;

	blobs_init();
	open_inline(&t, &l, "stream.ooo=hold;classify.packets=100;bypass=no");
	tconn_open(&c, &t, 2, 40002, 1, 9000);
	/* arrival order: third, second, then the first segment */
	v2 = server_at(&c, 200, blob[2], 100);
	v1 = server_at(&c, 100, blob[1], 100);
	CHECK_EQ(v2.action, KP_VERDICT_HOLD);
	CHECK_EQ(v1.action, KP_VERDICT_HOLD);
	CHECK(v1.hold_id != 0 && v2.hold_id != 0 && v1.hold_id != v2.hold_id);
	CHECK_EQ(t.eng.st.ooo.held, 2);
	CHECK_EQ(t.eng.st.ooo.fastpassed, 0);
	kp_engine_release_pending(&t.eng);
	CHECK_EQ(l.n, 0); /* the hole is open: nothing goes */
	v = server_at(&c, 0, blob[0], 100);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT); /* the filler itself passes */
	CHECK_EQ(l.n, 0); /* releases follow the filler's verdict, not precede it */
	kp_engine_release_pending(&t.eng);
	CHECK_EQ(l.n, 2);
	CHECK(l.id[0] == v1.hold_id && l.id[1] == v2.hold_id); /* in sequence order */
	CHECK(l.accept[0] && l.accept[1]);
	CHECK_EQ(t.eng.st.ooo.released_fill, 2);
	CHECK_EQ(t.eng.st.ooo.held_us_max, 2000); /* the first held waited two packets (1 ms each) */
	CHECK_EQ(t.eng.ooo.n_held, 0);
	c.sseq += 300;
	v = tconn_send(&c, 0, blob[0], 100);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT); /* in order after the released ones */
	free(tpipe_close(&t));
	CHECK_EQ(l.n, 2);
}

KP_TEST(hold_times_out)
{
	struct tpipe t;
	struct tconn c;
	struct rel_log l;
	struct kp_verdict v1, v;

	blobs_init();
	open_inline(&t, &l, "stream.ooo=hold;stream.hold_timeout=50;classify.packets=100;bypass=no");
	tconn_open(&c, &t, 2, 40003, 1, 9000);
	v1 = server_at(&c, 100, blob[1], 100);
	CHECK_EQ(v1.action, KP_VERDICT_HOLD);
	kp_engine_tick(&t.eng, t.ts + 30000); /* not yet */
	CHECK_EQ(l.n, 0);
	kp_engine_tick(&t.eng, t.ts + 60000);
	CHECK_EQ(l.n, 1);
	CHECK(l.id[0] == v1.hold_id && l.accept[0]);
	CHECK_EQ(t.eng.st.ooo.released_timeout, 1);
	CHECK(t.eng.st.ooo.held_us_max >= 50000 && t.eng.st.ooo.held_us_max < 70000);
	t.ts += 70000;
	v = server_at(&c, 0, blob[0], 100); /* the hole fills late: nothing left to release */
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	kp_engine_release_pending(&t.eng);
	CHECK_EQ(l.n, 1);
	c.sseq += 200;
	v = tconn_send(&c, 0, blob[2], 100); /* the edge moved past the released segment */
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	CHECK_EQ(t.eng.st.ooo.held, 1);
	CHECK_EQ(t.eng.st.ooo.fastpassed, 0);
	free(tpipe_close(&t));
}

KP_TEST(hold_overflow_falls_back_to_fastpass)
{
	struct tpipe t;
	struct tconn c;
	struct rel_log l;
	struct kp_verdict v;

	blobs_init();
	open_inline(&t, &l, "stream.ooo=hold;stream.hold_max=2;classify.packets=100;bypass=no");
	tconn_open(&c, &t, 2, 40004, 1, 9000);
	CHECK_EQ(server_at(&c, 100, blob[1], 50).action, KP_VERDICT_HOLD);
	CHECK_EQ(server_at(&c, 150, blob[1], 50).action, KP_VERDICT_HOLD);
	v = server_at(&c, 200, blob[2], 50); /* a third would exceed stream.hold_max */
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	CHECK_EQ(t.eng.st.ooo.overflow, 1);
	CHECK_EQ(t.eng.st.ooo.fastpassed, 1);
	CHECK_EQ(t.eng.st.ooo.held, 2);
	server_at(&c, 0, blob[0], 100);
	kp_engine_release_pending(&t.eng);
	CHECK_EQ(l.n, 2);
	CHECK_EQ(t.eng.st.ooo.released_fill, 2);
	free(tpipe_close(&t));
}

/* Offline nothing is held, but the counters say what would have been, and how long. */
KP_TEST(hold_offline_counts_only)
{
	struct tpipe t;
	struct tconn c;
	struct kp_verdict v;

	blobs_init();
	tpipe_open(&t, "stream.ooo=hold;classify.packets=100");
	tconn_open(&c, &t, 2, 40005, 1, 9000);
	v = server_at(&c, 100, blob[1], 100);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	t.ts += 9000; /* the filler comes 10 ms later (capture time) */
	v = server_at(&c, 0, blob[0], 100);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	CHECK_EQ(t.eng.st.ooo.held, 1);
	CHECK_EQ(t.eng.st.ooo.released_fill, 1);
	CHECK_EQ(t.eng.st.ooo.held_us_max, 10000);
	free(tpipe_close(&t));
}

/* A held segment whose flow ends is let go (the flow's end is no reason to drop it). */
KP_TEST(hold_released_at_flow_end)
{
	struct tpipe t;
	struct tconn c;
	struct rel_log l;

	blobs_init();
	open_inline(&t, &l, "stream.ooo=hold;classify.packets=100;bypass=no");
	tconn_open(&c, &t, 2, 40006, 1, 9000);
	CHECK_EQ(server_at(&c, 100, blob[1], 100).action, KP_VERDICT_HOLD);
	kp_engine_flush(&t.eng);
	CHECK_EQ(l.n, 1);
	CHECK(l.accept[0]);
	CHECK_EQ(t.eng.st.ooo.released_end, 1);
	free(tpipe_close(&t));
}

/*
 * Fast pass, then the filled stream decides "block": the second half of a request
 * passed before the first; when the first arrives the request is classified, the
 * rule blocks with reset, the filler (the hole) is dropped and the reset carries
 * the hole's start, the receiver's rcv_nxt, even when the filler is a coalesced
 * retransmission starting earlier.
 */
KP_TEST(block_after_fastpass_resets)
{
	size_t half = 30, n = sizeof(http_get) - 1;

	for (int coalesced = 0; coalesced < 2; coalesced++) {
		struct tpipe t;
		struct tconn c;
		struct kp_verdict v;
		char *ev;
		uint32_t hole;

		tpipe_open(&t, "rule=block name=no-web app=http reset");
		tconn_open(&c, &t, 2, (uint16_t)(40010 + coalesced), 1, 80);
		if (coalesced) {
			/* the first 10 bytes went through in order before the hole */
			v = tconn_send(&c, 1, http_get, 10);
			CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
		}
		hole = c.cseq;
		v = tpipe_send(&t, IPPROTO_TCP, c.ca, c.cp, c.sa, c.sp, c.cseq + (uint32_t)half -
			       (coalesced ? 10 : 0), c.sseq, 0x18, http_get + half, n - half, 1);
		CHECK_EQ(v.action, KP_VERDICT_ACCEPT); /* fast pass: out of order, accepted */
		CHECK_EQ(t.eng.st.ooo.fastpassed, 1);
		CHECK_EQ(t.eng.st.blocked_flows, 0);
		/* the hole's filler (coalesced: a retransmission from the request's start) */
		if (coalesced)
			v = tpipe_send(&t, IPPROTO_TCP, c.ca, c.cp, c.sa, c.sp, c.cseq - 10, c.sseq,
				       0x18, http_get, half, 1);
		else
			v = tpipe_send(&t, IPPROTO_TCP, c.ca, c.cp, c.sa, c.sp, c.cseq, c.sseq,
				       0x18, http_get, half, 1);
		CHECK_EQ(v.action, KP_VERDICT_DROP); /* the hole never reaches the server */
		CHECK_EQ(v.app, KP_APP_HTTP);
		CHECK_EQ(t.eng.st.blocked_flows, 1);
		/* the reset's numbers: the client's next seq as the server expects it (the hole) */
		CHECK_EQ(t.eng.pkt_dir, 0);
		CHECK_EQ(t.eng.pkt_seq, hole);
		CHECK_EQ(t.eng.pkt_ack, c.sseq);
		ev = tpipe_close(&t);
		CHECK(strstr(ev, "\"event_type\":\"block\"") != NULL);
		CHECK(strstr(ev, "\"action\":\"reset\"") != NULL);
		free(ev);
	}
}

/* A server segment of a capture whose snap length kept only 60 of its 1000 payload bytes. */
static void send_cut(struct tpipe *t, struct tconn *c)
{
	uint8_t p[100] = {0};
	struct kp_packet pk = {0};
	struct kp_verdict v;
	uint32_t tot = 20 + 20 + 1000;
	uint16_t ck;

	p[0] = 0x45, p[2] = (uint8_t)(tot >> 8), p[3] = (uint8_t)tot, p[8] = 64, p[9] = 6;
	p[12] = 198, p[13] = 19, p[14] = 0, p[15] = c->sa;
	p[16] = 198, p[17] = 18, p[18] = 0, p[19] = c->ca;
	p[20] = (uint8_t)(c->sp >> 8), p[21] = (uint8_t)c->sp;
	p[22] = (uint8_t)(c->cp >> 8), p[23] = (uint8_t)c->cp;
	for (int i = 0; i < 4; i++) {
		p[24 + i] = (uint8_t)(c->sseq >> (24 - 8 * i));
		p[28 + i] = (uint8_t)(c->cseq >> (24 - 8 * i));
	}
	p[32] = 0x50, p[33] = 0x10, p[34] = 0xff, p[35] = 0xff;
	memset(p + 40, 0x81, 60);
	ck = (uint16_t)~kp_csum_fold(kp_csum_add(0, p, 20)); /* the TCP sum cannot be checked */
	p[10] = (uint8_t)(ck >> 8), p[11] = (uint8_t)ck;
	pk.data = p;
	pk.caplen = sizeof(p);
	pk.len = tot;
	pk.ts_us = t->ts;
	pk.dlt = KP_DLT_RAW;
	t->ts += 1000;
	kp_engine_process(&t->eng, &pk, &v);
	c->sseq += 1000;
}

/* Offline, segments cut by the snap length are as long as the wire said: no false holes. */
KP_TEST(snaplen_cut_segments_are_not_holes)
{
	struct tpipe t;
	struct tconn c;

	tpipe_open(&t, "stream.ooo=hold;classify.packets=100;bypass=no");
	tconn_open(&c, &t, 2, 40020, 1, 9000);
	for (int i = 0; i < 5; i++)
		send_cut(&t, &c);
	CHECK_EQ(t.eng.dec.st.tcp, 8);
	CHECK_EQ(t.eng.st.csum_skipped, 0);
	CHECK_EQ(t.eng.st.ooo.held, 0);
	CHECK_EQ(t.eng.st.ooo.fastpassed, 0);
	c.sseq += 1000; /* one segment missing from the capture: the next is beyond a hole */
	send_cut(&t, &c);
	CHECK_EQ(t.eng.st.ooo.held, 1);
	free(tpipe_close(&t));
}

/* The configuration words. */
KP_TEST(ooo_config)
{
	struct kp_config cfg;
	char err[256];

	kp_config_defaults(&cfg);
	CHECK_EQ(cfg.stream_ooo, KP_OOO_FASTPASS);
	CHECK_EQ(cfg.stream_hold_timeout, 200);
	CHECK_EQ(cfg.stream_hold_max, 4096);
	CHECK_EQ(kp_config_set(&cfg, "stream.ooo", "hold", err, sizeof(err)), 0);
	CHECK_EQ(cfg.stream_ooo, KP_OOO_HOLD);
	CHECK_EQ(kp_config_set(&cfg, "stream.ooo", "wait", err, sizeof(err)), -1);
	CHECK(strstr(err, "fastpass or hold") != NULL);
	kp_config_free(&cfg);
}

KP_TEST_MAIN()
