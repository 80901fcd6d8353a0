/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IP fragment reassembly for IPv4 and IPv6. Fragments are copied into a
 * per-datagram buffer keyed by (family, src, dst, id, protocol); a datagram
 * completes when every byte from 0 to the last fragment's end is present.
 * Overlaps: the first data wins (the same policy as TCP reassembly).
 * Bounded: at most 64 KiB per datagram, a memcap for all buffers, and a 30 s
 * timeout; anything beyond is dropped and counted.
 */
#ifndef KP_DECODE_DEFRAG_H
#define KP_DECODE_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "decode/stats.h"

struct kp_defrag;

struct kp_defrag *kp_defrag_new(size_t memcap);
void kp_defrag_free(struct kp_defrag *df);

/*
 * Adds a fragment. hdr/hdr_len is the unfragmentable IP header to keep (IPv4
 * header without options changes, or the IPv6 header + extension headers before
 * the fragment header, with next-header patched by the caller), data/len the
 * fragment payload at byte offset `off`; more = more fragments follow.
 * Returns the total length of the reassembled datagram written into *out
 * (caller's buffer of cap bytes, header first) when complete, 0 when held, or
 * -1 when dropped.
 */
long kp_defrag_add(struct kp_defrag *df, struct kp_decode_stats *st, int family,
		   const uint8_t *src, const uint8_t *dst, uint32_t id, uint8_t proto,
		   const uint8_t *hdr, size_t hdr_len, const uint8_t *data, size_t len, uint32_t off,
		   int more, uint64_t ts_us, uint8_t *out, size_t cap);

#endif
