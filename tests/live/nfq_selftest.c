/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small NFQUEUE reader over src/io/nfq.c for tests/live/nfq-selftest.sh and for
 * throughput measurements: binds the given queues, decides packets by a simple
 * rule (accept all; drop TCP/UDP to or from one port; set a mark on accept),
 * and on SIGTERM/SIGINT or after -t seconds prints its counters as key=value
 * lines and exits.
 *
 *   nfq_selftest -q QUEUE[:LAST] [-b batch] [-G] [-F] [-d port] [-m mark] [-r bytes]
 *                [-M port] [-c copy_range] [-t seconds] [-R readyfile]
 *   -G: no GSO flag; -F: no fail-open flag; -M: mark only packets to or from this port.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/nfq.h"

struct st_opts {
	int drop_port;      /* -1: none */
	uint16_t first_queue;
	uint32_t mark;      /* 0: none */
	int mark_port;      /* -1: mark every packet, else only packets to or from this port */
	uint64_t dropped, marked, csum_ok_flag, ipv4, other;
	uint64_t per_queue[2]; /* packets of the first queue and of the others */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int pkt_ports(const uint8_t *d, uint32_t n, int *sport, int *dport)
{
	uint32_t ihl;

	if (n < 20 || (d[0] >> 4) != 4)
		return -1;
	ihl = (uint32_t)(d[0] & 15) * 4;
	if (ihl < 20 || n < ihl + 4 || (d[9] != 6 && d[9] != 17))
		return -1;
	if ((((uint32_t)d[6] << 8 | d[7]) & 0x1fff) != 0) /* not a first fragment */
		return -1;
	*sport = d[ihl] << 8 | d[ihl + 1];
	*dport = d[ihl + 2] << 8 | d[ihl + 3];
	return 0;
}

static int decide(void *arg, const struct kp_nfq_pkt *p, uint32_t *mark, bool *set_mark)
{
	struct st_opts *o = arg;
	int sport, dport;

	if (p->pkt.flags & KP_PKT_CSUM_OK)
		o->csum_ok_flag++;
	if (p->pkt.caplen >= 1 && (p->pkt.data[0] >> 4) == 4)
		o->ipv4++;
	else
		o->other++;
	if (o->drop_port >= 0 && pkt_ports(p->pkt.data, p->pkt.caplen, &sport, &dport) == 0 &&
	    (sport == o->drop_port || dport == o->drop_port)) {
		o->dropped++;
		return NF_DROP;
	}
	o->per_queue[p->queue != o->first_queue]++;
	if (o->mark && (o->mark_port < 0 ||
			(pkt_ports(p->pkt.data, p->pkt.caplen, &sport, &dport) == 0 &&
			 (sport == o->mark_port || dport == o->mark_port)))) {
		*mark = (*mark & ~0x00ff0000u) | o->mark;
		*set_mark = true;
		o->marked++;
	}
	return NF_ACCEPT;
}

static void usage(void)
{
	fprintf(stderr, "usage: nfq_selftest -q QUEUE[:LAST] [-b batch] [-G] [-F] [-d port] "
		"[-m mark] [-M port] [-r rcvbuf] [-c copy_range] [-t seconds] [-R readyfile]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct kp_nfq_config cfg;
	struct st_opts o = { .drop_port = -1, .mark_port = -1 };
	const char *ready = NULL;
	struct kp_nfq *q;
	struct sigaction sa;
	char err[256];
	double secs = 0;
	struct timespec t0, t;
	int c, rc = 0;

	kp_nfq_config_default(&cfg);
	while ((c = getopt(argc, argv, "q:b:GFd:m:M:r:c:t:R:")) != -1) {
		switch (c) {
		case 'q': {
			char *end;
			unsigned long a = strtoul(optarg, &end, 10), b = a;

			if (*end == ':')
				b = strtoul(end + 1, &end, 10);
			if (*end || b < a || b > 65535)
				usage();
			cfg.queue_first = (uint16_t)a;
			cfg.queue_count = (uint16_t)(b - a + 1);
			break;
		}
		case 'b': cfg.batch = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'G': cfg.gso = false; break;
		case 'F': cfg.fail_open = false; break;
		case 'd': o.drop_port = atoi(optarg); break;
		case 'M': o.mark_port = atoi(optarg); break;
		case 'm': o.mark = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'r': cfg.rcvbuf = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'c': cfg.copy_range = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 't': secs = atof(optarg); break;
		case 'R': ready = optarg; break;
		default: usage();
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	o.first_queue = cfg.queue_first;
	if (kp_nfq_open(&q, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "nfq_selftest: %s\n", err);
		return 1;
	}
	if (err[0])
		fprintf(stderr, "nfq_selftest: %s\n", err);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop) {
		if (kp_nfq_run_once(q, 200, decide, &o) < 0) {
			fprintf(stderr, "nfq_selftest: %s\n", kp_nfq_error(q));
			rc = 1;
			break;
		}
		if (secs > 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= secs)
				break;
		}
	}

	const struct kp_nfq_stats *s = kp_nfq_stats(q);

	printf("received=%llu\nbytes=%llu\nenobufs=%llu\nverdicts_sent=%llu\nbatch_msgs=%llu\n"
	       "gso=%llu\ncsum_partial=%llu\nrecv_errors=%llu\ntruncated=%llu\nnl_errors=%llu\n"
	       "send_errors=%llu\nmax_len=%u\nflags_granted=%u\nflags_refused=%u\nrcvbuf=%u\n"
	       "rcvbuf_forced=%d\ndropped=%llu\nmarked=%llu\ncsum_ok_flag=%llu\nipv4=%llu\n"
	       "queue_first=%llu\nqueue_others=%llu\n",
	       (unsigned long long)s->received, (unsigned long long)s->bytes,
	       (unsigned long long)s->enobufs, (unsigned long long)s->verdicts_sent,
	       (unsigned long long)s->batch_msgs, (unsigned long long)s->gso,
	       (unsigned long long)s->csum_partial, (unsigned long long)s->recv_errors,
	       (unsigned long long)s->truncated, (unsigned long long)s->nl_errors,
	       (unsigned long long)s->send_errors, s->max_len, s->flags_granted,
	       s->flags_refused, s->rcvbuf, s->rcvbuf_forced, (unsigned long long)o.dropped,
	       (unsigned long long)o.marked, (unsigned long long)o.csum_ok_flag,
	       (unsigned long long)o.ipv4, (unsigned long long)o.per_queue[0],
	       (unsigned long long)o.per_queue[1]);
	fflush(stdout);
	kp_nfq_close(q);
	return rc;
}
