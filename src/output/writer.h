/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one event writer: JSON lines appended to a file or standard output,
 * one whole line per call under a lock, so that several pipelines can share
 * it without interleaving. Write errors are counted and reported at close.
 *
 * Two modes:
 *  - synchronous (the default; offline runs): kp_output_line writes into the
 *    stdio stream under the lock;
 *  - threaded (kp_output_start_thread; the inline daemon): kp_output_line only
 *    appends the line to an in-memory queue under a short lock and wakes a
 *    writer thread, which does the disk I/O. A producer never waits for the
 *    disk or for the writer thread. The queue holds at most `budget` bytes;
 *    a line that does not fit is dropped and counted in `dropped` (with a
 *    warning on stderr at most every 10 s, and a total at close): that is the
 *    only case a line is lost. kp_output_flush and kp_output_close write
 *    every queued line; close stops and joins the thread.
 * In both modes lines stay whole, and the lines of one caller keep their order.
 */
#ifndef KP_OUTPUT_WRITER_H
#define KP_OUTPUT_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define KP_OUTPUT_BUDGET_DEFAULT (64u << 20) /* queued bytes, threaded mode */

struct kp_output_chunk;

struct kp_output {
	FILE *f;
	int own;                /* fclose at the end */
	pthread_mutex_t lock;
	uint64_t lines, bytes, errors;
	uint64_t dropped;       /* lines lost because the queue was over budget */
	char path[512];
	/* threaded mode (all under lock, except the writer's own I/O) */
	bool threaded;
	bool stop;              /* close: the writer drains and ends */
	pthread_t thread;
	pthread_cond_t wake;    /* producers -> writer: lines queued, flush, stop */
	pthread_cond_t done;    /* writer -> flush/close: a batch is written */
	struct kp_output_chunk *head, *tail; /* the queue, oldest first */
	size_t queued;          /* bytes queued or being written */
	size_t budget;
	uint64_t seq_in, seq_out; /* lines queued / lines written (or failed) */
	bool idle;              /* the writer waits on `wake` */
	uint64_t dropped_warned;
	int64_t warn_at_ms;     /* monotonic time of the last drop warning */
};

/* Opens path for appending ("-" = stdout; truncate when trunc != 0). */
int kp_output_open(struct kp_output *o, const char *path, int trunc, char *err, size_t errlen);
/*
 * Starts the writer thread (threaded mode, see above); budget 0 means
 * KP_OUTPUT_BUDGET_DEFAULT. Call it once, after open and before the producers
 * start. Returns 0, or -1 (the writer stays synchronous) if the thread cannot start.
 */
int kp_output_start_thread(struct kp_output *o, size_t budget);
/* Writes one line (a newline is added). */
void kp_output_line(struct kp_output *o, const char *s, size_t len);
/*
 * Pushes buffered lines to the file (the daemon calls it periodically).
 * Threaded: waits until every line queued before the call is written.
 */
void kp_output_flush(struct kp_output *o);
/*
 * Writes every queued line, stops the writer thread, flushes and closes;
 * reports dropped lines on stderr; returns 0 or -1 if any write failed.
 */
int kp_output_close(struct kp_output *o);

#endif
