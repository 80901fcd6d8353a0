/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared helpers of the unit tests that read real captures: finding the
 * corpus (../shared/corpus, $KP_CORPUS) and the project's own captures
 * (tests/captures/pcap under $KP_SRC), reading a whole file, walking the
 * TCP/UDP packets of a pcap/pcapng with libpcap and the engine's own decoder
 * (kp_decode), and the fixed-seed PRNG of the negative tests. Callers print
 * "skip: ... absent" and pass when a capture is missing.
 */
#ifndef KP_TESTS_CORPUS_PCAP_H
#define KP_TESTS_CORPUS_PCAP_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode/decode.h"

static inline bool tc_is_dir(const char *p)
{
	struct stat sb;

	return p && *p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The corpus root: $KP_CORPUS (set by tests/meson.build), else the usual places; NULL if none. */
static inline const char *tc_corpus_root(void)
{
	static const char *const cands[] = {"/work/shared/corpus", "../shared/corpus",
					    "../../shared/corpus", "../../../shared/corpus"};
	const char *env = getenv("KP_CORPUS");

	if (tc_is_dir(env))
		return env;
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (tc_is_dir(cands[i]))
			return cands[i];
	return NULL;
}

/*
 * The directory of the project's own captures (tests/captures/pcap): under $KP_SRC, the
 * working directory, its parents, or next to this file. NULL if none.
 */
static inline const char *tc_capture_dir(void)
{
	static __thread char buf[384];
	static const char *const cands[] = {"tests/captures/pcap", "../tests/captures/pcap",
					    "../../tests/captures/pcap"};
	const char *src = getenv("KP_SRC"), *slash = strrchr(__FILE__, '/');

	if (src) {
		snprintf(buf, sizeof(buf), "%s/tests/captures/pcap", src);
		if (tc_is_dir(buf))
			return buf;
	}
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (tc_is_dir(cands[i]))
			return cands[i];
	if (slash) {
		snprintf(buf, sizeof(buf), "%.*s/../captures/pcap", (int)(slash - __FILE__),
			 __FILE__);
		if (tc_is_dir(buf))
			return buf;
	}
	return NULL;
}

/*
 * The readable path of a test input: "tests/captures/pcap/<f>" or "captures/<f>" is one of
 * the project's own captures, anything else is relative to the corpus root. Prints
 * "skip: <rel> absent" and returns NULL when it is missing.
 */
static inline const char *tc_path(const char *rel, char *buf, size_t n)
{
	static const char own[] = "tests/captures/pcap/", own_short[] = "captures/";
	const char *root;

	if (!strncmp(rel, own, sizeof(own) - 1)) {
		root = tc_capture_dir();
		rel += sizeof(own) - 1;
	} else if (!strncmp(rel, own_short, sizeof(own_short) - 1)) {
		root = tc_capture_dir();
		rel += sizeof(own_short) - 1;
	} else {
		root = tc_corpus_root();
	}
	if (root) {
		int w = snprintf(buf, n, "%s/%s", root, rel);

		if (w > 0 && (size_t)w < n && access(buf, R_OK) == 0)
			return buf;
	}
	printf("  skip: %s absent\n", rel);
	return NULL;
}

/* Reads a whole file into a malloc'd buffer; NULL if it cannot be read. */
static inline uint8_t *tc_read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b;
	long sz;

	*n = 0;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc(sz > 0 ? (size_t)sz : 1);
	if (b && fread(b, 1, sz > 0 ? (size_t)sz : 0, f) != (sz > 0 ? (size_t)sz : 0)) {
		free(b);
		b = NULL;
	}
	fclose(f);
	if (b)
		*n = sz > 0 ? (size_t)sz : 0;
	return b;
}

/*
 * Calls fn for every frame of a capture that kp_decode turns into a TCP or UDP packet
 * (IP fragments are not reassembled, checksums not verified). frame is 1-based, as tshark
 * numbers frames. Returns false (err filled) when the capture cannot be opened.
 */
static inline bool tc_pcap_each(const char *path,
				void (*fn)(void *arg, unsigned frame, int dlt,
					   const struct kp_pkt_info *pi),
				void *arg, char err[PCAP_ERRBUF_SIZE])
{
	struct kp_decoder dec;
	struct pcap_pkthdr *h;
	const u_char *b;
	unsigned frame = 0;
	pcap_t *pc = pcap_open_offline(path, err);
	int dlt;

	if (!pc)
		return false;
	if (kp_decoder_init(&dec, KP_CSUM_MODE_OFF, 0) != 0) {
		snprintf(err, PCAP_ERRBUF_SIZE, "out of memory");
		pcap_close(pc);
		return false;
	}
	dlt = pcap_datalink(pc);
	while (pcap_next_ex(pc, &h, &b) == 1) {
		struct kp_pkt_info pi;

		frame++;
		memset(&pi, 0, sizeof(pi));
		if (kp_decode(&dec, dlt, b, h->caplen, 0, &pi) == KP_DEC_OK)
			fn(arg, frame, dlt, &pi);
	}
	kp_decoder_fini(&dec);
	pcap_close(pc);
	return true;
}

/* xorshift64*: the fixed-seed PRNG of the negative tests (same bytes on every run). */
static inline uint64_t tc_rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static inline void tc_rng_fill(uint64_t *s, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(tc_rng_next(s) >> 32);
}

#endif
