/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inline daemon (see daemon.h): set-up in an order that never blacks out
 * the network (cache, queues, then rules: a packet queued before a worker
 * listens passes, --queue-bypass), one worker thread per queue, the main
 * thread for signals, conntrack end events, stats and reload, and a
 * tear-down that removes what was installed.
 */
#include "inline/daemon.h"
#include "content/setup.h"
#include "app/app.h"
#include "engine/engine.h"
#include "engine/manage.h"
#include "inline/stats.h"
#include "inline/worker.h"
#include "io/nfq.h"
#include "kern/ct_events.h"
#include "kern/netfilter.h"
#ifdef HAVE_BPF
#include "kern/shaper.h"
#endif
#include "output/writer.h"
#include "policy/conncache.h"
#include "policy/policy.h"
#include "policy/reset.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_IFACES 16

static volatile sig_atomic_t sig_stop, sig_reload, sig_stats;

static void on_signal(int s)
{
	if (s == SIGHUP)
		sig_reload = 1;
	else if (s == SIGUSR1)
		sig_stats = 1;
	else
		sig_stop = 1;
}

/* No SA_RESTART: a blocking recv on the netlink socket must return on a signal. */
static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int kp_parse_queues(const char *s, unsigned *first, unsigned *count)
{
	char *end;
	unsigned long a, b;

	errno = 0;
	a = strtoul(s, &end, 10);
	if (errno || end == s || a > 65535)
		return -1;
	b = a;
	if (*end == ':') {
		const char *t = end + 1;

		b = strtoul(t, &end, 10);
		if (errno || end == t || b > 65535 || b < a)
			return -1;
	}
	if (*end || b - a + 1 > KP_MAX_WORKERS)
		return -1;
	*first = (unsigned)a;
	*count = (unsigned)(b - a + 1);
	return 0;
}

/* Splits the comma-separated interface list (in place in buf). */
static unsigned split_ifaces(const char *list, char *buf, size_t blen, const char **out)
{
	unsigned n = 0;
	char *save = NULL, *tok;

	snprintf(buf, blen, "%s", list);
	for (tok = strtok_r(buf, ", \t", &save); tok && n < MAX_IFACES;
	     tok = strtok_r(NULL, ", \t", &save))
		out[n++] = tok;
	return n;
}

static void nf_config_of(const struct kp_config *cfg, unsigned qfirst, unsigned qcount,
			 const char *const *ifaces, unsigned nif, struct kp_nf_config *nc)
{
	memset(nc, 0, sizeof(*nc));
	nc->queue_first = (uint16_t)qfirst;
	nc->queue_count = (uint16_t)qcount;
	nc->mark_mask = cfg->mark_mask;
	nc->bypass = cfg->mode == KP_MODE_DEFAULT && cfg->bypass != KP_BYPASS_NO;
	nc->header_queues = cfg->bypass == KP_BYPASS_HEADERS;
	nc->ipv6 = cfg->ipv6;
	nc->ifaces = ifaces;
	nc->n_ifaces = nif;
}

void kp_daemon_print_rules(const struct kp_config *cfg, FILE *out)
{
	struct kp_nf_config nc;
	const char *ifaces[MAX_IFACES];
	char ibuf[sizeof(cfg->interfaces)];
	unsigned first = 0, count = 1, nif = split_ifaces(cfg->interfaces, ibuf, sizeof(ibuf), ifaces);

	if (kp_parse_queues(cfg->queues, &first, &count))
		first = 0, count = 1;
	nf_config_of(cfg, first, count, ifaces, nif, &nc);
	kp_nf_print_rules(&nc, out);
}

int kp_daemon_cleanup(const struct kp_config *cfg)
{
	char err[512];
	int rc = 0;

	const char *ifaces[MAX_IFACES];
	char ibuf[sizeof(cfg->interfaces)];
	unsigned nif = split_ifaces(cfg->interfaces, ibuf, sizeof(ibuf), ifaces);

	if (kp_nf_remove(err, sizeof(err))) {
		fprintf(stderr, "kp2padm: removing netfilter rules: %s\n", err);
		rc = 1;
	}
#ifdef HAVE_BPF
	if (kp_shaper_cleanup(ifaces, nif, err, sizeof(err)) < 0) {
		fprintf(stderr, "kp2padm: removing the bandwidth shaper: %s\n", err);
		rc = 1;
	}
#endif
	if (kp_conncache_cleanup(ifaces, nif, err, sizeof(err))) {
		fprintf(stderr, "kp2padm: removing eBPF programs: %s\n", err);
		rc = 1;
	}
	return rc;
}

/*
 * Bandwidth limits: an HTB class per `bandwidth` line on every interface, chosen by
 * the mark decided flows carry (also bypassed ones). Returns 0, or -1 (reason printed).
 */
static int shaper_start(const struct kp_config *cfg, const char *const *ifaces, unsigned nif,
			struct kp_shaper **out, bool quiet)
{
	*out = NULL;
	if (!cfg->n_bw)
		return 0;
	if (!cfg->setup) {
		fprintf(stderr, "kp2padm: warning: --no-setup: the bandwidth lines are not applied\n");
		return 0;
	}
	if (!nif) {
		fprintf(stderr, "kp2padm: bandwidth limits need `interfaces` (the gateway's "
				"interfaces, both sides)\n");
		return -1;
	}
	if (cfg->mode != KP_MODE_DEFAULT || cfg->bypass == KP_BYPASS_NO) {
		fprintf(stderr, "kp2padm: bandwidth limits need the flows' marks (mode = default, "
				"bypass = yes or headers)\n");
		return -1;
	}
#ifdef HAVE_BPF
	{
		struct kp_shaper_class cl[KP_MAX_BW_RULES];
		struct kp_shaper_config sc = {
			.ifaces = ifaces,
			.n_ifaces = nif,
			.mark_mask = cfg->mark_mask,
			.class_mask = cfg->mark_class_mask,
			.classes = cl,
			.n_classes = cfg->n_bw,
			.link_bps = cfg->shaper_link_bps,
		};
		char err[512];

		for (unsigned i = 0; i < cfg->n_bw; i++) {
			cl[i].app = cfg->bw[i].app;
			cl[i].rate_bps = cfg->bw[i].rate_bps;
			cl[i].ceil_bps = cfg->bw[i].ceil_bps;
		}
		if (kp_shaper_install(out, &sc, err, sizeof(err))) {
			fprintf(stderr, "kp2padm: bandwidth shaper: %s\n", err);
			return -1;
		}
		if (!quiet)
			for (unsigned i = 0; i < cfg->n_bw; i++)
				fprintf(stderr, "kp2padm: bandwidth: %s at %.3g Mbit/s (ceil %.3g) "
						"on every interface\n",
					cfg->bw[i].rule[0] ? cfg->bw[i].rule : kp_app_name(cfg->bw[i].app),
					cfg->bw[i].rate_bps / 1e6,
					cfg->bw[i].ceil_bps / 1e6);
		return 0;
	}
#else
	(void)ifaces;
	(void)quiet;
	fprintf(stderr, "kp2padm: bandwidth limits need eBPF support (this build has none)\n");
	return -1;
#endif
}

/* Prints the policy in force under a heading (start-up and reload). */
static void describe_policy(struct kp_policy_holder *ph, const char *heading)
{
	struct kp_policy *p = kp_policy_holder_get(ph);

	fputs(heading, stderr);
	kp_policy_describe(p, stderr);
	kp_policy_put(p);
}

/* Re-reads the config file; on success swaps in its policy. */
static void reload(const struct kp_daemon_args *a, struct kp_policy_holder *ph, bool quiet)
{
	struct kp_config nc;
	char err[1024];

	if (!a->cfg_path) {
		fprintf(stderr, "kp2padm: SIGHUP: no config file (-c) to reload; policy unchanged\n");
		return;
	}
	kp_config_defaults(&nc);
	if (kp_config_load(&nc, a->cfg_path, err, sizeof(err)) ||
	    kp_config_apply_sets(&nc, a->sets, a->nsets, err, sizeof(err))) {
		fprintf(stderr, "kp2padm: reload failed, the old policy stays in force: %s\n", err);
		kp_config_free(&nc);
		return;
	}
	if (!nc.policy)
		nc.policy = kp_policy_new();
	if (!nc.policy) {
		fprintf(stderr, "kp2padm: reload failed: out of memory; the old policy stays\n");
		kp_config_free(&nc);
		return;
	}
	kp_policy_holder_swap(ph, nc.policy);
	nc.policy = NULL; /* the holder owns it now */
	if (strcmp(nc.interfaces, a->cfg->interfaces) ||
	    nc.mode != a->cfg->mode || nc.bypass != a->cfg->bypass ||
	    nc.mark_mask != a->cfg->mark_mask || nc.cache_ttl != a->cfg->cache_ttl ||
	    nc.cache_size != a->cfg->cache_size)
		fprintf(stderr, "kp2padm: note: SIGHUP reloads the policy only; the changed "
				"interfaces, mode, bypass, mark or cache keys take effect at restart\n");
	if (!quiet) {
		char heading[600];

		snprintf(heading, sizeof(heading),
			 "kp2padm: policy reloaded from %s (applies to new flows):\n", a->cfg_path);
		describe_policy(ph, heading);
	}
	kp_config_free(&nc);
}

struct ct_ctx {
	struct kp_worker *w;
	unsigned nw;
};

static void on_ct_end(void *arg, const struct kp_ct_end *ce)
{
	struct ct_ctx *c = arg;

	/* A flow lives in one worker's table; which one, only the kernel's hash knows. */
	for (unsigned i = 0; i < c->nw; i++)
		kp_worker_post_ct_end(&c->w[i], ce);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int kp_daemon_run(const struct kp_daemon_args *a)
{
	struct kp_config *cfg = a->cfg;
	const char *ifaces[MAX_IFACES];
	char ibuf[sizeof(cfg->interfaces)], err[1024], warn[512];
	unsigned qfirst, qcount, nif;
	struct kp_policy_holder *ph = NULL;
	struct kp_conncache *cache = NULL;
	struct kp_reset *reset = NULL;
	struct kp_ct_events *ct = NULL;
	struct kp_worker *w = NULL;
	struct kp_nf_config nc;
	struct kp_stats_ctx sc;
	struct kp_shaper *shaper = NULL;
	struct kp_content_shared content;
	bool content_open = false;
	bool threaded_out = false;
	bool rules = false;
	int rc = 1;
	unsigned started = 0;
	double next_stats;

	if (kp_parse_queues(cfg->queues, &qfirst, &qcount)) {
		fprintf(stderr, "kp2padm: queues '%s': expected N or FIRST:LAST (at most %d queues)\n",
			cfg->queues, KP_MAX_WORKERS);
		return 1;
	}
	if (cfg->bypass == KP_BYPASS_HEADERS && qfirst + 2 * qcount - 1 > 65535) {
		fprintf(stderr, "kp2padm: bypass = headers needs queues %u..%u: past 65535\n",
			qfirst + qcount, qfirst + 2 * qcount - 1);
		return 1;
	}
	nif = split_ifaces(cfg->interfaces, ibuf, sizeof(ibuf), ifaces);
	nf_config_of(cfg, qfirst, qcount, ifaces, nif, &nc);
	if (cfg->setup && kp_nf_check(err, sizeof(err))) {
		fprintf(stderr, "kp2padm: cannot run inline: %s\n", err);
		return 1;
	}
	install_signals();

	ph = kp_policy_holder_new(cfg->policy ? cfg->policy : kp_policy_new());
	if (!ph) {
		fprintf(stderr, "kp2padm: out of memory\n");
		return 1;
	}
	cfg->policy = NULL; /* the holder owns it */
	for (unsigned i = 0; i < cfg->n_bw; i++) {
		struct kp_policy *p = kp_policy_holder_get(ph);
		bool ok = !cfg->bw[i].rule[0] ||
			  kp_policy_rule_action(p, cfg->bw[i].rule) == KP_POLICY_PASS;

		kp_policy_put(p);
		if (!ok) {
			fprintf(stderr, "kp2padm: bandwidth = rule:%s: no `rule = pass name=%s` in the "
					"policy\n", cfg->bw[i].rule, cfg->bw[i].rule);
			kp_policy_holder_free(ph);
			return 1;
		}
	}
	if (!a->quiet)
		describe_policy(ph, "kp2padm: policy:\n");

	/* The connection cache: in the kernel when possible, else in user space. */
	if (cfg->mode == KP_MODE_DEFAULT && cfg->cache_ttl) {
		struct kp_conncache_config cc = {
			.size = cfg->cache_size,
			.ttl_s = cfg->cache_ttl,
			.use_bpf = cfg->cache_bpf && cfg->setup && nif > 0,
			.ifaces = ifaces,
			.n_ifaces = nif,
		};

		warn[0] = '\0';
		if (kp_conncache_open(&cache, &cc, err, sizeof(err), warn, sizeof(warn))) {
			fprintf(stderr, "kp2padm: connection cache: %s\n", err);
			goto out;
		}
		if (warn[0])
			fprintf(stderr, "kp2padm: warning: %s\n", warn);
		else if (!a->quiet)
			fprintf(stderr, "kp2padm: connection cache: %s, %u entries, ttl %u s\n",
				kp_conncache_is_bpf(cache) ? "eBPF at tc ingress" : "user space",
				cfg->cache_size, cfg->cache_ttl);
		if (cfg->cache_bpf && cfg->setup && !nif && !a->quiet)
			fprintf(stderr, "kp2padm: note: no `interfaces` configured: the connection "
					"cache stays in user space\n");
	}
	if (kp_reset_open(&reset, err, sizeof(err))) {
		fprintf(stderr, "kp2padm: warning: TCP resets disabled: %s\n", err);
		reset = NULL;
	}

	if (kp_content_shared_open(&content, cfg, a->quiet ? NULL : stderr, err, sizeof(err))) {
		fprintf(stderr, "kp2padm: %s\n", err);
		goto out;
	}
	content_open = true;
	if (cfg->scan && !a->quiet)
		fprintf(stderr, "kp2padm: scanning with %s (files up to %" PRIu64
				" bytes, hold %s, scan.fail = %s)\n",
			content.db, cfg->scan_max_size, cfg->scan_hold ? "on" : "off",
			cfg->scan_fail_closed ? "closed" : "open");

	w = calloc(qcount, sizeof(*w));
	if (!w)
		goto out;
	for (unsigned i = 0; i < qcount; i++) {
		struct kp_worker_config wc = {
			.cfg = cfg,
			.index = i,
			.queue = (uint16_t)(qfirst + i),
			.header_queue = cfg->mode == KP_MODE_DEFAULT && cfg->bypass == KP_BYPASS_HEADERS,
			.header_queue_num = (uint16_t)(qfirst + qcount + i),
			.sigs = a->sigs,
			.out = a->out,
			.policy = ph,
			.cache = cache,
			.reset = reset,
			.content = &content,
		};

		if (kp_worker_init(&w[i], &wc, err, sizeof(err))) {
			fprintf(stderr, "kp2padm: queue %u: %s\n", qfirst + i, err);
			goto out;
		}
		started++;
	}
	if (cfg->mode == KP_MODE_DEFAULT && cfg->bypass == KP_BYPASS_MARK) {
		if (kp_ct_events_open(&ct, cfg->mark_mask, err, sizeof(err))) {
			fprintf(stderr, "kp2padm: warning: no conntrack events (%s): bypassed flows "
					"end by timeout, with the counters seen before bypass\n", err);
			ct = NULL;
		}
	}
	/* events leave the packet path through a queue and a writer thread of their own */
	threaded_out = kp_output_start_thread(a->out, 0) == 0;
	if (!threaded_out)
		fprintf(stderr, "kp2padm: warning: no event writer thread: events are written "
				"by the workers\n");
	for (unsigned i = 0; i < qcount; i++)
		if (kp_worker_start(&w[i], err, sizeof(err))) {
			fprintf(stderr, "kp2padm: %s\n", err);
			goto out;
		}
	if (cfg->setup) {
		if (kp_nf_install(&nc, err, sizeof(err))) {
			fprintf(stderr, "kp2padm: installing netfilter rules: %s\n", err);
			goto out;
		}
		rules = true;
	}
	if (shaper_start(cfg, ifaces, nif, &shaper, a->quiet))
		goto out;
	fprintf(stderr, "kp2padm: ready: %u queue%s from %u, mode %s%s\n", qcount,
		qcount > 1 ? "s" : "", qfirst,
		cfg->mode == KP_MODE_P2PADM ? "p2padm" : cfg->mode == KP_MODE_ACCEPT ? "accept"
										  : "default",
		cfg->setup ? "" : " (no setup: the administrator's rules feed the queues)");

	kp_stats_init(&sc, w, qcount, cache, a->out);
	sc.shaper = shaper;
	sc.ifaces = ifaces;
	sc.n_ifaces = nif;
	rc = 0;
	next_stats = mono_s() + cfg->stats_interval;
	while (!sig_stop) {
		struct pollfd pfd = {.fd = ct ? kp_ct_events_fd(ct) : -1, .events = POLLIN};
		struct ct_ctx cc = {w, qcount};

		if (poll(&pfd, 1, 250) > 0 && ct)
			kp_ct_events_read(ct, on_ct_end, &cc);
		for (unsigned i = 0; i < qcount; i++)
			if (kp_worker_failed(&w[i], err, sizeof(err))) {
				fprintf(stderr, "kp2padm: worker %u stopped: %s\n", i, err);
				sig_stop = 1;
				rc = 1;
			}
		if (sig_reload) {
			sig_reload = 0;
			reload(a, ph, a->quiet);
		}
		if (sig_stats || (cfg->stats_interval && mono_s() >= next_stats)) {
			sig_stats = 0;
			kp_workers_refresh(w, qcount, 500); /* the counters of this moment */
			kp_stats_write(&sc, ct ? kp_ct_events_lost(ct) : 0);
			next_stats = mono_s() + cfg->stats_interval;
		}
		if (!threaded_out) /* the writer thread flushes after every batch itself */
			kp_output_flush(a->out);
	}
	if (!a->quiet)
		fprintf(stderr, "kp2padm: stopping\n");
out:
#ifdef HAVE_BPF
	if (shaper)
		kp_shaper_remove(shaper);
#endif
	/* Rules first: from here on packets pass the kernel uninspected (never dropped). */
	if (rules && kp_nf_remove(err, sizeof(err))) {
		fprintf(stderr, "kp2padm: removing netfilter rules: %s\n", err);
		rc = 1;
	}
	for (unsigned i = 0; i < started; i++)
		kp_worker_stop(&w[i]);
	if (started) {
		kp_stats_init(&sc, w, started, cache, a->out); /* the shaper is gone by now */
		kp_stats_write(&sc, ct ? kp_ct_events_lost(ct) : 0);
	}
	/* the scanner's last verdicts reach the workers, whose fini writes their events */
	if (content_open) {
		kp_content_shared_close(&content);
		for (unsigned i = 0; i < started; i++) {
			w[i].eng.content.scanner = NULL;
			w[i].eng.content.blocklist = NULL;
		}
	}
	for (unsigned i = 0; i < started; i++)
		kp_worker_fini(&w[i]);
	free(w);
	if (ct)
		kp_ct_events_close(ct);
	if (cache)
		kp_conncache_close(cache);
	if (reset)
		kp_reset_close(reset);
	if (ph)
		kp_policy_holder_free(ph);
	return rc;
}
