/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Heap zlib inflate streams of the modules (see zstream.h).
 */
#include "app/zstream.h"

#include <stdlib.h>

z_stream *kp_zstream_new(int wbits)
{
	z_stream *z = calloc(1, sizeof(*z));

	if (z && inflateInit2(z, wbits) != Z_OK) {
		free(z);
		z = NULL;
	}
	return z;
}

void kp_zstream_free(z_stream **z)
{
	if (*z) {
		inflateEnd(*z);
		free(*z);
		*z = NULL;
	}
}
