/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Connection cache at tc ingress (clsact, direct-action). A blocked flow's key
 * (source IP, destination IP, destination port, protocol, as the client sent it)
 * sits in kp_cc_map with an expiry time; a packet that matches a live entry is
 * dropped before conntrack, netfilter and NFQUEUE see it, and the entry's hit
 * counter rises. Everything the program does not understand passes: non-IP, non
 * TCP/UDP, IPv4 non-first fragments, IPv6 fragments past the first, truncated
 * headers, more extension headers than we walk.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "conncache.h"

#define KP_MAX_VLAN 2
#define KP_MAX_EXTHDR 6
#define KP_PULL_LEN 256

/* Blocked keys. max_entries is set by the loader before load (bpf_map__set_max_entries). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KP_CC_DEFAULT_ENTRIES);
	__type(key, struct kp_cc_key);
	__type(value, struct kp_cc_val);
} kp_cc_map SEC(".maps");

/* Per-CPU counters indexed by enum kp_cc_stat; user space sums over CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KP_CC_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} kp_cc_stats SEC(".maps");

struct vlan_hdr_kp {
	__be16 tci;
	__be16 proto;
};

struct ip6_ext_kp {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct ip6_frag_kp {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | flags */
	__be32 id;
};

enum parse_res { P_KEY, P_PASS, P_SHORT };

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&kp_cc_stats, &idx);

	if (c)
		*c += 1;
}

/* Fills *k from the packet in [data, end). P_SHORT: a header runs past the linear
 * data (the caller may pull more and retry); P_PASS: not ours to look at. */
static __always_inline enum parse_res parse(void *data, void *end, struct kp_cc_key *k)
{
	struct ethhdr *eth = data;
	void *p;
	__u16 proto;
	__u8 l4;

	if ((void *)(eth + 1) > end)
		return P_SHORT;
	proto = eth->h_proto;
	p = eth + 1;
#pragma unroll
	for (int i = 0; i < KP_MAX_VLAN; i++) {
		struct vlan_hdr_kp *vh = p;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return P_SHORT;
		proto = vh->proto;
		p = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = p;
		__u32 ihl;

		if ((void *)(ip + 1) > end)
			return P_SHORT;
		if (ip->version != 4 || ip->ihl < 5)
			return P_PASS;
		if (ip->frag_off & bpf_htons(0x1fff)) /* non-first fragment: no L4 header */
			return P_PASS;
		l4 = ip->protocol;
		if (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP)
			return P_PASS;
		__builtin_memcpy(k->saddr, &ip->saddr, 4);
		__builtin_memcpy(k->daddr, &ip->daddr, 4);
		k->family = 4;
		ihl = ip->ihl * 4;
		p = (void *)ip + ihl;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = p;
		int done = 0;

		if ((void *)(ip6 + 1) > end)
			return P_SHORT;
		if (ip6->version != 6)
			return P_PASS;
		l4 = ip6->nexthdr;
		__builtin_memcpy(k->saddr, &ip6->saddr, 16);
		__builtin_memcpy(k->daddr, &ip6->daddr, 16);
		k->family = 6;
		p = ip6 + 1;
#pragma unroll
		for (int i = 0; i < KP_MAX_EXTHDR; i++) {
			if (l4 == IPPROTO_HOPOPTS || l4 == IPPROTO_ROUTING ||
			    l4 == IPPROTO_DSTOPTS) {
				struct ip6_ext_kp *e = p;

				if ((void *)(e + 1) > end)
					return P_SHORT;
				l4 = e->nexthdr;
				p += ((__u32)e->hdrlen + 1) * 8;
			} else if (l4 == IPPROTO_FRAGMENT) {
				struct ip6_frag_kp *f = p;

				if ((void *)(f + 1) > end)
					return P_SHORT;
				if (f->frag_off & bpf_htons(0xfff8)) /* not the first fragment */
					return P_PASS;
				l4 = f->nexthdr;
				p = f + 1;
			} else {
				done = 1;
				break;
			}
		}
		if (!done)
			return P_PASS; /* more extension headers than we walk */
		if (l4 != IPPROTO_TCP && l4 != IPPROTO_UDP)
			return P_PASS;
	} else {
		return P_PASS;
	}

	/* TCP and UDP both carry the destination port at offset 2. */
	if (p + 4 > end)
		return P_SHORT;
	k->dport = *(__be16 *)(p + 2);
	k->proto = l4;
	return P_KEY;
}

SEC("tc")
int kp_cc_ingress(struct __sk_buff *skb)
{
	struct kp_cc_key k;
	struct kp_cc_val *v;
	enum parse_res r;
	__u64 now;

	__builtin_memset(&k, 0, sizeof(k));
	r = parse((void *)(long)skb->data, (void *)(long)skb->data_end, &k);
	if (r == P_SHORT && skb->len > skb->data_end - skb->data) {
		/* Headers beyond the linear part (rare): pull them in once and retry. */
		if (bpf_skb_pull_data(skb, skb->len < KP_PULL_LEN ? skb->len : KP_PULL_LEN))
			return TC_ACT_OK;
		__builtin_memset(&k, 0, sizeof(k));
		r = parse((void *)(long)skb->data, (void *)(long)skb->data_end, &k);
	}
	if (r != P_KEY)
		return TC_ACT_OK;

	stat_inc(KP_CC_STAT_SEEN);
	v = bpf_map_lookup_elem(&kp_cc_map, &k);
	if (!v)
		return TC_ACT_OK;
	now = bpf_ktime_get_ns();
	if (now >= v->expires_ns) {
		bpf_map_delete_elem(&kp_cc_map, &k);
		stat_inc(KP_CC_STAT_EXPIRED);
		return TC_ACT_OK;
	}
	__sync_fetch_and_add(&v->hits, 1);
	stat_inc(KP_CC_STAT_DROP);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
