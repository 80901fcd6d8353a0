/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test-only recording fake of the services the chat modules (irc, msn, xmpp)
 * call: kp_app_chat / kp_app_chat_wanted (app/app.h), the content API
 * (content/content.h) and kp_expect_add. Each call is recorded in order with
 * copies of its strings, so a test can check exactly what a module reported.
 * Single-threaded test use only.
 */
#ifndef KP_TESTS_CHAT_FAKE_H
#define KP_TESTS_CHAT_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FAKE_CALLS 256
#define FAKE_TEXT 4096

struct fake_call {
	char kind[16];     /* "chat", "listed", "announce", "expect", "file_open", ... */
	char what[16];     /* chat: command; listed: what */
	char from[256];    /* chat */
	char to[512];      /* chat */
	uint8_t text[FAKE_TEXT]; /* chat: text; listed/announce: name (cut to FAKE_TEXT) */
	size_t len;        /* the length passed (also when longer than FAKE_TEXT) */
	uint64_t size;     /* listed/announce: size; expect: port */
	int dir;           /* ctx->dir at the call */
	int family;        /* expect */
	uint8_t addr[16];  /* expect */
};

extern struct fake_call fake_calls[FAKE_CALLS];
extern unsigned fake_ncalls;  /* calls recorded (further ones counted in fake_lost) */
extern unsigned fake_lost;
extern bool fake_chat_on, fake_files_on;

void fake_reset(bool chat, bool files);
/* The i-th call of kind (0-based), or NULL. */
const struct fake_call *fake_nth(const char *kind, unsigned i);
unsigned fake_count(const char *kind);

#endif
