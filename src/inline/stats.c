/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The inline stats event (see stats.h). */
#include "inline/stats.h"
#include "app/app.h"
#include "inline/worker.h"
#include "output/eve.h"
#include "output/writer.h"
#include "policy/conncache.h"
#include "engine/config.h"
#ifdef HAVE_BPF
#include "kern/shaper.h"
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>

void kp_stats_init(struct kp_stats_ctx *s, struct kp_worker *w, unsigned nw,
		   struct kp_conncache *cache, struct kp_output *out)
{
	s->w = w;
	s->nw = nw;
	s->cache = cache;
	s->out = out;
	s->shaper = NULL;
	s->ifaces = NULL;
	s->n_ifaces = 0;
}

/* "shaper": {IFACE: [{app, classid, bytes, packets, drops, overlimits}, ...], ...} */
static void shaper_members(struct kp_stats_ctx *s, struct kp_json *j)
{
#ifdef HAVE_BPF
	struct kp_shaper_class_stats cs[KP_MAX_BW_RULES + 2];

	if (!s->shaper)
		return;
	kp_json_obj(j, "shaper");
	for (unsigned i = 0; i < s->n_ifaces; i++) {
		int n = kp_shaper_stats(s->shaper, s->ifaces[i], cs, KP_MAX_BW_RULES + 2);

		kp_json_arr(j, s->ifaces[i]);
		for (int k = 0; k < n; k++) {
			kp_json_obj(j, NULL);
			const struct kp_config *cfg = s->nw ? s->w[0].c.cfg : NULL;
			unsigned ri = cs[k].app - KP_BW_RULE_BASE;

			if (cs[k].app != KP_SHAPER_APP_DEFAULT && cs[k].app >= KP_BW_RULE_BASE && cfg &&
			    ri < cfg->n_bw)
				kp_json_str(j, "rule", cfg->bw[ri].rule);
			else
				kp_json_str(j, "app", cs[k].app == KP_SHAPER_APP_DEFAULT
							      ? "(unlimited)"
							      : kp_app_name(cs[k].app));
			kp_json_u64(j, "bytes", cs[k].bytes);
			kp_json_u64(j, "packets", cs[k].packets);
			kp_json_u64(j, "drops", cs[k].drops);
			kp_json_u64(j, "overlimits", cs[k].overlimits);
			kp_json_end(j);
		}
		kp_json_end_arr(j);
	}
	kp_json_end(j);
#else
	(void)s;
	(void)j;
#endif
}

struct list_ctx {
	struct kp_json *j;
	unsigned n;
};

static void list_entry(void *arg, const struct kp_cc_key *k, uint64_t hits, uint64_t ttl_left_s)
{
	struct list_ctx *c = arg;
	int fam = k->family == 6 ? AF_INET6 : AF_INET;
	char a[64];

	if (c->n++ >= KP_STATS_CACHE_LIST)
		return;
	kp_json_obj(c->j, NULL);
	kp_addr_str(fam, k->saddr, a, sizeof(a));
	kp_json_str(c->j, "src_ip", a);
	kp_addr_str(fam, k->daddr, a, sizeof(a));
	kp_json_str(c->j, "dest_ip", a);
	kp_json_u64(c->j, "dest_port", ntohs(k->dport));
	kp_json_str(c->j, "proto", k->proto == IPPROTO_TCP ? "TCP" : "UDP");
	kp_json_u64(c->j, "hits", hits);
	kp_json_u64(c->j, "ttl", ttl_left_s);
	kp_json_end(c->j);
}

static void sum(struct kp_worker_snapshot *t, const struct kp_worker_snapshot *s)
{
	t->eng.packets += s->eng.packets;
	t->eng.bytes += s->eng.bytes;
	t->eng.verdict[0] += s->eng.verdict[0];
	t->eng.verdict[1] += s->eng.verdict[1];
	t->eng.bypass += s->eng.bypass;
	t->eng.blocked_flows += s->eng.blocked_flows;
	t->eng.bypassed_flows += s->eng.bypassed_flows;
	t->eng.cached_flows += s->eng.cached_flows;
	t->eng.resets += s->eng.resets;
	t->eng.ct_ends += s->eng.ct_ends;
	t->eng.ooo.fastpassed += s->eng.ooo.fastpassed;
	t->eng.ooo.held += s->eng.ooo.held;
	t->eng.ooo.released_fill += s->eng.ooo.released_fill;
	t->eng.ooo.released_timeout += s->eng.ooo.released_timeout;
	t->eng.ooo.released_end += s->eng.ooo.released_end;
	t->eng.ooo.dropped += s->eng.ooo.dropped;
	t->eng.ooo.overflow += s->eng.ooo.overflow;
	t->eng.ooo.held_us_total += s->eng.ooo.held_us_total;
	if (s->eng.ooo.held_us_max > t->eng.ooo.held_us_max)
		t->eng.ooo.held_us_max = s->eng.ooo.held_us_max;
	t->eng.ooo.untracked += s->eng.ooo.untracked;
	t->ooo_held_now += s->ooo_held_now;
	t->eng.csum_skipped += s->eng.csum_skipped;
	for (unsigned a = 0; a < KP_APP__COUNT; a++) {
		t->eng.app[a].flows += s->eng.app[a].flows;
		t->eng.app[a].pkts += s->eng.app[a].pkts;
		t->eng.app[a].bytes += s->eng.app[a].bytes;
	}
	t->flows.created += s->flows.created;
	t->flows.active += s->flows.active;
	t->flows.ended_evicted += s->flows.ended_evicted;
	t->nfq_received += s->nfq_received;
	t->nfq_bytes += s->nfq_bytes;
	t->nfq_copied += s->nfq_copied;
	t->nfq_enobufs += s->nfq_enobufs;
	t->nfq_verdicts += s->nfq_verdicts;
	t->nfq_batches += s->nfq_batches;
	t->nfq_gso += s->nfq_gso;
	t->nfq_csum_partial += s->nfq_csum_partial;
	t->nfq_truncated += s->nfq_truncated;
	t->ct_inbox_dropped += s->ct_inbox_dropped;
	kp_content_stats_add(&t->content, &s->content);
	t->nfq_held += s->nfq_held;
	t->nfq_released += s->nfq_released;
	kp_timing_stats_add(&t->timing, &s->timing);
}

/*
 * "timing": where a packet's time goes (engine/timing.h): per stage the mean ns per packet,
 * its share of the total, p50/p99 over the timed packets that entered it; the scan wait of
 * held packets apart.
 */
static void timing_members(struct kp_json *j, const struct kp_timing_stats *ts)
{
	struct kp_timing_report r;

	kp_timing_report(ts, &r);
	kp_json_obj(j, "timing");
	kp_json_u64(j, "sample", ts->sample);
	kp_json_str(j, "clock", ts->tsc ? "tsc" : "monotonic_raw");
	kp_json_dbl(j, "clock_ns", r.clock_ns);
	kp_json_u64(j, "packets", r.packets);
	kp_json_u64(j, "sampled", r.sampled);
	kp_json_dbl(j, "ns_per_packet", r.ns_per_packet);
	kp_json_obj(j, "stages");
	for (unsigned s = 0; s < KP_TS__PIPELINE; s++) {
		kp_json_obj(j, kp_timing_stage_name(s));
		kp_json_dbl(j, "ns_per_packet", r.stage[s].ns_per_packet);
		kp_json_dbl(j, "share", r.stage[s].share);
		kp_json_dbl(j, "p50_ns", r.stage[s].p50_ns);
		kp_json_dbl(j, "p99_ns", r.stage[s].p99_ns);
		kp_json_u64(j, "timed", r.stage[s].n);
		kp_json_end(j);
	}
	kp_json_end(j);
	kp_json_obj(j, "scan_wait");
	kp_json_u64(j, "holds", r.stage[KP_TS_SCAN_WAIT].n);
	kp_json_dbl(j, "mean_ns", r.stage[KP_TS_SCAN_WAIT].ns_per_packet);
	kp_json_dbl(j, "p50_ns", r.stage[KP_TS_SCAN_WAIT].p50_ns);
	kp_json_dbl(j, "p99_ns", r.stage[KP_TS_SCAN_WAIT].p99_ns);
	kp_json_end(j);
	kp_json_end(j);
}

static void engine_members(struct kp_json *j, const struct kp_worker_snapshot *s)
{
	kp_json_u64(j, "packets", s->eng.packets);
	kp_json_u64(j, "bytes", s->eng.bytes);
	kp_json_u64(j, "accepted", s->eng.verdict[0]);
	kp_json_u64(j, "dropped", s->eng.verdict[1]);
	kp_json_u64(j, "bypass_verdicts", s->eng.bypass);
	kp_json_u64(j, "flows_created", s->flows.created);
	kp_json_u64(j, "flows_active", s->flows.active);
	kp_json_u64(j, "flows_evicted", s->flows.ended_evicted);
	kp_json_u64(j, "bypassed_flows", s->eng.bypassed_flows);
	kp_json_u64(j, "blocked_flows", s->eng.blocked_flows);
	kp_json_u64(j, "cached_flows", s->eng.cached_flows);
	kp_json_u64(j, "resets", s->eng.resets);
	kp_json_u64(j, "conntrack_ends", s->eng.ct_ends);
	kp_json_obj(j, "queue");
	kp_json_u64(j, "received", s->nfq_received);
	kp_json_u64(j, "bytes", s->nfq_bytes);
	kp_json_u64(j, "copied", s->nfq_copied);
	kp_json_u64(j, "enobufs", s->nfq_enobufs);
	kp_json_u64(j, "verdict_msgs", s->nfq_verdicts);
	kp_json_u64(j, "batch_msgs", s->nfq_batches);
	kp_json_u64(j, "gso", s->nfq_gso);
	kp_json_u64(j, "csum_partial", s->nfq_csum_partial);
	kp_json_u64(j, "truncated", s->nfq_truncated);
	kp_json_u64(j, "held", s->nfq_held);
	kp_json_u64(j, "released", s->nfq_released);
	kp_json_end(j);
	kp_json_obj(j, "content");
	kp_eve_content_stats(j, &s->content);
	kp_json_end(j);
	/* out-of-order TCP segments (stream.ooo): fast-passed, or held until their hole filled */
	kp_json_obj(j, "ooo");
	kp_json_u64(j, "fastpassed", s->eng.ooo.fastpassed);
	kp_json_u64(j, "held", s->eng.ooo.held);
	kp_json_u64(j, "held_now", s->ooo_held_now);
	kp_json_u64(j, "released_fill", s->eng.ooo.released_fill);
	kp_json_u64(j, "released_timeout", s->eng.ooo.released_timeout);
	kp_json_u64(j, "released_end", s->eng.ooo.released_end);
	kp_json_u64(j, "dropped", s->eng.ooo.dropped);
	kp_json_u64(j, "overflow", s->eng.ooo.overflow);
	kp_json_u64(j, "held_us_total", s->eng.ooo.held_us_total);
	kp_json_u64(j, "held_us_max", s->eng.ooo.held_us_max);
	kp_json_end(j);
	timing_members(j, &s->timing);
}

void kp_stats_write(struct kp_stats_ctx *s, uint64_t ct_events_lost)
{
	struct kp_worker_snapshot tot, one;
	struct kp_json j;
	struct timespec ts;

	memset(&tot, 0, sizeof(tot));
	kp_json_init(&j);
	clock_gettime(CLOCK_REALTIME, &ts);
	kp_json_begin(&j);
	kp_json_ts(&j, "timestamp", (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
	kp_json_str(&j, "event_type", "stats");
	kp_json_obj(&j, "stats");
	kp_json_arr(&j, "workers");
	for (unsigned i = 0; i < s->nw; i++) {
		kp_worker_snapshot(&s->w[i], &one);
		sum(&tot, &one);
		kp_json_obj(&j, NULL);
		kp_json_u64(&j, "queue_num", s->w[i].c.queue);
		engine_members(&j, &one);
		kp_json_end(&j);
	}
	kp_json_end_arr(&j);
	engine_members(&j, &tot);
	kp_json_u64(&j, "conntrack_events_lost", ct_events_lost + tot.ct_inbox_dropped);
	kp_json_obj(&j, "apps");
	for (unsigned a = 0; a < KP_APP__COUNT; a++) {
		if (!tot.eng.app[a].flows)
			continue;
		kp_json_obj(&j, kp_app_name(a));
		kp_json_u64(&j, "flows", tot.eng.app[a].flows);
		kp_json_u64(&j, "pkts", tot.eng.app[a].pkts);
		kp_json_u64(&j, "bytes", tot.eng.app[a].bytes);
		kp_json_end(&j);
	}
	kp_json_end(&j);
	if (s->cache) {
		struct kp_conncache_stats cs;
		struct list_ctx lc = {&j, 0};
		struct timespec m;

		kp_conncache_stats(s->cache, &cs);
		kp_json_obj(&j, "cache");
		kp_json_str(&j, "backend", kp_conncache_is_bpf(s->cache) ? "ebpf" : "user");
		kp_json_u64(&j, "entries", cs.entries);
		kp_json_u64(&j, "adds", cs.adds);
		kp_json_u64(&j, "hits_kernel", cs.hits_kernel);
		kp_json_u64(&j, "hits_user", cs.hits_user);
		kp_json_u64(&j, "expired", cs.expired);
		kp_json_u64(&j, "evicted", cs.evicted);
		kp_json_arr(&j, "list");
		clock_gettime(CLOCK_REALTIME, &m);
		kp_conncache_foreach(s->cache,
				     (uint64_t)m.tv_sec * 1000000 + (uint64_t)m.tv_nsec / 1000,
				     list_entry, &lc);
		kp_json_end_arr(&j);
		kp_json_end(&j);
	}
	shaper_members(s, &j);
	kp_json_end(&j);
	kp_json_end(&j);
	if (!j.oom && s->out)
		kp_output_line(s->out, j.buf, j.len);
	kp_json_free(&j);
}
