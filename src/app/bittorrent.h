/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the BitTorrent module (src/app/bittorrent.c) exposed for unit tests
 * and for other modules that meet bencoded data (an HTTP tracker answer): a
 * bounded, non-recursive bencode walker and the KRPC (BEP 5 DHT) check built on it.
 */
#ifndef KP_APP_BITTORRENT_H
#define KP_APP_BITTORRENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest list/dict nesting the walker accepts (a DHT message needs 3). */
#define KP_BENC_MAX_DEPTH 32

enum kp_benc_result {
	KP_BENC_OK = 0,    /* one complete value starts at p[0]; *end is the offset after it */
	KP_BENC_TRUNCATED, /* well-formed so far, but len ran out inside the value */
	KP_BENC_INVALID,   /* not bencode (bad byte, leading zero, key not a string, too deep) */
};

/*
 * Validates one bencoded value at p[0..len) without recursion: strings "<len>:bytes"
 * (decimal length, no leading zero), integers "i-?[0-9]+e" (no leading zero, no "-0"),
 * lists "l...e", dicts "d(string value)*e" (keys must be strings; their order is not
 * checked). Bytes after the value are not looked at. *end is written on KP_BENC_OK only.
 */
enum kp_benc_result kp_bt_benc_walk(const uint8_t *p, size_t len, size_t *end);

/*
 * True if p[0..len) is exactly one KRPC message (BEP 5): a dict with a string "t",
 * "y" in {"q","r","e"}, and for "q" a string "q" and a dict "a" holding a 20-byte
 * "id", for "r" a dict "r" holding a 20-byte "id", for "e" a list "e". When the
 * message carries a 20-byte "info_hash" argument (get_peers, announce_peer) and
 * info_hash is not NULL, it is copied there and *have_hash set.
 */
bool kp_bt_krpc_check(const uint8_t *p, size_t len, uint8_t info_hash[20], bool *have_hash);

#endif
