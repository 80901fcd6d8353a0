/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Capture loading and observed classification for the capture-level checks. */
#include "capture_util.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_table.h"

int capture_load(const char *path, struct capture *c)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	struct kp_decoder dec;
	size_t cap = 0;
	int dlt;

	memset(c, 0, sizeof(*c));
	if (!p) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	dlt = pcap_datalink(p);
	kp_decoder_init(&dec, KP_CSUM_MODE_OFF, 16 << 20);
	while (pcap_next_ex(p, &h, &d) == 1) {
		struct cap_pkt *k;
		struct kp_pkt_info pi;

		if (c->n == cap) {
			cap = cap ? cap * 2 : 1024;
			c->p = realloc(c->p, cap * sizeof(*c->p));
		}
		k = &c->p[c->n++];
		memset(k, 0, sizeof(*k));
		k->data = malloc(h->caplen ? h->caplen : 1);
		memcpy(k->data, d, h->caplen);
		k->caplen = h->caplen;
		k->len = h->len;
		k->ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
		k->dlt = dlt;
		if (kp_decode(&dec, dlt, k->data, k->caplen, k->ts, &pi) == KP_DEC_OK &&
		    (pi.l4 == 6 || pi.l4 == 17) && !pi.reassembled) {
			k->keyed = 1;
			k->dir_hint = kp_flow_key_make(&pi, &k->key);
			k->seq = pi.seq;
			k->tcp_flags = pi.tcp_flags;
			k->l4 = pi.l4;
			k->off = (uint32_t)(pi.payload - k->data);
			k->plen = pi.payload_len;
		}
	}
	pcap_close(p);
	kp_decoder_fini(&dec);
	return 0;
}

void capture_free(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->p[i].data);
	free(c->p);
	memset(c, 0, sizeof(*c));
}

const struct label *labels_find(const struct labels *ls, const struct kp_flow_key *k)
{
	for (size_t i = 0; i < ls->n; i++)
		if (!memcmp(&ls->l[i].key, k, sizeof(*k)))
			return &ls->l[i];
	return NULL;
}

/* The observer of flow ends: one run at a time (a test tool, single-threaded). */
static struct labels *cur_out;
static kp_flow_end_fn cur_inner;

static void observe_end(void *arg, struct kp_flow *f, enum kp_flow_end_reason r)
{
	struct labels *o = cur_out;
	struct label *l = (struct label *)labels_find(o, &f->key);

	cur_inner(arg, f, r);
	if (l) { /* several flows on one key: a label beats unknown, the last label wins */
		if (f->app || !l->app) {
			l->app = f->app;
			l->conf = f->confidence;
			l->parent = f->parent_id;
		}
		return;
	}
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 256;
		o->l = realloc(o->l, o->cap * sizeof(*o->l));
	}
	o->l[o->n].key = f->key;
	o->l[o->n].app = f->app;
	o->l[o->n].conf = f->confidence;
	o->l[o->n].parent = f->parent_id;
	o->n++;
}

void capture_classify(const struct kp_config *cfg, const struct capture *c,
		      const struct kp_flow_key *only, struct labels *out)
{
	struct kp_engine e;
	struct kp_verdict v;

	kp_engine_init(&e, cfg, 0, NULL, NULL);
	cur_inner = e.ft.on_end;
	e.ft.on_end = observe_end;
	cur_out = out;
	for (size_t i = 0; i < c->n; i++) {
		const struct cap_pkt *k = &c->p[i];
		struct kp_packet p = {.data = k->data, .caplen = k->caplen, .len = k->len,
				     .ts_us = k->ts, .dlt = k->dlt};

		if (only && (!k->keyed || memcmp(&k->key, only, sizeof(*only))))
			continue;
		kp_engine_process(&e, &p, &v);
	}
	kp_engine_flush(&e);
	kp_engine_fini(&e);
}
