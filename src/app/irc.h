/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IRC internals shared with the unit tests: the DCC offer parser (CTCP
 * "\x01DCC SEND name ip port size\x01" and "\x01DCC CHAT chat ip port\x01")
 * and the parser state, so a test can check what the module would hand to
 * kp_expect_add().
 */
#ifndef KP_APP_IRC_H
#define KP_APP_IRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/linebuf.h"

#define KP_IRC_CHANNELS 4   /* channels kept (the first ones joined) */
#define KP_IRC_DCCS 4       /* DCC offers kept (the first ones) */

struct kp_irc_dcc {
	bool chat;          /* DCC CHAT (no file) */
	int family;         /* AF_INET / AF_INET6 */
	uint8_t addr[16];
	uint16_t port;      /* host order; 0: passive (reverse) DCC, no connection to expect */
	uint64_t size;      /* SEND: announced size, 0 if absent */
	bool has_size;      /* SEND: the offer named a size */
	uint16_t file_len;  /* bytes of file[] (the name as sent, cut to 127 bytes) */
	char file[128];
};

struct kp_irc_state {
	struct kp_linebuf lb[2];
	uint32_t ndcc_total;        /* DCC offers seen, also those not kept */
	uint8_t nchan;
	uint8_t ndcc;
	char nick[32];
	char channels[KP_IRC_CHANNELS][64];
	struct kp_irc_dcc dcc[KP_IRC_DCCS];
};

/*
 * Parses the DCC offer in one IRC line (a PRIVMSG whose text holds
 * "\x01DCC SEND|CHAT ...\x01"). True and *d filled when the line has a valid offer.
 */
bool kp_irc_parse_dcc(const uint8_t *line, size_t n, struct kp_irc_dcc *d);

#endif
