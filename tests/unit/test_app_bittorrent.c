/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the BitTorrent modules (src/app/bittorrent.c, src/app/bt_mse.c):
 * the peer-wire, uTP, DHT, UDP tracker and LSD probes, the bencode walker, the
 * parser's JSON, and the MSE/PE behaviour rule.
 *
 * Payloads come from captures read at test time with libpcap:
 *   ndpi/pcap/bittorrent.pcap          peer-wire handshakes (TCP)
 *   ndpi/pcap/bittorrent_utp.pcap      uTP (SYN/STATE, DATA with handshake) + DHT (pcapng)
 *   ndpi/pcap/targusdataspeed_false_positives.pcap   DHT find_node on ports 5001/5201
 *   suricata-verify/pcap/bittorrent-dht-real.pcap     DHT get_peers over IPv4 and IPv6
 *   ndpi/pcap/443-curl.pcap, ssh.pcap, ...           TLS/SSH/HTTP flows (MSE negatives)
 *   l7-protocols/testing-data/bittorrent-a-1          raw handshake prefix
 * under /work/shared/corpus or ../shared/corpus; a test whose corpus file is absent
 * prints "skip: ... absent" and passes. The corpus has no UDP tracker nor LSD
 * datagram and no MSE capture: those are built byte by byte from BEP 15 / BEP 14
 * and, for MSE, from a fixed-seed PRNG that models the DH keys and random pads.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/app.h"
#include "app/bittorrent.h"
#include "app/bt_mse.h"
#include "app_probe_util.h"
#include "corpus_pcap.h"
#include "output/json.h"
#include "tap.h"
#include "flow/flow.h"


/* ---------------------------------------------------------------------------------------- */
/* Corpus access */

struct pkt {
	unsigned frame; /* 1-based, as tshark numbers them */
	int family;
	uint8_t l4;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t tcp_flags;
	const uint8_t *data;
	size_t len;
};

#define MAX_PKTS 8192
#define MAX_PAYLOAD 16384

/* A capture loaded in memory: every TCP/UDP packet with its payload (IP fragments skipped). */
struct capture {
	unsigned n;
	struct pkt p[MAX_PKTS];
	uint8_t *store[MAX_PKTS];
};

static void capture_free(struct capture *c)
{
	for (unsigned i = 0; i < c->n; i++)
		free(c->store[i]);
	free(c);
}

/* tc_pcap_each callback: keeps the Ethernet frames' TCP/UDP packets with their payload. */
static void capture_add(void *arg, unsigned frame, int dlt, const struct kp_pkt_info *pi)
{
	struct capture *c = arg;
	struct pkt p;

	if (c->n >= MAX_PKTS || dlt != DLT_EN10MB || pi->payload_len > MAX_PAYLOAD)
		return;
	memset(&p, 0, sizeof(p));
	p.frame = frame;
	p.family = pi->family;
	p.l4 = pi->l4;
	memcpy(p.src, pi->src, sizeof(p.src));
	memcpy(p.dst, pi->dst, sizeof(p.dst));
	p.sport = pi->sport;
	p.dport = pi->dport;
	p.seq = pi->seq;
	p.tcp_flags = pi->tcp_flags;
	p.len = pi->payload_len;
	c->store[c->n] = malloc(p.len ? p.len : 1);
	memcpy(c->store[c->n], pi->payload, p.len);
	p.data = c->store[c->n];
	c->p[c->n++] = p;
}

static struct capture *capture_load(const char *rel)
{
	char path[512], err[PCAP_ERRBUF_SIZE];
	struct capture *c;

	if (!tc_path(rel, path, sizeof(path)))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c && !tc_pcap_each(path, capture_add, c, err)) {
		printf("  skip: %s: %s\n", rel, err);
		free(c);
		return NULL;
	}
	return c;
}

static const struct pkt *frame_of(const struct capture *c, unsigned frame)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->p[i].frame == frame)
			return &c->p[i];
	return NULL;
}

static bool same_flow(const struct pkt *a, const struct pkt *b, bool *reverse)
{
	size_t al = a->family == AF_INET ? 4 : 16;

	if (a->family != b->family || a->l4 != b->l4)
		return false;
	if (!memcmp(a->src, b->src, al) && !memcmp(a->dst, b->dst, al) && a->sport == b->sport &&
	    a->dport == b->dport) {
		*reverse = false;
		return true;
	}
	if (!memcmp(a->src, b->dst, al) && !memcmp(a->dst, b->src, al) && a->sport == b->dport &&
	    a->dport == b->sport) {
		*reverse = true;
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------------------------------- */
/* Context builders */

static const uint8_t cli_addr[4] = {198, 18, 0, 1}, srv_addr[4] = {198, 19, 0, 1};

/* A UDP probe context: first datagram per side, the new datagram, packet counts. */
static enum kp_probe_result udp_probe(const struct kp_app_module *mod, const uint8_t *c1,
				      size_t c1len, const uint8_t *s1, size_t s1len,
				      const uint8_t *data, size_t len, uint8_t dir, uint32_t np0,
				      uint32_t np1, struct kp_match *m)
{
	struct probe_case pc = {IPPROTO_UDP, c1, c1len, s1, s1len, dir, 40000, 6881};
	struct kp_app_ctx ctx;

	probe_ctx_fill(&ctx, &pc);
	ctx.data = data;
	ctx.len = len;
	ctx.flight[0] = ctx.flight[1] = 0;
	ctx.npkts[0] = np0;
	ctx.npkts[1] = np1;
	memset(m, 0, sizeof(*m));
	return mod->probe(&ctx, m);
}

static enum kp_probe_result udp1(const uint8_t *d, size_t len, struct kp_match *m)
{
	return udp_probe(&kp_mod_bittorrent, d, len, NULL, 0, d, len, KP_DIR_TOSERVER, 1, 0, m);
}

static enum kp_probe_result tcp_probe(const uint8_t *c, size_t clen, const uint8_t *s,
				      size_t slen, struct kp_match *m)
{
	struct probe_case pc = {IPPROTO_TCP, c, clen, s, slen, clen ? 0 : 1, 40000, 6881};

	if (slen)
		pc.dir = 1;
	return probe_run(&kp_mod_bittorrent, &pc, m);
}

/* Runs the parser over chunks as the classifier would; returns the JSON object. */
struct chunk {
	uint8_t dir;
	const uint8_t *p;
	size_t len;
};

static char *parse_json(uint8_t l4, const struct chunk *ch, unsigned n, int family)
{
	void *st = calloc(1, kp_mod_bittorrent.state_size);
	struct kp_match label = {KP_APP_BITTORRENT, KP_CONF_HIGH};
	struct kp_json j;
	char *out;

	for (unsigned i = 0; i < n; i++) {
		struct kp_app_ctx ctx;

		memset(&ctx, 0, sizeof(ctx));
		ctx.l4 = l4;
		ctx.dir = ch[i].dir;
		ctx.data = ch[i].p;
		ctx.len = ch[i].len;
		ctx.family = family;
		ctx.label = &label;
		if (kp_mod_bittorrent.parse(&ctx, st) == KP_PARSE_DONE)
			break;
	}
	kp_json_init(&j);
	kp_json_begin(&j);
	kp_mod_bittorrent.json(st, NULL, &j);
	kp_json_end(&j);
	out = strdup(j.buf);
	kp_json_free(&j);
	free(st);
	return out;
}

/* ---------------------------------------------------------------------------------------- */
/* Bencode walker */

static enum kp_benc_result walk_str(const char *s, size_t *end)
{
	return kp_bt_benc_walk((const uint8_t *)s, strlen(s), end);
}

KP_TEST(benc_valid_values)
{
	size_t end = 0;

	CHECK_EQ(walk_str("4:spam", &end), KP_BENC_OK);
	CHECK_EQ(end, 6);
	CHECK_EQ(walk_str("0:", &end), KP_BENC_OK);
	CHECK_EQ(walk_str("i0e", &end), KP_BENC_OK);
	CHECK_EQ(walk_str("i-42e", &end), KP_BENC_OK);
	CHECK_EQ(walk_str("le", &end), KP_BENC_OK);
	CHECK_EQ(walk_str("de", &end), KP_BENC_OK);
	CHECK_EQ(walk_str("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe", &end),
		 KP_BENC_OK);
	CHECK_EQ(end, strlen("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"));
	/* Trailing bytes are not part of the value. */
	CHECK_EQ(walk_str("li1ei2eeXYZ", &end), KP_BENC_OK);
	CHECK_EQ(end, 8);
}

KP_TEST(benc_malformed)
{
	size_t end = 0;
	char deep[KP_BENC_MAX_DEPTH * 2 + 8];

	CHECK_EQ(walk_str("i03e", &end), KP_BENC_INVALID);   /* leading zero */
	CHECK_EQ(walk_str("i-0e", &end), KP_BENC_INVALID);   /* negative zero */
	CHECK_EQ(walk_str("ie", &end), KP_BENC_INVALID);     /* no digits */
	CHECK_EQ(walk_str("i1x", &end), KP_BENC_INVALID);
	CHECK_EQ(walk_str("03:abc", &end), KP_BENC_INVALID); /* leading zero length */
	CHECK_EQ(walk_str("di1ei2ee", &end), KP_BENC_INVALID); /* integer key */
	CHECK_EQ(walk_str("d1:ae", &end), KP_BENC_INVALID);  /* key without value */
	CHECK_EQ(walk_str("e", &end), KP_BENC_INVALID);
	CHECK_EQ(walk_str("x", &end), KP_BENC_INVALID);
	CHECK_EQ(walk_str("l-1e", &end), KP_BENC_INVALID);
	CHECK_EQ(walk_str("1234567890123456789:a", &end), KP_BENC_INVALID); /* 19 digits */
	/* Cut short: well formed so far. */
	CHECK_EQ(walk_str("", &end), KP_BENC_TRUNCATED);
	CHECK_EQ(walk_str("l", &end), KP_BENC_TRUNCATED);
	CHECK_EQ(walk_str("5:ab", &end), KP_BENC_TRUNCATED);
	CHECK_EQ(walk_str("d1:ad2:id", &end), KP_BENC_TRUNCATED);
	CHECK_EQ(walk_str("i12", &end), KP_BENC_TRUNCATED);
	CHECK_EQ(walk_str("999999999:x", &end), KP_BENC_TRUNCATED);
	/* Depth bound: KP_BENC_MAX_DEPTH lists nest, one more does not. */
	memset(deep, 'l', KP_BENC_MAX_DEPTH);
	memset(deep + KP_BENC_MAX_DEPTH, 'e', KP_BENC_MAX_DEPTH);
	deep[KP_BENC_MAX_DEPTH * 2] = 0;
	CHECK_EQ(walk_str(deep, &end), KP_BENC_OK);
	memset(deep, 'l', KP_BENC_MAX_DEPTH + 1);
	memset(deep + KP_BENC_MAX_DEPTH + 1, 'e', KP_BENC_MAX_DEPTH + 1);
	deep[KP_BENC_MAX_DEPTH * 2 + 2] = 0;
	CHECK_EQ(walk_str(deep, &end), KP_BENC_INVALID);
}

KP_TEST(benc_fuzz_bounded)
{
	static const char alpha[] = "dlie0123456789:-x";
	uint64_t seed = 0x5eedULL;
	uint8_t b[256];
	unsigned ok = 0;

	/* Random bencode-alphabet strings: the walker must stay in bounds (ASan) and agree. */
	for (int i = 0; i < 200000; i++) {
		size_t n = (size_t)(tc_rng_next(&seed) % sizeof(b)), end = 0;
		enum kp_benc_result r;

		for (size_t k = 0; k < n; k++)
			b[k] = (uint8_t)alpha[tc_rng_next(&seed) % (sizeof(alpha) - 1)];
		r = kp_bt_benc_walk(b, n, &end);
		if (r == KP_BENC_OK) {
			ok++;
			CHECK(end > 0 && end <= n);
			/* The value alone is valid too, and a cut inside it is truncated. */
			CHECK_EQ(kp_bt_benc_walk(b, end, &end), KP_BENC_OK);
			CHECK_EQ(kp_bt_benc_walk(b, end - 1, &n), KP_BENC_TRUNCATED);
		}
		CHECK(r == KP_BENC_OK || r == KP_BENC_TRUNCATED || r == KP_BENC_INVALID);
	}
	CHECK(ok > 0);
}

/* ---------------------------------------------------------------------------------------- */
/* DHT */

struct dht_frame {
	const char *cap;
	unsigned frame;
	bool has_hash;
};

static const struct dht_frame dht_frames[] = {
	{"ndpi/pcap/targusdataspeed_false_positives.pcap", 1, false}, /* find_node query */
	{"ndpi/pcap/targusdataspeed_false_positives.pcap", 2, false}, /* its answer */
	{"ndpi/pcap/targusdataspeed_false_positives.pcap", 3, false},
	{"ndpi/pcap/targusdataspeed_false_positives.pcap", 4, false}, /* answer with "ip" */
	{"suricata-verify/pcap/bittorrent-dht-real.pcap", 1, true},   /* get_peers, IPv4 */
	{"suricata-verify/pcap/bittorrent-dht-real.pcap", 3, true},   /* get_peers, IPv6 */
	{"suricata-verify/pcap/bittorrent-dht-real.pcap", 4, false},  /* answer, nodes+token */
	{"suricata-verify/pcap/bittorrent-dht-real.pcap", 12, false}, /* answer, IPv6 nodes */
	{"suricata-verify/pcap/bittorrent-dht-real.pcap", 16, false},
	{"ndpi/pcap/bittorrent_utp.pcap", 1, true}, /* get_peers sharing the uTP socket */
};

KP_TEST(dht_real_messages)
{
	for (size_t i = 0; i < sizeof(dht_frames) / sizeof(dht_frames[0]); i++) {
		struct capture *c = capture_load(dht_frames[i].cap);
		const struct pkt *p;
		struct kp_match m;
		uint8_t ih[20];
		bool have = false;

		if (!c)
			continue;
		p = frame_of(c, dht_frames[i].frame);
		CHECK(p != NULL);
		if (p) {
			CHECK(kp_bt_krpc_check(p->data, p->len, ih, &have));
			CHECK_EQ(have, dht_frames[i].has_hash);
			CHECK_EQ(udp1(p->data, p->len, &m), KP_PROBE_MATCH);
			CHECK_EQ(m.app, KP_APP_BITTORRENT);
			CHECK_EQ(m.confidence, KP_CONF_HIGH);
			/* Every truncation of a datagram is not a DHT message. */
			for (size_t cut = 1; cut < p->len; cut++)
				CHECK(!kp_bt_krpc_check(p->data, cut, NULL, NULL));
			/* Nor is it with a byte appended. */
			{
				uint8_t *x = malloc(p->len + 1);

				memcpy(x, p->data, p->len);
				x[p->len] = 'e';
				CHECK(!kp_bt_krpc_check(x, p->len + 1, NULL, NULL));
				free(x);
			}
		}
		capture_free(c);
	}
}

KP_TEST(dht_structure_required)
{
	struct kp_match m;
	static const char *const bad[] = {
		/* node id of 19 bytes */
		"d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe",
		/* no "t" */
		"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe",
		/* y is not q/r/e */
		"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:xe",
		/* query without "a" */
		"d1:q4:ping1:t2:aa1:y1:qe",
		/* answer without "r" */
		"d1:t2:aa1:y1:re",
		/* "a" is a list */
		"d1:al2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
		/* the right prefix, then garbage */
		"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:q",
		"d1:rd2:id20:abcdefghij0123456789e1:t2:aa1:y1:rex",
	};
#define BSTR(x) {x, sizeof(x) - 1}
	static const struct {
		const char *s;
		size_t n;
	} good[] = {
		BSTR("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"),
		BSTR("d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re"),
		BSTR("d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee"),
		/* get_peers answer with two compact peers (IPv4, IPv6) and a bad entry */
		BSTR("d1:rd2:id20:mnopqrstuvwxyz1234565:token4:abcd6:valuesl6:\xc6\x12\x00\x07\x1a"
		     "\xe1" "18:\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
		     "\x01\x1a\xe1" "3:xyzee1:t2:aa1:y1:re"),
	};
#undef BSTR

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!kp_bt_krpc_check((const uint8_t *)bad[i], strlen(bad[i]), NULL, NULL));
		CHECK_EQ(udp1((const uint8_t *)bad[i], strlen(bad[i]), &m), KP_PROBE_EXCLUDE);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const uint8_t *g = (const uint8_t *)good[i].s;
		struct chunk ch = {1, g, good[i].n};
		char *js;

		CHECK(kp_bt_krpc_check(g, good[i].n, NULL, NULL));
		CHECK_EQ(udp1(g, good[i].n, &m), KP_PROBE_MATCH);
		/* The parser walks answers (get_peers "values" go to the peer cache). */
		js = parse_json(IPPROTO_UDP, &ch, 1, 0);
		CHECK_STR(js, "{\"bittorrent\":{\"transport\":\"dht\"}}");
		free(js);
	}
}

KP_TEST(dht_json_info_hash)
{
	struct capture *c = capture_load("suricata-verify/pcap/bittorrent-dht-real.pcap");
	const struct pkt *p;
	char *js;

	if (!c)
		return;
	p = frame_of(c, 1);
	CHECK(p != NULL);
	if (p) {
		struct chunk ch = {0, p->data, p->len};

		js = parse_json(IPPROTO_UDP, &ch, 1, AF_INET);
		CHECK(strstr(js, "\"transport\":\"dht\"") != NULL);
		/* frame 1: get_peers info_hash 41aff1580119f074e2f537f255cc40a407a003f7 */
		CHECK(strstr(js, "\"info_hash\":\"41aff1580119f074e2f537f255cc40a407a003f7\"") !=
		      NULL);
		if (!strstr(js, "41aff158"))
			printf("  json: %s\n", js);
		free(js);
	}
	capture_free(c);
}

/* ---------------------------------------------------------------------------------------- */
/* Peer wire over TCP */

KP_TEST(peerwire_real_handshakes)
{
	struct capture *c = capture_load("ndpi/pcap/bittorrent.pcap");
	unsigned flows = 0;

	if (!c)
		return;
	/* The first payload packet of every flow in this capture is a client handshake. */
	for (unsigned i = 0; i < c->n; i++) {
		const struct pkt *p = &c->p[i];
		bool seen = false, rev;
		struct kp_match m;

		if (p->l4 != IPPROTO_TCP || p->len == 0)
			continue;
		for (unsigned k = 0; k < i && !seen; k++)
			if (c->p[k].len && same_flow(&c->p[k], p, &rev))
				seen = true;
		if (seen)
			continue;
		flows++;
		CHECK_EQ(tcp_probe(p->data, p->len, NULL, 0, &m), KP_PROBE_MATCH);
		CHECK_EQ(m.app, KP_APP_BITTORRENT);
		CHECK_EQ(m.confidence, KP_CONF_HIGH);
		/* The same bytes sent by the server (it may speak first). */
		CHECK_EQ(tcp_probe(NULL, 0, p->data, p->len, &m), KP_PROBE_MATCH);
	}
	CHECK_EQ(flows, 24);
	capture_free(c);
}

KP_TEST(peerwire_json)
{
	struct capture *c = capture_load("ndpi/pcap/bittorrent.pcap");
	const struct pkt *a, *b;
	char *js;

	if (!c)
		return;
	/* Flow 192.168.1.3:52887 -> 82.57.97.83:53137: frame 3 (client), 4 (server). */
	a = frame_of(c, 3);
	b = frame_of(c, 4);
	CHECK(a && b);
	if (a && b) {
		struct chunk ch[] = {{0, a->data, 30}, {0, a->data + 30, a->len - 30},
				     {1, b->data, b->len}};

		js = parse_json(IPPROTO_TCP, ch, 3, AF_INET);
		CHECK(strstr(js, "\"transport\":\"tcp\"") != NULL);
		CHECK(strstr(js, "\"info_hash\":\"dcfcdccfb9e670ccc3dd40c78c161f2bea243126\"") !=
		      NULL);
		CHECK(strstr(js, "\"peer_id\":\"-UM1860-") != NULL);
		CHECK(strstr(js, "\"server_peer_id\":\"-UT3450-") != NULL);
		if (!strstr(js, "-UT3450-"))
			printf("  json: %s\n", js);
		free(js);
	}
	capture_free(c);
}

KP_TEST(peerwire_truncated_and_broken)
{
	struct capture *c = capture_load("ndpi/pcap/bittorrent.pcap");
	const struct pkt *p;
	struct kp_match m;
	uint8_t x[68];

	if (!c)
		return;
	p = frame_of(c, 1);
	CHECK(p && p->len == 68);
	if (p && p->len == 68) {
		/* Any prefix shorter than magic + reserved + info_hash: need more. */
		for (size_t n = 1; n < 48; n++)
			CHECK_EQ(tcp_probe(p->data, n, NULL, 0, &m), KP_PROBE_NEED_MORE);
		CHECK_EQ(tcp_probe(p->data, 48, NULL, 0, &m), KP_PROBE_MATCH);
		/* One wrong byte of the 20-byte magic excludes, whatever the length. */
		for (size_t k = 0; k < 20; k++) {
			memcpy(x, p->data, 68);
			x[k] ^= 0x20;
			CHECK_EQ(tcp_probe(x, 68, NULL, 0, &m), KP_PROBE_EXCLUDE);
			CHECK_EQ(tcp_probe(x, k + 1, NULL, 0, &m), KP_PROBE_EXCLUDE);
		}
		/* Client speaks HTTP, nobody handshakes: exclude (HTTP trackers are not ours). */
		CHECK_EQ(tcp_probe((const uint8_t *)"GET /announce?info_hash=", 24, NULL, 0, &m),
			 KP_PROBE_EXCLUDE);
	}
	capture_free(c);
}

KP_TEST(peerwire_l7_sample)
{
	char path[512];
	uint8_t b[256];
	struct kp_match m;
	FILE *f;
	size_t n;

	if (!tc_path("l7-protocols/testing-data/bittorrent-a-1", path, sizeof(path)))
		return;
	f = fopen(path, "rb");
	CHECK(f != NULL);
	if (!f)
		return;
	n = fread(b, 1, sizeof(b), f);
	fclose(f);
	/* 48 bytes of handshake (no peer_id) and a newline. */
	CHECK_EQ(n, 49);
	CHECK_EQ(tcp_probe(b, n, NULL, 0, &m), KP_PROBE_MATCH);
	CHECK_EQ(tcp_probe(b, 40, NULL, 0, &m), KP_PROBE_NEED_MORE);
}

/* ---------------------------------------------------------------------------------------- */
/* uTP */

KP_TEST(utp_syn_state_pair)
{
	struct capture *c = capture_load("ndpi/pcap/bittorrent_utp.pcap");
	const struct pkt *syn, *st, *lsyn, *lst, *ldata;
	struct kp_match m;
	uint8_t x[64];

	if (!c)
		return;
	/* 82.243.113.43:64969 -> 192.168.1.5:40959: frame 3 ST_SYN, frame 4 ST_STATE. */
	syn = frame_of(c, 3);
	st = frame_of(c, 4);
	/* 127.0.0.1:49861 -> :33333, a uTP test tool (no BitTorrent payload): 87 SYN, 88 STATE. */
	lsyn = frame_of(c, 87);
	lst = frame_of(c, 88);
	ldata = frame_of(c, 89);
	CHECK(syn && st && lsyn && lst && ldata);
	if (!(syn && st && lsyn && lst && ldata)) {
		capture_free(c);
		return;
	}
	/* A SYN alone is one packet: not enough. */
	CHECK_EQ(udp1(syn->data, syn->len, &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(udp_probe(&kp_mod_bittorrent, syn->data, syn->len, st->data, st->len, st->data,
			   st->len, 1, 1, 1, &m),
		 KP_PROBE_MATCH);
	CHECK_EQ(udp_probe(&kp_mod_bittorrent, lsyn->data, lsyn->len, lst->data, lst->len,
			   lst->data, lst->len, 1, 1, 1, &m),
		 KP_PROBE_MATCH);
	/* Data phase seen from the middle: client conn id = server conn id + 1. */
	CHECK_EQ(udp_probe(&kp_mod_bittorrent, ldata->data, ldata->len, lst->data, lst->len,
			   lst->data, lst->len, 1, 1, 1, &m),
		 KP_PROBE_MATCH);
	/* The answer names another connection id: no match. */
	memcpy(x, st->data, st->len);
	x[3] ^= 0x40;
	CHECK(udp_probe(&kp_mod_bittorrent, syn->data, syn->len, x, st->len, x, st->len, 1, 1, 1,
			&m) != KP_PROBE_MATCH);
	/* The answer acks another seq_nr: no match. */
	memcpy(x, st->data, st->len);
	x[19] ^= 0x01;
	CHECK(udp_probe(&kp_mod_bittorrent, syn->data, syn->len, x, st->len, x, st->len, 1, 1, 1,
			&m) != KP_PROBE_MATCH);
	/* Version 2 or type 5 is not uTP: exclude. */
	memcpy(x, syn->data, syn->len);
	x[0] = 0x42;
	CHECK_EQ(udp1(x, syn->len, &m), KP_PROBE_EXCLUDE);
	x[0] = 0x51;
	CHECK_EQ(udp1(x, syn->len, &m), KP_PROBE_EXCLUDE);
	/* A SYN carrying payload is not a SYN. */
	memcpy(x, syn->data, syn->len);
	x[syn->len] = 0;
	CHECK_EQ(udp1(x, syn->len + 1, &m), KP_PROBE_EXCLUDE);
	capture_free(c);
}

KP_TEST(utp_extension_chain)
{
	struct capture *c = capture_load("ndpi/pcap/bittorrent_utp.pcap");
	const struct pkt *sack, *bits, *fin, *bad;
	struct kp_match m;
	uint8_t x[64];

	if (!c)
		return;
	bits = frame_of(c, 4);  /* ST_STATE with extension 2 (8 extension bits) */
	sack = frame_of(c, 15); /* ST_STATE with extension 1 (selective ack, 4 bytes) */
	fin = frame_of(c, 79);  /* ST_FIN with extension 3 (libtorrent close reason) */
	bad = frame_of(c, 80);  /* 23 bytes: an extension chain cut short */
	CHECK(sack && bits && fin && bad);
	if (!(sack && bits && fin && bad)) {
		capture_free(c);
		return;
	}
	CHECK_EQ(udp1(bits->data, bits->len, &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(udp1(sack->data, sack->len, &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(udp1(fin->data, fin->len, &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(udp1(bad->data, bad->len, &m), KP_PROBE_EXCLUDE);
	/* Selective ack of 5 bytes, extension bits of 4: malformed. */
	memcpy(x, sack->data, sack->len);
	x[21] = 5;
	CHECK_EQ(udp1(x, sack->len, &m), KP_PROBE_EXCLUDE);
	memcpy(x, bits->data, bits->len);
	x[21] = 4;
	CHECK_EQ(udp1(x, bits->len, &m), KP_PROBE_EXCLUDE);
	/* Unknown extension type 9. */
	memcpy(x, sack->data, sack->len);
	x[1] = 9;
	CHECK_EQ(udp1(x, sack->len, &m), KP_PROBE_EXCLUDE);
	capture_free(c);
}

KP_TEST(utp_data_with_handshake)
{
	struct capture *c = capture_load("ndpi/pcap/bittorrent_utp.pcap");
	const struct pkt *p5, *p6, *p10;
	struct kp_match m;

	if (!c)
		return;
	p5 = frame_of(c, 5);   /* ST_DATA from the initiator: peer-wire handshake */
	p6 = frame_of(c, 6);   /* ST_DATA from the acceptor: its handshake */
	p10 = frame_of(c, 10); /* ST_DATA: a BEP 10 extension message, no handshake */
	CHECK(p5 && p6 && p10);
	if (p5 && p6 && p10) {
		struct chunk ch[] = {{0, p5->data, p5->len}, {1, p6->data, p6->len}};
		char *js;

		CHECK_EQ(udp1(p5->data, p5->len, &m), KP_PROBE_MATCH);
		CHECK_EQ(udp1(p10->data, p10->len, &m), KP_PROBE_NEED_MORE);
		js = parse_json(IPPROTO_UDP, ch, 2, AF_INET);
		CHECK(strstr(js, "\"transport\":\"utp\"") != NULL);
		CHECK(strstr(js, "\"info_hash\":\"0ca4c8e7fb26a354b1a7aa15baeaf26067c66811\"") !=
		      NULL);
		CHECK(strstr(js, "\"peer_id\":\"-LT1100-") != NULL);
		CHECK(strstr(js, "\"server_peer_id\":\"-UM1860-") != NULL);
		if (!strstr(js, "-UM1860-"))
			printf("  json: %s\n", js);
		free(js);
	}
	capture_free(c);
}

KP_TEST(utp_whole_flow_parse)
{
	struct capture *c = capture_load("ndpi/pcap/bittorrent_utp.pcap");
	struct chunk ch[MAX_PKTS];
	unsigned n = 0;
	struct kp_match m;
	char *js;

	if (!c)
		return;
	/*
	 * The 82.243.113.43:64969 <-> 192.168.1.5:40959 flow opens with DHT get_peers
	 * (frames 1, 2) on the socket that then carries uTP: the probe matches DHT on the
	 * first datagram; the parser ends with transport utp and the handshake's info_hash
	 * (the get_peers target is another hash: libtorrent obfuscates lookups).
	 */
	for (unsigned i = 0; i < c->n && n < MAX_PKTS; i++) {
		const struct pkt *p = &c->p[i];
		bool rev;

		if (p->l4 != IPPROTO_UDP || p->frame > 86 || !same_flow(&c->p[0], p, &rev))
			continue;
		ch[n].dir = rev;
		ch[n].p = p->data;
		ch[n].len = p->len;
		n++;
	}
	CHECK(n > 80);
	CHECK_EQ(udp1(ch[0].p, ch[0].len, &m), KP_PROBE_MATCH);
	js = parse_json(IPPROTO_UDP, ch, n, AF_INET);
	CHECK(strstr(js, "\"transport\":\"utp\"") != NULL);
	CHECK(strstr(js, "\"info_hash\":\"0ca4c8e7fb26a354b1a7aa15baeaf26067c66811\"") != NULL);
	if (!strstr(js, "0ca4c8e7"))
		printf("  json: %s\n", js);
	free(js);
	capture_free(c);
}

KP_TEST(utp_one_side_run)
{
	struct capture *c = capture_load("ndpi/pcap/bittorrent_utp.pcap");
	const struct pkt *a, *b;
	struct kp_match m;
	uint8_t x[1500];

	if (!c)
		return;
	/* Only the 192.168.1.5 side is seen: frames 7 (ST_STATE) and 9 (ST_DATA), conn 0x5302. */
	a = frame_of(c, 7);
	b = frame_of(c, 9);
	CHECK(a && b);
	if (a && b) {
		CHECK_EQ(udp_probe(&kp_mod_bittorrent, a->data, a->len, NULL, 0, b->data, b->len,
				   0, 2, 0, &m),
			 KP_PROBE_NEED_MORE);
		CHECK_EQ(udp_probe(&kp_mod_bittorrent, a->data, a->len, NULL, 0, b->data, b->len,
				   0, 3, 0, &m),
			 KP_PROBE_MATCH);
		/* Another connection id in the later packet: no match. */
		memcpy(x, b->data, b->len);
		x[2] ^= 1;
		CHECK(udp_probe(&kp_mod_bittorrent, a->data, a->len, NULL, 0, x, b->len, 0, 3, 0,
				&m) != KP_PROBE_MATCH);
	}
	capture_free(c);
}

/* ---------------------------------------------------------------------------------------- */
/* UDP tracker (BEP 15) and LSD (BEP 14): no capture in the corpus, bytes from the BEPs. */

static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

KP_TEST(tracker_connect_and_announce)
{
	uint8_t req[16], ans[16], ann[98], annr[20 + 2 * 6], scr[36], scra[20];
	struct kp_match m;
	char *js;

	/* connect: magic 0x41727101980, action 0, transaction id */
	put32(req, 0x417);
	put32(req + 4, 0x27101980);
	put32(req + 8, 0);
	put32(req + 12, 0xdeadbeef);
	CHECK_EQ(udp1(req, 16, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.confidence, KP_CONF_HIGH);
	/* Wrong magic, wrong action, wrong length: not a connect request. */
	req[7] ^= 1;
	CHECK(udp1(req, 16, &m) != KP_PROBE_MATCH);
	req[7] ^= 1;
	CHECK(udp1(req, 15, &m) != KP_PROBE_MATCH);
	/* connect answer: action 0, same transaction id, connection id */
	put32(ans, 0);
	put32(ans + 4, 0xdeadbeef);
	put32(ans + 8, 0x01020304);
	put32(ans + 12, 0x05060708);
	/* announce: connection id, action 1, tid, info_hash, peer_id, ..., event, ... port */
	memset(ann, 0, sizeof(ann));
	memcpy(ann, ans + 8, 8);
	put32(ann + 8, 1);
	put32(ann + 12, 0x11223344);
	for (int i = 0; i < 20; i++)
		ann[16 + i] = (uint8_t)(0xa0 + i);
	memcpy(ann + 36, "-TR3000-abcdefghijkl", 20);
	put32(ann + 80, 2);
	ann[96] = 0x1a;
	ann[97] = 0xe1;
	put32(annr, 1);
	put32(annr + 4, 0x11223344);
	put32(annr + 8, 1800);
	put32(annr + 12, 1);
	put32(annr + 16, 2);
	memcpy(annr + 20, "\xc6\x12\x00\x07\x1a\xe1\xc6\x12\x00\x08\x1a\xe2", 12);
	/* An announce alone waits for the answer; with the answer it matches. */
	CHECK_EQ(udp1(ann, 98, &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(udp_probe(&kp_mod_bittorrent, ann, 98, annr, sizeof(annr), annr, sizeof(annr),
			   1, 1, 1, &m),
		 KP_PROBE_MATCH);
	/* Another transaction id: exclude. */
	put32(annr + 4, 0x11223345);
	CHECK_EQ(udp_probe(&kp_mod_bittorrent, ann, 98, annr, sizeof(annr), annr, sizeof(annr),
			   1, 1, 1, &m),
		 KP_PROBE_EXCLUDE);
	put32(annr + 4, 0x11223344);
	/* scrape: 16 + 20n bytes, answer 8 + 12n */
	memcpy(scr, ann, 16);
	put32(scr + 8, 2);
	memcpy(scr + 16, ann + 16, 20);
	put32(scra, 2);
	put32(scra + 4, 0x11223344);
	memset(scra + 8, 0, 12);
	CHECK_EQ(udp_probe(&kp_mod_bittorrent, scr, 36, scra, 20, scra, 20, 1, 1, 1, &m),
		 KP_PROBE_MATCH);
	/* Parser: info_hash from the announce, transport tracker. */
	{
		struct chunk ch[] = {{0, req, 16}, {1, ans, 16}, {0, ann, 98},
				     {1, annr, sizeof(annr)}};

		js = parse_json(IPPROTO_UDP, ch, 4, AF_INET);
		CHECK(strstr(js, "\"transport\":\"tracker\"") != NULL);
		CHECK(strstr(js, "\"info_hash\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3\"") !=
		      NULL);
		free(js);
	}
}

KP_TEST(lsd_announce)
{
	static const char lsd[] = "BT-SEARCH * HTTP/1.1\r\n"
				  "Host: 239.192.152.143:6771\r\n"
				  "Port: 51413\r\n"
				  "Infohash: 0CA4C8E7FB26A354B1A7AA15BAEAF26067C66811\r\n"
				  "cookie: 5fe1c0a\r\n"
				  "\r\n\r\n";
	static const char no_hash[] = "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\n"
				      "Port: 51413\r\n\r\n";
	static const char bad_hash[] = "BT-SEARCH * HTTP/1.1\r\nPort: 6881\r\n"
				       "Infohash: 0CA4C8E7FB26A354B1A7AA15BAEAF26067C6681\r\n\r\n";
	static const char bad_port[] = "BT-SEARCH * HTTP/1.1\r\nPort: 70000\r\n"
				       "Infohash: 0CA4C8E7FB26A354B1A7AA15BAEAF26067C66811\r\n\r\n";
	struct kp_match m;
	char *js;

	CHECK_EQ(udp1((const uint8_t *)lsd, strlen(lsd), &m), KP_PROBE_MATCH);
	CHECK_EQ(udp1((const uint8_t *)no_hash, strlen(no_hash), &m), KP_PROBE_EXCLUDE);
	CHECK_EQ(udp1((const uint8_t *)bad_hash, strlen(bad_hash), &m), KP_PROBE_EXCLUDE);
	CHECK_EQ(udp1((const uint8_t *)bad_port, strlen(bad_port), &m), KP_PROBE_EXCLUDE);
	/* Over TCP this is not ours (LSD is multicast UDP). */
	CHECK_EQ(tcp_probe((const uint8_t *)lsd, strlen(lsd), NULL, 0, &m), KP_PROBE_EXCLUDE);
	{
		struct chunk ch = {0, (const uint8_t *)lsd, strlen(lsd)};

		js = parse_json(IPPROTO_UDP, &ch, 1, AF_INET);
		CHECK(strstr(js, "\"transport\":\"lsd\"") != NULL);
		CHECK(strstr(js, "\"info_hash\":\"0ca4c8e7fb26a354b1a7aa15baeaf26067c66811\"") !=
		      NULL);
		free(js);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Random bytes never match */

KP_TEST(random_bytes_never_match)
{
	uint64_t seed = 0xb17b17b17ULL;
	static uint8_t a[1500], b[1500];
	unsigned matches = 0;

	for (int i = 0; i < 20000; i++) {
		size_t la = (size_t)(tc_rng_next(&seed) % sizeof(a)), lb;
		struct kp_match m;
		int mode = (int)(tc_rng_next(&seed) % 4);

		lb = (size_t)(tc_rng_next(&seed) % sizeof(b));
		tc_rng_fill(&seed, a, la);
		tc_rng_fill(&seed, b, lb);
		/* Bias some buffers toward the probes' first bytes. */
		if (mode == 1 && la)
			a[0] = 'd';
		if (mode == 2 && la > 2) {
			a[0] = (uint8_t)(tc_rng_next(&seed) % 5) << 4 | 1;
			a[1] = 0;
		}
		if (mode == 3 && la && lb > 2) {
			a[0] = 0x41;
			a[1] = 0;
			b[0] = 0x21;
			b[1] = 0;
		}
		if (tcp_probe(a, la, NULL, 0, &m) == KP_PROBE_MATCH)
			matches++;
		if (tcp_probe(a, la, b, lb, &m) == KP_PROBE_MATCH)
			matches++;
		if (udp1(a, la, &m) == KP_PROBE_MATCH)
			matches++;
		if (udp_probe(&kp_mod_bittorrent, a, la, b, lb, b, lb, 1, 1, 1, &m) ==
		    KP_PROBE_MATCH)
			matches++;
		if (udp_probe(&kp_mod_bittorrent, a, la, NULL, 0, b, lb, 0, 5, 0, &m) ==
		    KP_PROBE_MATCH)
			matches++;
	}
	CHECK_EQ(matches, 0);
}

/* ---------------------------------------------------------------------------------------- */
/*
 * A genuine MSE/PE exchange, LSD announce and DHT ping, captured at test-writing time
 * (2026-11-25) between two transmission-daemon 3.00 instances in network namespaces:
 * leecher 198.18.0.1 (peer port 51414), seeder 198.19.0.1:51413, both with
 * --encryption-required --no-utp --lpd --dht, a 3 MB torrent announced by a minimal
 * HTTP tracker on 198.19.0.1:6969. Capture "transmission-mse-tcp" on the leecher veth;
 * TCP flow 198.18.0.1:36961 -> 198.19.0.1:51413 (frames 27, 29, 31 are its first three
 * payload segments).
 */
/* frame 27, 198.18.0.1:36961 -> 198.19.0.1:51413: Ya + PadA (339 bytes) */
static const uint8_t mse_c1[339] = {
	0xec, 0x5f, 0x62, 0x21, 0x34, 0x2d, 0x39, 0x31, 0x70, 0x5b, 0xd1, 0xc6,
	0x23, 0x61, 0x65, 0x1d, 0x62, 0xc8, 0xac, 0xa1, 0xdf, 0xf6, 0x53, 0x20,
	0x43, 0x38, 0x41, 0x7d, 0xee, 0x00, 0x30, 0x5d, 0x43, 0x67, 0xd8, 0x61,
	0x96, 0xdf, 0x08, 0xf3, 0x07, 0x95, 0x2c, 0xb0, 0x35, 0x2f, 0xfd, 0x11,
	0x51, 0xcb, 0xaf, 0xe0, 0x7c, 0xf5, 0xd8, 0x6e, 0xe6, 0xe3, 0xb3, 0x14,
	0x6e, 0x2c, 0xce, 0x67, 0xfd, 0xdf, 0x8a, 0x5d, 0x05, 0x4e, 0x58, 0xe6,
	0x35, 0x17, 0x59, 0xb6, 0xce, 0xf8, 0xab, 0xe9, 0xac, 0xc8, 0x7b, 0x56,
	0x5c, 0x13, 0x8c, 0x68, 0x03, 0xe6, 0xd7, 0x7e, 0x0a, 0x70, 0x97, 0x6c,
	0x7e, 0x6e, 0x35, 0x1d, 0x8e, 0x71, 0x06, 0xd2, 0x6e, 0xe7, 0x54, 0x64,
	0xe5, 0x57, 0x80, 0x32, 0xc2, 0xf4, 0x6f, 0xbb, 0x42, 0x35, 0x79, 0x9f,
	0x9b, 0xba, 0x6f, 0x1c, 0x7f, 0x61, 0x42, 0xb9, 0x77, 0x91, 0x0e, 0xdb,
	0x6a, 0x6f, 0xe8, 0x96, 0x3a, 0x30, 0xeb, 0xf2, 0xd7, 0x1e, 0x15, 0x00,
	0xb1, 0x75, 0x7e, 0xb6, 0xb4, 0x4a, 0x9b, 0xaf, 0x16, 0x3a, 0x8f, 0xb8,
	0xc7, 0x67, 0x72, 0x64, 0xc9, 0x2c, 0x4f, 0x3a, 0x9a, 0x60, 0xc3, 0x83,
	0xd7, 0x0f, 0x20, 0x86, 0xc1, 0x58, 0x63, 0x1b, 0xc1, 0xef, 0x21, 0x03,
	0x7d, 0xf3, 0xff, 0x18, 0x5c, 0x79, 0xb9, 0x7e, 0x8a, 0xc6, 0x79, 0x7d,
	0xa9, 0x51, 0x4a, 0xa9, 0x40, 0xfd, 0xd0, 0xeb, 0x43, 0xb7, 0x02, 0xbd,
	0x1e, 0xcb, 0xf4, 0xdc, 0x91, 0x0a, 0x12, 0xad, 0x0e, 0xcb, 0x19, 0xc2,
	0xb1, 0xb4, 0x01, 0xa6, 0x6d, 0xdc, 0x28, 0x77, 0x30, 0xd9, 0xcc, 0xc2,
	0xf3, 0xce, 0x5a, 0x65, 0x79, 0x7f, 0x2c, 0xcf, 0x94, 0xc6, 0x1b, 0xac,
	0x00, 0x2d, 0xa4, 0x1c, 0x40, 0xcf, 0x59, 0xe3, 0xcd, 0x8b, 0xbd, 0xc7,
	0x59, 0x1e, 0x9c, 0x03, 0xfd, 0x60, 0x34, 0x8d, 0xb0, 0x6a, 0x70, 0x11,
	0x64, 0x0f, 0x66, 0xec, 0xd4, 0xf4, 0xb3, 0xff, 0xb1, 0xca, 0xeb, 0x64,
	0x77, 0x2e, 0xa7, 0xc0, 0xd8, 0x03, 0xba, 0x45, 0x01, 0x5c, 0xb3, 0x84,
	0x0c, 0xdf, 0x6a, 0x66, 0x25, 0x2c, 0x32, 0xa3, 0x60, 0x6b, 0xaa, 0x38,
	0x69, 0xf8, 0xae, 0xe2, 0x11, 0xfb, 0x56, 0x23, 0x99, 0xbe, 0x8b, 0xa8,
	0x14, 0x25, 0x57, 0xcf, 0xdc, 0x1c, 0x51, 0x67, 0x05, 0x7e, 0xa0, 0xda,
	0x9c, 0x7b, 0xbd, 0x43, 0xe1, 0x07, 0xd3, 0x74, 0x0e, 0xfa, 0x77, 0x3f,
	0x3e, 0x90, 0x63,
};

/* frame 29, 198.19.0.1:51413 -> 198.18.0.1:36961: Yb + PadB (245 bytes) */
static const uint8_t mse_s1[245] = {
	0x20, 0x8b, 0x4d, 0xeb, 0x55, 0x44, 0xac, 0x8c, 0xa9, 0x12, 0x97, 0x4b,
	0x05, 0x1f, 0x32, 0x51, 0xea, 0x04, 0xed, 0x45, 0x3f, 0xb9, 0x1a, 0x3d,
	0xc1, 0xae, 0x76, 0xcc, 0x99, 0xd8, 0x34, 0x41, 0x6e, 0xad, 0x1f, 0xd6,
	0x6c, 0xb1, 0x98, 0xe3, 0xcf, 0xa9, 0x3e, 0xae, 0xa4, 0xcb, 0xa1, 0xd1,
	0x6b, 0x3d, 0xcb, 0x56, 0x6a, 0xfa, 0x8d, 0x1b, 0x12, 0xa5, 0x6e, 0xbd,
	0xd1, 0x8a, 0x26, 0xda, 0x58, 0x1f, 0x6b, 0xef, 0x43, 0x6f, 0x5e, 0xfb,
	0x07, 0x7e, 0x2f, 0xc3, 0x7c, 0xb0, 0x9f, 0x7b, 0xb8, 0x60, 0x4a, 0x80,
	0x6e, 0x84, 0x02, 0xa2, 0x0e, 0xac, 0x15, 0xc4, 0xec, 0x03, 0xc9, 0x0d,
	0x48, 0x36, 0x83, 0x24, 0x71, 0xbb, 0x8d, 0xcb, 0x72, 0x03, 0xf4, 0x14,
	0xe2, 0xb5, 0x87, 0x58, 0xb0, 0x25, 0x3b, 0x96, 0x60, 0x28, 0xe2, 0x03,
	0x7e, 0xd1, 0xec, 0x3e, 0x7f, 0x3d, 0x0b, 0x9a, 0xd3, 0x0c, 0xc3, 0x0f,
	0x90, 0xb9, 0x01, 0x2f, 0xae, 0xfc, 0xcf, 0x26, 0xb9, 0xe1, 0x8d, 0xd5,
	0x16, 0x1a, 0x74, 0xa3, 0x27, 0x3a, 0x11, 0x86, 0x1a, 0xcc, 0x42, 0xba,
	0xd9, 0xfe, 0x42, 0x58, 0x75, 0x13, 0x88, 0x6e, 0xc9, 0x5e, 0x23, 0x3b,
	0xa9, 0xed, 0x45, 0x57, 0xbf, 0x55, 0x94, 0x9e, 0x5f, 0x46, 0xed, 0x9f,
	0xba, 0x45, 0x86, 0xfc, 0x83, 0x98, 0x1a, 0x0b, 0x5d, 0xef, 0xf3, 0x97,
	0xd0, 0x9a, 0x87, 0xb7, 0x12, 0xb9, 0x0d, 0x36, 0x54, 0xd3, 0x93, 0xc9,
	0x62, 0xcf, 0x67, 0xf0, 0x0e, 0x2f, 0xd1, 0x86, 0x5a, 0x65, 0xa5, 0xba,
	0x3d, 0xf6, 0xba, 0xc8, 0xdf, 0x44, 0x88, 0xa6, 0x6f, 0xf4, 0x96, 0x78,
	0xd6, 0x10, 0xc7, 0xe2, 0x10, 0x3d, 0xab, 0x9d, 0xce, 0x93, 0x4f, 0x60,
	0x33, 0x09, 0xb8, 0xad, 0x80,
};

/* frame 31, client: HASH(req1,S), HASH(req2)^HASH(req3), ENCRYPT(VC..IA) (124 bytes) */
static const uint8_t mse_c2[124] = {
	0x26, 0x43, 0x16, 0x68, 0xcf, 0x29, 0xd1, 0x7b, 0xe8, 0x34, 0xfc, 0x4f,
	0x36, 0xd0, 0x21, 0xc9, 0x07, 0xc6, 0x6e, 0x5c, 0x9a, 0x71, 0x61, 0x5f,
	0x3a, 0xeb, 0x1b, 0xc9, 0xb7, 0xc1, 0x38, 0x30, 0xe8, 0xf9, 0x69, 0xd6,
	0x83, 0x34, 0x0c, 0x52, 0x5d, 0x0b, 0x77, 0x54, 0xb4, 0xa3, 0x04, 0x7a,
	0xfb, 0x04, 0x68, 0x99, 0x90, 0x64, 0xb2, 0x07, 0xc5, 0x05, 0xd3, 0x29,
	0x58, 0x51, 0x79, 0xf0, 0x20, 0xcb, 0x50, 0xa0, 0x10, 0xf8, 0x49, 0xa0,
	0x2a, 0x2f, 0x25, 0x79, 0x4e, 0x75, 0x7b, 0xe8, 0x9e, 0x0b, 0xf4, 0xfd,
	0x44, 0xe5, 0x60, 0xc6, 0xcc, 0x3a, 0xd7, 0x6d, 0xaf, 0x06, 0xaa, 0x49,
	0x8f, 0x47, 0x4e, 0xf0, 0xc9, 0xad, 0xb7, 0x52, 0x4b, 0x64, 0x90, 0xd6,
	0x3c, 0xc0, 0x32, 0x41, 0xa1, 0xc3, 0x70, 0x2c, 0x57, 0xce, 0xb0, 0x6d,
	0x42, 0x20, 0x93, 0x30,
};

/* frame 10, 198.18.0.1:35450 -> 239.192.152.143:6771: LSD announce */
static const uint8_t lsd_tr[119] = {
	0x42, 0x54, 0x2d, 0x53, 0x45, 0x41, 0x52, 0x43, 0x48, 0x20, 0x2a, 0x20,
	0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x48, 0x6f,
	0x73, 0x74, 0x3a, 0x20, 0x32, 0x33, 0x39, 0x2e, 0x31, 0x39, 0x32, 0x2e,
	0x31, 0x35, 0x32, 0x2e, 0x31, 0x34, 0x33, 0x3a, 0x36, 0x37, 0x37, 0x31,
	0x0d, 0x0a, 0x50, 0x6f, 0x72, 0x74, 0x3a, 0x20, 0x35, 0x31, 0x34, 0x31,
	0x34, 0x0d, 0x0a, 0x49, 0x6e, 0x66, 0x6f, 0x68, 0x61, 0x73, 0x68, 0x3a,
	0x20, 0x33, 0x42, 0x42, 0x38, 0x33, 0x31, 0x45, 0x32, 0x44, 0x36, 0x34,
	0x34, 0x41, 0x31, 0x46, 0x31, 0x33, 0x38, 0x36, 0x33, 0x33, 0x43, 0x35,
	0x38, 0x46, 0x43, 0x44, 0x39, 0x30, 0x37, 0x32, 0x31, 0x41, 0x41, 0x45,
	0x41, 0x30, 0x46, 0x34, 0x38, 0x0d, 0x0a, 0x0d, 0x0a, 0x0d, 0x0a,
};

/* frame 37, 198.18.0.1:51414 -> 198.19.0.1:51413: DHT query */
static const uint8_t dht_tr_q[58] = {
	0x64, 0x31, 0x3a, 0x61, 0x64, 0x32, 0x3a, 0x69, 0x64, 0x32, 0x30, 0x3a,
	0x8a, 0x2c, 0x9d, 0x4b, 0xba, 0x8c, 0x87, 0xf0, 0x4d, 0x5f, 0x5d, 0x47,
	0x7c, 0x21, 0xc9, 0xbf, 0x02, 0xa5, 0x24, 0xf5, 0x65, 0x31, 0x3a, 0x71,
	0x34, 0x3a, 0x70, 0x69, 0x6e, 0x67, 0x31, 0x3a, 0x74, 0x34, 0x3a, 0x70,
	0x6e, 0x00, 0x00, 0x31, 0x3a, 0x79, 0x31, 0x3a, 0x71, 0x65,
};

/* frame 38, 198.19.0.1:51413 -> 198.18.0.1:51414: DHT answer */
static const uint8_t dht_tr_r[49] = {
	0x64, 0x31, 0x3a, 0x72, 0x64, 0x32, 0x3a, 0x69, 0x64, 0x32, 0x30, 0x3a,
	0x5e, 0xbf, 0xd0, 0x5f, 0x73, 0x80, 0xd2, 0x88, 0x20, 0x20, 0x0f, 0x1d,
	0xed, 0x17, 0xcb, 0x07, 0xfc, 0x54, 0x11, 0x5d, 0x65, 0x31, 0x3a, 0x74,
	0x34, 0x3a, 0x70, 0x6e, 0x00, 0x00, 0x31, 0x3a, 0x79, 0x31, 0x3a, 0x72,
	0x65,
};

/*
 * The same setup with uTP enabled (capture "transmission-mse-utp"): the seeder
 * 198.19.0.1:51413 opened a uTP connection to the leecher 198.18.0.1:51414 and ran
 * MSE inside it; the payloads of its DATA packets are encrypted.
 */
/* frame 24, 198.19.0.1:51413 -> 198.18.0.1:51414: ST_SYN, extension bits */
static const uint8_t utp_tr_syn[30] = {
	0x41, 0x02, 0xfd, 0xb0, 0x37, 0x9b, 0xf1, 0xe0, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x04, 0x00, 0x00, 0x40, 0x0d, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* frame 25, 198.18.0.1:51414 -> 198.19.0.1:51413: ST_STATE */
static const uint8_t utp_tr_state[30] = {
	0x21, 0x02, 0xfd, 0xb0, 0x37, 0x9b, 0xf2, 0xea, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x38, 0x00, 0x00, 0xb0, 0x89, 0x40, 0x0d, 0x00, 0x08, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* frame 41, 198.19.0.1 -> 198.18.0.1: ST_DATA (MSE-encrypted payload) */
static const uint8_t utp_tr_data_c[144] = {
	0x01, 0x00, 0xfd, 0xb1, 0x37, 0xab, 0x32, 0x94, 0x00, 0x00, 0x00, 0x34,
	0x00, 0x04, 0x00, 0x00, 0x40, 0x0f, 0xb0, 0x89, 0xba, 0x2b, 0xc2, 0xbc,
	0x19, 0x76, 0xce, 0xb2, 0x12, 0xa0, 0x5d, 0xfa, 0x2b, 0xc6, 0x28, 0x55,
	0xd1, 0x6a, 0xa0, 0xf6, 0x40, 0xa1, 0xd4, 0x31, 0x1b, 0x92, 0x65, 0xdf,
	0x95, 0xf4, 0xe5, 0xfd, 0x39, 0x96, 0x93, 0xff, 0x8d, 0x5f, 0x04, 0xd6,
	0xf7, 0xad, 0xd7, 0xa9, 0x2f, 0xe3, 0x87, 0x56, 0xfc, 0x06, 0x53, 0x6f,
	0x3a, 0x8b, 0x73, 0xb0, 0x24, 0xce, 0x8c, 0x10, 0x40, 0x1c, 0x30, 0xd2,
	0xc2, 0x11, 0xfc, 0xac, 0x06, 0x75, 0x97, 0x08, 0x3f, 0x9b, 0x07, 0x3c,
	0xe1, 0x5f, 0xc4, 0xba, 0xb7, 0x2e, 0x73, 0x92, 0x5e, 0x58, 0xb8, 0xfc,
	0x1f, 0x3d, 0xb6, 0xcb, 0x38, 0xb0, 0x9a, 0x1e, 0xfd, 0x22, 0x10, 0xa1,
	0x47, 0xbc, 0x7d, 0xcb, 0xaf, 0x42, 0x5d, 0xfb, 0x94, 0xd2, 0xf7, 0xcd,
	0xf8, 0xf0, 0x84, 0x79, 0x3c, 0x7c, 0x0b, 0x59, 0x2d, 0x23, 0xe9, 0xf4,
};

/* frame 42, 198.18.0.1 -> 198.19.0.1: ST_DATA (MSE-encrypted payload) */
static const uint8_t utp_tr_data_s[102] = {
	0x01, 0x00, 0xfd, 0xb0, 0x37, 0xab, 0x44, 0xf0, 0x00, 0x00, 0x00, 0x46,
	0x00, 0x04, 0x00, 0x00, 0xb0, 0x8a, 0x40, 0x0f, 0x9f, 0x04, 0x44, 0xde,
	0xd4, 0x3d, 0x83, 0x48, 0x34, 0xc1, 0x4b, 0x1a, 0x1c, 0x3d, 0xf9, 0x00,
	0x26, 0x3f, 0x8f, 0x92, 0xb2, 0x08, 0xfc, 0x7f, 0xa7, 0x27, 0xe3, 0xe2,
	0x4e, 0xab, 0x06, 0xfe, 0xee, 0x96, 0xdd, 0x09, 0x9b, 0x69, 0x1e, 0x26,
	0xef, 0x28, 0x6b, 0x02, 0x3c, 0xa9, 0x4a, 0x1f, 0xe5, 0xc6, 0xa8, 0x88,
	0xef, 0x4c, 0xcd, 0xa0, 0x13, 0xb0, 0xf1, 0xfe, 0xdf, 0x4a, 0xb7, 0xa1,
	0x62, 0xab, 0x7d, 0xcc, 0xa5, 0x45, 0xb0, 0x40, 0x21, 0x39, 0xac, 0xb2,
	0x9c, 0xad, 0x4f, 0x02, 0xf4, 0xd9,
};

/* ---------------------------------------------------------------------------------------- */
/* MSE/PE */

/* One MSE exchange modelled with the PRNG: Ya+PadA, Yb+PadB, then the client's sync. */
struct mse_flow {
	uint8_t c2s[608 + 600];
	size_t c2s_len;
	uint32_t c_fl;
	uint8_t s2c[608 + 600];
	size_t s2c_len;
	uint32_t s_fl;
};

static void mse_make(uint64_t *seed, struct mse_flow *f, size_t pad_a, size_t pad_b, size_t next)
{
	f->c_fl = (uint32_t)(96 + pad_a);
	f->s_fl = (uint32_t)(96 + pad_b);
	f->c2s_len = f->c_fl + next;
	f->s2c_len = f->s_fl;
	tc_rng_fill(seed, f->c2s, f->c2s_len);
	tc_rng_fill(seed, f->s2c, f->s2c_len);
}

KP_TEST(mse_rule_matches_modelled_exchanges)
{
	uint64_t seed = 0x3e3e3e3eULL;
	static struct mse_flow f;
	unsigned ok = 0, n = 2000;

	for (unsigned i = 0; i < n; i++) {
		size_t pa = (size_t)(tc_rng_next(&seed) % 513), pb = (size_t)(tc_rng_next(&seed) % 513);
		size_t next = 20 + (size_t)(tc_rng_next(&seed) % 580);

		mse_make(&seed, &f, pa, pb, next);
		if (kp_bt_mse_rule(f.c2s, f.c2s_len, f.c_fl, f.s2c, f.s2c_len, f.s_fl))
			ok++;
	}
	/* The rule's documented chance misses are well under 1e-3. */
	CHECK(ok >= n - 2);
	printf("  modelled MSE exchanges matched: %u/%u\n", ok, n);
}

KP_TEST(mse_rule_need_more_and_exclude)
{
	uint64_t seed = 0x77ULL;
	static struct mse_flow f;
	static uint8_t sig[96];

	mse_make(&seed, &f, 100, 200, 60);
	CHECK(kp_bt_mse_rule(f.c2s, f.c2s_len, f.c_fl, f.s2c, f.s2c_len, f.s_fl));
	/* Client's first flight still arriving, server silent. */
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 50, 50, NULL, 0, 0), KP_PROBE_NEED_MORE);
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 196, 196, NULL, 0, 0), KP_PROBE_NEED_MORE);
	/* Server answered, client has not spoken again. */
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 196, 196, f.s2c, 100, 100), KP_PROBE_NEED_MORE);
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 196, 196, f.s2c, 296, 296), KP_PROBE_NEED_MORE);
	/* Client's next message has begun but its 20-byte sync hash is not complete. */
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 206, 196, f.s2c, 296, 296), KP_PROBE_NEED_MORE);
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 216, 196, f.s2c, 296, 296), KP_PROBE_MATCH);
	/* Server spoke first. */
	CHECK_EQ(kp_bt_mse_verdict(NULL, 0, 0, f.s2c, 296, 296), KP_PROBE_EXCLUDE);
	/* Client's first flight shorter than a DH key, or longer than key + 512. */
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 90, 90, f.s2c, 296, 296), KP_PROBE_EXCLUDE);
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 609, 609, NULL, 0, 0), KP_PROBE_EXCLUDE);
	/* Server's first flight shorter than a key, or longer than key + 512. */
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 256, 196, f.s2c, 95, 95), KP_PROBE_EXCLUDE);
	{
		static uint8_t big[700];

		tc_rng_fill(&seed, big, sizeof(big));
		CHECK_EQ(kp_bt_mse_verdict(f.c2s, 196, 196, big, 700, 700), KP_PROBE_EXCLUDE);
	}
	/* Plaintext in a flight: a printable run of 16. */
	memcpy(f.c2s + 150, "BitTorrent proto", 16);
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 196, 196, NULL, 0, 0), KP_PROBE_EXCLUDE);
	mse_make(&seed, &f, 100, 200, 60);
	/* Low-entropy DH "key": 40 distinct values, half with the high bit, no text. */
	for (int i = 0; i < 96; i++)
		sig[i] = (uint8_t)((i & 1 ? 0x80 : 0x00) + i % 40);
	CHECK(!kp_bt_mse_looks_random(sig, 96));
	memcpy(f.s2c, sig, 96);
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 196, 196, f.s2c, 296, 296), KP_PROBE_EXCLUDE);
	mse_make(&seed, &f, 100, 200, 60);
	/* A flight that starts with its own length (framed binary protocol). */
	f.c2s[0] = 0;
	f.c2s[1] = 194;
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 196, 196, f.s2c, 296, 296), KP_PROBE_EXCLUDE);
	mse_make(&seed, &f, 100, 200, 60);
	/* The sync hash is zeros. */
	memset(f.c2s + 196, 0, 20);
	CHECK_EQ(kp_bt_mse_verdict(f.c2s, 256, 196, f.s2c, 296, 296), KP_PROBE_EXCLUDE);
}

KP_TEST(mse_probe_context)
{
	uint64_t seed = 0x99ULL;
	static struct mse_flow f;
	struct kp_app_ctx ctx;
	struct kp_match m;

	mse_make(&seed, &f, 30, 300, 100);
	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = IPPROTO_TCP;
	ctx.family = AF_INET;
	ctx.caddr = cli_addr;
	ctx.saddr = srv_addr;
	ctx.cport = 40000;
	ctx.sport = 51413;
	ctx.buf[0] = f.c2s;
	ctx.buf[1] = f.s2c;
	ctx.flight[0] = f.c_fl;
	ctx.flight[1] = f.s_fl;
	/* The sync message arrives: matched at low confidence (no peer cache entry here). */
	ctx.dir = KP_DIR_TOSERVER;
	ctx.buf_len[0] = f.c2s_len;
	ctx.buf_len[1] = f.s2c_len;
	ctx.data = f.c2s + f.c_fl;
	ctx.len = f.c2s_len - f.c_fl;
	ctx.npkts[0] = 2;
	ctx.npkts[1] = 1;
	memset(&m, 0, sizeof(m));
	CHECK_EQ(kp_mod_bt_mse.probe(&ctx, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_BITTORRENT);
	CHECK_EQ(m.confidence, KP_CONF_LOW);
	/* UDP is never MSE; a gap makes the flights unknowable. */
	ctx.l4 = IPPROTO_UDP;
	CHECK_EQ(kp_mod_bt_mse.probe(&ctx, &m), KP_PROBE_EXCLUDE);
	ctx.l4 = IPPROTO_TCP;
	ctx.gap = true;
	CHECK_EQ(kp_mod_bt_mse.probe(&ctx, &m), KP_PROBE_EXCLUDE);
	ctx.gap = false;
	/* Before the sync message: the server's answer has just arrived. */
	ctx.dir = KP_DIR_TOCLIENT;
	ctx.buf_len[0] = f.c_fl;
	ctx.data = f.s2c;
	ctx.len = f.s2c_len;
	ctx.npkts[0] = 1;
	CHECK_EQ(kp_mod_bt_mse.probe(&ctx, &m), KP_PROBE_NEED_MORE);
}

/*
 * Replays every flow of a capture packet by packet, as the classifier would offer it,
 * until the probe decides: REPLAY_MSE runs the pure MSE rule over TCP flows,
 * REPLAY_BT the bittorrent module's probe over TCP and UDP flows (TCP: stream prefix
 * per direction; UDP: first datagram per direction). Returns the number of flows
 * matched; *flows counts flows with payload, *excluded those the probe excluded.
 */
#define STREAM_MAX 4096
#define REPLAY_FLOWS 256

enum replay_mode { REPLAY_MSE, REPLAY_BT };

struct tflow {
	struct pkt key;        /* first packet of the flow (client -> server if SYN seen) */
	uint8_t buf[2][STREAM_MAX];
	size_t len[2];
	uint32_t next_seq[2];
	bool have_seq[2], gap[2];
	uint32_t flight[2], npkts[2];
	bool s_started, c_again, done;
	enum kp_probe_result r;
};

static enum kp_probe_result replay_bt(struct tflow *t, unsigned d, const struct pkt *p)
{
	struct kp_app_ctx ctx;
	struct kp_match m;

	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = p->l4;
	ctx.dir = (uint8_t)d;
	ctx.data = p->data;
	ctx.len = p->len;
	for (unsigned k = 0; k < 2; k++) {
		ctx.buf[k] = t->len[k] ? t->buf[k] : NULL;
		ctx.buf_len[k] = t->len[k];
		ctx.flight[k] = t->flight[k];
		ctx.npkts[k] = t->npkts[k];
	}
	ctx.family = t->key.family;
	ctx.caddr = t->key.src;
	ctx.saddr = t->key.dst;
	ctx.cport = t->key.sport;
	ctx.sport = t->key.dport;
	return kp_mod_bittorrent.probe(&ctx, &m);
}

static unsigned replay_l4(const char *rel, enum replay_mode mode, unsigned *flows,
			  unsigned *excluded, unsigned *matched_udp)
{
	struct capture *c = capture_load(rel);
	static struct tflow fl[REPLAY_FLOWS];
	unsigned nf = 0, matched = 0;

	*flows = *excluded = 0;
	if (matched_udp)
		*matched_udp = 0;
	if (!c)
		return 0;
	memset(fl, 0, sizeof(fl));
	for (unsigned i = 0; i < c->n; i++) {
		const struct pkt *p = &c->p[i];
		struct tflow *t = NULL;
		bool rev = false;
		unsigned d;

		if (p->l4 != IPPROTO_TCP && (mode == REPLAY_MSE || p->l4 != IPPROTO_UDP))
			continue;
		for (unsigned k = 0; k < nf && !t; k++)
			if (same_flow(&fl[k].key, p, &rev))
				t = &fl[k];
		if (!t) {
			if (nf == REPLAY_FLOWS)
				continue;
			t = &fl[nf++];
			t->key = *p;
			/* A SYN+ACK first means we saw the server first: swap. */
			if (p->l4 == IPPROTO_TCP && (p->tcp_flags & 0x12) == 0x12) {
				memcpy(t->key.src, p->dst, 16);
				memcpy(t->key.dst, p->src, 16);
				t->key.sport = p->dport;
				t->key.dport = p->sport;
				rev = true;
			}
			t->r = KP_PROBE_NEED_MORE;
		}
		d = rev ? 1 : 0;
		if (p->l4 == IPPROTO_UDP) {
			if (p->len == 0 || t->done)
				continue;
			t->npkts[d]++;
			if (!t->len[d]) {
				t->len[d] = p->len < STREAM_MAX ? p->len : STREAM_MAX;
				memcpy(t->buf[d], p->data, t->len[d]);
			}
			t->r = replay_bt(t, d, p);
			if (t->r != KP_PROBE_NEED_MORE)
				t->done = true;
			continue;
		}
		if (p->tcp_flags & 0x02) {
			t->next_seq[d] = p->seq + 1;
			t->have_seq[d] = true;
			continue;
		}
		if (p->len == 0 || t->done || t->gap[d])
			continue;
		if (!t->have_seq[d]) {
			t->next_seq[d] = p->seq;
			t->have_seq[d] = true;
		}
		if (p->seq != t->next_seq[d]) {
			if ((int32_t)(p->seq - t->next_seq[d]) > 0)
				t->gap[d] = true; /* the probe excludes on a gap */
			continue;         /* retransmission */
		}
		t->next_seq[d] += (uint32_t)p->len;
		t->npkts[d]++;
		/* Flights: client bytes before the server's first, server bytes before the next. */
		if (d == 0 && t->s_started)
			t->c_again = true;
		if (d == 1)
			t->s_started = true;
		if (d == 0 && !t->s_started)
			t->flight[0] += (uint32_t)p->len;
		if (d == 1 && !t->c_again)
			t->flight[1] += (uint32_t)p->len;
		{
			size_t room = STREAM_MAX - t->len[d], n = p->len < room ? p->len : room;

			memcpy(t->buf[d] + t->len[d], p->data, n);
			t->len[d] += n;
		}
		if (mode == REPLAY_MSE)
			t->r = kp_bt_mse_verdict(t->buf[0], t->len[0], t->flight[0], t->buf[1],
						 t->len[1], t->flight[1]);
		else
			t->r = replay_bt(t, d, p);
		if (t->r != KP_PROBE_NEED_MORE)
			t->done = true;
	}
	for (unsigned k = 0; k < nf; k++) {
		if (!fl[k].len[0] && !fl[k].len[1])
			continue;
		(*flows)++;
		if (fl[k].r == KP_PROBE_MATCH)
			matched++;
		if (fl[k].r == KP_PROBE_MATCH && fl[k].key.l4 == IPPROTO_UDP && matched_udp)
			(*matched_udp)++;
		if (fl[k].r == KP_PROBE_EXCLUDE)
			(*excluded)++;
	}
	capture_free(c);
	return matched;
}

static unsigned replay(const char *rel, enum replay_mode mode, unsigned *flows,
		       unsigned *excluded)
{
	return replay_l4(rel, mode, flows, excluded, NULL);
}

KP_TEST(mse_rule_rejects_tls_ssh_http_flows)
{
	static const char *const caps[] = {
		"ndpi/pcap/443-curl.pcap",        "ndpi/pcap/ssh.pcap",
		"ndpi/pcap/google_ssl.pcap",      "ndpi/pcap/tls_verylong_certificate.pcap",
		"ndpi/pcap/tls_alert.pcap",       "ndpi/pcap/smtp-starttls.pcap",
		"ndpi/pcap/imaps.pcap",           "ndpi/pcap/http.pcapng",
		"ndpi/pcap/http_auth.pcap",       "ndpi/pcap/exe_download.pcap",
		"ndpi/pcap/bittorrent.pcap",      "ndpi/pcap/ftp.pcap",
		"ndpi/pcap/irc.pcap",             "ndpi/pcap/smtps.pcapng",
	};
	unsigned total = 0, total_ex = 0;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		unsigned flows, ex, matched = replay(caps[i], REPLAY_MSE, &flows, &ex);

		CHECK_EQ(matched, 0);
		if (matched)
			printf("  %s: %u of %u flows matched MSE\n", caps[i], matched, flows);
		total += flows;
		total_ex += ex;
	}
	printf("  MSE rule over %u TLS/SSH/HTTP/plain flows: %u excluded, 0 matched\n", total,
	       total_ex);
}

KP_TEST(mse_json)
{
	struct kp_json j;

	kp_json_init(&j);
	kp_json_begin(&j);
	kp_mod_bt_mse.json(NULL, NULL, &j);
	kp_json_end(&j);
	CHECK_STR(j.buf, "{\"bittorrent\":{\"transport\":\"tcp\",\"encryption\":\"mse\"}}");
	kp_json_free(&j);
}

KP_TEST(mse_rule_genuine_transmission_exchange)
{
	uint8_t c2s[sizeof(mse_c1) + sizeof(mse_c2)];
	struct kp_app_ctx ctx;
	struct kp_match m;

	memcpy(c2s, mse_c1, sizeof(mse_c1));
	memcpy(c2s + sizeof(mse_c1), mse_c2, sizeof(mse_c2));
	/* Step by step as the segments arrived. */
	CHECK_EQ(kp_bt_mse_verdict(mse_c1, sizeof(mse_c1), sizeof(mse_c1), NULL, 0, 0),
		 KP_PROBE_NEED_MORE);
	CHECK_EQ(kp_bt_mse_verdict(mse_c1, sizeof(mse_c1), sizeof(mse_c1), mse_s1,
				   sizeof(mse_s1), sizeof(mse_s1)),
		 KP_PROBE_NEED_MORE);
	CHECK(kp_bt_mse_rule(c2s, sizeof(c2s), sizeof(mse_c1), mse_s1, sizeof(mse_s1),
			     sizeof(mse_s1)));
	CHECK(kp_bt_mse_looks_random(mse_c1, sizeof(mse_c1)));
	CHECK(kp_bt_mse_looks_random(mse_s1, sizeof(mse_s1)));
	/* Through the module, the sync message being the new data. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.l4 = IPPROTO_TCP;
	ctx.family = AF_INET;
	ctx.caddr = cli_addr;
	ctx.saddr = srv_addr;
	ctx.cport = 36961;
	ctx.sport = 51413;
	ctx.dir = KP_DIR_TOSERVER;
	ctx.buf[0] = c2s;
	ctx.buf_len[0] = sizeof(c2s);
	ctx.buf[1] = mse_s1;
	ctx.buf_len[1] = sizeof(mse_s1);
	ctx.flight[0] = sizeof(mse_c1);
	ctx.flight[1] = sizeof(mse_s1);
	ctx.npkts[0] = 2;
	ctx.npkts[1] = 1;
	ctx.data = mse_c2;
	ctx.len = sizeof(mse_c2);
	CHECK_EQ(kp_mod_bt_mse.probe(&ctx, &m), KP_PROBE_MATCH);
	CHECK_EQ(m.app, KP_APP_BITTORRENT);
	/* The plaintext peer-wire probe says no to it. */
	CHECK_EQ(tcp_probe(mse_c1, sizeof(mse_c1), NULL, 0, &m), KP_PROBE_EXCLUDE);
}

KP_TEST(lsd_and_dht_genuine_transmission)
{
	struct kp_match m;
	char *js;

	CHECK_EQ(udp1(lsd_tr, sizeof(lsd_tr), &m), KP_PROBE_MATCH);
	CHECK_EQ(udp1(dht_tr_q, sizeof(dht_tr_q), &m), KP_PROBE_MATCH);
	CHECK_EQ(udp_probe(&kp_mod_bittorrent, dht_tr_q, sizeof(dht_tr_q), dht_tr_r,
			   sizeof(dht_tr_r), dht_tr_r, sizeof(dht_tr_r), 1, 1, 1, &m),
		 KP_PROBE_MATCH);
	{
		struct chunk ch = {0, lsd_tr, sizeof(lsd_tr)};

		js = parse_json(IPPROTO_UDP, &ch, 1, AF_INET);
		CHECK(strstr(js, "\"transport\":\"lsd\"") != NULL);
		CHECK(strstr(js, "\"info_hash\":\"3bb831e2d644a1f138633c58fcd90721aaea0f48\"") !=
		      NULL);
		free(js);
	}
	/* LSD announce cut before its Infohash line: not LSD. */
	CHECK_EQ(udp1(lsd_tr, 60, &m), KP_PROBE_EXCLUDE);
}

KP_TEST(bt_probe_corpus_replay)
{
	static const char *const other[] = {
		"ndpi/pcap/443-curl.pcap",     "ndpi/pcap/dns.pcap",
		"ndpi/pcap/dns-tunnel-iodine.pcap", "ndpi/pcap/edonkey.pcap",
		"ndpi/pcap/ethereum.pcap",     "ndpi/pcap/false_positives.pcapng",
		"ndpi/pcap/ftp.pcap",          "ndpi/pcap/gnutella.pcap",
		"ndpi/pcap/google_ssl.pcap",   "ndpi/pcap/http.pcapng",
		"ndpi/pcap/irc.pcap",          "ndpi/pcap/jabber.pcap",
		"ndpi/pcap/monero.pcap",       "ndpi/pcap/pps.pcap",
		"ndpi/pcap/quic.pcap",         "ndpi/pcap/quic-27.pcap",
		"ndpi/pcap/quic_t51.pcap",     "ndpi/pcap/ssh.pcap",
		"ndpi/pcap/syncthing.pcap",    "ndpi/pcap/wechat.pcap",
		"ndpi/pcap/iphone.pcap",       "ndpi/pcap/malformed_dns.pcap",
	};
	static const struct {
		const char *cap;
		unsigned min_match;
	} bt[] = {
		{"ndpi/pcap/bittorrent.pcap", 24},
		{"ndpi/pcap/bittorrent_utp.pcap", 2},
		{"ndpi/pcap/targusdataspeed_false_positives.pcap", 2},
		{"suricata-verify/pcap/bittorrent-dht-real.pcap", 5},
	};
	unsigned flows, ex, matched, total = 0;

	/* Other protocols' flows never match, packet by packet as the classifier offers them. */
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		matched = replay(other[i], REPLAY_BT, &flows, &ex);
		CHECK_EQ(matched, 0);
		if (matched)
			printf("  %s: %u of %u flows matched\n", other[i], matched, flows);
		total += flows;
	}
	printf("  bittorrent probe over %u flows of other protocols: 0 matched\n", total);
	/* Every flow of the BitTorrent captures matches. */
	for (size_t i = 0; i < sizeof(bt) / sizeof(bt[0]); i++) {
		matched = replay(bt[i].cap, REPLAY_BT, &flows, &ex);
		if (!flows)
			continue;
		CHECK_EQ(matched, flows);
		CHECK(matched >= bt[i].min_match);
		if (matched != flows)
			printf("  %s: %u of %u flows matched\n", bt[i].cap, matched, flows);
	}
}

KP_TEST(utp_genuine_transmission_encrypted)
{
	struct kp_match m;
	char *js;

	/* The SYN alone waits; the SYN and its ST_STATE answer match. */
	CHECK_EQ(udp1(utp_tr_syn, sizeof(utp_tr_syn), &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(udp_probe(&kp_mod_bittorrent, utp_tr_syn, sizeof(utp_tr_syn), utp_tr_state,
			   sizeof(utp_tr_state), utp_tr_state, sizeof(utp_tr_state), 1, 1, 1, &m),
		 KP_PROBE_MATCH);
	/* Seen from the middle: encrypted DATA both ways, connection ids one apart. */
	CHECK_EQ(udp1(utp_tr_data_c, sizeof(utp_tr_data_c), &m), KP_PROBE_NEED_MORE);
	CHECK_EQ(udp_probe(&kp_mod_bittorrent, utp_tr_data_c, sizeof(utp_tr_data_c),
			   utp_tr_data_s, sizeof(utp_tr_data_s), utp_tr_data_s,
			   sizeof(utp_tr_data_s), 1, 1, 1, &m),
		 KP_PROBE_MATCH);
	{
		struct chunk ch[] = {{0, utp_tr_syn, sizeof(utp_tr_syn)},
				     {1, utp_tr_state, sizeof(utp_tr_state)},
				     {0, utp_tr_data_c, sizeof(utp_tr_data_c)}};

		js = parse_json(IPPROTO_UDP, ch, 3, AF_INET);
		/* Encrypted: the transport is known and the first DATA is an MSE key; no info_hash. */
		CHECK_STR(js, "{\"bittorrent\":{\"transport\":\"utp\",\"encryption\":\"mse\"}}");
		free(js);
	}
}

/*
 * The project's own captures (tests/captures/make-bittorrent.sh: libtorrent and
 * aria2 between two namespaces). Each flow replayed as the classifier offers it.
 */
KP_TEST(project_captures)
{
	static const struct {
		const char *cap;
		unsigned bt_tcp, bt_udp; /* flows the bittorrent probe must match, at least */
		unsigned mse;            /* flows the MSE rule must match, exactly */
	} caps[] = {
		/* plaintext peer wire + UDP tracker; HTTP tracker flows are not ours */
		{"tests/captures/pcap/bt-plain.pcap", 1, 1, 0},
		/* MSE peer flow (libtorrent, encryption forced) + UDP tracker */
		{"tests/captures/pcap/bt-encrypted.pcap", 0, 1, 1},
		/* aria2 opens its peer connections with MSE */
		{"tests/captures/pcap/bt-aria2.pcap", 0, 0, 1},
		/* uTP peer connection + UDP tracker */
		{"tests/captures/pcap/bt-utp.pcap", 0, 2, 0},
		/* DHT and LSD */
		{"tests/captures/pcap/bt-dht.pcap", 0, 3, 0},
	};
	static const char *const other[] = {
		"tests/captures/pcap/dc-uhub.pcap",     "tests/captures/pcap/edonkey-amule.pcap",
		"tests/captures/pcap/ftp-vsftpd.pcap",  "tests/captures/pcap/http-nginx.pcap",
		"tests/captures/pcap/http-offload.pcap", "tests/captures/pcap/irc-ngircd.pcap",
	};
	unsigned flows, ex, m, mu, mse;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		m = replay_l4(caps[i].cap, REPLAY_BT, &flows, &ex, &mu);
		if (!flows)
			continue;
		mse = replay(caps[i].cap, REPLAY_MSE, &flows, &ex);
		CHECK(m - mu >= caps[i].bt_tcp);
		CHECK(mu >= caps[i].bt_udp);
		CHECK_EQ(mse, caps[i].mse);
		printf("  %s: bittorrent %u (udp %u), mse %u, of %u tcp flows\n", caps[i].cap, m,
		       mu, mse, flows);
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		CHECK_EQ(replay(other[i], REPLAY_BT, &flows, &ex), 0);
		CHECK_EQ(replay(other[i], REPLAY_MSE, &flows, &ex), 0);
	}
}

KP_TEST(prefixes_stay_in_bounds)
{
	struct capture *c = capture_load("ndpi/pcap/bittorrent_utp.pcap");
	unsigned runs = 0;

	if (!c)
		return;
	/* Every cut of every datagram (up to 600 bytes) through probe and parser (ASan). */
	for (unsigned i = 0; i < c->n; i++) {
		const struct pkt *p = &c->p[i];

		if (p->len > 600)
			continue;
		for (size_t n = 0; n <= p->len; n++) {
			struct chunk ch = {(uint8_t)(i & 1), p->data, n};
			struct kp_match m;
			uint8_t *copy = malloc(n ? n : 1);
			char *js;

			/* An exact-size heap copy, so that a read past n is caught. */
			memcpy(copy, p->data, n);
			ch.p = copy;
			(void)udp1(copy, n, &m);
			(void)tcp_probe(copy, n, NULL, 0, &m);
			js = parse_json(IPPROTO_UDP, &ch, 1, AF_INET);
			CHECK(strncmp(js, "{\"bittorrent\":{", 15) == 0);
			free(js);
			free(copy);
			runs++;
		}
	}
	CHECK(runs > 1000);
	capture_free(c);
}

/*
 * A capture that begins after the handshakes (no SYN seen): the peer-wire
 * messages alone (bitfield, interested, request, piece ...) identify the flow,
 * at medium confidence. Bytes: the real exchange of tests/captures/pcap/bt-plain.pcap
 * (libtorrent peers) with each side's 68-byte handshake cut off. A flow whose SYN
 * was seen must still start with the handshake.
 */
static size_t stream_of(const struct capture *c, uint16_t port, bool to_port, uint8_t *out,
			size_t cap)
{
	size_t n = 0;

	for (unsigned i = 0; i < c->n; i++) {
		const struct pkt *p = &c->p[i];

		if (p->l4 != IPPROTO_TCP || !p->len || (to_port ? p->dport : p->sport) != port)
			continue;
		if (n + p->len > cap)
			break;
		memcpy(out + n, p->data, p->len);
		n += p->len;
	}
	return n;
}

KP_TEST(peerwire_midstream_without_handshake)
{
	struct capture *c = capture_load("tests/captures/pcap/bt-plain.pcap");
	static uint8_t cs[4096], sc[4096];
	struct kp_flow fake;
	struct kp_app_ctx ctx;
	struct kp_match m;
	size_t cn, sn;
	uint64_t rng = 77;
	unsigned hits = 0;

	if (!c)
		return;
	cn = stream_of(c, 6881, true, cs, sizeof(cs));
	sn = stream_of(c, 6881, false, sc, sizeof(sc));
	CHECK(cn > 68 + 10 && sn > 68 + 10);
	CHECK(memcmp(cs, "\x13" "BitTorrent protocol", 20) == 0);
	{
		struct probe_case pc = {IPPROTO_TCP, cs + 68, cn - 68, sc + 68, sn - 68, 1, 40000,
					6881};

		memset(&fake, 0, sizeof(fake));
		probe_ctx_fill(&ctx, &pc);
		ctx.flow = &fake; /* picked up mid-stream: no SYN */
		memset(&m, 0, sizeof(m));
		CHECK_EQ(kp_mod_bittorrent.probe(&ctx, &m), KP_PROBE_MATCH);
		CHECK_EQ(m.app, KP_APP_BITTORRENT);
		CHECK_EQ(m.confidence, KP_CONF_MEDIUM);
		fake.syn_seen = true; /* seen from its SYN: without a handshake it is not ours */
		CHECK_EQ(kp_mod_bittorrent.probe(&ctx, &m), KP_PROBE_EXCLUDE);
	}
	/* random streams picked up mid-stream are not peer wire */
	memset(&fake, 0, sizeof(fake));
	for (int i = 0; i < 20000; i++) {
		size_t n = 5 + (size_t)(tc_rng_next(&rng) % 1400);
		struct probe_case pc;

		tc_rng_fill(&rng, cs, n);
		pc = (struct probe_case){IPPROTO_TCP, cs, n, NULL, 0, 0, 40000, 6881};
		probe_ctx_fill(&ctx, &pc);
		ctx.flow = &fake;
		if (kp_mod_bittorrent.probe(&ctx, &m) == KP_PROBE_MATCH)
			hits++;
	}
	CHECK_EQ(hits, 0);
	capture_free(c);
}

KP_TEST_MAIN()
