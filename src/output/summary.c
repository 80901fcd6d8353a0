/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The end-of-run summary (see summary.h). */
#include "output/summary.h"
#include "engine/engine.h"

#include <inttypes.h>

/* Where the time went: the sampled per-stage times (engine/timing.h), one line per stage. */
static void timing_table(FILE *out, const struct kp_engine *e)
{
	struct kp_timing_stats ts;
	struct kp_timing_report r;
	const struct kp_timing_stage_report *w;

	kp_timing_snapshot(&e->tm, &ts);
	if (!ts.sample || !ts.sampled)
		return;
	kp_timing_report(&ts, &r);
	fprintf(out,
		"timing: every %" PRIu32 "%s packet timed (%" PRIu64 " of %" PRIu64 ", clock %s, "
		"%.1f ns a read, taken off), %.0f ns per packet\n",
		ts.sample, ts.sample == 1 ? "st" : "th", r.sampled, r.packets,
		ts.tsc ? "tsc" : "monotonic_raw", r.clock_ns, r.ns_per_packet);
	fprintf(out, "  %-12s %12s %8s %10s %10s %10s\n", "stage", "ns/packet", "share", "p50 ns",
		"p99 ns", "timed");
	for (unsigned s = 0; s < KP_TS__PIPELINE; s++) {
		w = &r.stage[s];
		fprintf(out, "  %-12s %12.1f %7.1f%% %10.0f %10.0f %10" PRIu64 "\n",
			kp_timing_stage_name(s), w->ns_per_packet, w->share, w->p50_ns, w->p99_ns,
			w->n);
	}
	w = &r.stage[KP_TS_SCAN_WAIT];
	if (w->n)
		fprintf(out,
			"  scan wait: %" PRIu64 " held packets, mean %.3f ms, p50 %.3f ms, "
			"p99 %.3f ms\n",
			w->n, w->ns_per_packet / 1e6, w->p50_ns / 1e6, w->p99_ns / 1e6);
}

void kp_summary_print(FILE *out, const struct kp_engine *e, double wall_s, const char *events)
{
	const struct kp_decode_stats *d = &e->dec.st;
	const struct kp_flow_stats *fs = &e->ft.st;
	const struct kp_stream_stats *ss = &e->stream.st;
	uint64_t flows = 0;

	fprintf(out, "\n%-16s %12s %12s %16s\n", "application", "flows", "packets", "bytes");
	for (unsigned a = 0; a < KP_APP__COUNT; a++) {
		const struct kp_app_totals *t = &e->st.app[a];

		if (!t->flows)
			continue;
		flows += t->flows;
		fprintf(out, "%-16s %12" PRIu64 " %12" PRIu64 " %16" PRIu64 "\n",
			a == KP_APP_SIGNATURE ? "(signatures)" : kp_app_name(a), t->flows, t->pkts,
			t->bytes);
	}
	fprintf(out, "%-16s %12" PRIu64 "\n\n", "total", flows);
	fprintf(out,
		"packets %" PRIu64 " (%" PRIu64 " bytes): ipv4 %" PRIu64 " ipv6 %" PRIu64
		" tcp %" PRIu64 " udp %" PRIu64 " other-l4 %" PRIu64 "\n",
		e->st.packets, e->st.bytes, d->ipv4, d->ipv6, d->tcp, d->udp, d->other_l4);
	fprintf(out,
		"decode: unknown link type %" PRIu64 ", not ip %" PRIu64 ", malformed %" PRIu64
		", vlan-tagged %" PRIu64 ", gtp-u %" PRIu64 ", ipv6 ext headers %" PRIu64 "\n",
		d->unknown_link, d->not_ip, d->malformed, d->vlan, d->tunnel_gtp, d->ipv6_ext_hdrs);
	fprintf(out,
		"fragments: %" PRIu64 " seen, %" PRIu64 " datagrams reassembled, %" PRIu64
		" dropped\n",
		d->frag_fragments, d->frag_reassembled, d->frag_dropped);
	fprintf(out,
		"checksums: ip bad %" PRIu64 ", tcp/udp bad %" PRIu64
		", unfinished offload (accepted) %" PRIu64 ", packets not inspected %" PRIu64 "\n",
		d->ip_csum_bad, d->l4_csum_bad, d->l4_csum_partial, e->st.csum_skipped);
	fprintf(out,
		"flows: %" PRIu64 " created, peak %" PRIu64 " active, ended by timeout %" PRIu64
		", close %" PRIu64 ", eviction %" PRIu64 ", end of input %" PRIu64
		", port reuse %" PRIu64 "\n",
		fs->created, fs->active_peak, fs->ended_timeout, fs->ended_closed,
		fs->ended_evicted, fs->ended_shutdown, fs->tcp_reuse);
	fprintf(out,
		"reassembly: %" PRIu64 " segments, %" PRIu64 " out of order, %" PRIu64
		" overlaps (%" PRIu64 " differing), %" PRIu64 " gaps, %" PRIu64
		" memcap drops, peak %" PRIu64 " bytes held\n",
		ss->segments, ss->ooo_buffered, ss->overlaps, ss->overlap_diff, ss->gaps,
		ss->memcap_drops, ss->mem_peak);
	{
		const struct kp_ooo_stats *o = &e->st.ooo;
		uint64_t rel = o->released_fill + o->released_timeout + o->released_end + o->dropped;

		/* offline nothing is held: "hold" says what would have been, from capture times */
		fprintf(out,
			"out of order (stream.ooo = %s): %" PRIu64 " fast-passed (%" PRIu64
			" over stream.hold_max), %" PRIu64 " %s, released by fill %" PRIu64
			", by timeout %" PRIu64 ", at flow end %" PRIu64 ", dropped %" PRIu64
			"; held %.3f ms on average, %.3f ms at most\n",
			e->cfg->stream_ooo == KP_OOO_HOLD ? "hold" : "fastpass", o->fastpassed,
			o->overflow, o->held, e->inline_mode ? "held" : "would have been held",
			o->released_fill, o->released_timeout, o->released_end, o->dropped,
			rel ? (double)o->held_us_total / (double)rel / 1000.0 : 0.0,
			(double)o->held_us_max / 1000.0);
	}
	fprintf(out,
		"classification: %" PRIu64 " by expectation, %" PRIu64 " by signature, %" PRIu64
		" unknown, %" PRIu64 " probe calls\n",
		e->cls.st.by_expectation, e->cls.st.by_signature, e->cls.st.gave_up,
		e->cls.st.probes);
	fprintf(out,
		"verdicts: accept %" PRIu64 ", drop %" PRIu64 "; %" PRIu64
		" packets after their flow needed no more inspection (bypass candidates)\n",
		e->st.verdict[KP_VERDICT_ACCEPT], e->st.verdict[KP_VERDICT_DROP], e->st.bypass);
	if (e->policy)
		fprintf(out,
			"policy: %" PRIu64 " flows blocked, %" PRIu64
			" reconnections dropped by the connection cache\n",
			e->st.blocked_flows, e->st.cached_flows);
	if (e->content.st.files || e->content.st.listed || e->content.st.searches ||
	    e->content.st.scans_submitted) {
		const struct kp_content_stats *c = &e->content.st;

		fprintf(out,
			"content: %" PRIu64 " files (%" PRIu64 " bytes), %" PRIu64 " listed, %" PRIu64
			" searches, %" PRIu64 " blocked by name, %" PRIu64 " by hash\n",
			c->files, c->bytes, c->listed, c->searches, c->files_blocked,
			c->hashes_blocked);
		if (c->scans_submitted || c->unscanned_large)
			fprintf(out,
				"scan: %" PRIu64 " scanned (%" PRIu64 " from the cache), %" PRIu64
				" infected, %" PRIu64 " errors, %" PRIu64 " too large, %" PRIu64
				" over file.memcap, %" PRIu64 " refused (queue full)\n",
				c->scans_done, c->scans_cached, c->infected, c->scan_errors,
				c->unscanned_large, c->unscanned_memcap, c->scan_rejected);
	}
	timing_table(out, e);
	if (wall_s > 0)
		fprintf(out, "time: %.3f s, %.0f packets/s, %.3f Gbit/s\n", wall_s,
			(double)e->st.packets / wall_s, (double)e->st.bytes * 8 / wall_s / 1e9);
	if (events)
		fprintf(out, "events: %" PRIu64 " written to %s\n", e->st.events, events);
}
