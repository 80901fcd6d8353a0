/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the configuration reader (src/engine/config.c): each
 * input is written to a private temporary file and loaded over the defaults
 * with kp_config_load(). On success the strings of the config must be
 * NUL-terminated within their arrays; on failure the error message must be
 * a NUL-terminated string within the error buffer. `rule` and `policy.*`
 * lines go through the policy parser (src/policy/policy.c) on the way.
 */
#define _GNU_SOURCE
#include "engine/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void cleanup(void)
{
	if (path[0])
		unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_config c;
	char err[512];
	FILE *f;
	int rc;

	if (!path[0]) {
		int fd;

		snprintf(path, sizeof(path), "/tmp/kp-fuzz-config.XXXXXX");
		fd = mkstemp(path);
		if (fd < 0) {
			path[0] = '\0';
			return 0;
		}
		close(fd);
		atexit(cleanup);
	}
	f = fopen(path, "wb");
	if (!f)
		return 0;
	if (size && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return 0;
	}
	fclose(f);
	kp_config_defaults(&c);
	memset(err, 0x55, sizeof(err));
	rc = kp_config_load(&c, path, err, sizeof(err));
	if (rc == 0) {
		if (!memchr(c.sig_dir, 0, sizeof(c.sig_dir)) ||
		    !memchr(c.sig_engine, 0, sizeof(c.sig_engine)) ||
		    !memchr(c.events, 0, sizeof(c.events)) ||
		    !memchr(c.queues, 0, sizeof(c.queues)) ||
		    !memchr(c.interfaces, 0, sizeof(c.interfaces)))
			abort();
	} else if (rc == -1) {
		if (!memchr(err, 0, sizeof(err)))
			abort();
	} else {
		abort();
	}
	kp_config_free(&c); /* the policy that `rule` lines built, also after an error */
	return 0;
}
