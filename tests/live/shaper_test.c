/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Driver of tests/live/shaper-live.sh around src/kern/shaper.h, run inside the
 * gateway namespace:
 *   shaper_test mark                   print the packet mark of HTTP ((app + 1) << 16)
 *   shaper_test once RATE IF...        install an HTTP class of RATE bit/s and exit
 *                                      without removing (a killed daemon's leftover)
 *   shaper_test cleanup IF...          kp_shaper_cleanup, print "removed N"
 *   shaper_test serve RATE IF...       install, print "ready", then read commands from
 *                                      stdin: "stats IF" (one line per class, then
 *                                      "end"), "remove" (kp_shaper_remove, "removed");
 *                                      end of input removes too
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HAVE_BPF
int main(void)
{
	printf("skip: built without eBPF support\n");
	return 77;
}
#else

#include "app/app.h"
#include "kern/shaper.h"

static int install(struct kp_shaper **s, const char *rate, int n, char **ifs)
{
	struct kp_shaper_class cl = { .app = KP_APP_HTTP, .rate_bps = strtoull(rate, NULL, 0) };
	struct kp_shaper_config c = {
		.ifaces = (const char *const *)ifs, .n_ifaces = (unsigned)n,
		.mark_mask = 0x00ff0000, .classes = &cl, .n_classes = 1,
	};
	char err[256];
	int rc = kp_shaper_install(s, &c, err, sizeof(err));

	if (rc)
		fprintf(stderr, "install: %s\n", err);
	return rc;
}

static void stats(struct kp_shaper *s, const char *iface)
{
	struct kp_shaper_class_stats st[64];
	int n = kp_shaper_stats(s, iface, st, 64);

	if (n < 0)
		printf("error %d\n", n);
	for (int i = 0; i < n; i++)
		printf("app=%u classid=%08x bytes=%" PRIu64 " packets=%" PRIu64 " drops=%" PRIu64
		       " overlimits=%" PRIu64 "\n", st[i].app, st[i].classid, st[i].bytes,
		       st[i].packets, st[i].drops, st[i].overlimits);
	printf("end\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct kp_shaper *s = NULL;
	char line[256], err[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "mark")) {
		printf("0x%x\n", (unsigned)(KP_APP_HTTP + 1) << 16);
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "cleanup")) {
		int rc = kp_shaper_cleanup((const char *const *)argv + 2, (unsigned)argc - 2, err,
					   sizeof(err));

		if (rc < 0) {
			fprintf(stderr, "cleanup: %s\n", err);
			return 1;
		}
		printf("removed %d\n", rc);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "once")) {
		/* like a killed daemon: the tree stays in the kernel, nothing is freed or
		 * checked at exit (_exit skips the leak checker's exit handler too) */
		fflush(NULL);
		_exit(install(&s, argv[2], argc - 3, argv + 3) ? 1 : 0);
	}
	if (argc < 4 || strcmp(argv[1], "serve")) {
		fprintf(stderr, "usage: see the comment at the top of shaper_test.c\n");
		return 2;
	}
	if (install(&s, argv[2], argc - 3, argv + 3))
		return 1;
	printf("ready\n");
	for (int i = 0; i < 1000 && fgets(line, sizeof(line), stdin); i++) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "stats ", 6)) {
			stats(s, line + 6);
		} else if (!strcmp(line, "remove")) {
			kp_shaper_remove(s);
			s = NULL;
			printf("removed\n");
		}
	}
	kp_shaper_remove(s);
	return 0;
}
#endif
