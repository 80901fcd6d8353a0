/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 through libcrypto's EVP interface (see sha256.h). */
#include "content/sha256.h"

#include <openssl/evp.h>
#include <string.h>

bool kp_sha256_init(struct kp_sha256 *s)
{
	s->md = EVP_MD_CTX_new();
	if (s->md && EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) == 1)
		return true;
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
	return false;
}

void kp_sha256_update(struct kp_sha256 *s, const void *data, size_t len)
{
	if (s->md && len)
		EVP_DigestUpdate(s->md, data, len);
}

bool kp_sha256_final(struct kp_sha256 *s, uint8_t out[32])
{
	unsigned n = 0;
	bool ok;

	if (!s->md)
		return false;
	ok = EVP_DigestFinal_ex(s->md, out, &n) == 1 && n == 32;
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
	return ok;
}

void kp_sha256_abort(struct kp_sha256 *s)
{
	EVP_MD_CTX_free(s->md);
	s->md = NULL;
}

void kp_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		memset(out, 0, 32);
}
