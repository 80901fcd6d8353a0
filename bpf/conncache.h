/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The connection cache's key and value layout, shared by the tc ingress program
 * (bpf/conncache.bpf.c) and user space (src/kern/bpf_cache.c, src/policy/conncache.c).
 * A key is what the client sent, before NAT: (source IP, destination IP, destination
 * port, protocol). The key has no padding, and unused address bytes (IPv4: bytes 4..15)
 * are zero, so that a hash over the whole struct matches between kernel and user space.
 */
#ifndef KP_BPF_CONNCACHE_H
#define KP_BPF_CONNCACHE_H

#ifdef __bpf__
#include <linux/types.h>
typedef __u8 uint8_t;
typedef __u16 uint16_t;
typedef __u32 uint32_t;
typedef __u64 uint64_t;
#else
#include <stdint.h>
#endif

struct kp_cc_key {
	uint8_t saddr[16]; /* IPv4: first 4 bytes, rest zero */
	uint8_t daddr[16];
	uint16_t dport;    /* network byte order */
	uint8_t proto;     /* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t family;    /* 4 or 6 */
};

struct kp_cc_val {
	uint64_t expires_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	uint64_t hits;       /* packets dropped by this entry; the kernel adds atomically */
	uint64_t added_ns;   /* CLOCK_MONOTONIC */
};

_Static_assert(sizeof(struct kp_cc_key) == 36, "kp_cc_key must be padding-free");
_Static_assert(sizeof(struct kp_cc_val) == 24, "kp_cc_val layout");

/* Indices of the per-CPU counter array kp_cc_stats. */
enum kp_cc_stat {
	KP_CC_STAT_SEEN = 0,    /* IPv4/IPv6 TCP/UDP packets looked up */
	KP_CC_STAT_DROP = 1,    /* packets dropped on a live entry */
	KP_CC_STAT_EXPIRED = 2, /* entries found expired and deleted */
	KP_CC_STAT_MAX = 3,
};

/* tc filter identity of our program: fixed so that a restarted daemon finds and
 * replaces the filter a killed one left behind, and never touches others' filters. */
#define KP_CC_TC_HANDLE 0x6b70 /* "kp" */
#define KP_CC_TC_PRIO 1
#define KP_CC_DEFAULT_ENTRIES 65536

#endif
