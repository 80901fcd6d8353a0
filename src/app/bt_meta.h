/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * BitTorrent metadata (the info dict of a torrent): assembling it from BEP 9
 * ut_metadata pieces, checking it against the info_hash, and reading its name,
 * piece length and file list. Pure functions, no engine calls (bt_wire.c
 * reports what they find).
 */
#ifndef KP_APP_BT_META_H
#define KP_APP_BT_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest metadata accepted (the size announced by the peer): 4 MiB. */
#define KP_BT_META_MAX (4u << 20)
/* ut_metadata piece size (BEP 9): every piece but the last is this long. */
#define KP_BT_META_PIECE 16384u
/* Files of one torrent reported at most. */
#define KP_BT_MAX_FILES 10000u
/* Longest file path built ("name/dir/file"); longer paths are cut there. */
#define KP_BT_PATH_MAX 1024u

/* Metadata being assembled from ut_metadata data messages. */
struct kp_bt_meta {
	uint8_t *buf;      /* malloc'd, size bytes, once the first piece arrives */
	uint32_t size;     /* total_size of the first accepted piece */
	uint32_t npieces;
	uint32_t have;     /* pieces received */
	uint8_t got[KP_BT_META_MAX / KP_BT_META_PIECE / 8]; /* bitmap of received pieces */
	bool complete;     /* every piece is there */
	bool failed;       /* inconsistent pieces or no memory: gave up */
};

enum kp_bt_meta_res {
	KP_BT_META_MORE = 0, /* piece taken (or ignored); more needed */
	KP_BT_META_DONE,     /* this piece completed the metadata */
	KP_BT_META_BAD,      /* the piece contradicts the others or the limits: gave up */
};

/*
 * One ut_metadata data message: piece number `piece` of metadata of total_size
 * bytes, data[0..len). Pieces are KP_BT_META_PIECE long except the last. A
 * repeated piece is ignored. After DONE or BAD further pieces are ignored.
 */
enum kp_bt_meta_res kp_bt_meta_piece(struct kp_bt_meta *m, int64_t piece, int64_t total_size,
				     const uint8_t *data, size_t len);
/* True if SHA-1(metadata) == info_hash. */
bool kp_bt_meta_verify(const struct kp_bt_meta *m, const uint8_t info_hash[20]);
void kp_bt_meta_free(struct kp_bt_meta *m);

/* What the info dict says. */
struct kp_bt_info {
	const uint8_t *name; /* points into the dict */
	size_t name_len;
	uint64_t piece_length;
	uint64_t total;   /* sum of the file lengths */
	uint32_t nfiles;  /* files in the dict (also beyond KP_BT_MAX_FILES) */
	bool multi;       /* a "files" list (else one file named name) */
};

/* Called per file: the path (name, or name/dir/.../file for a multi-file torrent). */
typedef void (*kp_bt_file_fn)(void *arg, const char *path, size_t path_len, uint64_t length);

/*
 * Reads the info dict p[0..len) (BEP 3 v1: name, piece length, length or files
 * with length and path; name.utf-8 / path.utf-8 preferred when present).
 * Calls fn (may be NULL) for each file, at most KP_BT_MAX_FILES times. False if
 * it is not an info dict (not bencode, no name, no piece length, neither length
 * nor files); a malformed file entry is skipped.
 */
bool kp_bt_info_parse(const uint8_t *p, size_t len, struct kp_bt_info *info, kp_bt_file_fn fn,
		      void *arg);

#endif
