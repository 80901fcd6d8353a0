/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test helper: builds raw IPv4 TCP/UDP packets with correct checksums and
 * runs them through a whole pipeline whose events go to a temporary file, so
 * that tests can assert on the flow events a user would read.
 */
#ifndef KP_TESTS_PKT_BUILD_H
#define KP_TESTS_PKT_BUILD_H

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "classify/sig.h"
#include "output/writer.h"

struct tpipe {
	struct kp_config cfg;
	struct kp_engine eng;
	struct kp_output out;
	struct kp_sigset *sigs;
	char path[64];
	uint64_t ts;
};

static inline void tpipe_open(struct tpipe *t, const char *sets)
{
	char err[256];

	kp_config_defaults(&t->cfg);
	if (sets) { /* "key=value;key=value" */
		char buf[512], *save = NULL, *kv;

		snprintf(buf, sizeof(buf), "%s", sets);
		for (kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
			char *eq = strchr(kv, '=');

			*eq = '\0';
			if (kp_config_set(&t->cfg, kv, eq + 1, err, sizeof(err)))
				fprintf(stderr, "tpipe: %s\n", err);
		}
	}
	snprintf(t->path, sizeof(t->path), "/tmp/kp-test-%d.json", (int)getpid());
	kp_output_open(&t->out, t->path, 1, err, sizeof(err));
	t->sigs = NULL;
	if (t->cfg.sig_dir[0]) {
		struct kp_sig_opts so = {KP_SIG_AUTO, KP_SIG_ORDER_ATTRIBUTES};

		kp_sigset_load_opts(t->cfg.sig_dir, &so, &t->sigs, stderr);
	}
	kp_engine_init(&t->eng, &t->cfg, 0, t->sigs, &t->out);
	t->eng.policy = t->cfg.policy; /* rules given in sets apply, as offline */
	t->ts = 1700000000000000ull;
}

/* Ends the pipeline and returns the events file's text (caller frees). */
static inline char *tpipe_close(struct tpipe *t)
{
	FILE *f;
	char *buf;
	long n;

	kp_engine_flush(&t->eng);
	kp_engine_fini(&t->eng);
	kp_output_close(&t->out);
	if (t->sigs)
		kp_sigset_free(t->sigs);
	kp_config_free(&t->cfg);
	f = fopen(t->path, "r");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	unlink(t->path);
	return buf;
}

/*
 * Sends one IPv4 packet: a = client last octet (198.18.0.a), b = server (198.19.0.b).
 * Returns the pipeline's verdict.
 */
static inline struct kp_verdict tpipe_send(struct tpipe *t, uint8_t l4, uint8_t sa, uint16_t sp, uint8_t da,
			      uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags,
			      const void *payload, size_t plen, int client_to_server)
{
	uint8_t p[2048];
	size_t hl = l4 == IPPROTO_TCP ? 20 : 8, tot = 20 + hl + plen;
	uint8_t *ip = p, *l = p + 20;
	uint32_t sum;
	uint16_t c;
	struct kp_packet pk;
	struct kp_verdict v;
	uint8_t cip[4] = {198, 18, 0, sa}, sip[4] = {198, 19, 0, da};
	const uint8_t *src = client_to_server ? cip : sip, *dst = client_to_server ? sip : cip;
	uint16_t s = client_to_server ? sp : dp, d = client_to_server ? dp : sp;

	memset(p, 0, 40);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[8] = 64, ip[9] = l4;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	c = (uint16_t)~kp_csum_fold(kp_csum_add(0, ip, 20));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	l[0] = (uint8_t)(s >> 8), l[1] = (uint8_t)s, l[2] = (uint8_t)(d >> 8), l[3] = (uint8_t)d;
	if (l4 == IPPROTO_TCP) {
		l[4] = (uint8_t)(seq >> 24), l[5] = (uint8_t)(seq >> 16), l[6] = (uint8_t)(seq >> 8),
		l[7] = (uint8_t)seq;
		l[8] = (uint8_t)(ack >> 24), l[9] = (uint8_t)(ack >> 16), l[10] = (uint8_t)(ack >> 8),
		l[11] = (uint8_t)ack;
		l[12] = 0x50, l[13] = flags, l[14] = 0xff, l[15] = 0xff;
	} else {
		l[4] = (uint8_t)((8 + plen) >> 8), l[5] = (uint8_t)(8 + plen);
	}
	if (plen)
		memcpy(l + hl, payload, plen);
	sum = kp_csum_pseudo(AF_INET, ip + 12, ip + 16, l4, (uint32_t)(hl + plen));
	c = (uint16_t)~kp_csum_fold(kp_csum_add(sum, l, hl + plen));
	if (l4 == IPPROTO_TCP)
		l[16] = (uint8_t)(c >> 8), l[17] = (uint8_t)c;
	else
		l[6] = (uint8_t)(c >> 8), l[7] = (uint8_t)c;
	pk.data = p;
	pk.caplen = pk.len = (uint32_t)tot;
	pk.ts_us = t->ts;
	pk.dlt = KP_DLT_RAW;
	t->ts += 1000;
	kp_engine_process(&t->eng, &pk, &v);
	return v;
}

/* A TCP conversation helper: handshake, then data in either direction. */
struct tconn {
	struct tpipe *t;
	uint8_t ca, sa;
	uint16_t cp, sp;
	uint32_t cseq, sseq;
};

static inline void tconn_open(struct tconn *c, struct tpipe *t, uint8_t ca, uint16_t cp,
			      uint8_t sa, uint16_t sp)
{
	c->t = t, c->ca = ca, c->sa = sa, c->cp = cp, c->sp = sp;
	c->cseq = 1000, c->sseq = 5000;
	tpipe_send(t, IPPROTO_TCP, ca, cp, sa, sp, c->cseq, 0, 0x02, NULL, 0, 1);
	tpipe_send(t, IPPROTO_TCP, ca, cp, sa, sp, c->sseq, c->cseq + 1, 0x12, NULL, 0, 0);
	c->cseq++, c->sseq++;
	tpipe_send(t, IPPROTO_TCP, ca, cp, sa, sp, c->cseq, c->sseq, 0x10, NULL, 0, 1);
}

static inline struct kp_verdict tconn_send(struct tconn *c, int to_server, const void *d,
					   size_t n)
{
	struct kp_verdict v;

	if (to_server) {
		v = tpipe_send(c->t, IPPROTO_TCP, c->ca, c->cp, c->sa, c->sp, c->cseq, c->sseq,
			       0x18, d, n, 1);
		c->cseq += (uint32_t)n;
	} else {
		v = tpipe_send(c->t, IPPROTO_TCP, c->ca, c->cp, c->sa, c->sp, c->sseq, c->cseq,
			       0x18, d, n, 0);
		c->sseq += (uint32_t)n;
	}
	return v;
}

/* Returns the line of the events text whose src_port is port (static buffer). */
static inline const char *event_for_port(const char *ev, unsigned port)
{
	static char line[8192];
	char needle[40];
	const char *p;

	snprintf(needle, sizeof(needle), "\"src_port\":%u,", port);
	p = strstr(ev, needle);
	if (!p)
		return "";
	while (p > ev && p[-1] != '\n')
		p--;
	{
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
	}
	return line;
}

#endif
