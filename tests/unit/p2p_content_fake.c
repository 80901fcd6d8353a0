/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test-only recording fake of src/content/content.h: included by a unit test
 * (one translation unit), it defines every content call and records them in
 * fake_ev[] so a test can check exact names, sizes, hashes, offsets and byte
 * totals. fake_files_wanted switches kp_app_files_wanted().
 */
#include <stdlib.h>
#include <string.h>

#include "content/content.h"

enum fake_kind {
	FK_OPEN = 1,
	FK_CLOSE,
	FK_LISTED,
	FK_HASH_SEEN,
	FK_PIECE,
	FK_SEARCH,
	FK_FHASH,
	FK_ANNOUNCE
};

struct fake_ev {
	enum fake_kind kind;
	char what[24];
	char name[256];
	size_t name_len;
	uint64_t size, offset, index;
	int dir;
	enum kp_hash_kind hkind;
	uint8_t hash[32];
	size_t hash_len;
	uint64_t bytes; /* FK_OPEN: body bytes received until close; FK_PIECE: len */
	int end;	/* FK_OPEN: -1 open, else enum kp_file_end */
};

#define FAKE_MAX 256
static struct fake_ev fake_ev[FAKE_MAX];
static unsigned fake_n;
static bool fake_files_wanted = true;
static uint64_t fake_piece_bytes;
static uint64_t fake_piece_fnv = 0xcbf29ce484222325ull; /* FNV-1a of all piece bytes, in order */

static uint64_t fake_fnv(uint64_t h, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

struct kp_file {
	unsigned ev;
};
static struct kp_file fake_fi[FAKE_MAX];

static void fake_reset(void)
{
	memset(fake_ev, 0, sizeof(fake_ev));
	fake_n = 0;
	fake_piece_bytes = 0;
	fake_piece_fnv = 0xcbf29ce484222325ull;
	fake_files_wanted = true;
}

static struct fake_ev *fake_add(enum fake_kind k)
{
	static struct fake_ev sink;

	if (fake_n >= FAKE_MAX)
		return memset(&sink, 0, sizeof(sink));
	fake_ev[fake_n].kind = k;
	return &fake_ev[fake_n++];
}

static void fake_name(struct fake_ev *e, const char *s, size_t n)
{
	e->name_len = n;
	if (n >= sizeof(e->name))
		n = sizeof(e->name) - 1;
	if (n)
		memcpy(e->name, s, n); /* ASan checks the module passed n readable bytes */
	e->name[n] = 0;
}

static void fake_hash(struct fake_ev *e, enum kp_hash_kind k, const uint8_t *h, size_t n)
{
	e->hkind = k;
	e->hash_len = n;
	if (h && n <= sizeof(e->hash))
		memcpy(e->hash, h, n);
}

/* Index of the nth (0-based) event of kind k, or -1. */
static int fake_find(enum fake_kind k, unsigned nth)
{
	for (unsigned i = 0; i < fake_n; i++)
		if (fake_ev[i].kind == k && nth-- == 0)
			return (int)i;
	return -1;
}

static unsigned fake_count(enum fake_kind k)
{
	unsigned c = 0;

	for (unsigned i = 0; i < fake_n; i++)
		c += fake_ev[i].kind == k;
	return c;
}

const char *kp_hash_kind_name(enum kp_hash_kind k)
{
	(void)k;
	return "fake";
}
bool kp_app_files_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return fake_files_wanted;
}
struct kp_file *kp_app_file_open(struct kp_app_ctx *ctx, int dir, const char *name, size_t name_len,
				 uint64_t size, uint64_t offset)
{
	struct fake_ev *e;

	(void)ctx;
	if (!fake_files_wanted || fake_n >= FAKE_MAX)
		return NULL;
	e = fake_add(FK_OPEN);
	fake_name(e, name, name_len);
	e->dir = dir;
	e->size = size;
	e->offset = offset;
	e->end = -1;
	fake_fi[fake_n - 1].ev = fake_n - 1;
	return &fake_fi[fake_n - 1];
}
void kp_app_file_data(struct kp_app_ctx *ctx, struct kp_file *fi, const uint8_t *data, size_t len)
{
	volatile uint8_t x = 0;

	(void)ctx;
	for (size_t i = 0; i < len; i++) /* touch every byte: ASan catches over-reads */
		x ^= data[i];
	(void)x;
	fake_ev[fi->ev].bytes += len;
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
	(void)ctx;
	fake_hash(&fake_ev[fi->ev], kind, hash, len);
}
void kp_app_file_close(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_file_end how)
{
	(void)ctx;
	fake_ev[fi->ev].end = (int)how;
	fake_add(FK_CLOSE)->end = (int)how;
}
void kp_app_file_announce(struct kp_app_ctx *ctx, const char *name, size_t name_len, uint64_t size)
{
	struct fake_ev *e = fake_add(FK_ANNOUNCE);

	(void)ctx;
	fake_name(e, name, name_len);
	e->size = size;
}
void kp_app_file_listed(struct kp_app_ctx *ctx, const char *what, const char *name, size_t name_len,
			uint64_t size, enum kp_hash_kind kind, const uint8_t *hash, size_t hash_len)
{
	struct fake_ev *e = fake_add(FK_LISTED);

	(void)ctx;
	snprintf(e->what, sizeof(e->what), "%s", what);
	fake_name(e, name, name_len);
	e->size = size;
	fake_hash(e, kind, hash, hash_len);
}
void kp_app_hash_seen(struct kp_app_ctx *ctx, enum kp_hash_kind kind, const uint8_t *hash,
		      size_t len)
{
	(void)ctx;
	fake_hash(fake_add(FK_HASH_SEEN), kind, hash, len);
}
void kp_app_piece(struct kp_app_ctx *ctx, int dir, enum kp_hash_kind kind, const uint8_t *hash,
		  size_t hash_len, uint64_t index, uint64_t offset, const uint8_t *data, size_t len)
{
	struct fake_ev *e = fake_add(FK_PIECE);

	(void)ctx;
	fake_piece_fnv = fake_fnv(fake_piece_fnv, data, len); /* reads every byte (ASan) */
	fake_hash(e, kind, hash, hash_len);
	e->dir = dir;
	e->index = index;
	e->offset = offset;
	e->bytes = len;
	fake_piece_bytes += len;
}
void kp_app_search(struct kp_app_ctx *ctx, const char *text, size_t len)
{
	struct fake_ev *e = fake_add(FK_SEARCH);

	(void)ctx;
	fake_name(e, text, len);
}
void kp_app_file_withdraw(struct kp_app_ctx *ctx)
{
	(void)ctx;
}
