/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The connection cache behind one API (conncache.h). The user-space backend is a
 * preallocated table of cfg.size entries: chained hash buckets over node indices,
 * a doubly linked LRU list (head: most recently used), a free list, one mutex.
 * The BPF backend forwards to src/kern/bpf_cache.c (built when libbpf is found:
 * HAVE_BPF) and keeps its own user-side counters with atomics.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "policy/conncache.h"
#ifdef HAVE_BPF
#include "kern/bpf_cache.h"
#endif

#define NIL UINT32_MAX

struct cc_node {
	struct kp_cc_key key;
	uint32_t hnext; /* bucket chain, or free list */
	uint32_t prev;  /* LRU list */
	uint32_t next;
	uint64_t expires_us;
	uint64_t hits;
};

struct kp_conncache {
	uint32_t ttl_s;
	uint32_t size;
#ifdef HAVE_BPF
	struct kp_bpf_cache *bpf; /* non-NULL: kernel backend */
#endif
	/* counters (atomics with the BPF backend; under lock in user space) */
	uint64_t adds, hits_user, expired, evicted;

	pthread_mutex_t lock; /* user-space backend: everything below */
	struct cc_node *nodes;
	uint32_t *buckets;
	uint32_t nbuckets; /* power of two */
	uint64_t seed;
	uint32_t lru_head, lru_tail, free_head, count;
};

static uint32_t key_hash(const struct kp_conncache *c, const struct kp_cc_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = c->seed ^ 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i + 4 <= sizeof(*k); i += 4) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		h ^= w;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	return (uint32_t)h & (c->nbuckets - 1);
}

static void lru_unlink(struct kp_conncache *c, uint32_t i)
{
	struct cc_node *n = &c->nodes[i];

	if (n->prev != NIL)
		c->nodes[n->prev].next = n->next;
	else
		c->lru_head = n->next;
	if (n->next != NIL)
		c->nodes[n->next].prev = n->prev;
	else
		c->lru_tail = n->prev;
	n->prev = n->next = NIL;
}

static void lru_push_front(struct kp_conncache *c, uint32_t i)
{
	struct cc_node *n = &c->nodes[i];

	n->prev = NIL;
	n->next = c->lru_head;
	if (c->lru_head != NIL)
		c->nodes[c->lru_head].prev = i;
	c->lru_head = i;
	if (c->lru_tail == NIL)
		c->lru_tail = i;
}

/* Index of k's node or NIL; *link: the chain slot pointing at it (for unlinking). */
static uint32_t us_find(struct kp_conncache *c, const struct kp_cc_key *k, uint32_t **link)
{
	uint32_t *l = &c->buckets[key_hash(c, k)];

	while (*l != NIL) {
		if (!memcmp(&c->nodes[*l].key, k, sizeof(*k))) {
			if (link)
				*link = l;
			return *l;
		}
		l = &c->nodes[*l].hnext;
	}
	return NIL;
}

static void us_delete(struct kp_conncache *c, uint32_t i)
{
	uint32_t *link = NULL;

	if (us_find(c, &c->nodes[i].key, &link) != i)
		return; /* cannot happen */
	*link = c->nodes[i].hnext;
	lru_unlink(c, i);
	c->nodes[i].hnext = c->free_head;
	c->free_head = i;
	c->count--;
}

static int us_init(struct kp_conncache *c)
{
	c->nbuckets = 1;
	while (c->nbuckets < c->size && c->nbuckets < (1u << 30))
		c->nbuckets <<= 1;
	c->nodes = calloc(c->size, sizeof(*c->nodes));
	c->buckets = malloc((size_t)c->nbuckets * sizeof(*c->buckets));
	if (!c->nodes || !c->buckets)
		return -ENOMEM;
	for (uint32_t b = 0; b < c->nbuckets; b++)
		c->buckets[b] = NIL;
	for (uint32_t i = 0; i < c->size; i++) {
		c->nodes[i].hnext = i + 1 < c->size ? i + 1 : NIL;
		c->nodes[i].prev = c->nodes[i].next = NIL;
	}
	c->free_head = 0;
	c->lru_head = c->lru_tail = NIL;
	if (getrandom(&c->seed, sizeof(c->seed), GRND_NONBLOCK) != sizeof(c->seed))
		c->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)c;
	return 0;
}

int kp_conncache_open(struct kp_conncache **out, const struct kp_conncache_config *cfg, char *err,
		      size_t errlen, char *warn, size_t warnlen)
{
	struct kp_conncache *c;
	int rc;

	*out = NULL;
	if (warn && warnlen)
		warn[0] = '\0';
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "connection cache: out of memory");
		return -ENOMEM;
	}
	c->size = cfg->size ? cfg->size : KP_CC_DEFAULT_ENTRIES;
	c->ttl_s = cfg->ttl_s ? cfg->ttl_s : KP_CONNCACHE_DEFAULT_TTL_S;
	pthread_mutex_init(&c->lock, NULL);
	if (cfg->use_bpf) {
#ifdef HAVE_BPF
		char berr[256];

		rc = kp_bpf_cache_open(&c->bpf, c->size, cfg->ifaces, cfg->n_ifaces, berr,
				       sizeof(berr));
		if (rc == 0) {
			*out = c;
			return 0;
		}
		if (warn && warnlen)
			snprintf(warn, warnlen, "%s; using the user-space connection cache", berr);
#else
		if (warn && warnlen)
			snprintf(warn, warnlen, "built without eBPF support (libbpf); using the "
				 "user-space connection cache");
#endif
	}
	rc = us_init(c);
	if (rc) {
		snprintf(err, errlen, "connection cache: cannot allocate %u entries", c->size);
		kp_conncache_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

bool kp_conncache_is_bpf(const struct kp_conncache *c)
{
#ifdef HAVE_BPF
	return c->bpf != NULL;
#else
	(void)c;
	return false;
#endif
}

int kp_conncache_add(struct kp_conncache *c, const struct kp_cc_key *k, uint64_t now_us)
{
	uint32_t i;

#ifdef HAVE_BPF
	if (c->bpf) {
		int rc = kp_bpf_cache_add(c->bpf, k, c->ttl_s);

		if (!rc)
			__atomic_add_fetch(&c->adds, 1, __ATOMIC_RELAXED);
		return rc;
	}
#endif
	pthread_mutex_lock(&c->lock);
	i = us_find(c, k, NULL);
	if (i != NIL) {
		lru_unlink(c, i);
	} else {
		if (c->free_head == NIL) { /* full: evict the least recently used */
			uint32_t victim = c->lru_tail;

			us_delete(c, victim);
			c->evicted++;
		}
		i = c->free_head;
		c->free_head = c->nodes[i].hnext;
		c->nodes[i].key = *k;
		c->nodes[i].hits = 0;
		uint32_t b = key_hash(c, k);

		c->nodes[i].hnext = c->buckets[b];
		c->buckets[b] = i;
		c->count++;
	}
	c->nodes[i].expires_us = now_us + (uint64_t)c->ttl_s * 1000000ull;
	lru_push_front(c, i);
	c->adds++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int kp_conncache_remove(struct kp_conncache *c, const struct kp_cc_key *k)
{
	uint32_t i;

#ifdef HAVE_BPF
	if (c->bpf)
		return kp_bpf_cache_remove(c->bpf, k);
#endif
	pthread_mutex_lock(&c->lock);
	i = us_find(c, k, NULL);
	if (i != NIL)
		us_delete(c, i);
	pthread_mutex_unlock(&c->lock);
	return i != NIL ? 0 : -ENOENT;
}

bool kp_conncache_check(struct kp_conncache *c, const struct kp_cc_key *k, uint64_t now_us)
{
	bool hit = false;
	uint32_t i;

#ifdef HAVE_BPF
	if (c->bpf) {
		int rc = kp_bpf_cache_lookup(c->bpf, k);

		if (rc == -ETIMEDOUT)
			__atomic_add_fetch(&c->expired, 1, __ATOMIC_RELAXED);
		if (rc <= 0)
			return false;
		__atomic_add_fetch(&c->hits_user, 1, __ATOMIC_RELAXED);
		return true;
	}
#endif
	pthread_mutex_lock(&c->lock);
	i = us_find(c, k, NULL);
	if (i != NIL) {
		if (now_us >= c->nodes[i].expires_us) {
			us_delete(c, i);
			c->expired++;
		} else {
			c->nodes[i].hits++;
			c->hits_user++;
			lru_unlink(c, i);
			lru_push_front(c, i);
			hit = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

int kp_conncache_foreach(struct kp_conncache *c, uint64_t now_us, kp_cc_iter_cb cb, void *arg)
{
	int n = 0;

#ifdef HAVE_BPF
	if (c->bpf)
		return kp_bpf_cache_foreach(c->bpf, cb, arg);
#endif
	pthread_mutex_lock(&c->lock);
	for (uint32_t i = c->lru_head, next; i != NIL; i = next) {
		struct cc_node *nd = &c->nodes[i];

		next = nd->next;
		if (now_us >= nd->expires_us) {
			us_delete(c, i);
			c->expired++;
			continue;
		}
		n++;
		if (cb)
			cb(arg, &nd->key, nd->hits, (nd->expires_us - now_us + 999999) / 1000000);
	}
	pthread_mutex_unlock(&c->lock);
	return n;
}

void kp_conncache_stats(struct kp_conncache *c, struct kp_conncache_stats *st)
{
	memset(st, 0, sizeof(*st));
#ifdef HAVE_BPF
	if (c->bpf) {
		uint64_t t[KP_CC_STAT_MAX];

		kp_bpf_cache_totals(c->bpf, t);
		st->entries = (uint64_t)kp_bpf_cache_foreach(c->bpf, NULL, NULL);
		st->adds = __atomic_load_n(&c->adds, __ATOMIC_RELAXED);
		st->hits_user = __atomic_load_n(&c->hits_user, __ATOMIC_RELAXED);
		st->hits_kernel = t[KP_CC_STAT_DROP];
		st->expired = t[KP_CC_STAT_EXPIRED] + kp_bpf_cache_swept(c->bpf) +
			      __atomic_load_n(&c->expired, __ATOMIC_RELAXED);
		return;
	}
#endif
	pthread_mutex_lock(&c->lock);
	st->entries = c->count;
	st->adds = c->adds;
	st->hits_user = c->hits_user;
	st->expired = c->expired;
	st->evicted = c->evicted;
	pthread_mutex_unlock(&c->lock);
}

void kp_conncache_close(struct kp_conncache *c)
{
	if (!c)
		return;
#ifdef HAVE_BPF
	kp_bpf_cache_close(c->bpf);
#endif
	pthread_mutex_destroy(&c->lock);
	free(c->nodes);
	free(c->buckets);
	free(c);
}

void kp_cc_key_from_flow(struct kp_cc_key *k, int family, const uint8_t *caddr,
			 const uint8_t *saddr, uint16_t sport_host, uint8_t proto)
{
	size_t alen = (family == AF_INET6 || family == 6) ? 16 : 4;

	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, caddr, alen);
	memcpy(k->daddr, saddr, alen);
	k->dport = htons(sport_host);
	k->proto = proto;
	k->family = alen == 16 ? 6 : 4;
}

int kp_conncache_cleanup(const char *const *ifaces, unsigned n_ifaces, char *err, size_t errlen)
{
#ifdef HAVE_BPF
	return kp_bpf_cache_detach_stale(ifaces, n_ifaces, err, errlen);
#else
	(void)ifaces;
	(void)n_ifaces;
	(void)err;
	(void)errlen;
	return 0;
#endif
}
