/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the pipelines of one run share for content management: the scanner
 * (when scan = yes) and the run-time block list. Opened once by the offline
 * driver or the daemon, attached to every pipeline, closed after the last
 * packet (closing the scanner delivers the last verdicts to the pipelines).
 */
#ifndef KP_CONTENT_SETUP_H
#define KP_CONTENT_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct kp_config;
struct kp_engine;
struct kp_scanner;
struct kp_blocklist;

struct kp_content_shared {
	struct kp_scanner *scanner;
	struct kp_blocklist *blocklist;
	char db[512];              /* the database in use */
	bool test_db;              /* it is the project's EICAR-only test database */
};

/* Opens the block list and, with scan = yes, the scanner. 0, or -1 with err. */
int kp_content_shared_open(struct kp_content_shared *cs, const struct kp_config *cfg, FILE *log,
			   char *err, size_t errlen);
void kp_content_attach(struct kp_engine *e, struct kp_content_shared *cs);
/* Stops the scanner (queued scans finish and reach their pipelines) and frees the rest. */
void kp_content_shared_close(struct kp_content_shared *cs);

#endif
