/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tc ingress connection-cache program (bpf/conncache.bpf.c), run by the kernel
 * with BPF_PROG_TEST_RUN over fixture frames built here: a blocked key drops
 * (TC_ACT_SHOT) whatever the source port, VLAN tags or IPv6 extension headers in
 * front; another port, an expired entry, non-first fragments, truncated and non-IP
 * frames pass (TC_ACT_OK). Needs root (CAP_BPF + CAP_NET_ADMIN): skipped (exit 77)
 * otherwise, or when built without libbpf.
 */
#include <stdio.h>
#include <stdlib.h>

#ifndef HAVE_BPF
int main(void)
{
	printf("skip: built without eBPF support (libbpf, clang, bpftool)\n");
	return 77;
}
#else

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <unistd.h>

#include "kern/bpf_cache.h"
#include "policy/conncache.h"
#include "tap.h"

static struct kp_bpf_cache *g_bc;

__attribute__((constructor(200))) static void load_or_skip(void)
{
	char err[256];
	int rc = kp_bpf_cache_open(&g_bc, 1024, NULL, 0, err, sizeof(err));

	if (rc) {
		printf("skip: cannot load the eBPF program (%s)%s\n", err,
		       geteuid() ? "; run as root" : "");
		exit(77);
	}
}

__attribute__((destructor)) static void unload(void)
{
	kp_bpf_cache_close(g_bc);
}

/* ---- fixture frames ---- */

struct frame {
	uint8_t b[256];
	size_t n;
};

static void put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(f, b, 2);
}

static const uint8_t CLI4[4] = {198, 18, 0, 1}, SRV4[4] = {198, 19, 0, 2};
static uint8_t CLI6[16], SRV6[16];

__attribute__((constructor(201))) static void init_addrs(void)
{
	inet_pton(AF_INET6, "2001:2::1", CLI6);
	inet_pton(AF_INET6, "2001:2:0:1::2", SRV6);
}

static void eth(struct frame *f, int vlans, uint16_t type)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};

	f->n = 0;
	memset(f->b, 0, sizeof(f->b));
	put(f, macs, 12);
	if (vlans == 2) {
		put16(f, 0x88a8);
		put16(f, 100);
	}
	if (vlans >= 1) {
		put16(f, 0x8100);
		put16(f, 200);
	}
	put16(f, type);
}

/* TCP SYN header (20 bytes) or UDP header (8 bytes) plus 4 bytes of payload */
static void l4(struct frame *f, uint8_t proto, uint16_t sport, uint16_t dport)
{
	put16(f, sport);
	put16(f, dport);
	if (proto == IPPROTO_TCP) {
		static const uint8_t rest[16] = {0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff};

		put(f, rest, sizeof(rest));
	} else {
		put16(f, 12);
		put16(f, 0);
	}
	put(f, "abcd", 4);
}

static size_t l4len(uint8_t proto)
{
	return (proto == IPPROTO_TCP ? 20 : 8) + 4;
}

static void ipv4(struct frame *f, uint8_t proto, uint16_t frag_off, size_t plen)
{
	uint8_t h[20] = {0x45, 0};

	h[2] = (uint8_t)((20 + plen) >> 8);
	h[3] = (uint8_t)(20 + plen);
	h[6] = (uint8_t)(frag_off >> 8);
	h[7] = (uint8_t)frag_off;
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, CLI4, 4);
	memcpy(h + 16, SRV4, 4);
	put(f, h, 20);
}

static void ipv6(struct frame *f, uint8_t nexthdr, size_t plen)
{
	uint8_t h[40] = {0x60, 0};

	h[4] = (uint8_t)(plen >> 8);
	h[5] = (uint8_t)plen;
	h[6] = nexthdr;
	h[7] = 64;
	memcpy(h + 8, CLI6, 16);
	memcpy(h + 24, SRV6, 16);
	put(f, h, 40);
}

static struct frame v4_frame(int vlans, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct frame f;

	eth(&f, vlans, 0x0800);
	ipv4(&f, proto, 0x4000 /* DF */, l4len(proto));
	l4(&f, proto, sport, dport);
	return f;
}

static struct frame v6_frame(uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct frame f;

	eth(&f, 0, 0x86dd);
	ipv6(&f, proto, l4len(proto));
	l4(&f, proto, sport, dport);
	return f;
}

/* ---- helpers ---- */

static int run(const struct frame *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = (uint32_t)f->n,
		    .repeat = 1);
	int rc = bpf_prog_test_run_opts(kp_bpf_cache_prog_fd(g_bc), &o);

	if (rc) {
		fprintf(stderr, "  test_run: %s\n", strerror(errno));
		return -1;
	}
	return (int)o.retval;
}

static void key(struct kp_cc_key *k, int family, uint16_t dport, uint8_t proto)
{
	if (family == 4)
		kp_cc_key_from_flow(k, AF_INET, CLI4, SRV4, dport, proto);
	else
		kp_cc_key_from_flow(k, AF_INET6, CLI6, SRV6, dport, proto);
}

static uint64_t entry_hits(const struct kp_cc_key *k)
{
	struct kp_cc_val v;

	if (bpf_map_lookup_elem(kp_bpf_cache_map_fd(g_bc), k, &v))
		return UINT64_MAX;
	return v.hits;
}

static void clear_map(void)
{
	struct kp_cc_key k;

	while (bpf_map_get_next_key(kp_bpf_cache_map_fd(g_bc), NULL, &k) == 0)
		bpf_map_delete_elem(kp_bpf_cache_map_fd(g_bc), &k);
}

/* ---- tests ---- */

KP_TEST(ipv4_tcp_syn_hit_any_source_port_and_hit_counter)
{
	struct kp_cc_key k;
	struct frame f;
	uint64_t t0[KP_CC_STAT_MAX], t1[KP_CC_STAT_MAX];

	clear_map();
	key(&k, 4, 8080, IPPROTO_TCP);
	f = v4_frame(0, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_OK); /* empty map */
	kp_bpf_cache_totals(g_bc, t0);
	CHECK_EQ(kp_bpf_cache_add(g_bc, &k, 60), 0);
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	f = v4_frame(0, IPPROTO_TCP, 40001, 8080); /* a reconnection */
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	CHECK_EQ(entry_hits(&k), 2);
	kp_bpf_cache_totals(g_bc, t1);
	CHECK_EQ(t1[KP_CC_STAT_DROP] - t0[KP_CC_STAT_DROP], 2);
	CHECK_EQ(t1[KP_CC_STAT_SEEN] - t0[KP_CC_STAT_SEEN], 2);
}

KP_TEST(ipv4_other_dport_proto_or_address_passes)
{
	struct kp_cc_key k;
	struct frame f;

	clear_map();
	key(&k, 4, 8080, IPPROTO_TCP);
	kp_bpf_cache_add(g_bc, &k, 60);
	f = v4_frame(0, IPPROTO_TCP, 40000, 8081);
	CHECK_EQ(run(&f), TC_ACT_OK);
	f = v4_frame(0, IPPROTO_UDP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_OK);
	f = v4_frame(0, IPPROTO_TCP, 40000, 8080);
	f.b[14 + 15] ^= 1; /* another client address */
	CHECK_EQ(run(&f), TC_ACT_OK);
	CHECK_EQ(entry_hits(&k), 0);
}

KP_TEST(vlan_tagged_and_qinq)
{
	struct kp_cc_key k;
	struct frame f;

	clear_map();
	key(&k, 4, 8080, IPPROTO_TCP);
	kp_bpf_cache_add(g_bc, &k, 60);
	f = v4_frame(1, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	f = v4_frame(2, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	f = v4_frame(1, IPPROTO_TCP, 40000, 8081);
	CHECK_EQ(run(&f), TC_ACT_OK);
	CHECK_EQ(entry_hits(&k), 2);
}

KP_TEST(udp_hit)
{
	struct kp_cc_key k;
	struct frame f;

	clear_map();
	key(&k, 4, 6881, IPPROTO_UDP);
	kp_bpf_cache_add(g_bc, &k, 60);
	f = v4_frame(0, IPPROTO_UDP, 51413, 6881);
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	f = v4_frame(0, IPPROTO_TCP, 51413, 6881);
	CHECK_EQ(run(&f), TC_ACT_OK);
}

KP_TEST(ipv4_fragments)
{
	struct kp_cc_key k;
	struct frame f;

	clear_map();
	key(&k, 4, 8080, IPPROTO_TCP);
	kp_bpf_cache_add(g_bc, &k, 60);
	/* first fragment (MF set, offset 0): has the TCP header, dropped */
	eth(&f, 0, 0x0800);
	ipv4(&f, IPPROTO_TCP, 0x2000, l4len(IPPROTO_TCP));
	l4(&f, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	/* non-first fragment whose payload happens to read as port 8080: passes */
	eth(&f, 0, 0x0800);
	ipv4(&f, IPPROTO_TCP, 0x0003, l4len(IPPROTO_TCP));
	l4(&f, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_OK);
	/* IPv4 options (ihl 6) move the TCP header */
	eth(&f, 0, 0x0800);
	ipv4(&f, IPPROTO_TCP, 0, 4 + l4len(IPPROTO_TCP));
	f.b[14] = 0x46;
	put(&f, "\x01\x01\x01\x00", 4);
	l4(&f, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_SHOT);
}

KP_TEST(ipv6_tcp_and_extension_headers)
{
	struct kp_cc_key k;
	struct frame f;
	uint8_t hbh[8] = {IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0};   /* PadN */
	uint8_t dst[16] = {IPPROTO_TCP, 1, 1, 12, 0};         /* 16 bytes, PadN */
	uint8_t frag[8] = {IPPROTO_TCP, 0, 0x00, 0x01, 0, 0, 0, 7}; /* offset 0, MF */

	clear_map();
	key(&k, 6, 8080, IPPROTO_TCP);
	kp_bpf_cache_add(g_bc, &k, 60);
	f = v6_frame(IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	f = v6_frame(IPPROTO_TCP, 40000, 8081);
	CHECK_EQ(run(&f), TC_ACT_OK);

	eth(&f, 0, 0x86dd); /* hop-by-hop */
	ipv6(&f, IPPROTO_HOPOPTS, 8 + l4len(IPPROTO_TCP));
	put(&f, hbh, 8);
	l4(&f, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_SHOT);

	eth(&f, 0, 0x86dd); /* hop-by-hop + destination options (2 x 8 bytes) */
	ipv6(&f, IPPROTO_HOPOPTS, 24 + l4len(IPPROTO_TCP));
	hbh[0] = IPPROTO_DSTOPTS;
	put(&f, hbh, 8);
	put(&f, dst, 16);
	l4(&f, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_SHOT);

	eth(&f, 0, 0x86dd); /* first fragment */
	ipv6(&f, IPPROTO_FRAGMENT, 8 + l4len(IPPROTO_TCP));
	put(&f, frag, 8);
	l4(&f, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_SHOT);

	eth(&f, 0, 0x86dd); /* a later fragment (offset 8 x 8 bytes) */
	ipv6(&f, IPPROTO_FRAGMENT, 8 + l4len(IPPROTO_TCP));
	frag[2] = 0x00;
	frag[3] = 0x40;
	put(&f, frag, 8);
	l4(&f, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_OK);

	CHECK_EQ(entry_hits(&k), 4);
}

KP_TEST(ipv6_too_many_extension_headers_pass)
{
	struct kp_cc_key k;
	struct frame f;
	uint8_t dst[8] = {IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0};

	clear_map();
	key(&k, 6, 8080, IPPROTO_TCP);
	kp_bpf_cache_add(g_bc, &k, 60);
	eth(&f, 0, 0x86dd);
	ipv6(&f, IPPROTO_DSTOPTS, 8 * 8 + l4len(IPPROTO_TCP));
	for (int i = 0; i < 8; i++) {
		if (i == 7)
			dst[0] = IPPROTO_TCP;
		put(&f, dst, 8);
	}
	l4(&f, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_OK);
}

KP_TEST(truncated_and_non_ip_frames_pass)
{
	struct kp_cc_key k;
	struct frame f, full;

	clear_map();
	key(&k, 4, 8080, IPPROTO_TCP);
	kp_bpf_cache_add(g_bc, &k, 60);
	full = v4_frame(0, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&full), TC_ACT_SHOT);
	/* TCP ports cut short (the kernel's test run itself refuses an untagged frame
	 * shorter than its IP header, so cuts inside IP headers go behind a VLAN tag) */
	static const size_t cuts[] = {34, 35, 37};

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		f = full;
		f.n = cuts[i];
		CHECK_EQ(run(&f), TC_ACT_OK);
	}
	f = full;
	f.n = 38; /* exactly through the destination port: enough */
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	/* VLAN tag cut, IPv4 header cut behind a tag */
	static const size_t vcuts[] = {16, 18, 18 + 10, 18 + 19, 18 + 20 + 3};

	for (size_t i = 0; i < sizeof(vcuts) / sizeof(vcuts[0]); i++) {
		f = v4_frame(1, IPPROTO_TCP, 40000, 8080);
		f.n = vcuts[i];
		CHECK_EQ(run(&f), TC_ACT_OK);
	}
	/* IPv6: header cut behind a tag; hop-by-hop header cut; TCP ports cut */
	eth(&f, 1, 0x86dd);
	ipv6(&f, IPPROTO_TCP, l4len(IPPROTO_TCP));
	l4(&f, IPPROTO_TCP, 40000, 8080);
	f.n = 18 + 39;
	CHECK_EQ(run(&f), TC_ACT_OK);
	eth(&f, 0, 0x86dd);
	ipv6(&f, IPPROTO_HOPOPTS, 8 + l4len(IPPROTO_TCP));
	put(&f, "\x06\x00\x01\x04\x00\x00\x00\x00", 8);
	l4(&f, IPPROTO_TCP, 40000, 8080);
	key(&k, 6, 8080, IPPROTO_TCP);
	kp_bpf_cache_add(g_bc, &k, 60);
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	f.n = 14 + 40 + 1;
	CHECK_EQ(run(&f), TC_ACT_OK);
	f.n = 14 + 40 + 8 + 3;
	CHECK_EQ(run(&f), TC_ACT_OK);
	/* ARP */
	f = full;
	f.b[12] = 0x08;
	f.b[13] = 0x06;
	CHECK_EQ(run(&f), TC_ACT_OK);
	/* ICMP */
	f = full;
	f.b[14 + 9] = IPPROTO_ICMP;
	CHECK_EQ(run(&f), TC_ACT_OK);
}

KP_TEST(expired_entry_passes_and_is_deleted)
{
	struct kp_cc_key k;
	struct kp_cc_val v = {0};
	struct frame f;
	uint64_t now = kp_bpf_cache_now_ns();
	uint64_t t0[KP_CC_STAT_MAX], t1[KP_CC_STAT_MAX];

	clear_map();
	key(&k, 4, 8080, IPPROTO_TCP);
	v.added_ns = now - 2000000000ull;
	v.expires_ns = now - 1;
	CHECK_EQ(bpf_map_update_elem(kp_bpf_cache_map_fd(g_bc), &k, &v, BPF_ANY), 0);
	kp_bpf_cache_totals(g_bc, t0);
	f = v4_frame(0, IPPROTO_TCP, 40000, 8080);
	CHECK_EQ(run(&f), TC_ACT_OK);
	CHECK_EQ(entry_hits(&k), UINT64_MAX); /* gone */
	kp_bpf_cache_totals(g_bc, t1);
	CHECK_EQ(t1[KP_CC_STAT_EXPIRED] - t0[KP_CC_STAT_EXPIRED], 1);
	/* user space skips and deletes expired entries the same way */
	bpf_map_update_elem(kp_bpf_cache_map_fd(g_bc), &k, &v, BPF_ANY);
	{
		uint64_t swept = kp_bpf_cache_swept(g_bc);

		CHECK_EQ(kp_bpf_cache_foreach(g_bc, NULL, NULL), 0);
		CHECK_EQ(entry_hits(&k), UINT64_MAX); /* the walk swept it away */
		CHECK_EQ(kp_bpf_cache_swept(g_bc) - swept, 1);
	}
	bpf_map_update_elem(kp_bpf_cache_map_fd(g_bc), &k, &v, BPF_ANY);
	CHECK_EQ(kp_bpf_cache_lookup(g_bc, &k), -ETIMEDOUT);
	CHECK_EQ(kp_bpf_cache_lookup(g_bc, &k), 0);
	CHECK_EQ(entry_hits(&k), UINT64_MAX);
}

struct seen {
	int n;
	uint64_t hits, ttl;
};

static void collect(void *arg, const struct kp_cc_key *k, uint64_t hits, uint64_t ttl_left_s)
{
	struct seen *s = arg;

	(void)k;
	s->n++;
	s->hits += hits;
	s->ttl = ttl_left_s;
}

KP_TEST(loader_add_refresh_foreach_remove)
{
	struct kp_cc_key k;
	struct frame f = v4_frame(0, IPPROTO_TCP, 40000, 8080);
	struct seen s = {0};

	clear_map();
	key(&k, 4, 8080, IPPROTO_TCP);
	kp_bpf_cache_add(g_bc, &k, 100);
	CHECK_EQ(run(&f), TC_ACT_SHOT);
	kp_bpf_cache_add(g_bc, &k, 200); /* refresh keeps the hits */
	CHECK_EQ(kp_bpf_cache_foreach(g_bc, collect, &s), 1);
	CHECK_EQ(s.hits, 1);
	CHECK(s.ttl >= 199 && s.ttl <= 200);
	CHECK_EQ(kp_bpf_cache_lookup(g_bc, &k), 1);
	CHECK_EQ(kp_bpf_cache_remove(g_bc, &k), 0);
	CHECK_EQ(kp_bpf_cache_remove(g_bc, &k), -ENOENT);
	CHECK_EQ(run(&f), TC_ACT_OK);
}

/* The front API with the kernel backend (load only, no interface). */
KP_TEST(front_api_with_bpf_backend)
{
	struct kp_conncache_config cfg = {.size = 128, .ttl_s = 30, .use_bpf = true};
	struct kp_conncache *c = NULL;
	struct kp_conncache_stats st;
	char err[256], warn[256];
	struct kp_cc_key k;

	CHECK_EQ(kp_conncache_open(&c, &cfg, err, sizeof(err), warn, sizeof(warn)), 0);
	if (!c)
		return;
	CHECK(kp_conncache_is_bpf(c));
	CHECK_STR(warn, "");
	key(&k, 6, 443, IPPROTO_UDP);
	CHECK(!kp_conncache_check(c, &k, 0));
	CHECK_EQ(kp_conncache_add(c, &k, 0), 0);
	CHECK(kp_conncache_check(c, &k, 0));
	CHECK_EQ(kp_conncache_foreach(c, 0, NULL, NULL), 1);
	kp_conncache_stats(c, &st);
	CHECK_EQ(st.entries, 1);
	CHECK_EQ(st.adds, 1);
	CHECK_EQ(st.hits_user, 1);
	kp_conncache_close(c);
}

KP_TEST_MAIN()
#endif
