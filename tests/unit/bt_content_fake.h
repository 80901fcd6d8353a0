/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A recording fake of the content.h calls for the BitTorrent tests (test-only,
 * every call in order; content_fake.c is the file-oriented one): tests link
 * bt_content_fake.c instead of the content core, set what kp_app_files_wanted()
 * answers, and read back every call the module made, in order.
 */
#ifndef KP_TESTS_BT_CONTENT_FAKE_H
#define KP_TESTS_BT_CONTENT_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content/content.h"

enum cf_kind {
	CF_HASH_SEEN = 1,
	CF_LISTED,
	CF_PIECE,
	CF_OTHER, /* a content.h call this fake does not detail */
};

#define CF_MAX_CALLS 4096
#define CF_NAME_MAX 256

struct cf_call {
	enum cf_kind kind;
	int dir;
	enum kp_hash_kind hkind;
	uint8_t hash[32];
	size_t hash_len;
	char what[32];
	char name[CF_NAME_MAX];
	size_t name_len;
	uint64_t size, index, offset;
	size_t len;
	uint32_t data_fnv; /* FNV-1a of a piece's data */
};

struct cf_state {
	bool files_wanted;
	unsigned n;
	unsigned dropped; /* calls beyond CF_MAX_CALLS */
	struct cf_call calls[CF_MAX_CALLS];
	/* piece data laid out by offset (offsets below the size only) */
	uint8_t *image;
	size_t image_size;
};

/* The one fake (a test runs single-threaded). */
extern struct cf_state cf;

/* Forget every call; files_wanted and the image stay. */
void cf_reset(void);
/* Count calls of a kind. */
unsigned cf_count(enum cf_kind k);
uint32_t cf_fnv(const uint8_t *p, size_t n);

#endif
