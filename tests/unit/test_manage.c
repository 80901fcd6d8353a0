/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the pipeline does with a flow once the policy speaks (engine/manage.c):
 * verdicts of blocked and passed flows, app rules waiting for the
 * classification, the connection cache meeting a reconnection, the bypass and
 * "blocked" marks inline, and conntrack's end of a bypassed flow.
 */
#include "engine/manage.h"
#include "pkt_build.h"
#include "policy/conncache.h"
#include "tap.h"

static const char http_get[] = "GET /index.html HTTP/1.1\r\nHost: www.kp2padm.test\r\n"
			       "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
static const char http_ok[] = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\n"
			      "Content-Length: 5\r\n\r\nhello";

static struct kp_conncache *cache_for(struct tpipe *t)
{
	struct kp_conncache_config cc = {.size = 64, .ttl_s = 300};
	struct kp_conncache *c = NULL;
	char err[256], warn[256];

	if (kp_conncache_open(&c, &cc, err, sizeof(err), warn, sizeof(warn)))
		return NULL;
	t->eng.cache = c;
	return c;
}

/* An app rule waits for the label, then drops the flow and writes a block event. */
KP_TEST(app_rule_blocks_after_classification)
{
	struct tpipe t;
	struct tconn c;
	struct kp_verdict v;
	char *ev;

	tpipe_open(&t, "rule=block name=no-web app=http");
	tconn_open(&c, &t, 2, 40000, 1, 80);
	CHECK_EQ(t.eng.st.verdict[KP_VERDICT_DROP], 0); /* the handshake passed: undecided */
	v = tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	CHECK_EQ(v.action, KP_VERDICT_DROP);
	CHECK_EQ(v.app, KP_APP_HTTP);
	v = tconn_send(&c, 0, http_ok, sizeof(http_ok) - 1);
	CHECK_EQ(v.action, KP_VERDICT_DROP); /* the rest of the flow too */
	CHECK_EQ(t.eng.st.blocked_flows, 1);
	ev = tpipe_close(&t);
	CHECK(strstr(ev, "\"event_type\":\"block\"") != NULL);
	CHECK(strstr(ev, "\"rule\":\"no-web\"") != NULL);
	CHECK(strstr(ev, "\"file\":\"--set\"") != NULL);
	CHECK(strstr(ev, "\"policy\":\"block\"") != NULL);
	free(ev);
}

/* A rule for another application lets the flow through, and says nothing. */
KP_TEST(other_app_rule_passes)
{
	struct tpipe t;
	struct tconn c;
	struct kp_verdict v;
	char *ev;

	tpipe_open(&t, "rule=block app=bittorrent");
	tconn_open(&c, &t, 2, 40001, 1, 80);
	v = tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	v = tconn_send(&c, 0, http_ok, sizeof(http_ok) - 1);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	CHECK_EQ(t.eng.st.verdict[KP_VERDICT_DROP], 0);
	ev = tpipe_close(&t);
	CHECK(strstr(ev, "\"event_type\":\"block\"") == NULL);
	free(ev);
}

/* An address rule decides at the first packet: the SYN is dropped. */
KP_TEST(address_rule_drops_the_syn)
{
	struct tpipe t;
	struct kp_verdict v;
	char *ev;

	tpipe_open(&t, "rule=block name=lab dst=198.19.0.9/32 dport=22");
	v = tpipe_send(&t, IPPROTO_TCP, 2, 40002, 9, 22, 100, 0, 0x02, NULL, 0, 1);
	CHECK_EQ(v.action, KP_VERDICT_DROP);
	v = tpipe_send(&t, IPPROTO_TCP, 2, 40003, 9, 23, 100, 0, 0x02, NULL, 0, 1);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT); /* another port */
	ev = tpipe_close(&t);
	CHECK(strstr(ev, "\"rule\":\"lab\"") != NULL);
	free(ev);
}

/* policy.classifying = block drops what comes before the label, then passes the flow. */
KP_TEST(classifying_block_holds_until_decided)
{
	struct tpipe t;
	struct tconn c;
	struct kp_verdict v;

	tpipe_open(&t, "policy.classifying=block;rule=block app=bittorrent");
	v = tpipe_send(&t, IPPROTO_TCP, 2, 40004, 1, 80, 1000, 0, 0x02, NULL, 0, 1);
	CHECK_EQ(v.action, KP_VERDICT_DROP);
	tconn_open(&c, &t, 2, 40005, 1, 80);
	v = tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT); /* http: the bittorrent rule does not match */
	free(tpipe_close(&t));
}

/*
 * The connection cache: after a block, the same client's new connection to the same
 * server and port (another source port) is dropped at its first packet, before any
 * classification; another client, or another port, passes.
 */
KP_TEST(cache_drops_the_reconnection)
{
	struct tpipe t;
	struct tconn c;
	struct kp_verdict v;
	struct kp_conncache *cc;
	char *ev;

	tpipe_open(&t, "rule=block name=no-web app=http");
	cc = cache_for(&t);
	CHECK(cc != NULL);
	tconn_open(&c, &t, 2, 40010, 1, 80);
	tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	CHECK_EQ(t.eng.st.blocked_flows, 1);
	v = tpipe_send(&t, IPPROTO_TCP, 2, 40011, 1, 80, 7000, 0, 0x02, NULL, 0, 1);
	CHECK_EQ(v.action, KP_VERDICT_DROP);
	CHECK_EQ(t.eng.st.cached_flows, 1);
	v = tpipe_send(&t, IPPROTO_TCP, 3, 40012, 1, 80, 7000, 0, 0x02, NULL, 0, 1);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT); /* another client */
	v = tpipe_send(&t, IPPROTO_TCP, 2, 40013, 1, 8080, 7000, 0, 0x02, NULL, 0, 1);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT); /* another port */
	CHECK_EQ(t.eng.st.cached_flows, 1);
	ev = tpipe_close(&t);
	CHECK(strstr(ev, "\"policy\":\"cached\"") != NULL);
	kp_conncache_close(cc);
	free(ev);
}

/*
 * Inline, a decided flow's verdict carries the bypass mark (its app id + 1 under the
 * mask) once no module needs its bytes, and a blocked flow's every mask bit; conntrack's
 * end then closes the bypassed flow with the connection's totals.
 */
KP_TEST(inline_marks_and_conntrack_end)
{
	struct tpipe t;
	struct tconn c, b;
	struct kp_verdict v = {0};
	uint8_t cip[4] = {198, 18, 0, 2}, sip[4] = {198, 19, 0, 1};
	struct kp_ct_end_info ce = {
		.family = AF_INET, .src = cip, .dst = sip, .sport = 40020, .dport = 80,
		.proto = IPPROTO_TCP, .pkts = {900, 1800}, .bytes = {50000, 2500000},
	};
	char *ev;

	tpipe_open(&t, "rule=block name=no-ssh app=ssh");
	t.eng.inline_mode = true;
	tconn_open(&c, &t, 2, 40020, 1, 80);
	tconn_send(&c, 1, http_get, sizeof(http_get) - 1);
	v = tconn_send(&c, 0, http_ok, sizeof(http_ok) - 1);
	for (int i = 0; i < 10 && !v.bypass; i++)
		v = tconn_send(&c, 0, "more", 4);
	CHECK(v.bypass);
	CHECK_EQ(v.action, KP_VERDICT_ACCEPT);
	CHECK_EQ(v.mark, (uint32_t)(KP_APP_HTTP + 1) << 16);
	CHECK_EQ(t.eng.st.bypassed_flows, 1);
	tconn_open(&b, &t, 2, 40021, 1, 22);
	v = tconn_send(&b, 0, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 32);
	CHECK_EQ(v.action, KP_VERDICT_DROP);
	CHECK_EQ(v.mark, 0x00ff0000u);
	CHECK(kp_manage_ct_end(&t.eng, &ce));
	ce.sport = 40099; /* no such flow */
	CHECK(!kp_manage_ct_end(&t.eng, &ce));
	CHECK_EQ(t.eng.st.ct_ends, 1);
	ev = tpipe_close(&t);
	CHECK(strstr(ev, "\"reason\":\"conntrack\"") != NULL);
	CHECK(strstr(ev, "\"bytes_toclient\":2500000") != NULL);
	CHECK(strstr(ev, "\"pkts_toserver\":900") != NULL);
	CHECK(strstr(ev, "\"counters\":\"conntrack\"") != NULL);
	free(ev);
}

KP_TEST_MAIN()
