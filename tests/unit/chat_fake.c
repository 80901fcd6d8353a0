/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test-only recording fake (see chat_fake.h): defines the module services
 * that the classifier and the content core define in the real program, so
 * that test_app_chat links the chat modules alone and records their calls.
 */
#include "chat_fake.h"

#include "app/app.h"
#include "content/content.h"

#include <stdio.h>
#include <string.h>

struct fake_call fake_calls[FAKE_CALLS];
unsigned fake_ncalls, fake_lost;
bool fake_chat_on, fake_files_on;

void fake_reset(bool chat, bool files)
{
	memset(fake_calls, 0, sizeof(fake_calls));
	fake_ncalls = fake_lost = 0;
	fake_chat_on = chat;
	fake_files_on = files;
}

const struct fake_call *fake_nth(const char *kind, unsigned i)
{
	for (unsigned k = 0; k < fake_ncalls; k++)
		if (strcmp(fake_calls[k].kind, kind) == 0 && i-- == 0)
			return &fake_calls[k];
	return NULL;
}

unsigned fake_count(const char *kind)
{
	unsigned n = 0;

	for (unsigned k = 0; k < fake_ncalls; k++)
		n += strcmp(fake_calls[k].kind, kind) == 0;
	return n;
}

static struct fake_call *rec(const char *kind, const struct kp_app_ctx *ctx)
{
	struct fake_call *c;

	if (fake_ncalls == FAKE_CALLS) {
		fake_lost++;
		return NULL;
	}
	c = &fake_calls[fake_ncalls++];
	snprintf(c->kind, sizeof(c->kind), "%s", kind);
	c->dir = ctx ? ctx->dir : -1;
	return c;
}

static void rec_text(struct fake_call *c, const void *s, size_t len)
{
	c->len = len;
	memcpy(c->text, s, len < FAKE_TEXT ? len : FAKE_TEXT);
}

/* app/app.h services */
const char *kp_app_name(unsigned app)
{
	(void)app;
	return "fake";
}

bool kp_app_chat_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return fake_chat_on;
}

void kp_app_chat(const struct kp_app_ctx *ctx, const char *command, const char *from,
		 const char *to, const uint8_t *text, size_t len)
{
	struct fake_call *c;

	if (!fake_chat_on || !(c = rec("chat", ctx)))
		return;
	snprintf(c->what, sizeof(c->what), "%s", command);
	snprintf(c->from, sizeof(c->from), "%s", from);
	snprintf(c->to, sizeof(c->to), "%s", to);
	rec_text(c, text, len);
}

void kp_app_refine(struct kp_app_ctx *ctx, unsigned app, unsigned confidence)
{
	if (ctx->label) {
		ctx->label->app = (uint16_t)app;
		ctx->label->confidence = (uint8_t)confidence;
	}
}

void kp_expect_add(struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		   uint8_t l4, unsigned app)
{
	struct fake_call *c = rec("expect", ctx);

	(void)l4, (void)app;
	if (!c)
		return;
	c->family = family;
	memcpy(c->addr, addr, family == 10 ? 16 : 4);
	c->size = port;
}

void kp_peer_note(const struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		  unsigned app)
{
	(void)ctx, (void)family, (void)addr, (void)port, (void)app;
}

bool kp_peer_seen(const struct kp_app_ctx *ctx, int family, const uint8_t *addr, uint16_t port,
		  unsigned app)
{
	(void)ctx, (void)family, (void)addr, (void)port, (void)app;
	return false;
}

/* content/content.h */
const char *kp_hash_kind_name(enum kp_hash_kind k)
{
	(void)k;
	return "fake";
}

bool kp_app_files_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return fake_files_on;
}

struct kp_file *kp_app_file_open(struct kp_app_ctx *ctx, int dir, const char *name,
				 size_t name_len, uint64_t size, uint64_t offset)
{
	struct fake_call *c = rec("file_open", ctx);

	(void)dir, (void)offset;
	if (c) {
		rec_text(c, name, name_len);
		c->size = size;
	}
	return NULL;
}

void kp_app_file_data(struct kp_app_ctx *ctx, struct kp_file *fi, const uint8_t *data, size_t len)
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

void kp_app_file_hash(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_hash_kind kind,
		      const uint8_t *hash, size_t len)
{
	(void)ctx, (void)fi, (void)kind, (void)hash, (void)len;
}

void kp_app_file_close(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_file_end how)
{
	(void)ctx, (void)fi, (void)how;
}

void kp_app_file_announce(struct kp_app_ctx *ctx, const char *name, size_t name_len,
			  uint64_t size)
{
	struct fake_call *c = rec("announce", ctx);

	if (c) {
		rec_text(c, name, name_len);
		c->size = size;
	}
}

void kp_app_file_listed(struct kp_app_ctx *ctx, const char *what, const char *name,
			size_t name_len, uint64_t size, enum kp_hash_kind kind,
			const uint8_t *hash, size_t hash_len)
{
	struct fake_call *c = rec("listed", ctx);

	(void)kind, (void)hash, (void)hash_len;
	if (c) {
		snprintf(c->what, sizeof(c->what), "%s", what);
		rec_text(c, name, name_len);
		c->size = size;
	}
}

void kp_app_hash_seen(struct kp_app_ctx *ctx, enum kp_hash_kind kind, const uint8_t *hash,
		      size_t len)
{
	(void)ctx, (void)kind, (void)hash, (void)len;
}

void kp_app_piece(struct kp_app_ctx *ctx, int dir, enum kp_hash_kind kind, const uint8_t *hash,
		  size_t hash_len, uint64_t index, uint64_t offset, const uint8_t *data, size_t len)
{
	(void)ctx, (void)dir, (void)kind, (void)hash, (void)hash_len, (void)index, (void)offset,
		(void)data, (void)len;
}

void kp_app_search(struct kp_app_ctx *ctx, const char *text, size_t len)
{
	(void)ctx, (void)text, (void)len;
}
