/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the l7-filter `.pat` parser and POSIX regex translator
 * (src/classify/sig.c). Each input is written as the only .pat file of a
 * private temporary directory, loaded with the PCRE2 engine (and, when the
 * build has Hyperscan and FUZZ_PAT_HYPERSCAN is set in the environment, with
 * Hyperscan too: slow, its compiler takes milliseconds per pattern), matched
 * once against the input itself, and freed.
 *
 * build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc fuzz/fuzz_pat.c
 *        src/classify/sig.c $(pkg-config --cflags --libs libpcre2-8) -o fuzz_pat
 *   (add -DHAVE_HYPERSCAN $(pkg-config --cflags --libs libhs) -lstdc++ -lm for Hyperscan)
 * run:   ./fuzz_pat -max_len=4096 corpus_dir/   (seed it with the l7-protocols *.pat)
 */
#define _GNU_SOURCE
#include "classify/sig.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];
static char fuzz_file[96];

static void fuzz_cleanup(void)
{
	if (fuzz_file[0])
		unlink(fuzz_file);
	if (fuzz_dir[0])
		rmdir(fuzz_dir);
}

static void run_engine(enum kp_sig_engine eng, const uint8_t *data, size_t size)
{
	struct kp_sigset *set = NULL;
	struct kp_sig_scratch *scr;
	FILE *devnull = fopen("/dev/null", "w");

	if (kp_sigset_load(fuzz_dir, eng, &set, devnull) == 0 && set) {
		scr = kp_sig_scratch_new(set);
		if (scr) {
			int r = kp_sigset_match(set, scr, data, size);

			if (r >= 0 && (unsigned)r >= kp_sigset_count(set))
				abort();
			if (r >= 0 && (!kp_sigset_name(set, r) || !kp_sigset_file(set, r)))
				abort();
			{
				/* every match vs the lowest match: must agree */
				uint8_t hit[4];
				unsigned n = kp_sigset_count(set);

				if (n <= sizeof(hit)) {
					unsigned c = kp_sigset_match_all(set, scr, data, size, hit);
					const uint8_t *first = memchr(hit, 1, n);

					if ((c > 0) != (r >= 0) ||
					    (first ? (int)(first - hit) : -1) != r)
						abort();
				}
			}
			kp_sig_scratch_free(scr);
		}
		kp_sigset_free(set);
	}
	if (devnull)
		fclose(devnull);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f;

	if (!fuzz_dir[0]) {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/kp_fuzz_pat.XXXXXX");
		if (!mkdtemp(fuzz_dir))
			abort();
		snprintf(fuzz_file, sizeof(fuzz_file), "%s/in.pat", fuzz_dir);
		atexit(fuzz_cleanup);
	}
	f = fopen(fuzz_file, "wb");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	run_engine(KP_SIG_PCRE2, data, size);
#ifdef HAVE_HYPERSCAN
	if (getenv("FUZZ_PAT_HYPERSCAN"))
		run_engine(KP_SIG_HYPERSCAN, data, size);
#endif
	return 0;
}
