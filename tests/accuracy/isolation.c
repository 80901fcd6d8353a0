/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Isolation check: every flow of a capture is classified twice, once with the
 * whole capture and once alone (a fresh pipeline fed only that flow's
 * packets), and the labels must agree. A label may depend on another flow only
 * through the documented peer cache (MSE/PE confidence) or an expectation
 * (ftp-data, DCC: the control connection announces them). The peer cache only
 * raises the confidence of a label, never makes one, so labels must agree;
 * flows labelled by an expectation are counted apart, not failed.
 *
 * Usage: isolation CAPTURE...   exit 1 when a flow's label differs.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "flow/flow_table.h"
#include "output/writer.h"

struct pkt {
	uint8_t *data;
	uint32_t caplen, len;
	uint64_t ts;
	struct kp_flow_key key;
	int dlt;
	int keyed;
};

struct result {
	struct kp_flow_key key;
	uint16_t app;
	uint8_t conf;
	uint64_t parent;
	int found;
};

/* Flow-end observer: remembers the label of each key (the last flow wins). */
struct observer {
	struct result *r;
	size_t n, cap;
};

static struct observer *g_obs; /* test tool only: one observer at a time */

static void record(const struct kp_flow *f)
{
	struct observer *o = g_obs;

	for (size_t i = 0; i < o->n; i++)
		if (!memcmp(&o->r[i].key, &f->key, sizeof(f->key))) {
			if (f->app || !o->r[i].app) {
				o->r[i].app = f->app;
				o->r[i].conf = f->confidence;
				o->r[i].parent = f->parent_id;
			}
			return;
		}
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 256;
		o->r = realloc(o->r, o->cap * sizeof(*o->r));
	}
	o->r[o->n].key = f->key;
	o->r[o->n].app = f->app;
	o->r[o->n].conf = f->confidence;
	o->r[o->n].parent = f->parent_id;
	o->n++;
}

/* Wraps the engine's end handler to observe labels. */
static kp_flow_end_fn g_inner;

static void observe_end(void *arg, struct kp_flow *f, enum kp_flow_end_reason r)
{
	g_inner(arg, f, r);
	record(f);
}

static void run(const struct kp_config *cfg, struct pkt *pk, size_t n, const struct kp_flow_key *only,
		struct observer *o)
{
	struct kp_engine e;
	struct kp_verdict v;

	kp_engine_init(&e, cfg, 0, NULL, NULL);
	g_inner = e.ft.on_end;
	e.ft.on_end = observe_end;
	g_obs = o;
	for (size_t i = 0; i < n; i++) {
		struct kp_packet p = {pk[i].data, pk[i].caplen, pk[i].len, pk[i].ts, 0};

		if (only && (!pk[i].keyed || memcmp(&pk[i].key, only, sizeof(*only))))
			continue;
		p.dlt = pk[i].dlt;
		kp_engine_process(&e, &p, &v);
	}
	kp_engine_flush(&e);
	kp_engine_fini(&e);
}

int main(int argc, char **argv)
{
	struct kp_config cfg;
	int fails = 0, flows = 0, linked = 0;

	kp_config_defaults(&cfg);
	for (int a = 1; a < argc; a++) {
		char err[PCAP_ERRBUF_SIZE];
		pcap_t *p = pcap_open_offline(argv[a], err);
		struct pcap_pkthdr *h;
		const u_char *d;
		struct pkt *pk = NULL;
		size_t n = 0, cap = 0;
		struct kp_decoder dec;
		struct observer whole = {0};
		int dlt;

		if (!p) {
			fprintf(stderr, "isolation: %s\n", err);
			return 2;
		}
		dlt = pcap_datalink(p);
		kp_decoder_init(&dec, KP_CSUM_MODE_OFF, 16 << 20);
		while (pcap_next_ex(p, &h, &d) == 1) {
			struct kp_pkt_info pi;

			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				pk = realloc(pk, cap * sizeof(*pk));
			}
			pk[n].data = malloc(h->caplen);
			memcpy(pk[n].data, d, h->caplen);
			pk[n].caplen = h->caplen;
			pk[n].len = h->len;
			pk[n].ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
			pk[n].dlt = dlt;
			pk[n].keyed = 0;
			if (kp_decode(&dec, dlt, d, h->caplen, pk[n].ts, &pi) == KP_DEC_OK &&
			    (pi.l4 == 6 || pi.l4 == 17)) {
				kp_flow_key_make(&pi, &pk[n].key);
				pk[n].keyed = 1;
			} else {
				memset(&pk[n].key, 0xff, sizeof(pk[n].key));
			}
			n++;
		}
		pcap_close(p);
		kp_decoder_fini(&dec);
		run(&cfg, pk, n, NULL, &whole);
		for (size_t i = 0; i < whole.n; i++) {
			struct observer alone = {0};
			struct result *w = &whole.r[i];
			uint16_t got;

			flows++;
			if (w->parent) {
				linked++; /* labelled by an expectation: reported, not failed */
				continue;
			}
			run(&cfg, pk, n, &w->key, &alone);
			got = alone.n ? alone.r[0].app : 0;
			if (got != w->app) {
				fails++;
				printf("%s: flow %u/%u: whole capture says %s, alone %s\n", argv[a],
				       w->key.port[0], w->key.port[1], kp_app_name(w->app),
				       kp_app_name(got));
			}
			free(alone.r);
		}
		free(whole.r);
		for (size_t i = 0; i < n; i++)
			free(pk[i].data);
		free(pk);
	}
	printf("isolation: %d flows, %d linked by design (expectations), %d differ\n",
	       flows, linked, fails);
	printf("%d passed, %d failed\n", flows - linked - fails, fails);
	return fails ? 1 : 0;
}
