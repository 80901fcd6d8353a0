/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * INTERIM ONLY (branch wt-httpftp): the content.h calls the http and ftp
 * modules make, as no-ops that say "files not wanted", so that the program
 * links before the content core lands in main. Delete this file (and its line
 * in meson.build) when merging the core, whose src/content files define them.
 */
#include "content/content.h"

#include "app/app.h"

bool kp_app_files_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return false;
}

struct kp_file *kp_app_file_open(struct kp_app_ctx *ctx, int dir, const char *name,
				 size_t name_len, uint64_t size, uint64_t offset)
{
	(void)ctx, (void)dir, (void)name, (void)name_len, (void)size, (void)offset;
	return NULL;
}

void kp_app_file_data(struct kp_app_ctx *ctx, struct kp_file *fi, const uint8_t *data,
		      size_t len)
{
	(void)ctx, (void)fi, (void)data, (void)len;
}

void kp_app_file_gap(struct kp_app_ctx *ctx, struct kp_file *fi, uint64_t len)
{
	(void)ctx, (void)fi, (void)len;
}

void kp_app_file_attr(struct kp_file *fi, const char *key, const char *val, size_t len)
{
	(void)fi, (void)key, (void)val, (void)len;
}

void kp_app_file_close(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_file_end how)
{
	(void)ctx, (void)fi, (void)how;
}

void kp_app_file_announce(struct kp_app_ctx *ctx, const char *name, size_t name_len,
			  uint64_t size)
{
	(void)ctx, (void)name, (void)name_len, (void)size;
}
