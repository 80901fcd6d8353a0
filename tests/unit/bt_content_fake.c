/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recording fake of content.h (see bt_content_fake.h). Test-only: never
 * linked into kp2padm.
 */
#include <string.h>

#include "bt_content_fake.h"

struct cf_state cf;

void cf_reset(void)
{
	cf.n = 0;
	cf.dropped = 0;
}

unsigned cf_count(enum cf_kind k)
{
	unsigned c = 0;

	for (unsigned i = 0; i < cf.n; i++)
		c += cf.calls[i].kind == k;
	return c;
}

uint32_t cf_fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static struct cf_call *cf_new(enum cf_kind k)
{
	struct cf_call *c;

	if (cf.n >= CF_MAX_CALLS) {
		cf.dropped++;
		return NULL;
	}
	c = &cf.calls[cf.n++];
	memset(c, 0, sizeof(*c));
	c->kind = k;
	return c;
}

static void cf_hash(struct cf_call *c, enum kp_hash_kind kind, const uint8_t *h, size_t n)
{
	c->hkind = kind;
	c->hash_len = n;
	if (h && n <= sizeof(c->hash))
		memcpy(c->hash, h, n);
}

const char *kp_hash_kind_name(enum kp_hash_kind k)
{
	return k == KP_HASH_BT_INFOHASH ? "bittorrent.info_hash" : "other";
}

bool kp_app_files_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return cf.files_wanted;
}

struct kp_file *kp_app_file_open(struct kp_app_ctx *ctx, int dir, const char *name,
				 size_t name_len, uint64_t size, uint64_t offset)
{
	(void)ctx, (void)dir, (void)name, (void)name_len, (void)size, (void)offset;
	cf_new(CF_OTHER);
	return NULL;
}

void kp_app_file_data(struct kp_app_ctx *ctx, struct kp_file *fi, const uint8_t *data, size_t len)
{
	(void)ctx, (void)fi, (void)data, (void)len;
	cf_new(CF_OTHER);
}

void kp_app_file_gap(struct kp_app_ctx *ctx, struct kp_file *fi, uint64_t len)
{
	(void)ctx, (void)fi, (void)len;
	cf_new(CF_OTHER);
}

void kp_app_file_attr(struct kp_file *fi, const char *key, const char *val, size_t len)
{
	(void)fi, (void)key, (void)val, (void)len;
	cf_new(CF_OTHER);
}

void kp_app_file_hash(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_hash_kind kind,
		      const uint8_t *hash, size_t len)
{
	(void)ctx, (void)fi, (void)kind, (void)hash, (void)len;
	cf_new(CF_OTHER);
}

void kp_app_file_close(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_file_end how)
{
	(void)ctx, (void)fi, (void)how;
	cf_new(CF_OTHER);
}

void kp_app_file_announce(struct kp_app_ctx *ctx, const char *name, size_t name_len,
			  uint64_t size)
{
	(void)ctx, (void)name, (void)name_len, (void)size;
	cf_new(CF_OTHER);
}

void kp_app_file_listed(struct kp_app_ctx *ctx, const char *what, const char *name,
			size_t name_len, uint64_t size, enum kp_hash_kind kind,
			const uint8_t *hash, size_t hash_len)
{
	struct cf_call *c = cf_new(CF_LISTED);

	(void)ctx;
	if (!c)
		return;
	strncpy(c->what, what, sizeof(c->what) - 1);
	c->name_len = name_len;
	memcpy(c->name, name, name_len < CF_NAME_MAX - 1 ? name_len : CF_NAME_MAX - 1);
	c->size = size;
	cf_hash(c, kind, hash, hash_len);
}

void kp_app_hash_seen(struct kp_app_ctx *ctx, enum kp_hash_kind kind, const uint8_t *hash,
		      size_t len)
{
	struct cf_call *c = cf_new(CF_HASH_SEEN);

	(void)ctx;
	if (c)
		cf_hash(c, kind, hash, len);
}

void kp_app_piece(struct kp_app_ctx *ctx, int dir, enum kp_hash_kind kind, const uint8_t *hash,
		  size_t hash_len, uint64_t index, uint64_t offset, const uint8_t *data,
		  size_t len)
{
	struct cf_call *c = cf_new(CF_PIECE);

	(void)ctx;
	if (cf.image && offset < cf.image_size && len <= cf.image_size - offset)
		memcpy(cf.image + offset, data, len);
	if (!c)
		return;
	c->dir = dir;
	cf_hash(c, kind, hash, hash_len);
	c->index = index;
	c->offset = offset;
	c->len = len;
	c->data_fnv = cf_fnv(data, len);
}

void kp_app_search(struct kp_app_ctx *ctx, const char *text, size_t len)
{
	(void)ctx, (void)text, (void)len;
	cf_new(CF_OTHER);
}
