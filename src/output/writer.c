/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shared JSON-lines writer (see writer.h). */
#include "output/writer.h"

#include <errno.h>
#include <string.h>

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
	return 0;
}

void kp_output_line(struct kp_output *o, const char *s, size_t len)
{
	pthread_mutex_lock(&o->lock);
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
	if (fflush(o->f))
		o->errors++;
	if (o->own && fclose(o->f))
		o->errors++;
	if (o->errors)
		rc = -1;
	o->f = NULL;
	pthread_mutex_destroy(&o->lock);
	return rc;
}

void kp_output_flush(struct kp_output *o)
{
	pthread_mutex_lock(&o->lock);
	if (fflush(o->f))
		o->errors++;
	pthread_mutex_unlock(&o->lock);
}
