/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The BitTorrent peer-wire message reader for content management (see
 * bt_wire.h). Each direction is a stream of <u32 length><u8 id><body>
 * messages; the reader keeps at most a 13-byte header and, for extension
 * messages (id 20) up to KP_BT_EXT_MAX, the body:
 *   - piece (id 7: index, begin, block): the block is passed to kp_app_piece()
 *     as it arrives, straight from the input when a whole chunk is there, else
 *     through the KP_BT_CHUNK buffer; offset = index * piece length + begin
 *     once the metadata gave the piece length, else begin.
 *   - extended (id 20), ext id 0: the BEP 10 handshake; its "m" dict names the
 *     ut_metadata id the sender wants to receive, "metadata_size" the size.
 *   - extended, ext id = the ut_metadata id the receiver announced: a BEP 9
 *     message (bencoded dict msg_type/piece/total_size, then for msg_type 1
 *     the raw metadata piece). Pieces are assembled (bt_meta.c), the SHA-1 is
 *     checked against the info_hash, and the files are reported.
 *   - anything else is skipped without buffering.
 */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/bencode.h"
#include "app/bt_meta.h"
#include "app/bt_wire.h"
#include "content/content.h"
#include "util/cursor.h"

enum {
	M_HDR = 0, /* collecting the length, id (and piece index/begin) */
	M_SKIP,    /* skipping the rest of a message */
	M_PIECE,   /* passing a piece block */
	M_EXT,     /* buffering an extension message */
};

#define BT_MSG_PIECE 7
#define BT_MSG_EXTENDED 20

/* For the file callback of kp_bt_info_parse(). */
struct listed_arg {
	struct kp_app_ctx *ctx;
	const uint8_t *ih;
};

static void file_listed(void *arg, const char *path, size_t path_len, uint64_t length)
{
	struct listed_arg *a = arg;

	kp_app_file_listed(a->ctx, "torrent", path, path_len, length, KP_HASH_BT_INFOHASH, a->ih,
			   20);
}

/* The metadata is complete: checks it and reports the torrent's files. */
static void metadata_done(struct kp_app_ctx *ctx, struct kp_bt_wire *w, const uint8_t *ih)
{
	struct listed_arg a = {ctx, ih};
	struct kp_bt_info info;

	if (!kp_bt_meta_verify(&w->meta, ih)) {
		w->meta_mismatch = true;
		kp_bt_meta_free(&w->meta);
		return;
	}
	if (kp_bt_info_parse(w->meta.buf, w->meta.size, &info, file_listed, &a)) {
		size_t n = info.name_len < KP_BT_NAME_MAX ? info.name_len : KP_BT_NAME_MAX;

		w->info_done = true;
		w->piece_length = info.piece_length;
		memcpy(w->name, info.name, n);
		w->name_len = (uint8_t)n;
		w->nfiles = info.nfiles;
	}
	kp_bt_meta_free(&w->meta); /* the name was copied */
}

static void ext_handshake(struct kp_bt_wire *w, unsigned dir, const uint8_t *p, size_t n)
{
	struct kp_benc d, m;
	size_t end;
	int64_t v;

	if (kp_benc_walk(p, n, &end) != KP_BENC_OK)
		return;
	d.p = p;
	d.len = end;
	if (!kp_benc_is_dict(&d))
		return;
	if (kp_benc_dict_get(&d, "m", &m) && kp_benc_is_dict(&m) &&
	    kp_benc_dict_int(&m, "ut_metadata", &v) && v >= 0 && v <= 255)
		w->ut_metadata[dir] = (uint8_t)v; /* 0: the sender disables it */
	if (kp_benc_dict_int(&d, "metadata_size", &v) && v > 0 && v <= (int64_t)KP_BT_META_MAX)
		w->metadata_size = v;
}

static void ut_metadata(struct kp_app_ctx *ctx, struct kp_bt_wire *w, const uint8_t *ih,
			const uint8_t *p, size_t n)
{
	struct kp_benc d;
	int64_t type, piece, total;
	size_t end;

	if (kp_benc_walk(p, n, &end) != KP_BENC_OK)
		return;
	d.p = p;
	d.len = end;
	if (!kp_benc_is_dict(&d) || !kp_benc_dict_int(&d, "msg_type", &type) || type != 1 ||
	    !kp_benc_dict_int(&d, "piece", &piece) || !kp_benc_dict_int(&d, "total_size", &total))
		return;
	if (w->metadata_size && total != w->metadata_size)
		return; /* not the size the extension handshake announced */
	if (kp_bt_meta_piece(&w->meta, piece, total, p + end, n - end) == KP_BT_META_DONE)
		metadata_done(ctx, w, ih);
}

static void ext_message(struct kp_app_ctx *ctx, struct kp_bt_wire *w, const uint8_t *ih,
			unsigned dir, const uint8_t *p, size_t n)
{
	uint8_t peer_id = w->ut_metadata[dir ^ 1]; /* the id the receiver asked for */

	if (n < 1)
		return;
	if (p[0] == 0)
		ext_handshake(w, dir, p + 1, n - 1);
	else if (peer_id && p[0] == peer_id && !w->info_done)
		ut_metadata(ctx, w, ih, p + 1, n - 1);
}

static void piece_out(struct kp_app_ctx *ctx, struct kp_bt_wire *w, const uint8_t *ih,
		      unsigned dir, const uint8_t *data, size_t n)
{
	struct kp_bt_wire_dir *D = &w->d[dir];
	uint64_t off = (uint64_t)D->begin + D->done;

	if (w->piece_length)
		off += (uint64_t)D->index * w->piece_length;
	kp_app_piece(ctx, (int)dir, KP_HASH_BT_INFOHASH, ih, 20, D->index, off, data, n);
	D->done += (uint32_t)n;
	D->piece_bytes += n;
}

static bool want_buf(struct kp_bt_wire_dir *D)
{
	if (!D->buf)
		D->buf = malloc(KP_BT_EXT_MAX);
	return D->buf != NULL;
}

/* The header is complete up to what its id needs: picks the body's mode. */
static void start_body(struct kp_bt_wire_dir *D, uint32_t msglen)
{
	uint8_t id = D->hdr[4];

	D->left = msglen - 1;
	D->buf_len = 0;
	if (id == BT_MSG_PIECE && msglen >= 9 && msglen - 9 <= KP_BT_BLOCK_MAX && want_buf(D)) {
		D->index = kp_be32(D->hdr + 5);
		D->begin = kp_be32(D->hdr + 9);
		D->done = 0;
		D->left = msglen - 9;
		D->pieces++;
		D->mode = M_PIECE;
	} else if (id == BT_MSG_EXTENDED && D->left <= KP_BT_EXT_MAX && want_buf(D)) {
		D->mode = M_EXT;
	} else {
		/* a piece header's 8 bytes already read belong to the skipped body */
		D->left = msglen - 1 - (uint32_t)(D->hdr_len - 5);
		D->mode = M_SKIP;
	}
}

/* A message body ended: back to reading a header. */
static void end_message(struct kp_bt_wire_dir *D)
{
	D->mode = M_HDR;
	D->hdr_len = 0;
	D->buf_len = 0;
}

/* Header bytes: returns how many of p[0..len) it took; starts the body when complete. */
static size_t read_hdr(struct kp_bt_wire_dir *D, const uint8_t *p, size_t len)
{
	size_t need = 4, take;
	uint32_t msglen;

	if (D->hdr_len >= 4) {
		msglen = kp_be32(D->hdr);
		if (msglen == 0) { /* keep-alive */
			D->hdr_len = 0;
			return 0;
		}
		need = 5;
		if (D->hdr_len >= 5) {
			need = D->hdr[4] == BT_MSG_PIECE && msglen >= 9 ? 13 : 5;
			if (D->hdr_len == need) {
				start_body(D, msglen);
				return 0;
			}
		}
	}
	take = need - D->hdr_len;
	if (take > len)
		take = len;
	memcpy(D->hdr + D->hdr_len, p, take);
	D->hdr_len = (uint8_t)(D->hdr_len + take);
	return take;
}

/* Block bytes of a piece message: returns how many of p[0..len) it took. */
static size_t read_piece(struct kp_app_ctx *ctx, struct kp_bt_wire *w, const uint8_t *ih,
			 unsigned dir, const uint8_t *p, size_t len)
{
	struct kp_bt_wire_dir *D = &w->d[dir];
	/* the chunk being filled: the buffered bytes and what follows, at most KP_BT_CHUNK */
	size_t chunk = (size_t)D->left + D->buf_len, n;

	if (chunk > KP_BT_CHUNK)
		chunk = KP_BT_CHUNK;

	if (D->buf_len == 0 && len >= chunk) {
		piece_out(ctx, w, ih, dir, p, chunk); /* a whole chunk is here: no copy */
		n = chunk;
	} else {
		n = chunk - D->buf_len;
		if (n > len)
			n = len;
		memcpy(D->buf + D->buf_len, p, n);
		D->buf_len += (uint32_t)n;
		if (D->buf_len == chunk) {
			piece_out(ctx, w, ih, dir, D->buf, D->buf_len);
			D->buf_len = 0;
		}
	}
	D->left -= (uint32_t)n;
	return n;
}

/*
 * Every pass of the loop takes input, or moves from a complete header to its
 * body, or from an ended body to the next header (which then needs input), or
 * returns: it ends within a few passes per input byte.
 */
static void feed_dir(struct kp_app_ctx *ctx, struct kp_bt_wire *w, const uint8_t *ih,
		     unsigned dir, const uint8_t *p, size_t len)
{
	struct kp_bt_wire_dir *D = &w->d[dir];
	size_t n;

	while (!D->dead) {
		if (D->mode != M_HDR && D->left == 0) {
			if (D->mode == M_EXT)
				ext_message(ctx, w, ih, dir, D->buf, D->buf_len);
			end_message(D);
			continue;
		}
		if (D->mode == M_HDR) {
			uint8_t before = D->hdr_len;

			n = read_hdr(D, p, len);
			if (n == 0 && D->mode == M_HDR && D->hdr_len == before)
				return; /* needs input */
		} else if (!len) {
			return;
		} else if (D->mode == M_PIECE) {
			n = read_piece(ctx, w, ih, dir, p, len);
		} else {
			n = D->left < len ? D->left : len;
			if (D->mode == M_EXT) {
				memcpy(D->buf + D->buf_len, p, n);
				D->buf_len += (uint32_t)n;
			}
			D->left -= (uint32_t)n;
		}
		p += n;
		len -= n;
	}
}

bool kp_bt_wire_feed(struct kp_app_ctx *ctx, struct kp_bt_wire *w, const uint8_t info_hash[20],
		     unsigned dir, const uint8_t *data, size_t len, bool gap)
{
	dir &= 1;
	if (gap && !w->d[dir].dead) {
		/* the stream lost bytes: message boundaries are gone */
		w->d[dir].dead = true;
		free(w->d[dir].buf);
		w->d[dir].buf = NULL;
	}
	if (data && len)
		feed_dir(ctx, w, info_hash, dir, data, len);
	return !(w->d[0].dead && w->d[1].dead);
}

void kp_bt_wire_free(struct kp_bt_wire *w)
{
	for (unsigned d = 0; d < 2; d++) {
		free(w->d[d].buf);
		w->d[d].buf = NULL;
	}
	kp_bt_meta_free(&w->meta);
}
