/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-application bandwidth limits in the kernel: an HTB root qdisc (fixed handle
 * KP_SHAPER_HANDLE, "6b70:") on each egress interface, one HTB class per limited
 * application (minor = app + 1) plus an unlimited default class, and a cls_bpf
 * direct-action program (bpf/shape.bpf.c) that puts a packet into its app's class
 * from the packet mark the daemon sets ((app + 1) << shift under the mark mask).
 *
 * Layout on each interface:
 *   6b70:      htb root qdisc, default 6b70:fffe
 *   6b70:ffff  root class, rate = ceil = link_bps
 *   6b70:fffe  default class (unmarked, undecided, unlimited apps), rate = ceil = link_bps
 *   6b70:N     class of app N - 1, rate, ceil (capped at link_bps)
 *   filter     parent 6b70:, bpf direct-action, classid 6b70:
 * Everything is sent over rtnetlink (libmnl); no tc binary and no bpffs needed.
 */
#ifndef KP_KERN_SHAPER_H
#define KP_KERN_SHAPER_H

#include <stddef.h>
#include <stdint.h>

#define KP_SHAPER_HANDLE 0x6b700000u /* "6b70:" ("kp") */
#define KP_SHAPER_ROOT_MINOR 0xffffu
#define KP_SHAPER_DEFAULT_MINOR 0xfffeu
#define KP_SHAPER_APP_DEFAULT 0xffffu /* kp_shaper_class_stats.app of the default class */
#define KP_SHAPER_MAX_IFACES 16
#define KP_SHAPER_DEFAULT_LINK_BPS 10000000000ull

struct kp_shaper_class {
	uint16_t app;              /* class id: an enum kp_app_id, or KP_BW_RULE_BASE + n (a rule's) */
	uint64_t rate_bps;         /* guaranteed rate, bit/s (> 0) */
	uint64_t ceil_bps;         /* ceiling, bit/s; 0 = rate */
};

struct kp_shaper_config {
	const char *const *ifaces; /* egress interfaces (both sides of a gateway) */
	unsigned n_ifaces;
	uint32_t mark_mask;        /* 0 = 0x00ff0000 */
	uint32_t class_mask;       /* class bits of inspected packets (0 = none) */
	const struct kp_shaper_class *classes;
	unsigned n_classes;
	uint64_t link_bps;         /* default class's rate and every ceiling's cap; 0 = 10 Gbit/s */
};

struct kp_shaper;

/* Loads the classifier and (re)builds the HTB tree on every interface, replacing
 * whatever root qdisc was there (an earlier one of ours included: idempotent). On
 * failure nothing of ours is left (the interfaces fall back to their default root
 * qdisc), *s is NULL and err says why. Returns 0 or -errno. Needs CAP_NET_ADMIN and
 * CAP_BPF, acts in the caller's network namespace. */
int kp_shaper_install(struct kp_shaper **s, const struct kp_shaper_config *c, char *err,
		      size_t errlen);

struct kp_shaper_class_stats {
	uint16_t app;              /* app id, KP_SHAPER_APP_DEFAULT for the default class */
	uint32_t classid;          /* 0x6b70NNNN */
	uint64_t bytes, packets, drops, overlimits;
};

/* Counters of our classes on iface (RTM_GETTCLASS dump), the default class included
 * and the root class left out. Returns the number written to out (at most max) or
 * -errno. */
int kp_shaper_stats(struct kp_shaper *s, const char *iface, struct kp_shaper_class_stats *out,
		    unsigned max);

/* Deletes our root qdisc (with its classes and filter) on every interface and
 * unloads the program. NULL is fine. */
void kp_shaper_remove(struct kp_shaper *s);

/* Removes a root HTB qdisc with handle KP_SHAPER_HANDLE left by a killed daemon on
 * each of ifaces; a root qdisc that is not ours is left alone. Returns the number of
 * qdiscs removed or -errno. */
int kp_shaper_cleanup(const char *const *ifaces, unsigned n, char *err, size_t errlen);

#endif
