/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Loader and feeder of the kernel connection cache (see bpf_cache.h): libbpf
 * skeleton of bpf/conncache.bpf.c, tc attach through libbpf's bpf_tc_* calls, and
 * one small rtnetlink filter dump to decide whether a clsact qdisc we created is
 * still used by someone else before removing it.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
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

#include "kern/bpf_cache.h"
#include "bpf/conncache.skel.h"

#define KP_MAX_IFACES 16

struct kp_bpf_iface {
	char name[IF_NAMESIZE];
	int ifindex;
	bool hook_created; /* we created the clsact qdisc */
	bool attached;
};

struct kp_bpf_cache {
	struct kp_cc_bpf *skel;
	int map_fd;
	int stats_fd;
	int ncpus;
	unsigned n_ifaces;
	struct kp_bpf_iface ifs[KP_MAX_IFACES];
	uint64_t swept;          /* expired entries removed by foreach's sweep */
};

uint64_t kp_bpf_cache_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Number of tc filters left on one clsact parent (ingress or egress), or -errno. */
static int tc_filter_count(int ifindex, uint32_t parent)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req;
	char buf[16384];
	int fd, n = 0, done = 0;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
	req.nh.nlmsg_type = RTM_GETTFILTER;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 1;
	req.tc.tcm_family = AF_UNSPEC;
	req.tc.tcm_ifindex = ifindex;
	req.tc.tcm_parent = parent;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		n = -errno;
		goto out;
	}
	for (int loops = 0; !done && loops < 10000; loops++) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (len < 0) {
			n = -errno;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (unsigned)len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);

				n = e->error ? e->error : -EIO;
				goto out;
			}
			if (nh->nlmsg_type == RTM_NEWTFILTER)
				n++;
		}
	}
out:
	close(fd);
	return n;
}

static void iface_detach(struct kp_bpf_iface *f)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = KP_CC_TC_HANDLE, .priority = KP_CC_TC_PRIO);

	if (f->attached)
		bpf_tc_detach(&hook, &opts);
	f->attached = false;
	if (f->hook_created &&
	    tc_filter_count(f->ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)) == 0 &&
	    tc_filter_count(f->ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)) == 0) {
		/* INGRESS|EGRESS together removes the clsact qdisc itself. */
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
	f->hook_created = false;
}

static int iface_attach(struct kp_bpf_iface *f, int prog_fd, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = KP_CC_TC_HANDLE, .priority = KP_CC_TC_PRIO);
	int rc;

	f->ifindex = (int)if_nametoindex(f->name);
	if (!f->ifindex) {
		snprintf(err, errlen, "eBPF connection cache: interface %s not found", f->name);
		return -ENODEV;
	}
	hook.ifindex = f->ifindex;
	rc = bpf_tc_hook_create(&hook);
	if (rc == 0) {
		f->hook_created = true;
	} else if (rc != -EEXIST) {
		snprintf(err, errlen, "eBPF connection cache: clsact on %s: %s%s", f->name,
			 strerror(-rc), rc == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
		return rc;
	}
	/* A filter of ours left by a killed daemon: same handle and priority. */
	rc = bpf_tc_detach(&hook, &opts);
	if (rc && rc != -ENOENT) {
		snprintf(err, errlen, "eBPF connection cache: removing the old filter on %s: %s",
			 f->name, strerror(-rc));
		return rc;
	}
	opts.prog_fd = prog_fd;
	rc = bpf_tc_attach(&hook, &opts);
	if (rc) {
		snprintf(err, errlen, "eBPF connection cache: attach at %s ingress: %s%s", f->name,
			 strerror(-rc), rc == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
		return rc;
	}
	f->attached = true;
	return 0;
}

int kp_bpf_cache_detach_stale(const char *const *ifaces, unsigned n_ifaces, char *err,
			      size_t errlen)
{
	int rc = 0;

	for (unsigned i = 0; i < n_ifaces; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = KP_CC_TC_HANDLE, .priority = KP_CC_TC_PRIO);
		int r;

		hook.ifindex = (int)if_nametoindex(ifaces[i]);
		if (!hook.ifindex)
			continue; /* gone with its filters */
		r = bpf_tc_detach(&hook, &opts);
		if (r && r != -ENOENT && r != -EINVAL && !rc) {
			snprintf(err, errlen, "eBPF connection cache: removing the filter on %s: %s",
				 ifaces[i], strerror(-r));
			rc = r;
		}
	}
	return rc;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* the expected answer when there is no stale filter of ours to remove */
	if (strstr(line, "Cannot find specified filter chain"))
		return 0;
	return fprintf(stderr, "kp2padm: libbpf: %s", line);
}

int kp_bpf_cache_open(struct kp_bpf_cache **out, uint32_t max_entries, const char *const *ifaces,
		      unsigned n_ifaces, char *err, size_t errlen)
{
	struct kp_bpf_cache *bc;
	int rc;

	*out = NULL;
	if (n_ifaces > KP_MAX_IFACES) {
		snprintf(err, errlen, "eBPF connection cache: at most %d interfaces",
			 KP_MAX_IFACES);
		return -E2BIG;
	}
	for (unsigned i = 0; i < n_ifaces; i++) {
		if (!ifaces[i] || !ifaces[i][0] || strlen(ifaces[i]) >= IF_NAMESIZE ||
		    !if_nametoindex(ifaces[i])) {
			snprintf(err, errlen, "eBPF connection cache: interface %s not found",
				 ifaces[i] ? ifaces[i] : "(null)");
			return -ENODEV;
		}
	}
	bc = calloc(1, sizeof(*bc));
	if (!bc) {
		snprintf(err, errlen, "eBPF connection cache: out of memory");
		return -ENOMEM;
	}
	bc->map_fd = bc->stats_fd = -1;
	libbpf_set_print(libbpf_quiet);
	bc->skel = kp_cc_bpf__open();
	if (!bc->skel) {
		rc = -errno;
		snprintf(err, errlen, "eBPF connection cache: open: %s", strerror(-rc));
		goto fail;
	}
	rc = bpf_map__set_max_entries(bc->skel->maps.kp_cc_map,
				      max_entries ? max_entries : KP_CC_DEFAULT_ENTRIES);
	if (rc) {
		snprintf(err, errlen, "eBPF connection cache: map size: %s", strerror(-rc));
		goto fail;
	}
	rc = kp_cc_bpf__load(bc->skel);
	if (rc) {
		if (rc == -EPERM || rc == -EACCES)
			snprintf(err, errlen,
				 "eBPF connection cache needs CAP_BPF/CAP_NET_ADMIN (loading: %s)",
				 strerror(-rc));
		else if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
			snprintf(err, errlen,
				 "eBPF connection cache: load failed (%s); kernel without BTF "
				 "(/sys/kernel/btf/vmlinux missing)", strerror(-rc));
		else
			snprintf(err, errlen, "eBPF connection cache: load failed: %s",
				 strerror(-rc));
		goto fail;
	}
	bc->map_fd = bpf_map__fd(bc->skel->maps.kp_cc_map);
	bc->stats_fd = bpf_map__fd(bc->skel->maps.kp_cc_stats);
	bc->ncpus = libbpf_num_possible_cpus();
	if (bc->ncpus <= 0) {
		rc = bc->ncpus ? bc->ncpus : -EINVAL;
		snprintf(err, errlen, "eBPF connection cache: cannot count CPUs");
		goto fail;
	}
	for (unsigned i = 0; i < n_ifaces; i++) {
		struct kp_bpf_iface *f = &bc->ifs[i];

		snprintf(f->name, sizeof(f->name), "%s", ifaces[i]);
		bc->n_ifaces = i + 1;
		rc = iface_attach(f, bpf_program__fd(bc->skel->progs.kp_cc_ingress), err, errlen);
		if (rc)
			goto fail;
	}
	*out = bc;
	return 0;
fail:
	kp_bpf_cache_close(bc);
	return rc < 0 ? rc : -EINVAL;
}

int kp_bpf_cache_add(struct kp_bpf_cache *bc, const struct kp_cc_key *k, uint32_t ttl_s)
{
	struct kp_cc_val v = {0};
	uint64_t now = kp_bpf_cache_now_ns();

	if (bpf_map_lookup_elem(bc->map_fd, k, &v) == 0 && now < v.expires_ns) {
		/* Refresh: keep hits and added time. A hit landing between lookup and
		 * update may be lost from the entry's counter (never from the totals). */
		v.expires_ns = now + (uint64_t)ttl_s * 1000000000ull;
		if (bpf_map_update_elem(bc->map_fd, k, &v, BPF_EXIST) == 0)
			return 0;
	}
	v.hits = 0;
	v.added_ns = now;
	v.expires_ns = now + (uint64_t)ttl_s * 1000000000ull;
	return bpf_map_update_elem(bc->map_fd, k, &v, BPF_ANY) ? -errno : 0;
}

int kp_bpf_cache_remove(struct kp_bpf_cache *bc, const struct kp_cc_key *k)
{
	return bpf_map_delete_elem(bc->map_fd, k) ? -errno : 0;
}

int kp_bpf_cache_lookup(struct kp_bpf_cache *bc, const struct kp_cc_key *k)
{
	struct kp_cc_val v;

	if (bpf_map_lookup_elem(bc->map_fd, k, &v))
		return 0;
	if (kp_bpf_cache_now_ns() >= v.expires_ns) {
		bpf_map_delete_elem(bc->map_fd, k);
		return -ETIMEDOUT;
	}
	return 1;
}

int kp_bpf_cache_foreach(struct kp_bpf_cache *bc, kp_bpf_cache_cb cb, void *arg)
{
	enum { SWEEP_MAX = 1024 };
	struct kp_cc_key cur, next, *dead = malloc(SWEEP_MAX * sizeof(*dead));
	struct kp_cc_val v;
	uint64_t now = kp_bpf_cache_now_ns();
	int n = 0, ndead = 0;
	void *prev = NULL;

	/*
	 * Bounded by the map size. Expired entries (the program deletes one only when
	 * it meets it again) are collected and deleted after the walk: deleting the
	 * current key would restart the walk.
	 */
	while (bpf_map_get_next_key(bc->map_fd, prev, &next) == 0) {
		cur = next;
		prev = &cur;
		if (bpf_map_lookup_elem(bc->map_fd, &cur, &v))
			continue;
		if (now >= v.expires_ns) {
			if (dead && ndead < SWEEP_MAX)
				dead[ndead++] = cur;
			continue;
		}
		n++;
		if (cb)
			cb(arg, &cur, v.hits, (v.expires_ns - now + 999999999ull) / 1000000000ull);
	}
	for (int i = 0; i < ndead; i++)
		if (bpf_map_delete_elem(bc->map_fd, &dead[i]) == 0)
			bc->swept++;
	free(dead);
	return n;
}

uint64_t kp_bpf_cache_swept(const struct kp_bpf_cache *bc)
{
	return bc->swept;
}

void kp_bpf_cache_totals(struct kp_bpf_cache *bc, uint64_t out[KP_CC_STAT_MAX])
{
	uint64_t *vals = calloc((size_t)bc->ncpus, sizeof(uint64_t));

	for (uint32_t i = 0; i < KP_CC_STAT_MAX; i++) {
		out[i] = 0;
		if (vals && bpf_map_lookup_elem(bc->stats_fd, &i, vals) == 0)
			for (int c = 0; c < bc->ncpus; c++)
				out[i] += vals[c];
	}
	free(vals);
}

void kp_bpf_cache_close(struct kp_bpf_cache *bc)
{
	if (!bc)
		return;
	for (unsigned i = 0; i < bc->n_ifaces; i++)
		iface_detach(&bc->ifs[i]);
	kp_cc_bpf__destroy(bc->skel);
	free(bc);
}

int kp_bpf_cache_prog_fd(const struct kp_bpf_cache *bc)
{
	return bpf_program__fd(bc->skel->progs.kp_cc_ingress);
}

int kp_bpf_cache_map_fd(const struct kp_bpf_cache *bc)
{
	return bc->map_fd;
}
