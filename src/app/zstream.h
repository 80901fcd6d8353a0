/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The heap zlib inflate streams modules keep per direction (HTTP bodies,
 * Gnutella deflated links, DirectConnect ZL1 bodies, eMule packed parts):
 * made and ended in one place.
 */
#ifndef KP_APP_ZSTREAM_H
#define KP_APP_ZSTREAM_H

#include <zlib.h>

/* A stream ready to inflate (wbits as inflateInit2: MAX_WBITS zlib, -MAX_WBITS raw deflate,
 * 16 + MAX_WBITS gzip), or NULL when memory is short or zlib refuses. */
z_stream *kp_zstream_new(int wbits);
/* Ends and frees *z (NULL is fine) and sets it NULL. */
void kp_zstream_free(z_stream **z);

#endif
