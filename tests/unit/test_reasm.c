/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of TCP reassembly: in order, out of order, overlaps (first data
 * wins), sequence wraparound, gaps (by ACK, by limits, at the end), depth, memcap.
 */
#include "stream/reasm.h"
#include "tap.h"

#include <stdlib.h>

struct sink {
	uint8_t buf[4096];
	uint32_t len;
	int calls, gaps;
	uint32_t gap_at[8];
};

static void cb(void *arg, const uint8_t *data, uint32_t len, bool gap)
{
	struct sink *s = arg;

	if (gap && s->gaps < 8)
		s->gap_at[s->gaps++] = s->len;
	if (s->len + len <= sizeof(s->buf))
		memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->calls++;
}

static void setup(struct kp_stream *st, struct kp_stream_dir *d, struct sink *s)
{
	memset(st, 0, sizeof(*st));
	st->cfg.memcap = 1 << 20;
	st->cfg.max_ooo = 1 << 16;
	memset(d, 0, sizeof(*d));
	memset(s, 0, sizeof(*s));
}

#define FEED(seq, str) kp_stream_data(&st, &d, (seq), (const uint8_t *)(str), sizeof(str) - 1, cb, &s)

KP_TEST(reasm_in_order_is_not_copied)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	kp_stream_syn(&d, 1000);
	FEED(1001, "GET / ");
	FEED(1007, "HTTP/1.1\r\n");
	CHECK_EQ(s.len, 16);
	CHECK(memcmp(s.buf, "GET / HTTP/1.1\r\n", 16) == 0);
	CHECK_EQ(st.st.in_order, 2);
	CHECK_EQ(st.st.ooo_buffered, 0);
	CHECK_EQ(st.st.mem_used, 0);
	/* a retransmission of delivered bytes is dropped */
	FEED(1001, "GET / ");
	CHECK_EQ(s.len, 16);
	CHECK_EQ(st.st.retrans, 1);
}

KP_TEST(reasm_out_of_order)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	kp_stream_syn(&d, 0);
	FEED(9, "ghi");
	FEED(5, "def");  /* leaves a hole at 8 */
	CHECK_EQ(s.len, 0);
	FEED(1, "abcd");
	CHECK_EQ(s.len, 7);
	FEED(8, "X");
	CHECK_EQ(s.len, 11);
	CHECK(memcmp(s.buf, "abcddefXghi", 11) == 0);
	CHECK_EQ(st.st.mem_used, 0);
	CHECK_EQ(d.ooo_bytes, 0);
}

KP_TEST(reasm_overlap_first_data_wins)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	kp_stream_syn(&d, 0);
	FEED(5, "EFGH");     /* held: bytes 5..8 */
	FEED(3, "cdXXXXij"); /* covers 3..10: 5..8 differ from what is held */
	FEED(1, "ab");
	CHECK_EQ(s.len, 10);
	CHECK(memcmp(s.buf, "abcdEFGHij", 10) == 0);
	CHECK(st.st.overlaps >= 1);
	CHECK_EQ(st.st.overlap_diff, 1);
	/* an in-order segment overlapping delivered bytes keeps the delivered ones */
	FEED(9, "IJKL");
	CHECK_EQ(s.len, 12);
	CHECK(memcmp(s.buf + 10, "KL", 2) == 0);
}

KP_TEST(reasm_sequence_wraparound)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	kp_stream_syn(&d, 0xfffffff9u); /* data starts at 0xfffffffa */
	FEED(0x00000002u, "WXYZ");       /* after the wrap: held */
	FEED(0xfffffffau, "abcdefgh");   /* 0xfffffffa .. 0x00000001 */
	CHECK_EQ(s.len, 12);
	CHECK(memcmp(s.buf, "abcdefghWXYZ", 12) == 0);
	CHECK_EQ(d.next_seq, 6);
}

KP_TEST(reasm_gap_declared_by_ack)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	kp_stream_syn(&d, 0);
	FEED(1, "abc");
	FEED(20, "late");           /* bytes 4..19 never captured */
	CHECK_EQ(s.len, 3);
	kp_stream_ack(&st, &d, 24, cb, &s); /* receiver had everything up to 23 */
	CHECK_EQ(s.len, 7);
	CHECK_EQ(s.gaps, 1);
	CHECK_EQ(s.gap_at[0], 3);
	CHECK_EQ(st.st.gaps, 1);
	CHECK_EQ(st.st.gap_bytes, 16);
	/* an ACK that only covers the FIN is no gap */
	kp_stream_ack(&st, &d, 25, cb, &s);
	CHECK_EQ(st.st.gaps, 1);
	/* an ACK beyond all data with nothing held jumps; the next bytes carry the gap flag */
	kp_stream_ack(&st, &d, 100, cb, &s);
	FEED(100, "z");
	CHECK_EQ(s.gaps, 2);
	CHECK_EQ(s.len, 8);
}

KP_TEST(reasm_flush_delivers_across_holes)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	kp_stream_syn(&d, 0);
	FEED(10, "xyz");
	FEED(20, "uvw");
	kp_stream_flush(&st, &d, cb, &s);
	CHECK_EQ(s.len, 6);
	CHECK_EQ(s.gaps, 2);
	CHECK_EQ(st.st.mem_used, 0);
}

KP_TEST(reasm_depth_limit)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	st.cfg.depth = 5;
	kp_stream_syn(&d, 0);
	FEED(1, "abc");
	FEED(4, "defgh");
	FEED(9, "ijk");
	CHECK_EQ(s.len, 5);
	CHECK(memcmp(s.buf, "abcde", 5) == 0);
	CHECK(d.depth_reached);
	CHECK_EQ(st.st.depth_reached, 1);
	FEED(20, "held?"); /* past depth nothing is buffered */
	CHECK_EQ(st.st.mem_used, 0);
}

KP_TEST(reasm_memcap_refuses_and_gap_follows)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	st.cfg.memcap = 60; /* room for one small held segment with its header */
	kp_stream_syn(&d, 0);
	FEED(10, "0123456789");
	FEED(30, "0123456789"); /* refused */
	CHECK_EQ(st.st.memcap_drops, 1);
	CHECK(st.st.mem_used <= 60);
	FEED(1, "abcdefghi");  /* fills 1..9: delivers through 19 */
	CHECK_EQ(s.len, 19);
	kp_stream_ack(&st, &d, 40, cb, &s); /* 20..39 are lost for us */
	CHECK_EQ(st.st.gaps, 1);
	CHECK_EQ(d.next_seq, 40);
	FEED(40, "x");
	CHECK_EQ(s.gaps, 1);
	CHECK_EQ(s.gap_at[0], 19);
}

KP_TEST(reasm_max_ooo_forces_gap)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;
	uint8_t blob[600];

	setup(&st, &d, &s);
	st.cfg.max_ooo = 1000;
	memset(blob, 'q', sizeof(blob));
	kp_stream_syn(&d, 0);
	kp_stream_data(&st, &d, 100, blob, 600, cb, &s);
	CHECK_EQ(s.len, 0);
	kp_stream_data(&st, &d, 700, blob, 600, cb, &s); /* 1200 held > 1000 */
	CHECK_EQ(s.len, 1200);
	CHECK_EQ(s.gaps, 1);
	CHECK_EQ(st.st.mem_used, 0);
}

KP_TEST(reasm_midstream_pickup)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	FEED(5000, "hello");
	FEED(5005, " world");
	CHECK_EQ(s.len, 11);
	CHECK(memcmp(s.buf, "hello world", 11) == 0);
}

/* found by fuzz_pipeline: a second SYN with another ISN while data is held out of order */
KP_TEST(reasm_new_syn_while_holding_keeps_position)
{
	struct kp_stream st;
	struct kp_stream_dir d;
	struct sink s;

	setup(&st, &d, &s);
	st.cfg.depth = 1 << 20;
	kp_stream_syn(&d, 1000);
	FEED(1100, "ABCDEF"); /* held */
	kp_stream_syn(&d, 1200); /* ignored: the first SYN's numbering stands */
	FEED(1201, "WXYZ");    /* also ahead of 1001: held, nothing delivered */
	CHECK_EQ(s.len, 0);
	CHECK_EQ(d.next_seq, 1001);
	kp_stream_flush(&st, &d, cb, &s);
	CHECK_EQ(s.len, 10);
	CHECK(memcmp(s.buf, "ABCDEFWXYZ", 10) == 0);
}

KP_TEST_MAIN()
