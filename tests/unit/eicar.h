/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The EICAR anti-virus test file for scanner tests, made at test time: the
 * string is kept reversed here so that virus scanners do not flag the tree
 * (tools/scan-testdata.py holds the same, for the build's test database).
 * Also a minimal zip writer (stored, one member) to put it in an archive.
 */
#ifndef KP_TESTS_EICAR_H
#define KP_TESTS_EICAR_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define KP_EICAR_LEN 68

static const char kp_eicar_reversed[] =
	"*H+H$!ELIF-TSET-SURIVITNA-DRADNATS-RACIE$}7)CC7)^P(45XZP\\4[PA@%P!O5X";

/* Writes the 68 bytes of the EICAR test file into out (no NUL). */
static inline void kp_test_eicar(uint8_t out[KP_EICAR_LEN])
{
	for (size_t i = 0; i < KP_EICAR_LEN; i++)
		out[i] = (uint8_t)kp_eicar_reversed[KP_EICAR_LEN - 1 - i];
}

/* Writes the EICAR test file to path; 0 on success. */
static inline int kp_test_write_eicar(const char *path)
{
	uint8_t e[KP_EICAR_LEN];
	FILE *f = fopen(path, "wb");
	int rc;

	if (!f)
		return -1;
	kp_test_eicar(e);
	rc = fwrite(e, 1, sizeof(e), f) == sizeof(e) ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static inline uint32_t kp_test_crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

static inline uint8_t *kp_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	return p + 2;
}

static inline uint8_t *kp_put32(uint8_t *p, uint32_t v)
{
	p = kp_put16(p, (uint16_t)v);
	return kp_put16(p, (uint16_t)(v >> 16));
}

/*
 * A zip archive with one stored member `name` holding data[0..len) into out
 * (room for len + 2 * strlen(name) + 98 bytes). Returns the archive's size.
 */
static inline size_t kp_test_zip_stored(uint8_t *out, const char *name, const uint8_t *data,
					uint32_t len)
{
	uint16_t nlen = (uint16_t)strlen(name);
	uint32_t crc = kp_test_crc32(data, len), cd_off, cd_len;
	uint8_t *p = out, *cd;

	p = kp_put32(p, 0x04034b50);  /* local file header */
	p = kp_put16(p, 10);          /* version needed */
	p = kp_put16(p, 0);           /* flags */
	p = kp_put16(p, 0);           /* method: stored */
	p = kp_put16(p, 0);           /* time */
	p = kp_put16(p, 0x21);        /* date: 1980-01-01 */
	p = kp_put32(p, crc);
	p = kp_put32(p, len);
	p = kp_put32(p, len);
	p = kp_put16(p, nlen);
	p = kp_put16(p, 0);
	memcpy(p, name, nlen);
	p += nlen;
	memcpy(p, data, len);
	p += len;
	cd = p;
	cd_off = (uint32_t)(cd - out);
	p = kp_put32(p, 0x02014b50);  /* central directory header */
	p = kp_put16(p, 20);          /* version made by */
	p = kp_put16(p, 10);
	p = kp_put16(p, 0);
	p = kp_put16(p, 0);
	p = kp_put16(p, 0);
	p = kp_put16(p, 0x21);
	p = kp_put32(p, crc);
	p = kp_put32(p, len);
	p = kp_put32(p, len);
	p = kp_put16(p, nlen);
	p = kp_put16(p, 0);           /* extra */
	p = kp_put16(p, 0);           /* comment */
	p = kp_put16(p, 0);           /* disk */
	p = kp_put16(p, 0);           /* internal attrs */
	p = kp_put32(p, 0);           /* external attrs */
	p = kp_put32(p, 0);           /* local header offset */
	memcpy(p, name, nlen);
	p += nlen;
	cd_len = (uint32_t)(p - cd);
	p = kp_put32(p, 0x06054b50);  /* end of central directory */
	p = kp_put16(p, 0);
	p = kp_put16(p, 0);
	p = kp_put16(p, 1);
	p = kp_put16(p, 1);
	p = kp_put32(p, cd_len);
	p = kp_put32(p, cd_off);
	p = kp_put16(p, 0);
	return (size_t)(p - out);
}

#endif
