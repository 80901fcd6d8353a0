/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Driver for the live plumbing tests (tests/live/plumbing.sh, ct_events.sh): exposes
 * kp_nf_install / kp_nf_remove / kp_nf_print_rules / kp_nf_check and the conntrack
 * DESTROY event reader as subcommands, so the scripts can check their effect with
 * iptables-save and conntrack inside throw-away network namespaces.
 *
 *   nf_plumb_test install|print [-6] [-p] [-q A[:B]] [-m MASK] [-i IF]...
 *   nf_plumb_test remove | check
 *   nf_plumb_test ct-wait MASK TIMEOUT_S SRC DST DPORT [SRC DST DPORT]...
 *       prints "ready", then every delivered DESTROY event; exits 0 when, for each given
 *       original tuple (TCP), an event with nonzero counters in both directions arrived,
 *       2 when an event whose mark is 0 under MASK was delivered, 1 on timeout.
 *   nf_plumb_test ct-burst MASK GO_FILE SPORT TIMEOUT_S
 *       opens the reader with the smallest receive buffer, prints "ready" and reads nothing
 *       until GO_FILE exists (the script makes a burst of DESTROY events meanwhile); then
 *       drains, and exits 0 once overflows were counted and a later event with source
 *       port SPORT still arrived (the reader survived ENOBUFS), 1 otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kern/ct_events.h"
#include "kern/netfilter.h"

#define MAX_WANT 4

struct want {
	int family;
	uint8_t src[16], dst[16];
	uint16_t dport;
	bool found;
};

struct wait_ctx {
	uint32_t mask;
	unsigned n, found;
	struct want w[MAX_WANT];
	bool unmarked;
};

static void on_end(void *arg, const struct kp_ct_end *e)
{
	struct wait_ctx *w = arg;
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	size_t alen = e->family == AF_INET ? 4 : 16;

	inet_ntop(e->family, e->src, s, sizeof(s));
	inet_ntop(e->family, e->dst, d, sizeof(d));
	printf("end proto=%u %s:%u -> %s:%u pkts=%llu/%llu bytes=%llu/%llu mark=0x%08x\n",
	       e->proto, s, e->sport, d, e->dport, (unsigned long long)e->pkts[0],
	       (unsigned long long)e->pkts[1], (unsigned long long)e->bytes[0],
	       (unsigned long long)e->bytes[1], e->mark);
	fflush(stdout);
	if (w->mask && !(e->mark & w->mask))
		w->unmarked = true;
	for (unsigned i = 0; i < w->n; i++) {
		struct want *x = &w->w[i];

		if (!x->found && e->family == x->family && e->proto == IPPROTO_TCP &&
		    e->dport == x->dport && !memcmp(e->src, x->src, alen) &&
		    !memcmp(e->dst, x->dst, alen) && e->pkts[0] && e->pkts[1] && e->bytes[0] &&
		    e->bytes[1]) {
			x->found = true;
			w->found++;
		}
	}
}

static int parse_addr(const char *s, int *family, uint8_t *out)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static int ct_wait(int argc, char **argv)
{
	struct wait_ctx w = { 0 };
	struct kp_ct_events *ev;
	struct timespec t0, now;
	char err[256];
	int f2, timeout;

	if (argc < 7 || (argc - 4) % 3 || (argc - 4) / 3 > MAX_WANT)
		return 64;
	w.mask = (uint32_t)strtoul(argv[2], NULL, 0);
	timeout = atoi(argv[3]);
	for (int i = 4; i + 2 < argc; i += 3) {
		struct want *x = &w.w[w.n++];

		if (parse_addr(argv[i], &x->family, x->src) ||
		    parse_addr(argv[i + 1], &f2, x->dst)) {
			fprintf(stderr, "bad address\n");
			return 64;
		}
		x->dport = (uint16_t)atoi(argv[i + 2]);
	}
	if (kp_ct_events_open(&ev, w.mask, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { kp_ct_events_fd(ev), POLLIN, 0 };
		int r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (w.found == w.n || now.tv_sec - t0.tv_sec >= timeout)
			break;
		poll(&p, 1, 200);
		r = kp_ct_events_read(ev, on_end, &w);
		if (r < 0) {
			fprintf(stderr, "read: %s\n", strerror(-r));
			break;
		}
	}
	printf("lost=%llu\n", (unsigned long long)kp_ct_events_lost(ev));
	kp_ct_events_close(ev);
	if (w.unmarked)
		return 2;
	return w.found == w.n ? 0 : 1;
}

struct burst_ctx {
	uint16_t sport;
	unsigned events;
	bool sentinel;
};

static void on_burst(void *arg, const struct kp_ct_end *e)
{
	struct burst_ctx *b = arg;

	b->events++;
	if (e->sport == b->sport)
		b->sentinel = true;
}

static int ct_burst(int argc, char **argv)
{
	struct burst_ctx b = { 0 };
	struct kp_ct_events *ev;
	struct timespec t0, now;
	char err[256];
	int timeout, one = 1;

	if (argc != 6)
		return 64;
	b.sport = (uint16_t)atoi(argv[4]);
	timeout = atoi(argv[5]);
	if (kp_ct_events_open(&ev, (uint32_t)strtoul(argv[2], NULL, 0), err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	setsockopt(kp_ct_events_fd(ev), SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (access(argv[3], F_OK) == 0 || now.tv_sec - t0.tv_sec >= timeout)
			break;
		usleep(50000);
	}
	for (;;) {
		struct pollfd p = { kp_ct_events_fd(ev), POLLIN, 0 };
		int r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (b.sentinel || now.tv_sec - t0.tv_sec >= timeout)
			break;
		poll(&p, 1, 200);
		r = kp_ct_events_read(ev, on_burst, &b);
		if (r < 0) {
			fprintf(stderr, "read: %s\n", strerror(-r));
			break;
		}
		if (r > 0 || kp_ct_events_lost(ev)) {
			printf("events=%u lost=%llu\n", b.events,
			       (unsigned long long)kp_ct_events_lost(ev));
			fflush(stdout);
		}
	}
	printf("final events=%u lost=%llu sentinel=%d\n", b.events,
	       (unsigned long long)kp_ct_events_lost(ev), b.sentinel);
	int ok = b.sentinel && kp_ct_events_lost(ev);

	kp_ct_events_close(ev);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct kp_nf_config c = { .queue_first = 0, .queue_count = 1, .mark_mask = 0x00ff0000,
				  .bypass = true };
	const char *ifaces[16];
	char err[512];
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: nf_plumb_test install|print|remove|check|ct-wait ...\n");
		return 64;
	}
	if (!strcmp(argv[1], "ct-wait"))
		return ct_wait(argc, argv);
	if (!strcmp(argv[1], "ct-burst"))
		return ct_burst(argc, argv);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-6")) {
			c.ipv6 = true;
		} else if (!strcmp(argv[i], "-p")) {
			c.bypass = false;
		} else if (!strcmp(argv[i], "-q") && i + 1 < argc) {
			char *end;
			unsigned long a = strtoul(argv[++i], &end, 10), b = a;

			if (*end == ':')
				b = strtoul(end + 1, NULL, 10);
			c.queue_first = (uint16_t)a;
			c.queue_count = (uint16_t)(b - a + 1);
		} else if (!strcmp(argv[i], "-m") && i + 1 < argc) {
			c.mark_mask = (uint32_t)strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "-i") && i + 1 < argc && c.n_ifaces < 16) {
			ifaces[c.n_ifaces++] = argv[++i];
		} else {
			fprintf(stderr, "bad argument %s\n", argv[i]);
			return 64;
		}
	}
	c.ifaces = ifaces;
	if (!strcmp(argv[1], "print")) {
		kp_nf_print_rules(&c, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "install"))
		ret = kp_nf_install(&c, err, sizeof(err));
	else if (!strcmp(argv[1], "remove"))
		ret = kp_nf_remove(err, sizeof(err));
	else if (!strcmp(argv[1], "check"))
		ret = kp_nf_check(err, sizeof(err));
	else
		return 64;
	if (ret) {
		fprintf(stderr, "%s: %s (%s)\n", argv[1], err, strerror(-ret));
		return 1;
	}
	return 0;
}
