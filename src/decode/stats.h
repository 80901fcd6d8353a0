/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Counters of the decode layer, one set per pipeline (no sharing between threads). */
#ifndef KP_DECODE_STATS_H
#define KP_DECODE_STATS_H

#include <stdint.h>

struct kp_decode_stats {
	uint64_t frames;
	uint64_t ipv4, ipv6, tcp, udp, other_l4;
	uint64_t vlan, tunnel_gtp;
	uint64_t unknown_link;      /* link type we do not decode */
	uint64_t not_ip;            /* e.g. ARP, LLDP */
	uint64_t malformed;         /* truncated or inconsistent headers */
	uint64_t ip_csum_bad;
	uint64_t l4_csum_bad;
	uint64_t l4_csum_partial;   /* unfinished offloaded checksums accepted */
	uint64_t frag_fragments;    /* fragments seen */
	uint64_t frag_reassembled;  /* datagrams completed */
	uint64_t frag_dropped;      /* timed out, overlapping-inconsistent, or over memcap */
	uint64_t ipv6_ext_hdrs;     /* extension headers skipped */
};

#endif
