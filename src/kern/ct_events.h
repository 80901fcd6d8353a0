/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack DESTROY events (libnetfilter_conntrack): how the daemon learns that a bypassed
 * flow, whose packets no longer reach user space, has ended, with the kernel's byte and
 * packet counters (nf_conntrack_acct=1, set by kp_nf_install). No thread: the caller polls
 * kp_ct_events_fd() and calls kp_ct_events_read(), which drains without blocking.
 */
#ifndef KP_KERN_CT_EVENTS_H
#define KP_KERN_CT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct kp_ct_end {
	int family;              /* AF_INET or AF_INET6 */
	uint8_t src[16], dst[16]; /* IPv4: first 4 bytes; ORIGINAL direction (pre-NAT) */
	uint16_t sport, dport;   /* host order; 0 for protocols without ports */
	uint8_t proto;
	uint64_t pkts[2], bytes[2]; /* [0] original, [1] reply; 0 when accounting is off */
	uint32_t mark;
};

struct kp_ct_events;

/* Subscribes to DESTROY events of the current network namespace. With a nonzero mark_mask,
 * only entries with (mark & mark_mask) != 0 are delivered (filtered in the kernel by a
 * socket filter where possible, always in user space). 0 or -errno with a message. */
int kp_ct_events_open(struct kp_ct_events **ev, uint32_t mark_mask, char *err, size_t errlen);
int kp_ct_events_fd(const struct kp_ct_events *ev);
/* Non-blocking: delivers every pending event to cb, returns how many were delivered or
 * -errno on a hard error. A receive-buffer overflow (ENOBUFS) is counted and survived. */
int kp_ct_events_read(struct kp_ct_events *ev, void (*cb)(void *arg, const struct kp_ct_end *e),
		      void *arg);
/* Number of overflows seen (each one lost an unknown number of events). */
uint64_t kp_ct_events_lost(const struct kp_ct_events *ev);
void kp_ct_events_close(struct kp_ct_events *ev);

#endif
