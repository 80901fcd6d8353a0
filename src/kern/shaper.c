/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-application bandwidth limits (see shaper.h): loads bpf/shape.bpf.c through its
 * libbpf skeleton, fills the mark-value -> class map, and builds the HTB qdisc,
 * classes and cls_bpf filter with rtnetlink requests (libmnl), each acknowledged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/gen_stats.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/shape.h"
#include "bpf/shape.skel.h"
#include "kern/shaper.h"
#include "util/err.h"

#define KP_SHAPER_PRIO 1
#define KP_SHAPER_QUANTUM 60000     /* bytes per DRR round: > a GSO super-packet's share */
#define KP_SHAPER_BURST_EXTRA 65536 /* burst = rate / 250 + this (one GSO packet) */

struct kp_shaper_if {
	char name[IF_NAMESIZE];
	int ifindex;
	bool installed;
};

struct kp_shaper {
	struct kp_shape_bpf *skel;
	unsigned n_ifaces;
	struct kp_shaper_if ifs[KP_SHAPER_MAX_IFACES];
};

struct kp_nl {
	struct mnl_socket *sk;
	unsigned portid;
	unsigned seq;
	char buf[32768];
};

static int nl_open(struct kp_nl *nl)
{
	nl->sk = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sk)
		return -errno;
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;

		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return e;
	}
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (unsigned)time(NULL);
	return 0;
}

static void nl_close(struct kp_nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
}

/* Starts a tc request in nl->buf. */
static struct nlmsghdr *tc_msg(struct kp_nl *nl, uint16_t type, uint16_t flags, int ifindex,
			       uint32_t parent, uint32_t handle, uint32_t info)
{
	struct nlmsghdr *nh = mnl_nlmsg_put_header(nl->buf);
	struct tcmsg *tc;

	nh->nlmsg_type = type;
	nh->nlmsg_flags = NLM_F_REQUEST | flags;
	nh->nlmsg_seq = ++nl->seq;
	tc = mnl_nlmsg_put_extra_header(nh, sizeof(*tc));
	tc->tcm_family = AF_UNSPEC;
	tc->tcm_ifindex = ifindex;
	tc->tcm_parent = parent;
	tc->tcm_handle = handle;
	tc->tcm_info = info;
	return nh;
}

/* Sends a request and runs cb over the answers until the ack / end of dump.
 * Returns 0 or -errno (the kernel's error for a refused request). */
static int nl_talk(struct kp_nl *nl, struct nlmsghdr *nh, mnl_cb_t cb, void *data)
{
	unsigned seq = nh->nlmsg_seq;
	int ret;

	if (mnl_socket_sendto(nl->sk, nh, nh->nlmsg_len) < 0)
		return -errno;
	for (int guard = 0; guard < 100000; guard++) {
		ssize_t n = mnl_socket_recvfrom(nl->sk, nl->buf, sizeof(nl->buf));

		if (n < 0)
			return -errno;
		ret = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
		if (ret < 0)
			return errno ? -errno : -EIO;
		if (ret == MNL_CB_STOP)
			return 0;
	}
	return -EIO;
}

static int del_root(struct kp_nl *nl, int ifindex)
{
	struct nlmsghdr *nh = tc_msg(nl, RTM_DELQDISC, NLM_F_ACK, ifindex, TC_H_ROOT,
				     KP_SHAPER_HANDLE, 0);

	return nl_talk(nl, nh, NULL, NULL);
}

/* Removes our root qdisc if it is there: 1 removed, 0 not ours / none, -errno. The
 * kernel refuses (EINVAL) a delete whose handle differs from the root qdisc's, which
 * is the ownership check; ENOENT: no qdisc at all. */
static int del_root_if_ours(struct kp_nl *nl, int ifindex)
{
	int rc = del_root(nl, ifindex);

	if (rc == -EINVAL || rc == -ENOENT)
		return 0;
	return rc ? rc : 1;
}

static int add_qdisc(struct kp_nl *nl, int ifindex)
{
	struct nlmsghdr *nh = tc_msg(nl, RTM_NEWQDISC, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
				     ifindex, TC_H_ROOT, KP_SHAPER_HANDLE, 0);
	struct tc_htb_glob g = {
		.version = 3, .rate2quantum = 10, .defcls = KP_SHAPER_DEFAULT_MINOR,
	};
	struct nlattr *opt;

	mnl_attr_put_strz(nh, TCA_KIND, "htb");
	opt = mnl_attr_nest_start(nh, TCA_OPTIONS);
	mnl_attr_put(nh, TCA_HTB_INIT, sizeof(g), &g);
	mnl_attr_nest_end(nh, opt);
	return nl_talk(nl, nh, NULL, NULL);
}

/* HTB's buffer in scheduler ticks (1 tick = 64 ns) for burst bytes at rate bytes/s. */
static uint32_t ticks(uint64_t burst, uint64_t rate)
{
	uint64_t ns = burst * 1000000000ull / (rate ? rate : 1);
	uint64_t t = ns >> 6;

	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

static uint64_t burst_of(uint64_t rate_bytes)
{
	return rate_bytes / 250 + KP_SHAPER_BURST_EXTRA;
}

static int add_class(struct kp_nl *nl, int ifindex, uint32_t parent, uint32_t classid,
		     uint64_t rate_bps, uint64_t ceil_bps)
{
	struct nlmsghdr *nh = tc_msg(nl, RTM_NEWTCLASS, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
				     ifindex, parent, classid, 0);
	uint64_t rate = rate_bps / 8, ceil = ceil_bps / 8;
	struct tc_htb_opt o = { 0 };
	struct nlattr *opt;

	if (!rate)
		rate = 1;
	if (ceil < rate)
		ceil = rate;
	o.rate.linklayer = TC_LINKLAYER_ETHERNET; /* no rate table needed */
	o.ceil.linklayer = TC_LINKLAYER_ETHERNET;
	o.rate.rate = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
	o.ceil.rate = ceil > UINT32_MAX ? UINT32_MAX : (uint32_t)ceil;
	o.buffer = ticks(burst_of(rate), rate);
	o.cbuffer = ticks(burst_of(ceil), ceil);
	o.quantum = KP_SHAPER_QUANTUM;
	mnl_attr_put_strz(nh, TCA_KIND, "htb");
	opt = mnl_attr_nest_start(nh, TCA_OPTIONS);
	mnl_attr_put(nh, TCA_HTB_PARMS, sizeof(o), &o);
	if (rate > UINT32_MAX)
		mnl_attr_put_u64(nh, TCA_HTB_RATE64, rate);
	if (ceil > UINT32_MAX)
		mnl_attr_put_u64(nh, TCA_HTB_CEIL64, ceil);
	mnl_attr_nest_end(nh, opt);
	return nl_talk(nl, nh, NULL, NULL);
}

static int add_filter(struct kp_nl *nl, int ifindex, int prog_fd)
{
	struct nlmsghdr *nh = tc_msg(nl, RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
				     ifindex, KP_SHAPER_HANDLE, 1,
				     TC_H_MAKE((uint32_t)KP_SHAPER_PRIO << 16, htons(ETH_P_ALL)));
	struct nlattr *opt;

	mnl_attr_put_strz(nh, TCA_KIND, "bpf");
	opt = mnl_attr_nest_start(nh, TCA_OPTIONS);
	mnl_attr_put_u32(nh, TCA_BPF_FD, (uint32_t)prog_fd);
	mnl_attr_put_strz(nh, TCA_BPF_NAME, "kp_shape");
	mnl_attr_put_u32(nh, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
	mnl_attr_put_u32(nh, TCA_BPF_CLASSID, KP_SHAPER_HANDLE);
	mnl_attr_nest_end(nh, opt);
	return nl_talk(nl, nh, NULL, NULL);
}

static int install_iface(struct kp_nl *nl, int ifindex, const struct kp_shaper_config *c,
			 uint64_t link, int prog_fd, const char **what)
{
	uint32_t root = KP_SHAPER_HANDLE | KP_SHAPER_ROOT_MINOR;
	int rc;

	/* A tree of ours from an earlier run goes first, so that no stale class stays. */
	*what = "removing the previous shaper qdisc";
	rc = del_root_if_ours(nl, ifindex);
	if (rc < 0)
		return rc;
	*what = "creating the HTB root qdisc";
	rc = add_qdisc(nl, ifindex);
	if (rc)
		return rc;
	*what = "creating the HTB root class";
	rc = add_class(nl, ifindex, KP_SHAPER_HANDLE, root, link, link);
	if (rc)
		return rc;
	*what = "creating the HTB default class";
	rc = add_class(nl, ifindex, root, KP_SHAPER_HANDLE | KP_SHAPER_DEFAULT_MINOR, link, link);
	if (rc)
		return rc;
	for (unsigned i = 0; i < c->n_classes; i++) {
		const struct kp_shaper_class *k = &c->classes[i];
		uint64_t rate = k->rate_bps < link ? k->rate_bps : link;
		uint64_t ceil = k->ceil_bps ? k->ceil_bps : k->rate_bps;

		if (ceil > link)
			ceil = link;
		*what = "creating an application's HTB class";
		rc = add_class(nl, ifindex, root, KP_SHAPER_HANDLE | (uint32_t)(k->app + 1u), rate,
			       ceil);
		if (rc)
			return rc;
	}
	*what = "attaching the bpf classifier";
	return add_filter(nl, ifindex, prog_fd);
}

int kp_shaper_install(struct kp_shaper **out, const struct kp_shaper_config *c, char *err,
		      size_t errlen)
{
	uint32_t mask = c->mark_mask ? c->mark_mask : 0x00ff0000u;
	uint64_t link = c->link_bps ? c->link_bps : KP_SHAPER_DEFAULT_LINK_BPS;
	unsigned shift = (unsigned)__builtin_ctz(mask);
	uint32_t vmax = mask >> shift; /* "blocked": every mask bit set */
	struct kp_nl nl = { 0 };
	struct kp_shaper *s;
	const char *what = "";
	int rc, map_fd, prog_fd;

	*out = NULL;
	if (c->n_ifaces == 0 || c->n_ifaces > KP_SHAPER_MAX_IFACES) {
		kp_set_err(err, errlen, "shaper: %u interfaces (1..%d)", c->n_ifaces,
		       KP_SHAPER_MAX_IFACES);
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->n_classes; i++) {
		unsigned v = c->classes[i].app + 1u;

		if (v >= KP_SHAPE_VALUES || v >= vmax || v >= KP_SHAPER_DEFAULT_MINOR) {
			kp_set_err(err, errlen, "shaper: app %u does not fit mark mask 0x%08x",
			       c->classes[i].app, mask);
			return -EINVAL;
		}
		if (!c->classes[i].rate_bps) {
			kp_set_err(err, errlen, "shaper: app %u has rate 0", c->classes[i].app);
			return -EINVAL;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		kp_set_err(err, errlen, "shaper: out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		struct kp_shaper_if *f = &s->ifs[i];

		snprintf(f->name, sizeof(f->name), "%s", c->ifaces[i]);
		f->ifindex = (int)if_nametoindex(c->ifaces[i]);
		if (!f->ifindex) {
			rc = -errno;
			kp_set_err(err, errlen, "shaper: interface %s: %s", c->ifaces[i], strerror(errno));
			free(s);
			return rc;
		}
	}
	s->n_ifaces = c->n_ifaces;

	s->skel = kp_shape_bpf__open();
	if (!s->skel) {
		rc = -errno;
		kp_set_err(err, errlen, "shaper: opening the bpf object: %s", strerror(errno));
		goto fail;
	}
	s->skel->rodata->kp_shape_mask = mask;
	s->skel->rodata->kp_shape_shift = shift;
	if (c->class_mask) {
		s->skel->rodata->kp_shape_cmask = c->class_mask;
		s->skel->rodata->kp_shape_cshift = (uint32_t)__builtin_ctz(c->class_mask);
	}
	rc = kp_shape_bpf__load(s->skel);
	if (rc) {
		kp_set_err(err, errlen, "shaper: loading the bpf program: %s", strerror(-rc));
		goto fail;
	}
	map_fd = bpf_map__fd(s->skel->maps.kp_shape_classes);
	prog_fd = bpf_program__fd(s->skel->progs.kp_shape);
	for (unsigned i = 0; i < c->n_classes; i++) {
		uint32_t v = c->classes[i].app + 1u, minor = v;

		if (bpf_map_update_elem(map_fd, &v, &minor, BPF_ANY)) {
			rc = -errno;
			kp_set_err(err, errlen, "shaper: filling the class map: %s", strerror(errno));
			goto fail;
		}
	}

	rc = nl_open(&nl);
	if (rc) {
		kp_set_err(err, errlen, "shaper: rtnetlink socket: %s", strerror(-rc));
		goto fail;
	}
	for (unsigned i = 0; i < s->n_ifaces; i++) {
		s->ifs[i].installed = true; /* from the first request on, clean up on failure */
		rc = install_iface(&nl, s->ifs[i].ifindex, c, link, prog_fd, &what);
		if (rc) {
			kp_set_err(err, errlen, "shaper: %s on %s: %s", what, s->ifs[i].name,
			       strerror(-rc));
			goto fail;
		}
	}
	nl_close(&nl);
	*out = s;
	return 0;
fail:
	nl_close(&nl);
	kp_shaper_remove(s);
	return rc < 0 ? rc : -EIO;
}

struct stats_walk {
	struct kp_shaper_class_stats *out;
	unsigned max, n;
};

static int stats_cb(const struct nlmsghdr *nh, void *data)
{
	struct stats_walk *w = data;
	const struct tcmsg *tc = mnl_nlmsg_get_payload(nh);
	struct kp_shaper_class_stats st = { 0 };
	const struct nlattr *a, *b;
	bool htb = false;
	uint32_t minor;

	if (nh->nlmsg_type != RTM_NEWTCLASS || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*tc)))
		return MNL_CB_OK;
	if (TC_H_MAJ(tc->tcm_handle) != KP_SHAPER_HANDLE)
		return MNL_CB_OK;
	minor = TC_H_MIN(tc->tcm_handle);
	if (minor == KP_SHAPER_ROOT_MINOR || minor == 0)
		return MNL_CB_OK;
	st.classid = tc->tcm_handle;
	st.app = minor == KP_SHAPER_DEFAULT_MINOR ? KP_SHAPER_APP_DEFAULT : (uint16_t)(minor - 1);
	mnl_attr_for_each(a, nh, sizeof(*tc)) {
		uint16_t t = mnl_attr_get_type(a);

		if (t == TCA_KIND && !mnl_attr_validate(a, MNL_TYPE_STRING))
			htb = !strcmp(mnl_attr_get_str(a), "htb");
		if (t != TCA_STATS2)
			continue;
		mnl_attr_for_each_nested(b, a) {
			uint16_t bt = mnl_attr_get_type(b);
			uint16_t len = mnl_attr_get_payload_len(b);

			if (bt == TCA_STATS_BASIC) {
				struct gnet_stats_basic gb = { 0 };

				memcpy(&gb, mnl_attr_get_payload(b),
				       len < sizeof(gb) ? len : sizeof(gb));
				st.bytes = gb.bytes;
				st.packets = gb.packets;
			} else if (bt == TCA_STATS_QUEUE) {
				struct gnet_stats_queue gq = { 0 };

				memcpy(&gq, mnl_attr_get_payload(b),
				       len < sizeof(gq) ? len : sizeof(gq));
				st.drops = gq.drops;
				st.overlimits = gq.overlimits;
			}
		}
	}
	if (htb && w->n < w->max)
		w->out[w->n++] = st;
	return MNL_CB_OK;
}

int kp_shaper_stats(struct kp_shaper *s, const char *iface, struct kp_shaper_class_stats *out,
		    unsigned max)
{
	struct stats_walk w = { .out = out, .max = max };
	struct kp_nl *nl;
	int ifindex = 0, rc;

	for (unsigned i = 0; s && i < s->n_ifaces; i++)
		if (!strcmp(s->ifs[i].name, iface))
			ifindex = s->ifs[i].ifindex;
	if (!ifindex)
		ifindex = (int)if_nametoindex(iface);
	if (!ifindex)
		return -ENODEV;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	rc = nl_open(nl);
	if (!rc) {
		struct nlmsghdr *nh = tc_msg(nl, RTM_GETTCLASS, NLM_F_DUMP, ifindex, 0, 0, 0);

		rc = nl_talk(nl, nh, stats_cb, &w);
	}
	nl_close(nl);
	free(nl);
	return rc ? rc : (int)w.n;
}

void kp_shaper_remove(struct kp_shaper *s)
{
	struct kp_nl *nl;

	if (!s)
		return;
	nl = calloc(1, sizeof(*nl));
	if (nl && !nl_open(nl)) {
		for (unsigned i = 0; i < s->n_ifaces; i++)
			if (s->ifs[i].installed)
				del_root_if_ours(nl, s->ifs[i].ifindex);
	}
	if (nl)
		nl_close(nl);
	free(nl);
	kp_shape_bpf__destroy(s->skel);
	free(s);
}

int kp_shaper_cleanup(const char *const *ifaces, unsigned n, char *err, size_t errlen)
{
	struct kp_nl *nl = calloc(1, sizeof(*nl));
	int rc, removed = 0;

	if (!nl) {
		kp_set_err(err, errlen, "shaper: out of memory");
		return -ENOMEM;
	}
	rc = nl_open(nl);
	if (rc) {
		kp_set_err(err, errlen, "shaper: rtnetlink socket: %s", strerror(-rc));
		free(nl);
		return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		int ifindex = (int)if_nametoindex(ifaces[i]);

		if (!ifindex)
			continue; /* gone with its qdisc */
		rc = del_root_if_ours(nl, ifindex);
		if (rc < 0) {
			kp_set_err(err, errlen, "shaper: removing the qdisc on %s: %s", ifaces[i],
			       strerror(-rc));
			break;
		}
		removed += rc;
	}
	nl_close(nl);
	free(nl);
	return rc < 0 ? rc : removed;
}
