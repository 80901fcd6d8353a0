/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MSN Messenger (MSNP) internals shared with the unit tests: the parser state
 * (who is in a switchboard session, the MSG payload being read) and the
 * base64 decoder used for MSG bodies and MSNP2P contexts.
 */
#ifndef KP_APP_MSN_H
#define KP_APP_MSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/linebuf.h"

#define KP_MSN_BODY_MAX 65536 /* a MSG payload longer than this is skipped, not read */
#define KP_MSN_PEERS 8        /* switchboard members kept besides the own account */
#define KP_MSN_ACCT 96        /* account (passport) buffer size */

struct kp_msn_body {
	uint8_t *buf;        /* malloc'd, need bytes; NULL when no payload is being read */
	uint32_t need, have;
	char from[KP_MSN_ACCT]; /* the MSG line's sender account (from the server) */
};

struct kp_msn_state {
	struct kp_linebuf lb[2];
	uint16_t lines;
	uint8_t dir; /* direction of the line being parsed */
	bool done;
	uint8_t npeers;
	char version[16];  /* from the server's VER */
	char cversion[16]; /* first version the client offered */
	char user[KP_MSN_ACCT];
	char peers[KP_MSN_PEERS][KP_MSN_ACCT];
	struct kp_msn_body body[2];
};

/*
 * Decodes base64 (RFC 4648, line breaks and spaces skipped) in place: the
 * decoded bytes overwrite the first bytes of buf. Returns the decoded length,
 * or -1 on a character outside the alphabet.
 */
long kp_msn_b64_decode(uint8_t *buf, size_t n);

#endif
