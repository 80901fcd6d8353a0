/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One-line error messages into a caller's buffer (err may be NULL or errlen 0). */
#ifndef KP_UTIL_ERR_H
#define KP_UTIL_ERR_H

#include <stddef.h>

void kp_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
