/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one event writer: JSON lines appended to a file or standard output,
 * one whole line per call under a lock, so that several pipelines can share
 * it without interleaving. Write errors are counted and reported at close.
 */
#ifndef KP_OUTPUT_WRITER_H
#define KP_OUTPUT_WRITER_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

struct kp_output {
	FILE *f;
	int own;                /* fclose at the end */
	pthread_mutex_t lock;
	uint64_t lines, bytes, errors;
	char path[512];
};

/* Opens path for appending ("-" = stdout; truncate when trunc != 0). */
int kp_output_open(struct kp_output *o, const char *path, int trunc, char *err, size_t errlen);
/* Writes one line (a newline is added). */
void kp_output_line(struct kp_output *o, const char *s, size_t len);
/* Pushes buffered lines to the file (the daemon calls it periodically). */
void kp_output_flush(struct kp_output *o);
/* Flushes and closes; returns 0 or -1 if any write failed. */
int kp_output_close(struct kp_output *o);

#endif
