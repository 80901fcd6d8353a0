/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the blocking policy: rule parse errors with FILE:LINE, first-match
 * order, app rules waiting for classification, address rules deciding at once,
 * CIDR edges for IPv4 and IPv6, port ranges, the defaults, and the reload holder
 * with a reference held by another thread.
 */
#include "policy/policy.h"
#include "app/app.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>

#define CONF "/etc/kp2padm/kp2padm.conf"

/* Builds a policy from rule lines (line numbers 10, 11, ...); NULL if one fails. */
static struct kp_policy *mk(const char *const *rules, int n)
{
	struct kp_policy *p = kp_policy_new();
	char err[512];

	for (int i = 0; i < n; i++) {
		if (kp_policy_add_rule(p, rules[i], CONF, 10 + (unsigned)i, err, sizeof(err))) {
			fprintf(stderr, "  unexpected error: %s\n", err);
			kp_policy_put(p);
			return NULL;
		}
	}
	return p;
}

struct flow {
	struct kp_policy_flow f;
	uint8_t c[16], s[16];
};

static void flow(struct flow *fl, const char *c, uint16_t cport, const char *s, uint16_t sport,
		 uint8_t proto)
{
	memset(fl, 0, sizeof(*fl));
	fl->f.family = strchr(c, ':') ? AF_INET6 : AF_INET;
	inet_pton(fl->f.family, c, fl->c);
	inet_pton(fl->f.family, s, fl->s);
	fl->f.caddr = fl->c;
	fl->f.saddr = fl->s;
	fl->f.cport = cport;
	fl->f.sport = sport;
	fl->f.proto = proto;
}

static enum kp_policy_result decide(const struct kp_policy *p, struct flow *fl, int app,
				    const char **name)
{
	const struct kp_policy_rule_info *ri = (const void *)1;
	enum kp_policy_result r;

	fl->f.classified = app >= 0;
	fl->f.app = app >= 0 ? (uint16_t)app : 0;
	r = kp_policy_decide(p, &fl->f, &ri);
	*name = ri ? ri->name : NULL;
	return r;
}

/* Expects `text` at line 7 to fail with exactly "CONF:7: rule: " + want (prefix). */
static int parse_err(const char *text, const char *want)
{
	struct kp_policy *p = kp_policy_new();
	char err[512] = "", full[512];
	int rc = kp_policy_add_rule(p, text, CONF, 7, err, sizeof(err));

	snprintf(full, sizeof(full), CONF ":7: rule: %s", want);
	kp_policy_put(p);
	if (rc != -1 || strncmp(err, full, strlen(full))) {
		fprintf(stderr, "  rule '%s': rc %d, err '%s', want '%s'\n", text, rc, err, full);
		return 1;
	}
	return 0;
}

KP_TEST(policy_parse_errors_name_file_and_line)
{
	CHECK_EQ(parse_err("allow app=http", "unknown action 'allow' (pass or block)"), 0);
	CHECK_EQ(parse_err("", "missing action"), 0);
	CHECK_EQ(parse_err("block src=198.18.0.0/33", "bad address '198.18.0.0/33' in src="), 0);
	CHECK_EQ(parse_err("block dst=198.18.0.300", "bad address '198.18.0.300' in dst="), 0);
	CHECK_EQ(parse_err("block dst=2001:2::/129", "bad address '2001:2::/129' in dst="), 0);
	CHECK_EQ(parse_err("block src=198.18.0.0/15,", "bad address '198.18.0.0/15,' in src="), 0);
	CHECK_EQ(parse_err("block src=198.18.0.0/", "bad address '198.18.0.0/' in src="), 0);
	CHECK_EQ(parse_err("block dport=80-21", "bad port range '80-21' in dport="), 0);
	CHECK_EQ(parse_err("block dport=65536", "bad port range '65536' in dport="), 0);
	CHECK_EQ(parse_err("block sport=1-", "bad port range '1-' in sport="), 0);
	CHECK_EQ(parse_err("block dport=x", "bad port range 'x' in dport="), 0);
	CHECK_EQ(parse_err("block app=http,kazaa", "unknown app 'kazaa'"), 0);
	CHECK_EQ(parse_err("pass app=bittorrent reset", "'reset' only goes with block"), 0);
	CHECK_EQ(parse_err("block proto=udp reset", "'reset' sends TCP resets"), 0);
	CHECK_EQ(parse_err("block proto=icmp", "unknown protocol 'icmp' (tcp or udp)"), 0);
	CHECK_EQ(parse_err("block app=http app=ftp", "app= given twice"), 0);
	CHECK_EQ(parse_err("block port=80", "unknown key 'port'"), 0);
	CHECK_EQ(parse_err("block now", "unknown word 'now'"), 0);
	CHECK_EQ(parse_err("block name=a/b", "bad name 'a/b'"), 0);
	CHECK_EQ(parse_err("block app=", "app= without a value"), 0);
}

KP_TEST(policy_set_keys)
{
	struct kp_policy *p = kp_policy_new();
	char err[256] = "";

	CHECK(!kp_policy_classifying_blocks(p));
	CHECK(!kp_policy_unknown_blocks(p));
	CHECK_EQ(kp_policy_set(p, "policy.classifying", "block", err, sizeof(err)), 0);
	CHECK_EQ(kp_policy_set(p, "policy.unknown", "block", err, sizeof(err)), 0);
	CHECK(kp_policy_classifying_blocks(p));
	CHECK(kp_policy_unknown_blocks(p));
	CHECK_EQ(kp_policy_set(p, "policy.unknown", "drop", err, sizeof(err)), -1);
	CHECK_STR(err, "policy.unknown: 'drop' is not pass or block");
	CHECK_EQ(kp_policy_set(p, "policy.default", "pass", err, sizeof(err)), -1);
	CHECK(strncmp(err, "unknown key 'policy.default'", 28) == 0);
	kp_policy_put(p);
}

KP_TEST(policy_rule_info)
{
	const char *r[] = {"  pass dst=198.18.0.1  ", "block name=no-p2p app=bittorrent,edonkey reset"};
	struct kp_policy *p = mk(r, 2);
	const struct kp_policy_rule_info *ri;
	struct flow fl;

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ(kp_policy_rule_count(p), 2);
	CHECK(kp_policy_has_app_rules(p));
	flow(&fl, "198.18.0.2", 40000, "198.19.0.1", 6881, IPPROTO_TCP);
	fl.f.classified = true;
	fl.f.app = KP_APP_EDONKEY;
	CHECK_EQ(kp_policy_decide(p, &fl.f, &ri), KP_POLICY_BLOCK);
	CHECK(ri != NULL);
	if (ri) {
		CHECK_STR(ri->name, "no-p2p");
		CHECK_STR(ri->file, CONF);
		CHECK_EQ(ri->line, 11);
		CHECK_STR(ri->text, "block name=no-p2p app=bittorrent,edonkey reset");
		CHECK(ri->reset);
	}
	flow(&fl, "198.18.0.2", 40000, "198.18.0.1", 80, IPPROTO_TCP);
	CHECK_EQ(kp_policy_decide(p, &fl.f, &ri), KP_POLICY_PASS);
	CHECK(ri != NULL);
	if (ri) {
		CHECK_STR(ri->name, "rule1");
		CHECK_STR(ri->text, "pass dst=198.18.0.1");
		CHECK(!ri->reset);
	}
	kp_policy_put(p);
}

KP_TEST(policy_first_match_order)
{
	const char *r[] = {
		"pass name=lab-http app=http src=198.18.5.0/24",
		"block name=all-http app=http",
		"pass name=late app=http,bittorrent",
	};
	struct kp_policy *p = mk(r, 3);
	struct flow fl;
	const char *n;

	CHECK(p != NULL);
	if (!p)
		return;
	flow(&fl, "198.18.5.9", 40000, "198.19.0.1", 80, IPPROTO_TCP);
	CHECK_EQ(decide(p, &fl, KP_APP_HTTP, &n), KP_POLICY_PASS);
	CHECK_STR(n, "lab-http");
	flow(&fl, "198.18.6.9", 40000, "198.19.0.1", 80, IPPROTO_TCP);
	CHECK_EQ(decide(p, &fl, KP_APP_HTTP, &n), KP_POLICY_BLOCK);
	CHECK_STR(n, "all-http");
	CHECK_EQ(decide(p, &fl, KP_APP_BITTORRENT, &n), KP_POLICY_PASS);
	CHECK_STR(n, "late");
	/* an app in no list: default, no rule */
	CHECK_EQ(decide(p, &fl, KP_APP_SSH, &n), KP_POLICY_PASS);
	CHECK(n == NULL);
	kp_policy_put(p);
}

KP_TEST(policy_app_rules_wait_for_classification)
{
	const char *r[] = {"block name=bt app=bittorrent", "pass name=rest dst=198.19.0.0/16"};
	struct kp_policy *p = mk(r, 2);
	struct flow fl;
	const char *n;

	CHECK(p != NULL);
	if (!p)
		return;
	flow(&fl, "198.18.0.2", 40000, "198.19.0.1", 6881, IPPROTO_TCP);
	/* rule 2 would pass it, but rule 1 may still claim it: undecided */
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_UNDECIDED);
	CHECK(n == NULL);
	CHECK_EQ(decide(p, &fl, KP_APP_BITTORRENT, &n), KP_POLICY_BLOCK);
	CHECK_STR(n, "bt");
	CHECK_EQ(decide(p, &fl, KP_APP_HTTP, &n), KP_POLICY_PASS);
	CHECK_STR(n, "rest");
	kp_policy_put(p);
}

KP_TEST(policy_address_rules_decide_at_once)
{
	const char *r[] = {
		"block name=bad-host src=198.18.9.9",
		"pass name=trusted dst=198.19.1.0/24 proto=tcp",
		"block name=bt app=bittorrent",
	};
	struct kp_policy *p = mk(r, 3);
	struct flow fl;
	const char *n;

	CHECK(p != NULL);
	if (!p)
		return;
	flow(&fl, "198.18.9.9", 40000, "198.19.0.1", 80, IPPROTO_TCP);
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_BLOCK);
	CHECK_STR(n, "bad-host");
	flow(&fl, "198.18.9.8", 40000, "198.19.1.7", 80, IPPROTO_TCP);
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_PASS);
	CHECK_STR(n, "trusted");
	/* same addresses over UDP: rule 2 skipped, rule 3 waits */
	flow(&fl, "198.18.9.8", 40000, "198.19.1.7", 80, IPPROTO_UDP);
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_UNDECIDED);
	kp_policy_put(p);
}

static enum kp_policy_result one_rule(const char *rule, const char *c, const char *s)
{
	struct kp_policy *p = mk(&rule, 1);
	struct flow fl;
	const char *n;
	enum kp_policy_result res;

	if (!p)
		return KP_POLICY_UNDECIDED;
	flow(&fl, c, 1234, s, 80, IPPROTO_TCP);
	res = decide(p, &fl, KP_APP_HTTP, &n);
	kp_policy_put(p);
	return res;
}

KP_TEST(policy_cidr_edges_ipv4)
{
	const char *any = "203.0.113.1"; /* server address, irrelevant for src rules */

	CHECK_EQ(one_rule("block src=198.18.0.0/15", "198.19.255.255", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=198.18.0.0/15", "198.18.0.0", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=198.18.0.0/15", "198.20.0.0", any), KP_POLICY_PASS);
	CHECK_EQ(one_rule("block src=198.18.0.0/15", "198.17.255.255", any), KP_POLICY_PASS);
	/* /23: 198.18.2.0 - 198.18.3.255 */
	CHECK_EQ(one_rule("block src=198.18.2.0/23", "198.18.3.255", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=198.18.2.0/23", "198.18.4.0", any), KP_POLICY_PASS);
	CHECK_EQ(one_rule("block src=198.18.2.0/23", "198.18.1.255", any), KP_POLICY_PASS);
	/* host bits beyond the length are ignored */
	CHECK_EQ(one_rule("block src=198.18.3.77/23", "198.18.2.1", any), KP_POLICY_BLOCK);
	/* /32 and no length */
	CHECK_EQ(one_rule("block src=198.18.0.1/32", "198.18.0.1", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=198.18.0.1/32", "198.18.0.0", any), KP_POLICY_PASS);
	CHECK_EQ(one_rule("block src=198.18.0.1", "198.18.0.1", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=198.18.0.1", "198.18.0.2", any), KP_POLICY_PASS);
	/* /0: every IPv4 address, no IPv6 one */
	CHECK_EQ(one_rule("block dst=0.0.0.0/0", "198.18.0.1", "255.255.255.255"), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block dst=0.0.0.0/0", "2001:2::1", "2001:2::2"), KP_POLICY_PASS);
	/* list: any of */
	CHECK_EQ(one_rule("block dst=198.19.0.1,198.19.0.3", "198.18.0.1", "198.19.0.3"),
		 KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block dst=198.19.0.1,198.19.0.3", "198.18.0.1", "198.19.0.2"),
		 KP_POLICY_PASS);
	/* src is the client, dst the server: not the other way round */
	CHECK_EQ(one_rule("block src=198.19.0.3", "198.18.0.1", "198.19.0.3"), KP_POLICY_PASS);
}

KP_TEST(policy_cidr_edges_ipv6)
{
	const char *any = "2001:db8::1";

	CHECK_EQ(one_rule("block src=2001:2::/48", "2001:2::ffff:1", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=2001:2::/48", "2001:2:0:ffff:ffff:ffff:ffff:ffff", any),
		 KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=2001:2::/48", "2001:2:1::", any), KP_POLICY_PASS);
	CHECK_EQ(one_rule("block src=2001:2::/47", "2001:2:1:ffff::1", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=2001:2::/47", "2001:2:2::", any), KP_POLICY_PASS);
	CHECK_EQ(one_rule("block src=2001:2::1/128", "2001:2::1", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=2001:2::1/128", "2001:2::", any), KP_POLICY_PASS);
	CHECK_EQ(one_rule("block src=2001:2::1/127", "2001:2::", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=2001:2::1/127", "2001:2::2", any), KP_POLICY_PASS);
	CHECK_EQ(one_rule("block src=::/0", "ffff::1", any), KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=::/0", "198.18.0.1", "198.19.0.1"), KP_POLICY_PASS);
	CHECK_EQ(one_rule("block src=198.18.0.0/15,2001:2::/48", "2001:2::9", any),
		 KP_POLICY_BLOCK);
	CHECK_EQ(one_rule("block src=198.18.0.0/15,2001:2::/48", "198.18.1.1", "198.19.0.1"),
		 KP_POLICY_BLOCK);
}

KP_TEST(policy_port_ranges)
{
	const char *r[] = {
		"block name=hi dport=6881-6889 proto=tcp",
		"block name=cli sport=0-1023",
		"pass name=one dport=443",
	};
	struct kp_policy *p = mk(r, 3);
	struct flow fl;
	const char *n;

	CHECK(p != NULL);
	if (!p)
		return;
	flow(&fl, "198.18.0.2", 40000, "198.19.0.1", 6881, IPPROTO_TCP);
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_BLOCK);
	CHECK_STR(n, "hi");
	fl.f.sport = 6889;
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_BLOCK);
	fl.f.sport = 6890;
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_PASS);
	CHECK(n == NULL);
	fl.f.sport = 6880;
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_PASS);
	fl.f.sport = 6885;
	fl.f.proto = IPPROTO_UDP;
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_PASS);
	/* sport is the client's port */
	flow(&fl, "198.18.0.2", 1023, "198.19.0.1", 40000, IPPROTO_UDP);
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_BLOCK);
	CHECK_STR(n, "cli");
	fl.f.cport = 1024;
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_PASS);
	fl.f.cport = 0;
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_BLOCK);
	flow(&fl, "198.18.0.2", 40000, "198.19.0.1", 443, IPPROTO_TCP);
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_PASS);
	CHECK_STR(n, "one");
	kp_policy_put(p);
}

KP_TEST(policy_defaults)
{
	struct kp_policy *p = kp_policy_new();
	struct flow fl;
	const char *n;
	char err[128];

	flow(&fl, "198.18.0.2", 40000, "198.19.0.1", 80, IPPROTO_TCP);
	/* defaults pass: nothing can block, decided before classification */
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_PASS);
	CHECK(n == NULL);
	CHECK_EQ(decide(p, &fl, KP_APP_UNKNOWN, &n), KP_POLICY_PASS);
	CHECK_EQ(kp_policy_set(p, "policy.unknown", "block", err, sizeof(err)), 0);
	/* unknown = block: wait for the label */
	CHECK_EQ(decide(p, &fl, -1, &n), KP_POLICY_UNDECIDED);
	CHECK_EQ(decide(p, &fl, KP_APP_UNKNOWN, &n), KP_POLICY_BLOCK);
	CHECK(n == NULL);
	CHECK_EQ(decide(p, &fl, KP_APP_HTTP, &n), KP_POLICY_PASS);
	CHECK(n == NULL);
	/* an explicit rule for `unknown` wins over the default */
	CHECK_EQ(kp_policy_add_rule(p, "pass name=lan app=unknown src=198.18.0.0/24", CONF, 3,
				    err, sizeof(err)), 0);
	CHECK_EQ(decide(p, &fl, KP_APP_UNKNOWN, &n), KP_POLICY_PASS);
	CHECK_STR(n, "lan");
	kp_policy_put(p);
}

KP_TEST(policy_describe)
{
	const char *r[] = {"block name=bt app=edonkey,bittorrent src=198.18.3.77/23,2001:2::/48 "
			   "dport=6881-6889 proto=tcp reset"};
	struct kp_policy *p = mk(r, 1);
	char buf[1024] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	CHECK(p != NULL && f != NULL);
	if (!p || !f)
		return;
	kp_policy_describe(p, f);
	fclose(f);
	CHECK(strstr(buf, "policy: rule 1 (" CONF ":10): block name=bt app=bittorrent,edonkey "
			  "src=198.18.2.0/23,2001:2::/48 dport=6881-6889 proto=tcp reset\n") != NULL);
	CHECK(strstr(buf, "policy.unknown = pass, policy.classifying = pass") != NULL);
	kp_policy_put(p);
}

struct reader {
	struct kp_policy_holder *h;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stage; /* 1: reader holds a ref; 2: main swapped; 3: reader done */
	enum kp_policy_result before, after;
	unsigned gen_before, gen_after;
};

static void wait_stage(struct reader *rd, int s)
{
	pthread_mutex_lock(&rd->mu);
	while (rd->stage < s)
		pthread_cond_wait(&rd->cv, &rd->mu);
	pthread_mutex_unlock(&rd->mu);
}

static void set_stage(struct reader *rd, int s)
{
	pthread_mutex_lock(&rd->mu);
	rd->stage = s;
	pthread_cond_broadcast(&rd->cv);
	pthread_mutex_unlock(&rd->mu);
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct kp_policy *p = kp_policy_holder_get(rd->h);
	struct flow fl;
	const struct kp_policy_rule_info *ri;

	flow(&fl, "198.18.0.2", 40000, "198.19.0.1", 80, IPPROTO_TCP);
	rd->gen_before = kp_policy_generation(p);
	set_stage(rd, 1);
	wait_stage(rd, 2);
	/* the holder has a new policy now; ours must still be whole (ASan would see a use after
	 * free here) and still say what it said */
	rd->before = kp_policy_decide(p, &fl.f, &ri);
	if (ri && strcmp(ri->name, "old"))
		rd->before = KP_POLICY_UNDECIDED;
	kp_policy_put(p);
	p = kp_policy_holder_get(rd->h);
	rd->after = kp_policy_decide(p, &fl.f, &ri);
	rd->gen_after = kp_policy_generation(p);
	kp_policy_put(p);
	set_stage(rd, 3);
	return NULL;
}

KP_TEST(policy_holder_swap_with_reference_held)
{
	const char *r1[] = {"block name=old dst=198.19.0.1"};
	const char *r2[] = {"pass name=new dst=198.19.0.1"};
	struct kp_policy *p1 = mk(r1, 1), *p2 = mk(r2, 1), *cur;
	struct reader rd = {.stage = 0};
	pthread_t t;

	CHECK(p1 && p2);
	if (!p1 || !p2)
		return;
	CHECK_EQ(kp_policy_generation(p1), 0);
	rd.h = kp_policy_holder_new(p1);
	CHECK_EQ(kp_policy_generation(p1), 1);
	pthread_mutex_init(&rd.mu, NULL);
	pthread_cond_init(&rd.cv, NULL);
	CHECK_EQ(pthread_create(&t, NULL, reader_main, &rd), 0);
	wait_stage(&rd, 1);
	kp_policy_holder_swap(rd.h, p2); /* p1 is now referenced only by the reader */
	cur = kp_policy_holder_get(rd.h);
	CHECK(cur == p2);
	CHECK_EQ(kp_policy_generation(cur), 2);
	kp_policy_put(cur);
	set_stage(&rd, 2);
	pthread_join(t, NULL);
	CHECK_EQ(rd.stage, 3);
	CHECK_EQ(rd.gen_before, 1);
	CHECK_EQ(rd.before, KP_POLICY_BLOCK);
	CHECK_EQ(rd.after, KP_POLICY_PASS);
	CHECK_EQ(rd.gen_after, 2);
	kp_policy_holder_free(rd.h);
	pthread_mutex_destroy(&rd.mu);
	pthread_cond_destroy(&rd.cv);
}

/* Many threads get/put while the main thread swaps: no lost or double free (run under ASan). */
struct churn {
	struct kp_policy_holder *h;
	int iters;
	unsigned max_gen;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	struct flow fl;
	unsigned last = 0;

	flow(&fl, "198.18.0.2", 40000, "198.19.0.1", 80, IPPROTO_TCP);
	for (int i = 0; i < c->iters; i++) {
		struct kp_policy *p = kp_policy_holder_get(c->h);
		unsigned g = kp_policy_generation(p);

		(void)kp_policy_decide(p, &fl.f, NULL);
		if (g < last)
			c->max_gen = 0xffffffffu; /* generations must not go back */
		last = g;
		kp_policy_put(p);
	}
	if (c->max_gen != 0xffffffffu)
		c->max_gen = last;
	return NULL;
}

KP_TEST(policy_holder_churn)
{
	const char *r[] = {"block name=x dst=198.19.0.1"};
	struct churn c[4];
	pthread_t t[4];
	struct kp_policy_holder *h = kp_policy_holder_new(mk(r, 1));

	for (int i = 0; i < 4; i++) {
		c[i] = (struct churn){.h = h, .iters = 20000};
		pthread_create(&t[i], NULL, churn_main, &c[i]);
	}
	for (int i = 0; i < 200; i++)
		kp_policy_holder_swap(h, mk(r, 1));
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK(c[i].max_gen <= 201);
	}
	kp_policy_holder_free(h);
}

KP_TEST_MAIN()
