/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * User side of the kernel connection cache: loads bpf/conncache.bpf.c (embedded
 * in the binary as a bpftool skeleton), sizes its LRU map, attaches it at tc
 * clsact ingress of the named interfaces and feeds the map. The tc filter has a
 * fixed identity (KP_CC_TC_HANDLE, KP_CC_TC_PRIO in bpf/conncache.h): a stale
 * filter of ours left by a killed daemon is replaced, others' filters are never
 * touched, and the clsact qdisc is removed on close only if we created it and no
 * other filter remains on it. Times in the map are CLOCK_MONOTONIC nanoseconds.
 */
#ifndef KP_KERN_BPF_CACHE_H
#define KP_KERN_BPF_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/conncache.h"

struct kp_bpf_cache;

/* Loads the program with a map of max_entries (0: KP_CC_DEFAULT_ENTRIES) and attaches
 * it to each of ifaces (n_ifaces may be 0: load only, as the unit tests do). Returns 0
 * or a negative errno with a message in err: "needs CAP_BPF/CAP_NET_ADMIN", "kernel
 * without BTF", "interface NAME not found", ... Nothing stays attached on failure. */
int kp_bpf_cache_open(struct kp_bpf_cache **bc, uint32_t max_entries, const char *const *ifaces,
		      unsigned n_ifaces, char *err, size_t errlen);

/* Removes a filter of ours (fixed handle and priority) from each interface's ingress,
 * e.g. one a killed daemon left: kp2padm --cleanup. Absent filters are not errors. */
int kp_bpf_cache_detach_stale(const char *const *ifaces, unsigned n_ifaces, char *err,
			      size_t errlen);

/* Inserts or refreshes an entry that expires ttl_s seconds from now (hits kept on refresh). */
int kp_bpf_cache_add(struct kp_bpf_cache *bc, const struct kp_cc_key *k, uint32_t ttl_s);

/* Removes an entry: 0, or -ENOENT if there was none. */
int kp_bpf_cache_remove(struct kp_bpf_cache *bc, const struct kp_cc_key *k);

/* Looks a key up as the program would: 1 on a live entry, 0 on a miss, -ETIMEDOUT on an
 * expired entry (which is deleted). Does not change the entry's hit counter. */
int kp_bpf_cache_lookup(struct kp_bpf_cache *bc, const struct kp_cc_key *k);

typedef void (*kp_bpf_cache_cb)(void *arg, const struct kp_cc_key *k, uint64_t hits,
				uint64_t ttl_left_s);

/* Calls cb for every live entry (expired ones are skipped); returns the count. */
int kp_bpf_cache_foreach(struct kp_bpf_cache *bc, kp_bpf_cache_cb cb, void *arg);

/* Kernel counters summed over CPUs, indexed by enum kp_cc_stat. */
/* Expired entries deleted by kp_bpf_cache_foreach (which sweeps them as it walks). */
uint64_t kp_bpf_cache_swept(const struct kp_bpf_cache *bc);

void kp_bpf_cache_totals(struct kp_bpf_cache *bc, uint64_t out[KP_CC_STAT_MAX]);

/* Detaches from every interface (removing the clsact qdiscs we created) and unloads. */
void kp_bpf_cache_close(struct kp_bpf_cache *bc);

/* For tests: the program and map descriptors. */
int kp_bpf_cache_prog_fd(const struct kp_bpf_cache *bc);
int kp_bpf_cache_map_fd(const struct kp_bpf_cache *bc);

/* CLOCK_MONOTONIC in nanoseconds, the clock of kp_cc_val times. */
uint64_t kp_bpf_cache_now_ns(void);

#endif
