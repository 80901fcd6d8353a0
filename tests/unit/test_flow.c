/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the flow table: one flow for both directions, client = SYN
 * sender, stable ids, timeouts by state, memcap eviction of the oldest idle
 * flow, port reuse, and end-of-input order.
 */
#include "flow/flow_table.h"
#include "tap.h"

#include <netinet/in.h>

struct ended {
	int n;
	uint64_t ids[64];
	int reasons[64];
};

static void on_end(void *arg, struct kp_flow *f, enum kp_flow_end_reason r)
{
	struct ended *e = arg;

	if (e->n < 64) {
		e->ids[e->n] = f->id;
		e->reasons[e->n] = r;
	}
	e->n++;
}

static struct kp_pkt_info pkt(uint8_t l4, uint8_t a, uint16_t sp, uint8_t b, uint16_t dp,
			      uint8_t flags)
{
	struct kp_pkt_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.family = AF_INET;
	pi.src[0] = 198, pi.src[1] = 18, pi.src[3] = a;
	pi.dst[0] = 198, pi.dst[1] = 19, pi.dst[3] = b;
	pi.l4 = l4;
	pi.sport = sp;
	pi.dport = dp;
	pi.tcp_flags = flags;
	return pi;
}

static void table(struct kp_flow_table *t, struct ended *e, uint64_t memcap)
{
	struct kp_flow_timeouts to = {{60, 600, 10, 30, 300}};

	memset(e, 0, sizeof(*e));
	kp_flow_table_init(t, 64, memcap, &to, 1, on_end, e);
}

KP_TEST(flow_both_directions_one_flow_client_is_syn_sender)
{
	struct kp_flow_table t;
	struct ended e;
	struct kp_pkt_info a = pkt(IPPROTO_TCP, 9, 40000, 1, 80, 0x02);
	struct kp_pkt_info b = pkt(IPPROTO_TCP, 9, 40000, 1, 80, 0x12);
	struct kp_flow *f1, *f2;
	bool created;
	int dir;

	table(&t, &e, 1 << 20);
	/* swap b so that it travels server -> client */
	memcpy(b.src, a.dst, 16);
	memcpy(b.dst, a.src, 16);
	b.sport = 80;
	b.dport = 40000;
	f1 = kp_flow_table_get(&t, &a, 1000, &dir, &created);
	CHECK(created);
	CHECK_EQ(dir, 0);
	f2 = kp_flow_table_get(&t, &b, 2000, &dir, &created);
	CHECK(!created);
	CHECK(f1 == f2);
	CHECK_EQ(dir, 1);
	CHECK_EQ(f1->key.port[f1->client_side], 40000);
	CHECK_EQ(t.st.active, 1);
	kp_flow_table_fini(&t);
	CHECK_EQ(e.n, 1);
	CHECK_EQ(e.reasons[0], KP_END_SHUTDOWN);
}

KP_TEST(flow_client_is_first_sender_without_syn)
{
	struct kp_flow_table t;
	struct ended e;
	/* first packet seen goes from port 80 to 40000: that side is the client */
	struct kp_pkt_info a = pkt(IPPROTO_UDP, 9, 80, 1, 40000, 0);
	struct kp_flow *f;
	bool created;
	int dir;

	table(&t, &e, 1 << 20);
	f = kp_flow_table_get(&t, &a, 1000, &dir, &created);
	CHECK_EQ(f->key.port[f->client_side], 80);
	kp_flow_table_fini(&t);
}

KP_TEST(flow_ids_are_stable)
{
	struct kp_flow_key k;
	struct kp_pkt_info a = pkt(IPPROTO_TCP, 9, 40000, 1, 80, 0x02);

	kp_flow_key_make(&a, &k);
	CHECK_EQ(kp_flow_id_make(&k, 0, 123), kp_flow_id_make(&k, 0, 123));
	CHECK(kp_flow_id_make(&k, 0, 123) != kp_flow_id_make(&k, 0, 124));
	CHECK(kp_flow_id_make(&k, 0, 123) < (1ull << 52));
	/* the id does not depend on the table's hash seed */
	{
		struct kp_flow_table t1, t2;
		struct ended e1, e2;
		struct kp_flow_timeouts to = {{60, 600, 10, 30, 300}};
		bool c;
		int d;

		memset(&e1, 0, sizeof(e1));
		memset(&e2, 0, sizeof(e2));
		kp_flow_table_init(&t1, 64, 1 << 20, &to, 1, on_end, &e1);
		kp_flow_table_init(&t2, 64, 1 << 20, &to, 999, on_end, &e2);
		CHECK_EQ(kp_flow_table_get(&t1, &a, 5, &d, &c)->id,
			 kp_flow_table_get(&t2, &a, 5, &d, &c)->id);
		kp_flow_table_fini(&t1);
		kp_flow_table_fini(&t2);
	}
}

KP_TEST(flow_timeouts_by_class)
{
	struct kp_flow_table t;
	struct ended e;
	struct kp_pkt_info u = pkt(IPPROTO_UDP, 1, 5000, 1, 53, 0);
	struct kp_pkt_info s = pkt(IPPROTO_TCP, 2, 40000, 1, 80, 0x02);
	struct kp_flow *fu, *fs;
	bool c;
	int d;

	table(&t, &e, 1 << 20);
	fu = kp_flow_table_get(&t, &u, 1000000, &d, &c);
	fu->pkts[0] = 1;
	kp_flow_table_touch(&t, fu, 1000000);
	fs = kp_flow_table_get(&t, &s, 1000000, &d, &c);
	fs->tcp_state = KP_TCP_ESTABLISHED;
	kp_flow_table_touch(&t, fs, 1000000);
	kp_flow_table_expire(&t, 1000000 + 29 * 1000000ull);
	CHECK_EQ(e.n, 0);
	kp_flow_table_expire(&t, 1000000 + 31 * 1000000ull); /* UDP one-way: 30 s */
	CHECK_EQ(e.n, 1);
	CHECK_EQ(e.reasons[0], KP_END_TIMEOUT);
	/* the established TCP flow closes: 10 s later it goes */
	fs->tcp_state = KP_TCP_CLOSED;
	kp_flow_table_touch(&t, fs, 40000000);
	kp_flow_table_expire(&t, 49000000);
	CHECK_EQ(e.n, 1);
	kp_flow_table_expire(&t, 51000000);
	CHECK_EQ(e.n, 2);
	CHECK_EQ(e.reasons[1], KP_END_CLOSED);
	CHECK_EQ(t.st.active, 0);
	kp_flow_table_fini(&t);
}

KP_TEST(flow_memcap_evicts_oldest_idle)
{
	struct kp_flow_table t;
	struct ended e;
	struct kp_flow *first = NULL, *f;
	uint64_t first_id = 0;
	bool c;
	int d;

	table(&t, &e, 3 * sizeof(struct kp_flow));
	for (int i = 0; i < 3; i++) {
		struct kp_pkt_info p = pkt(IPPROTO_UDP, (uint8_t)(10 + i), 5000, 1, 53, 0);

		f = kp_flow_table_get(&t, &p, 1000 + (uint64_t)i, &d, &c);
		if (!first) {
			first = f;
			first_id = f->id;
		}
	}
	/* touch the first flow: the second is now the oldest idle one */
	kp_flow_table_touch(&t, first, 5000);
	{
		struct kp_pkt_info p = pkt(IPPROTO_UDP, 99, 5000, 1, 53, 0);

		f = kp_flow_table_get(&t, &p, 6000, &d, &c);
	}
	CHECK(f != NULL);
	CHECK_EQ(t.st.active, 3);
	CHECK_EQ(t.st.ended_evicted, 1);
	CHECK_EQ(e.n, 1);
	CHECK(e.ids[0] != first_id);
	CHECK_EQ(e.reasons[0], KP_END_EVICTED);
	kp_flow_table_fini(&t);
}

KP_TEST(flow_syn_after_close_starts_new_flow)
{
	struct kp_flow_table t;
	struct ended e;
	struct kp_pkt_info a = pkt(IPPROTO_TCP, 9, 40000, 1, 80, 0x02);
	struct kp_flow *f1, *f2;
	bool c;
	int d;

	table(&t, &e, 1 << 20);
	f1 = kp_flow_table_get(&t, &a, 1000, &d, &c);
	f1->tcp_state = KP_TCP_CLOSED;
	f2 = kp_flow_table_get(&t, &a, 2000, &d, &c);
	CHECK(c);
	CHECK_EQ(e.n, 1);
	CHECK_EQ(e.reasons[0], KP_END_REUSED);
	CHECK_EQ(t.st.tcp_reuse, 1);
	CHECK_EQ(f2->start_us, 2000);
	kp_flow_table_fini(&t);
}

KP_TEST(flow_flush_in_start_order)
{
	struct kp_flow_table t;
	struct ended e;
	uint64_t ids[5];
	bool c;
	int d;

	table(&t, &e, 1 << 20);
	for (int i = 0; i < 5; i++) {
		struct kp_pkt_info p = pkt(IPPROTO_UDP, (uint8_t)(50 - i), 5000, 1, 53, 0);

		ids[i] = kp_flow_table_get(&t, &p, 100 + (uint64_t)i * 10, &d, &c)->id;
	}
	kp_flow_table_flush(&t);
	CHECK_EQ(e.n, 5);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(e.ids[i], ids[i]);
	kp_flow_table_fini(&t);
}

KP_TEST_MAIN()
