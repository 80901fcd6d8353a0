/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test-only definitions of the content.h calls and of the app.h services
 * modules report through (chat, expectations, peer notes), recording what a
 * module reports (see content_fake.h). Linked into module tests instead of
 * the content core and the classifier.
 */
#include "content_fake.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

struct fake_ev fake_ev[FAKE_MAX];
unsigned fake_n, fake_lost;
bool fake_files_wanted = true;
bool fake_chat_wanted;
uint64_t fake_piece_bytes;
uint64_t fake_piece_fnv = FAKE_FNV0;
uint8_t *fake_image;
size_t fake_image_size;

struct kp_file {
	unsigned ev;
};
static struct kp_file handles[FAKE_MAX];

uint64_t fake_fnv(uint64_t h, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

void fake_reset(void)
{
	for (unsigned i = 0; i < fake_n; i++) {
		free(fake_ev[i].data);
		if (fake_ev[i].md)
			EVP_MD_CTX_free(fake_ev[i].md);
	}
	memset(fake_ev, 0, fake_n * sizeof(fake_ev[0]));
	fake_n = fake_lost = 0;
	fake_piece_bytes = 0;
	fake_piece_fnv = FAKE_FNV0;
}

struct fake_ev *fake_nth(enum fake_kind k, unsigned nth)
{
	for (unsigned i = 0; i < fake_n; i++)
		if (fake_ev[i].kind == k && nth-- == 0)
			return &fake_ev[i];
	return NULL;
}

unsigned fake_count(enum fake_kind k)
{
	unsigned c = 0;

	for (unsigned i = 0; i < fake_n; i++)
		c += fake_ev[i].kind == k;
	return c;
}

struct fake_ev *fake_file(unsigned nth)
{
	static struct fake_ev none;
	struct fake_ev *e = fake_nth(FK_OPEN, nth);

	return e ? e : memset(&none, 0, sizeof(none));
}

const char *fake_attr(const struct fake_ev *e, const char *key)
{
	for (int k = 0; k < e->nattrs; k++)
		if (!strcmp(e->attr_key[k], key))
			return e->attr_val[k];
	return NULL;
}

/* A new event, or NULL when the log is full. */
static struct fake_ev *rec(enum fake_kind k, const struct kp_app_ctx *ctx)
{
	struct fake_ev *e;

	if (fake_n == FAKE_MAX) {
		fake_lost++;
		return NULL;
	}
	e = &fake_ev[fake_n++];
	e->kind = k;
	e->dir = ctx ? (int)ctx->dir : -1;
	return e;
}

/* Copies s[0..n) (NUL added); memcpy reads every byte, so ASan checks n. */
static void copy_text(char *dst, size_t cap, const void *s, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

static void rec_name(struct fake_ev *e, const void *s, size_t n)
{
	e->name_len = n;
	copy_text(e->name, sizeof(e->name), s, n);
}

static void rec_hash(struct fake_ev *e, enum kp_hash_kind k, const uint8_t *h, size_t n)
{
	e->hkind = k;
	e->hash_len = n;
	if (h && n <= sizeof(e->hash))
		memcpy(e->hash, h, n);
}

/* ---- content/content.h ---------------------------------------------------- */

const char *kp_hash_kind_name(enum kp_hash_kind k)
{
	return k == KP_HASH_BT_INFOHASH ? "bittorrent.info_hash" : "other";
}

bool kp_app_files_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return fake_files_wanted;
}

struct kp_file *kp_app_file_open(struct kp_app_ctx *ctx, int dir, const char *name,
				 size_t name_len, uint64_t size, uint64_t offset)
{
	struct fake_ev *e = rec(FK_OPEN, ctx);

	if (!e)
		return NULL;
	rec_name(e, name, name_len);
	e->dir = dir;
	e->size = size;
	e->offset = offset;
	e->end = -1;
	if (!fake_files_wanted)
		return NULL;
	e->data_fnv = FAKE_FNV0;
	e->md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(e->md, EVP_sha256(), NULL);
	handles[fake_n - 1].ev = fake_n - 1;
	return &handles[fake_n - 1];
}

void kp_app_file_data(struct kp_app_ctx *ctx, struct kp_file *fi, const uint8_t *data, size_t len)
{
	struct fake_ev *e = &fake_ev[fi->ev];

	(void)ctx;
	if (e->end >= 0)
		e->data_after_close++;
	if (!e->data)
		e->data = malloc(FAKE_KEEP);
	if (e->bytes < FAKE_KEEP) {
		size_t k = FAKE_KEEP - e->bytes < len ? (size_t)(FAKE_KEEP - e->bytes) : len;

		memcpy(e->data + e->bytes, data, k);
	}
	if (e->md)
		EVP_DigestUpdate(e->md, data, len);
	e->data_fnv = fake_fnv(e->data_fnv, data, len); /* reads every byte (ASan) */
	e->bytes += len;
}

void kp_app_file_gap(struct kp_app_ctx *ctx, struct kp_file *fi, uint64_t len)
{
	(void)ctx, (void)len;
	fake_ev[fi->ev].gaps++;
}

void kp_app_file_attr(struct kp_file *fi, const char *key, const char *val, size_t len)
{
	struct fake_ev *e = &fake_ev[fi->ev];

	if (e->nattrs == FAKE_ATTRS)
		return;
	snprintf(e->attr_key[e->nattrs], sizeof(e->attr_key[0]), "%s", key);
	copy_text(e->attr_val[e->nattrs], sizeof(e->attr_val[0]), val, len);
	e->nattrs++;
}

void kp_app_file_hash(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_hash_kind kind,
		      const uint8_t *hash, size_t len)
{
	(void)ctx;
	rec_hash(&fake_ev[fi->ev], kind, hash, len);
}

void kp_app_file_close(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_file_end how)
{
	struct fake_ev *e = &fake_ev[fi->ev], *c;
	unsigned char md[32];
	unsigned int mdl = 0;

	e->end = (int)how;
	if (e->md) {
		EVP_DigestFinal_ex(e->md, md, &mdl);
		for (unsigned i = 0; i < 32; i++)
			snprintf(e->sha256 + 2 * i, 3, "%02x", md[i]);
	}
	c = rec(FK_CLOSE, ctx);
	if (c)
		c->end = (int)how;
}

void kp_app_file_announce(struct kp_app_ctx *ctx, const char *name, size_t name_len,
			  uint64_t size)
{
	struct fake_ev *e = rec(FK_ANNOUNCE, ctx);

	if (!e)
		return;
	rec_name(e, name, name_len);
	e->size = size;
}

void kp_app_file_withdraw(struct kp_app_ctx *ctx)
{
	rec(FK_WITHDRAW, ctx);
}

void kp_app_file_listed(struct kp_app_ctx *ctx, const char *what, const char *name,
			size_t name_len, uint64_t size, enum kp_hash_kind kind,
			const uint8_t *hash, size_t hash_len)
{
	struct fake_ev *e = rec(FK_LISTED, ctx);

	if (!e)
		return;
	snprintf(e->what, sizeof(e->what), "%s", what);
	rec_name(e, name, name_len);
	e->size = size;
	rec_hash(e, kind, hash, hash_len);
}

void kp_app_hash_seen(struct kp_app_ctx *ctx, enum kp_hash_kind kind, const uint8_t *hash,
		      size_t len)
{
	struct fake_ev *e = rec(FK_HASH_SEEN, ctx);

	if (e)
		rec_hash(e, kind, hash, len);
}

void kp_app_piece(struct kp_app_ctx *ctx, int dir, enum kp_hash_kind kind, const uint8_t *hash,
		  size_t hash_len, uint64_t index, uint64_t offset, const uint8_t *data,
		  size_t len)
{
	struct fake_ev *e = rec(FK_PIECE, ctx);

	fake_piece_fnv = fake_fnv(fake_piece_fnv, data, len); /* reads every byte (ASan) */
	fake_piece_bytes += len;
	if (fake_image && offset < fake_image_size && len <= fake_image_size - offset)
		memcpy(fake_image + offset, data, len);
	if (!e)
		return;
	e->dir = dir;
	rec_hash(e, kind, hash, hash_len);
	e->index = index;
	e->offset = offset;
	e->bytes = len;
	e->data_fnv = fake_fnv(FAKE_FNV0, data, len);
}

void kp_app_search(struct kp_app_ctx *ctx, const char *text, size_t len)
{
	struct fake_ev *e = rec(FK_SEARCH, ctx);

	if (e)
		rec_name(e, text, len);
}

/* ---- app/app.h services of the classifier --------------------------------- */

bool kp_app_chat_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return fake_chat_wanted;
}

void kp_app_chat(const struct kp_app_ctx *ctx, const char *command, const char *from,
		 const char *to, const uint8_t *text, size_t len)
{
	struct fake_ev *e;

	if (!fake_chat_wanted || !(e = rec(FK_CHAT, ctx)))
		return;
	snprintf(e->what, sizeof(e->what), "%s", command);
	snprintf(e->from, sizeof(e->from), "%s", from);
	snprintf(e->to, sizeof(e->to), "%s", to);
	rec_name(e, text, len);
}

void kp_app_refine(struct kp_app_ctx *ctx, unsigned app, unsigned confidence)
{
	if (ctx->label) {
		ctx->label->app = (uint16_t)app;
		ctx->label->confidence = (uint8_t)confidence;
	}
}

static void rec_peer(enum fake_kind k, const struct kp_app_ctx *ctx, int family,
		     const uint8_t *addr, uint16_t port)
{
	struct fake_ev *e = rec(k, ctx);

	if (!e)
		return;
	e->family = family;
	memcpy(e->addr, addr, family == 10 ? 16 : 4);
	e->port = port;
}

void kp_expect_add(struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		   uint8_t l4, unsigned app)
{
	(void)l4, (void)app;
	rec_peer(FK_EXPECT, ctx, family, addr, port);
}

void kp_peer_note(const struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		  unsigned app)
{
	(void)app;
	rec_peer(FK_PEER_NOTE, ctx, family, addr, port);
}

bool kp_peer_seen(const struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		  unsigned app)
{
	(void)ctx, (void)family, (void)addr, (void)port, (void)app;
	return false;
}
