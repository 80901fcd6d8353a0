/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The flow table: lookup/create, idle lists, timeouts, memcap eviction (see flow_table.h). */
#include "flow/flow_table.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

const char *kp_flow_end_reason_name(enum kp_flow_end_reason r)
{
	static const char *const n[] = {"timeout", "closed", "evicted", "shutdown", "reused",
					       "conntrack"};

	return (unsigned)r < sizeof(n) / sizeof(n[0]) ? n[r] : "unknown";
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * Hash of the 40-byte key: five independent multiplies (they pipeline) and one
 * final mix. The table's seed is random per pipeline (a hostile sender cannot
 * aim at a bucket); flow ids use a fixed seed so that they are stable.
 */
static uint64_t key_hash64(const struct kp_flow_key *k, uint64_t seed)
{
	uint64_t w[5];

	_Static_assert(sizeof(*k) == sizeof(w), "flow key is five 64-bit words");
	memcpy(w, k, sizeof(w));
	return mix64(seed ^ (w[0] * 0x9e3779b97f4a7c15ULL) ^ (w[1] * 0xc2b2ae3d27d4eb4fULL) ^
		     (w[2] * 0x165667b19e3779f9ULL) ^ (w[3] * 0xd6e8feb86659fd93ULL) ^
		     (w[4] * 0xff51afd7ed558ccdULL));
}

int kp_flow_key_make(const struct kp_pkt_info *pi, struct kp_flow_key *k)
{
	size_t alen = pi->family == AF_INET ? 4 : 16;
	int c;

	memset(k, 0, sizeof(*k));
	c = memcmp(pi->src, pi->dst, alen);
	if (c == 0)
		c = pi->sport < pi->dport ? -1 : (pi->sport > pi->dport);
	k->family = (uint8_t)pi->family;
	k->l4 = pi->l4;
	k->vlan = pi->vlan;
	if (c <= 0) {
		memcpy(k->addr[0], pi->src, alen);
		memcpy(k->addr[1], pi->dst, alen);
		k->port[0] = pi->sport;
		k->port[1] = pi->dport;
		return 0;
	}
	memcpy(k->addr[0], pi->dst, alen);
	memcpy(k->addr[1], pi->src, alen);
	k->port[0] = pi->dport;
	k->port[1] = pi->sport;
	return 1;
}

uint64_t kp_flow_id_make(const struct kp_flow_key *k, int client_side, uint64_t start_us)
{
	uint64_t h = key_hash64(k, 0x6b7032706164ULL); /* fixed seed: ids are stable across runs */

	h = mix64(h ^ start_us ^ ((uint64_t)client_side << 63));
	return h & ((1ULL << 52) - 1);
}

int kp_flow_table_init(struct kp_flow_table *t, uint32_t nbuckets, uint64_t memcap,
		       const struct kp_flow_timeouts *to, uint32_t seed, kp_flow_end_fn on_end,
		       void *arg)
{
	uint32_t n = 1;

	memset(t, 0, sizeof(*t));
	while (n < nbuckets && n < (1u << 26))
		n <<= 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets)
		return -12;
	t->nbuckets = n;
	t->seed = seed;
	t->memcap = memcap;
	t->to = *to;
	t->on_end = on_end;
	t->on_end_arg = arg;
	return 0;
}

enum kp_flow_tclass kp_flow_tclass_of(const struct kp_flow *f)
{
	if (f->bypassed && f->tcp_state != KP_TCP_CLOSED)
		return KP_TC_BYPASSED;
	if (f->key.l4 != IPPROTO_TCP)
		return (f->pkts[0] && f->pkts[1]) ? KP_TC_UDP_EST : KP_TC_UDP_NEW;
	switch (f->tcp_state) {
	case KP_TCP_ESTABLISHED:
	case KP_TCP_CLOSING:
		return KP_TC_TCP_EST;
	case KP_TCP_CLOSED:
		return KP_TC_CLOSED;
	case KP_TCP_NONE:
		/* mid-stream pickup: treat as established once both sides spoke */
		return (f->pkts[0] && f->pkts[1]) ? KP_TC_TCP_EST : KP_TC_TCP_NEW;
	default:
		return KP_TC_TCP_NEW;
	}
}

static void list_unlink(struct kp_flow_table *t, struct kp_flow *f)
{
	uint8_t c = f->tclass;

	if (f->lprev)
		f->lprev->lnext = f->lnext;
	else
		t->head[c] = f->lnext;
	if (f->lnext)
		f->lnext->lprev = f->lprev;
	else
		t->tail[c] = f->lprev;
	f->lprev = f->lnext = NULL;
}

static void list_append(struct kp_flow_table *t, struct kp_flow *f, uint8_t c)
{
	f->tclass = c;
	f->lnext = NULL;
	f->lprev = t->tail[c];
	if (t->tail[c])
		t->tail[c]->lnext = f;
	else
		t->head[c] = f;
	t->tail[c] = f;
}

void kp_flow_table_touch(struct kp_flow_table *t, struct kp_flow *f, uint64_t ts_us)
{
	if (ts_us > f->last_us)
		f->last_us = ts_us;
	list_unlink(t, f);
	list_append(t, f, (uint8_t)kp_flow_tclass_of(f));
}

static void hash_unlink(struct kp_flow_table *t, struct kp_flow *f)
{
	struct kp_flow **pp = &t->buckets[f->hash & (t->nbuckets - 1)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
}

void kp_flow_table_end(struct kp_flow_table *t, struct kp_flow *f, enum kp_flow_end_reason r)
{
	hash_unlink(t, f);
	list_unlink(t, f);
	switch (r) {
	case KP_END_TIMEOUT:
		t->st.ended_timeout++;
		break;
	case KP_END_CLOSED:
		t->st.ended_closed++;
		break;
	case KP_END_EVICTED:
		t->st.ended_evicted++;
		break;
	case KP_END_REUSED:
		t->st.tcp_reuse++;
		t->st.ended_closed++;
		break;
	default:
		t->st.ended_shutdown++;
		break;
	}
	t->st.active--;
	t->st.mem_used -= sizeof(*f);
	if (t->on_end)
		t->on_end(t->on_end_arg, f, r);
	free(f);
}

void kp_flow_table_expire(struct kp_flow_table *t, uint64_t now_us)
{
	for (int c = 0; c < KP_TC__COUNT; c++) {
		uint64_t limit = (uint64_t)t->to.s[c] * 1000000;
		struct kp_flow *f;

		while ((f = t->head[c]) && f->last_us + limit < now_us)
			kp_flow_table_end(t, f, c == KP_TC_CLOSED ? KP_END_CLOSED : KP_END_TIMEOUT);
	}
}

/* Ends the least recently active flow of all lists, other than keep. */
static bool evict_one(struct kp_flow_table *t, const struct kp_flow *keep)
{
	struct kp_flow *best = NULL;

	for (int c = 0; c < KP_TC__COUNT; c++) {
		struct kp_flow *h = t->head[c];

		if (h && h == keep)
			h = h->lnext;
		if (h && (!best || h->last_us < best->last_us))
			best = h;
	}
	if (!best)
		return false;
	kp_flow_table_end(t, best, KP_END_EVICTED);
	return true;
}

bool kp_flow_table_reserve(struct kp_flow_table *t, uint64_t bytes, const struct kp_flow *keep)
{
	bool hit = false;

	while (t->st.mem_used + bytes > t->memcap) {
		hit = true;
		if (!evict_one(t, keep))
			break;
	}
	if (hit)
		t->st.memcap_hits++;
	return t->st.mem_used + bytes <= t->memcap;
}

void kp_flow_table_mem(struct kp_flow_table *t, int64_t delta)
{
	t->st.mem_used = (uint64_t)((int64_t)t->st.mem_used + delta);
}

static int cmp_start(const void *a, const void *b)
{
	const struct kp_flow *x = *(struct kp_flow *const *)a, *y = *(struct kp_flow *const *)b;

	if (x->start_us != y->start_us)
		return x->start_us < y->start_us ? -1 : 1;
	return x->id < y->id ? -1 : (x->id > y->id);
}

void kp_flow_table_flush(struct kp_flow_table *t)
{
	struct kp_flow **all;
	size_t n = 0;

	if (!t->st.active)
		return;
	all = malloc(t->st.active * sizeof(*all));
	if (!all) {
		/* no memory to sort: end in list order */
		for (int c = 0; c < KP_TC__COUNT; c++)
			while (t->head[c])
				kp_flow_table_end(t, t->head[c], KP_END_SHUTDOWN);
		return;
	}
	for (int c = 0; c < KP_TC__COUNT; c++)
		for (struct kp_flow *f = t->head[c]; f; f = f->lnext)
			all[n++] = f;
	qsort(all, n, sizeof(*all), cmp_start);
	for (size_t i = 0; i < n; i++)
		kp_flow_table_end(t, all[i], KP_END_SHUTDOWN);
	free(all);
}

void kp_flow_table_fini(struct kp_flow_table *t)
{
	if (!t->buckets)
		return;
	kp_flow_table_flush(t);
	free(t->buckets);
	t->buckets = NULL;
}

static bool same_key(const struct kp_flow_key *a, const struct kp_flow_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static struct kp_flow *create(struct kp_flow_table *t, const struct kp_flow_key *k, uint32_t h,
			      int client_side, uint64_t ts_us)
{
	struct kp_flow *f;

	kp_flow_table_reserve(t, sizeof(*f), NULL);
	f = calloc(1, sizeof(*f));
	if (!f) {
		t->st.alloc_fail++;
		return NULL;
	}
	f->key = *k;
	f->client_side = (uint8_t)client_side;
	f->hash = h;
	f->start_us = f->last_us = ts_us;
	f->id = kp_flow_id_make(k, client_side, ts_us);
	f->sig = -1;
	f->hnext = t->buckets[h & (t->nbuckets - 1)];
	t->buckets[h & (t->nbuckets - 1)] = f;
	list_append(t, f, (uint8_t)kp_flow_tclass_of(f));
	t->st.created++;
	t->st.active++;
	if (t->st.active > t->st.active_peak)
		t->st.active_peak = t->st.active;
	t->st.mem_used += sizeof(*f);
	return f;
}

struct kp_flow *kp_flow_table_find(struct kp_flow_table *t, const struct kp_flow_key *k)
{
	uint32_t h = (uint32_t)key_hash64(k, t->seed);
	struct kp_flow *f;

	for (f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->hnext)
		if (f->hash == h && same_key(&f->key, k))
			return f;
	return NULL;
}

struct kp_flow *kp_flow_table_get(struct kp_flow_table *t, const struct kp_pkt_info *pi,
				  uint64_t ts_us, int *dir, bool *created)
{
	struct kp_flow_key k;
	int side = kp_flow_key_make(pi, &k);
	uint32_t h = (uint32_t)key_hash64(&k, t->seed);
	struct kp_flow *f;
	bool syn = pi->l4 == IPPROTO_TCP && (pi->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN;

	*created = false;
	for (f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->hnext)
		if (f->hash == h && same_key(&f->key, &k))
			break;
	if (f && syn) {
		/* A fresh SYN: port reuse if the old flow closed, or if it is from the other side. */
		bool reuse = f->tcp_state == KP_TCP_CLOSED || f->tcp_state == KP_TCP_CLOSING ||
			     (f->tcp_state == KP_TCP_ESTABLISHED && side == f->client_side &&
			      f->sd[0].init && pi->seq + 1 != f->sd[0].next_seq);
		if (reuse) {
			kp_flow_table_end(t, f, KP_END_REUSED);
			f = NULL;
		}
	}
	if (!f) {
		f = create(t, &k, h, side, ts_us);
		if (!f)
			return NULL;
		*created = true;
	}
	*dir = side == f->client_side ? 0 : 1;
	return f;
}
