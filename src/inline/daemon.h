/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inline mode: kp2padm as a gateway daemon. Binds NFQUEUE queues (one worker
 * thread and one pipeline per queue), installs its netfilter rules and the
 * eBPF connection cache unless told not to, applies the policy, reloads it on
 * SIGHUP, writes stats events, and removes everything it installed when it
 * stops (SIGTERM, SIGINT). The pipeline is the offline one (engine.h); only
 * the packet source and the kernel around it differ.
 */
#ifndef KP_INLINE_DAEMON_H
#define KP_INLINE_DAEMON_H

#include <stdbool.h>

#include "engine/config.h"

struct kp_sigset;
struct kp_output;

struct kp_daemon_args {
	struct kp_config *cfg;         /* loaded; cfg->policy may be NULL (everything passes) */
	const char *cfg_path;          /* re-read on SIGHUP; NULL: SIGHUP only logs */
	const char *const *sets;       /* -s KEY=VALUE, re-applied on reload */
	int nsets;
	const struct kp_sigset *sigs;
	struct kp_output *out;
	bool quiet;
};

/* Runs until SIGTERM/SIGINT. Returns the process exit status (0 or 1, reason printed). */
int kp_daemon_run(const struct kp_daemon_args *a);

/* Removes rules and eBPF programs a killed daemon left behind (kp2padm --cleanup). */
int kp_daemon_cleanup(const struct kp_config *cfg);

/* Prints the netfilter rules the daemon would install (kp2padm --print-rules). */
void kp_daemon_print_rules(const struct kp_config *cfg, FILE *out);

/* Parses "N" or "FIRST:LAST" into first and count; returns 0 or -1. */
int kp_parse_queues(const char *s, unsigned *first, unsigned *count);

#endif
