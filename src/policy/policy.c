/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The blocking policy (see policy.h for the grammar and the evaluation order):
 * rule parsing with FILE:LINE errors, first-match decision per flow, and the
 * reference-counted holder that SIGHUP swaps.
 */
#include "policy/policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "policy/content_rules.h"

#define NAME_MAX_LEN 63
#define APP_WORDS ((KP_APP__COUNT + 31) / 32)

struct net {
	int family;        /* AF_INET / AF_INET6 */
	uint8_t addr[16];  /* host bits cleared */
	uint8_t len;       /* prefix length */
};

struct port_range {
	uint16_t lo, hi;
};

struct rule {
	struct kp_policy_rule_info info;
	enum kp_policy_result action;
	bool has_app, has_sport, has_dport;
	uint32_t apps[APP_WORDS];
	struct net *src, *dst;
	unsigned nsrc, ndst;
	struct port_range sport, dport;
	uint8_t proto; /* 0: any */
};

struct kp_policy {
	atomic_uint refs;
	unsigned generation;
	enum kp_policy_result unknown, classifying;
	struct rule *rules;
	unsigned nrules, cap;
	bool has_app_rules;
	struct kp_content_rules *content; /* file = / chat = rules; NULL: none */
};

struct kp_policy_holder {
	pthread_mutex_t mu;
	struct kp_policy *cur;
	unsigned generation;
};

struct kp_policy *kp_policy_new(void)
{
	struct kp_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	atomic_init(&p->refs, 1);
	p->unknown = KP_POLICY_PASS;
	p->classifying = KP_POLICY_PASS;
	return p;
}

static void rule_free(struct rule *r)
{
	free((char *)r->info.name);
	free((char *)r->info.file);
	free((char *)r->info.text);
	free(r->src);
	free(r->dst);
}

static void policy_free(struct kp_policy *p)
{
	kp_content_rules_free(p->content);
	for (unsigned i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p);
}

struct kp_policy *kp_policy_ref(struct kp_policy *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void kp_policy_put(struct kp_policy *p)
{
	if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		policy_free(p);
}

/* ---- parsing ---- */

/* Parses "ADDR[/LEN]" (len bytes at s, not NUL terminated). */
static int parse_net(const char *s, size_t len, struct net *n)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	unsigned max, plen;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else {
		return -1;
	}
	plen = max;
	if (slash) {
		const char *d = slash + 1;

		if (!*d || strlen(d) > 3)
			return -1;
		plen = 0;
		for (; *d; d++) {
			if (!isdigit((unsigned char)*d))
				return -1;
			plen = plen * 10 + (unsigned)(*d - '0');
		}
		if (plen > max)
			return -1;
	}
	n->len = (uint8_t)plen;
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = plen > i * 8 ? plen - i * 8 : 0;

		if (bits < 8)
			n->addr[i] &= (uint8_t)(0xff00u >> bits);
	}
	return 0;
}

static int parse_port(const char *s, const char *e, uint16_t *out)
{
	unsigned v = 0;

	if (s == e || e - s > 5)
		return -1;
	for (; s < e; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_range(const char *v, struct port_range *r)
{
	const char *dash = strchr(v, '-');
	const char *end = v + strlen(v);

	if (parse_port(v, dash ? dash : end, &r->lo))
		return -1;
	if (!dash) {
		r->hi = r->lo;
		return 0;
	}
	if (parse_port(dash + 1, end, &r->hi) || r->hi < r->lo)
		return -1;
	return 0;
}

static int parse_nets(const char *v, struct net **out, unsigned *n)
{
	unsigned cnt = 1;
	const char *s = v;

	for (const char *c = v; *c; c++)
		cnt += *c == ',';
	*out = calloc(cnt, sizeof(**out));
	if (!*out)
		return -2;
	*n = 0;
	for (;;) {
		const char *c = strchr(s, ',');
		size_t len = c ? (size_t)(c - s) : strlen(s);

		if (parse_net(s, len, &(*out)[*n]))
			return -1;
		(*n)++;
		if (!c)
			break;
		s = c + 1;
	}
	return 0;
}

static bool name_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > NAME_MAX_LEN)
		return false;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && !strchr("_.:-", *v))
			return false;
	return true;
}

/* Bad value of key: err gets the value or the part of it that failed. */
#define FAIL(...)                                                                                  \
	do {                                                                                       \
		char _m[384];                                                                      \
		snprintf(_m, sizeof(_m), __VA_ARGS__);                                             \
		snprintf(err, errlen, "%s:%u: rule: %s", file, line, _m);                          \
		goto fail;                                                                         \
	} while (0)

int kp_policy_add_rule(struct kp_policy *p, const char *text, const char *file, unsigned line,
		       char *err, size_t errlen)
{
	struct rule r;
	char *copy = NULL, *tok, *save = NULL;
	bool seen_name = false, seen_app = false, seen_src = false, seen_dst = false,
	     seen_proto = false;
	char defname[32];

	memset(&r, 0, sizeof(r));
	if (!file)
		file = "(config)";
	while (isspace((unsigned char)*text))
		text++;
	copy = strdup(text);
	r.info.file = strdup(file);
	r.info.text = strdup(text);
	if (!copy || !r.info.file || !r.info.text)
		FAIL("out of memory");
	/* trim the stored text */
	for (char *e = (char *)r.info.text + strlen(r.info.text);
	     e > r.info.text && isspace((unsigned char)e[-1]);)
		*--e = '\0';
	r.info.line = line;

	tok = strtok_r(copy, " \t\r\n", &save);
	if (!tok)
		FAIL("missing action (pass or block)");
	if (!strcmp(tok, "pass"))
		r.action = KP_POLICY_PASS;
	else if (!strcmp(tok, "block"))
		r.action = KP_POLICY_BLOCK;
	else
		FAIL("unknown action '%s' (pass or block)", tok);

	while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
		char *eq = strchr(tok, '=');
		const char *key = tok, *val;

		if (!eq) {
			if (!strcmp(tok, "reset")) {
				if (r.info.reset)
					FAIL("'reset' given twice");
				r.info.reset = true;
				continue;
			}
			FAIL("unknown word '%s' (expected KEY=VALUE or reset)", tok);
		}
		*eq = '\0';
		val = eq + 1;
		if (!*val)
			FAIL("%s= without a value", key);
		if (!strcmp(key, "name")) {
			if (seen_name)
				FAIL("name= given twice");
			seen_name = true;
			if (!name_ok(val))
				FAIL("bad name '%s' (1-%d of A-Z a-z 0-9 _ . : -)", val, NAME_MAX_LEN);
			r.info.name = strdup(val);
			if (!r.info.name)
				FAIL("out of memory");
		} else if (!strcmp(key, "app")) {
			const char *s = val;

			if (seen_app)
				FAIL("app= given twice");
			seen_app = true;
			r.has_app = true;
			for (;;) {
				const char *c = strchr(s, ',');
				size_t len = c ? (size_t)(c - s) : strlen(s);
				char name[64];
				int id;

				if (len == 0 || len >= sizeof(name))
					FAIL("bad app list '%s'", val);
				memcpy(name, s, len);
				name[len] = '\0';
				id = kp_app_by_name(name);
				if (id < 0)
					FAIL("unknown app '%s' (a label of the events: bittorrent, "
					     "http, unknown, ...)", name);
				r.apps[id / 32] |= 1u << (id % 32);
				if (!c)
					break;
				s = c + 1;
			}
		} else if (!strcmp(key, "src") || !strcmp(key, "dst")) {
			bool is_src = key[0] == 's';
			int rc;

			if (is_src ? seen_src : seen_dst)
				FAIL("%s= given twice", key);
			if (is_src)
				seen_src = true;
			else
				seen_dst = true;
			rc = is_src ? parse_nets(val, &r.src, &r.nsrc) : parse_nets(val, &r.dst, &r.ndst);
			if (rc == -2)
				FAIL("out of memory");
			if (rc)
				FAIL("bad address '%s' in %s= (IPv4 or IPv6 address with optional /LEN)",
				     val, key);
		} else if (!strcmp(key, "sport") || !strcmp(key, "dport")) {
			bool is_s = key[0] == 's';

			if (is_s ? r.has_sport : r.has_dport)
				FAIL("%s= given twice", key);
			if (parse_range(val, is_s ? &r.sport : &r.dport))
				FAIL("bad port range '%s' in %s= (P or P-Q, 0-65535, P <= Q)", val,
				     key);
			if (is_s)
				r.has_sport = true;
			else
				r.has_dport = true;
		} else if (!strcmp(key, "proto")) {
			if (seen_proto)
				FAIL("proto= given twice");
			seen_proto = true;
			if (!strcmp(val, "tcp"))
				r.proto = IPPROTO_TCP;
			else if (!strcmp(val, "udp"))
				r.proto = IPPROTO_UDP;
			else
				FAIL("unknown protocol '%s' (tcp or udp)", val);
		} else {
			FAIL("unknown key '%s' (name, app, src, dst, sport, dport, proto, reset)", key);
		}
	}
	if (r.info.reset && r.action != KP_POLICY_BLOCK)
		FAIL("'reset' only goes with block");
	if (r.info.reset && r.proto == IPPROTO_UDP)
		FAIL("'reset' sends TCP resets: not with proto=udp");
	if (!r.info.name) {
		snprintf(defname, sizeof(defname), "rule%u", p->nrules + 1);
		r.info.name = strdup(defname);
		if (!r.info.name)
			FAIL("out of memory");
	}
	if (p->nrules == p->cap) {
		unsigned ncap = p->cap ? p->cap * 2 : 8;
		struct rule *nr = realloc(p->rules, ncap * sizeof(*nr));

		if (!nr)
			FAIL("out of memory");
		p->rules = nr;
		p->cap = ncap;
	}
	p->rules[p->nrules++] = r;
	if (r.has_app)
		p->has_app_rules = true;
	free(copy);
	return 0;
fail:
	rule_free(&r);
	free(copy);
	return -1;
}

#undef FAIL

static struct kp_content_rules *content_of(struct kp_policy *p)
{
	if (!p->content)
		p->content = kp_content_rules_new();
	return p->content;
}

int kp_policy_add_content_rule(struct kp_policy *p, bool chat, const char *text,
			       const char *file, unsigned line, char *err, size_t errlen)
{
	struct kp_content_rules *r = content_of(p);

	if (!r) {
		snprintf(err, errlen, "%s:%u: out of memory", file ? file : "-", line);
		return -1;
	}
	return chat ? kp_content_add_chat_rule(r, text, file, line, err, errlen)
		    : kp_content_add_file_rule(r, text, file, line, err, errlen);
}

const struct kp_content_rules *kp_policy_content(const struct kp_policy *p)
{
	return p ? p->content : NULL;
}

int kp_policy_set(struct kp_policy *p, const char *key, const char *val, char *err,
		  size_t errlen)
{
	enum kp_policy_result *dst, v;

	if (!strcmp(key, "policy.unknown")) {
		dst = &p->unknown;
	} else if (!strcmp(key, "policy.classifying")) {
		dst = &p->classifying;
	} else {
		snprintf(err, errlen, "unknown key '%s' (policy.unknown, policy.classifying)", key);
		return -1;
	}
	if (!strcmp(val, "pass")) {
		v = KP_POLICY_PASS;
	} else if (!strcmp(val, "block")) {
		v = KP_POLICY_BLOCK;
	} else {
		snprintf(err, errlen, "%s: '%s' is not pass or block", key, val);
		return -1;
	}
	*dst = v;
	return 0;
}

/* ---- evaluation ---- */

static bool net_has(const struct net *n, int family, const uint8_t *a)
{
	unsigned full = n->len / 8, rest = n->len % 8;

	if (n->family != family)
		return false;
	if (memcmp(n->addr, a, full))
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xff00u >> rest);

		if ((a[full] & m) != n->addr[full])
			return false;
	}
	return true;
}

static bool nets_have(const struct net *nets, unsigned n, int family, const uint8_t *a)
{
	for (unsigned i = 0; i < n; i++)
		if (net_has(&nets[i], family, a))
			return true;
	return false;
}

static bool rule_matches_l3l4(const struct rule *r, const struct kp_policy_flow *f)
{
	if (r->proto && r->proto != f->proto)
		return false;
	if (r->has_sport && (f->cport < r->sport.lo || f->cport > r->sport.hi))
		return false;
	if (r->has_dport && (f->sport < r->dport.lo || f->sport > r->dport.hi))
		return false;
	if (r->nsrc && !nets_have(r->src, r->nsrc, f->family, f->caddr))
		return false;
	if (r->ndst && !nets_have(r->dst, r->ndst, f->family, f->saddr))
		return false;
	return true;
}

enum kp_policy_result kp_policy_decide(const struct kp_policy *p, const struct kp_policy_flow *f,
				       const struct kp_policy_rule_info **rule)
{
	if (rule)
		*rule = NULL;
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (!rule_matches_l3l4(r, f))
			continue;
		if (r->has_app) {
			if (!f->classified)
				return KP_POLICY_UNDECIDED;
			if (f->app >= KP_APP__COUNT || !(r->apps[f->app / 32] & (1u << (f->app % 32))))
				continue;
		}
		if (rule)
			*rule = &r->info;
		return r->action;
	}
	if (!f->classified)
		return p->unknown == KP_POLICY_PASS ? KP_POLICY_PASS : KP_POLICY_UNDECIDED;
	if (f->app == KP_APP_UNKNOWN || f->app >= KP_APP__COUNT)
		return p->unknown;
	return KP_POLICY_PASS;
}

bool kp_policy_classifying_blocks(const struct kp_policy *p)
{
	return p->classifying == KP_POLICY_BLOCK;
}

bool kp_policy_unknown_blocks(const struct kp_policy *p)
{
	return p->unknown == KP_POLICY_BLOCK;
}

enum kp_policy_result kp_policy_rule_action(const struct kp_policy *p, const char *name)
{
	for (unsigned i = 0; p && i < p->nrules; i++)
		if (!strcmp(p->rules[i].info.name, name))
			return p->rules[i].action;
	return KP_POLICY_UNDECIDED;
}

unsigned kp_policy_rule_count(const struct kp_policy *p)
{
	return p->nrules;
}

bool kp_policy_has_app_rules(const struct kp_policy *p)
{
	return p->has_app_rules;
}

unsigned kp_policy_generation(const struct kp_policy *p)
{
	return p->generation;
}

static void print_nets(FILE *out, const char *key, const struct net *n, unsigned cnt)
{
	char buf[INET6_ADDRSTRLEN];

	fprintf(out, " %s=", key);
	for (unsigned i = 0; i < cnt; i++) {
		inet_ntop(n[i].family, n[i].addr, buf, sizeof(buf));
		fprintf(out, "%s%s/%u", i ? "," : "", buf, n[i].len);
	}
}

static void print_range(FILE *out, const char *key, const struct port_range *r)
{
	if (r->lo == r->hi)
		fprintf(out, " %s=%u", key, r->lo);
	else
		fprintf(out, " %s=%u-%u", key, r->lo, r->hi);
}

void kp_policy_describe(const struct kp_policy *p, FILE *out)
{
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		fprintf(out, "policy: rule %u (%s:%u): %s name=%s", i + 1, r->info.file,
			r->info.line, r->action == KP_POLICY_BLOCK ? "block" : "pass",
			r->info.name);
		if (r->has_app) {
			bool first = true;

			fprintf(out, " app=");
			for (unsigned a = 0; a < KP_APP__COUNT; a++) {
				if (!(r->apps[a / 32] & (1u << (a % 32))))
					continue;
				fprintf(out, "%s%s", first ? "" : ",", kp_app_name(a));
				first = false;
			}
		}
		if (r->nsrc)
			print_nets(out, "src", r->src, r->nsrc);
		if (r->ndst)
			print_nets(out, "dst", r->dst, r->ndst);
		if (r->has_sport)
			print_range(out, "sport", &r->sport);
		if (r->has_dport)
			print_range(out, "dport", &r->dport);
		if (r->proto)
			fprintf(out, " proto=%s", r->proto == IPPROTO_TCP ? "tcp" : "udp");
		if (r->info.reset)
			fprintf(out, " reset");
		fputc('\n', out);
	}
	fprintf(out, "policy: %u rule%s; policy.unknown = %s, policy.classifying = %s\n",
		p->nrules, p->nrules == 1 ? "" : "s",
		p->unknown == KP_POLICY_BLOCK ? "block" : "pass",
		p->classifying == KP_POLICY_BLOCK ? "block" : "pass");
	if (p->content) {
		fprintf(out, "policy: %u file rule%s, %u chat rule%s\n",
			kp_content_file_rule_count(p->content),
			kp_content_file_rule_count(p->content) == 1 ? "" : "s",
			kp_content_chat_rule_count(p->content),
			kp_content_chat_rule_count(p->content) == 1 ? "" : "s");
		kp_content_rules_describe(p->content, out);
	}
}

/* ---- holder ---- */

struct kp_policy_holder *kp_policy_holder_new(struct kp_policy *p)
{
	struct kp_policy_holder *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (pthread_mutex_init(&h->mu, NULL)) {
		free(h);
		return NULL;
	}
	h->generation = 1;
	p->generation = 1;
	h->cur = p;
	return h;
}

void kp_policy_holder_free(struct kp_policy_holder *h)
{
	if (!h)
		return;
	kp_policy_put(h->cur);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

struct kp_policy *kp_policy_holder_get(struct kp_policy_holder *h)
{
	struct kp_policy *p;

	pthread_mutex_lock(&h->mu);
	p = kp_policy_ref(h->cur);
	pthread_mutex_unlock(&h->mu);
	return p;
}

void kp_policy_holder_swap(struct kp_policy_holder *h, struct kp_policy *p)
{
	struct kp_policy *old;

	pthread_mutex_lock(&h->mu);
	p->generation = ++h->generation;
	old = h->cur;
	h->cur = p;
	pthread_mutex_unlock(&h->mu);
	kp_policy_put(old);
}
