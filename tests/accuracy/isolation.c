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
#include <stdio.h>
#include <stdlib.h>

#include "capture_util.h"

int main(int argc, char **argv)
{
	struct kp_config cfg;
	int fails = 0, flows = 0, linked = 0;

	kp_config_defaults(&cfg);
	for (int a = 1; a < argc; a++) {
		struct capture c;
		struct labels whole = {0};

		if (capture_load(argv[a], &c))
			return 2;
		capture_classify(&cfg, &c, NULL, &whole);
		for (size_t i = 0; i < whole.n; i++) {
			struct labels alone = {0};
			const struct label *w = &whole.l[i];
			uint16_t got;

			flows++;
			if (w->parent) {
				linked++;
				continue;
			}
			capture_classify(&cfg, &c, &w->key, &alone);
			got = alone.n ? alone.l[0].app : 0;
			if (got != w->app) {
				fails++;
				printf("%s: flow %u/%u: whole capture says %s, alone %s\n", argv[a],
				       w->key.port[0], w->key.port[1], kp_app_name(w->app),
				       kp_app_name(got));
			}
			free(alone.l);
		}
		free(whole.l);
		capture_free(&c);
	}
	printf("isolation: %d flows, %d linked by design (expectations), %d differ\n", flows,
	       linked, fails);
	printf("%d passed, %d failed\n", flows - linked - fails, fails);
	return fails ? 1 : 0;
}
