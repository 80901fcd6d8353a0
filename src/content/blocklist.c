/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The run-time block list of object ids (see blocklist.h): a small ring searched linearly. */
#include "content/blocklist.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct entry {
	uint8_t len;
	uint8_t b[24];
	char why[96];
};

struct kp_blocklist {
	pthread_mutex_t mu;
	struct entry *e;
	unsigned n, max, next;
};

struct kp_blocklist *kp_blocklist_new(unsigned max)
{
	struct kp_blocklist *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->max = max ? max : 1;
	b->e = calloc(b->max, sizeof(*b->e));
	if (!b->e) {
		free(b);
		return NULL;
	}
	pthread_mutex_init(&b->mu, NULL);
	return b;
}

void kp_blocklist_free(struct kp_blocklist *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->mu);
	free(b->e);
	free(b);
}

static int find(const struct kp_blocklist *b, const uint8_t *h, size_t len)
{
	for (unsigned i = 0; i < b->n; i++)
		if (b->e[i].len == len && !memcmp(b->e[i].b, h, len))
			return (int)i;
	return -1;
}

bool kp_blocklist_add(struct kp_blocklist *b, const uint8_t *hash, size_t len, const char *why)
{
	struct entry *e;

	if (!b || !len || len > sizeof(e->b))
		return false;
	pthread_mutex_lock(&b->mu);
	if (find(b, hash, len) >= 0) {
		pthread_mutex_unlock(&b->mu);
		return false;
	}
	if (b->n < b->max) {
		e = &b->e[b->n++];
	} else {
		e = &b->e[b->next];
		b->next = (b->next + 1) % b->max;
	}
	e->len = (uint8_t)len;
	memcpy(e->b, hash, len);
	snprintf(e->why, sizeof(e->why), "%s", why ? why : "");
	pthread_mutex_unlock(&b->mu);
	return true;
}

bool kp_blocklist_has(struct kp_blocklist *b, const uint8_t *hash, size_t len, char *why,
		      size_t whylen)
{
	int i;

	if (!b || !len)
		return false;
	pthread_mutex_lock(&b->mu);
	if (!b->n) {
		pthread_mutex_unlock(&b->mu);
		return false;
	}
	i = find(b, hash, len);
	if (i >= 0 && why)
		snprintf(why, whylen, "%s", b->e[i].why);
	pthread_mutex_unlock(&b->mu);
	return i >= 0;
}

unsigned kp_blocklist_count(struct kp_blocklist *b)
{
	unsigned n;

	if (!b)
		return 0;
	pthread_mutex_lock(&b->mu);
	n = b->n;
	pthread_mutex_unlock(&b->mu);
	return n;
}
