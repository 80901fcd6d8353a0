/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Live-test helper for the kernel connection cache: attaches the tc ingress
 * program to IFACE, blocks one key, and waits. SIGUSR1 prints the counters,
 * SIGTERM/SIGINT detach and exit. Used by tests/live/conncache-live.sh.
 *   cc_attach IFACE CLIENT_IP SERVER_IP PORT tcp|udp [TTL_S]
 * Prints "bpf=1 attached" (or "bpf=0 ..." when it fell back to user space), then on
 * each SIGUSR1 "entries=N hits_kernel=N entry_hits=N ttl_left=N".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/conncache.h"

static volatile sig_atomic_t g_stop, g_show;

static void on_sig(int sig)
{
	if (sig == SIGUSR1)
		g_show = 1;
	else
		g_stop = 1;
}

struct entry_sum {
	uint64_t hits, ttl;
};

static void sum_cb(void *arg, const struct kp_cc_key *k, uint64_t hits, uint64_t ttl_left_s)
{
	struct entry_sum *s = arg;

	(void)k;
	s->hits += hits;
	s->ttl = ttl_left_s;
}

int main(int argc, char **argv)
{
	struct kp_conncache_config cfg = {.size = 1024, .use_bpf = true, .n_ifaces = 1};
	struct kp_conncache *c;
	struct sigaction sa;
	sigset_t block, old;
	struct kp_cc_key k;
	uint8_t a[16], b[16];
	char err[256], warn[256];
	int family;

	if (argc < 6) {
		fprintf(stderr, "usage: %s IFACE CLIENT_IP SERVER_IP PORT tcp|udp [TTL_S]\n",
			argv[0]);
		return 2;
	}
	family = strchr(argv[2], ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, argv[2], a) != 1 || inet_pton(family, argv[3], b) != 1) {
		fprintf(stderr, "bad address\n");
		return 2;
	}
	cfg.ifaces = (const char *const *)&argv[1];
	cfg.ttl_s = argc > 6 ? (uint32_t)atoi(argv[6]) : 0;
	if (kp_conncache_open(&c, &cfg, err, sizeof(err), warn, sizeof(warn))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (warn[0])
		fprintf(stderr, "warning: %s\n", warn);
	kp_cc_key_from_flow(&k, family, a, b, (uint16_t)atoi(argv[4]),
			    strcmp(argv[5], "udp") ? IPPROTO_TCP : IPPROTO_UDP);
	kp_conncache_add(c, &k, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig; /* handlers only set flags */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old); /* signals arrive only inside sigsuspend */
	printf("bpf=%d attached\n", kp_conncache_is_bpf(c));
	fflush(stdout);
	while (!g_stop) {
		if (g_show) {
			struct kp_conncache_stats st;
			struct entry_sum s = {0, 0};

			g_show = 0;
			kp_conncache_foreach(c, 0, sum_cb, &s);
			kp_conncache_stats(c, &st);
			printf("entries=%llu hits_kernel=%llu entry_hits=%llu ttl_left=%llu\n",
			       (unsigned long long)st.entries, (unsigned long long)st.hits_kernel,
			       (unsigned long long)s.hits, (unsigned long long)s.ttl);
			fflush(stdout);
		}
		if (!g_stop && !g_show)
			sigsuspend(&old);
	}
	kp_conncache_close(c);
	printf("detached\n");
	return 0;
}
