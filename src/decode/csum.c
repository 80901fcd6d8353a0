/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internet checksums (RFC 1071) for IPv4 headers and TCP/UDP over IPv4/IPv6,
 * and the rule for unfinished offloaded checksums: a capture taken on the
 * sending host (before the NIC computes the checksum) carries in the TCP/UDP
 * checksum field only the folded pseudo-header sum, not the complement of the
 * whole sum. When a checksum does not verify but equals that pseudo-header
 * value (or its complement, which some stacks leave), the packet is
 * KP_CSUM_PARTIAL: valid data whose checksum was never finished.
 */
#include "decode/decode.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

uint32_t kp_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	/*
	 * One's complement sums do not care about byte order up to a final swap
	 * (RFC 1071, 2.(B)): add native 32-bit halves of 64-bit loads into a
	 * 64-bit accumulator, fold, and swap back to network order.
	 */
	uint64_t acc = 0;
	uint32_t r;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		acc += (w & 0xffffffffu) + (w >> 32);
	}
	for (; len >= 2; p += 2, len -= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc += w;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (len)
		acc += p[0]; /* the high byte of a big-endian word is the low byte here */
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	r = (uint32_t)(((acc & 0xff) << 8) | (acc >> 8));
#else
	if (len)
		acc += (uint64_t)p[0] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	r = (uint32_t)acc;
#endif
	return sum + r;
}

uint16_t kp_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t kp_csum_pseudo(int family, const uint8_t *src, const uint8_t *dst, uint8_t l4,
			uint32_t l4len)
{
	uint32_t sum = 0;

	if (family == AF_INET) {
		sum = kp_csum_add(sum, src, 4);
		sum = kp_csum_add(sum, dst, 4);
		sum += l4;
		sum += l4len & 0xffff;
	} else {
		sum = kp_csum_add(sum, src, 16);
		sum = kp_csum_add(sum, dst, 16);
		sum += l4len >> 16;
		sum += l4len & 0xffff;
		sum += l4;
	}
	return sum;
}

enum kp_csum kp_csum_l4(int family, const uint8_t *src, const uint8_t *dst, uint8_t l4,
			const uint8_t *seg, uint32_t seglen, uint32_t csum_off)
{
	uint32_t pseudo = kp_csum_pseudo(family, src, dst, l4, seglen);
	uint16_t stored, folded;

	if (csum_off + 2 > seglen)
		return KP_CSUM_BAD;
	stored = (uint16_t)(seg[csum_off] << 8 | seg[csum_off + 1]);
	if (l4 == IPPROTO_UDP && stored == 0 && family == AF_INET)
		return KP_CSUM_UNCHECKED; /* UDP over IPv4 may omit the checksum */
	if (kp_csum_fold(kp_csum_add(pseudo, seg, seglen)) == 0xffff)
		return KP_CSUM_OK;
	folded = kp_csum_fold(pseudo);
	if ((uint32_t)stored == folded || (uint32_t)stored == (0xffffu & ~(uint32_t)folded))
		return KP_CSUM_PARTIAL;
	return KP_CSUM_BAD;
}
