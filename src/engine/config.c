/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration table and the `key = value` file reader (see config.h). */
#include "engine/config.h"
#include "app/app.h"
#include "engine/ooo.h"
#include "policy/policy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* SIZE32/SIZE64: numbers with optional K/M/G suffix stored in uint32_t/uint64_t fields. */
enum opt_type { OPT_U32, OPT_SIZE32, OPT_SIZE64, OPT_STR, OPT_CSUM, OPT_SIGENG, OPT_BOOL, OPT_HEX32,
		OPT_MODE, OPT_BYPASS, OPT_SCANFAIL, OPT_OOO };

struct opt {
	const char *key;
	enum opt_type type;
	size_t off;
	size_t len;     /* strings: buffer size */
	uint64_t min, max;
	const char *help;
};

#define O(f) offsetof(struct kp_config, f)
#define TO(c) (offsetof(struct kp_config, timeouts) + offsetof(struct kp_flow_timeouts, s) + (c) * sizeof(uint32_t))

static const struct opt opts[] = {
	{"classify.packets", OPT_U32, O(classify_packets), 0, 1, 1000,
	 "payload packets of a flow offered to the protocol modules (both directions)"},
	{"classify.buffer", OPT_SIZE32, O(classify_buffer), 0, 256, 1 << 20,
	 "bytes of each direction kept for the probes"},
	{"signatures.dir", OPT_STR, O(sig_dir), sizeof(((struct kp_config *)0)->sig_dir), 0, 0,
	 "directory of l7-filter .pat files applied to flows the modules leave unknown"},
	{"signatures.engine", OPT_SIGENG, O(sig_engine), sizeof(((struct kp_config *)0)->sig_engine), 0, 0,
	 "auto | hyperscan | pcre2"},
	{"signatures.buffer", OPT_SIZE32, O(sig_buffer), 0, 64, 1 << 20,
	 "bytes of payload (arrival order, NULs removed) the signatures see"},
	{"stream.depth", OPT_SIZE64, O(stream_depth), 0, 0, UINT64_MAX,
	 "bytes per TCP direction reassembled for inspection (0 = unlimited)"},
	{"stream.memcap", OPT_SIZE64, O(stream_memcap), 0, 65536, UINT64_MAX,
	 "bytes of out-of-order segments held, all flows of a pipeline"},
	{"stream.max_ooo", OPT_SIZE32, O(stream_max_ooo), 0, 4096, 1u << 30,
	 "bytes held out of order in one direction before a gap is declared"},
	{"stream.ooo", OPT_OOO, O(stream_ooo), 0, 0, 0,
	 "fastpass (an out-of-order TCP segment is forwarded at once, its copy inspected when the hole fills) | hold (inline, it waits for the hole to fill, at most stream.hold_timeout)"},
	{"stream.hold_timeout", OPT_U32, O(stream_hold_timeout), 0, 1, 60000,
	 "milliseconds a held out-of-order segment waits for its hole (stream.ooo = hold) before it passes anyway"},
	{"stream.hold_max", OPT_U32, O(stream_hold_max), 0, 1, 1u << 24,
	 "out-of-order segments held at once per pipeline (stream.ooo = hold); beyond, fast pass (counted)"},
	{"flow.memcap", OPT_SIZE64, O(flow_memcap), 0, 65536, UINT64_MAX,
	 "bytes of flows and what they own (probe buffers, parser state); beyond it the least recently active flows are evicted"},
	{"flow.hash_size", OPT_U32, O(flow_hash_size), 0, 16, 1u << 26, "flow hash buckets"},
	{"flow.timeout.tcp_new", OPT_U32, TO(KP_TC_TCP_NEW), 0, 1, 86400 * 7,
	 "seconds a TCP flow without a completed handshake may idle"},
	{"flow.timeout.tcp_established", OPT_U32, TO(KP_TC_TCP_EST), 0, 1, 86400 * 7,
	 "seconds an established TCP flow may idle"},
	{"flow.timeout.tcp_closed", OPT_U32, TO(KP_TC_CLOSED), 0, 0, 86400,
	 "seconds a TCP flow is kept after FIN both ways or RST"},
	{"flow.timeout.udp_new", OPT_U32, TO(KP_TC_UDP_NEW), 0, 1, 86400 * 7,
	 "seconds a one-way UDP flow may idle"},
	{"flow.timeout.udp_established", OPT_U32, TO(KP_TC_UDP_EST), 0, 1, 86400 * 7,
	 "seconds a two-way UDP flow may idle"},
	{"checksum", OPT_CSUM, O(checksum), 0, 0, 0,
	 "auto (verify, accept unfinished offloaded sums) | strict | off"},
	{"defrag.memcap", OPT_SIZE64, O(defrag_memcap), 0, 0, UINT64_MAX,
	 "bytes for IP fragment reassembly (0 = count fragments only)"},
	{"peer_cache.size", OPT_U32, O(peer_cache_size), 0, 16, 1u << 24,
	 "entries of the P2P peer cache"},
	{"peer_cache.ttl", OPT_U32, O(peer_cache_ttl), 0, 1, 86400 * 7,
	 "seconds a peer stays in the P2P peer cache"},
	{"expect.ttl", OPT_U32, O(expect_ttl), 0, 1, 86400,
	 "seconds an announced data connection (FTP, DCC) is awaited"},
	{"events", OPT_STR, O(events), sizeof(((struct kp_config *)0)->events), 0, 0,
	 "events file (JSON lines); - for standard output"},
	{"chat.audit", OPT_BOOL, O(chat_audit), 0, 0, 0,
	 "yes: one chat event per chat message (IRC PRIVMSG and NOTICE): sender, receiver, text"},
	{"timing.sample", OPT_U32, O(timing_sample), 0, 0, 1u << 30,
	 "time the pipeline stages of every Nth packet (stats event, offline summary); 0 = off, 1 = every packet"},
	{"stats.interval", OPT_U32, O(stats_interval), 0, 0, 86400,
	 "seconds between stats events inline (0 = only at exit)"},
	{"mode", OPT_MODE, O(mode), 0, 0, 0,
	 "default | p2padm (the 2006 baseline: every packet queued and copied whole, one verdict each, no GSO, no bypass, no cache) | accept (queue and accept, no inspection)"},
	{"bypass", OPT_BYPASS, O(bypass), 0, 0, 0,
	 "yes: a decided flow's mark keeps the rest of it out of the queue | headers: the rest is queued with its headers only (queues N+count..) | no"},
	{"setup", OPT_BOOL, O(setup), 0, 0, 0,
	 "yes: install and remove kp2padm's own netfilter rules and eBPF programs (no: kp2padm --print-rules)"},
	{"ipv6", OPT_BOOL, O(ipv6), 0, 0, 0, "yes: queue IPv6 too (ip6tables rules)"},
	{"queues", OPT_STR, O(queues), sizeof(((struct kp_config *)0)->queues), 0, 0,
	 "NFQUEUE numbers: N or FIRST:LAST, one worker per queue (-q overrides)"},
	{"interfaces", OPT_STR, O(interfaces), sizeof(((struct kp_config *)0)->interfaces), 0, 0,
	 "comma-separated gateway interfaces: the connection cache runs at their ingress; empty = queue all forwarded traffic, cache in user space"},
	{"mark.mask", OPT_HEX32, O(mark_mask), 0, 1, 0xffffffffu,
	 "packet and conntrack mark bits kp2padm owns (decided flows carry app+1 in them)"},
	{"queue.rcvbuf", OPT_SIZE32, O(queue_rcvbuf), 0, 65536, 1u << 30,
	 "netlink receive buffer per queue, bytes"},
	{"queue.maxlen", OPT_U32, O(queue_maxlen), 0, 64, 1u << 20,
	 "packets the kernel holds per queue before fail-open (or drop)"},
	{"queue.batch", OPT_U32, O(queue_batch), 0, 1, 1024,
	 "packets read per round before their verdicts go out together"},
	{"queue.gso", OPT_BOOL, O(queue_gso), 0, 0, 0,
	 "yes: receive GSO super-packets whole (fewer, larger packets)"},
	{"queue.fail_open", OPT_BOOL, O(queue_fail_open), 0, 0, 0,
	 "yes: when the queue is full the kernel accepts packets instead of dropping them"},
	{"cache.size", OPT_U32, O(cache_size), 0, 16, 1u << 24,
	 "entries of the connection cache of blocked (client, server, port, protocol)"},
	{"cache.ttl", OPT_U32, O(cache_ttl), 0, 0, 86400 * 7,
	 "seconds a blocked tuple's reconnections are dropped (0 = no cache)"},
	{"cache.bpf", OPT_BOOL, O(cache_bpf), 0, 0, 0,
	 "yes: keep the cache in the kernel (tc ingress eBPF) when BPF is available"},
	{"file.audit", OPT_BOOL, O(file_audit), 0, 0, 0,
	 "yes: a file event for every file that crosses (HTTP, FTP, DCC, P2P transfers, torrents' file lists)"},
	{"file.memcap", OPT_SIZE64, O(file_memcap), 0, 0, UINT64_MAX,
	 "bytes of file contents buffered for scanning, all files of a pipeline; a file that does not fit passes unscanned (logged)"},
	{"scan", OPT_BOOL, O(scan), 0, 0, 0,
	 "yes: scan files with libclamav (HTTP, FTP, DCC downloads whole; BitTorrent and eDonkey pieces as they pass)"},
	{"scan.db", OPT_STR, O(scan_db), sizeof(((struct kp_config *)0)->scan_db), 0, 0,
	 "signature database: a directory (/var/lib/clamav) or one .cvd/.cld/.ndb/.hdb file; empty = /var/lib/clamav if it holds one, else the project's EICAR-only test database (with a warning)"},
	{"scan.max_size", OPT_SIZE64, O(scan_max_size), 0, 0, 1ull << 31,
	 "larger files pass unscanned (and their file event says so)"},
	{"scan.timeout", OPT_U32, O(scan_timeout), 0, 1, 3600,
	 "seconds a held file tail waits for its scan before scan.fail decides"},
	{"scan.fail", OPT_SCANFAIL, O(scan_fail_closed), 0, 0, 0,
	 "open | closed: what a scan that times out or fails does to the held tail"},
	{"scan.threads", OPT_U32, O(scan_threads), 0, 0, 256,
	 "scan threads (0 = one per CPU)"},
	{"scan.hold", OPT_BOOL, O(scan_hold), 0, 0, 0,
	 "yes: inline, hold the packet that completes an HTTP/FTP/DCC file until its scan says clean"},
	{"scan.skip", OPT_STR, O(scan_skip), sizeof(((struct kp_config *)0)->scan_skip), 0, 0,
	 "comma-separated globs on file names and content types of files not worth a scan (e.g. *.iso,video/*); they pass unscanned"},
	{"scan.cache", OPT_U32, O(scan_cache), 0, 0, 1u << 24,
	 "entries of the cache of scanned content (sha256 -> verdict); 0 = none"},
	{"mark.class_mask", OPT_HEX32, O(mark_class_mask), 0, 0, 0xffffffffu,
	 "packet mark bits that carry a bandwidth class on packets still inspected (not saved in conntrack; 0 = limits apply from bypass on only)"},
	{"flow.timeout.bypassed", OPT_U32, TO(KP_TC_BYPASSED), 0, 1, 86400 * 30,
	 "seconds a bypassed flow is kept without news from conntrack"},
};

void kp_config_defaults(struct kp_config *c)
{
	memset(c, 0, sizeof(*c));
	c->classify_packets = 8;
	c->classify_buffer = 4096;
	strcpy(c->sig_engine, "auto");
	c->sig_buffer = 12000; /* l7-filter userspace default */
	c->stream_depth = 1 << 20;
	c->stream_memcap = 64ull << 20;
	c->stream_max_ooo = 1 << 20;
	c->stream_ooo = KP_OOO_FASTPASS;
	c->stream_hold_timeout = 200;
	c->stream_hold_max = 4096;
	c->flow_memcap = 256ull << 20;
	c->flow_hash_size = 65536;
	c->timeouts.s[KP_TC_TCP_NEW] = 60;
	c->timeouts.s[KP_TC_TCP_EST] = 600;
	c->timeouts.s[KP_TC_CLOSED] = 10;
	c->timeouts.s[KP_TC_UDP_NEW] = 30;
	c->timeouts.s[KP_TC_UDP_EST] = 300;
	c->checksum = KP_CSUM_MODE_AUTO;
	c->defrag_memcap = 16ull << 20;
	c->peer_cache_size = 16384;
	c->peer_cache_ttl = 1800;
	c->expect_ttl = 60;
	c->timeouts.s[KP_TC_BYPASSED] = 3600;
	c->stats_interval = 60;
	c->timing_sample = 64;
	c->mode = KP_MODE_DEFAULT;
	c->bypass = KP_BYPASS_MARK;
	c->setup = true;
	c->ipv6 = true;
	strcpy(c->queues, "0");
	c->mark_mask = 0x00ff0000u;
	c->mark_class_mask = 0x0000ff00u;
	c->queue_rcvbuf = 8u << 20;
	c->queue_maxlen = 8192;
	c->queue_batch = 64;
	c->queue_gso = true;
	c->queue_fail_open = true;
	c->cache_size = 65536;
	c->cache_ttl = 300;
	c->cache_bpf = true;
	c->shaper_link_bps = 10000000000ull;
	c->file_memcap = 256ull << 20;
	c->scan_max_size = 20ull << 20;
	c->scan_timeout = 10;
	c->scan_threads = 0;
	c->scan_hold = true;
	c->scan_cache = 4096;
}

/* Keys whose values are words: each word and the enum value it stands for. */
struct keyword {
	const char *word;
	int value;
	bool alias;     /* accepted, not listed in messages */
};

static const struct keyword kw_csum[] = {
	{"auto", KP_CSUM_MODE_AUTO, false},
	{"strict", KP_CSUM_MODE_STRICT, false},
	{"off", KP_CSUM_MODE_OFF, false},
	{NULL, 0, false},
};
static const struct keyword kw_mode[] = {
	{"default", KP_MODE_DEFAULT, false},
	{"p2padm", KP_MODE_P2PADM, false},
	{"accept", KP_MODE_ACCEPT, false},
	{NULL, 0, false},
};
static const struct keyword kw_bypass[] = {
	{"yes", KP_BYPASS_MARK, false},
	{"headers", KP_BYPASS_HEADERS, false},
	{"no", KP_BYPASS_NO, false},
	{"mark", KP_BYPASS_MARK, true},
	{NULL, 0, false},
};

static const struct keyword kw_scanfail[] = {
	{"open", 0, false},
	{"closed", 1, false},
	{NULL, 0, false},
};

static const struct keyword kw_ooo[] = {
	{"fastpass", KP_OOO_FASTPASS, false},
	{"hold", KP_OOO_HOLD, false},
	{"fast-pass", KP_OOO_FASTPASS, true},
	{NULL, 0, false},
};

static const struct keyword *keywords(enum opt_type t)
{
	if (t == OPT_OOO)
		return kw_ooo;
	if (t == OPT_SCANFAIL)
		return kw_scanfail;
	return t == OPT_CSUM ? kw_csum : t == OPT_MODE ? kw_mode : kw_bypass;
}

/* The listed word of value v (for --help-config's defaults). */
static const char *keyword_of(const struct keyword *k, int v)
{
	for (; k->word; k++)
		if (k->value == v && !k->alias)
			return k->word;
	return "?";
}

/* Stores the value of word val as an int; else "KEY: 'VAL' is not A, B or C". */
static int set_keyword(const struct keyword *k, const char *key, const char *val, void *base,
		       char *err, size_t errlen)
{
	size_t n = 0, len = 0, listed = 0;
	char words[128] = "";

	for (const struct keyword *w = k; w->word; w++) {
		if (!strcmp(w->word, val)) {
			memcpy(base, &w->value, sizeof(w->value));
			return 0;
		}
		listed += !w->alias;
	}
	for (const struct keyword *w = k; w->word; w++) {
		if (w->alias)
			continue;
		n++;
		len += (size_t)snprintf(words + len, sizeof(words) - len, "%s%s",
					n == 1 ? "" : n == listed ? " or " : ", ", w->word);
		if (len >= sizeof(words))
			break;
	}
	snprintf(err, errlen, "%s: '%s' is not %s", key, val, words);
	return -1;
}

static int parse_u64(const char *v, bool size, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno)
		return -1;
	if (size && *end) {
		unsigned long long m = 1;

		switch (toupper((unsigned char)*end)) {
		case 'K':
			m = 1ull << 10;
			break;
		case 'M':
			m = 1ull << 20;
			break;
		case 'G':
			m = 1ull << 30;
			break;
		default:
			return -1;
		}
		end++;
		if (toupper((unsigned char)*end) == 'B' || toupper((unsigned char)*end) == 'I')
			end++;
		if (x > UINT64_MAX / m)
			return -1;
		x *= m;
	}
	if (*end)
		return -1;
	*out = x;
	return 0;
}

/* `rule = ...` lines and `policy.*` keys build the policy (policy/policy.h). */
static int policy_line(struct kp_config *c, const char *key, const char *val, const char *file,
		       unsigned line, char *err, size_t errlen)
{
	if (!c->policy) {
		c->policy = kp_policy_new();
		if (!c->policy) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (!strcmp(key, "rule"))
		return kp_policy_add_rule(c->policy, val, file, line, err, errlen);
	if (!strcmp(key, "file") || !strcmp(key, "chat"))
		return kp_policy_add_content_rule(c->policy, key[0] == 'c', val, file, line, err,
						  errlen);
	return kp_policy_set(c->policy, key, val, err, errlen);
}

static int config_set_at(struct kp_config *c, const char *key, const char *val, const char *file,
			 unsigned line, char *err, size_t errlen);

int kp_config_set(struct kp_config *c, const char *key, const char *val, char *err, size_t errlen)
{
	return config_set_at(c, key, val, "--set", 0, err, errlen);
}

/* "20mbit", "1.5gbit", "800kbit", "1000000" (bit/s) -> bit/s; 0 on error. */
static uint64_t parse_rate(const char *v)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || x <= 0)
		return 0;
	if (!strcasecmp(end, "gbit"))
		x *= 1e9;
	else if (!strcasecmp(end, "mbit"))
		x *= 1e6;
	else if (!strcasecmp(end, "kbit"))
		x *= 1e3;
	else if (*end && strcasecmp(end, "bit"))
		return 0;
	return x >= 8000 && x <= 1e12 ? (uint64_t)x : 0;
}

/* `bandwidth = APP RATE [CEIL]` (repeatable; a later line for the same app replaces it). */
static int bandwidth_line(struct kp_config *c, const char *val, char *err, size_t errlen)
{
	char buf[256], *save = NULL, *app, *rate, *ceil, *extra;
	struct kp_bw_rule r = {0};
	unsigned i;

	snprintf(buf, sizeof(buf), "%s", val);
	app = strtok_r(buf, " \t", &save);
	rate = strtok_r(NULL, " \t", &save);
	ceil = strtok_r(NULL, " \t", &save);
	extra = strtok_r(NULL, " \t", &save);
	if (!app || !rate || extra) {
		snprintf(err, errlen, "bandwidth: expected 'APP RATE [CEIL]' (e.g. bittorrent 20mbit)");
		return -1;
	}
	if (!strncmp(app, "rule:", 5)) {
		/* the flows a `rule = pass name=NAME` passes share one class */
		if (!app[5] || strlen(app + 5) >= sizeof(r.rule)) {
			snprintf(err, errlen, "bandwidth: 'rule:NAME' needs a rule name");
			return -1;
		}
		snprintf(r.rule, sizeof(r.rule), "%s", app + 5);
		r.app = KP_BW_RULE_BASE; /* set to the base plus the entry's index below */
	} else {
		for (i = 0; i < KP_APP__COUNT; i++)
			if (!strcmp(kp_app_name(i), app))
				break;
		if (i == KP_APP__COUNT) {
			snprintf(err, errlen,
				 "bandwidth: unknown app '%s' (the labels of kp2padm(8), or rule:NAME)",
				 app);
			return -1;
		}
		r.app = (uint16_t)i;
	}
	r.rate_bps = parse_rate(rate);
	r.ceil_bps = ceil ? parse_rate(ceil) : r.rate_bps;
	if (!r.rate_bps || !r.ceil_bps || r.ceil_bps < r.rate_bps) {
		snprintf(err, errlen,
			 "bandwidth: bad rate '%s%s%s' (8kbit..1000gbit, kbit/mbit/gbit; ceil >= rate)",
			 rate, ceil ? " " : "", ceil ? ceil : "");
		return -1;
	}
	for (i = 0; i < c->n_bw; i++)
		if (r.rule[0] ? !strcmp(c->bw[i].rule, r.rule) : c->bw[i].app == r.app)
			break;
	if (i == KP_MAX_BW_RULES) {
		snprintf(err, errlen, "bandwidth: at most %d classes", KP_MAX_BW_RULES);
		return -1;
	}
	if (r.rule[0])
		r.app = (uint16_t)(KP_BW_RULE_BASE + i);
	c->bw[i] = r;
	if (i == c->n_bw)
		c->n_bw++;
	return 0;
}

static int config_set_at(struct kp_config *c, const char *key, const char *val, const char *file,
			 unsigned line, char *err, size_t errlen)
{
	if (!strcmp(key, "bandwidth"))
		return bandwidth_line(c, val, err, errlen);
	if (!strcmp(key, "shaper.link")) {
		c->shaper_link_bps = parse_rate(val);
		if (c->shaper_link_bps)
			return 0;
		snprintf(err, errlen, "shaper.link: bad rate '%s' (e.g. 10gbit)", val);
		return -1;
	}
	if (!strcmp(key, "rule") || !strcmp(key, "file") || !strcmp(key, "chat") ||
	    !strncmp(key, "policy.", 7))
		return policy_line(c, key, val, file, line, err, errlen);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];
		char *base = (char *)c + o->off;
		uint64_t x;

		if (strcmp(o->key, key))
			continue;
		switch (o->type) {
		case OPT_U32:
		case OPT_SIZE32:
		case OPT_SIZE64:
			if (parse_u64(val, o->type != OPT_U32, &x) || x < o->min || x > o->max) {
				snprintf(err, errlen,
					 "%s: '%s' is not a number in [%" PRIu64 ", %" PRIu64 "]%s",
					 key, val, o->min, o->max,
					 o->type != OPT_U32 ? " (K, M, G suffixes allowed)" : "");
				return -1;
			}
			if (o->type == OPT_SIZE64)
				memcpy(base, &x, sizeof(uint64_t));
			else {
				uint32_t y = (uint32_t)x;

				memcpy(base, &y, sizeof(y));
			}
			return 0;
		case OPT_STR:
			if (strlen(val) >= o->len) {
				snprintf(err, errlen, "%s: value too long (max %zu)", key, o->len - 1);
				return -1;
			}
			strcpy(base, val);
			return 0;
		case OPT_CSUM:
		case OPT_MODE:
		case OPT_BYPASS:
		case OPT_SCANFAIL:
		case OPT_OOO:
			return set_keyword(keywords(o->type), key, val, base, err, errlen);
		case OPT_BOOL: {
			bool b;

			if (!strcmp(val, "yes") || !strcmp(val, "true") || !strcmp(val, "on") ||
			    !strcmp(val, "1"))
				b = true;
			else if (!strcmp(val, "no") || !strcmp(val, "false") || !strcmp(val, "off") ||
				 !strcmp(val, "0"))
				b = false;
			else {
				snprintf(err, errlen, "%s: '%s' is not yes or no", key, val);
				return -1;
			}
			memcpy(base, &b, sizeof(b));
			return 0;
		}
		case OPT_HEX32: {
			char *end;
			unsigned long long y;

			errno = 0;
			y = strtoull(val, &end, 0);
			if (errno || end == val || *end || y < o->min || y > o->max) {
				snprintf(err, errlen, "%s: '%s' is not a 32-bit number (0x... allowed)",
					 key, val);
				return -1;
			}
			{
				uint32_t z = (uint32_t)y;

				memcpy(base, &z, sizeof(z));
			}
			return 0;
		}
		case OPT_SIGENG:
			if (strcmp(val, "auto") && strcmp(val, "hyperscan") && strcmp(val, "pcre2")) {
				snprintf(err, errlen,
					 "signatures.engine: '%s' is not auto, hyperscan or pcre2", val);
				return -1;
			}
			strcpy(base, val);
			return 0;
		}
	}
	snprintf(err, errlen, "unknown key '%s' (kp2padm --help-config lists them)", key);
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int kp_config_load(struct kp_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[2048], msg[768];
	int lineno = 0, rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s, *eq, *hash;

		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		s = trim(line);
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		if (config_set_at(c, trim(s), trim(eq + 1), path, (unsigned)lineno, msg,
				  sizeof(msg))) {
			/* policy messages already name FILE:LINE */
			if (!strncmp(msg, path, strlen(path)) && msg[strlen(path)] == ':')
				snprintf(err, errlen, "%s", msg);
			else
				snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			rc = -1;
			break;
		}
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

int kp_config_apply_sets(struct kp_config *c, const char *const *sets, int nsets, char *err,
			 size_t errlen)
{
	for (int i = 0; i < nsets; i++) {
		char kv[1024], msg[768], *eq;

		snprintf(kv, sizeof(kv), "%s", sets[i]);
		eq = strchr(kv, '=');
		if (!eq) {
			snprintf(err, errlen, "--set %s: expected KEY=VALUE", sets[i]);
			return -1;
		}
		*eq = '\0';
		if (kp_config_set(c, trim(kv), trim(eq + 1), msg, sizeof(msg))) {
			snprintf(err, errlen, "--set: %s", msg);
			return -1;
		}
	}
	return 0;
}

void kp_config_free(struct kp_config *c)
{
	if (c->policy)
		kp_policy_put(c->policy);
	c->policy = NULL;
}

void kp_config_print_help(FILE *out)
{
	struct kp_config d;

	kp_config_defaults(&d);
	fprintf(out, "Configuration keys (file lines 'key = value'; '#' starts a comment):\n");
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		const struct opt *o = &opts[i];
		const char *base = (const char *)&d + o->off;
		char def[64];

		switch (o->type) {
		case OPT_STR:
		case OPT_SIGENG:
			snprintf(def, sizeof(def), "%s", *base ? base : "(none)");
			break;
		case OPT_CSUM:
		case OPT_MODE:
		case OPT_BYPASS:
		case OPT_SCANFAIL:
		case OPT_OOO: {
			int v;

			memcpy(&v, base, sizeof(v));
			snprintf(def, sizeof(def), "%s", keyword_of(keywords(o->type), v));
			break;
		}
		case OPT_BOOL:
			snprintf(def, sizeof(def), "%s", *(const bool *)base ? "yes" : "no");
			break;
		case OPT_HEX32: {
			uint32_t v32;

			memcpy(&v32, base, sizeof(v32));
			snprintf(def, sizeof(def), "0x%08" PRIx32, v32);
			break;
		}
		default: {
			uint64_t v64;
			uint32_t v32;

			if (o->type == OPT_SIZE64) {
				memcpy(&v64, base, sizeof(v64));
			} else {
				memcpy(&v32, base, sizeof(v32));
				v64 = v32;
			}
			snprintf(def, sizeof(def), "%" PRIu64, v64);
		}
		}
		fprintf(out, "  %-30s %-10s %s\n", o->key, def, o->help);
	}
	fprintf(out, "  %-30s %-10s %s\n  %-30s %-10s %s\n", "bandwidth", "(none)",
		"APP RATE [CEIL], e.g. bittorrent 20mbit 40mbit: an HTB class on every interface "
		"(repeatable)", "shaper.link", "10gbit",
		"rate of the unlimited class and cap of every ceiling");
	fprintf(out,
		"  %-30s %-10s %s\n  %-30s %-10s %s\n  %-30s %-10s %s\n",
		"rule", "(none)",
		"ACTION [name=N] [app=A,..] [src=CIDR,..] [dst=CIDR,..] [sport=P[-Q]] [dport=P[-Q]] "
		"[proto=tcp|udp] [reset]; ACTION pass|block; repeatable, first match wins",
		"policy.unknown", "pass", "pass | block: flows no module recognised",
		"policy.classifying", "pass", "pass | block: packets of flows still being classified");
	fprintf(out, "  %-30s %-10s %s\n  %-30s %-10s %s\n", "file", "(none)",
		"pass|audit|block [name=N] [app=A,..] [glob=GLOB,..] [hash=HEX,..] [hashes=PATH] "
		"[reset]; repeatable, first match wins",
		"chat", "(none)",
		"audit|alert|block [name=N] [app=A,..] [keyword=WORD,..] [reset]; repeatable");
}
