/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The BitTorrent peer-wire message stream after the handshake (BEP 3, BEP 10
 * extension messages, BEP 9 ut_metadata), read for content management: piece
 * blocks go to kp_app_piece(), the metadata fetched by a magnet-link client is
 * assembled, checked against the info_hash and its files reported with
 * kp_app_file_listed(). Bounded: no message is buffered whole except extension
 * messages up to KP_BT_EXT_MAX; any other message (of any length) is skipped
 * as it passes; piece blocks pass in chunks of at most KP_BT_CHUNK bytes.
 */
#ifndef KP_APP_BT_WIRE_H
#define KP_APP_BT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/bt_meta.h"

struct kp_app_ctx;

/* A piece block is reported in chunks of at most this (one block of every client). */
#define KP_BT_CHUNK 16384u
/* Extension messages buffered whole up to this (a ut_metadata piece and its dict). */
#define KP_BT_EXT_MAX (KP_BT_META_PIECE + 1024u)
/* Piece messages with a longer block are skipped unread (128 KiB). */
#define KP_BT_BLOCK_MAX 131072u
/* Longest torrent name kept for the flow event. */
#define KP_BT_NAME_MAX 255

/* One direction's message reader. */
struct kp_bt_wire_dir {
	uint8_t hdr[13];   /* length, id, and for a piece index and begin */
	uint8_t hdr_len;
	uint8_t mode;      /* enum in bt_wire.c */
	bool dead;         /* lost sync (gap, nonsense length): reads no more */
	uint32_t left;     /* bytes of the current message body still to come */
	uint32_t index, begin, done; /* piece message: index, begin, block bytes passed */
	uint8_t *buf;      /* malloc'd KP_BT_EXT_MAX bytes when first needed */
	uint32_t buf_len;
	uint64_t piece_bytes; /* block bytes reported */
	uint32_t pieces;      /* piece messages seen */
};

struct kp_bt_wire {
	struct kp_bt_wire_dir d[2];
	uint8_t ut_metadata[2];  /* the ut_metadata id each direction announced (0: none) */
	int64_t metadata_size;   /* announced in an extension handshake (0: none) */
	struct kp_bt_meta meta;
	uint64_t piece_length;   /* from verified metadata (0: unknown) */
	bool info_done;          /* verified metadata was read */
	bool meta_mismatch;      /* the metadata's SHA-1 is not the info_hash */
	uint8_t name_len;
	char name[KP_BT_NAME_MAX]; /* torrent name (not NUL-terminated) */
	uint32_t nfiles;
};

/*
 * The bytes data[0..len) sent in direction dir after that direction's
 * handshake; info_hash is the flow's. gap: bytes were lost before data (the
 * direction stops). Returns false once both directions stopped.
 */
bool kp_bt_wire_feed(struct kp_app_ctx *ctx, struct kp_bt_wire *w, const uint8_t info_hash[20],
		     unsigned dir, const uint8_t *data, size_t len, bool gap);
void kp_bt_wire_free(struct kp_bt_wire *w);

#endif
