/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shared JSON-lines writer (see writer.h). */
#include "output/writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK_SIZE (64u << 10) /* queue allocation unit (a longer line gets its own) */
#define WARN_EVERY_MS 10000

/* A piece of the queue: whole lines, each with its newline. */
struct kp_output_chunk {
	struct kp_output_chunk *next;
	size_t len, cap;
	uint64_t nlines;
	char data[];
};

int kp_output_open(struct kp_output *o, const char *path, int trunc, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->path, sizeof(o->path), "%s", path);
	if (!strcmp(path, "-")) {
		o->f = stdout;
	} else {
		o->f = fopen(path, trunc ? "w" : "a");
		if (!o->f) {
			snprintf(err, errlen, "cannot open events file %s: %s", path,
				 strerror(errno));
			return -1;
		}
		o->own = 1;
	}
	pthread_mutex_init(&o->lock, NULL);
	pthread_cond_init(&o->wake, NULL);
	pthread_cond_init(&o->done, NULL);
	return 0;
}

/* The writer thread: takes the whole queue under the lock, writes it without. */
static void *writer_main(void *arg)
{
	struct kp_output *o = arg;

	pthread_mutex_lock(&o->lock);
	for (;;) {
		struct kp_output_chunk *c, *next;
		uint64_t n = 0, errs = 0;
		size_t bytes = 0;

		while (!o->head && !o->stop) {
			o->idle = true;
			pthread_cond_wait(&o->wake, &o->lock);
			o->idle = false;
		}
		if (!o->head)
			break; /* stop, and nothing left */
		c = o->head;
		o->head = o->tail = NULL;
		pthread_mutex_unlock(&o->lock);

		for (; c; c = next) {
			next = c->next;
			if (fwrite(c->data, 1, c->len, o->f) != c->len)
				errs++;
			n += c->nlines;
			bytes += c->len;
			free(c);
		}
		if (fflush(o->f))
			errs++;

		pthread_mutex_lock(&o->lock);
		o->errors += errs;
		o->queued -= bytes;
		o->seq_out += n;
		pthread_cond_broadcast(&o->done);
	}
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

int kp_output_start_thread(struct kp_output *o, size_t budget)
{
	int rc;

	if (!o->f || o->threaded)
		return -1;
	o->budget = budget ? budget : KP_OUTPUT_BUDGET_DEFAULT;
	pthread_mutex_lock(&o->lock);
	fflush(o->f); /* lines written synchronously so far go first */
	o->threaded = true;
	rc = pthread_create(&o->thread, NULL, writer_main, o);
	if (rc)
		o->threaded = false;
	pthread_mutex_unlock(&o->lock);
	return rc ? -1 : 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Threaded mode: appends the line to the queue; never waits for I/O. Called locked. */
static bool enqueue(struct kp_output *o, const char *s, size_t len)
{
	struct kp_output_chunk *c = o->tail;
	size_t need = len + 1;

	if (o->queued + need > o->budget || o->queued + need < need)
		return false;
	if (!c || c->cap - c->len < need) {
		size_t cap = need > CHUNK_SIZE ? need : CHUNK_SIZE;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return false;
		c->next = NULL;
		c->len = 0;
		c->cap = cap;
		c->nlines = 0;
		if (o->tail)
			o->tail->next = c;
		else
			o->head = c;
		o->tail = c;
	}
	memcpy(c->data + c->len, s, len);
	c->data[c->len + len] = '\n';
	c->len += need;
	c->nlines++;
	o->queued += need;
	o->seq_in++;
	return true;
}

void kp_output_line(struct kp_output *o, const char *s, size_t len)
{
	uint64_t warn = 0;
	size_t budget = 0;

	pthread_mutex_lock(&o->lock);
	if (o->threaded) {
		if (enqueue(o, s, len)) {
			o->lines++;
			o->bytes += len + 1;
			if (o->idle)
				pthread_cond_signal(&o->wake);
		} else {
			int64_t now = mono_ms();

			o->dropped++;
			if (!o->dropped_warned || now - o->warn_at_ms >= WARN_EVERY_MS) {
				o->warn_at_ms = now;
				o->dropped_warned = o->dropped;
				warn = o->dropped;
				budget = o->budget;
			}
		}
		pthread_mutex_unlock(&o->lock);
		/* outside the lock: stderr may be slow too */
		if (warn)
			fprintf(stderr,
				"kp2padm: events to %s: the writer is behind (queue of %zu bytes "
				"full): %llu lines dropped so far\n",
				o->path, budget, (unsigned long long)warn);
		return;
	}
	if (fwrite(s, 1, len, o->f) != len || fputc('\n', o->f) == EOF)
		o->errors++;
	o->lines++;
	o->bytes += len + 1;
	pthread_mutex_unlock(&o->lock);
}

int kp_output_close(struct kp_output *o)
{
	int rc = 0;

	if (!o->f)
		return 0;
	if (o->threaded) {
		pthread_mutex_lock(&o->lock);
		o->stop = true;
		pthread_cond_signal(&o->wake);
		pthread_mutex_unlock(&o->lock);
		pthread_join(o->thread, NULL); /* the writer drains the queue first */
		o->threaded = false;
		if (o->dropped)
			fprintf(stderr,
				"kp2padm: events to %s: %llu lines dropped (the writer queue was "
				"over its %zu bytes)\n",
				o->path, (unsigned long long)o->dropped, o->budget);
	}
	if (fflush(o->f))
		o->errors++;
	if (o->own && fclose(o->f))
		o->errors++;
	if (o->errors)
		rc = -1;
	o->f = NULL;
	pthread_cond_destroy(&o->wake);
	pthread_cond_destroy(&o->done);
	pthread_mutex_destroy(&o->lock);
	return rc;
}

void kp_output_flush(struct kp_output *o)
{
	pthread_mutex_lock(&o->lock);
	if (o->threaded) {
		uint64_t target = o->seq_in;

		/* the writer flushes the stream after every batch */
		if (o->idle && o->head)
			pthread_cond_signal(&o->wake);
		while (o->seq_out < target)
			pthread_cond_wait(&o->done, &o->lock);
	} else if (fflush(o->f)) {
		o->errors++;
	}
	pthread_mutex_unlock(&o->lock);
}
