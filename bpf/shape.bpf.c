/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-application bandwidth classes: a cls_bpf direct-action classifier under the
 * kp2padm HTB root qdisc (see src/kern/shaper.h). The daemon marks a decided flow's
 * packets with (app + 1) << shift under the mark mask; the program takes
 * v = (mark & mask) >> shift, looks v up in kp_shape_classes (HTB class minor, 0 =
 * none) and sets skb->tc_classid to that minor (the filter's classid supplies the
 * major). A packet without a configured class returns TC_ACT_UNSPEC so that HTB
 * falls back to its default class: TC_ACT_OK with minor 0 would make cls_bpf
 * answer "<major>:0", which HTB takes as its unshaped direct queue.
 * A packet whose flow is still inspected (no bypass mark yet) may carry its
 * class in the class bits instead (kp_shape_cmask, set by each verdict and not
 * saved in conntrack): v is taken from there when the mark bits hold none.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "shape.h"

/* Set by the loader before load (skeleton rodata). */
const volatile __u32 kp_shape_mask = 0x00ff0000;
const volatile __u32 kp_shape_shift = 16;
const volatile __u32 kp_shape_cmask = 0;
const volatile __u32 kp_shape_cshift = 8;

/* Mark value v (0..255) -> HTB class minor, 0 = no class. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KP_SHAPE_VALUES);
	__type(key, __u32);
	__type(value, __u32);
} kp_shape_classes SEC(".maps");

/* Per-CPU packet counters: [v] = packets classified by mark value v,
 * [KP_SHAPE_STAT_UNCLASSIFIED] = packets left to the default class. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KP_SHAPE_STATS);
	__type(key, __u32);
	__type(value, __u64);
} kp_shape_stats SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&kp_shape_stats, &idx);

	if (c)
		*c += 1;
}

SEC("tc")
int kp_shape(struct __sk_buff *skb)
{
	__u32 v = (skb->mark & kp_shape_mask) >> (kp_shape_shift & 31);
	__u32 *minor;

	if (!v && kp_shape_cmask)
		v = (skb->mark & kp_shape_cmask) >> (kp_shape_cshift & 31);

	if (v < KP_SHAPE_VALUES) {
		minor = bpf_map_lookup_elem(&kp_shape_classes, &v);
		if (minor && *minor && *minor <= 0xffff) {
			skb->tc_classid = *minor;
			count(v);
			return TC_ACT_OK;
		}
	}
	count(KP_SHAPE_STAT_UNCLASSIFIED);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
