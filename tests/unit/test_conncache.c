/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The user-space connection cache (src/policy/conncache.c): what offline runs and
 * gateways without BPF rely on. A blocked (client, server, port, proto) drops any
 * reconnection from another source port until its TTL on the engine's clock runs
 * out; a full cache evicts its least recently used entry; workers share it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>

#include "policy/conncache.h"
#include "tap.h"

#define SEC_US 1000000ull
#define T0 1700000000000000ull

static struct kp_conncache *open_us(uint32_t size, uint32_t ttl_s)
{
	struct kp_conncache_config cfg = {.size = size, .ttl_s = ttl_s};
	struct kp_conncache *c = NULL;
	char err[256], warn[256];

	if (kp_conncache_open(&c, &cfg, err, sizeof(err), warn, sizeof(warn)))
		fprintf(stderr, "open: %s\n", err);
	return c;
}

static void key4(struct kp_cc_key *k, const char *cli, const char *srv, uint16_t port,
		 uint8_t proto)
{
	uint8_t a[4], b[4];

	inet_pton(AF_INET, cli, a);
	inet_pton(AF_INET, srv, b);
	kp_cc_key_from_flow(k, AF_INET, a, b, port, proto);
}

KP_TEST(key_layout)
{
	struct kp_cc_key k;
	static const uint8_t zero[12];

	key4(&k, "198.18.0.1", "198.19.0.2", 8080, IPPROTO_TCP);
	CHECK_EQ(sizeof(k), 36);
	CHECK_EQ(k.family, 4);
	CHECK_EQ(k.dport, htons(8080));
	CHECK_EQ(k.saddr[0], 198);
	CHECK_EQ(k.daddr[1], 19);
	CHECK(!memcmp(k.saddr + 4, zero, 12));
	CHECK(!memcmp(k.daddr + 4, zero, 12));
}

KP_TEST(add_check_hits_and_stats)
{
	struct kp_conncache *c = open_us(16, 300);
	struct kp_conncache_stats st;
	struct kp_cc_key k, other;

	CHECK(c && !kp_conncache_is_bpf(c));
	key4(&k, "198.18.0.1", "198.19.0.2", 6881, IPPROTO_TCP);
	CHECK(!kp_conncache_check(c, &k, T0));
	CHECK_EQ(kp_conncache_add(c, &k, T0), 0);
	CHECK(kp_conncache_check(c, &k, T0 + 1));
	CHECK(kp_conncache_check(c, &k, T0 + 2));
	CHECK(kp_conncache_check(c, &k, T0 + 3));
	key4(&other, "198.18.0.3", "198.19.0.2", 6881, IPPROTO_TCP);
	CHECK(!kp_conncache_check(c, &other, T0 + 4));
	kp_conncache_stats(c, &st);
	CHECK_EQ(st.entries, 1);
	CHECK_EQ(st.adds, 1);
	CHECK_EQ(st.hits_user, 3);
	CHECK_EQ(st.hits_kernel, 0);
	kp_conncache_close(c);
}

/* The key has no source port: a reconnection from a new port is the same key. A
 * different server port or protocol is another service and passes. */
KP_TEST(source_port_irrelevant_dport_and_proto_matter)
{
	struct kp_conncache *c = open_us(16, 300);
	struct kp_cc_key k, k2;
	uint8_t cli[4] = {198, 18, 0, 1}, srv[4] = {198, 19, 0, 2};

	/* what the engine builds from two SYNs with source ports 40000 and 40001 */
	kp_cc_key_from_flow(&k, AF_INET, cli, srv, 8080, IPPROTO_TCP);
	kp_conncache_add(c, &k, T0);
	kp_cc_key_from_flow(&k2, AF_INET, cli, srv, 8080, IPPROTO_TCP);
	CHECK(kp_conncache_check(c, &k2, T0 + SEC_US));
	kp_cc_key_from_flow(&k2, AF_INET, cli, srv, 8081, IPPROTO_TCP);
	CHECK(!kp_conncache_check(c, &k2, T0 + SEC_US));
	kp_cc_key_from_flow(&k2, AF_INET, cli, srv, 8080, IPPROTO_UDP);
	CHECK(!kp_conncache_check(c, &k2, T0 + SEC_US));
	/* the reverse direction is not the blocked client */
	kp_cc_key_from_flow(&k2, AF_INET, srv, cli, 8080, IPPROTO_TCP);
	CHECK(!kp_conncache_check(c, &k2, T0 + SEC_US));
	kp_conncache_close(c);
}

KP_TEST(ttl_expiry_on_engine_clock)
{
	struct kp_conncache *c = open_us(16, 10);
	struct kp_conncache_stats st;
	struct kp_cc_key k;
	int n;

	key4(&k, "198.18.0.1", "198.19.0.2", 80, IPPROTO_TCP);
	kp_conncache_add(c, &k, T0);
	CHECK(kp_conncache_check(c, &k, T0 + 10 * SEC_US - 1));
	n = kp_conncache_foreach(c, T0 + 9 * SEC_US, NULL, NULL);
	CHECK_EQ(n, 1);
	CHECK(!kp_conncache_check(c, &k, T0 + 10 * SEC_US));
	kp_conncache_stats(c, &st);
	CHECK_EQ(st.entries, 0);
	CHECK_EQ(st.expired, 1);
	/* a re-add refreshes the TTL from the new time */
	kp_conncache_add(c, &k, T0 + 20 * SEC_US);
	kp_conncache_add(c, &k, T0 + 25 * SEC_US);
	CHECK(kp_conncache_check(c, &k, T0 + 34 * SEC_US));
	/* foreach drops expired entries too */
	CHECK_EQ(kp_conncache_foreach(c, T0 + 40 * SEC_US, NULL, NULL), 0);
	kp_conncache_stats(c, &st);
	CHECK_EQ(st.entries, 0);
	CHECK_EQ(st.expired, 2);
	kp_conncache_close(c);
}

KP_TEST(default_ttl_is_five_minutes)
{
	struct kp_conncache *c = open_us(16, 0);
	struct kp_cc_key k;

	key4(&k, "198.18.0.1", "198.19.0.2", 80, IPPROTO_TCP);
	kp_conncache_add(c, &k, T0);
	CHECK(kp_conncache_check(c, &k, T0 + 299 * SEC_US));
	CHECK(!kp_conncache_check(c, &k, T0 + 300 * SEC_US));
	kp_conncache_close(c);
}

KP_TEST(bounded_size_lru_eviction)
{
	struct kp_conncache *c = open_us(4, 300);
	struct kp_conncache_stats st;
	struct kp_cc_key k[6];
	char ip[32];

	for (int i = 0; i < 6; i++) {
		snprintf(ip, sizeof(ip), "198.18.1.%d", i + 1);
		key4(&k[i], ip, "198.19.0.2", 443, IPPROTO_TCP);
	}
	for (int i = 0; i < 4; i++)
		kp_conncache_add(c, &k[i], T0 + (uint64_t)i);
	/* touch k[0]: k[1] becomes the least recently used */
	CHECK(kp_conncache_check(c, &k[0], T0 + 10));
	kp_conncache_add(c, &k[4], T0 + 11);
	kp_conncache_stats(c, &st);
	CHECK_EQ(st.entries, 4);
	CHECK_EQ(st.evicted, 1);
	CHECK(!kp_conncache_check(c, &k[1], T0 + 12));
	CHECK(kp_conncache_check(c, &k[0], T0 + 12));
	CHECK(kp_conncache_check(c, &k[2], T0 + 12));
	CHECK(kp_conncache_check(c, &k[3], T0 + 12));
	CHECK(kp_conncache_check(c, &k[4], T0 + 12));
	/* now k[0] is the oldest used */
	kp_conncache_add(c, &k[5], T0 + 13);
	CHECK(!kp_conncache_check(c, &k[0], T0 + 14));
	CHECK(kp_conncache_check(c, &k[5], T0 + 14));
	kp_conncache_stats(c, &st);
	CHECK_EQ(st.entries, 4);
	CHECK_EQ(st.evicted, 2);
	kp_conncache_close(c);
}

KP_TEST(ipv6_keys)
{
	struct kp_conncache *c = open_us(16, 300);
	struct kp_cc_key k, k2;
	uint8_t a[16], b[16], b2[16];

	inet_pton(AF_INET6, "2001:2::1", a);
	inet_pton(AF_INET6, "2001:2:0:1::2", b);
	inet_pton(AF_INET6, "2001:2:0:1::3", b2);
	kp_cc_key_from_flow(&k, AF_INET6, a, b, 6881, IPPROTO_TCP);
	CHECK_EQ(k.family, 6);
	CHECK(!memcmp(k.daddr, b, 16));
	kp_conncache_add(c, &k, T0);
	kp_cc_key_from_flow(&k2, AF_INET6, a, b, 6881, IPPROTO_TCP);
	CHECK(kp_conncache_check(c, &k2, T0 + 1));
	kp_cc_key_from_flow(&k2, AF_INET6, a, b2, 6881, IPPROTO_TCP);
	CHECK(!kp_conncache_check(c, &k2, T0 + 1));
	/* an IPv4 key whose 4 bytes equal the IPv6 prefix is another key */
	kp_cc_key_from_flow(&k2, AF_INET, a, b, 6881, IPPROTO_TCP);
	CHECK(!kp_conncache_check(c, &k2, T0 + 1));
	kp_conncache_close(c);
}

struct seen {
	int n;
	uint64_t hits;
	uint64_t ttl;
	uint16_t port;
};

static void collect(void *arg, const struct kp_cc_key *k, uint64_t hits, uint64_t ttl_left_s)
{
	struct seen *s = arg;

	s->n++;
	s->hits += hits;
	s->ttl = ttl_left_s;
	s->port = ntohs(k->dport);
}

KP_TEST(foreach_shows_hits_and_ttl_left)
{
	struct kp_conncache *c = open_us(16, 60);
	struct kp_cc_key k;
	struct seen s = {0};

	key4(&k, "198.18.0.1", "198.19.0.2", 4662, IPPROTO_TCP);
	kp_conncache_add(c, &k, T0);
	kp_conncache_check(c, &k, T0 + 1);
	kp_conncache_check(c, &k, T0 + 2);
	CHECK_EQ(kp_conncache_foreach(c, T0 + 20 * SEC_US, collect, &s), 1);
	CHECK_EQ(s.n, 1);
	CHECK_EQ(s.hits, 2);
	CHECK_EQ(s.ttl, 40);
	CHECK_EQ(s.port, 4662);
	CHECK_EQ(kp_conncache_remove(c, &k), 0);
	CHECK_EQ(kp_conncache_remove(c, &k), -ENOENT);
	CHECK(!kp_conncache_check(c, &k, T0 + 21 * SEC_US));
	kp_conncache_close(c);
}

struct worker_arg {
	struct kp_conncache *c;
	int id;
	int hits;
};

#define WORKER_KEYS 2000

static void *worker(void *p)
{
	struct worker_arg *w = p;
	struct kp_cc_key k;

	for (int i = 0; i < WORKER_KEYS; i++) {
		uint8_t a[4] = {198, 18, (uint8_t)(w->id), (uint8_t)(i & 0xff)};
		uint8_t b[4] = {198, 19, 0, 1};

		kp_cc_key_from_flow(&k, AF_INET, a, b, (uint16_t)(1000 + i), IPPROTO_TCP);
		kp_conncache_add(w->c, &k, T0);
		if (kp_conncache_check(w->c, &k, T0 + 1))
			w->hits++;
	}
	return NULL;
}

KP_TEST(two_threads_share_one_cache)
{
	struct kp_conncache *c = open_us(1024, 300);
	struct worker_arg w[2] = {{c, 1, 0}, {c, 2, 0}};
	struct kp_conncache_stats st;
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	kp_conncache_stats(c, &st);
	CHECK_EQ(st.adds, 2 * WORKER_KEYS);
	CHECK_EQ(st.entries, 1024);
	CHECK_EQ(st.evicted, 2 * WORKER_KEYS - 1024);
	/* each thread's check follows its own add; with 1024 slots and 2 threads nothing
	 * can evict a key between the two calls */
	CHECK_EQ(w[0].hits + w[1].hits, 2 * WORKER_KEYS);
	CHECK_EQ(st.hits_user, 2 * WORKER_KEYS);
	CHECK_EQ(kp_conncache_foreach(c, T0 + 2, NULL, NULL), 1024);
	kp_conncache_close(c);
}

KP_TEST(bpf_requested_without_interfaces_or_privilege_falls_back_or_loads)
{
	static const char *const ifs[] = {"kqc-nonexistent0"};
	struct kp_conncache_config cfg = {.size = 64, .ttl_s = 60, .use_bpf = true, .ifaces = ifs,
					  .n_ifaces = 1};
	struct kp_conncache *c = NULL;
	char err[256] = "", warn[256] = "";
	struct kp_cc_key k;

	/* a missing interface: the user-space cache, with a warning naming it */
	CHECK_EQ(kp_conncache_open(&c, &cfg, err, sizeof(err), warn, sizeof(warn)), 0);
	CHECK(c && !kp_conncache_is_bpf(c));
	CHECK(warn[0] != '\0');
#ifdef HAVE_BPF
	CHECK(strstr(warn, "kqc-nonexistent0") != NULL);
#endif
	printf("# warning was: %s\n", warn);
	key4(&k, "198.18.0.1", "198.19.0.2", 80, IPPROTO_TCP);
	kp_conncache_add(c, &k, T0);
	CHECK(kp_conncache_check(c, &k, T0 + 1));
	kp_conncache_close(c);
}

KP_TEST_MAIN()
