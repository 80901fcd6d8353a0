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
void kp_app_refine(struct kp_app_ctx *ctx, unsigned app, unsigned c) { if (ctx->label) { ctx->label->app = (uint16_t)app; ctx->label->confidence = (uint8_t)c; } }
void kp_expect_add(struct kp_app_ctx *ctx, int f, const uint8_t *a, uint16_t p, uint8_t l4, unsigned app) { (void)ctx; (void)f; (void)a; (void)p; (void)l4; (void)app; }
void kp_peer_note(const struct kp_app_ctx *ctx, int f, const uint8_t *a, uint16_t p, unsigned app) { (void)ctx; (void)f; (void)a; (void)p; (void)app; }
bool kp_peer_seen(const struct kp_app_ctx *ctx, int f, const uint8_t *a, uint16_t p, unsigned app) { (void)ctx; (void)f; (void)a; (void)p; (void)app; return false; }
