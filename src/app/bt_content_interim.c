/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * INTERIM ONLY: weak stand-ins for the content.h calls the BitTorrent module
 * makes, so that the tree links before the content core (src/content/)
 * lands. Files are never wanted here. Delete this file (and its meson line)
 * when the core is merged; its strong definitions win over these meanwhile.
 */
#include "content/content.h"

__attribute__((weak)) bool kp_app_files_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return false;
}

__attribute__((weak)) void kp_app_hash_seen(struct kp_app_ctx *ctx, enum kp_hash_kind kind,
					    const uint8_t *hash, size_t len)
{
	(void)ctx;
	(void)kind;
	(void)hash;
	(void)len;
}

__attribute__((weak)) void kp_app_piece(struct kp_app_ctx *ctx, int dir, enum kp_hash_kind kind,
					const uint8_t *hash, size_t hash_len, uint64_t index,
					uint64_t offset, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)dir;
	(void)kind;
	(void)hash;
	(void)hash_len;
	(void)index;
	(void)offset;
	(void)data;
	(void)len;
}

__attribute__((weak)) void kp_app_file_listed(struct kp_app_ctx *ctx, const char *what,
					      const char *name, size_t name_len, uint64_t size,
					      enum kp_hash_kind kind, const uint8_t *hash,
					      size_t hash_len)
{
	(void)ctx;
	(void)what;
	(void)name;
	(void)name_len;
	(void)size;
	(void)kind;
	(void)hash;
	(void)hash_len;
}
