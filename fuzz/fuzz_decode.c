/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for packet decoding (src/decode/): link layers, IPv4/IPv6,
 * extension headers, TCP/UDP, GTP-U, checksums and IP defragmentation.
 *
 * Input: byte 0 picks the link type (low 4 bits, index into the supported
 * list of decode/decode.h) and the checksum mode (bits 4-5); bit 7 set means
 * "several frames": the rest is a sequence of 2-byte big-endian length
 * prefixes and frames (so fragments of one datagram can meet in the
 * defragmenter); otherwise the rest is one frame. Each frame goes through
 * kp_decode() with that link type and through kp_decode_ip(), on a decoder
 * with defragmentation on, fresh per input. Every byte of a decoded payload
 * is read so that the sanitizers check the pointers decode hands out.
 */
#include "decode/decode.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int dlts[] = {
	KP_DLT_NULL,       KP_DLT_EN10MB, KP_DLT_PPP,       KP_DLT_RAW,
	KP_DLT_RAW_ALT,    KP_DLT_PPP_SERIAL, KP_DLT_PPP_ETHER, KP_DLT_LOOP,
	KP_DLT_LINUX_SLL,  KP_DLT_RAW_LT, KP_DLT_IPV4,      KP_DLT_IPV6,
	KP_DLT_LINUX_SLL2, 147 /* unsupported: must be skipped */,
};

static volatile uint32_t sink;

static void check(enum kp_decode_result r, const struct kp_pkt_info *pi)
{
	uint32_t s = 0;

	if (r != KP_DEC_OK)
		return;
	if (pi->payload_len && !pi->payload)
		abort();
	for (uint32_t i = 0; i < pi->payload_len; i++)
		s += pi->payload[i];
	if (pi->family != 2 && pi->family != 10) /* AF_INET, AF_INET6 */
		abort();
	sink += s;
}

static void one(struct kp_decoder *d, int dlt, const uint8_t *f, size_t n, uint64_t ts)
{
	struct kp_pkt_info pi;
	enum kp_decode_result r;

	r = kp_decode(d, dlt, f, n, ts, &pi);
	if (r == KP_DEC_OK && !kp_decode_dlt_supported(dlt))
		abort();
	check(r, &pi);
	r = kp_decode_ip(d, f, n, ts, &pi);
	check(r, &pi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kp_decoder d;
	uint64_t ts = 1000000;
	int dlt;

	if (size < 1)
		return 0;
	dlt = dlts[(data[0] & 0x0f) % (sizeof(dlts) / sizeof(dlts[0]))];
	if (kp_decoder_init(&d, (enum kp_csum_mode)(((data[0] >> 4) & 3) % 3), 1 << 20))
		return 0;
	if (data[0] & 0x80) {
		size_t off = 1;

		while (off + 2 <= size) {
			size_t n = (size_t)data[off] << 8 | data[off + 1];

			off += 2;
			if (n > size - off)
				n = size - off;
			/* a private copy: decode must not read past n even inside the input */
			uint8_t *f = malloc(n ? n : 1);

			if (!f)
				break;
			for (size_t i = 0; i < n; i++)
				f[i] = data[off + i];
			one(&d, dlt, f, n, ts);
			free(f);
			off += n;
			ts += 1000;
		}
	} else {
		one(&d, dlt, data + 1, size - 1, ts);
	}
	kp_decoder_fini(&d);
	return 0;
}
