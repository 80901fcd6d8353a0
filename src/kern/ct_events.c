/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Conntrack DESTROY event reader (see ct_events.h). One netlink socket subscribed to the
 * NFNLGRP_CONNTRACK_DESTROY group, non-blocking, with a large receive buffer; the mark
 * filter is attached as a BPF socket filter through nfct_filter when the library and
 * kernel accept it, and repeated in user space in any case.
 */
#define _GNU_SOURCE
#include "kern/ct_events.h"
#include "util/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

#define CT_RCVBUF (8 << 20)
#define CT_MAX_ROUNDS 1024 /* bound on ENOBUFS restarts within one read call */

struct kp_ct_events {
	struct nfct_handle *h;
	uint32_t mask;
	uint64_t lost;
	bool kernel_filter;
	unsigned delivered;
	void (*cb)(void *arg, const struct kp_ct_end *e);
	void *arg;
};

static uint64_t get_u64(const struct nf_conntrack *ct, enum nf_conntrack_attr a)
{
	return nfct_attr_is_set(ct, a) > 0 ? nfct_get_attr_u64(ct, a) : 0;
}

static int on_event(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct kp_ct_events *ev = data;
	struct kp_ct_end e;

	if (type != NFCT_T_DESTROY || !ev->cb)
		return NFCT_CB_CONTINUE;
	memset(&e, 0, sizeof(e));
	e.mark = nfct_attr_is_set(ct, ATTR_MARK) > 0 ? nfct_get_attr_u32(ct, ATTR_MARK) : 0;
	if (ev->mask && !(e.mark & ev->mask))
		return NFCT_CB_CONTINUE;
	e.family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
	if (e.family == AF_INET) {
		uint32_t s = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC);
		uint32_t d = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST);

		memcpy(e.src, &s, 4);
		memcpy(e.dst, &d, 4);
	} else if (e.family == AF_INET6) {
		memcpy(e.src, nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), 16);
		memcpy(e.dst, nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), 16);
	} else {
		return NFCT_CB_CONTINUE;
	}
	e.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	if (nfct_attr_is_set(ct, ATTR_ORIG_PORT_SRC) > 0)
		e.sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
	if (nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST) > 0)
		e.dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	e.pkts[0] = get_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
	e.bytes[0] = get_u64(ct, ATTR_ORIG_COUNTER_BYTES);
	e.pkts[1] = get_u64(ct, ATTR_REPL_COUNTER_PACKETS);
	e.bytes[1] = get_u64(ct, ATTR_REPL_COUNTER_BYTES);
	ev->delivered++;
	ev->cb(ev->arg, &e);
	return NFCT_CB_CONTINUE;
}

/* Kernel-side filter: pass only entries whose mark is nonzero under the mask. */
static bool attach_mark_filter(struct kp_ct_events *ev)
{
	struct nfct_filter_dump_mark m = { .val = 0, .mask = ev->mask };
	struct nfct_filter *f = nfct_filter_create();
	bool ok = false;

	if (!f)
		return false;
	nfct_filter_add_attr(f, NFCT_FILTER_MARK, &m);
	if (nfct_filter_set_logic(f, NFCT_FILTER_MARK, NFCT_FILTER_LOGIC_NEGATIVE) == 0 &&
	    nfct_filter_attach(nfct_fd(ev->h), f) == 0)
		ok = true;
	nfct_filter_destroy(f);
	return ok;
}

int kp_ct_events_open(struct kp_ct_events **out, uint32_t mark_mask, char *err, size_t errlen)
{
	struct kp_ct_events *ev;
	int fd, sz = CT_RCVBUF, ret;

	*out = NULL;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->mask = mark_mask;
	ev->h = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_DESTROY);
	if (!ev->h) {
		ret = errno ? -errno : -EIO;
		kp_set_err(err, errlen, "conntrack events: %s (nf_conntrack_netlink, CAP_NET_ADMIN?)",
			strerror(-ret));
		free(ev);
		return ret;
	}
	fd = nfct_fd(ev->h);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
	    nfct_callback_register(ev->h, NFCT_T_DESTROY, on_event, ev) != 0) {
		ret = errno ? -errno : -EIO;
		kp_set_err(err, errlen, "conntrack events: %s", strerror(-ret));
		nfct_close(ev->h);
		free(ev);
		return ret;
	}
	if (mark_mask)
		ev->kernel_filter = attach_mark_filter(ev);
	*out = ev;
	return 0;
}

int kp_ct_events_fd(const struct kp_ct_events *ev)
{
	return nfct_fd(ev->h);
}

int kp_ct_events_read(struct kp_ct_events *ev, void (*cb)(void *arg, const struct kp_ct_end *e),
		      void *arg)
{
	int ret = 0;

	ev->cb = cb;
	ev->arg = arg;
	ev->delivered = 0;
	for (int round = 0; round < CT_MAX_ROUNDS; round++) {
		errno = 0;
		if (nfct_catch(ev->h) >= 0)
			continue; /* a callback stopped the loop: keep draining */
		if (errno == ENOBUFS) {
			ev->lost++;
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			ret = errno ? -errno : -EIO;
		break;
	}
	ev->cb = NULL;
	ev->arg = NULL;
	return ret ? ret : (int)ev->delivered;
}

uint64_t kp_ct_events_lost(const struct kp_ct_events *ev)
{
	return ev->lost;
}

void kp_ct_events_close(struct kp_ct_events *ev)
{
	if (!ev)
		return;
	nfct_close(ev->h);
	free(ev);
}
