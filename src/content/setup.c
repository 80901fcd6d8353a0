/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Opening and closing what the pipelines share for content management (see setup.h). */
#include "content/setup.h"

#include <string.h>
#include <unistd.h>

#include "content/blocklist.h"
#include "engine/config.h"
#include "engine/engine.h"
#include "scan/scan.h"

#define BLOCKLIST_MAX 65536
#define SCAN_QUEUE_MAX 4096

int kp_content_shared_open(struct kp_content_shared *cs, const struct kp_config *cfg, FILE *log,
			   char *err, size_t errlen)
{
	memset(cs, 0, sizeof(*cs));
	cs->blocklist = kp_blocklist_new(BLOCKLIST_MAX);
	if (!cs->blocklist) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!cfg->scan)
		return 0;
	if (!kp_scan_available()) {
		snprintf(err, errlen,
			 "scan = yes, but this kp2padm was built without libclamav "
			 "(apt-get install libclamav-dev, then rebuild)");
		return -1;
	}
	if (cfg->scan_db[0]) {
		snprintf(cs->db, sizeof(cs->db), "%s", cfg->scan_db);
	} else {
		const char *d = kp_scan_default_db();

		if (!d) {
			snprintf(err, errlen,
				 "scan = yes: no signature database (set scan.db, or install "
				 "clamav-freshclam and run freshclam to fill /var/lib/clamav)");
			return -1;
		}
		snprintf(cs->db, sizeof(cs->db), "%s", d);
	}
	cs->test_db = strstr(cs->db, "kp2padm-test.ndb") != NULL;
	if (cs->test_db && log)
		fprintf(log,
			"kp2padm: warning: scanning with the project's TEST database %s: it detects "
			"the EICAR test file and nothing else (set scan.db to a ClamAV database)\n",
			cs->db);
	if (kp_scanner_open(&cs->scanner, cs->db, cfg->scan_threads, SCAN_QUEUE_MAX,
			    cfg->scan_cache, err, errlen)) {
		kp_blocklist_free(cs->blocklist);
		cs->blocklist = NULL;
		return -1;
	}
	return 0;
}

void kp_content_attach(struct kp_engine *e, struct kp_content_shared *cs)
{
	e->content.scanner = cs->scanner;
	e->content.blocklist = cs->blocklist;
}

void kp_content_shared_close(struct kp_content_shared *cs)
{
	if (cs->scanner)
		kp_scanner_close(cs->scanner);
	cs->scanner = NULL;
	kp_blocklist_free(cs->blocklist);
	cs->blocklist = NULL;
}
