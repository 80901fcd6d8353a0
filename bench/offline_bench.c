/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Benchmark driver for the offline pipeline: loads every given capture fully
 * into memory (libpcap, before any timing), pins itself to one CPU, then runs
 * K passes of kp_engine_process() over all packets with a fresh engine per
 * pass (events off, classification on, default config unless -s). Each
 * capture is processed the way `kp2padm -r` does it: checksum survey (done
 * once, outside the timing), packets, then kp_engine_flush(). Timed: packets
 * and flush, not engine set-up; both wall and CPU time. Prints one line per pass and a summary of
 * key=value pairs for bench/offline to tabulate: packets, wire bytes, median
 * seconds, packets/s, Gbit/s, flows, sizeof(struct kp_flow), heap per live
 * flow (measured with mallinfo2 around a run that is not flushed, broken down
 * into flow struct, probe buffers, module state and reassembly segments), and
 * peak RSS. Asserts nothing.
 *
 * usage: offline_bench [-k PASSES] [-c CPU] [-s key=value]... CAPTURE...
 */
#define _GNU_SOURCE
#include "classify/classify.h"
#include "engine/config.h"
#include "engine/csum_survey.h"
#include "engine/engine.h"
#include "flow/flow.h"

#include <malloc.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct cap {
	const char *path;
	struct kp_packet *pkts;
	size_t npkts;
	uint8_t *arena;
	uint64_t wire_bytes;
	bool lenient; /* checksum survey said "rewritten" */
};

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Reads a whole capture into one arena; returns 0 or -1 (message printed). */
static int cap_load(struct cap *c, const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t cap_pkts = 1024, used = 0, arena_cap = 1 << 20;
	int dlt, r;
	pcap_t *p;

	memset(c, 0, sizeof(*c));
	c->path = path;
	p = pcap_open_offline(path, err);
	if (!p) {
		fprintf(stderr, "offline_bench: %s: %s\n", path, err);
		return -1;
	}
	dlt = pcap_datalink(p);
	c->pkts = malloc(cap_pkts * sizeof(*c->pkts));
	c->arena = malloc(arena_cap);
	if (!c->pkts || !c->arena)
		goto oom;
	/* offsets first (the arena moves while it grows), pointers fixed at the end */
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		if (c->npkts == cap_pkts) {
			struct kp_packet *np = realloc(c->pkts, 2 * cap_pkts * sizeof(*np));

			if (!np)
				goto oom;
			c->pkts = np;
			cap_pkts *= 2;
		}
		while (used + h->caplen > arena_cap) {
			uint8_t *na = realloc(c->arena, 2 * arena_cap);

			if (!na)
				goto oom;
			c->arena = na;
			arena_cap *= 2;
		}
		memcpy(c->arena + used, d, h->caplen);
		c->pkts[c->npkts] = (struct kp_packet){
			.data = (const uint8_t *)(uintptr_t)used,
			.caplen = h->caplen,
			.len = h->len,
			.ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec,
			.dlt = dlt,
		};
		c->wire_bytes += h->len;
		used += h->caplen;
		c->npkts++;
	}
	if (r == -1)
		fprintf(stderr, "offline_bench: %s: %s (kept %zu packets)\n", path, pcap_geterr(p),
			c->npkts);
	pcap_close(p);
	for (size_t i = 0; i < c->npkts; i++)
		c->pkts[i].data = c->arena + (uintptr_t)c->pkts[i].data;
	return 0;
oom:
	fprintf(stderr, "offline_bench: %s: out of memory\n", path);
	pcap_close(p);
	return -1;
}

static void run_cap(struct kp_engine *e, const struct cap *c)
{
	struct kp_verdict v;

	e->csum_lenient = c->lenient;
	for (size_t i = 0; i < c->npkts; i++)
		kp_engine_process(e, &c->pkts[i], &v);
}

struct heap_probe {
	uint64_t active;           /* live flows at the end of the capture */
	uint64_t heap;             /* heap growth over the run (mallinfo2 uordblks) */
	uint64_t flow_structs;     /* malloc_usable_size of the flow structs */
	uint64_t probe_bufs, mod_state, reasm;
	uint64_t with_pb, with_state;
};

/* Walks the live flows of e and sums what each owns. */
static void heap_walk(struct kp_engine *e, struct heap_probe *hp)
{
	for (uint32_t b = 0; b < e->ft.nbuckets; b++) {
		for (struct kp_flow *f = e->ft.buckets[b]; f; f = f->hnext) {
			hp->active++;
			hp->flow_structs += malloc_usable_size(f);
			if (f->pb) {
				hp->with_pb++;
				hp->probe_bufs += malloc_usable_size(f->pb);
			}
			if (f->mod_state) {
				hp->with_state++;
				hp->mod_state += malloc_usable_size(f->mod_state);
			}
			for (int d = 0; d < 2; d++)
				for (struct kp_seg *s = f->sd[d].ooo; s; s = s->next)
					hp->reasm += malloc_usable_size(s);
		}
	}
}

/* Heap per live flow for one capture: fresh engine, no flush, no expiry between packets. */
static int heap_probe(const struct kp_config *cfg, const struct cap *c, struct heap_probe *hp)
{
	struct kp_engine e;
	struct mallinfo2 a, b;

	memset(hp, 0, sizeof(*hp));
	if (kp_engine_init(&e, cfg, 0, NULL, NULL))
		return -1;
	malloc_trim(0);
	a = mallinfo2();
	run_cap(&e, c);
	b = mallinfo2();
	hp->heap = b.uordblks > a.uordblks ? b.uordblks - a.uordblks : 0;
	heap_walk(&e, hp);
	kp_engine_fini(&e);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: offline_bench [-k PASSES] [-c CPU] [-s key=value]... CAPTURE...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct kp_config cfg, mcfg;
	struct cap *caps;
	struct rusage ru;
	uint64_t npkts = 0, wire = 0, flows = 0;
	double *secs, *cpus, med, cmed;
	int passes = 5, cpu = 0, ncaps, opt;
	char err[256];
	cpu_set_t set;

	kp_config_defaults(&cfg);
	while ((opt = getopt(argc, argv, "k:c:s:")) != -1) {
		switch (opt) {
		case 'k':
			passes = atoi(optarg);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 's': {
			char *eq = strchr(optarg, '=');

			if (!eq)
				usage();
			*eq = '\0';
			if (kp_config_set(&cfg, optarg, eq + 1, err, sizeof(err))) {
				fprintf(stderr, "offline_bench: %s\n", err);
				return 2;
			}
			break;
		}
		default:
			usage();
		}
	}
	if (optind >= argc || passes < 1)
		usage();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("offline_bench: sched_setaffinity (continuing unpinned)");

	ncaps = argc - optind;
	caps = calloc((size_t)ncaps, sizeof(*caps));
	secs = calloc((size_t)passes, sizeof(*secs));
	cpus = calloc((size_t)passes, sizeof(*cpus));
	if (!caps || !secs || !cpus)
		return 1;
	for (int i = 0; i < ncaps; i++) {
		if (cap_load(&caps[i], argv[optind + i]))
			return 1;
		npkts += caps[i].npkts;
		wire += caps[i].wire_bytes;
	}
	printf("loaded: captures=%d packets=%llu wire_bytes=%llu cpu=%d passes=%d\n", ncaps,
	       (unsigned long long)npkts, (unsigned long long)wire, cpu, passes);

	for (int k = 0; k < passes; k++) {
		struct kp_engine e;
		double t0, c0;

		if (kp_engine_init(&e, &cfg, 0, NULL, NULL)) {
			fprintf(stderr, "offline_bench: engine init failed\n");
			return 1;
		}
		t0 = clock_s(CLOCK_MONOTONIC);
		c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		for (int i = 0; i < ncaps; i++) {
			/* as kp2padm -r does: survey the first packets' checksums, then run */
			uint64_t bad, checked;
			size_t n = caps[i].npkts < KP_CSUM_SURVEY_PKTS ? caps[i].npkts
								       : KP_CSUM_SURVEY_PKTS;

			caps[i].lenient = cfg.checksum == KP_CSUM_MODE_AUTO &&
					  kp_csum_survey(caps[i].pkts, n, &bad, &checked);
			run_cap(&e, &caps[i]);
			kp_engine_flush(&e);
		}
		secs[k] = clock_s(CLOCK_MONOTONIC) - t0;
		cpus[k] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		flows = e.ft.st.created;
		kp_engine_fini(&e);
		printf("pass %d: seconds=%.6f cpu_s=%.6f pps=%.0f\n", k, secs[k], cpus[k],
		       (double)npkts / secs[k]);
	}
	qsort(secs, (size_t)passes, sizeof(*secs), cmp_dbl);
	med = passes % 2 ? secs[passes / 2] : (secs[passes / 2 - 1] + secs[passes / 2]) / 2;
	qsort(cpus, (size_t)passes, sizeof(*cpus), cmp_dbl);
	cmed = passes % 2 ? cpus[passes / 2] : (cpus[passes / 2 - 1] + cpus[passes / 2]) / 2;

	/* memory: reassembly bounded to nothing held out of order is not possible
	 * (max_ooo >= 4096), so segments are measured and listed apart instead */
	mcfg = cfg;
	{
		struct heap_probe best = {0}, sum = {0}, hp;
		const char *best_path = "";

		for (int i = 0; i < ncaps; i++) {
			if (heap_probe(&mcfg, &caps[i], &hp))
				continue;
			if (hp.active > best.active) {
				best = hp;
				best_path = caps[i].path;
			}
			sum.active += hp.active;
			sum.heap += hp.heap;
			sum.flow_structs += hp.flow_structs;
			sum.probe_bufs += hp.probe_bufs;
			sum.mod_state += hp.mod_state;
			sum.reasm += hp.reasm;
			sum.with_pb += hp.with_pb;
			sum.with_state += hp.with_state;
		}
		getrusage(RUSAGE_SELF, &ru);
		printf("result: packets=%llu wire_bytes=%llu median_s=%.6f min_s=%.6f "
		       "median_cpu_s=%.6f pps=%.0f gbps=%.3f flows=%llu\n",
		       (unsigned long long)npkts, (unsigned long long)wire, med, secs[0], cmed,
		       (double)npkts / med, (double)wire * 8 / med / 1e9,
		       (unsigned long long)flows);
		printf("memory: sizeof_flow=%zu probe_buf_bytes=%zu peak_rss_kb=%ld\n",
		       sizeof(struct kp_flow),
		       sizeof(struct kp_probe_bufs) + 2 * (size_t)cfg.classify_buffer,
		       ru.ru_maxrss);
		if (best.active) {
			double a = (double)best.active;

			printf("heap_most_flows: capture=%s live_flows=%llu heap_per_flow=%.0f "
			       "flow_struct=%.0f probe_bufs=%.0f (%llu flows) mod_state=%.0f "
			       "(%llu flows) reasm=%.0f heap_per_flow_no_reasm=%.0f "
			       "heap_per_flow_no_reasm_no_probe=%.0f\n",
			       best_path, (unsigned long long)best.active, (double)best.heap / a,
			       (double)best.flow_structs / a, (double)best.probe_bufs / a,
			       (unsigned long long)best.with_pb, (double)best.mod_state / a,
			       (unsigned long long)best.with_state, (double)best.reasm / a,
			       (double)(best.heap - best.reasm) / a,
			       (double)(best.heap - best.reasm - best.probe_bufs) / a);
		}
		if (sum.active) {
			double a = (double)sum.active;

			printf("heap_all: live_flows=%llu heap_per_flow=%.0f flow_struct=%.0f "
			       "probe_bufs=%.0f (%llu flows) mod_state=%.0f (%llu flows) reasm=%.0f "
			       "heap_per_flow_no_reasm=%.0f heap_per_flow_no_reasm_no_probe=%.0f\n",
			       (unsigned long long)sum.active, (double)sum.heap / a,
			       (double)sum.flow_structs / a, (double)sum.probe_bufs / a,
			       (unsigned long long)sum.with_pb, (double)sum.mod_state / a,
			       (unsigned long long)sum.with_state, (double)sum.reasm / a,
			       (double)(sum.heap - sum.reasm) / a,
			       (double)(sum.heap - sum.reasm - sum.probe_bufs) / a);
		}
	}
	for (int i = 0; i < ncaps; i++) {
		free(caps[i].pkts);
		free(caps[i].arena);
	}
	free(caps);
	free(secs);
	free(cpus);
	return 0;
}
