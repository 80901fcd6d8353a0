/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the whole pipeline: decode, flow table, TCP
 * reassembly, classification, every application module's probe and parser,
 * expectations, the peer cache, flow expiry and the flow event (JSON built
 * for every flow; the writer goes to /dev/null).
 *
 * Input: byte 0 holds flags (bit 0: enforce checksums, i.e. the capture is
 * not "rewritten"; by default bad checksums are only counted so that fuzzed
 * packets reach the modules; bit 1: IPv6 link type instead of raw). The rest
 * is a sequence of frames, each a 2-byte big-endian prefix and the frame: the
 * low 14 bits of the prefix are the frame length, the top 2 bits how far the
 * clock moves before it (1 ms, 1 s, 100 s, 1 h: drives timeouts and expiry).
 * Frames are raw IPv4/IPv6 packets. A fresh engine per input, default
 * configuration (kp_config_defaults), flushed at the end.
 */
#define _GNU_SOURCE
#include "engine/config.h"
#include "engine/engine.h"
#include "output/writer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct kp_config cfg;
static struct kp_output out;
static bool have_out;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	kp_config_defaults(&cfg);
	have_out = kp_output_open(&out, "/dev/null", 0, err, sizeof(err)) == 0;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t steps[4] = {1000, 1000000, 100000000, 3600000000ull};
	struct kp_engine e;
	struct kp_verdict v;
	uint64_t ts = 1700000000000000ull;
	size_t off = 1;

	if (size < 1)
		return 0;
	if (kp_engine_init(&e, &cfg, 0, NULL, have_out ? &out : NULL))
		return 0;
	e.csum_lenient = !(data[0] & 1);
	while (off + 2 <= size) {
		unsigned pfx = (unsigned)data[off] << 8 | data[off + 1];
		size_t n = pfx & 0x3fff;
		struct kp_packet p;
		uint8_t *f;

		off += 2;
		if (n > size - off)
			n = size - off;
		ts += steps[pfx >> 14];
		/* a private copy per frame: reads past its end are caught */
		f = malloc(n ? n : 1);
		if (!f)
			break;
		memcpy(f, data + off, n);
		p = (struct kp_packet){
			.data = f,
			.caplen = (uint32_t)n,
			.len = (uint32_t)n,
			.ts_us = ts,
			.dlt = (data[0] & 2) ? KP_DLT_IPV6 : KP_DLT_RAW,
		};
		kp_engine_process(&e, &p, &v);
		free(f);
		off += n;
	}
	kp_engine_flush(&e);
	kp_engine_fini(&e);
	return 0;
}
