/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The capture-file source: libpcap reads pcap and pcapng whatever the file
 * is called. A truncated or corrupt file ends the input with an error that
 * names the file and the byte offset where reading stopped; what was read
 * before stays processed. Offline verdicts are only counted.
 */
#include "io/source.h"

#include <errno.h>
#include <stdbool.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct pcap_src {
	pcap_t *p;
	FILE *fp;             /* libpcap's stream, for positions */
	char path[512];
	char err[1024];
	uint64_t size;
	uint64_t last_good;   /* offset after the last complete packet */
	uint64_t npkts;
	int dlt;
	bool classic;         /* pcap (not pcapng): record offsets are computed, not asked */
};

static int pcap_next_pkt(struct kp_source *s, struct kp_packet *p)
{
	struct pcap_src *ps = s->priv;
	struct pcap_pkthdr *h;
	const u_char *d;
	int r = pcap_next_ex(ps->p, &h, &d);

	if (r == 1) {
		ps->npkts++;
		if (ps->classic) {
			ps->last_good += 16 + h->caplen; /* record header + data */
		} else if (ps->fp) {
			long pos = ftell(ps->fp); /* pcapng blocks vary: ask the stream */

			if (pos >= 0)
				ps->last_good = (uint64_t)pos;
		}
		p->data = d;
		p->caplen = h->caplen;
		p->len = h->len;
		p->ts_us = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
		p->dlt = ps->dlt;
		return 1;
	}
	if (r == PCAP_ERROR_BREAK)
		return 0;
	snprintf(ps->err, sizeof(ps->err),
		 "%s: corrupt or truncated capture at byte offset %llu (after packet %llu): %s",
		 ps->path, (unsigned long long)ps->last_good, (unsigned long long)ps->npkts,
		 pcap_geterr(ps->p));
	return -1;
}

static int pcap_verdict(struct kp_source *s, const struct kp_packet *p, const struct kp_verdict *v)
{
	(void)s;
	(void)p;
	(void)v;
	return 0;
}

static const char *pcap_error(struct kp_source *s)
{
	return ((struct pcap_src *)s->priv)->err;
}

static void pcap_progress(struct kp_source *s, uint64_t *done, uint64_t *total)
{
	struct pcap_src *ps = s->priv;

	*done = ps->last_good;
	*total = ps->size;
}

static void pcap_close_src(struct kp_source *s)
{
	struct pcap_src *ps = s->priv;

	if (!ps)
		return;
	if (ps->p)
		pcap_close(ps->p);
	free(ps);
	s->priv = NULL;
}

static const struct kp_source_ops pcap_ops = {
	.name = "pcap",
	.next = pcap_next_pkt,
	.verdict = pcap_verdict,
	.error = pcap_error,
	.progress = pcap_progress,
	.close = pcap_close_src,
};

int kp_source_pcap_open(struct kp_source *s, const char *path, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct pcap_src *ps = calloc(1, sizeof(*ps));
	struct stat st;

	if (!ps) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	snprintf(ps->path, sizeof(ps->path), "%s", path);
	if (stat(path, &st) == 0)
		ps->size = (uint64_t)st.st_size;
	ps->p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, perr);
	if (!ps->p) {
		snprintf(err, errlen, "%s: cannot read capture: %s", path, perr);
		free(ps);
		return -1;
	}
	ps->fp = pcap_file(ps->p);
	if (ps->fp) {
		long pos = ftell(ps->fp);

		ps->last_good = pos > 0 ? (uint64_t)pos : 0;
	}
	/* classic pcap: 24-byte file header, then records of 16 bytes + caplen */
	ps->classic = pcap_major_version(ps->p) == 2 && ps->last_good == 24;
	ps->dlt = pcap_datalink(ps->p);
	s->ops = &pcap_ops;
	s->priv = ps;
	return 0;
}
