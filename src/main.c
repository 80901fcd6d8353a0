/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kp2padm's command line: offline mode (-r captures) and inline mode (-q
 * queues, inline/daemon.c), one pipeline either way. Parses options
 * from one table (the same table prints --help), loads the config and the
 * signatures, runs each capture through one pipeline, writes events and the
 * summary. Exit status: 0 on success, 1 with a one-line reason on error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "classify/sig.h"
#include "engine/config.h"
#include "engine/csum_survey.h"
#include "engine/engine.h"
#include "inline/daemon.h"
#include "io/source.h"
#include "output/summary.h"
#include "output/writer.h"
#include "policy/conncache.h"
#include "policy/policy.h"
#include "content/setup.h"

#ifndef KP_VERSION
#define KP_VERSION "0.0.0"
#endif

#define MAX_INPUTS 256

struct cli_opt {
	const char *lng;
	char shrt;
	const char *arg;
	const char *help;
};

static const struct cli_opt cli_opts[] = {
	{"read", 'r', "CAPTURE", "read a pcap or pcapng file (repeatable; processed in order)"},
	{"queue", 'q', "N[:LAST]", "inline: run as a gateway daemon on NFQUEUE queues N..LAST"},
	{"no-setup", 'N', NULL, "inline: install no netfilter rules or eBPF (see --print-rules)"},
	{"print-rules", 'P', NULL, "print the netfilter rules the daemon installs, as commands"},
	{"cleanup", 'X', NULL, "remove rules and eBPF programs a killed daemon left behind"},
	{"config", 'c', "FILE", "configuration file (kp2padm --help-config lists the keys)"},
	{"log", 'l', "FILE|-", "write events (JSON lines) to FILE, or - for standard output"},
	{"set", 's', "KEY=VALUE", "set one configuration key (after the file; repeatable)"},
	{"quiet", 'Q', NULL, "no summary and no progress on standard error"},
	{"help-config", 'C', NULL, "list the configuration keys with defaults"},
	{"version", 'V', NULL, "print the version"},
	{"help", 'h', NULL, "this help"},
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kp2padm -r CAPTURE [-r CAPTURE2 ...] [-c CONFIG] [-l EVENTS_FILE|-]\n"
		"       kp2padm -q QUEUE[:QUEUE_LAST] [-c CONFIG] [-l EVENTS_FILE|-] [--no-setup]\n\n"
		"Classifies every TCP and UDP flow by application-layer content (P2P, web,\n"
		"mail, chat ...), applies the policy's rules (pass, block) and writes one JSON\n"
		"event per flow: offline from packet captures, or inline as a Linux gateway\n"
		"through NFQUEUE (SIGHUP reloads the policy, SIGUSR1 writes a stats event).\n\n");
	for (size_t i = 0; i < sizeof(cli_opts) / sizeof(cli_opts[0]); i++) {
		char lhs[48];

		snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", cli_opts[i].shrt, cli_opts[i].lng,
			 cli_opts[i].arg ? " " : "", cli_opts[i].arg ? cli_opts[i].arg : "");
		fprintf(out, "  %-28s %s\n", lhs, cli_opts[i].help);
	}
	fprintf(out, "\nEvents go to kp2padm-events.json in the current directory unless -l or the\n"
		     "config's `events` key says otherwise. See kp2padm(8).\n");
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("kp2padm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hands one packet to the pipeline and its verdict back to the source. */
static void process_one(struct kp_engine *eng, struct kp_source *src, const struct kp_packet *pkt)
{
	struct kp_verdict v;

	kp_engine_process(eng, pkt, &v);
	src->ops->verdict(src, pkt, &v);
}

/*
 * Reads up to KP_CSUM_SURVEY_PKTS packets ahead (copies), decides the checksum
 * policy of this capture from them (checksum = auto), then processes them.
 * Returns what the source's next() last returned.
 */
static int lead_in(struct kp_engine *eng, struct kp_source *src, const char *path, bool quiet)
{
	struct kp_packet *pk = calloc(KP_CSUM_SURVEY_PKTS, sizeof(*pk));
	size_t n = 0;
	uint64_t bad, checked;
	int r = 1;

	if (!pk)
		return -1;
	while (n < KP_CSUM_SURVEY_PKTS && (r = src->ops->next(src, &pk[n])) == 1) {
		uint8_t *copy = malloc(pk[n].caplen ? pk[n].caplen : 1);

		if (!copy) {
			r = -1;
			break;
		}
		memcpy(copy, pk[n].data, pk[n].caplen);
		pk[n++].data = copy;
	}
	if (n && !kp_decode_dlt_supported(pk[0].dlt) && !quiet)
		fprintf(stderr,
			"kp2padm: %s: link type %d is not one kp2padm decodes; its packets are "
			"counted, not classified\n",
			path, pk[0].dlt);
	eng->csum_lenient = eng->cfg->checksum == KP_CSUM_MODE_AUTO &&
			    kp_csum_survey(pk, n, &bad, &checked);
	if (eng->csum_lenient && !quiet)
		fprintf(stderr,
			"kp2padm: %s: %llu of the first %llu checksums are bad: the capture looks "
			"rewritten; counting bad checksums, inspecting anyway (checksum = strict "
			"refuses)\n",
			path, (unsigned long long)bad, (unsigned long long)checked);
	for (size_t i = 0; i < n; i++) {
		kp_timing_begin(&eng->tm, 0); /* read ahead: its receive is not timed */
		process_one(eng, src, &pk[i]);
		kp_timing_end(&eng->tm);
		free((void *)pk[i].data);
	}
	free(pk);
	return r;
}

/* Runs one capture through the pipeline; returns 0 or -1 (error already printed). */
static int run_capture(struct kp_engine *eng, const char *path, bool progress, bool quiet)
{
	struct kp_source src;
	struct kp_packet pkt;
	char err[1024];
	double last = now_s();
	int r;

	if (kp_source_pcap_open(&src, path, err, sizeof(err))) {
		fprintf(stderr, "kp2padm: %s\n", err);
		return -1;
	}
	r = lead_in(eng, &src, path, quiet);
	while (r == 1) {
		kp_timing_begin(&eng->tm, 0); /* the receive stage: the source's read */
		r = src.ops->next(&src, &pkt);
		if (r != 1) {
			kp_timing_cancel(&eng->tm);
			break;
		}
		process_one(eng, &src, &pkt);
		kp_timing_end(&eng->tm); /* after the verdict (offline: counted) */
		if (progress && (eng->st.packets & 0x3fff) == 0 && now_s() - last > 1.0) {
			uint64_t done, total;

			src.ops->progress(&src, &done, &total);
			fprintf(stderr, "\r%s: %llu packets, %3.0f%%", path,
				(unsigned long long)eng->st.packets,
				total ? 100.0 * (double)done / (double)total : 0.0);
			last = now_s();
		}
	}
	if (progress)
		fprintf(stderr, "\r\033[K");
	if (r < 0)
		fprintf(stderr, "kp2padm: %s\n", src.ops->error(&src));
	src.ops->close(&src);
	kp_engine_flush(eng);
	return r < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"read", required_argument, NULL, 'r'},  {"config", required_argument, NULL, 'c'},
		{"queue", required_argument, NULL, 'q'}, {"no-setup", no_argument, NULL, 'N'},
		{"print-rules", no_argument, NULL, 'P'}, {"cleanup", no_argument, NULL, 'X'},
		{"log", required_argument, NULL, 'l'},   {"set", required_argument, NULL, 's'},
		{"quiet", no_argument, NULL, 'Q'},       {"help-config", no_argument, NULL, 'C'},
		{"version", no_argument, NULL, 'V'},     {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *inputs[MAX_INPUTS], *cfg_path = NULL, *log_path = NULL, *queues = NULL;
	bool no_setup = false, print_rules = false, cleanup = false;
	struct kp_conncache *cache = NULL;
	const char *sets[64];
	int ninputs = 0, nsets = 0, opt, rc = 0;
	bool quiet = false;
	struct kp_config cfg;
	struct kp_sigset *sigs = NULL;
	struct kp_output out;
	struct kp_engine eng;
	struct kp_content_shared content;
	char err[1024];
	double t0;

	while ((opt = getopt_long(argc, argv, "r:c:l:s:q:QCVh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			if (ninputs == MAX_INPUTS)
				die("too many captures (at most %d)", MAX_INPUTS);
			inputs[ninputs++] = optarg;
			break;
		case 'c':
			cfg_path = optarg;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 's':
			if (nsets == 64)
				die("too many --set options");
			sets[nsets++] = optarg;
			break;
		case 'q':
			queues = optarg;
			break;
		case 'N':
			no_setup = true;
			break;
		case 'P':
			print_rules = true;
			break;
		case 'X':
			cleanup = true;
			break;
		case 'Q':
			quiet = true;
			break;
		case 'C':
			kp_config_print_help(stdout);
			return 0;
		case 'V':
			printf("kp2padm %s\n", KP_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "kp2padm: bad option (see kp2padm --help)\n");
			return 1;
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (captures are given with -r)", argv[optind]);
	if (ninputs && queues)
		die("-r (offline) and -q (inline) exclude each other");
	if (!ninputs && !queues && !print_rules && !cleanup)
		die("nothing to do: give a capture with -r or queues with -q (see kp2padm --help)");

	kp_config_defaults(&cfg);
	if (cfg_path && kp_config_load(&cfg, cfg_path, err, sizeof(err)))
		die("%s", err);
	if (kp_config_apply_sets(&cfg, sets, nsets, err, sizeof(err)))
		die("%s", err);
	if (queues) {
		if (strlen(queues) >= sizeof(cfg.queues))
			die("-q %s: expected N or FIRST:LAST", queues);
		strcpy(cfg.queues, queues);
	}
	if (no_setup)
		cfg.setup = false;
	if (print_rules) {
		kp_daemon_print_rules(&cfg, stdout);
		kp_config_free(&cfg);
		return 0;
	}
	if (cleanup) {
		rc = kp_daemon_cleanup(&cfg);
		kp_config_free(&cfg);
		return rc;
	}
	if (queues) {
		unsigned qf, qc;

		if (kp_parse_queues(cfg.queues, &qf, &qc))
			die("-q %s: expected N or FIRST:LAST (queue numbers 0-65535)", cfg.queues);
	}
	if (!log_path)
		log_path = cfg.events[0] ? cfg.events : "kp2padm-events.json";

	if (cfg.sig_dir[0]) {
		struct kp_sig_opts so = {
			.engine = !strcmp(cfg.sig_engine, "hyperscan") ? KP_SIG_HYPERSCAN
				  : !strcmp(cfg.sig_engine, "pcre2")   ? KP_SIG_PCRE2
								       : KP_SIG_AUTO,
			/* overmatching patterns last (docs/signatures.md) */
			.order = KP_SIG_ORDER_ATTRIBUTES,
		};
		int r = kp_sigset_load_opts(cfg.sig_dir, &so, &sigs, stderr);

		if (r < 0)
			die("signatures.dir %s: %s", cfg.sig_dir, strerror(-r));
		if (!quiet)
			fprintf(stderr, "kp2padm: %u signatures loaded from %s\n",
				kp_sigset_count(sigs), cfg.sig_dir);
	}
	if (kp_output_open(&out, log_path, !queues, err, sizeof(err)))
		die("%s", err);
	if (queues) {
		struct kp_daemon_args da = {
			.cfg = &cfg,
			.cfg_path = cfg_path,
			.sets = sets,
			.nsets = nsets,
			.sigs = sigs,
			.out = &out,
			.quiet = quiet,
		};

		rc = kp_daemon_run(&da);
		if (kp_output_close(&out)) {
			fprintf(stderr, "kp2padm: writing events to %s failed\n", log_path);
			rc = 1;
		}
		kp_config_free(&cfg);
		if (sigs)
			kp_sigset_free(sigs);
		return rc;
	}
	if (kp_content_shared_open(&content, &cfg, quiet ? NULL : stderr, err, sizeof(err)))
		die("%s", err);
	rc = kp_engine_init(&eng, &cfg, 0, sigs, &out);
	if (rc)
		die("cannot set up the pipeline: %s", strerror(-rc));
	kp_content_attach(&eng, &content);
	/* Offline, the policy applies too, with the connection cache in user space. */
	eng.policy = cfg.policy;
	if (cfg.policy && cfg.cache_ttl) {
		struct kp_conncache_config cc = {.size = cfg.cache_size, .ttl_s = cfg.cache_ttl};
		char warn[256];

		if (kp_conncache_open(&cache, &cc, err, sizeof(err), warn, sizeof(warn)))
			die("connection cache: %s", err);
		eng.cache = cache;
	}

	t0 = now_s();
	rc = 0;
	for (int i = 0; i < ninputs; i++)
		if (run_capture(&eng, inputs[i], !quiet && isatty(2), quiet))
			rc = 1;
	if (!quiet)
		kp_summary_print(stderr, &eng, now_s() - t0,
				 strcmp(log_path, "-") ? log_path : "standard output");
	/* the scanner's last verdicts reach the pipeline, whose fini writes their events */
	kp_content_shared_close(&content);
	eng.content.scanner = NULL;
	eng.content.blocklist = NULL;
	kp_engine_fini(&eng);
	if (cache)
		kp_conncache_close(cache);
	kp_config_free(&cfg);
	if (kp_output_close(&out)) {
		fprintf(stderr, "kp2padm: writing events to %s failed\n", log_path);
		rc = 1;
	}
	if (sigs)
		kp_sigset_free(sigs);
	return rc;
}
