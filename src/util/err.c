/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One-line error messages (see err.h). */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>

void kp_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
