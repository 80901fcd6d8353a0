/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one recording fake of the services application modules call outside
 * themselves, for module unit tests (test-only, never linked into kp2padm):
 * every content.h call (files opened, their bytes, gaps, attributes, hashes
 * and ends; announcements, withdrawals, listed files, hashes seen, pieces,
 * searches) and the app.h services the modules report through (chats,
 * expectations, peer notes), recorded in fake_ev[] in call order with copies
 * of their strings. A test links content_fake.c (and app_stubs_interim.c for
 * the application names) instead of the content core and the classifier, sets
 * the two switches, runs a module and reads back what it reported.
 * Single-threaded test use only.
 */
#ifndef KP_TESTS_CONTENT_FAKE_H
#define KP_TESTS_CONTENT_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "content/content.h"

enum fake_kind {
	FK_OPEN = 1,  /* kp_app_file_open; later data/gap/attr/hash/close land in this event */
	FK_CLOSE,     /* kp_app_file_close (end also set in the FK_OPEN event) */
	FK_ANNOUNCE,
	FK_WITHDRAW,
	FK_LISTED,
	FK_HASH_SEEN,
	FK_PIECE,
	FK_SEARCH,
	FK_CHAT,      /* kp_app_chat (recorded while fake_chat_wanted) */
	FK_EXPECT,    /* kp_expect_add */
	FK_PEER_NOTE, /* kp_peer_note */
};

#define FAKE_MAX 4096          /* calls recorded; further ones are counted in fake_lost */
#define FAKE_TEXT 4096         /* bytes of a name, search or chat text kept */
#define FAKE_ATTRS 8
#define FAKE_KEEP (1u << 20)   /* body bytes of a file kept */
#define FAKE_FNV0 0xcbf29ce484222325ull

struct fake_ev {
	enum fake_kind kind;
	int dir;             /* open, piece: the argument; otherwise ctx->dir (-1 without ctx) */
	char what[24];       /* listed: what; chat: command */
	char name[FAKE_TEXT + 1]; /* file/listed/announce name, search or chat text (NUL added) */
	size_t name_len;     /* the length passed (also when longer than FAKE_TEXT) */
	char from[256], to[512]; /* chat */
	uint64_t size, offset, index;
	enum kp_hash_kind hkind; /* listed, hash seen, piece; open: kp_app_file_hash */
	uint8_t hash[32];
	size_t hash_len;
	uint64_t bytes;      /* open: body bytes received; piece: len */
	uint64_t data_fnv;   /* open: FNV-1a of the body; piece: of its data */
	int end;             /* open: -1 while open, else enum kp_file_end; close: how */
	/* open only */
	uint8_t *data;       /* the first FAKE_KEEP body bytes */
	uint64_t gaps;       /* kp_app_file_gap calls */
	unsigned data_after_close;
	char sha256[65];     /* of the body, set at close */
	int nattrs;
	char attr_key[FAKE_ATTRS][32];
	char attr_val[FAKE_ATTRS][300];
	void *md;            /* EVP_MD_CTX while open */
	/* expect, peer note */
	int family;
	uint8_t addr[16];
	uint16_t port;
};

extern struct fake_ev fake_ev[FAKE_MAX];
extern unsigned fake_n;       /* events recorded */
extern unsigned fake_lost;    /* calls beyond FAKE_MAX */
extern bool fake_files_wanted; /* what kp_app_files_wanted() answers (true at start) */
extern bool fake_chat_wanted;  /* what kp_app_chat_wanted() answers */
extern uint64_t fake_piece_bytes; /* all piece bytes, and their FNV-1a in call order */
extern uint64_t fake_piece_fnv;
/* When set, piece data is also laid out here by offset (offsets below image_size only). */
extern uint8_t *fake_image;
extern size_t fake_image_size;

/* Forgets every call (the switches and the image stay). */
void fake_reset(void);
/* The nth (0-based) event of kind k, or NULL. */
struct fake_ev *fake_nth(enum fake_kind k, unsigned nth);
unsigned fake_count(enum fake_kind k);
/* The nth file opened; a zeroed event when there is none. */
struct fake_ev *fake_file(unsigned nth);
/* The value of attribute key of file e, or NULL. */
const char *fake_attr(const struct fake_ev *e, const char *key);
/* FNV-1a (64 bit) of b[0..n) continuing from h (FAKE_FNV0 to start). */
uint64_t fake_fnv(uint64_t h, const uint8_t *b, size_t n);

#endif
