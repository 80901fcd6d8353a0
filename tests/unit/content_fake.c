/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test-only definitions of the content.h calls that record what a module
 * reports (see content_fake.h). Linked into module tests instead of the core.
 */
#include "content_fake.h"

unsigned fake_withdrawn;

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool fake_files_wanted = true;
int fake_nfiles;
struct fake_file fake_files[FAKE_FILES];
int fake_nann;
struct fake_announce fake_ann[FAKE_FILES];

struct kp_file {
	int idx;
};
static struct kp_file handles[FAKE_FILES];

void fake_reset(void)
{
	fake_withdrawn = 0;
	for (int i = 0; i < fake_nfiles; i++) {
		free(fake_files[i].data);
		if (fake_files[i].md)
			EVP_MD_CTX_free(fake_files[i].md);
	}
	memset(fake_files, 0, sizeof(fake_files));
	fake_nfiles = 0;
	fake_nann = 0;
}

const char *fake_attr(int i, const char *key)
{
	for (int k = 0; k < fake_files[i].nattrs; k++)
		if (!strcmp(fake_files[i].attr_key[k], key))
			return fake_files[i].attr_val[k];
	return NULL;
}

bool kp_app_files_wanted(const struct kp_app_ctx *ctx)
{
	(void)ctx;
	return fake_files_wanted;
}

static void copy_name(char *dst, size_t cap, const char *s, size_t n)
{
	if (n > cap - 1)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

struct kp_file *kp_app_file_open(struct kp_app_ctx *ctx, int dir, const char *name,
				 size_t name_len, uint64_t size, uint64_t offset)
{
	struct fake_file *f;

	(void)ctx;
	if (!fake_files_wanted || fake_nfiles == FAKE_FILES)
		return NULL;
	handles[fake_nfiles].idx = fake_nfiles;
	f = &fake_files[fake_nfiles];
	memset(f, 0, sizeof(*f));
	f->dir = dir;
	copy_name(f->name, sizeof(f->name), name, name_len);
	f->size = size;
	f->offset = offset;
	f->md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
	return &handles[fake_nfiles++];
}

void kp_app_file_data(struct kp_app_ctx *ctx, struct kp_file *fi, const uint8_t *data,
		      size_t len)
{
	struct fake_file *f = &fake_files[fi->idx];

	(void)ctx;
	if (f->closed)
		f->data_after_close++;
	if (!f->data)
		f->data = malloc(FAKE_KEEP);
	if (f->len < FAKE_KEEP) {
		size_t k = FAKE_KEEP - f->len < len ? (size_t)(FAKE_KEEP - f->len) : len;

		memcpy(f->data + f->len, data, k);
	}
	EVP_DigestUpdate(f->md, data, len);
	f->len += len;
}

void kp_app_file_gap(struct kp_app_ctx *ctx, struct kp_file *fi, uint64_t len)
{
	(void)ctx;
	(void)len;
	fake_files[fi->idx].gaps++;
}

void kp_app_file_attr(struct kp_file *fi, const char *key, const char *val, size_t len)
{
	struct fake_file *f = &fake_files[fi->idx];

	if (f->nattrs == FAKE_ATTRS)
		return;
	snprintf(f->attr_key[f->nattrs], sizeof(f->attr_key[0]), "%s", key);
	copy_name(f->attr_val[f->nattrs], sizeof(f->attr_val[0]), val, len);
	f->nattrs++;
}

void kp_app_file_hash(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_hash_kind kind,
		      const uint8_t *hash, size_t len)
{
	(void)ctx, (void)fi, (void)kind, (void)hash, (void)len;
}

void kp_app_file_close(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_file_end how)
{
	struct fake_file *f = &fake_files[fi->idx];
	unsigned char md[32];
	unsigned int mdl = 0;

	(void)ctx;
	f->closed = how == KP_FILE_END_COMPLETE ? 1 : 2;
	EVP_DigestFinal_ex(f->md, md, &mdl);
	for (unsigned i = 0; i < 32; i++)
		snprintf(f->sha256 + 2 * i, 3, "%02x", md[i]);
}

void kp_app_file_announce(struct kp_app_ctx *ctx, const char *name, size_t name_len,
			  uint64_t size)
{
	(void)ctx;
	if (fake_nann == FAKE_FILES)
		return;
	copy_name(fake_ann[fake_nann].name, sizeof(fake_ann[0].name), name, name_len);
	fake_ann[fake_nann].size = size;
	fake_nann++;
}

void kp_app_file_withdraw(struct kp_app_ctx *ctx)
{
	(void)ctx;
	fake_withdrawn++;
}
