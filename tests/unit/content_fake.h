/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A recording fake of the content.h calls (tests/unit/content_fake.c) for
 * module unit tests: every file opened, its attributes, its body bytes (the
 * first FAKE_KEEP kept, all counted and hashed with SHA-256), gaps, how it was
 * closed, and every announcement.
 */
#ifndef KP_TESTS_CONTENT_FAKE_H
#define KP_TESTS_CONTENT_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "content/content.h"

#define FAKE_FILES 64
#define FAKE_ATTRS 8
#define FAKE_KEEP (1u << 20)

struct fake_file {
	int dir;
	char name[512];
	uint64_t size, offset;
	uint64_t len;      /* body bytes received */
	uint8_t *data;     /* the first FAKE_KEEP of them */
	uint64_t gaps;     /* gap calls */
	int closed;        /* 0 open, 1 complete, 2 truncated */
	int data_after_close;
	char sha256[65];   /* set at close */
	int nattrs;
	char attr_key[FAKE_ATTRS][32];
	char attr_val[FAKE_ATTRS][300];
	void *md;          /* EVP_MD_CTX */
};

struct fake_announce {
	char name[512];
	uint64_t size;
};

extern bool fake_files_wanted;
extern int fake_nfiles;
extern struct fake_file fake_files[FAKE_FILES];
extern int fake_nann;
extern struct fake_announce fake_ann[FAKE_FILES];

/* Forgets everything recorded. */
void fake_reset(void);
/* The value of attribute key of file i, or NULL. */
const char *fake_attr(int i, const char *key);

/* kp_app_file_withdraw calls */
extern unsigned fake_withdrawn;

#endif
