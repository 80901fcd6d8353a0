/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The configuration: every tunable of the pipeline with its default, read
 * from a `key = value` file (comments start with '#'). The keys, their types,
 * bounds and help text live in one table (config.c), which also prints
 * `kp2padm --help-config`. Errors name FILE:LINE and reject the whole file.
 * A loaded config is read-only and shared by every pipeline thread.
 */
#ifndef KP_ENGINE_CONFIG_H
#define KP_ENGINE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "decode/decode.h"
#include "flow/flow_table.h"

struct kp_policy;

#define KP_MAX_BW_RULES 32
/* Class ids of `bandwidth = rule:NAME` entries: KP_BW_RULE_BASE + entry index (mark value + 1). */
#define KP_BW_RULE_BASE 127

struct kp_config {
	/* classification */
	uint32_t classify_packets;  /* payload packets offered to modules per flow */
	uint32_t classify_buffer;   /* bytes kept per direction for probes */
	char sig_dir[512];          /* l7-filter .pat directory; empty = none */
	char sig_engine[16];        /* auto | hyperscan | pcre2 */
	uint32_t sig_buffer;        /* bytes of the l7 buffer (arrival order, NULs removed) */
	/* stream */
	uint64_t stream_depth;
	uint64_t stream_memcap;
	uint32_t stream_max_ooo;
	int stream_ooo;             /* enum kp_ooo_mode: fastpass | hold */
	uint32_t stream_hold_timeout; /* ms a held out-of-order segment waits for its hole */
	uint32_t stream_hold_max;   /* out-of-order segments held at once per pipeline */
	/* flows */
	uint64_t flow_memcap;
	uint32_t flow_hash_size;
	struct kp_flow_timeouts timeouts;
	/* decode */
	int checksum;               /* enum kp_csum_mode */
	uint64_t defrag_memcap;
	/* services */
	uint32_t peer_cache_size, peer_cache_ttl;
	uint32_t expect_ttl;
	/* output */
	char events[512];           /* events file; "-" = stdout; empty = default */
	uint32_t stats_interval;    /* seconds between stats events inline; 0 = only at exit */
	uint32_t timing_sample;     /* time every Nth packet's stages (engine/timing.h); 0 = off */
	bool chat_audit;            /* write a chat event per chat message (IRC, ...) */

	/* inline (NFQUEUE) */
	int mode;                   /* enum kp_mode */
	int bypass;                 /* enum kp_bypass: what happens to decided flows */
	bool setup;                 /* install/remove our own netfilter rules and eBPF programs */
	bool ipv6;                  /* also queue IPv6 (ip6tables rules) */
	char queues[32];            /* "N" or "N:M" (the -q option overrides) */
	char interfaces[512];       /* comma-separated gateway interfaces (eBPF cache, queue filter) */
	uint32_t mark_mask;         /* packet/conntrack mark bits kp2padm owns */
	uint32_t mark_class_mask;   /* packet mark bits for the bandwidth class of inspected packets */
	uint32_t queue_rcvbuf, queue_maxlen, queue_batch;
	bool queue_gso, queue_fail_open;
	/* connection cache */
	uint32_t cache_size, cache_ttl;
	bool cache_bpf;             /* in the kernel (tc ingress eBPF) when possible */

	/* bandwidth: `bandwidth = APP RATE [CEIL]` lines, HTB classes on the interfaces */
	struct kp_bw_rule {
		uint16_t app;              /* enum kp_app_id, or KP_BW_RULE_BASE + index for rule: */
		char rule[64];             /* rule:NAME: the pass rule whose flows share the class */
		uint64_t rate_bps, ceil_bps; /* ceil 0 = rate */
	} bw[KP_MAX_BW_RULES];
	unsigned n_bw;
	uint64_t shaper_link_bps;   /* the unlimited class's rate and every ceiling's cap */

	/* content: files, scanning (content/, scan/) */
	bool file_audit;            /* a file event for every file */
	uint64_t file_memcap;       /* bytes buffered for scanning per pipeline */
	bool scan;                  /* libclamav scanning on */
	char scan_db[512];
	uint64_t scan_max_size;
	uint32_t scan_timeout;      /* seconds */
	int scan_fail_closed;       /* scan.fail = closed */
	uint32_t scan_threads, scan_cache;
	bool scan_hold;
	char scan_skip[512];        /* globs of names / content types not scanned */

	/* policy (rules, file/chat rules and policy.* keys); owned, built by kp_config_load */
	struct kp_policy *policy;
};

/* What happens to a flow once it is decided (config `bypass`). */
enum kp_bypass {
	KP_BYPASS_NO = 0,      /* every packet stays in the queue, copied whole */
	KP_BYPASS_MARK,        /* the mark keeps the rest of the flow out of the queue */
	KP_BYPASS_HEADERS,     /* the rest goes to header-only queues (exact counts, no payload) */
};

/* Bytes copied of a decided flow's packets with bypass = headers (IP + TCP with options). */
#define KP_HEADER_COPY 256

/* What the daemon does with queued packets. */
enum kp_mode {
	KP_MODE_DEFAULT = 0, /* classify, apply the policy, bypass decided flows, kernel cache */
	KP_MODE_P2PADM,      /* the thesis baseline: every packet queued, no bypass, no kernel cache */
	KP_MODE_ACCEPT,      /* accept every queued packet without looking (a benchmark baseline) */
};

void kp_config_defaults(struct kp_config *c);

/*
 * Loads a config file over the defaults already in c. On error returns -1 and
 * writes "FILE:LINE: reason" into err (errlen bytes); c is then unspecified.
 */
int kp_config_load(struct kp_config *c, const char *path, char *err, size_t errlen);

/* Sets one key from text (same rules as a file line); returns 0 or -1 with err. */
int kp_config_set(struct kp_config *c, const char *key, const char *val, char *err, size_t errlen);

/* Applies KEY=VALUE strings (the -s options); returns 0 or -1 with err. */
int kp_config_apply_sets(struct kp_config *c, const char *const *sets, int nsets, char *err,
			 size_t errlen);

/* Frees what a loaded config owns (its policy). */
void kp_config_free(struct kp_config *c);

/* Prints every key with its default and help. */
void kp_config_print_help(FILE *out);

#endif
