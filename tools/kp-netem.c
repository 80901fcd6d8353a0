/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kp-netem: the project's loss-and-delay emulator for a kernel without sch_netem
 * (tools/README.md). It reads one NFQUEUE through the project's packet source
 * (src/io/nfq.c), drops each packet with probability LOSS (a seeded PRNG, so a run
 * is reproducible for the same packet sequence), and holds every other packet for
 * DELAY ms in a bounded delay line before it accepts it (kp_nfq_release_upto). The queue
 * is opened without NFQA_CFG_F_GSO, so the kernel segments GSO super-packets before
 * queueing them and loss is per segment; without fail-open, so a full kernel queue
 * drops (counted by the kernel, reported at exit) instead of letting packets pass
 * undelayed. SIGTERM/SIGINT: everything still held is accepted at once, then a summary
 * line goes to stdout.
 */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/nfq.h"
#include "netem_core.h"

#define NETEM_MAX_DELAY_MS 10000u
#define NETEM_DEFAULT_LIMIT 100000u
#define NETEM_MAX_LIMIT 10000000u
#define NETEM_KERNEL_SLACK 8192u  /* kernel queue room for packets not read yet */
#define NETEM_COPY_RANGE 64u      /* headers only: the emulator never reads payload */

/* The one piece of mutable state outside main's context: set by the signal handler. */
static volatile sig_atomic_t stop_signal;

struct netem {
	uint16_t queue;
	uint32_t loss_ppm;
	uint64_t delay_ns;
	uint64_t seed;
	uint32_t limit;
	bool stats;
	struct kp_rng rng;
	struct kp_delay_line line;
	struct kp_hist hist;
	/* counters: seen = dropped + overflow + passed + delayed + flushed (+ held now) */
	uint64_t seen, bytes, dropped, overflow, passed, delayed, flushed, release_errors;
	uint32_t max_len;
};

static void on_signal(int sig)
{
	stop_signal = sig;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kp-netem -q QUEUE [--loss PCT] [--delay MS] [--seed N] [--limit N] [--stats]\n"
		"\n"
		"Loss-and-delay emulator on an NFQUEUE (for kernels without sch_netem).\n"
		"Packets must be sent to the queue by an iptables rule, e.g. with\n"
		"tools/kp-netem-setup.sh add --dev IF --queue QUEUE [--netns NS] [--dir out|in|both].\n"
		"\n"
		"  -q, --queue N   NFQUEUE number to bind (0..65535), required\n"
		"  --loss PCT      drop each packet with probability PCT percent (0..100, up to\n"
		"                  4 decimals, e.g. 0.5); default 0\n"
		"  --delay MS      hold every accepted packet MS milliseconds (0..%u, up to 3\n"
		"                  decimals); default 0\n"
		"  --seed N        PRNG seed (unsigned 64-bit); default 1. Same seed and same packet\n"
		"                  sequence: same packets dropped\n"
		"  --limit N       packets the delay line holds at most (1..%u, default %u); a\n"
		"                  packet arriving when it is full is dropped and counted as overflow\n"
		"  --stats         a stats line on stdout every second\n"
		"  -h, --help      this text\n"
		"\n"
		"SIGTERM/SIGINT: held packets are accepted at once, then one summary line is printed:\n"
		"seen = dropped + overflow + passed + delayed + flushed; delay_* is the added delay\n"
		"measured from reading a packet to sending its verdict (delayed packets only).\n"
		"Turn TSO/GSO off on the sending interface (ethtool -K IF tso off gso off).\n",
		NETEM_MAX_DELAY_MS, NETEM_MAX_LIMIT, NETEM_DEFAULT_LIMIT);
}

/* Decides one packet: loss first (one PRNG draw per packet, whatever the delay line does),
 * then into the delay line (or straight through when the delay is 0). */
static int on_packet(void *arg, const struct kp_nfq_pkt *p, uint32_t *mark, bool *set_mark)
{
	struct netem *n = arg;
	struct kp_netem_held h;

	(void)mark;
	(void)set_mark;
	n->seen++;
	n->bytes += p->pkt.len;
	if (p->pkt.len > n->max_len)
		n->max_len = p->pkt.len;
	if (kp_netem_lose(&n->rng, n->loss_ppm)) {
		n->dropped++;
		return NF_DROP;
	}
	if (!n->delay_ns) {
		n->passed++;
		return NF_ACCEPT;
	}
	h.arrival_ns = mono_ns();
	h.due_ns = h.arrival_ns + n->delay_ns;
	h.id = p->id;
	h.queue = p->queue;
	if (!kp_delay_line_push(&n->line, &h)) {
		n->overflow++;
		return NF_DROP;
	}
	return KP_NFQ_HOLD;
}

/* Accepts every held packet that is due (all of them when force) with one batch verdict: the
 * line is FIFO and ids grow with arrival on the one queue, so "every id up to the last due
 * one" is exactly the due packets (drops were sent at arrival, before any later batch). */
static void release_due(struct netem *n, struct kp_nfq *q, bool force)
{
	struct kp_netem_held h;
	uint64_t now = mono_ns();
	uint32_t count = 0, last_id = 0;

	while (kp_delay_line_pop(&n->line, now, force, &h)) {
		if (force && h.due_ns > now) {
			n->flushed++;
		} else {
			n->delayed++;
			kp_hist_add(&n->hist, (now - h.arrival_ns) / 1000);
		}
		last_id = h.id;
		count++;
	}
	if (count && kp_nfq_release_upto(q, n->queue, last_id, count) < 0)
		n->release_errors++;
}

/* The kernel's own counters of the queue (/proc/net/netfilter/nfnetlink_queue, this
 * namespace): queue_dropped (queue full) and user_dropped (netlink socket full). */
static void kernel_drops(uint16_t queue, uint64_t *qdrop, uint64_t *udrop)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
	char line[256];

	*qdrop = *udrop = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned num, portid, total, mode, range;
		unsigned long long qd, ud;

		if (sscanf(line, "%u %u %u %u %u %llu %llu", &num, &portid, &total, &mode, &range,
			   &qd, &ud) == 7 && num == queue) {
			*qdrop = qd;
			*udrop = ud;
			break;
		}
	}
	fclose(f);
}

static void print_line(const struct netem *n, const char *what, const struct kp_nfq_stats *st,
		       uint64_t qdrop, uint64_t udrop)
{
	printf("kp-netem: %s queue=%u loss=%.4f%% delay=%.3fms seed=%" PRIu64 " limit=%u"
	       " seen=%" PRIu64 " dropped=%" PRIu64 " overflow=%" PRIu64 " passed=%" PRIu64
	       " delayed=%" PRIu64 " flushed=%" PRIu64 " held=%u max_held=%u"
	       " delay_mean_ms=%.3f delay_p50_ms=%.3f delay_p99_ms=%.3f delay_max_ms=%.3f"
	       " max_len=%u bytes=%" PRIu64 " enobufs=%" PRIu64 " release_errors=%" PRIu64
	       " kernel_queue_dropped=%" PRIu64 " kernel_user_dropped=%" PRIu64 "\n",
	       what, n->queue, n->loss_ppm / 10000.0, n->delay_ns / 1e6, n->seed, n->limit,
	       n->seen, n->dropped, n->overflow, n->passed, n->delayed, n->flushed, n->line.len,
	       n->line.max_len, kp_hist_mean(&n->hist) / 1000.0,
	       kp_hist_quantile(&n->hist, 0.5) / 1000.0, kp_hist_quantile(&n->hist, 0.99) / 1000.0,
	       n->hist.max_us / 1000.0, n->max_len, n->bytes, st ? st->enobufs : 0,
	       n->release_errors, qdrop, udrop);
	fflush(stdout);
}

static int parse_args(int argc, char **argv, struct netem *n)
{
	static const struct option opts[] = {
		{ "queue", required_argument, NULL, 'q' },
		{ "loss", required_argument, NULL, 'l' },
		{ "delay", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'L' },
		{ "stats", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_queue = false;
	uint64_t v;
	int c;

	n->seed = 1;
	n->limit = NETEM_DEFAULT_LIMIT;
	while ((c = getopt_long(argc, argv, "q:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			if (kp_netem_parse_u64(optarg, 65535, &v) < 0) {
				fprintf(stderr, "kp-netem: --queue: '%s' is not a queue number "
					"(0..65535)\n", optarg);
				return -1;
			}
			n->queue = (uint16_t)v;
			have_queue = true;
			break;
		case 'l':
			if (kp_netem_parse_pct(optarg, &n->loss_ppm) < 0) {
				fprintf(stderr, "kp-netem: --loss: '%s' is not a percentage 0..100 "
					"(at most 4 decimals, e.g. 0.5)\n", optarg);
				return -1;
			}
			break;
		case 'd':
			if (kp_netem_parse_ms(optarg, NETEM_MAX_DELAY_MS, &n->delay_ns) < 0) {
				fprintf(stderr, "kp-netem: --delay: '%s' is not a delay in ms "
					"(0..%u, at most 3 decimals)\n", optarg, NETEM_MAX_DELAY_MS);
				return -1;
			}
			break;
		case 's':
			if (kp_netem_parse_u64(optarg, UINT64_MAX, &n->seed) < 0) {
				fprintf(stderr, "kp-netem: --seed: '%s' is not an unsigned integer\n",
					optarg);
				return -1;
			}
			break;
		case 'L':
			if (kp_netem_parse_u64(optarg, NETEM_MAX_LIMIT, &v) < 0 || !v) {
				fprintf(stderr, "kp-netem: --limit: '%s' is not a packet count "
					"(1..%u)\n", optarg, NETEM_MAX_LIMIT);
				return -1;
			}
			n->limit = (uint32_t)v;
			break;
		case 'S':
			n->stats = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "kp-netem: see --help\n");
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kp-netem: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -1;
	}
	if (!have_queue) {
		fprintf(stderr, "kp-netem: -q QUEUE is required (see --help)\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct netem *n;
	struct kp_nfq_config cfg;
	struct kp_nfq *q = NULL;
	struct sigaction sa;
	sigset_t block, empty;
	char err[256];
	uint64_t next_stats, qdrop, udrop;
	int rc = 0;

	n = calloc(1, sizeof(*n));
	if (!n) {
		fprintf(stderr, "kp-netem: out of memory\n");
		return 1;
	}
	if (parse_args(argc, argv, n) < 0) {
		free(n);
		return 2;
	}
	kp_rng_seed(&n->rng, n->seed);
	kp_hist_init(&n->hist);
	if (kp_delay_line_init(&n->line, n->limit) < 0) {
		fprintf(stderr, "kp-netem: out of memory for a delay line of %u packets\n", n->limit);
		free(n);
		return 1;
	}

	/* Signals stay blocked except inside ppoll, so a stop request is never missed between
	 * the check and the wait; no SA_RESTART (../shared/TESTBED.md). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);

	kp_nfq_config_default(&cfg);
	cfg.queue_first = n->queue;
	cfg.queue_count = 1;
	cfg.copy_range = NETEM_COPY_RANGE;
	cfg.gso = false;       /* the kernel segments: loss and delay per segment */
	cfg.fail_open = false; /* a full queue drops (counted) rather than passing undelayed */
	cfg.maxlen = n->limit + NETEM_KERNEL_SLACK;
	if (kp_nfq_open(&q, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "kp-netem: %s\n", err);
		kp_delay_line_free(&n->line);
		free(n);
		return 1;
	}
	if (err[0])
		fprintf(stderr, "kp-netem: %s\n", err);
	fprintf(stderr, "kp-netem: ready queue=%u loss=%.4f%% delay=%.3fms seed=%" PRIu64
		" limit=%u\n", n->queue, n->loss_ppm / 10000.0, n->delay_ns / 1e6, n->seed,
		n->limit);

	next_stats = mono_ns() + 1000000000u;
	while (!stop_signal) {
		const struct kp_netem_held *h;
		struct pollfd pfd = { .fd = kp_nfq_fd(q), .events = POLLIN };
		uint64_t now = mono_ns(), wait_ns = next_stats > now ? next_stats - now : 0;
		struct timespec ts;
		int r;

		h = kp_delay_line_head(&n->line);
		if (h) {
			uint64_t due_in = h->due_ns > now ? h->due_ns - now : 0;

			if (due_in < wait_ns)
				wait_ns = due_in;
		}
		ts.tv_sec = (time_t)(wait_ns / 1000000000u);
		ts.tv_nsec = (long)(wait_ns % 1000000000u);
		r = ppoll(&pfd, 1, &ts, &empty);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "kp-netem: poll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (r > 0 && kp_nfq_run_once(q, 0, on_packet, n) < 0) {
			fprintf(stderr, "kp-netem: %s\n", kp_nfq_error(q));
			rc = 1;
			break;
		}
		release_due(n, q, false);
		now = mono_ns();
		if (now >= next_stats) {
			if (n->stats) {
				kernel_drops(n->queue, &qdrop, &udrop);
				print_line(n, "stats", kp_nfq_stats(q), qdrop, udrop);
			}
			next_stats = now + 1000000000u;
		}
	}

	/* Accept what is held now, read the kernel's counters while the queue exists, then let
	 * kp_nfq_close accept whatever is still unread and unbind. */
	release_due(n, q, true);
	kernel_drops(n->queue, &qdrop, &udrop);
	print_line(n, "summary", kp_nfq_stats(q), qdrop, udrop);
	kp_nfq_close(q);
	kp_delay_line_free(&n->line);
	free(n);
	return rc;
}
