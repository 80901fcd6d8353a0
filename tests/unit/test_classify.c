/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of classification through the whole pipeline: content decides the
 * label whatever the port, the packet budget, expectations (ftp-data), reassembly
 * feeding modules out of order, and the peer cache and expectation tables.
 */
#include "classify/expect.h"
#include "classify/peer_cache.h"
#include "pkt_build.h"
#include "tap.h"

#include <sys/stat.h>

static const char ssh_banner[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
static const char http_req[] = "GET /index.html HTTP/1.1\r\nHost: www.example.test\r\n"
			       "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

KP_TEST(classify_content_not_port)
{
	struct tpipe t;
	struct tconn a, b;
	char *ev;

	tpipe_open(&t, NULL);
	tconn_open(&a, &t, 1, 41000, 1, 80); /* SSH on the HTTP port */
	tconn_send(&a, 0, ssh_banner, sizeof(ssh_banner) - 1);
	tconn_send(&a, 1, ssh_banner, sizeof(ssh_banner) - 1);
	tconn_open(&b, &t, 2, 41001, 1, 22); /* HTTP on the SSH port */
	tconn_send(&b, 1, http_req, sizeof(http_req) - 1);
	ev = tpipe_close(&t);
	CHECK(strstr(event_for_port(ev, 41000), "\"app_proto\":\"ssh\"") != NULL);
	CHECK(strstr(event_for_port(ev, 41001), "\"app_proto\":\"http\"") != NULL);
	CHECK(strstr(event_for_port(ev, 41001), "www.example.test") != NULL);
	free(ev);
}

KP_TEST(classify_out_of_order_request_reassembled)
{
	struct tpipe t;
	struct tconn a;
	char *ev;
	size_t half = 20, n = sizeof(http_req) - 1;

	tpipe_open(&t, NULL);
	tconn_open(&a, &t, 3, 42000, 1, 8081);
	/* second half first */
	tpipe_send(&t, IPPROTO_TCP, 3, 42000, 1, 8081, a.cseq + (uint32_t)half, a.sseq, 0x18,
		   http_req + half, n - half, 1);
	tpipe_send(&t, IPPROTO_TCP, 3, 42000, 1, 8081, a.cseq, a.sseq, 0x18, http_req, half, 1);
	ev = tpipe_close(&t);
	CHECK(strstr(event_for_port(ev, 42000), "\"app_proto\":\"http\"") != NULL);
	CHECK(strstr(event_for_port(ev, 42000), "\"url\":\"/index.html\"") != NULL);
	free(ev);
}

KP_TEST(classify_packet_budget_gives_unknown)
{
	struct tpipe t;
	struct tconn a;
	char *ev;
	uint8_t junk[100];
	uint32_t x = 7;

	tpipe_open(&t, "classify.packets=3");
	tconn_open(&a, &t, 4, 43000, 1, 9999);
	for (int p = 0; p < 10; p++) {
		for (size_t i = 0; i < sizeof(junk); i++) {
			x = x * 1664525u + 1013904223u;
			junk[i] = (uint8_t)(0x20 + (x >> 24) % 90); /* printable, no protocol */
		}
		tconn_send(&a, p & 1, junk, sizeof(junk));
	}
	CHECK(t.eng.cls.st.gave_up == 1);
	ev = tpipe_close(&t);
	CHECK(strstr(event_for_port(ev, 43000), "\"app_proto\":\"unknown\"") != NULL);
	CHECK(strstr(event_for_port(ev, 43000), "\"pkts_toserver\":7") != NULL);
	free(ev);
}

KP_TEST(classify_ftp_pasv_links_data_connection)
{
	struct tpipe t;
	struct tconn ctl, data;
	char *ev, want[64];
	const char *ctl_ev, *data_ev, *id;
	static const char greet[] = "220 (vsFTPd 3.0.3)\r\n";
	static const char user[] = "USER anonymous\r\n";
	static const char pasv[] = "PASV\r\n";
	static const char reply[] = "227 Entering Passive Mode (198,19,0,1,195,80).\r\n";
	static const char blob[] = "\x89PNG\r\n\x1a\n binary file body";

	tpipe_open(&t, NULL);
	tconn_open(&ctl, &t, 5, 44000, 1, 2121);
	tconn_send(&ctl, 0, greet, sizeof(greet) - 1);
	tconn_send(&ctl, 1, user, sizeof(user) - 1);
	tconn_send(&ctl, 0, "331 Please specify the password.\r\n", 34);
	tconn_send(&ctl, 1, pasv, sizeof(pasv) - 1);
	tconn_send(&ctl, 0, reply, sizeof(reply) - 1);
	tconn_open(&data, &t, 5, 44001, 1, 195 * 256 + 80);
	tconn_send(&data, 0, blob, sizeof(blob) - 1);
	ev = tpipe_close(&t);
	ctl_ev = event_for_port(ev, 44000);
	CHECK(strstr(ctl_ev, "\"app_proto\":\"ftp\"") != NULL);
	id = strstr(ctl_ev, "\"flow_id\":");
	CHECK(id != NULL);
	snprintf(want, sizeof(want), "\"control_flow_id\":%llu", id ? strtoull(id + 10, NULL, 10) : 0);
	data_ev = event_for_port(ev, 44001);
	CHECK(strstr(data_ev, "\"app_proto\":\"ftp-data\"") != NULL);
	CHECK(strstr(data_ev, want) != NULL);
	free(ev);
}

KP_TEST(classify_udp_dns_first_datagram)
{
	struct tpipe t;
	char *ev;
	/* a real query (dig www.example.com A, no EDNS): id 0x1234, RD */
	static const uint8_t q[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
				    0x00, 0x00, 0x03, 'w',  'w',  'w',  0x07, 'e',  'x',  'a',
				    'm',  'p',  'l',  'e',  0x03, 'c',  'o',  'm',  0x00, 0x00,
				    0x01, 0x00, 0x01};

	tpipe_open(&t, NULL);
	tpipe_send(&t, IPPROTO_UDP, 6, 45000, 1, 5353, 0, 0, 0, q, sizeof(q), 1);
	ev = tpipe_close(&t);
	CHECK(strstr(event_for_port(ev, 45000), "\"app_proto\":\"dns\"") != NULL);
	CHECK(strstr(event_for_port(ev, 45000), "www.example.com") != NULL);
	free(ev);
}

KP_TEST(classify_user_signature_for_unknown_flows)
{
	struct tpipe t;
	struct tconn a, b;
	char *ev, dir[64], path[128], sets[160];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/kp-pat-%d", (int)getpid());
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/kpdemo.pat", dir);
	f = fopen(path, "w");
	fputs("# a user signature\nkpdemo\nkpdemo/[0-9]\\.[0-9] hello\n", f);
	fclose(f);
	snprintf(sets, sizeof(sets), "signatures.dir=%s", dir);
	tpipe_open(&t, sets);
	tconn_open(&a, &t, 7, 46000, 1, 7777);
	tconn_send(&a, 1, "KPDEMO/1.0 hello\r\n", 18); /* l7 patterns are case-insensitive */
	tconn_send(&a, 0, "KPDEMO/1.0 ok\r\n", 15);
	/* a flow a module knows keeps the module's label even if a pattern would match */
	tconn_open(&b, &t, 8, 46001, 1, 7778);
	tconn_send(&b, 1, "SSH-2.0-kpdemo/1.0 hello\r\n", 26);
	tconn_send(&b, 0, "SSH-2.0-OpenSSH_9.2\r\n", 21);
	ev = tpipe_close(&t);
	CHECK(strstr(event_for_port(ev, 46000), "\"app_proto\":\"kpdemo\"") != NULL);
	CHECK(strstr(event_for_port(ev, 46000), "\"signature\":{\"name\":\"kpdemo\"") != NULL);
	CHECK(strstr(event_for_port(ev, 46001), "\"app_proto\":\"ssh\"") != NULL);
	free(ev);
	unlink(path);
	rmdir(dir);
}

/*
 * The verdict is the pipeline's output: once a flow is labelled and its module
 * needs no more bytes, every later packet says bypass (the inline gateway turns
 * that into a mark that keeps the rest of the flow in the kernel); a control
 * connection whose module keeps parsing (FTP) never does.
 */
KP_TEST(classify_verdict_bypass_once_inspection_is_done)
{
	struct tpipe t;
	struct tconn a, b;
	struct kp_verdict v;
	char *ev;
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 61\r\n\r\n"
				   "<html><body>0123456789012345678901234567890123</body></html>\n";

	tpipe_open(&t, NULL);
	tconn_open(&a, &t, 9, 47000, 1, 80);
	v = tconn_send(&a, 1, http_req, sizeof(http_req) - 1);
	CHECK_EQ(v.app, KP_APP_HTTP);
	CHECK(v.flow_id != 0);
	v = tconn_send(&a, 0, resp, sizeof(resp) - 1);
	v = tconn_send(&a, 1, "x", 1);
	CHECK(v.bypass);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	tconn_open(&b, &t, 9, 47001, 1, 21);
	tconn_send(&b, 0, "220 (vsFTPd 3.0.3)\r\n", 20);
	v = tconn_send(&b, 1, "USER anonymous\r\n", 16);
	CHECK_EQ(v.app, KP_APP_FTP);
	v = tconn_send(&b, 0, "331 Please specify the password.\r\n", 34);
	CHECK(!v.bypass);
	CHECK(t.eng.st.bypass >= 1);
	ev = tpipe_close(&t);
	free(ev);
}

/*
 * The flow memcap covers what flows own, not only their records: a flood of
 * flows that each sent one unclassifiable packet (each holding 8 KB of probe
 * buffers) stays under the cap by evicting the oldest, and every flow is still
 * reported.
 */
KP_TEST(classify_probe_buffers_count_against_flow_memcap)
{
	struct tpipe t;
	char *ev;
	uint8_t junk[100];
	unsigned lines = 0, peak = 0;

	memset(junk, 'z', sizeof(junk));
	tpipe_open(&t, "flow.memcap=200K");
	for (int i = 0; i < 1000; i++) {
		tpipe_send(&t, IPPROTO_TCP, (uint8_t)(1 + i % 200), (uint16_t)(20000 + i), 1, 9000,
			   1, 1, 0x18, junk, sizeof(junk), 1);
		if (t.eng.ft.st.mem_used > peak)
			peak = (unsigned)t.eng.ft.st.mem_used;
	}
	CHECK(peak <= 200 * 1024);
	CHECK(t.eng.ft.st.ended_evicted >= 900);
	ev = tpipe_close(&t);
	for (const char *p = ev; (p = strchr(p, '\n')); p++)
		lines++;
	CHECK_EQ(lines, 1000);
	free(ev);
}

/*
 * Evictions under the memcap can happen in the middle of a packet: the first
 * chunk a packet completes asks for probe buffers, that evicts an older flow
 * whose held segments are flushed through the same callbacks, and the
 * packet's next chunk must still reach its own flow (ASan catches the
 * use-after-free this once was).
 */
KP_TEST(classify_eviction_inside_a_packet_keeps_its_flow)
{
	struct tpipe t;
	char *ev;
	uint8_t junk[300];
	uint32_t x = 5;

	/* random bytes: the MSE/PE probe waits for the server, so each flow keeps its buffers */
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1664525u + 1013904223u;
		junk[i] = (uint8_t)(x >> 24);
	}
	tpipe_open(&t, "flow.memcap=80K");
	for (int i = 0; i < 60; i++) {
		uint8_t ca = (uint8_t)(1 + i);
		uint16_t cp = (uint16_t)(30000 + i);

		/* handshake, then a segment ahead of a hole (held), then the hole's bytes:
		 * the last packet delivers two chunks in one go */
		tpipe_send(&t, IPPROTO_TCP, ca, cp, 2, 9001, 100, 0, 0x02, NULL, 0, 1);
		tpipe_send(&t, IPPROTO_TCP, ca, cp, 2, 9001, 500, 101, 0x12, NULL, 0, 0);
		tpipe_send(&t, IPPROTO_TCP, ca, cp, 2, 9001, 101, 501, 0x10, NULL, 0, 1);
		tpipe_send(&t, IPPROTO_TCP, ca, cp, 2, 9001, 101 + 300, 501, 0x18, junk, 300, 1);
		tpipe_send(&t, IPPROTO_TCP, ca, cp, 2, 9001, 101, 501, 0x18, junk, 300, 1);
	}
	CHECK(t.eng.ft.st.ended_evicted > 0);
	ev = tpipe_close(&t);
	CHECK(strstr(ev, "\"src_port\":30059,") != NULL);
	free(ev);
}

KP_TEST(expect_table_one_use_and_ttl)
{
	struct kp_expect_table *t = malloc(sizeof(*t));
	uint8_t a[16] = {198, 19, 0, 1};

	kp_expect_table_init(t, 60);
	kp_expect_table_add(t, AF_INET, a, 50000, IPPROTO_TCP, 10, 77, 1000000);
	CHECK(kp_expect_table_take(t, AF_INET, a, 50001, IPPROTO_TCP, 2000000) == NULL);
	CHECK(kp_expect_table_take(t, AF_INET, a, 50000, IPPROTO_UDP, 2000000) == NULL);
	{
		const struct kp_expect *e =
			kp_expect_table_take(t, AF_INET, a, 50000, IPPROTO_TCP, 2000000);

		CHECK(e != NULL);
		CHECK_EQ(e ? e->parent_id : 0, 77);
	}
	CHECK(kp_expect_table_take(t, AF_INET, a, 50000, IPPROTO_TCP, 2000000) == NULL);
	kp_expect_table_add(t, AF_INET, a, 50000, IPPROTO_TCP, 10, 78, 1000000);
	CHECK(kp_expect_table_take(t, AF_INET, a, 50000, IPPROTO_TCP, 62000000) == NULL);
	free(t);
}

KP_TEST(peer_cache_ttl_and_app)
{
	struct kp_peer_cache c;
	uint8_t a[16] = {198, 19, 0, 7};

	kp_peer_cache_init(&c, 64, 100);
	kp_peer_cache_note(&c, AF_INET, a, 6881, 1, 0);
	CHECK(kp_peer_cache_seen(&c, AF_INET, a, 6881, 1, 50000000));
	CHECK(!kp_peer_cache_seen(&c, AF_INET, a, 6882, 1, 50000000));
	CHECK(!kp_peer_cache_seen(&c, AF_INET, a, 6881, 2, 50000000));
	CHECK(!kp_peer_cache_seen(&c, AF_INET, a, 6881, 1, 101000000));
	/* bounded: many inserts never grow it and recent entries survive */
	for (uint32_t i = 0; i < 10000; i++) {
		uint8_t b[16] = {198, 18, (uint8_t)(i >> 8), (uint8_t)i};

		kp_peer_cache_note(&c, AF_INET, b, 1000, 1, 200000000 + i);
	}
	{
		uint8_t b[16] = {198, 18, (uint8_t)(9999 >> 8), (uint8_t)9999};

		CHECK(kp_peer_cache_seen(&c, AF_INET, b, 1000, 1, 200000000 + 10000));
	}
	kp_peer_cache_fini(&c);
}

KP_TEST_MAIN()
