/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * INTERIM ONLY: lets module authors compile a module and its unit test before the
 * engine exists. Remove once the meson build links tests against libkp2padm.
 */
#include "app/app.h"

#include <string.h>

static const char *const names[] = {
#define KP_APP(id, name, p2p) name,
#include "app/app_list.def"
#undef KP_APP
};
static const bool p2p[] = {
#define KP_APP(id, name, p) p,
#include "app/app_list.def"
#undef KP_APP
};
const char *kp_app_name(unsigned app) { return app < KP_APP__COUNT ? names[app] : "unknown"; }
int kp_app_by_name(const char *n) { for (unsigned i = 0; i < KP_APP__COUNT; i++) if (!strcmp(names[i], n)) return (int)i; return -1; }
bool kp_app_is_p2p(unsigned app) { return app < KP_APP__COUNT && p2p[app]; }
