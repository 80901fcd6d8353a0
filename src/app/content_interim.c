/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * INTERIM ONLY (branch wt-chat): weak no-op definitions of the content API
 * (content/content.h) so that the modules calling it link before the lead's
 * content core lands. Every definition is weak: the core's real ones replace
 * them. Delete this file (and its meson line) when merging the core.
 */
#include "content/content.h"

#include "app/app.h"

__attribute__((weak)) const char *kp_hash_kind_name(enum kp_hash_kind k)
{
	(void)k;
	return "none";
}

__attribute__((weak)) bool kp_app_files_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return false;
}

__attribute__((weak)) struct kp_file *kp_app_file_open(struct kp_app_ctx *ctx, int dir,
						       const char *name, size_t name_len,
						       uint64_t size, uint64_t offset)
{
	(void)ctx, (void)dir, (void)name, (void)name_len, (void)size, (void)offset;
	return NULL;
}

__attribute__((weak)) void kp_app_file_data(struct kp_app_ctx *ctx, struct kp_file *fi,
					    const uint8_t *data, size_t len)
{
	(void)ctx, (void)fi, (void)data, (void)len;
}

__attribute__((weak)) void kp_app_file_gap(struct kp_app_ctx *ctx, struct kp_file *fi,
					   uint64_t len)
{
	(void)ctx, (void)fi, (void)len;
}

__attribute__((weak)) void kp_app_file_attr(struct kp_file *fi, const char *key, const char *val,
					    size_t len)
{
	(void)fi, (void)key, (void)val, (void)len;
}

__attribute__((weak)) void kp_app_file_hash(struct kp_app_ctx *ctx, struct kp_file *fi,
					    enum kp_hash_kind kind, const uint8_t *hash, size_t len)
{
	(void)ctx, (void)fi, (void)kind, (void)hash, (void)len;
}

__attribute__((weak)) void kp_app_file_close(struct kp_app_ctx *ctx, struct kp_file *fi,
					     enum kp_file_end how)
{
	(void)ctx, (void)fi, (void)how;
}

__attribute__((weak)) void kp_app_file_announce(struct kp_app_ctx *ctx, const char *name,
						size_t name_len, uint64_t size)
{
	(void)ctx, (void)name, (void)name_len, (void)size;
}

__attribute__((weak)) void kp_app_file_listed(struct kp_app_ctx *ctx, const char *what,
					      const char *name, size_t name_len, uint64_t size,
					      enum kp_hash_kind kind, const uint8_t *hash,
					      size_t hash_len)
{
	(void)ctx, (void)what, (void)name, (void)name_len, (void)size, (void)kind, (void)hash,
		(void)hash_len;
}

__attribute__((weak)) void kp_app_hash_seen(struct kp_app_ctx *ctx, enum kp_hash_kind kind,
					    const uint8_t *hash, size_t len)
{
	(void)ctx, (void)kind, (void)hash, (void)len;
}

__attribute__((weak)) void kp_app_piece(struct kp_app_ctx *ctx, int dir, enum kp_hash_kind kind,
					const uint8_t *hash, size_t hash_len, uint64_t index,
					uint64_t offset, const uint8_t *data, size_t len)
{
	(void)ctx, (void)dir, (void)kind, (void)hash, (void)hash_len, (void)index, (void)offset,
		(void)data, (void)len;
}

__attribute__((weak)) void kp_app_search(struct kp_app_ctx *ctx, const char *text, size_t len)
{
	(void)ctx, (void)text, (void)len;
}
