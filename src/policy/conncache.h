/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The connection cache (DESIGN.md, issue 3 §3): keys of blocked flows (client
 * address, server address, server port, protocol, as the client sent them) with a
 * time to live; reconnections from any source port match and are dropped. Two
 * backends behind one API: the eBPF map at tc ingress (inline, src/kern/bpf_cache.h)
 * and a user-space LRU table with the same semantics (offline runs, or no BPF).
 * Every function is safe to call from several worker threads at once.
 */
#ifndef KP_POLICY_CONNCACHE_H
#define KP_POLICY_CONNCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/conncache.h" /* struct kp_cc_key, kp_cc_val */

#define KP_CONNCACHE_DEFAULT_TTL_S 300

struct kp_conncache;

struct kp_conncache_config {
	uint32_t size;             /* max entries; 0: KP_CC_DEFAULT_ENTRIES (65536) */
	uint32_t ttl_s;            /* 0: KP_CONNCACHE_DEFAULT_TTL_S */
	bool use_bpf;              /* try the kernel backend (inline mode) */
	const char *const *ifaces; /* interfaces to attach to (use_bpf) */
	unsigned n_ifaces;
};

/* Opens a cache. use_bpf and the kernel backend fails: the user-space backend is used
 * and warn says why (warn[0] == 0 otherwise). Returns 0 or a negative errno (err). */
int kp_conncache_open(struct kp_conncache **c, const struct kp_conncache_config *cfg, char *err,
		      size_t errlen, char *warn, size_t warnlen);

bool kp_conncache_is_bpf(const struct kp_conncache *c);

/* Adds (or refreshes the TTL of) a key. now_us: the engine's clock (capture time offline);
 * the user-space backend counts the TTL on it, the BPF backend on CLOCK_MONOTONIC. A full
 * cache evicts its least recently used entry. Returns 0 or a negative errno. */
int kp_conncache_add(struct kp_conncache *c, const struct kp_cc_key *k, uint64_t now_us);

/* Removes a key: 0, or -ENOENT. */
int kp_conncache_remove(struct kp_conncache *c, const struct kp_cc_key *k);

/* Checks a packet that reached user space (the engine calls it for a flow's first packet):
 * true = drop (hit counted in hits_user). With the BPF backend also true on a hit: a packet
 * that got past the kernel (e.g. before attach). An expired entry is removed: false. */
bool kp_conncache_check(struct kp_conncache *c, const struct kp_cc_key *k, uint64_t now_us);

typedef void (*kp_cc_iter_cb)(void *arg, const struct kp_cc_key *k, uint64_t hits,
			      uint64_t ttl_left_s);

/* Calls cb for every live entry (user space: most recently used first; expired entries are
 * removed on the way). With the user-space backend cb runs under the cache lock: it must not
 * call back into the cache. Returns the number of entries visited. */
int kp_conncache_foreach(struct kp_conncache *c, uint64_t now_us, kp_cc_iter_cb cb, void *arg);

struct kp_conncache_stats {
	uint64_t entries;     /* entries now (BPF: live entries, counted by walking the map) */
	uint64_t adds;        /* kp_conncache_add calls that succeeded */
	uint64_t hits_user;   /* hits in kp_conncache_check */
	uint64_t hits_kernel; /* packets dropped by the tc program (0 in user space) */
	uint64_t expired;     /* entries removed because their TTL ran out (BPF: by the
			       * program, plus those kp_conncache_check found) */
	uint64_t evicted;     /* entries pushed out by a full cache (user space only: the
			       * kernel LRU map evicts without telling) */
};

void kp_conncache_stats(struct kp_conncache *c, struct kp_conncache_stats *st);

/* Closes the cache; the BPF backend detaches from the interfaces. NULL is fine. */
void kp_conncache_close(struct kp_conncache *c);

/* Removes the kernel cache's filters a killed daemon left on these interfaces. */
int kp_conncache_cleanup(const char *const *ifaces, unsigned n_ifaces, char *err, size_t errlen);

/* Builds a key from the client's and server's addresses (4 bytes for IPv4, 16 for IPv6)
 * and the server port in host order. family: AF_INET/AF_INET6 (or 4/6). */
void kp_cc_key_from_flow(struct kp_cc_key *k, int family, const uint8_t *caddr,
			 const uint8_t *saddr, uint16_t sport_host, uint8_t proto);

#endif
