/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The module table and label names, generated from module_list.def and app_list.def. */
#include "app/app.h"

#include <string.h>

const struct kp_app_module *const kp_modules[] = {
#define KP_MODULE(sym) &kp_mod_##sym,
#include "app/module_list.def"
#undef KP_MODULE
};

const unsigned kp_module_count = sizeof(kp_modules) / sizeof(kp_modules[0]);

static const char *const app_names[] = {
#define KP_APP(id, name, p2p) name,
#include "app/app_list.def"
#undef KP_APP
};

static const bool app_p2p[] = {
#define KP_APP(id, name, p2p) p2p,
#include "app/app_list.def"
#undef KP_APP
};

const char *kp_app_name(unsigned app)
{
	return app < KP_APP__COUNT ? app_names[app] : "unknown";
}

int kp_app_by_name(const char *name)
{
	for (unsigned i = 0; i < KP_APP__COUNT; i++)
		if (strcmp(app_names[i], name) == 0)
			return (int)i;
	return -1;
}

bool kp_app_is_p2p(unsigned app)
{
	return app < KP_APP__COUNT && app_p2p[app];
}
