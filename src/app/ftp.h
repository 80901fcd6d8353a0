/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * FTP control connection internals shared with the unit tests: the parsers of
 * the four ways a data connection is announced (PASV's 227 reply, EPSV's 229
 * reply, PORT, EPRT) and the parser state, so that a test can check the
 * address and port the module would hand to kp_expect_add().
 */
#ifndef KP_APP_FTP_H
#define KP_APP_FTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/linebuf.h"

#define KP_FTP_FILES 4     /* RETR/STOR names kept (the last ones) */
#define KP_FTP_NAME_MAX 128

/* The last data connection the control connection announced. */
struct kp_ftp_expect {
	int family;        /* AF_INET / AF_INET6; 0: none yet */
	uint8_t addr[16];
	uint16_t port;     /* host order */
};

struct kp_ftp_state {
	struct kp_linebuf lb[2];
	uint32_t commands;           /* client command lines seen */
	uint32_t expects;            /* data connections announced */
	struct kp_ftp_expect last;   /* the latest of them */
	uint8_t nfiles;              /* names in files[] (ring, oldest overwritten) */
	uint8_t file_next;           /* next slot of files[] */
	bool auth_tls;               /* AUTH TLS/SSL sent: control goes encrypted after 234 */
	bool done;
	uint8_t files_mode;          /* 0: not asked yet, 1: files not wanted, 2: wanted */
	bool pend_stou;              /* the pending transfer is a STOU (name in the 150 reply) */
	uint16_t pend_len;           /* pending transfer's name length (0: none) */
	uint32_t transfers;          /* 226 replies (transfers complete) */
	uint64_t pend_size;          /* size from the 150 reply, or KP_FILE_SIZE_UNKNOWN */
	char pend[KP_FTP_NAME_MAX];  /* the pending RETR/STOR/APPE/STOU name */
	char user[64];
	char files[KP_FTP_FILES][KP_FTP_NAME_MAX];
};

/*
 * "h1,h2,h3,h4,p1,p2" somewhere in s (the argument of PORT, or a 227 reply,
 * with or without parentheses). True and addr/port set when found and valid.
 */
bool kp_ftp_parse_hostport(const uint8_t *s, size_t n, uint8_t addr[4], uint16_t *port);

/* A 229 reply "229 text (|||port|)" (any delimiter); true and *port set. */
bool kp_ftp_parse_epsv(const uint8_t *s, size_t n, uint16_t *port);

/* The argument of EPRT "|1|a.b.c.d|port|" or "|2|addr6|port|" (any delimiter). */
bool kp_ftp_parse_eprt(const uint8_t *s, size_t n, int *family, uint8_t addr[16],
		       uint16_t *port);

#endif
