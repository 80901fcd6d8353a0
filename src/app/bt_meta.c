/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BitTorrent metadata (see bt_meta.h): the ut_metadata assembly buffer, its
 * SHA-1 check, and the info dict reader that lists a torrent's files.
 */
#include <stdlib.h>
#include <string.h>

#include "app/bencode.h"
#include "app/bt_meta.h"
#include "util/sha1.h"

enum kp_bt_meta_res kp_bt_meta_piece(struct kp_bt_meta *m, int64_t piece, int64_t total_size,
				     const uint8_t *data, size_t len)
{
	uint32_t want, idx;

	if (m->complete || m->failed)
		return KP_BT_META_MORE;
	if (!m->buf) {
		if (total_size <= 0 || total_size > (int64_t)KP_BT_META_MAX)
			goto bad;
		m->size = (uint32_t)total_size;
		m->npieces = (m->size + KP_BT_META_PIECE - 1) / KP_BT_META_PIECE;
		m->buf = malloc(m->size);
		if (!m->buf)
			goto bad;
	}
	if (total_size != (int64_t)m->size || piece < 0 || piece >= (int64_t)m->npieces)
		goto bad;
	idx = (uint32_t)piece;
	want = idx + 1 < m->npieces ? KP_BT_META_PIECE : m->size - idx * KP_BT_META_PIECE;
	if (len != want)
		goto bad;
	if (m->got[idx / 8] & (1u << (idx % 8)))
		return KP_BT_META_MORE;
	memcpy(m->buf + (size_t)idx * KP_BT_META_PIECE, data, len);
	m->got[idx / 8] |= (uint8_t)(1u << (idx % 8));
	if (++m->have < m->npieces)
		return KP_BT_META_MORE;
	m->complete = true;
	return KP_BT_META_DONE;
bad:
	m->failed = true;
	free(m->buf);
	m->buf = NULL;
	return KP_BT_META_BAD;
}

bool kp_bt_meta_verify(const struct kp_bt_meta *m, const uint8_t info_hash[20])
{
	uint8_t h[20];

	if (!m->complete || !m->buf)
		return false;
	kp_sha1(m->buf, m->size, h);
	return memcmp(h, info_hash, 20) == 0;
}

void kp_bt_meta_free(struct kp_bt_meta *m)
{
	free(m->buf);
	m->buf = NULL;
}

/* A string under key k, preferring k.utf-8 (BEP 3 extensions by most clients). */
static bool dict_name(const struct kp_benc *d, const char *k, const char *k8, struct kp_benc *v)
{
	return kp_benc_dict_get(d, k8, v) || kp_benc_dict_get(d, k, v);
}

/* Appends "/" (unless first) and s[0..n) to path; cuts at KP_BT_PATH_MAX. */
static void path_add(char *path, size_t *plen, const uint8_t *s, size_t n, bool first)
{
	size_t room;

	if (!first && *plen < KP_BT_PATH_MAX)
		path[(*plen)++] = '/';
	room = KP_BT_PATH_MAX - *plen;
	if (n > room)
		n = room;
	memcpy(path + *plen, s, n);
	*plen += n;
}

/* BEP 47 padding files (attr contains 'p') are not files of the torrent. */
static bool is_pad(const struct kp_benc *f)
{
	struct kp_benc a;
	const uint8_t *s;
	size_t n;

	return kp_benc_dict_get(f, "attr", &a) && kp_benc_str(&a, &s, &n) && memchr(s, 'p', n);
}

/* One entry of "files": reports name/path... with its length. False if malformed. */
static bool info_file(const struct kp_benc *f, const struct kp_bt_info *info, char *path,
		      kp_bt_file_fn fn, void *arg, uint64_t *length)
{
	struct kp_benc pl, comp;
	const uint8_t *s;
	size_t plen = 0, pos = 0, n;
	int64_t l;
	unsigned ncomp = 0;

	if (!kp_benc_is_dict(f) || !kp_benc_dict_int(f, "length", &l) || l < 0)
		return false;
	if (!dict_name(f, "path", "path.utf-8", &pl) || !kp_benc_is_list(&pl))
		return false;
	path_add(path, &plen, info->name, info->name_len, true);
	while (kp_benc_list_next(&pl, &pos, &comp)) {
		if (!kp_benc_str(&comp, &s, &n))
			return false;
		path_add(path, &plen, s, n, false);
		ncomp++;
	}
	if (ncomp == 0)
		return false;
	*length = (uint64_t)l;
	if (fn && info->nfiles < KP_BT_MAX_FILES)
		fn(arg, path, plen, (uint64_t)l);
	return true;
}

bool kp_bt_info_parse(const uint8_t *p, size_t len, struct kp_bt_info *info, kp_bt_file_fn fn,
		      void *arg)
{
	struct kp_benc d, v, files, f;
	char path[KP_BT_PATH_MAX];
	size_t pos = 0;
	int64_t l;
	uint64_t flen;

	memset(info, 0, sizeof(*info));
	if (!kp_benc_parse(p, len, &d) || !kp_benc_is_dict(&d))
		return false;
	if (!dict_name(&d, "name", "name.utf-8", &v) ||
	    !kp_benc_str(&v, &info->name, &info->name_len))
		return false;
	if (!kp_benc_dict_int(&d, "piece length", &l) || l <= 0)
		return false;
	info->piece_length = (uint64_t)l;
	if (kp_benc_dict_int(&d, "length", &l)) {
		if (l < 0)
			return false;
		info->nfiles = 1;
		info->total = (uint64_t)l;
		if (fn)
			fn(arg, (const char *)info->name, info->name_len, (uint64_t)l);
		return true;
	}
	if (!kp_benc_dict_get(&d, "files", &files) || !kp_benc_is_list(&files))
		return false;
	info->multi = true;
	/* Each element is walked once by list_next: the loop ends within len steps. */
	while (kp_benc_list_next(&files, &pos, &f)) {
		if (is_pad(&f) || !info_file(&f, info, path, fn, arg, &flen))
			continue;
		info->nfiles++;
		info->total += flen;
	}
	return true;
}
