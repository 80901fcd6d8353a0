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

#include "app/bencode.h"

/*
 * kp_benc_walk() (bencode.h) under its older name.
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
