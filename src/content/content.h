/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Content management: what the application modules report about the files,
 * names, hashes and searches that cross a flow, and what the engine does with
 * it (name and hash rules, audit events, sha256, virus scanning, blocking).
 *
 * Modules call these from parse() only, with the ctx they were given. Every
 * string is hostile and is passed with its length; the core copies what it
 * keeps and escapes it when it writes an event. A call may block the flow
 * (a file rule, a hash on a block list, a virus): the module then gets no
 * more bytes of it; the call itself returns normally.
 *
 * Modules keep parsing after classification only while kp_app_files_wanted()
 * (or kp_app_chat_wanted(), app.h) says the policy needs the content; other
 * flows go to bypass as before.
 */
#ifndef KP_CONTENT_CONTENT_H
#define KP_CONTENT_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kp_app_ctx;
struct kp_file;

#define KP_FILE_SIZE_UNKNOWN UINT64_MAX
/* Size unknown, but the protocol marks the end itself (HTTP chunked, a compressed body with a
 * length): if the flow ends before the module closes the file, it is truncated. With
 * KP_FILE_SIZE_UNKNOWN the body ends with its sender's FIN (complete then). */
#define KP_FILE_SIZE_FRAMED (UINT64_MAX - 1)

/* Object ids of P2P files, checked against the hash lists of file rules. */
enum kp_hash_kind {
	KP_HASH_NONE = 0,
	KP_HASH_BT_INFOHASH, /* 20 bytes: BitTorrent info_hash (SHA-1 of the info dict) */
	KP_HASH_ED2K,        /* 16 bytes: eDonkey file hash (MD4) */
	KP_HASH_TTH,         /* 24 bytes: DirectConnect Tiger tree root */
	KP_HASH_SHA1,        /* 20 bytes: Gnutella urn:sha1 */
	KP_HASH__COUNT,
};

/* Name of a hash kind for events: "bittorrent.info_hash", "edonkey.hash", ... */
const char *kp_hash_kind_name(enum kp_hash_kind k);

/* How a module ends a file it opened. */
enum kp_file_end {
	KP_FILE_END_COMPLETE = 0, /* the protocol says the whole body crossed */
	KP_FILE_END_TRUNCATED,    /* the connection or the transfer stopped early */
};

/* Whether the policy needs this flow's files (file rules, file.audit, scan). */
bool kp_app_files_wanted(const struct kp_app_ctx *ctx);

/*
 * A file body begins to cross this flow: sent by direction dir (enum kp_dir),
 * named name[0..name_len) (the protocol's name: Content-Disposition or URL
 * path, RETR argument, ...; may be empty), of announced size (or
 * KP_FILE_SIZE_UNKNOWN), starting at byte offset of the file (HTTP ranges;
 * 0 otherwise). Name rules apply at once. Returns the handle to pass below,
 * or NULL when files are not wanted, the flow was blocked or memory is short
 * (the module then simply does not report the body).
 * A module has at most one open file per direction; it must close it.
 */
struct kp_file *kp_app_file_open(struct kp_app_ctx *ctx, int dir, const char *name,
				 size_t name_len, uint64_t size, uint64_t offset);
/* The next body bytes, in order (decoded when the wire encoding is not the file's: gzip). */
void kp_app_file_data(struct kp_app_ctx *ctx, struct kp_file *fi, const uint8_t *data,
		      size_t len);
/* len body bytes were lost (reassembly gap): no sha256, state "gap". */
void kp_app_file_gap(struct kp_app_ctx *ctx, struct kp_file *fi, uint64_t len);
/* A short protocol attribute for the file event: key "content_type", "url", "host", "encoding". */
void kp_app_file_attr(struct kp_file *fi, const char *key, const char *val, size_t len);
/* The P2P object id the file belongs to (checked against hash lists at once). */
void kp_app_file_hash(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_hash_kind kind,
		      const uint8_t *hash, size_t len);
/* The body ended (or stopped): writes the file event, submits the scan. fi is freed. */
void kp_app_file_close(struct kp_app_ctx *ctx, struct kp_file *fi, enum kp_file_end how);

/*
 * The control connection names the file its next linked data connection
 * carries (FTP RETR/STOR/APPE, IRC DCC SEND; call it again to update the size
 * from a later reply, e.g. FTP 150 "(N bytes)"). The child flow linked by
 * kp_expect_add() to this flow then carries that file: the core opens, feeds
 * and closes it (the first direction that sends payload is the file's).
 */
void kp_app_file_announce(struct kp_app_ctx *ctx, const char *name, size_t name_len,
			  uint64_t size);
/* The newest announcement of this flow is void (FTP 4xx/5xx after RETR: nothing comes). */
void kp_app_file_withdraw(struct kp_app_ctx *ctx);

/*
 * A file named on this flow without its body: what = "torrent" (a file of a
 * torrent's metadata), "offer" (DCC SEND), "request" (a peer asks for it),
 * "answer", "search_result". hash may be NULL. Name and hash rules apply (a
 * block blocks this flow); an audit writes a file event with state "listed".
 */
void kp_app_file_listed(struct kp_app_ctx *ctx, const char *what, const char *name,
			size_t name_len, uint64_t size, enum kp_hash_kind kind,
			const uint8_t *hash, size_t hash_len);

/* An object id seen on this flow (a handshake's info_hash, an eDonkey file request). */
void kp_app_hash_seen(struct kp_app_ctx *ctx, enum kp_hash_kind kind, const uint8_t *hash,
		      size_t len);

/*
 * A piece of a P2P file passes (BitTorrent piece message, eDonkey part):
 * scanned as it passes when scanning is on; a detection blocks the flow and
 * puts the object id on the block list. offset = byte offset in the file
 * (or piece index * piece length + begin when known; else the block's begin).
 */
void kp_app_piece(struct kp_app_ctx *ctx, int dir, enum kp_hash_kind kind, const uint8_t *hash,
		  size_t hash_len, uint64_t index, uint64_t offset, const uint8_t *data,
		  size_t len);

/* A search on this flow (Gnutella query, DC search, eDonkey search): a "search" event when audited. */
void kp_app_search(struct kp_app_ctx *ctx, const char *text, size_t len);

#endif
